"""A ruleset in words: every rule with its conditions, effects, parameters and sources.

Used by `vangnet rules show` and (later) the auditor pages, so that the criteria stay public
and readable without reading YAML.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from vangnet.facts import CLAIM_FIELDS, LINE_FIELDS
from vangnet.money import format_eur, format_number
from vangnet.ruleset import AMOUNT_EFFECTS, Clause, Expr, Rule, Ruleset, Term

__all__ = ["clause_text", "expr_text", "param_text", "ruleset_text", "term_text"]

_OPS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
_ARITH = {"mul": "×", "add": "+", "sub": "−", "div": "/"}
_BASIS = {"wet": "wet", "interpretatie": "interpretatie", "beleidskeuze": "beleidskeuze"}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "ja" if v else "nee"
    if isinstance(v, Decimal):
        return format_eur(v)
    return str(v)


def param_text(rs: Ruleset, name: str) -> str:
    """A parameter's value in Dutch notation: euros, a fraction with its percentage, a list."""
    unit = rs.spec.parameters[name].unit
    v = rs.params[name]
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    if unit == "eur":
        return format_eur(v)
    if unit == "fractie":
        return f"{format_number(v, 2)} ({format_number(v * 100, 0)}%)"
    if unit == "aantal":
        return format_number(v)
    return _value(v)


def expr_text(e: Expr, rs: Ruleset) -> str:
    """An expression in words, parameters with their values."""
    if e.kind == "literal":
        return (
            format_number(e.value, 2).removesuffix(",00")
            if isinstance(e.value, Decimal)
            else str(e.value)
        )
    if e.kind == "field":
        return str(e.value)
    if e.kind == "param":
        return f"{e.value} ({param_text(rs, e.value)})"
    left, right = (expr_text(a, rs) for a in e.args)
    return f"({left} {_ARITH[e.kind]} {right})"


def term_text(t: Term, rs: Ruleset) -> str:
    """One condition in words."""
    if t.op == "any":
        return "(" + " of ".join(term_text(a, rs) for a in t.any) + ")"
    if t.op == "present":
        return f"{t.field} is bekend" if t.value else f"{t.field} is onbekend"
    if t.op == "is":
        return f"{t.field} = {_value(t.value)}"
    if t.op == "is_not":
        return f"{t.field} ≠ {_value(t.value)}"
    if t.op in ("in", "not_in"):
        values = ", ".join(_value(v) for v in t.value)
        word = "is een van" if t.op == "in" else "is geen van"
        return f"{t.field} {word}: {values}"
    return f"{t.field} {_OPS[t.op]} {expr_text(t.value, rs)}"


def clause_text(c: Clause, rs: Ruleset) -> str:
    """A clause: when, then."""
    cond = " en ".join(term_text(t, rs) for t in c.when) if c.when else "anders"
    if c.status is not None:
        then = f"regel is {c.status}"
    elif c.amount is not None and c.effect is None:
        then = f"bedrag (stap {c.step}): {AMOUNT_EFFECTS[c.amount]}"
        if c.tolerance is not None:
            then += f"; tolerantie {expr_text(c.tolerance, rs)}"
    else:
        then = f"effect {c.effect}"
        if c.amount is not None:
            then += f"; {AMOUNT_EFFECTS[c.amount]}"
            if c.cap is not None:
                then += f" (plafond {expr_text(c.cap, rs)})"
    basis = f" [{_BASIS[c.basis]}]" if c.basis else ""
    return f"als {cond}: {then}{basis}\n      uitleg: {c.explanation}"


def _rule(rule: Rule, rs: Ruleset) -> list[str]:
    basis = f", {rule.basis}" if rule.basis else ""
    out = [f"  {rule.id}: {rule.label}{basis}", f"    bron: {rs.source_text(rule.source)}"]
    out += [f"    - {clause_text(c, rs)}" for c in rule.clauses]
    return out


def ruleset_text(rs: Ruleset) -> str:
    """The whole ruleset in words."""
    s = rs.spec
    # the effective end: the file's, or the closure recorded beside its pin
    valid = (
        f"{s.valid_from.isoformat()} t/m {rs.valid_to.isoformat()}"
        if rs.valid_to
        else f"vanaf {s.valid_from.isoformat()}"
    )
    out = [
        f"{s.title}",
        f"Regeling {s.id}, versie {s.version} (familie {s.family});"
        f" geldig {valid}; status {s.status}.",
        f"Beslist door: {s.deciding_body}. sha256 {rs.sha256}",
        "",
        "Parameters:",
    ]
    for name, p in s.parameters.items():
        shown = param_text(rs, name)
        out.append(f"  {name} = {shown}: {p.label} [{_BASIS[p.basis]}; {rs.source_text(p.source)}]")
    out += ["", "Regels per maatregel (in deze volgorde; de eerste poort beslist):"]
    for rule in rs.line_rules:
        out += _rule(rule, rs)
    out += ["", "Regels per aanvraag (de eerste clausule die geldt beslist):"]
    for rule in rs.claim_rules:
        out += _rule(rule, rs)
    out += ["", "Feiten die de regels gebruiken:"]
    used = sorted({t.field for r in rs.line_rules for c in r.clauses for t in c.when if t.field})
    out += [f"  maatregel.{f}: {LINE_FIELDS[f].doc}" for f in used]
    used = sorted({t.field for r in rs.claim_rules for c in r.clauses for t in c.when if t.field})
    out += [f"  aanvraag.{f}: {CLAIM_FIELDS[f].doc}" for f in used]
    out += ["", "Bronnen:"]
    out += [f"  {k}: {rs.source_text(k)}" for k in s.sources]
    return "\n".join(out) + "\n"
