"""Besluiten: deciding on a claim, the stored letter, corrections, objections and decisions on
them, on SQLite and on PostgreSQL (the `api` fixture), the happy paths and the errors. The
applicant (`team.gemeente`) submits; BZK's assessor (`team.bzk`) decides and is the besluit's
`decided_by` (its account's pseudonym)."""

from __future__ import annotations

import copy
import hashlib
import html as htmllib
import io
import json
import re
import threading
from datetime import date, timedelta
from typing import Any

import docx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Actor, Team
from vangnet.service.db import create_db_engine
from vangnet.service.schemas_besluit import BesluitOut, BezwaarOut
from vangnet.service.store import Store

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
PROBLEM = "application/problem+json"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# P06's advice: gedeeltelijk, € 16.850,00 of € 19.350,00
FOLLOWS = {"outcome": "gedeeltelijk", "amount_eur": "16850.00"}
MOTIVATION = "Het alarm is volgens de politie nodig. Wij vergoeden daarom ook het alarm."


def in_behandeling(team: Team) -> dict[str, Any]:
    r = team.gemeente.post("/v1/aanvragen", json=copy.deepcopy(P06))
    assert r.status_code == 201, r.text
    href = r.json()["href"]
    r = team.bzk.post(f"{href}/in-behandeling")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def decide(team: Team, aanvraag: dict[str, Any], body: Any = None) -> Any:
    return team.bzk.post(f"{aanvraag['href']}/besluit", json=FOLLOWS if body is None else body)


def decided(team: Team, body: Any = None) -> dict[str, Any]:
    r = decide(team, in_behandeling(team), body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def letter_text(actor: Actor, besluit: dict[str, Any]) -> str:
    r = actor.get(besluit["letter"]["href"], headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", r.text))
    return " ".join(text.replace("\u00a0", " ").split())


def fields(r: Any) -> list[str]:
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, r.text
    return sorted(p["field"] for p in r.json()["problems"])


# --- deciding ---------------------------------------------------------------------------------


def test_a_besluit_that_follows_the_advice(team: Team) -> None:
    aanvraag = in_behandeling(team)
    r = decide(team, aanvraag)
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    b = r.json()
    assert r.headers["Location"] == b["href"] == f"/v1/besluiten/{b['id']}"
    assert b["aanvraag"] == {"id": aanvraag["id"], "href": aanvraag["href"]}
    assert b["kind"] == "besluit" and b["number"] == 1
    assert b["outcome"] == "gedeeltelijk" and '"amount_eur":16850.00' in r.text
    assert b["differs_from_advice"] is False and b["motivation"] is None
    assert b["decided_by"] == team.bzk.account.pseudoniem and b["decided_at"].endswith("Z")
    assert b["replaces"] is None and b["replaced_by"] is None
    assert b["attachments"] == [] and b["bezwaren"] == []
    assert b["advice"]["decision"] == aanvraag["advices"][0]["decision"]  # unchanged
    assert b["letter"]["href"] == f"{b['href']}/brief"
    BesluitOut.model_validate(b)
    assert team.bzk.get(b["href"]).json() == b

    now = team.bzk.get(aanvraag["href"]).json()
    assert now["status"] == "besloten" and now["allowed_transitions"] == []
    assert now["history"][-1]["from_status"] == "in_behandeling"
    assert now["history"][-1]["to_status"] == "besloten"


def test_a_besluit_after_a_supplement(team: Team) -> None:
    aanvraag = in_behandeling(team)
    team.bzk.post(f"{aanvraag['href']}/aanvullingsverzoeken", json={"reason": "Stuur de offerte."})
    assert team.gemeente.post(f"{aanvraag['href']}/aanvullingen", json=P06).status_code == 200
    offerte = team.gemeente.post(
        f"{aanvraag['href']}/bijlagen?soort=offerte",
        content=b"%PDF-1.4\n%%EOF\n",
        headers={"content-type": "application/pdf"},
    ).json()
    r = decide(team, aanvraag, {**FOLLOWS, "attachments": [offerte["id"]]})
    assert r.status_code == 201, r.text
    assert r.json()["advice"]["claim_version"] == 2
    assert [x["id"] for x in r.json()["attachments"]] == [offerte["id"]]


def test_the_stored_pdf_is_served_byte_identical(team: Team) -> None:
    b = decided(team)
    first = team.bzk.get(b["letter"]["href"])
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    assert hashlib.sha256(first.content).hexdigest() == b["letter"]["sha256"]
    again = team.bzk.get(b["letter"]["href"], headers={"Accept": "application/pdf"})
    assert again.content == first.content
    # the most acceptable format wins; */* is the PDF
    for accept in ("*/*", "text/html;q=0.5, application/pdf;q=0.9", "application/*"):
        r = team.bzk.get(b["letter"]["href"], headers={"Accept": accept})
        assert r.headers["content-type"] == "application/pdf", accept
        assert r.content == first.content


def test_the_letter_as_html_and_docx(team: Team) -> None:
    b = decided(team)
    text = letter_text(team.bzk, b)
    assert "Besluit op uw aanvraag" in text
    assert "U krijgt € 16.850,00 van de € 19.350,00 die u vroeg." in text
    assert "Bent u het niet eens met dit besluit?" in text
    assert "-B1" in text  # the besluit's number in the kenmerk
    r = team.bzk.get(b["letter"]["href"], headers={"Accept": DOCX})
    assert r.status_code == 200 and r.headers["content-type"] == DOCX
    words = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    assert "U krijgt € 16.850,00 van de € 19.350,00 die u vroeg." in words.replace("\u00a0", " ")


def test_another_format_is_406(team: Team) -> None:
    b = decided(team)
    for accept in ("image/png", "application/json", "text/html;q=0, application/pdf;q=0"):
        r = team.bzk.get(b["letter"]["href"], headers={"Accept": accept})
        assert r.status_code == 406 and r.headers["content-type"] == PROBLEM, accept
        assert r.json()["code"] == "vorm_niet_beschikbaar"


def test_an_override_needs_a_motivation(team: Team) -> None:
    aanvraag = in_behandeling(team)
    grant = {"outcome": "toekennen", "amount_eur": 19350}
    r = decide(team, aanvraag, grant)
    assert fields(r) == ["motivation"]
    assert "wijkt af van het advies (gedeeltelijk, € 16.850,00)" in r.json()["problems"][0][
        "message"
    ].replace("\u00a0", " ")
    # the same amount with another outcome differs too
    r = decide(team, aanvraag, {**FOLLOWS, "outcome": "toekennen", "amount_eur": 19350})
    assert fields(r) == ["motivation"]
    assert team.bzk.get(aanvraag["href"]).json()["status"] == "in_behandeling"


def test_an_overrides_letter_puts_the_assessor_first(team: Team) -> None:
    aanvraag = in_behandeling(team)
    grant = {"outcome": "toekennen", "amount_eur": 19350}
    r = decide(team, aanvraag, {**grant, "motivation": MOTIVATION})
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["differs_from_advice"] is True and b["motivation"] == MOTIVATION
    text = letter_text(team.bzk, b)
    decision = text.index("U krijgt de hele vergoeding die u vroeg, € 19.350,00.")
    advice = text.index("Volgens de berekening krijgt u € 16.850,00 van de € 19.350,00")
    motivation = text.index(MOTIVATION)
    reasons = text.index("Wat de berekening vond")
    assert decision < advice < motivation < reasons
    for finding in b["advice"]["decision"]["findings"]:
        assert text.index(finding["rule"]) > reasons
    assert "Volgens de berekening" in text  # the table's column


def test_400_lists_every_problem(team: Team) -> None:
    aanvraag = in_behandeling(team)
    bad = {"outcome": "misschien", "amount_eur": "-1", "x": 1, "attachments": ["nee"]}
    r = decide(team, aanvraag, bad)
    assert fields(r) == ["amount_eur", "attachments.0", "outcome", "x"]
    body = r.json()
    assert body["code"] == "ongeldig_verzoek" and body["title"] and body["detail"]
    # the amount must fit the outcome; a differing outcome needs a motivation, at once
    r = decide(team, aanvraag, {"outcome": "afwijzen", "amount_eur": 5})
    assert fields(r) == ["amount_eur", "motivation"]
    r = decide(team, aanvraag, {**FOLLOWS, "amount_eur": 19350, "motivation": MOTIVATION})
    assert fields(r) == ["amount_eur"]
    r = decide(team, aanvraag, {**FOLLOWS, "amount_eur": 1.005})
    assert fields(r) == ["amount_eur"]
    # who decides is the account, never a field: the field of before accounts is refused
    r = decide(team, aanvraag, {**FOLLOWS, "assessor": "BO-1"})
    assert fields(r) == ["assessor"]
    r = team.bzk.post(
        f"{aanvraag['href']}/besluit", content=b"{", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    r = team.bzk.post(
        f"{aanvraag['href']}/besluit", content=b"x", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415 and r.headers["content-type"] == PROBLEM
    assert team.bzk.get(aanvraag["href"]).json()["status"] == "in_behandeling"


def test_unknown_resources_are_404(team: Team) -> None:
    unknown = "f" * 32
    for r in (
        team.bzk.post(f"/v1/aanvragen/{unknown}/besluit", json=FOLLOWS),
        team.bzk.get(f"/v1/besluiten/{unknown}"),
        team.bzk.get(f"/v1/besluiten/{unknown}/brief"),
        team.bzk.post(f"/v1/besluiten/{unknown}/correcties", json=FOLLOWS),
        team.bzk.post(f"/v1/besluiten/{unknown}/beslissingen-op-bezwaar", json=FOLLOWS),
        team.bzk.post(f"/v1/besluiten/{unknown}/bezwaren", json={"received_on": "2026-01-01"}),
    ):
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_other_methods_are_405_with_allow(team: Team) -> None:
    b = decided(team)
    for method, path, allow in (
        ("DELETE", b["href"], "GET"),
        ("PUT", b["href"], "GET"),
        ("PATCH", b["href"], "GET"),
        ("POST", b["letter"]["href"], "GET"),
        ("GET", f"{b['href']}/correcties", "POST"),
        ("GET", f"{b['aanvraag']['href']}/besluit", "POST"),
    ):
        r = team.bzk.request(method, path)
        assert r.status_code == 405 and r.headers["content-type"] == PROBLEM, (method, path)
        assert r.headers["Allow"] == allow


def test_deciding_from_a_wrong_status_is_409(team: Team) -> None:
    r = team.gemeente.post("/v1/aanvragen", json=P06)
    submitted = r.json()
    r = decide(team, submitted)
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "ongeldige_overgang"
    assert r.json()["current_status"] == "ingediend"
    # once decided, a second besluit on the claim is 409: a change is a correction
    b = decided(team)
    r = team.bzk.post(f"{b['aanvraag']['href']}/besluit", json=FOLLOWS)
    assert r.status_code == 409 and r.json()["current_status"] == "besloten"
    r = team.gemeente.post(f"{b['aanvraag']['href']}/intrekking")
    assert r.status_code == 409


def test_two_assessors_at_once_one_wins(team: Team) -> None:
    aanvraag = in_behandeling(team)
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def run(assessor: Actor) -> None:
        barrier.wait()
        r = assessor.post(f"{aanvraag['href']}/besluit", json=FOLLOWS)
        results.append((r.status_code, r.headers["content-type"], r.json()))

    assessors = [team.bzk, team.actor("beoordelaar", "BZK")]
    threads = [threading.Thread(target=run, args=(a,)) for a in assessors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _, _ in results) == [201, 409]
    [(_, ctype, loser)] = [x for x in results if x[0] == 409]
    assert ctype == PROBLEM and loser["code"] in {"ongeldige_overgang", "gelijktijdig"}
    history = team.bzk.get(aanvraag["href"]).json()["history"]
    assert [h["to_status"] for h in history].count("besloten") == 1


def test_a_besluit_is_immutable(team: Team, database_url: str) -> None:
    b = decided(team)
    team.bzk.post(f"{b['href']}/bezwaren", json={"received_on": date.today().isoformat()})
    # the store has no way to change one
    assert not [n for n in dir(Store) if n.startswith(("update", "delete", "change", "set_"))]
    engine = create_db_engine(database_url)
    try:
        for statement in (
            "UPDATE besluit SET outcome = 'afwijzen', amount_cents = 0",
            "UPDATE besluit SET letter_pdf = letter_pdf",
            "DELETE FROM besluit",
            "UPDATE bezwaar SET received_on = received_on",
            "DELETE FROM bezwaar",
        ):
            with pytest.raises(DBAPIError, match="onveranderlijk"), engine.begin() as c:
                c.execute(text(statement))
    finally:
        engine.dispose()
    assert team.bzk.get(b["href"]).json() == {
        **b,
        "bezwaren": team.bzk.get(b["href"]).json()["bezwaren"],
    }
    assert (
        hashlib.sha256(team.bzk.get(b["letter"]["href"]).content).hexdigest()
        == b["letter"]["sha256"]
    )


# --- corrections ------------------------------------------------------------------------------


def test_a_correction_chain(team: Team) -> None:
    first = decided(team)
    r = team.bzk.post(f"{first['href']}/correcties", json=FOLLOWS)
    assert fields(r) == ["motivation"]  # a correction always says why
    correction = {
        "outcome": "afwijzen",
        "amount_eur": 0,
        "motivation": MOTIVATION,
    }
    r = team.bzk.post(f"{first['href']}/correcties", json=correction)
    assert r.status_code == 201, r.text
    second = r.json()
    assert r.headers["Location"] == second["href"]
    assert second["kind"] == "correctie" and second["number"] == 2
    assert second["replaces"] == {"id": first["id"], "href": first["href"]}
    assert second["advice"] == first["advice"]
    assert team.bzk.get(first["href"]).json()["replaced_by"] == {
        "id": second["id"],
        "href": second["href"],
    }
    text = letter_text(team.bzk, second)
    assert "Nieuw besluit op uw aanvraag" in text
    assert "Wij hebben dat besluit verbeterd." in text
    assert "-B1" in text and "-B2" in text  # the replaced besluit's kenmerk, and its own
    assert "U krijgt geen vergoeding" in text
    assert "Bent u het niet eens met dit besluit?" in text  # still open to objection
    # only the current besluit can be corrected
    r = team.bzk.post(f"{first['href']}/correcties", json=correction)
    assert r.status_code == 409 and r.json()["code"] == "besluit_vervangen"
    r = team.bzk.post(
        f"{second['href']}/correcties",
        json={**correction, "outcome": "toekennen", "amount_eur": 19350},
    )
    assert r.status_code == 201 and r.json()["number"] == 3
    assert r.json()["replaces"]["id"] == second["id"]


# --- objections -------------------------------------------------------------------------------


def test_an_objection_then_a_decision_on_it_with_the_appeal_clause(team: Team) -> None:
    b = decided(team)
    r = team.bzk.post(
        f"{b['href']}/beslissingen-op-bezwaar", json={**FOLLOWS, "motivation": MOTIVATION}
    )
    assert r.status_code == 409 and r.json()["code"] == "geen_bezwaar"
    today = date.today().isoformat()
    r = team.bzk.post(f"{b['href']}/bezwaren", json={"received_on": today})
    assert r.status_code == 201, r.text
    bezwaar = r.json()
    BezwaarOut.model_validate(bezwaar)
    assert bezwaar["besluit"] == {"id": b["id"], "href": b["href"]}
    assert bezwaar["received_on"] == today
    assert bezwaar["registered_by"] == team.bzk.account.pseudoniem
    assert team.bzk.get(b["href"]).json()["bezwaren"] == [bezwaar]

    body = {
        "outcome": "toekennen",
        "amount_eur": "19350.00",
        "motivation": MOTIVATION,
    }
    r = team.bzk.post(f"{b['href']}/beslissingen-op-bezwaar", json=body)
    assert r.status_code == 201, r.text
    decision = r.json()
    assert decision["kind"] == "beslissing_op_bezwaar" and decision["number"] == 2
    assert decision["replaces"]["id"] == b["id"] and decision["differs_from_advice"] is True
    text = letter_text(team.bzk, decision)
    assert "Beslissing op uw bezwaar" in text
    assert "U maakte bezwaar tegen dat besluit." in text
    assert "Bent u het niet eens met deze beslissing?" in text
    assert "Dan kunt u in beroep gaan bij de rechter. Dat doet u binnen zes weken." in text
    assert "de rechtbank in het gebied waar u woont of waar uw organisatie is gevestigd" in text
    assert "artikel 8:1" in text and "artikel 8:7" in text and "artikel 6:7" in text
    # the appeal clause instead of the objection clause
    assert "Bent u het niet eens met dit besluit?" not in text
    assert "Stuur uw bezwaar naar" not in text
    # the replaced besluit takes no new objection
    r = team.bzk.post(f"{b['href']}/bezwaren", json={"received_on": today})
    assert r.status_code == 409 and r.json()["code"] == "besluit_vervangen"


def test_an_objection_is_400_with_every_problem(team: Team) -> None:
    b = decided(team)
    r = team.bzk.post(f"{b['href']}/bezwaren", json={"received_on": "2026-02-30", "text": "waarom"})
    assert fields(r) == ["received_on", "text"]
    r = team.bzk.post(f"{b['href']}/bezwaren", json={"received_on": "2000-01-01"})
    assert fields(r) == ["received_on"]
    future = (date.today() + timedelta(days=2)).isoformat()
    r = team.bzk.post(f"{b['href']}/bezwaren", json={"received_on": future})
    assert fields(r) == ["received_on"]
    # an assessor registers an objection that came in on a day: it must say which
    r = team.bzk.post(f"{b['href']}/bezwaren")
    assert fields(r) == ["received_on"]
    # the applicant lodges one today: no other day
    r = team.gemeente.post(f"{b['href']}/bezwaren", json={"received_on": "2000-01-01"})
    assert fields(r) == ["received_on"]
    assert team.bzk.get(b["href"]).json()["bezwaren"] == []


def test_the_applicant_lodges_an_objection_received_today(team: Team) -> None:
    b = decided(team)
    r = team.gemeente.post(f"{b['href']}/bezwaren")
    assert r.status_code == 201, r.text
    bezwaar = r.json()
    assert bezwaar["received_on"] == date.today().isoformat()
    assert bezwaar["registered_by"] == team.gemeente.account.pseudoniem
    assert team.gemeente.get(b["href"]).json()["bezwaren"] == [bezwaar]
