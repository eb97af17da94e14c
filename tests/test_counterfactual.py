"""Counterfactuals: on the public scenarios, by bisection to the cent, under the version that
decided, and as a property: every counterfactual, applied to its claim, gives a better outcome
and touches only a fact the data lists."""

from __future__ import annotations

import json
import re
import shutil
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.conftest import PUBLIC_SCENARIOS, ROOT
from vangnet.claim import Claim, parse_claim
from vangnet.counterfactual import (
    NEVER_CHANGED,
    ChangeableFacts,
    ChangedField,
    Counterfactual,
    apply_change,
    counterfactuals,
    load_changeable_facts,
)
from vangnet.decision import Decision
from vangnet.evaluate import Decider
from vangnet.exceptions import DataError
from vangnet.ruleset import load_rulesets

DATA = ROOT / "calculators" / "counterfactuals"
ORDER = ["afwijzen", "nader_onderzoek", "gedeeltelijk", "toekennen"]


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


@pytest.fixture(scope="module")
def facts() -> ChangeableFacts:
    (version,) = load_changeable_facts()
    return version


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PUBLIC_SCENARIOS / f"{name}.claim.json").read_text())
    return data


def _rank(d: Decision) -> tuple[int, Decimal]:
    return ORDER.index(d.outcome), d.eligible_total_eur


def _apply(claim: Claim, fields: tuple[ChangedField, ...]) -> Claim:
    """The claim with the counterfactual's fields set (independently of the module's own
    path code): `a.b`, `measures[2].c`."""
    data = claim.model_dump()
    for f in fields:
        parts = re.findall(r"[^.\[\]]+", f.path)
        node: Any = data
        for part in parts[:-1]:
            if part.isdigit():
                node = node[int(part)]
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        node[parts[-1]] = f.new_value
    return parse_claim(data)


def _decide_like(decider: Decider, claim: Claim, decision: Decision) -> Decision:
    ref = decision.ruleset
    return decider.decide(claim, ref.id, ref.version, force=decision.forced)


# --- the public scenarios ----------------------------------------------------------------------

# (change, path, new outcome, new total) per scenario; the reasons for the empty ones:
# P01 is granted; P02 and P06 lose only what the rules keep for the office-holder (PKVW level);
# P03 and P04 have an implicit threat assessed by a recognised assessor, a fact no document
# changes; P09 is capped and names a measure outside the package; P10's role is outside the
# target group; P12 (simulation) has two reductions at once, no single change lifts them.
PUBLIC: dict[str, list[tuple[str, str, str, str]]] = {
    "P01": [],
    "P02": [],
    "P03": [],
    "P04": [],
    "P05": [("gemotiveerde-aanleiding", "triggers", "gedeeltelijk", "20348.00")],
    "P06": [],
    "P07": [("maatregel-geadviseerd", "measures[1].advised", "toekennen", "164160.00")],
    "P08": [("erkende-dreigingsinschatting", "threat", "toekennen", "4800.00")],
    "P09": [],
    "P10": [],
    "P11": [("maatregel-geadviseerd", "measures[3].advised", "gedeeltelijk", "35500.00")],
    "P12": [],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_scenarios(decider: Decider, name: str) -> None:
    claim = decider.validate(_raw(name))
    decision = decider.decide(claim)
    found = counterfactuals(decider, claim, limit=None)
    assert [(c.change, c.path, c.outcome, str(c.eligible_total_eur)) for c in found] == PUBLIC[name]
    assert counterfactuals(decider, claim, decision) == found  # the same with its decision given
    for cf in found:
        assert (cf.old_outcome, cf.old_eligible_total_eur) == (
            decision.outcome,
            decision.eligible_total_eur,
        )


def test_p08_an_unknown_threat_needs_a_recognised_assessment(decider: Decider) -> None:
    claim = decider.validate(_raw("P08"))
    (cf,) = counterfactuals(decider, claim)
    assert cf.kind == "categorical"
    assert cf.old_value == {"status": "onbekend", "assessed_by": "geen"}
    assert cf.new_value == {"status": "expliciet", "assessed_by": "politie"}
    assert cf.fields == (
        ChangedField("threat.status", "onbekend", "expliciet"),
        ChangedField("threat.assessed_by", "geen", "politie"),
    )
    assert cf.description == (
        "Als de politie, het OM, de NCTV of de adviseur bewaken en beveiligen een expliciete"
        " dreiging vaststelt, dan is de uitkomst toekennen met € 4.800,00 te vergoeden (nu:"
        " nader onderzoek, € 4.800,00)."
    )
    assert cf.source.startswith("Circulaire bewaking en beveiliging")
    data = cf.as_dict()
    assert data["eligible_total_eur"] == Decimal("4800.00") and data["outcome"] == "toekennen"
    assert data["fields"][0] == {
        "path": "threat.status",
        "old_value": "onbekend",
        "new_value": "expliciet",
    }


def test_p05_a_motivated_trigger_is_better_than_a_trigger_alone(decider: Decider) -> None:
    claim = decider.validate(_raw("P05"))
    (cf,) = counterfactuals(decider, claim)
    # a trigger without a motivation would give nader_onderzoek; the motivated one more
    assert cf.new_value == {
        "political_discussion": True,
        "motivation": "(de motivering van de gemeente)",
    }
    assert cf.description.startswith(
        "Als de gemeente aangeeft en motiveert dat de kosten anders in de openbare vergadering"
        " besproken moeten worden, dan is de uitkomst gedeeltelijk toekennen met € 20.348,00"
    )


def test_a_granted_claim_has_none_and_limit_cuts(decider: Decider) -> None:
    claim = decider.validate(_raw("P01"))
    assert counterfactuals(decider, claim) == []
    raw = _raw("P07")
    raw["measures"] += [dict(raw["measures"][1], description=f"nog {i}") for i in range(3)]
    claim = decider.validate(raw)
    every = counterfactuals(decider, claim, limit=None)
    assert [c.path for c in every] == [f"measures[{i}].advised" for i in (1, 2, 3, 4)]
    assert counterfactuals(decider, claim, limit=2) == every[:2]


# --- numeric: bisection to the cent ------------------------------------------------------------


def _one_price_above_the_cap(decider: Decider) -> Claim:
    """P06 without its door: the camera's price above the cap is the only reduction left."""
    raw = _raw("P06")
    del raw["measures"][4]
    return decider.validate(raw)


def test_a_price_down_to_the_cap(decider: Decider) -> None:
    claim = _one_price_above_the_cap(decider)
    assert decider.decide(claim).outcome == "gedeeltelijk"
    (cf,) = counterfactuals(decider, claim)
    assert (cf.change, cf.kind, cf.path) == (
        "prijs-tot-referentie",
        "numeric",
        "measures[2].unit_price_eur",
    )
    # CAMERA_SET_4: reference € 2.400,00 × (1 + 0,25) = € 3.000,00
    assert (cf.old_value, cf.new_value) == (Decimal("4000.00"), Decimal("3000.00"))
    assert (cf.outcome, cf.eligible_total_eur) == ("toekennen", Decimal("14550.00"))
    assert cf.description == (
        "Als de prijs per eenheid van maatregel 3 (CAMERA_SET_4) ten hoogste € 3.000,00 is in"
        " plaats van € 4.000,00, dan is de uitkomst toekennen met € 14.550,00 te vergoeden (nu:"
        " gedeeltelijk toekennen, € 14.550,00)."
    )
    _assert_minimal(decider, claim, decider.decide(claim), cf)


def test_bisection_finds_the_rounding_edge_above_the_cap(decider: Decider) -> None:
    """0,3 × price: up to € 31,28 the line rounds to the capped € 9,38 (0,3 × € 31,25)."""
    raw = _raw("P01")
    raw["measures"] = [
        {"code": "PAC_ABONNEMENT", "description": "Meldkamer", "quantity": "0.3",
         "unit_price_eur": 40, "advised": True},
        {"code": "ALARM_PAC", "description": "Alarm", "quantity": 1, "unit_price_eur": 2600,
         "advised": True},
    ]  # fmt: skip
    claim = decider.validate(raw)
    decision = decider.decide(claim)
    assert decision.outcome == "gedeeltelijk"
    (cf,) = counterfactuals(decider, claim, decision)
    assert cf.new_value == Decimal("31.28") and cf.outcome == "toekennen"
    _assert_minimal(decider, claim, decision, cf)


def _assert_minimal(decider: Decider, claim: Claim, decision: Decision, cf: Counterfactual) -> None:
    """The value flips; one cent less of a change (towards the claim's value) does not."""
    (field,) = cf.fields
    at = _decide_like(decider, _apply(claim, cf.fields), decision)
    assert _rank(at) > _rank(decision)
    step = Decimal("0.01") if cf.new_value < cf.old_value else Decimal("-0.01")
    nearer = (ChangedField(field.path, field.old_value, field.new_value + step),)
    assert _rank(_decide_like(decider, _apply(claim, nearer), decision)) <= _rank(decision)


# --- the version that decided ------------------------------------------------------------------


def test_the_smallest_change_under_the_version_that_decided(decider: Decider) -> None:
    raw = _raw("P04")
    raw["threat"]["assessed_by"] = "gemeente"  # an implicit threat, not assessed in the stelsel
    claim = decider.validate(raw)
    # the vangnet acts on explicit threats only: the assessment must find an explicit one
    (cf,) = counterfactuals(decider, claim)
    assert cf.new_value == {"status": "expliciet", "assessed_by": "politie"}
    assert (cf.old_outcome, cf.outcome) == ("afwijzen", "gedeeltelijk")
    # the recalibration acts on implicit threats too: a recognised assessor is enough
    decision = decider.decide(claim, "vangnet-herijking")
    (cf,) = counterfactuals(decider, claim, decision)
    assert (cf.old_value, cf.new_value) == ({"assessed_by": "gemeente"}, {"assessed_by": "politie"})
    assert (cf.old_outcome, cf.outcome) == ("nader_onderzoek", "gedeeltelijk")


def test_a_forced_version_stays_forced(decider: Decider) -> None:
    raw = _raw("P09")
    raw["reference_date"] = "2024-06-01"  # after basismaatregelen 2021.1 ended
    raw["home"]["pkvw_certified"] = False
    claim = decider.validate(raw)
    decision = decider.decide(claim, version="2021.1", force=True)
    assert decision.forced and decision.outcome == "afwijzen"
    (cf,) = counterfactuals(decider, claim, decision)
    assert (cf.path, cf.old_value, cf.new_value) == ("home.pkvw_certified", False, True)
    assert (cf.outcome, cf.eligible_total_eur) == ("gedeeltelijk", Decimal("2400.00"))


def test_apply_change_sets_a_field_or_the_fields_of_an_object(decider: Decider) -> None:
    claim = decider.validate(_raw("P08"))
    changed = apply_change(claim, "threat", {"status": "expliciet"})
    assert changed.threat is not None and changed.threat.status == "expliciet"
    assert changed.threat.assessed_by == "geen"
    assert apply_change(claim, "measures[1].advised", False).measures[1].advised is False
    no_triggers = claim.model_copy(update={"triggers": None})
    with_trigger = apply_change(no_triggers, "triggers", {"deters_reporting": True})
    assert with_trigger.triggers is not None and with_trigger.triggers.deters_reporting


# --- the property ------------------------------------------------------------------------------

_BASES = {p.name.split(".")[0]: json.loads(p.read_text()) for p in PUBLIC_SCENARIOS.glob("P*.claim.json")}  # fmt: skip


@st.composite
def _claims(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    raw = json.loads(json.dumps(_BASES[draw(st.sampled_from(sorted(_BASES)))]))
    # half the time a threat and a trigger that pass, so that the lines decide
    statuses = st.sampled_from(["expliciet", "impliciet", "voorstelbaar", "geen", "onbekend"])
    assessors = st.sampled_from(["politie", "om", "nctv", "adviseur_bb", "gemeente", "geen"])
    raw["threat"] = draw(
        st.one_of(
            st.just({"status": "expliciet", "assessed_by": "politie"}),
            st.fixed_dictionaries({"status": statuses, "assessed_by": assessors}),
        )
    )
    raw["home"] = {"pkvw_certified": draw(st.sampled_from([True, False, None]))}
    motivated = {"deters_reporting": True, "motivation": "Anders doet niemand meer aangifte."}
    raw["triggers"] = draw(
        st.one_of(st.just(motivated), st.sampled_from([None, {"political_discussion": True}]))
    )
    raw["advice"] = draw(st.sampled_from([None, {"by": "bva"}, {"by": "ccv"}]))
    if raw.get("municipality"):
        raw["municipality"]["security_budget_eur"] = draw(st.sampled_from([0, 2000, 200000]))
    # a few lines at most, so that one change can lift the only reduction (a price, say)
    n = len(raw["measures"])
    order = draw(st.permutations(range(n)))
    keep = sorted(order[: draw(st.integers(1, min(3, n)))])
    raw["measures"] = [raw["measures"][i] for i in keep]
    for m in raw["measures"]:
        m["advised"] = draw(st.booleans())
        factor = draw(st.sampled_from(["0.5", "1", "1.1", "1.3", "2"]))
        m["unit_price_eur"] = str(
            (Decimal(str(m["unit_price_eur"])) * Decimal(factor)).quantize(Decimal("0.01"))
        )
    scheme = None
    if raw.get("scheme", "vangnet") == "vangnet" and draw(st.booleans()):
        scheme = "vangnet-herijking"
    return raw, scheme


@settings(max_examples=80, deadline=None)
@given(_claims())
def test_every_counterfactual_is_better_and_touches_only_listed_facts(
    decider: Decider, facts: ChangeableFacts, drawn: tuple[dict[str, Any], str | None]
) -> None:
    raw, scheme = drawn
    claim = decider.validate(raw)
    decision = decider.decide(claim, scheme)
    found = counterfactuals(decider, claim, decision, limit=None)
    if decision.outcome == "toekennen":
        assert found == []
    changes = {c.id: c for c in facts.changes}
    event(f"{decision.outcome}: {len(found)} counterfactual(s)")
    for cf in found:
        event(f"change {cf.change}")
        change = changes[cf.change]
        assert decision.ruleset.id in change.schemes
        assert cf.fields, "a counterfactual changes at least one field"
        for f in cf.fields:
            listed = re.sub(r"\[\d+\]", "[*]", f.path)
            assert listed in change.leaf_paths
            assert not any(listed == n or listed.startswith(n + ".") for n in NEVER_CHANGED)
        # verified independently: the changed claim decides better, as reported
        after = _decide_like(decider, _apply(claim, cf.fields), decision)
        assert _rank(after) > _rank(decision)
        assert (after.outcome, after.eligible_total_eur) == (cf.outcome, cf.eligible_total_eur)
        if cf.kind == "numeric":
            _assert_minimal(decider, claim, decision, cf)
    # categorical before numeric, and within each kind the better outcome first
    kinds = [cf.kind for cf in found]
    assert kinds == sorted(kinds)
    for kind in ("categorical", "numeric"):
        ranks = [(ORDER.index(c.outcome), c.eligible_total_eur) for c in found if c.kind == kind]
        assert ranks == sorted(ranks, reverse=True)


_CAPPED = ["ALARM_PAC", "PAC_ABONNEMENT", "CAMERA_SET_4", "VEILIGHEIDSFOLIE", "HEKWERK",
           "TOEGANGSPOORT", "SAFE_ROOM", "PARTICULIERE_BEWAKING"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    code=st.sampled_from(_CAPPED),
    quantity=st.decimals(min_value="0.01", max_value="40", places=2),
    factor=st.decimals(min_value="1.001", max_value="3", places=3),
    scheme=st.sampled_from(["vangnet", "vangnet-herijking"]),
)
def test_a_price_above_the_cap_comes_down_to_the_cent(
    decider: Decider, code: str, quantity: Decimal, factor: Decimal, scheme: str
) -> None:
    """One line priced above its cap, nothing else reduced: the price counterfactual is the
    highest price that is paid in full, to the cent (at or just above the cap, by rounding)."""
    raw = _raw("P01")
    reference = decider.catalogues.versions[0].items[code].reference_unit_price_eur
    assert reference is not None
    cap = reference * Decimal("1.25")
    price = (cap * factor).quantize(Decimal("0.01"))
    raw["measures"] = [{"code": code, "description": code, "quantity": str(quantity),
                        "unit_price_eur": str(price), "advised": True}]  # fmt: skip
    claim = decider.validate(raw)
    decision = decider.decide(claim, scheme)
    found = counterfactuals(decider, claim, decision, limit=None)
    event(f"outcome {decision.outcome}")
    if decision.outcome == "toekennen":  # the price rounds to the capped amount already
        assert found == []
        return
    assert decision.outcome == "gedeeltelijk"
    (cf,) = found
    assert (cf.change, cf.outcome) == ("prijs-tot-referentie", "toekennen")
    assert cap.quantize(Decimal("0.01"), ROUND_DOWN) <= cf.new_value < price
    _assert_minimal(decider, claim, decision, cf)


# --- the data ----------------------------------------------------------------------------------


def test_the_data_lists_exactly_the_documentable_facts(facts: ChangeableFacts) -> None:
    paths = set().union(*(c.leaf_paths for c in facts.changes))
    assert paths == {
        "threat.status",
        "threat.assessed_by",
        "triggers.political_discussion",
        "triggers.motivation",
        "advice.by",
        "measures[*].advised",
        "home.pkvw_certified",
        "measures[*].unit_price_eur",
    }
    assert facts.outcomes == tuple(ORDER)


def test_the_data_names_known_schemes_and_parameters(facts: ChangeableFacts) -> None:
    rulesets = load_rulesets()
    for change in facts.changes:
        assert change.schemes <= set(rulesets), change.id
        params = {c.param for c in change.when for c in (c, *c.any) if c.param}
        for scheme in change.schemes:
            for rs in rulesets[scheme]:
                assert params <= set(rs.params), (change.id, rs.key)


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    source = DATA / "2016-02-10.yaml"
    text = source.read_text()
    assert old in text, old
    (tmp_path / "2016-02-10.yaml").write_text(text.replace(old, new, 1))
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("path: home.pkvw_certified", "path: office_holder.role",
         "office_holder.role is een vast gegeven van de aanvraag"),
        ("path: home.pkvw_certified", "path: applicant.type", "applicant.type is een vast gegeven"),
        ("path: home.pkvw_certified", "path: municipality.inhabitants",
         "municipality.inhabitants is een vast gegeven"),
        ('path: "measures[*].unit_price_eur"', 'path: "measures[*].already_reimbursed_eur"',
         "measures[*].already_reimbursed_eur is een vast gegeven"),
        ("path: home.pkvw_certified", "path: home.keurmerk", "onbekend pad 'home.keurmerk'"),
        ("      - value: bva", "      - value: bzk", "waarde 'bzk' past niet bij advice.by"),
        ("{path: threat.status, is: onbekend}", "{path: threat.status, is: onzeker}",
         "waarde 'onzeker' past niet bij threat.status"),
        ("in het advies staat", "in het advies {staat}", "onbekende waarde {staat}"),
        ("    source: regeling-2023", "    source: regeling-2099", "onbekende bron 'regeling-2099'"),
        ('path: "measures[*].unit_price_eur"', 'path: "measures[*].advised"',
         "measures[*].advised is geen bedrag"),
        ("  toekennen: toekennen\n", "", "outcomes noemt elke uitkomst"),
        ("valid_from: 2016-02-10", "valid_from: 2016-02-11", "de bestandsnaam moet 2016-02-11.yaml"),
    ],
)  # fmt: skip
def test_bad_data_files_are_refused(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(DataError) as err:
        load_changeable_facts(_edited(tmp_path, old, new))
    assert str(err.value).startswith("2016-02-10.yaml")
    assert expected in str(err.value)


def test_the_data_is_not_a_ruleset_file() -> None:
    # the ruleset loader and the manifest read rulesets/*/*.yaml only
    assert not list((ROOT / "rulesets").glob("*/counterfactuals*"))
    assert list(DATA.glob("*.yaml")) == [DATA / "2016-02-10.yaml"]


def test_a_copy_of_the_data_loads_the_same(tmp_path: Path, facts: ChangeableFacts) -> None:
    shutil.copy(DATA / "2016-02-10.yaml", tmp_path / "2016-02-10.yaml")
    (copy,) = load_changeable_facts(tmp_path)
    assert copy.changes == facts.changes and copy.outcomes == facts.outcomes
