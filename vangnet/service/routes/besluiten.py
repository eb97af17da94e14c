"""Besluiten: an assessor decides on a claim; corrections, objections and decisions on them.

A besluit is final and immutable. Changing one means a new besluit that replaces it, made on
a resource of the besluit it replaces:

    POST /v1/aanvragen/{aanvraagId}/besluit                  the first besluit (kind `besluit`)
    POST /v1/besluiten/{besluitId}/correcties                a correction (kind `correctie`)
    POST /v1/besluiten/{besluitId}/bezwaren                  register an objection (no text)
    POST /v1/besluiten/{besluitId}/beslissingen-op-bezwaar   the decision on the objections
                                                             (kind `beslissing_op_bezwaar`)
    GET  /v1/besluiten/{besluitId}                           the envelope
    GET  /v1/besluiten/{besluitId}/brief                     the letter, by `Accept`

Only the current besluit (one that nothing replaces) can be replaced or objected to; a second
replacement of the same besluit is 409. The routes stay thin: checking a besluit, making its
letter (the context in an engine worker, the PDF in a thread) and storing it is
`vangnet.service.deciding`, which the demo seeder uses too.

Who may (`vangnet.service.authz`): an assessor of the claim's deciding organisation decides,
corrects and decides on objections, and is the besluit's `decided_by` (the account's
pseudonym); the applicant's organisation reads its besluiten and letters and lodges objections,
the deciding organisation registers them; an auditor reads besluiten pseudonymised (not the
letter, which names the applicant). A besluit of another organisation is 404. Every letter
download is recorded in the audit log (`brief.downloaden`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from vangnet.letters import FILE_SUFFIXES, MEDIA_TYPES, LetterFormat
from vangnet.service import deciding
from vangnet.service.attachments import Attachments
from vangnet.service.authz import Grant, authorize
from vangnet.service.body import read_json
from vangnet.service.brief import render
from vangnet.service.deps import StoreDep, WorkersDep, may
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem
from vangnet.service.pseudonyms import Pseudonymiser
from vangnet.service.responses import json_body, json_response
from vangnet.service.routes.aanvragen import allowed
from vangnet.service.schemas_besluit import BesluitOut, BezwaarOut
from vangnet.service.store import (
    BesluitConflict,
    Conflict,
    NotFound,
    Store,
    TransitionRefused,
)
from vangnet.workers import EngineWorkers

__all__ = ["router"]

router = APIRouter(tags=["besluiten"])

AanvraagId = Annotated[
    str, Path(alias="aanvraagId", description="De id die vangnet bij het indienen gaf")
]
BesluitId = Annotated[str, Path(alias="besluitId", description="De id van het besluit")]

# the letter's formats by media type, in the order of preference when several are acceptable
_LETTER_TYPES: dict[str, LetterFormat] = {
    "application/pdf": "pdf",
    "text/html": "html",
    MEDIA_TYPES["docx"]: "docx",
}


_CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Het besluit is vastgelegd, met zijn brief",
        "headers": {
            "Location": {"description": "Het adres van het besluit", "schema": {"type": "string"}}
        },
    },
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Onbekend besluit"}}
_FOUND: dict[int | str, dict[str, Any]] = {200: {"description": "Het besluit"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": (
            "Besluiten kan niet vanuit de status van de aanvraag, een andere beoordelaar was"
            " eerder, of het besluit is al vervangen"
        )
    }
}


def _created(body: dict[str, Any]) -> Response:
    return json_response(body, 201, {"Location": body["href"]})


# --- attachments: a besluit lists the ones it rests on -----------------------------------------


def _listed(store: Store, envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with each attachment listed: its id, soort, media type and sha256."""
    return {**envelope, "attachments": Attachments(store.engine).describe(envelope["attachments"])}


@contextmanager
def _problems(what: str, id_: str) -> Iterator[None]:
    """The store's refusals as problems."""
    try:
        yield
    except NotFound:
        raise ApiProblem(404, f"Er is geen {what} {id_[:64]}.") from None
    except TransitionRefused as exc:
        allowed = ", ".join(exc.allowed) or "geen"
        raise ApiProblem(
            409,
            f"De aanvraag heeft de status {exc.status}; besluiten kan dan niet."
            f" Mogelijk zijn nu: {allowed}.",
            code="ongeldige_overgang",
            extensions={"current_status": exc.status, "allowed_transitions": exc.allowed},
        ) from None
    except Conflict as exc:
        raise ApiProblem(
            409,
            f"De aanvraag veranderde intussen en heeft nu de status {exc.status}; lees haar"
            " opnieuw en besluit dan.",
            code="gelijktijdig",
            extensions={"current_status": exc.status, "allowed_transitions": exc.allowed},
        ) from None
    except BesluitConflict as exc:
        raise ApiProblem(409, exc.detail, code=exc.code) from None


async def _allowed_on_besluit(
    store: Store, identity: Identity, resource: str, action: str, besluit_id: str
) -> Grant:
    """The grant for `action` on besluit `besluit_id`: 401 or 403 by role before anything is
    read, 404 for an unknown besluit or one of another organisation."""
    authorize(identity, resource, action)
    with _problems("besluit", besluit_id):
        ref = await run_in_threadpool(store.besluit_ref, besluit_id)
    return authorize(identity, resource, action, ref)


# --- deciding: the work is in vangnet.service.deciding, shared with the demo seeder -----


@router.post(
    "/aanvragen/{aanvraagId}/besluit",
    status_code=201,
    summary="Besluit over een aanvraag",
    operation_id="postBesluit",
    response_model=BesluitOut,
    responses=_CREATED | {404: {"description": "Onbekende aanvraag"}} | _CONFLICT,
    openapi_extra=json_body("Besluit"),
)
async def post_besluit(
    request: Request,
    store: StoreDep,
    workers: WorkersDep,
    identity: Annotated[Identity, may("besluiten", "besluiten")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Besluit over een aanvraag in behandeling; het besluit en zijn brief liggen daarna vast."""
    await allowed(store, identity, "besluiten", aanvraag_id, resource="besluiten")
    data = await read_json(request, optional=True)
    with _problems("aanvraag", aanvraag_id):
        stored = await deciding.decide(store, workers, aanvraag_id, data, identity)
    return _created(await run_in_threadpool(_listed, store, stored))


async def _replace(
    request: Request,
    *,
    store: Store,
    workers: EngineWorkers,
    identity: Identity,
    besluit_id: str,
    kind: str,
) -> Response:
    action = "corrigeren" if kind == "correctie" else "beslissen_op_bezwaar"
    await _allowed_on_besluit(store, identity, "besluiten", action, besluit_id)
    data = await read_json(request, optional=True)
    with _problems("besluit", besluit_id):
        stored = await deciding.replace(store, workers, besluit_id, kind, data, identity=identity)
    return _created(await run_in_threadpool(_listed, store, stored))


@router.post(
    "/besluiten/{besluitId}/correcties",
    status_code=201,
    summary="Corrigeer een besluit",
    operation_id="postCorrectie",
    response_model=BesluitOut,
    responses=_CREATED | _NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Besluit"),
)
async def post_correctie(
    request: Request,
    store: StoreDep,
    workers: WorkersDep,
    identity: Annotated[Identity, may("besluiten", "corrigeren")],
    besluit_id: BesluitId,
) -> Response:
    """Corrigeer een besluit met een nieuw besluit dat ervoor in de plaats komt."""
    return await _replace(
        request,
        store=store,
        workers=workers,
        identity=identity,
        besluit_id=besluit_id,
        kind="correctie",
    )


@router.post(
    "/besluiten/{besluitId}/beslissingen-op-bezwaar",
    status_code=201,
    summary="Beslis op bezwaar",
    operation_id="postBeslissingOpBezwaar",
    response_model=BesluitOut,
    responses=_CREATED | _NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Besluit"),
)
async def post_beslissing_op_bezwaar(
    request: Request,
    store: StoreDep,
    workers: WorkersDep,
    identity: Annotated[Identity, may("besluiten", "beslissen_op_bezwaar")],
    besluit_id: BesluitId,
) -> Response:
    """Beslis op de bezwaren tegen een besluit; de beslissing komt in de plaats van het besluit."""
    return await _replace(
        request,
        store=store,
        workers=workers,
        identity=identity,
        besluit_id=besluit_id,
        kind="beslissing_op_bezwaar",
    )


@router.post(
    "/besluiten/{besluitId}/bezwaren",
    status_code=201,
    summary="Registreer een bezwaar",
    operation_id="postBezwaar",
    response_model=BezwaarOut,
    responses={201: {"description": "Het bezwaar is geregistreerd"}} | _NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Bezwaar"),
)
async def post_bezwaar(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("bezwaren", "indienen")],
    besluit_id: BesluitId,
) -> Response:
    """Maak bezwaar tegen het geldende besluit (de aanvrager: het komt vandaag binnen) of
    registreer een bezwaarschrift (de beoordelaar: wanneer het binnenkwam); geen tekst."""
    await _allowed_on_besluit(store, identity, "bezwaren", "indienen", besluit_id)
    data = await read_json(request, optional=True)
    with _problems("besluit", besluit_id):
        stored = await deciding.register_bezwaar(store, besluit_id, data, identity)
    return json_response(stored, 201)


# --- reading -----------------------------------------------------------------------------------


@router.get(
    "/besluiten/{besluitId}",
    summary="Eén besluit",
    operation_id="getBesluit",
    response_model=BesluitOut,
    responses=_FOUND | _NOT_FOUND,
)
async def get_besluit(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("besluiten", "lezen")],
    besluit_id: BesluitId,
) -> Response:
    """Het besluit met het advies, de uitkomst, de motivering, wie en wanneer, en zijn brief."""
    grant = await _allowed_on_besluit(store, identity, "besluiten", "lezen", besluit_id)
    with _problems("besluit", besluit_id):
        body = await run_in_threadpool(lambda: _listed(store, store.besluit(besluit_id)))
    if grant.pseudonymised:
        pseudonymiser: Pseudonymiser = request.app.state.pseudonymiser
        body = pseudonymiser.besluit(body)
    return json_response(body)


# a letter is its own document with its own (inline) style sheet (as the pages serve it)
LETTER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none';"
    " base-uri 'none'; frame-ancestors 'none'; sandbox"
)


def _quality(accept: str, media_type: str) -> float:
    """The q-value `accept` gives `media_type` (the most specific range that matches)."""
    kind = media_type.split("/", maxsplit=1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        given = pieces[0].lower()
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        rank = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(given)
        if rank is not None and rank > best[0]:
            best = (rank, q)
    return best[1]


def _negotiate(accept: str | None) -> LetterFormat | None:
    """The letter's format for an `Accept` header (no header: the PDF); None when none fits."""
    if not accept or not accept.strip():
        return "pdf"
    scored = [(_quality(accept, media), fmt) for media, fmt in _LETTER_TYPES.items()]
    q, fmt = max(scored, key=lambda s: s[0])  # the first of equals: the order of preference
    return fmt if q > 0 else None


_LETTER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "De brief: de opgeslagen PDF/A (elke keer dezelfde bytes), of HTML of DOCX"
            " met dezelfde inhoud"
        ),
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "text/html": {"schema": {"type": "string"}},
            MEDIA_TYPES["docx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    406: {"description": "Gevraagde vorm niet beschikbaar (kies PDF, HTML of DOCX)"},
}


@router.get(
    "/besluiten/{besluitId}/brief",
    summary="De brief bij een besluit",
    operation_id="getBesluitBrief",
    response_class=Response,
    responses=_LETTER | _NOT_FOUND,
)
async def get_besluit_brief(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("brieven", "lezen")],
    besluit_id: BesluitId,
) -> Response:
    """De brief bij een besluit als PDF/A, HTML of DOCX; kies met de Accept-header."""
    await _allowed_on_besluit(store, identity, "brieven", "lezen", besluit_id)
    fmt = _negotiate(request.headers.get("accept"))
    if fmt is None:
        raise ApiProblem(
            406,
            "De brief is er als application/pdf, text/html of " + MEDIA_TYPES["docx"] + ".",
            code="vorm_niet_beschikbaar",
        )
    with _problems("besluit", besluit_id):
        pdf, _, context = await run_in_threadpool(
            lambda: store.letter(besluit_id, identity=identity, fmt=fmt)
        )
    content = pdf if fmt == "pdf" else await render(context, fmt)
    disposition = f'inline; filename="besluit-{besluit_id}{FILE_SUFFIXES[fmt]}"'
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": disposition,
            "Vary": "Accept",
            # the letter holds what applicants typed: as HTML it may run and fetch nothing
            "Content-Security-Policy": LETTER_CSP,
        },
    )
