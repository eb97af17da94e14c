"""Retention: the term (forms/retention.yaml, VANGNET_RETENTION_YEARS), `retain_until` set
when a claim becomes final and moved on by later acts, and the purge: due claims go with
everything under them, one audit entry each, the audit chain stays whole; a dry run changes
nothing; an open objection keeps a claim. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from tests.service.records import add_claim, configure_ring, open_engine
from vangnet.exceptions import DataError
from vangnet.service import crypto, retention
from vangnet.service.audit import AuditLog
from vangnet.service.db import WRITE
from vangnet.service.models import (
    Aanvraag,
    AanvraagVersie,
    Advies,
    Auditregel,
    Besluit,
    Bezwaar,
    Bijlage,
    Statusovergang,
)
from vangnet.service.retention import load_policy, purge, retain_until, term_years
from vangnet.service.settings import Settings


@pytest.fixture
def ring_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return configure_ring(tmp_path, monkeypatch)


@pytest.fixture
def engine(database_url: str, ring_settings: Settings) -> Iterator[Engine]:
    yield from open_engine(database_url)


TABLES = (Aanvraag, AanvraagVersie, Advies, Statusovergang, Besluit, Bezwaar, Bijlage)


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
            for m in (*TABLES, Auditregel)
        }


def stored_until(engine: Engine, aanvraag_id: str) -> date | None:
    with Session(engine) as session:
        return session.get_one(Aanvraag, aanvraag_id).retain_until


def make_due(engine: Engine, aanvraag_id: str) -> None:
    with engine.begin() as c:
        c.execute(
            text("UPDATE aanvraag SET retain_until = :d WHERE id = :id"),
            {"d": date(2000, 1, 1), "id": aanvraag_id},
        )


# --- the term ----------------------------------------------------------------------------------


def test_the_term_is_data_with_its_source(tmp_path: Path) -> None:
    policy = load_policy()
    assert policy.default_years == 7 and policy.basis == "beleidskeuze"
    assert term_years(Settings(data_dir=tmp_path)) == 7
    assert term_years(Settings(data_dir=tmp_path, retention_years=10)) == 10
    bad = tmp_path / "retention.yaml"
    for content, words in (
        ("default_years: 0\nbasis: x\n", "default_years moet"),
        ("default_years: '7'\nbasis: x\n", "default_years moet"),
        ("default_years: 7\n", "basis ontbreekt"),
        ("- 7\n", "verwacht een YAML-object"),
    ):
        bad.write_text(content)
        with pytest.raises(DataError, match=words):
            load_policy(bad)


def test_retain_until_adds_whole_years() -> None:
    assert retain_until(date(2026, 3, 14), 7) == date(2033, 3, 14)
    assert retain_until(date(2024, 2, 29), 7) == date(2031, 2, 28)
    assert retain_until(date(2024, 2, 29), 4) == date(2028, 2, 29)


# --- retain_until is set by final acts ---------------------------------------------------------


def test_a_besluit_sets_the_date_from_its_letter_date(engine: Engine) -> None:
    decided, _ = add_claim(engine, decided_on=date(2026, 1, 5))
    open_, _ = add_claim(engine, final=None)
    assert stored_until(engine, decided) == date(2033, 1, 5)
    assert stored_until(engine, open_) is None


def test_a_withdrawal_sets_the_date_and_the_configured_term_counts(
    engine: Engine, ring_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        retention,
        "_years",
        term_years(Settings(data_dir=ring_settings.data_dir, retention_years=2)),
    )
    withdrawn, _ = add_claim(engine, final="ingetrokken")
    today = datetime.now(UTC).astimezone(retention._NL).date()
    assert stored_until(engine, withdrawn) == retain_until(today, 2)


def test_later_acts_move_the_date_on_and_never_back(engine: Engine) -> None:
    aanvraag_id, first = add_claim(engine, decided_on=date(2026, 1, 5))
    with Session(engine) as session:
        lock = session.get_one(Aanvraag, aanvraag_id).lock_version

    def correction(number: int, replaces: str, day: date) -> str:
        new_id = uuid.uuid4().hex
        with Session(engine.execution_options(**WRITE)) as session, session.begin():
            old = session.get_one(Besluit, replaces)
            session.add(
                Besluit(
                    id=new_id,
                    aanvraag_id=aanvraag_id,
                    number=number,
                    kind="correctie",
                    advies_id=old.advies_id,
                    outcome="afwijzen",
                    amount_cents=0,
                    motivation="Correctie",
                    attachments=[],
                    decided_by="BO-2",
                    decided_at=datetime.now(UTC),
                    replaces_id=replaces,
                    letter_date=day,
                    letter_context=b"{}",
                    letter_pdf=b"%PDF",
                    letter_sha256=hashlib.sha256(b"%PDF").hexdigest(),
                )
            )
        return new_id

    assert first is not None
    second = correction(2, first, date(2027, 6, 1))
    assert stored_until(engine, aanvraag_id) == date(2034, 6, 1)
    correction(3, second, date(2026, 2, 1))  # an earlier date never shortens the term
    assert stored_until(engine, aanvraag_id) == date(2034, 6, 1)
    with Session(engine) as session:  # the claim's optimistic lock is not touched
        assert session.get_one(Aanvraag, aanvraag_id).lock_version == lock


def test_an_objection_moves_the_date_to_its_registration(engine: Engine) -> None:
    aanvraag_id, _ = add_claim(engine, decided_on=date(2020, 1, 5), objection=True)
    today = datetime.now(UTC).astimezone(retention._NL).date()
    assert stored_until(engine, aanvraag_id) == retain_until(today, 7)


# --- the purge ---------------------------------------------------------------------------------


def test_the_purge_removes_what_is_due_with_everything_under_it(
    engine: Engine, ring_settings: Settings
) -> None:
    due_decided, _ = add_claim(engine)
    due_withdrawn, _ = add_claim(engine, final="ingetrokken")
    kept, _ = add_claim(engine)  # final, but its date lies ahead
    open_claim, _ = add_claim(engine, final=None)
    objected, besluit_id = add_claim(engine, objection=True)
    for claim in (due_decided, due_withdrawn, objected):
        make_due(engine, claim)
    with engine.begin() as c:  # a claim that is not final is never due, whatever its date
        c.execute(
            text("UPDATE aanvraag SET retain_until = :d WHERE id = :id"),
            {"d": date(2000, 1, 1), "id": open_claim},
        )
    before = counts(engine)

    dry = purge(engine, ring_settings, dry_run=True)
    assert [p.aanvraag_id for p in dry.purged] == sorted([due_decided, due_withdrawn])
    assert dry.kept == [(objected, "bezwaar zonder beslissing op bezwaar")]
    assert "te verwijderen (proefdraai" in dry.text()
    assert counts(engine) == before

    report = purge(engine, ring_settings)
    purged = {p.aanvraag_id: p for p in report.purged}
    assert set(purged) == {due_decided, due_withdrawn}
    assert purged[due_decided].counts == {
        "aanvraag_versie": 1,
        "advies": 1,
        "statusovergang": 3,
        "besluit": 1,
        "bezwaar": 0,
        "bijlage": 1,
    }
    after = counts(engine)
    assert after["aanvraag"] == before["aanvraag"] - 2
    assert after["besluit"] == before["besluit"] - 1 and after["bijlage"] == before["bijlage"] - 2
    with Session(engine) as session:
        assert session.get(Aanvraag, due_decided) is None
        for claim in (kept, open_claim, objected):
            assert session.get(Aanvraag, claim) is not None
        assert session.get(Besluit, besluit_id) is not None
        left = set(session.scalars(select(AanvraagVersie.aanvraag_id)))
        assert left == {kept, open_claim, objected}

    # on record, and the chain still verifies
    audit = AuditLog.from_settings(ring_settings)
    entries = [e for e in audit.entries(engine) if e.action == "bewaartermijn.opschonen"]
    assert {e.object_id for e in entries} == {due_decided, due_withdrawn}
    assert all(e.actor == "systeem" and e.result == "gelukt" for e in entries)
    mine = next(e for e in entries if e.object_id == due_decided)
    assert mine.details["verwijderd"]["besluit"] == 1 and mine.details["status"] == "besloten"
    assert after["auditregel"] == before["auditregel"] + 2
    assert audit.verify(engine).ok
    assert purge(engine, ring_settings).purged == []  # nothing left to do


def test_an_objection_decided_on_no_longer_keeps_the_claim(
    engine: Engine, ring_settings: Settings
) -> None:
    aanvraag_id, besluit_id = add_claim(engine, objection=True)
    with Session(engine.execution_options(**WRITE)) as session, session.begin():
        old = session.get_one(Besluit, besluit_id)
        values: dict[str, Any] = {
            c: getattr(old, c)
            for c in ("aanvraag_id", "advies_id", "attachments", "letter_context", "letter_pdf")
        }
        session.add(
            Besluit(
                **values,
                id=uuid.uuid4().hex,
                number=2,
                kind="beslissing_op_bezwaar",
                outcome="toekennen",
                amount_cents=10000,
                motivation="Bezwaar gegrond",
                decided_by="BO-2",
                decided_at=datetime.now(UTC),
                replaces_id=besluit_id,
                letter_date=date(2026, 3, 1),
                letter_sha256=old.letter_sha256,
            )
        )
    make_due(engine, aanvraag_id)
    report = purge(engine, ring_settings)
    assert [p.aanvraag_id for p in report.purged] == [aanvraag_id]
    assert report.purged[0].counts["besluit"] == 2 and report.purged[0].counts["bezwaar"] == 1
    assert counts(engine)["besluit"] == 0


def test_the_purge_needs_the_key_ring_only_for_the_audit_log(
    engine: Engine, ring_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    aanvraag_id, _ = add_claim(engine)
    make_due(engine, aanvraag_id)
    # whatever the keys are now, a purge deletes without decrypting
    monkeypatch.setattr(crypto, "_ring", crypto.KeyRing([("ander", b"\x07" * 32)]))
    assert [p.aanvraag_id for p in purge(engine, ring_settings).purged] == [aanvraag_id]
