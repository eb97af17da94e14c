"""The database: an engine for SQLite or PostgreSQL, and the migrations applied in code.

SQLite (the default, a file in the data directory) runs in WAL mode with foreign keys on and
full sync, and SQLAlchemy, not the `sqlite3` module, emits BEGIN: so that reads are repeatable,
DDL is transactional, and a writing transaction takes the write lock at its start (`BEGIN
IMMEDIATE`) instead of failing half-way when another writer got there first. PostgreSQL runs
on psycopg 3 (`postgresql+psycopg://`).

Statement parameters never appear in logs or error messages (`hide_parameters`): they hold
claims, which describe threatened people.

`migrate(engine)` applies pending Alembic migrations (`vangnet/service/migrations/`); the
service calls it at start-up, under a lock, so several processes may start at once. To write
a new migration: `alembic.command.revision(alembic_config(url), message=..., autogenerate=True)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

__all__ = ["WRITE", "alembic_config", "create_db_engine", "downgrade", "migrate"]

MIGRATIONS = Path(__file__).parent / "migrations"

# execution options for a writing transaction (BEGIN IMMEDIATE on SQLite; no-op elsewhere)
WRITE = {"vangnet_write": True}

_MIGRATION_LOCK = 0x76616E67  # "vang": a PostgreSQL advisory lock id for migrations


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # the sqlite3 module must not emit BEGIN itself (see _sqlite_begin)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get("vangnet_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite, the file's directory is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration of the package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(target: Engine | str, revision: str = "head") -> None:
    """Apply pending migrations up to `revision` (default: all), in one transaction."""
    engine = create_db_engine(target) if isinstance(target, str) else target
    try:
        with engine.connect().execution_options(**WRITE) as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` (`base`: every table); for tests and recovery."""
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
