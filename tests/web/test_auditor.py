"""The auditor's pages: rule versions, the replay and impact report, the audit log with the
state of its chain, and a decision found by its kenmerk with its receipt and a re-run; only for
the role auditor (others get 403, in the audit log), pseudonymised, plain forms."""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.service.auth import Team
from tests.service.conftest import database_url, postgres_database  # noqa: F401 - fixtures
from tests.service.test_regelbeheer import new_basis_version
from tests.web.conftest import BROWSER
from tests.web.test_beoordelaar import P06, Browser, actions, refusals, signed_in, submit, text
from vangnet.claim import decode_json
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service.app import create_app
from vangnet.service.audit import AuditEvent
from vangnet.service.regelbeheer import Regelbeheer
from vangnet.service.settings import Settings
from vangnet.web import auditor as auditor_pages
from vangnet.workers import EngineWorkers

MOTIVATION = "Het alarm is volgens de politie nodig."
PAGES = ("/audit", "/audit/regelsets", "/audit/herberekening", "/audit/logboek", "/audit/besluiten")


@pytest.fixture
def team(client: TestClient) -> Team:
    return Team(client)


@pytest.fixture
def auditor(team: Team) -> Browser:
    return signed_in(team, "auditor", "BZK")


def decided(team: Team, claim_id: str = "P06", body: dict[str, Any] | None = None) -> str:
    """A claim of GM9901 decided by BZK's assessor through the API; the besluit's id."""
    claim = copy.deepcopy(P06) | {"claim_id": claim_id}
    href = team.gemeente.post("/v1/aanvragen", json=claim).json()["href"]
    assert team.bzk.post(f"{href}/in-behandeling").status_code == 200
    follows = {"outcome": "gedeeltelijk", "amount_eur": "16850.00"}
    r = team.bzk.post(f"{href}/besluit", json=body or follows)
    assert r.status_code == 201, r.text
    besluit_id: str = r.json()["id"]
    return besluit_id


# --- who may ------------------------------------------------------------------------------------


def test_nobody_signed_in_goes_to_the_login_page(client: TestClient) -> None:
    for url in PAGES:
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/inloggen?terug={url}"


@pytest.mark.parametrize(
    ("rol", "organisatie"), [("aanvrager", "GM9901"), ("beoordelaar", "BZK"), ("beheerder", "BZK")]
)
def test_other_roles_get_403_and_it_is_logged(team: Team, rol: str, organisatie: str) -> None:
    besluit_id = decided(team)
    person = signed_in(team, rol, organisatie)
    for url in (*PAGES, f"/audit/besluiten/{besluit_id}"):
        r = person.get(url)
        assert r.status_code == 403 and "U heeft geen toegang" in r.text, url
    assert person.post(f"/audit/besluiten/{besluit_id}/opnieuw", {}).status_code == 403
    assert person.post("/audit/herberekening", {"doelversie": "vangnet@2016.1"}).status_code == 403
    assert person.post("/audit/logboek", {}).status_code == 403
    refused = refusals(team.client)
    assert len(refused) == len(PAGES) + 4
    assert {e["details"]["bron"] for e in refused} == {"auditlog"}
    assert all(e["actor"] == person.account_id for e in refused)
    assert "replay" not in actions(team.client)


def test_forms_without_the_session_token_are_refused(team: Team, auditor: Browser) -> None:
    besluit_id = decided(team)
    r = auditor.post(f"/audit/besluiten/{besluit_id}/opnieuw", {"x": ""}, csrf=False)
    assert r.status_code == 403
    r = auditor.post("/audit/herberekening", {"doelversie": "vangnet@2016.1"}, csrf=False)
    assert r.status_code == 403
    assert "replay" not in actions(team.client)
    assert "besluit.herberekenen" not in actions(team.client)


# --- rule versions ------------------------------------------------------------------------------


def test_versions_with_validity_status_hash_and_people(team: Team, auditor: Browser) -> None:
    app: Any = team.client.app
    rulesets = app.state.validator.rulesets
    page = auditor.get("/audit/regelsets")
    assert page.status_code == 200
    for versions in rulesets.values():
        for rs in versions:
            assert rs.sha256 in page.text
            assert f'href="/regelsets/{rs.id}/{rs.version}"' in page.text
    assert "/regelsets/verschil?" in page.text or all(len(v) == 1 for v in rulesets.values())
    assert "Niet vastgelegd" in page.text  # versions published before the drafting workflow
    assert "Er zijn geen concepten" in page.text

    # a draft by one rule owner, approved by another: both as pseudonyms, never user names
    workflow = Regelbeheer(app.state.store.engine, app.state.settings, audit=app.state.audit)
    anna = team.actor("regelbeheerder", "BZK")
    bert = team.actor("regelbeheerder", "BZK")
    who = [app.state.accounts.token_identity(x.token, "testclient") for x in (anna, bert)]
    concept = workflow.draft(who[0], "2024-01-01.yaml", new_basis_version(), "Plafond omhoog.")
    workflow.approve(who[1], concept.id)
    body = text(auditor.get("/audit/regelsets").text)
    assert concept.sha256 in body and "Goedgekeurd, nog niet gepubliceerd" in body
    assert f"Opgesteld door {anna.account.pseudoniem}" in body
    assert f"Goedgekeurd door {bert.account.pseudoniem}" in body
    assert anna.account.gebruikersnaam not in body and bert.account.gebruikersnaam not in body


# --- replay and impact --------------------------------------------------------------------------


def test_the_replay_form_checks_its_fields(team: Team, auditor: Browser) -> None:
    assert auditor.get("/audit/herberekening").status_code == 200
    r = auditor.post("/audit/herberekening", {"doelversie": "onbekend@1", "van": "gisteren"})
    assert r.status_code == 400
    for name in ("doelversie", "van"):
        assert f'id="veld-{name}-fout"' in r.text and f'href="#veld-{name}"' in r.text
    r = auditor.post("/audit/herberekening", {"doelversie": "vangnet@2016.1", "van": "01-01-2016"})
    assert r.status_code == 400 and 'id="veld-tot-fout"' in r.text
    r = auditor.post(
        "/audit/herberekening",
        {"doelversie": "vangnet@2016.1", "van": "01-01-2017", "tot": "01-01-2016"},
    )
    assert r.status_code == 400 and "eindigt voor zij begint" in r.text
    assert "replay" not in actions(team.client)


def test_a_replay_report_with_its_chart_table_and_downloads(team: Team, auditor: Browser) -> None:
    decided(team, "EERSTE")
    submit(team, "TWEEDE")
    app: Any = team.client.app
    target = next(rs.key for rs in app.state.validator.rulesets["vangnet-herijking"])
    form = {"doelversie": target, "van": "01-01-2016", "tot": "31-12-2016"}
    r = auditor.post("/audit/herberekening", form)
    assert r.status_code == 200, r.text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in r.text and 'role="img"' in r.text
    assert "<title" in r.text and "<desc" in r.text and "<?xml" not in r.text
    body = text(r.text)
    assert "EERSTE" in body and "TWEEDE" in body and "Gemeentegrootte" in body
    assert "Aanvragen 2" in body
    entries = [e for e in _entries(team.client) if e["action"] == "replay"]
    assert len(entries) == 1 and entries[0]["actor"] == auditor.account_id
    details = entries[0]["details"]
    assert details["doelversie"] == target and details["aanvragen"] == 2
    assert details["periode"] == ["2016-01-01", "2016-12-31"]
    assert details["resultaten_sha256"] in r.text

    jsonl = auditor.post("/audit/herberekening/bestand", form | {"vorm": "jsonl"})
    assert jsonl.status_code == 200 and "attachment" in jsonl.headers["content-disposition"]
    lines = [json.loads(x) for x in jsonl.text.splitlines()]
    assert [x["type"] for x in lines] == ["claim", "claim", "summary"]
    assert lines[-1]["digest_sha256"] == details["resultaten_sha256"]
    xlsx = auditor.post("/audit/herberekening/bestand", form | {"vorm": "xlsx"})
    assert xlsx.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).sheetnames
    bad = auditor.post("/audit/herberekening/bestand", form | {"vorm": "exe"})
    assert bad.status_code == 400


# --- the audit log ------------------------------------------------------------------------------


def _entries(client: TestClient) -> list[dict[str, Any]]:
    app: Any = client.app
    return [e.as_dict() for e in app.state.audit.entries(app.state.store.engine, limit=5000)]


def test_the_audit_log_newest_first_paged_with_its_verification(
    team: Team, auditor: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = team.client.app
    for n in range(60):
        event = AuditEvent(actor="systeem", action=f"test.stap{n}", result="gelukt", origin="cli")
        app.state.audit.record(app.state.store.engine, event)
    head = app.state.audit.anchor(app.state.store.engine)
    page = auditor.get("/audit/logboek")
    assert page.status_code == 200
    body = text(page.text)
    assert "nog nooit gecontroleerd" in body and "De keten is heel" not in body
    assert body.index("test.stap59") < body.index("test.stap58")
    assert "test.stap0 " not in body and "Volgende pagina" in body
    assert "test.stap0 " in text(auditor.get("/audit/logboek?pagina=2").text)
    # a pseudonym, never a user name, for a person
    account = app.state.accounts.account(auditor.account_id)
    assert account.gebruikersnaam not in body

    # verifying is a button: the page shows its outcome, what it covered, when and by whom
    r = auditor.post("/audit/logboek", {"anker_regel": "", "anker_hash": ""})
    assert r.status_code == 303 and r.headers["location"] == "/audit/logboek#controle"
    body = text(auditor.get("/audit/logboek").text)
    assert "De keten is heel" in body and f"tot en met regel {head.seq}" in body
    assert "Zonder anker" in body and "Gecontroleerd op" in body and "bijgekomen" not in body
    assert f"door {account.pseudoniem}:" in body
    # the outcome is an entry of the log itself, so every web process (and a restart) shows it
    (entry,) = app.state.audit.entries(app.state.store.engine, start=head.seq + 1, limit=1)
    assert (entry.action, entry.object_id, entry.actor) == (
        "auditlog.verifieren",
        "keten",
        auditor.account_id,
    )
    assert entry.details["heel"] is True and entry.details["kop"][0] == head.seq
    del app.state.audit_checks
    assert "De keten is heel" in auditor.get("/audit/logboek").text
    event = AuditEvent(actor="systeem", action="test.later", result="gelukt", origin="cli")
    app.state.audit.record(app.state.store.engine, event)
    assert "er 1 regel bijgekomen" in text(auditor.get("/audit/logboek").text)

    # a page view never reads the whole log: it shows the last verification without one
    def whole_log(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the page read the whole log")

    with monkeypatch.context() as m:
        m.setattr(type(app.state.audit), "verify", whole_log)
        assert "De keten is heel" in auditor.get("/audit/logboek").text

    # with the anchor exported now: intact; with an anchor beyond the head: cut off
    r = auditor.post("/audit/logboek", {"anker_regel": str(head.seq), "anker_hash": head.hash})
    assert r.status_code == 303
    assert "Het anker (regel" in text(auditor.get("/audit/logboek").text)
    r = auditor.post("/audit/logboek", {"anker_regel": str(head.seq + 5), "anker_hash": "ab" * 32})
    assert r.status_code == 303
    cut = auditor.get("/audit/logboek")
    assert cut.status_code == 200 and "De keten is NIET heel" in cut.text
    bad = auditor.post("/audit/logboek", {"anker_regel": "veel", "anker_hash": "kort"})
    assert bad.status_code == 400
    assert 'id="veld-anker_regel-fout"' in bad.text and 'id="veld-anker_hash-fout"' in bad.text
    # without the session's token nothing is verified
    assert auditor.post("/audit/logboek", {"anker_regel": ""}, csrf=False).status_code == 403
    assert "verifieren" not in json.dumps(refusals(team.client))


# --- a decision ---------------------------------------------------------------------------------


def test_the_decision_page_shows_its_log_entries_a_page_at_a_time(
    team: Team, auditor: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    besluit_id = decided(team)
    app: Any = team.client.app
    monkeypatch.setattr(auditor_pages, "DECISION_ENTRIES", 3)
    for n in range(5):  # five letter downloads: entries about the besluit
        app.state.audit.record(
            app.state.store.engine,
            AuditEvent(actor="systeem", action=f"test.download{n}", result="gelukt",
                       origin="cli", object_type="besluit", object_id=besluit_id),
        )  # fmt: skip
    first = auditor.get(f"/audit/besluiten/{besluit_id}").text
    body = text(first)
    assert "aanvraag.indienen" in body and "test.download0" not in body
    found = re.search(rf'href="/audit/besluiten/{besluit_id}\?na=(\d+)#logboek"', first)
    assert found, "no link to the next entries"
    seen = set(re.findall(r"test\.download\d", body))
    after = found[1]
    while True:
        page = auditor.get(f"/audit/besluiten/{besluit_id}?na={after}").text
        assert f"U ziet de regels na regel {after}" in text(page)
        found = re.search(r'\?na=(\d+)#logboek"', page)
        new = set(re.findall(r"test\.download\d", text(page)))
        assert not new & seen  # no entry twice
        seen |= new
        if found is None:
            break
        after = found[1]
    assert seen == {f"test.download{n}" for n in range(5)}
    beyond = auditor.get(f"/audit/besluiten/{besluit_id}?na=999999")
    assert beyond.status_code == 200 and "geen regels over deze aanvraag" in beyond.text
    assert auditor.get(f"/audit/besluiten/{besluit_id}?na=veel").status_code == 200


def test_find_a_decision_by_kenmerk_read_its_receipt_and_entries_and_rerun_it(
    team: Team, auditor: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    besluit_id = decided(
        team, body={"outcome": "toekennen", "amount_eur": "19350.00", "motivation": MOTIVATION}
    )
    other = decided(team, claim_id="P08")  # another decided claim
    # neither the search nor the decision page reads every claim or the whole log
    app: Any = team.client.app

    def everything(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read everything")

    monkeypatch.setattr(app.state.store, "page", everything)
    monkeypatch.setattr(app.state.audit, "entries", everything)
    assert auditor.get("/audit/besluiten").status_code == 200
    r = auditor.get("/audit/besluiten?zoek=BZK-vangnet-P06-B1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/audit/besluiten/{besluit_id}"
    r = auditor.get(f"/audit/besluiten?zoek={besluit_id}", follow_redirects=False)
    assert r.headers["location"] == f"/audit/besluiten/{besluit_id}"
    r = auditor.get("/audit/besluiten?zoek=BZK-vangnet-P08-B1", follow_redirects=False)
    assert r.headers["location"] == f"/audit/besluiten/{other}"
    for wrong in ("BZK-vangnet-P06-B2", "BZK-vangnet-P07-B1", "iets", "0" * 32):
        r = auditor.get(f"/audit/besluiten?zoek={wrong}")
        assert r.status_code == 404 and 'id="veld-zoek-fout"' in r.text, wrong

    page = auditor.get(f"/audit/besluiten/{besluit_id}")
    assert page.status_code == 200
    body = text(page.text)
    besluit = team.bzk.get(f"/v1/besluiten/{besluit_id}").json()
    receipt = besluit["advice"]["decision"]["receipt"]
    for digest in ("ruleset_sha256", "catalogue_sha256", "claim_sha256"):
        assert receipt[digest] in body
    assert receipt["engine"] in body and "BZK-vangnet-P06-B1" in body
    assert "wijkt af van het advies" in body and besluit["letter"]["sha256"] in body
    # pseudonymised: no office-holder reference, no motivation
    assert "BU-P06" not in page.text and MOTIVATION not in page.text
    assert re.search(r"schuilnaam PS-[0-9a-f]{16}", body)
    # its entries in the audit log
    for action in ("aanvraag.indienen", "besluit.nemen", "besluit.afwijken_van_advies"):
        assert action in body
    monkeypatch.undo()

    r = auditor.post(f"/audit/besluiten/{besluit_id}/opnieuw", {})
    assert r.status_code == 200
    assert "Opnieuw berekend: gelijk" in r.text
    logged = [e for e in _entries(team.client) if e["action"] == "besluit.herberekenen"]
    assert len(logged) == 1 and logged[0]["details"] == {"gelijk": True, "pad": None}
    assert logged[0]["object_id"] == besluit_id

    assert auditor.get("/audit/besluiten/" + "0" * 32).status_code == 404
    assert auditor.get("/audit/besluiten/geen-id").status_code == 404


def test_a_rerun_names_the_first_path_that_differs(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker function itself, in this process with an engine of its own: a stored advice
    that was changed is caught at the first changed path."""
    from vangnet import workers

    besluit_id = decided(team)
    app: Any = team.client.app
    stored = app.state.store.advice_of(besluit_id)
    monkeypatch.setattr(workers, "_decider", Decider(prime=False))
    args = (stored.ruleset_id, stored.ruleset_version, stored.catalogue_sha256)
    assert auditor_pages.rerun_in_worker(stored.claim_json, stored.decision_json, *args) is None
    changed = decode_json(stored.decision_json)
    changed["lines"][1]["eligible_eur"] = "1.00"
    difference = auditor_pages.rerun_in_worker(
        stored.claim_json, dumps(changed).encode("utf-8"), *args
    )
    assert difference is not None and difference[0] == "lines.1.eligible_eur"
    assert difference[1] == '"1.00"'
    unknown = auditor_pages.rerun_in_worker(
        stored.claim_json, stored.decision_json, args[0], args[1], "0" * 64
    )
    assert unknown is not None and unknown[0] == "receipt.catalogue_sha256"


# --- the whole journey, on SQLite and on PostgreSQL -----------------------------------------------


@pytest.fixture
def any_db(
    database_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    workers: EngineWorkers,
    validator: Decider,
) -> Iterator[TestClient]:
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=database_url)
    app = create_app(settings, workers=workers, validator=validator)
    with TestClient(app, base_url="https://testserver", headers=BROWSER) as c:
        yield c


def test_assessor_and_auditor_journey(any_db: TestClient) -> None:
    """An assessor asks for information, the applicant supplements, the assessor differs from
    the advice with a motivation; an auditor finds the decision, re-runs it, reads its entries
    and finds the chain of the audit log intact."""
    team = Team(any_db)
    assessor = signed_in(team, "beoordelaar", "BZK")
    aanvraag_id = submit(team)
    assert assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {}).status_code == 303
    r = assessor.post(f"/beoordelen/{aanvraag_id}/aanvulling", {"reden": "Stuur de offerte."})
    assert r.status_code == 303
    supplemented = copy.deepcopy(P06)
    r = team.gemeente.post(f"/v1/aanvragen/{aanvraag_id}/aanvullingen", json=supplemented)
    assert r.status_code == 200, r.text
    assert "Aangevuld" in assessor.get("/beoordelen").text
    decision = {"keuze": "afwijken", "uitkomst": "toekennen", "bedrag": "19350,00",
                "motivering": MOTIVATION, "actie": "vastleggen"}  # fmt: skip
    assert assessor.post(f"/beoordelen/{aanvraag_id}/besluit", decision).status_code == 303

    inspector = signed_in(team, "auditor", "BZK")
    r = inspector.get("/audit/besluiten?zoek=BZK-vangnet-P06-B1", follow_redirects=False)
    assert r.status_code == 303
    r = inspector.get(r.headers["location"])
    assert r.status_code == 200 and "Opnieuw berekenen" in r.text
    besluit_id = str(r.url).rsplit("/", 1)[1]
    r = inspector.post(f"/audit/besluiten/{besluit_id}/opnieuw", {})
    assert "Opnieuw berekend: gelijk" in r.text
    body = text(r.text)
    for action in (
        "aanvraag.aanvulling_vragen",
        "aanvraag.aanvullen",
        "besluit.afwijken_van_advies",
    ):
        assert action in body
    assert MOTIVATION not in r.text and "Stuur de offerte." not in r.text
    assert inspector.post("/audit/logboek", {"anker_regel": ""}).status_code == 303
    log = inspector.get("/audit/logboek")
    assert "De keten is heel" in log.text and "besluit.herberekenen" in log.text
