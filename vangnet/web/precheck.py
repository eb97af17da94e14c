"""The pre-check pages: the claim form (`GET /vooraf`) and its result (`POST /vooraf`).

Anyone may use it, signed in or not, like `POST /v1/evaluaties`, and nothing is stored. It
works without JavaScript: "add a line" is a submit button that shows the form again with one
more empty line; the result page carries the typed values in hidden fields, so "change" shows
the form again as it was. The claim is evaluated in an engine worker (`vangnet.web.worker`);
the web process only reads the form, validates and chooses the version.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vangnet.evaluate import Decider
from vangnet.excel import load_forms
from vangnet.exceptions import EngineFailure, EvaluationError, Problem
from vangnet.web.claimform import (
    MAX_LINES,
    FilledForm,
    add_claim_problems,
    catalogue_for_form,
    claim_sections,
    line_fields,
    read_form,
    validated_claim,
)
from vangnet.web.errors import PageRoute, error_page
from vangnet.web.render import page
from vangnet.web.session import PageUser, client_origin
from vangnet.web.session import read_form as read_post
from vangnet.web.worker import PRECHECK, precheck_in_worker

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ADD_LINE = "regel-toevoegen"
EDIT = "wijzigen"


def _lines(raw: str | None) -> int:
    return max(1, min(int(raw), MAX_LINES)) if raw and raw.isdigit() and len(raw) < 4 else 1


def _form_page(
    request: Request,
    filled: FilledForm,
    validator: Decider,
    *,
    status: int = 200,
    focus: str | None = None,
) -> Response:
    layout = load_forms().current
    catalogue = catalogue_for_form(validator.catalogues, filled.values.get("reference_date", ""))
    context = {
        "sections": claim_sections(layout),
        "lines": [line_fields(layout, catalogue, j) for j in range(filled.lines)],
        "form": filled,
        "focus": focus,
        "max_lines": MAX_LINES,
        "catalogue": catalogue,
    }
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
    lines = _lines(form.get("regels"))
    if action in (ADD_LINE, EDIT):
        more = action == ADD_LINE and lines < MAX_LINES
        filled = read_form(form, layout, validator.catalogues, lines + (1 if more else 0))
        shown = FilledForm(filled.values, filled.lines)  # no problems until it is evaluated
        catalogue = validator.catalogues.versions[-1]  # the ids do not depend on it
        focus = line_fields(layout, catalogue, lines)[0].id if more else None
        return _form_page(request, shown, validator, focus=focus)
    wait = request.app.state.rate_limiter.check(client_origin(request))
    if wait is not None:
        seconds = int(wait) + 1
        return error_page(request, 429, headers={"Retry-After": str(seconds)}, seconds=seconds)
    filled = read_form(form, layout, validator.catalogues, lines)
    claim = validated_claim(filled, validator, layout)
    if claim is None:
        return _form_page(request, filled, validator, status=400)
    try:
        kind, result = await run_in_threadpool(
            request.app.state.workers.run, precheck_in_worker, filled.data
        )
    except EngineFailure:
        return error_page(request, 503)
    if kind == "refusal":
        problems = [
            Problem(p["field"], p["value"], p["message"]) for p in result["error"]["problems"]
        ]
        add_claim_problems(filled, problems, layout, validator.catalogues)
        return _form_page(request, filled, validator, status=400)
    if kind != PRECHECK:
        raise EvaluationError(str(result.get("message", kind)))
    return page(request, "uitslag.html.j2", _result_context(result, filled, validator))


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
