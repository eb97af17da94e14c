"""Backup and restore of a SQLite database, with a manifest; PostgreSQL uses `pg_dump`.

`backup(settings, target)` copies the database with SQLite's online backup API (the
`sqlite3` module's `Connection.backup`), in one step under one read transaction: the copy is
consistent while the service keeps running and writing (WAL mode: writers are not blocked).
The copy is written beside the target, checked (`PRAGMA integrity_check`), synced to disk and
then renamed into place, so a crash leaves no half-written backup under the target's name.
Beside it, `<target>.manifest.json`:

    {"format": "vangnet-backup/1", "created_at": "...Z", "sha256": "<of the backup file>",
     "size": <bytes>, "revision": "<alembic revision>", "keys": {"<key id>": "<check>"}}

`keys` lists the encryption keys the backup's values were encrypted with, by id and check
value (`KeyRing.fingerprints`: a one-way value, not the key). The keys themselves are NEVER in
a backup: keep VANGNET_ENCRYPTION_KEYS (and VANGNET_AUDIT_KEY) safe elsewhere; a backup
without its keys cannot be read, which is the point of encrypting it. Both files are made
with mode 0600.

`restore(settings, source)` checks before it writes anything: the manifest is there and
names the file's sha256, the file is a whole SQLite database of that revision, this process's
key ring holds every key the backup needs (same id, same check value), and the database to
restore into is empty (no rows in any table) unless `overwrite`. Then it copies the backup
into the configured database with the same backup API. Stop the service first: a restore
replaces the database under it.

PostgreSQL: `pg_dump`/`pg_restore` (docs/operations.md); `backup` and `restore` say so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from vangnet.exceptions import VangnetError
from vangnet.service.crypto import KeyRing, current, key_ids_in_use
from vangnet.service.settings import Settings

__all__ = [
    "FORMAT",
    "MANIFEST_SUFFIX",
    "BackupError",
    "Manifest",
    "backup",
    "manifest_path",
    "restore",
]

FORMAT = "vangnet-backup/1"
MANIFEST_SUFFIX = ".manifest.json"
PG_DUMP = (
    "Voor PostgreSQL maakt vangnet zelf geen back-up: gebruik pg_dump, bijvoorbeeld\n"
    '  pg_dump --format=custom --file=vangnet.dump "$VANGNET_DATABASE_URL"\n'
    "en zet hem terug met pg_restore (zie docs/operations.md)."
)


class BackupError(VangnetError):
    """A backup or restore that cannot be done; the message says why, in Dutch."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup is: when, its sha256 and size, its migration revision, its keys."""

    created_at: str
    sha256: str
    size: int
    revision: str
    keys: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "sha256": self.sha256,
            "size": self.size,
            "revision": self.revision,
            "keys": self.keys,
        }

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest in `path`; `BackupError` when it is missing or malformed."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(
                f"{path.name} ontbreekt: zonder manifest zet vangnet niets terug"
            ) from None
        except (OSError, ValueError):
            raise BackupError(f"{path.name} is geen leesbaar manifest (JSON)") from None
        try:
            if data["format"] != FORMAT:
                raise BackupError(f"{path.name}: onbekend formaat {str(data['format'])[:40]!r}")
            keys = data["keys"]
            if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
                raise TypeError
            return cls(
                str(data["created_at"]),
                str(data["sha256"]),
                int(data["size"]),
                str(data["revision"]),
                {str(k): v for k, v in keys.items()},
            )
        except (KeyError, TypeError, ValueError):
            raise BackupError(
                f"{path.name}: het manifest mist created_at, sha256, size, revision of keys"
            ) from None


def manifest_path(backup_file: Path) -> Path:
    """Where the manifest of `backup_file` lives."""
    return backup_file.with_name(backup_file.name + MANIFEST_SUFFIX)


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(PG_DUMP)
    if not url.database or url.database == ":memory:":
        raise BackupError("de database is geen bestand; er is niets om te back-uppen")
    return Path(url.database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _check(connection: sqlite3.Connection, name: str) -> str:
    """The revision of the database behind `connection`, after an integrity check."""
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        raise BackupError(f"{name} is geen vangnet-database (SQLite)") from None
    if result is None or result[0] != "ok":
        raise BackupError(f"{name} is beschadigd (integrity_check faalt)")
    if revision is None:
        raise BackupError(f"{name} heeft geen migratieversie")
    return str(revision[0])


def _keys(path: Path, ring: KeyRing) -> dict[str, str]:
    """The key ids the database at `path` uses, with this ring's check values."""
    engine = create_engine(f"sqlite:///{path}", hide_parameters=True)
    try:
        with engine.connect() as connection:
            used = key_ids_in_use(connection)
    finally:
        engine.dispose()
    missing = sorted(set(used) - set(ring.ids))
    if missing:
        raise BackupError(
            "de database gebruikt sleutel(s) die niet in VANGNET_ENCRYPTION_KEYS staan: "
            + ", ".join(missing)
        )
    return {key_id: ring.fingerprints[key_id] for key_id in sorted(used)}


def backup(settings: Settings, target: Path) -> Manifest:
    """Copy the SQLite database to `target` with its manifest (see the module's docstring)."""
    source = _sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"er is nog geen database ({source})")
    if target.exists() or manifest_path(target).exists():
        raise BackupError(f"{target} bestaat al; kies een nieuwe naam voor de back-up")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".deel")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)  # every page in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            revision = _check(dst, target.name)
        keys = _keys(partial, current())
        _fsync(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        sha256=_sha256(target),
        size=target.stat().st_size,
        revision=revision,
        keys=keys,
    )
    text = json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False) + "\n"
    _write_private(manifest_path(target), text.encode("utf-8"))
    return manifest


def _has_rows(path: Path) -> bool:
    """Whether the SQLite database at `path` holds any row (the migration table aside)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'"
            )
        ]
        return any(db.execute(f'SELECT 1 FROM "{n}" LIMIT 1').fetchone() for n in names)  # noqa: S608


def restore(settings: Settings, source: Path, *, overwrite: bool = False) -> Manifest:
    """Put the backup `source` back as the configured SQLite database (see the module's
    docstring); `BackupError` before anything is written when a check fails."""
    target = _sqlite_path(settings)
    if not source.is_file():
        raise BackupError(f"{source} bestaat niet")
    manifest = Manifest.read(manifest_path(source))
    if _sha256(source) != manifest.sha256:
        raise BackupError(
            f"{source.name}: de sha256 klopt niet met het manifest; het bestand is veranderd"
            " of beschadigd"
        )
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
        revision = _check(src, source.name)
    if revision != manifest.revision:
        raise BackupError(
            f"{source.name}: migratieversie {revision}, het manifest zegt {manifest.revision}"
        )
    ring = current()
    wrong = [
        key_id for key_id, check in manifest.keys.items() if ring.fingerprints.get(key_id) != check
    ]
    if wrong:
        raise BackupError(
            "de back-up is versleuteld met sleutel(s) die deze installatie niet (zo) heeft: "
            + ", ".join(sorted(wrong))
            + "; zet ze in VANGNET_ENCRYPTION_KEYS"
        )
    if not overwrite and _has_rows(target):
        raise BackupError(
            f"de database {target} is niet leeg; gebruik --overschrijven om haar te vervangen"
            " (maak eerst een back-up van wat er nu in staat)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)
        _check(dst, target.name)
    return manifest
