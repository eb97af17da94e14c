"""`/v1/tokens`: every account makes, lists and revokes its own API tokens; a beheerder
anyone's. On SQLite and PostgreSQL (`api`)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.service.auth import Actor, Team


@pytest.fixture
def team(api: TestClient) -> Team:
    return Team(api)


def test_anonymous_callers_must_sign_in(team: Team) -> None:
    for method, url in [
        ("GET", "/v1/tokens"),
        ("POST", "/v1/tokens"),
        ("GET", "/v1/tokens/abc"),
        ("DELETE", "/v1/tokens/abc"),
    ]:
        r = team.anoniem.request(method, url)
        assert r.status_code == 401, (method, url)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["WWW-Authenticate"] == "Bearer"
    r = Actor(team.client, "vn_onzin").get("/v1/tokens")
    assert r.status_code == 401
    assert "ongeldig, verlopen of ingetrokken" in r.json()["detail"]


def test_make_use_list_and_revoke_a_token(team: Team) -> None:
    me = team.gemeente
    r = me.post("/v1/tokens", json={"naam": "koppeling zaaksysteem", "dagen": 30})
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["Location"] == made["href"] == f"/v1/tokens/{made['id']}"
    assert re.fullmatch(r"vn_[A-Za-z0-9_-]{43}", made["token"])
    assert made["status"] == "geldig" and made["naam"] == "koppeling zaaksysteem"
    assert made["account_id"] == me.account.id
    assert made["revoked_at"] is None and made["expires_at"].endswith("Z")
    # the new token works, and the list never shows a token itself
    mine = Actor(team.client, made["token"], me.account)
    listed = mine.get("/v1/tokens")
    assert listed.status_code == 200
    assert [t["naam"] for t in listed.json()] == ["koppeling zaaksysteem", "test"]
    assert made["token"] not in listed.text and "token" not in listed.json()[0]
    one = mine.get(made["href"])
    assert one.status_code == 200 and one.json()["id"] == made["id"]
    # revoke it: it stops working at once
    r = me.request("DELETE", made["href"])
    assert r.status_code == 204 and r.content == b""
    assert mine.get("/v1/tokens").status_code == 401
    assert me.get(made["href"]).json()["status"] == "ingetrokken"
    assert me.request("DELETE", made["href"]).status_code == 204  # again: no change
    # only its sha256 is stored
    with team.accounts.engine.connect() as connection:
        stored = repr(connection.execute(text("SELECT * FROM api_token")).all())
    assert made["token"] not in stored


def test_another_accounts_token_is_not_found(team: Team) -> None:
    me, other = team.gemeente, team.andere_gemeente
    info, raw = team.accounts.issue_token(other.account.id, "van een ander")
    unknown = me.get("/v1/tokens/" + "0" * 32)
    for r in (me.get(f"/v1/tokens/{info.id}"), me.request("DELETE", f"/v1/tokens/{info.id}")):
        assert r.status_code == 404
        assert r.json()["detail"] == f"Er is geen token {info.id}."
    assert (
        unknown.status_code == 404 and unknown.json()["detail"] == f"Er is geen token {'0' * 32}."
    )
    assert Actor(team.client, raw).get("/v1/tokens").status_code == 200  # still valid


def test_a_beheerder_revokes_anyones_token(team: Team) -> None:
    info, raw = team.accounts.issue_token(team.gemeente.account.id, "vertrokken collega")
    assert team.beheerder.get(f"/v1/tokens/{info.id}").status_code == 200
    assert team.beheerder.request("DELETE", f"/v1/tokens/{info.id}").status_code == 204
    assert Actor(team.client, raw).get("/v1/tokens").status_code == 401
    entries = team.client.app.state.audit.entries(team.accounts.engine, limit=1000)  # type: ignore[attr-defined]
    revoked = [e for e in entries if e.action == "token.intrekken"]
    assert len(revoked) == 1
    assert revoked[0].actor == team.beheerder.account.id
    assert revoked[0].details == {"account": team.gemeente.account.id, "door_beheerder": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "naam"),
        ({"naam": ""}, "naam"),
        ({"naam": "x" * 101}, "naam"),
        ({"naam": "a", "dagen": 0}, "dagen"),
        ({"naam": "a", "dagen": 5000}, "dagen"),
        ({"naam": "a", "geheim": 1}, "geheim"),
        ({"naam": "regel\nregel"}, "naam"),
    ],
)
def test_bad_requests_name_the_field(team: Team, body: dict[str, object], field: str) -> None:
    r = team.gemeente.post("/v1/tokens", json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [p["field"] for p in r.json()["problems"]] == [field]


def test_a_disabled_account_makes_no_tokens(team: Team) -> None:
    me = team.gemeente
    _, raw = team.accounts.issue_token(me.account.id, "tweede")
    team.accounts.disable_id(me.account.id)
    assert Actor(team.client, raw).post("/v1/tokens", json={"naam": "x"}).status_code == 401


@pytest.mark.parametrize(
    ("method", "url", "content"),
    [
        ("POST", "/v1/tokens", b"{"),  # not JSON
        ("POST", "/v1/tokens", b'{"naam": "", "dagen": 0}'),  # invalid fields
        ("POST", "/v1/tokens", b"x" * 2_000_000),  # too large
        ("GET", "/v1/tokens/abc?extra=1", None),
        ("DELETE", "/v1/tokens/abc", b"{"),
    ],
)
def test_who_may_not_hears_401_before_anything_about_the_request(
    team: Team, method: str, url: str, content: bytes | None
) -> None:
    headers = {"content-type": "application/json"}
    for actor in (team.anoniem, Actor(team.client, "vn_onzin")):
        r = actor.request(method, url, content=content, headers=headers)
        assert r.status_code == 401, (actor, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "problems" not in r.json()
    # the same request from an account is judged on its merits
    r = team.gemeente.request(method, url, content=content, headers=headers)
    assert r.status_code in (400, 404, 413), r.text
