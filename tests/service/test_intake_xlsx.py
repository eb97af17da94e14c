"""POST /v1/aanvragen takes the Excel intake form too: the same claim as its JSON (submitted by
an aanvrager of a municipality, tests/service/auth.py)."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Actor, Team
from vangnet.claim import parse_claim
from vangnet.excel import XLSX_MEDIA_TYPE, build_intake, fill_intake

XLSX = {"content-type": XLSX_MEDIA_TYPE}


@pytest.fixture
def gm(client: TestClient) -> Actor:
    """An aanvrager of a municipality on the service of `client`."""
    return Team(client).gemeente


def _workbook(name: str) -> bytes:
    claim = parse_claim(json.loads((PUBLIC_SCENARIOS / f"{name}.claim.json").read_text()))
    out = io.BytesIO()
    fill_intake(claim, out)
    return out.getvalue()


def test_a_filled_workbook_is_submitted_like_its_json(client: TestClient, gm: Actor) -> None:
    r = gm.post("/v1/aanvragen", content=_workbook("P06"), headers=XLSX)
    assert r.status_code == 201, r.text
    via_json = client.post(
        "/v1/evaluaties", content=(PUBLIC_SCENARIOS / "P06.claim.json").read_bytes(),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    stored = gm.get(r.headers["Location"]).json()
    advice = stored["advices"][0]["decision"]
    assert advice["receipt"]["claim_sha256"] == via_json.json()["receipt"]["claim_sha256"]
    assert advice["outcome"] == via_json.json()["outcome"] == "gedeeltelijk"


def test_an_empty_form_is_400_naming_sheets_and_cells(client: TestClient, gm: Actor) -> None:
    out = io.BytesIO()
    build_intake(out, on=date(2016, 3, 1))
    r = gm.post("/v1/aanvragen", content=out.getvalue(), headers=XLSX)
    assert r.status_code == 400
    fields = [p["field"] for p in r.json()["problems"]]
    assert any(f.startswith("Blad Aanvraag, cel ") for f in fields), fields
    assert gm.get("/v1/aanvragen").json()["total"] == 0  # nothing stored


def test_not_a_workbook_is_400_and_other_media_types_415(client: TestClient, gm: Actor) -> None:
    r = gm.post("/v1/aanvragen", content=b"not a zip", headers=XLSX)
    assert r.status_code == 400
    r = gm.post("/v1/aanvragen", content=b"x", headers={"content-type": "text/csv"})
    assert r.status_code == 415
