"""Bijlagen: evidence per claim (PDF, PNG, JPEG up to 10 MB, type by content, with sha256), and
besluiten that rest on them, on SQLite and on PostgreSQL (the `api` fixture). The applicant
(`gm`, an aanvrager of a municipality) adds and reads them; BZK's assessor (`team.bzk`)
decides on them."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Actor, Team
from vangnet.excel import XLSX_MEDIA_TYPE
from vangnet.service.app import openapi_document
from vangnet.service.attachments import MAX_BYTES
from vangnet.service.db import create_db_engine
from vangnet.service.problems import ApiProblem
from vangnet.service.routes.bijlagen import _receive
from vangnet.service.schemas_besluit import BesluitOut
from vangnet.service.settings import Settings

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
PROBLEM = "application/problem+json"
PDF = "application/pdf"
FOLLOWS = {"outcome": "gedeeltelijk", "amount_eur": "16850.00"}
MOTIVATION = "De nieuwe factuur laat zien dat het alarm goedkoper was."


def _pdf() -> bytes:
    out = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(out)
    return out.getvalue()


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


FILES = {"application/pdf": _pdf(), "image/png": _image("PNG"), "image/jpeg": _image("JPEG")}


def submitted(api: Actor) -> dict[str, Any]:
    r = api.post("/v1/aanvragen", json=copy.deepcopy(P06))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def upload(
    api: Actor,
    aanvraag: dict[str, Any],
    content: Any,
    media_type: str | None = "application/pdf",
    soort: str | None = "offerte",
) -> Any:
    headers = {} if media_type is None else {"content-type": media_type}
    params = {} if soort is None else {"soort": soort}
    return api.post(f"{aanvraag['href']}/bijlagen", params=params, content=content, headers=headers)


def uploaded(api: Actor, aanvraag: dict[str, Any], media_type: str = "application/pdf",
             soort: str = "offerte", content: bytes | None = None) -> dict[str, Any]:  # fmt: skip
    r = upload(api, aanvraag, FILES[media_type] if content is None else content, media_type, soort)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def fields(r: Any) -> list[str]:
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, r.text
    return sorted(p["field"] for p in r.json()["problems"])


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- uploading and downloading ----------------------------------------------------------------


@pytest.mark.parametrize("media_type", list(FILES))
def test_each_type_is_stored_and_served_byte_identical(gm: Actor, media_type: str) -> None:
    aanvraag = submitted(gm)
    content = FILES[media_type]
    r = upload(gm, aanvraag, content, media_type, "factuur")
    assert r.status_code == 201 and r.headers["content-type"] == "application/json", r.text
    b = r.json()
    assert r.headers["Location"] == b["href"] == f"/v1/bijlagen/{b['id']}"
    assert b["aanvraag"] == {"id": aanvraag["id"], "href": aanvraag["href"]}
    assert b["soort"] == "factuur" and b["media_type"] == media_type
    assert b["size"] == len(content)
    assert b["sha256"] == hashlib.sha256(content).hexdigest()
    assert b["created_at"].endswith("Z")
    assert "filename" not in b and "name" not in b  # no file name is kept

    r = gm.get(b["href"])
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["content-type"] == media_type
    suffix = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[media_type]
    assert r.headers["content-disposition"] == f'attachment; filename="bijlage-{b["id"]}{suffix}"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("sandbox")
    assert r.headers["cache-control"] == "no-store"


def test_the_file_name_of_the_upload_is_not_kept(gm: Actor) -> None:
    aanvraag = submitted(gm)
    r = gm.post(
        f"{aanvraag['href']}/bijlagen?soort=offerte",
        content=FILES["application/pdf"],
        headers={
            "content-type": "application/pdf",
            "content-disposition": 'attachment; filename="offerte Jansen Dorpsstraat 1.pdf"',
        },
    )
    assert r.status_code == 201
    assert "Jansen" not in r.text
    assert "Jansen" not in gm.get(f"{aanvraag['href']}/bijlagen").text
    assert "Jansen" not in gm.get(r.json()["href"]).headers["content-disposition"]


def test_the_list_of_a_claims_bijlagen(gm: Actor) -> None:
    aanvraag, other = submitted(gm), submitted(gm)
    assert gm.get(f"{aanvraag['href']}/bijlagen").json() == []
    made = [
        uploaded(gm, aanvraag, "application/pdf", "dreigingsinschatting"),
        uploaded(gm, aanvraag, "image/png", "beveiligingsadvies"),
        uploaded(gm, aanvraag, "image/jpeg", "overig"),
    ]
    uploaded(gm, other, "application/pdf", "offerte")
    r = gm.get(f"{aanvraag['href']}/bijlagen")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == made  # oldest first, each as it was returned on upload
    assert set(made[0]) == {
        "id", "href", "aanvraag", "soort", "media_type", "size", "sha256", "created_at"
    }  # fmt: skip
    assert len(gm.get(f"{other['href']}/bijlagen").json()) == 1


def test_the_same_bytes_again_are_the_same_bijlage(gm: Actor) -> None:
    aanvraag = submitted(gm)
    first = uploaded(gm, aanvraag)
    r = upload(gm, aanvraag, FILES["application/pdf"])
    assert r.status_code == 200 and r.json() == first
    assert r.headers["Location"] == first["href"]
    body = problem(upload(gm, aanvraag, FILES["application/pdf"], soort="factuur"), 409)
    assert body["code"] == "bijlage_bestaat" and first["id"] in body["detail"]
    assert len(gm.get(f"{aanvraag['href']}/bijlagen").json()) == 1
    # another claim may have the same bytes as its own bijlage
    assert uploaded(gm, submitted(gm))["id"] != first["id"]


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "declared"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100, "application/pdf"),  # a .exe
        (b"Dit is gewoon tekst, geen PDF.", "application/pdf"),
        (FILES["image/png"], "application/pdf"),  # a real PNG, declared as PDF
        (FILES["application/pdf"], "image/jpeg"),
        (FILES["image/jpeg"], "image/png"),
        (b"%PDF", "application/pdf"),  # shorter than the signature
        (b"", "image/png"),
    ],
    ids=["exe", "text", "png-as-pdf", "pdf-as-jpeg", "jpeg-as-png", "short", "empty"],
)
def test_the_type_is_checked_by_content(gm: Actor, content: bytes, declared: str) -> None:
    aanvraag = submitted(gm)
    body = problem(upload(gm, aanvraag, content, declared), 415)
    assert body["code"] == "inhoud_past_niet"
    assert gm.get(f"{aanvraag['href']}/bijlagen").json() == []


@pytest.mark.parametrize("declared", ["text/plain", "application/octet-stream", "image/gif", None])
def test_other_media_types_are_415(gm: Actor, declared: str | None) -> None:
    aanvraag = submitted(gm)
    body = problem(upload(gm, aanvraag, FILES["application/pdf"], declared), 415)
    assert body["code"] == "mediatype_niet_toegestaan"
    assert gm.get(f"{aanvraag['href']}/bijlagen").json() == []


def test_a_declared_type_with_parameters_is_fine(gm: Actor) -> None:
    aanvraag = submitted(gm)
    r = upload(gm, aanvraag, FILES["image/png"], "image/PNG; foo=bar")
    assert r.status_code == 201 and r.json()["media_type"] == "image/png"


def _stream(total: int, head: bytes, chunk: int = 1 << 20) -> Iterator[bytes]:
    """`total` bytes that begin with `head`, in chunks (sent without a Content-Length)."""
    yield head
    left = total - len(head)
    while left > 0:
        n = min(chunk, left)
        yield b"\0" * n
        left -= n


def test_more_than_10_mb_is_413_streamed_or_declared(gm: Actor) -> None:
    aanvraag = submitted(gm)
    assert MAX_BYTES == 10_000_000
    r = upload(gm, aanvraag, _stream(MAX_BYTES + 1, b"%PDF-1.7\n"))
    assert problem(r, 413)["code"] == "bijlage_te_groot"
    r = gm.post(
        f"{aanvraag['href']}/bijlagen?soort=offerte",
        content=b"%PDF-1.7\n",
        headers={"content-type": "application/pdf", "content-length": str(MAX_BYTES + 1)},
    )
    assert problem(r, 413)["code"] == "bijlage_te_groot"
    assert gm.get(f"{aanvraag['href']}/bijlagen").json() == []
    # exactly 10 MB is fine
    r = upload(gm, aanvraag, _stream(MAX_BYTES, b"%PDF-1.7\n"))
    assert r.status_code == 201, r.text
    assert r.json()["size"] == MAX_BYTES
    got = gm.get(r.json()["href"])
    assert len(got.content) == MAX_BYTES
    assert hashlib.sha256(got.content).hexdigest() == r.json()["sha256"]


def test_the_body_is_read_as_a_stream_and_cut_off_at_the_limit() -> None:
    """The test client reads a body whole before the app sees it; here the app's own reader
    gets the chunks one by one, and stops after the chunk that passes 10 MB (and after the
    first chunk when that is no PDF)."""

    def request(chunks: Iterator[bytes], taken: list[int]) -> Request:
        async def receive() -> dict[str, Any]:
            chunk = next(chunks, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            taken.append(len(chunk))
            return {"type": "http.request", "body": chunk, "more_body": True}

        scope = {"type": "http", "method": "POST", "headers": [], "path": "/"}
        return Request(scope, receive)

    taken: list[int] = []
    with pytest.raises(ApiProblem) as raised:
        asyncio.run(_receive(request(_stream(50 * MAX_BYTES, b"%PDF-1.7\n"), taken), PDF))
    assert raised.value.status == 413
    assert sum(taken) <= MAX_BYTES + (1 << 20)  # never the whole 500 MB
    taken = []
    with pytest.raises(ApiProblem) as raised:
        exe = _stream(50 * MAX_BYTES, b"MZ\x90\x00\x03\x00\x00\x00")  # 8 bytes: enough to tell
        asyncio.run(_receive(request(exe, taken), PDF))
    assert raised.value.status == 415
    assert len(taken) == 1


def test_soort_is_required_and_one_of_five(gm: Actor) -> None:
    aanvraag = submitted(gm)
    assert fields(upload(gm, aanvraag, FILES["application/pdf"], soort=None)) == ["soort"]
    assert fields(upload(gm, aanvraag, FILES["application/pdf"], soort="paspoort")) == ["soort"]
    for soort in ("offerte", "factuur", "dreigingsinschatting", "beveiligingsadvies", "overig"):
        content = FILES["application/pdf"] + soort.encode()  # other bytes each time
        assert uploaded(gm, aanvraag, soort=soort, content=content)["soort"] == soort


def test_unknown_resources_are_404(gm: Actor) -> None:
    nobody = {"href": "/v1/aanvragen/" + "0" * 32}
    assert problem(upload(gm, nobody, FILES["application/pdf"]), 404)
    assert problem(gm.get(f"{nobody['href']}/bijlagen"), 404)
    assert problem(gm.get("/v1/bijlagen/" + "0" * 32), 404)
    assert problem(gm.get("/v1/bijlagen/niets"), 404)


def test_other_methods_are_405_with_allow(gm: Actor) -> None:
    aanvraag = submitted(gm)
    b = uploaded(gm, aanvraag)
    r = gm.delete(b["href"])
    assert problem(r, 405) and r.headers["allow"] == "GET"
    r = gm.put(f"{aanvraag['href']}/bijlagen")
    assert problem(r, 405) and r.headers["allow"] == "GET, POST"


def test_a_withdrawn_claim_takes_no_bijlagen(gm: Actor) -> None:
    aanvraag = submitted(gm)
    kept = uploaded(gm, aanvraag)
    assert gm.post(f"{aanvraag['href']}/intrekking").status_code == 200
    body = problem(upload(gm, aanvraag, FILES["image/png"], "image/png"), 409)
    assert body["code"] == "aanvraag_gesloten" and body["current_status"] == "ingetrokken"
    # what was there stays readable
    assert gm.get(f"{aanvraag['href']}/bijlagen").json() == [kept]
    assert gm.get(kept["href"]).content == FILES["application/pdf"]


def test_a_bijlage_is_immutable(gm: Actor, database_url: str) -> None:
    b = uploaded(gm, submitted(gm))
    engine = create_db_engine(database_url)
    try:
        for statement in (
            "UPDATE bijlage SET soort = 'overig'",
            "UPDATE bijlage SET content = content",
            "DELETE FROM bijlage",
        ):
            with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
                c.execute(text(statement))
    finally:
        engine.dispose()
    assert gm.get(b["href"]).content == FILES["application/pdf"]


# --- besluiten rest on bijlagen ---------------------------------------------------------------


def in_behandeling(team: Team) -> dict[str, Any]:
    aanvraag = submitted(team.gemeente)
    assert team.bzk.post(f"{aanvraag['href']}/in-behandeling").status_code == 200
    return aanvraag


def test_a_besluit_lists_the_bijlagen_it_rests_on(team: Team, gm: Actor) -> None:
    aanvraag = in_behandeling(team)
    threat = uploaded(gm, aanvraag, "application/pdf", "dreigingsinschatting")
    photo = uploaded(gm, aanvraag, "image/jpeg", "overig")
    uploaded(gm, aanvraag, "image/png", "offerte")  # not named: not listed
    r = team.bzk.post(
        f"{aanvraag['href']}/besluit", json={**FOLLOWS, "attachments": [photo["id"], threat["id"]]}
    )
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["attachments"] == [
        {k: x[k] for k in ("id", "href", "soort", "media_type", "sha256")} for x in (photo, threat)
    ]
    BesluitOut.model_validate(b)
    assert gm.get(b["href"]).json() == b


def test_a_besluit_on_a_foreign_or_unknown_bijlage_is_400(team: Team, gm: Actor) -> None:
    aanvraag, other = in_behandeling(team), submitted(gm)
    own = uploaded(gm, aanvraag)
    foreign = uploaded(gm, other, "image/png")
    r = team.bzk.post(
        f"{aanvraag['href']}/besluit",
        json={**FOLLOWS, "attachments": [own["id"], foreign["id"], "f" * 32, own["id"]]},
    )
    assert fields(r) == ["attachments.1", "attachments.2", "attachments.3"]
    problems = {p["field"]: p for p in r.json()["problems"]}
    assert problems["attachments.1"]["value"] == foreign["id"]
    assert "geen bijlage van deze aanvraag" in problems["attachments.1"]["message"]
    # with every other problem of the body at once
    r = team.bzk.post(
        f"{aanvraag['href']}/besluit",
        json={"outcome": "afwijzen", "amount_eur": 5, "attachments": ["a" * 32]},
    )
    assert fields(r) == ["amount_eur", "attachments.0", "motivation"]
    # nothing was decided
    assert gm.get(aanvraag["href"]).json()["status"] == "in_behandeling"
    r = team.bzk.post(f"{aanvraag['href']}/besluit", json={**FOLLOWS, "attachments": [own["id"]]})
    assert r.status_code == 201, r.text


def test_a_correction_may_rest_on_evidence_that_came_after_the_besluit(
    team: Team, gm: Actor
) -> None:
    aanvraag = in_behandeling(team)
    first = team.bzk.post(f"{aanvraag['href']}/besluit", json=FOLLOWS).json()
    assert first["attachments"] == []
    # a decided claim still takes evidence (for a correction or an objection)
    invoice = uploaded(gm, aanvraag, "application/pdf", "factuur")
    foreign = uploaded(gm, submitted(gm), "image/png")
    correction = {**FOLLOWS, "motivation": MOTIVATION}
    r = team.bzk.post(
        f"{first['href']}/correcties", json={**correction, "attachments": [foreign["id"]]}
    )
    assert fields(r) == ["attachments.0"]
    r = team.bzk.post(
        f"{first['href']}/correcties", json={**correction, "attachments": [invoice["id"]]}
    )
    assert r.status_code == 201, r.text
    assert [x["id"] for x in r.json()["attachments"]] == [invoice["id"]]
    assert r.json()["attachments"][0]["sha256"] == invoice["sha256"]
    # the first besluit still lists what it rested on: nothing
    assert gm.get(first["href"]).json()["attachments"] == []


# --- the document -----------------------------------------------------------------------------


def test_the_document_declares_the_upload_and_the_excel_intake() -> None:
    doc = openapi_document(Settings(env="test"))
    binary = {"schema": {"type": "string", "format": "binary"}}
    upload_op = doc["paths"]["/aanvragen/{aanvraagId}/bijlagen"]["post"]
    assert upload_op["requestBody"]["content"] == {
        "application/pdf": binary, "image/png": binary, "image/jpeg": binary
    }  # fmt: skip
    assert [p["name"] for p in upload_op["parameters"] if p["in"] == "query"] == ["soort"]
    assert {"201", "200", "404", "409", "413", "415"} <= set(upload_op["responses"])
    submit = doc["paths"]["/aanvragen"]["post"]["requestBody"]["content"]
    assert submit[XLSX_MEDIA_TYPE] == binary
    assert "application/json" in submit
