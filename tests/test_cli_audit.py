"""`vangnet audit anchor | verify | list` through typer's runner, on a SQLite data directory:
exit codes (0 intact, 1 broken, 2 bad input, 3 no database) and what people read."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from vangnet.cli import app
from vangnet.service.audit import AuditEvent, AuditLog
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.settings import Settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("VANGNET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VANGNET_ENV", "test")
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    db = create_db_engine(Settings.from_env().db_url)
    migrate(db)
    try:
        yield db
    finally:
        db.dispose()


def fill(engine: Engine, count: int) -> AuditLog:
    log = AuditLog.from_settings(Settings.from_env())
    for n in range(count):
        log.record(
            engine,
            AuditEvent("acc1", "aanvraag.indienen", "gelukt", "cli", "aanvraag", f"id{n}",
                       {"claim_sha256": "cd" * 32}),
        )  # fmt: skip
    return log


def tamper(engine: Engine, statement: str) -> None:
    with engine.begin() as c:
        c.execute(text("DROP TRIGGER IF EXISTS auditregel_geen_update"))
        c.execute(text("DROP TRIGGER IF EXISTS auditregel_geen_delete"))
        c.execute(text(statement))


def test_an_empty_log_verifies(data_dir: Path) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("De auditlog is leeg en in orde.")


def test_anchor_to_stdout_and_to_a_new_file(engine: Engine, tmp_path: Path) -> None:
    log = fill(engine, 3)
    shown = runner.invoke(app, ["audit", "anchor"])
    assert shown.exit_code == 0
    anchor = json.loads(shown.stdout)
    assert anchor["seq"] == 3 and anchor["key_id"] == log.key_id
    assert anchor["hash"] == log.entries(engine, start=3)[0].hash
    assert anchor["at"].endswith("Z")
    target = tmp_path / "anker-2026-11-28.json"
    written = runner.invoke(app, ["audit", "anchor", "--uit", str(target)])
    assert written.exit_code == 0
    assert "regel 3" in written.stdout
    assert json.loads(target.read_text()) == anchor
    again = runner.invoke(app, ["audit", "anchor", "--uit", str(target)])
    assert again.exit_code == 2
    assert "bestaat al" in again.stderr
    assert json.loads(target.read_text()) == anchor  # the older anchor is untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_verify_with_an_anchor_and_as_json(engine: Engine, tmp_path: Path) -> None:
    fill(engine, 4)
    target = tmp_path / "anker.json"
    runner.invoke(app, ["audit", "anchor", "--uit", str(target)])
    fill(engine, 2)
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(target), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["checked"] == 6 and data["anchor"]["seq"] == 4
    assert data["breach"] is None


def test_a_changed_entry_exits_1_and_is_named(engine: Engine) -> None:
    fill(engine, 5)
    tamper(engine, "UPDATE auditregel SET actor = 'acc2' WHERE seq = 3")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "NIET in orde" in result.stdout
    assert "regel 3 (veranderd)" in result.stdout
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1
    breach = json.loads(as_json.stdout)["breach"]
    assert (breach["seq"], breach["kind"]) == (3, "veranderd")


def test_a_removed_entry_exits_1_and_is_named(engine: Engine) -> None:
    fill(engine, 5)
    tamper(engine, "DELETE FROM auditregel WHERE seq = 2")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "regel 2 (verwijderd): regel 2 ontbreekt" in result.stdout


def test_a_cut_tail_is_found_only_with_the_anchor(engine: Engine, tmp_path: Path) -> None:
    fill(engine, 5)
    target = tmp_path / "anker.json"
    runner.invoke(app, ["audit", "anchor", "--uit", str(target)])
    tamper(engine, "DELETE FROM auditregel WHERE seq >= 4")
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(target)])
    assert result.exit_code == 1
    assert "regel 4 (afgekapt)" in result.stdout
    assert "regels 4 tot en met 5 zijn weggehaald" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "kan niet worden gelezen (het bestand of de map bestaat niet)"),
        ("{niet json", "het anker is geen geldige JSON"),
        ('{"seq": 2, "hash": "zz", "key_id": "x"}', "hash: moet 64 hexadecimale tekens zijn"),
        ('{"seq": 2, "hash": "' + "a" * 64 + '", "key_id": "andere"}', "hoort bij sleutel andere"),
    ],
)
def test_a_bad_anchor_file_exits_2_naming_file_and_fault(
    data_dir: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "anker.json"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr
    if content is None or "sleutel" not in message:
        assert str(path) in result.stderr
    assert "Traceback" not in result.output


def test_list_shows_entries_for_people_and_as_json(engine: Engine) -> None:
    fill(engine, 4)
    result = runner.invoke(app, ["audit", "list", "--van", "2", "--aantal", "2"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2  ") and lines[1].startswith("3  ")
    assert "acc1  aanvraag.indienen aanvraag id1  gelukt  cli" in lines[0]
    as_json = runner.invoke(app, ["audit", "list", "--json"])
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[1]["prev_hash"] == entries[0]["hash"]
    empty = runner.invoke(app, ["audit", "list", "--van", "9"])
    assert empty.exit_code == 0 and "Geen regels vanaf volgnummer 9" in empty.stdout
    assert runner.invoke(app, ["audit", "list", "--van", "0"]).exit_code == 2


def test_bad_settings_exit_2(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VANGNET_AUDIT_KEY", "te kort")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 2
    assert "VANGNET_AUDIT_KEY: moet minstens 32 tekens lang zijn" in result.stderr


def test_an_unreachable_database_exits_3(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "VANGNET_DATABASE_URL", "postgresql://postgres:geheim@127.0.0.1:1/vangnet?connect_timeout=2"
    )
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 3
    assert "niet bereikbaar" in result.stderr
    assert "geheim" not in result.output and "Traceback" not in result.output


def test_the_documented_key_rotation(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/audit.md, rotating the key: anchor, new key with the old one as previous, verify
    with the anchor; the text says which key made which entries."""
    old_key, new_key = "oud-" + "a" * 40, "nieuw-" + "b" * 40
    monkeypatch.setenv("VANGNET_AUDIT_KEY", old_key)
    old = fill(engine, 2)
    anchor = tmp_path / "anker.json"
    assert runner.invoke(app, ["audit", "anchor", "--uit", str(anchor)]).exit_code == 0

    monkeypatch.setenv("VANGNET_AUDIT_KEY", new_key)
    monkeypatch.setenv("VANGNET_AUDIT_KEYS_PREVIOUS", old_key)
    new = fill(engine, 1)
    assert new.key_id != old.key_id
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(anchor)])
    assert result.exit_code == 0, result.output
    assert (
        f"De sleutel is gewisseld: sleutel {old.key_id} voor regel 1 tot en met 2, sleutel"
        f" {new.key_id} voor regel 3 tot en met 3." in result.stdout
    )
    # forgetting the previous key: the old entries cannot be checked, and the text says why
    monkeypatch.delenv("VANGNET_AUDIT_KEYS_PREVIOUS")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "VANGNET_AUDIT_KEYS_PREVIOUS" in result.stdout
