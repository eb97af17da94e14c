"""Storage: the migrations make exactly the models' tables, a change is one transaction, and
two changes at once never both win; on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.claim import canonical_claim, decode_json, parse_claim
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service import store as store_module
from vangnet.service.db import create_db_engine, downgrade, migrate
from vangnet.service.models import Aanvraag, AanvraagVersie, Advies, Base, Statusovergang
from vangnet.service.settings import Settings, SettingsError, database_url
from vangnet.service.store import (
    Conflict,
    Evaluated,
    IdempotencyConflict,
    NotFound,
    Store,
    TransitionRefused,
    cents,
)
from vangnet.workers import EngineWorkers

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
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
    return Store(engine)


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
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0004"


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
    body, replayed = store.submit(evaluated)
    assert not replayed and body["status"] == "ingediend"
    with Session(engine) as session:
        aanvraag = session.get(Aanvraag, body["id"])
        assert aanvraag is not None
        assert aanvraag.claimed_total_cents == 1935000 and aanvraag.eligible_total_cents == 1685000
        assert aanvraag.owner_id is None and aanvraag.lock_version == 1
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
        store.submit(evaluate())
    assert "Voorbeeld" not in str(caught.value)  # no claim data in errors (or logs)
    for model in (Aanvraag, AanvraagVersie, Advies, Statusovergang):
        assert count(engine, model) == 0, model


def test_idempotency_keys_are_per_owner(store: Store, evaluate: Any) -> None:
    first, _ = store.submit(evaluate(), idempotency_key="k")
    again, replayed = store.submit(evaluate(), idempotency_key="k")
    assert replayed and again["id"] == first["id"]
    with pytest.raises(IdempotencyConflict):
        store.submit(evaluate(claim_id="ANDER"), idempotency_key="k")
    other, replayed = store.submit(evaluate(), owner="GM0363", idempotency_key="k")
    assert not replayed and other["id"] != first["id"]
    assert store.page(owner="GM0363")[1] == 1 and store.page()[1] == 2
    with pytest.raises(NotFound):
        store.get(first["id"], owner="GM0363")


def test_a_lost_idempotency_race_returns_the_winner(
    store: Store, engine: Engine, evaluate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, _ = store.submit(evaluate(), idempotency_key="race")
    real = Store._replay
    calls: list[int] = []

    def blind(self: Store, *args: Any) -> Any:
        # the first check misses the winner, as when both requests checked at once
        calls.append(1)
        return None if len(calls) == 1 else real(self, *args)

    monkeypatch.setattr(Store, "_replay", blind)
    body, replayed = store.submit(evaluate(), idempotency_key="race")
    assert replayed and body["id"] == winner["id"] and len(calls) == 2
    assert count(engine, Aanvraag) == 1


# --- changing ---------------------------------------------------------------------------------


def test_a_change_based_on_an_old_read_is_a_conflict(store: Store, evaluate: Any) -> None:
    body, _ = store.submit(evaluate())
    store.transition(body["id"], "in-behandeling")
    store.transition(body["id"], "aanvullingsverzoeken", reason="De offerte.")
    seen = store.snapshot(body["id"])
    # meanwhile the claim is withdrawn
    store.transition(body["id"], "intrekking")
    with pytest.raises(Conflict) as caught:
        store.transition(
            body["id"], "aanvullingen", evaluated=evaluate(), expected_lock=seen.lock_version
        )
    assert not isinstance(caught.value, TransitionRefused)
    assert caught.value.status == "ingetrokken" and caught.value.allowed == []
    after = store.get(body["id"])
    assert after["claim_version"] == 1 and len(after["advices"]) == 1


def test_every_update_checks_the_lock_version(store: Store, engine: Engine, evaluate: Any) -> None:
    body, _ = store.submit(evaluate())
    with Session(engine, expire_on_commit=False) as session:
        stale = session.get(Aanvraag, body["id"])
    assert stale is not None
    store.transition(body["id"], "in-behandeling")
    with pytest.raises(StaleDataError), Session(engine) as session, session.begin():
        mine = session.merge(stale, load=False)
        mine.status = "ingetrokken"
    assert store.get(body["id"])["status"] == "in_behandeling"


def test_concurrent_transitions_one_wins(store: Store, evaluate: Any) -> None:
    body, _ = store.submit(evaluate())
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def act(name: str) -> None:
        barrier.wait()
        try:
            store.transition(body["id"], name)
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


def test_unknown_claims_are_not_found(store: Store) -> None:
    for call in (
        lambda: store.get("x"),
        lambda: store.snapshot("x"),
        lambda: store.transition("x", "intrekking"),
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
