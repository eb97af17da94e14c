"""Encryption at rest: the key ring, the envelope, the column types, migration 0005 (existing
plaintext encrypted; the guards of besluit, bezwaar and bijlage), and `rotate`, on SQLite
and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.service.records import (
    PDF,
    add_claim,
    configure_ring,
    new_key,
    open_engine,
    raw,
    use_keys,
)
from vangnet.service import crypto
from vangnet.service.crypto import CryptoError, KeyRing, key_id_of, keyring_from_settings
from vangnet.service.db import WRITE, downgrade, migrate
from vangnet.service.models import (
    AanvraagVersie,
    Besluit,
    Bijlage,
    Statusovergang,
)
from vangnet.service.settings import Settings


@pytest.fixture
def ring_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return configure_ring(tmp_path, monkeypatch)


@pytest.fixture
def engine(database_url: str, ring_settings: Settings) -> Iterator[Engine]:
    yield from open_engine(database_url)


# --- the key ring ---------------------------------------------------------------------------


def test_an_envelope_names_its_key_and_is_bound_to_its_column() -> None:
    ring = KeyRing([("k1", os.urandom(32))])
    envelope = ring.encrypt(b"geheim", "besluit.motivation")
    assert envelope.startswith(b"vn1\x02k1") and key_id_of(envelope) == "k1"
    assert len(envelope) == len(b"geheim") + 3 + 1 + 2 + 12 + 16
    assert ring.decrypt(envelope, "besluit.motivation") == b"geheim"
    with pytest.raises(CryptoError, match="andere kolom"):
        ring.decrypt(envelope, "statusovergang.reason")
    tampered = envelope[:-1] + bytes([envelope[-1] ^ 1])
    with pytest.raises(CryptoError, match="beschadigd"):
        ring.decrypt(tampered, "besluit.motivation")
    # a fresh nonce each time: the same plaintext never gives the same bytes
    assert ring.encrypt(b"geheim", "c") != ring.encrypt(b"geheim", "c")


@hsettings(max_examples=50, deadline=None)
@given(st.binary(max_size=2000), st.text(min_size=1, max_size=40))
def test_every_value_comes_back(value: bytes, context: str) -> None:
    ring = KeyRing([("a", b"\x01" * 32), ("b", b"\x02" * 32)])
    assert ring.decrypt(ring.encrypt(value, context), context) == value
    older = KeyRing([("b", b"\x02" * 32)])
    again = ring.reencrypt(older.encrypt(value, context), context)
    assert again is not None and key_id_of(again) == "a"
    assert ring.decrypt(again, context) == value


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = ("oud", os.urandom(32)), ("nieuw", os.urandom(32))
    before = KeyRing([old])
    after = KeyRing([new, old])
    envelope = before.encrypt(b"x", "c")
    assert after.decrypt(envelope, "c") == b"x"
    assert key_id_of(after.encrypt(b"x", "c")) == "nieuw"
    assert after.reencrypt(after.encrypt(b"x", "c"), "c") is None  # already under the first
    with pytest.raises(CryptoError, match="sleutel oud, die niet in VANGNET_ENCRYPTION_KEYS"):
        KeyRing([new]).decrypt(envelope, "c")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("", "onderdeel 1 heeft niet de vorm ID:BASE64"),
        ("k1", "onderdeel 1 heeft niet de vorm"),
        ("k1:niet-base64!", "sleutel k1 is geen geldige base64"),
        (f"k1:{base64.b64encode(b'kort').decode()}", "sleutel k1 moet 32 bytes zijn"),
        (f"k 1:{new_key()}", "sleutel-id 'k 1' is ongeldig"),
        (f"k1:{new_key()},k1:{new_key()}", "k1 staat er twee keer"),
    ],
)
def test_bad_key_specs_are_refused_without_showing_a_key(spec: str, words: str) -> None:
    with pytest.raises(CryptoError, match=words) as caught:
        KeyRing.parse(spec)
    for part in spec.split(","):
        secret = part.partition(":")[2]
        if len(secret) > 8:
            assert secret not in str(caught.value)


def test_the_ring_from_settings(tmp_path: Path) -> None:
    dev = Settings(env="development", data_dir=tmp_path)
    assert keyring_from_settings(dev).ids == ("dev",)
    assert keyring_from_settings(dev).fingerprints == keyring_from_settings(dev).fingerprints
    key = new_key()
    configured = Settings(env="development", data_dir=tmp_path, encryption_keys=f"k1:{key}")
    ring = keyring_from_settings(configured)
    assert ring.primary == "k1" and ring.ids == ("k1", "dev")  # dev decrypts, for rotation
    production = Settings(env="production", data_dir=tmp_path, encryption_keys=f"k1:{key}")
    assert keyring_from_settings(production).ids == ("k1",)
    with pytest.raises(CryptoError, match="ontbreekt"):
        keyring_from_settings(Settings(env="production", data_dir=tmp_path))


# --- what is stored -------------------------------------------------------------------------


def test_the_columns_hold_envelopes_and_the_models_read_plaintext(engine: Engine) -> None:
    aanvraag_id, besluit_id = add_claim(engine, motivation="Een motivering")
    for spec in crypto.ENCRYPTED:
        query = f"SELECT {spec.column} FROM {spec.table} WHERE {spec.column} IS NOT NULL"  # noqa: S608
        stored = raw(engine, query + " LIMIT 1")
        envelope = base64.b64decode(stored) if spec.kind == "text" else bytes(stored)
        assert key_id_of(envelope) == "dev", spec
    with Session(engine) as session:
        besluit = session.get_one(Besluit, besluit_id)
        assert besluit.motivation == "Een motivering"
        assert hashlib.sha256(besluit.letter_pdf).hexdigest() == besluit.letter_sha256
        bijlage = session.query(Bijlage).filter_by(aanvraag_id=aanvraag_id).one()
        assert bijlage.content == PDF and bijlage.size == len(PDF)
    # the hashes stay over the plaintext
    assert raw(engine, "SELECT sha256 FROM bijlage") == hashlib.sha256(PDF).hexdigest()


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(engine: Engine) -> None:
    add_claim(engine)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE statusovergang SET reason = (SELECT motivation FROM besluit)")
        )
    with Session(engine) as session, pytest.raises(CryptoError, match=r"statusovergang\.reason"):
        session.query(Statusovergang).filter(Statusovergang.reason.is_not(None)).all()


# --- the guards (migration 0005) -------------------------------------------------------------


def test_besluit_and_bijlage_refuse_changes_without_the_flag(engine: Engine) -> None:
    add_claim(engine, objection=True)
    for statement in (
        "UPDATE besluit SET letter_pdf = letter_pdf",
        "UPDATE besluit SET outcome = 'afwijzen'",
        "DELETE FROM besluit",
        "UPDATE bijlage SET content = content",
        "DELETE FROM bijlage",
        "UPDATE bezwaar SET received_on = received_on",
        "DELETE FROM bezwaar",
    ):
        with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
            c.execute(text(statement))


def test_reencryption_may_change_the_ciphertext_and_nothing_else(engine: Engine) -> None:
    add_claim(engine, objection=True)
    with (
        engine.connect().execution_options(**WRITE) as c,
        c.begin(),
        crypto.permit(c, "herversleutelen"),
    ):
        c.execute(text("UPDATE besluit SET letter_pdf = letter_pdf, motivation = motivation"))
        c.execute(text("UPDATE bijlage SET content = content"))
    for statement in (
        "UPDATE besluit SET letter_sha256 = 'x', letter_pdf = letter_pdf",
        "UPDATE besluit SET amount_cents = 0",
        "UPDATE bijlage SET sha256 = 'x'",
        "UPDATE bezwaar SET received_on = received_on",
    ):
        with (
            pytest.raises(DBAPIError, match="onveranderlijk"),
            engine.connect().execution_options(**WRITE) as c,
            c.begin(),
            crypto.permit(c, "herversleutelen"),
        ):
            c.execute(text(statement))
    # the flag ends with its block
    with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
        c.execute(text("UPDATE besluit SET letter_pdf = letter_pdf"))


def test_a_delete_needs_the_flag_and_a_retention_date_that_has_passed(engine: Engine) -> None:
    add_claim(engine)
    with (
        pytest.raises(DBAPIError, match="onveranderlijk"),
        engine.connect().execution_options(**WRITE) as c,
        c.begin(),
        crypto.permit(c, "opschonen"),  # the claim is not due
    ):
        c.execute(text("DELETE FROM bijlage"))
    with engine.begin() as c:
        c.execute(text("UPDATE aanvraag SET retain_until = :d"), {"d": date(2000, 1, 1)})
    with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
        c.execute(text("DELETE FROM bijlage"))  # due, but no flag
    with (
        engine.connect().execution_options(**WRITE) as c,
        c.begin(),
        crypto.permit(c, "opschonen"),
    ):
        c.execute(text("DELETE FROM bijlage"))
    assert raw(engine, "SELECT count(*) FROM bijlage") == 0


# --- migration 0005 --------------------------------------------------------------------------


def test_migration_0005_encrypts_what_was_stored_before_and_0004_gets_it_back(
    engine: Engine,
) -> None:
    downgrade(engine, "0004")
    with engine.begin() as c:  # rows as 0004 stored them: plaintext
        c.execute(
            text(
                "INSERT INTO aanvraag (id, claim_id, scheme, reference_date, status,"
                " claim_version, outcome, claimed_total_cents, eligible_total_cents,"
                " lock_version, created_at, updated_at) VALUES ('a1', 'T', 'vangnet',"
                " '2025-06-01', 'ingediend', 1, 'toekennen', 1, 1, 1, :t, :t)"
            ),
            {"t": datetime(2026, 1, 1)},
        )
        c.execute(
            text(
                "INSERT INTO statusovergang (aanvraag_id, from_status, to_status, at, reason)"
                " VALUES ('a1', NULL, 'ingediend', :t, 'Oude toelichting')"
            ),
            {"t": datetime(2026, 1, 1)},
        )
        c.execute(
            text(
                "INSERT INTO bijlage (id, aanvraag_id, soort, media_type, size, sha256,"
                " content, created_at) VALUES ('b1', 'a1', 'offerte', 'application/pdf',"
                " :n, :h, :c, :t)"
            ),
            {
                "n": len(PDF),
                "h": hashlib.sha256(PDF).hexdigest(),
                "c": PDF,
                "t": datetime(2026, 1, 1),
            },
        )
    migrate(engine)
    assert PDF not in bytes(raw(engine, "SELECT content FROM bijlage"))
    assert "Oude" not in raw(engine, "SELECT reason FROM statusovergang")
    with Session(engine) as session:
        assert session.get_one(Bijlage, "b1").content == PDF
        assert session.query(Statusovergang).one().reason == "Oude toelichting"
    # the guards came back after the rebuild of bijlage
    with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
        c.execute(text("DELETE FROM bijlage"))
    downgrade(engine, "0004")
    assert bytes(raw(engine, "SELECT content FROM bijlage")) == PDF
    assert raw(engine, "SELECT reason FROM statusovergang") == "Oude toelichting"
    with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
        c.execute(text("DELETE FROM bijlage"))
    # 0004's check: the size is the length of the bytes
    with pytest.raises(DBAPIError), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO bijlage (id, aanvraag_id, soort, media_type, size, sha256,"
                " content, created_at) VALUES ('b2', 'a1', 'offerte', 'application/pdf',"
                " 99, :h, :c, :t)"
            ),
            {"h": "c" * 64, "c": PDF, "t": datetime(2026, 1, 1)},
        )
    migrate(engine)


# --- key rotation ---------------------------------------------------------------------------


def test_rotation_moves_everything_to_the_new_key_and_the_old_one_can_go(
    engine: Engine, ring_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = new_key()
    use_keys(ring_settings, f"oud:{old}")
    ids = [add_claim(engine) for _ in range(3)]
    new = new_key()
    ring = use_keys(ring_settings, f"nieuw:{new},oud:{old}")
    with engine.connect() as c:
        assert crypto.key_ids_in_use(c) == {"oud": 3 * 7}  # 7 values per claim
    # interrupted after the first batch: what was done stays done
    real = crypto._reencrypt_one
    calls = {"n": 0}

    def failing(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 2:
            raise RuntimeError("stroomstoring")
        real(*args)

    monkeypatch.setattr(crypto, "_reencrypt_one", failing)
    with pytest.raises(RuntimeError):
        crypto.rotate(engine, batch_size=2, ring=ring)
    with engine.connect() as c:
        assert crypto.key_ids_in_use(c) == {"nieuw": 2, "oud": 19}
    monkeypatch.setattr(crypto, "_reencrypt_one", real)
    report = crypto.rotate(engine, batch_size=2, ring=ring)
    assert sum(report.reencrypted.values()) == 19
    assert report.checked["bijlage.content"] == 3 and report.checked["besluit.letter_pdf"] == 3
    assert "opnieuw versleuteld" in report.text()
    again = crypto.rotate(engine, batch_size=50, ring=ring)
    assert sum(again.reencrypted.values()) == 0
    # the old key (and the dev key) removed: everything still reads
    monkeypatch.setattr(crypto, "_ring", KeyRing.parse(f"nieuw:{new}"))
    with Session(engine) as session:
        for aanvraag_id, besluit_id in ids:
            assert session.get_one(Besluit, besluit_id).motivation
            bijlage = session.query(Bijlage).filter_by(aanvraag_id=aanvraag_id).one()
            assert bijlage.content == PDF
        assert len({v.claim_json for v in session.query(AanvraagVersie)}) == 1
        reasons = [s.reason for s in session.query(Statusovergang) if s.reason is not None]
        assert reasons == ["Stuur de offerte mee."] * 3
