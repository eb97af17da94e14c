"""The synthetic portfolio (`vangnet.portfolio`): valid claims, reproducible from the seed, with
a skewed spread of invented municipalities; loaded in batches (one transaction each, with an
audit entry) as submissions are stored, idempotently, and never in production."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.service.conftest import database_url, postgres_database  # noqa: F401 - fixtures
from vangnet import portfolio as portfolio_module
from vangnet.catalogue import load_catalogues
from vangnet.claim import canonical_claim, parse_claim
from vangnet.evaluate import Decider
from vangnet.portfolio import (
    generate_portfolio,
    load_portfolio,
    load_portfolio_config,
    municipalities,
)
from vangnet.replay import load_size_classes
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine
from vangnet.service.demo import DemoRefused
from vangnet.service.models import Aanvraag, AanvraagVersie, Advies, Organisatie, Statusovergang
from vangnet.service.settings import Settings

CONFIG = load_portfolio_config()
CATALOGUE = load_catalogues()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=-(2**31), max_value=2**31))
def test_every_generated_claim_keeps_the_contract(seed: int) -> None:
    for p in generate_portfolio(40, seed, config=CONFIG, catalogues=CATALOGUE):
        claim = parse_claim(p.claim)  # raises ClaimError naming every problem
        assert claim.scheme == "vangnet"
        assert 2 <= len(claim.measures) <= 8
        assert claim.municipality is not None and claim.municipality.code == p.owner
        assert p.owner.startswith("GM") and 8001 <= int(p.owner[2:]) < 8001 + 342
        assert "(portfolio)" in claim.municipality.name
        assert claim.office_holder.reference and "-S" in claim.office_holder.reference
        catalogue = CATALOGUE.in_force(claim.reference_date)
        assert catalogue is not None
        for m in claim.measures:
            assert m.code is None or m.code in catalogue.items
        per = claim.municipality.total_expenditure_eur / claim.municipality.inhabitants
        assert 3000 <= per <= 5000


def test_the_same_seed_gives_the_same_claims_and_a_prefix_of_a_larger_portfolio() -> None:
    a = [p.claim for p in generate_portfolio(30, 5)]
    b = [p.claim for p in generate_portfolio(30, 5)]
    longer = [p.claim for p in generate_portfolio(60, 5)]
    other = [p.claim for p in generate_portfolio(30, 6)]
    assert a == b == longer[:30]
    assert a != other
    keys = [p.idempotency_key for p in generate_portfolio(30, 5)]
    assert len(set(keys)) == 30


def test_municipalities_are_many_small_and_few_large() -> None:
    sizes = load_size_classes()
    towns = municipalities(1)
    assert len(towns) == 342 and len({t.code for t in towns}) == 342
    classes = Counter(sizes.classify(t.inhabitants) for t in towns)
    assert classes["klein"] > 0.5 * len(towns)
    assert 0 < classes["groot"] < 0.15 * len(towns)
    assert classes["klein"] > classes["middel"] > classes["groot"]
    # larger councils, more claims
    assert all(9 <= t.seats <= 45 for t in towns)
    big = max(towns, key=lambda t: t.inhabitants)
    small = min(towns, key=lambda t: t.inhabitants)
    assert big.seats > small.seats


def test_the_mix_covers_roles_threats_and_both_sides_of_each_rule() -> None:
    claims = [p.claim for p in generate_portfolio(400, 2)]
    assert {c["office_holder"]["role"] for c in claims} >= {"burgemeester", "wethouder", "raadslid"}
    assert {c["threat"]["status"] for c in claims} == set(CONFIG.threat_status)
    assert {c["applicant"]["type"] for c in claims} == set(CONFIG.applicant_types)
    decider = Decider()
    effects = Counter(
        (f.rule, f.effect) for c in claims[:200] for f in decider.decide(parse_claim(c)).findings
    )
    for rule in ("VN-AANVRAGER", "VN-DOELGROEP", "VN-DREIGING", "VN-ONEVENREDIG"):
        assert effects[(rule, "voldaan")] and effects[(rule, "afwijzen")], rule


def test_a_bad_portfolio_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    from vangnet.exceptions import DataError

    text = portfolio_module.PORTFOLIO_FILE.read_text("utf-8")
    path = tmp_path / "portfolio.yaml"
    path.write_text(text.replace("count: 342", "count: 0"), "utf-8")
    with pytest.raises(DataError, match=r"municipalities\.count"):
        load_portfolio_config(path)


# --- loading ------------------------------------------------------------------------------------


def _settings(tmp_path: Path, url: str, env: str = "test") -> Settings:
    return Settings(env=env, data_dir=tmp_path / "data", database_url=url)  # type: ignore[arg-type]


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_loading_stores_submissions_in_batches_idempotently(
    tmp_path: Path,
    database_url: str,  # noqa: F811 - the fixture
) -> None:
    s = _settings(tmp_path, database_url)
    report = load_portfolio(s, 25, seed=9, batch_size=10, processes=1)
    assert (report.stored, report.already, report.refused) == (25, 0, [])
    assert sum(report.outcomes.values()) == 25 and "verzonnen" in report.text()
    generated = {p.claim["claim_id"]: p for p in generate_portfolio(25, 9)}
    engine = create_db_engine(s.db_url)
    decider = Decider()
    try:
        with Session(engine) as session:
            assert _count(session, Aanvraag) == 25
            assert _count(session, AanvraagVersie) == _count(session, Advies) == 25
            assert _count(session, Statusovergang) == 25
            assert _count(session, Organisatie) == 342
            rows = session.execute(
                select(Aanvraag, AanvraagVersie.claim_json, Advies.decision_json)
                .join(AanvraagVersie, AanvraagVersie.aanvraag_id == Aanvraag.id)
                .join(Advies, Advies.claim_version_id == AanvraagVersie.id)
            ).all()
            for aanvraag, claim_json, decision_json in rows:
                p = generated[aanvraag.claim_id]
                assert aanvraag.owner_id == p.owner and aanvraag.decider_id == "BZK"
                assert aanvraag.status == "ingediend" and aanvraag.claim_version == 1
                assert aanvraag.idempotency_key == p.idempotency_key
                claim = parse_claim(p.claim)
                assert claim_json == canonical_claim(claim)
                stored = json.loads(decision_json)
                fresh = json.loads(decider.decide(claim).to_json(indent=None))
                for d in (stored, fresh):
                    del d["receipt"]["evaluated_at"]
                assert stored == fresh
                assert aanvraag.outcome == stored["outcome"]
        entries = AuditLog.from_settings(s).entries(engine)
        batches = [e for e in entries if e.action == "demo.portefeuille_laden"]
        assert [e.details["aanvragen"] for e in batches] == [10, 10, 5]
        assert all(e.actor == "systeem" and e.origin == "cli" for e in batches)

        again = load_portfolio(s, 30, seed=9, batch_size=10, processes=1)
        assert (again.stored, again.already) == (5, 25)
        with Session(engine) as session:
            assert _count(session, Aanvraag) == 30
    finally:
        engine.dispose()


def test_a_batch_that_fails_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    append = AuditLog.append
    calls = {"n": 0}

    def failing(self: AuditLog, *args: Any) -> int:
        # the second batch's audit entry fails after its claims were written (flushed) in
        # the same transaction: none of them may stay
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return append(self, *args)

    monkeypatch.setattr(AuditLog, "append", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        load_portfolio(s, 20, seed=3, batch_size=10, processes=1)
    engine = create_db_engine(s.db_url)
    try:
        with Session(engine) as session:
            assert _count(session, Aanvraag) == 10  # the first batch, whole
            assert _count(session, Advies) == _count(session, Statusovergang) == 10
        (entry,) = AuditLog.from_settings(s).entries(engine)
        assert entry.action == "demo.portefeuille_laden" and entry.details["aanvragen"] == 10
    finally:
        engine.dispose()


def test_production_is_refused(tmp_path: Path) -> None:
    s = _settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", env="production")
    with pytest.raises(DemoRefused, match="production"):
        load_portfolio(s, 5)
    assert not (tmp_path / "db.sqlite3").exists()
