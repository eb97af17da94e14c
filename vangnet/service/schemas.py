"""The API's models for `/v1/aanvragen`, one per direction.

Inbound models (`…In`) forbid unknown fields. Outbound models document the responses; the
routes write the responses with `vangnet.jsonout` so that money has exactly two decimals.
The claim itself is the `Aanvraag` schema of the interchange format (see `openapi.py`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from vangnet.claim import IsoDate
from vangnet.decision import Decision, Outcome
from vangnet.service.lifecycle import Status
from vangnet.service.schemas_besluit import Link
from vangnet.service.schemas_besluit import Outcome as BesluitOutcome

__all__ = [
    "REQUEST_BODIES",
    "AanvraagPagina",
    "AanvraagSamenvatting",
    "AanvullingsverzoekIn",
    "Advies",
    "BesluitSamenvatting",
    "IngediendeAanvraag",
    "Statusovergang",
    "ToelichtingIn",
]

ClaimJson = Annotated[
    dict[str, Any], WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/Aanvraag"}]})
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ToelichtingIn(_In):
    """An optional explanation with a transition."""

    reason: Text | None = Field(default=None, description="Waarom, in het Nederlands")


class AanvullingsverzoekIn(_In):
    """What the assessor needs to decide, and by when (Awb 4:5)."""

    reason: Text = Field(description="Welke informatie nodig is, in het Nederlands")
    due_on: IsoDate | None = Field(
        None,
        description=(
            "De laatste dag waarop de aanvrager kan aanvullen (JJJJ-MM-DD), na vandaag."
            " Zonder deze datum: de termijn van de brieven (forms/letters/procedure.yaml),"
            " gerekend vanaf vandaag. Tot die dag is de beslistermijn opgeschort; daarna kan"
            " het bestuursorgaan besluiten op de aanvraag zoals die er ligt."
        ),
    )


class VerdagingIn(_In):
    """An extension of the decision term (Awb 4:14, third paragraph): the day by which the
    besluit will be given, and why it takes longer, for the applicant."""

    reason: Text = Field(description="Waarom het besluit later komt, in het Nederlands")
    due_on: IsoDate = Field(
        description=(
            "De dag waarop het besluit er uiterlijk is (JJJJ-MM-DD): na de huidige"
            " beslisdatum. Verdagen kan zolang de beslistermijn loopt."
        )
    )


class AanvullingstermijnIn(_In):
    """More time for the applicant to supplement the claim (Awb 4:5): a later last day."""

    due_on: IsoDate = Field(
        description=(
            "De nieuwe laatste dag om aan te vullen (JJJJ-MM-DD): na de huidige laatste dag en"
            " na vandaag. Tot die dag blijft de beslistermijn opgeschort."
        )
    )
    reason: Text | None = Field(
        None, description="Waarom de aanvrager meer tijd krijgt (niet verplicht)"
    )


class AanvraagSamenvatting(BaseModel):
    """A submitted claim in a list: its status and the current advice's totals."""

    id: str
    href: str
    claim_id: str
    scheme: str
    reference_date: date
    status: Status
    claim_version: int = Field(description="Het nummer van de huidige versie (1 bij indienen)")
    outcome: Outcome = Field(description="De uitkomst van het advies op de huidige versie")
    claimed_total_eur: Decimal
    eligible_total_eur: Decimal
    created_at: datetime
    updated_at: datetime


class Advies(BaseModel):
    """The engine's advice on one version of the claim: the v1 decision, unchanged."""

    claim_version: int
    created_at: datetime
    decision: Decision


class BesluitSamenvatting(BaseModel):
    """A besluit on the claim, in the claim's list; the whole envelope is at `href`."""

    id: str
    href: str = Field(description="Het besluit met zijn advies, motivering en brief")
    number: int = Field(description="Het volgnummer van het besluit op deze aanvraag, vanaf 1")
    kind: Literal["besluit", "correctie", "beslissing_op_bezwaar"]
    outcome: BesluitOutcome
    amount_eur: Decimal = Field(description="Het toegekende bedrag in euro's incl. btw")
    decided_at: datetime
    replaces: Link | None = Field(description="Het eerdere besluit waarvoor dit in de plaats kwam")


class Statusovergang(BaseModel):
    """One step in the claim's history."""

    from_status: Status | None
    to_status: Status
    at: datetime
    reason: str | None
    due_on: date | None = Field(
        None,
        description=(
            "Bij een verzoek om aanvulling, of een latere dag daarvoor (de status blijft"
            " aanvulling_gevraagd): de laatste dag om aan te vullen; bij een verdaging (de status"
            " blijft gelijk): de dag waarop het besluit er uiterlijk is"
        ),
    )
    claim_version: int | None = Field(description="De versie die deze stap bracht, als die er is")


class Beslistermijn(BaseModel):
    """When the body must decide on an open claim (Awb 4:13, 4:14, 4:15; termijnen.yaml)."""

    due_on: date | None = Field(
        description="De uiterste beslisdatum; leeg zolang de termijn is opgeschort"
    )
    suspended: bool = Field(description="De termijn is opgeschort: het wacht op een aanvulling")
    suspended_days: int = Field(description="Dagen waarin de termijn opgeschort was")
    supplement_due: date | None = Field(
        description="Bij een open verzoek om aanvulling: de laatste dag om aan te vullen"
    )
    extended_to: date | None = Field(description="De dag die de laatste verdaging noemde")


class IngediendeAanvraag(AanvraagSamenvatting):
    """A submitted claim: the current version, every advice (newest first), its besluiten
    and its history."""

    allowed_transitions: list[str] = Field(
        description="De overgangen die nu mogelijk zijn, als naam van hun bron"
    )
    decision_term: Beslistermijn | None = Field(
        description="Wanneer er uiterlijk besloten moet zijn; leeg na het besluit of intrekking"
    )
    claim_sha256: str
    claim: ClaimJson
    advices: list[Advies]
    besluiten: list[BesluitSamenvatting] = Field(
        description=(
            "De besluiten over de aanvraag in volgorde (oudste eerst); het laatste is het"
            " geldende. Een correctie of beslissing op bezwaar vervangt het vorige"
        )
    )
    history: list[Statusovergang]


class AanvraagPagina(BaseModel):
    """One page of submitted claims, newest first."""

    items: list[AanvraagSamenvatting]
    page: int
    page_size: int
    total: int
    next: str | None = Field(description="De volgende pagina, als die er is")
    previous: str | None = Field(description="De vorige pagina, als die er is")


# request bodies the routes read themselves (size limit first); openapi.py publishes them
REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "Toelichting": ToelichtingIn,
    "Aanvullingsverzoek": AanvullingsverzoekIn,
    "Verdaging": VerdagingIn,
    "Aanvullingstermijn": AanvullingstermijnIn,
}
