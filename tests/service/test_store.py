"""Storage: the migrations make exactly the models' tables, a change is one transaction (with
its audit-log entry), and two changes at once never both win; on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.claim import canonical_claim, decode_json, parse_claim
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service import store as store_module
from vangnet.service.audit import AuditEvent, AuditLog
from vangnet.service.db import alembic_config, create_db_engine, downgrade, migrate
from vangnet.service.identity import Identity
from vangnet.service.models import (
    Aanvraag,
    AanvraagVersie,
    Advies,
    Auditregel,
    Base,
    Statusovergang,
)
from vangnet.service.settings import Settings, SettingsError, database_url
from vangnet.service.store import (
    Conflict,
    Evaluated,
    IdempotencyConflict,
    NewBesluit,
    NewClaim,
    NotFound,
    Store,
    TransitionRefused,
    cents,
)
from vangnet.workers import EngineWorkers

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
# who acts: an aanvrager of a municipality, of another one, and a beoordelaar of BZK
GM = Identity("a" * 32, "GM9901", "aanvrager", "aanvrager-gm", "127.0.0.1", "token")
GM2 = Identity("b" * 32, "GM9902", "aanvrager", "aanvrager-gm2", "127.0.0.1", "token")
BZK = Identity("c" * 32, "BZK", "beoordelaar", "beoordelaar-bzk", "127.0.0.1", "token")
TABLES = {
    "aanvraag",
    "aanvraag_versie",
    "advies",
    "statusovergang",
    "besluit",
    "bezwaar",
    "bijlage",
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine, AuditLog(b"k" * 32))


def entries(store: Store) -> list[dict[str, Any]]:
    return [e.as_dict() for e in store.audit.entries(store.engine, limit=1000)]


@pytest.fixture
def evaluate(workers: EngineWorkers, validator: Decider) -> Any:
    def run(**changes: Any) -> Evaluated:
        data = copy.deepcopy(P06) | changes
        claim = validator.validate(data)
        kind, decision = workers.decide(data)
        assert kind == "decision"
        canonical = canonical_claim(claim)
        return Evaluated(
            claim_json=canonical,
            claim_sha256=hashlib.sha256(canonical).hexdigest(),
            scheme=claim.scheme,
            reference_date=claim.reference_date,
            decision=decision,
        )

    return run


def count(engine: Engine, model: type[Base]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- migrations -------------------------------------------------------------------------------


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect the expression index of the idempotency key (PostgreSQL can,
        # and there it is compared too)
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_the_migrations_make_exactly_the_models_tables(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert _differences(engine) == []


def test_migrations_go_down_and_up_again_and_run_once_at_a_time(engine: Engine) -> None:
    try:
        downgrade(engine, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        errors: list[BaseException] = []

        def up() -> None:
            try:
                migrate(engine)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=up) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        migrate(engine)
    assert _differences(engine) == []
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head


def test_migrate_takes_a_url_and_makes_the_data_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nieuw' / 'vangnet.sqlite3'}"
    migrate(url)
    migrate(url)  # nothing pending: nothing happens
    assert (tmp_path / "nieuw" / "vangnet.sqlite3").exists()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'v.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()


def test_foreign_keys_hold(engine: Engine) -> None:
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(
            AanvraagVersie(
                aanvraag_id="0" * 32,
                number=1,
                claim_json=b"{}",
                claim_sha256="0" * 64,
                created_at=datetime.now(UTC),
            )
        )


# --- storing ----------------------------------------------------------------------------------


def test_a_submission_stores_the_claim_and_the_advice_exactly(
    store: Store, engine: Engine, evaluate: Any
) -> None:
    evaluated = evaluate()
    body, replayed = store.submit(evaluated, identity=GM, decider="BZK")
    assert not replayed and body["status"] == "ingediend"
    with Session(engine) as session:
        aanvraag = session.get(Aanvraag, body["id"])
        assert aanvraag is not None
        assert aanvraag.claimed_total_cents == 1935000 and aanvraag.eligible_total_cents == 1685000
        assert aanvraag.owner_id == "GM9901" and aanvraag.decider_id == "BZK"
        assert aanvraag.lock_version == 1
        assert aanvraag.created_at.tzinfo is UTC
        version = session.scalars(select(AanvraagVersie)).one()
        assert version.claim_json == canonical_claim(parse_claim(P06))
        assert hashlib.sha256(version.claim_json).hexdigest() == version.claim_sha256
        advice = session.scalars(select(Advies)).one()
        assert advice.decision_json == dumps(dict(evaluated.decision)).encode()
        assert advice.claim_sha256 == version.claim_sha256
        assert advice.ruleset_id == "vangnet" and advice.ruleset_version == "2016.1"
        assert advice.evaluated_at.tzinfo is UTC
        assert decode_json(advice.decision_json)["receipt"]["engine"] == advice.engine
        assert session.scalars(select(Statusovergang)).one().to_status == "ingediend"


def test_a_failed_submission_leaves_nothing_behind(
    store: Store, engine: Engine, evaluate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store_module._advice_row

    def broken(*args: Any) -> Advies:
        advice = real(*args)
        advice.engine = None  # type: ignore[assignment] - NOT NULL: the flush fails
        return advice

    monkeypatch.setattr(store_module, "_advice_row", broken)
    with pytest.raises(IntegrityError) as caught:
        store.submit(evaluate(), identity=GM, decider="BZK")
    assert "Voorbeeld" not in str(caught.value)  # no claim data in errors (or logs)
    for model in (Aanvraag, AanvraagVersie, Advies, Statusovergang, Auditregel):
        assert count(engine, model) == 0, model


def test_a_change_and_its_audit_entry_are_one_transaction(
    store: Store, engine: Engine, evaluate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, _ = store.submit(evaluate(), identity=GM, decider="BZK")
    store.transition(body["id"], "in-behandeling", identity=BZK, reason="Opgepakt door team B.")
    logged = entries(store)
    assert [(e["action"], e["actor"], e["object_id"]) for e in logged] == [
        ("aanvraag.indienen", GM.actor, body["id"]),
        ("aanvraag.in_behandeling_nemen", BZK.actor, body["id"]),
    ]
    assert logged[0]["details"]["claim_sha256"] == body["claim_sha256"]
    assert logged[1]["details"] == {"van": "ingediend", "naar": "in_behandeling"}
    # never the claim's content or free text
    text = json.dumps(logged)
    for secret in ("Voorbeeld", "Opgepakt", P06["measures"][0]["description"]):
        assert secret not in text

    # when the entry cannot be written, the change is not made either
    def broken(*args: Any) -> None:
        raise RuntimeError("de auditlog is onbereikbaar")

    monkeypatch.setattr(store.audit, "append", broken)
    with pytest.raises(RuntimeError):
        store.transition(body["id"], "intrekking", identity=GM)
    with pytest.raises(RuntimeError):
        store.submit(evaluate(claim_id="TWEEDE"), identity=GM, decider="BZK")
    assert store.get(body["id"])["status"] == "in_behandeling"
    assert count(engine, Aanvraag) == 1 and len(entries(store)) == 2


def test_idempotency_keys_are_per_owner(store: Store, evaluate: Any) -> None:
    first, _ = store.submit(evaluate(), identity=GM, decider="BZK", idempotency_key="k")
    again, replayed = store.submit(evaluate(), identity=GM, decider="BZK", idempotency_key="k")
    assert replayed and again["id"] == first["id"]
    with pytest.raises(IdempotencyConflict):
        store.submit(evaluate(claim_id="ANDER"), identity=GM, decider="BZK", idempotency_key="k")
    other, replayed = store.submit(evaluate(), identity=GM2, decider="BZK", idempotency_key="k")
    assert not replayed and other["id"] != first["id"]
    assert store.page(owner="GM9902")[1] == 1 and store.page()[1] == 2
    assert store.page(decider="BZK")[1] == 2 and store.page(decider="GM9902")[1] == 0
    assert store.ref(first["id"]).owner_id == "GM9901"
    assert store.ref(other["id"]).owner_id == "GM9902"


def test_a_lost_idempotency_race_returns_the_winner(
    store: Store, engine: Engine, evaluate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, _ = store.submit(evaluate(), identity=GM, decider="BZK", idempotency_key="race")
    real = Store._replay
    calls: list[int] = []

    def blind(self: Store, *args: Any) -> Any:
        # the first check misses the winner, as when both requests checked at once
        calls.append(1)
        return None if len(calls) == 1 else real(self, *args)

    monkeypatch.setattr(Store, "_replay", blind)
    body, replayed = store.submit(evaluate(), identity=GM, decider="BZK", idempotency_key="race")
    assert replayed and body["id"] == winner["id"] and len(calls) == 2
    assert count(engine, Aanvraag) == 1


# --- storing in batches (bulk work: the synthetic portfolio) ---------------------------------

LOAD = AuditEvent(
    actor="systeem",
    action="demo.portefeuille_laden",
    result="gelukt",
    origin="cli",
    details={"seed": 7},
)


def test_a_batch_is_stored_as_submissions_with_one_entry(
    store: Store, engine: Engine, evaluate: Any
) -> None:
    batch = [
        NewClaim(evaluate(claim_id=f"B-{n}"), "GM9901" if n % 2 else "GM9902", "BZK", f"k{n}")
        for n in range(3)
    ]
    ids = store.submit_many(batch, event=LOAD)
    assert len(ids) == 3 and all(ids) and len(set(ids)) == 3
    # each exactly as `submit` would have stored it
    single, _ = store.submit(batch[0].evaluated, identity=GM2, decider="BZK")
    first = store.get(ids[0] or "")
    for field in ("claim_id", "scheme", "status", "claim_version", "outcome",
                  "claimed_total_eur", "eligible_total_eur", "claim_sha256", "claim",
                  "allowed_transitions"):  # fmt: skip
        assert first[field] == single[field], field
    assert [a["decision"] for a in first["advices"]] == [a["decision"] for a in single["advices"]]
    assert [h["to_status"] for h in first["history"]] == ["ingediend"]
    assert store.ref(ids[1] or "").owner_id == "GM9901"
    assert store.ref(ids[2] or "").owner_id == "GM9902"
    assert store.ref(ids[2] or "").decider_id == "BZK"
    with Session(engine) as session:
        keys = session.scalars(select(Aanvraag.idempotency_key).where(Aanvraag.id.in_(ids)))
        assert sorted(k or "" for k in keys) == ["k0", "k1", "k2"]
    # one entry for the batch (and one for the single submission): parameters and a digest
    logged = entries(store)
    assert [e["action"] for e in logged] == ["demo.portefeuille_laden", "aanvraag.indienen"]
    digest = hashlib.sha256("".join(c.evaluated.claim_sha256 for c in batch).encode()).hexdigest()
    assert logged[0]["details"] == {
        "seed": 7, "aanvragen": 3, "eerste": "B-0", "laatste": "B-2", "claims_sha256": digest,
    }  # fmt: skip
    assert logged[0]["actor"] == "systeem" and logged[0]["object_id"] is None
    assert "Voorbeeld" not in json.dumps(logged)
    assert store.audit.verify(engine).ok


def test_a_batch_skips_what_is_stored_under_its_key(
    store: Store, engine: Engine, evaluate: Any
) -> None:
    before, _ = store.submit(evaluate(), identity=GM, decider="BZK", idempotency_key="k1")
    evaluated = evaluate(claim_id="NIEUW")
    batch = [
        NewClaim(evaluated, "GM9901", "BZK", "k1"),  # stored before by GM9901
        NewClaim(evaluated, "GM9902", "BZK", "k1"),  # another owner: its own key space
        NewClaim(evaluated, "GM9902", "BZK", "k1"),  # twice in the batch
        NewClaim(evaluated, None, None, None),  # no key: always new
    ]
    ids = store.submit_many(batch, event=LOAD)
    assert ids[0] is None and ids[2] is None and ids[1] and ids[3]
    assert count(engine, Aanvraag) == 3
    assert store.get(before["id"])["claim_id"] == before["claim_id"]
    assert entries(store)[-1]["details"]["aanvragen"] == 2
    # nothing new: nothing written, no entry
    assert store.submit_many(batch[:3], event=LOAD) == [None, None, None]
    assert store.submit_many([], event=LOAD) == []
    assert count(engine, Aanvraag) == 3 and len(entries(store)) == 2


def test_a_batch_is_all_or_nothing(
    store: Store, engine: Engine, evaluate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("de auditlog is onbereikbaar")

    monkeypatch.setattr(store.audit, "append", broken)
    batch = [NewClaim(evaluate(claim_id=f"C-{n}"), "GM9901", "BZK", f"c{n}") for n in range(3)]
    with pytest.raises(RuntimeError):
        store.submit_many(batch, event=LOAD)
    monkeypatch.undo()
    for model in (Aanvraag, AanvraagVersie, Advies, Statusovergang, Auditregel):
        assert count(engine, model) == 0, model
    # a batch's entry gets its counts from the store, never from the caller
    with pytest.raises(ValueError, match="aanvragen"):
        store.submit_many(batch, event=AuditEvent(**{**_fields(LOAD), "details": {"aanvragen": 1}}))
    assert count(engine, Aanvraag) == 0


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {f: getattr(event, f) for f in event.__dataclass_fields__}


# --- changing ---------------------------------------------------------------------------------


def test_a_change_based_on_an_old_read_is_a_conflict(store: Store, evaluate: Any) -> None:
    body, _ = store.submit(evaluate(), identity=GM, decider="BZK")
    store.transition(body["id"], "in-behandeling", identity=BZK)
    store.transition(body["id"], "aanvullingsverzoeken", identity=BZK, reason="De offerte.")
    seen = store.snapshot(body["id"])
    # meanwhile the claim is withdrawn
    store.transition(body["id"], "intrekking", identity=GM)
    with pytest.raises(Conflict) as caught:
        store.transition(
            body["id"],
            "aanvullingen",
            identity=GM,
            evaluated=evaluate(),
            expected_lock=seen.lock_version,
        )
    assert not isinstance(caught.value, TransitionRefused)
    assert caught.value.status == "ingetrokken" and caught.value.allowed == []
    after = store.get(body["id"])
    assert after["claim_version"] == 1 and len(after["advices"]) == 1


def test_every_update_checks_the_lock_version(store: Store, engine: Engine, evaluate: Any) -> None:
    body, _ = store.submit(evaluate(), identity=GM, decider="BZK")
    with Session(engine, expire_on_commit=False) as session:
        stale = session.get(Aanvraag, body["id"])
    assert stale is not None
    store.transition(body["id"], "in-behandeling", identity=BZK)
    with pytest.raises(StaleDataError), Session(engine) as session, session.begin():
        mine = session.merge(stale, load=False)
        mine.status = "ingetrokken"
    assert store.get(body["id"])["status"] == "in_behandeling"


def test_concurrent_transitions_one_wins(store: Store, evaluate: Any) -> None:
    body, _ = store.submit(evaluate(), identity=GM, decider="BZK")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def act(name: str) -> None:
        barrier.wait()
        try:
            store.transition(body["id"], name, identity=GM)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    names = ["intrekking"] * 3 + ["in-behandeling"] * 3
    threads = [threading.Thread(target=act, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = store.get(body["id"])["history"]
    # at most one of each kind wins; a withdrawal after treatment started is a valid step
    assert outcomes.count("won") == len(history) - 1 in (1, 2)
    steps = [(h["from_status"], h["to_status"]) for h in history[1:]]
    assert steps in (
        [("ingediend", "ingetrokken")],
        [("ingediend", "in_behandeling"), ("in_behandeling", "ingetrokken")],
    )


def test_a_page_takes_several_statuses_and_the_oldest_first(store: Store, evaluate: Any) -> None:
    ids = [
        store.submit(evaluate(claim_id=f"C{n}"), identity=GM, decider="BZK")[0]["id"]
        for n in range(4)
    ]
    store.transition(ids[1], "in-behandeling", identity=BZK)
    store.transition(ids[2], "intrekking", identity=GM)
    open_ = ("ingediend", "in_behandeling")
    items, total = store.page(decider="BZK", statuses=open_, oldest_first=True)
    assert total == 3 and [a["id"] for a in items] == [ids[0], ids[1], ids[3]]
    items, total = store.page(decider="BZK", statuses=open_)  # newest first, as before
    assert total == 3 and [a["id"] for a in items] == [ids[3], ids[1], ids[0]]
    second, total = store.page(statuses=open_, oldest_first=True, page=2, size=2)
    assert total == 3 and [a["id"] for a in second] == [ids[3]]
    assert store.page(statuses=open_, status="ingediend")[1] == 2  # both filters hold
    assert store.page(statuses=())[1] == 0
    assert store.page(decider="GM9902", statuses=open_)[1] == 0


def _decided(store: Store, aanvraag_id: str, *, replaces: str | None = None) -> dict[str, Any]:
    """A besluit stored directly (its letter is no real letter: the store does not read it)."""
    basis = (
        store.decision_basis(aanvraag_id) if replaces is None else store.replacement_basis(replaces)
    )
    new = NewBesluit(
        kind="besluit" if replaces is None else "correctie",
        advies_id=basis.advies_id,
        outcome="toekennen",
        amount_cents=100,
        motivation=None,
        attachments=[],
        decided_by="PS-test",
        decided_at=datetime.now(UTC),
        number=basis.next_number,
        letter_date=date(2026, 11, 28),
        letter_context=b"{}",
        letter_pdf=b"%PDF-1.7 test",
        replaces_id=replaces,
    )
    if replaces is not None:
        return store.replace(new, identity=BZK)
    store.transition(aanvraag_id, "in-behandeling", identity=BZK)
    basis = store.decision_basis(aanvraag_id)
    return store.decide(aanvraag_id, new, identity=BZK, expected_lock=basis.lock_version)


def test_besluiten_are_found_by_claim_id_with_the_advice_they_rest_on(
    store: Store, engine: Engine, evaluate: Any
) -> None:
    first, _ = store.submit(evaluate(claim_id="P06"), identity=GM, decider="BZK")
    other, _ = store.submit(evaluate(claim_id="P06"), identity=GM2, decider="BZK")
    store.submit(evaluate(claim_id="P07"), identity=GM, decider="BZK")
    one = _decided(store, first["id"])
    two = _decided(store, first["id"], replaces=one["id"])
    three = _decided(store, other["id"])
    found = store.besluiten_of_claim("P06")
    assert [(b["id"], b["number"]) for b in found] == [(one["id"], 1), (two["id"], 2),
                                                       (three["id"], 1)]  # fmt: skip
    assert found[0]["aanvraag"] == {"id": first["id"], "href": f"/v1/aanvragen/{first['id']}"}
    assert {b["scheme"] for b in found} == {"vangnet"}
    assert [b["id"] for b in store.besluiten_of_claim("P06", number=1)] == [one["id"], three["id"]]
    assert store.besluiten_of_claim("P06", scheme="basismaatregelen") == []
    assert store.besluiten_of_claim("P07") == [] and store.besluiten_of_claim("P99") == []

    # the stored bytes a besluit rests on: a replacement rests on the advice of the first
    advice = store.advice_of(one["id"])
    version = store.get(first["id"])
    assert hashlib.sha256(advice.claim_json).hexdigest() == version["claim_sha256"]
    assert decode_json(advice.decision_json) == version["advices"][0]["decision"]
    receipt = version["advices"][0]["decision"]["receipt"]
    assert advice.catalogue_sha256 == receipt["catalogue_sha256"]
    assert (advice.ruleset_id, advice.ruleset_version) == ("vangnet", "2016.1")
    assert store.advice_of(two["id"]) == advice
    assert store_module.stored_advice(engine, two["id"]) == advice
    assert store.advice_of(three["id"]).claim_json == advice.claim_json
    with pytest.raises(NotFound):
        store.advice_of("0" * 32)


def test_unknown_claims_are_not_found(store: Store) -> None:
    for call in (
        lambda: store.get("x"),
        lambda: store.snapshot("x"),
        lambda: store.transition("x", "intrekking", identity=GM),
        lambda: store.ref("x"),
        lambda: store.besluit_ref("x"),
        lambda: store.bijlage_ref("x"),
    ):
        with pytest.raises(NotFound):
            call()


def test_money_is_exact_cents() -> None:
    from decimal import Decimal

    assert cents(Decimal("2600.00")) == 260000
    assert cents(Decimal("0.10")) == 10
    assert cents(Decimal("19350")) == 1935000


# --- settings ---------------------------------------------------------------------------------


def test_the_database_url_names_psycopg_3_and_refuses_others() -> None:
    assert database_url("") == ""
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:////tmp/x.sqlite3") == "sqlite:////tmp/x.sqlite3"
    with pytest.raises(SettingsError) as caught:
        database_url("mysql://geheim:wachtwoord@h/db")
    assert "wachtwoord" not in str(caught.value)
    env = {"VANGNET_DATA_DIR": "/srv/vangnet", "VANGNET_DATABASE_URL": "postgresql://h/db"}
    assert Settings.from_env(env).db_url == "postgresql+psycopg://h/db"
    assert Settings.from_env({"VANGNET_DATA_DIR": "/srv/vangnet"}).db_url == (
        "sqlite:////srv/vangnet/vangnet.sqlite3"
    )
