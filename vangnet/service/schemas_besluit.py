"""The API's models for besluiten and bezwaren, one per direction (see `schemas.py`).

Who decides or registers is the signed-in account: its pseudonym becomes `decided_by` or
`registered_by`. A body that still names an `assessor` (the field before accounts existed) is
refused like any unknown field. Besluiten stored before accounts keep the pseudonym they were
given then.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vangnet.claim import IsoDate, Money
from vangnet.decision import Decision

__all__ = [
    "REQUEST_BODIES",
    "BesluitIn",
    "BesluitOut",
    "BezwaarIn",
    "BezwaarOut",
    "Outcome",
]

Outcome = Literal["toekennen", "gedeeltelijk", "afwijzen"]
Motivation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
AttachmentId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BesluitIn(_In):
    """An assessor's besluit: a first besluit, a correction or a decision on an objection."""

    outcome: Outcome = Field(description="De uitkomst: toekennen, gedeeltelijk of afwijzen")
    amount_eur: Money = Field(
        description=(
            "Het toegekende bedrag in euro's incl. btw, hoogstens twee decimalen: bij toekennen"
            " het gevraagde totaal, bij afwijzen 0, bij gedeeltelijk daartussen"
        )
    )
    motivation: Motivation | None = Field(
        default=None,
        description=(
            "De motivering, in het Nederlands (taalniveau B1). Verplicht als de uitkomst of het"
            " bedrag afwijkt van het advies, en bij een correctie of een beslissing op bezwaar"
        ),
    )
    attachments: list[AttachmentId] = Field(
        default_factory=list,
        max_length=100,
        description="De ids van de bijlagen waarop het besluit rust (mag leeg zijn)",
    )


class BezwaarIn(_In):
    """An objection: when it was received. No text. Who registers it is the account."""

    received_on: IsoDate | None = Field(
        default=None,
        description=(
            "De dag waarop het bezwaarschrift binnenkwam. Verplicht als een beoordelaar het"
            " bezwaar registreert; dient de aanvrager het bezwaar in, dan is het vandaag"
            " (laat het veld weg)"
        ),
    )


class Link(BaseModel):
    """Another resource."""

    id: str
    href: str


class Brief(BaseModel):
    """The besluit's letter: made once; the PDF's sha256."""

    href: str = Field(description="De brief als PDF/A, HTML of DOCX (kies met Accept)")
    date: date
    sha256: str = Field(description="De SHA-256 van de opgeslagen PDF")


class BijlageVermelding(BaseModel):
    """An attachment the besluit rests on, as the besluit lists it. The nulls only for an id
    in a besluit stored before bijlagen existed (when ids were checked for their shape only)."""

    id: str
    href: str | None = Field(description="De bijlage zelf (de bytes)")
    soort: (
        Literal["offerte", "factuur", "dreigingsinschatting", "beveiligingsadvies", "overig"] | None
    )
    media_type: Literal["application/pdf", "image/png", "image/jpeg"] | None
    sha256: str | None = Field(description="De SHA-256 van de bytes, hexadecimaal")


class AdviesOut(BaseModel):
    """The advice the besluit rests on: the v1 decision, unchanged."""

    claim_version: int
    created_at: datetime
    decision: Decision


class BezwaarOut(BaseModel):
    """An objection registered against a besluit."""

    id: str
    besluit: Link
    received_on: date
    registered_by: str = Field(description="Het pseudoniem van wie het bezwaar vastlegde")
    registered_at: datetime


class BesluitOut(BaseModel):
    """A besluit: final and immutable. A correction or a decision on an objection is a new
    besluit that replaces this one (`replaced_by`)."""

    id: str
    href: str
    aanvraag: Link
    number: int = Field(description="Het volgnummer van het besluit op deze aanvraag, vanaf 1")
    kind: Literal["besluit", "correctie", "beslissing_op_bezwaar"]
    outcome: Outcome
    amount_eur: Decimal
    differs_from_advice: bool = Field(description="Uitkomst of bedrag wijkt af van het advies")
    motivation: str | None
    attachments: list[BijlageVermelding] = Field(
        description="De bijlagen waarop het besluit rust, met hun soort en SHA-256"
    )
    decided_by: str = Field(description="Het pseudoniem van de beoordelaar")
    decided_at: datetime
    replaces: Link | None = Field(description="Het eerdere besluit waarvoor dit in de plaats kwam")
    replaced_by: Link | None = Field(
        description="Het latere besluit dat hiervoor in de plaats kwam"
    )
    letter: Brief
    advice: AdviesOut
    bezwaren: list[BezwaarOut]


# request bodies the routes read themselves (size limit first); openapi.py publishes them
REQUEST_BODIES: dict[str, type[BaseModel]] = {"Besluit": BesluitIn, "Bezwaar": BezwaarIn}
