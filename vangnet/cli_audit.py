"""`vangnet audit anchor | verify | list`: the audit log from the command line.

For operators with access to the database (an auditor on the web reads the log through the
API). `anchor` exports the head of the chain, to be kept outside the database (daily, say);
`verify` recomputes the whole chain and, given an anchor, also sees entries cut off the end;
`list` shows entries. Settings come from the environment (`Settings.from_env`); the database
is migrated first. Nothing here writes to the audit log: `verify` must work with read access.

Exit codes of `verify`: 0 the log is intact, 1 the log is broken (the first broken entry is
named), 2 bad input (settings, anchor file), 3 the check could not run (the database).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from vangnet.cli_common import EXIT_INPUT, guard, open_database
from vangnet.cli_common import fail as _fail

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vangnet.service.audit import Anchor, AuditEntry, AuditLog

__all__ = ["register"]

T = TypeVar("T")

EXIT_BROKEN = 1


def _guard(fn: Callable[[], T]) -> T:
    from vangnet.service.audit import AuditError

    return guard(fn, (AuditError,))


def _open() -> tuple[AuditLog, Engine]:
    from vangnet.service.audit import AuditLog

    settings, engine = open_database()
    return AuditLog.from_settings(settings), engine


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "het bestand of de map bestaat niet"
    if isinstance(exc, PermissionError):
        return "geen toegang"
    if isinstance(exc, IsADirectoryError):
        return "dit is een map, geen bestand"
    return exc.strerror or type(exc).__name__


def _read_anchor(path: Path) -> Anchor:
    from vangnet.service.audit import Anchor, AuditError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        _fail(f"Anker {path}: kan niet worden gelezen ({_reason(exc)})", EXIT_INPUT)
    try:
        return Anchor.from_json(raw)
    except AuditError as exc:
        _fail(f"Anker {path}: {exc}", EXIT_INPUT)


def _write_new(path: Path, text: str) -> None:
    """Write `text` to a new file `path` (never over an older anchor), all or nothing."""
    if path.exists():
        _fail(
            f"{path} bestaat al; een anker wordt nooit overschreven (gebruik een nieuwe naam,"
            " bijvoorbeeld met de datum)",
            EXIT_INPUT,
        )
    partial = path.with_name(f".{path.name}.{os.getpid()}.deels")
    try:
        with partial.open("x", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.link(partial, path)  # fails if `path` appeared meanwhile
    except FileExistsError:
        _fail(f"{path} bestaat al; een anker wordt nooit overschreven", EXIT_INPUT)
    except OSError as exc:
        _fail(f"{path}: kan niet worden geschreven ({_reason(exc)})", EXIT_INPUT)
    finally:
        partial.unlink(missing_ok=True)


def _line(entry: AuditEntry) -> str:
    what = entry.action
    if entry.object_type:
        what += f" {entry.object_type}"
        if entry.object_id:
            what += f" {entry.object_id}"
    details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True) if entry.details else ""
    stamp = entry.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    fields = [str(entry.seq), stamp, entry.actor, what, entry.result, entry.origin, details]
    return "  ".join(f for f in fields if f)


def register(app: typer.Typer, *, demo: typer.Typer, rules: typer.Typer) -> None:
    """Add `vangnet audit ...` to the command line."""
    audit_app = typer.Typer(
        help="De auditlog: anker exporteren, keten controleren, regels lezen.",
        no_args_is_help=True,
    )
    app.add_typer(audit_app, name="audit")

    @audit_app.command("anchor")
    def anchor_cmd(
        uit: Annotated[
            Path | None,
            typer.Option("--uit", help="Schrijf het anker naar dit (nieuwe) bestand."),
        ] = None,
    ) -> None:
        """Exporteer de kop van de keten (volgnummer en hash) als JSON.

        Bewaar het anker buiten de database; `vangnet audit verify --anchor` ziet dan ook
        weggehaalde regels aan het eind.
        """

        def run() -> None:
            log, engine = _open()
            try:
                anchor = log.anchor(engine)
            finally:
                engine.dispose()
            if uit is None:
                sys.stdout.write(anchor.to_json())
            else:
                _write_new(uit, anchor.to_json())
                sys.stdout.write(f"Anker geschreven naar {uit}: regel {anchor.seq}.\n")

        _guard(run)

    @audit_app.command("verify")
    def verify_cmd(
        anchor_file: Annotated[
            Path | None,
            typer.Option("--anchor", help="Een eerder geëxporteerd anker (JSON)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Uitkomst als JSON.")] = False,
    ) -> None:
        """Controleer de keten en noem de eerste regel die niet klopt.

        Exit 0: in orde; 1: niet in orde (veranderd, weggehaald, ingevoegd of afgekapt);
        2: foute invoer; 3: de database is niet bereikbaar.
        """

        def run() -> None:
            anchor = None if anchor_file is None else _read_anchor(anchor_file)
            log, engine = _open()
            try:
                result = log.verify(engine, anchor)
            finally:
                engine.dispose()
            sys.stdout.write(result.to_json() if as_json else result.text() + "\n")
            if not result.ok:
                raise typer.Exit(EXIT_BROKEN)

        _guard(run)

    @audit_app.command("list")
    def list_cmd(
        van: Annotated[int, typer.Option("--van", min=1, help="Vanaf dit volgnummer.")] = 1,
        aantal: Annotated[
            int, typer.Option("--aantal", min=1, max=10000, help="Hoeveel regels.")
        ] = 50,
        as_json: Annotated[
            bool, typer.Option("--json", help="Elke regel als JSON, met de hashes.")
        ] = False,
    ) -> None:
        """Lees regels van de auditlog: volgnummer, tijd, wie, wat, resultaat, herkomst."""

        def run() -> None:
            log, engine = _open()
            try:
                entries = log.entries(engine, start=van, limit=aantal)
            finally:
                engine.dispose()
            for entry in entries:
                if as_json:
                    sys.stdout.write(json.dumps(entry.as_dict(), ensure_ascii=False) + "\n")
                else:
                    sys.stdout.write(_line(entry) + "\n")
            if not entries and not as_json:
                sys.stdout.write(f"Geen regels vanaf volgnummer {van}.\n")

        _guard(run)
