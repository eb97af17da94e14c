"""`vangnet demo portfolio` and `vangnet replay`: load invented claims (never in production),
replay them to another version with every output, one audit entry per replay; Dutch errors
with exit 2 for bad input; a progress bar only on a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from vangnet.cli import app
from vangnet.cli_replay import TerminalProgress
from vangnet.service import crypto
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine
from vangnet.service.settings import Settings

runner = CliRunner()


def _env(data_dir: Path, **extra: str | None) -> dict[str, str | None]:
    """No VANGNET_* of the caller: a data directory of the test's own, and `extra`."""
    base: dict[str, str | None] = {
        "VANGNET_ENV": "test",
        "VANGNET_DATABASE_URL": None,
        "VANGNET_SECRET_KEY": None,
        "VANGNET_ENCRYPTION_KEYS": None,
        "VANGNET_AUDIT_KEY": None,
        "VANGNET_DATA_DIR": str(data_dir),
    }
    return base | extra


def test_portfolio_then_replay_with_every_output_and_one_audit_entry(tmp_path: Path) -> None:
    data = tmp_path / "data"
    loaded = runner.invoke(
        app, ["demo", "portfolio", "--n", "60", "--seed", "4", "--batch", "25"], env=_env(data)
    )
    assert loaded.exit_code == 0, loaded.stderr
    assert "60 aanvraag/aanvragen opgeslagen" in loaded.stdout
    assert "verzonnen" in loaded.stdout and "CBS-code" in loaded.stdout

    jsonl, xlsx, svg = tmp_path / "r.jsonl", tmp_path / "r.xlsx", tmp_path / "r.svg"
    args = ["replay", "--to", "vangnet-herijking@2018.1", "--processes", "2"]
    args += ["--jsonl", str(jsonl), "--xlsx", str(xlsx), "--svg", str(svg)]
    result = runner.invoke(app, args, env=_env(data))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("SIMULATIE")
    assert "60 aanvraag/aanvragen van vangnet, vangnet-herijking" in result.stdout
    assert "Vastgelegd in het auditlog" in result.stdout
    assert result.stderr == ""  # no progress bar: not a terminal

    lines = [json.loads(x) for x in jsonl.read_text("utf-8").splitlines()]
    assert len(lines) == 61 and lines[-1]["type"] == "summary"
    digest = lines[-1]["digest_sha256"]
    assert digest in result.stdout
    assert openpyxl.load_workbook(xlsx).sheetnames == ["Aanvragen", "Samenvatting"]
    assert svg.read_text("utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')

    settings = Settings(env="test", data_dir=data)
    crypto.configure(settings)
    engine = create_db_engine(settings.db_url)
    try:
        entries = AuditLog.from_settings(settings).entries(engine, limit=1000)
    finally:
        engine.dispose()
    replays = [e for e in entries if e.action == "replay"]
    assert len(replays) == 1
    entry = replays[0]
    assert (entry.actor, entry.origin, entry.result) == ("systeem", "cli", "gelukt")
    assert entry.details["resultaten_sha256"] == digest
    assert entry.details["doelversie"] == "vangnet-herijking@2018.1"
    assert entry.details["aanvragen"] == 60

    # the period: only claims with a reference date in it
    period = runner.invoke(
        app,
        ["replay", "--to", "vangnet-herijking@2018.1", "--between", "2016-01-01", "2016-12-31"],
        env=_env(data),
    )
    assert period.exit_code == 0, period.stderr
    assert "peildatum 2016-01-01 tot en met 2016-12-31" in period.stdout


def test_bad_input_is_refused_in_dutch_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    unknown = runner.invoke(app, ["replay", "--to", "vangnet@1999.1"], env=_env(data))
    assert unknown.exit_code == 2
    assert "geen versie 1999.1" in unknown.stderr and "vangnet@2016.1" in unknown.stderr
    bad_day = runner.invoke(
        app,
        ["replay", "--to", "vangnet@2016.1", "--between", "2016-13-01", "2017-01-01"],
        env=_env(data),
    )
    assert bad_day.exit_code == 2 and "geen datum" in bad_day.stderr
    backwards = runner.invoke(
        app,
        ["replay", "--to", "vangnet@2016.1", "--between", "2017-01-01", "2016-01-01"],
        env=_env(data),
    )
    assert backwards.exit_code == 2 and "eindigt voor zij begint" in backwards.stderr
    production = runner.invoke(
        app, ["demo", "portfolio", "--n", "5"], env=_env(data, VANGNET_ENV="production")
    )
    assert production.exit_code == 2 and "production" in production.stderr
    assert "Traceback" not in unknown.stderr + bad_day.stderr + production.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    bar = TerminalProgress("Herberekenen", stream=quiet)
    bar.start(10)
    bar.advance(5)
    bar.stop()
    assert quiet.getvalue() == "" and not bar.active
    terminal = _Terminal()
    bar = TerminalProgress("Herberekenen", stream=terminal)
    bar.start(10)
    bar.advance(10)
    bar.stop()
    assert bar.active and "Herberekenen" in terminal.getvalue()
