"""Storing claims and moving them through their life: the work behind `/v1/aanvragen`.

Every change is one transaction: a submission writes the aanvraag, its first version, the advice
and the first history step together, or nothing. Two requests that change one claim at once
never both win: a writing transaction locks the row (`SELECT ... FOR UPDATE` on PostgreSQL,
`BEGIN IMMEDIATE` on SQLite) and every UPDATE checks `lock_version`; a supplement, which is
evaluated between reading and writing, names the version it read. The loser gets `Conflict`.

Nothing here logs: claims describe threatened people.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from vangnet.claim import decode_json
from vangnet.jsonout import dumps
from vangnet.service.db import WRITE
from vangnet.service.lifecycle import TRANSITIONS, allowed_transitions
from vangnet.service.models import Aanvraag, AanvraagVersie, Advies, Statusovergang

__all__ = [
    "Conflict",
    "Evaluated",
    "IdempotencyConflict",
    "NotFound",
    "Snapshot",
    "Store",
    "StoreError",
    "TransitionRefused",
    "cents",
]

_CENT = Decimal("0.01")


class StoreError(Exception):
    """Base of the store's refusals."""


class NotFound(StoreError):
    """No claim with this id (for this owner)."""


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


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A validated claim with the engine's advice, ready to store."""

    claim_json: bytes  # canonical (RFC 8785), as hashed in the receipt
    claim_sha256: str
    scheme: str
    reference_date: date
    decision: Mapping[str, Any]  # the v1 decision as the engine returned it


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a request saw of a claim before it evaluated anything."""

    status: str
    scheme: str
    lock_version: int


def cents(amount: Decimal) -> int:
    """Euros with at most two decimals as integer cents (exact)."""
    return int((amount * 100).to_integral_exact())


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

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)

    # --- sessions -----------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    def _load(
        self, session: Session, aanvraag_id: str, owner: str | None, *, lock: bool = False
    ) -> Aanvraag:
        query = select(Aanvraag).where(Aanvraag.id == aanvraag_id)
        if owner is not None:
            query = query.where(Aanvraag.owner_id == owner)
        if lock:
            query = query.with_for_update()
        aanvraag = session.scalars(query).one_or_none()
        if aanvraag is None:
            raise NotFound(aanvraag_id)
        return aanvraag

    # --- reading ------------------------------------------------------------------------------

    def get(self, aanvraag_id: str, *, owner: str | None = None) -> dict[str, Any]:
        """The claim with its current version, every advice (newest first) and its history."""
        with self._read() as session, session.begin():
            return self._representation(session, self._load(session, aanvraag_id, owner))

    def snapshot(self, aanvraag_id: str, *, owner: str | None = None) -> Snapshot:
        """The claim's status and lock version now."""
        with self._read() as session, session.begin():
            a = self._load(session, aanvraag_id, owner)
            return Snapshot(a.status, a.scheme, a.lock_version)

    def page(
        self,
        *,
        owner: str | None = None,
        status: str | None = None,
        page: int = 1,
        size: int = 20,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of claims, newest first, and how many there are in all."""
        query = select(Aanvraag)
        if owner is not None:
            query = query.where(Aanvraag.owner_id == owner)
        if status is not None:
            query = query.where(Aanvraag.status == status)
        with self._read() as session, session.begin():
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Aanvraag.created_at.desc(), Aanvraag.id.desc())
                .offset((page - 1) * size)
                .limit(size)
            ).all()
            return [self._summary(a) for a in rows], total

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
        owner: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a new claim with its advice; (the claim, whether it was stored before under
        the same idempotency key)."""
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
                return self._representation(session, aanvraag), False
        except IntegrityError:
            # the same key, submitted at the same moment by another request, won the race
            if idempotency_key is None:
                raise
            earlier = self.replay(idempotency_key, evaluated.claim_sha256, owner=owner)
            if earlier is None:
                raise
            return earlier, True

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
        reason: str | None = None,
        owner: str | None = None,
        expected_lock: int | None = None,
        evaluated: Evaluated | None = None,
    ) -> dict[str, Any]:
        """Move the claim along transition `name`; with `evaluated`, as a new claim version
        (a supplement). `expected_lock`: the lock version the caller read, if it read one."""
        move = TRANSITIONS[name]
        if (evaluated is not None) != move.new_version:
            raise ValueError(f"{name}: a supplement, and only a supplement, brings a new version")
        try:
            with self._writing() as session:
                aanvraag = self._load(session, aanvraag_id, owner, lock=True)
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
                    )
                )
                aanvraag.status = move.target
                aanvraag.updated_at = now
                session.flush()
                return self._representation(session, aanvraag)
        except StaleDataError:
            # another transaction changed the row between our read and our write
            raise Conflict(self.snapshot(aanvraag_id, owner=owner).status) from None

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
        return {
            **self._summary(a),
            "allowed_transitions": allowed_transitions(a.status),
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
            "history": [
                {
                    "from_status": h.from_status,
                    "to_status": h.to_status,
                    "at": _timestamp(h.at),
                    "reason": h.reason,
                    "claim_version": (
                        None if h.claim_version_id is None else versions[h.claim_version_id].number
                    ),
                }
                for h in history
            ],
        }
