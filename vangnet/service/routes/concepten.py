"""`/v1/regelsetconcepten`: drafts of ruleset and catalogue versions, for rule owners.

    GET  /v1/regelsetconcepten                          every draft, newest first (`?status=`)
    POST /v1/regelsetconcepten                          submit a version file as a draft
    GET  /v1/regelsetconcepten/{conceptId}              one draft
    POST /v1/regelsetconcepten/{conceptId}/goedkeuring  approve it (not its author)
    POST /v1/regelsetconcepten/{conceptId}/afwijzing    reject it, with a reason (not its author)

Who may (`vangnet.service.authz`, rows `regelset_concepten`): a regelbeheerder; approving and
rejecting only another's draft. Publishing writes files into the repository and is done from
the command line (`vangnet rules publish`), never by the web process.

The work is in `vangnet.service.regelbeheer`; these routes only translate. A draft's id or
`SCHEME@VERSION` (`catalogus@2030-01-01` for a catalogue) both name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from vangnet import yamlfile
from vangnet.service.audit import AuditLog
from vangnet.service.authz import authorize
from vangnet.service.body import read_model
from vangnet.service.deps import IdentityDep
from vangnet.service.problems import ApiProblem
from vangnet.service.regelbeheer import (
    MAX_REDEN,
    MAX_TOELICHTING,
    Concept,
    ConceptError,
    Regelbeheer,
)
from vangnet.service.responses import json_response
from vangnet.service.routes.tokens import inline_body

__all__ = ["AfwijzingIn", "ConceptIn", "ConceptOut", "Wijziging", "router", "workflow_of"]

router = APIRouter(tags=["regelsetconcepten"])

ConceptId = Annotated[
    str,
    Path(
        alias="conceptId",
        description="De id van het concept, of REGELING@VERSIE (catalogus@JJJJ-MM-DD)",
        max_length=100,
    ),
]
MAX_FILE = 900 * 1024  # the body is at most 1 MiB (vangnet.service.body)


class ConceptIn(BaseModel):
    """A new ruleset or catalogue version, as the files that will be published."""

    model_config = ConfigDict(extra="forbid")

    inhoud: str = Field(
        min_length=1,
        max_length=MAX_FILE,
        description="Het versiebestand (YAML), zoals het in rulesets/ of calculators/ komt",
    )
    maatregelen: str | None = Field(
        default=None,
        max_length=MAX_FILE,
        description="Bij een catalogus: het CSV-bestand met de maatregelen (items_file)",
    )
    toelichting: str = Field(
        min_length=1,
        max_length=MAX_TOELICHTING,
        description="Wat verandert er en waarom; komt in de changelog",
    )


class AfwijzingIn(BaseModel):
    """Why a draft is rejected."""

    model_config = ConfigDict(extra="forbid")

    reden: str = Field(
        min_length=1, max_length=MAX_REDEN, description="Waarom het concept is afgewezen"
    )


class Wijziging(BaseModel):
    """One change against the version the draft follows."""

    soort: str = Field(description="Bijvoorbeeld nieuwe regel, gewijzigde parameter")
    onderwerp: str = Field(description="De regel, parameter of maatregel (leeg: het geheel)")
    oud: str | None
    nieuw: str | None


class ConceptOut(BaseModel):
    """A draft: what it is, its status, and who drafted, approved or rejected it (pseudonyms)."""

    id: str
    href: str
    soort: Literal["regelset", "catalogus"]
    regeling: str
    versie: str
    geldig_vanaf: date
    geldigheid: str
    status: Literal["concept", "goedgekeurd", "gepubliceerd", "afgewezen"]
    sha256: str
    auteur: str
    ingediend_op: str
    goedgekeurd_door: str | None
    goedgekeurd_op: str | None
    gepubliceerd_op: str | None
    afgewezen_door: str | None
    afgewezen_op: str | None
    reden_afwijzing: str | None
    toelichting: str
    vorige_versie: str | None
    wijzigingen: list[Wijziging]
    bestanden: list[str]


def workflow_of(request: Request) -> Regelbeheer:
    """The workflow on the service's database, reading the published versions of the
    project (the web process never publishes)."""
    state = request.app.state
    audit: AuditLog = state.audit
    return Regelbeheer(state.store.engine, state.settings, audit=audit)


def _body(concept: Concept) -> dict[str, Any]:
    return {"href": f"/v1/regelsetconcepten/{concept.id}", **concept.as_dict()}


@contextmanager
def _problems() -> Iterator[None]:
    try:
        yield
    except ConceptError as exc:
        code = {"ongeldig": "ongeldig_concept", "conflict": "niet_mogelijk"}.get(exc.code)
        raise ApiProblem(exc.status, exc.message, code=code) from None


def _file_name(text: str) -> str:
    """The version file's name, from its valid_from (the loader checks they agree); a name
    that makes the loader say what is missing when there is none."""
    try:
        data = yamlfile.safe_load(text)
    except yaml.YAMLError:
        return "concept.yaml"
    day = data.get("valid_from") if isinstance(data, dict) else None
    return f"{day.isoformat()}.yaml" if isinstance(day, date) else "concept.yaml"


_SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Niet aangemeld, of het token is ongeldig"},
    403: {"description": "Alleen een regelbeheerder"},
}
_ONE: dict[int | str, dict[str, Any]] = {
    **_SIGNED_IN,
    404: {"description": "Onbekend concept"},
}
_STEP: dict[int | str, dict[str, Any]] = {
    **_ONE,
    403: {"description": "Alleen een andere regelbeheerder dan de auteur"},
    409: {
        "description": "Niet vanuit de huidige status (een gepubliceerde versie verandert nooit)"
    },
}


@router.get(
    "/regelsetconcepten",
    summary="Alle concepten van regelsets en catalogi",
    operation_id="getRegelsetconcepten",
    response_model=list[ConceptOut],
    responses={200: {"description": "De concepten, nieuwste eerst"}, **_SIGNED_IN},
)
async def get_concepten(
    request: Request,
    identity: IdentityDep,
    status: Annotated[
        Literal["concept", "goedgekeurd", "gepubliceerd", "afgewezen"] | None,
        Query(description="Alleen concepten met deze status"),
    ] = None,
) -> Response:
    """Alle concepten, nieuwste eerst: status, wie indiende, goedkeurde of afwees, en wanneer."""
    authorize(identity, "regelset_concepten", "lezen")
    workflow = workflow_of(request)
    concepts = await run_in_threadpool(workflow.drafts, identity, status)
    return json_response([_body(c) for c in concepts])


@router.post(
    "/regelsetconcepten",
    status_code=201,
    summary="Dien een nieuwe versie in als concept",
    operation_id="postRegelsetconcept",
    response_model=ConceptOut,
    responses={
        201: {
            "description": "Het concept is opgeslagen; een andere regelbeheerder keurt het goed",
            "headers": {
                "Location": {
                    "description": "Het adres van het concept",
                    "schema": {"type": "string"},
                }
            },
        },
        400: {"description": "Het bestand is ongeldig (de fout noemt bestand, regel en veld)"},
        **_SIGNED_IN,
        409: {"description": "Deze versie bestaat al, of overlapt met een gepubliceerde"},
    },
    openapi_extra=inline_body(ConceptIn),
)
async def post_concept(request: Request, identity: IdentityDep) -> Response:
    """Dien een nieuwe versie van een regelset of catalogus in. Zij wordt eerst gecontroleerd
    zoals een gepubliceerde versie; de wijzigingen ten opzichte van de vorige versie komen in
    het concept."""
    authorize(identity, "regelset_concepten", "opstellen")
    body = await read_model(request, ConceptIn)
    workflow = workflow_of(request)
    items = None if body.maatregelen is None else body.maatregelen.encode("utf-8")
    with _problems():
        concept = await run_in_threadpool(
            workflow.draft,
            identity,
            _file_name(body.inhoud),
            body.inhoud.encode("utf-8"),
            body.toelichting,
            items,
        )
    created = _body(concept)
    return json_response(created, 201, {"Location": created["href"]})


@router.get(
    "/regelsetconcepten/{conceptId}",
    summary="Eén concept",
    operation_id="getRegelsetconcept",
    response_model=ConceptOut,
    responses={200: {"description": "Het concept"}, **_ONE},
)
async def get_concept(request: Request, identity: IdentityDep, concept_id: ConceptId) -> Response:
    """Eén concept met zijn wijzigingen, status en wie het indiende en goedkeurde."""
    authorize(identity, "regelset_concepten", "lezen")
    workflow = workflow_of(request)
    with _problems():
        concept = await run_in_threadpool(workflow.get, identity, concept_id)
    return json_response(_body(concept))


@router.post(
    "/regelsetconcepten/{conceptId}/goedkeuring",
    summary="Keur een concept goed",
    operation_id="postRegelsetconceptGoedkeuring",
    response_model=ConceptOut,
    responses={200: {"description": "Het concept is goedgekeurd"}, **_STEP},
)
async def post_goedkeuring(
    request: Request, identity: IdentityDep, concept_id: ConceptId
) -> Response:
    """Keur het concept van een andere regelbeheerder goed. Publiceren gebeurt daarna met
    `vangnet rules publish`."""
    authorize(identity, "regelset_concepten", "goedkeuren")
    workflow = workflow_of(request)
    with _problems():
        concept = await run_in_threadpool(workflow.approve, identity, concept_id)
    return json_response(_body(concept))


@router.post(
    "/regelsetconcepten/{conceptId}/afwijzing",
    summary="Wijs een concept af",
    operation_id="postRegelsetconceptAfwijzing",
    response_model=ConceptOut,
    responses={200: {"description": "Het concept is afgewezen"}, **_STEP},
    openapi_extra=inline_body(AfwijzingIn),
)
async def post_afwijzing(
    request: Request, identity: IdentityDep, concept_id: ConceptId
) -> Response:
    """Wijs het concept van een andere regelbeheerder af, met een reden. Het versienummer
    blijft gebruikt; een nieuwe versie krijgt een nieuw nummer."""
    authorize(identity, "regelset_concepten", "goedkeuren")
    body = await read_model(request, AfwijzingIn)
    workflow = workflow_of(request)
    with _problems():
        concept = await run_in_threadpool(workflow.reject, identity, concept_id, body.reden)
    return json_response(_body(concept))
