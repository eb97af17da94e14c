"""The pre-check pages with plain form posts (what a browser without JavaScript sends)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient

from vangnet.excel import load_forms
from vangnet.service.audit import AuditEntry, AuditEvent, AuditLog
from vangnet.service.audit_buffer import AuditBuffer
from vangnet.web.claimform import line_fields

GOOD = {
    "actie": "beoordelen",
    "regels": "2",
    "reference_date": "01-03-2016",
    "applicant.type": "gemeente",
    "applicant.name": "Gemeente Voorbeeld",
    "office_holder.role": "raadslid",
    "office_holder.reference": "RL-A",
    "municipality.name": "Voorbeeld",
    "municipality.inhabitants": "2000",
    "threat.status": "expliciet",
    "threat.assessed_by": "politie",
    "measures[0].code": "ALARM_PAC",
    "measures[0].description": "Alarm met doormelding",
    "measures[0].quantity": "1",
    "measures[0].unit_price_eur": "2600",
    "measures[0].advised": "ja",
    # line 2 is left blank: it is skipped
}


def _error_of(html: str, field_id: str) -> str:
    m = re.search(rf'id="{field_id}-fout">(.*?)</div>', html, re.S)
    assert m, f"no error next to {field_id}"
    return re.sub(r"<[^>]+>", "", m[1]).strip().removeprefix("Fout: ")


def test_the_form_offers_every_field_of_the_intake_form_and_the_catalogue(
    client: TestClient,
) -> None:
    html = client.get("/vooraf").text
    for f in load_forms().current.fields:
        assert f'name="{f.path}"' in html and f.label in html
    assert 'name="measures[0].code"' in html and 'name="measures[1].code"' not in html
    assert '<option value="ALARM_PAC">' in html and "niet in de catalogus" in html
    assert 'value="beoordelen"' in html and 'value="regel-toevoegen"' in html
    # the evaluating button comes first: Enter in a text field evaluates
    assert html.index('value="beoordelen"') < html.index('value="regel-toevoegen"')


def test_add_a_line_without_javascript_keeps_every_value(client: TestClient) -> None:
    r = client.post("/vooraf", data={**GOOD, "actie": "regel-toevoegen"})
    assert r.status_code == 200
    html = r.text
    assert 'name="measures[2].code"' in html and 'name="regels" value="3"' in html
    assert re.search(r'id="veld-measures-2-code" name="measures\[2\]\.code"[^>]*autofocus', html)
    assert 'value="Gemeente Voorbeeld"' in html and 'value="2000"' in html
    assert '<option value="ALARM_PAC" selected>' in html
    assert "vn-error-summary" not in html  # nothing is checked before evaluating


def test_a_valid_claim_gives_the_result_with_criteria_lines_and_counterfactuals(
    client: TestClient,
) -> None:
    r = client.post("/vooraf", data=GOOD)
    assert r.status_code == 200, r.text[:2000]
    html = r.text
    assert "Uitkomst van de beoordeling vooraf" in html
    assert "Toekennen" in html and "€ 2.600,00" in html
    for rule in ("VN-AANVRAGER", "VN-DOELGROEP", "VN-DREIGING", "VN-ONEVENREDIG"):
        assert f"regel {rule}" in html
    assert "Inbraakalarm met doormelding" in html  # the catalogue's name beside the line
    assert "Wat zou de uitkomst veranderen?" in html
    assert 'href="/regelsets/vangnet/2016.1"' in html
    # the values travel along, to change the claim without retyping it
    assert '<input type="hidden" name="measures[0].unit_price_eur" value="2600">' in html


def test_a_rejected_claim_shows_the_counterfactual_that_would_help(client: TestClient) -> None:
    data = {**GOOD, "threat.status": "onbekend"}
    html = client.post("/vooraf", data=data).text
    assert "Afwijzen" in html or "Nader onderzoek" in html
    assert "vn-counterfactual" in html and "Zo toont u dit aan" in html


def test_errors_are_next_to_their_fields_and_linked_from_the_summary(client: TestClient) -> None:
    data = {
        **GOOD,
        "regels": "3",
        "municipality.inhabitants": "veel",
        "threat.status": "",
        "measures[0].unit_price_eur": "-5",
        # line 2 blank, line 3 filled in wrongly: its problems name line 3
        "measures[2].description": "Camera",
        "measures[2].quantity": "1,234",
        "measures[2].unit_price_eur": "100",
    }
    r = client.post("/vooraf", data=data)
    assert r.status_code == 400
    html = r.text
    assert "<title>Fout: " in html
    expected = {
        "veld-municipality-inhabitants": "Aantal inwoners moet een heel getal zijn",
        "veld-threat-status": "Soort dreiging is leeg",
        "veld-measures-0-unit-price-eur": "Maatregel 1: Prijs per eenheid (euro, met btw) moet 0 of",
        "veld-measures-2-code": "Maatregel 3: maatregel is leeg",
        "veld-measures-2-quantity": "Maatregel 3: Aantal heeft meer dan twee decimalen",
    }
    summary = html.split('class="utrecht-alert', 1)[1].split("</div>", 2)[0]
    for field_id, start in expected.items():
        assert _error_of(html, field_id).startswith(start), field_id
        assert f'href="#{field_id}"' in summary
        assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', html)
    assert 'value="veel"' in html  # what was typed is shown again


def test_a_scheme_requirement_and_a_date_without_rules_land_on_their_fields(
    client: TestClient,
) -> None:
    data = {k: v for k, v in GOOD.items() if not k.startswith("threat.")}
    html = client.post("/vooraf", data=data).text
    assert _error_of(html, "veld-threat-status").startswith("Dreiging is verplicht")
    html = client.post("/vooraf", data={**GOOD, "reference_date": "01-01-2010"}).text
    assert "Er is geen versie van de regeling vangnet" in _error_of(html, "veld-reference-date")


def test_a_claim_without_lines_asks_for_one(client: TestClient) -> None:
    data = {k: v for k, v in GOOD.items() if not k.startswith("measures")}
    html = client.post("/vooraf", data=data).text
    assert "minstens één regel" in _error_of(html, "veld-measures-0-code")


def test_too_many_pre_checks_is_the_429_page(client: TestClient) -> None:
    client.app.state.rate_limiter.per_minute = 1  # type: ignore[attr-defined]
    data = {**GOOD, "measures[0].unit_price_eur": "x"}
    assert client.post("/vooraf", data=data).status_code == 400
    r = client.post("/vooraf", data=data)
    assert r.status_code == 429
    assert "Te veel verzoeken" in r.text and int(r.headers["Retry-After"]) >= 1


def test_posts_from_another_site_and_other_bodies_are_refused(client: TestClient) -> None:
    r = client.post("/vooraf", data=GOOD, headers={"Origin": "https://elders.example"})
    assert r.status_code == 403 and "geen toegang" in r.text
    r = client.post("/vooraf", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415 and r.headers["content-type"].startswith("text/html")
    big = b"a=" + b"x" * (1024 * 1024 + 10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/vooraf", content=big, headers=headers).status_code == 413


def _prechecks(client: TestClient) -> list[AuditEntry]:
    state: Any = client.app.state  # type: ignore[attr-defined]
    found: list[AuditEntry] = state.audit.entries(state.store.engine, limit=10_000)
    return [e for e in found if e.action == "evaluatie.uitvoeren"]


def test_every_pre_check_is_in_the_audit_log_without_its_content(client: TestClient) -> None:
    state: Any = client.app.state  # type: ignore[attr-defined]
    assert state.audit_buffer is not None  # the service's buffer, as the API's pre-check uses
    assert client.post("/vooraf", data={**GOOD, "actie": "regel-toevoegen"}).status_code == 200
    assert client.post("/vooraf", data=GOOD).status_code == 200
    assert client.post("/vooraf", data={**GOOD, "measures[0].quantity": "x"}).status_code == 400
    assert state.audit_buffer.flush(timeout=30)
    decided, refused = _prechecks(client)  # showing the form again is no pre-check
    assert decided.actor == "anoniem" and decided.result == "gelukt"
    assert decided.details["vorm"] == "formulier" and decided.details["uitkomst"] == "toekennen"
    assert re.fullmatch(r"[0-9a-f]{64}", decided.details["claim_sha256"])
    assert refused.details == {"vorm": "formulier", "uitkomst": "geweigerd"}
    text = json.dumps([e.as_dict() for e in (decided, refused)])
    assert "Voorbeeld" not in text and "RL-A" not in text
    assert state.audit.verify(state.store.engine).ok

    # without a buffer the entry is written before the answer
    buffer = state.audit_buffer
    del state.audit_buffer
    try:
        assert client.post("/vooraf", data=GOOD).status_code == 200
        assert len(_prechecks(client)) == 3
    finally:
        state.audit_buffer = buffer


def test_a_full_audit_queue_is_the_503_page_and_loses_no_entry(client: TestClient) -> None:
    state: Any = client.app.state  # type: ignore[attr-defined]
    gate, entered = threading.Event(), threading.Event()
    log = AuditLog(state.audit._key)  # the service's key: the chain stays verifiable

    def slow(engine: Any, events: Sequence[AuditEvent]) -> list[int]:
        entered.set()
        gate.wait(30)
        return state.audit.record_many(engine, events)

    log.record_many = slow  # type: ignore[method-assign]
    buffer = AuditBuffer(log, state.store.engine, max_batch=1, capacity=1, max_delay=0,
                         put_timeout=0.2)  # fmt: skip
    service_buffer = state.audit_buffer
    state.audit_buffer = buffer
    try:
        assert client.post("/vooraf", data=GOOD).status_code == 200
        assert entered.wait(10)  # the writer holds the first entry
        assert client.post("/vooraf", data=GOOD).status_code == 200
        busy = client.post("/vooraf", data=GOOD)  # the queue is full
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert busy.headers["content-type"].startswith("text/html")
        assert "Uitkomst van de beoordeling vooraf" not in busy.text
        gate.set()
        assert buffer.close() == 0
    finally:
        gate.set()
        buffer.close()
        state.audit_buffer = service_buffer
    assert len(_prechecks(client)) == 2  # the two answered, not the refused one
    assert state.audit.verify(state.store.engine).ok


def test_line_field_ids_follow_the_form_line() -> None:
    from vangnet.catalogue import load_catalogues

    fields = line_fields(load_forms().current, load_catalogues().versions[-1], 4)
    assert [f.name for f in fields][:2] == ["measures[4].code", "measures[4].description"]
    assert fields[0].id == "veld-measures-4-code"
