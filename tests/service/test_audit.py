"""The audit log: appends chain, the chain survives concurrent writers, and tampering directly
in the database (with the triggers dropped) is named at the first broken entry, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import sessionmaker

from vangnet.service import audit as audit_module
from vangnet.service.audit import (
    GENESIS,
    MAX_DETAILS_BYTES,
    Anchor,
    AuditError,
    AuditEvent,
    AuditLog,
    key_id_for,
)
from vangnet.service.db import WRITE, create_db_engine, migrate
from vangnet.service.settings import Settings

KEY = b"k" * 32
LOG = AuditLog(KEY)
COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "result", "origin",
           "details", "prev_hash", "hash", "key_id")  # fmt: skip


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = create_db_engine(database_url)
    migrate(db)
    try:
        yield db
    finally:
        db.dispose()


def event(n: int = 0, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "actor": f"acc{n:04d}",
        "action": "aanvraag.indienen",
        "result": "gelukt",
        "origin": "192.0.2.7",
        "object_type": "aanvraag",
        "object_id": f"{n:032x}",
        "details": {"n": n, "claim_sha256": "ab" * 32, "ratio": 0.25},
    }
    return AuditEvent(**(fields | changes))


def fill(engine: Engine, count: int, log: AuditLog = LOG) -> None:
    for n in range(count):
        assert log.record(engine, event(n)) == n + 1


@contextmanager
def triggers_dropped(engine: Engine) -> Iterator[None]:
    """The append-only triggers of migration 0004 removed, as an attacker with database
    rights would; put back afterwards (the PostgreSQL database is shared by the session)."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("DROP TRIGGER auditregel_onveranderlijk ON auditregel"))
        else:
            c.execute(text("DROP TRIGGER auditregel_geen_update"))
            c.execute(text("DROP TRIGGER auditregel_geen_delete"))
    try:
        yield
    finally:
        with engine.begin() as c:
            if engine.dialect.name == "postgresql":
                c.execute(
                    text(
                        "CREATE TRIGGER auditregel_onveranderlijk BEFORE UPDATE OR DELETE ON"
                        " auditregel FOR EACH ROW EXECUTE FUNCTION vangnet_onveranderlijk()"
                    )
                )
            else:
                for verb in ("UPDATE", "DELETE"):
                    c.execute(
                        text(
                            f"CREATE TRIGGER auditregel_geen_{verb.lower()} BEFORE {verb} ON"
                            " auditregel BEGIN SELECT RAISE(ABORT, 'auditregel is"
                            f" onveranderlijk: {verb} kan niet'); END"
                        )
                    )


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as c:
        c.execute(text(statement), params)


def row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as c:
        found = c.execute(text("SELECT * FROM auditregel WHERE seq = :s"), {"s": seq}).mappings()
        return dict(found.one())


def insert_raw(engine: Engine, values: dict[str, Any]) -> None:
    from vangnet.service.models import Auditregel

    with engine.begin() as c:
        c.execute(Auditregel.__table__.insert().values(**values))  # type: ignore[attr-defined]


def typed_row(engine: Engine, seq: int) -> dict[str, Any]:
    """A stored entry with its Python values (aware `at`, parsed details)."""
    (entry,) = LOG.entries(engine, start=seq, limit=1)
    values = entry.as_dict()
    values["at"] = entry.at
    return values


# --- writing and reading --------------------------------------------------------------------


def test_an_untouched_log_verifies_empty_and_full(engine: Engine) -> None:
    empty = LOG.verify(engine)
    assert empty.ok and empty.checked == 0 and empty.head.seq == 0
    assert empty.head.hash == GENESIS
    assert "leeg en in orde" in empty.text()
    assert LOG.verify(engine, LOG.anchor(engine)).ok
    fill(engine, 12)
    anchor = LOG.anchor(engine)
    assert anchor.seq == 12 and anchor.key_id == LOG.key_id
    result = LOG.verify(engine, anchor, batch_size=5)  # several batches
    assert result.ok and result.checked == 12 and result.head == anchor
    assert "in orde: 12 regels" in result.text()
    assert result.as_dict()["breach"] is None
    # an older anchor verifies too: the log only grew since
    LOG.record(engine, event(99))
    assert LOG.verify(engine, anchor).ok


def test_entries_chain_and_read_back_exactly(engine: Engine) -> None:
    fill(engine, 3)
    entries = LOG.entries(engine)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[2].details == {"n": 2, "claim_sha256": "ab" * 32, "ratio": 0.25}
    assert all(e.at.tzinfo is not None for e in entries)
    assert [e.seq for e in LOG.entries(engine, start=2, limit=1)] == [2]


def test_entries_for_objects_read_only_theirs_in_order_through_the_index(engine: Engine) -> None:
    fill(engine, 6)
    assert LOG.record(engine, event(9, object_id=f"{1:032x}")) == 7  # a second one about 1
    found = LOG.entries_for(engine, [f"{1:032x}", f"{4:032x}", "onbekend"])
    assert [e.seq for e in found] == [2, 5, 7]
    assert found == [e for e in LOG.entries(engine) if e.seq in (2, 5, 7)]
    assert [e.seq for e in LOG.entries_for(engine, {f"{1:032x}"}, limit=1)] == [2]
    assert LOG.entries_for(engine, []) == []
    with pytest.raises(AuditError, match="hoogstens 500"):
        LOG.entries_for(engine, [str(n) for n in range(501)])
    # the query the log page runs uses the index on object_id, not a scan of the log
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1])
                for r in c.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT seq FROM auditregel WHERE object_id IN ('a', 'b')"
                    )
                )
            )
            assert "ix_auditregel_object_id" in plan, plan
        else:
            c.execute(text("SET enable_seqscan = off"))
            plan = " ".join(
                str(r[0])
                for r in c.execute(
                    text("EXPLAIN SELECT seq FROM auditregel WHERE object_id IN ('a', 'b')")
                )
            )
            assert "ix_auditregel_object_id" in plan, plan


def test_the_hash_is_the_documented_hmac(engine: Engine) -> None:
    """docs/audit.md: an outside verifier can recompute every hash from the entry and the key."""
    import hashlib
    import hmac

    from vangnet.canonical import canonical_json

    fill(engine, 2)
    for entry in LOG.entries(engine):
        fields = entry.as_dict()
        message = canonical_json({k: v for k, v in fields.items() if k != "hash"})
        assert fields["at"].endswith("Z") and len(fields["at"]) == len(
            "2026-11-28T09:15:02.123456Z"
        )
        assert hmac.new(KEY, message, hashlib.sha256).hexdigest() == entry.hash


def test_microseconds_survive_the_round_trip(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = datetime(2026, 11, 28, 9, 15, 2, 123456, tzinfo=UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            return cls.fromtimestamp(moment.timestamp(), tz)

    monkeypatch.setattr(audit_module, "datetime", Clock)
    LOG.record(engine, event(1))
    monkeypatch.undo()
    (entry,) = LOG.entries(engine)
    assert entry.at == moment
    assert entry.as_dict()["at"] == "2026-11-28T09:15:02.123456Z"
    assert LOG.verify(engine).ok


def test_an_append_rolled_back_with_its_transaction_leaves_nothing(engine: Engine) -> None:
    write = sessionmaker(engine.execution_options(**WRITE))
    with pytest.raises(RuntimeError), write() as session, session.begin():
        assert LOG.append(session, event(1)) == 1
        raise RuntimeError("the action failed")
    assert LOG.entries(engine) == []
    with engine.connect().execution_options(**WRITE) as c:
        with c.begin() as transaction:
            LOG.append(c, event(1))
            transaction.rollback()
        with c.begin():
            assert LOG.append(c, event(2)) == 1  # the rolled-back seq is reused: no gap
    assert [e.actor for e in LOG.entries(engine)] == ["acc0002"]
    assert LOG.verify(engine).ok


def test_append_needs_an_open_transaction(engine: Engine) -> None:
    write = sessionmaker(engine.execution_options(**WRITE))
    with write() as session, pytest.raises(AuditError, match="geen open transactie"):
        LOG.append(session, event())
    with (
        engine.connect().execution_options(**WRITE) as c,
        pytest.raises(AuditError, match="geen open transactie"),
    ):
        LOG.append(c, event())


def test_on_sqlite_append_refuses_a_transaction_that_is_not_writing(tmp_path: Any) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    migrate(db)
    try:
        with (
            sessionmaker(db)() as session,
            session.begin(),
            pytest.raises(AuditError, match="BEGIN IMMEDIATE"),
        ):
            LOG.append(session, event())
        with db.connect() as c, c.begin(), pytest.raises(AuditError, match="WRITE"):
            LOG.append(c, event())
        assert LOG.entries(db) == []
    finally:
        db.dispose()


def test_the_database_refuses_update_and_delete(engine: Engine) -> None:
    fill(engine, 2)
    for statement in ("UPDATE auditregel SET actor = 'x' WHERE seq = 1",
                      "DELETE FROM auditregel WHERE seq = 2"):  # fmt: skip
        with pytest.raises(DBAPIError, match="onveranderlijk"):
            sql(engine, statement)
    assert LOG.verify(engine).ok


def test_two_writers_cannot_both_take_a_seq(engine: Engine) -> None:
    """The primary key is the last guard: a forged entry with a taken seq is refused."""
    fill(engine, 1)
    values = row(engine, 1)
    with pytest.raises(IntegrityError):
        insert_raw(engine, typed_row(engine, 1) | {"hash": values["hash"]})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"result": "misschien"}, "result"),
        ({"actor": ""}, "actor"),
        ({"origin": "x" * 65}, "origin: hoogstens 64"),
        ({"object_id": "x" * 65}, "object_id"),
        ({"details": {"blob": "x" * MAX_DETAILS_BYTES}}, "details: .* bytes, de grens is 4096"),
        ({"details": {"bedrag": {1, 2}}}, "details: alleen JSON"),
        ({"details": {"naïef": 1}}, "ASCII"),
        ({"details": {"big": 2**60}}, "details"),
        ({"details": ["not", "a", "mapping"]}, "details: moet een object"),
    ],
)
def test_bad_events_are_refused_with_the_field_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(AuditError, match=message):
        event(**changes)


def test_the_key_id_names_the_key_without_revealing_it(tmp_path: Any) -> None:
    assert LOG.key_id == key_id_for(KEY) and len(LOG.key_id) == 16
    assert KEY.hex()[:8] not in LOG.key_id
    assert "kkkk" not in repr(LOG)
    configured = Settings(env="test", data_dir=tmp_path, audit_key="s" * 40)
    assert AuditLog.from_settings(configured).key_id == key_id_for(b"s" * 40)
    development = Settings(env="test", data_dir=tmp_path)
    first, second = AuditLog.from_settings(development), AuditLog.from_settings(development)
    assert first.key_id == second.key_id  # the development key is made once and kept
    assert (tmp_path / "secrets" / "audit.key").stat().st_mode & 0o077 == 0
    with pytest.raises(AuditError, match="32 bytes"):
        AuditLog(b"short")


def test_an_anchor_reads_back_and_bad_anchors_are_named() -> None:
    anchor = Anchor(seq=3, hash="a" * 64, key_id="0123456789abcdef",
                    at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))  # fmt: skip
    assert Anchor.from_json(anchor.to_json()) == anchor
    for bad, field in [
        ("[1]", "JSON-object"),
        ("{", "geen geldige JSON"),
        ('{"seq": -1, "hash": "' + "a" * 64 + '", "key_id": "x"}', "seq"),
        ('{"seq": 1, "hash": "xyz", "key_id": "x"}', "hash"),
        ('{"seq": 1, "hash": "' + "a" * 64 + '"}', "key_id"),
        ('{"seq": 1, "hash": "' + "a" * 64 + '", "key_id": "x", "at": "gisteren"}', "at"),
        ('{"seq": 0, "hash": "' + "a" * 64 + '", "key_id": "x"}', "seq 0"),
    ]:
        with pytest.raises(AuditError, match=field):
            Anchor.from_json(bad)


def test_an_anchor_of_another_key_is_refused(engine: Engine) -> None:
    other = AuditLog(b"o" * 32)
    with pytest.raises(AuditError, match="hoort bij sleutel"):
        LOG.verify(engine, other.anchor(engine))


# --- rotating the key ----------------------------------------------------------------------

OLD_KEY = b"o" * 32
NEW_KEY = b"n" * 32


def test_after_a_rotation_the_chain_runs_on_and_both_keys_verify(engine: Engine) -> None:
    old = AuditLog(OLD_KEY)
    fill(engine, 3, old)
    before = old.anchor(engine)
    rotated = AuditLog(NEW_KEY, previous=[OLD_KEY])
    assert rotated.key_ids == (key_id_for(NEW_KEY), key_id_for(OLD_KEY))
    assert rotated.record(engine, event(3)) == 4  # new entries: the new key, the same chain
    assert [e.key_id for e in rotated.entries(engine)] == [old.key_id] * 3 + [rotated.key_id]
    assert row(engine, 4)["prev_hash"] == before.hash

    result = rotated.verify(engine, before)  # an anchor made before the rotation still counts
    assert result.ok, result.text()
    spans = [(k.key_id, k.first, k.last) for k in result.keys]
    assert spans == [(old.key_id, 1, 3), (rotated.key_id, 4, 4)]
    assert f"sleutel {old.key_id} voor regel 1 tot en met 3" in result.text()
    assert result.as_dict()["keys"][1] == {"key_id": rotated.key_id, "first": 4, "last": 4}
    # without the previous key, the old entries cannot be checked, and the message says how
    breach = AuditLog(NEW_KEY).verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (1, "onbekende_sleutel")
    assert "VANGNET_AUDIT_KEYS_PREVIOUS" in breach.text


def test_a_retired_key_cannot_add_entries_after_the_rotation(engine: Engine) -> None:
    old = AuditLog(OLD_KEY)
    fill(engine, 2, old)
    rotated = AuditLog(NEW_KEY, previous=[OLD_KEY])
    rotated.record(engine, event(2))
    old.record(engine, event(3, action="besluit.nemen"))  # someone kept the old key
    breach = rotated.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (4, "oude_sleutel")
    assert "na regel 2 is vervangen" in breach.text


def test_previous_keys_are_checked_when_the_log_is_made() -> None:
    with pytest.raises(AuditError, match="vorige sleutel 1 van de auditlog"):
        AuditLog(NEW_KEY, previous=[b"kort"])
    with pytest.raises(AuditError, match="vorige sleutel 2 is de huidige sleutel"):
        AuditLog(NEW_KEY, previous=[OLD_KEY, NEW_KEY])


def test_the_previous_keys_come_from_the_environment(tmp_path: Any) -> None:
    from vangnet.service.settings import SettingsError

    old_text, older_text = "o" * 40, "p" * 40
    env = {
        "VANGNET_DATA_DIR": str(tmp_path),
        "VANGNET_AUDIT_KEY": "n" * 40,
        "VANGNET_AUDIT_KEYS_PREVIOUS": f" {older_text}  {old_text} ",
    }
    log = AuditLog.from_settings(Settings.from_env(env))
    assert log.key_ids == (
        key_id_for(b"n" * 40),
        key_id_for(older_text.encode()),
        key_id_for(old_text.encode()),
    )
    with pytest.raises(SettingsError, match="sleutel 2 is korter dan 32 tekens"):
        Settings.from_env(env | {"VANGNET_AUDIT_KEYS_PREVIOUS": f"{old_text} kort"})


def test_a_verification_is_recorded_and_read_back_as_it_was(engine: Engine) -> None:
    """The auditor's page records each verification as an entry (`Verification.summary`) and
    shows the newest one (`latest_for`, `from_summary`): the same outcome, intact or broken."""
    old = AuditLog(OLD_KEY)
    fill(engine, 2, old)
    rotated = AuditLog(NEW_KEY, previous=[OLD_KEY])
    for n in (2, 3):
        rotated.record(engine, event(n))
    outcomes = [rotated.verify(engine, rotated.anchor(engine))]
    old.record(engine, event(9))  # a retired key signs again: broken
    outcomes.append(rotated.verify(engine))
    assert outcomes[0].ok and outcomes[1].breach is not None
    for outcome in outcomes:
        rotated.record(
            engine,
            event(0, action="auditlog.verifieren", object_id="keten", details=outcome.summary()),
        )
        latest = rotated.latest_for(engine, "keten", "auditlog.verifieren")
        assert latest is not None
        assert type(outcome).from_summary(latest.details) == outcome
    assert rotated.latest_for(engine, "keten", "iets.anders") is None
    for bad in ({}, {"heel": True}, outcomes[1].summary() | {"heel": True}):
        with pytest.raises(AuditError, match="geen uitkomst van een controle"):
            type(outcomes[0]).from_summary(bad)


# --- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "acc9999"),
        ("action", "besluit.nemen"),
        ("object_type", "besluit"),
        ("object_id", None),
        ("result", "geweigerd"),
        ("origin", "198.51.100.1"),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
    ],
)
def test_a_changed_field_is_named(engine: Engine, column: str, value: Any) -> None:
    fill(engine, 6)
    with triggers_dropped(engine):
        sql(engine, f"UPDATE auditregel SET {column} = :v WHERE seq = 4", v=value)  # noqa: S608
    result = LOG.verify(engine)
    assert not result.ok and result.breach is not None
    assert (result.breach.seq, result.breach.kind) == (4, "veranderd")
    assert result.checked == 4
    assert "regel 4 (veranderd)" in result.text()
    assert result.as_dict()["breach"]["seq"] == 4


def test_changed_time_and_details_are_named(engine: Engine) -> None:
    fill(engine, 5)
    entry = typed_row(engine, 2)
    with triggers_dropped(engine), engine.begin() as c:
        from vangnet.service.models import Auditregel

        table = Auditregel.__table__
        c.execute(
            table.update()  # type: ignore[attr-defined]
            .where(table.c.seq == 2)  # type: ignore[attr-defined]
            .values(at=entry["at"] + timedelta(microseconds=1))
        )
        c.execute(
            table.update()  # type: ignore[attr-defined]
            .where(table.c.seq == 3)  # type: ignore[attr-defined]
            .values(details={"n": 2, "claim_sha256": "ab" * 32, "ratio": 0.5})
        )
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (2, "veranderd")


def test_unreadable_details_are_named_not_a_crash(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's json type refuses text that is not JSON")
    fill(engine, 3)
    with triggers_dropped(engine):
        sql(engine, "UPDATE auditregel SET details = '{kapot' WHERE seq = 2")
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (2, "veranderd")
    assert "niet te lezen" in breach.text
    with pytest.raises(AuditError, match="regel 2 is niet te lezen"):
        LOG.entries(engine)


def test_a_changed_key_id_is_named(engine: Engine) -> None:
    fill(engine, 3)
    with triggers_dropped(engine):
        sql(engine, "UPDATE auditregel SET key_id = 'anders' WHERE seq = 2")
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (2, "onbekende_sleutel")


@pytest.mark.parametrize("removed", [1, 4, 7])
def test_a_removed_entry_is_named_as_the_gap(engine: Engine, removed: int) -> None:
    fill(engine, 8)
    with triggers_dropped(engine):
        sql(engine, "DELETE FROM auditregel WHERE seq = :s", s=removed)
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (removed, "verwijderd")
    assert f"regel {removed} ontbreekt" in breach.text


def test_several_removed_entries_are_named_from_the_first(engine: Engine) -> None:
    fill(engine, 8)
    with triggers_dropped(engine):
        sql(engine, "DELETE FROM auditregel WHERE seq IN (3, 4, 5)")
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (3, "verwijderd")
    assert "regels 3 tot en met 5 ontbreken" in breach.text


def test_a_removed_entry_with_the_rest_renumbered_is_named(engine: Engine) -> None:
    fill(engine, 6)
    with triggers_dropped(engine):
        sql(engine, "DELETE FROM auditregel WHERE seq = 3")
        for seq in (4, 5, 6):
            sql(engine, "UPDATE auditregel SET seq = :n WHERE seq = :s", n=seq - 1, s=seq)
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (3, "verwijderd")


def test_a_forged_entry_with_a_wrong_key_is_named(engine: Engine) -> None:
    fill(engine, 4)
    forger = AuditLog(b"f" * 32, key_id=LOG.key_id)  # pretends to be the real key
    forger.record(engine, event(7, actor="acc0001", action="besluit.nemen"))
    breach = LOG.verify(engine).breach
    assert breach is not None and breach.seq == 5 and breach.kind == "veranderd"
    assert "zonder de sleutel" in breach.text
    assert forger.verify(engine).breach is not None  # the forger's own view breaks at 1


def test_a_copied_entry_is_named_as_inserted(engine: Engine) -> None:
    fill(engine, 4)
    insert_raw(engine, typed_row(engine, 2) | {"seq": 5})
    breach = LOG.verify(engine).breach
    assert breach is not None and (breach.seq, breach.kind) == (5, "ingevoegd")
    assert "kopie van regel 2" in breach.text


def test_an_entry_inserted_in_the_middle_is_named(engine: Engine) -> None:
    fill(engine, 6)
    with triggers_dropped(engine):
        for seq in (6, 5, 4):  # make room at 4
            sql(engine, "UPDATE auditregel SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    forged = typed_row(engine, 3) | {"seq": 4, "prev_hash": row(engine, 3)["hash"],
                                     "actor": "acc0666", "hash": "d" * 64}  # fmt: skip
    insert_raw(engine, forged)
    result = LOG.verify(engine)
    assert result.breach is not None
    assert (result.breach.seq, result.breach.kind) == (4, "ingevoegd")
    assert "ertussen gezet" in result.breach.text


def test_a_cut_tail_is_found_only_with_the_anchor(engine: Engine) -> None:
    fill(engine, 8)
    anchor = LOG.anchor(engine)
    with triggers_dropped(engine):
        sql(engine, "DELETE FROM auditregel WHERE seq > 5")
    without = LOG.verify(engine)
    assert without.ok  # what is left is a whole chain
    assert "Zonder anker" in without.text()
    result = LOG.verify(engine, anchor)
    assert not result.ok and result.breach is not None
    assert (result.breach.seq, result.breach.kind) == (6, "afgekapt")
    assert "regels 6 tot en met 8 zijn weggehaald" in result.breach.text
    assert "regel 6 (afgekapt)" in result.text()


def test_a_cut_and_refilled_tail_is_found_with_the_anchor(engine: Engine) -> None:
    fill(engine, 6)
    anchor = LOG.anchor(engine)
    with triggers_dropped(engine):
        sql(engine, "DELETE FROM auditregel WHERE seq > 3")
    fill_from = [LOG.record(engine, event(50 + n)) for n in range(4)]
    assert fill_from == [4, 5, 6, 7]
    assert LOG.verify(engine).ok
    breach = LOG.verify(engine, anchor).breach
    assert breach is not None and (breach.seq, breach.kind) == (6, "afgekapt")


def test_an_emptied_log_is_found_with_the_anchor(engine: Engine) -> None:
    fill(engine, 3)
    anchor = LOG.anchor(engine)
    with triggers_dropped(engine):
        sql(engine, "DELETE FROM auditregel")
    assert LOG.verify(engine).ok
    breach = LOG.verify(engine, anchor).breach
    assert breach is not None and (breach.seq, breach.kind) == (1, "afgekapt")


# --- any single change anywhere is detected -------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                min_size=1, max_size=30)  # fmt: skip
_HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**52), 2**52) | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet="abcdefgh_", max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _new_value(column: str, old: Any, draw: st.DrawFn, count: int) -> Any:
    strategy: st.SearchStrategy[Any] = {
        "seq": st.integers(count + 1, 10**9),
        "at": st.integers(1, 10**12).map(lambda us: old + timedelta(microseconds=us))
        | st.integers(1, 10**12).map(lambda us: old - timedelta(microseconds=us)),
        "result": st.sampled_from(["gelukt", "geweigerd", "mislukt"]),
        "details": st.dictionaries(st.text(alphabet="abcdefgh_", max_size=8), _JSON, max_size=4),
        "prev_hash": _HEX64,
        "hash": _HEX64,
        "object_type": st.none() | _TEXT,
        "object_id": st.none() | _TEXT,
    }.get(column, _TEXT)
    return draw(strategy.filter(lambda v: v != old))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_field_change_anywhere_is_detected(engine: Engine, data: st.DataObject) -> None:
    from vangnet.service.models import Auditregel

    table = Auditregel.__table__
    if not LOG.entries(engine):
        fill(engine, 5)
    seq = data.draw(st.integers(1, 5), label="seq")
    column = data.draw(st.sampled_from(COLUMNS), label="column")
    old = typed_row(engine, seq)[column]
    new = _new_value(column, old, data.draw, 5)
    target = table.c.seq == seq  # type: ignore[attr-defined]
    with triggers_dropped(engine):
        with engine.begin() as c:
            c.execute(table.update().where(target).values({column: new}))  # type: ignore[attr-defined]
        try:
            breach = LOG.verify(engine).breach
        finally:
            back = table.c.seq == (new if column == "seq" else seq)  # type: ignore[attr-defined]
            with engine.begin() as c:
                c.execute(table.update().where(back).values({column: old}))  # type: ignore[attr-defined]
    assert breach is not None, f"{column} of entry {seq} changed unnoticed"
    assert breach.seq == seq
    assert LOG.verify(engine).ok


# --- concurrent writers ---------------------------------------------------------------------

WRITERS = 3
PER_WRITER = 40


def _append_many(url: str, writer: int, start: Any) -> None:
    """A separate OS process appending entries, each in its own transaction."""
    db = create_db_engine(url)
    try:
        start.wait()
        for n in range(PER_WRITER):
            LOG.record(db, event(writer * 1000 + n, actor=f"writer{writer}"))
    finally:
        db.dispose()


def test_concurrent_processes_make_one_unbroken_chain(engine: Engine, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [
        context.Process(target=_append_many, args=(database_url, w, start)) for w in range(WRITERS)
    ]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(timeout=300)
    assert [p.exitcode for p in processes] == [0] * WRITERS
    total = WRITERS * PER_WRITER
    with engine.connect() as c:
        seqs = [r[0] for r in c.execute(text("SELECT seq FROM auditregel ORDER BY seq"))]
    assert seqs == list(range(1, total + 1))
    result = LOG.verify(engine)
    assert result.ok and result.checked == total
    actors = [e.actor for e in LOG.entries(engine, limit=total)]
    assert {a: actors.count(a) for a in set(actors)} == {
        f"writer{w}": PER_WRITER for w in range(WRITERS)
    }
    # the writers really interleaved (not one after the other)
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches >= 2
