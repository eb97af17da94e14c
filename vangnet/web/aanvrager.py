"""The municipal finance officer's pages (role `aanvrager`): the organisation's claims, submitting
one (the web form or the Excel intake form), its attachments, answering an information request,
withdrawing, the decisions with their letters, and an objection.

Everything goes through the service layer the API uses, with the same checks and the same
audit: `vangnet.web.access` asks `authz.authorize` what the matching `/v1` route asks (and
audits a refusal); the claim is validated, evaluated in an engine worker and stored by
`vangnet.service.intake` and `vangnet.service.store`, whose changes write their audit entries
in their own transaction. The server sets the claim's owner (the account's organisation),
never the form. A claim of another organisation is the 404 page.

Without JavaScript: "add a line" submits the form and shows it again with one more line; every
change is a POST answered with a redirect (so reloading a page never submits twice), and a form
of a new claim carries an idempotency key, so a second click stores nothing twice. Uploads are
`multipart/form-data`, read in memory (`vangnet.web.session.read_upload`); an attachment's type
is recognised by its bytes, its file name is never kept.

The claim page shows the current advice in words. The counterfactuals are computed again in an
engine worker from the stored claim, and shown only when that run used exactly the claim,
ruleset and catalogue of the stored advice (its receipt's hashes agree). Such a run is kept in
the process by those three hashes (`COUNTERFACTUALS`, the 256 most recently used), so seeing
the page again runs the engine no more: the same claim under the same ruleset and catalogue
gives the same result.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from vangnet.claim import Claim
from vangnet.evaluate import Decider
from vangnet.excel import XLSX_MEDIA_TYPE, build_intake, fill_intake, load_forms
from vangnet.excel import read_intake as read_workbook
from vangnet.exceptions import (
    ClaimError,
    EvaluationError,
    FormError,
    NoRulesetError,
    Problem,
)
from vangnet.letters import MEDIA_TYPES
from vangnet.service import deciding, intake
from vangnet.service.attachments import (
    MAX_BYTES,
    SOORTEN,
    Attachments,
    ClaimClosed,
    SameBytesOtherSoort,
    Upload,
    download,
    logged_addition,
    sniff,
)
from vangnet.service.authz import scope
from vangnet.service.identity import Identity
from vangnet.service.lifecycle import STATUSES
from vangnet.service.problems import ApiProblem
from vangnet.service.responses import json_response
from vangnet.service.store import (
    BesluitConflict,
    Conflict,
    IdempotencyConflict,
    NotFound,
    TransitionRefused,
)
from vangnet.service.termijnen import terms
from vangnet.web.access import (
    SignedIn,
    check,
    check_besluit,
    check_bijlage,
    check_claim,
    role_page,
    store_of,
)
from vangnet.web.claimform import (
    ADD_LINE,
    FilledForm,
    add_claim_problems,
    claim_sections,
    claim_values,
    form_context,
    form_lines,
    read_form,
    shown_again,
    validated_claim,
)
from vangnet.web.errors import PageRoute, error_page
from vangnet.web.render import page, texts
from vangnet.web.session import read_form as read_post
from vangnet.web.session import read_upload
from vangnet.web.worker import PRECHECK, ResultCache, precheck_in_worker

__all__ = ["COUNTERFACTUALS", "NOTICES", "PAGE_SIZE", "Officer", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# where the other roles' claims are (an old link or a typed address of another role)
ROLE_PAGES = {"beoordelaar": "/beoordelen", "auditor": "/audit"}
# these pages are the finance officer's: this row of the roles table admits only that role, so
# any other is refused (403, audited) before anything is read
Officer = Annotated[Identity, role_page("aanvragen", "indienen")]
PAGE_SIZE = 20
KEY_FIELD = "sleutel"  # the idempotency key of a new claim's form
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
FILE_FIELD = "bestand"
KIND_FIELD = "soort"
REASON_FIELD = "toelichting"
MAX_REASON = 2000  # as the API's `Toelichting`

# what the claim page says after an action (?melding=...)
NOTICES = {
    "ingediend": "Uw aanvraag is ingediend. Hieronder staat het advies van vangnet.",
    "aangevuld": "Uw aanvulling is ontvangen. Er is een nieuwe versie van de aanvraag.",
    "ingetrokken": "U heeft de aanvraag ingetrokken.",
    "bijlage": "De bijlage is toegevoegd.",
    "bijlage-bestond": (
        "Dit bestand was al een bijlage van deze aanvraag. Er is niets dubbel bewaard."
    ),
    "bezwaar": "Uw bezwaar is geregistreerd. De beoordelaar neemt contact met u op.",
}


# --- helpers ------------------------------------------------------------------------------------


def _validator(request: Request) -> Decider:
    validator: Decider = request.app.state.validator
    return validator


def _claim_url(aanvraag_id: str, notice: str | None = None) -> str:
    return f"/aanvragen/{aanvraag_id}" + (f"?melding={notice}" if notice else "")


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _key(raw: str | None) -> str:
    """The form's idempotency key as posted, or a new one."""
    return raw if raw and _KEY.fullmatch(raw) else secrets.token_urlsafe(24)


def _ruleset_titles(validator: Decider) -> dict[str, str]:
    return {scheme: versions[-1].spec.title for scheme, versions in validator.rulesets.items()}


def _problem_lines(problems: list[Problem] | None) -> list[str]:
    return [f"{p.field}: {p.message}" for p in problems or []]


def _service_error(request: Request, exc: ApiProblem) -> Response:
    """A problem of the service that no field explains: the error page of its status."""
    return error_page(request, exc.status if exc.status in (409, 413, 503) else 500)


def _open_request(aanvraag: Mapping[str, Any]) -> str | None:
    """The reason of the information request the claim waits on, if it waits on one (the
    request itself, not a later last day given for it)."""
    if aanvraag["status"] != "aanvulling_gevraagd":
        return None
    asked = [
        h for h in aanvraag["history"]
        if h["to_status"] == "aanvulling_gevraagd" and h["from_status"] != "aanvulling_gevraagd"
    ]  # fmt: skip
    return asked[-1]["reason"] if asked else None


def _open_request_due(aanvraag: Mapping[str, Any] | None) -> Any:
    """The last day to supplement of the open information request (a date), or None: the
    claim's `decision_term` as the store counts it."""
    term = None if aanvraag is None else aanvraag.get("decision_term")
    return None if term is None else term["supplement_due"]


async def _claim(request: Request, aanvraag_id: str) -> dict[str, Any]:
    """The stored claim (after its check); 404 when it is gone meanwhile."""
    store = store_of(request)
    try:
        body: dict[str, Any] = await run_in_threadpool(store.get, aanvraag_id)
    except NotFound:
        raise HTTPException(404) from None
    return body


def _conflict_text(exc: Conflict) -> str:
    status = texts()["claim_statuses"].get(exc.status, exc.status)
    if isinstance(exc, TransitionRefused):
        return f"De aanvraag heeft de status {status.lower()}; dat kan dan niet."
    return f"De aanvraag is intussen veranderd en heeft nu de status {status.lower()}."


# --- the list -----------------------------------------------------------------------------------


@router.get("/aanvragen")
async def claim_list(request: Request, user: SignedIn) -> Response:
    if user.rol in ROLE_PAGES:
        return _redirect(ROLE_PAGES[user.rol])
    await check(request, user, "aanvragen", "indienen")
    only = scope(user, "aanvragen")
    raw_status = request.query_params.get("status", "")
    raw_page = request.query_params.get("pagina", "1")
    errors: dict[str, str] = {}
    status: str | None = raw_status or None
    if status is not None and status not in STATUSES:
        errors["status"] = "Kies een status uit de lijst."
        status = None
    number = int(raw_page) if raw_page.isdigit() and len(raw_page) < 7 else 1
    number = max(1, number)
    store = store_of(request)
    items, total = await run_in_threadpool(
        lambda: store.page(
            owner=only.owner_id,
            decider=only.decider_id,
            status=status,
            page=number,
            size=PAGE_SIZE,
        )
    )
    context = {
        "items": items,
        "total": total,
        "page_number": number,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "status": status or "",
        "status_options": [(s, texts()["claim_statuses"][s]) for s in STATUSES],
        "errors": errors,
        "titles": _ruleset_titles(_validator(request)),
    }
    return page(request, "aanvrager/lijst.html.j2", context, status=400 if errors else 200)


# --- the claim form: a new claim, or a supplement -----------------------------------------------


def _form_page(
    request: Request,
    filled: FilledForm,
    *,
    key: str | None,
    aanvraag: Mapping[str, Any] | None = None,
    status: int = 200,
    focus: str | None = None,
    problems: list[str] | None = None,
) -> Response:
    validator = _validator(request)
    context = form_context(filled, load_forms().current, validator.catalogues, focus=focus)
    context |= {
        "key": key,
        "aanvraag": aanvraag,
        "problems": problems or [],
        "request_reason": _open_request(aanvraag) if aanvraag else None,
        "request_due": _open_request_due(aanvraag),
    }
    return page(request, "aanvrager/formulier.html.j2", context, status=status)


async def _new_values(request: Request, user: Identity) -> FilledForm:
    """An empty form with the applicant filled in from the account's organisation."""
    filled = FilledForm({}, 1)
    accounts = request.app.state.accounts
    organisation = await run_in_threadpool(accounts.organisation, user.organisatie_id)
    for section in claim_sections(load_forms().current):
        for f in section.fields:
            if f.path == "applicant.type" and any(o.value == organisation.soort for o in f.options):
                filled.values[f.name] = organisation.soort
            elif f.path == "applicant.name":
                filled.values[f.name] = organisation.naam
    return filled


def _posted_claim(
    request: Request, form: Mapping[str, str], key: str | None, aanvraag: Mapping[str, Any] | None
) -> tuple[FilledForm, Claim | None, Response | None]:
    """The posted claim form: (the filled form, its valid claim or None, the page to show
    instead: the form with one more line, or with its problems)."""
    validator = _validator(request)
    layout = load_forms().current
    if form.get("actie", "") == ADD_LINE:
        shown, focus = shown_again(form, layout, validator.catalogues, add=True)
        return shown, None, _form_page(request, shown, key=key, aanvraag=aanvraag, focus=focus)
    filled = read_form(form, layout, validator.catalogues, form_lines(form.get("regels")))
    claim = validated_claim(filled, validator, layout)
    if claim is None:
        return filled, None, _form_page(request, filled, key=key, aanvraag=aanvraag, status=400)
    return filled, claim, None


def _refused_form(
    request: Request,
    exc: ApiProblem,
    filled: FilledForm,
    *,
    key: str | None,
    aanvraag: Mapping[str, Any] | None = None,
) -> Response:
    """The service's refusal of a claim from the form: every problem next to its field."""
    if exc.status != 400:
        return _service_error(request, exc)
    validator = _validator(request)
    add_claim_problems(filled, exc.problems or [], load_forms().current, validator.catalogues)
    extra = [] if filled.errors else [exc.detail]
    return _form_page(request, filled, key=key, aanvraag=aanvraag, status=400, problems=extra)


@router.get("/aanvragen/nieuw")
async def new_claim_form(request: Request, user: Officer) -> Response:
    return _form_page(request, await _new_values(request, user), key=_key(None))


@router.post("/aanvragen/nieuw")
async def submit_claim(request: Request, user: Officer) -> Response:
    form = await read_post(request, user)
    key = _key(form.get(KEY_FIELD))
    filled, claim, shown = _posted_claim(request, form, key, None)
    if shown is not None or claim is None:
        assert shown is not None  # noqa: S101 - a form without a claim is shown again
        return shown
    try:
        stored = await _submit(request, user, filled.data, claim, key)
    except ApiProblem as exc:
        return _refused_form(request, exc, filled, key=key)
    return _redirect(_claim_url(stored["id"], "ingediend"))


async def _submit(
    request: Request, user: Identity, data: Any, claim: Claim, key: str | None
) -> dict[str, Any]:
    """Store a new claim as `POST /v1/aanvragen` does (`vangnet.service.intake.submit`)."""
    state = request.app.state
    try:
        return await intake.submit(
            data,
            claim,
            validator=state.validator,
            workers=state.workers,
            store=store_of(request),
            identity=user,
            idempotency_key=key,
        )
    except IdempotencyConflict:
        raise ApiProblem(
            400,
            "Dit formulier is al eens ingediend met andere gegevens. Begin een nieuwe aanvraag.",
        ) from None


# --- Excel ----------------------------------------------------------------------------------------


def _excel_page(
    request: Request,
    *,
    key: str | None,
    aanvraag: Mapping[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "aanvraag": aanvraag,
        "key": key,
        "errors": errors or {},
        "problems": problems or [],
        "limit": load_forms().limits.max_file_bytes,
        "request_reason": _open_request(aanvraag) if aanvraag else None,
        "request_due": _open_request_due(aanvraag),
    }
    return page(request, "aanvrager/excel.html.j2", context, status=status)


_UNREADABLE = (
    "Het formulier kan niet worden gelezen. Verbeter wat hieronder staat en kies het bestand"
    " opnieuw."
)


async def _posted_workbook(
    request: Request, user: Identity
) -> tuple[dict[str, str], Any, Claim | None, dict[str, str], list[str]]:
    """The posted workbook: (the form's fields, the claim data, the valid claim or None, the
    error by field, the workbook's problems, each by sheet and cell)."""
    limit = load_forms().limits.max_file_bytes
    upload = await read_upload(request, user, limit=limit)
    posted = upload.files.get(FILE_FIELD)
    if FILE_FIELD in upload.too_large:
        text = (
            f"Het bestand is groter dan {limit // (1024 * 1024)} MB; kies het ingevulde formulier."
        )
        return upload.fields, None, None, {FILE_FIELD: text}, []
    if posted is None or not posted.content:
        text = "Kies het ingevulde Excel-formulier (een .xlsx-bestand)."
        return upload.fields, None, None, {FILE_FIELD: text}, []
    validator = _validator(request)
    try:
        # reading a workbook takes a fifth of a second: never in the event loop
        data = await run_in_threadpool(
            lambda: read_workbook(posted.content, validate=validator.validate)
        )
        claim = validator.validate(data)
        validator.choose(claim)
    except FormError as exc:
        return upload.fields, None, None, {FILE_FIELD: _UNREADABLE}, exc.lines()
    except (ClaimError, NoRulesetError) as exc:
        problems = _problem_lines(list(exc.problems))
        return upload.fields, None, None, {FILE_FIELD: _UNREADABLE}, problems
    return upload.fields, data, claim, {}, []


@router.get("/aanvragen/nieuw/excel")
async def new_claim_workbook_form(request: Request, user: Officer) -> Response:
    return _excel_page(request, key=_key(None))


@router.post("/aanvragen/nieuw/excel")
async def submit_claim_workbook(request: Request, user: Officer) -> Response:
    fields, data, claim, errors, problems = await _posted_workbook(request, user)
    key = _key(fields.get(KEY_FIELD))
    if claim is None:
        return _excel_page(request, key=key, errors=errors, problems=problems, status=400)
    try:
        stored = await _submit(request, user, data, claim, key)
    except ApiProblem as exc:
        if exc.status != 400:
            return _service_error(request, exc)
        lines = _problem_lines(exc.problems) or [exc.detail]
        errors = {FILE_FIELD: _UNREADABLE}
        return _excel_page(request, key=key, errors=errors, problems=lines, status=400)
    return _redirect(_claim_url(stored["id"], "ingediend"))


def _workbook(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/aanvragen/intakeformulier.xlsx")
async def empty_workbook(request: Request, user: Officer) -> Response:
    """The empty intake form, with the catalogue in force today (or else the newest)."""
    catalogues = _validator(request).catalogues
    today = datetime.now(UTC).date()
    day = today if catalogues.in_force(today) is not None else catalogues.versions[-1].valid_from
    out = io.BytesIO()
    await run_in_threadpool(lambda: build_intake(out, on=day, catalogues=catalogues))
    return _workbook(out.getvalue(), "aanvraagformulier.xlsx")


# --- one claim ----------------------------------------------------------------------------------


# what a run must share with the stored advice for its counterfactuals to be shown
_SAME_RUN = ("claim_sha256", "ruleset_sha256", "catalogue_sha256")
# the pre-checks of claim pages in this process, by those three hashes
COUNTERFACTUALS = ResultCache(256)


async def _advice(request: Request, aanvraag: Mapping[str, Any]) -> dict[str, Any]:
    """The current advice with the neutral calculation and the counterfactuals of the same
    claim, ruleset and catalogue (run again in an engine worker; left out when that run
    differs from the stored advice or the engine is not available)."""
    decision = aanvraag["advices"][0]["decision"]
    validator = _validator(request)
    ref = decision["ruleset"]
    ruleset = next(
        (rs for rs in validator.rulesets.get(ref["id"], ()) if rs.version == ref["version"]), None
    )
    labels = {} if ruleset is None else {k: r.label for k, r in ruleset.rules_by_id.items()}
    key = tuple(decision["receipt"][k] for k in _SAME_RUN)
    result: dict[str, Any] | None = COUNTERFACTUALS.get(key)
    if result is None:
        try:
            kind, answer = await request.app.state.workers.arun(
                precheck_in_worker, aanvraag["claim"]
            )
        except EvaluationError:  # the engine failed (the pool is replaced) or our code did
            kind, answer = "engine_failure", None
        if kind == PRECHECK and all(
            answer["decision"]["receipt"][k] == decision["receipt"][k] for k in _SAME_RUN
        ):
            result = answer
            COUNTERFACTUALS.put(key, answer)
    calc_lines = {} if result is None else {x["index"]: x for x in result["calculation"]["lines"]}
    rows = [
        {"decision": line, "calc": calc_lines.get(line["index"]), "form_line": line["index"] + 1}
        for line in decision["lines"]
    ]
    return {
        "decision": decision,
        "ruleset": ruleset,
        "labels": labels,
        "rows": rows,
        "totals": None if result is None else result["calculation"]["totals"],
        "counterfactuals": None if result is None else result["counterfactuals"],
    }


def _requests(aanvraag: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The information requests, oldest first, each with whether it was answered."""
    history = aanvraag["history"]
    out = []
    for i, h in enumerate(history):
        if h["to_status"] == "aanvulling_gevraagd":
            answer = next(
                (x for x in history[i + 1 :] if x["from_status"] == "aanvulling_gevraagd"), None
            )
            out.append({"at": h["at"], "reason": h["reason"], "answer": answer})
    return out


async def _claim_page(
    request: Request,
    user: Identity,
    aanvraag_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    aanvraag = await _claim(request, aanvraag_id)
    store = store_of(request)
    await check_claim(request, user, "bijlagen", "lezen", aanvraag_id)
    attachments = await run_in_threadpool(Attachments(store.engine).of_aanvraag, aanvraag_id)
    current = None
    if aanvraag["besluiten"]:
        current = await run_in_threadpool(store.besluit, aanvraag["besluiten"][-1]["id"])
    context = {
        "aanvraag": aanvraag,
        "attachments": attachments,
        "current_besluit": current,
        "requests": _requests(aanvraag),
        "request_reason": _open_request(aanvraag),
        "request_due": _open_request_due(aanvraag),
        "may_supplement": "aanvullingen" in aanvraag["allowed_transitions"],
        "may_withdraw": "intrekking" in aanvraag["allowed_transitions"],
        "takes_attachments": aanvraag["status"] != "ingetrokken",
        "titles": _ruleset_titles(_validator(request)),
        "notice": NOTICES.get(notice or ""),
        "error": error,
        "errors": errors or {},
        "values": values or {},
        "kind_options": [(k, texts()["attachment_kinds"][k]) for k in SOORTEN],
        "max_mb": MAX_BYTES // 1_000_000,
        "advice": await _advice(request, aanvraag),
        # when the applicant may expect the besluit (the store's count, as the assessor's queue)
        "term": aanvraag["decision_term"],
        "terms": terms(),
    }
    return page(request, "aanvrager/aanvraag.html.j2", context, status=status)


@router.get("/aanvragen/{aanvraag_id}")
async def claim_page(request: Request, aanvraag_id: str, user: Officer) -> Response:
    await check_claim(request, user, "aanvragen", "lezen", aanvraag_id)
    notice = request.query_params.get("melding")
    return await _claim_page(request, user, aanvraag_id, notice=notice)


# --- supplementing: a new version of the claim ----------------------------------------------------


async def _supplementable(request: Request, user: Identity, aanvraag_id: str) -> dict[str, Any]:
    """The claim to supplement, after the check; 409 when it waits on no information."""
    await check_claim(request, user, "aanvragen", "aanvullen", aanvraag_id)
    aanvraag = await _claim(request, aanvraag_id)
    if "aanvullingen" not in aanvraag["allowed_transitions"]:
        raise HTTPException(409)
    return aanvraag


@router.get("/aanvragen/{aanvraag_id}/aanvullen")
async def supplement_form(request: Request, aanvraag_id: str, user: Officer) -> Response:
    aanvraag = await _supplementable(request, user, aanvraag_id)
    validator = _validator(request)
    filled = claim_values(aanvraag["claim"], load_forms().current, validator.catalogues)
    return _form_page(request, filled, key=None, aanvraag=aanvraag)


async def _supplement(
    request: Request, user: Identity, aanvraag_id: str, data: Any, claim: Claim
) -> None:
    """Store a supplement as `POST /v1/aanvragen/{id}/aanvullingen` does
    (`vangnet.service.intake.supplement`)."""
    state = request.app.state
    await intake.supplement(
        aanvraag_id,
        data,
        claim,
        validator=state.validator,
        workers=state.workers,
        store=store_of(request),
        identity=user,
    )


@router.post("/aanvragen/{aanvraag_id}/aanvullen")
async def supplement(request: Request, aanvraag_id: str, user: Officer) -> Response:
    form = await read_post(request, user)
    aanvraag = await _supplementable(request, user, aanvraag_id)
    filled, claim, shown = _posted_claim(request, form, None, aanvraag)
    if shown is not None or claim is None:
        assert shown is not None  # noqa: S101 - a form without a claim is shown again
        return shown
    try:
        await _supplement(request, user, aanvraag_id, filled.data, claim)
    except Conflict as exc:
        return await _claim_page(request, user, aanvraag_id, error=_conflict_text(exc), status=409)
    except ApiProblem as exc:
        return _refused_form(request, exc, filled, key=None, aanvraag=aanvraag)
    return _redirect(_claim_url(aanvraag_id, "aangevuld"))


@router.get("/aanvragen/{aanvraag_id}/aanvullen/excel")
async def supplement_workbook_form(request: Request, aanvraag_id: str, user: Officer) -> Response:
    aanvraag = await _supplementable(request, user, aanvraag_id)
    return _excel_page(request, key=None, aanvraag=aanvraag)


@router.post("/aanvragen/{aanvraag_id}/aanvullen/excel")
async def supplement_workbook(request: Request, aanvraag_id: str, user: Officer) -> Response:
    aanvraag = await _supplementable(request, user, aanvraag_id)
    _, data, claim, errors, problems = await _posted_workbook(request, user)
    if claim is None:
        return _excel_page(
            request, key=None, aanvraag=aanvraag, errors=errors, problems=problems, status=400
        )
    try:
        await _supplement(request, user, aanvraag_id, data, claim)
    except Conflict as exc:
        return await _claim_page(request, user, aanvraag_id, error=_conflict_text(exc), status=409)
    except ApiProblem as exc:
        if exc.status != 400:
            return _service_error(request, exc)
        lines = _problem_lines(exc.problems) or [exc.detail]
        return _excel_page(
            request,
            key=None,
            aanvraag=aanvraag,
            errors={FILE_FIELD: _UNREADABLE},
            problems=lines,
            status=400,
        )
    return _redirect(_claim_url(aanvraag_id, "aangevuld"))


@router.get("/aanvragen/{aanvraag_id}/formulier.xlsx")
async def filled_workbook(request: Request, aanvraag_id: str, user: Officer) -> Response:
    """The claim's current version in the intake form, to change it in Excel."""
    await check_claim(request, user, "aanvragen", "lezen", aanvraag_id)
    aanvraag = await _claim(request, aanvraag_id)
    validator = _validator(request)
    claim = validator.validate(aanvraag["claim"])
    out = io.BytesIO()
    try:
        await run_in_threadpool(lambda: fill_intake(claim, out, catalogues=validator.catalogues))
    except (ValueError, NoRulesetError):
        # more lines than the form has, or no catalogue for its date: the web form only
        raise HTTPException(409) from None
    return _workbook(out.getvalue(), f"aanvraag-{aanvraag_id}.xlsx")


# --- attachments ----------------------------------------------------------------------------------


@router.post("/aanvragen/{aanvraag_id}/bijlagen")
async def add_attachment(request: Request, aanvraag_id: str, user: Officer) -> Response:
    await check_claim(request, user, "bijlagen", "toevoegen", aanvraag_id)
    upload = await read_upload(request, user, limit=MAX_BYTES)
    kind = upload.fields.get(KIND_FIELD, "")
    posted = upload.files.get(FILE_FIELD)
    errors: dict[str, str] = {}
    if kind not in SOORTEN:
        errors[KIND_FIELD] = "Kies wat voor bijlage het is."
    media_type = None if posted is None else sniff(posted.content[:8])
    if FILE_FIELD in upload.too_large:
        errors[FILE_FIELD] = "Het bestand is groter dan 10 MB. Maak het kleiner of kies een ander."
    elif posted is None or not posted.content:
        errors[FILE_FIELD] = "Kies een bestand: een PDF, PNG of JPEG."
    elif media_type is None:
        errors[FILE_FIELD] = "Dit bestand is geen PDF, PNG of JPEG. Kies een bestand van die soort."
    if errors:
        values: dict[str, str] = {KIND_FIELD: kind if kind in SOORTEN else ""}
        return await _claim_page(
            request, user, aanvraag_id, errors=errors, values=values, status=400
        )
    assert posted is not None and media_type is not None  # noqa: S101 - checked above
    store = store_of(request)
    content = posted.content
    stored_upload = Upload(media_type, content, hashlib.sha256(content).hexdigest())

    logged = logged_addition(store.audit, user, aanvraag_id)
    try:
        _, created = await run_in_threadpool(
            lambda: Attachments(store.engine).add(
                aanvraag_id, kind, stored_upload, on_stored=logged
            )
        )
    except NotFound:
        raise HTTPException(404) from None
    except ClaimClosed:
        text = "De aanvraag is ingetrokken; zij neemt geen bijlagen meer aan."
        return await _claim_page(request, user, aanvraag_id, error=text, status=409)
    except SameBytesOtherSoort as exc:
        word = texts()["attachment_kinds"][exc.existing["soort"]].lower()
        errors = {KIND_FIELD: f"Dit bestand is al een bijlage van deze aanvraag, als {word}."}
        return await _claim_page(
            request, user, aanvraag_id, errors=errors, values={KIND_FIELD: kind}, status=409
        )
    return _redirect(_claim_url(aanvraag_id, "bijlage" if created else "bijlage-bestond"))


@router.get("/aanvragen/{aanvraag_id}/bijlagen/{bijlage_id}")
async def attachment(
    request: Request, aanvraag_id: str, bijlage_id: str, user: Officer
) -> Response:
    await check_bijlage(request, user, "bijlagen", "downloaden", bijlage_id)
    store = store_of(request)
    attachments = Attachments(store.engine)
    if bijlage_id not in await run_in_threadpool(attachments.ids_of, aanvraag_id):
        raise HTTPException(404)
    try:
        return await run_in_threadpool(download, store, user, bijlage_id)
    except NotFound:
        raise HTTPException(404) from None


# --- withdrawing --------------------------------------------------------------------------------


@router.get("/aanvragen/{aanvraag_id}/intrekken")
async def withdraw_form(request: Request, aanvraag_id: str, user: Officer) -> Response:
    await check_claim(request, user, "aanvragen", "intrekken", aanvraag_id)
    aanvraag = await _claim(request, aanvraag_id)
    if "intrekking" not in aanvraag["allowed_transitions"]:
        raise HTTPException(409)
    context = {"aanvraag": aanvraag, "values": {}, "errors": {}}
    return page(request, "aanvrager/intrekken.html.j2", context)


@router.post("/aanvragen/{aanvraag_id}/intrekken")
async def withdraw(request: Request, aanvraag_id: str, user: Officer) -> Response:
    form = await read_post(request, user)
    await check_claim(request, user, "aanvragen", "intrekken", aanvraag_id)
    reason = form.get(REASON_FIELD, "").strip()
    if len(reason) > MAX_REASON:
        aanvraag = await _claim(request, aanvraag_id)
        errors = {REASON_FIELD: f"De toelichting is te lang: hoogstens {MAX_REASON} tekens."}
        context = {"aanvraag": aanvraag, "values": {REASON_FIELD: reason}, "errors": errors}
        return page(request, "aanvrager/intrekken.html.j2", context, status=400)
    store = store_of(request)
    try:
        await run_in_threadpool(
            lambda: store.transition(
                aanvraag_id, "intrekking", identity=user, reason=reason or None
            )
        )
    except NotFound:
        raise HTTPException(404) from None
    except Conflict as exc:
        return await _claim_page(request, user, aanvraag_id, error=_conflict_text(exc), status=409)
    return _redirect(_claim_url(aanvraag_id, "ingetrokken"))


# --- decisions: the besluit as JSON, its letter, an objection -------------------------------------


async def _besluit_of(
    request: Request, user: Identity, resource: str, action: str, *, claim: str, besluit_id: str
) -> dict[str, Any]:
    """The besluit (after its check), which must be one of this claim's."""
    await check_besluit(request, user, resource, action, besluit_id)
    store = store_of(request)
    try:
        body: dict[str, Any] = await run_in_threadpool(store.besluit, besluit_id)
    except NotFound:
        raise HTTPException(404) from None
    if body["aanvraag"]["id"] != claim:
        raise HTTPException(404)
    return body


@router.get("/aanvragen/{aanvraag_id}/besluiten/{besluit_id}.json")
async def besluit_json(
    request: Request, aanvraag_id: str, besluit_id: str, user: Officer
) -> Response:
    """The besluit as `GET /v1/besluiten/{id}` gives it, as a download."""
    body = await _besluit_of(
        request, user, "besluiten", "lezen", claim=aanvraag_id, besluit_id=besluit_id
    )
    store = store_of(request)
    listed = await run_in_threadpool(Attachments(store.engine).describe, body["attachments"])
    headers = {"Content-Disposition": f'attachment; filename="besluit-{besluit_id}.json"'}
    return json_response({**body, "attachments": listed}, headers=headers)


@router.get("/aanvragen/{aanvraag_id}/besluiten/{besluit_id}/brief.pdf")
async def letter(request: Request, aanvraag_id: str, besluit_id: str, user: Officer) -> Response:
    """The besluit's letter, the stored PDF/A (the download is in the audit log)."""
    await _besluit_of(request, user, "brieven", "lezen", claim=aanvraag_id, besluit_id=besluit_id)
    store = store_of(request)
    pdf, _, _ = await run_in_threadpool(lambda: store.letter(besluit_id, identity=user, fmt="pdf"))
    return Response(
        pdf,
        media_type=MEDIA_TYPES["pdf"],
        headers={
            "Content-Disposition": f'attachment; filename="besluit-{besluit_id}.pdf"',
            "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
        },
    )


@router.get("/aanvragen/{aanvraag_id}/besluiten/{besluit_id}/bezwaar")
async def objection_form(
    request: Request, aanvraag_id: str, besluit_id: str, user: Officer
) -> Response:
    besluit = await _besluit_of(
        request, user, "bezwaren", "indienen", claim=aanvraag_id, besluit_id=besluit_id
    )
    if besluit["replaced_by"] is not None:
        raise HTTPException(409)
    aanvraag = await _claim(request, aanvraag_id)
    context = {"aanvraag": aanvraag, "besluit": besluit}
    return page(request, "aanvrager/bezwaar.html.j2", context)


@router.post("/aanvragen/{aanvraag_id}/besluiten/{besluit_id}/bezwaar")
async def objection(request: Request, aanvraag_id: str, besluit_id: str, user: Officer) -> Response:
    await read_post(request, user)
    await _besluit_of(
        request, user, "bezwaren", "indienen", claim=aanvraag_id, besluit_id=besluit_id
    )
    store = store_of(request)
    try:
        # no body: an objection of the applicant is received today (deciding.register_bezwaar)
        await deciding.register_bezwaar(store, besluit_id, None, user)
    except NotFound:
        raise HTTPException(404) from None
    except BesluitConflict as exc:
        return await _claim_page(request, user, aanvraag_id, error=exc.detail, status=409)
    except ApiProblem as exc:
        return _service_error(request, exc)
    return _redirect(_claim_url(aanvraag_id, "bezwaar"))
