"""`vangnet keys | retention | backup | restore | verify` through typer's runner, on a SQLite
data directory: what people read and the exit codes (0 done or equal, 1 a difference, 2 bad
input, 3 no database)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.records import add_claim
from vangnet.claim import canonical_claim, decode_json
from vangnet.cli import app
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service import crypto, retention
from vangnet.service.db import WRITE, create_db_engine, migrate
from vangnet.service.models import Aanvraag, AanvraagVersie, Advies, Besluit
from vangnet.service.settings import Settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("VANGNET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VANGNET_ENV", "test")
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr(retention, "_years", None)
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    crypto.configure(Settings.from_env())
    db = create_db_engine(Settings.from_env().db_url)
    migrate(db)
    try:
        yield db
    finally:
        db.dispose()


def decided_for_real(engine: Engine) -> str:
    """A besluit on P06 whose advice the engine really gave (in this process): its id."""
    decider = Decider(prime=False)
    claim = decider.validate(decode_json((PUBLIC_SCENARIOS / "P06.claim.json").read_bytes()))
    decision = decider.decide(claim).as_dict()
    now = datetime.now(UTC)
    canonical = canonical_claim(claim)
    with Session(engine.execution_options(**WRITE)) as session, session.begin():
        a = Aanvraag(
            id=uuid.uuid4().hex, claim_id="P06", scheme="vangnet",
            reference_date=claim.reference_date, status="besloten", claim_version=1,
            outcome=decision["outcome"], claimed_total_cents=1, eligible_total_cents=1,
            created_at=now, updated_at=now,
        )  # fmt: skip
        v = AanvraagVersie(
            aanvraag=a, number=1, claim_json=canonical,
            claim_sha256=hashlib.sha256(canonical).hexdigest(), created_at=now,
        )  # fmt: skip
        receipt = decision["receipt"]
        advice = Advies(
            claim_version=v, outcome=decision["outcome"], claimed_total_cents=1,
            eligible_total_cents=1, ruleset_id=decision["ruleset"]["id"],
            ruleset_version=decision["ruleset"]["version"],
            ruleset_sha256=receipt["ruleset_sha256"], catalogue_sha256=receipt["catalogue_sha256"],
            claim_sha256=receipt["claim_sha256"], engine=receipt["engine"], evaluated_at=now,
            decision_json=dumps(decision).encode(), created_at=now,
        )  # fmt: skip
        session.add_all([a, v, advice])
        session.flush()
        besluit = Besluit(
            id=uuid.uuid4().hex, aanvraag_id=a.id, number=1, kind="besluit",
            advies_id=advice.id, outcome="afwijzen", amount_cents=0, motivation="M",
            attachments=[], decided_by="BO-1", decided_at=now, letter_date=date(2026, 1, 5),
            letter_context=b"{}", letter_pdf=b"%PDF", letter_sha256="0" * 64,
        )  # fmt: skip
        session.add(besluit)
        return besluit.id


def test_verify_says_gelijk_names_a_difference_and_refuses_an_unknown_id(engine: Engine) -> None:
    besluit_id = decided_for_real(engine)
    result = runner.invoke(app, ["verify", besluit_id])
    assert result.exit_code == 0, result.output
    assert result.stdout == "gelijk\n"

    _, made_up = add_claim(engine)  # its advice names a catalogue that was never published
    assert made_up is not None
    result = runner.invoke(app, ["verify", made_up])
    assert result.exit_code == 1
    assert result.stdout.startswith("verschilt bij receipt.catalogue_sha256\n")
    assert '  opgeslagen: "' + "b" * 64 + '"' in result.stdout

    result = runner.invoke(app, ["verify", "bestaat-niet"])
    assert result.exit_code == 2 and "Er is geen besluit met id bestaat-niet." in result.stderr


def test_keys_status_and_rotate(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    add_claim(engine)
    result = runner.invoke(app, ["keys", "status"])
    assert result.exit_code == 0, result.output
    assert "  dev: 7 waarden (beschikbaar)" in result.stdout
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("VANGNET_ENCRYPTION_KEYS", f"k2:{key}")
    result = runner.invoke(app, ["keys", "rotate", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Alles is nu versleuteld met sleutel k2." in result.stdout
    assert "  bijlage.content: 1 waarden gelezen, 1 opnieuw versleuteld" in result.stdout
    result = runner.invoke(app, ["keys", "status"])
    assert "  k2: 7 waarden (beschikbaar)" in result.stdout
    assert "andere sleutels kunnen weg" in result.stdout
    monkeypatch.setenv("VANGNET_ENCRYPTION_KEYS", "k2:kapot")
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 2 and "sleutel k2 is geen geldige base64" in result.stderr
    assert "kapot" not in result.stderr.replace("k2:kapot", "")


def test_retention_purge_with_and_without_dry_run(engine: Engine) -> None:
    due, _ = add_claim(engine)
    add_claim(engine)
    with engine.begin() as c:
        c.execute(
            text("UPDATE aanvraag SET retain_until = '2000-01-01' WHERE id = :id"), {"id": due}
        )
    result = runner.invoke(app, ["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 aanvraag te verwijderen (proefdraai: er is niets veranderd)" in result.stdout
    assert f"  {due}  besloten, bewaren tot 2000-01-01: " in result.stdout
    result = runner.invoke(app, ["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 aanvraag verwijderd" in result.stdout
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM aanvraag")).scalar_one() == 1
        assert (
            c.execute(
                text("SELECT count(*) FROM auditregel WHERE action = 'bewaartermijn.opschonen'")
            ).scalar_one()
            == 1
        )


def test_backup_and_restore(engine: Engine, tmp_path: Path, data_dir: Path) -> None:
    add_claim(engine)
    target = tmp_path / "b" / "vangnet.sqlite3"
    result = runner.invoke(app, ["backup", "--naar", str(target)])
    assert result.exit_code == 0, result.output
    assert (
        "Back-up gemaakt" in result.stdout
        and "bewaar VANGNET_ENCRYPTION_KEYS apart" in result.stdout
    )
    manifest = json.loads((tmp_path / "b" / "vangnet.sqlite3.manifest.json").read_text())
    assert manifest["revision"] == "0006"  # the newest migration
    result = runner.invoke(app, ["restore", str(target)])
    assert result.exit_code == 2 and "niet leeg; gebruik --overschrijven" in result.stderr
    result = runner.invoke(app, ["restore", str(target), "--overschrijven"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Teruggezet: {target}")


def test_backup_on_postgresql_explains_pg_dump(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VANGNET_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/niets")
    result = runner.invoke(app, ["backup", "--naar", str(data_dir / "x")])
    assert result.exit_code == 2 and "pg_dump --format=custom" in result.stderr
