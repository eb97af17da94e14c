"""Nothing a claim says is stored or logged in plaintext (issue 6, "Done when").

Through the API, on SQLite and PostgreSQL: a municipality submits a claim whose free text
(measure descriptions, the motivation of its triggers, the municipality's name) holds unique
strings, uploads an attachment (an uncompressed PDF with a unique string in it), BZK's
assessor asks for information (a unique reason), the municipality supplements, and the
assessor decides with a unique motivation, so that a letter is stored. First the service is
asked for each string back (so the test cannot pass by losing them); then the database is
searched for every one of them — on SQLite the database file, its WAL and every other file in
the data directory; on PostgreSQL a `pg_dump` of the database (every table, plain SQL) — and
so are the application logs, captured at DEBUG for every logger. None may be found.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Team
from vangnet.service import crypto, retention
from vangnet.service.settings import Settings

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())


def _strings() -> dict[str, str]:
    tag = secrets.token_hex(6)
    return {
        name: f"{word}{tag}"
        for name, word in (
            ("description", "Rolluikbijdeschuurdeur"),
            ("trigger", "Dreigbriefopdestoep"),
            ("municipality", "Gemeentewaarniemandwoont"),
            ("reason", "Stuurdeofferteopnieuw"),
            ("motivation", "Motiveringvandebeoordelaar"),
            ("attachment", "Bewijsstukinhetdossier"),
        )
    }


def _pdf(text: str) -> bytes:
    """A small uncompressed PDF that shows `text` (its bytes hold the text as is)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    for i, body in enumerate(objects, start=1):
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def configured(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The key ring of the service's own settings (its development key), for this test."""
    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr(retention, "_years", None)
    settings: Settings = api.app.state.settings
    crypto.configure(settings)
    yield settings


def _search_sqlite(settings: Settings, needles: dict[str, bytes]) -> list[str]:
    database = Path(str(make_url(settings.db_url).database))
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    files += [p for p in settings.data_dir.rglob("*") if p.is_file() and "secrets" not in p.parts]
    assert Path(f"{database}-wal").exists()  # the service runs in WAL mode
    found = []
    for path in dict.fromkeys(files):
        if path.exists():
            data = path.read_bytes()
            found += [f"{name} in {path.name}" for name, n in needles.items() if n in data]
    return found


def _search_postgresql(url: str, needles: dict[str, bytes]) -> list[str]:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is needed to read every table of the PostgreSQL database")
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(
        [pg_dump, "--data-only", "--no-owner", plain], capture_output=True, check=True
    ).stdout
    assert b"COPY public.aanvraag_versie" in dump and b"COPY public.besluit" in dump
    # bytea is dumped as hex: search that form too
    return [
        f"{name} in pg_dump" for name, n in needles.items() if n in dump or n.hex().encode() in dump
    ]


def test_no_claim_text_attachment_or_motivation_is_stored_or_logged_in_plaintext(
    team: Team,
    configured: Settings,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    gm, bzk = team.gemeente, team.bzk
    s = _strings()
    claim = copy.deepcopy(P06)
    claim["measures"][0]["description"] = s["description"]
    claim["triggers"] = {"political_discussion": True, "motivation": s["trigger"]}
    claim["municipality"]["name"] = s["municipality"]
    r = gm.post("/v1/aanvragen", json=claim)
    assert r.status_code == 201, r.text
    a = r.json()
    pdf = _pdf(s["attachment"])
    r = gm.post(
        f"{a['href']}/bijlagen",
        params={"soort": "offerte"},
        content=pdf,
        headers={"content-type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    bijlage = r.json()
    assert bzk.post(f"{a['href']}/in-behandeling").status_code == 200
    r = bzk.post(f"{a['href']}/aanvullingsverzoeken", json={"reason": s["reason"]})
    assert r.status_code == 200, r.text
    r = gm.post(f"{a['href']}/aanvullingen", json=claim)
    assert r.status_code == 200, r.text
    body = {
        "outcome": "gedeeltelijk",
        "amount_eur": "16850.00",
        "motivation": s["motivation"],
        "attachments": [bijlage["id"]],
    }
    r = bzk.post(f"{a['href']}/besluit", json=body)
    assert r.status_code == 201, r.text
    besluit = r.json()

    # everything is there, and the service gives it back
    stored = gm.get(a["href"]).json()
    assert stored["claim"]["measures"][0]["description"] == s["description"]
    assert stored["claim"]["triggers"]["motivation"] == s["trigger"]
    assert [h["reason"] for h in stored["history"] if h["reason"]] == [s["reason"]]
    assert bzk.get(besluit["href"]).json()["motivation"] == s["motivation"]
    assert gm.get(bijlage["href"]).content == pdf
    letter = bzk.get(besluit["letter"]["href"], headers={"Accept": "text/html"})
    assert letter.status_code == 200 and s["motivation"] in letter.text
    assert stored["claim"]["municipality"]["name"] == s["municipality"]

    needles = {name: value.encode() for name, value in s.items()}
    if database_url.startswith("sqlite"):
        found = _search_sqlite(configured, needles)
    else:
        found = _search_postgresql(database_url, needles)
    assert found == []

    logged = caplog.text + "".join(
        f"{r.getMessage()}{r.args!r}{r.exc_text or ''}" for r in caplog.records
    )
    assert [name for name, value in s.items() if value in logged] == []
