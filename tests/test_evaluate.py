"""The decision core end to end: public scenarios, version choice, determinism, properties."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PUBLIC_SCENARIOS, ROOT
from vangnet.claim import parse_claim, parse_claim_json
from vangnet.decision import Decision
from vangnet.evaluate import Decider
from vangnet.exceptions import ClaimError, NoRulesetError
from vangnet.ruleset import load_rulesets

FIXED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(clock=lambda: FIXED)


def _scenarios() -> list[Path]:
    return sorted(PUBLIC_SCENARIOS.glob("*.claim.json"))


@pytest.mark.parametrize("path", _scenarios(), ids=lambda p: p.name.split(".")[0])
def test_public_scenario(decider: Decider, path: Path) -> None:
    expected = json.loads(path.with_name(path.name.replace(".claim", ".expected")).read_text())
    decision = decider.decide(parse_claim_json(path.read_bytes()))
    got = decision.as_dict()
    assert got["outcome"] == expected["outcome"]
    assert got["ruleset"]["id"] == expected["scheme"]
    assert got["ruleset"]["version"] == expected["version"]
    assert got["claimed_total_eur"] == Decimal(str(expected["claimed_total_eur"]))
    assert got["eligible_total_eur"] == Decimal(str(expected["eligible_total_eur"]))
    assert {f["rule"]: f["effect"] for f in got["findings"]} == expected["findings"]
    assert [f["rule"] for f in got["findings"]] == list(expected["findings"])
    assert len(got["lines"]) == len(expected["lines"])
    for line, exp in zip(got["lines"], expected["lines"], strict=True):
        assert line["index"] == exp["index"]
        assert line["status"] == exp["status"], line
        assert line["eligible_eur"] == Decimal(str(exp["eligible_eur"])), line
        assert line["rules"] == exp["rules"], line


@pytest.mark.parametrize("path", _scenarios(), ids=lambda p: p.name.split(".")[0])
def test_decision_is_complete_and_valid(decider: Decider, path: Path) -> None:
    decision = decider.decide(parse_claim_json(path.read_bytes()))
    # the constructed model validates against its own schema (nothing skipped by construct)
    Decision.model_validate(decision.model_dump())
    data = json.loads(decision.to_json())
    assert set(data) == {
        "claim_id", "outcome", "simulation", "claimed_total_eur", "eligible_total_eur",
        "ruleset", "catalogue", "lines", "findings", "receipt",
    }  # fmt: skip
    text = decision.to_json()
    assert '"claimed_total_eur": ' + f"{decision.claimed_total_eur:.2f}" in text
    for finding in decision.findings:
        assert finding.explanation and finding.source
        assert "{" not in finding.explanation
    for line in decision.lines:
        assert line.explanation and "{" not in line.explanation
    assert data["receipt"]["evaluated_at"] == "2026-11-28T12:00:00Z"
    assert data["receipt"]["engine"] == "vangnet 0.1.0; durable-rules 2.0.28"


def test_same_claim_gives_byte_identical_decision(decider: Decider) -> None:
    path = PUBLIC_SCENARIOS / "P06.claim.json"
    other = Decider(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    a = decider.decide(parse_claim_json(path.read_bytes())).as_dict()
    b = other.decide(parse_claim_json(path.read_bytes())).as_dict()
    assert a["receipt"].pop("evaluated_at") != b["receipt"].pop("evaluated_at")
    assert json.dumps(a, default=str) == json.dumps(b, default=str)


def test_finding_explains_the_threshold_with_its_numbers(decider: Decider) -> None:
    d = decider.decide(parse_claim_json((PUBLIC_SCENARIOS / "P06.claim.json").read_bytes()))
    text = {f.rule: f.explanation for f in d.findings}["VN-ONEVENREDIG"]
    assert "€ 16.850,00" in text
    assert "8.000 inwoners" in text
    assert "€ 8.000,00" in text
    assert "beleidskeuze" in text


def test_claim_id_defaults_to_hash_prefix(decider: Decider) -> None:
    raw = json.loads((PUBLIC_SCENARIOS / "P01.claim.json").read_text())
    del raw["claim_id"]
    d = decider.decide(parse_claim(raw))
    assert d.claim_id == d.receipt.claim_sha256[:12]


# --- choosing the version ----------------------------------------------------------------------


def _p01(**changes: Any) -> dict[str, Any]:
    raw = json.loads((PUBLIC_SCENARIOS / "P01.claim.json").read_text())
    raw.update(changes)
    return raw


def test_no_version_in_force_is_refused_naming_the_periods(decider: Decider) -> None:
    with pytest.raises(NoRulesetError) as err:
        decider.decide(parse_claim(_p01(reference_date="2016-02-09")))
    assert err.value.code == "geen_regelset"
    assert "vangnet" in err.value.message and "vanaf 2016-02-10" in err.value.message


def test_basismaatregelen_ends_on_its_valid_to(decider: Decider) -> None:
    raw = json.loads((PUBLIC_SCENARIOS / "P09.claim.json").read_text())
    raw["reference_date"] = "2023-12-31"
    assert decider.decide(parse_claim(raw)).ruleset.version == "2021.1"
    raw["reference_date"] = "2024-01-01"
    with pytest.raises(NoRulesetError) as err:
        decider.decide(parse_claim(raw))
    assert "2021-01-01 t/m 2023-12-31" in err.value.message


def test_scheme_override_and_forced_version(decider: Decider) -> None:
    claim = parse_claim(_p01())
    sim = decider.decide(claim, scheme="vangnet-herijking")
    assert sim.simulation is True and sim.ruleset.id == "vangnet-herijking"
    with pytest.raises(NoRulesetError, match="--force"):
        decider.decide(claim, scheme="basismaatregelen", version="2021.1")
    forced = decider.decide(claim, scheme="basismaatregelen", version="2021.1", force=True)
    assert forced.forced is True
    assert forced.as_dict()["forced"] is True
    assert "forced" not in decider.decide(claim).as_dict()
    with pytest.raises(NoRulesetError, match=r"geen versie 1999\.1"):
        decider.decide(claim, version="1999.1")


def test_threat_is_required_for_the_vangnet(decider: Decider) -> None:
    raw = _p01()
    del raw["threat"]
    with pytest.raises(ClaimError) as err:
        decider.decide(parse_claim(raw))
    assert [p.field for p in err.value.problems] == ["threat"]
    assert "vangnet" in err.value.problems[0].message


# --- the law is data -------------------------------------------------------------------------


def _copy_rulesets(tmp_path: Path) -> Path:
    target = tmp_path / "rulesets"
    shutil.copytree(ROOT / "rulesets", target, ignore=shutil.ignore_patterns("tests"))
    return target


def test_editing_a_parameter_changes_the_decision_without_python(tmp_path: Path) -> None:
    raw = _p01(municipality={"name": "X", "inhabitants": 3000})
    del raw["triggers"]
    claim = parse_claim(raw)  # E = 4520: above 1.00 x 3000, below 2.00 x 3000
    before = Decider(prime=False).decide(claim)
    assert {f.rule: f.effect for f in before.findings}["VN-ONEVENREDIG"] == "voldaan"
    copy = _copy_rulesets(tmp_path)
    path = copy / "vangnet" / "2016-02-10.yaml"
    path.write_text(path.read_text().replace('value: "1.00"', 'value: "2.00"'))
    after = Decider(load_rulesets(copy), prime=False).decide(claim)
    assert {f.rule: f.effect for f in after.findings}["VN-ONEVENREDIG"] == "afwijzen"
    assert after.outcome == "afwijzen"
    assert after.ruleset.sha256 != before.ruleset.sha256


def test_editing_a_condition_changes_the_decision_without_python(tmp_path: Path) -> None:
    claim = parse_claim(_p01())
    copy = _copy_rulesets(tmp_path)
    path = copy / "vangnet" / "2016-02-10.yaml"
    text = path.read_text().replace(
        "value: [burgemeester, wethouder, raadslid]", "value: [burgemeester, wethouder]"
    )
    path.write_text(text)
    after = Decider(load_rulesets(copy), prime=False).decide(claim)
    assert {f.rule: f.effect for f in after.findings}["VN-DOELGROEP"] == "afwijzen"
    # and a gate: make video intercoms (aanvullend) count as public order
    text = path.read_text().replace(
        "{field: category, in: [openbare_orde, vergadering]}",
        "{field: category, in: [openbare_orde, vergadering, aanvullend]}",
    )
    path.write_text(text)
    after = Decider(load_rulesets(copy), prime=False).decide(claim)
    assert {line.status for line in after.lines} == {"uitgesloten"}


# --- properties ------------------------------------------------------------------------------

CODES = [
    None, "ALARM_PAC", "PAC_ABONNEMENT", "CAMERA_SET_4", "DEUR_RC3", "DEUR_RC4", "KLUIS",
    "HANG_SLUITWERK_SKG2", "PARTICULIERE_BEWAKING", "DRANGHEKKEN", "TIJDELIJKE_HUISVESTING",
    "RAMEN_KOZIJNEN", "VIDEO_INTERCOM", "NIET_IN_CATALOGUS",
]  # fmt: skip
money = st.decimals(min_value=0, max_value=20000, places=2).map(str)
measure = st.fixed_dictionaries(
    {
        "code": st.sampled_from(CODES),
        "description": st.just("maatregel"),
        "quantity": st.decimals(min_value=Decimal("0.01"), max_value=50, places=2).map(str),
        "unit_price_eur": money,
        "advised": st.booleans(),
        "already_reimbursed_eur": st.sampled_from(["0", "0", "100", "99999"]),
    },
    optional={"date": st.sampled_from(["2016-03-01", "2016-06-01"])},
)
claims = st.fixed_dictionaries(
    {
        "scheme": st.sampled_from(
            ["vangnet", "vangnet-herijking", "basismaatregelen", "beveiligingsmaatregelen"]
        ),
        "reference_date": st.just("2024-06-01"),
        "applicant": st.fixed_dictionaries(
            {"type": st.sampled_from(["gemeente", "ambtsdrager"]), "name": st.just("G")}
        ),
        "office_holder": st.fixed_dictionaries(
            {"role": st.sampled_from(["burgemeester", "raadslid", "cdk"])}
        ),
        "threat": st.fixed_dictionaries(
            {
                "status": st.sampled_from(["expliciet", "impliciet", "onbekend"]),
                "assessed_by": st.sampled_from(["politie", "gemeente"]),
                "assessed_on": st.just("2016-05-01"),
            }
        ),
        "municipality": st.fixed_dictionaries(
            {
                "name": st.just("X"),
                "inhabitants": st.integers(min_value=1, max_value=200000),
                "security_budget_eur": st.sampled_from(["0", "1000", "50000"]),
            }
        ),
        "advice": st.fixed_dictionaries({"by": st.sampled_from(["bva", "politie"])}),
        "home": st.fixed_dictionaries(
            {
                "pkvw_certified": st.sampled_from([True, False, None]),
                "package_2021_used_eur": st.sampled_from(["0", "1000", "3000"]),
            }
        ),
        "triggers": st.fixed_dictionaries(
            {"political_discussion": st.booleans(), "motivation": st.sampled_from(["", " ", "ja"])}
        ),
        "measures": st.lists(measure, min_size=1, max_size=8),
    }
)


def _dated(raw: dict[str, Any]) -> dict[str, Any]:
    dates = {
        "vangnet": "2016-06-01", "vangnet-herijking": "2016-06-01",
        "basismaatregelen": "2022-06-01", "beveiligingsmaatregelen": "2024-06-01",
    }  # fmt: skip
    return {**raw, "reference_date": dates[raw["scheme"]]}


@given(claims)
def test_line_and_total_invariants(raw: dict[str, Any]) -> None:
    decider = _shared_decider()
    d = decider.decide(parse_claim(_dated(raw)))
    payable = Decimal("0")
    for line in d.lines:
        assert 0 <= line.eligible_eur <= line.claimed_eur
        if line.status in ("vergoedbaar", "deels"):
            payable += line.eligible_eur
        if line.status == "te_beoordelen":
            assert line.eligible_eur == 0
    assert d.claimed_total_eur == sum((line.claimed_eur for line in d.lines), Decimal(0))
    if d.outcome == "afwijzen":
        assert d.eligible_total_eur == 0
    else:
        assert d.eligible_total_eur == payable
    assert len(d.findings) == len({f.rule for f in d.findings})


@given(claims)
def test_decisions_are_deterministic(raw: dict[str, Any]) -> None:
    decider = _shared_decider()
    claim = parse_claim(_dated(raw))
    a, b = decider.decide(claim).as_dict(), decider.decide(claim).as_dict()
    del a["receipt"]["evaluated_at"], b["receipt"]["evaluated_at"]
    assert a == b


@given(claims, st.decimals(min_value=1, max_value=5000, places=2))
def test_adding_a_fully_eligible_line_keeps_toekennen(raw: dict[str, Any], price: Decimal) -> None:
    decider = _shared_decider()
    raw = {**_dated(raw), "scheme": "vangnet", "reference_date": "2016-06-01"}
    claim = parse_claim(raw)
    before = decider.decide(claim)
    if before.outcome != "toekennen":
        return
    extra = {"code": "ALARM_PAC", "description": "extra", "quantity": 1,
             "unit_price_eur": str(price), "advised": True}  # fmt: skip
    after = decider.decide(parse_claim({**raw, "measures": [*raw["measures"], extra]}))
    assert after.lines[-1].status == "vergoedbaar"
    assert after.outcome == "toekennen"


_DECIDER: list[Decider] = []


def _shared_decider() -> Decider:
    if not _DECIDER:
        _DECIDER.append(Decider())
    return _DECIDER[0]


def test_the_required_threat_is_reported_with_every_other_problem(decider: Decider) -> None:
    raw = _p01()
    del raw["threat"]
    raw["measures"][0]["quantity"] = 0
    with pytest.raises(ClaimError) as err:
        decider.validate(raw)
    assert [p.field for p in err.value.problems] == ["measures[0].quantity", "threat"]
    del raw["measures"][0]["quantity"]
    raw["measures"][0]["quantity"] = 1
    with pytest.raises(ClaimError) as err:
        decider.validate(raw)
    assert [p.field for p in err.value.problems] == ["threat"]
    raw["scheme"] = "basismaatregelen"
    raw["reference_date"] = "2022-01-01"
    assert decider.validate(raw).threat is None
