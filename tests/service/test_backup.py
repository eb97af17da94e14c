"""Backup and restore (SQLite): a consistent copy while a writer is busy, the manifest, the
round trip, and every refusal before anything is written; PostgreSQL is sent to pg_dump."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from tests.service.records import PDF, add_claim, new_key
from vangnet.service import crypto, retention
from vangnet.service.backup import BackupError, backup, manifest_path, restore
from vangnet.service.db import WRITE, create_db_engine, migrate
from vangnet.service.models import Aanvraag, Besluit, Bijlage
from vangnet.service.settings import Settings

KEY = new_key()


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr(retention, "_years", None)


def installation(folder: Path, keys: str = f"k1:{KEY}") -> Settings:
    """An installation with its own data directory (and SQLite file), its keys configured."""
    settings = Settings(env="test", data_dir=folder, encryption_keys=keys)
    crypto.configure(settings)
    return settings


def engine_of(settings: Settings) -> Engine:
    engine = create_db_engine(settings.db_url)
    migrate(engine)
    return engine


def snapshot(settings: Settings) -> list[tuple[str, str | None, bytes, bytes]]:
    """What the installation holds, decrypted: per claim its status, motivation, letter and
    attachment."""
    engine = create_db_engine(settings.db_url)
    try:
        with Session(engine) as session:
            rows = []
            for a in session.scalars(select(Aanvraag).order_by(Aanvraag.id)):
                b = session.scalars(select(Besluit).where(Besluit.aanvraag_id == a.id)).first()
                bijlage = session.scalars(select(Bijlage).where(Bijlage.aanvraag_id == a.id)).one()
                rows.append(
                    (
                        a.status,
                        None if b is None else b.motivation,
                        b"" if b is None else b.letter_pdf,
                        bijlage.content,
                    )
                )
            return rows
    finally:
        engine.dispose()


def test_a_backup_round_trip(tmp_path: Path, configured: None) -> None:
    source = installation(tmp_path / "bron")
    engine = engine_of(source)
    add_claim(engine, motivation="Eerste")
    add_claim(engine, final="ingetrokken")
    before = snapshot(source)
    assert len(before) == 2

    # a writer is busy (its transaction not committed): the backup neither waits nor sees it
    target = tmp_path / "backups" / "vangnet-1.sqlite3"
    busy = engine.connect().execution_options(**WRITE)
    transaction = busy.begin()
    busy.execute(text("UPDATE aanvraag SET claim_id = 'X'"))
    manifest = backup(source, target)
    transaction.rollback()
    busy.close()

    assert manifest.revision == "0006" and manifest.size == target.stat().st_size
    assert manifest.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert manifest.keys == {"k1": crypto.current().fingerprints["k1"]}
    written = json.loads(manifest_path(target).read_text())
    assert written["format"] == "vangnet-backup/1" and written["sha256"] == manifest.sha256
    for path in (target, manifest_path(target)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PDF not in target.read_bytes()  # the backup holds ciphertext only
    with pytest.raises(BackupError, match="bestaat al"):
        backup(source, target)

    # back into a new installation with the same key
    copy = installation(tmp_path / "kopie")
    restore(copy, target)
    assert snapshot(copy) == before
    with Session(create_db_engine(copy.db_url)) as session:
        assert session.scalar(select(func.count()).where(Aanvraag.claim_id == "X")) == 0

    # not over a database with data, unless asked
    other = engine_of(copy)
    add_claim(other)
    other.dispose()
    with pytest.raises(BackupError, match="niet leeg; gebruik --overschrijven"):
        restore(copy, target)
    assert len(snapshot(copy)) == 3
    restore(copy, target, overwrite=True)
    assert snapshot(copy) == before
    engine.dispose()


def test_a_restore_refuses_a_changed_file_a_missing_manifest_and_unknown_keys(
    tmp_path: Path, configured: None
) -> None:
    source = installation(tmp_path / "bron")
    engine = engine_of(source)
    add_claim(engine)
    engine.dispose()
    target = tmp_path / "b.sqlite3"
    backup(source, target)
    empty = tmp_path / "leeg"

    # another key under the same id: refused before anything is written
    installation(empty, keys=f"k1:{new_key()}")
    with pytest.raises(BackupError, match=r"sleutel.*k1"):
        restore(Settings(env="test", data_dir=empty), target)
    # the key missing altogether
    installation(empty, keys=f"k2:{new_key()}")
    with pytest.raises(BackupError, match="k1"):
        restore(Settings(env="test", data_dir=empty), target)
    assert not (empty / "vangnet.sqlite3").exists()

    settings = installation(empty)
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    changed = tmp_path / "veranderd.sqlite3"
    changed.write_bytes(bytes(data))
    manifest_path(changed).write_bytes(manifest_path(target).read_bytes())
    with pytest.raises(BackupError, match="sha256 klopt niet"):
        restore(settings, changed)
    manifest_path(changed).unlink()
    with pytest.raises(BackupError, match="manifest"):
        restore(settings, changed)
    with pytest.raises(BackupError, match="bestaat niet"):
        restore(settings, tmp_path / "nergens.sqlite3")
    assert not (empty / "vangnet.sqlite3").exists()


def test_postgresql_is_sent_to_pg_dump(tmp_path: Path) -> None:
    pg = Settings(env="test", data_dir=tmp_path, database_url="postgresql+psycopg://u@h/db")
    with pytest.raises(BackupError, match="pg_dump"):
        backup(pg, tmp_path / "x")
    with pytest.raises(BackupError, match="pg_dump"):
        restore(pg, tmp_path / "x")
