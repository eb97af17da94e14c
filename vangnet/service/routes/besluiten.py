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
replacement of the same besluit is 409. The letter context is made in an engine worker and the
PDF in a thread (`vangnet.service.brief`); both are stored with the besluit. Until accounts
exist, the assessor is a pseudonym in the request body (`assessor`, temporary).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from vangnet.claim import IsoDate, Money, decode_json
from vangnet.exceptions import Problem
from vangnet.jsonout import dumps
from vangnet.letters import FILE_SUFFIXES, MEDIA_TYPES, LetterFormat
from vangnet.money import format_eur
from vangnet.service.body import read_json
from vangnet.service.brief import letter_date, make_context, render
from vangnet.service.deps import StoreDep, WorkersDep
from vangnet.service.lifecycle import TRANSITIONS
from vangnet.service.problems import ApiProblem
from vangnet.service.schemas_besluit import BesluitIn, BesluitOut, BezwaarIn, BezwaarOut, Outcome
from vangnet.service.store import (
    BesluitConflict,
    Conflict,
    DecisionBasis,
    NewBesluit,
    NotFound,
    Store,
    TransitionRefused,
    cents,
)
from vangnet.workers import EngineWorkers

__all__ = ["router"]

router = APIRouter(tags=["besluiten"])

M = TypeVar("M", bound=BaseModel)

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
_OUTCOME: TypeAdapter[Outcome] = TypeAdapter(Outcome)
_AMOUNT: TypeAdapter[Decimal] = TypeAdapter(Money)
_DATE: TypeAdapter[date] = TypeAdapter(IsoDate)

_MESSAGES = {
    "missing": "is verplicht maar ontbreekt",
    "extra_forbidden": "is geen veld van dit verzoek; verwijder dit veld",
    "model_type": "moet een object zijn (tussen accolades {{ }})",
    "dict_type": "moet een object zijn (tussen accolades {{ }})",
    "string_type": "moet tekst zijn",
    "string_too_long": "mag hoogstens {max_length} tekens bevatten",
    "string_too_short": "mag niet leeg zijn",
    "literal_error": "moet een van deze waarden zijn: {expected}",
    "string_pattern_mismatch": "heeft niet de juiste vorm ({pattern})",
    "list_type": "moet een lijst zijn",
    "too_long": "mag hoogstens {max_length} elementen hebben",
}


def _body(schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


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


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def _created(body: dict[str, Any]) -> Response:
    return _json(body, 201, {"Location": body["href"]})


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


# --- reading a request body ------------------------------------------------------------------


def _validation_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error["loc"]) or "(verzoek)"
        known = _MESSAGES.get(error["type"])
        # vangnet's own errors (money, dates) carry their Dutch message
        text = (
            error["msg"]
            if known is None and error["type"].startswith(("money", "date"))
            else (known or "heeft een ongeldige waarde")
        )
        shown = None if error["type"] == "missing" else str(error.get("input"))[:80]
        problems.append(Problem(loc, shown, text.format(**(error.get("ctx") or {}))))
    return problems


def _parse(model: type[M], data: Any) -> tuple[M | None, list[Problem]]:
    try:
        return model.model_validate({} if data is None else data), []
    except ValidationError as exc:
        return None, _validation_problems(exc)


def _field(adapter: TypeAdapter[Any], data: Any, key: str) -> Any:
    """One field's value when it is valid on its own, else None."""
    if not isinstance(data, dict) or key not in data:
        return None
    try:
        return adapter.validate_python(data[key])
    except ValidationError:
        return None


def _refuse(problems: list[Problem]) -> ApiProblem:
    count = len(problems)
    text = f"Het verzoek is ongeldig: {count} {'probleem' if count == 1 else 'problemen'}."
    return ApiProblem(400, text, code="ongeldig_verzoek", problems=problems)


def _besluit_problems(data: Any, kind: str, basis: DecisionBasis) -> list[Problem]:
    """What is wrong with a besluit given the advice: the amount must fit the outcome, and a
    besluit that differs from the advice (and every replacement) needs a motivation."""
    outcome = _field(_OUTCOME, data, "outcome")
    amount = _field(_AMOUNT, data, "amount_eur")
    claimed = Decimal(decode_json(basis.decision_json)["claimed_total_eur"])
    problems = []
    if outcome is not None and amount is not None:
        rule = {
            "afwijzen": (amount == 0, "moet 0,00 zijn bij afwijzen"),
            "toekennen": (
                amount == claimed,
                f"moet bij toekennen het gevraagde totaal zijn ({format_eur(claimed)})",
            ),
            "gedeeltelijk": (
                0 < amount < claimed,
                "moet bij gedeeltelijk meer dan 0 en minder dan het gevraagde totaal"
                f" ({format_eur(claimed)}) zijn",
            ),
        }[outcome]
        if not rule[0]:
            problems.append(Problem("amount_eur", str(amount), rule[1]))
    motivation = data.get("motivation") if isinstance(data, dict) else None
    if not (isinstance(motivation, str) and motivation.strip()):
        differs = (outcome is not None and outcome != basis.advice_outcome) or (
            amount is not None and cents(amount) != basis.advice_eligible_cents
        )
        advice = f"{basis.advice_outcome}, {format_eur(Decimal(basis.advice_eligible_cents) / 100)}"
        if kind != "besluit":
            problems.append(
                Problem(
                    "motivation",
                    None,
                    "is verplicht bij een correctie en bij een beslissing op bezwaar",
                )
            )
        elif differs:
            problems.append(
                Problem(
                    "motivation",
                    None,
                    f"is verplicht: het besluit wijkt af van het advies ({advice})",
                )
            )
    return problems


def _checked(data: Any, kind: str, basis: DecisionBasis) -> BesluitIn:
    body, problems = _parse(BesluitIn, data)
    fields = {p.field for p in problems}
    problems += [p for p in _besluit_problems(data, kind, basis) if p.field not in fields]
    if problems or body is None:
        raise _refuse(problems)
    return body


# --- making a besluit ------------------------------------------------------------------------


async def _make(
    workers: EngineWorkers, basis: DecisionBasis, body: BesluitIn, kind: str
) -> NewBesluit:
    """The besluit with its letter: the context in an engine worker, the PDF in a thread."""
    now = datetime.now(UTC)
    day = letter_date(now)
    assessor = {
        "kind": kind,
        "outcome": body.outcome,
        "amount_eur": body.amount_eur,
        "motivation": body.motivation,
        "number": basis.next_number,
        "replaces": (
            None
            if basis.replaces_number is None or basis.replaces_date is None
            else [basis.replaces_number, basis.replaces_date.isoformat()]
        ),
        "objection_received": (
            None if basis.objection_received is None else basis.objection_received.isoformat()
        ),
    }
    context = await make_context(workers, basis.claim_json, basis.decision_json, assessor, day)
    pdf = await render(context, "pdf")
    return NewBesluit(
        kind=kind,
        advies_id=basis.advies_id,
        outcome=body.outcome,
        amount_cents=cents(body.amount_eur),
        motivation=body.motivation,
        attachments=list(body.attachments),
        decided_by=body.assessor,
        decided_at=now,
        number=basis.next_number,
        letter_date=day,
        letter_context=context,
        letter_pdf=pdf,
        replaces_id=basis.replaces_id,
    )


@router.post(
    "/aanvragen/{aanvraagId}/besluit",
    status_code=201,
    summary="Besluit over een aanvraag",
    operation_id="postBesluit",
    response_model=BesluitOut,
    responses=_CREATED | {404: {"description": "Onbekende aanvraag"}} | _CONFLICT,
    openapi_extra=_body("Besluit"),
)
async def post_besluit(
    request: Request, store: StoreDep, workers: WorkersDep, aanvraag_id: AanvraagId
) -> Response:
    """Besluit over een aanvraag in behandeling; het besluit en zijn brief liggen daarna vast."""
    data = await read_json(request, optional=True)
    with _problems("aanvraag", aanvraag_id):
        basis = await run_in_threadpool(store.decision_basis, aanvraag_id)
        body = _checked(data, "besluit", basis)
        if basis.status not in TRANSITIONS["besluit"].sources:
            raise TransitionRefused(basis.status, "besluit")
        new = await _make(workers, basis, body, "besluit")
        stored = await run_in_threadpool(
            lambda: store.decide(aanvraag_id, new, expected_lock=basis.lock_version)
        )
    return _created(stored)


async def _replace(
    request: Request, store: Store, workers: EngineWorkers, besluit_id: str, kind: str
) -> Response:
    data = await read_json(request, optional=True)
    with _problems("besluit", besluit_id):
        basis = await run_in_threadpool(store.replacement_basis, besluit_id)
        body = _checked(data, kind, basis)
        if kind == "beslissing_op_bezwaar" and basis.objection_received is None:
            raise BesluitConflict(
                "Tegen dit besluit is geen bezwaar geregistreerd; registreer het bezwaar eerst"
                f" (POST /v1/besluiten/{besluit_id}/bezwaren).",
                "geen_bezwaar",
            )
        new = await _make(workers, basis, body, kind)
        stored = await run_in_threadpool(store.replace, new)
    return _created(stored)


@router.post(
    "/besluiten/{besluitId}/correcties",
    status_code=201,
    summary="Corrigeer een besluit",
    operation_id="postCorrectie",
    response_model=BesluitOut,
    responses=_CREATED | _NOT_FOUND | _CONFLICT,
    openapi_extra=_body("Besluit"),
)
async def post_correctie(
    request: Request, store: StoreDep, workers: WorkersDep, besluit_id: BesluitId
) -> Response:
    """Corrigeer een besluit met een nieuw besluit dat ervoor in de plaats komt."""
    return await _replace(request, store, workers, besluit_id, "correctie")


@router.post(
    "/besluiten/{besluitId}/beslissingen-op-bezwaar",
    status_code=201,
    summary="Beslis op bezwaar",
    operation_id="postBeslissingOpBezwaar",
    response_model=BesluitOut,
    responses=_CREATED | _NOT_FOUND | _CONFLICT,
    openapi_extra=_body("Besluit"),
)
async def post_beslissing_op_bezwaar(
    request: Request, store: StoreDep, workers: WorkersDep, besluit_id: BesluitId
) -> Response:
    """Beslis op de bezwaren tegen een besluit; de beslissing komt in de plaats van het besluit."""
    return await _replace(request, store, workers, besluit_id, "beslissing_op_bezwaar")


@router.post(
    "/besluiten/{besluitId}/bezwaren",
    status_code=201,
    summary="Registreer een bezwaar",
    operation_id="postBezwaar",
    response_model=BezwaarOut,
    responses={201: {"description": "Het bezwaar is geregistreerd"}} | _NOT_FOUND | _CONFLICT,
    openapi_extra=_body("Bezwaar"),
)
async def post_bezwaar(request: Request, store: StoreDep, besluit_id: BesluitId) -> Response:
    """Registreer een bezwaar tegen het geldende besluit: wanneer het binnenkwam, geen tekst."""
    data = await read_json(request, optional=True)
    with _problems("besluit", besluit_id):
        basis = await run_in_threadpool(store.replacement_basis, besluit_id)
        body, problems = _parse(BezwaarIn, data)
        received = _field(_DATE, data, "received_on")
        decided = basis.replaces_date
        if received is not None and decided is not None and received < decided:
            text = f"mag niet voor de datum van het besluit liggen ({decided.isoformat()})"
            problems.append(Problem("received_on", received.isoformat(), text))
        if received is not None and received > letter_date(datetime.now(UTC)):
            problems.append(Problem("received_on", received.isoformat(), "ligt in de toekomst"))
        if problems or body is None:
            raise _refuse(problems)
        stored = await run_in_threadpool(
            lambda: store.register_bezwaar(
                besluit_id, received_on=body.received_on, registered_by=body.assessor
            )
        )
    return _json(stored, 201)


# --- reading -----------------------------------------------------------------------------------


@router.get(
    "/besluiten/{besluitId}",
    summary="Eén besluit",
    operation_id="getBesluit",
    response_model=BesluitOut,
    responses=_FOUND | _NOT_FOUND,
)
def get_besluit(store: StoreDep, besluit_id: BesluitId) -> Response:
    """Het besluit met het advies, de uitkomst, de motivering, wie en wanneer, en zijn brief."""
    with _problems("besluit", besluit_id):
        return _json(store.besluit(besluit_id))


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
async def get_besluit_brief(request: Request, store: StoreDep, besluit_id: BesluitId) -> Response:
    """De brief bij een besluit als PDF/A, HTML of DOCX; kies met de Accept-header."""
    fmt = _negotiate(request.headers.get("accept"))
    if fmt is None:
        raise ApiProblem(
            406,
            "De brief is er als application/pdf, text/html of " + MEDIA_TYPES["docx"] + ".",
            code="vorm_niet_beschikbaar",
        )
    with _problems("besluit", besluit_id):
        pdf, _, context = await run_in_threadpool(store.letter, besluit_id)
    content = pdf if fmt == "pdf" else await render(context, fmt)
    disposition = f'inline; filename="besluit-{besluit_id}{FILE_SUFFIXES[fmt]}"'
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": disposition, "Vary": "Accept"},
    )
