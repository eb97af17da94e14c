"""Fixtures for the service: one engine worker pool for the whole session, a fresh app each.

Storage tests run on SQLite and on PostgreSQL (`database_url`, parametrised). PostgreSQL is
the server on 127.0.0.1:5432 (user `postgres`, trust auth): the session creates a database of
its own and drops it at the end; each test starts with empty tables. When that server is not
reachable the PostgreSQL tests skip, except in CI (`CI` set), where they fail.

Every route but the pre-check, the rulesets and the health check needs an account: `team`
makes one per role (tests/service/auth.py); `gm` (an aanvrager of a municipality) and `bzk`
(a beoordelaar of BZK, which decides `vangnet` claims) are the two most tests need.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.service.auth import Actor, Team
from vangnet.evaluate import Decider
from vangnet.service.app import create_app
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.models import Base
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

PG_SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


@pytest.fixture(scope="session")
def workers() -> Iterator[EngineWorkers]:
    with EngineWorkers(processes=1) as pool:
        yield pool


@pytest.fixture(scope="session")
def validator() -> Decider:
    return Decider(prime=False)


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(env="test", data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture
def client(settings: Settings, workers: EngineWorkers, validator: Decider) -> Iterator[TestClient]:
    with TestClient(create_app(settings, workers=workers, validator=validator)) as c:
        yield c


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database of this test session's own, migrated."""
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required in CI: {exc}")
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    name = f"vangnet_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            migrate(url)
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty(url: str) -> None:
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'vangnet.sqlite3'}"
    url: str = request.getfixturevalue("postgres_database")
    _empty(url)
    return url


@pytest.fixture
def api(
    database_url: str, tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> Iterator[TestClient]:
    """The service on `database_url` (SQLite and PostgreSQL)."""
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=database_url)
    with TestClient(create_app(settings, workers=workers, validator=validator)) as c:
        yield c


# --- signed-in clients (tests/service/auth.py) -------------------------------------------------


@pytest.fixture
def team(api: TestClient) -> Team:
    """One account per role on the service of `api` (SQLite and PostgreSQL)."""
    return Team(api)


@pytest.fixture
def gm(team: Team) -> Actor:
    """An aanvrager of the municipality GM9901."""
    return team.gemeente


@pytest.fixture
def bzk(team: Team) -> Actor:
    """A beoordelaar of BZK: decides the `vangnet` claims."""
    return team.bzk
