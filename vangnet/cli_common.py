"""What the service's command groups (`cli_users`, `cli_audit`, `cli_records`, `cli_replay`)
share: ending with a message instead of a traceback, and opening the configured database.

Exit codes: 2 for bad input or settings (and the refusals a group names), 3 for a database
that cannot be reached; an unexpected fault exits with the group's own code and names only its
type. Statement parameters never appear (the engine hides them, see vangnet.service.db).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vangnet.service.settings import Settings

__all__ = ["EXIT_INPUT", "EXIT_UNAVAILABLE", "fail", "guard", "open_database", "settings"]

T = TypeVar("T")

EXIT_INPUT = 2
EXIT_UNAVAILABLE = 3


def fail(text: str, code: int = EXIT_INPUT) -> NoReturn:
    sys.stderr.write(text.rstrip("\n") + "\n")
    raise typer.Exit(code)


def guard(
    fn: Callable[[], T],
    refusals: tuple[type[Exception], ...] = (),
    *,
    internal: int = EXIT_UNAVAILABLE,
) -> T:
    """Run a command body: bad settings and `refusals` exit 2 with their message, a database
    that cannot be reached 3, anything else `internal` with its type only."""
    from sqlalchemy.exc import SQLAlchemyError

    from vangnet.service.settings import SettingsError

    expected: tuple[type[Exception], ...] = (SettingsError, *refusals)
    try:
        return fn()
    except typer.Exit:
        raise
    except expected as exc:
        fail(f"Fout: {exc}", EXIT_INPUT)
    except SQLAlchemyError as exc:
        fail(
            f"De database is niet bereikbaar of niet te gebruiken ({type(exc).__name__});"
            " controleer VANGNET_DATABASE_URL.",
            EXIT_UNAVAILABLE,
        )
    except Exception as exc:  # noqa: BLE001 - the CLI promises no traceback
        fail(
            f"Interne fout ({type(exc).__name__}); meld dit aan de beheerder van vangnet.",
            internal,
        )


def settings() -> Settings:
    """The settings from the environment, with this process's encryption keys set from them."""
    from vangnet.service import crypto
    from vangnet.service.settings import Settings

    result = Settings.from_env()
    crypto.configure(result)
    return result


def open_database(config: Settings | None = None) -> tuple[Settings, Engine]:
    """The settings and the configured database, migrated."""
    from vangnet.service.db import create_db_engine, migrate

    config = config or settings()
    engine = create_db_engine(config.db_url)
    migrate(engine)
    return config, engine
