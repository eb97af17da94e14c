"""The pages everyone may read: the start page, the accessibility statement, the privacy page,
and the criteria, public and transparent: every ruleset version with its validity, status and
hash, every rule in words with its parameters and sources, and the differences between two
versions.

The rule texts come from `vangnet.rules_text` and `vangnet.rules_diff` (the same words as
`vangnet rules show` and `vangnet rules diff`); the pin of each published version from
`rulesets/manifest.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from vangnet import yamlfile
from vangnet.exceptions import NoRulesetError
from vangnet.facts import CLAIM_FIELDS, LINE_FIELDS
from vangnet.manifest import read_manifest
from vangnet.paths import FORMS_DIR, PROJECT_ROOT
from vangnet.rules_diff import (  # the Dutch names of the compared fields, as the CLI uses
    CLAUSE_NL,
    METADATA_NL,
    PARAM_NL,
    RULE_NL,
    SOURCE_NL,
    VALUE_NL,
    diff_rulesets,
    find_version,
)
from vangnet.rules_text import clause_text, param_text, term_text
from vangnet.ruleset import Clause, Rule, Ruleset
from vangnet.validity import describe_periods
from vangnet.web.errors import PageRoute
from vangnet.web.render import page
from vangnet.web.session import PageUser

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
async def start(request: Request, user: PageUser) -> Response:
    return page(request, "start.html.j2")


@router.get("/toegankelijkheid")
async def accessibility(request: Request, user: PageUser) -> Response:
    return page(request, "toegankelijkheid.html.j2")


@router.get("/privacy")
async def privacy(request: Request, user: PageUser) -> Response:
    years = request.app.state.settings.retention_years or _retention_default()
    return page(request, "privacy.html.j2", {"years": years})


@lru_cache(maxsize=1)
def _retention_default() -> int:
    """How long a final claim is kept by default (`forms/retention.yaml`)."""
    data = yamlfile.safe_load((FORMS_DIR / "retention.yaml").read_text(encoding="utf-8"))
    return int(data["default_years"])


# --- rulesets ---------------------------------------------------------------------------------


def _rulesets(request: Request) -> dict[str, tuple[Ruleset, ...]]:
    rulesets: dict[str, tuple[Ruleset, ...]] = request.app.state.validator.rulesets
    return rulesets


def _pin(rs: Ruleset, pins: dict[str, str]) -> str:
    """Whether the version is published and unchanged: `gepind`, `gewijzigd` or `niet`."""
    try:
        key = rs.path.resolve().relative_to(PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        return "niet"
    if key not in pins:
        return "niet"
    return "gepind" if pins[key] == rs.sha256 else "gewijzigd"


@router.get("/regelsets")
async def ruleset_list(request: Request, user: PageUser) -> Response:
    pins = read_manifest()
    rows = [
        {"rs": rs, "valid": describe_periods([rs]), "pin": _pin(rs, pins)}
        for _, versions in sorted(_rulesets(request).items())
        for rs in versions
    ]
    return page(request, "regelsets.html.j2", {"rows": rows, "keys": _keys(request)})


def _keys(request: Request) -> list[str]:
    return [rs.key for _, versions in sorted(_rulesets(request).items()) for rs in versions]


@dataclass(frozen=True, slots=True)
class _ClauseView:
    condition: str
    outcome: str
    explanation: str
    basis: str | None


def _clause(c: Clause, rs: Ruleset) -> _ClauseView:
    condition = " en ".join(term_text(t, rs) for t in c.when) if c.when else "anders"
    first = clause_text(c, rs).split("\n", 1)[0]
    outcome = first.removeprefix(f"als {condition}: ")
    if c.basis:
        outcome = outcome.removesuffix(f" [{c.basis}]")
    return _ClauseView(condition, outcome, " ".join(c.explanation.split()), c.basis)


def _rule(rule: Rule, rs: Ruleset) -> dict[str, Any]:
    return {
        "rule": rule,
        "source": rs.source_text(rule.source),
        "clauses": [_clause(c, rs) for c in rule.clauses],
    }


def _used(rules: tuple[Rule, ...]) -> list[str]:
    return sorted({t.field for r in rules for c in r.clauses for t in c.when if t.field})


@router.get("/regelsets/{scheme}/{version}")
async def ruleset_page(request: Request, scheme: str, version: str, user: PageUser) -> Response:
    rs = next((v for v in _rulesets(request).get(scheme, ()) if v.version == version), None)
    if rs is None:
        raise HTTPException(404)
    context = {
        "rs": rs,
        "valid": describe_periods([rs]),
        "pin": _pin(rs, read_manifest()),
        "parameters": [
            {
                "name": name,
                "value": param_text(rs, name),
                "spec": p,
                "source": rs.source_text(p.source),
            }
            for name, p in rs.spec.parameters.items()
        ],
        "line_rules": [_rule(r, rs) for r in rs.line_rules],
        "claim_rules": [_rule(r, rs) for r in rs.claim_rules],
        "line_facts": [(f, LINE_FIELDS[f].doc) for f in _used(rs.line_rules)],
        "claim_facts": [(f, CLAIM_FIELDS[f].doc) for f in _used(rs.claim_rules)],
        "sources": [(k, rs.source_text(k)) for k in rs.spec.sources],
        "keys": _keys(request),
    }
    return page(request, "regelset.html.j2", context)


# clause and rule names last: they win where a name is shared ("source", "basis")
_FIELD_NAMES = {**METADATA_NL, **SOURCE_NL, **PARAM_NL, **VALUE_NL, **RULE_NL, **CLAUSE_NL}


@router.get("/regelsets/verschil")
async def ruleset_diff(request: Request, user: PageUser) -> Response:
    rulesets = _rulesets(request)
    keys = _keys(request)
    old = request.query_params.get("van", "")
    new = request.query_params.get("naar", "")
    errors: dict[str, str] = {}
    diff = None
    if old or new:
        found = {}
        for name, key in (("van", old), ("naar", new)):
            try:
                found[name] = find_version(rulesets, key)
            except NoRulesetError:
                errors[name] = "Kies een versie uit de lijst."
        if not errors:
            diff = diff_rulesets(found["van"], found["naar"])
    context = {
        "keys": keys,
        "old": old,
        "new": new,
        "errors": errors,
        "diff": diff,
        "field_names": _FIELD_NAMES,
    }
    return page(request, "verschil.html.j2", context, status=400 if errors else 200)
