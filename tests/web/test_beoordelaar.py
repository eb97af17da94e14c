"""The assessor's pages: the queue with the legal decision date, the claim page, and every
action as a plain form post (no JavaScript), per role: BZK's assessor may, an assessor of
another organisation gets 404, an applicant or an auditor gets 403; every refusal is in the
audit log; a post without the session's CSRF token is refused."""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text as sql_text

from tests.conftest import PUBLIC_SCENARIOS
from tests.service.auth import Team
from tests.service.records import PDF
from vangnet.service.accounts import COOKIE_NAME
from vangnet.web import beoordelaar
from vangnet.web.beoordelaar import deadline, parse_amount, parse_day

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
# P06's advice: gedeeltelijk, € 16.850,00 of € 19.350,00
PASSWORD = "een lang genoeg wachtwoord"  # noqa: S105 - a test account
_names = itertools.count(1)


class Browser:
    """A person signed in to the pages: the session cookie on every request, the session's
    CSRF token for the forms."""

    def __init__(self, client: TestClient, token: str, csrf: str, account_id: str) -> None:
        self.client = client
        self.token = token
        self.csrf = csrf
        self.account_id = account_id

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.client.get(url, headers={"Cookie": f"{COOKIE_NAME}={self.token}"}, **kwargs)

    def post(self, url: str, data: dict[str, str], *, csrf: bool = True, **kw: Any) -> Response:
        form = {"csrf_token": self.csrf, **data} if csrf else dict(data)
        headers = {"Cookie": f"{COOKIE_NAME}={self.token}"}
        return self.client.post(url, data=form, headers=headers, follow_redirects=False, **kw)


def signed_in(team: Team, rol: str, organisatie: str) -> Browser:
    """A new account of `rol` at `organisatie`, signed in with a session (as the login page
    does)."""
    team.organisation(organisatie)
    name = f"pagina-{rol}-{organisatie.lower()}-{next(_names)}"
    account = team.accounts.add_account(name, organisatie, rol, PASSWORD)
    new = team.accounts.login(name, PASSWORD, "testclient")
    return Browser(team.client, new.token, new.csrf_token, account.id)


@pytest.fixture
def team(client: TestClient) -> Team:
    return Team(client)


@pytest.fixture
def assessor(team: Team) -> Browser:
    return signed_in(team, "beoordelaar", "BZK")


def submit(team: Team, claim_id: str = "P06") -> str:
    claim = copy.deepcopy(P06) | {"claim_id": claim_id}
    r = team.gemeente.post("/v1/aanvragen", json=claim)
    assert r.status_code == 201, r.text
    aanvraag_id: str = r.json()["id"]
    return aanvraag_id


def refusals(client: TestClient) -> list[dict[str, Any]]:
    app: Any = client.app
    entries = app.state.audit.entries(app.state.store.engine, limit=1000)
    return [e.as_dict() for e in entries if e.action == "toegang.geweigerd"]


def actions(client: TestClient) -> list[str]:
    app: Any = client.app
    return [e.action for e in app.state.audit.entries(app.state.store.engine, limit=1000)]


def status_of(team: Team, aanvraag_id: str) -> str:
    status: str = team.gemeente.get(f"/v1/aanvragen/{aanvraag_id}").json()["status"]
    return status


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the decision date is data ------------------------------------------------------------------


def step(to: str, at: str, frm: str | None = None) -> dict[str, Any]:
    return {"from_status": frm, "to_status": to, "at": at}


def test_the_decision_date_is_eight_weeks_after_receipt_plus_the_suspension() -> None:
    received = "2026-03-02T10:00:00Z"
    plain = deadline(received, [step("ingediend", received)])
    assert plain.received == date(2026, 3, 2) and plain.due == date(2026, 4, 27)
    assert plain.suspended_days == 0 and not plain.suspended_now
    history = [
        step("ingediend", received),
        step("in_behandeling", "2026-03-03T09:00:00Z", "ingediend"),
        step("aanvulling_gevraagd", "2026-03-10T09:00:00Z", "in_behandeling"),
        step("aangevuld", "2026-03-20T09:00:00Z", "aanvulling_gevraagd"),
    ]
    # suspended from 11 March up to 20 March (not counted): 9 days
    term = deadline(received, history)
    assert term.suspended_days == 9 and term.due == date(2026, 5, 6)
    waiting = deadline(received, history[:3])
    assert waiting.suspended_now and waiting.due is None and not waiting.overdue(date(2030, 1, 1))
    assert term.overdue(date(2026, 5, 7)) and not term.overdue(date(2026, 5, 6))
    # the day is the day in the Netherlands: 23:30 UTC on 1 March is 2 March there
    assert deadline("2026-03-01T23:30:00Z", []).received == date(2026, 3, 2)


def test_a_suspension_ends_when_the_last_day_to_supplement_has_passed() -> None:
    """Awb 4:15, first paragraph, under a: suspended until the supplement or until the term
    set for it has passed unused (termijnen.yaml)."""
    received = "2026-03-02T10:00:00Z"
    asked = step("aanvulling_gevraagd", "2026-03-10T09:00:00Z", "in_behandeling")
    asked["due_on"] = date(2026, 3, 20)  # the last day to supplement
    history = [step("ingediend", received), asked]
    # within the term: suspended, no decision date, the last day shown
    waiting = deadline(received, history, now=date(2026, 3, 20))
    assert waiting.suspended_now and waiting.due is None
    assert waiting.supplement_due == date(2026, 3, 20) and not waiting.supplement_passed
    # the day after: the term runs again; 11 to 20 March (10 days) were suspended
    passed = deadline(received, history, now=date(2026, 3, 21))
    assert not passed.suspended_now and passed.supplement_passed
    assert passed.suspended_days == 10 and passed.due == date(2026, 4, 27) + timedelta(days=10)
    # a supplement after the last day counts the suspension up to that day only
    late = [*history, step("aangevuld", "2026-04-01T09:00:00Z", "aanvulling_gevraagd")]
    assert deadline(received, late, now=date(2026, 4, 2)).suspended_days == 10
    # in time: up to the supplement (not counted), as before
    early = [*history, step("aangevuld", "2026-03-15T09:00:00Z", "aanvulling_gevraagd")]
    assert deadline(received, early, now=date(2026, 4, 2)).suspended_days == 4
    # a decision on the claim as it stands ends the wait the same way
    decided = [*history, step("besloten", "2026-03-25T09:00:00Z", "aanvulling_gevraagd")]
    assert deadline(received, decided, now=date(2026, 4, 2)).suspended_days == 10


def test_an_extension_moves_the_decision_date_to_the_day_announced() -> None:
    """Awb 4:14, third paragraph (termijnen.yaml): the announced day, moved on by a
    suspension after the announcement, never earlier than the statutory date."""
    received = "2026-03-02T10:00:00Z"  # the statutory date: 27 April
    taken = step("in_behandeling", "2026-03-03T09:00:00Z", "ingediend")
    extended = step("in_behandeling", "2026-04-01T09:00:00Z", "in_behandeling")
    extended["due_on"] = date(2026, 5, 29)
    history = [step("ingediend", received), taken, extended]
    term = deadline(received, history, now=date(2026, 4, 2))
    assert term.due == date(2026, 5, 29) and term.extended_to == date(2026, 5, 29)
    # a request after the announcement, supplemented 5 days later: 4 days suspended
    asked = step("aanvulling_gevraagd", "2026-04-10T09:00:00Z", "in_behandeling")
    asked["due_on"] = date(2026, 5, 8)
    supplemented = step("aangevuld", "2026-04-15T09:00:00Z", "aanvulling_gevraagd")
    later = deadline(received, [*history, asked, supplemented], now=date(2026, 4, 16))
    assert later.suspended_days == 4 and later.due == date(2026, 6, 2)
    # a suspension before the announcement is in the day announced already
    before = [step("ingediend", received), taken, asked | {"at": "2026-03-10T09:00:00Z"},
              supplemented | {"at": "2026-03-15T09:00:00Z"}, extended]  # fmt: skip
    assert deadline(received, before, now=date(2026, 4, 2)).due == date(2026, 5, 29)
    # an announced day before the statutory date does not shorten the term
    early = extended | {"due_on": date(2026, 4, 1)}
    assert deadline(received, [step("ingediend", received), taken, early]).due == date(2026, 4, 27)


def test_more_time_to_supplement_moves_the_end_of_the_suspension() -> None:
    received = "2026-03-02T10:00:00Z"
    asked = step("aanvulling_gevraagd", "2026-03-10T09:00:00Z", "in_behandeling")
    asked["due_on"] = date(2026, 3, 20)
    more = step("aanvulling_gevraagd", "2026-03-18T09:00:00Z", "aanvulling_gevraagd")
    more["due_on"] = date(2026, 3, 31)
    history = [step("ingediend", received), asked, more]
    waiting = deadline(received, history, now=date(2026, 3, 25))
    assert waiting.suspended_now and waiting.supplement_due == date(2026, 3, 31)
    assert waiting.extended_to is None  # not an extension of the decision term
    passed = deadline(received, history, now=date(2026, 4, 1))
    assert passed.supplement_passed and passed.suspended_days == 21  # 11 to 31 March


def test_the_term_comes_from_its_data_file() -> None:
    rules = beoordelaar.terms()
    assert rules.decision_term.weeks == 8
    assert "4:13" in rules.decision_term.source and "BWBR0005537" in rules.decision_term.url
    assert rules.suspension.while_status == "aanvulling_gevraagd"
    shorter = rules.model_copy(update={"decision_term": rules.decision_term.model_copy(
        update={"weeks": 6})})  # fmt: skip
    assert deadline("2026-03-02T10:00:00Z", [], shorter).due == date(2026, 4, 13)


@given(
    received=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    pauses=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 60)), max_size=4),
)
def test_a_suspension_never_shortens_the_term(
    received: datetime, pauses: list[tuple[int, int]]
) -> None:
    at = received.replace(hour=12, tzinfo=UTC)  # noon: a day in UTC is that day in NL too
    history = [step("ingediend", at.isoformat())]
    for wait, pause in pauses:
        at += timedelta(days=wait)
        history.append(step("aanvulling_gevraagd", at.isoformat(), "in_behandeling"))
        at += timedelta(days=pause)
        history.append(step("aangevuld", at.isoformat(), "aanvulling_gevraagd"))
    term = deadline(history[0]["at"], history)
    assert term.due is not None
    assert term.due - term.received == timedelta(weeks=8, days=term.suspended_days)
    assert term.suspended_days == sum(max(0, p - 1) for _, p in pauses)


@given(
    received=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    pauses=st.lists(
        st.tuples(st.integers(0, 30), st.integers(1, 60), st.integers(1, 60)), max_size=4
    ),
)
def test_a_suspension_lasts_at_most_the_term_given(
    received: datetime, pauses: list[tuple[int, int, int]]
) -> None:
    """Each request with a last day `term` days after it, supplemented `pause` days after it:
    suspended from the day after the request up to the supplement or the day after the last
    day, whichever comes first (that day not counted)."""
    at = received.replace(hour=12, tzinfo=UTC)  # noon: a day in UTC is that day in NL too
    history = [step("ingediend", at.isoformat())]
    for wait, pause, term in pauses:
        at += timedelta(days=wait)
        asked = step("aanvulling_gevraagd", at.isoformat(), "in_behandeling")
        asked["due_on"] = at.date() + timedelta(days=term)
        history.append(asked)
        at += timedelta(days=pause)
        history.append(step("aangevuld", at.isoformat(), "aanvulling_gevraagd"))
    result = deadline(history[0]["at"], history, now=at.date())
    assert result.due is not None and not result.suspended_now
    assert result.suspended_days == sum(min(p, t + 1) - 1 for _, p, t in pauses)
    assert result.due - result.received == timedelta(weeks=8, days=result.suspended_days)


def test_amounts_and_dates_as_people_type_them() -> None:
    assert parse_amount("16.850,00") == parse_amount("16850,00") == parse_amount("€ 16850.00")
    assert parse_amount("0") == 0 and parse_amount("12,5") is not None
    for bad in ("", "veel", "1,234", "16.85,00", "-5", "1e3"):
        assert parse_amount(bad) is None, bad
    assert parse_day("28-11-2026") == parse_day("2026-11-28") == date(2026, 11, 28)
    for bad in ("", "31-02-2026", "gisteren", "2026/11/28"):
        assert parse_day(bad) is None, bad


# --- who may ------------------------------------------------------------------------------------


def test_nobody_signed_in_is_sent_to_the_login_page(client: TestClient) -> None:
    r = client.get("/beoordelen", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inloggen?terug=/beoordelen"


@pytest.mark.parametrize(("rol", "organisatie"), [("aanvrager", "GM9901"), ("auditor", "BZK")])
def test_other_roles_cannot_open_the_queue_or_a_claim(
    team: Team, rol: str, organisatie: str
) -> None:
    aanvraag_id = submit(team)
    person = signed_in(team, rol, organisatie)
    for url in ("/beoordelen", f"/beoordelen/{aanvraag_id}"):
        r = person.get(url)
        assert r.status_code == 403 and "U heeft geen toegang tot deze pagina" in r.text
        assert '<html lang="nl"' in r.text
    r = person.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    assert r.status_code == 403
    refused = refusals(team.client)
    assert len(refused) == 3 and all(e["actor"] == person.account_id for e in refused)
    assert {e["details"]["reden"] for e in refused} == {"rol"}
    assert status_of(team, aanvraag_id) == "ingediend"


def test_an_assessor_of_another_organisation_gets_404(team: Team) -> None:
    aanvraag_id = submit(team)
    other = signed_in(team, "beoordelaar", "GM9902")
    assert aanvraag_id not in other.get("/beoordelen").text
    r = other.get(f"/beoordelen/{aanvraag_id}")
    assert r.status_code == 404 and "Deze pagina bestaat niet" in r.text
    assert other.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {}).status_code == 404
    assert other.post(f"/beoordelen/{aanvraag_id}/aanvulling", {"reden": "x"}).status_code == 404
    refused = refusals(team.client)
    assert [e["object_id"] for e in refused] == [aanvraag_id] * 3
    assert {e["details"]["reden"] for e in refused} == {"andere_organisatie"}
    # an id that does not exist answers the same page, and is no refusal
    assert other.get("/beoordelen/" + "0" * 32).status_code == 404
    assert other.get("/beoordelen/geen-id").status_code == 404
    assert len(refusals(team.client)) == 3
    assert status_of(team, aanvraag_id) == "ingediend"


def test_a_post_without_the_session_token_is_refused(team: Team, assessor: Browser) -> None:
    aanvraag_id = submit(team)
    r = assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {"veld": ""}, csrf=False)
    assert r.status_code == 403
    r = assessor.post(
        f"/beoordelen/{aanvraag_id}/in-behandeling", {"csrf_token": "geraden"}, csrf=False
    )
    assert r.status_code == 403
    assert status_of(team, aanvraag_id) == "ingediend"


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_shows_open_claims_oldest_first_with_their_decision_date(
    team: Team, assessor: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = submit(team, "EERSTE"), submit(team, "TWEEDE")
    page = assessor.get("/beoordelen")
    assert page.status_code == 200
    body = text(page.text)
    assert body.index("EERSTE") < body.index("TWEEDE")
    received = datetime.now(UTC).astimezone(beoordelaar._TZ).date()
    due = received + timedelta(weeks=8)
    assert f"{due.day} " in body and "nog 56 dagen" in body and "Te laat" not in body
    assert f'href="/beoordelen/{first}"' in page.text
    assert "artikel 4:13" in body
    # after the term: marked in words, not by colour alone
    monkeypatch.setattr(beoordelaar, "today", lambda: due + timedelta(days=3))
    body = text(assessor.get("/beoordelen").text)
    assert body.count("Te laat") == 2 and "3 dagen te laat" in body
    # a decided claim leaves the open queue and shows under its own filter
    assessor.post(f"/beoordelen/{second}/in-behandeling", {})
    assessor.post(f"/beoordelen/{second}/besluit", {"keuze": "advies", "actie": "vastleggen"})
    assert "TWEEDE" not in assessor.get("/beoordelen").text
    decided = text(assessor.get("/beoordelen?toon=besloten").text)
    assert "TWEEDE" in decided and "EERSTE" not in decided
    assert assessor.get("/beoordelen?toon=onzin&pagina=x").status_code == 200


def test_the_queue_reads_one_page_of_open_claims_oldest_first(
    team: Team, assessor: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(beoordelaar, "QUEUE_PAGE", 2)
    names = ["EEN", "TWEE", "DRIE", "VIER", "VIJF"]
    ids = [submit(team, name) for name in names]
    assessor.post(f"/beoordelen/{ids[1]}/in-behandeling", {})  # still open
    assert team.gemeente.post(f"/v1/aanvragen/{ids[2]}/intrekking").status_code == 200
    app: Any = team.client.app
    asked: list[dict[str, Any]] = []
    page_of = app.state.store.page

    def counted(**kwargs: Any) -> Any:
        asked.append(kwargs)
        return page_of(**kwargs)

    monkeypatch.setattr(app.state.store, "page", counted)
    shown = [text(assessor.get(f"/beoordelen?pagina={n}").text) for n in (1, 2, 9)]
    for body, expected in zip(shown, (["EEN", "TWEE"], ["VIER", "VIJF"], ["VIER", "VIJF"]),
                              strict=True):  # fmt: skip
        present = [n for n in names if f"Aanvraag {n}" in body or f" {n} " in body]
        assert present == expected, body
    # one query per page (two for a page beyond the last), never the whole queue
    assert [a["page"] for a in asked] == [1, 2, 9, 2]
    assert all(a["size"] == 2 and a["oldest_first"] for a in asked)
    assert all(set(a["statuses"]) == set(beoordelaar.OPEN_STATUSES) for a in asked)


# --- one claim and its actions -------------------------------------------------------------------


def test_the_claim_page_shows_calculation_findings_advice_and_history(
    team: Team, assessor: Browser
) -> None:
    aanvraag_id = submit(team)
    r = assessor.get(f"/beoordelen/{aanvraag_id}")
    assert r.status_code == 200
    body = text(r.text)
    assert "Gedeeltelijk toekennen" in body and "€ 16.850,00" in body and "€ 19.350,00" in body
    assert "per eenheid" in body and "afwijking" in body
    assert "Bron:" in body and "Ingediend" in body
    assert 'action="/beoordelen/' + aanvraag_id + '/in-behandeling"' in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_take_ask_for_information_with_errors_next_to_the_field(
    team: Team, assessor: Browser
) -> None:
    aanvraag_id = submit(team)
    r = assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    assert r.status_code == 303 and r.headers["location"].endswith("?gedaan=in-behandeling")
    assert "in behandeling genomen" in assessor.get(r.headers["location"]).text
    assert status_of(team, aanvraag_id) == "in_behandeling"
    # a second time: the claim moved on, said in words
    r = assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    assert r.status_code == 409 and "Dit kan nu niet" in r.text

    r = assessor.post(f"/beoordelen/{aanvraag_id}/aanvulling", {"reden": "   "})
    assert r.status_code == 400
    assert 'id="veld-reden-fout"' in r.text and 'href="#veld-reden"' in r.text
    assert 'aria-invalid="true"' in r.text and "<title>Fout: " in r.text
    r = assessor.post(f"/beoordelen/{aanvraag_id}/aanvulling", {"reden": "x" * 2001})
    assert r.status_code == 400 and "2001 tekens" in r.text

    reason = "Stuur de offerte van het hekwerk."
    r = assessor.post(f"/beoordelen/{aanvraag_id}/aanvulling", {"reden": reason})
    assert r.status_code == 303
    assert status_of(team, aanvraag_id) == "aanvulling_gevraagd"
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}").text)
    assert reason in page and "Opgeschort" in page
    assert "aanvraag.aanvulling_vragen" in actions(team.client)
    assert all(reason not in json.dumps(e) for e in actions(team.client))


def test_decide_with_the_advice_after_a_preview_then_letter_and_objection(
    team: Team, assessor: Browser
) -> None:
    aanvraag_id = submit(team)
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    follow = {"keuze": "advies"}
    r = assessor.post(f"/beoordelen/{aanvraag_id}/besluit", follow | {"actie": "voorbeeld"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    # marked as `vangnet.letters` marks every letter that is no decision (forms/letters)
    assert '<div class="markering" role="note">CONCEPT</div>' in r.text
    assert "16.850,00" in r.text
    assert r.headers["content-security-policy"] == beoordelaar.LETTER_CSP
    assert status_of(team, aanvraag_id) == "in_behandeling"  # the preview stores nothing

    r = assessor.post(f"/beoordelen/{aanvraag_id}/besluit", follow | {"actie": "vastleggen"})
    assert r.status_code == 303 and r.headers["location"].endswith("?gedaan=besluit")
    assert status_of(team, aanvraag_id) == "besloten"
    page = assessor.get(f"/beoordelen/{aanvraag_id}").text
    besluit_id = re.search(r'/beoordelen/besluiten/([0-9a-f]{32})/brief"', page)
    assert besluit_id, page
    bid = besluit_id[1]
    html = assessor.get(f"/beoordelen/besluiten/{bid}/brief")
    assert html.status_code == 200 and "CONCEPT" not in html.text and "16.850,00" in html.text
    pdf = assessor.get(f"/beoordelen/besluiten/{bid}/brief.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert actions(team.client).count("brief.downloaden") == 2
    assert "brief.voorbeeld_bekijken" in actions(team.client)

    # the objection: the date is checked next to its field
    url = f"/beoordelen/besluiten/{bid}/bezwaar"
    r = assessor.post(url, {"ontvangen": "gisteren"})
    assert r.status_code == 400 and 'id="veld-ontvangen-fout"' in r.text
    r = assessor.post(url, {"ontvangen": "01-01-2001"})
    assert r.status_code == 400 and "mag niet voor de datum van het besluit liggen" in r.text
    today = datetime.now(UTC).astimezone(beoordelaar._TZ).date()
    r = assessor.post(url, {"ontvangen": today.strftime("%d-%m-%Y")})
    assert r.status_code == 303
    assert "Ontvangen op" in assessor.get(f"/beoordelen/{aanvraag_id}").text
    assert "bezwaar.registreren" in actions(team.client)

    # another organisation's assessor: 404 for the letter, logged
    other = signed_in(team, "beoordelaar", "GM9902")
    assert other.get(f"/beoordelen/besluiten/{bid}/brief.pdf").status_code == 404
    assert other.post(url, {"ontvangen": "01-01-2030"}).status_code == 404
    assert [e["object_id"] for e in refusals(team.client)] == [bid, bid]


def test_an_override_needs_a_motivation_and_valid_fields(team: Team, assessor: Browser) -> None:
    aanvraag_id = submit(team)
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    url = f"/beoordelen/{aanvraag_id}/besluit"
    r = assessor.post(url, {"keuze": "afwijken", "uitkomst": "", "bedrag": "veel"})
    assert r.status_code == 400
    for name in ("uitkomst", "bedrag", "motivering"):
        assert f'id="veld-{name}-fout"' in r.text and f'href="#veld-{name}"' in r.text
    assert 'value="veel"' in r.text  # what was typed stays
    # the amount must fit the outcome (the service's check, shown at the field)
    motivation = "Het alarm is volgens de politie nodig."
    bad = {"keuze": "afwijken", "uitkomst": "toekennen", "bedrag": "100", "motivering": motivation}
    r = assessor.post(url, bad | {"actie": "vastleggen"})
    assert r.status_code == 400 and 'id="veld-bedrag-fout"' in r.text and "19.350,00" in r.text
    assert status_of(team, aanvraag_id) == "in_behandeling"

    good = bad | {"bedrag": "19.350,00", "actie": "vastleggen"}
    r = assessor.post(url, good)
    assert r.status_code == 303
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}").text)
    assert "wijkt af van het advies" in page and motivation in page
    assert "besluit.afwijken_van_advies" in actions(team.client)


def test_attachments_are_downloaded_through_the_page(team: Team, assessor: Browser) -> None:
    aanvraag_id = submit(team)
    r = team.gemeente.post(
        f"/v1/aanvragen/{aanvraag_id}/bijlagen?soort=offerte",
        content=PDF,
        headers={"Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    bijlage_id = r.json()["id"]
    page = assessor.get(f"/beoordelen/{aanvraag_id}").text
    assert f'href="/beoordelen/bijlagen/{bijlage_id}"' in page and "Offerte" in page
    r = assessor.get(f"/beoordelen/bijlagen/{bijlage_id}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-disposition"] == f'attachment; filename="bijlage-{bijlage_id}.pdf"'
    assert "bijlage.downloaden" in actions(team.client)
    other = signed_in(team, "beoordelaar", "GM9902")
    assert other.get(f"/beoordelen/bijlagen/{bijlage_id}").status_code == 404
    # a besluit can rest on it: a check box per attachment
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    r = assessor.post(
        f"/beoordelen/{aanvraag_id}/besluit",
        {"keuze": "advies", "actie": "vastleggen", f"bijlage-{bijlage_id}": "ja"},
    )
    assert r.status_code == 303
    besluit = team.gemeente.get(f"/v1/aanvragen/{aanvraag_id}").json()["besluiten"][0]
    full = team.gemeente.get(besluit["href"]).json()
    assert [x["id"] for x in full["attachments"]] == [bijlage_id]


def test_an_advice_of_further_research_is_decided_by_the_assessor_alone(
    team: Team, assessor: Browser
) -> None:
    claim = json.loads((PUBLIC_SCENARIOS / "P08.claim.json").read_text())
    r = team.gemeente.post("/v1/aanvragen", json=claim)
    assert r.status_code == 201, r.text
    aanvraag_id = r.json()["id"]
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    page = assessor.get(f"/beoordelen/{aanvraag_id}").text
    assert 'name="keuze" value="advies"' not in page and "Zelf besluiten" in page
    # following an advice that is no besluit is not possible, even when posted
    r = assessor.post(f"/beoordelen/{aanvraag_id}/besluit", {"keuze": "advies"})
    assert r.status_code == 400 and status_of(team, aanvraag_id) == "in_behandeling"
    r = assessor.post(
        f"/beoordelen/{aanvraag_id}/besluit",
        {"keuze": "afwijken", "uitkomst": "afwijzen", "bedrag": "0", "motivering": "Geen advies."},
    )
    assert r.status_code == 303 and status_of(team, aanvraag_id) == "besloten"


def test_an_employer_body_decides_its_own_claims(team: Team, assessor: Browser) -> None:
    claim = json.loads((PUBLIC_SCENARIOS / "P11.claim.json").read_text())
    r = team.andere_gemeente.post("/v1/aanvragen", json=claim)
    assert r.status_code == 201, r.text
    aanvraag_id = r.json()["id"]
    own = signed_in(team, "beoordelaar", "GM9902")
    assert f"/beoordelen/{aanvraag_id}" in own.get("/beoordelen").text
    page = own.get(f"/beoordelen/{aanvraag_id}")
    assert page.status_code == 200 and "Gemeente Voorbeeld" in page.text
    assert f"/beoordelen/{aanvraag_id}" not in assessor.get("/beoordelen").text
    assert assessor.get(f"/beoordelen/{aanvraag_id}").status_code == 404


# --- replacing the current besluit: a correction, a decision on an objection ---------------------


def _decided(team: Team, assessor: Browser) -> tuple[str, str]:
    """A claim decided with the advice (P06: gedeeltelijk, € 16.850,00): (aanvraag, besluit)."""
    aanvraag_id = submit(team)
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    r = assessor.post(f"/beoordelen/{aanvraag_id}/besluit", {"keuze": "advies"})
    assert r.status_code == 303, r.text
    found = re.search(
        r'/beoordelen/besluiten/([0-9a-f]{32})/vervangen"',
        assessor.get(f"/beoordelen/{aanvraag_id}").text,
    )
    assert found
    return aanvraag_id, found[1]


def test_a_correction_is_checked_previewed_and_then_replaces_the_besluit(
    team: Team, assessor: Browser
) -> None:
    aanvraag_id, bid = _decided(team, assessor)
    page = assessor.get(f"/beoordelen/{aanvraag_id}").text
    # filled in with what the besluit decided; no decision on an objection without one
    assert 'value="16850,00"' in page
    assert re.search(r'<option value="gedeeltelijk" selected>', page)
    assert 'value="beslissing_op_bezwaar"' not in page

    url = f"/beoordelen/besluiten/{bid}/vervangen"
    r = assessor.post(url, {"soort": "", "uitkomst": "gedeeltelijk", "bedrag": "17.000,00"})
    assert r.status_code == 400
    for name in ("soort", "motivering"):
        assert f'id="veld-{name}-fout"' in r.text and f'href="#veld-{name}"' in r.text
    assert 'value="17.000,00"' in r.text  # what was typed stays
    # the amount must fit the outcome: the service's check, next to the field
    why = "Het bedrag van de deur was verkeerd overgenomen."
    form = {"soort": "correctie", "uitkomst": "afwijzen", "bedrag": "17000", "motivering": why}
    r = assessor.post(url, form)
    assert r.status_code == 400 and 'id="veld-bedrag-fout"' in r.text
    assert "moet 0,00 zijn bij afwijzen" in r.text

    form |= {"uitkomst": "gedeeltelijk"}
    r = assessor.post(url, form | {"actie": "voorbeeld"})
    assert r.status_code == 200 and "CONCEPT" in r.text and "17.000,00" in r.text
    assert r.headers["content-security-policy"] == beoordelaar.LETTER_CSP
    assert "besluit.corrigeren" not in actions(team.client)  # a preview stores nothing

    r = assessor.post(url, form | {"actie": "vastleggen"})
    assert r.status_code == 303 and r.headers["location"].endswith("?gedaan=correctie")
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}?gedaan=correctie").text)
    assert "De correctie is vastgelegd" in page
    assert "Correctie 2 (geldt nu)" in page and "Besluit 1 (vervangen)" in page
    assert why in page and "17.000,00" in page
    assert "besluit.corrigeren" in actions(team.client)
    # the replaced besluit cannot be replaced again
    r = assessor.post(url, form | {"actie": "vastleggen"})
    assert r.status_code == 409
    body = team.gemeente.get(f"/v1/aanvragen/{aanvraag_id}").json()
    assert len(body["besluiten"]) == 2


def test_a_decision_on_an_objection_needs_the_objection_first(
    team: Team, assessor: Browser
) -> None:
    aanvraag_id, bid = _decided(team, assessor)
    url = f"/beoordelen/besluiten/{bid}/vervangen"
    why = "Het bezwaar is gegrond: de politie adviseerde ook de camera."
    form = {
        "soort": "beslissing_op_bezwaar",
        "uitkomst": "toekennen",
        "bedrag": "19350,00",
        "motivering": why,
    }
    r = assessor.post(url, form)
    assert r.status_code == 409 and "geen bezwaar geregistreerd" in r.text
    assert "/v1/" not in text(r.text)  # the page's words, not the API's

    today = datetime.now(UTC).astimezone(beoordelaar._TZ).date()
    r = assessor.post(f"/beoordelen/besluiten/{bid}/bezwaar", {"ontvangen": f"{today:%d-%m-%Y}"})
    assert r.status_code == 303
    page = assessor.get(f"/beoordelen/{aanvraag_id}").text
    assert re.search(r'<option value="beslissing_op_bezwaar" selected>', page)
    r = assessor.post(url, form)
    assert r.status_code == 303 and r.headers["location"].endswith("?gedaan=beslissing_op_bezwaar")
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}").text)
    assert "Beslissing op bezwaar 2 (geldt nu)" in page and why in page
    assert "besluit.beslissen_op_bezwaar" in actions(team.client)
    letter = team.gemeente.get(f"/v1/aanvragen/{aanvraag_id}").json()["besluiten"][-1]
    assert letter["kind"] == "beslissing_op_bezwaar"


def test_only_the_deciding_organisations_assessor_replaces_a_besluit(
    team: Team, assessor: Browser
) -> None:
    _, bid = _decided(team, assessor)
    url = f"/beoordelen/besluiten/{bid}/vervangen"
    form = {"soort": "correctie", "uitkomst": "afwijzen", "bedrag": "0", "motivering": "Fout."}
    other = signed_in(team, "beoordelaar", "GM9902")
    assert other.post(url, form).status_code == 404
    applicant = signed_in(team, "aanvrager", "GM9901")
    assert applicant.post(url, form).status_code == 403
    assert assessor.post(url, form, csrf=False).status_code == 403
    assert [e["object_id"] for e in refusals(team.client)][:1] == [bid]
    assert "besluit.corrigeren" not in actions(team.client)


def test_ask_for_information_by_a_day_then_decide_when_it_passed_unused(
    team: Team, assessor: Browser
) -> None:
    aanvraag_id = submit(team)
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    url = f"/beoordelen/{aanvraag_id}/aanvulling"
    reason = "Stuur de offerte van de deur."
    r = assessor.post(url, {"reden": reason, "uiterlijk": "morgen"})
    assert r.status_code == 400 and 'id="veld-uiterlijk-fout"' in r.text
    today = beoordelaar.today()
    r = assessor.post(url, {"reden": reason, "uiterlijk": f"{today:%d-%m-%Y}"})
    assert r.status_code == 400 and "moet na vandaag liggen" in r.text
    day = today + timedelta(days=14)
    r = assessor.post(url, {"reden": reason, "uiterlijk": f"{day:%d-%m-%Y}"})
    assert r.status_code == 303
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}").text)
    assert "Opgeschort: u wacht op informatie van de aanvrager, uiterlijk" in page
    assert "Besluit volgens het advies vastleggen" not in page
    assert "P06" not in text(assessor.get("/beoordelen").text)  # not open while it waits

    app: Any = team.client.app
    with app.state.store.engine.begin() as c:
        c.execute(
            sql_text("UPDATE statusovergang SET due_on = :d WHERE aanvraag_id = :a"
                     " AND to_status = 'aanvulling_gevraagd'"),
            {"d": today - timedelta(days=1), "a": aanvraag_id},
        )  # fmt: skip
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}").text)
    assert "De aanvrager heeft de aanvraag niet aangevuld" in page
    assert "Besluit volgens het advies vastleggen" in page
    queue = text(assessor.get("/beoordelen?toon=aanvulling_gevraagd").text)
    assert "Niet aangevuld" in queue and "u kunt besluiten" in queue
    # and among the open claims: it waits for the assessor now
    assert "Niet aangevuld" in text(assessor.get("/beoordelen").text)
    r = assessor.post(f"/beoordelen/{aanvraag_id}/besluit", {"keuze": "advies"})
    assert r.status_code == 303 and status_of(team, aanvraag_id) == "besloten"


def test_extend_the_decision_term_on_the_claim_page(team: Team, assessor: Browser) -> None:
    aanvraag_id = submit(team)
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    url = f"/beoordelen/{aanvraag_id}/verdaging"
    r = assessor.post(url, {"verdaging_reden": "", "verdaging_datum": "volgende maand"})
    assert r.status_code == 400
    for name in ("verdaging_reden", "verdaging_datum"):
        assert f'id="veld-{name}-fout"' in r.text and f'href="#veld-{name}"' in r.text
    due = beoordelaar.today() + timedelta(weeks=8)  # received today: the plain term
    r = assessor.post(url, {"verdaging_reden": "Het advies komt later.",
                            "verdaging_datum": f"{due:%d-%m-%Y}"})  # fmt: skip
    assert r.status_code == 400 and "moet na de huidige beslisdatum liggen" in r.text
    later = due + timedelta(weeks=3)
    r = assessor.post(url, {"verdaging_reden": "Het advies komt later.",
                            "verdaging_datum": f"{later:%d-%m-%Y}"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("?gedaan=verdaging")
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}?gedaan=verdaging").text)
    assert "De verdaging is vastgelegd" in page and "verdaagd tot" in page
    assert "artikel 4:14, derde lid" in page
    queue = text(assessor.get("/beoordelen").text)
    assert "verdaagd" in queue
    assert "aanvraag.verdagen" in actions(team.client)


def test_give_more_time_to_supplement_on_the_claim_page(team: Team, assessor: Browser) -> None:
    aanvraag_id = submit(team)
    assessor.post(f"/beoordelen/{aanvraag_id}/in-behandeling", {})
    assessor.post(f"/beoordelen/{aanvraag_id}/aanvulling", {"reden": "Stuur de offerte."})
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}").text)
    assert "Meer tijd geven om aan te vullen" in page
    url = f"/beoordelen/{aanvraag_id}/aanvultermijn"
    r = assessor.post(url, {"aanvultermijn_datum": "later"})
    assert r.status_code == 400 and 'id="veld-aanvultermijn_datum-fout"' in r.text
    r = assessor.post(url, {"aanvultermijn_datum": f"{beoordelaar.today():%d-%m-%Y}"})
    assert r.status_code == 400 and "huidige laatste dag" in r.text
    later = beoordelaar.today() + timedelta(weeks=8)
    r = assessor.post(url, {"aanvultermijn_datum": f"{later:%d-%m-%Y}",
                            "aanvultermijn_reden": "De aanvrager wacht op de politie."})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("?gedaan=aanvultermijn")
    page = text(assessor.get(f"/beoordelen/{aanvraag_id}?gedaan=aanvultermijn").text)
    assert "De nieuwe laatste dag om aan te vullen is vastgelegd" in page
    # the applicant's page: the original question, the new last day
    applicant = team.gemeente.get(f"/v1/aanvragen/{aanvraag_id}").json()
    assert applicant["history"][-1]["due_on"] == later.isoformat()
