"""Attachments (bijlagen): the evidence of a claim, stored with its sha256.

A bijlage is a PDF, PNG or JPEG of at most 10 MB, its type recognised by its CONTENT (the
first bytes: `%PDF-`, `\\x89PNG\\r\\n\\x1a\\n`, `\\xff\\xd8\\xff`), never by a name or a header
alone. The uploader chooses its `soort` (offerte, factuur, dreigingsinschatting,
beveiligingsadvies, overig). Stored: the bytes, the media type, the size, the sha256, the soort
and when (UTC). Not stored: the original file name (names of files tend to carry the names and
addresses of the people they concern, who are threatened) or anything else from the upload; a
download is named `bijlage-<id>.<ext>`. The bytes themselves are kept exactly as sent: they are
evidence, and their sha256 is what a besluit rests on. They are encrypted at rest (AES-256-GCM,
`vangnet.service.crypto.EncryptedBytes`): the column holds the envelope, the sha256 and the
size are those of the bytes as sent, and reading gives those bytes back.

**Where the bytes live: in the database**, in the bijlage's own row (`content`; bytea on
PostgreSQL, a BLOB on SQLite), not as files under VANGNET_DATA_DIR. Because:
- one transaction holds the row and its bytes: a crash at any moment leaves a complete
  bijlage or none, never a row whose file is missing or half-written, and no file whose row
  never came (nothing to sweep up after a crash);
- the bytes get the durability the claims and decisions have (SQLite: WAL with
  `synchronous=FULL`; PostgreSQL: its WAL), and one backup holds a claim, its decisions and
  their evidence consistently;
- several web processes, or hosts, on one PostgreSQL need no shared file system;
- the letters of besluiten are stored the same way.
The price: the database grows with the evidence (10 MB per file at most) and a download is
read whole (10 MB at most). Files named by their sha256 would need a write to a temporary
file, fsync, rename and fsync of the directory before the commit, plus a sweeper for files
whose commit never came.

A bijlage is immutable (a database trigger refuses UPDATE and DELETE, migration 0003; since
0005 only re-encryption under a new key and the retention purge of a claim that is due get
through, see `vangnet.service.crypto.permit`), and the same bytes are kept once per claim:
uploading them again returns the bijlage that has them.
Adding one is refused once the claim is `ingetrokken`; a claim that is `besloten` still takes
evidence, because a correction or a decision on an objection may rest on new evidence (a
besluit lists exactly the bijlagen it rests on, by id, so a later bijlage never changes it).

Nothing here logs: the evidence describes threatened people.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from vangnet.exceptions import Problem
from vangnet.service.audit import AuditEvent, AuditLog
from vangnet.service.db import WRITE
from vangnet.service.identity import Identity
from vangnet.service.models import (
    BIJLAGE_MAX_BYTES,
    BIJLAGE_MEDIA_TYPES,
    BIJLAGE_SOORTEN,
    Aanvraag,
    Bijlage,
)
from vangnet.service.store import NotFound, Store, StoreError

__all__ = [
    "MAGIC",
    "MAX_BYTES",
    "SOORTEN",
    "SUFFIXES",
    "Attachments",
    "ClaimClosed",
    "MediaType",
    "SameBytesOtherSoort",
    "Soort",
    "Upload",
    "attachment_problems",
    "download",
    "logged_addition",
    "sniff",
]

# the shape of the ids vangnet gives; anything else is not sent to the database
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
Soort = Literal["offerte", "factuur", "dreigingsinschatting", "beveiligingsadvies", "overig"]
MediaType = Literal["application/pdf", "image/png", "image/jpeg"]
SOORTEN: tuple[Soort, ...] = get_args(Soort)
MAX_BYTES = BIJLAGE_MAX_BYTES  # 10 MB

# how each type begins; the longest is 8 bytes
MAGIC: dict[str, bytes] = {
    "application/pdf": b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
}
MAGIC_LENGTH = max(len(m) for m in MAGIC.values())
SUFFIXES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

# a claim that is withdrawn takes no more evidence
CLOSED = ("ingetrokken",)

assert SOORTEN == BIJLAGE_SOORTEN and tuple(MAGIC) == BIJLAGE_MEDIA_TYPES  # noqa: S101


def sniff(head: bytes) -> str | None:
    """The media type the bytes `head` begin with, or None when they are none of the three."""
    for media_type, magic in MAGIC.items():
        if head.startswith(magic):
            return media_type
    return None


def attachment_problems(data: Any, known: set[str]) -> list[Problem]:
    """What is wrong with the `attachments` of a besluit's body `data` (decoded JSON): every id
    that is not an attachment of the claim (`known`: the ids of its attachments), and every id
    named twice. Ids of the wrong shape are left to the body's schema."""
    ids = data.get("attachments") if isinstance(data, dict) else None
    if not isinstance(ids, list):
        return []
    problems = []
    seen: set[str] = set()
    for i, id_ in enumerate(ids):
        if not isinstance(id_, str):
            continue
        if id_ in seen:
            problems.append(Problem(f"attachments.{i}", id_[:80], "staat al eerder in de lijst"))
        elif id_ not in known:
            text = "is geen bijlage van deze aanvraag (zie GET /v1/aanvragen/{aanvraagId}/bijlagen)"
            problems.append(Problem(f"attachments.{i}", id_[:80], text))
        seen.add(id_)
    return problems


class ClaimClosed(StoreError):
    """The claim takes no more attachments (it is withdrawn)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class SameBytesOtherSoort(StoreError):
    """These bytes are already attached to the claim, as another soort."""

    def __init__(self, existing: dict[str, Any]) -> None:
        super().__init__(existing["id"])
        self.existing = existing


@dataclass(frozen=True, slots=True)
class Upload:
    """Received bytes, checked: their type by content, their sha256."""

    media_type: str
    content: bytes
    sha256: str


def logged_addition(
    audit: AuditLog, identity: Identity, aanvraag_id: str
) -> Callable[[Session, dict[str, Any]], None]:
    """The `on_stored` of `Attachments.add` for `identity` adding a bijlage to claim
    `aanvraag_id`: the entry `bijlage.toevoegen` (what it is, its type, size and sha256; never
    its bytes) in the transaction that stores the bijlage. The API and the pages use it alike."""

    def logged(session: Session, added: dict[str, Any]) -> None:
        audit.append(
            session,
            AuditEvent(
                actor=identity.actor,
                action="bijlage.toevoegen",
                result="gelukt",
                origin=identity.origin,
                object_type="bijlage",
                object_id=added["id"],
                details={
                    "aanvraag": aanvraag_id,
                    "soort": added["soort"],
                    "media_type": added["media_type"],
                    "size": added["size"],
                    "sha256": added["sha256"],
                },
            ),
        )

    return logged


def download(store: Store, identity: Identity, bijlage_id: str) -> Response:
    """Bijlage `bijlage_id` as a download for `identity`, after its check: its bytes with their
    media type, named `bijlage-<id>.<ext>` (never the name it came with), opened in a browser
    with no scripts, plug-ins or framing; the download is recorded in the audit log
    (`bijlage.downloaden`, a transaction of its own). `NotFound`. Reads and writes: call it in
    a thread. The API and the pages use it alike."""
    content, kind = Attachments(store.engine).content(bijlage_id)
    store.record(identity, "bijlage.downloaden", "bijlage", bijlage_id, {})
    return Response(
        content,
        media_type=kind,
        headers={
            "Content-Disposition": f'attachment; filename="bijlage-{bijlage_id}{SUFFIXES[kind]}"',
            "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
        },
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _representation(b: Bijlage) -> dict[str, Any]:
    return {
        "id": b.id,
        "href": f"/v1/bijlagen/{b.id}",
        "aanvraag": {"id": b.aanvraag_id, "href": f"/v1/aanvragen/{b.aanvraag_id}"},
        "soort": b.soort,
        "media_type": b.media_type,
        "size": b.size,
        "sha256": b.sha256,
        "created_at": _timestamp(b.created_at),
    }


class Attachments:
    """The attachments in one database (the claims' database)."""

    def __init__(self, engine: Engine) -> None:
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)

    @staticmethod
    def _status(session: Session, aanvraag_id: str, *, lock: bool = False) -> str:
        query = select(Aanvraag.status).where(Aanvraag.id == aanvraag_id)
        if lock:
            query = query.with_for_update()
        status = session.scalar(query)
        if status is None:
            raise NotFound(aanvraag_id)
        return status

    @staticmethod
    def _same_bytes(session: Session, aanvraag_id: str, sha256: str) -> Bijlage | None:
        return session.scalars(
            select(Bijlage).where(Bijlage.aanvraag_id == aanvraag_id, Bijlage.sha256 == sha256)
        ).one_or_none()

    def check_open(self, aanvraag_id: str) -> None:
        """`NotFound` or `ClaimClosed` before any bytes are received (checked again when the
        bijlage is stored)."""
        with self._read() as session, session.begin():
            status = self._status(session, aanvraag_id)
        if status in CLOSED:
            raise ClaimClosed(status)

    def add(
        self,
        aanvraag_id: str,
        soort: str,
        upload: Upload,
        *,
        on_stored: Callable[[Session, dict[str, Any]], None] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store `upload` as a bijlage of the claim, in one transaction: (the bijlage, True),
        or (the one that already has these bytes, False). `on_stored` runs in that
        transaction once a new bijlage is written (its audit-log entry)."""
        try:
            with self._write() as session, session.begin():
                # the claim's row lock orders this against a withdrawal
                status = self._status(session, aanvraag_id, lock=True)
                if status in CLOSED:
                    raise ClaimClosed(status)
                existing = self._same_bytes(session, aanvraag_id, upload.sha256)
                if existing is None:
                    bijlage = Bijlage(
                        id=uuid.uuid4().hex,
                        aanvraag_id=aanvraag_id,
                        soort=soort,
                        media_type=upload.media_type,
                        size=len(upload.content),
                        sha256=upload.sha256,
                        content=upload.content,
                        created_at=datetime.now(UTC),
                    )
                    session.add(bijlage)
                    session.flush()
                    stored = _representation(bijlage)
                    if on_stored is not None:
                        on_stored(session, stored)
                    return stored, True
        except IntegrityError:
            # the same bytes, uploaded at the same moment by another request: that one won
            with self._read() as session, session.begin():
                existing = self._same_bytes(session, aanvraag_id, upload.sha256)
            if existing is None:
                raise
        found = _representation(existing)
        if existing.soort != soort:
            raise SameBytesOtherSoort(found)
        return found, False

    def of_aanvraag(self, aanvraag_id: str) -> list[dict[str, Any]]:
        """The claim's bijlagen, oldest first (without their bytes); `NotFound`."""
        with self._read() as session, session.begin():
            self._status(session, aanvraag_id)
            rows = session.scalars(
                select(Bijlage)
                .where(Bijlage.aanvraag_id == aanvraag_id)
                .order_by(Bijlage.created_at, Bijlage.id)
            ).all()
            return [_representation(b) for b in rows]

    def ids_of(self, aanvraag_id: str) -> set[str]:
        """The ids of the claim's bijlagen."""
        if not _ID.fullmatch(aanvraag_id):
            return set()  # no claim has such an id (and PostgreSQL refuses a NUL: a 500)
        with self._read() as session, session.begin():
            return set(
                session.scalars(select(Bijlage.id).where(Bijlage.aanvraag_id == aanvraag_id))
            )

    def content(self, bijlage_id: str) -> tuple[bytes, str]:
        """A bijlage's bytes and media type; `NotFound`."""
        with self._read() as session, session.begin():
            row = session.execute(
                select(Bijlage.content, Bijlage.media_type).where(Bijlage.id == bijlage_id)
            ).one_or_none()
        if row is None:
            raise NotFound(bijlage_id)
        return row[0], row[1]

    def describe(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The bijlagen `ids` as a besluit lists them (id, href, soort, media type, sha256), in
        the order given. An id with no bijlage (only in a besluit stored before bijlagen
        existed, when ids were checked for their shape only) is listed with nulls."""
        wanted = list(ids)
        if not wanted:
            return []
        with self._read() as session, session.begin():
            rows = {b.id: b for b in session.scalars(select(Bijlage).where(Bijlage.id.in_(wanted)))}
        described = []
        for id_ in wanted:
            b = rows.get(id_)
            described.append(
                {"id": id_, "href": None, "soort": None, "media_type": None, "sha256": None}
                if b is None
                else {
                    "id": b.id,
                    "href": f"/v1/bijlagen/{b.id}",
                    "soort": b.soort,
                    "media_type": b.media_type,
                    "sha256": b.sha256,
                }
            )
        return described
