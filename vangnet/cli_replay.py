"""The commands `vangnet replay` and `vangnet demo portfolio` (registered by `vangnet.cli`).

`vangnet replay --to SCHEME@VERSION` re-evaluates the stored claims under another version
(`vangnet.replay`) and prints a summary in Dutch; `--jsonl`, `--xlsx` and `--svg` write the
results as JSON Lines, an Excel workbook and a chart. The replay is one entry in the audit
log. `vangnet demo portfolio --n N` loads invented claims (`vangnet.portfolio`), never in
production. A progress bar shows on a terminal only (on stderr); elsewhere nothing but the
results is printed.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vangnet.cli_common import fail as _fail

if TYPE_CHECKING:
    from vangnet.replay import ReplayReport
    from vangnet.service.settings import Settings

__all__ = ["TerminalProgress", "record_replay", "register"]


class TerminalProgress:
    """A progress bar (rich) on stderr when it is a terminal; silent otherwise."""

    def __init__(self, description: str, stream: Any = None) -> None:
        self.description = description
        self.stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        self._task: Any = None

    @property
    def active(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self, total: int) -> None:
        if not self.active:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=total)

    def advance(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _settings() -> Settings:
    """The settings, with this process's encryption keys set from them."""
    from vangnet.service import crypto
    from vangnet.service.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _fail(f"Ongeldige instellingen: {exc}.", 2)
    crypto.configure(settings)
    return settings


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"--between: {what} {text!r} is geen datum; gebruik JJJJ-MM-DD, bv. 2016-03-01", 2)


def record_replay(settings: Settings, engine: Any, report: ReplayReport) -> int:
    """Record the replay as one entry in the audit log (action `replay`, actor `systeem`,
    origin `cli`): its parameters and the digest of its results, never claim content. The
    entry's seq."""
    from vangnet.replay import audit_details
    from vangnet.service.audit import SYSTEEM, AuditEvent, AuditLog

    event = AuditEvent(
        actor=SYSTEEM,
        action="replay",
        result="gelukt",
        origin="cli",
        details=audit_details(report),
    )
    return AuditLog.from_settings(settings).record(engine, event)


def _write(path: Path, what: str, write: Any) -> None:
    try:
        write(path)
    except OSError as exc:
        _fail(f"{path}: {what} kan niet worden geschreven ({exc.strerror}).", 1)


def register(app: typer.Typer, *, demo: typer.Typer, rules: typer.Typer) -> None:
    """Add this group's commands to the command line."""
    _add_replay(app)
    _add_portfolio(demo)


def _add_replay(app: typer.Typer) -> None:
    @app.command("replay")
    def replay_cmd(
        *,
        to: Annotated[
            str,
            typer.Option(
                "--to", help="De doelversie: REGELING@VERSIE, bv. vangnet-herijking@2018.1."
            ),
        ],
        between: Annotated[
            tuple[str, str] | None,
            typer.Option(
                "--between",
                help="Alleen aanvragen met een peildatum van ... tot en met ... (JJJJ-MM-DD).",
            ),
        ] = None,
        jsonl: Annotated[
            Path | None, typer.Option("--jsonl", help="Schrijf elke aanvraag als JSON Lines.")
        ] = None,
        xlsx: Annotated[
            Path | None, typer.Option("--xlsx", help="Schrijf een Excel-werkmap.")
        ] = None,
        svg: Annotated[
            Path | None, typer.Option("--svg", help="Schrijf de grafiek per gemeentegrootte (SVG).")
        ] = None,
        processes: Annotated[
            int | None,
            typer.Option("--processes", min=1, help="Werkprocessen (standaard: één per kern)."),
        ] = None,
    ) -> None:
        """Bereken opgeslagen aanvragen opnieuw onder een andere versie en toon wat verandert.

        Verandert niets aan opgeslagen adviezen of besluiten."""
        from vangnet.cli import _guard

        def run() -> None:
            from vangnet.exceptions import NoRulesetError
            from vangnet.impact_chart import impact_svg
            from vangnet.replay import replay
            from vangnet.service.db import create_db_engine, migrate

            settings = _settings()
            period = None
            if between is not None:
                period = (_day(between[0], "begin"), _day(between[1], "einde"))
            engine = create_db_engine(settings.db_url)
            progress = TerminalProgress("Herberekenen")
            try:
                migrate(engine)
                try:
                    report = replay(
                        engine, to, between=period, processes=processes, progress=progress
                    )
                except NoRulesetError as exc:
                    _fail(exc.message, 2)
                finally:
                    progress.stop()
                if jsonl is not None:

                    def lines(p: Path) -> None:
                        with p.open("w", encoding="utf-8") as out:
                            report.write_jsonl(out)

                    _write(jsonl, "JSON Lines", lines)
                if xlsx is not None:
                    _write(xlsx, "de werkmap", report.write_xlsx)
                if svg is not None:
                    _write(svg, "de grafiek", lambda p: p.write_text(impact_svg(report), "utf-8"))
                audited = record_replay(settings, engine, report)
            finally:
                engine.dispose()
            sys.stdout.write(report.text())
            sys.stdout.write(f"Vastgelegd in het auditlog (regel {audited}).\n")

        _guard(run)


def _add_portfolio(demo: typer.Typer) -> None:
    @demo.command("portfolio")
    def demo_portfolio(
        *,
        n: Annotated[int, typer.Option("--n", min=1, help="Hoeveel aanvragen.")] = 1000,
        seed: Annotated[
            int, typer.Option("--seed", help="Dezelfde seed geeft dezelfde aanvragen.")
        ] = 0,
        batch: Annotated[
            int, typer.Option("--batch", min=1, help="Aanvragen per transactie.")
        ] = 1000,
        processes: Annotated[
            int | None,
            typer.Option("--processes", min=1, help="Werkprocessen (standaard: één per kern)."),
        ] = None,
    ) -> None:
        """Laad een verzonnen portefeuille aanvragen (nooit in productie), met advies."""
        import os

        from vangnet.cli import _guard

        def run() -> None:
            from vangnet.portfolio import load_portfolio
            from vangnet.service.demo import DemoRefused, refuse_production

            try:
                # first: production is refused whatever else its settings say
                refuse_production(os.environ.get("VANGNET_ENV", "development"))
                settings = _settings()
            except DemoRefused as exc:
                _fail(str(exc), 2)
            progress = TerminalProgress("Portefeuille laden")
            try:
                report = load_portfolio(
                    settings, n, seed, batch_size=batch, processes=processes, progress=progress
                )
            except DemoRefused as exc:
                _fail(str(exc), 2)
            finally:
                progress.stop()
            sys.stdout.write(report.text())

        _guard(run)
