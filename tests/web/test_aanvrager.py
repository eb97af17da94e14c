"""The finance officer's pages with plain form posts and uploads (what a browser without
JavaScript sends): the list, submitting by form and by Excel, attachments, the claim page,
answering an information request, withdrawing, the decisions and an objection. The assessor's
side is played through the API (`tests.service.auth.Team`)."""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Team
from vangnet.claim import parse_claim
from vangnet.excel import claim_data, fill_intake, load_forms
from vangnet.service.models import Auditregel
from vangnet.web.claimform import read_form
from vangnet.web.render import PAGE_CSP

PASSWORD = "een lang genoeg wachtwoord"  # noqa: S105 - a test account
P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
PDF = b"%PDF-1.4\n% een kleine test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# a vangnet claim of a council member with two lines; the second is not in the catalogue
GOOD = {
    "actie": "indienen",
    "regels": "2",
    "claim_id": "WEB-1",
    "reference_date": "01-03-2016",
    "applicant.type": "gemeente",
    "applicant.name": "Gemeente Havendam",
    "office_holder.role": "raadslid",
    "office_holder.reference": "RL-A",
    "municipality.name": "Havendam",
    "municipality.inhabitants": "2000",
    "threat.status": "expliciet",
    "threat.assessed_by": "politie",
    "measures[0].code": "ALARM_PAC",
    "measures[0].description": "Alarm met doormelding",
    "measures[0].quantity": "1",
    "measures[0].unit_price_eur": "2600",
    "measures[0].advised": "ja",
    "measures[1].code": "niet-in-catalogus",
    "measures[1].description": "Extra hang- en sluitwerk",
    "measures[1].quantity": "2",
    "measures[1].unit_price_eur": "250,50",
}


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m[1]


def _error_of(html: str, field_id: str) -> str:
    m = re.search(rf'id="{field_id}-fout">(.*?)</div>', html, re.S)
    assert m, f"no error next to {field_id}"
    return re.sub(r"<[^>]+>", "", m[1]).strip().removeprefix("Fout: ")


def _text(html: str) -> str:
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@dataclass
class Officer:
    """A signed-in finance officer of GM9901 on the client, with the API's team beside."""

    client: TestClient
    team: Team
    csrf: str

    def form(self, **extra: str) -> dict[str, str]:
        return {"csrf_token": self.csrf, **extra}

    def submit(self, data: dict[str, str] | None = None) -> str:
        """A claim submitted through the form; its id."""
        page = self.client.get("/aanvragen/nieuw").text
        posted = {**(data or GOOD), "csrf_token": self.csrf, "sleutel": _hidden(page, "sleutel")}
        r = self.client.post("/aanvragen/nieuw", data=posted, follow_redirects=False)
        assert r.status_code == 303, r.text[:3000]
        m = re.fullmatch(r"/aanvragen/([0-9a-f]{32})\?melding=ingediend", r.headers["location"])
        assert m, r.headers["location"]
        return m[1]

    def audit(self, action: str) -> list[Auditregel]:
        engine = self.client.app.state.store.engine  # type: ignore[attr-defined]
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            return list(session.scalars(select(Auditregel).where(Auditregel.action == action)))


def login(client: TestClient, name: str) -> str:
    form = client.get("/inloggen?terug=/aanvragen").text
    data = {
        "formulier_token": _hidden(form, "formulier_token"),
        "terug": "/aanvragen",
        "gebruikersnaam": name,
        "wachtwoord": PASSWORD,
    }
    r = client.post("/inloggen", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    return _hidden(client.get("/account").text, "csrf_token")


@pytest.fixture
def officer(client: TestClient) -> Iterator[Officer]:
    team = Team(client)
    team.organisation("GM9901")
    team.accounts.add_account("fin-havendam", "GM9901", "aanvrager", PASSWORD)
    yield Officer(client, team, login(client, "fin-havendam"))


def _advice(officer: Officer, aanvraag_id: str) -> dict[str, Any]:
    r = officer.team.bzk.get(f"/v1/aanvragen/{aanvraag_id}")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _ask_information(officer: Officer, aanvraag_id: str, reason: str) -> None:
    bzk = officer.team.bzk
    assert bzk.post(f"/v1/aanvragen/{aanvraag_id}/in-behandeling").status_code == 200
    r = bzk.post(f"/v1/aanvragen/{aanvraag_id}/aanvullingsverzoeken", json={"reason": reason})
    assert r.status_code == 200, r.text


def _workbook(data: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fill_intake(parse_claim(data), out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- who may -----------------------------------------------------------------------------------


def test_the_pages_need_a_signed_in_finance_officer(client: TestClient) -> None:
    for path in ("/aanvragen", "/aanvragen/nieuw", "/aanvragen/nieuw/excel"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/inloggen?terug={path}"
    team = Team(client)
    team.organisation("BZK")
    team.accounts.add_account("auditor-1", "BZK", "auditor", PASSWORD)
    login(client, "auditor-1")
    r = client.get("/aanvragen/nieuw")
    assert r.status_code == 403 and "geen toegang" in r.text


def test_an_assessor_is_sent_to_the_queue(client: TestClient) -> None:
    team = Team(client)
    team.organisation("BZK")
    team.accounts.add_account("beoordelaar-1", "BZK", "beoordelaar", PASSWORD)
    login(client, "beoordelaar-1")
    r = client.get("/aanvragen", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/beoordelen"


def test_a_claim_of_another_organisation_is_the_404_page_and_audited(officer: Officer) -> None:
    api = officer.team.andere_gemeente.post("/v1/aanvragen", json=copy.deepcopy(P06))
    assert api.status_code == 201, api.text
    other = api.json()["id"]
    before = len(officer.audit("toegang.geweigerd"))
    for path in (
        f"/aanvragen/{other}",
        f"/aanvragen/{other}/aanvullen",
        f"/aanvragen/{other}/intrekken",
        f"/aanvragen/{other}/formulier.xlsx",
    ):
        r = officer.client.get(path)
        assert r.status_code == 404, path
        assert "Deze pagina bestaat niet" in r.text
    r = officer.client.post(f"/aanvragen/{other}/intrekken", data=officer.form())
    assert r.status_code == 404
    assert len(officer.audit("toegang.geweigerd")) == before + 5
    # an id that does not exist is the same page (and no refusal: nothing was there)
    assert officer.client.get(f"/aanvragen/{'0' * 32}").status_code == 404
    assert officer.client.get("/aanvragen/geen-id").status_code == 404
    assert len(officer.audit("toegang.geweigerd")) == before + 5
    # and the list holds only the organisation's own claims
    assert other not in officer.client.get("/aanvragen").text


def test_a_form_without_the_session_token_is_refused(officer: Officer) -> None:
    data = {k: v for k, v in GOOD.items()}
    r = officer.client.post("/aanvragen/nieuw", data=data)
    assert r.status_code == 403
    files = {"bestand": ("a.xlsx", b"x", XLSX)}
    r = officer.client.post("/aanvragen/nieuw/excel", files=files, data={"sleutel": "x" * 20})
    assert r.status_code == 403
    aanvraag_id = officer.submit()
    r = officer.client.post(f"/aanvragen/{aanvraag_id}/intrekken", data={"toelichting": ""})
    assert r.status_code == 403
    r = officer.client.post(
        f"/aanvragen/{aanvraag_id}/bijlagen", files={"bestand": ("a.pdf", PDF, "application/pdf")}
    )
    assert r.status_code == 403
    assert "Ingediend" in _text(officer.client.get(f"/aanvragen/{aanvraag_id}").text)


# --- submitting ----------------------------------------------------------------------------------


def test_a_claim_page_seen_again_runs_the_engine_no_more(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterfactuals of a claim page are kept in the process by the claim's, the
    ruleset's and the catalogue's sha256: a second view (or another claim with the same
    canonical claim) costs no engine run; the cache is bounded."""
    from vangnet.web import aanvrager
    from vangnet.web.worker import ResultCache

    monkeypatch.setattr(aanvrager, "COUNTERFACTUALS", ResultCache(2))
    workers: Any = officer.client.app.state.workers  # type: ignore[attr-defined]
    runs: list[Any] = []
    arun = workers.arun

    async def counted(fn: Any, *args: Any) -> Any:
        runs.append(fn)
        return await arun(fn, *args)

    monkeypatch.setattr(workers, "arun", counted)
    aanvraag_id = officer.submit()
    runs.clear()  # the submission's own evaluation
    for _ in range(3):
        text = _text(officer.client.get(f"/aanvragen/{aanvraag_id}").text)
        assert "Wat zou de uitkomst veranderen?" in text
    assert runs == [aanvrager.precheck_in_worker]
    assert len(aanvrager.COUNTERFACTUALS) == 1
    # another claim is another key; the oldest goes once the cache is full
    for n in (2, 3):
        other = officer.submit({**GOOD, "claim_id": f"WEB-{n}"})
        runs.clear()
        assert "Wat zou de uitkomst veranderen?" in officer.client.get(f"/aanvragen/{other}").text
        assert runs == [aanvrager.precheck_in_worker]
    assert len(aanvrager.COUNTERFACTUALS) == 2
    runs.clear()
    officer.client.get(f"/aanvragen/{aanvraag_id}")
    assert runs == [aanvrager.precheck_in_worker]


def test_the_result_cache_keeps_the_most_recently_used() -> None:
    from vangnet.web.worker import ResultCache

    cache = ResultCache(2)
    cache.put("a", {"n": 1})
    cache.put("b", {"n": 2})
    assert cache.get("a") == {"n": 1}  # a is now the most recent
    cache.put("c", {"n": 3})
    assert cache.get("b") is None and cache.get("a") == {"n": 1} and len(cache) == 2
    with pytest.raises(ValueError, match="size"):
        ResultCache(0)


def test_submit_through_the_form_then_the_claim_page_and_the_list(officer: Officer) -> None:
    page = officer.client.get("/aanvragen/nieuw")
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == PAGE_CSP
    # the applicant comes from the account's organisation
    assert 'value="Havendam (test)"' in page.text
    aanvraag_id = officer.submit()
    r = officer.client.get(f"/aanvragen/{aanvraag_id}?melding=ingediend")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Aanvraag WEB-1" in text and "Uw aanvraag is ingediend" in text
    assert "Ingediend" in text and "1 maart 2016" in text
    assert "Advies van vangnet" in text and "€ 3.101,00" in text
    for rule in ("VN-AANVRAGER", "VN-DOELGROEP", "VN-DREIGING"):
        assert f"regel {rule}" in text
    assert "Inbraakalarm met doormelding" in text  # the neutral calculation is at hand
    assert "Wat zou de uitkomst veranderen?" in text
    assert "De beoordelaar heeft nog niet om informatie gevraagd." in text
    # when the besluit comes at the latest: eight weeks after receipt (termijnen.yaml)
    assert "Besluit uiterlijk" in text and "8 weken na ontvangst" in text
    # the server set the owner: the assessor of BZK sees it, the other municipality does not
    stored = _advice(officer, aanvraag_id)
    assert stored["status"] == "ingediend" and stored["claim"]["applicant"]["name"] == (
        "Gemeente Havendam"
    )
    assert officer.team.andere_gemeente.get(f"/v1/aanvragen/{aanvraag_id}").status_code == 404
    listed = officer.client.get("/aanvragen").text
    assert f'href="/aanvragen/{aanvraag_id}"' in listed and "1 aanvraag" in _text(listed)
    assert len(officer.audit("aanvraag.indienen")) == 1


def test_submitting_twice_with_one_form_stores_one_claim(officer: Officer) -> None:
    page = officer.client.get("/aanvragen/nieuw").text
    data = {**GOOD, "csrf_token": officer.csrf, "sleutel": _hidden(page, "sleutel")}
    first = officer.client.post("/aanvragen/nieuw", data=data, follow_redirects=False)
    second = officer.client.post("/aanvragen/nieuw", data=data, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    changed = {**data, "measures[0].quantity": "2"}
    r = officer.client.post("/aanvragen/nieuw", data=changed)
    assert r.status_code == 400 and "al eens ingediend" in r.text
    assert "1 aanvraag" in _text(officer.client.get("/aanvragen").text)


def test_validation_errors_are_next_to_their_fields(officer: Officer) -> None:
    page = officer.client.get("/aanvragen/nieuw").text
    data = {
        **GOOD,
        "csrf_token": officer.csrf,
        "sleutel": _hidden(page, "sleutel"),
        "municipality.inhabitants": "veel",
        "threat.status": "",
        "measures[0].unit_price_eur": "-5",
    }
    r = officer.client.post("/aanvragen/nieuw", data=data)
    assert r.status_code == 400
    html = r.text
    assert "<title>Fout: Nieuwe aanvraag" in html
    assert _error_of(html, "veld-municipality-inhabitants").startswith(
        "Aantal inwoners moet een heel getal zijn"
    )
    assert _error_of(html, "veld-threat-status").startswith("Soort dreiging is leeg")
    assert "0 of meer" in _error_of(html, "veld-measures-0-unit-price-eur")
    assert 'href="#veld-threat-status"' in html
    assert 'value="veel"' in html and _hidden(html, "sleutel") == data["sleutel"]
    # a simulation cannot be submitted: its problem is next to the scheme
    sim = {**GOOD, "csrf_token": officer.csrf, "scheme": "vangnet-herijking"}
    r = officer.client.post("/aanvragen/nieuw", data=sim)
    assert r.status_code == 400
    assert "is een simulatie" in _error_of(r.text, "veld-scheme")
    assert "Uw organisatie heeft nog geen aanvragen" in _text(officer.client.get("/aanvragen").text)


def test_a_line_is_added_without_javascript(officer: Officer) -> None:
    data = {**GOOD, "csrf_token": officer.csrf, "actie": "regel-toevoegen"}
    r = officer.client.post("/aanvragen/nieuw", data=data)
    assert r.status_code == 200
    assert 'name="measures[2].code"' in r.text and 'id="veld-measures-2-code"' in r.text
    assert re.search(r'id="veld-measures-2-code"[^>]*autofocus', r.text)
    assert 'value="250,50"' in r.text and "vn-error-summary" not in r.text


def test_submit_through_excel(officer: Officer) -> None:
    page = officer.client.get("/aanvragen/nieuw/excel").text
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    key = _hidden(page, "sleutel")
    content = _workbook(P06)
    files = {"bestand": ("aanvraag van wethouder X.xlsx", content, XLSX)}
    data = {"csrf_token": officer.csrf, "sleutel": key}
    r = officer.client.post(
        "/aanvragen/nieuw/excel", files=files, data=data, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:3000]
    aanvraag_id = r.headers["location"].split("/")[2].split("?")[0]
    assert _advice(officer, aanvraag_id)["claim_sha256"]
    text = _text(officer.client.get(r.headers["location"]).text)
    assert "Uw aanvraag is ingediend" in text


def test_excel_errors_name_the_sheet_and_the_cell(officer: Officer) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(_workbook(P06)))
    layout = load_forms().current
    price = next(c for c in layout.measures_sheet.columns if c.path == "unit_price_eur")
    sheet = workbook[layout.measures_sheet.title]
    cell = f"{price.column}{layout.measures_sheet.first_row}"
    sheet[cell] = "duur"
    out = io.BytesIO()
    workbook.save(out)
    data = {"csrf_token": officer.csrf, "sleutel": "s" * 20}
    files = {"bestand": ("a.xlsx", out.getvalue(), XLSX)}
    r = officer.client.post("/aanvragen/nieuw/excel", files=files, data=data)
    assert r.status_code == 400
    text = _text(r.text)
    assert f"Blad {layout.measures_sheet.title}, cel {cell}:" in text
    assert "Het formulier kan niet worden gelezen" in _error_of(r.text, "veld-bestand")
    assert 'href="#veld-bestand"' in r.text
    # not a workbook at all, and no file
    files = {"bestand": ("a.xlsx", b"dit is geen excel", XLSX)}
    r = officer.client.post("/aanvragen/nieuw/excel", files=files, data=data)
    assert r.status_code == 400 and _error_of(r.text, "veld-bestand")
    files = {"bestand": ("", b"", "application/octet-stream")}
    r = officer.client.post("/aanvragen/nieuw/excel", files=files, data=data)
    assert r.status_code == 400
    assert _error_of(r.text, "veld-bestand").startswith("Kies het ingevulde Excel-formulier")
    assert "Uw organisatie heeft nog geen aanvragen" in _text(officer.client.get("/aanvragen").text)


def test_the_empty_intake_form_downloads(officer: Officer) -> None:
    r = officer.client.get("/aanvragen/intakeformulier.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert r.content[:2] == b"PK"


# --- the list ------------------------------------------------------------------------------------


def test_the_list_is_paged_newest_first_with_a_status_filter(officer: Officer) -> None:
    from vangnet.web import aanvrager

    ids = [officer.submit({**GOOD, "claim_id": f"WEB-{n}"}) for n in range(3)]
    old_size = aanvrager.PAGE_SIZE
    aanvrager.PAGE_SIZE = 2
    try:
        html = officer.client.get("/aanvragen").text
        assert html.index(ids[2]) < html.index(ids[1]) and ids[0] not in html
        assert "Pagina 1 van 2" in _text(html) and 'href="/aanvragen?pagina=2"' in html
        html = officer.client.get("/aanvragen?pagina=2").text
        assert ids[0] in html and "Vorige pagina" in html
    finally:
        aanvrager.PAGE_SIZE = old_size
    officer.client.post(f"/aanvragen/{ids[1]}/intrekken", data=officer.form())
    html = officer.client.get("/aanvragen?status=ingetrokken").text
    assert ids[1] in html and ids[0] not in html and ids[2] not in html
    r = officer.client.get("/aanvragen?status=weg")
    assert (
        r.status_code == 400 and _error_of(r.text, "veld-status") == "Kies een status uit de lijst."
    )


# --- attachments ---------------------------------------------------------------------------------


def test_attachments_are_added_listed_and_downloaded(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    url = f"/aanvragen/{aanvraag_id}/bijlagen"
    files = {"bestand": ("offerte Jansen.pdf", PDF, "application/pdf")}
    r = officer.client.post(
        url, data=officer.form(soort="offerte"), files=files, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?melding=bijlage")
    html = officer.client.get(r.headers["location"]).text
    assert "De bijlage is toegevoegd." in html and "Offerte" in html and "Jansen" not in html
    link = re.search(rf'href="({url}/[0-9a-f]{{32}})"', html)
    assert link
    r = officer.client.get(link[1])
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert len(officer.audit("bijlage.toevoegen")) == 1
    assert len(officer.audit("bijlage.downloaden")) == 1
    # the type is the content's: a PNG sent as PDF is a PNG
    files = {"bestand": ("foto.pdf", PNG, "application/pdf")}
    r = officer.client.post(url, data=officer.form(soort="overig"), files=files)
    assert "PNG-afbeelding" in officer.client.get(f"/aanvragen/{aanvraag_id}").text
    # the same bytes again: nothing twice; as another kind: refused next to the field
    files = {"bestand": ("x.pdf", PDF, "application/pdf")}
    r = officer.client.post(
        url, data=officer.form(soort="offerte"), files=files, follow_redirects=False
    )
    assert r.headers["location"].endswith("?melding=bijlage-bestond")
    r = officer.client.post(url, data=officer.form(soort="factuur"), files=files)
    assert r.status_code == 409 and "als offerte" in _error_of(r.text, "veld-soort")


def test_attachment_errors_are_next_to_their_fields(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    url = f"/aanvragen/{aanvraag_id}/bijlagen"
    files = {"bestand": ("a.txt", b"gewone tekst", "text/plain")}
    r = officer.client.post(url, data=officer.form(), files=files)
    assert r.status_code == 400
    assert _error_of(r.text, "veld-soort") == "Kies wat voor bijlage het is."
    assert "geen PDF, PNG of JPEG" in _error_of(r.text, "veld-bestand")
    files = {"bestand": ("", b"", "application/octet-stream")}
    r = officer.client.post(url, data=officer.form(soort="factuur"), files=files)
    assert r.status_code == 400 and _error_of(r.text, "veld-bestand").startswith("Kies een bestand")
    big = {"bestand": ("groot.pdf", b"%PDF-" + b"0" * 10_000_000, "application/pdf")}
    r = officer.client.post(url, data=officer.form(soort="factuur"), files=big)
    assert r.status_code == 400 and "groter dan 10 MB" in _error_of(r.text, "veld-bestand")
    assert "Er zijn nog geen bijlagen." in _text(r.text)


# --- information requests, supplements, withdrawal ---------------------------------------------


def test_an_information_request_is_answered_through_the_form(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    reason = "Stuur de offerte van het hang- en sluitwerk mee."
    _ask_information(officer, aanvraag_id, reason)
    html = officer.client.get(f"/aanvragen/{aanvraag_id}").text
    text = _text(html)
    assert "De beoordelaar vraagt om informatie" in text and reason in text
    assert "Aanvulling gevraagd" in text and "nog niet aangevuld" in text
    # the last day to supplement (the letters' term from today), in words
    due = officer.team.bzk.get(f"/v1/aanvragen/{aanvraag_id}").json()["history"][-1]["due_on"]
    assert due is not None and "Vul de aanvraag aan uiterlijk op" in text
    assert "Besluit uiterlijk Nog niet bekend: de beoordelaar wacht op uw aanvulling" in text
    form = officer.client.get(f"/aanvragen/{aanvraag_id}/aanvullen").text
    assert "Vul aan uiterlijk op" in _text(form)
    # the stored claim, back in the form
    assert 'value="250,50"' in form and 'value="Gemeente Havendam"' in form
    assert reason in form
    data = {**GOOD, "csrf_token": officer.csrf, "measures[1].unit_price_eur": "200"}
    r = officer.client.post(
        f"/aanvragen/{aanvraag_id}/aanvullen", data=data, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?melding=aangevuld")
    stored = _advice(officer, aanvraag_id)
    assert stored["status"] == "aangevuld" and stored["claim_version"] == 2
    text = _text(officer.client.get(r.headers["location"]).text)
    assert "Uw aanvulling is ontvangen" in text and "aangevuld op" in text
    # once answered, there is nothing to answer
    r = officer.client.post(f"/aanvragen/{aanvraag_id}/aanvullen", data=data)
    assert r.status_code == 409
    assert officer.client.get(f"/aanvragen/{aanvraag_id}/aanvullen").status_code == 409


def test_a_supplement_with_errors_shows_them_next_to_the_fields(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    _ask_information(officer, aanvraag_id, "Het aantal inwoners klopt niet.")
    data = {**GOOD, "csrf_token": officer.csrf, "municipality.inhabitants": "veel"}
    r = officer.client.post(f"/aanvragen/{aanvraag_id}/aanvullen", data=data)
    assert r.status_code == 400 and _error_of(r.text, "veld-municipality-inhabitants")
    assert "Het aantal inwoners klopt niet." in r.text
    assert _advice(officer, aanvraag_id)["claim_version"] == 1


def test_an_information_request_is_answered_through_excel(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    _ask_information(officer, aanvraag_id, "Stuur het formulier opnieuw.")
    r = officer.client.get(f"/aanvragen/{aanvraag_id}/formulier.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    files = {"bestand": ("terug.xlsx", r.content, XLSX)}
    r = officer.client.post(
        f"/aanvragen/{aanvraag_id}/aanvullen/excel",
        data=officer.form(),
        files=files,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:3000]
    assert _advice(officer, aanvraag_id)["claim_version"] == 2


def test_withdrawing_asks_first_and_closes_the_claim(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    page = officer.client.get(f"/aanvragen/{aanvraag_id}/intrekken")
    assert page.status_code == 200 and "niet ongedaan maken" in page.text
    r = officer.client.post(
        f"/aanvragen/{aanvraag_id}/intrekken", data=officer.form(toelichting="x" * 2001)
    )
    assert r.status_code == 400 and "hoogstens 2000" in _error_of(r.text, "veld-toelichting")
    r = officer.client.post(
        f"/aanvragen/{aanvraag_id}/intrekken",
        data=officer.form(toelichting="Dubbel ingediend."),
        follow_redirects=False,
    )
    assert r.headers["location"].endswith("?melding=ingetrokken")
    text = _text(officer.client.get(r.headers["location"]).text)
    assert "Ingetrokken" in text and "Dubbel ingediend." in text
    assert "Een bijlage toevoegen" not in text and "Aanvraag intrekken" not in text
    assert officer.client.get(f"/aanvragen/{aanvraag_id}/intrekken").status_code == 409
    r = officer.client.post(f"/aanvragen/{aanvraag_id}/intrekken", data=officer.form())
    assert r.status_code == 409 and "ingetrokken" in _text(r.text)


# --- decisions -----------------------------------------------------------------------------------


def test_decisions_and_letters_download_and_an_objection_is_lodged(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    bzk = officer.team.bzk
    assert bzk.post(f"/v1/aanvragen/{aanvraag_id}/in-behandeling").status_code == 200
    advice = _advice(officer, aanvraag_id)["advices"][0]["decision"]
    body = {
        "outcome": "afwijzen",
        "amount_eur": "0",
        "motivation": "De kosten vallen buiten de regeling.",
    }
    if advice["outcome"] in ("toekennen", "gedeeltelijk", "afwijzen"):
        body = {"outcome": advice["outcome"], "amount_eur": str(advice["eligible_total_eur"])}
    decided = bzk.post(f"/v1/aanvragen/{aanvraag_id}/besluit", json=body)
    assert decided.status_code == 201, decided.text
    besluit = decided.json()
    html = officer.client.get(f"/aanvragen/{aanvraag_id}").text
    text = _text(html)
    assert "Besloten" in text and "Besluiten" in text and "Maak bezwaar" in text
    base = f"/aanvragen/{aanvraag_id}/besluiten/{besluit['id']}"
    r = officer.client.get(f"{base}.json")
    assert r.status_code == 200 and r.json()["id"] == besluit["id"]
    assert r.json()["letter"]["sha256"] == besluit["letter"]["sha256"]
    r = officer.client.get(f"{base}/brief.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    assert len(officer.audit("brief.downloaden")) == 1
    # a besluit under another claim's address is not found
    other = officer.submit({**GOOD, "claim_id": "WEB-2"})
    assert (
        officer.client.get(f"/aanvragen/{other}/besluiten/{besluit['id']}.json").status_code == 404
    )
    # the objection: asked first, then registered (received today, no text)
    page = officer.client.get(f"{base}/bezwaar")
    assert page.status_code == 200 and "Schrijf hier geen redenen" in page.text
    r = officer.client.post(f"{base}/bezwaar", data=officer.form(), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?melding=bezwaar")
    text = _text(officer.client.get(r.headers["location"]).text)
    assert "Uw bezwaar is geregistreerd" in text and "bezwaar gemaakt op" in text
    assert len(officer.audit("bezwaar.indienen")) == 1
    assert bzk.get(f"/v1/besluiten/{besluit['id']}").json()["bezwaren"]


# --- the form and the stored claim -----------------------------------------------------------------


def test_a_stored_claim_goes_back_into_the_form_unchanged(client: TestClient) -> None:
    from vangnet.web.claimform import claim_values

    validator = client.app.state.validator  # type: ignore[attr-defined]
    layout = load_forms().current
    for data in (P06, json.loads((PUBLIC_SCENARIOS / "P01.claim.json").read_text())):
        claim = validator.validate(copy.deepcopy(data))
        filled = claim_values(claim_data(claim), layout, validator.catalogues)
        back = read_form(filled.values, layout, validator.catalogues, filled.lines)
        assert not back.errors, back.summary
        assert validator.validate(back.data) == claim


def test_the_applicant_sees_an_extension_and_its_reason(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    bzk = officer.team.bzk
    assert bzk.post(f"/v1/aanvragen/{aanvraag_id}/in-behandeling").status_code == 200
    body = bzk.get(f"/v1/aanvragen/{aanvraag_id}").json()
    later = date.fromisoformat(body["created_at"][:10]) + timedelta(weeks=12)
    why = "De politie brengt eerst een nieuw advies uit."
    r = bzk.post(
        f"/v1/aanvragen/{aanvraag_id}/verdagingen",
        json={"reason": why, "due_on": later.isoformat()},
    )
    assert r.status_code == 200, r.text
    text = _text(officer.client.get(f"/aanvragen/{aanvraag_id}").text)
    assert "besluit verdaagd tot" in text and why in text
    assert "de beoordelaar heeft het besluit verdaagd" in text


def test_more_time_keeps_the_question_and_shows_the_new_day(officer: Officer) -> None:
    aanvraag_id = officer.submit()
    reason = "Stuur de offerte van het hang- en sluitwerk mee."
    _ask_information(officer, aanvraag_id, reason)
    bzk = officer.team.bzk
    first = bzk.get(f"/v1/aanvragen/{aanvraag_id}").json()["history"][-1]["due_on"]
    later = date.fromisoformat(first) + timedelta(weeks=3)
    r = bzk.post(
        f"/v1/aanvragen/{aanvraag_id}/aanvullingstermijnen",
        json={"due_on": later.isoformat(), "reason": "U vroeg om meer tijd."},
    )
    assert r.status_code == 200, r.text
    html = officer.client.get(f"/aanvragen/{aanvraag_id}").text
    text = _text(html)
    assert "De beoordelaar vraagt om informatie" in text and reason in text
    assert "meer tijd om aan te vullen, tot en met" in text
