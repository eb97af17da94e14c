"""`vangnet demo seed`: loads the demo data once, and refuses production with exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from vangnet.cli import app

runner = CliRunner()


def _env(data_dir: Path, **extra: str | None) -> dict[str, str | None]:
    """No VANGNET_* of the caller: a data directory of the test's own, and `extra`."""
    base: dict[str, str | None] = {
        "VANGNET_ENV": None,
        "VANGNET_DATABASE_URL": None,
        "VANGNET_SECRET_KEY": None,
        "VANGNET_PUBLIC_URL": None,
        "VANGNET_ENGINE_WORKERS": None,
        "VANGNET_DATA_DIR": str(data_dir),
        "VANGNET_DEMO": "1",
    }
    return base | extra


def test_seed_loads_the_demo_data_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = runner.invoke(app, ["demo", "seed"], env=_env(data))
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith(
        f"Demogegevens geladen in SQLite {data / 'vangnet.sqlite3'}: 11 aanvraag/aanvragen"
        " ingediend, 24 stap(pen) gezet.\n"
    )
    for claim_id, status in [
        ("DEMO-D01", "ingediend"),
        ("DEMO-D02", "in_behandeling"),
        ("DEMO-D03", "aanvulling_gevraagd"),
        ("DEMO-D04", "aangevuld"),
        ("DEMO-D05", "ingetrokken"),
        ("DEMO-D08", "besloten"),
    ]:
        assert any(line.split()[:2] == [claim_id, status] for line in first.stdout.splitlines()), (
            claim_id
        )
    # the besluit in force, after the advice
    assert "besluit: gedeeltelijk € 11.200,00 (correctie)" in first.stdout
    again = runner.invoke(app, ["demo", "seed"], env=_env(data))
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == (
        f"Demogegevens stonden al in SQLite {data / 'vangnet.sqlite3'}: niets toegevoegd."
    )
    assert again.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]


@pytest.mark.parametrize("secret", [None, "s" * 40])
def test_seed_refuses_production_with_exit_2(tmp_path: Path, secret: str | None) -> None:
    data = tmp_path / "data"
    env = _env(data, VANGNET_ENV="production", VANGNET_SECRET_KEY=secret)
    result = runner.invoke(app, ["demo", "seed"], env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "vangnet laadt geen demogegevens: VANGNET_ENV=production. Demo-aanvragen horen nooit"
        " in een echt register"
    )
    assert "Traceback" not in result.output
    assert not data.exists()


def test_seed_refuses_invalid_settings_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "seed"], env=_env(tmp_path, VANGNET_ENV="staging"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "vangnet laadt geen demogegevens: ongeldige instellingen. VANGNET_ENV='staging'"
    )


def test_demo_without_a_command_shows_help() -> None:
    result = runner.invoke(app, ["demo"])
    assert "seed" in result.output


def test_make_run_seeds_and_serves_and_data_is_ignored() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = makefile.split("\nrun: setup\n", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/vangnet demo seed" in run
    assert "$(BIN)/vangnet serve --host $(HOST) --port $(PORT)" in run
    assert run.index("demo seed") < run.index("serve")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "data/vangnet.sqlite3"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
