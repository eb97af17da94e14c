"""Replaying stored claims (`vangnet.replay`): the public `vangnet` scenarios stored through the
API flip exactly P04 under `vangnet-herijking@2018.1` and nothing stored changes (SQLite and
PostgreSQL); every flip on a generated portfolio is explained by the two rules the
recalibration changes; a claim that kills its worker is found by bisection; the size classes
are data with explicit boundaries; the outputs parse."""

from __future__ import annotations

import copy
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Team
from tests.service.conftest import (  # noqa: F401 - fixtures for the stored-claims tests
    api,
    database_url,
    postgres_database,
    team,
    validator,
    workers,
)
from vangnet.claim import canonical_claim
from vangnet.evaluate import Decider
from vangnet.exceptions import DataError, NoRulesetError
from vangnet.jsonout import dumps
from vangnet.money import to_cents
from vangnet.portfolio import generate_portfolio, load_portfolio
from vangnet.replay import (
    ClaimReplay,
    ReplayReport,
    StoredClaim,
    audit_details,
    family_schemes,
    load_size_classes,
    replay,
    replay_claims,
    resolve_target,
)
from vangnet.service.db import create_db_engine
from vangnet.service.models import Base
from vangnet.service.settings import Settings

TARGET = "vangnet-herijking@2018.1"
VANGNET_SCENARIOS = sorted(
    p
    for p in PUBLIC_SCENARIOS.glob("P*.claim.json")
    if json.loads(p.read_text()).get("scheme", "vangnet") == "vangnet"
)


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


# --- size classes -------------------------------------------------------------------------------


def test_the_size_classes_are_data_with_inclusive_boundaries() -> None:
    sizes = load_size_classes()
    assert [c.key for c in sizes.classes] == ["klein", "middel", "groot"]
    assert sizes.classify(1) == sizes.classify(39_999) == "klein"
    assert sizes.classify(40_000) == sizes.classify(100_000) == "middel"
    assert sizes.classify(100_001) == sizes.classify(10_000_000) == "groot"
    assert sizes.classify(None) == "onbekend"
    assert all(c.basis for c in sizes.classes) and sizes.source["title"]


@pytest.mark.parametrize(
    ("classes", "fault"),
    [
        (
            "[{key: a, label: A, from: 1, to: 10, basis: x}, {key: b, label: B, from: 12, to: null,"
            " basis: x}]",
            "from is 12, maar moet 11 zijn",
        ),
        (
            "[{key: a, label: A, from: 1, to: 10, basis: x}, {key: b, label: B, from: 10, to: null,"
            " basis: x}]",
            "from is 10, maar moet 11 zijn",
        ),
        ("[{key: a, label: A, from: 1, to: 10, basis: x}]", "open eindigen"),
        ("[{key: a, label: A, from: 2, to: null, basis: x}]", "moet 1 zijn"),
        (
            "[{key: a, label: A, from: 1, to: null, basis: x}, {key: b, label: B, from: 5,"
            " to: null, basis: x}]",
            "alleen de laatste",
        ),
    ],
)
def test_size_classes_with_a_gap_or_an_overlap_are_refused(
    tmp_path: Path, classes: str, fault: str
) -> None:
    path = tmp_path / "sizes.yaml"
    path.write_text(
        f"source: {{title: t}}\nclasses: {classes}\nunknown: {{key: o, label: O}}\n", "utf-8"
    )
    with pytest.raises(DataError, match=fault) as info:
        load_size_classes(path)
    assert str(path) in str(info.value)


# --- the target -----------------------------------------------------------------------------------


def test_the_target_and_its_family() -> None:
    target = resolve_target(TARGET)
    assert (target.scheme, target.version, target.family, target.status) == (
        "vangnet-herijking",
        "2018.1",
        "vangnet",
        "simulatie",
    )
    assert family_schemes("vangnet") == ["vangnet", "vangnet-herijking"]
    with pytest.raises(NoRulesetError, match=r"geen versie 9\.9"):
        resolve_target("vangnet@9.9")


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(NoRulesetError, match="eindigt voor zij begint"):
        replay(None, TARGET, between=(date(2017, 1, 1), date(2016, 1, 1)))


# --- the public scenarios, stored through the API ---------------------------------------------


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order."""
    out = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            keys = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*keys)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def _submit(actors: Team, path: Path) -> dict[str, Any]:
    r = actors.gemeente.post("/v1/aanvragen", json=json.loads(path.read_text()))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def _decide(actors: Team, aanvraag: dict[str, Any], body: dict[str, Any]) -> None:
    r = actors.bzk.post(f"{aanvraag['href']}/in-behandeling")
    assert r.status_code == 200, r.text
    r = actors.bzk.post(f"{aanvraag['href']}/besluit", json=body)
    assert r.status_code == 201, r.text


def test_replaying_the_public_vangnet_scenarios_flips_exactly_p04_and_changes_nothing(
    team: Team,  # noqa: F811 - the fixture
    database_url: str,  # noqa: F811 - the fixture
) -> None:
    assert [p.name[:3] for p in VANGNET_SCENARIOS] == [f"P0{i}" for i in range(1, 9)]
    stored = {p.name[:3]: _submit(team, p) for p in VANGNET_SCENARIOS}
    _decide(team, stored["P04"], {"outcome": "afwijzen", "amount_eur": "0.00"})
    p01 = stored["P01"]
    _decide(team, p01, {"outcome": "toekennen", "amount_eur": "4520.00"})
    engine = create_db_engine(database_url)
    try:
        before = _tables(engine)
        assert before["besluit"] and before["advies"]
        report = replay(engine, TARGET, processes=2, chunk_size=3)
        after = _tables(engine)
    finally:
        engine.dispose()
    assert after == before  # no advice, besluit, audit entry or anything else changed

    by_claim = {r.claim_id: r for r in report}
    assert sorted(by_claim) == sorted(stored)
    assert [r.aanvraag_id for r in report] == sorted(r.aanvraag_id for r in report)
    assert all(r.status == "herberekend" and not r.forced for r in report)
    assert {r.claim_id for r in report if r.flipped} == {"P04"}
    p04 = by_claim["P04"]
    assert (p04.advice_ruleset, p04.advice_outcome, p04.advice_cents) == (
        "vangnet@2016.1",
        "afwijzen",
        0,
    )
    # P12 is a shorter P04 under the recalibration: gedeeltelijk; every criterion is met,
    # so P04's amount is the sum of its lines' own eligible amounts
    expected = json.loads((PUBLIC_SCENARIOS / "P12.expected.json").read_text())
    p04_lines = json.loads((PUBLIC_SCENARIOS / "P04.expected.json").read_text())["lines"]
    assert p04.new_outcome == expected["outcome"] == "gedeeltelijk"
    eligible = sum(Decimal(str(line["eligible_eur"])) for line in p04_lines)
    assert p04.new_cents == to_cents(eligible) == 9_400_000
    assert [(c.rule, c.old, c.new) for c in p04.changes] == [("VN-DREIGING", "afwijzen", "voldaan")]
    assert (p04.besluit_outcome, p04.besluit_cents) == ("afwijzen", 0)
    assert (by_claim["P01"].besluit_outcome, by_claim["P01"].besluit_cents) == ("toekennen", 452000)
    assert by_claim["P02"].besluit_outcome is None
    total = report.total
    assert (total.claims, total.replayed, total.flipped) == (8, 8, 1)
    assert total.flips == {("afwijzen", expected["outcome"]): 1}
    small = next(c for c in report.by_class if c.key == "klein")
    assert small.flips == {("afwijzen", expected["outcome"]): 1}  # P04: 12,000 inhabitants
    assert report.simulation and report.schemes == ("vangnet", "vangnet-herijking")

    # the period filters on the reference date (P04's is 2017-05-10, the others' in 2016)
    engine = create_db_engine(database_url)
    try:
        only = replay(engine, TARGET, between=(date(2017, 1, 1), date(2017, 12, 31)), processes=1)
    finally:
        engine.dispose()
    assert [r.claim_id for r in only] == ["P04"] and only.between is not None


# --- claims replayed without a database (the generator, the worker machinery) -------------------


def _stored(decider: Decider, claims: list[dict[str, Any]]) -> list[StoredClaim]:
    """The claims as a replay reads them from the database, with their advice now."""
    out = []
    for n, data in enumerate(claims):
        claim = decider.validate(data)
        decision = decider.decide(claim)
        out.append(
            StoredClaim(
                aanvraag_id=f"{n:032x}",
                claim_id=decision.claim_id,
                scheme=claim.scheme,
                reference_date=claim.reference_date,
                claim_json=canonical_claim(claim),
                advice_ruleset=f"{decision.ruleset.id}@{decision.ruleset.version}",
                advice_outcome=decision.outcome,
                advice_cents=to_cents(decision.eligible_total_eur),
                decision_json=dumps(decision.as_dict()).encode("utf-8"),
                besluit_outcome=None,
                besluit_cents=None,
            )
        )
    return out


EXPLAINED = {"VN-DREIGING", "VN-ONEVENREDIG"}


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_every_flip_on_a_portfolio_is_explained_by_the_recalibrated_rules(
    decider: Decider, seed: int
) -> None:
    portfolio = [p.claim for p in generate_portfolio(300, seed)]
    by_id = {c["claim_id"]: c for c in portfolio}
    report = replay_claims(
        _stored(decider, portfolio), resolve_target(TARGET), processes=2, chunk_size=40
    )
    assert len(report) == 300 and all(r.status == "herberekend" for r in report)
    _assert_flips_explained(report, by_id)


def _assert_flips_explained(report: ReplayReport, by_id: dict[str, dict[str, Any]]) -> None:
    """Every changed finding is one of the two recalibrated rules, each for its reason (an
    implicit or conceivable threat; a small municipality), and so is every flip."""
    flipped = [r for r in report if r.flipped]
    assert flipped  # a portfolio of this size always has some: the test can fail
    for r in report:
        claim = by_id[r.claim_id]
        changed = {c.rule for c in r.changes}
        assert changed <= EXPLAINED, (r.claim_id, r.changes)
        implicit = claim["threat"]["status"] in ("impliciet", "voorstelbaar")
        small = claim["municipality"]["inhabitants"] < 40_000
        if "VN-DREIGING" in changed:
            assert implicit, (r.claim_id, claim["threat"])
        if "VN-ONEVENREDIG" in changed:
            assert small, (r.claim_id, claim["municipality"]["inhabitants"])
        if r.flipped:
            assert ("VN-DREIGING" in changed and implicit) or (
                "VN-ONEVENREDIG" in changed and small
            ), r


# the CI run: about a thousand stored portfolio claims (the benchmark does 100,000)
CI_CLAIMS = 1000


def test_replaying_a_thousand_stored_portfolio_claims(tmp_path: Path) -> None:
    """A fresh SQLite database filled by the portfolio loader (the generator, the engine in
    two worker processes, `Store.submit_many` in batches), replayed in two worker processes:
    every stored claim has a result, none failed or was refused, every flip is explained and
    nothing stored changed."""
    settings = Settings(env="test", data_dir=tmp_path / "data")
    assert settings.db_url.startswith("sqlite")
    loaded = load_portfolio(settings, CI_CLAIMS, seed=2018, batch_size=250, processes=2)
    assert (loaded.stored, loaded.already, loaded.refused) == (CI_CLAIMS, 0, [])
    by_id = {p.claim["claim_id"]: p.claim for p in generate_portfolio(CI_CLAIMS, 2018)}
    engine = create_db_engine(settings.db_url)
    try:
        before = _tables(engine)
        assert len(before["aanvraag"]) == len(before["advies"]) == CI_CLAIMS
        report = replay(engine, TARGET, processes=2)
        after = _tables(engine)
    finally:
        engine.dispose()
    assert after == before  # no advice, besluit, audit entry or anything else changed
    assert sorted(r.claim_id for r in report) == sorted(by_id)
    assert report.failed == []
    assert all(r.status == "herberekend" and r.new_outcome is not None for r in report)
    total = report.total
    assert (total.claims, total.replayed) == (CI_CLAIMS, CI_CLAIMS)
    assert total.flipped == sum(r.flipped for r in report)
    _assert_flips_explained(report, by_id)


@pytest.fixture(scope="module")
def forty(decider: Decider) -> list[StoredClaim]:
    return _stored(decider, [p.claim for p in generate_portfolio(40, 11)])


def test_a_claim_that_kills_its_worker_is_found_by_bisection(forty: list[StoredClaim]) -> None:
    bad = forty[13].claim_id
    report = replay_claims(
        forty, resolve_target(TARGET), processes=2, chunk_size=8, _crash_claims=frozenset({bad})
    )
    assert [r.aanvraag_id for r in report] == [s.aanvraag_id for s in forty]
    failed = report.failed
    assert [r.claim_id for r in failed] == [bad]
    assert failed[0].status == "mislukt" and "regelengine viel uit" in (failed[0].message or "")
    assert failed[0].size_class in {"klein", "middel", "groot"}
    assert sum(r.status == "herberekend" for r in report) == 39
    # crashed in the crowd, again alone, then in halves down to the one claim
    assert report.pool_restarts >= 4
    assert report.total.failed == 1 and "mislukt" in report.text()


def test_the_crash_hook_never_fires_in_production(
    forty: list[StoredClaim], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VANGNET_ENV", "production")
    report = replay_claims(
        forty[:6],
        resolve_target(TARGET),
        processes=1,
        chunk_size=3,
        _crash_claims=frozenset({forty[2].claim_id}),
    )
    assert report.pool_restarts == 0 and all(r.status == "herberekend" for r in report)


def test_a_claim_the_target_refuses_is_reported_not_replayed(
    decider: Decider, forty: list[StoredClaim]
) -> None:
    # basismaatregelen 2021.1 holds for part of 2016-2025: claims outside its period are
    # decided under it by force (and say so); one it cannot decide is reported, not replayed
    target = resolve_target("basismaatregelen@2021.1")
    report = replay_claims(forty[:10], target, processes=1)
    assert len(report) == 10
    for r in report:
        if r.status == "herberekend":
            valid = target.valid_from <= r.reference_date and (
                target.valid_to is None or r.reference_date <= target.valid_to
            )
            assert r.forced == (not valid)
        else:
            assert r.status == "geweigerd" and (r.message or "").startswith("geweigerd")
    forced = sum(r.forced for r in report)
    assert report.total.forced == forced
    if forced:
        assert "geforceerd" in report.text()


# --- outputs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(forty: list[StoredClaim]) -> ReplayReport:
    return replay_claims(forty, resolve_target(TARGET), processes=1, chunk_size=20)


def test_json_lines_one_per_claim_then_the_summary(report: ReplayReport) -> None:
    out = io.StringIO()
    report.write_jsonl(out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 41 and all(x["type"] == "claim" for x in lines[:-1])
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["total"]["claims"] == 40
    assert summary["digest_sha256"] == report.digest == audit_details(report)["resultaten_sha256"]
    assert summary["target"] == {
        "ruleset": TARGET,
        "status": "simulatie",
        "sha256": report.target.sha256,
        "simulation": True,
    }
    flipped = [x for x in lines[:-1] if x["replay"]["flipped"]]
    assert len(flipped) == report.total.flipped
    for x in lines[:-1]:
        change = x["replay"]["eligible_total_eur"] - x["advice"]["eligible_total_eur"]
        assert round(change, 2) == x["replay"]["change_eur"]
    assert sum(c["flipped"] for c in summary["by_size_class"]) == summary["total"]["flipped"]


def test_the_workbook_opens_and_text_is_never_a_formula(
    report: ReplayReport, tmp_path: Path
) -> None:
    first = report.results[0]
    hostile = ClaimReplay(
        **{
            **{f: getattr(first, f) for f in ClaimReplay.__dataclass_fields__},
            "claim_id": '=HYPERLINK("http://x")',
            "message": "+1+1",
        }
    )
    tampered = copy.copy(report)
    tampered.results = [hostile, *report.results[1:]]
    path = tmp_path / "replay.xlsx"
    tampered.write_xlsx(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Aanvragen", "Samenvatting"]
    claims = wb["Aanvragen"]
    assert claims.max_row == 41
    header = [c.value for c in claims[1]]
    cell = claims.cell(row=2, column=header.index("Kenmerk") + 1)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"
    summary = [r for r in wb["Samenvatting"].iter_rows(values_only=True)]
    assert summary[0][:2] == ("Doelversie", TARGET)
    assert any(r[0] == "alle aanvragen" and r[1] == 40 for r in summary)


def test_the_text_summary_names_the_simulation_and_the_classes(report: ReplayReport) -> None:
    text = report.text()
    assert text.startswith("SIMULATIE")
    assert f"onder {TARGET}" in text and report.digest in text
    for c in report.by_class:
        if c.claims:
            assert c.label in text


def test_outputs_hold_no_claim_content(report: ReplayReport, forty: list[StoredClaim]) -> None:
    out = io.StringIO()
    report.write_jsonl(out)
    text = out.getvalue() + report.text() + json.dumps(audit_details(report))
    for s in forty:
        claim = json.loads(s.claim_json)
        assert claim["office_holder"]["reference"] not in text
        assert claim["municipality"]["name"] not in text
        for m in claim["measures"]:
            assert m["description"] not in text


# --- the faster paths give what the plain paths give ----------------------------------------


def test_the_workbook_has_the_cells_openpyxl_alone_writes(
    report: ReplayReport, tmp_path: Path
) -> None:
    from vangnet.replay import _write_xlsx_reference

    first = report.results[0]
    odd = [
        "=SOM(A1)",
        "#N/A",
        " spaties rond ",
        "",
        "a & b < c > d \"e\" 'f'",
        "regel\r\nregel",
        "€ ü ✓ 𝄞",
        "x" * 40_000,
    ]
    hostile = [
        ClaimReplay(
            **{
                **{f: getattr(first, f) for f in ClaimReplay.__dataclass_fields__},
                "message": text,
                "claim_id": text[:50] or first.claim_id,
            }
        )
        for text in odd
    ]
    tampered = copy.copy(report)
    tampered.results = [*hostile, *report.results]
    fast, plain = tmp_path / "fast.xlsx", tmp_path / "plain.xlsx"
    tampered.write_xlsx(fast)
    _write_xlsx_reference(tampered, plain)
    a, b = openpyxl.load_workbook(fast), openpyxl.load_workbook(plain)
    assert a.sheetnames == b.sheetnames == ["Aanvragen", "Samenvatting"]
    for name in a.sheetnames:
        assert a[name].freeze_panes == b[name].freeze_panes
        cells_a = [
            [(c.value, c.data_type, c.number_format) for c in row] for row in a[name].iter_rows()
        ]
        cells_b = [
            [(c.value, c.data_type, c.number_format) for c in row] for row in b[name].iter_rows()
        ]
        assert cells_a == cells_b
    assert a["Aanvragen"].max_row == len(tampered.results) + 1


def test_a_character_xml_cannot_hold_is_replaced_not_fatal(
    report: ReplayReport, tmp_path: Path
) -> None:
    first = report.results[0]
    broken = ClaimReplay(
        **{
            **{f: getattr(first, f) for f in ClaimReplay.__dataclass_fields__},
            "message": "a\x00b\x1fc",
        }
    )
    tampered = copy.copy(report)
    tampered.results = [broken]
    path = tmp_path / "replay.xlsx"
    tampered.write_xlsx(path)
    claims = openpyxl.load_workbook(path)["Aanvragen"]
    header = [c.value for c in claims[1]]
    assert claims.cell(row=2, column=header.index("Toelichting") + 1).value == "a\ufffdb\ufffdc"


def test_the_old_findings_are_read_as_the_whole_decision_gives_them(
    forty: list[StoredClaim],
) -> None:
    from vangnet.replay import _old_effects

    for s in forty:
        whole = json.loads(s.decision_json)
        assert _old_effects(s.decision_json) == {f["rule"]: f["effect"] for f in whole["findings"]}
    # a text that imitates the key is escaped in JSON, so it is never taken for it
    decision = json.loads(forty[0].decision_json)
    decision["lines"][0]["explanation"] = 'x "findings":[{"rule":"NEP","effect":"voldaan"}]'
    text = dumps(decision).encode("utf-8")
    assert _old_effects(text) == {f["rule"]: f["effect"] for f in decision["findings"]}
    # not one findings key: the whole decision is decoded
    odd = json.dumps({"claim": {"findings": []}, "findings": decision["findings"]}).encode()
    assert _old_effects(odd) == {f["rule"]: f["effect"] for f in decision["findings"]}


def test_a_stored_claim_that_is_not_canonical_replays_as_the_canonical_one(
    forty: list[StoredClaim],
) -> None:
    # pretty-printed in another key order, or with amounts as text: the claim a replay reads
    # is the validated claim, whatever form its stored JSON has
    def loose(n: int, s: StoredClaim) -> StoredClaim:
        data = json.loads(s.claim_json, parse_float=Decimal)
        if n % 2:
            for m in data["measures"]:
                m["unit_price_eur"] = f"{Decimal(m['unit_price_eur']):.2f}"
        reordered = dict(reversed(list(data.items())))
        text = dumps(reordered, indent=2).encode("utf-8")
        return StoredClaim(**{**{f: getattr(s, f) for f in s.__slots__}, "claim_json": text})

    target = resolve_target(TARGET)
    plain = replay_claims(forty[:12], target, processes=1)
    loosened = replay_claims([loose(n, s) for n, s in enumerate(forty[:12])], target, processes=1)
    assert loosened.claim_lines() == plain.claim_lines()
    assert all(r.status == "herberekend" for r in plain)
