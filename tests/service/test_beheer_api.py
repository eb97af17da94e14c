"""`/v1/accounts` and `/v1/organisaties`: only a beheerder manages them. On SQLite and
PostgreSQL (`api`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.auth import Actor, Team


@pytest.fixture
def team(api: TestClient) -> Team:
    return Team(api)


ENDPOINTS = [
    ("GET", "/v1/accounts", None),
    ("POST", "/v1/accounts", {"gebruikersnaam": "x1", "organisatie_id": "BZK", "rol": "auditor"}),
    ("GET", "/v1/accounts/abc", None),
    ("POST", "/v1/accounts/abc/uitschakeling", None),
    ("GET", "/v1/accounts/abc/tokens", None),
    ("POST", "/v1/accounts/abc/tokens", {"naam": "x"}),
    ("GET", "/v1/organisaties", None),
    ("POST", "/v1/organisaties", {"id": "GM0344", "naam": "Utrecht", "soort": "gemeente"}),
    ("GET", "/v1/organisaties/BZK", None),
]


@pytest.mark.parametrize(
    "who",
    ["anoniem", "gemeente", "bzk", "beoordelaar_gemeente", "regelbeheerder", "auditor"],
)
def test_only_a_beheerder_may(team: Team, who: str) -> None:
    actor: Actor = getattr(team, who)
    for method, url, body in ENDPOINTS:
        r = actor.request(method, url, json=body)
        expected = 401 if who == "anoniem" else 403
        assert r.status_code == expected, (who, method, url, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert {o.id for o in team.accounts.list_organisations()} <= {"GM9901", "GM9902", "BZK"}
    refusals = [
        e
        for e in team.client.app.state.audit.entries(team.accounts.engine, limit=1000)  # type: ignore[attr-defined]
        if e.action == "toegang.geweigerd"
    ]
    assert len(refusals) == len(ENDPOINTS)


BAD_REQUESTS = [
    ("GET", "/v1/accounts?organisatie=" + "G" * 17, None),  # too long for an organisation id
    ("POST", "/v1/accounts", b"{"),  # not JSON
    ("POST", "/v1/accounts", b'{"rol": "baas", "wachtwoord": "kort"}'),
    ("POST", "/v1/accounts/abc/tokens", b'{"naam": ""}'),
    ("POST", "/v1/organisaties", b'{"id": "X", "soort": "stad"}'),
    ("POST", "/v1/organisaties", b"x" * 2_000_000),  # too large
]


@pytest.mark.parametrize(("method", "url", "content"), BAD_REQUESTS)
def test_401_and_403_come_before_anything_about_the_request(
    team: Team, method: str, url: str, content: bytes | None
) -> None:
    headers = {"content-type": "application/json"}
    for who, expected in (("anoniem", 401), ("gemeente", 403), ("auditor", 403)):
        actor: Actor = getattr(team, who)
        r = actor.request(method, url, content=content, headers=headers)
        assert r.status_code == expected, (who, r.text)
        assert "problems" not in r.json() and "kort" not in r.text
    # a beheerder hears what is wrong
    r = team.beheerder.request(method, url, content=content, headers=headers)
    assert r.status_code in (400, 413), r.text


def test_the_organisation_filter_is_at_most_an_organisation_id(team: Team) -> None:
    r = team.beheerder.get("/v1/accounts", params={"organisatie": "G" * 17})
    assert r.status_code == 400, r.text
    (problem,) = r.json()["problems"]
    assert "organisatie" in problem["field"]


def test_organisations(team: Team) -> None:
    admin = team.beheerder
    r = admin.post(
        "/v1/organisaties", json={"id": "gm0344", "naam": "Utrecht", "soort": "gemeente"}
    )
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/v1/organisaties/GM0344"
    assert r.json()["id"] == "GM0344" and r.json()["soort"] == "gemeente"
    assert admin.get("/v1/organisaties/GM0344").json()["naam"] == "Utrecht"
    assert [o["id"] for o in admin.get("/v1/organisaties").json()] == ["BZK", "GM0344"]
    again = admin.post(
        "/v1/organisaties", json={"id": "GM0344", "naam": "Nog eens", "soort": "gemeente"}
    )
    assert again.status_code == 409 and "GM0344" in again.json()["detail"]
    assert admin.get("/v1/organisaties/GM0000").status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"id": "GM344", "naam": "Utrecht", "soort": "gemeente"}, "id", "GM en vier cijfers"),
        ({"id": "PV1", "naam": "Utrecht", "soort": "provincie"}, "id", "PV en twee cijfers"),
        ({"id": "WS1", "naam": "Rivierenland", "soort": "waterschap"}, "id", "WS en vier"),
        (
            {"id": "GM0344", "naam": "Utrecht", "soort": "stad"},
            "soort",
            "moet een van deze waarden zijn: 'gemeente', 'provincie', 'waterschap' of 'bzk'",
        ),
        ({"id": "GM0344", "naam": " ", "soort": "gemeente"}, "naam", "mag niet leeg zijn"),
        ({"id": "GM0344", "soort": "gemeente"}, "naam", "verplicht"),
    ],
)
def test_bad_organisations_name_the_field(
    team: Team, body: dict[str, Any], field: str, words: str
) -> None:
    r = team.beheerder.post("/v1/organisaties", json=body)
    assert r.status_code == 400, r.text
    (problem,) = r.json()["problems"]
    assert problem["field"] == field and words in problem["message"]


def test_accounts(team: Team) -> None:
    admin = team.beheerder
    team.organisation("GM9901")
    r = admin.post(
        "/v1/accounts",
        json={
            "gebruikersnaam": "Fien.de.Vries",
            "organisatie_id": "GM9901",
            "rol": "aanvrager",
            "wachtwoord": "een-lang-wachtwoord",
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["Location"] == made["href"] == f"/v1/accounts/{made['id']}"
    assert made["gebruikersnaam"] == "fien.de.vries"
    assert re.fullmatch(r"aanvrager-[0-9a-f]{6}", made["pseudoniem"])
    assert made["actief"] and made["heeft_wachtwoord"] and made["disabled_at"] is None
    assert "wachtwoord" not in made and "een-lang-wachtwoord" not in r.text
    assert admin.get(made["href"]).json() == made
    listed = admin.get("/v1/accounts", params={"organisatie": "GM9901"}).json()
    assert [a["id"] for a in listed] == [made["id"]]
    assert {a["organisatie_id"] for a in admin.get("/v1/accounts").json()} == {"BZK", "GM9901"}
    # she can log in with it (the pages' login)
    assert team.accounts.login("fien.de.vries", "een-lang-wachtwoord", "10.0.0.1").identity.rol == (
        "aanvrager"
    )
    again = admin.post(
        "/v1/accounts",
        json={"gebruikersnaam": "FIEN.DE.VRIES", "organisatie_id": "GM9901", "rol": "auditor"},
    )
    assert again.status_code == 409
    assert admin.get("/v1/accounts/" + "0" * 32).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"wachtwoord": "te-kort-ww"}, "wachtwoord"),
        ({"rol": "baas"}, "rol"),
        ({"organisatie_id": "GM0000"}, "organisatie"),
        ({"gebruikersnaam": "met spatie"}, "gebruikersnaam"),
        ({"extra": True}, "extra"),
    ],
)
def test_bad_accounts_name_the_field_and_never_echo_a_password(
    team: Team, changes: dict[str, Any], field: str
) -> None:
    body = {"gebruikersnaam": "kees", "organisatie_id": "BZK", "rol": "auditor"} | changes
    r = team.beheerder.post("/v1/accounts", json=body)
    assert r.status_code == 400, r.text
    (problem,) = r.json()["problems"]
    assert problem["field"] == field
    assert "te-kort-ww" not in r.text


def test_disabling_an_account_ends_its_tokens(team: Team) -> None:
    admin, member = team.beheerder, team.gemeente
    assert member.get("/v1/tokens").status_code == 200
    r = admin.post(f"/v1/accounts/{member.account.id}/uitschakeling")
    assert r.status_code == 200
    assert r.json()["actief"] is False and r.json()["disabled_at"].endswith("Z")
    assert member.get("/v1/tokens").status_code == 401
    assert admin.post(f"/v1/accounts/{member.account.id}/uitschakeling").status_code == 200
    own = admin.post(f"/v1/accounts/{admin.account.id}/uitschakeling")
    assert own.status_code == 409 and own.json()["code"] == "eigen_account"
    assert admin.post("/v1/accounts/onbekend/uitschakeling").status_code == 404


def test_tokens_for_an_account(team: Team) -> None:
    admin, member = team.beheerder, team.bzk
    r = admin.post(f"/v1/accounts/{member.account.id}/tokens", json={"naam": "koppeling"})
    assert r.status_code == 201, r.text
    raw = r.json()["token"]
    assert Actor(team.client, raw).get("/v1/tokens").status_code == 200
    listed = admin.get(f"/v1/accounts/{member.account.id}/tokens").json()
    assert sorted(t["naam"] for t in listed) == ["koppeling", "test"]
    assert raw not in str(listed)
    assert admin.get("/v1/accounts/onbekend/tokens").status_code == 404
    assert admin.post("/v1/accounts/onbekend/tokens", json={"naam": "x"}).status_code == 404


def test_impossible_ids_are_400_or_404(team: Team) -> None:
    admin = team.beheerder
    # any path value is looked up after the role check (an anonymous caller gets 401 first);
    # one that cannot be an id is not sent to the database
    for url in ("/v1/accounts/a%00b", "/v1/organisaties/GM%000", "/v1/accounts/" + "x" * 300):
        r = admin.get(url)
        assert r.status_code == 404, (url, r.text)
    assert admin.get("/v1/accounts?organisatie=G%00").json() == []
    r = admin.post("/v1/accounts", json={"gebruikersnaam": "kees", "organisatie_id": "GM\x00",
                                         "rol": "auditor"})  # fmt: skip
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "organisatie"
    r = admin.post("/v1/organisaties", json={"id": "GM\x00", "naam": "x", "soort": "gemeente"})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "id"
    r = admin.request("DELETE", "/v1/tokens/a%00b")
    assert r.status_code == 404
    assert team.anoniem.get("/v1/organisaties/" + "0" * 32).status_code == 401
