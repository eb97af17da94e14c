"""Ruleset loading, validation, hashing, the manifest, and the law-is-data guarantee."""

from __future__ import annotations

import ast
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from vangnet.exceptions import RulesetError
from vangnet.manifest import check_manifest, current_hashes, read_manifest
from vangnet.ruleset import LINE_CAP, compile_ruleset, load_ruleset, load_rulesets

VANGNET = ROOT / "rulesets" / "vangnet" / "2016-02-10.yaml"


def test_the_four_versions_load() -> None:
    rulesets = load_rulesets()
    assert {k: [v.version for v in vs] for k, vs in rulesets.items()} == {
        "basismaatregelen": ["2021.1"],
        "beveiligingsmaatregelen": ["2024.1"],
        "vangnet": ["2016.1"],
        "vangnet-herijking": ["2018.1"],
    }
    herijking = rulesets["vangnet-herijking"][0]
    assert herijking.spec.family == "vangnet" and herijking.spec.status == "simulatie"


def test_rule_ids_are_exactly_the_specs() -> None:
    rs = load_rulesets()
    ids = {k: [r.id for r in v[0].claim_rules] for k, v in rs.items()}
    assert ids["vangnet"] == ["VN-AANVRAGER", "VN-DOELGROEP", "VN-DREIGING", "VN-ONEVENREDIG"]
    assert ids["vangnet-herijking"] == ids["vangnet"]
    assert ids["basismaatregelen"] == ["BM-DOELGROEP", "BM-PKVW", "BM-PLAFOND"]
    assert ids["beveiligingsmaatregelen"] == ["BB-DOELGROEP", "BB-ADVIES", "BB-PKVW"]
    lines = {k: [r.id for r in v[0].line_rules] for k, v in rs.items()}
    assert lines["vangnet"] == [
        "VN-L-SPECIFICATIE", "VN-L-PKVW", "VN-L-CATEGORIE", "VN-L-ADVIES", "VN-L-TIJD",
        "VN-L-PRIJS", "VN-L-DUBBEL",
    ]  # fmt: skip
    assert lines["basismaatregelen"] == ["BM-L-PAKKET", "BM-L-DUBBEL"]
    assert lines["beveiligingsmaatregelen"] == ["BB-L-CATEGORIE", "BB-L-ADVIES", "BB-L-DUBBEL"]


def test_every_rule_and_parameter_is_labelled_and_sourced() -> None:
    for versions in load_rulesets().values():
        for rs in versions:
            for rule in (*rs.line_rules, *rs.claim_rules):
                assert rule.label and rule.source in rs.spec.sources
                assert all(c.explanation for c in rule.clauses)
            for p in rs.spec.parameters.values():
                assert p.label and p.source in rs.spec.sources and p.basis


def test_compiled_rules_use_cents_and_guards() -> None:
    rs = load_ruleset(VANGNET)
    compiled = compile_ruleset(rs)
    assert "$anker" in compiled
    burden = compiled["VN-ONEVENREDIG#7"]["all"][0]["m"]["$and"]
    assert {"$ex": {"e_eur": 1}} in burden and {"$ex": {"inhabitants": 1}} in burden
    assert {"$gte": {"e_eur": {"$mul": {"$l": {"$m": "inhabitants"}, "$r": 100}}}} in burden
    assert compiled["VN-L-PRIJS#0"]["cap"] == LINE_CAP
    assert "cap" not in compiled["VN-ONEVENREDIG#7"]
    assert rs.params["drempel_per_inwoner_eur"] == Decimal("1.00")


# --- one bad file per error --------------------------------------------------------------------


def _bad(tmp_path: Path, old: str, new: str) -> Path:
    text = VANGNET.read_text()
    assert old in text, old
    path = tmp_path / "2016-02-10.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("{field: category, is: politie}", "{field: categorie, is: politie}",
         "regel VN-L-CATEGORIE: onbekend veld 'categorie'"),
        ("{field: role, in: {param: doelgroep}}", "{field: role, in: {param: rollen}}",
         "regel VN-DOELGROEP: onbekende parameter 'rollen'"),
        ("  - id: VN-L-DUBBEL\n    label: Al vergoed uit een andere regeling\n    source: vangnet-beleid",
         "  - id: VN-L-DUBBEL\n    label: Al vergoed uit een andere regeling\n    source: nergens",
         "regel VN-L-DUBBEL: onbekende bron 'nergens'"),
        ("  - id: VN-L-DUBBEL", "  - id: VN-L-PRIJS", "regel VN-L-PRIJS: de regel-id komt twee keer voor"),
        ("    label: De ambtsdrager hoort bij de doelgroep\n", "",
         "regel VN-DOELGROEP: label: Field required"),
        ("effect: afwijzen\n        explanation: >-\n          De ambtsdrager is {rol}. Het vangnet geldt alleen",
         "effect: afwijzen\n        explanation: >-\n          De ambtsdrager is {functie}. Het vangnet geldt alleen",
         "regel VN-DOELGROEP: clausule 1: onbekende waarde {functie}"),
        ("      - effect: afwijzen\n        explanation: >-\n          De aanvraag komt",
         "      - effect: afwijzen\n        when: [{field: role, is: raadslid}]\n        explanation: >-\n          De aanvraag komt",
         "regel VN-AANVRAGER: de laatste clausule is zonder voorwaarde"),
        ('value: "0.25"', "value: 0.25", "floats are not allowed"),
        ("{field: threat_status, is: expliciet}", "{field: threat_status, is: 3}",
         "regel VN-DREIGING: waarde 3 past niet bij veld threat_status"),
        ("{field: e_eur, is: 0}", "{field: e_eur, equals: 0}", "regel VN-ONEVENREDIG: een voorwaarde is"),
        ("amount: subtract_already_reimbursed", "amount: halveer",
         "regel VN-L-DUBBEL: clausule 0: bedrag 'halveer'"),
        ("status: interpretatie", "status: concept", "status"),
        ("title: Financieel Vangnet", "titel: Financieel Vangnet", "titel"),
    ],
)  # fmt: skip
def test_bad_ruleset_files_name_file_and_rule(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _bad(tmp_path, old, new)
    with pytest.raises(RulesetError) as err:
        load_ruleset(path)
    assert str(err.value).startswith("2016-02-10.yaml")
    assert expected in str(err.value)


def test_file_name_must_be_the_valid_from_date(tmp_path: Path) -> None:
    path = tmp_path / "2016-02-11.yaml"
    shutil.copy(VANGNET, path)
    with pytest.raises(RulesetError, match=r"de bestandsnaam moet 2016-02-10\.yaml zijn"):
        load_ruleset(path)


def test_overlapping_versions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "vangnet").mkdir()
    shutil.copy(VANGNET, tmp_path / "vangnet" / "2016-02-10.yaml")
    text = VANGNET.read_text().replace("valid_from: 2016-02-10", "valid_from: 2017-01-01")
    text = text.replace('version: "2016.1"', 'version: "2017.1"')
    (tmp_path / "vangnet" / "2017-01-01.yaml").write_text(text)
    with pytest.raises(RulesetError, match=r"overlapt met 2016\.1"):
        load_rulesets(tmp_path)
    # closing the first version the day before makes them follow each other
    first = tmp_path / "vangnet" / "2016-02-10.yaml"
    first.write_text(first.read_text().replace("valid_to: null", "valid_to: 2016-12-31"))
    assert [v.version for v in load_rulesets(tmp_path)["vangnet"]] == ["2016.1", "2017.1"]


def test_hash_ignores_comments_but_not_content(tmp_path: Path) -> None:
    original = load_ruleset(VANGNET).sha256
    path = tmp_path / "2016-02-10.yaml"
    path.write_text("# a new comment\n" + VANGNET.read_text())
    assert load_ruleset(path).sha256 == original
    path.write_text(VANGNET.read_text().replace('value: "1.00"', 'value: "1.01"'))
    assert load_ruleset(path).sha256 != original


# --- the manifest ------------------------------------------------------------------------------


def test_every_published_version_is_pinned_and_unchanged() -> None:
    assert check_manifest() == []
    assert set(read_manifest()) == set(current_hashes())


def test_a_changed_published_file_fails_the_manifest(tmp_path: Path) -> None:
    for sub in ("rulesets", "calculators"):
        shutil.copytree(ROOT / sub, tmp_path / sub, ignore=shutil.ignore_patterns("tests"))
    path = tmp_path / "rulesets" / "vangnet" / "2016-02-10.yaml"
    path.write_text(path.read_text().replace('value: "0.25"', 'value: "0.30"'))
    problems = check_manifest(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("rulesets/vangnet/2016-02-10.yaml: de inhoud is veranderd")
    csv = tmp_path / "calculators" / "catalogue" / "2016-02-10.csv"
    csv.write_text(csv.read_text().replace("ALARM_PAC,Inbraakalarm", "ALARM_PAC,Alarm"))
    assert any(
        p.startswith("calculators/catalogue/2016-02-10.yaml") for p in check_manifest(tmp_path)
    )


# --- the law is data: no scheme name, rule id or law number in a Python branch ------------------


def _python_sources() -> list[Path]:
    return sorted((ROOT / "vangnet").rglob("*.py"))


def test_no_rule_id_anywhere_in_python() -> None:
    rule_ids = {r for vs in load_rulesets().values() for rs in vs for r in rs.rules_by_id}
    for path in _python_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                hits = [r for r in rule_ids if r in node.value]
                assert not hits, f"{path.name}:{node.lineno} names rule {hits}"


def test_no_scheme_name_or_law_number_in_a_python_branch() -> None:
    rulesets = load_rulesets()
    schemes = set(rulesets)
    numbers = set()
    for vs in rulesets.values():
        for rs in vs:
            for v in rs.params.values():
                if (
                    isinstance(v, int | Decimal)
                    and not isinstance(v, bool)
                    and v not in (0, 1, 100)
                ):
                    numbers.add(Decimal(v))
    assert Decimal(2400) in numbers and Decimal(40000) in numbers and Decimal("0.25") in numbers
    for path in _python_sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            tests: list[ast.AST] = []
            if isinstance(node, ast.Compare):
                tests = [node.left, *node.comparators]
            elif isinstance(node, ast.If | ast.IfExp | ast.While):
                tests = [node.test]
            elif isinstance(node, ast.match_case):
                tests = [node.pattern]
            for t in tests:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Constant):
                        assert sub.value not in schemes, f"{path.name}:{sub.lineno} tests a scheme"
            is_number = isinstance(node, ast.Constant) and isinstance(node.value, int | float)
            if is_number and not isinstance(node.value, bool):
                assert Decimal(str(node.value)) not in numbers, (
                    f"{path.name}:{node.lineno}: law number {node.value} in Python"
                )


# --- closures recorded in the manifest, and files the loader must refuse (not crash on) ----------


def _tree_with_closure(tmp_path: Path, closure: object) -> Path:
    target = tmp_path / "rulesets"
    shutil.copytree(ROOT / "rulesets", target, ignore=shutil.ignore_patterns("tests"))
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["closed"] = {"rulesets/vangnet/2016-02-10.yaml": closure}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return target


def test_a_closure_in_the_manifest_is_the_effective_end_date(tmp_path: Path) -> None:
    plain = load_rulesets()["vangnet"][0]
    tree = _tree_with_closure(tmp_path, {"valid_to": "2029-12-31", "by": "vangnet@2030.1"})
    closed = load_rulesets(tree)["vangnet"][0]
    assert (closed.valid_to, closed.spec.valid_to) == (date(2029, 12, 31), None)
    assert closed.sha256 == plain.sha256 and closed.closure is not None
    assert load_ruleset(tree / "vangnet/2016-02-10.yaml").valid_to is None  # the file alone


@pytest.mark.parametrize(
    ("closure", "message"),
    [
        ({"valid_to": "2010-01-01", "by": "x@1"}, "voor het begin van de versie"),
        ({"valid_to": "2029-13-01", "by": "x@1"}, "is geen datum"),
        ({"valid_to": "2029-12-31"}, "verwacht"),
    ],
)
def test_a_bad_closure_is_refused(tmp_path: Path, closure: object, message: str) -> None:
    with pytest.raises(RulesetError, match=message):
        load_rulesets(_tree_with_closure(tmp_path, closure))


def test_a_file_end_date_that_contradicts_its_closure_is_refused(tmp_path: Path) -> None:
    tree = _tree_with_closure(tmp_path, {"valid_to": "2029-12-31", "by": "vangnet@2030.1"})
    path = tree / "vangnet/2016-02-10.yaml"
    text = path.read_text()
    assert "valid_to: null" in text
    path.write_text(text.replace("valid_to: null", "valid_to: 2028-12-31"))
    with pytest.raises(
        RulesetError, match=r"2016-02-10\.yaml: het bestand zegt valid_to 2028-12-31"
    ):
        load_rulesets(tree)
    path.write_text(text.replace("valid_to: null", "valid_to: 2029-12-31"))
    assert load_rulesets(tree)["vangnet"][0].valid_to == date(2029, 12, 31)  # agreeing is fine


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id: vangnet\n\xff\xfe: x\n", "is geen tekst in UTF-8"),
        ("id: vangnet\nsleutel_\u00e9: 1\n".encode(), "sleutels in ASCII"),
        (b"id: vangnet\nfamily: 9007199254740993\n", "grote getallen als tekst"),
        (b"id: vangnet\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n", "2016-02-10.yaml"),
    ],
)
def test_files_that_used_to_crash_the_loader_are_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "2016-02-10.yaml"
    path.write_bytes(content)
    with pytest.raises(RulesetError, match=message):
        load_ruleset(path)


@given(st.binary(max_size=300))
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_bytes_are_loaded_or_refused_in_words(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "2016-02-10.yaml"
    path.write_bytes(content)
    with pytest.raises(RulesetError, match=r"^2016-02-10\.yaml"):
        load_ruleset(path)


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), _yaml_values, max_size=5))
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_yaml_mapping_is_refused_in_words(tmp_path: Path, data: dict[str, object]) -> None:
    import yaml

    path = tmp_path / "2016-02-10.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"^2016-02-10\.yaml"):
        load_ruleset(path)
