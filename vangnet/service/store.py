"""Storing claims and moving them through their life: the work behind `/v1/aanvragen`.

Every change is one transaction: a submission writes the aanvraag, its first version, the advice
and the first history step together, or nothing. Two requests that change one claim at once
never both win: a writing transaction locks the row (`SELECT ... FOR UPDATE` on PostgreSQL,
`BEGIN IMMEDIATE` on SQLite) and every UPDATE checks `lock_version`; a supplement, which is
evaluated between reading and writing, names the version it read. The loser gets `Conflict`.

Besluiten are written once and never changed: `decide` stores the first besluit on a claim
with its transition to `besloten`; `replace` stores a correction or a decision on an objection
that replaces the current besluit. There is no method that updates or deletes one (and the
database refuses it, see migration 0002). Two assessors deciding at once: the claim's row lock,
its `lock_version`, and the unique (aanvraag, number) and unique `replaces_id` make one win;
the other gets `Conflict` or `BesluitConflict`.

Every change writes its entry in the audit log IN THE SAME TRANSACTION (`AuditLog.append`
inside `_writing()`): who (the `Identity`), what (the action and the object), the result and
the origin, and parameters and hashes, never the claim's content or any free text. A change
that fails leaves neither the change nor its entry. Reads that hand out documents (a letter,
an attachment) are recorded in a transaction of their own (`AuditLog.record`). Bulk work (the
synthetic portfolio) stores a batch of claims in one transaction with one entry for the batch,
its parameters and a digest of the claims (`submit_many`).

Who may do what is decided before the store is called (`vangnet.service.authz`); `ref`,
`besluit_ref` and `bijlage_ref` give what that check needs, and `page` filters lists in
the query by owner or decider. A claim's owner is the submitting account's organisation,
never anything from the request body.

Nothing here logs: claims describe threatened people.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, RowMapping, and_, exists, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from vangnet.claim import decode_json
from vangnet.jsonout import dumps
from vangnet.service.audit import AuditEvent, AuditLog
from vangnet.service.authz import ObjectRef
from vangnet.service.db import WRITE
from vangnet.service.identity import Identity
from vangnet.service.lifecycle import TERM_STEPS, TRANSITIONS, allowed_transitions
from vangnet.service.models import (
    Aanvraag,
    AanvraagVersie,
    Advies,
    Besluit,
    Bezwaar,
    Bijlage,
    Statusovergang,
)
from vangnet.service.termijnen import deadline

__all__ = [
    "BesluitConflict",
    "Conflict",
    "DecisionBasis",
    "Evaluated",
    "IdempotencyConflict",
    "NewBesluit",
    "NewClaim",
    "NotFound",
    "Snapshot",
    "Store",
    "StoreError",
    "StoredAdvice",
    "TransitionRefused",
    "cents",
    "stored_advice",
]

_CENT = Decimal("0.01")
# the ids vangnet gives (uuid hex) have this shape; anything else cannot exist and is not sent
# to the database (PostgreSQL refuses a NUL in a string outright: that would be a 500)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class StoreError(Exception):
    """Base of the store's refusals."""


class NotFound(StoreError):
    """No claim (besluit, bijlage) with this id."""


class Conflict(StoreError):
    """The claim changed while this request was under way."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status
        self.allowed = allowed_transitions(status)


class TransitionRefused(Conflict):
    """The transition is not possible from the claim's current status."""

    def __init__(self, status: str, transition: str) -> None:
        super().__init__(status)
        self.transition = transition


class IdempotencyConflict(StoreError):
    """The idempotency key was used before for a different claim."""


class BesluitConflict(StoreError):
    """A besluit cannot be stored or replaced this way (it was replaced already, another
    assessor was first, or there is no objection to decide on)."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


@dataclass(frozen=True, slots=True)
class DecisionBasis:
    """What deciding needs, read before the letter is made: the claim's state, the advice the
    besluit will rest on, and (for a replacement) the besluit it replaces."""

    aanvraag_id: str
    status: str
    lock_version: int
    advies_id: int
    advice_outcome: str
    advice_eligible_cents: int
    claim_json: bytes
    decision_json: bytes
    next_number: int
    # a replacement: the besluit replaced, its number and letter date, and the day the first
    # objection against it was received (None when there is none)
    replaces_id: str | None = None
    replaces_number: int | None = None
    replaces_date: date | None = None
    objection_received: date | None = None
    supplement_due: date | None = None  # while an information request is open


@dataclass(frozen=True, slots=True)
class NewBesluit:
    """A besluit ready to store, its letter made."""

    kind: str
    advies_id: int
    outcome: str
    amount_cents: int
    motivation: str | None
    attachments: list[str]
    decided_by: str
    decided_at: datetime
    number: int
    letter_date: date
    letter_context: bytes
    letter_pdf: bytes
    replaces_id: str | None = None


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A validated claim with the engine's advice, ready to store."""

    claim_json: bytes  # canonical (RFC 8785), as hashed in the receipt
    claim_sha256: str
    scheme: str
    reference_date: date
    decision: Mapping[str, Any]  # the v1 decision as the engine returned it


@dataclass(frozen=True, slots=True)
class NewClaim:
    """One claim of a batch (`Store.submit_many`): evaluated, with its owning and deciding
    organisation given by the caller (a load, not a request: there is no submitting account)."""

    evaluated: Evaluated
    owner: str | None
    decider: str | None
    idempotency_key: str | None = None


# what `submit_many` adds to the details of a batch's audit entry
_BATCH_DETAILS = ("aanvragen", "eerste", "laatste", "claims_sha256")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a request saw of a claim before it evaluated anything."""

    status: str
    scheme: str
    lock_version: int


@dataclass(frozen=True, slots=True)
class StoredAdvice:
    """What a besluit rests on, as stored: the canonical claim version and the advice's
    decision bytes, with the ruleset version and catalogue hash the advice recorded."""

    claim_json: bytes
    decision_json: bytes
    ruleset_id: str
    ruleset_version: str
    catalogue_sha256: str


def _stored_advice(session: Session, besluit_id: str) -> StoredAdvice:
    row = session.execute(
        select(AanvraagVersie.claim_json, Advies)
        .join(Advies, Advies.claim_version_id == AanvraagVersie.id)
        .join(Besluit, Besluit.advies_id == Advies.id)
        .where(Besluit.id == besluit_id)
    ).one_or_none()
    if row is None:
        raise NotFound(besluit_id)
    claim_json, advice = row
    return StoredAdvice(
        claim_json=claim_json,
        decision_json=advice.decision_json,
        ruleset_id=advice.ruleset_id,
        ruleset_version=advice.ruleset_version,
        catalogue_sha256=advice.catalogue_sha256,
    )


def stored_advice(engine: Engine, besluit_id: str) -> StoredAdvice:
    """The stored claim and advice besluit `besluit_id` rests on (every besluit names its
    advice; a replacement keeps the advice of the besluit it replaces); `NotFound`. For a
    caller without a `Store` (`vangnet verify`); `Store.advice_of` is the same."""
    with Session(engine) as session, session.begin():
        return _stored_advice(session, besluit_id)


def cents(amount: Decimal) -> int:
    """Euros with at most two decimals as integer cents (exact)."""
    return int((amount * 100).to_integral_exact())


def _supplement_passed(before: date) -> ColumnElement[bool]:
    """A claim waiting for a supplement whose last day lies before `before`: its newest step
    is the information request (any later step changes the status), with `due_on` < before."""
    later = aliased(Statusovergang)
    newest = (
        select(func.max(later.id))
        .where(later.aanvraag_id == Statusovergang.aanvraag_id)
        .scalar_subquery()
    )
    return and_(
        Aanvraag.status == "aanvulling_gevraagd",
        exists().where(
            Statusovergang.aanvraag_id == Aanvraag.id,
            Statusovergang.id == newest,
            Statusovergang.to_status == "aanvulling_gevraagd",
            Statusovergang.due_on < before,
        ),
    )


def _event(
    identity: Identity, action: str, obj: tuple[str | None, str | None], details: dict[str, Any]
) -> AuditEvent:
    """The audit entry of a successful act of `identity` on the object `obj` (type, id)."""
    return AuditEvent(
        actor=identity.actor,
        action=action,
        result="gelukt",
        origin=identity.origin,
        object_type=obj[0],
        object_id=obj[1],
        details=details,
    )


def _euros(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money_as_cents(value: Any) -> Any:
    """The claim as shown: every amount (a field ending in `_eur`) with two decimals."""
    if isinstance(value, dict):
        return {
            k: (
                Decimal(v).quantize(_CENT)
                if k.endswith("_eur") and isinstance(v, int | Decimal) and not isinstance(v, bool)
                else _money_as_cents(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_money_as_cents(v) for v in value]
    return value


def _advice_row(evaluated: Evaluated, version: AanvraagVersie, now: datetime) -> Advies:
    d = evaluated.decision
    receipt = d["receipt"]
    return Advies(
        claim_version=version,
        outcome=d["outcome"],
        claimed_total_cents=cents(d["claimed_total_eur"]),
        eligible_total_cents=cents(d["eligible_total_eur"]),
        ruleset_id=d["ruleset"]["id"],
        ruleset_version=d["ruleset"]["version"],
        ruleset_sha256=receipt["ruleset_sha256"],
        catalogue_sha256=receipt["catalogue_sha256"],
        claim_sha256=receipt["claim_sha256"],
        engine=receipt["engine"],
        evaluated_at=datetime.fromisoformat(receipt["evaluated_at"]),
        decision_json=dumps(dict(d)).encode("utf-8"),
        created_at=now,
    )


# the audit log's action for each transition, by the name of its resource
TRANSITION_ACTIONS = {
    "in-behandeling": "aanvraag.in_behandeling_nemen",
    "aanvullingsverzoeken": "aanvraag.aanvulling_vragen",
    "verdagingen": "aanvraag.verdagen",
    "aanvullingstermijnen": "aanvraag.aanvultermijn_verlengen",
    "aanvullingen": "aanvraag.aanvullen",
    "intrekking": "aanvraag.intrekken",
    "besluit": "besluit.nemen",
}
# what the entry of an override repeats from the besluit's entry
_OVERRIDE_FIELDS = ("uitkomst", "bedrag_cent", "advies_uitkomst", "advies_bedrag_cent")
# and for each kind of besluit
BESLUIT_ACTIONS = {
    "besluit": "besluit.nemen",
    "correctie": "besluit.corrigeren",
    "beslissing_op_bezwaar": "besluit.beslissen_op_bezwaar",
}


def _summarise(aanvraag: Aanvraag, evaluated: Evaluated, number: int) -> None:
    d = evaluated.decision
    aanvraag.claim_id = d["claim_id"]
    aanvraag.scheme = evaluated.scheme
    aanvraag.reference_date = evaluated.reference_date
    aanvraag.claim_version = number
    aanvraag.outcome = d["outcome"]
    aanvraag.claimed_total_cents = cents(d["claimed_total_eur"])
    aanvraag.eligible_total_cents = cents(d["eligible_total_eur"])


class Store:
    """The claims in one database."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self.engine = engine
        self.audit = audit
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)

    # --- sessions -----------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    def _log(
        self,
        session: Session,
        identity: Identity,
        action: str,
        obj: tuple[str, str],
        details: dict[str, Any],
    ) -> None:
        """The change's entry in the audit log, in the change's own transaction; `obj` is the
        object's type and id."""
        self.audit.append(session, _event(identity, action, obj, details))

    def record(
        self,
        identity: Identity,
        action: str,
        object_type: str | None,
        object_id: str | None,
        details: dict[str, Any],
    ) -> None:
        """An entry in the audit log for something that changed nothing (a download, a
        pre-check), in a transaction of its own."""
        self.audit.record(self.engine, _event(identity, action, (object_type, object_id), details))

    @staticmethod
    def _load(session: Session, aanvraag_id: str, *, lock: bool = False) -> Aanvraag:
        if not _ID.fullmatch(aanvraag_id):
            raise NotFound(aanvraag_id[:64])
        query = select(Aanvraag).where(Aanvraag.id == aanvraag_id)
        if lock:
            query = query.with_for_update()
        aanvraag = session.scalars(query).one_or_none()
        if aanvraag is None:
            raise NotFound(aanvraag_id)
        return aanvraag

    # --- reading ------------------------------------------------------------------------------

    def ref(self, aanvraag_id: str) -> ObjectRef:
        """What authorising an action on the claim needs: its organisations; `NotFound`."""
        return self._ref("aanvraag", aanvraag_id, Aanvraag.id == aanvraag_id)

    def besluit_ref(self, besluit_id: str) -> ObjectRef:
        """The same for a besluit: the organisations of its claim; `NotFound`."""
        query = Besluit.aanvraag_id == Aanvraag.id, Besluit.id == besluit_id
        return self._ref("besluit", besluit_id, *query)

    def bijlage_ref(self, bijlage_id: str) -> ObjectRef:
        """The same for a bijlage: the organisations of its claim; `NotFound`."""
        query = Bijlage.aanvraag_id == Aanvraag.id, Bijlage.id == bijlage_id
        return self._ref("bijlage", bijlage_id, *query)

    def _ref(self, kind: str, id_: str, *where: Any) -> ObjectRef:
        """The organisations of the claim the conditions `where` find; `NotFound`."""
        if not _ID.fullmatch(id_):
            raise NotFound(id_[:64])
        with self._read() as session, session.begin():
            row = session.execute(
                select(Aanvraag.owner_id, Aanvraag.decider_id).where(*where)
            ).one_or_none()
        if row is None:
            raise NotFound(id_)
        return ObjectRef(kind, id_, owner_id=row[0], decider_id=row[1])

    def get(self, aanvraag_id: str) -> dict[str, Any]:
        """The claim with its current version, every advice (newest first), its besluiten (in
        their order; the last is the one in force) and its history."""
        with self._read() as session, session.begin():
            return self._representation(session, self._load(session, aanvraag_id))

    def snapshot(self, aanvraag_id: str) -> Snapshot:
        """The claim's status and lock version now."""
        with self._read() as session, session.begin():
            a = self._load(session, aanvraag_id)
            return Snapshot(a.status, a.scheme, a.lock_version)

    def page(
        self,
        *,
        owner: str | None = None,
        decider: str | None = None,
        status: str | None = None,
        page: int = 1,
        size: int = 20,
        statuses: Sequence[str] | None = None,
        oldest_first: bool = False,
        supplement_passed_before: date | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of claims, newest first (`oldest_first`: oldest first), and how many there
        are in all; only those of organisation `owner`, or decided by organisation `decider`,
        with status `status` or one of `statuses`, when given. `supplement_passed_before`:
        with `statuses`, also the claims waiting for a supplement whose last day lies before
        that day (the body may decide them)."""
        query = select(Aanvraag)
        if owner is not None:
            query = query.where(Aanvraag.owner_id == owner)
        if decider is not None:
            query = query.where(Aanvraag.decider_id == decider)
        if status is not None:
            query = query.where(Aanvraag.status == status)
        if statuses is not None:
            wanted: ColumnElement[bool] = Aanvraag.status.in_(list(statuses))
            if supplement_passed_before is not None:
                wanted = or_(wanted, _supplement_passed(supplement_passed_before))
            query = query.where(wanted)
        order = (
            (Aanvraag.created_at, Aanvraag.id)
            if oldest_first
            else (Aanvraag.created_at.desc(), Aanvraag.id.desc())
        )
        with self._read() as session, session.begin():
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(*order).offset((page - 1) * size).limit(size)
            ).all()
            return [self._summary(a) for a in rows], total

    def besluiten_of_claim(
        self, claim_id: str, *, scheme: str | None = None, number: int | None = None
    ) -> list[dict[str, Any]]:
        """The besluiten on the claims whose claim id (the applicant's own, `claim_id` in
        the claim) is `claim_id`, of scheme `scheme` and with number `number` when given, in
        the order of their claims and numbers: each as its claim lists it, with `aanvraag` (its
        claim's id and address) and `scheme`. An indexed look-up (`aanvraag.claim_id`), as
        finding a besluit by its letter's kenmerk needs."""
        query = (
            select(*_BESLUIT_SUMMARY, Besluit.aanvraag_id, Aanvraag.scheme)
            .join(Aanvraag, Besluit.aanvraag_id == Aanvraag.id)
            .where(Aanvraag.claim_id == claim_id)
        )
        if scheme is not None:
            query = query.where(Aanvraag.scheme == scheme)
        if number is not None:
            query = query.where(Besluit.number == number)
        query = query.order_by(Aanvraag.created_at, Aanvraag.id, Besluit.number)
        with self._read() as session, session.begin():
            rows = session.execute(query).mappings().all()
        return [
            {
                **_besluit_summary(r),
                "aanvraag": _link("aanvragen", r["aanvraag_id"]),
                "scheme": r["scheme"],
            }
            for r in rows
        ]

    def replay(
        self, idempotency_key: str, claim_sha256: str, *, owner: str | None = None
    ) -> dict[str, Any] | None:
        """The claim submitted before with this key, if any; `IdempotencyConflict` when that
        was a different claim."""
        with self._read() as session, session.begin():
            return self._replay(session, idempotency_key, claim_sha256, owner)

    def _replay(
        self, session: Session, key: str, claim_sha256: str, owner: str | None
    ) -> dict[str, Any] | None:
        query = select(Aanvraag).where(
            func.coalesce(Aanvraag.owner_id, "") == (owner or ""),
            Aanvraag.idempotency_key == key,
        )
        aanvraag = session.scalars(query).one_or_none()
        if aanvraag is None:
            return None
        first = session.scalars(
            select(AanvraagVersie.claim_sha256).where(
                AanvraagVersie.aanvraag_id == aanvraag.id, AanvraagVersie.number == 1
            )
        ).one()
        if first != claim_sha256:
            raise IdempotencyConflict(key)
        return self._representation(session, aanvraag)

    # --- changing -----------------------------------------------------------------------------

    def submit(
        self,
        evaluated: Evaluated,
        *,
        identity: Identity,
        decider: str | None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a new claim with its advice, owned by the organisation of `identity` and
        decided by organisation `decider`; (the claim, whether it was stored before under
        the same idempotency key by the same organisation)."""
        owner = identity.organisatie_id
        try:
            with self._writing() as session:
                if idempotency_key is not None:
                    earlier = self._replay(session, idempotency_key, evaluated.claim_sha256, owner)
                    if earlier is not None:
                        return earlier, True
                now = _now()
                aanvraag = Aanvraag(
                    id=uuid.uuid4().hex,
                    owner_id=owner,
                    decider_id=decider,
                    status="ingediend",
                    idempotency_key=idempotency_key,
                    created_at=now,
                    updated_at=now,
                )
                _summarise(aanvraag, evaluated, 1)
                version = self._add_version(session, aanvraag, evaluated, 1, now)
                session.add(
                    Statusovergang(
                        aanvraag=aanvraag,
                        from_status=None,
                        to_status="ingediend",
                        at=now,
                        claim_version=version,
                    )
                )
                session.flush()
                self._log(
                    session,
                    identity,
                    "aanvraag.indienen",
                    ("aanvraag", aanvraag.id),
                    {
                        "claim_sha256": evaluated.claim_sha256,
                        "scheme": evaluated.scheme,
                        "claim_version": 1,
                        "advies": aanvraag.outcome,
                        "beslisser": decider,
                    },
                )
                return self._representation(session, aanvraag), False
        except IntegrityError:
            # the same key, submitted at the same moment by another request, won the race
            if idempotency_key is None:
                raise
            earlier = self.replay(idempotency_key, evaluated.claim_sha256, owner=owner)
            if earlier is None:
                raise
            return earlier, True

    def submit_many(self, claims: Sequence[NewClaim], *, event: AuditEvent) -> list[str | None]:
        """Store a batch of new claims, each as `submit` stores one (the aanvraag, its first
        version, the advice and the first history step), in ONE transaction with ONE audit
        entry for the whole batch: `event` (bulk work: the caller names the action and its
        parameters), to whose details the store adds `aanvragen` (how many were stored),
        `eerste` and `laatste` (their claim ids) and `claims_sha256` (the sha256 of their claim
        hashes, hex, concatenated in order). All of it, or nothing.

        A claim whose owner already has a claim under its idempotency key (stored before, or
        earlier in this batch) is skipped. The answer is, per claim in order, the new
        aanvraag's id, or None when it was skipped; when none is new, nothing is written."""
        taken = sorted(set(_BATCH_DETAILS) & set(event.details))
        if taken:
            raise ValueError(f"submit_many sets these details itself: {', '.join(taken)}")
        with self._writing() as session:
            seen = self._stored_keys(session, claims)
            now = _now()
            ids: list[str | None] = []
            stored: list[NewClaim] = []
            for claim in claims:
                key = (claim.owner or "", claim.idempotency_key)
                if claim.idempotency_key is not None and key in seen:
                    ids.append(None)
                    continue
                seen.add(key)
                aanvraag = Aanvraag(
                    id=uuid.uuid4().hex,
                    owner_id=claim.owner,
                    decider_id=claim.decider,
                    status="ingediend",
                    idempotency_key=claim.idempotency_key,
                    created_at=now,
                    updated_at=now,
                )
                _summarise(aanvraag, claim.evaluated, 1)
                version = self._add_version(session, aanvraag, claim.evaluated, 1, now)
                session.add(
                    Statusovergang(
                        aanvraag=aanvraag,
                        from_status=None,
                        to_status="ingediend",
                        at=now,
                        claim_version=version,
                    )
                )
                ids.append(aanvraag.id)
                stored.append(claim)
            if not stored:
                return ids
            session.flush()
            digest = hashlib.sha256()
            for claim in stored:
                digest.update(claim.evaluated.claim_sha256.encode("ascii"))
            details = dict(event.details) | {
                "aanvragen": len(stored),
                "eerste": stored[0].evaluated.decision["claim_id"],
                "laatste": stored[-1].evaluated.decision["claim_id"],
                "claims_sha256": digest.hexdigest(),
            }
            self.audit.append(session, replace(event, details=details))
            return ids

    @staticmethod
    def _stored_keys(session: Session, claims: Sequence[NewClaim]) -> set[tuple[str, str | None]]:
        """The (owner or "", idempotency key) pairs of `claims` that are stored already."""
        pairs = sorted(
            {(c.owner or "", c.idempotency_key) for c in claims if c.idempotency_key is not None}
        )
        found: set[tuple[str, str | None]] = set()
        # a bounded number of parameters per query (SQLite allows 32766)
        for start in range(0, len(pairs), 500):
            rows = session.execute(
                select(func.coalesce(Aanvraag.owner_id, ""), Aanvraag.idempotency_key).where(
                    tuple_(func.coalesce(Aanvraag.owner_id, ""), Aanvraag.idempotency_key).in_(
                        pairs[start : start + 500]
                    )
                )
            )
            found |= {(owner, key) for owner, key in rows}
        return found

    def assign_organisations(
        self,
        idempotency_key: str,
        claim_sha256: str,
        *,
        owner: str,
        decider: str | None,
        identity: Identity,
    ) -> bool:
        """Give a claim stored before accounts existed (no owner) under this idempotency key
        and first claim hash its owner and deciding organisation (the demo seeder does this
        for its own claims); whether there was one. `IdempotencyConflict` when the key holds
        another claim."""
        with self._writing() as session:
            found = self._replay(session, idempotency_key, claim_sha256, None)
            if found is None:
                return False
            aanvraag = self._load(session, found["id"], lock=True)
            aanvraag.owner_id = owner
            aanvraag.decider_id = decider
            session.flush()
            self._log(
                session,
                identity,
                "aanvraag.organisaties_toewijzen",
                ("aanvraag", aanvraag.id),
                {"eigenaar": owner, "beslisser": decider},
            )
            return True

    def _add_version(
        self,
        session: Session,
        aanvraag: Aanvraag,
        evaluated: Evaluated,
        number: int,
        now: datetime,
    ) -> AanvraagVersie:
        version = AanvraagVersie(
            aanvraag=aanvraag,
            number=number,
            claim_json=evaluated.claim_json,
            claim_sha256=evaluated.claim_sha256,
            created_at=now,
        )
        session.add_all([aanvraag, version, _advice_row(evaluated, version, now)])
        return version

    def transition(
        self,
        aanvraag_id: str,
        name: str,
        *,
        identity: Identity,
        reason: str | None = None,
        expected_lock: int | None = None,
        evaluated: Evaluated | None = None,
        due_on: date | None = None,
    ) -> dict[str, Any]:
        """Move the claim along transition `name`; with `evaluated`, as a new claim version
        (a supplement). `expected_lock`: the lock version the caller read, if it read one.
        `due_on`: an information request's last day to supplement (`deciding.supplement_due`).
        The audit log records the step, never the reason (free text)."""
        move = TRANSITIONS[name]
        if (evaluated is not None) != move.new_version:
            raise ValueError(f"{name}: a supplement, and only a supplement, brings a new version")
        try:
            with self._writing() as session:
                aanvraag = self._load(session, aanvraag_id, lock=True)
                if expected_lock is not None and aanvraag.lock_version != expected_lock:
                    raise Conflict(aanvraag.status)
                if aanvraag.status not in move.sources:
                    raise TransitionRefused(aanvraag.status, name)
                now = _now()
                version = None
                if evaluated is not None:
                    number = aanvraag.claim_version + 1
                    _summarise(aanvraag, evaluated, number)
                    version = self._add_version(session, aanvraag, evaluated, number, now)
                session.add(
                    Statusovergang(
                        aanvraag=aanvraag,
                        from_status=aanvraag.status,
                        to_status=move.target,
                        at=now,
                        reason=reason,
                        claim_version=version,
                        due_on=due_on,
                    )
                )
                details: dict[str, Any] = {"van": aanvraag.status, "naar": move.target}
                if due_on is not None:
                    details["uiterlijk"] = due_on.isoformat()
                if evaluated is not None:
                    details |= {
                        "claim_sha256": evaluated.claim_sha256,
                        "claim_version": aanvraag.claim_version,
                        "advies": aanvraag.outcome,
                    }
                aanvraag.status = move.target
                aanvraag.updated_at = now
                session.flush()
                self._log(
                    session, identity, TRANSITION_ACTIONS[name], ("aanvraag", aanvraag.id), details
                )
                return self._representation(session, aanvraag)
        except StaleDataError:
            # another transaction changed the row between our read and our write
            raise Conflict(self.snapshot(aanvraag_id).status) from None

    def extend(
        self,
        aanvraag_id: str,
        *,
        identity: Identity,
        kind: str,
        reason: str | None,
        due_on: date,
        expected_lock: int,
    ) -> dict[str, Any]:
        """Record a new day for a term as a history step that keeps the claim's status:
        `kind` "verdagingen" extends the decision term (Awb 4:14; `due_on` the day the besluit
        will be given), "aanvullingstermijnen" gives the applicant more time to supplement
        (Awb 4:5; `due_on` the new last day). `expected_lock`: the lock version the caller
        checked the term against (`deciding`). The audit log records the day, never the reason
        (free text)."""
        try:
            with self._writing() as session:
                aanvraag = self._load(session, aanvraag_id, lock=True)
                if aanvraag.status not in TERM_STEPS[kind]:
                    raise TransitionRefused(aanvraag.status, kind)
                if aanvraag.lock_version != expected_lock:
                    raise Conflict(aanvraag.status)
                now = _now()
                session.add(
                    Statusovergang(
                        aanvraag=aanvraag,
                        from_status=aanvraag.status,
                        to_status=aanvraag.status,
                        at=now,
                        reason=reason,
                        due_on=due_on,
                    )
                )
                aanvraag.updated_at = now
                session.flush()
                details = {"status": aanvraag.status, "uiterlijk": due_on.isoformat()}
                self._log(
                    session, identity, TRANSITION_ACTIONS[kind], ("aanvraag", aanvraag.id), details
                )
                return self._representation(session, aanvraag)
        except StaleDataError:
            raise Conflict(self.snapshot(aanvraag_id).status) from None

    # --- besluiten ----------------------------------------------------------------------------

    def decision_basis(self, aanvraag_id: str) -> DecisionBasis:
        """The claim's state and its current advice (the newest on the current version)."""
        with self._read() as session, session.begin():
            a = self._load(session, aanvraag_id)
            advice, version = session.execute(
                select(Advies, AanvraagVersie)
                .join(AanvraagVersie)
                .where(
                    AanvraagVersie.aanvraag_id == a.id,
                    AanvraagVersie.number == a.claim_version,
                )
                .order_by(Advies.id.desc())
                .limit(1)
            ).one()
            return DecisionBasis(
                aanvraag_id=a.id,
                status=a.status,
                lock_version=a.lock_version,
                advies_id=advice.id,
                advice_outcome=advice.outcome,
                advice_eligible_cents=advice.eligible_total_cents,
                claim_json=version.claim_json,
                decision_json=advice.decision_json,
                next_number=self._count_besluiten(session, a.id) + 1,
                supplement_due=self._supplement_due(session, a),
            )

    @staticmethod
    def _supplement_due(session: Session, a: Aanvraag) -> date | None:
        """The last day to supplement of the open information request (None when the claim
        waits for none, or the request has no day)."""
        if a.status != "aanvulling_gevraagd":
            return None
        due: date | None = session.scalar(
            select(Statusovergang.due_on)
            .where(
                Statusovergang.aanvraag_id == a.id,
                Statusovergang.to_status == "aanvulling_gevraagd",
            )
            .order_by(Statusovergang.id.desc())
            .limit(1)
        )
        return due

    def advice_of(self, besluit_id: str) -> StoredAdvice:
        """The stored claim and advice besluit `besluit_id` rests on, as stored (the bytes
        `vangnet verify` re-runs); `NotFound`. A replaced besluit too: it reads no state."""
        with self._read() as session, session.begin():
            return _stored_advice(session, besluit_id)

    def replacement_basis(self, besluit_id: str) -> DecisionBasis:
        """What replacing besluit `besluit_id` needs: its advice, claim and number."""
        with self._read() as session, session.begin():
            b = self._load_besluit(session, besluit_id)
            self._refuse_replaced(session, b)
            a = self._load(session, b.aanvraag_id)
            advice, version = session.execute(
                select(Advies, AanvraagVersie).join(AanvraagVersie).where(Advies.id == b.advies_id)
            ).one()
            received = session.scalar(
                select(func.min(Bezwaar.received_on)).where(Bezwaar.besluit_id == b.id)
            )
            return DecisionBasis(
                aanvraag_id=a.id,
                status=a.status,
                lock_version=a.lock_version,
                advies_id=advice.id,
                advice_outcome=advice.outcome,
                advice_eligible_cents=advice.eligible_total_cents,
                claim_json=version.claim_json,
                decision_json=advice.decision_json,
                next_number=self._count_besluiten(session, a.id) + 1,
                replaces_id=b.id,
                replaces_number=b.number,
                replaces_date=b.letter_date,
                objection_received=received,
            )

    def decide(
        self, aanvraag_id: str, new: NewBesluit, *, identity: Identity, expected_lock: int
    ) -> dict[str, Any]:
        """Store the first besluit on a claim and move it to `besloten`, in one transaction.
        `expected_lock`: the lock version read with the advice the besluit rests on."""
        move = TRANSITIONS["besluit"]
        try:
            with self._writing() as session:
                aanvraag = self._load(session, aanvraag_id, lock=True)
                if aanvraag.status not in move.sources:
                    raise TransitionRefused(aanvraag.status, "besluit")
                if aanvraag.lock_version != expected_lock:
                    raise Conflict(aanvraag.status)
                besluit = self._add_besluit(session, aanvraag_id, new)
                session.add(
                    Statusovergang(
                        aanvraag=aanvraag,
                        from_status=aanvraag.status,
                        to_status=move.target,
                        at=new.decided_at,
                    )
                )
                aanvraag.status = move.target
                aanvraag.updated_at = new.decided_at
                session.flush()
                self._log_besluit(session, identity, besluit)
                return self._besluit_representation(session, besluit)
        except StaleDataError:
            raise Conflict(self.snapshot(aanvraag_id).status) from None
        except IntegrityError:
            raise _taken() from None

    def replace(self, new: NewBesluit, *, identity: Identity) -> dict[str, Any]:
        """Store a correction or a decision on an objection that replaces `new.replaces_id`,
        which must be the claim's current besluit."""
        if new.replaces_id is None or new.kind == "besluit":
            raise ValueError("a replacement names the besluit it replaces")
        try:
            with self._writing() as session:
                old = self._load_besluit(session, new.replaces_id)
                # the claim's row lock orders every besluit on this claim
                self._load(session, old.aanvraag_id, lock=True)
                self._refuse_replaced(session, old)
                if new.kind == "beslissing_op_bezwaar" and not session.scalar(
                    select(func.count()).where(Bezwaar.besluit_id == old.id)
                ):
                    raise BesluitConflict(
                        "Tegen dit besluit is geen bezwaar geregistreerd; registreer het bezwaar"
                        f" eerst (POST /v1/besluiten/{old.id}/bezwaren).",
                        "geen_bezwaar",
                    )
                besluit = self._add_besluit(session, old.aanvraag_id, new)
                session.flush()
                self._log_besluit(session, identity, besluit)
                return self._besluit_representation(session, besluit)
        except IntegrityError:
            raise _taken() from None

    def register_bezwaar(
        self, besluit_id: str, *, received_on: date, identity: Identity
    ) -> dict[str, Any]:
        """Register an objection against the current besluit `besluit_id`, lodged by the
        applicant or registered by an assessor (`identity`, whose pseudonym is kept)."""
        registered_by = identity.pseudoniem or identity.actor
        with self._writing() as session:
            besluit = self._load_besluit(session, besluit_id)
            self._load(session, besluit.aanvraag_id, lock=True)
            self._refuse_replaced(session, besluit)
            bezwaar = Bezwaar(
                id=uuid.uuid4().hex,
                besluit_id=besluit.id,
                received_on=received_on,
                registered_by=registered_by,
                registered_at=_now(),
            )
            session.add(bezwaar)
            session.flush()
            self._log(
                session,
                identity,
                "bezwaar.indienen" if identity.rol == "aanvrager" else "bezwaar.registreren",
                ("besluit", besluit.id),
                {"bezwaar": bezwaar.id, "ontvangen_op": received_on.isoformat()},
            )
            return _bezwaar_representation(bezwaar)

    def besluit(self, besluit_id: str) -> dict[str, Any]:
        """The besluit as an envelope: the advice, what was decided, by whom, its letter."""
        with self._read() as session, session.begin():
            return self._besluit_representation(session, self._load_besluit(session, besluit_id))

    def letter(self, besluit_id: str, *, identity: Identity, fmt: str) -> tuple[bytes, str, bytes]:
        """The besluit's stored letter: (PDF, its sha256, the context JSON of every format);
        the download is recorded in the audit log (`brief.downloaden`)."""
        with self._read() as session, session.begin():
            b = self._load_besluit(session, besluit_id)
            found = b.letter_pdf, b.letter_sha256, b.letter_context
        self.record(identity, "brief.downloaden", "besluit", besluit_id, {"vorm": fmt})
        return found

    def _log_besluit(self, session: Session, identity: Identity, b: Besluit) -> None:
        """A besluit's entries: the besluit with its letter, and an override of the advice
        (an outcome or amount that differs from it) as an entry of its own."""
        advice = session.get_one(Advies, b.advies_id)
        differs = b.outcome != advice.outcome or b.amount_cents != advice.eligible_total_cents
        details: dict[str, Any] = {
            "aanvraag": b.aanvraag_id,
            "nummer": b.number,
            "uitkomst": b.outcome,
            "bedrag_cent": b.amount_cents,
            "advies_uitkomst": advice.outcome,
            "advies_bedrag_cent": advice.eligible_total_cents,
            "wijkt_af": differs,
            "bijlagen": list(b.attachments),
        }
        if b.replaces_id is not None:
            details["vervangt"] = b.replaces_id
        self._log(session, identity, BESLUIT_ACTIONS[b.kind], ("besluit", b.id), details)
        if differs:
            self._log(
                session,
                identity,
                "besluit.afwijken_van_advies",
                ("besluit", b.id),
                {k: details[k] for k in _OVERRIDE_FIELDS},
            )
        self._log(
            session,
            identity,
            "brief.maken",
            ("besluit", b.id),
            {"brief_sha256": b.letter_sha256, "datum": b.letter_date.isoformat()},
        )

    @staticmethod
    def _load_besluit(session: Session, besluit_id: str) -> Besluit:
        besluit = session.get(Besluit, besluit_id)
        if besluit is None:
            raise NotFound(besluit_id)
        return besluit

    @staticmethod
    def _count_besluiten(session: Session, aanvraag_id: str) -> int:
        return session.scalar(select(func.count()).where(Besluit.aanvraag_id == aanvraag_id)) or 0

    @staticmethod
    def _refuse_replaced(session: Session, besluit: Besluit) -> None:
        newer = session.scalar(select(Besluit.id).where(Besluit.replaces_id == besluit.id))
        if newer is not None:
            raise BesluitConflict(
                f"Dit besluit is vervangen door besluit {newer}; dat is het geldende besluit.",
                "besluit_vervangen",
            )

    @staticmethod
    def _add_besluit(session: Session, aanvraag_id: str, new: NewBesluit) -> Besluit:
        besluit = Besluit(
            id=uuid.uuid4().hex,
            aanvraag_id=aanvraag_id,
            number=new.number,
            kind=new.kind,
            advies_id=new.advies_id,
            outcome=new.outcome,
            amount_cents=new.amount_cents,
            motivation=new.motivation,
            attachments=list(new.attachments),
            decided_by=new.decided_by,
            decided_at=new.decided_at,
            replaces_id=new.replaces_id,
            letter_date=new.letter_date,
            letter_context=new.letter_context,
            letter_pdf=new.letter_pdf,
            letter_sha256=hashlib.sha256(new.letter_pdf).hexdigest(),
        )
        session.add(besluit)
        session.flush()  # a second besluit with this number, or on the same one, fails here
        return besluit

    def _besluit_representation(self, session: Session, b: Besluit) -> dict[str, Any]:
        advice = session.get_one(Advies, b.advies_id)
        version = session.get_one(AanvraagVersie, advice.claim_version_id)
        replaced_by = session.scalar(select(Besluit.id).where(Besluit.replaces_id == b.id))
        bezwaren = session.scalars(
            select(Bezwaar)
            .where(Bezwaar.besluit_id == b.id)
            .order_by(Bezwaar.registered_at, Bezwaar.id)
        ).all()
        href = f"/v1/besluiten/{b.id}"
        return {
            "id": b.id,
            "href": href,
            "aanvraag": _link("aanvragen", b.aanvraag_id),
            "number": b.number,
            "kind": b.kind,
            "outcome": b.outcome,
            "amount_eur": _euros(b.amount_cents),
            "differs_from_advice": (
                b.outcome != advice.outcome or b.amount_cents != advice.eligible_total_cents
            ),
            "motivation": b.motivation,
            "attachments": list(b.attachments),
            "decided_by": b.decided_by,
            "decided_at": _timestamp(b.decided_at),
            "replaces": None if b.replaces_id is None else _link("besluiten", b.replaces_id),
            "replaced_by": None if replaced_by is None else _link("besluiten", replaced_by),
            "letter": {"href": f"{href}/brief", "date": b.letter_date, "sha256": b.letter_sha256},
            "advice": {
                "claim_version": version.number,
                "created_at": _timestamp(advice.created_at),
                "decision": decode_json(advice.decision_json),
            },
            "bezwaren": [_bezwaar_representation(x) for x in bezwaren],
        }

    # --- representations ----------------------------------------------------------------------

    @staticmethod
    def _summary(a: Aanvraag) -> dict[str, Any]:
        return {
            "id": a.id,
            "href": f"/v1/aanvragen/{a.id}",
            "claim_id": a.claim_id,
            "scheme": a.scheme,
            "reference_date": a.reference_date,
            "status": a.status,
            "claim_version": a.claim_version,
            "outcome": a.outcome,
            "claimed_total_eur": _euros(a.claimed_total_cents),
            "eligible_total_eur": _euros(a.eligible_total_cents),
            "created_at": _timestamp(a.created_at),
            "updated_at": _timestamp(a.updated_at),
        }

    def _representation(self, session: Session, a: Aanvraag) -> dict[str, Any]:
        versions = {
            v.id: v
            for v in session.scalars(
                select(AanvraagVersie).where(AanvraagVersie.aanvraag_id == a.id)
            )
        }
        current = next(v for v in versions.values() if v.number == a.claim_version)
        advices = session.scalars(
            select(Advies)
            .join(AanvraagVersie)
            .where(AanvraagVersie.aanvraag_id == a.id)
            .order_by(AanvraagVersie.number.desc(), Advies.id.desc())
        ).all()
        history = session.scalars(
            select(Statusovergang)
            .where(Statusovergang.aanvraag_id == a.id)
            .order_by(Statusovergang.id)
        ).all()
        # the besluiten in their order, without their letters
        in_order = select(*_BESLUIT_SUMMARY).where(Besluit.aanvraag_id == a.id)
        besluiten = session.execute(in_order.order_by(Besluit.number)).mappings().all()
        steps = [
            {
                "from_status": h.from_status,
                "to_status": h.to_status,
                "at": _timestamp(h.at),
                "reason": h.reason,
                "due_on": h.due_on,
                "claim_version": (
                    None if h.claim_version_id is None else versions[h.claim_version_id].number
                ),
            }
            for h in history
        ]
        term = _decision_term(a, steps)
        due = None if term is None else term["supplement_due"]
        return {
            **self._summary(a),
            "allowed_transitions": allowed_transitions(a.status, supplement_due=due),
            "decision_term": term,
            "claim_sha256": current.claim_sha256,
            "claim": _money_as_cents(decode_json(current.claim_json)),
            "advices": [
                {
                    "claim_version": versions[x.claim_version_id].number,
                    "created_at": _timestamp(x.created_at),
                    "decision": decode_json(x.decision_json),
                }
                for x in advices
            ],
            "besluiten": [_besluit_summary(b) for b in besluiten],
            "history": steps,
        }


def _decision_term(a: Aanvraag, steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """When the body must decide (`vangnet.service.termijnen`, the count the pages show), for
    a claim still open; None once it is decided or withdrawn."""
    if a.status in ("besloten", "ingetrokken"):
        return None
    term = deadline(_timestamp(a.created_at), steps)
    return {
        "due_on": term.due,
        "suspended": term.suspended_now,
        "suspended_days": term.suspended_days,
        "supplement_due": term.supplement_due,
        "extended_to": term.extended_to,
    }


def _link(collection: str, id_: str) -> dict[str, str]:
    return {"id": id_, "href": f"/v1/{collection}/{id_}"}


_BESLUIT_SUMMARY = (
    Besluit.id,
    Besluit.number,
    Besluit.kind,
    Besluit.outcome,
    Besluit.amount_cents,
    Besluit.decided_at,
    Besluit.replaces_id,
)


def _besluit_summary(b: RowMapping) -> dict[str, Any]:
    """A besluit in its claim's list, from the columns of `_BESLUIT_SUMMARY`."""
    return {
        "id": b["id"],
        "href": f"/v1/besluiten/{b['id']}",
        "number": b["number"],
        "kind": b["kind"],
        "outcome": b["outcome"],
        "amount_eur": _euros(b["amount_cents"]),
        "decided_at": _timestamp(b["decided_at"]),
        "replaces": None if b["replaces_id"] is None else _link("besluiten", b["replaces_id"]),
    }


def _bezwaar_representation(x: Bezwaar) -> dict[str, Any]:
    return {
        "id": x.id,
        "besluit": _link("besluiten", x.besluit_id),
        "received_on": x.received_on,
        "registered_by": x.registered_by,
        "registered_at": _timestamp(x.registered_at),
    }


def _taken() -> BesluitConflict:
    return BesluitConflict(
        "Een andere beoordelaar besloot intussen; lees het geldende besluit en besluit zo nodig"
        " opnieuw met een correctie.",
        "gelijktijdig",
    )
