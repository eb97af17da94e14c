"""`vangnet keys | retention | backup | restore | verify`: the stored records from the command
line, for operators with access to the database and its keys.

    vangnet keys rotate [--batch N]    re-encrypt everything under the first key of
                                       VANGNET_ENCRYPTION_KEYS (resumable; counts per column)
    vangnet keys status                which key encrypted how many stored values
    vangnet retention purge [--dry-run]  remove the claims whose retention date has passed
    vangnet backup --naar FILE         a consistent copy of the SQLite database + manifest
    vangnet restore FILE [--overschrijven]  put a backup back (checks sha256, revision, keys)
    vangnet verify BESLUIT_ID          re-run the advice of a besluit: `gelijk`, or the first
                                       path that differs

Settings come from the environment (`Settings.from_env`); the key ring and retention term are
configured from them (`vangnet.service.crypto.configure`) before the database is opened, and
the commands that read or write records apply pending migrations first, like the service.

Exit codes: 0 done (`verify`: equal), 1 `verify` found a difference, 2 bad input (settings,
keys, an unknown besluit, a refused restore), 3 the database cannot be reached. Never a
traceback; nothing printed holds claim content, except `verify`'s two values at the first
difference (the operator asked for them).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from vangnet.cli_common import EXIT_INPUT, guard, open_database
from vangnet.cli_common import fail as _fail
from vangnet.cli_common import settings as _settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vangnet.service.settings import Settings

__all__ = ["register"]

T = TypeVar("T")

EXIT_DIFFERENT = 1


def _guard(fn: Callable[[], T]) -> T:
    from vangnet.exceptions import VangnetError

    return guard(fn, (VangnetError,), internal=1)


def _engine(settings: Settings) -> Engine:
    """The database, migrated."""
    return open_database(settings)[1]


def keys_rotate(
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Rijen per transactie.")
    ] = 100,
) -> None:
    """Versleutel alles opnieuw met de eerste sleutel van VANGNET_ENCRYPTION_KEYS."""

    def run() -> None:
        from vangnet.service.crypto import rotate

        engine = _engine(_settings())
        try:
            sys.stdout.write(rotate(engine, batch_size=batch).text())
        finally:
            engine.dispose()

    _guard(run)


def keys_status() -> None:
    """Toon per sleutel hoeveel opgeslagen waarden ermee zijn versleuteld."""

    def run() -> None:
        from vangnet.service.crypto import current, key_ids_in_use

        engine = _engine(_settings())
        try:
            with engine.connect() as connection:
                used = key_ids_in_use(connection)
        finally:
            engine.dispose()
        ring = current()
        lines = [f"Nieuwe waarden worden versleuteld met sleutel {ring.primary}."]
        for key_id in sorted(set(used) | set(ring.ids)):
            where = (
                "beschikbaar"
                if key_id in ring.ids
                else "ONTBREEKT: zet deze sleutel in VANGNET_ENCRYPTION_KEYS"
            )
            lines.append(f"  {key_id}: {used.get(key_id, 0)} waarden ({where})")
        old = [k for k in used if k != ring.primary]
        lines.append(
            "Draai `vangnet keys rotate` voordat u een oude sleutel weghaalt."
            if old
            else "Alleen de eerste sleutel is in gebruik; andere sleutels kunnen weg."
        )
        sys.stdout.write("\n".join(lines) + "\n")

    _guard(run)


def retention_purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Toon wat weg zou gaan; verander niets.")
    ] = False,
) -> None:
    """Verwijder de aanvragen waarvan de bewaartermijn is verstreken."""

    def run() -> None:
        from vangnet.service.retention import purge

        settings = _settings()
        engine = _engine(settings)
        try:
            sys.stdout.write(purge(engine, settings, dry_run=dry_run).text())
        finally:
            engine.dispose()

    _guard(run)


def backup_cmd(
    naar: Annotated[Path, typer.Option("--naar", help="Het back-upbestand (nieuw).")],
) -> None:
    """Maak een back-up van de SQLite-database, met manifest (ook terwijl de service draait)."""

    def run() -> None:
        from vangnet.service.backup import backup, manifest_path

        m = backup(_settings(), naar)
        sys.stdout.write(
            f"Back-up gemaakt: {naar} ({m.size} bytes, migratie {m.revision},"
            f" sha256 {m.sha256})\nManifest: {manifest_path(naar)}\n"
            "De sleutels zitten niet in de back-up: bewaar VANGNET_ENCRYPTION_KEYS apart.\n"
        )

    _guard(run)


def restore_cmd(
    bestand: Annotated[Path, typer.Argument(help="Het back-upbestand.")],
    overschrijven: Annotated[
        bool, typer.Option("--overschrijven", help="Vervang een database die niet leeg is.")
    ] = False,
) -> None:
    """Zet een back-up terug (stop eerst de service)."""

    def run() -> None:
        from vangnet.service.backup import restore

        m = restore(_settings(), bestand, overwrite=overschrijven)
        sys.stdout.write(
            f"Teruggezet: {bestand} (gemaakt {m.created_at}, migratie {m.revision}).\n"
        )

    _guard(run)


def verify_cmd(
    besluit_id: Annotated[str, typer.Argument(help="De id van het besluit.")],
) -> None:
    """Beoordeel het advies onder een besluit opnieuw en vergelijk de beslissing."""

    def run() -> None:
        from vangnet.service.reproduce import verify
        from vangnet.service.store import NotFound

        engine = _engine(_settings())
        try:
            result = verify(engine, besluit_id)
        except NotFound:
            _fail(f"Er is geen besluit met id {besluit_id[:40]}.", EXIT_INPUT)
        finally:
            engine.dispose()
        sys.stdout.write(result.text())
        if not result.equal:
            raise typer.Exit(EXIT_DIFFERENT)

    _guard(run)


def register(app: typer.Typer, *, demo: typer.Typer, rules: typer.Typer) -> None:
    """Add this group's commands to the command line."""
    keys_app = typer.Typer(help="Sleutels van de versleuteling in rust.", no_args_is_help=True)
    retention_app = typer.Typer(help="Bewaartermijnen.", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")
    app.add_typer(retention_app, name="retention")
    keys_app.command("rotate")(keys_rotate)
    keys_app.command("status")(keys_status)
    retention_app.command("purge")(retention_purge)
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    app.command("verify")(verify_cmd)
