"""The decision core's line plan (`vangnet.evaluate._LinePlan`) against the plain way.

The plan builds line facts from a per-item part and per-line fields, encodes them for the engine
in pieces, and fills explanation templates once per catalogue item. Each of those must give
exactly what the straightforward code gives: `to_fact(line_values(...))`, `json.dumps`, and
`template.format_map` over every text of the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from hypothesis import given, settings

from tests.test_evaluate import _dated, claims
from vangnet.calculator import CalculatedLine, calculate
from vangnet.claim import parse_claim
from vangnet.engine import Session
from vangnet.evaluate import Decider, _LinePlan, _Values
from vangnet.facts import LINE_FIELDS, LINE_TEXTS, line_values, to_fact
from vangnet.ruleset import Ruleset

_DECIDER: Decider | None = None


def _decider() -> Decider:
    global _DECIDER  # noqa: PLW0603 - one engine for all examples
    if _DECIDER is None:
        _DECIDER = Decider()
    return _DECIDER


class _Reference(dict[str, str]):
    """Every text of a line, the plain way (as the decision core formatted them before)."""

    def __init__(self, rs: Ruleset, line: CalculatedLine, labels: Any, t: date | None) -> None:
        super().__init__({name: text(line, labels, t) for name, text in LINE_TEXTS.items()})
        self._values = _Values(rs, line_values(line, t))

    def __missing__(self, name: str) -> str:
        return self._values[name]


@contextmanager
def _captured_members() -> Iterator[list[list[str]]]:
    seen: list[list[str]] = []
    original = Session.assert_members

    def spy(self: Session, members: Any) -> Any:
        seen.append(list(members))
        return original(self, members)

    Session.assert_members = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Session.assert_members = original  # type: ignore[method-assign]


@settings(max_examples=60, deadline=None)
@given(claims)
def test_line_facts_are_the_plain_facts_and_encode_as_json_does(raw: dict[str, Any]) -> None:
    decider = _decider()
    claim = parse_claim(_dated(raw))
    with _captured_members() as seen:
        ev = decider.evaluate(claim)
    t = None if claim.threat is None else claim.threat.assessed_on
    [members] = seen
    for line, text in zip(ev.calculation.lines, members, strict=True):
        expected = to_fact(line_values(line, t), LINE_FIELDS, ev.ruleset.line_fields)
        expected |= {"id": f"l{line.index}", "kind": "line"}
        assert ev.facts[f"l{line.index}"] == expected
        assert json.loads("{" + text + "}") == expected


@settings(max_examples=60, deadline=None)
@given(claims)
def test_filled_templates_give_the_plain_explanations(raw: dict[str, Any]) -> None:
    decider = _decider()
    claim = parse_claim(_dated(raw))
    rs, _ = decider.choose(claim)
    calc = calculate(claim, decider.catalogues)
    plan = decider._plan(rs, calc.catalogue)
    t = None if claim.threat is None else claim.threat.assessed_on
    templates = {
        tpl
        for rule in rs.line_rules
        for c in rule.clauses
        for tpl in (c.explanation, c.explanation_unchanged)
        if tpl
    }
    for line in calc.lines:
        item = plan.item(line)
        reference = _Reference(rs, line, calc.catalogue.categories, t)
        for tpl in sorted(templates):
            assert plan.explain(tpl, line, item, t) == tpl.format_map(reference)


def test_templates_with_braces_specs_and_unknown_names_stay_exact() -> None:
    decider = _decider()
    claim = parse_claim(
        _dated(
            {
                "scheme": "vangnet",
                "reference_date": "2016-06-01",
                "applicant": {"type": "gemeente", "name": "G"},
                "office_holder": {"role": "wethouder"},
                "threat": {"status": "expliciet", "assessed_by": "politie"},
                "measures": [
                    {
                        "code": "ALARM_PAC",
                        "description": "a {b}",
                        "quantity": 2,
                        "unit_price_eur": "3100.50",
                    },
                    {
                        "code": "ALARM_PAC",
                        "description": "c",
                        "quantity": 1,
                        "unit_price_eur": "10",
                    },
                ],
            }
        )
    )
    rs, _ = decider.choose(claim)
    calc = calculate(claim, decider.catalogues)
    plan = _LinePlan(rs, calc.catalogue)
    labels = calc.catalogue.categories
    for tpl in (
        "{{letterlijk}} {referentieprijs} en {prijs} voor {omschrijving}",  # escaped braces
        "{prijs!r} bij {referentieprijs:>20}",  # a conversion and a format spec
        "alleen vast: {categorie_naam}{schatting}",
        "",
    ):
        for line in calc.lines:  # the same item twice: the second line uses what was kept
            want = tpl.format_map(_Reference(rs, line, labels, None))
            assert plan.explain(tpl, line, plan.item(line), None) == want
    try:
        plan.explain("{onbekend}", calc.lines[0], plan.item(calc.lines[0]), None)
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown name must fail as format_map fails")


def test_plans_are_kept_per_ruleset_and_catalogue_version() -> None:
    decider = _decider()
    versions = [rs for vs in decider.rulesets.values() for rs in vs]
    catalogue = decider.catalogues.versions[0]
    plans = {decider._plan(rs, catalogue) for rs in versions}
    assert len(plans) == len(versions)
    assert all(decider._plan(rs, catalogue) is decider._plan(rs, catalogue) for rs in versions)
