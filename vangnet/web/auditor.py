"""The auditor's pages: the rule versions with who drafted and approved them, the replay and
impact report, the audit log with the state of its chain, and one decision with its receipt and
a re-run.

Who: an account with the role `auditor` (`authz`: the audit log is the auditor's alone; claims
and besluiten are read pseudonymised: the office-holder's pseudonym as a keyed hash, free text
hidden, `vangnet.service.pseudonyms`). Every other role gets 403 here, written to the audit log
as a refused access, like the API does.

Where the work is:
- versions: the published rulesets and catalogues (the validator's), with the drafts of
  `vangnet.service.regelbeheer` (`Regelbeheer.overview`: author and approver as pseudonyms);
- replay: `vangnet.replay.replay` reads the stored claims and runs the engine in processes of
  its own (never in the web process); the run is one entry in the audit log (its parameters
  and the digest of its results, `replay.audit_details`), as the command line records it; the
  chart is `vangnet.impact_chart`;
- audit log: one page of entries (`AuditLog.entries`) and the outcome of the last verification
  of the whole chain (`LastCheck`: what it covered, when and by whom); the auditor runs a
  verification on demand with a button (`AuditLog.verify`, with an anchor when one is given),
  so viewing the page never reads the whole log. Each verification is itself an entry in the
  log (`auditlog.verifieren`, its outcome in the details), so every web process, and the
  page after a restart, shows the same last verification, and that record is tamper-evident;
- a decision: found by its id, or by its letter's kenmerk through the index on the claim id
  (`Store.besluiten_of_claim`); its entries in the audit log through the index on the object
  (`AuditLog.entries_for`);
- re-run: the stored claim and advice of a besluit (`Store.advice_of`) evaluated again in an
  engine worker (`rerun_in_worker`) by `vangnet.service.reproduce.rerun`, under the recorded
  ruleset version and the catalogue with the recorded hash, as `vangnet verify` does.

Nothing here logs: claims describe threatened people.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from vangnet import yamlfile
from vangnet.claim import decode_json
from vangnet.exceptions import ClaimError, EngineFailure, NoRulesetError
from vangnet.jsonout import dumps
from vangnet.paths import FORMS_DIR
from vangnet.service.attachments import Attachments
from vangnet.service.audit import Anchor, AuditEntry, AuditError, AuditEvent, AuditLog
from vangnet.service.audit import Verification as ChainVerification
from vangnet.service.identity import Identity
from vangnet.service.pseudonyms import HIDDEN
from vangnet.service.regelbeheer import Regelbeheer
from vangnet.service.reproduce import rerun, verification
from vangnet.service.store import NotFound
from vangnet.validity import describe_periods
from vangnet.web.access import check, check_besluit, role_page, store_of
from vangnet.web.beoordelaar import FormState, local_moment, parse_day, read_words
from vangnet.web.beoordelaar import words as claim_words
from vangnet.web.errors import PageRoute, error_page
from vangnet.web.render import PAGES_DIR, page
from vangnet.web.session import read_form

__all__ = [
    "LOG_PAGE",
    "REPORT_ROWS",
    "Auditor",
    "Checked",
    "LastCheck",
    "rerun_in_worker",
    "router",
    "words",
]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

WORDS_DIR = PAGES_DIR / "auditor"
LOG_PAGE = 50  # audit-log entries per page
DECISION_ENTRIES = 100  # entries about one claim per page of the decision page
REPORT_ROWS = 500  # claims shown in a replay report (the downloads hold all)
_ID = re.compile(r"^[0-9a-f]{32}$")  # the ids vangnet gives
# no control characters: a NUL cannot be in a claim id (and PostgreSQL refuses it: a 500)
_KENMERK = re.compile(r"^(?P<rest>[^\x00-\x1f\x7f]+)-B(?P<number>[0-9]{1,4})$")
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WORD_KEYS = ("results", "concept_statuses", "concept_soorten", "replay_statuses")


@lru_cache(maxsize=4)
def words(directory: Path = WORDS_DIR) -> dict[str, Any]:
    """The words the auditor's templates share (`woorden.yaml`)."""
    return read_words(directory / "woorden.yaml", _WORD_KEYS)


def _words() -> dict[str, Any]:
    return {**claim_words(), **words()}


# --- access -------------------------------------------------------------------------------------


# the auditor's pages: only the role that reads the audit log; any other is refused (403,
# audited) before anything is read
Auditor = Annotated[Identity, role_page("auditlog", "lezen")]


def _audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


def _record(request: Request, who: Identity, action: str, obj: tuple[str | None, str | None],
            details: dict[str, Any]) -> None:  # fmt: skip
    """An entry in the audit log for an auditor's act (a transaction of its own)."""
    event = AuditEvent(
        actor=who.actor,
        action=action,
        result="gelukt",
        origin=who.origin[:64],
        object_type=obj[0],
        object_id=obj[1],
        details=details,
    )
    _audit(request).record(store_of(request).engine, event)


def _pseudonyms(request: Request) -> dict[str, str]:
    """Account id -> pseudonym (an auditor sees pseudonyms, never user names)."""
    accounts = getattr(request.app.state, "accounts", None)
    if accounts is None:
        return {}
    return {a.id: a.pseudoniem for a in accounts.list_accounts()}


@router.get("/audit")
async def start(request: Request, user: Auditor) -> Response:
    return page(request, "auditor/start.html.j2")


# --- rule versions ------------------------------------------------------------------------------


def _versions(request: Request) -> dict[str, Any]:
    validator = request.app.state.validator
    concepts = Regelbeheer(store_of(request).engine, request.app.state.settings,
                           audit=_audit(request)).overview()  # fmt: skip
    published = {(c.scheme, c.version, c.sha256): c for c in concepts if c.status == "gepubliceerd"}
    rulesets = []
    for _, versions in sorted(validator.rulesets.items()):
        previous = None
        for rs in versions:
            rulesets.append(
                {
                    "rs": rs,
                    "valid": describe_periods([rs]),
                    "concept": published.get((rs.id, rs.version, rs.sha256)),
                    "previous": previous,
                }
            )
            previous = rs
    catalogues = [
        {
            "c": c,
            "valid": describe_periods([c]),
            "concept": published.get(("catalogus", c.valid_from.isoformat(), c.sha256)),
        }
        for c in validator.catalogues.versions
    ]
    drafts = [c for c in concepts if c.status != "gepubliceerd"]
    return {"rulesets": rulesets, "catalogues": catalogues, "drafts": drafts}


@router.get("/audit/regelsets")
async def versions(request: Request, user: Auditor) -> Response:
    context = await run_in_threadpool(_versions, request)
    context["w"] = _words()
    context["local"] = local_moment
    return page(request, "auditor/regelsets.html.j2", context)


# --- replay and impact ------------------------------------------------------------------------


def _targets(request: Request) -> dict[str, str]:
    """The versions a replay can target: key -> how the choice list shows it."""
    rulesets = request.app.state.validator.rulesets
    return {
        rs.key: f"{rs.spec.title}, versie {rs.version} ({rs.key})"
        for _, versions in sorted(rulesets.items())
        for rs in versions
    }


def _euros(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


def _replay_row(r: Any) -> dict[str, Any]:
    """One claim of a replay with its amounts in euros (exact)."""
    return {
        "r": r,
        "advice_eur": _euros(r.advice_cents),
        "new_eur": _euros(r.new_cents),
        "delta_eur": _euros(r.delta_cents),
        "besluit_eur": _euros(r.besluit_cents),
    }


def _replay_form(request: Request, form: dict[str, str]) -> tuple[FormState, Any]:
    """The replay's parameters from the form: (state, (target, between)) or (state, None)."""
    values = {k: form.get(k, "").strip() for k in ("doelversie", "van", "tot")}
    state = FormState(values)
    if values["doelversie"] not in _targets(request):
        state.errors["doelversie"] = "Kies de versie van de regels uit de lijst."
    days: dict[str, date | None] = {}
    for name, label in (("van", "Vanaf"), ("tot", "Tot en met")):
        days[name] = parse_day(values[name]) if values[name] else None
        if values[name] and days[name] is None:
            state.errors[name] = (
                f"{label} moet een datum zijn als dag-maand-jaar, bijvoorbeeld 01-03-2016."
            )
    first, last = days["van"], days["tot"]
    if not state.errors and (first is None) != (last is None):
        name = "tot" if first is not None else "van"
        state.errors[name] = "Vul beide datums in, of laat beide leeg voor alle aanvragen."
    if not state.errors and first is not None and last is not None and first > last:
        state.errors["tot"] = "De periode eindigt voor zij begint; kies een latere datum."
    if state.errors:
        return state, None
    between = None if first is None or last is None else (first, last)
    return state, (values["doelversie"], between)


def _run_replay(request: Request, who: Identity, target: str, between: Any) -> Any:
    """The replay (processes of its own), recorded as one entry in the audit log."""
    from vangnet.replay import audit_details, replay

    report = replay(store_of(request).engine, target, between=between, processes=1)
    _record(request, who, "replay", (None, None), audit_details(report))
    return report


def _svg(report: Any) -> Markup:
    """The chart for inline use: without its XML declaration (its text is escaped by
    `impact_svg`; it has a title and a description, role img)."""
    from vangnet.impact_chart import impact_svg

    svg = impact_svg(report)
    return Markup(svg.split("?>", 1)[1].strip() if svg.startswith("<?xml") else svg)  # noqa: S704


@router.get("/audit/herberekening")
async def replay_form(request: Request, user: Auditor) -> Response:
    context = {"targets": _targets(request), "form": FormState(), "report": None}
    return page(request, "auditor/herberekening.html.j2", context)


@router.post("/audit/herberekening")
async def replay_report(request: Request, user: Auditor) -> Response:
    """Replay the stored claims under the chosen version; the report with its chart."""
    form = await read_form(request, user)
    state, params = _replay_form(request, form)
    context: dict[str, Any] = {"targets": _targets(request), "form": state, "report": None}
    if params is None:
        return page(request, "auditor/herberekening.html.j2", context, status=400)
    try:
        report = await run_in_threadpool(_run_replay, request, user, *params)
    except NoRulesetError as exc:
        state.errors["doelversie"] = str(exc)
        return page(request, "auditor/herberekening.html.j2", context, status=400)
    from vangnet.impact_chart import impact_table

    table = impact_table(report)
    context.update(
        {
            "report": report,
            "summary": report.summary(),
            "svg": _svg(report),
            "impact_head": table[0],
            "impact_rows": table[1:],
            "rows": [_replay_row(r) for r in report.results[:REPORT_ROWS]],
            "w": _words(),
        }
    )
    return page(request, "auditor/herberekening.html.j2", context)


@router.post("/audit/herberekening/bestand")
async def replay_file(request: Request, user: Auditor) -> Response:
    """The same replay as JSON Lines or an Excel workbook (`vorm`), run again: its results
    are the same as long as the stored claims are (the digest in the file and in the audit log
    tells)."""
    form = await read_form(request, user)
    kind = form.get("vorm", "")
    _, params = _replay_form(request, form)
    if params is None or kind not in ("jsonl", "xlsx"):
        return error_page(request, 400)
    try:
        report = await run_in_threadpool(_run_replay, request, user, *params)
    except NoRulesetError:
        return error_page(request, 400)
    name = f"herberekening-{params[0].replace('@', '-')}"
    if kind == "jsonl":
        text = io.StringIO()
        report.write_jsonl(text)
        content, media = text.getvalue().encode("utf-8"), "application/x-ndjson"
    else:
        data = io.BytesIO()
        await run_in_threadpool(report.write_xlsx, data)
        content, media = data.getvalue(), _XLSX
    disposition = f'attachment; filename="{name}.{kind}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


# --- the audit log ------------------------------------------------------------------------------


def _number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 9 and int(raw) > 0 else 1


def _entry_view(entry: AuditEntry, names: dict[str, str]) -> dict[str, Any]:
    details = "; ".join(f"{k}: {_value(v)}" for k, v in entry.details.items())
    return {
        "e": entry,
        "moment": local_moment(entry.at),
        "actor": names.get(entry.actor, entry.actor),
        "details": details,
    }


def _value(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v) or "(geen)"
    if v is None:
        return "(geen)"
    if isinstance(v, bool):
        return "ja" if v else "nee"
    return str(v)


def _anchor(state: FormState, audit: AuditLog) -> Anchor | None:
    """The anchor the auditor gave (regel and hash), or None; problems go on `state`."""
    seq, digest = state.values["anker_regel"], state.values["anker_hash"].lower()
    if not seq and not digest:
        return None
    if not seq.isdigit() or len(seq) > 12:
        state.errors["anker_regel"] = "Het regelnummer van het anker is een heel getal, zoals 120."
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        state.errors["anker_hash"] = "De hash van het anker is 64 tekens, 0 tot 9 en a tot f."
    if state.errors:
        return None
    try:
        return Anchor.from_dict({"seq": int(seq), "hash": digest, "key_id": audit.key_id})
    except AuditError as exc:
        state.errors["anker_hash"] = str(exc)
        return None


# the audit entry of a verification on the page: object `auditlog` / `keten`
VERIFY_ACTION = "auditlog.verifieren"
CHAIN = ("auditlog", "keten")


@dataclass(frozen=True, slots=True)
class Checked:
    """One verification of the whole chain: its outcome (which names the head it covered,
    and the anchor when one was given), when it ran, who ran it and its own entry's seq."""

    verification: ChainVerification
    at: datetime
    by: str
    seq: int


class LastCheck:
    """The verifications of the chain, recorded in the log itself (`verify_log` writes each
    outcome as an `auditlog.verifieren` entry): `last` reads the newest one (one indexed
    query); `run` verifies the whole log, one verification at a time within a process (each
    reads the whole log)."""

    def __init__(self) -> None:
        self._running = threading.Lock()

    @staticmethod
    def last(audit: AuditLog, engine: Engine) -> Checked | None:
        entry = audit.latest_for(engine, CHAIN[1], VERIFY_ACTION)
        if entry is None:
            return None
        try:
            outcome = ChainVerification.from_summary(entry.details)
        except AuditError:
            return None  # not a summary this version writes: as if never checked
        return Checked(outcome, entry.at, entry.actor, entry.seq)

    def run(self, audit: AuditLog, engine: Engine, anchor: Anchor | None) -> ChainVerification:
        with self._running:
            return audit.verify(engine, anchor)


_CHECKS_LOCK = threading.Lock()


def _checks(request: Request) -> LastCheck:
    """The app's `LastCheck` (made on first use)."""
    state = request.app.state
    with _CHECKS_LOCK:
        checks: LastCheck | None = getattr(state, "audit_checks", None)
        if checks is None:
            checks = state.audit_checks = LastCheck()
    return checks


def _log_page(request: Request, number: int) -> dict[str, Any]:
    """One page of the log, newest first, with the last verification: the head and the page's
    entries are read, never the whole log."""
    audit, engine = _audit(request), store_of(request).engine
    head = audit.anchor(engine).seq
    pages = max(1, -(-head // LOG_PAGE))
    number = min(number, pages)
    last = head - (number - 1) * LOG_PAGE  # newest first
    first = max(1, last - LOG_PAGE + 1)
    entries = audit.entries(engine, start=first, limit=last - first + 1) if head else []
    names = _pseudonyms(request)
    checked = LastCheck.last(audit, engine)
    # what came in after the covered head, the verification's own entry not counted
    since = 0 if checked is None else head - checked.verification.head.seq - 1
    return {
        "checked": checked,
        "checked_at": None if checked is None else local_moment(checked.at),
        "checked_by": None if checked is None else names.get(checked.by, checked.by),
        "unchecked": head if checked is None else max(0, since),
        "entries": [_entry_view(e, names) for e in reversed(entries)],
        "page_number": number,
        "pages": pages,
        "head": head,
    }


async def _log_response(
    request: Request, number: int, state: FormState, *, status: int = 200
) -> Response:
    try:
        context = await run_in_threadpool(_log_page, request, number)
    except AuditError as exc:
        # an entry that cannot be read at all: the log is damaged; say so, show nothing else
        context = {"broken": str(exc), "checked": None, "checked_at": None, "checked_by": None,
                   "unchecked": 0,
                   "entries": [], "pages": 1, "page_number": 1, "head": 0}  # fmt: skip
    context.setdefault("broken", None)
    context.update({"form": state, "w": _words(), "link": "/audit/logboek?"})
    return page(request, "auditor/logboek.html.j2", context, status=status)


_ANCHOR_FIELDS = ("anker_regel", "anker_hash")


@router.get("/audit/logboek")
async def log(request: Request, user: Auditor) -> Response:
    """The audit log, newest first, with the outcome of the last verification of its chain."""
    number = _number(request.query_params.get("pagina"))
    return await _log_response(request, number, FormState(dict.fromkeys(_ANCHOR_FIELDS, "")))


@router.post("/audit/logboek")
async def verify_log(request: Request, user: Auditor) -> Response:
    """Verify the whole chain now (with the anchor when one is given) and record the outcome
    in the log; the log page shows it from then on, in every web process. Reads the whole log
    once."""
    await check(request, user, "auditlog", "verifieren")
    form = await read_form(request, user)
    state = FormState({k: form.get(k, "").strip()[:100] for k in _ANCHOR_FIELDS})
    audit = _audit(request)
    anchor = _anchor(state, audit)
    if state.errors:
        return await _log_response(request, 1, state, status=400)
    engine = store_of(request).engine
    outcome = await run_in_threadpool(_checks(request).run, audit, engine, anchor)
    await run_in_threadpool(_record, request, user, VERIFY_ACTION, CHAIN, outcome.summary())
    return RedirectResponse("/audit/logboek#controle", status_code=303)


# --- a decision: its receipt, its audit entries, a re-run -----------------------------------------


@lru_cache(maxsize=8)
def _kenmerk_prefix(body: str) -> str | None:
    """The letters' kenmerk prefix of a deciding body (`forms/bodies/<body>.yaml`)."""
    try:
        data = yamlfile.safe_load(
            (FORMS_DIR / "bodies" / f"{body}.yaml").read_text(encoding="utf-8")
        )
    except (OSError, yaml.YAMLError):
        return None
    prefix = data.get("kenmerk_prefix") if isinstance(data, dict) else None
    return prefix if isinstance(prefix, str) else None


def _kenmerk(request: Request, decision: dict[str, Any], number: int) -> str | None:
    """The kenmerk the letter of besluit `number` carries (as `vangnet.letters` makes it)."""
    ref = decision["ruleset"]
    rulesets = request.app.state.validator.rulesets
    rs = next((r for r in rulesets.get(ref["id"], ()) if r.version == ref["version"]), None)
    prefix = None if rs is None else _kenmerk_prefix(rs.spec.deciding_body)
    if prefix is None:
        return None
    return f"{prefix}-{ref['id']}-{decision['claim_id']}-B{number}"


def _kenmerk_starts(request: Request) -> set[tuple[str, str]]:
    """How a kenmerk can begin: `<prefix>-<scheme>-` for every scheme and the prefix of the
    deciding body of each of its versions (scheme, that beginning)."""
    return {
        (rs.id, f"{prefix}-{rs.id}-")
        for versions in request.app.state.validator.rulesets.values()
        for rs in versions
        if (prefix := _kenmerk_prefix(rs.spec.deciding_body)) is not None
    }


def _find(request: Request, query: str) -> str | None:
    """The id of the besluit with id or letter kenmerk `query`, or None. A kenmerk is
    `<prefix>-<scheme>-<claim id>-B<number>`: the claim id is looked up in the index
    (`Store.besluiten_of_claim`), and the kenmerk of each besluit found made again to compare."""
    store = store_of(request)
    if _ID.match(query):
        try:
            store.besluit_ref(query)
        except NotFound:
            return None
        return query
    m = _KENMERK.match(query)
    if m is None:
        return None
    rest, number = m["rest"], int(m["number"])
    for scheme, start in sorted(_kenmerk_starts(request)):
        if not rest.startswith(start) or len(rest) == len(start):
            continue
        for b in store.besluiten_of_claim(rest[len(start) :], scheme=scheme, number=number):
            decision = decode_json(store.advice_of(b["id"]).decision_json)
            if _kenmerk(request, decision, number) == query:
                found: str = b["id"]
                return found
    return None


def _decision_context(request: Request, besluit_id: str, after: int = 0) -> dict[str, Any]:
    """The decision page: the besluit, its claim (pseudonymised), its receipt, and one page of
    the log's entries about them, from the first entry after seq `after` on."""
    store = store_of(request)
    pseudonymiser = request.app.state.pseudonymiser
    besluit = pseudonymiser.besluit(store.besluit(besluit_id))
    aanvraag_id = besluit["aanvraag"]["id"]
    aanvraag = pseudonymiser.aanvraag(store.get(aanvraag_id))
    decision = besluit["advice"]["decision"]
    attachments = Attachments(store.engine)
    ids = {
        aanvraag_id,
        *(b["id"] for b in aanvraag["besluiten"]),
        *attachments.ids_of(aanvraag_id),
    }
    names = _pseudonyms(request)
    # the claim's entries through the index on object_id, never the whole log; one more than a
    # page tells whether there is a next page
    entries = _audit(request).entries_for(
        store.engine, ids, limit=DECISION_ENTRIES + 1, after=after
    )
    more = len(entries) > DECISION_ENTRIES
    entries = entries[:DECISION_ENTRIES]
    return {
        "entries_after": after,
        "entries_next": entries[-1].seq if more else None,
        "b": besluit,
        "a": aanvraag,
        "decision": decision,
        "kenmerk": _kenmerk(request, decision, besluit["number"]),
        "attachments": attachments.describe(besluit["attachments"]),
        "entries": [_entry_view(e, names) for e in entries],
        "moment": local_moment(besluit["decided_at"]),
        "evaluated": local_moment(decision["receipt"]["evaluated_at"]),
        "w": _words(),
        "rerun": None,
    }


@router.get("/audit/besluiten")
async def find(request: Request, user: Auditor) -> Response:
    """Find a decision by its id or the kenmerk of its letter."""
    query = request.query_params.get("zoek", "").strip()[:200]
    state = FormState({"zoek": query})
    if query:
        found = await run_in_threadpool(_find, request, query)
        if found is not None:
            return RedirectResponse(f"/audit/besluiten/{found}", status_code=303)
        state.errors["zoek"] = (
            "Er is geen besluit met dit nummer of kenmerk. Een kenmerk ziet eruit als"
            " BZK-vangnet-P06-B1; een besluitnummer heeft 32 tekens, 0 tot 9 en a tot f."
        )
    status = 404 if state.errors else 200
    return page(request, "auditor/zoeken.html.j2", {"form": state}, status=status)


@router.get("/audit/besluiten/{besluit_id}")
async def decision(request: Request, besluit_id: str, user: Auditor) -> Response:
    await check_besluit(request, user, "besluiten", "lezen", besluit_id)
    raw = request.query_params.get("na", "")
    after = int(raw) if raw.isdigit() and len(raw) < 13 else 0
    context = await run_in_threadpool(_decision_context, request, besluit_id, after)
    return page(request, "auditor/besluit.html.j2", context)


# the re-run in an engine worker -----------------------------------------------------------------


def rerun_in_worker(
    claim_json: bytes,
    decision_json: bytes,
    ruleset_id: str,
    ruleset_version: str,
    catalogue_sha256: str,
) -> tuple[str, str, str] | None:
    """Run in an engine worker: `vangnet.service.reproduce.rerun` with the worker's engine:
    the first difference with the stored advice (path, stored value, new value) or None."""
    from vangnet.workers import current_decider

    return rerun(
        claim_json,
        decision_json,
        ruleset_id,
        ruleset_version,
        catalogue_sha256,
        decider=current_decider(),
    )


def _hide_descriptions(value: Any) -> Any:
    """`value` with every measure's description hidden (at any depth)."""
    if isinstance(value, dict):
        return {
            k: HIDDEN if k == "description" else _hide_descriptions(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hide_descriptions(v) for v in value]
    return value


def _pseudonymised_value(path: str, text: str | None) -> str | None:
    """A value the re-run names (JSON text, or words), as an auditor may read it: the
    descriptions the applicant typed hidden, as everywhere else an auditor looks."""
    if text is None:
        return None
    if path.rsplit(".", maxsplit=1)[-1] == "description":
        return dumps(HIDDEN)
    try:
        value = decode_json(text)
    except (ClaimError, ValueError):
        return text  # words, not JSON: "(ontbreekt)", "geweigerd bij <fields>"
    if isinstance(value, dict | list):
        return dumps(_hide_descriptions(value))
    return text


@router.post("/audit/besluiten/{besluit_id}/opnieuw")
async def rerun_besluit(request: Request, besluit_id: str, user: Auditor) -> Response:
    """Re-run the advice a besluit rests on; `gelijk` or the first path that differs."""
    await read_form(request, user)
    await check_besluit(request, user, "besluiten", "lezen", besluit_id)
    store = store_of(request)
    try:
        stored = await run_in_threadpool(store.advice_of, besluit_id)
    except NotFound:
        return error_page(request, 404)
    try:
        difference = await run_in_threadpool(
            request.app.state.workers.run,
            rerun_in_worker,
            stored.claim_json,
            stored.decision_json,
            stored.ruleset_id,
            stored.ruleset_version,
            stored.catalogue_sha256,
        )
    except EngineFailure:
        return error_page(request, 503)
    result = verification(besluit_id, stored, difference)
    if result.path is not None:
        result = replace(
            result,
            stored=_pseudonymised_value(result.path, result.stored),
            recomputed=_pseudonymised_value(result.path, result.recomputed),
        )
    details = {"gelijk": result.equal, "pad": result.path}
    await run_in_threadpool(
        _record, request, user, "besluit.herberekenen", ("besluit", besluit_id), details
    )
    context = await run_in_threadpool(_decision_context, request, besluit_id)
    context["rerun"] = result
    return page(request, "auditor/besluit.html.j2", context)
