"""The three journeys of issue 9 end to end, in Debian's chromium with JavaScript disabled and
the keyboard only (Tab, typing, Enter, the space bar; a file dialog gets its file as a person
would pick it):

1. a municipal finance officer submits a claim through the web form (after a first try with
   mistakes) and one through the Excel intake form (after a first try with a wrong cell), and
   adds an attachment;
2. a BZK assessor takes the first claim into treatment and asks for information; the officer
   reads the request and supplements the claim; the assessor decides following the advice and
   downloads the letter (a PDF/A whose kenmerk the auditor uses); the officer downloads it too;
3. an auditor finds the decision by the letter's kenmerk, re-runs it and reads its entries in
   the audit log.

axe-core checks every page of the journeys for WCAG 2.0/2.1 A and AA (`tests/web/browser.py`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import (
    PASSWORD,
    Browser,
    Journey,
    Page,
    axe_violations,
    choose,
    choose_file,
    launch,
    press_button,
    serve,
    tab_to,
    type_in,
)
from vangnet.claim import parse_claim
from vangnet.evaluate import Decider
from vangnet.excel import fill_intake, load_forms
from vangnet.workers import EngineWorkers

OFFICER, ASSESSOR, AUDITOR = "fin-havendam", "beoordelaar-bzk", "auditor-bzk"
PDF = b"%PDF-1.4\n% offerte (test)\n"

# the claim typed into the web form, field by field in the order of the page
FIRST_TRY = [
    ("veld-claim-id", "REIS-1"),
    ("veld-reference-date", "01-03-2016"),
    ("veld-office-holder-reference", "RL-A"),
    ("veld-municipality-name", "Havendam"),
    ("veld-municipality-inhabitants", "veel"),
]
CHOICES = [
    ("veld-office-holder-role", "Raad"),
    ("veld-threat-assessed-by", "Pol"),
]
# the claim sent as an Excel workbook
WORKBOOK_CLAIM: dict[str, Any] = {
    "claim_id": "REIS-2",
    "reference_date": "2016-03-01",
    "applicant": {"type": "gemeente", "name": "Gemeente Havendam"},
    "office_holder": {"role": "wethouder", "reference": "WH-B"},
    "municipality": {"name": "Havendam", "inhabitants": 2000},
    "threat": {"status": "expliciet", "assessed_by": "politie"},
    "measures": [
        {
            "code": "ALARM_PAC",
            "description": "Alarm met doormelding",
            "quantity": 1,
            "unit_price_eur": 2500,
            "advised": True,
        }
    ],
}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, workers: EngineWorkers, validator: Decider
) -> Iterator[str]:
    """The service with a finance officer of Havendam, an assessor and an auditor of BZK."""
    with serve(tmp_path_factory.mktemp("data"), workers, validator) as (base, app):
        accounts = app.state.accounts
        accounts.add_organisation("GM9901", "Havendam (test)", "gemeente")
        accounts.add_organisation("BZK", "Ministerie van BZK (test)", "bzk")
        accounts.add_account(OFFICER, "GM9901", "aanvrager", PASSWORD)
        accounts.add_account(ASSESSOR, "BZK", "beoordelaar", PASSWORD)
        accounts.add_account(AUDITOR, "BZK", "auditor", PASSWORD)
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as b:
        yield b


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The files the officer picks: the workbook, one with a wrong cell, and a quote."""
    layout = load_forms().current
    good = tmp_path / "aanvraag.xlsx"
    fill_intake(parse_claim(WORKBOOK_CLAIM), good)
    import openpyxl

    workbook = openpyxl.load_workbook(good)
    price = next(c for c in layout.measures_sheet.columns if c.path == "unit_price_eur")
    workbook[layout.measures_sheet.title][f"{price.column}{layout.measures_sheet.first_row}"] = (
        "duur"
    )
    broken = tmp_path / "aanvraag-fout.xlsx"
    workbook.save(broken)
    quote = tmp_path / "offerte.pdf"
    quote.write_bytes(PDF)
    return {"good": good, "broken": broken, "quote": quote}


# --- steps ----------------------------------------------------------------------------------------


def log_in(page: Page, journey: Journey, name: str) -> None:
    page.goto(journey.base + "/")
    tab_to(page, text="Inloggen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    type_in(page, "veld-gebruikersnaam", name)
    type_in(page, "veld-wachtwoord", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/account"), page.url


def log_out(page: Page) -> None:
    press_button(page, "Uitloggen")
    assert page.locator("a", has_text="Inloggen").count() >= 1


def go_to_claims(page: Page, menu: str = "Aanvragen") -> None:
    """The menu's link to the role's own work: "Aanvragen" (the finance officer's claims),
    "Beoordelen" (the assessor's queue), "Controle" (the auditor's pages)."""
    tab_to(page, text=menu)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def officer_submits(page: Page, journey: Journey, files: dict[str, Path]) -> str:
    """Journey 1: the form (with mistakes first), Excel (with a wrong cell first), an
    attachment; the address of the first claim."""
    log_in(page, journey, OFFICER)
    go_to_claims(page)
    assert page.url.endswith("/aanvragen")
    journey.seen(page, "aanvrager-lijst-leeg")
    press_button(page, "Nieuwe aanvraag invullen")
    journey.seen(page, "aanvrager-nieuw")
    # the applicant comes from the account's organisation
    assert page.locator("#veld-applicant-name").input_value() == "Havendam (test)"
    for field_id, keys in FIRST_TRY:
        type_in(page, field_id, keys)
    for field_id, label in CHOICES:
        choose(page, field_id, label)
    choose(page, "veld-measures-0-code", "Inbraakalarm")
    type_in(page, "veld-measures-0-description", "Alarm met doormelding")
    type_in(page, "veld-measures-0-quantity", "1")
    type_in(page, "veld-measures-0-unit-price-eur", "2600")
    choose(page, "veld-measures-0-advised", "Ja")
    press_button(page, "Aanvraag indienen")
    journey.seen(page, "aanvrager-nieuw-fouten")
    summary = page.locator(".vn-error-summary a")
    hrefs = summary.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "#veld-threat-status" in hrefs and "#veld-municipality-inhabitants" in hrefs
    assert "heel getal" in page.locator("#veld-municipality-inhabitants-fout").inner_text()
    # follow the summary's first link, then correct both fields
    tab_to(page, text=summary.nth(0).inner_text())
    page.keyboard.press("Enter")
    type_in(page, "veld-municipality-inhabitants", "2000")
    choose(page, "veld-threat-status", "Expl")
    press_button(page, "Aanvraag indienen")
    assert re.search(r"/aanvragen/[0-9a-f]{32}\?melding=ingediend$", page.url), page.url
    claim_url = page.url.split("?")[0]
    assert page.locator("h1").inner_text() == "Aanvraag REIS-1"
    assert "Uw aanvraag is ingediend" in page.locator(".vn-notice").inner_text()
    assert page.get_by_role("heading", name="Wat zou de uitkomst veranderen?").is_visible()

    # an attachment: its kind by type-ahead, the file through the file dialog
    choose(page, "veld-soort", "Offerte")
    choose_file(page, "veld-bestand", files["quote"])
    press_button(page, "Bijlage toevoegen")
    assert "De bijlage is toegevoegd." in page.locator(".vn-notice").inner_text()
    journey.seen(page, "aanvrager-aanvraag")
    officer_sends_a_workbook(page, journey, files)
    log_out(page)
    return claim_url


def officer_sends_a_workbook(page: Page, journey: Journey, files: dict[str, Path]) -> None:
    """Excel: first a workbook with a wrong cell, then the right one."""
    go_to_claims(page)
    press_button(page, "Aanvraag indienen met Excel")
    journey.seen(page, "aanvrager-excel")
    choose_file(page, "veld-bestand", files["broken"])
    press_button(page, "Aanvraag indienen")
    journey.seen(page, "aanvrager-excel-fouten")
    layout = load_forms().current
    problems = page.locator(".vn-problem-list").inner_text()
    assert f"Blad {layout.measures_sheet.title}, cel " in problems
    choose_file(page, "veld-bestand", files["good"])
    press_button(page, "Aanvraag indienen")
    assert page.locator("h1").inner_text() == "Aanvraag REIS-2"
    go_to_claims(page)
    journey.seen(page, "aanvrager-lijst")
    assert page.locator("tbody tr").count() == 2


def assessor_asks(page: Page, journey: Journey, claim_id: str) -> None:
    """Journey 2, first half: the queue, take the claim, ask for information."""
    log_in(page, journey, ASSESSOR)
    go_to_claims(page, "Beoordelen")
    assert page.url.endswith("/beoordelen"), page.url
    journey.seen(page, "beoordelaar-wachtrij")
    press_button(page, "REIS-1")
    assert page.url.endswith(f"/beoordelen/{claim_id}")
    journey.seen(page, "beoordelaar-aanvraag")
    press_button(page, "In behandeling nemen")
    type_in(page, "veld-reden", "Stuur de offerte van het alarm en noem de datum van plaatsing.")
    press_button(page, "Om informatie vragen")
    journey.seen(page, "beoordelaar-gevraagd")
    log_out(page)


def officer_supplements(page: Page, journey: Journey, claim_url: str) -> None:
    log_in(page, journey, OFFICER)
    go_to_claims(page)
    press_button(page, "Aanvraag REIS-1")
    assert page.url == claim_url
    request = page.locator(".vn-request").inner_text()
    assert "Stuur de offerte van het alarm" in request
    journey.seen(page, "aanvrager-verzoek")
    press_button(page, "Aanvullen in het formulier")
    journey.seen(page, "aanvrager-aanvullen")
    assert page.locator("#veld-measures-0-unit-price-eur").input_value() == "2600,00"
    type_in(page, "veld-measures-0-date", "15-03-2016")
    press_button(page, "Aanvulling indienen")
    assert "Uw aanvulling is ontvangen" in page.locator(".vn-notice").inner_text()
    journey.seen(page, "aanvrager-aangevuld")
    log_out(page)


def assessor_decides(page: Page, journey: Journey, claim_id: str) -> str:
    """Journey 2, second half: decide following the advice, download the letter; its
    kenmerk."""
    log_in(page, journey, ASSESSOR)
    page.goto(f"{journey.base}/beoordelen/{claim_id}")
    journey.seen(page, "beoordelaar-aangevuld")
    press_button(page, "Besluit volgens het advies vastleggen")
    journey.seen(page, "beoordelaar-besloten")
    tab_to(page, starts="download de brief als PDF")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    log_out(page)
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    found = re.search(r"(BZK-vangnet-REIS-1-B1)", text.replace("\n", " "))
    assert found, "the letter names its kenmerk"
    return found[1]


def officer_downloads(page: Page, journey: Journey, claim_url: str) -> None:
    log_in(page, journey, OFFICER)
    page.goto(claim_url)
    journey.seen(page, "aanvrager-besloten")
    tab_to(page, starts="Brief (PDF)")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    log_out(page)


def auditor_checks(page: Page, journey: Journey, kenmerk: str) -> None:
    """Journey 3: find the decision by its kenmerk, re-run it, read its audit entries."""
    log_in(page, journey, AUDITOR)
    go_to_claims(page, "Controle")
    assert page.url.endswith("/audit"), page.url
    journey.seen(page, "auditor-start")
    press_button(page, "Een besluit zoeken")
    journey.seen(page, "auditor-zoeken")
    type_in(page, "veld-zoek", kenmerk)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/audit/besluiten/" in page.url
    journey.seen(page, "auditor-besluit")
    press_button(page, "Opnieuw berekenen")
    assert "Opnieuw berekend: gelijk" in page.locator("main").inner_text()
    journey.seen(page, "auditor-herberekend")
    log_table = page.locator("#logregels-titel").locator("xpath=ancestor::table").inner_text()
    for action in ("aanvraag.indienen", "aanvraag.aanvullen", "besluit.nemen", "brief.downloaden"):
        assert action in log_table, action
    log_out(page)


def test_the_three_journeys_with_the_keyboard_without_javascript_and_axe(
    server: str, browser: Browser, files: dict[str, Path]
) -> None:
    journey = Journey(server)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    try:
        page = context.new_page()
        claim_url = officer_submits(page, journey, files)
        claim_id = claim_url.rsplit("/", 1)[1]
        assessor_asks(page, journey, claim_id)
        officer_supplements(page, journey, claim_url)
        kenmerk = assessor_decides(page, journey, claim_id)
        officer_downloads(page, journey, claim_url)
        auditor_checks(page, journey, kenmerk)
        # JavaScript really was off: a <noscript> would show (checked on a page of our own)
        page.set_content("<noscript><p id='zonder'>zonder</p></noscript>")
        assert page.locator("#zonder").is_visible()
    finally:
        context.close()
    assert len(journey.pages) == 20
    assert axe_violations(browser, journey) == {}
