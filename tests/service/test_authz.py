"""Authorisation: the roles table of issue 6, as a table, on SQLite and PostgreSQL.

One "world" per database (module-scoped, nothing in it changes): municipality GM9901 submitted
a `vangnet` claim (decided by BZK) with an attachment, and BZK's assessor decided on it, with a
letter; municipality GM9902 submitted a `vangnet` claim and a `basismaatregelen` claim of its
own wethouder (decided by GM9902 itself, the employer). Then every role asks every endpoint
about GM9901's claim, besluit, letter and attachment.

A request that its role may make is sent with a body that is refused AFTER the check (400, or
415 for an upload), so the world never changes and the answer still proves that the check let
it through: 200 for a read, 400/415 for a change. A refusal is 401 (nobody signed in), 403
(the role may never) or 404 (another organisation's object, worded exactly as an unknown id).

The table below is written out from the issue, not derived from `authz.TABLE`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Actor, Team
from tests.service.conftest import _empty
from tests.service.test_regelbeheer import new_basis_version
from vangnet.evaluate import Decider
from vangnet.service.app import create_app, openapi_document
from vangnet.service.authz import TABLE, decider_for
from vangnet.service.db import create_db_engine
from vangnet.service.demo import claim_versions, load_demo
from vangnet.service.models import Auditregel
from vangnet.service.openapi import OPEN_OPERATIONS
from vangnet.service.pseudonyms import HIDDEN
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

PROBLEM = "application/problem+json"
# free text that no auditor and no audit entry may show
DESCRIPTION = "Alarm bij de achterdeur, naast de schuur van de buren"
TRIGGER = "De raad wil de kosten in een openbare vergadering bespreken"
REASON = "Opgepakt door team B van de afdeling"
MOTIVATION = "Het alarm is volgens de politie nodig. Wij vergoeden daarom ook het alarm."
PDF = b"%PDF-1.4\n%%EOF\n"


def _p06(claim_id: str) -> dict[str, Any]:
    claim: dict[str, Any] = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
    claim["claim_id"] = claim_id
    claim["measures"][0]["description"] = DESCRIPTION
    claim["triggers"] = {"political_discussion": True, "motivation": TRIGGER}
    return claim


def _basismaatregelen() -> dict[str, Any]:
    demo = load_demo()
    d07 = next(c for c in demo.claims if c.key == "D07")
    return claim_versions(demo, d07)[0]


@dataclass
class World:
    client: TestClient
    team: Team
    url: str
    aanvraag: dict[str, Any]  # GM9901's vangnet claim, decided by BZK
    besluit: dict[str, Any]
    bijlage: dict[str, Any]
    andere: dict[str, Any]  # GM9902's vangnet claim
    basis: dict[str, Any]  # GM9902's basismaatregelen claim, decided by GM9902
    concept: dict[str, Any]  # a draft rule version by the table's regelbeheerder

    def actor(self, role: str) -> Actor:
        return {
            "anoniem": self.team.anoniem,
            "aanvrager eigen": self.team.gemeente,
            "aanvrager ander": self.team.andere_gemeente,
            "beoordelaar beslissend": self.team.bzk,
            "beoordelaar ander": self.team.beoordelaar_gemeente,
            "regelbeheerder": self.team.regelbeheerder,
            "auditor": self.team.auditor,
            "beheerder": self.team.beheerder,
        }[role]


def _created(r: Any) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    workers: EngineWorkers,
    validator: Decider,
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("authz")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'db' / 'vangnet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _empty(url)
    settings = Settings(env="test", data_dir=tmp / "data", database_url=url)
    with TestClient(create_app(settings, workers=workers, validator=validator)) as client:
        team = Team(client)
        gm, gm2, bzk = team.gemeente, team.andere_gemeente, team.bzk
        aanvraag = _created(gm.post("/v1/aanvragen", json=_p06("A-GM9901")))
        bijlage = _created(
            gm.post(
                f"{aanvraag['href']}/bijlagen",
                params={"soort": "offerte"},
                content=PDF,
                headers={"content-type": "application/pdf"},
            )
        )
        r = bzk.post(f"{aanvraag['href']}/in-behandeling", json={"reason": REASON})
        assert r.status_code == 200, r.text
        # an override of the advice (gedeeltelijk, EUR 16,850.00), with its motivation
        body = {"outcome": "toekennen", "amount_eur": "19350.00", "motivation": MOTIVATION}
        besluit = _created(bzk.post(f"{aanvraag['href']}/besluit", json=body))
        andere = _created(gm2.post("/v1/aanvragen", json=_p06("A-GM9902")))
        basis = _created(gm2.post("/v1/aanvragen", json=_basismaatregelen()))
        draft = new_basis_version("2090.1", "2090-01-01", "2090-12-31").decode("utf-8")
        concept = _created(
            team.regelbeheerder.post(
                "/v1/regelsetconcepten", json={"inhoud": draft, "toelichting": "Test."}
            )
        )
        yield World(client, team, url, aanvraag, besluit, bijlage, andere, basis, concept)


# --- the table --------------------------------------------------------------------------------

ROLES = (
    "anoniem",
    "aanvrager eigen",
    "aanvrager ander",
    "beoordelaar beslissend",
    "beoordelaar ander",
    "regelbeheerder",
    "auditor",
    "beheerder",
)
OK = "ok"  # allowed: 200 for a read, the refusal of the body (400, 415) for a change
FOUR_EYES = "vier_ogen"  # the role may, but not on its own draft: 403 with this code


def _row(**allowed: str) -> dict[str, str | int]:
    """Every role refused (401 for nobody, 403 for a role), except the roles named: `ok` or
    404 (another organisation's object)."""
    row: dict[str, str | int] = {role: 403 for role in ROLES} | {"anoniem": 401}
    for key, value in allowed.items():
        row[key.replace("_", " ")] = value
    return row


EVERYONE = dict.fromkeys(ROLES, OK)
# an object of GM9901's claim: its own organisation and the deciding one (BZK) may, the other
# municipality and an assessor of another body get 404
OWN_AND_DECIDING = {"aanvrager_eigen": OK, "aanvrager_ander": 404,
                    "beoordelaar_beslissend": OK, "beoordelaar_ander": 404}  # fmt: skip
APPLICANT = {"aanvrager_eigen": OK, "aanvrager_ander": 404}
DECIDING = {"beoordelaar_beslissend": OK, "beoordelaar_ander": 404}

# (method, path, body) -> expected status per role; {A}: the claim, {B}: its besluit, {X}: its
# attachment
ENDPOINTS: list[tuple[str, str, Any, dict[str, str | int]]] = [
    ("GET", "/v1/openapi.json", None, EVERYONE),
    ("GET", "/v1/regelsets", None, EVERYONE),
    ("GET", "/v1/regelsets/vangnet/2016.1", None, EVERYONE),
    ("GET", "/v1/health", None, EVERYONE),
    ("POST", "/v1/evaluaties", {}, EVERYONE),
    ("POST", "/v1/verbetermogelijkheden", {}, EVERYONE),
    ("POST", "/v1/aanvragen", {}, _row(aanvrager_eigen=OK, aanvrager_ander=OK)),
    ("GET", "/v1/aanvragen", None,
     _row(aanvrager_eigen=OK, aanvrager_ander=OK, beoordelaar_beslissend=OK,
          beoordelaar_ander=OK, auditor=OK)),
    ("GET", "/v1/aanvragen/{A}", None, _row(**OWN_AND_DECIDING, auditor=OK)),
    ("POST", "/v1/aanvragen/{A}/in-behandeling", {"x": 1}, _row(**DECIDING)),
    ("POST", "/v1/aanvragen/{A}/aanvullingsverzoeken", {"x": 1}, _row(**DECIDING)),
    ("POST", "/v1/aanvragen/{A}/verdagingen", {"x": 1}, _row(**DECIDING)),
    ("POST", "/v1/aanvragen/{A}/aanvullingstermijnen", {"x": 1}, _row(**DECIDING)),
    ("POST", "/v1/aanvragen/{A}/aanvullingen", {}, _row(**APPLICANT)),
    ("POST", "/v1/aanvragen/{A}/intrekking", {"x": 1}, _row(**APPLICANT)),
    ("POST", "/v1/aanvragen/{A}/besluit", {}, _row(**DECIDING)),
    ("POST", "/v1/besluiten/{B}/correcties", {}, _row(**DECIDING)),
    ("POST", "/v1/besluiten/{B}/beslissingen-op-bezwaar", {}, _row(**DECIDING)),
    ("POST", "/v1/besluiten/{B}/bezwaren", {"x": 1}, _row(**OWN_AND_DECIDING)),
    ("GET", "/v1/besluiten/{B}", None, _row(**OWN_AND_DECIDING, auditor=OK)),
    ("GET", "/v1/besluiten/{B}/brief", None, _row(**OWN_AND_DECIDING)),
    ("POST", "/v1/aanvragen/{A}/bijlagen?soort=offerte", "upload", _row(**APPLICANT)),
    ("GET", "/v1/aanvragen/{A}/bijlagen", None, _row(**OWN_AND_DECIDING, auditor=OK)),
    ("GET", "/v1/bijlagen/{X}", None, _row(**OWN_AND_DECIDING)),
    ("GET", "/v1/regelsetconcepten", None, _row(regelbeheerder=OK, auditor=OK)),
    ("POST", "/v1/regelsetconcepten", {}, _row(regelbeheerder=OK)),
    ("GET", "/v1/regelsetconcepten/{C}", None, _row(regelbeheerder=OK, auditor=OK)),
    # the draft is the table's regelbeheerder's own: approving it is refused (four eyes)
    ("POST", "/v1/regelsetconcepten/{C}/goedkeuring", None, _row(regelbeheerder=FOUR_EYES)),
    ("POST", "/v1/regelsetconcepten/{C}/afwijzing", {"x": 1}, _row(regelbeheerder=OK)),
]  # fmt: skip


def _path(world: World, template: str) -> str:
    return template.format(
        A=world.aanvraag["id"], B=world.besluit["id"], X=world.bijlage["id"], C=world.concept["id"]
    )


def _send(actor: Actor, method: str, path: str, body: Any) -> Any:
    if body == "upload":
        # the right type is checked after the role: text is refused with 415
        return actor.request(method, path, content=b"tekst", headers={"content-type": "text/plain"})
    return actor.request(method, path, json=body)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_the_role_table(world: World, role: str, endpoint: tuple[Any, ...]) -> None:
    method, template, body, expected = endpoint
    actor = world.actor(role)
    path = _path(world, template)
    r = _send(actor, method, path, body)
    want = expected[role]
    if want == FOUR_EYES:
        assert (r.status_code, r.json()["code"]) == (403, FOUR_EYES), r.text
        return
    if want == OK:
        allowed = 200 if method == "GET" else (415 if body == "upload" else 400)
        assert r.status_code == allowed, (role, method, path, r.text)
        return
    assert r.status_code == want, (role, method, path, r.text)
    assert r.headers["content-type"] == PROBLEM
    if want == 401:
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json()["code"] == "niet_aangemeld"
    elif want == 403:
        assert r.json()["code"] == "geen_toegang"
    else:
        # another organisation's object is answered exactly as an unknown id
        ids = (world.aanvraag["id"], world.besluit["id"], world.bijlage["id"])
        unknown = path
        for id_ in ids:
            unknown = unknown.replace(id_, "0" * 32)
        other = _send(actor, method, unknown, body)
        assert other.status_code == 404
        shown = r.text
        for id_ in ids:
            shown = shown.replace(id_, "0" * 32)
        assert shown == other.text


def test_the_table_covers_every_operation_of_the_service(world: World) -> None:
    """Every operation of the published document is in the table (A1's account routes have
    their own tests); and the anonymous column of the table is the document's `security`."""
    covered = {(m, re.sub(r"\{[A-Z]\}", "{}", p.split("?")[0])) for m, p, _, _ in ENDPOINTS}
    doc = openapi_document(Settings(env="test"))
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            open_ = operation["operationId"] in OPEN_OPERATIONS
            assert ({} in operation["security"]) == open_, path
            assert {"bearer": []} in operation["security"]
            assert "401" in operation["responses"]
            assert ("403" in operation["responses"]) != open_
            template = "/v1" + re.sub(r"\{\w+\}", "{}", path)
            if path.startswith(("/tokens", "/accounts", "/organisaties")):
                continue
            if template.startswith("/v1/regelsets/"):
                continue  # {schemeId}/{version}: in the table with real values
            assert (method.upper(), template) in covered, (method, path)
    open_in_table = {resource for (resource, _), rules in TABLE.items() if "anoniem" in rules}
    open_ = {"openapi", "regelsets", "health", "evaluaties", "verbetermogelijkheden"}
    assert open_in_table == open_


def test_anonymous_is_401_on_every_protected_operation(world: World) -> None:
    """Including operations other tasks add (accounts, tokens): never silently anonymous."""
    doc = openapi_document(Settings(env="test"))
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if operation["operationId"] in OPEN_OPERATIONS:
                continue
            concrete = re.sub(r"\{\w+\}", "0" * 32, path)
            r = world.client.request(method.upper(), f"/v1{concrete}")
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["WWW-Authenticate"] == "Bearer"


# --- lists are filtered in the query ----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("aanvrager eigen", {"aanvraag"}),
        ("aanvrager ander", {"andere", "basis"}),
        ("beoordelaar beslissend", {"aanvraag", "andere"}),
        ("beoordelaar ander", {"basis"}),
        ("auditor", {"aanvraag", "andere", "basis"}),
    ],
)
def test_each_role_lists_exactly_what_it_may_see(world: World, role: str, sees: set[str]) -> None:
    ids = {name: getattr(world, name)["id"] for name in ("aanvraag", "andere", "basis")}
    actor = world.actor(role)
    page = actor.get("/v1/aanvragen", params={"paginaGrootte": 1}).json()
    # the total and the pages come from the filtered query, not from filtering a page
    assert page["total"] == len(sees)
    listed = {x["id"] for x in actor.get("/v1/aanvragen").json()["items"]}
    assert listed == {ids[name] for name in sees}
    besloten = actor.get("/v1/aanvragen", params={"status": "besloten"}).json()
    assert {x["id"] for x in besloten["items"]} == ({ids["aanvraag"]} & listed)


# --- auditors see pseudonyms ------------------------------------------------------------------


def test_the_auditor_reads_pseudonymised(world: World) -> None:
    auditor, bzk = world.team.auditor, world.team.bzk
    seen = auditor.get(world.aanvraag["href"])
    full = bzk.get(world.aanvraag["href"]).json()
    assert seen.status_code == 200
    claim = seen.json()["claim"]
    # the office-holder's pseudonym is a keyed hash: the same person, the same value
    reference = claim["office_holder"]["reference"]
    assert re.fullmatch(r"PS-[0-9a-f]{16}", reference)
    assert full["claim"]["office_holder"]["reference"] == "BU-P06"
    other = auditor.get(world.andere["href"]).json()["claim"]["office_holder"]["reference"]
    assert other == reference
    # free text hidden: descriptions (in the claim and the advice), motivation, reasons
    assert {m["description"] for m in claim["measures"]} == {HIDDEN}
    assert claim["triggers"]["motivation"] == HIDDEN
    for advice in seen.json()["advices"]:
        assert {line["description"] for line in advice["decision"]["lines"]} == {HIDDEN}
    assert [h["reason"] for h in seen.json()["history"]] == [None, None, None]
    for text in (DESCRIPTION, TRIGGER, REASON, "BU-P06"):
        assert text not in seen.text
    # what an audit checks stays: amounts, outcomes, statuses, hashes
    for key in ("status", "outcome", "claimed_total_eur", "claim_sha256", "besluiten"):
        assert seen.json()[key] == full[key]
    # the besluit: no motivation; who decided is the assessor's pseudonym
    besluit = auditor.get(world.besluit["href"]).json()
    assert besluit["motivation"] is None and MOTIVATION not in json.dumps(besluit)
    assert besluit["decided_by"] == world.team.bzk.account.pseudoniem
    assert bzk.get(world.besluit["href"]).json()["motivation"] == MOTIVATION
    # an office-holder who applies himself: his name is hashed too
    basis = auditor.get(world.basis["href"]).json()["claim"]
    assert basis["applicant"]["type"] == "ambtsdrager"
    assert re.fullmatch(r"PS-[0-9a-f]{16}", basis["applicant"]["name"])
    # the published schemas still hold
    from vangnet.service.schemas import IngediendeAanvraag
    from vangnet.service.schemas_besluit import BesluitOut

    IngediendeAanvraag.model_validate(seen.json())
    BesluitOut.model_validate(besluit)


def test_the_besluit_is_decided_by_the_accounts_pseudonym(world: World) -> None:
    assert world.besluit["decided_by"] == world.team.bzk.account.pseudoniem
    assert world.besluit["differs_from_advice"] is True


# --- the audit log ----------------------------------------------------------------------------


def _entries(world: World) -> list[dict[str, Any]]:
    audit = world.client.app.state.audit  # type: ignore[attr-defined]
    engine = world.client.app.state.store.engine  # type: ignore[attr-defined]
    return [e.as_dict() for e in audit.entries(engine, limit=100_000)]


def test_every_change_is_in_the_audit_log_without_content(world: World) -> None:
    entries = _entries(world)
    actions = [e["action"] for e in entries]
    team = world.team
    by = {(e["action"], e["object_id"]): e for e in entries}
    a, b = world.aanvraag["id"], world.besluit["id"]
    assert by[("aanvraag.indienen", a)]["actor"] == team.gemeente.account.id
    assert by[("aanvraag.indienen", a)]["details"]["claim_sha256"] == world.aanvraag["claim_sha256"]
    assert (
        by[("bijlage.toevoegen", world.bijlage["id"])]["details"]["sha256"]
        == (world.bijlage["sha256"])
    )
    assert by[("aanvraag.in_behandeling_nemen", a)]["actor"] == team.bzk.account.id
    decided = by[("besluit.nemen", b)]
    assert decided["actor"] == team.bzk.account.id and decided["details"]["wijkt_af"] is True
    assert by[("besluit.afwijken_van_advies", b)]["details"] == {
        "uitkomst": "toekennen", "bedrag_cent": 1935000,
        "advies_uitkomst": "gedeeltelijk", "advies_bedrag_cent": 1685000,
    }  # fmt: skip
    assert by[("brief.maken", b)]["details"]["brief_sha256"] == world.besluit["letter"]["sha256"]
    assert actions.count("aanvraag.indienen") == 3
    text = json.dumps(entries)
    for secret in (DESCRIPTION, TRIGGER, REASON, MOTIVATION, "BU-P06", "Voorbeeld"):
        assert secret not in text
    audit = world.client.app.state.audit  # type: ignore[attr-defined]
    engine = world.client.app.state.store.engine  # type: ignore[attr-defined]
    assert audit.verify(engine).ok


def test_refusals_downloads_and_pre_checks_are_recorded(world: World) -> None:
    team = world.team
    before = len(_entries(world))
    assert team.andere_gemeente.get(world.besluit["letter"]["href"]).status_code == 404
    assert team.regelbeheerder.get("/v1/aanvragen").status_code == 403
    assert team.anoniem.get(world.aanvraag["href"]).status_code == 401
    assert team.gemeente.get(world.besluit["letter"]["href"]).status_code == 200
    claim = _p06("PRE")
    assert team.anoniem.post("/v1/evaluaties", json=claim).status_code == 200
    # pre-checks' entries are written in batches (AuditBuffer)
    world.client.app.state.audit_buffer.flush(timeout=10)  # type: ignore[attr-defined]
    new = _entries(world)[before:]
    assert [(e["action"], e["result"], e["actor"]) for e in new] == [
        ("toegang.geweigerd", "geweigerd", team.andere_gemeente.account.id),
        ("toegang.geweigerd", "geweigerd", team.regelbeheerder.account.id),
        ("toegang.geweigerd", "geweigerd", "anoniem"),
        ("brief.downloaden", "gelukt", team.gemeente.account.id),
        ("evaluatie.uitvoeren", "gelukt", "anoniem"),
    ]
    assert new[0]["object_id"] == world.besluit["id"]
    assert new[0]["details"] == {
        "bron": "brieven", "handeling": "lezen", "reden": "andere_organisatie", "status": 404,
    }  # fmt: skip
    assert new[1]["details"]["reden"] == "rol" and new[2]["details"]["reden"] == "niet_aangemeld"
    # a pre-check: who, when, the claim's hash and the outcome; nothing of the claim
    assert set(new[4]["details"]) == {"vorm", "claim_sha256", "uitkomst"}
    assert new[4]["details"]["uitkomst"] == "gedeeltelijk"
    assert DESCRIPTION not in json.dumps(new)


# --- tokens, sessions and CSRF ---------------------------------------------------------------


def test_a_bad_token_is_401_never_anonymous(api: TestClient) -> None:
    for header in ("Bearer vn_onzin", "Bearer ", "Basic dXNlcjpwdw==", "vn_zonder_schema"):
        for path in ("/v1/regelsets", "/v1/aanvragen"):
            r = api.get(path, headers={"Authorization": header})
            assert r.status_code == 401, (header, path)
            assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
            assert r.json()["code"] == "niet_aangemeld"


def test_a_revoked_token_is_refused_by_every_worker_and_after_a_restart(
    database_url: str, tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=database_url)

    def worker() -> TestClient:
        return TestClient(create_app(settings, workers=workers, validator=validator))

    with worker() as one, worker() as two:
        gm = Team(one).gemeente
        auth = gm.headers
        assert one.get("/v1/aanvragen", headers=auth).status_code == 200
        assert two.get("/v1/aanvragen", headers=auth).status_code == 200
        token = two.app.state.accounts.list_tokens(gm.account.id)[0]  # type: ignore[attr-defined]
        two.app.state.accounts.revoke_token(token.id, gm.account.id)  # type: ignore[attr-defined]
        for client in (one, two):
            r = client.get("/v1/aanvragen", headers=auth)
            assert r.status_code == 401 and "ingetrokken" in r.json()["detail"]
    with worker() as restarted:
        assert restarted.get("/v1/aanvragen", headers=auth).status_code == 401


def test_a_cookie_session_needs_its_csrf_token_to_change_anything(api: TestClient) -> None:
    team = Team(api)
    team.organisation("GM9901")
    accounts = team.accounts
    accounts.add_account("sessie-aanvrager", "GM9901", "aanvrager", "een-lang-wachtwoord")
    session = accounts.login("sessie-aanvrager", "een-lang-wachtwoord", "testclient")
    cookies = {"vangnet_sessie": session.token}
    api.cookies.update(cookies)
    try:
        assert api.get("/v1/aanvragen").status_code == 200
        claim = _p06("COOKIE")
        r = api.post("/v1/aanvragen", json=claim)
        assert r.status_code == 403 and r.json()["code"] == "csrf"
        r = api.post("/v1/aanvragen", json=claim, headers={"X-CSRF-Token": "fout"})
        assert r.status_code == 403
        r = api.post("/v1/aanvragen", json=claim, headers={"X-CSRF-Token": session.csrf_token})
        assert r.status_code == 201, r.text
        accounts.logout(session.token)
        # an ended session is signed out: anonymous, so 401 where an account is needed
        assert api.get("/v1/aanvragen").status_code == 401
    finally:
        api.cookies.clear()
    engine = create_db_engine(api.app.state.store.engine.url)  # type: ignore[attr-defined]
    try:
        with engine.connect() as c:
            reasons = c.execute(
                select(Auditregel.details).where(Auditregel.action == "toegang.geweigerd")
            ).scalars()
            assert [d["reden"] for d in reasons][:2] == ["csrf", "csrf"]
            assert c.scalar(select(func.count()).select_from(Auditregel)) > 0
    finally:
        engine.dispose()


def test_an_other_municipality_cannot_submit_for_another_owner(team: Team) -> None:
    """The owner comes from the account, never from the body: a claim names its applicant,
    but it belongs to the organisation of whoever submitted it."""
    body = copy.deepcopy(_p06("EIGENAAR"))
    mine = _created(team.andere_gemeente.post("/v1/aanvragen", json=body))
    assert team.gemeente.get(mine["href"]).status_code == 404
    assert team.andere_gemeente.get(mine["href"]).status_code == 200
    # an Idempotency-Key is per organisation: the same key elsewhere is another claim
    key = {"Idempotency-Key": "zelfde-sleutel"}
    first = _created(team.gemeente.post("/v1/aanvragen", json=body, headers=key))
    second = _created(team.andere_gemeente.post("/v1/aanvragen", json=body, headers=key))
    assert first["id"] != second["id"]


def test_every_rulesets_deciding_body_has_an_organisation(validator: Decider) -> None:
    """forms/organisaties.yaml names the organisation of every deciding body a ruleset uses:
    BZK for the minister, the applying organisation itself for an employer body."""
    bodies = {rs.spec.deciding_body for versions in validator.rulesets.values() for rs in versions}
    assert bodies == {"minister_bzk", "werkgever"}
    assert decider_for("minister_bzk", "GM9901") == "BZK"
    assert decider_for("werkgever", "GM9901") == "GM9901"
    with pytest.raises(ValueError, match=r"organisaties\.yaml"):
        decider_for("onbekend_orgaan", "GM9901")
