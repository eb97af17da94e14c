"""The assessor's pages: the queue of open claims with their legal decision date, one claim
with everything needed to decide on it, and the actions as plain form posts.

Who: an account with the role `beoordelaar`, for the claims its organisation decides (BZK for
`vangnet` claims). Every page and action asks `vangnet.service.authz` exactly as the API does,
first by role (an applicant or an auditor gets 403 here), then per object (a claim of another
deciding organisation is 404, worded as for an id that does not exist). Every refusal is written
to the audit log (`toegang.geweigerd`) before the error page answers, like the API's refusal
handler. The changes themselves go through the same service code as the API
(`Store.transition`, `vangnet.service.deciding`), which writes their audit entries in their own
transactions.

The decision date is data: eight weeks after receipt (Awb 4:13) plus the days an information
request suspended the term (Awb 4:15, at most up to its last day), or the day of an extension
(Awb 4:14), from `forms/pages/beoordelaar/termijnen.yaml`, counted by
`vangnet.service.termijnen` (which the service uses too). The words shared by the templates are
in `forms/pages/beoordelaar/woorden.yaml`.

A letter is made only when a besluit is stored (it is part of the besluit). The preview shows
the letter a besluit with the form's values would get, marked CONCEPT, made by the same code;
nothing is stored by it, and showing it is recorded in the audit log like a letter download.

Nothing here logs: claims describe threatened people.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import yaml
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from vangnet import yamlfile
from vangnet.calculator import calculate
from vangnet.exceptions import ClaimError, DataError, NoRulesetError
from vangnet.letters import FILE_SUFFIXES, MEDIA_TYPES, LetterFormat, supplement_weeks
from vangnet.service import deciding
from vangnet.service.attachments import Attachments, download
from vangnet.service.authz import scope
from vangnet.service.brief import render
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem
from vangnet.service.store import BesluitConflict, Conflict, NotFound, Store, TransitionRefused
from vangnet.service.termijnen import Deadline, DecisionTerm, deadline, local_moment, terms
from vangnet.web.access import check_besluit, check_bijlage, check_claim, role_page, store_of
from vangnet.web.errors import PageRoute, error_page
from vangnet.web.render import PAGES_DIR, page, texts
from vangnet.web.session import read_form

__all__ = [
    "ASSESSOR_WORK",
    "LETTER_CSP",
    "OPEN_STATUSES",
    "Assessor",
    "Deadline",
    "DecisionTerm",
    "FormState",
    "deadline",
    "local_moment",
    "parse_amount",
    "parse_day",
    "read_words",
    "router",
    "terms",
    "words",
]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

WORDS_DIR = PAGES_DIR / "beoordelaar"
OPEN_STATUSES = ("ingediend", "in_behandeling", "aangevuld")
QUEUE_PAGE = 25
# a letter is its own document with its own (inline) style sheet: no script, nothing fetched
LETTER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none';"
    " base-uri 'none'; frame-ancestors 'none'; sandbox"
)
_TZ = ZoneInfo("Europe/Amsterdam")
_WORD_KEYS = ("filters", "besluit_outcomes", "vervangingen", "roles", "threat_statuses")
MAX_REASON = 2000  # AanvullingsverzoekIn.reason
MAX_MOTIVATION = 4000  # BesluitIn.motivation


# --- data: words and the legal term ------------------------------------------------------------


def read_words(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """A file of page words (YAML) that must name `keys`; `DataError` names what is wrong."""
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path.name}: niet leesbaar als YAML: {exc}") from None
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise DataError(f"{path.name}: ontbreekt: {', '.join(missing)}")
    result: dict[str, Any] = data
    return result


@lru_cache(maxsize=4)
def words(directory: Path = WORDS_DIR) -> dict[str, Any]:
    """The words the assessor's templates share (`woorden.yaml`)."""
    return read_words(directory / "woorden.yaml", _WORD_KEYS)


def today() -> date:
    return datetime.now(_TZ).date()


# --- reading form values ---------------------------------------------------------------------

_AMOUNT = re.compile(r"^(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]{1,2})?$")
_POINT_AMOUNT = re.compile(r"^[0-9]+\.[0-9]{1,2}$")
_DAY = re.compile(r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$")


def parse_amount(raw: str) -> Decimal | None:
    """An amount in euros as people type it (16.850,00 or 16850,5 or 16850.50), or None."""
    text = raw.replace("€", "").replace(" ", "").replace("\u00a0", "").strip()
    try:
        if _AMOUNT.match(text):
            return Decimal(text.replace(".", "").replace(",", "."))
        if _POINT_AMOUNT.match(text):
            return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the patterns admit only numbers
        return None
    return None


def parse_day(raw: str) -> date | None:
    """A date as day-month-year (28-11-2026), or ISO (2026-11-28), or None."""
    text = raw.strip()
    m = _DAY.match(text)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


@dataclass(slots=True)
class FormState:
    """One form on a page: what was typed, and the problem per field (shown next to it)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


# --- access: the roles table, refusals in the audit log (vangnet.web.access) -------------------

# the assessor's pages are the work of a deciding organisation: this row of the roles table
# admits only its assessors, so any other role is refused (403, audited) before anything is read
ASSESSOR_WORK = ("aanvragen", "in_behandeling_nemen")
Assessor = Annotated[Identity, role_page(*ASSESSOR_WORK)]


# --- the queue ---------------------------------------------------------------------------------


def _queue_page(
    store: Store, decider: str | None, statuses: tuple[str, ...], number: int
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of the claims the organisation decides with one of `statuses`, oldest first:
    (the claims, how many there are in all, the page's number: the last one when `number` is
    beyond it). Read page by page in the query, never the whole queue."""
    # the open claims include those whose last day to supplement has passed: they wait for
    # the assessor now
    passed = today() if statuses == OPEN_STATUSES else None

    def read(number: int) -> tuple[list[dict[str, Any]], int]:
        return store.page(
            decider=decider, statuses=statuses, oldest_first=True, page=number,
            size=QUEUE_PAGE, supplement_passed_before=passed,
        )  # fmt: skip

    items, total = read(number)
    last = max(1, -(-total // QUEUE_PAGE))
    if number > last:
        number = last
        items, total = read(number)
    return items, total, number


def _number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 7 and int(raw) > 0 else 1


@router.get("/beoordelen")
async def queue(request: Request, user: Assessor) -> Response:
    """The claims the assessor's organisation decides, oldest first, with their decision date."""
    store = store_of(request)
    only = scope(user, "aanvragen")
    shown = request.query_params.get("toon", "open")
    if shown not in words()["filters"]:
        shown = "open"
    statuses = OPEN_STATUSES if shown == "open" else (shown,)
    requested = _number(request.query_params.get("pagina"))
    claims, total, number = await run_in_threadpool(
        _queue_page, store, only.decider_id, statuses, requested
    )
    rows = []
    now = today()
    for claim in claims:
        history: list[dict[str, Any]] = []
        if claim["status"] != "ingediend":
            # a claim taken into treatment can have had an information request or an
            # extension; a submitted one has neither
            full = await run_in_threadpool(store.get, claim["id"])
            history = full["history"]
        term = deadline(claim["created_at"], history)
        rows.append({"claim": claim, "term": term, "overdue": term.overdue(now),
                     "days_left": term.days_left(now)})  # fmt: skip
    context = {
        "w": words(),
        "terms": terms(),
        "rows": rows,
        "shown": shown,
        "open": shown == "open",
        "total": total,
        "page_number": number,
        "pages": max(1, -(-total // QUEUE_PAGE)),
        "today": now,
    }
    return page(request, "beoordelaar/wachtrij.html.j2", context)


# --- one claim ---------------------------------------------------------------------------------


def _calculation_rows(request: Request, claim: dict[str, Any], advice: dict[str, Any]) -> Any:
    """The advice's lines beside the neutral calculation (reference price per unit, deviation)
    with the catalogue the advice used; None when the stored claim no longer reads."""
    validator = request.app.state.validator
    wanted = advice["receipt"]["catalogue_sha256"]
    catalogue = next((c for c in validator.catalogues.versions if c.sha256 == wanted), None)
    try:
        valid = validator.validate(claim)
        calc = calculate(valid, catalogue) if catalogue is not None else None
    except (ClaimError, NoRulesetError):
        calc = None
    lines = {} if calc is None else {line.index: line.as_dict() for line in calc.lines}
    rows = [
        {"decision": line, "calc": lines.get(line["index"]), "form_line": line["index"] + 1}
        for line in advice["lines"]
    ]
    totals = None if calc is None else calc.as_dict()["totals"]
    return rows, totals


def _labels(request: Request, advice: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    ref = advice["ruleset"]
    rulesets = request.app.state.validator.rulesets
    ruleset = next((rs for rs in rulesets.get(ref["id"], ()) if rs.version == ref["version"]), None)
    labels = {} if ruleset is None else {k: r.label for k, r in ruleset.rules_by_id.items()}
    return ruleset, labels


def _history(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, "moment": local_moment(s["at"])} for s in steps]


def _claim_context(request: Request, aanvraag_id: str) -> dict[str, Any]:
    """Everything the claim page shows (read in a thread: several reads)."""
    store = store_of(request)
    body = store.get(aanvraag_id)
    advice = body["advices"][0]["decision"]
    rows, totals = _calculation_rows(request, body["claim"], advice)
    ruleset, labels = _labels(request, advice)
    attachments = Attachments(store.engine).of_aanvraag(aanvraag_id)
    besluiten = [store.besluit(b["id"]) for b in body["besluiten"]]
    current = next((b for b in reversed(besluiten) if b["replaced_by"] is None), None)
    term = deadline(body["created_at"], body["history"])
    return {
        "a": body,
        "claim": body["claim"],
        "advice": advice,
        "advice_decidable": advice["outcome"] in words()["besluit_outcomes"],
        "rows": rows,
        "totals": totals,
        "ruleset": ruleset,
        "labels": labels,
        "attachments": attachments,
        "attachment_moments": {x["id"]: local_moment(x["created_at"]) for x in attachments},
        "besluiten": [{**b, "moment": local_moment(b["decided_at"])} for b in besluiten],
        "current": current,
        "history": _history(body["history"]),
        "term": term,
        "open": body["status"] in OPEN_STATUSES,
        "received": local_moment(body["created_at"]),
        "today": today(),
        "supplement_weeks": supplement_weeks(),
        "supplement_default": today() + timedelta(weeks=supplement_weeks()),
    }


_DONE = (
    "in-behandeling",
    "aanvulling",
    "besluit",
    "bezwaar",
    "correctie",
    "beslissing_op_bezwaar",
    "verdaging",
    "aanvultermijn",
)


def _replacement_form(current: dict[str, Any] | None) -> FormState:
    """The form that replaces the current besluit, filled in with what it decided (a correction
    usually changes one thing), and a decision on the objection when one is registered."""
    if current is None:
        return FormState()
    amount = Decimal(current["amount_eur"]).quantize(Decimal("0.01"))
    return FormState(
        {
            "keuze": "vervangen",
            "soort": "beslissing_op_bezwaar" if current["bezwaren"] else "correctie",
            "uitkomst": current["outcome"],
            "bedrag": str(amount).replace(".", ","),
        }
    )


async def _claim_page(
    request: Request,
    aanvraag_id: str,
    *,
    forms: dict[str, FormState] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    context = await run_in_threadpool(_claim_context, request, aanvraag_id)
    done = request.query_params.get("gedaan")
    given = forms or {}
    context.update(
        {
            "w": words(),
            "terms": terms(),
            "forms": {
                **{
                    k: given.get(k, FormState())
                    for k in ("aanvulling", "besluit", "bezwaar", "verdaging", "aanvultermijn")
                },
                "vervangen": given.get("vervangen", _replacement_form(context["current"])),
            },
            "failed": next(iter(given), None),
            "message": message,
            "done": done if done in _DONE and status == 200 else None,
        }
    )
    return page(request, "beoordelaar/aanvraag.html.j2", context, status=status)


def _back(aanvraag_id: str, done: str) -> Response:
    return RedirectResponse(f"/beoordelen/{aanvraag_id}?gedaan={done}", status_code=303)


@router.get("/beoordelen/{aanvraag_id}")
async def claim_page(request: Request, aanvraag_id: str, user: Assessor) -> Response:
    await check_claim(request, user, "aanvragen", "lezen", aanvraag_id)
    return await _claim_page(request, aanvraag_id)


def _conflict_text(exc: Exception) -> str:
    """A store's refusal of a change, for people."""
    status = texts()["claim_statuses"]
    if isinstance(exc, TransitionRefused | Conflict):
        return (
            f"Dit kan nu niet: de aanvraag heeft de status {status.get(exc.status, exc.status)}."
            " Bekijk hieronder wat er veranderde."
        )
    if isinstance(exc, BesluitConflict):
        return exc.detail
    return "Dit kan nu niet. Laad de pagina opnieuw."


async def _claim_action(
    request: Request, user: Identity, aanvraag_id: str, action: tuple[str, str]
) -> dict[str, str]:
    """A posted form on a claim: the CSRF token checked first, then the role and the action
    on this claim (as the API route asks)."""
    form = await read_form(request, user)
    await check_claim(request, user, *action, aanvraag_id)
    return form


@router.post("/beoordelen/{aanvraag_id}/in-behandeling")
async def take(request: Request, aanvraag_id: str, user: Assessor) -> Response:
    await _claim_action(request, user, aanvraag_id, ("aanvragen", "in_behandeling_nemen"))
    store = store_of(request)
    try:
        await run_in_threadpool(
            lambda: store.transition(aanvraag_id, "in-behandeling", identity=user)
        )
    except Conflict as exc:
        return await _claim_page(request, aanvraag_id, message=_conflict_text(exc), status=409)
    return _back(aanvraag_id, "in-behandeling")


@router.post("/beoordelen/{aanvraag_id}/aanvulling")
async def ask(request: Request, aanvraag_id: str, user: Assessor) -> Response:
    """Ask the applicant for information, by a day (empty: the letters' term from today)."""
    form = await _claim_action(request, user, aanvraag_id, ("aanvragen", "aanvulling_vragen"))
    reason = form.get("reden", "").strip()
    raw_day = form.get("uiterlijk", "").strip()
    state = FormState({"reden": reason, "uiterlijk": raw_day})
    if not reason:
        state.errors["reden"] = "Schrijf welke informatie u nodig heeft."
    elif len(reason) > MAX_REASON:
        state.errors["reden"] = _too_long("Uw vraag", reason)
    day = parse_day(raw_day) if raw_day else None
    if raw_day and day is None:
        state.errors["uiterlijk"] = (
            "De datum moet een datum zijn als dag-maand-jaar, bijvoorbeeld"
            f" {today() + timedelta(weeks=supplement_weeks()):%d-%m-%Y}."
        )
    due = None
    if not state.errors:
        try:
            due = deciding.supplement_due(day, today())
        except ApiProblem as exc:
            for problem in exc.problems or []:
                state.errors["uiterlijk"] = f"De datum {problem.message}."
    if state.errors or due is None:
        return await _claim_page(request, aanvraag_id, forms={"aanvulling": state}, status=400)
    store = store_of(request)
    try:
        await run_in_threadpool(
            lambda: store.transition(
                aanvraag_id, "aanvullingsverzoeken", identity=user, reason=reason, due_on=due
            )
        )
    except Conflict as exc:
        return await _claim_page(request, aanvraag_id, message=_conflict_text(exc), status=409)
    return _back(aanvraag_id, "aanvulling")


# how a field of a term's request body is named in words next to its form field
_TERM_LABELS = {"reason": "De uitleg", "due_on": "De dag"}


def _too_long(what: str, text: str) -> str:
    return f"{what} is {len(text)} tekens lang; maak hem korter dan {MAX_REASON + 1} tekens."


async def _term_step(
    request: Request, aanvraag_id: str, name: str, state: FormState, step: Awaitable[Any]
) -> Response:
    """Run a term step of the service (`deciding.extend`, `extend_supplement`) for form `name`:
    its problems with `reason` and `due_on` next to the fields `<name>_reden` and
    `<name>_datum`, a refusal by the claim's state as a message, else back to the claim with
    `gedaan=name`."""
    fields = {"reason": f"{name}_reden", "due_on": f"{name}_datum"}
    try:
        await step
    except ApiProblem as exc:
        if exc.status == 409:
            return await _claim_page(request, aanvraag_id, message=exc.detail, status=409)
        if exc.status != 400:
            return error_page(request, 500)
        for problem in exc.problems or []:
            field_name = fields.get(problem.field)
            if field_name is not None:
                text = f"{_TERM_LABELS[problem.field]} {problem.message}."
                state.errors.setdefault(field_name, text)
        return await _claim_page(request, aanvraag_id, forms={name: state}, status=400)
    except Conflict as exc:
        return await _claim_page(request, aanvraag_id, message=_conflict_text(exc), status=409)
    return _back(aanvraag_id, name)


@router.post("/beoordelen/{aanvraag_id}/verdaging")
async def extend(request: Request, aanvraag_id: str, user: Assessor) -> Response:
    """Extend the decision term (Awb 4:14): a later day and why, told to the applicant."""
    form = await _claim_action(request, user, aanvraag_id, ("aanvragen", "verdagen"))
    reason = form.get("verdaging_reden", "").strip()
    raw_day = form.get("verdaging_datum", "").strip()
    state = FormState({"verdaging_reden": reason, "verdaging_datum": raw_day})
    if not reason:
        state.errors["verdaging_reden"] = "Schrijf waarom het besluit later komt."
    elif len(reason) > MAX_REASON:
        state.errors["verdaging_reden"] = _too_long("De uitleg", reason)
    day = parse_day(raw_day)
    if day is None:
        state.errors["verdaging_datum"] = (
            "Vul de dag in waarop het besluit er uiterlijk is, als dag-maand-jaar, bijvoorbeeld"
            f" {today() + timedelta(weeks=4):%d-%m-%Y}."
        )
    if state.errors or day is None:
        return await _claim_page(request, aanvraag_id, forms={"verdaging": state}, status=400)
    data = {"reason": reason, "due_on": day.isoformat()}
    step = deciding.extend(store_of(request), aanvraag_id, data, user)
    return await _term_step(request, aanvraag_id, "verdaging", state, step)


@router.post("/beoordelen/{aanvraag_id}/aanvultermijn")
async def more_time(request: Request, aanvraag_id: str, user: Assessor) -> Response:
    """A later last day to supplement (Awb 4:5), with an optional reason for the applicant."""
    form = await _claim_action(request, user, aanvraag_id, ("aanvragen", "aanvultermijn_verlengen"))
    reason = form.get("aanvultermijn_reden", "").strip()
    raw_day = form.get("aanvultermijn_datum", "").strip()
    state = FormState({"aanvultermijn_reden": reason, "aanvultermijn_datum": raw_day})
    if len(reason) > MAX_REASON:
        state.errors["aanvultermijn_reden"] = _too_long("De uitleg", reason)
    day = parse_day(raw_day)
    if day is None:
        state.errors["aanvultermijn_datum"] = (
            "Vul de nieuwe laatste dag in als dag-maand-jaar, bijvoorbeeld"
            f" {today() + timedelta(weeks=2):%d-%m-%Y}."
        )
    if state.errors or day is None:
        return await _claim_page(request, aanvraag_id, forms={"aanvultermijn": state}, status=400)
    data: dict[str, Any] = {"due_on": day.isoformat()}
    if reason:
        data["reason"] = reason
    step = deciding.extend_supplement(store_of(request), aanvraag_id, data, user)
    return await _term_step(request, aanvraag_id, "aanvultermijn", state, step)


# --- deciding ----------------------------------------------------------------------------------

# the fields of a besluit (BesluitIn) and the form's names for them
_BESLUIT_FIELDS = {"outcome": "uitkomst", "amount_eur": "bedrag", "motivation": "motivering"}


# why a besluit form needs a motivation, per choice (`keuze`): differing from the advice, or
# replacing the current besluit (a correction or a decision on an objection always needs one)
_WHY = {
    "afwijken": "Schrijf waarom u afwijkt van het advies. Deze motivering komt in de brief.",
    "vervangen": (
        "Schrijf waarom u het besluit vervangt: wat was er fout, of wat vindt u van het"
        " bezwaar. Deze motivering komt in de brief."
    ),
}


def _besluit_data(
    form: dict[str, str], advice: dict[str, Any], attachment_ids: set[str]
) -> tuple[dict[str, Any], FormState]:
    """The body of the besluit the form asks for (as the API takes it), and what was typed with
    the problems the form itself can see. `keuze=advies` follows the advice; `afwijken` (a
    first besluit of one's own) and `vervangen` (a correction or a decision on an objection)
    name the outcome, the amount and the motivation."""
    keuze = form.get("keuze")
    if keuze not in ("advies", "vervangen"):
        keuze = "afwijken"
    values = {
        "keuze": keuze,
        "uitkomst": form.get("uitkomst", ""),
        "bedrag": form.get("bedrag", "").strip(),
        "motivering": form.get("motivering", "").strip(),
    }
    chosen = sorted(i for i in attachment_ids if form.get(f"bijlage-{i}") == "ja")
    values.update({f"bijlage-{i}": "ja" for i in chosen})
    state = FormState(values)
    data: dict[str, Any] = {"attachments": chosen}
    if keuze == "advies":
        data["outcome"] = advice["outcome"]
        data["amount_eur"] = Decimal(str(advice["eligible_total_eur"]))
    else:
        if values["uitkomst"] not in words()["besluit_outcomes"]:
            state.errors["uitkomst"] = "Kies de uitkomst van het besluit."
        else:
            data["outcome"] = values["uitkomst"]
        amount = parse_amount(values["bedrag"])
        if not values["bedrag"]:
            state.errors["bedrag"] = "Vul het bedrag in euro's in, bijvoorbeeld 16850,00."
        elif amount is None:
            state.errors["bedrag"] = (
                "Het bedrag moet een bedrag in euro's zijn met hoogstens twee cijfers na de"
                " komma, bijvoorbeeld 16850,00."
            )
        else:
            data["amount_eur"] = amount
        if not values["motivering"]:
            state.errors["motivering"] = _WHY[keuze]
        elif len(values["motivering"]) > MAX_MOTIVATION:
            state.errors["motivering"] = (
                f"De motivering is {len(values['motivering'])} tekens lang; maak haar korter"
                f" dan {MAX_MOTIVATION + 1} tekens."
            )
    if values["motivering"] and "motivation" not in state.errors:
        data["motivation"] = values["motivering"]
    return data, state


_LABELS = {"uitkomst": "De uitkomst", "bedrag": "Het bedrag", "motivering": "De motivering",
           "ontvangen": "De datum van ontvangst"}  # fmt: skip


def _problems_on(state: FormState, exc: ApiProblem) -> str | None:
    """Put the problems of a 400 from `deciding` next to their fields (in the form that
    `state` is); the problems of fields the form does not show, as one text (or None)."""
    rest = []
    names = {**_BESLUIT_FIELDS, "received_on": "ontvangen"}
    for p in exc.problems or []:
        name = names.get(p.field)
        if name is None or (name != "ontvangen" and state.values.get("keuze") == "advies"):
            rest.append(f"{p.field}: {p.message}.")
        else:
            state.errors.setdefault(name, f"{_LABELS[name]} {p.message}.")
    return " ".join(rest) or None


async def _refused(
    request: Request, aanvraag_id: str, name: str, state: FormState, exc: ApiProblem
) -> Response:
    """The service refused what form `name` on the claim page asked: a 400 shown next to the
    form's fields (the rest as one message), anything else as an error page."""
    if exc.status != 400:
        return error_page(request, 503 if exc.status == 503 else 500)
    rest = _problems_on(state, exc)
    return await _claim_page(request, aanvraag_id, forms={name: state}, message=rest, status=400)


async def _decision_form(
    request: Request, user: Identity, aanvraag_id: str
) -> tuple[str, dict[str, Any], FormState]:
    """The button used (`actie`), the besluit's body and the form's state."""
    form = await _claim_action(request, user, aanvraag_id, ("besluiten", "besluiten"))
    store = store_of(request)
    body = await run_in_threadpool(store.get, aanvraag_id)
    ids = await run_in_threadpool(Attachments(store.engine).ids_of, aanvraag_id)
    data, state = _besluit_data(form, body["advices"][0]["decision"], ids)
    return form.get("actie", ""), data, state


@router.post("/beoordelen/{aanvraag_id}/besluit")
async def decide(request: Request, aanvraag_id: str, user: Assessor) -> Response:
    """Decide: follow the advice, or differ from it with a motivation. `actie=voorbeeld`
    shows the letter this besluit would get instead (nothing is stored)."""
    action, data, state = await _decision_form(request, user, aanvraag_id)
    if state.errors:
        return await _claim_page(request, aanvraag_id, forms={"besluit": state}, status=400)
    store, workers = store_of(request), request.app.state.workers
    try:
        if action == "voorbeeld":
            return await _preview(request, user, aanvraag_id, data)
        await deciding.decide(store, workers, aanvraag_id, data, user)
    except ApiProblem as exc:
        return await _refused(request, aanvraag_id, "besluit", state, exc)
    except (Conflict, BesluitConflict) as exc:
        return await _claim_page(request, aanvraag_id, message=_conflict_text(exc), status=409)
    except NotFound:
        return error_page(request, 404)
    return _back(aanvraag_id, "besluit")


async def _preview(
    request: Request, assessor: Identity, aanvraag_id: str, data: dict[str, Any]
) -> Response:
    """The letter of the besluit `data` would be, marked CONCEPT; nothing is stored."""
    store, workers = store_of(request), request.app.state.workers
    basis = await run_in_threadpool(store.decision_basis, aanvraag_id)
    ids = await run_in_threadpool(Attachments(store.engine).ids_of, aanvraag_id)
    body = deciding.check_besluit(data, "besluit", basis, ids)
    new = await deciding.make_besluit(workers, basis, body, "besluit", assessor, concept=True)
    html = await render(new.letter_context, "html")
    await run_in_threadpool(
        lambda: store.record(assessor, "brief.voorbeeld_bekijken", "aanvraag", aanvraag_id, {})
    )
    return _letter_response(html, "html", f"concept-{aanvraag_id}", inline=True)


def _letter_response(content: bytes, fmt: LetterFormat, name: str, *, inline: bool) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}{FILE_SUFFIXES[fmt]}"',
            "Content-Security-Policy": LETTER_CSP,
        },
    )


# --- a besluit: its letter, an objection ---------------------------------------------------------


async def _besluit_access(
    request: Request, user: Identity, besluit_id: str, action: tuple[str, str]
) -> None:
    await check_besluit(request, user, *action, besluit_id)


@router.get("/beoordelen/besluiten/{besluit_id}/brief")
async def letter_html(request: Request, besluit_id: str, user: Assessor) -> Response:
    """The stored letter as HTML (the same content as the PDF)."""
    await _besluit_access(request, user, besluit_id, ("brieven", "lezen"))
    store = store_of(request)
    _, _, context = await run_in_threadpool(
        lambda: store.letter(besluit_id, identity=user, fmt="html")
    )
    try:
        html = await render(context, "html")
    except ApiProblem:
        return error_page(request, 500)
    return _letter_response(html, "html", f"besluit-{besluit_id}", inline=True)


@router.get("/beoordelen/besluiten/{besluit_id}/brief.pdf")
async def letter_pdf(request: Request, besluit_id: str, user: Assessor) -> Response:
    """The stored letter, the PDF/A that was made with the besluit, as a download."""
    await _besluit_access(request, user, besluit_id, ("brieven", "lezen"))
    store = store_of(request)
    pdf, _, _ = await run_in_threadpool(lambda: store.letter(besluit_id, identity=user, fmt="pdf"))
    return _letter_response(pdf, "pdf", f"besluit-{besluit_id}", inline=False)


@router.post("/beoordelen/besluiten/{besluit_id}/bezwaar")
async def objection(request: Request, besluit_id: str, user: Assessor) -> Response:
    """Register an objection against the current besluit, with the day it was received."""
    form = await read_form(request, user)
    await _besluit_access(request, user, besluit_id, ("bezwaren", "indienen"))
    store = store_of(request)
    besluit = await run_in_threadpool(store.besluit, besluit_id)
    aanvraag_id = besluit["aanvraag"]["id"]
    raw = form.get("ontvangen", "").strip()
    state = FormState({"ontvangen": raw})
    day = parse_day(raw)
    if not raw:
        state.errors["ontvangen"] = "Vul de datum in waarop het bezwaarschrift binnenkwam."
    elif day is None:
        state.errors["ontvangen"] = (
            "De datum moet een datum zijn als dag-maand-jaar, bijvoorbeeld 28-11-2026."
        )
    if day is not None and not state.errors:
        try:
            await deciding.register_bezwaar(
                store, besluit_id, {"received_on": day.isoformat()}, user
            )
        except ApiProblem as exc:
            return await _refused(request, aanvraag_id, "bezwaar", state, exc)
        except BesluitConflict as exc:
            return await _claim_page(request, aanvraag_id, message=_conflict_text(exc), status=409)
        else:
            return _back(aanvraag_id, "bezwaar")
    return await _claim_page(request, aanvraag_id, forms={"bezwaar": state}, status=400)


@router.post("/beoordelen/besluiten/{besluit_id}/vervangen")
async def replace_besluit(request: Request, besluit_id: str, user: Assessor) -> Response:
    """A correction of the current besluit, or the decision on the objection against it: a new
    besluit with its letter that takes the current one's place. `actie=voorbeeld` shows that
    letter instead (nothing is stored)."""
    form = await read_form(request, user)
    kind = form.get("soort", "")
    if kind not in words()["vervangingen"]:
        kind = ""
    # the roles table's row for this kind of replacement; without a valid kind, the stricter
    # of the two rows is checked and the form says what to choose
    action = "beslissen_op_bezwaar" if kind != "correctie" else "corrigeren"
    await _besluit_access(request, user, besluit_id, ("besluiten", action))
    store, workers = store_of(request), request.app.state.workers
    besluit = await run_in_threadpool(store.besluit, besluit_id)
    aanvraag_id = besluit["aanvraag"]["id"]
    ids = await run_in_threadpool(Attachments(store.engine).ids_of, aanvraag_id)
    # a replacement names its own outcome and amount: the advice is not followed as such
    data, state = _besluit_data({**form, "keuze": "vervangen"}, {}, ids)
    state.values["soort"] = kind
    if not kind:
        state.errors["soort"] = "Kies of u het besluit corrigeert of op het bezwaar beslist."
    if state.errors:
        return await _claim_page(request, aanvraag_id, forms={"vervangen": state}, status=400)
    try:
        if form.get("actie") == "voorbeeld":
            new = await deciding.preview_replacement(
                store, workers, besluit_id, kind, data, identity=user
            )
            html = await render(new.letter_context, "html")
            await run_in_threadpool(
                lambda: store.record(user, "brief.voorbeeld_bekijken", "besluit", besluit_id, {})
            )
            return _letter_response(html, "html", f"concept-{besluit_id}", inline=True)
        await deciding.replace(store, workers, besluit_id, kind, data, identity=user)
    except ApiProblem as exc:
        return await _refused(request, aanvraag_id, "vervangen", state, exc)
    except BesluitConflict as exc:
        text = (
            "Tegen dit besluit is geen bezwaar geregistreerd. Registreer eerst het bezwaar,"
            " of kies voor een correctie."
            if exc.code == "geen_bezwaar"
            else exc.detail
        )
        return await _claim_page(request, aanvraag_id, message=text, status=409)
    except NotFound:
        return error_page(request, 404)
    return _back(aanvraag_id, kind)


# --- attachments -------------------------------------------------------------------------------


@router.get("/beoordelen/bijlagen/{bijlage_id}")
async def attachment(request: Request, bijlage_id: str, user: Assessor) -> Response:
    """An attachment's bytes as a download (recorded in the audit log, as in the API)."""
    await check_bijlage(request, user, "bijlagen", "downloaden", bijlage_id)
    store = store_of(request)
    return await run_in_threadpool(download, store, user, bijlage_id)
