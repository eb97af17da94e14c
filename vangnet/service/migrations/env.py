"""Alembic's entry point: runs the migrations on the connection `vangnet.service.db` gives it
(or, for the `alembic` command line, on `sqlalchemy.url`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from vangnet.service.db import create_db_engine
from vangnet.service.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them; later migrations need this
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("geen database: gebruik vangnet.service.db.migrate(url)")
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


run()
