"""Encryption at rest: claims, free text, letters and attachments are stored as AES-256-GCM
ciphertext, so that a copy of the database (a backup, a stolen disk, a query by someone who
may read tables) reveals nothing about the threatened people the claims describe.

What is encrypted (`ENCRYPTED`): the canonical claim JSON (`aanvraag_versie.claim_json`), the
advice (`advies.decision_json`: it repeats the measures' descriptions), every free text
(`statusovergang.reason`, `besluit.motivation`), the letters (`besluit.letter_context`,
`besluit.letter_pdf`) and the attachments (`bijlage.content`). Not encrypted: ids, statuses,
amounts, dates, pseudonyms and the sha256 columns, which stay hashes over the PLAINTEXT (what a
receipt and a besluit rest on does not change when a key does).

The envelope of one value:

    b"vn1" | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 random bytes) | ciphertext+tag

The associated data is `vangnet:<table>.<column>`: a ciphertext moved to another column does
not decrypt. (Within a column, a value moved to another row decrypts, but the plaintext hashes
beside it — claim_sha256, letter_sha256, sha256 — then no longer match.) Text columns keep
their SQL type and hold the envelope in base64 (`EncryptedText`), so no table had to be rebuilt
for a type change; bytes columns hold it as is (`EncryptedBytes`). Both types refuse to read a
value that is not an envelope: migration 0005 encrypted what was stored before it.

Keys: VANGNET_ENCRYPTION_KEYS = `ID:BASE64,ID:BASE64,...` (32-byte keys); the first encrypts,
every one decrypts. Outside production the development key `dev` (`Settings.secret
("encryption")`, made once under the data directory) is in the ring as well: it encrypts when
no key is configured, and otherwise only decrypts, so that `vangnet keys rotate` can move a
development database to real keys. In production only configured keys count.

The key ring is per process: `configure(settings)` sets it (the service at start-up, every
command that opens the database, the tests); a process that opens the database without calling
it gets the ring of `Settings.from_env()` on first use. `configure` also sets the retention
term, which imports `vangnet.service.retention` and so installs its hook (`retain_until`).

`rotate(engine)` re-encrypts, in batches of one transaction each, every value not under the
first key (`vangnet keys rotate`); `key_ids_in_use` counts the values per key id, from the
envelopes' heads only (`vangnet keys status`, the backup manifest).

Guarded tables: besluit, bezwaar and bijlage are immutable by trigger. Migration 0005 lets
two things through, each only inside `permit(connection, flag)`: re-encryption (`herversleutelen`:
an UPDATE that changes nothing but the ciphertext columns) and the retention purge
(`opschonen`: a DELETE of a row whose claim's `retain_until` has passed). On PostgreSQL the flag
is a transaction-local setting (`set_config('vangnet.<flag>', 'aan', true)`); on SQLite a
function `vangnet_vlag(name)` that every SQLite connection of this process gets (a pool
listener registered here), reading flags held per connection. A connection without the
function (the sqlite3 shell) cannot change those tables at all.

Nothing here logs, and no error names a value or a key: only key ids and column names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Dialect,
    Engine,
    LargeBinary,
    Text,
    column,
    event,
    func,
    select,
    table,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator

from vangnet.exceptions import VangnetError
from vangnet.service.db import WRITE

if TYPE_CHECKING:
    from vangnet.service.settings import Settings

__all__ = [
    "DEV_KEY_ID",
    "ENCRYPTED",
    "ENVELOPE_OVERHEAD",
    "FLAGS",
    "PREFIX",
    "CryptoError",
    "EncryptedBytes",
    "EncryptedColumn",
    "EncryptedText",
    "KeyRing",
    "RotationReport",
    "configure",
    "current",
    "key_id_of",
    "key_ids_in_use",
    "keyring_from_settings",
    "parse_keys",
    "permit",
    "rotate",
]

PREFIX = b"vn1"
NONCE_BYTES = 12
KEY_BYTES = 32
TAG_BYTES = 16
DEV_KEY_ID = "dev"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# how many leading bytes hold prefix, key id length and the longest key id
HEAD_BYTES = len(PREFIX) + 1 + 32
# the least an envelope adds to its plaintext (a one-character key id)
ENVELOPE_OVERHEAD = len(PREFIX) + 1 + 1 + NONCE_BYTES + TAG_BYTES
# the flags `permit` can set (PostgreSQL: `vangnet.<flag>`; SQLite: `vangnet_vlag('<flag>')`)
FLAGS = ("herversleutelen", "opschonen")


class CryptoError(VangnetError):
    """A key is missing or wrong, or a stored value is not a valid envelope. The message is
    Dutch, names a key id or a column at most, never a value or a key."""


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """One encrypted column: its table, the table's primary key, and how the envelope is
    stored (`bytes` as is, `text` in base64)."""

    table: str
    column: str
    primary_key: str
    kind: str  # "bytes" | "text"

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"


# every encrypted column (models.py declares them with the same context)
ENCRYPTED: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("aanvraag_versie", "claim_json", "id", "bytes"),
    EncryptedColumn("advies", "decision_json", "id", "bytes"),
    EncryptedColumn("statusovergang", "reason", "id", "text"),
    EncryptedColumn("besluit", "motivation", "id", "text"),
    EncryptedColumn("besluit", "letter_context", "id", "bytes"),
    EncryptedColumn("besluit", "letter_pdf", "id", "bytes"),
    EncryptedColumn("bijlage", "content", "id", "bytes"),
)


def _aad(context: str) -> bytes:
    return f"vangnet:{context}".encode()


def key_id_of(envelope: bytes) -> str:
    """The id of the key `envelope` was made with; `CryptoError` when it is no envelope."""
    if len(envelope) < len(PREFIX) + 2 or not envelope.startswith(PREFIX):
        raise CryptoError("de opgeslagen waarde is niet versleuteld (geen vn1-envelop)")
    length = envelope[len(PREFIX)]
    start = len(PREFIX) + 1
    raw = envelope[start : start + length]
    try:
        key_id = raw.decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if len(raw) != length or not _KEY_ID.fullmatch(key_id):
        raise CryptoError("de opgeslagen waarde heeft een ongeldige envelop")
    return key_id


class KeyRing:
    """Keys by id; the first encrypts, every one decrypts. `fingerprints`: per key id, a
    check value (16 hex digits of HMAC-SHA256(key, "vangnet sleutelcontrole")) that tells
    whether a backup's key is the one this ring has, and reveals nothing of the key."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise CryptoError("VANGNET_ENCRYPTION_KEYS: geen sleutel")
        seen: dict[str, AESGCM] = {}
        self.fingerprints: dict[str, str] = {}
        for key_id, key in keys:
            if not _KEY_ID.fullmatch(key_id):
                raise CryptoError(
                    f"VANGNET_ENCRYPTION_KEYS: sleutel-id {key_id[:40]!r} is ongeldig;"
                    " gebruik 1 tot 32 letters, cijfers, - of _"
                )
            if key_id in seen:
                raise CryptoError(
                    f"VANGNET_ENCRYPTION_KEYS: sleutel-id {key_id} staat er twee keer"
                )
            if len(key) != KEY_BYTES:
                raise CryptoError(
                    f"VANGNET_ENCRYPTION_KEYS: sleutel {key_id} moet {KEY_BYTES} bytes zijn"
                    " (base64 van 32 willekeurige bytes)"
                )
            seen[key_id] = AESGCM(key)
            # a one-way check value: tells whether two rings hold the same key under an id
            check = hmac.new(key, b"vangnet sleutelcontrole", hashlib.sha256).hexdigest()
            self.fingerprints[key_id] = check[:16]
        self._ciphers = seen
        self.primary = keys[0][0]
        self.ids = tuple(seen)

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """The ring of `ID:BASE64,ID:BASE64,...`; `CryptoError` naming the faulty entry."""
        return cls(parse_keys(spec))

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """`plaintext` as an envelope under the first key, bound to `context`."""
        nonce = os.urandom(NONCE_BYTES)
        head = PREFIX + bytes([len(self.primary)]) + self.primary.encode("ascii")
        sealed = self._ciphers[self.primary].encrypt(nonce, plaintext, _aad(context))
        return head + nonce + sealed

    def decrypt(self, envelope: bytes, context: str) -> bytes:
        """The plaintext of `envelope`, which must have been made for `context`."""
        key_id = key_id_of(envelope)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CryptoError(
                f"{context}: versleuteld met sleutel {key_id}, die niet in"
                " VANGNET_ENCRYPTION_KEYS staat"
            )
        start = len(PREFIX) + 1 + len(key_id)
        nonce = envelope[start : start + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, envelope[start + NONCE_BYTES :], _aad(context))
        except InvalidTag:
            raise CryptoError(
                f"{context}: de waarde is niet te ontsleutelen met sleutel {key_id}"
                " (beschadigd, of uit een andere kolom)"
            ) from None

    def reencrypt(self, envelope: bytes, context: str) -> bytes | None:
        """`envelope` under the first key, or None when it is under the first key already."""
        if key_id_of(envelope) == self.primary:
            return None
        return self.encrypt(self.decrypt(envelope, context), context)


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """The (id, key) pairs of `ID:BASE64,ID:BASE64,...`; `CryptoError` naming the faulty
    entry by its position or id (never the key)."""
    keys = []
    for i, entry in enumerate(e.strip() for e in spec.split(",")):
        key_id, sep, encoded = entry.partition(":")
        if not sep:
            raise CryptoError(
                f"VANGNET_ENCRYPTION_KEYS: onderdeel {i + 1} heeft niet de vorm ID:BASE64"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError(
                f"VANGNET_ENCRYPTION_KEYS: sleutel {key_id.strip()[:40]} is geen geldige base64"
            ) from None
        keys.append((key_id.strip(), key))
    return keys


def keyring_from_settings(settings: Settings) -> KeyRing:
    """The key ring `settings` describe (see the module's docstring)."""
    keys = parse_keys(settings.encryption_keys) if settings.encryption_keys.strip() else []
    if settings.env != "production" and DEV_KEY_ID not in {i for i, _ in keys}:
        keys.append((DEV_KEY_ID, settings.secret("encryption")))
    if not keys:
        raise CryptoError("VANGNET_ENCRYPTION_KEYS ontbreekt; in productie is die verplicht")
    return KeyRing(keys)


_lock = threading.Lock()
_ring: KeyRing | None = None


def configure(settings: Settings) -> KeyRing:
    """Set this process's key ring (and the retention term, `vangnet.service.retention`) from
    `settings`; `CryptoError` when the keys are unusable. Call it before opening the database."""
    global _ring  # noqa: PLW0603 - one ring per process, by design
    ring = keyring_from_settings(settings)
    from vangnet.service import retention

    retention.configure(settings)
    with _lock:
        _ring = ring
    return ring


def current() -> KeyRing:
    """This process's key ring; configured from `Settings.from_env()` when nobody did."""
    ring = _ring
    if ring is not None:
        return ring
    from vangnet.service.settings import Settings

    with _lock:
        if _ring is not None:
            return _ring
    return configure(Settings.from_env())


# --- column types ----------------------------------------------------------------------------


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes stored as an envelope (a BLOB on SQLite, bytea on PostgreSQL)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return current().encrypt(bytes(value), self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return current().decrypt(bytes(value), self.context)


class EncryptedText(TypeDecorator[str]):
    """Text stored as an envelope in base64 (the column stays TEXT)."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        envelope = current().encrypt(value.encode("utf-8"), self.context)
        return base64.b64encode(envelope).decode("ascii")

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            envelope = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError(f"{self.context}: de opgeslagen waarde is niet versleuteld") from None
        return current().decrypt(envelope, self.context).decode("utf-8")


# --- the flags that open the guarded tables --------------------------------------------------

_FLAGS_KEY = "vangnet_vlaggen"


def _install_flags(dbapi_connection: sqlite3.Connection, info: dict[Any, Any]) -> set[str]:
    flags: set[str] = set()
    info[_FLAGS_KEY] = flags
    dbapi_connection.create_function("vangnet_vlag", 1, lambda name: int(name in flags))
    return flags


@event.listens_for(Pool, "connect")
def _sqlite_flag_function(dbapi_connection: Any, record: Any) -> None:
    """Every SQLite connection gets `vangnet_vlag(name)`: 1 while `permit` holds the flag on
    this connection, else 0 (read by the triggers of migration 0005)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        _install_flags(dbapi_connection, record.info)


@contextmanager
def permit(connection: Connection, flag: str) -> Iterator[None]:
    """Inside the transaction of `connection`: let the guarded tables take what `flag`
    allows (`herversleutelen` or `opschonen`), until the block ends."""
    if flag not in FLAGS:
        raise ValueError(f"unknown flag {flag}")
    if not connection.in_transaction():
        raise RuntimeError("permit needs a transaction")
    if connection.dialect.name == "postgresql":
        setting = f"vangnet.{flag}"
        connection.execute(text("SELECT set_config(:s, 'aan', true)"), {"s": setting})
        try:
            yield
        finally:
            if connection.in_transaction() and not connection.invalidated:
                # an aborted transaction drops the setting by itself
                with suppress(Exception):
                    connection.execute(text("SELECT set_config(:s, '', true)"), {"s": setting})
        return
    pooled = connection.connection
    flags: set[str] | None = pooled.info.get(_FLAGS_KEY)
    if flags is None:  # a connection made before this module was imported
        dbapi = pooled.dbapi_connection
        if not isinstance(dbapi, sqlite3.Connection):
            raise RuntimeError(f"permit: database {connection.dialect.name!r} not supported")
        flags = _install_flags(dbapi, pooled.info)
    flags.add(flag)
    try:
        yield
    finally:
        flags.discard(flag)


# --- key rotation ----------------------------------------------------------------------------


@dataclass(slots=True)
class RotationReport:
    """What `rotate` did: per column, the values read and those re-encrypted."""

    primary: str
    checked: dict[str, int]
    reencrypted: dict[str, int]
    batches: int = 0

    def text(self) -> str:
        """The report in Dutch, for people."""
        lines = [f"Alles is nu versleuteld met sleutel {self.primary}."]
        for context, checked in self.checked.items():
            lines.append(
                f"  {context}: {checked} waarden gelezen,"
                f" {self.reencrypted[context]} opnieuw versleuteld"
            )
        total = sum(self.reencrypted.values())
        lines.append(f"Totaal opnieuw versleuteld: {total}, in {self.batches} transacties.")
        return "\n".join(lines) + "\n"


def _head_width(spec: EncryptedColumn) -> int:
    """How much of a stored value holds the envelope's head (text: its base64, 4 characters
    for every 3 bytes)."""
    return (HEAD_BYTES + 2) // 3 * 4 if spec.kind == "text" else HEAD_BYTES


def _head(value: Any, kind: str) -> bytes:
    if kind == "text":
        try:
            return base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("een opgeslagen waarde is niet versleuteld") from None
    return bytes(value)


def rotate(engine: Engine, *, batch_size: int = 100, ring: KeyRing | None = None) -> RotationReport:
    """Re-encrypt every value that is not under the ring's first key, in batches of
    `batch_size` rows, each batch one transaction; resumable (a value under the first key is
    left alone, so a second run only finishes what the first did not)."""
    ring = ring or current()
    report = RotationReport(ring.primary, {}, {})
    for spec in ENCRYPTED:
        _, pk, col = _columns(spec)
        head = func.substr(col, 1, _head_width(spec))
        report.checked[spec.context] = report.reencrypted[spec.context] = 0
        last: Any = None
        while True:
            with engine.connect().execution_options(**WRITE) as connection, connection.begin():
                query = select(pk, head).where(col.is_not(None)).order_by(pk).limit(batch_size)
                if last is not None:
                    query = query.where(pk > last)
                rows = connection.execute(query).all()
                if not rows:
                    break
                report.batches += 1
                stale = [r[0] for r in rows if key_id_of(_head(r[1], spec.kind)) != ring.primary]
                if stale:
                    with permit(connection, "herversleutelen"):
                        for id_ in stale:
                            _reencrypt_one(connection, ring, spec, id_)
                report.checked[spec.context] += len(rows)
                report.reencrypted[spec.context] += len(stale)
                last = rows[-1][0]
    return report


def _columns(spec: EncryptedColumn) -> tuple[Any, Any, Any]:
    """The table, its primary key and the column of `spec`, with plain types (the stored
    envelopes, not what `EncryptedBytes` makes of them)."""
    pk: Any = column(spec.primary_key)
    col: Any = column(spec.column, Text() if spec.kind == "text" else LargeBinary())
    return table(spec.table, pk, col), pk, col


def _reencrypt_one(connection: Connection, ring: KeyRing, spec: EncryptedColumn, id_: Any) -> None:
    tbl, pk, col = _columns(spec)
    stored = connection.execute(select(col).where(pk == id_)).scalar_one()
    new = ring.reencrypt(_head(stored, spec.kind), spec.context)
    if new is None:
        return
    value: Any = base64.b64encode(new).decode("ascii") if spec.kind == "text" else new
    # `col == stored`: a value changed meanwhile is not overwritten with an older plaintext
    connection.execute(update(tbl).where(pk == id_, col == stored).values({spec.column: value}))


def key_ids_in_use(connection: Connection) -> dict[str, int]:
    """How many stored values each key id encrypted (read from the envelopes' heads only)."""
    used: dict[str, int] = {}
    for spec in ENCRYPTED:
        tbl, _, col = _columns(spec)
        query = select(func.substr(col, 1, _head_width(spec))).select_from(tbl)
        for (head,) in connection.execute(query.where(col.is_not(None))):
            key_id = key_id_of(_head(head, spec.kind))
            used[key_id] = used.get(key_id, 0) + 1
    return used
