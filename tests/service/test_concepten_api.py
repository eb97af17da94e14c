"""`/v1/regelsetconcepten`: rule owners submit, read, approve and reject drafts (SQLite and
PostgreSQL). The API reads the published versions of the project and never writes a file."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from tests.conftest import ROOT
from tests.service.auth import Actor, Team
from tests.service.test_regelbeheer import new_basis_version, snapshot
from vangnet.service.models import Auditregel
from vangnet.service.routes import concepten

URL = "/v1/regelsetconcepten"
KEY = "basismaatregelen@2090.1"


def version_file(**changes: str) -> str:
    text = new_basis_version("2090.1", "2090-01-01", "2090-12-31").decode("utf-8")
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.fixture
def team_(team: Team) -> Team:
    """The team on a service with the drafts' routes (added here until app.py has them)."""
    app: Any = team.client.app
    api = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/v1")
    if not any(getattr(r, "path", "") == URL.removeprefix("/v1") for r in api.routes):
        api.include_router(concepten.router)
    return team


@pytest.fixture
def anna(team_: Team) -> Actor:
    return team_.actor("regelbeheerder", "BZK", "anna")


@pytest.fixture
def bert(team_: Team) -> Actor:
    return team_.actor("regelbeheerder", "BZK", "bert")


def submit(actor: Actor, text: str | None = None, **extra: Any) -> Any:
    body = {"inhoud": text or version_file(), "toelichting": "Hoger plafond."} | extra
    return actor.post(URL, json=body)


def audit_actions(client: TestClient) -> list[tuple[str, str]]:
    app: Any = client.app
    with app.state.store.engine.connect() as c:
        rows = c.execute(select(Auditregel.action, Auditregel.result).order_by(Auditregel.seq))
        return [(a, r) for a, r in rows if a.startswith(("concept.", "toegang."))]


def test_submit_read_and_approve(anna: Actor, bert: Actor, team_: Team) -> None:
    tree = {sub: snapshot(ROOT / sub) for sub in ("rulesets", "calculators")}
    response = submit(anna)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == body["href"] == f"{URL}/{body['id']}"
    assert {k: body[k] for k in ("regeling", "versie", "status", "auteur", "vorige_versie")} == {
        "regeling": "basismaatregelen",
        "versie": "2090.1",
        "status": "concept",
        "auteur": anna.account.pseudoniem,
        "vorige_versie": "basismaatregelen@2021.1",
    }
    assert body["wijzigingen"] == [
        {
            "soort": "gewijzigde parameter",
            "onderwerp": "plafond_per_woning_eur",
            "oud": "€ 2.400,00",
            "nieuw": "€ 2.600,00",
        }
    ]
    assert bert.get(f"{URL}/{KEY}").json() == body
    assert [c["id"] for c in bert.get(URL).json()] == [body["id"]]

    refused = anna.post(f"{URL}/{body['id']}/goedkeuring")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("U mag uw eigen concept niet goedkeuren")

    approved = bert.post(f"{URL}/{KEY}/goedkeuring")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["goedgekeurd_door"]) == (
        "goedgekeurd",
        bert.account.pseudoniem,
    )
    again = bert.post(f"{URL}/{KEY}/goedkeuring")
    assert again.status_code == 409 and "Goedkeuren kan niet" in again.json()["detail"]
    assert bert.get(URL, params={"status": "concept"}).json() == []
    assert audit_actions(team_.client) == [
        ("concept.indienen", "gelukt"),
        ("toegang.geweigerd", "geweigerd"),
        ("concept.goedkeuren", "gelukt"),
    ]
    # the API never publishes: the project's data folders are as they were
    assert {sub: snapshot(ROOT / sub) for sub in tree} == tree


def test_reject_with_a_reason(anna: Actor, bert: Actor) -> None:
    concept_id = submit(anna).json()["id"]
    assert bert.post(f"{URL}/{concept_id}/afwijzing", json={}).status_code == 400
    rejected = bert.post(f"{URL}/{concept_id}/afwijzing", json={"reden": "Bron ontbreekt."})
    assert rejected.status_code == 200, rejected.text
    data = rejected.json()
    assert (data["status"], data["afgewezen_door"], data["reden_afwijzing"]) == (
        "afgewezen",
        bert.account.pseudoniem,
        "Bron ontbreekt.",
    )
    late = bert.post(f"{URL}/{concept_id}/goedkeuring")
    assert late.status_code == 409
    assert "afgewezen; dien een nieuwe versie in" in late.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"deciding_body: werkgever\n": ""}, "2090-01-01.yaml: deciding_body: Field required"),
        ({"valid_from: 2090-01-01\n": ""}, "concept.yaml: valid_from: Field required"),
        ({"{field: e_eur, gt:": "{field: e_euro, gt:"}, "regel BM-PLAFOND: onbekend veld"),
    ],
)
def test_an_invalid_version_is_400_naming_the_field(
    anna: Actor, changes: dict[str, str], expected: str
) -> None:
    response = submit(anna, version_file(**changes))
    assert response.status_code == 400
    assert response.json()["code"] == "ongeldig_concept"
    assert expected in response.json()["detail"]
    assert anna.get(URL).json() == []


def test_a_published_or_duplicate_version_is_409(anna: Actor) -> None:
    published = (ROOT / "rulesets/basismaatregelen/2021-01-01.yaml").read_text()
    response = submit(anna, published)
    assert response.status_code == 409
    assert "rulesets/basismaatregelen/2021-01-01.yaml bestaat al" in response.json()["detail"]
    assert submit(anna).status_code == 201
    assert submit(anna).status_code == 409


def test_who_may(team_: Team, anna: Actor) -> None:
    assert team_.anoniem.get(URL).status_code == 401
    assert submit(team_.anoniem).status_code == 401
    for actor in (team_.bzk, team_.gemeente, team_.beheerder):
        assert actor.get(URL).status_code == 403
        assert submit(actor).status_code == 403
    concept_id = submit(anna).json()["id"]
    assert team_.bzk.post(f"{URL}/{concept_id}/goedkeuring").status_code == 403
    assert anna.get(f"{URL}/onbekend").status_code == 404
    assert submit(anna, extra_field="x").status_code == 400
