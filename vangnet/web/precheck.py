"""The pre-check pages: the claim form (`GET /vooraf`) and its result (`POST /vooraf`).

Anyone may use it, signed in or not, like `POST /v1/evaluaties`, and nothing is stored. It
works without JavaScript: "add a line" is a submit button that shows the form again with one
more empty line; the result page carries the typed values in hidden fields, so "change" shows
the form again as it was. The claim is evaluated in an engine worker (`vangnet.web.worker`);
the web process only reads the form, validates and chooses the version.

Each pre-check is recorded in the audit log as `POST /v1/evaluaties` records it
(`evaluatie.uitvoeren`: who, when, the claim's hash and the outcome, never its content; `vorm`
is `formulier`), through the app's `AuditBuffer` when it has one: queued without waiting, written
with others in one transaction; when the queue stays full the pre-check is the 503 page rather
than answered without its entry (docs/audit.md). Showing the form again (a line more, or to
change it) is no pre-check and is not recorded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vangnet.claim import claim_sha256
from vangnet.evaluate import Decider
from vangnet.excel import load_forms
from vangnet.exceptions import EngineFailure, EvaluationError, Problem
from vangnet.service.audit import AuditEvent
from vangnet.service.audit_buffer import AuditBuffer, AuditBusy
from vangnet.service.identity import Identity
from vangnet.web.claimform import (
    ADD_LINE,
    FilledForm,
    add_claim_problems,
    form_context,
    form_lines,
    read_form,
    shown_again,
    validated_claim,
)
from vangnet.web.errors import PageRoute, error_page
from vangnet.web.render import page
from vangnet.web.session import PageUser, client_origin
from vangnet.web.session import read_form as read_post
from vangnet.web.worker import PRECHECK, precheck_in_worker

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

EDIT = "wijzigen"


def _form_page(
    request: Request,
    filled: FilledForm,
    validator: Decider,
    *,
    status: int = 200,
    focus: str | None = None,
) -> Response:
    context = form_context(filled, load_forms().current, validator.catalogues, focus=focus)
    return page(request, "vooraf.html.j2", context, status=status)


def _empty(lines: int = 1) -> FilledForm:
    return FilledForm({}, lines)


@router.get("/vooraf")
async def precheck_form(request: Request, user: PageUser) -> Response:
    return _form_page(request, _empty(), request.app.state.validator)


@router.post("/vooraf")
async def precheck(request: Request, user: PageUser) -> Response:
    form = await read_post(request, user)
    validator: Decider = request.app.state.validator
    layout = load_forms().current
    action = form.get("actie", "")
    if action in (ADD_LINE, EDIT):
        shown, focus = shown_again(form, layout, validator.catalogues, add=action == ADD_LINE)
        return _form_page(request, shown, validator, focus=focus)
    wait = request.app.state.rate_limiter.check(client_origin(request))
    if wait is not None:
        seconds = int(wait) + 1
        return error_page(request, 429, headers={"Retry-After": str(seconds)}, seconds=seconds)
    filled = read_form(form, layout, validator.catalogues, form_lines(form.get("regels")))
    claim = validated_claim(filled, validator, layout)
    if claim is None:
        busy = await _record(request, user, {"uitkomst": "geweigerd"})
        return busy or _form_page(request, filled, validator, status=400)
    try:
        kind, result = await request.app.state.workers.arun(precheck_in_worker, filled.data)
    except EngineFailure:
        return error_page(request, 503)
    if kind == PRECHECK:
        decision = result["decision"]
        details = {"claim_sha256": decision["receipt"]["claim_sha256"]}
        details["uitkomst"] = decision["outcome"]
    else:
        details = {"claim_sha256": claim_sha256(claim), "uitkomst": "geweigerd"}
    busy = await _record(request, user, details)
    if busy is not None:
        return busy
    if kind == "refusal":
        problems = [
            Problem(p["field"], p["value"], p["message"]) for p in result["error"]["problems"]
        ]
        add_claim_problems(filled, problems, layout, validator.catalogues)
        return _form_page(request, filled, validator, status=400)
    if kind != PRECHECK:
        raise EvaluationError(str(result.get("message", kind)))
    return page(request, "uitslag.html.j2", _result_context(result, filled, validator))


async def _record(
    request: Request, user: Identity | None, details: dict[str, str]
) -> Response | None:
    """Queue (or, without a buffer, write) the pre-check's entry: None, or the 503 page when
    the queue stays full (`AuditBusy`)."""
    who = user or Identity.anonymous_from(client_origin(request))
    event = AuditEvent(
        actor=who.actor,
        action="evaluatie.uitvoeren",
        result="gelukt",
        origin=who.origin,
        details={"vorm": "formulier", **details},
    )
    state = request.app.state
    buffer: AuditBuffer | None = getattr(state, "audit_buffer", None)
    if buffer is not None and buffer.try_submit(event):
        return None
    try:
        if buffer is None:
            await run_in_threadpool(state.audit.record, state.store.engine, event)
        else:
            await run_in_threadpool(buffer.submit, event)
    except AuditBusy:
        return error_page(request, 503, headers={"Retry-After": "5"}, seconds=5)
    return None


def _result_context(
    result: dict[str, Any], filled: FilledForm, validator: Decider
) -> dict[str, Any]:
    decision = result["decision"]
    ref = decision["ruleset"]
    ruleset = next(
        (rs for rs in validator.rulesets.get(ref["id"], ()) if rs.version == ref["version"]), None
    )
    labels = {} if ruleset is None else {k: r.label for k, r in ruleset.rules_by_id.items()}
    calc_lines = {line["index"]: line for line in result["calculation"]["lines"]}
    rows = [
        {
            "decision": line,
            "calc": calc_lines[line["index"]],
            "form_line": filled.line_of[line["index"]] + 1,
        }
        for line in decision["lines"]
    ]
    return {
        "decision": decision,
        "rows": rows,
        "labels": labels,
        "totals": result["calculation"]["totals"],
        "counterfactuals": result["counterfactuals"],
        "form": filled,
        "ruleset": ruleset,
    }
