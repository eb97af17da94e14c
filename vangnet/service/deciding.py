"""Deciding on a claim: the work behind the besluit resources, shared by the API and the demo.

`decide` makes the first besluit on a claim, `replace` a correction or a decision on an
objection, `register_bezwaar` registers an objection. Each takes the request body as decoded
JSON (or what the demo file gives), checks it as the API does (every problem at once, a 400
`ApiProblem`), makes the letter (its context in an engine worker, the PDF in a thread, see
`vangnet.service.brief`) and stores the besluit through the store, as the account `identity`
(its pseudonym is the besluit's `decided_by`; the store writes the audit-log entries in the
same transaction). Who may do this is checked before (`vangnet.service.authz`). The store's
refusals
(`NotFound`, `TransitionRefused`, `Conflict`, `BesluitConflict`) pass through unchanged: the
routes turn them into problems (`routes/besluiten.py`), the demo seeder into `DemoError`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from vangnet.claim import IsoDate, Money, decode_json
from vangnet.exceptions import Problem
from vangnet.letters import supplement_weeks
from vangnet.money import format_eur
from vangnet.service.attachments import Attachments, attachment_problems
from vangnet.service.body import validation_problems
from vangnet.service.brief import letter_date, make_context, render
from vangnet.service.identity import Identity
from vangnet.service.lifecycle import TERM_STEPS, TRANSITIONS, supplement_open, today_nl
from vangnet.service.problems import ApiProblem
from vangnet.service.schemas import AanvullingstermijnIn, VerdagingIn
from vangnet.service.schemas_besluit import BesluitIn, BezwaarIn, Outcome
from vangnet.service.store import (
    BesluitConflict,
    DecisionBasis,
    NewBesluit,
    Store,
    TransitionRefused,
    cents,
)
from vangnet.service.termijnen import Deadline, deadline, terms
from vangnet.workers import EngineWorkers

__all__ = [
    "REPLACEMENTS",
    "check_besluit",
    "decide",
    "extend",
    "extend_supplement",
    "make_besluit",
    "preview_replacement",
    "register_bezwaar",
    "replace",
    "supplement_due",
]

M = TypeVar("M", bound=BaseModel)

# the kinds of besluit that replace another, by the name of their resource
# (POST /v1/besluiten/{besluitId}/<name>)
REPLACEMENTS: dict[str, str] = {
    "correcties": "correctie",
    "beslissingen-op-bezwaar": "beslissing_op_bezwaar",
}

_OUTCOME: TypeAdapter[Outcome] = TypeAdapter(Outcome)
_AMOUNT: TypeAdapter[Decimal] = TypeAdapter(Money)
_DATE: TypeAdapter[date] = TypeAdapter(IsoDate)

# --- reading a request body ------------------------------------------------------------------


def _parse(model: type[M], data: Any) -> tuple[M | None, list[Problem]]:
    try:
        return model.model_validate({} if data is None else data), []
    except ValidationError as exc:
        return None, validation_problems(exc)


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


def check_besluit(
    data: Any, kind: str, basis: DecisionBasis, attachments: set[str] | None = None
) -> BesluitIn:
    """The body of a besluit of `kind`, checked against the advice it will rest on and (when
    given) the claim's attachment ids; 400 listing every problem."""
    body, problems = _parse(BesluitIn, data)
    fields = {p.field for p in problems}
    problems += [p for p in _besluit_problems(data, kind, basis) if p.field not in fields]
    if attachments is not None:
        fields = {p.field for p in problems}
        problems += [p for p in attachment_problems(data, attachments) if p.field not in fields]
    if problems or body is None:
        raise _refuse(problems)
    return body


async def _attachment_ids(store: Store, basis: DecisionBasis) -> set[str]:
    """The ids of the claim's attachments: a besluit rests only on those. Attachments are
    never deleted, so what is checked here still holds when the besluit is stored."""
    ids: set[str] = await run_in_threadpool(Attachments(store.engine).ids_of, basis.aanvraag_id)
    return ids


# --- making and storing a besluit ------------------------------------------------------------


def _pseudonym(identity: Identity) -> str:
    if identity.pseudoniem is None:
        raise ValueError("only an account decides or registers an objection")
    return identity.pseudoniem


async def make_besluit(
    workers: EngineWorkers,
    basis: DecisionBasis,
    body: BesluitIn,
    kind: str,
    identity: Identity,
    *,
    concept: bool = False,
) -> NewBesluit:
    """The besluit with its letter: the context in an engine worker, the PDF in a thread.
    `concept`: a preview, never stored; its letter is marked CONCEPT."""
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
    context = await make_context(
        workers, basis.claim_json, basis.decision_json, assessor, day, concept=concept
    )
    pdf = await render(context, "pdf")
    return NewBesluit(
        kind=kind,
        advies_id=basis.advies_id,
        outcome=body.outcome,
        amount_cents=cents(body.amount_eur),
        motivation=body.motivation,
        attachments=list(body.attachments),
        decided_by=_pseudonym(identity),
        decided_at=now,
        number=basis.next_number,
        letter_date=day,
        letter_context=context,
        letter_pdf=pdf,
        replaces_id=basis.replaces_id,
    )


# a sanity bound on the days an assessor names (a last day to supplement, an extension), not a
# legal term
_LONGEST_SUPPLEMENT = timedelta(days=366)


def _beyond_a_year(requested: date, today: date) -> Problem | None:
    if requested <= today + _LONGEST_SUPPLEMENT:
        return None
    text = f"mag hoogstens een jaar na vandaag liggen (uiterlijk {today + _LONGEST_SUPPLEMENT})"
    return Problem("due_on", requested.isoformat(), text)


def supplement_due(requested: date | None, today: date) -> date:
    """The last day to supplement for an information request made `today`: the day the
    assessor names (after today, within a year), or else the letters' term from today
    (`supplement_weeks`, a policy choice). Awb 4:5 asks the body to set a term."""
    if requested is None:
        return today + timedelta(weeks=supplement_weeks())
    if requested <= today:
        text = f"moet na vandaag liggen ({today.isoformat()}): de aanvrager moet tijd krijgen"
        raise _refuse([Problem("due_on", requested.isoformat(), text)])
    too_late = _beyond_a_year(requested, today)
    if too_late is not None:
        raise _refuse([too_late])
    return requested


async def _term_now(store: Store, aanvraag_id: str, kind: str) -> tuple[int, Deadline, date]:
    """For a term step `kind` (`TERM_STEPS`) on claim `aanvraag_id`: the lock version the
    check rests on, the claim's terms today, and today; 409 when the status does not allow it.
    The lock version is read before the history, so a change in between refuses the step."""
    seen = await run_in_threadpool(store.snapshot, aanvraag_id)
    if seen.status not in TERM_STEPS[kind]:
        raise TransitionRefused(seen.status, kind)
    claim = await run_in_threadpool(store.get, aanvraag_id)
    today = today_nl()
    return seen.lock_version, deadline(claim["created_at"], claim["history"], now=today), today


async def _store_term(
    store: Store, aanvraag_id: str, kind: str, *, identity: Identity, reason: str | None,
    due_on: date, lock: int,
) -> dict[str, Any]:  # fmt: skip
    """Store the term step `kind` (`Store.extend`) in a thread; the claim as stored."""
    return await run_in_threadpool(
        lambda: store.extend(
            aanvraag_id, identity=identity, kind=kind, reason=reason, due_on=due_on,
            expected_lock=lock,
        )
    )  # fmt: skip


async def extend(store: Store, aanvraag_id: str, data: Any, identity: Identity) -> dict[str, Any]:
    """Extend the decision term of claim `aanvraag_id` (Awb 4:14, third paragraph; POST
    /v1/aanvragen/{aanvraagId}/verdagingen): while the term runs, to a later day, at most a
    year ahead; the claim as stored. The term is read from the claim's history
    (`vangnet.service.termijnen`) and checked again against the lock version when stored."""
    body, problems = _parse(VerdagingIn, data)
    if body is None:  # the body itself first, as every step of a claim's life
        raise _refuse(problems)
    lock, term, today = await _term_now(store, aanvraag_id, "verdagingen")
    if term.due is not None and today > term.due:
        raise ApiProblem(
            409,
            f"De beslistermijn liep af op {term.due:%d-%m-%Y}. Verdagen kan alleen zolang de"
            f" termijn loopt ({terms().extension.source}); besluit zo snel mogelijk.",
            code="termijn_verstreken",
        )
    requested = body.due_on
    if term.due is not None and requested <= term.due:
        text = f"moet na de huidige beslisdatum liggen ({term.due.isoformat()})"
        problems.append(Problem("due_on", requested.isoformat(), text))
    elif (too_late := _beyond_a_year(requested, today)) is not None:
        problems.append(too_late)
    if problems:
        raise _refuse(problems)
    return await _store_term(
        store, aanvraag_id, "verdagingen", identity=identity, reason=body.reason,
        due_on=requested, lock=lock,
    )  # fmt: skip


async def extend_supplement(
    store: Store, aanvraag_id: str, data: Any, identity: Identity
) -> dict[str, Any]:
    """Give the applicant more time to supplement claim `aanvraag_id` (Awb 4:5: the body sets
    the term, and may set a later one; POST /v1/aanvragen/{aanvraagId}/aanvullingstermijnen):
    a later last day than the current one, after today and at most a year ahead; the claim as
    stored. The decision term stays suspended until that day (termijnen.yaml)."""
    body, problems = _parse(AanvullingstermijnIn, data)
    if body is None:
        raise _refuse(problems)
    lock, term, today = await _term_now(store, aanvraag_id, "aanvullingstermijnen")
    current, requested = term.supplement_due, body.due_on
    if current is not None and requested <= current:
        text = f"moet na de huidige laatste dag om aan te vullen liggen ({current.isoformat()})"
        raise _refuse([Problem("due_on", requested.isoformat(), text)])
    supplement_due(requested, today)  # after today, within a year
    return await _store_term(
        store, aanvraag_id, "aanvullingstermijnen", identity=identity, reason=body.reason,
        due_on=requested, lock=lock,
    )  # fmt: skip


async def decide(
    store: Store, workers: EngineWorkers, aanvraag_id: str, data: Any, identity: Identity
) -> dict[str, Any]:
    """The first besluit on claim `aanvraag_id` (POST /v1/aanvragen/{aanvraagId}/besluit): the
    besluit as stored, the claim moved to `besloten`. While an information request is open
    (its last day not passed), the body waits for the supplement."""
    basis = await run_in_threadpool(store.decision_basis, aanvraag_id)
    body = check_besluit(data, "besluit", basis, await _attachment_ids(store, basis))
    if basis.status not in TRANSITIONS["besluit"].sources:
        raise TransitionRefused(basis.status, "besluit")
    if basis.status == "aanvulling_gevraagd" and supplement_open(basis.supplement_due, today_nl()):
        until = (
            "zolang het verzoek om aanvulling openstaat"
            if basis.supplement_due is None
            else f"tot en met {basis.supplement_due:%d-%m-%Y}"
        )
        raise BesluitConflict(
            f"De aanvrager kan de aanvraag nog aanvullen ({until}). Besluit na de aanvulling,"
            " of als die dag voorbij is op de aanvraag zoals die er ligt.",
            "aanvultermijn_loopt",
        )
    new = await make_besluit(workers, basis, body, "besluit", identity)
    return await run_in_threadpool(
        lambda: store.decide(aanvraag_id, new, identity=identity, expected_lock=basis.lock_version)
    )


async def _replacement(
    store: Store,
    workers: EngineWorkers,
    besluit_id: str,
    kind: str,
    data: Any,
    *,
    identity: Identity,
    concept: bool,
) -> NewBesluit:
    if kind not in REPLACEMENTS.values():
        raise ValueError(f"{kind}: no besluit of this kind replaces another")
    basis = await run_in_threadpool(store.replacement_basis, besluit_id)
    body = check_besluit(data, kind, basis, await _attachment_ids(store, basis))
    if kind == "beslissing_op_bezwaar" and basis.objection_received is None:
        raise BesluitConflict(
            "Tegen dit besluit is geen bezwaar geregistreerd; registreer het bezwaar eerst"
            f" (POST /v1/besluiten/{besluit_id}/bezwaren).",
            "geen_bezwaar",
        )
    return await make_besluit(workers, basis, body, kind, identity, concept=concept)


async def replace(
    store: Store,
    workers: EngineWorkers,
    besluit_id: str,
    kind: str,
    data: Any,
    *,
    identity: Identity,
) -> dict[str, Any]:
    """A besluit of `kind` (`correctie` or `beslissing_op_bezwaar`) that replaces the current
    besluit `besluit_id`: the new besluit as stored."""
    new = await _replacement(
        store, workers, besluit_id, kind, data, identity=identity, concept=False
    )
    return await run_in_threadpool(lambda: store.replace(new, identity=identity))


async def preview_replacement(
    store: Store,
    workers: EngineWorkers,
    besluit_id: str,
    kind: str,
    data: Any,
    *,
    identity: Identity,
) -> NewBesluit:
    """What `replace` would store, checked the same way, with its letter marked CONCEPT;
    nothing is stored."""
    return await _replacement(
        store, workers, besluit_id, kind, data, identity=identity, concept=True
    )


async def register_bezwaar(
    store: Store, besluit_id: str, data: Any, identity: Identity
) -> dict[str, Any]:
    """An objection against the current besluit `besluit_id`: lodged by the applicant (received
    today, the day it reaches vangnet) or registered by an assessor of the deciding body
    (received on the day the body names: on or after the besluit's date and not in the future,
    in the Netherlands)."""
    _pseudonym(identity)
    basis = await run_in_threadpool(store.replacement_basis, besluit_id)
    body, problems = _parse(BezwaarIn, data)
    received = _field(_DATE, data, "received_on")
    today = letter_date(datetime.now(UTC))
    lodged = identity.rol == "aanvrager"
    decided = basis.replaces_date
    if lodged and received is not None and received != today:
        text = f"laat dit veld weg: een bezwaar van de aanvrager komt vandaag binnen ({today})"
        problems.append(Problem("received_on", received.isoformat(), text))
    elif not lodged and body is not None and body.received_on is None:
        problems.append(
            Problem("received_on", None, "is verplicht als een beoordelaar een bezwaar registreert")
        )
    elif received is not None and decided is not None and received < decided:
        text = f"mag niet voor de datum van het besluit liggen ({decided.isoformat()})"
        problems.append(Problem("received_on", received.isoformat(), text))
    elif received is not None and received > today:
        problems.append(Problem("received_on", received.isoformat(), "ligt in de toekomst"))
    if problems or body is None:
        raise _refuse(problems)
    on = today if body.received_on is None else body.received_on
    return await run_in_threadpool(
        lambda: store.register_bezwaar(besluit_id, received_on=on, identity=identity)
    )
