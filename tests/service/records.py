"""Helpers for the record tests (test_crypto, test_retention, test_backup, test_reproduce):
a key ring of a test's own, a migrated database, and `add_claim`, which writes a claim with
everything under it through the ORM, without the store or the engine (these tests are about
what is stored, not how the service gets there)."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from vangnet.service import crypto, retention
from vangnet.service.crypto import KeyRing
from vangnet.service.db import WRITE, create_db_engine, migrate
from vangnet.service.models import (
    Aanvraag,
    AanvraagVersie,
    Advies,
    Besluit,
    Bezwaar,
    Bijlage,
    Statusovergang,
)
from vangnet.service.settings import Settings

__all__ = ["PDF", "add_claim", "configure_ring", "new_key", "open_engine", "raw", "use_keys"]

PDF = b"%PDF-1.4\n1 0 obj <<>> stream\nBT (Bewijsstuk van de aanvraag) Tj ET\nendstream\n%%EOF\n"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def configure_ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a development key of their own, configured for this test only (the
    process's ring and retention term come back when the test ends)."""
    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr(retention, "_years", None)
    settings = Settings(env="test", data_dir=tmp_path / "data")
    crypto.configure(settings)
    return settings


def use_keys(settings: Settings, keys: str) -> KeyRing:
    """Configure the ring of VANGNET_ENCRYPTION_KEYS=`keys` (the dev key stays a decrypt key)."""
    changed = Settings(env=settings.env, data_dir=settings.data_dir, encryption_keys=keys)
    return crypto.configure(changed)


def open_engine(database_url: str) -> Iterator[Engine]:
    """The database at `database_url`, migrated; disposed of afterwards."""
    eng = create_db_engine(database_url)
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()


def add_claim(
    engine: Engine,
    *,
    final: str | None = "besloten",
    motivation: str = "Motivering van de beoordelaar.",
    reason: str = "Stuur de offerte mee.",
    attachment: bytes = PDF,
    objection: bool = False,
    decided_on: date = date(2026, 1, 5),
) -> tuple[str, str | None]:
    """A claim with a version, an advice, history, an attachment and (when `final` is
    besloten) a besluit with its letter, or (ingetrokken) a withdrawal: (aanvraag id,
    besluit id)."""
    now = datetime.now(UTC)
    claim = b'{"claim_id":"T-1","measures":[{"description":"Camera bij de voordeur"}]}'
    besluit_id = None
    with Session(engine.execution_options(**WRITE)) as session, session.begin():
        a = Aanvraag(
            id=uuid.uuid4().hex,
            claim_id="T-1",
            scheme="vangnet",
            reference_date=date(2025, 6, 1),
            status="in_behandeling",
            claim_version=1,
            outcome="toekennen",
            claimed_total_cents=10000,
            eligible_total_cents=10000,
            created_at=now,
            updated_at=now,
        )
        v = AanvraagVersie(
            aanvraag=a,
            number=1,
            claim_json=claim,
            claim_sha256=hashlib.sha256(claim).hexdigest(),
            created_at=now,
        )
        advice = Advies(
            claim_version=v,
            outcome="toekennen",
            claimed_total_cents=10000,
            eligible_total_cents=10000,
            ruleset_id="vangnet",
            ruleset_version="2016.1",
            ruleset_sha256="a" * 64,
            catalogue_sha256="b" * 64,
            claim_sha256=v.claim_sha256,
            engine="test",
            evaluated_at=now,
            decision_json=b'{"outcome":"toekennen","lines":[{"description":"Camera"}]}',
            created_at=now,
        )
        session.add_all([a, v, advice])
        session.add(Statusovergang(aanvraag=a, from_status=None, to_status="ingediend", at=now))
        session.add(
            Statusovergang(
                aanvraag=a, from_status="ingediend", to_status="in_behandeling", at=now,
                reason=reason,
            )
        )  # fmt: skip
        session.flush()
        session.add(
            Bijlage(
                id=uuid.uuid4().hex,
                aanvraag_id=a.id,
                soort="offerte",
                media_type="application/pdf",
                size=len(attachment),
                sha256=hashlib.sha256(attachment).hexdigest(),
                content=attachment,
                created_at=now,
            )
        )
        if final == "besloten":
            letter = b"%PDF-1.7 brief"
            besluit_id = uuid.uuid4().hex
            session.add(
                Besluit(
                    id=besluit_id,
                    aanvraag_id=a.id,
                    number=1,
                    kind="besluit",
                    advies_id=advice.id,
                    outcome="toekennen",
                    amount_cents=10000,
                    motivation=motivation,
                    attachments=[],
                    decided_by="BO-1",
                    decided_at=now,
                    letter_date=decided_on,
                    letter_context=b'{"brief":"context"}',
                    letter_pdf=letter,
                    letter_sha256=hashlib.sha256(letter).hexdigest(),
                )
            )
            session.add(
                Statusovergang(
                    aanvraag=a, from_status="in_behandeling", to_status="besloten", at=now
                )
            )
            a.status = "besloten"
            session.flush()
            if objection:
                session.add(
                    Bezwaar(
                        id=uuid.uuid4().hex,
                        besluit_id=besluit_id,
                        received_on=decided_on,
                        registered_by="BO-1",
                        registered_at=now,
                    )
                )
        elif final == "ingetrokken":
            session.add(
                Statusovergang(
                    aanvraag=a, from_status="in_behandeling", to_status="ingetrokken", at=now
                )
            )
            a.status = "ingetrokken"
        return a.id, besluit_id


def raw(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()
