"""`/v1/aanvragen`: submitting, reading and every transition of a claim, on SQLite and on
PostgreSQL (the `api` fixture), the happy paths and the errors. The applicant (`gm`, an
aanvrager of a municipality) submits, supplements and withdraws; BZK's assessor (`bzk`) takes
claims into treatment, asks for information and decides (the roles themselves: test_authz.py)."""

from __future__ import annotations

import copy
import json
import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Actor, Team
from vangnet.letters import supplement_weeks
from vangnet.service.lifecycle import TRANSITIONS, today_nl
from vangnet.service.schemas import AanvraagPagina, IngediendeAanvraag
from vangnet.service.termijnen import deadline

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
PROBLEM = "application/problem+json"


def claim(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(P06)
    data.update(changes)
    return data


def submit(gm: Actor, body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    r = gm.post("/v1/aanvragen", json=body or claim(), headers=headers)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def exact(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


# the steps the deciding organisation takes; the applicant takes the others
ASSESSOR_STEPS = {"in-behandeling", "aanvullingsverzoeken", "besluit"}


def move(team: Team, aanvraag: dict[str, Any], name: str, body: Any = None) -> Any:
    """Take step `name` as the one whose step it is: BZK's assessor or the applicant."""
    actor = team.bzk if name in ASSESSOR_STEPS else team.gemeente
    return actor.post(f"{aanvraag['href']}/{name}", json=body)


# --- submitting -------------------------------------------------------------------------------


def test_a_claim_is_stored_with_its_advice(team: Team, gm: Actor) -> None:
    r = gm.post("/v1/aanvragen", json=claim())
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert r.headers["Location"] == body["href"] == f"/v1/aanvragen/{body['id']}"
    assert len(body["id"]) == 32 and int(body["id"], 16) >= 0
    assert body["claim_id"] == "P06" and body["scheme"] == "vangnet"
    assert body["reference_date"] == "2016-09-01"
    assert body["status"] == "ingediend" and body["claim_version"] == 1
    assert body["allowed_transitions"] == ["in-behandeling", "intrekking"]
    assert body["outcome"] == "gedeeltelijk"
    # money with exactly two decimals, in the summary, the claim and the advice
    assert '"claimed_total_eur":19350.00' in r.text
    assert '"eligible_total_eur":16850.00' in r.text
    assert '"unit_price_eur":3000.00' in r.text
    assert '"security_budget_eur":0.00' in r.text
    [advice] = body["advices"]
    assert advice["claim_version"] == 1
    assert advice["decision"]["receipt"]["claim_sha256"] == body["claim_sha256"]
    assert body["history"] == [
        {"from_status": None, "to_status": "ingediend", "at": body["created_at"],
         "reason": None, "due_on": None, "claim_version": 1}
    ]  # fmt: skip
    assert body["created_at"].endswith("Z")
    assert body["besluiten"] == []
    IngediendeAanvraag.model_validate(body)  # the published schema

    again = gm.get(body["href"])
    assert again.status_code == 200 and again.text == r.text


def test_the_advice_is_the_decision_of_the_pre_check(team: Team, gm: Actor) -> None:
    stored = exact(gm.post("/v1/aanvragen", json=claim()).text)["advices"][0]["decision"]
    checked = exact(gm.post("/v1/evaluaties", json=claim()).text)
    for decision in (stored, checked):
        del decision["receipt"]["evaluated_at"]
    assert stored == checked


def test_the_same_idempotency_key_and_claim_give_the_same_claim(team: Team, gm: Actor) -> None:
    first = submit(gm, claim(), **{"Idempotency-Key": "aanvraag-1"})
    # the same claim written differently (whitespace, key order) is the same claim
    text = json.dumps(dict(reversed(list(claim().items()))), indent=3)
    r = gm.post(
        "/v1/aanvragen",
        content=text,
        headers={"Idempotency-Key": "aanvraag-1", "content-type": "application/json"},
    )
    assert r.status_code == 201 and r.headers["Location"] == first["href"]
    assert r.json()["id"] == first["id"]
    assert gm.get("/v1/aanvragen").json()["total"] == 1


def test_the_same_idempotency_key_with_another_claim_is_409(team: Team, gm: Actor) -> None:
    submit(gm, claim(), **{"Idempotency-Key": "k"})
    r = gm.post("/v1/aanvragen", json=claim(claim_id="ANDER"), headers={"Idempotency-Key": "k"})
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "idempotency_key_hergebruikt"
    assert gm.get("/v1/aanvragen").json()["total"] == 1


def test_without_a_key_every_submission_is_a_new_claim(team: Team, gm: Actor) -> None:
    a, b = submit(gm), submit(gm)
    assert a["id"] != b["id"]
    assert gm.get("/v1/aanvragen").json()["total"] == 2


def test_concurrent_submissions_with_one_key_store_one_claim(team: Team, gm: Actor) -> None:
    results: list[Any] = []

    def post() -> None:
        r = gm.post("/v1/aanvragen", json=claim(), headers={"Idempotency-Key": "gelijk"})
        results.append((r.status_code, r.json()["id"]))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in results} == {201}
    assert len({i for _, i in results}) == 1
    assert gm.get("/v1/aanvragen").json()["total"] == 1


def test_an_invalid_claim_is_400_with_every_problem(team: Team, gm: Actor) -> None:
    bad = claim(x=1)
    del bad["office_holder"]
    bad["measures"][2]["unit_price_eur"] = "-12"
    r = gm.post("/v1/aanvragen", json=bad)
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == "ongeldige_aanvraag" and body["title"] and body["detail"]
    assert [p["field"] for p in body["problems"]] == [
        "office_holder", "measures[2].unit_price_eur", "x",
    ]  # fmt: skip
    assert gm.get("/v1/aanvragen").json()["total"] == 0


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{", {"content-type": "application/json"}, 400),
        (b"[]", {"content-type": "application/json"}, 400),
        (json.dumps(P06).encode(), {"content-type": "text/plain"}, 415),
        (b" " * (1024 * 1024 + 1), {"content-type": "application/json"}, 413),
        (json.dumps(P06).encode(), {"Idempotency-Key": "met spatie"}, 400),
        (json.dumps(P06).encode(), {"Idempotency-Key": "x" * 256}, 400),
    ],
    ids=["broken-json", "not-an-object", "not-json", "too-large", "key-space", "key-long"],
)
def test_a_bad_request_is_refused_with_a_problem(
    team: Team, gm: Actor, content: bytes, headers: dict[str, str], status: int
) -> None:
    r = gm.post("/v1/aanvragen", content=content, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM and r.json()["status"] == status


def test_a_simulation_is_refused_naming_the_scheme(team: Team, gm: Actor) -> None:
    r = gm.post("/v1/aanvragen", json=claim(scheme="vangnet-herijking"))
    assert r.status_code == 400
    [problem] = r.json()["problems"]
    assert problem["field"] == "scheme" and problem["value"] == "vangnet-herijking"
    assert "simulatie" in problem["message"]
    # outside its validity, too: a simulation scheme has no real version at all
    r = gm.post(
        "/v1/aanvragen", json=claim(scheme="vangnet-herijking", reference_date="2010-01-01")
    )
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "scheme"
    # but the pre-check evaluates it
    assert gm.post("/v1/evaluaties", json=claim(scheme="vangnet-herijking")).status_code == 200


def test_no_version_in_force_is_400_geen_regelset(team: Team, gm: Actor) -> None:
    r = gm.post("/v1/aanvragen", json=claim(reference_date="2010-01-01"))
    assert r.status_code == 400 and r.json()["code"] == "geen_regelset"


# --- reading ----------------------------------------------------------------------------------


def test_the_list_pages_newest_first_and_filters_on_status(team: Team, gm: Actor) -> None:
    ids = [submit(gm, claim(claim_id=f"C{i}"))["id"] for i in range(3)]
    team.bzk.post(f"/v1/aanvragen/{ids[0]}/in-behandeling")
    r = gm.get("/v1/aanvragen", params={"paginaGrootte": 2})
    assert r.status_code == 200
    page = r.json()
    AanvraagPagina.model_validate(page)
    assert [x["id"] for x in page["items"]] == [ids[2], ids[1]]
    assert (page["page"], page["page_size"], page["total"]) == (1, 2, 3)
    assert page["previous"] is None
    assert page["next"] == "/v1/aanvragen?pagina=2&paginaGrootte=2"
    assert '"claimed_total_eur":19350.00' in r.text
    second = gm.get(page["next"]).json()
    assert [x["id"] for x in second["items"]] == [ids[0]]
    assert second["next"] is None and second["previous"] == "/v1/aanvragen?pagina=1&paginaGrootte=2"
    treated = gm.get("/v1/aanvragen", params={"status": "in_behandeling"}).json()
    assert [x["id"] for x in treated["items"]] == [ids[0]] and treated["total"] == 1
    assert gm.get("/v1/aanvragen", params={"pagina": 9}).json()["items"] == []


def test_bad_list_parameters_are_400_with_every_problem(team: Team, gm: Actor) -> None:
    r = gm.get("/v1/aanvragen", params={"pagina": 0, "paginaGrootte": 101, "status": "x"})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    assert sorted(p["field"] for p in r.json()["problems"]) == ["pagina", "paginaGrootte", "status"]


def test_an_unknown_claim_is_404(team: Team, gm: Actor) -> None:
    for path in ("/v1/aanvragen/0123456789abcdef0123456789abcdef", "/v1/aanvragen/x" * 3):
        r = gm.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert team.bzk.post("/v1/aanvragen/onbekend/in-behandeling").status_code == 404
    assert gm.post("/v1/aanvragen/onbekend/intrekking").status_code == 404
    r = team.bzk.post("/v1/aanvragen/onbekend/aanvullingsverzoeken", json={"reason": "Offerte."})
    assert r.status_code == 404
    assert gm.post("/v1/aanvragen/onbekend/aanvullingen", json=claim()).status_code == 404


def test_a_wrong_method_is_405_with_every_allowed_method(team: Team, gm: Actor) -> None:
    one = submit(gm)["href"]
    for method, path, allow in [
        ("DELETE", "/v1/aanvragen", "GET, POST"),
        ("PUT", one, "GET"),
        ("GET", f"{one}/in-behandeling", "POST"),
        ("PATCH", f"{one}/aanvullingen", "POST"),
    ]:
        r = gm.request(method, path)
        assert r.status_code == 405 and r.headers["Allow"] == allow, (method, path)
        assert r.headers["content-type"] == PROBLEM


# --- the claim's life -------------------------------------------------------------------------


def test_a_claim_goes_through_its_whole_life(team: Team, gm: Actor) -> None:
    a = submit(gm)
    r = move(team, a, "in-behandeling", {"reason": "Opgepakt door team B."})
    assert r.status_code == 200 and r.json()["status"] == "in_behandeling"
    assert r.json()["allowed_transitions"] == ["aanvullingsverzoeken", "besluit", "intrekking"]

    asked = "Stuur de offerte van de deur met de prijs per onderdeel."
    r = move(team, a, "aanvullingsverzoeken", {"reason": asked})
    assert r.status_code == 200 and r.json()["status"] == "aanvulling_gevraagd"
    assert r.json()["history"][-1]["reason"] == asked

    supplement = claim()
    supplement["measures"][0]["unit_price_eur"] = 2500
    r = gm.post(f"{a['href']}/aanvullingen", json=supplement)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "aangevuld" and body["claim_version"] == 2
    assert body["claim"]["measures"][0]["unit_price_eur"] == 2500
    assert body["claim_sha256"] != a["claim_sha256"]
    assert [x["claim_version"] for x in body["advices"]] == [2, 1]  # newest first
    assert [x["decision"]["claimed_total_eur"] for x in body["advices"]] == [18850, 19350]
    assert body["advices"][1] == a["advices"][0]  # the old advice is kept as it was
    assert body["claimed_total_eur"] == 18850
    assert '"claimed_total_eur":18850.00' in r.text

    # a second round
    assert move(team, a, "aanvullingsverzoeken", {"reason": "Nog de factuur."}).status_code == 200
    assert gm.post(f"{a['href']}/aanvullingen", json=claim()).status_code == 200
    r = move(team, a, "intrekking", {"reason": "Niet meer nodig."})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ingetrokken" and body["allowed_transitions"] == []
    assert body["claim_version"] == 3 and len(body["advices"]) == 3
    assert [(h["from_status"], h["to_status"], h["claim_version"]) for h in body["history"]] == [
        (None, "ingediend", 1),
        ("ingediend", "in_behandeling", None),
        ("in_behandeling", "aanvulling_gevraagd", None),
        ("aanvulling_gevraagd", "aangevuld", 2),
        ("aangevuld", "aanvulling_gevraagd", None),
        ("aanvulling_gevraagd", "aangevuld", 3),
        ("aangevuld", "ingetrokken", None),
    ]
    IngediendeAanvraag.model_validate(body)
    assert gm.get(a["href"]).json() == body


def _last_day_passes(team: Team, aanvraag: dict[str, Any]) -> date:
    """Move the open request's last day to yesterday, as if the term passed unused."""
    app: Any = team.client.app
    yesterday = today_nl() - timedelta(days=1)
    with app.state.store.engine.begin() as c:
        c.execute(
            text(
                "UPDATE statusovergang SET due_on = :d WHERE aanvraag_id = :a"
                " AND to_status = 'aanvulling_gevraagd'"
            ),
            {"d": yesterday, "a": aanvraag["id"]},
        )
    return yesterday


def test_an_information_request_has_a_last_day(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    today = today_nl()
    # the assessor's day must lie after today and within a year; each error names due_on
    for wrong, text_part in (
        (today.isoformat(), "moet na vandaag liggen"),
        ((today + timedelta(days=400)).isoformat(), "hoogstens een jaar"),
        ("28-11-2026", "JJJJ-MM-DD"),
    ):
        r = move(team, a, "aanvullingsverzoeken", {"reason": "De offerte.", "due_on": wrong})
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, wrong
        [problem] = r.json()["problems"]
        assert problem["field"] == "due_on" and text_part in problem["message"], problem
    # without a day: the letters' term (forms/letters/procedure.yaml) from today
    r = move(team, a, "aanvullingsverzoeken", {"reason": "De offerte."})
    assert r.status_code == 200
    step = r.json()["history"][-1]
    assert step["due_on"] == (today + timedelta(weeks=supplement_weeks())).isoformat()
    assert r.json()["allowed_transitions"] == ["aanvullingen", "intrekking"]
    term = r.json()["decision_term"]
    assert term["suspended"] and term["due_on"] is None
    assert term["supplement_due"] == step["due_on"]
    # with one: that day, and the audit log records it (no free text)
    b = submit(gm, claim(claim_id="P06-B"))
    move(team, b, "in-behandeling")
    day = (today + timedelta(days=10)).isoformat()
    r = move(team, b, "aanvullingsverzoeken", {"reason": "De offerte.", "due_on": day})
    assert r.status_code == 200 and r.json()["history"][-1]["due_on"] == day
    app: Any = team.client.app
    [entry] = app.state.audit.entries_for(app.state.store.engine, [b["id"]], limit=10)[-1:]
    assert entry.action == "aanvraag.aanvulling_vragen" and entry.details["uiterlijk"] == day


def test_the_body_decides_after_the_last_day_has_passed_unused(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    move(team, a, "aanvullingsverzoeken", {"reason": "De offerte."})
    follows = {"outcome": "gedeeltelijk", "amount_eur": "16850.00"}
    r = move(team, a, "besluit", follows)
    assert r.status_code == 409 and r.json()["code"] == "aanvultermijn_loopt"
    assert "nog aanvullen (tot en met" in r.json()["detail"]

    _last_day_passes(team, a)
    body = gm.get(a["href"]).json()
    assert body["allowed_transitions"] == ["aanvullingen", "besluit", "intrekking"]
    r = move(team, a, "besluit", follows)
    assert r.status_code == 201, r.text
    body = gm.get(a["href"]).json()
    assert body["status"] == "besloten" and body["decision_term"] is None
    assert [(h["from_status"], h["to_status"]) for h in body["history"]][-2:] == [
        ("in_behandeling", "aanvulling_gevraagd"),
        ("aanvulling_gevraagd", "besloten"),
    ]


def test_a_claim_whose_last_day_passed_is_listed_among_the_open_ones(team: Team, gm: Actor) -> None:
    app: Any = team.client.app
    store = app.state.store
    open_statuses = ("ingediend", "in_behandeling", "aangevuld")
    waits, passed, answered = (submit(gm, claim(claim_id=f"P06-{n}")) for n in "ABC")
    for a in (waits, passed, answered):
        move(team, a, "in-behandeling")
        move(team, a, "aanvullingsverzoeken", {"reason": "De offerte."})
    _last_day_passes(team, passed)
    _last_day_passes(team, answered)
    assert gm.post(f"{answered['href']}/aanvullingen", json=claim()).status_code == 200

    def listed(before: date | None) -> set[str]:
        items, total = store.page(statuses=open_statuses, supplement_passed_before=before)
        assert total == len(items)
        return {x["id"] for x in items}

    assert listed(None) == {answered["id"]}
    assert listed(today_nl()) == {answered["id"], passed["id"]}
    # a second request after a supplement: its own last day counts, not the first one's
    move(team, answered, "aanvullingsverzoeken", {"reason": "Nog de factuur."})
    assert listed(today_nl()) == {passed["id"]}


def test_a_late_supplement_is_still_taken_before_the_besluit(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    move(team, a, "aanvullingsverzoeken", {"reason": "De offerte."})
    _last_day_passes(team, a)
    r = gm.post(f"{a['href']}/aanvullingen", json=claim())
    assert r.status_code == 200 and r.json()["status"] == "aangevuld"


def test_the_body_extends_the_decision_term_while_it_runs(team: Team, gm: Actor) -> None:
    """Awb 4:14, third paragraph: the body names a later day while the term runs; the status
    stays, the day is in the history and the audit log (not the reason)."""
    a = submit(gm)
    today = today_nl()
    received = date.fromisoformat(a["created_at"][:10])
    due = deadline(a["created_at"], gm.get(a["href"]).json()["history"]).due
    assert due is not None and due >= received
    later = (due + timedelta(weeks=4)).isoformat()
    why = "De politie brengt eerst een nieuw advies uit."
    url = f"{a['href']}/verdagingen"
    # not before the claim is taken into treatment
    r = team.bzk.post(url, json={"reason": why, "due_on": later})
    assert r.status_code == 409 and r.json()["code"] == "ongeldige_overgang"
    move(team, a, "in-behandeling")
    for wrong, words in (
        (due.isoformat(), f"moet na de huidige beslisdatum liggen ({due.isoformat()})"),
        ((today + timedelta(days=400)).isoformat(), "hoogstens een jaar"),
    ):
        r = team.bzk.post(url, json={"reason": why, "due_on": wrong})
        assert r.status_code == 400, r.text
        [problem] = r.json()["problems"]
        assert problem["field"] == "due_on" and words in problem["message"]
    r = team.bzk.post(url, json={"due_on": later})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "reason"

    r = team.bzk.post(url, json={"reason": why, "due_on": later})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "in_behandeling"
    step = body["history"][-1]
    assert (step["from_status"], step["to_status"], step["due_on"], step["reason"]) == (
        "in_behandeling",
        "in_behandeling",
        later,
        why,
    )
    assert deadline(body["created_at"], body["history"]).due == date.fromisoformat(later)
    # the API says so too, counted the same way
    assert body["decision_term"] == {"due_on": later, "suspended": False, "suspended_days": 0,
                                     "supplement_due": None, "extended_to": later}  # fmt: skip
    app: Any = team.client.app
    [entry] = app.state.audit.entries_for(app.state.store.engine, [a["id"]], limit=20)[-1:]
    assert entry.action == "aanvraag.verdagen" and entry.details["uiterlijk"] == later
    assert why not in json.dumps(entry.details)
    # the applicant cannot extend; another organisation's assessor gets 404 (test_authz.py)
    assert gm.post(url, json={"reason": why, "due_on": later}).status_code == 403


def test_no_extension_once_the_term_has_passed(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    app: Any = team.client.app
    long_ago = "2020-01-06 09:00:00"
    with app.state.store.engine.begin() as c:
        c.execute(text("UPDATE aanvraag SET created_at = :t WHERE id = :a"),
                  {"t": long_ago, "a": a["id"]})  # fmt: skip
        c.execute(text("UPDATE statusovergang SET at = :t WHERE aanvraag_id = :a"),
                  {"t": long_ago, "a": a["id"]})  # fmt: skip
    later = (today_nl() + timedelta(weeks=2)).isoformat()
    r = team.bzk.post(f"{a['href']}/verdagingen", json={"reason": "Later.", "due_on": later})
    assert r.status_code == 409 and r.json()["code"] == "termijn_verstreken"
    assert "liep af op 02-03-2020" in r.json()["detail"]


def test_the_applicant_gets_more_time_to_supplement(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    url = f"{a['href']}/aanvullingstermijnen"
    today = today_nl()
    r = team.bzk.post(url, json={"due_on": (today + timedelta(days=60)).isoformat()})
    assert r.status_code == 409 and r.json()["code"] == "ongeldige_overgang"  # no request
    reason = "De offerte."
    move(team, a, "aanvullingsverzoeken", {"reason": reason})
    first = today + timedelta(weeks=supplement_weeks())
    for wrong, words in (
        (first.isoformat(), f"huidige laatste dag om aan te vullen liggen ({first})"),
        ((today + timedelta(days=400)).isoformat(), "hoogstens een jaar"),
    ):
        r = team.bzk.post(url, json={"due_on": wrong})
        assert r.status_code == 400, r.text
        assert words in r.json()["problems"][0]["message"]
    later = first + timedelta(weeks=2)
    r = team.bzk.post(url, json={"due_on": later.isoformat(), "reason": "Gevraagd op 1 dec."})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "aanvulling_gevraagd"
    assert body["history"][-1]["due_on"] == later.isoformat()
    term = deadline(body["created_at"], body["history"], now=first + timedelta(days=1))
    assert term.suspended_now and term.supplement_due == later  # still waiting
    # the term passes at the new last day only; then the body may decide
    app: Any = team.client.app
    [entry] = app.state.audit.entries_for(app.state.store.engine, [a["id"]], limit=20)[-1:]
    assert entry.action == "aanvraag.aanvultermijn_verlengen"
    assert entry.details["uiterlijk"] == later.isoformat()
    r = move(team, a, "besluit", {"outcome": "gedeeltelijk", "amount_eur": "16850.00"})
    assert r.status_code == 409 and later.strftime("%d-%m-%Y") in r.json()["detail"]


def test_a_claim_lists_its_besluiten_in_their_order(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    # P06's advice: gedeeltelijk, EUR 16,850.00 of EUR 19,350.00
    r = move(team, a, "besluit", {"outcome": "gedeeltelijk", "amount_eur": 16850})
    assert r.status_code == 201, r.text
    first = r.json()
    correction = {
        "outcome": "toekennen",
        "amount_eur": "19350.00",
        "motivation": "Het alarm is volgens de politie nodig. Wij vergoeden ook het alarm.",
    }
    r = team.bzk.post(f"{first['href']}/correcties", json=correction)
    assert r.status_code == 201, r.text
    second = r.json()

    r = gm.get(a["href"])
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "besloten" and body["allowed_transitions"] == []
    assert body["besluiten"] == [
        {
            "id": first["id"],
            "href": first["href"],
            "number": 1,
            "kind": "besluit",
            "outcome": "gedeeltelijk",
            "amount_eur": 16850,
            "decided_at": first["decided_at"],
            "replaces": None,
        },
        {
            "id": second["id"],
            "href": second["href"],
            "number": 2,
            "kind": "correctie",
            "outcome": "toekennen",
            "amount_eur": 19350,
            "decided_at": second["decided_at"],
            "replaces": {"id": first["id"], "href": first["href"]},
        },
    ]
    assert '"amount_eur":16850.00' in r.text  # money with two decimals, as everywhere
    assert body["history"][-1]["to_status"] == "besloten"
    IngediendeAanvraag.model_validate(body)
    # each listed besluit is there at its address
    for listed in body["besluiten"]:
        assert gm.get(listed["href"]).json()["id"] == listed["id"]


def test_a_claim_can_be_withdrawn_before_treatment_without_a_body(team: Team, gm: Actor) -> None:
    a = submit(gm)
    r = gm.post(f"{a['href']}/intrekking")
    assert r.status_code == 200 and r.json()["status"] == "ingetrokken"
    assert r.json()["history"][-1]["reason"] is None


@pytest.mark.parametrize(
    ("path", "name", "allowed"),
    [
        ([], "aanvullingsverzoeken", ["in-behandeling", "intrekking"]),
        ([], "aanvullingen", ["in-behandeling", "intrekking"]),
        (["in-behandeling"], "in-behandeling", ["aanvullingsverzoeken", "besluit", "intrekking"]),
        (["in-behandeling"], "aanvullingen", ["aanvullingsverzoeken", "besluit", "intrekking"]),
        (["in-behandeling", "aanvullingsverzoeken"], "aanvullingsverzoeken",
         ["aanvullingen", "intrekking"]),
        (["in-behandeling", "aanvullingsverzoeken"], "in-behandeling",
         ["aanvullingen", "intrekking"]),
        (["intrekking"], "intrekking", []),
        (["intrekking"], "in-behandeling", []),
        (["intrekking"], "aanvullingen", []),
    ],
)  # fmt: skip
def test_an_impossible_transition_is_409_naming_status_and_options(
    team: Team, gm: Actor, path: list[str], name: str, allowed: list[str]
) -> None:
    a = submit(gm)
    for step in path:
        reason = {"reason": "Informatie nodig."} if step == "aanvullingsverzoeken" else None
        assert move(team, a, step, reason).status_code == 200
    status = TRANSITIONS[path[-1]].target if path else "ingediend"
    body = claim() if name == "aanvullingen" else {"reason": "Informatie nodig."}
    r = move(team, a, name, body)
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["code"] == "ongeldige_overgang"
    assert problem["current_status"] == status and problem["allowed_transitions"] == allowed
    assert status in problem["detail"] and name in problem["detail"]
    assert len(gm.get(a["href"]).json()["history"]) == len(path) + 1  # nothing changed


def test_a_request_for_information_needs_its_text(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    for body, fields in [
        (None, ["reason"]),
        ({}, ["reason"]),
        ({"reason": "   "}, ["reason"]),
        ({"reason": "x" * 2001}, ["reason"]),
        ({"reason": 12, "extra": True}, ["reason", "extra"]),
        ([], ["(verzoek)"]),
    ]:
        r = move(team, a, "aanvullingsverzoeken", body)
        assert r.status_code == 400, (body, r.text)
        assert [p["field"] for p in r.json()["problems"]] == fields, body
    assert gm.get(a["href"]).json()["status"] == "in_behandeling"


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{", {"content-type": "application/json"}, 400),
        (b'{"reden": "x"}', {"content-type": "application/json"}, 400),
        (b'{"reason": "x"}', {"content-type": "text/plain"}, 415),
        (b" " * (1024 * 1024 + 1), {"content-type": "application/json"}, 413),
    ],
    ids=["broken-json", "unknown-field", "not-json", "too-large"],
)
def test_a_bad_transition_body_is_refused(
    team: Team, gm: Actor, content: bytes, headers: dict[str, str], status: int
) -> None:
    a = submit(gm)
    r = team.bzk.post(f"{a['href']}/in-behandeling", content=content, headers=headers)
    assert r.status_code == status and r.headers["content-type"] == PROBLEM
    assert gm.get(a["href"]).json()["status"] == "ingediend"


def test_a_supplement_is_a_valid_claim_of_the_same_scheme(team: Team, gm: Actor) -> None:
    a = submit(gm)
    move(team, a, "in-behandeling")
    move(team, a, "aanvullingsverzoeken", {"reason": "De offerte."})
    bad = claim()
    bad["measures"][0]["quantity"] = 0
    r = gm.post(f"{a['href']}/aanvullingen", json=bad)
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "measures[0].quantity"
    other = claim(scheme="basismaatregelen", reference_date="2021-06-01")
    r = gm.post(f"{a['href']}/aanvullingen", json=other)
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "scheme"
    r = gm.post(f"{a['href']}/aanvullingen", json=claim(reference_date="2010-01-01"))
    assert r.status_code == 400 and r.json()["code"] == "geen_regelset"
    r = gm.post(f"{a['href']}/aanvullingen", content=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    after = gm.get(a["href"]).json()
    assert after["status"] == "aanvulling_gevraagd" and after["claim_version"] == 1


def test_two_changes_at_once_never_both_win(team: Team, gm: Actor) -> None:
    a = submit(gm)
    results: list[int] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        results.append(move(team, a, "in-behandeling").status_code)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 7
    assert len(gm.get(a["href"]).json()["history"]) == 2


# --- the published document -------------------------------------------------------------------


def test_the_document_describes_the_claims_resource(client: TestClient) -> None:
    doc = client.get("/v1/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) >= {
        "/aanvragen", "/aanvragen/{aanvraagId}", "/aanvragen/{aanvraagId}/in-behandeling",
        "/aanvragen/{aanvraagId}/aanvullingsverzoeken", "/aanvragen/{aanvraagId}/aanvullingen",
        "/aanvragen/{aanvraagId}/intrekking",
    }  # fmt: skip
    post = paths["/aanvragen"]["post"]
    assert set(post["responses"]["201"]["headers"]) == {"Location", "API-Version"}
    assert {"400", "409", "413", "415"} <= set(post["responses"])
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    query = [p["name"] for p in paths["/aanvragen"]["get"]["parameters"]]
    assert query == ["pagina", "paginaGrootte", "status"]
    for name in ("in-behandeling", "aanvullingsverzoeken", "aanvullingen", "intrekking"):
        op = paths[f"/aanvragen/{{aanvraagId}}/{name}"]["post"]
        assert {"200", "400", "404", "409"} <= set(op["responses"]), name
    schemas = doc["components"]["schemas"]
    assert schemas["IngediendeAanvraag"]["properties"]["reference_date"]["format"] == "date"
    assert {"Toelichting", "Aanvullingsverzoek"} <= set(schemas)
    assert {"current_status", "allowed_transitions"} <= set(schemas["Probleem"]["properties"])
