"""The tamper-evident audit log: who did what, when, with which result, from where.

Auditors must be able to trust the record of decisions that spend public money, so the log is
append-only (database triggers refuse UPDATE and DELETE, migration 0004) and hash-chained:
every entry (`auditregel`) carries the hash of the entry before it and its own keyed hash,
HMAC-SHA256 under a key that lives outside the database (VANGNET_AUDIT_KEY). Someone who can
write to the database but lacks the key cannot change, remove or insert an entry without
`verify` naming the first entry that no longer fits. Cutting entries off the end leaves a
shorter chain that is still whole; an `Anchor` (the head's seq and hash, exported regularly and
kept outside the database) makes that visible too.

Writing. `AuditLog.append(session_or_connection, event)` writes in the caller's transaction,
so the entry commits or rolls back with the action it records. Appends are serialised across
processes: on PostgreSQL by a transaction-scoped advisory lock taken before the head is read
(held until the caller's transaction ends: append as the last step of a transaction, after its
row locks, to avoid lock-order deadlocks); on SQLite by the write lock a `BEGIN IMMEDIATE`
transaction takes at its start (`vangnet.service.db.WRITE`). `append` refuses a SQLite
connection that was not opened with `WRITE` and any connection without an open transaction.
(The SQLite check reads the connection's execution options, which decide BEGIN IMMEDIATE in
`vangnet.service.db`; it cannot see a transaction begun some other way. Such a transaction is
still safe, only not serialised: its insert fails on a stale head instead of forking the chain.)
The primary key on `seq` is the last guard: two writers that read the same head cannot both
commit. `record(engine, event)` is `append` in a transaction of its own; `append_many` and
`record_many` write several entries in one transaction (one lock, one read of the head), as
`vangnet.service.audit_buffer.AuditBuffer` does for entries that belong to no transaction of
their own (pre-checks), in batches from a background thread.

What is hashed. `hash = HMAC-SHA256(key, canonical JSON (RFC 8785) of {seq, at, actor, action,
object_type, object_id, result, origin, details, prev_hash, key_id})`, with `at` as ISO 8601
UTC with microseconds (`2026-11-28T09:15:02.123456Z`) and `prev_hash` of the first entry 64
zeros. `details` is stored exactly as it was hashed (its canonical form read back).

`key_id` names the key without revealing it: the first 16 hex digits of HMAC-SHA256(key,
"vangnet audit key id"); a one-way function of the key, so the log tells which key made an
entry, not the key.

Rotating the key. New entries are always made with the current key (VANGNET_AUDIT_KEY); the
keys it replaced (VANGNET_AUDIT_KEYS_PREVIOUS) only verify the entries they made. The chain runs
on across a rotation (the first entry under the new key links to the last one under the old),
and once a key has been succeeded it may not sign again: an entry under a key that an earlier
part of the chain already left behind is a breach (`oude_sleutel`), so a retired key that leaks
cannot add entries after the rotation without `verify` saying so. `Verification.keys` lists
which key made which run of entries.

Details are small (at most `MAX_DETAILS_BYTES` of canonical JSON) and hold parameters and
digests only: never names, addresses, free text or claim content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, Engine, String, Table, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from vangnet.canonical import canonical_json
from vangnet.exceptions import VangnetError
from vangnet.service.db import WRITE
from vangnet.service.identity import ANONIEM, SYSTEEM
from vangnet.service.models import Auditregel
from vangnet.service.settings import Settings

__all__ = [
    "ANONIEM",
    "AUDIT_LOCK",
    "GENESIS",
    "MAX_DETAILS_BYTES",
    "RESULTS",
    "SYSTEEM",
    "Anchor",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditLog",
    "Breach",
    "BreachKind",
    "KeySpan",
    "Result",
    "Verification",
    "key_id_for",
    "signed_bytes",
]

Result = Literal["gelukt", "geweigerd", "mislukt"]
RESULTS: tuple[str, ...] = get_args(Result)

# what went wrong with the first broken entry
BreachKind = Literal[
    "veranderd", "verwijderd", "ingevoegd", "afgekapt", "onbekende_sleutel", "oude_sleutel"
]

GENESIS = "0" * 64  # prev_hash of the first entry
MAX_DETAILS_BYTES = 4096
# PostgreSQL advisory lock id for appends ("vaud"); the migrations use "vang"
AUDIT_LOCK = 0x76617564
# how far `verify` looks for the original seq of a renumbered entry
_MAX_SHIFT = 64
_SUMMARY_SPANS = 20  # key runs kept in a verification's summary
_KEY_ID_LABEL = b"vangnet audit key id"
_TABLE = cast(Table, Auditregel.__table__)
# column widths of `auditregel` (migration 0004)
_WIDTHS = {"actor": 64, "action": 64, "object_type": 32, "object_id": 64, "origin": 64}


class AuditError(VangnetError):
    """An audit entry cannot be written or the log cannot be checked as asked (bad event,
    wrong transaction, unusable anchor). The message is Dutch and names the field."""


def key_id_for(key: bytes) -> str:
    """The public name of `key`: 16 hex digits of HMAC-SHA256(key, label); reveals nothing
    of the key beyond what any keyed hash in the log already does."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


# the hashed fields: every column but `hash`
_SIGNED = ("seq", "at", "actor", "action", "object_type", "object_id", "result", "origin",
           "details", "prev_hash", "key_id")  # fmt: skip


def signed_bytes(fields: Mapping[str, Any]) -> bytes:
    """What an entry's hash is computed over: the canonical JSON (RFC 8785) of the object of
    its fields but `hash`, with `at` as ISO 8601 UTC text with microseconds."""
    return canonical_json({name: fields[name] for name in _SIGNED})


def _canonical_details(details: Mapping[str, Any]) -> bytes:
    if not isinstance(details, Mapping):
        raise AuditError(f"details: moet een object (dict) zijn, niet {type(details).__name__}")
    try:
        data = canonical_json(dict(details))
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise AuditError(
            "details: alleen JSON (tekst, gehele getallen, true/false/null, lijsten en objecten"
            f" met ASCII-sleutels) kan in de auditlog: {exc}"
        ) from None
    if len(data) > MAX_DETAILS_BYTES:
        raise AuditError(
            f"details: {len(data)} bytes, de grens is {MAX_DETAILS_BYTES}; leg parameters en"
            " digests vast, geen inhoud"
        )
    return data


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened, as the caller knows it; `append` adds seq, time and hashes.

    `action` is Dutch and dotted (`inloggen`, `aanvraag.indienen`, `toegang.geweigerd`);
    `details` holds parameters and digests only, never claim content or personal data.
    """

    actor: str
    action: str
    result: Result
    origin: str
    object_type: str | None = None
    object_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, width in _WIDTHS.items():
            value = getattr(self, name)
            if value is None and name in ("object_type", "object_id"):
                continue
            if not isinstance(value, str) or not value:
                raise AuditError(f"{name}: moet een niet-lege tekst zijn")
            if len(value) > width:
                raise AuditError(f"{name}: hoogstens {width} tekens, niet {len(value)}")
        if self.result not in RESULTS:
            raise AuditError(f"result: {self.result!r} kan niet; kies uit {', '.join(RESULTS)}")
        _canonical_details(self.details)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry, as read back."""

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    result: str
    origin: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    key_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "result": self.result,
            "origin": self.origin,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "key_id": self.key_id,
        }


def _iso(at: datetime) -> str:
    """`at` in UTC, ISO 8601 with microseconds and `Z`: the form that is hashed."""
    if at.tzinfo is None:
        raise AuditError("at: een tijdstip zonder tijdzone kan niet; de auditlog rekent in UTC")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError("geen tijdzone")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Anchor:
    """The head of the chain at one moment: keep it outside the database; `verify` with it
    detects a log that was cut back below it. An empty log's anchor has seq 0."""

    seq: int
    hash: str
    key_id: str
    at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": None if self.at is None else _iso(self.at),
            "key_id": self.key_id,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Anchor:
        """Read an anchor; `AuditError` names the field that is wrong."""
        if not isinstance(data, Mapping):
            raise AuditError("het anker moet een JSON-object zijn met seq, hash, at en key_id")
        seq, digest, key_id, at = (data.get(k) for k in ("seq", "hash", "key_id", "at"))
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise AuditError(f"seq: moet een geheel getal van 0 of meer zijn, niet {seq!r}")
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
            raise AuditError("hash: moet 64 hexadecimale tekens zijn")
        if seq == 0 and digest != GENESIS:
            raise AuditError("hash: bij seq 0 (lege log) hoort de hash 000…0")
        if not isinstance(key_id, str) or not key_id:
            raise AuditError("key_id: ontbreekt")
        when: datetime | None = None
        if at is not None:
            try:
                when = _parse_iso(at) if isinstance(at, str) else None
            except ValueError:
                when = None
            if when is None:
                raise AuditError(
                    f"at: {at!r} is geen tijdstip; verwacht bijvoorbeeld 2026-11-28T09:15:02Z"
                )
        return cls(seq=seq, hash=digest, key_id=key_id, at=when)

    @classmethod
    def from_json(cls, text: str | bytes) -> Anchor:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuditError(f"het anker is geen geldige JSON: {exc}") from None
        return cls.from_dict(data)


def _key_list(key_ids: Sequence[str]) -> str:
    return ("sleutel " if len(key_ids) == 1 else "de sleutels ") + ", ".join(key_ids)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True, slots=True)
class Breach:
    """The first entry that does not fit, and how."""

    seq: int
    kind: BreachKind
    text: str  # Dutch, for people

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "text": self.text}


@dataclass(frozen=True, slots=True)
class KeySpan:
    """A run of consecutive entries made with one key: the key's id, its first and last seq."""

    key_id: str
    first: int
    last: int

    def as_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "first": self.first, "last": self.last}


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of `verify`: intact, or the first broken entry."""

    checked: int  # entries read
    head: Anchor  # the head as found (seq 0 for an empty log)
    breach: Breach | None = None
    anchor: Anchor | None = None
    keys: tuple[KeySpan, ...] = ()  # the keys of the entries checked, in chain order

    @property
    def ok(self) -> bool:
        return self.breach is None

    def text(self) -> str:
        """The outcome in plain Dutch."""
        if self.breach is not None:
            return (
                f"De auditlog is NIET in orde. Eerste fout bij regel {self.breach.seq}"
                f" ({self.breach.kind}): {self.breach.text}"
            )
        what = (
            "De auditlog is leeg en in orde."
            if self.head.seq == 0
            else f"De auditlog is in orde: {self.checked} regels, de keten klopt tot en met"
            f" regel {self.head.seq} (hash {self.head.hash[:16]}…)."
        )
        if len(self.keys) > 1:
            spans = ", ".join(
                f"sleutel {k.key_id} voor regel {k.first} tot en met {k.last}" for k in self.keys
            )
            what += f" De sleutel is gewisseld: {spans}."
        if self.anchor is None:
            return what + " Zonder anker is niet te zien of er regels aan het eind zijn weggehaald."
        return what + f" Het anker (regel {self.anchor.seq}) klopt ook."

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": self.head.as_dict(),
            "anchor": None if self.anchor is None else self.anchor.as_dict(),
            "breach": None if self.breach is None else self.breach.as_dict(),
            "keys": [k.as_dict() for k in self.keys],
            "text": self.text(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def summary(self) -> dict[str, Any]:
        """The outcome as the details of an audit entry (`auditlog.verifieren`): numbers,
        digests, key ids, times and the breach's own text; at most `_SUMMARY_SPANS` key runs
        (the last ones) to stay within `MAX_DETAILS_BYTES`. `from_summary` reads it back."""
        breach, anchor = self.breach, self.anchor
        return {
            "heel": self.ok,
            "gelezen": self.checked,
            "kop": _anchor_list(self.head),
            "anker": None if anchor is None else _anchor_list(anchor),
            "fout": None if breach is None else [breach.seq, breach.kind, breach.text[:1000]],
            "sleutels": [[k.key_id, k.first, k.last] for k in self.keys[-_SUMMARY_SPANS:]],
        }

    @classmethod
    def from_summary(cls, data: Mapping[str, Any]) -> Verification:
        """The outcome `summary` recorded; `AuditError` when `data` is not such a summary."""
        try:
            fout = data["fout"]
            if (fout is None) != (data["heel"] is True) or (
                fout is not None and fout[1] not in get_args(BreachKind)
            ):
                raise ValueError("heel and fout disagree")
            return cls(
                checked=int(data["gelezen"]),
                head=_anchor_of(data["kop"]),
                anchor=None if data["anker"] is None else _anchor_of(data["anker"]),
                breach=None
                if fout is None
                else Breach(seq=int(fout[0]), kind=cast(BreachKind, fout[1]), text=str(fout[2])),
                keys=tuple(KeySpan(str(k), int(a), int(b)) for k, a, b in data["sleutels"]),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise AuditError(f"geen uitkomst van een controle van de keten ({exc})") from None


def _anchor_list(anchor: Anchor) -> list[Any]:
    return [anchor.seq, anchor.hash, anchor.key_id, None if anchor.at is None else _iso(anchor.at)]


def _anchor_of(values: list[Any]) -> Anchor:
    seq, digest, key_id, at = values
    when = None if at is None else _parse_iso(str(at))
    return Anchor(seq=int(seq), hash=str(digest), key_id=str(key_id), at=when)


def _connection(target: Session | Connection) -> Connection:
    if isinstance(target, Session):
        if not target.in_transaction():
            raise AuditError(
                "append: de sessie heeft geen open transactie; schrijf de auditregel in de"
                " transactie van de actie (with session.begin(): ...)"
            )
        return target.connection()
    if not target.in_transaction():
        raise AuditError(
            "append: de verbinding heeft geen open transactie; schrijf de auditregel in de"
            " transactie van de actie (with connection.begin(): ...)"
        )
    return target


_COLUMNS = (
    _TABLE.c.seq,
    _TABLE.c.at,
    _TABLE.c.actor,
    _TABLE.c.action,
    _TABLE.c.object_type,
    _TABLE.c.object_id,
    _TABLE.c.result,
    _TABLE.c.origin,
    _TABLE.c.details,
    _TABLE.c.prev_hash,
    _TABLE.c.hash,
    _TABLE.c.key_id,
)


# the same columns without result processing, so that a row someone wrote by hand (a time or
# details that do not parse) is reported as a broken entry instead of failing the read
_RAW_COLUMNS = tuple(
    type_coerce(c, String).label(c.name) if c.name in ("at", "details") else c for c in _COLUMNS
)


class _Unreadable(ValueError):
    """A stored row whose seq, time or details cannot be read."""

    seq: int | None = None


def _raw_entry(row: Any) -> AuditEntry:
    at, details = row.at, row.details
    try:
        if isinstance(at, str):  # SQLite: naive UTC text
            at = datetime.fromisoformat(at)
        if not isinstance(at, datetime):
            raise _Unreadable("at")
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        if isinstance(details, str | bytes):
            details = json.loads(details)
    except (ValueError, TypeError) as exc:
        raise _Unreadable(str(exc)) from None
    if not isinstance(details, dict):
        raise _Unreadable("details")
    return AuditEntry(
        seq=row.seq,
        at=at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        result=row.result,
        origin=row.origin,
        details=details,
        prev_hash=row.prev_hash,
        hash=row.hash,
        key_id=row.key_id,
    )


# how many objects `entries_for` takes at once (bound parameters of one query)
_MAX_OBJECTS = 500


def _read_entries(engine: Engine, query: Any) -> list[AuditEntry]:
    """The entries `query` (of `_RAW_COLUMNS`) selects; `AuditError` naming an entry that
    cannot be read at all."""
    with engine.connect() as connection, connection.begin():
        found = []
        for row in connection.execute(query):
            try:
                found.append(_raw_entry(row))
            except _Unreadable as exc:
                raise AuditError(
                    f"regel {row.seq} is niet te lezen ({exc}); de auditlog is beschadigd:"
                    " controleer hem met vangnet audit verify"
                ) from None
        return found


class AuditLog:
    """The audit log under one key: append entries, export the head, verify the chain.
    `previous`: the keys this one replaced, which only verify the entries they made."""

    def __init__(
        self, key: bytes, key_id: str | None = None, previous: Sequence[bytes] = ()
    ) -> None:
        if len(key) < 32:
            raise AuditError("de sleutel van de auditlog moet minstens 32 bytes zijn")
        self._key = key
        self.key_id = key_id_for(key) if key_id is None else key_id
        if not self.key_id or len(self.key_id) > 32:
            raise AuditError("key_id: 1 tot 32 tekens")
        self._previous: dict[str, bytes] = {}
        for number, old in enumerate(previous, start=1):
            if len(old) < 32:
                raise AuditError(
                    f"vorige sleutel {number} van de auditlog moet minstens 32 bytes zijn"
                )
            old_id = key_id_for(old)
            if old_id == self.key_id or old == key:
                raise AuditError(
                    f"vorige sleutel {number} is de huidige sleutel; noem een sleutel maar één keer"
                )
            self._previous[old_id] = old

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key this log verifies with: the current one first."""
        return (self.key_id, *self._previous)

    def __repr__(self) -> str:  # never show the key
        return f"AuditLog(key_id={self.key_id!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditLog:
        """The log under VANGNET_AUDIT_KEY (as UTF-8 bytes), or outside production the
        development key in DATA_DIR/secrets/audit.key; key_id from `key_id_for`; the keys it
        replaced from VANGNET_AUDIT_KEYS_PREVIOUS (separated by spaces)."""
        key = settings.audit_key.encode("utf-8") if settings.audit_key else None
        previous = [k.encode("utf-8") for k in settings.audit_keys_previous.split()]
        return cls(key if key is not None else settings.secret("audit"), previous=previous)

    # --- hashing --------------------------------------------------------------------------

    def _mac(self, key: bytes, entry: AuditEntry | Mapping[str, Any]) -> str:
        fields = entry.as_dict() if isinstance(entry, AuditEntry) else entry
        return hmac.new(key, signed_bytes(fields), hashlib.sha256).hexdigest()

    # --- writing --------------------------------------------------------------------------

    def append(self, session: Session | Connection, event: AuditEvent) -> int:
        """Write `event` as the next entry in the caller's open transaction; its seq.

        Never commits: the entry is stored if and only if the caller's transaction commits.
        On SQLite the transaction must be a writing one (`vangnet.service.db.WRITE`, BEGIN
        IMMEDIATE); on PostgreSQL an advisory lock serialises appends until it ends.
        """
        return self.append_many(session, [event])[0]

    def append_many(self, session: Session | Connection, events: Sequence[AuditEvent]) -> list[int]:
        """Write `events`, in order, as the next entries in the caller's open transaction (one
        lock, one read of the head, one insert); their seqs. As `append` in every other way."""
        connection = _connection(session)
        dialect = connection.dialect.name
        if dialect == "sqlite":
            if not connection.get_execution_options().get("vangnet_write", False):
                raise AuditError(
                    "append: op SQLite moet de transactie een schrijvende zijn (BEGIN IMMEDIATE:"
                    " open de sessie of verbinding met vangnet.service.db.WRITE)"
                )
        elif dialect == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})")
        else:
            raise AuditError(f"append: database {dialect!r} wordt niet ondersteund")
        if not events:
            return []
        head = connection.execute(
            select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
        ).first()
        seq, prev_hash = (0, GENESIS) if head is None else (int(head.seq), str(head.hash))
        rows: list[dict[str, Any]] = []
        for event in events:
            seq += 1
            at = datetime.now(UTC)
            values: dict[str, Any] = {
                "seq": seq,
                "at": at,
                "actor": event.actor,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "result": event.result,
                "origin": event.origin,
                "details": json.loads(_canonical_details(event.details)),
                "prev_hash": prev_hash,
                "key_id": self.key_id,
            }
            values["hash"] = prev_hash = self._mac(self._key, {**values, "at": _iso(at)})
            rows.append(values)
        connection.execute(insert(_TABLE), rows)
        return [row["seq"] for row in rows]

    def record(self, engine: Engine, event: AuditEvent) -> int:
        """Write `event` in a writing transaction of its own (for what has no other
        transaction: a refused access, a failed login, a CLI run); its seq."""
        return self.record_many(engine, [event])[0]

    def record_many(self, engine: Engine, events: Sequence[AuditEvent]) -> list[int]:
        """Write `events`, in order, in ONE writing transaction of their own (`AuditBuffer`
        writes its batches so); their seqs."""
        with engine.connect().execution_options(**WRITE) as connection, connection.begin():
            return self.append_many(connection, events)

    # --- reading --------------------------------------------------------------------------

    def anchor(self, engine: Engine) -> Anchor:
        """The head of the chain now (seq 0 and 64 zeros for an empty log)."""
        with engine.connect() as connection, connection.begin():
            row = connection.execute(
                select(_TABLE.c.seq, _TABLE.c.hash, _TABLE.c.at, _TABLE.c.key_id)
                .order_by(_TABLE.c.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return Anchor(seq=0, hash=GENESIS, key_id=self.key_id, at=None)
        return Anchor(seq=int(row.seq), hash=str(row.hash), key_id=str(row.key_id), at=row.at)

    def entries(self, engine: Engine, *, start: int = 1, limit: int = 100) -> list[AuditEntry]:
        """Up to `limit` entries from seq `start` on, in order."""
        if start < 1 or limit < 1:
            raise AuditError("van en aantal moeten 1 of meer zijn")
        return _read_entries(
            engine,
            select(*_RAW_COLUMNS).where(_TABLE.c.seq >= start).order_by(_TABLE.c.seq).limit(limit),
        )

    def entries_for(
        self, engine: Engine, object_ids: Iterable[str], *, limit: int = 1000, after: int = 0
    ) -> list[AuditEntry]:
        """The entries about the objects `object_ids` (their `object_id`) with a seq above
        `after`, in order, at most `limit` (the oldest): read through the index on
        `object_id`, never the whole log. Page on with `after` = the last seq read."""
        wanted = sorted(set(object_ids))
        if not wanted:
            return []
        if limit < 1:
            raise AuditError("aantal moet 1 of meer zijn")
        if len(wanted) > _MAX_OBJECTS:
            raise AuditError(f"hoogstens {_MAX_OBJECTS} objecten tegelijk")
        return _read_entries(
            engine,
            select(*_RAW_COLUMNS)
            .where(_TABLE.c.object_id.in_(wanted), _TABLE.c.seq > after)
            .order_by(_TABLE.c.seq)
            .limit(limit),
        )

    def latest_for(self, engine: Engine, object_id: str, action: str) -> AuditEntry | None:
        """The newest entry about `object_id` with `action`, or None: read through the index on
        `object_id`, never the whole log."""
        found = _read_entries(
            engine,
            select(*_RAW_COLUMNS)
            .where(_TABLE.c.object_id == object_id, _TABLE.c.action == action)
            .order_by(_TABLE.c.seq.desc())
            .limit(1),
        )
        return found[0] if found else None

    # --- verifying ------------------------------------------------------------------------

    def verify(
        self, engine: Engine, anchor: Anchor | None = None, *, batch_size: int = 2000
    ) -> Verification:
        """Recompute the chain in seq order and name the first entry that does not fit.

        Reads in batches of `batch_size` within one transaction (a consistent snapshot;
        REPEATABLE READ on PostgreSQL), so memory does not grow with the log.
        """
        if anchor is not None and anchor.key_id not in self.key_ids:
            raise AuditError(
                f"het anker hoort bij sleutel {anchor.key_id}, deze auditlog kent alleen"
                f" {_key_list(self.key_ids)}"
            )
        options = (
            {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
        )
        with engine.connect().execution_options(**options) as connection, connection.begin():
            return _Verifier(self, connection, anchor, batch_size).run()


class _Verifier:
    """One pass over the chain with a one-entry look-ahead (constant memory)."""

    def __init__(
        self, log: AuditLog, connection: Connection, anchor: Anchor | None, batch_size: int
    ) -> None:
        self.log = log
        self.keys = {log.key_id: log._key, **log._previous}
        self.spans: list[KeySpan] = []
        self.connection = connection
        self.anchor = anchor
        self.batch_size = max(1, batch_size)

    def _stream(self) -> Iterator[AuditEntry | _Unreadable]:
        last: Any = 0
        while True:
            rows = self.connection.execute(
                select(*_RAW_COLUMNS)
                .where(_TABLE.c.seq > last)
                .order_by(_TABLE.c.seq)
                .limit(self.batch_size)
            ).all()
            for row in rows:
                if isinstance(row.seq, bool) or not isinstance(row.seq, int):
                    yield _Unreadable(f"seq {row.seq!r} is geen geheel getal")
                    return
                try:
                    yield _raw_entry(row)
                except _Unreadable as exc:
                    exc.seq = row.seq
                    yield exc
            if len(rows) < self.batch_size:
                return
            last = rows[-1].seq

    def _seq_of_hash(self, digest: str, other_than: int) -> int | None:
        """The seq of another entry whose own hash is `digest` (a scan; only after a fault)."""
        found = self.connection.execute(
            select(func.min(_TABLE.c.seq)).where(
                _TABLE.c.hash == digest, _TABLE.c.seq != other_than
            )
        ).scalar()
        return None if found is None else int(found)

    def run(self) -> Verification:
        prev_seq, prev_hash = 0, GENESIS
        head = Anchor(seq=0, hash=GENESIS, key_id=self.log.key_id)
        checked = 0
        stream = self._stream()
        entry = next(stream, None)
        while entry is not None:
            following = next(stream, None)
            checked += 1
            if isinstance(entry, _Unreadable):
                seq = prev_seq + 1 if entry.seq is None else entry.seq
                return self._done(
                    checked,
                    head,
                    Breach(seq, "veranderd", f"de regel is niet te lezen ({entry})"),
                )
            breach = self._check(
                entry,
                prev_seq,
                prev_hash,
                following if isinstance(following, AuditEntry) else None,
            )
            if breach is not None:
                return self._done(checked, head, breach)
            prev_seq, prev_hash = entry.seq, entry.hash
            head = Anchor(seq=entry.seq, hash=entry.hash, key_id=entry.key_id, at=entry.at)
            entry = following
        anchor = self.anchor
        if anchor is not None and anchor.seq > head.seq:
            return self._done(
                checked,
                head,
                Breach(
                    head.seq + 1,
                    "afgekapt",
                    f"de log eindigt bij regel {head.seq}, maar het anker noemt regel"
                    f" {anchor.seq}: regels {head.seq + 1} tot en met {anchor.seq} zijn"
                    " weggehaald",
                ),
            )
        return self._done(checked, head, None)

    def _done(self, checked: int, head: Anchor, breach: Breach | None) -> Verification:
        return Verification(
            checked=checked, head=head, breach=breach, anchor=self.anchor, keys=tuple(self.spans)
        )

    def _key_order(self, entry: AuditEntry) -> Breach | None:
        """Follow which key made which run of entries; a key that was succeeded earlier in
        the chain signing again is a breach (a retired key cannot add entries)."""
        spans = self.spans
        if spans and spans[-1].key_id == entry.key_id:
            spans[-1] = KeySpan(entry.key_id, spans[-1].first, entry.seq)
            return None
        earlier = next((s for s in spans if s.key_id == entry.key_id), None)
        if earlier is not None:
            return Breach(
                entry.seq,
                "oude_sleutel",
                f"de regel is gemaakt met sleutel {entry.key_id}, die na regel {earlier.last}"
                f" is vervangen door sleutel {spans[-1].key_id} (vanaf regel"
                f" {spans[-1].first}); een vervangen sleutel maakt geen nieuwe regels",
            )
        spans.append(KeySpan(entry.key_id, entry.seq, entry.seq))
        return None

    def _check(
        self, entry: AuditEntry, prev_seq: int, prev_hash: str, following: AuditEntry | None
    ) -> Breach | None:
        seq = entry.seq
        if seq != prev_seq + 1:
            missing = (
                f"regel {prev_seq + 1} ontbreekt"
                if seq == prev_seq + 2
                else f"regels {prev_seq + 1} tot en met {seq - 1} ontbreken"
            )
            return Breach(
                prev_seq + 1, "verwijderd", f"{missing} (na regel {prev_seq} volgt {seq})"
            )
        key = self.keys.get(entry.key_id)
        if key is None:
            return Breach(
                seq,
                "onbekende_sleutel",
                f"de regel is gemaakt met sleutel {entry.key_id!r}; deze controle kent alleen"
                f" {_key_list(self.log.key_ids)}, dus de regel is niet te controleren (noem een"
                " vervangen sleutel in VANGNET_AUDIT_KEYS_PREVIOUS)",
            )
        linked = entry.prev_hash == prev_hash
        try:
            mac_ok = hmac.compare_digest(self.log._mac(key, entry), entry.hash)
        except (TypeError, ValueError):  # details no longer canonical JSON
            mac_ok = False
        if not mac_ok:
            return self._bad_mac(entry, prev_seq, linked, following)
        if not linked:
            # a genuine entry (its hash is right) that follows another entry than the one it
            # was chained to
            earlier = self._seq_of_hash(entry.prev_hash, seq)
            if earlier is not None and earlier < prev_seq:
                return Breach(
                    earlier + 1,
                    "ingevoegd",
                    f"regel {seq} volgde op regel {earlier}; regel {earlier + 1} tot en met"
                    f" {prev_seq} horen niet in de keten",
                )
            return Breach(
                prev_seq,
                "veranderd",
                f"regel {seq} verwijst naar een vorige regel met een andere hash dan regel"
                f" {prev_seq} nu heeft",
            )
        order = self._key_order(entry)
        if order is not None:
            return order
        anchor = self.anchor
        if anchor is not None and seq == anchor.seq and entry.hash != anchor.hash:
            return Breach(
                seq,
                "afgekapt",
                f"regel {seq} heeft een andere hash dan het anker: de log is na het anker"
                " ingekort en daarna opnieuw aangevuld (of de regel is vervangen)",
            )
        return None

    def _renumbered(self, entry: AuditEntry) -> int | None:
        """The seq under which `entry` is genuine, if only its seq was changed (by at most
        `_MAX_SHIFT`): a removal or insertion hidden by renumbering the entries after it."""
        key = self.keys[entry.key_id]
        for shift in range(1, _MAX_SHIFT + 1):
            for seq in (entry.seq + shift, entry.seq - shift):
                if seq < 1:
                    continue
                moved = {**entry.as_dict(), "seq": seq}
                try:
                    if hmac.compare_digest(self.log._mac(key, moved), entry.hash):
                        return seq
                except (TypeError, ValueError):  # details that are not canonical JSON
                    return None
        return None

    def _bad_mac(
        self, entry: AuditEntry, prev_seq: int, linked: bool, following: AuditEntry | None
    ) -> Breach:
        seq = entry.seq
        copy_of = self._seq_of_hash(entry.hash, seq)
        if copy_of is not None:
            return Breach(
                seq, "ingevoegd", f"de regel is een kopie van regel {copy_of} (dezelfde hash)"
            )
        if linked and following is not None and following.prev_hash == entry.prev_hash:
            return Breach(
                seq,
                "ingevoegd",
                f"de hash klopt niet en regel {following.seq} verwijst langs deze regel heen"
                f" naar regel {prev_seq}: de regel is ertussen gezet",
            )
        moved = self._renumbered(entry)
        if moved is not None and moved > seq:
            last = f" tot en met {moved - 1}" if moved - seq > 1 else ""
            return Breach(
                seq,
                "verwijderd",
                f"deze regel had nummer {moved}: de regel(s) met de oude nummers {seq}{last}"
                " zijn weggehaald en de regels erna vernummerd",
            )
        if moved is not None:
            return Breach(
                seq, "veranderd", f"het volgnummer is veranderd: deze regel had nummer {moved}"
            )
        return Breach(
            seq,
            "veranderd",
            "de hash klopt niet met de inhoud: de regel is veranderd, of gemaakt zonder de sleutel",
        )
