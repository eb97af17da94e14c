"""Scenario tests of the rulesets: every `rulesets/<scheme>/tests/*.yaml`, one case per scenario.

Each file holds the scenarios of one rule or rule family of one scheme (OpenFisca style, see
`../shared/style.md`, example 5), written from `../shared/spec/schemes.md`:

    defaults:        # required: a complete valid claim (interchange format v1)
      scheme: vangnet
      reference_date: 2016-03-01
      ...
    scenarios:
      - name: exactly the threshold is a disproportionate burden   # states the outcome
        input: {municipality: {inhabitants: 4520}}   # optional, deep-merged into defaults
        output:                                      # partial: only what is listed is checked
          outcome: toekennen
          eligible_total_eur: "4520.00"              # money as strings with two decimals
          claimed_total_eur: "4520.00"
          findings: {VN-ONEVENREDIG: voldaan}        # rule id -> effect
          finding_rules: [VN-AANVRAGER, ...]         # every finding's rule id, in order
          explanation_contains: {VN-ONEVENREDIG: ["€ 4.520,00"]}  # substrings per finding
          lines:                                     # each entry names its index
            - {index: 0, status: vergoedbaar, eligible_eur: "4520.00",
               rules: [VN-L-CATEGORIE],              # compared as the exact list
               claimed_eur: "4520.00", reference_eur: "2600.00", code: ALARM_PAC,
               explanation_contains: ["..."]}
          ruleset: {id: vangnet, version: "2016.1", status: interpretatie,
                    valid_from: 2016-02-10, valid_to: null}
          simulation: false
        xfail: "why the implementation disagrees with schemes.md"   # optional
      - name: no version in force the day before validity
        input: {reference_date: 2016-02-09}
        refusal: geen_regelset                       # instead of output: the refusal's code

Merging `input` into `defaults`: dicts merge key by key, anything else (lists included)
replaces; the value `"$remove"` deletes a key of the defaults; `null` is a plain JSON null.
YAML anchors and merge keys (`<<: *line`) may be used inside one file.

Each scenario is one pytest case with the id `<scheme>/<file stem>::<name>`, decided by one
module-scoped `Decider`; `output` is compared with `Decision.as_dict()` (money as `Decimal`,
lists such as `rules` and `finding_rules` exactly, findings by rule id, lines by index), and
`refusal` with the `code` of the `ClaimError` or `NoRulesetError` raised.

Every scenario has exactly one of `output` and `refusal`. Unknown keys, duplicate keys, an
unknown outcome, status, effect or refusal code, a rule id that no ruleset has, money that is
not a two-decimal string, or a duplicate name in one file are errors when the file is
collected, so that a typo cannot make a test vacuous (or an `xfail` pass by accident). An
`xfail` scenario runs with strict semantics: it must fail with a mismatch (an
AssertionError), and when the implementation starts to agree with the specification the run
fails until the mark is removed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from vangnet.claim import parse_claim
from vangnet.evaluate import Decider
from vangnet.exceptions import VangnetError
from vangnet.ruleset import load_rulesets, rule_ids

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted((ROOT / "rulesets").glob("*/tests/*.yaml"))

REMOVE = "$remove"
FILE_KEYS = {"defaults", "scenarios"}
SCENARIO_KEYS = {"name", "input", "output", "refusal", "xfail"}
OUTPUT_KEYS = {
    "outcome",
    "eligible_total_eur",
    "claimed_total_eur",
    "findings",
    "finding_rules",
    "explanation_contains",
    "lines",
    "ruleset",
    "simulation",
}
LINE_KEYS = {
    "index",
    "code",
    "status",
    "claimed_eur",
    "reference_eur",
    "eligible_eur",
    "rules",
    "explanation_contains",
}
RULESET_KEYS = {"id", "version", "status", "valid_from", "valid_to"}
OUTCOMES = {"toekennen", "gedeeltelijk", "afwijzen", "nader_onderzoek"}
STATUSES = {"uitgesloten", "vergoedbaar", "deels", "te_beoordelen"}
EFFECTS = {"voldaan", "afwijzen", "nader_onderzoek", "info"}
REFUSALS = {"ongeldige_aanvraag", "geen_regelset"}
MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")
RULE_IDS = rule_ids([rs for versions in load_rulesets().values() for rs in versions])


class ScenarioFileError(ValueError):
    """A scenario file that does not follow the format (the message names file and place)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # keys written beside a merge key (<<) override the merged ones
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ScenarioFileError(f"duplicate key {key!r} {key_node.start_mark}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@dataclass(frozen=True)
class Scenario:
    """One scenario, with its defaults already merged in."""

    claim: dict[str, Any]
    output: dict[str, Any] | None
    refusal: str | None


# --- reading and checking the files ------------------------------------------------------------


def _fail(where: str, text: str) -> ScenarioFileError:
    return ScenarioFileError(f"{where}: {text}")


def _keys(
    where: str, value: Any, allowed: AbstractSet[str], required: AbstractSet[str] = frozenset()
) -> None:
    if not isinstance(value, dict):
        raise _fail(where, f"must be a mapping, not {type(value).__name__}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(required - set(value))
    if missing:
        raise _fail(where, f"missing key(s) {missing}")


def _one_of(where: str, value: Any, allowed: AbstractSet[str]) -> None:
    if value not in allowed:
        raise _fail(where, f"{value!r} is not one of {sorted(allowed)}")


def _money(where: str, value: Any) -> None:
    if not (isinstance(value, str) and MONEY.fullmatch(value)):
        raise _fail(where, f"money must be a string with two decimals such as '12.50': {value!r}")


def _rule_list(where: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _fail(where, "must be a list of rule ids")
    for rule in value:
        _one_of(where, rule, RULE_IDS)


def _texts(where: str, value: Any) -> None:
    if not (isinstance(value, list) and value and all(isinstance(t, str) and t for t in value)):
        raise _fail(where, "must be a non-empty list of non-empty strings")


def _check_output(where: str, out: Any) -> None:
    _keys(where, out, OUTPUT_KEYS)
    if not out:
        raise _fail(where, "checks nothing")
    if "outcome" in out:
        _one_of(f"{where}.outcome", out["outcome"], OUTCOMES)
    for key in ("eligible_total_eur", "claimed_total_eur"):
        if key in out:
            _money(f"{where}.{key}", out[key])
    if "simulation" in out and not isinstance(out["simulation"], bool):
        raise _fail(f"{where}.simulation", "must be true or false")
    if "findings" in out:
        findings = out["findings"]
        _keys(f"{where}.findings", findings, RULE_IDS)
        for rule, effect in findings.items():
            _one_of(f"{where}.findings.{rule}", effect, EFFECTS)
    if "finding_rules" in out:
        _rule_list(f"{where}.finding_rules", out["finding_rules"])
    if "explanation_contains" in out:
        texts = out["explanation_contains"]
        _keys(f"{where}.explanation_contains", texts, RULE_IDS)
        for rule, value in texts.items():
            _texts(f"{where}.explanation_contains.{rule}", value)
    if "ruleset" in out:
        _keys(f"{where}.ruleset", out["ruleset"], RULESET_KEYS)
    if "lines" in out:
        lines = out["lines"]
        if not isinstance(lines, list) or not lines:
            raise _fail(f"{where}.lines", "must be a non-empty list")
        indexes = set()
        for i, line in enumerate(lines):
            at = f"{where}.lines[{i}]"
            _keys(at, line, LINE_KEYS, {"index"})
            index = line["index"]
            if type(index) is not int or index < 0 or index in indexes:
                raise _fail(f"{at}.index", "must be an integer >= 0, once per line")
            indexes.add(index)
            if "status" in line:
                _one_of(f"{at}.status", line["status"], STATUSES)
            for key in ("claimed_eur", "eligible_eur"):
                if key in line:
                    _money(f"{at}.{key}", line[key])
            if line.get("reference_eur") is not None:
                _money(f"{at}.reference_eur", line["reference_eur"])
            if "rules" in line:
                _rule_list(f"{at}.rules", line["rules"])
            if "explanation_contains" in line:
                _texts(f"{at}.explanation_contains", line["explanation_contains"])


def _merge(where: str, base: Any, override: Any) -> Any:
    """`override` deep-merged into `base`: dicts merge, the rest replaces, "$remove" deletes."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        _no_remove(where, override)
        return copy.deepcopy(override)
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value == REMOVE:
            if key not in out:
                raise _fail(where, f"{REMOVE} of {key!r}, which the defaults do not have")
            del out[key]
        elif key in out:
            out[key] = _merge(f"{where}.{key}", out[key], value)
        else:
            _no_remove(f"{where}.{key}", value)
            out[key] = copy.deepcopy(value)
    return out


def _no_remove(where: str, value: Any) -> None:
    if value == REMOVE:
        raise _fail(where, f"{REMOVE} only deletes a key that the defaults have")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_remove(f"{where}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_remove(f"{where}[{i}]", v)


def load_scenarios(path: Path) -> list[tuple[str, Scenario, str | None]]:
    """The scenarios of one file as (test id, scenario, xfail reason)."""
    label = f"{path.parent.parent.name}/{path.stem}"
    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    with path.open(encoding="utf-8") as f:
        data = yaml.load(f, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    _keys(where, data, FILE_KEYS, FILE_KEYS)
    defaults = data["defaults"]
    if not isinstance(defaults, dict):
        raise _fail(f"{where}.defaults", "must be a mapping: a complete valid claim")
    _no_remove(f"{where}.defaults", defaults)
    scenarios = data["scenarios"]
    if not isinstance(scenarios, list) or not scenarios:
        raise _fail(f"{where}.scenarios", "must be a non-empty list")
    out = []
    names: set[str] = set()
    for i, sc in enumerate(scenarios):
        at = f"{where}.scenarios[{i}]"
        _keys(at, sc, SCENARIO_KEYS, {"name"})
        name = sc["name"]
        if not isinstance(name, str) or not name.strip() or name in names:
            raise _fail(f"{at}.name", f"must be a non-empty string, unique in the file: {name!r}")
        names.add(name)
        at = f"{where}::{name}"
        if ("output" in sc) == ("refusal" in sc):
            raise _fail(at, "needs exactly one of output and refusal")
        if "output" in sc:
            _check_output(f"{at}.output", sc["output"])
        else:
            _one_of(f"{at}.refusal", sc["refusal"], REFUSALS)
        xfail = sc.get("xfail")
        if "xfail" in sc and not (isinstance(xfail, str) and xfail.strip()):
            raise _fail(f"{at}.xfail", "must give the reason as a non-empty string")
        inp = sc.get("input", {})
        if not isinstance(inp, dict):
            raise _fail(f"{at}.input", "must be a mapping")
        claim = _merge(f"{at}.input", defaults, inp)
        scenario = Scenario(claim, sc.get("output"), sc.get("refusal"))
        out.append((f"{label}::{name}", scenario, xfail))
    return out


def _params() -> list[Any]:
    params = []
    for path in SCENARIO_FILES:
        for test_id, scenario, xfail in load_scenarios(path):
            marks = (
                [pytest.mark.xfail(reason=xfail, strict=True, raises=AssertionError)]
                if xfail
                else []
            )
            params.append(pytest.param(scenario, id=test_id, marks=marks))
    return params


# --- running them ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


def _compare(problems: list[str], what: str, expected: Any, got: Any) -> None:
    if isinstance(expected, str) and MONEY.fullmatch(expected) and isinstance(got, Decimal):
        same = Decimal(expected) == got
    else:
        same = expected == got and type(expected) is type(got)
    if not same:
        problems.append(f"{what}: expected {expected!r}, got {got!r}")


def _contains(problems: list[str], what: str, texts: list[str], explanation: str) -> None:
    for text in texts:
        if text not in explanation:
            problems.append(f"{what}: {text!r} not in {explanation!r}")


def check_decision(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Every difference between the listed expectations and the decision (contract shape)."""
    problems: list[str] = []
    for key in ("outcome", "eligible_total_eur", "claimed_total_eur", "simulation"):
        if key in expected:
            _compare(problems, key, expected[key], got[key])
    findings = {f["rule"]: f for f in got["findings"]}
    if "finding_rules" in expected:
        rules = [f["rule"] for f in got["findings"]]
        _compare(problems, "finding_rules", expected["finding_rules"], rules)
    for rule, effect in expected.get("findings", {}).items():
        if rule not in findings:
            problems.append(f"findings.{rule}: no such finding")
        else:
            _compare(problems, f"findings.{rule}", effect, findings[rule]["effect"])
    for rule, texts in expected.get("explanation_contains", {}).items():
        if rule in findings:
            _contains(problems, f"findings.{rule}", texts, findings[rule]["explanation"])
        else:
            problems.append(f"explanation_contains.{rule}: no such finding")
    for key, value in expected.get("ruleset", {}).items():
        _compare(problems, f"ruleset.{key}", value, got["ruleset"][key])
    for line in expected.get("lines", []):
        i = line["index"]
        if i >= len(got["lines"]):
            problems.append(f"lines[{i}]: the decision has {len(got['lines'])} lines")
            continue
        actual = got["lines"][i]
        for key, value in line.items():
            if key == "explanation_contains":
                _contains(problems, f"lines[{i}].explanation", value, actual["explanation"])
            elif key != "index":
                _compare(problems, f"lines[{i}].{key}", value, actual[key])
    return problems


@pytest.mark.parametrize("scenario", _params())
def test_scenario(scenario: Scenario, decider: Decider) -> None:
    if scenario.refusal is not None:
        try:
            decision = decider.decide(parse_claim(scenario.claim))
        except VangnetError as exc:
            assert getattr(exc, "code", None) == scenario.refusal, (
                f"refused with {getattr(exc, 'code', None)!r} ({exc}),"
                f" expected {scenario.refusal!r}"
            )
            return
        raise AssertionError(
            f"expected refusal {scenario.refusal!r}, got outcome {decision.outcome!r}"
        )
    assert scenario.output is not None
    try:
        decision = decider.decide(parse_claim(scenario.claim))
    except VangnetError as exc:
        details = "; ".join(f"{p.field}: {p.message}" for p in getattr(exc, "problems", []))
        raise AssertionError(
            f"refused ({getattr(exc, 'code', type(exc).__name__)}): {exc} {details}"
        ) from exc
    problems = check_decision(scenario.output, decision.as_dict())
    assert not problems, "\n".join(problems)


def test_every_scheme_has_scenarios() -> None:
    """Each ruleset folder has a tests folder with scenarios (so none is silently skipped)."""
    schemes = {p.parent.name for p in (ROOT / "rulesets").glob("*/*.yaml")}
    with_tests = {p.parent.parent.name for p in SCENARIO_FILES}
    assert schemes <= with_tests, f"no scenario files for {sorted(schemes - with_tests)}"


# --- the format itself: errors are errors, and differences are found ---------------------------

_OK = "defaults: {scheme: vangnet}\nscenarios:\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("defaults: {}\nscenarios: [{name: a, refusal: geen_regelset}]\nextra: 1", "unknown key"),
        ("scenarios: [{name: a, refusal: geen_regelset}]", "missing key"),
        (_OK + "  - {name: a, outptu: {outcome: toekennen}}", "unknown key"),
        (_OK + "  - {name: a, output: {outcome: toekenen}}", "not one of"),
        (_OK + "  - {name: a, output: {outcom: toekennen}}", "unknown key"),
        (_OK + "  - {name: a, output: {findings: {VN-ONEVENREDIG: voldaan2}}}", "not one of"),
        (_OK + "  - {name: a, output: {findings: {VN-ONEVEN: voldaan}}}", "unknown key"),
        (_OK + "  - {name: a, output: {explanation_contains: {VN-DREIGING: x}}}", "non-empty"),
        (_OK + "  - {name: a, output: {lines: [{status: vergoedbaar}]}}", "missing key"),
        (_OK + "  - {name: a, output: {lines: [{index: 0, rules: [VN-L-PRJS]}]}}", "not one of"),
        (_OK + "  - {name: a, output: {lines: [{index: 0, stauts: deels}]}}", "unknown key"),
        (_OK + "  - {name: a, output: {eligible_total_eur: 12.5}}", "money"),
        (_OK + "  - {name: a, output: {ruleset: {versoin: '2016.1'}}}", "unknown key"),
        (_OK + "  - {name: a, output: {}}", "checks nothing"),
        (_OK + "  - {name: a, input: {reference_date: 2016-02-09}}", "exactly one of"),
        (_OK + "  - {name: a, output: {simulation: true}, refusal: geen_regelset}", "exactly one"),
        (_OK + "  - {name: a, refusal: geen_regelst}", "not one of"),
        (_OK + "  - {name: a, refusal: geen_regelset, xfail: ''}", "reason"),
        (
            _OK + "  - {name: a, refusal: geen_regelset}\n  - {name: a, refusal: geen_regelset}",
            "unique",
        ),
        (_OK + "  - {name: a, input: {foo: $remove}, refusal: geen_regelset}", "remove"),
        (
            _OK + "  - name: a\n    refusal: geen_regelset\n    refusal: ongeldige_aanvraag",
            "duplicate",
        ),
    ],
)
def test_a_bad_scenario_file_is_an_error(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=error):
        load_scenarios(path)


def test_input_is_deep_merged_into_the_defaults() -> None:
    defaults = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 3, "f": {"g": 4}}
    merged = _merge("x", defaults, {"a": {"b": 9}, "d": [3], "e": REMOVE, "f": None, "h": 5})
    assert merged == {"a": {"b": 9, "c": 2}, "d": [3], "f": None, "h": 5}
    assert defaults == {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 3, "f": {"g": 4}}


def test_every_listed_difference_is_found() -> None:
    got = {
        "outcome": "toekennen",
        "eligible_total_eur": Decimal("1.00"),
        "claimed_total_eur": Decimal("1.00"),
        "simulation": False,
        "findings": [{"rule": "VN-DREIGING", "effect": "voldaan", "explanation": "abc"}],
        "ruleset": {"id": "vangnet", "version": "2016.1"},
        "lines": [
            {"index": 0, "status": "vergoedbaar", "eligible_eur": Decimal("1.00"),
             "rules": ["VN-L-CATEGORIE"], "explanation": "abc"},
        ],
    }  # fmt: skip
    same = {
        "outcome": "toekennen",
        "eligible_total_eur": "1.00",
        "simulation": False,
        "findings": {"VN-DREIGING": "voldaan"},
        "finding_rules": ["VN-DREIGING"],
        "explanation_contains": {"VN-DREIGING": ["b"]},
        "ruleset": {"version": "2016.1"},
        "lines": [{"index": 0, "eligible_eur": "1.00", "rules": ["VN-L-CATEGORIE"],
                   "explanation_contains": ["bc"]}],
    }  # fmt: skip
    assert check_decision(same, got) == []
    different = {
        "outcome": "afwijzen",
        "eligible_total_eur": "1.01",
        "claimed_total_eur": "0.99",
        "simulation": True,
        "findings": {"VN-DREIGING": "afwijzen", "VN-DOELGROEP": "voldaan"},
        "finding_rules": ["VN-DREIGING", "VN-DOELGROEP"],
        "explanation_contains": {"VN-DREIGING": ["x"]},
        "ruleset": {"version": "2018.1"},
        "lines": [
            {"index": 0, "status": "deels", "rules": ["VN-L-CATEGORIE", "VN-L-PRIJS"],
             "explanation_contains": ["y"]},
            {"index": 1, "status": "deels"},
        ],
    }  # fmt: skip
    assert len(check_decision(different, got)) == 13
