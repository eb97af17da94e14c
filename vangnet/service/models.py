"""The stored claims, as SQLAlchemy tables: what a decision needs, and nothing more.

    aanvraag            one claim through its life: status, the current version's summary,
    │                   the idempotency key; `lock_version` guards against lost updates
    ├── aanvraag_versie the canonical claim JSON (bytes) and its sha256; a supplement is a new
    │   │               version, the old ones stay
    │   └── advies      the v1 decision exactly as the engine returned it, with its receipt;
    │                   a re-evaluation adds an advice beside the older ones
    ├── statusovergang  the history: from, to, when, why
    ├── bijlage         evidence (PDF, PNG, JPEG): its bytes, type, size and sha256; immutable
    └── besluit         an assessor's decision: final and immutable (no UPDATE, no DELETE: the
        │               store never changes one, and a database trigger refuses it); it rests
        │               on one `advies` and may replace an earlier besluit (a correction, or a
        │               decision on an objection); its letter is stored as PDF with its sha256
        └── bezwaar     an objection registered against a besluit: who, when, received on;
                        no text (the objection itself stays with the parties)

    organisatie ── account ── sessie, api_token   who works with vangnet (migration 0004)
    inlogpoging                                    login throttling, by hashed key
    auditregel                                     the append-only, hash-chained audit log
    regelset_concept                               drafts of rule versions: draft, approve, publish

Money is integer cents, timestamps are UTC. Names, addresses and threat details live only
inside the claim JSON, never in a column, an index or a log; assessors are pseudonyms. The
claim JSON, the advice, free text, letters and attachments are encrypted at rest
(`EncryptedBytes`/`EncryptedText`, vangnet.service.crypto, migration 0005); the sha256 columns
stay hashes over the plaintext. A besluit lists the attachments it rests on as their ids
(`attachments`, a JSON list). Migrations in `vangnet/service/migrations/` create exactly these
tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from vangnet.service.crypto import ENVELOPE_OVERHEAD, EncryptedBytes, EncryptedText
from vangnet.service.lifecycle import STATUSES

__all__ = [
    "AUDIT_RESULTATEN",
    "BESLUIT_OUTCOMES",
    "ORGANISATIE_SOORTEN",
    "ROLLEN",
    "Aanvraag",
    "AanvraagVersie",
    "Account",
    "Advies",
    "ApiToken",
    "Auditregel",
    "Base",
    "Besluit",
    "Bezwaar",
    "Bijlage",
    "Inlogpoging",
    "Organisatie",
    "RegelsetConcept",
    "Sessie",
    "Statusovergang",
    "UtcDateTime",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back as an aware UTC `datetime`, on every backend
    (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a timestamp needs a time zone; vangnet stores UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)  # noqa: S101 - the column type guarantees it
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


_STATUS_SQL = ", ".join(f"'{s}'" for s in STATUSES)


class Aanvraag(Base):
    """One submitted claim through its life."""

    __tablename__ = "aanvraag"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    # the organisation that submitted it (an `organisatie` id, set by the server from the
    # submitting account, never from the body); NULL only for claims stored before accounts
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # the organisation whose assessors decide it: follows the ruleset's `deciding_body`
    decider_id: Mapped[str | None] = mapped_column(String(16), index=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    scheme: Mapped[str] = mapped_column(String(64))
    reference_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), index=True)
    # the current claim version and its advice, so that lists need no join
    claim_version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    claimed_total_cents: Mapped[int] = mapped_column(BigInteger)
    eligible_total_cents: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    lock_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    # when the claim and everything under it may be purged (`vangnet retention purge`)
    retain_until: Mapped[date | None] = mapped_column(Date, index=True)

    versions: Mapped[list[AanvraagVersie]] = relationship(
        back_populates="aanvraag", lazy="raise", order_by="AanvraagVersie.number"
    )
    history: Mapped[list[Statusovergang]] = relationship(
        back_populates="aanvraag", lazy="raise", order_by="Statusovergang.id"
    )

    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_SQL})", name="status"),
        CheckConstraint("claim_version >= 1", name="claim_version"),
        # one key per owner; claims without an owner share one key space
        Index(
            "uq_aanvraag_idempotency",
            func.coalesce(owner_id, ""),
            idempotency_key,
            unique=True,
        ),
    )
    # optimistic locking: every UPDATE checks and raises the version (StaleDataError on loss)
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class AanvraagVersie(Base):
    """One version of a claim: the canonical claim JSON as hashed in the receipt."""

    __tablename__ = "aanvraag_versie"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aanvraag_id: Mapped[str] = mapped_column(ForeignKey("aanvraag.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    claim_json: Mapped[bytes] = mapped_column(EncryptedBytes("aanvraag_versie.claim_json"))
    claim_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    aanvraag: Mapped[Aanvraag] = relationship(back_populates="versions", lazy="raise")
    advices: Mapped[list[Advies]] = relationship(
        back_populates="claim_version", lazy="raise", order_by="Advies.id"
    )

    __table_args__ = (UniqueConstraint("aanvraag_id", "number"),)


class Advies(Base):
    """The engine's advice on one claim version: the v1 decision, byte for byte."""

    __tablename__ = "advies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_version_id: Mapped[int] = mapped_column(ForeignKey("aanvraag_versie.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    claimed_total_cents: Mapped[int] = mapped_column(BigInteger)
    eligible_total_cents: Mapped[int] = mapped_column(BigInteger)
    ruleset_id: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    # the receipt
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    catalogue_sha256: Mapped[str] = mapped_column(String(64))
    claim_sha256: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(200))
    evaluated_at: Mapped[datetime]
    decision_json: Mapped[bytes] = mapped_column(EncryptedBytes("advies.decision_json"))
    created_at: Mapped[datetime]

    claim_version: Mapped[AanvraagVersie] = relationship(back_populates="advices", lazy="raise")


class Statusovergang(Base):
    """One step in a claim's history."""

    __tablename__ = "statusovergang"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aanvraag_id: Mapped[str] = mapped_column(ForeignKey("aanvraag.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    # what the assessor asks for, or why; written by people, shown to the parties only
    reason: Mapped[str | None] = mapped_column(EncryptedText("statusovergang.reason"))
    # the claim version this step brought (submission, supplement)
    claim_version_id: Mapped[int | None] = mapped_column(ForeignKey("aanvraag_versie.id"))
    # an information request: the last day the applicant may supplement (migration 0006)
    due_on: Mapped[date | None] = mapped_column(Date)

    aanvraag: Mapped[Aanvraag] = relationship(back_populates="history", lazy="raise")
    claim_version: Mapped[AanvraagVersie | None] = relationship(lazy="raise")


# what an assessor can decide: `nader_onderzoek` is advice, never a decision
BESLUIT_OUTCOMES = ("toekennen", "gedeeltelijk", "afwijzen")
BESLUIT_KINDS = ("besluit", "correctie", "beslissing_op_bezwaar")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Besluit(Base):
    """An assessor's decision on a claim: final and immutable, with its letter."""

    __tablename__ = "besluit"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    aanvraag_id: Mapped[str] = mapped_column(ForeignKey("aanvraag.id"), index=True)
    # 1 for the first besluit on the claim, then 2, 3 ... (its kenmerk ends in -B<number>)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    # the engine's advice it rests on (the v1 decision, unchanged, in `advies`)
    advies_id: Mapped[int] = mapped_column(ForeignKey("advies.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # required (by the service) when the outcome or amount differs from the advice
    motivation: Mapped[str | None] = mapped_column(EncryptedText("besluit.motivation"))
    # the ids of the `bijlage` rows it rests on
    attachments: Mapped[list[str]] = mapped_column(JSON)
    # a pseudonym until accounts exist
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime]
    replaces_id: Mapped[str | None] = mapped_column(ForeignKey("besluit.id"), unique=True)
    # the letter: the context every format is rendered from (JSON), and the PDF, made once
    letter_date: Mapped[date] = mapped_column(Date)
    letter_context: Mapped[bytes] = mapped_column(EncryptedBytes("besluit.letter_context"))
    letter_pdf: Mapped[bytes] = mapped_column(EncryptedBytes("besluit.letter_pdf"))
    letter_sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("aanvraag_id", "number"),
        CheckConstraint(f"kind IN ({_sql_list(BESLUIT_KINDS)})", name="kind"),
        CheckConstraint(f"outcome IN ({_sql_list(BESLUIT_OUTCOMES)})", name="outcome"),
        CheckConstraint("amount_cents >= 0", name="amount_cents"),
        CheckConstraint("number >= 1", name="number"),
        # the first besluit replaces nothing; a correction or a decision on an objection does
        CheckConstraint(
            "(kind = 'besluit' AND replaces_id IS NULL)"
            " OR (kind <> 'besluit' AND replaces_id IS NOT NULL)",
            name="replaces",
        ),
    )


class Bezwaar(Base):
    """An objection registered against a besluit: who registered it, when, and the day it
    was received (the objection term). No text: the objection stays with the parties."""

    __tablename__ = "bezwaar"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    besluit_id: Mapped[str] = mapped_column(ForeignKey("besluit.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]


# the kinds of evidence an uploader chooses from, and the media types vangnet keeps
BIJLAGE_SOORTEN = ("offerte", "factuur", "dreigingsinschatting", "beveiligingsadvies", "overig")
BIJLAGE_MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg")
BIJLAGE_MAX_BYTES = 10_000_000  # 10 MB


class Bijlage(Base):
    """An attachment to a claim (evidence: a quote, an invoice, the threat assessment, the
    security advice): its bytes, type (by content), size and sha256; immutable (migration 0003).
    No file name: names of files tend to carry names and addresses."""

    __tablename__ = "bijlage"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    aanvraag_id: Mapped[str] = mapped_column(ForeignKey("aanvraag.id"), index=True)
    soort: Mapped[str] = mapped_column(String(32))
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # the bytes themselves, loaded only when asked for (lists never read them)
    content: Mapped[bytes] = mapped_column(EncryptedBytes("bijlage.content"), deferred=True)
    created_at: Mapped[datetime]

    __table_args__ = (
        # the same bytes once per claim
        UniqueConstraint("aanvraag_id", "sha256"),
        CheckConstraint(f"soort IN ({_sql_list(BIJLAGE_SOORTEN)})", name="soort"),
        CheckConstraint(f"media_type IN ({_sql_list(BIJLAGE_MEDIA_TYPES)})", name="media_type"),
        CheckConstraint(f"size >= 1 AND size <= {BIJLAGE_MAX_BYTES}", name="size"),
        # the stored bytes are the envelope: the plaintext, a head of at least 17 bytes and
        # the 16-byte tag (vangnet.service.crypto; migration 0005)
        CheckConstraint(f"length(content) >= size + {ENVELOPE_OVERHEAD}", name="content"),
        CheckConstraint("length(sha256) = 64", name="sha256"),
    )


# --- organisations, accounts, sessions, tokens, login throttling and the audit log ---------
# (migration 0004). Who may do what is decided in one place (vangnet.service.authz), never here.

ORGANISATIE_SOORTEN = ("gemeente", "provincie", "waterschap", "bzk")
ROLLEN = ("aanvrager", "beoordelaar", "regelbeheerder", "auditor", "beheerder")
AUDIT_RESULTATEN = ("gelukt", "geweigerd", "mislukt")


class Organisatie(Base):
    """An organisation that applies or decides: a municipality (its CBS code `GMnnnn`), a
    province (`PVnn`), a water board (`WSnnnn`), or BZK (`BZK`)."""

    __tablename__ = "organisatie"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    naam: Mapped[str] = mapped_column(String(200))
    soort: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"soort IN ({_sql_list(ORGANISATIE_SOORTEN)})", name="soort"),
    )


class Account(Base):
    """A person's account: one organisation, one role. `pseudoniem` is what decisions, the
    audit log and auditors see; the user name is only for logging in."""

    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    gebruikersnaam: Mapped[str] = mapped_column(String(100), unique=True)  # lower case
    organisatie_id: Mapped[str] = mapped_column(ForeignKey("organisatie.id"), index=True)
    rol: Mapped[str] = mapped_column(String(32))
    pseudoniem: Mapped[str] = mapped_column(String(64), unique=True)
    # argon2id (PHC string); NULL: this account cannot log in with a password (API only)
    wachtwoord_hash: Mapped[str | None] = mapped_column(String(200))
    actief: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint(f"rol IN ({_sql_list(ROLLEN)})", name="rol"),)


class Sessie(Base):
    """A web session, server-side: the cookie carries a random token, the database only its
    sha256. Revocable (`revoked_at`), expiring; the CSRF token belongs to the session."""

    __tablename__ = "sessie"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    account_id: Mapped[str] = mapped_column(ForeignKey("account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiToken(Base):
    """An API bearer token: shown once, stored as its sha256, expiring, revocable."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    account_id: Mapped[str] = mapped_column(ForeignKey("account.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    naam: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Inlogpoging(Base):
    """A login attempt, for throttling across workers and restarts: keyed by the sha256 of
    the user name (and separately of the origin), never the name itself."""

    __tablename__ = "inlogpoging"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sleutel: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    gelukt: Mapped[bool]


class Auditregel(Base):
    """One entry of the audit log: append-only (database triggers refuse UPDATE and DELETE)
    and hash-chained. The BIO log fields: when (UTC), who (an account id, `anoniem` or
    `systeem`), what (action and object), the result and the origin; `details` holds
    parameters and digests, never claim content. `hash` is a keyed hash (HMAC-SHA256, the
    key lives outside the database, `key_id` names it) over the entry and `prev_hash`."""

    __tablename__ = "auditregel"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    result: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        CheckConstraint(f"result IN ({_sql_list(AUDIT_RESULTATEN)})", name="result"),
        CheckConstraint("seq >= 1", name="seq"),
    )


CONCEPT_SOORTEN = ("regelset", "catalogus")
CONCEPT_STATUSSEN = ("concept", "goedgekeurd", "gepubliceerd", "afgewezen")


class RegelsetConcept(Base):
    """A draft of a ruleset or catalogue version on its way to publication: drafted by one
    regelbeheerder, approved by another, then published (written to `rulesets/` or
    `calculators/`, its hash pinned in the manifest). The YAML is kept as bytes with its sha256;
    a published row never changes (a trigger refuses it), and no row is ever deleted."""

    __tablename__ = "regelset_concept"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, opaque
    soort: Mapped[str] = mapped_column(String(16))
    scheme: Mapped[str] = mapped_column(String(64))  # a ruleset id, or `catalogus`
    version: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    # for the changelog: type of change, affected validity dates, affected files
    changelog: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("account.id"))
    approved_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("soort", "scheme", "version"),
        CheckConstraint(f"soort IN ({_sql_list(CONCEPT_SOORTEN)})", name="soort"),
        CheckConstraint(f"status IN ({_sql_list(CONCEPT_STATUSSEN)})", name="status"),
        # nobody approves their own draft
        CheckConstraint("approved_by IS NULL OR approved_by <> author_id", name="vier_ogen"),
    )
