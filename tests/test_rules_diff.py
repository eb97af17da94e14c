"""Diffs of ruleset versions: exactly the known differences, nothing for a version against
itself, exactly the edit on an edited copy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from vangnet.exceptions import NoRulesetError
from vangnet.rules_diff import RulesetDiff, diff_rulesets, diff_versions, find_version
from vangnet.ruleset import Ruleset, load_ruleset, load_rulesets

VANGNET = ROOT / "rulesets" / "vangnet" / "2016-02-10.yaml"


@pytest.fixture(scope="module")
def rulesets() -> dict[str, tuple[Ruleset, ...]]:
    return load_rulesets()


@pytest.fixture(scope="module")
def vangnet(rulesets: dict[str, tuple[Ruleset, ...]]) -> Ruleset:
    return rulesets["vangnet"][0]


def _summary(d: RulesetDiff) -> list[str]:
    """Every difference as one short line: what, which, how."""
    out = [f"metadata {c.field}" for c in d.metadata]
    for title, items in (("source", d.sources), ("parameter", d.parameters), ("value", d.values)):
        for item in items:
            fields = "".join(f" {c.field}" for c in item.changes)
            out.append(f"{title} {item.name} {item.kind}{fields}")
    for r in d.rules:
        out.append(f"rule {r.id} {r.kind}" + "".join(f" {c.field}" for c in r.changes))
        if r.kind != "changed":
            continue
        for c in r.clauses:
            fields = "".join(f" {f.field}" for f in c.changes)
            out.append(f"clause {r.id} {c.kind} {c.old_index}->{c.new_index}{fields}")
    out += [f"order {o.level}" for o in d.order]
    return out


# --- the known differences ----------------------------------------------------------------------


def test_herijking_against_vangnet_lists_exactly_the_known_differences(
    rulesets: dict[str, tuple[Ruleset, ...]],
) -> None:
    d = diff_versions("vangnet@2016.1", "vangnet-herijking@2018.1", rulesets)
    assert _summary(d) == [
        "metadata id",
        "metadata version",
        "metadata title",
        "metadata status",
        "source herijking-2018 added",
        "parameter grens_kleine_gemeente_inwoners added",
        "rule VN-DREIGING changed label",
        "clause VN-DREIGING changed 0->0 when explanation",
        "clause VN-DREIGING changed 1->1 when explanation",
        "rule VN-ONEVENREDIG changed",
        "clause VN-ONEVENREDIG added None->3",
    ]
    # rule by rule: only the two changed rules are reported, and no rule is added or removed
    old, new = rulesets["vangnet"][0], rulesets["vangnet-herijking"][0]
    assert list(old.rules_by_id) == list(new.rules_by_id)
    for rule_id in old.rules_by_id:
        reported = d.rule(rule_id)
        assert (reported is not None) == (rule_id in {"VN-DREIGING", "VN-ONEVENREDIG"}), rule_id
    meta = {c.field: (c.old, c.new) for c in d.metadata}
    assert meta["id"] == ("vangnet", "vangnet-herijking")
    assert meta["status"] == ("interpretatie", "simulatie")
    parameter = d.parameters[0]
    assert (parameter.old_value, parameter.new_value) == (None, "40.000")
    dreiging = d.rule("VN-DREIGING")
    assert dreiging is not None
    when = dreiging.clauses[0].changes[0]
    assert when.old_text == (
        "threat_status = expliciet en threat_assessed_by is een van: politie, om, nctv, adviseur_bb"
    )
    assert when.new_text == (
        "threat_status is een van: expliciet, impliciet, voorstelbaar en threat_assessed_by is"
        " een van: politie, om, nctv, adviseur_bb"
    )
    assert when.old == [
        {"field": "threat_status", "is": "expliciet"},
        {"field": "threat_assessed_by", "in": {"param": "erkende_dreigingsbeoordelaars"}},
    ]
    onevenredig = d.rule("VN-ONEVENREDIG")
    assert onevenredig is not None
    assert onevenredig.clauses[0].new_text is not None
    assert onevenredig.clauses[0].new_text.startswith(
        "als inhabitants < grens_kleine_gemeente_inwoners (40.000): effect voldaan"
    )


def test_the_text_of_the_known_differences(rulesets: dict[str, tuple[Ruleset, ...]]) -> None:
    text = diff_versions("vangnet@2016.1", "vangnet-herijking@2018.1", rulesets).text()
    assert text.startswith(
        "Verschillen van vangnet@2016.1 naar vangnet-herijking@2018.1\n"
        "  oud:   vangnet@2016.1 (sha256 679aa161d920344bd4ee62958c20f8363a7e1c507f72d2e46cf7c18dd3002479)\n"
        "  nieuw: vangnet-herijking@2018.1 (sha256 2288e2532b018eb38bee427f895fbd231ade1d9ff6e943a0318336313efb6c5c)\n"
        "\n"
        "Gegevens van de regelset:\n"
        "  regeling:\n"
        "    oud:   vangnet\n"
        "    nieuw: vangnet-herijking\n"
    )
    for line in [
        "Bronnen:\n  nieuw: herijking-2018: Onderzoek 2018, aanbeveling de criteria te herijken"
        " (simulatie van dit project, geen regelgeving)\n",
        "Parameters:\n  nieuw: grens_kleine_gemeente_inwoners = 40.000: onder dit aantal inwoners"
        " is een gemeente klein [beleidskeuze; bron: Onderzoek 2018,",
        "Regels:\n  gewijzigd: VN-DREIGING (per aanvraag)\n    omschrijving:\n"
        "      oud:   Een acute, expliciete dreiging, vastgesteld binnen het stelsel\n"
        "      nieuw: Een dreiging, vastgesteld binnen het stelsel\n"
        "    gewijzigde clausule VN-DREIGING#0:\n      voorwaarde:\n",
        "    gewijzigde clausule VN-DREIGING#1:\n      voorwaarde:\n"
        "        oud:   threat_status is een van: impliciet, voorstelbaar, geen\n"
        "        nieuw: threat_status = geen\n",
        "  gewijzigd: VN-ONEVENREDIG (per aanvraag)\n    nieuwe clausule VN-ONEVENREDIG#3:\n"
        "      als inhabitants < grens_kleine_gemeente_inwoners (40.000): effect voldaan\n"
        "        uitleg: De kosten zijn {E}. De gemeente heeft {inwoners} inwoners,",
    ]:
        assert line in text
    assert "VN-L-" not in text and "VN-AANVRAGER" not in text and "VN-DOELGROEP" not in text


def test_the_diff_as_json(rulesets: dict[str, tuple[Ruleset, ...]]) -> None:
    data = diff_versions("vangnet@2016.1", "vangnet-herijking@2018.1", rulesets).as_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON: no dates, decimals or tuples
    assert data["old"]["key"] == "vangnet@2016.1" and data["empty"] is False
    assert [r["id"] for r in data["rules"]] == ["VN-DREIGING", "VN-ONEVENREDIG"]
    assert data["parameters"][0] == {
        "name": "grens_kleine_gemeente_inwoners",
        "kind": "added",
        "changes": [],
        "old_value": None,
        "new_value": "40.000",
        "old_text": None,
        "new_text": "grens_kleine_gemeente_inwoners = 40.000: onder dit aantal inwoners is een"
        " gemeente klein [beleidskeuze; bron: Onderzoek 2018, aanbeveling de criteria te herijken"
        " (simulatie van dit project, geen regelgeving)]",
    }


def test_a_version_against_itself_is_empty(rulesets: dict[str, tuple[Ruleset, ...]]) -> None:
    for versions in rulesets.values():
        for rs in versions:
            d = diff_rulesets(rs, rs)
            assert d.is_empty and _summary(d) == []
            assert d.text().endswith(
                "\nGeen verschillen: de regels, parameters en gegevens zijn gelijk.\n"
            )
            assert d.as_dict()["empty"] is True


def test_across_schemes_every_rule_is_added_or_removed(
    rulesets: dict[str, tuple[Ruleset, ...]],
) -> None:
    d = diff_versions("vangnet", "basismaatregelen", rulesets)
    old, new = rulesets["vangnet"][0], rulesets["basismaatregelen"][0]
    assert [(r.id, r.kind) for r in d.rules] == [
        *((i, "removed") for i in old.rules_by_id),
        *((i, "added") for i in new.rules_by_id),
    ]
    assert {c.field for c in d.metadata} >= {"family", "valid_to", "deciding_body", "status"}
    doelgroep = next(p for p in d.parameters if p.name == "doelgroep")
    assert doelgroep.kind == "changed"
    assert doelgroep.old_value == "burgemeester, wethouder, raadslid"


# --- exactly the edit --------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(
        r for r in [*data["line_rules"], *data["claim_rules"]] if r["id"] == rule_id
    )
    return rule


def _swap_line_rules(data: dict[str, Any]) -> None:
    rules = data["line_rules"]
    ids = [r["id"] for r in rules]
    a, b = ids.index("VN-L-ADVIES"), ids.index("VN-L-TIJD")
    rules[a], rules[b] = rules[b], rules[a]


def _insert_clause(data: dict[str, Any]) -> None:
    clauses = _rule(data, "VN-L-CATEGORIE")["clauses"]
    when = [{"field": "category", "is": "vergadering"}]
    text = "Een vergadering weegt een beoordelaar."
    clauses.insert(2, {"when": when, "status": "te_beoordelen", "explanation": text})


def _new_rule(data: dict[str, Any]) -> None:
    clause = {"effect": "info", "explanation": "Alleen ter informatie."}
    rule = {"id": "VN-PROEF", "label": "Proef", "source": "vangnet-beleid", "clauses": [clause]}
    data["claim_rules"].append(rule)


EDITS: list[tuple[str, Edit, list[str]]] = [
    ("layout and comments only", lambda d: None, []),
    ("a parameter's value",
     lambda d: d["parameters"]["prijstolerantie"].update(value="0.30"),
     ["parameter prijstolerantie changed value"]),
    ("a parameter's basis and source",
     lambda d: d["parameters"]["doelgroep"].update(basis="interpretatie", source="vangnet-beleid"),
     ["parameter doelgroep changed basis source"]),
    ("a new parameter",
     lambda d: d["parameters"].update(proef={"value": 3, "unit": "aantal", "label": "proef",
                                             "basis": "beleidskeuze", "source": "vangnet-beleid"}),
     ["parameter proef added"]),
    ("a clause's explanation",
     lambda d: _rule(d, "VN-L-ADVIES")["clauses"][0].update(explanation="Niet geadviseerd."),
     ["rule VN-L-ADVIES changed", "clause VN-L-ADVIES changed 0->0 explanation"]),
    ("a clause's effect",
     lambda d: _rule(d, "VN-AANVRAGER")["clauses"][1].update(effect="nader_onderzoek"),
     ["rule VN-AANVRAGER changed", "clause VN-AANVRAGER changed 1->1 effect"]),
    ("a clause's condition",
     lambda d: _rule(d, "VN-DOELGROEP")["clauses"][0].update(
         when=[{"field": "role", "in": ["burgemeester", "wethouder"]}]),
     ["rule VN-DOELGROEP changed", "clause VN-DOELGROEP changed 0->0 when"]),
    ("a price tolerance step",
     lambda d: _rule(d, "VN-L-PRIJS")["clauses"][0].update(tolerance="0.10"),
     ["rule VN-L-PRIJS changed", "clause VN-L-PRIJS changed 0->0 tolerance"]),
    ("a clause inserted in the middle", _insert_clause,
     ["rule VN-L-CATEGORIE changed", "clause VN-L-CATEGORIE added None->2"]),
    ("a clause removed",
     lambda d: _rule(d, "VN-ONEVENREDIG")["clauses"].pop(4),
     ["rule VN-ONEVENREDIG changed", "clause VN-ONEVENREDIG removed 4->None"]),
    ("a rule's label and basis",
     lambda d: _rule(d, "VN-L-TIJD").update(label="Na de dreiging", basis="wet"),
     ["rule VN-L-TIJD changed label basis"]),
    ("a rule's source",
     lambda d: _rule(d, "VN-L-TIJD").update(source="vangnet-beleid"),
     ["rule VN-L-TIJD changed source"]),
    ("a rule removed",
     lambda d: d.update(line_rules=[r for r in d["line_rules"] if r["id"] != "VN-L-DUBBEL"]),
     ["rule VN-L-DUBBEL removed"]),
    ("a rule added", _new_rule, ["rule VN-PROEF added"]),
    ("two rules swapped", _swap_line_rules, ["order line"]),
    ("the end of validity", lambda d: d.update(valid_to="2020-12-31"), ["metadata valid_to"]),
    ("the deciding body", lambda d: d.update(deciding_body="werkgever"), ["metadata deciding_body"]),
    ("a source's address",
     lambda d: d["sources"]["kamerbrief-2016"].update(url="https://example.org/kamerbrief"),
     ["source kamerbrief-2016 changed url"]),
    ("a source removed",
     lambda d: d["sources"].pop("onderzoek-2018") and [
         r.update(source="vangnet-beleid") for r in d["line_rules"] + d["claim_rules"]
         if r["source"] == "onderzoek-2018"],
     ["source onderzoek-2018 removed", "rule VN-L-PKVW changed source",
      "rule VN-L-ADVIES changed source", "rule VN-ONEVENREDIG changed source"]),
    ("a display value's format",
     lambda d: d["values"]["drempel_bedrag"].update(format="eur_down"),
     ["value drempel_bedrag changed format"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edit", "expected"), EDITS, ids=[e[0] for e in EDITS])
def test_a_diff_of_an_edited_copy_finds_exactly_the_edit(
    tmp_path: Path, vangnet: Ruleset, name: str, edit: Edit, expected: list[str]
) -> None:
    data = yaml.safe_load(VANGNET.read_text())
    edit(data)
    path = tmp_path / "2016-02-10.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    d = diff_rulesets(vangnet, load_ruleset(path))
    assert _summary(d) == expected
    assert d.is_empty == (not expected)


def test_a_parameter_change_shows_old_and_new_value_in_dutch(
    tmp_path: Path, vangnet: Ruleset
) -> None:
    path = tmp_path / "2016-02-10.yaml"
    path.write_text(VANGNET.read_text().replace('value: "0.25"', 'value: "0.30"'))
    (change,) = diff_rulesets(vangnet, load_ruleset(path)).parameters
    assert (change.old_value, change.new_value) == ("0,25 (25%)", "0,30 (30%)")
    (value,) = change.changes
    assert (value.field, value.old, value.new) == ("value", "0.25", "0.30")
    assert (value.old_text, value.new_text) == ("0,25 (25%)", "0,30 (30%)")
    assert "  gewijzigd: prijstolerantie\n    waarde:\n      oud:   0,25 (25%)\n" in (
        diff_rulesets(vangnet, load_ruleset(path)).text()
    )


def test_a_copied_file_is_the_same_version(tmp_path: Path, vangnet: Ruleset) -> None:
    shutil.copy(VANGNET, tmp_path / "2016-02-10.yaml")
    assert diff_rulesets(vangnet, load_ruleset(tmp_path / "2016-02-10.yaml")).is_empty


# --- naming versions ---------------------------------------------------------------------------


def test_versions_are_named_scheme_at_version(rulesets: dict[str, tuple[Ruleset, ...]]) -> None:
    assert find_version(rulesets, "vangnet@2016.1").key == "vangnet@2016.1"
    assert find_version(rulesets, "vangnet-herijking").key == "vangnet-herijking@2018.1"
    with pytest.raises(NoRulesetError, match=r"De regeling vangnet heeft geen versie 2017\.1"):
        find_version(rulesets, "vangnet@2017.1")
    with pytest.raises(NoRulesetError, match=r"Onbekende regeling 'vangnt'.*vangnet@2016\.1"):
        find_version(rulesets, "vangnt@2016.1")
