"""The pages in a real browser: Debian's chromium, driven by Playwright (never `playwright
install`), headless, without sandbox and background networking.

The pre-check journey is walked with key presses only (Tab, Enter, typing) in a context with
JavaScript disabled: the pages must work without it. Every page of the journey is then checked
with axe-core (from `node_modules/axe-core`, injected into a JavaScript-enabled context that
bypasses the pages' CSP, which forbids scripts) for WCAG 2.0/2.1 A and AA. The browser, the
keyboard helpers, axe-core and the screenshots (VANGNET_SCREENSHOTS=1) are in
`tests/web/browser.py`, shared with the end-to-end journeys (`test_journeys.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.browser import (
    PASSWORD,
    Browser,
    Journey,
    Page,
    axe_violations,
    choose,
    focused,
    launch,
    press_button,
    serve,
    tab_to,
    type_in,
)
from vangnet.evaluate import Decider
from vangnet.workers import EngineWorkers


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, workers: EngineWorkers, validator: Decider
) -> Iterator[str]:
    """The service on a free port, with a finance officer's account."""
    with serve(tmp_path_factory.mktemp("data"), workers, validator) as (base, app):
        app.state.accounts.add_organisation("GM9901", "Gemeente Een (demo)", "gemeente")
        app.state.accounts.add_account("demo-fin", "GM9901", "aanvrager", PASSWORD)
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as b:
        yield b


# --- the journey -----------------------------------------------------------------------------


CLAIM_KEYS = [
    ("veld-reference-date", "01-03-2016"),
    ("veld-applicant-name", "Gemeente Voorbeeld"),
    ("veld-office-holder-reference", "RL-A"),
    ("veld-municipality-name", "Voorbeeld"),
    ("veld-municipality-inhabitants", "45000"),
]
CLAIM_CHOICES = [
    ("veld-applicant-type", "Gem"),
    ("veld-office-holder-role", "Raad"),
    ("veld-threat-assessed-by", "Pol"),
]


def walk_precheck(page: Page, journey: Journey) -> None:
    page.goto(journey.base + "/")
    journey.seen(page, "start")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Direct naar de inhoud"
    page.keyboard.press("Enter")
    assert page.url.endswith("#inhoud")
    tab_to(page, text="Vooraf beoordelen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/vooraf")
    journey.seen(page, "vooraf")

    # a first try with two mistakes: no threat status, and a negative price
    for field_id, keys in CLAIM_KEYS:
        type_in(page, field_id, keys)
    for field_id, label in CLAIM_CHOICES:
        choose(page, field_id, label)
    choose(page, "veld-measures-0-code", "Inbraakalarm")
    type_in(page, "veld-measures-0-description", "Alarm met doormelding")
    type_in(page, "veld-measures-0-quantity", "1")
    type_in(page, "veld-measures-0-unit-price-eur", "-5")
    choose(page, "veld-measures-0-advised", "Ja")
    press_button(page, "Beoordelen")
    journey.seen(page, "vooraf-fouten")
    summary = page.locator(".vn-error-summary a")
    hrefs = summary.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "#veld-threat-status" in hrefs and "#veld-measures-0-unit-price-eur" in hrefs
    error = page.locator("#veld-measures-0-unit-price-eur-fout")
    assert "0 of meer" in error.inner_text()
    described = page.locator("#veld-measures-0-unit-price-eur").get_attribute("aria-describedby")
    assert described is not None and "veld-measures-0-unit-price-eur-fout" in described
    # the typed values are still there
    assert page.locator("#veld-municipality-inhabitants").input_value() == "45000"

    # follow the summary's link with the keyboard, then correct both fields
    tab_to(page, text=summary.nth(0).inner_text())
    page.keyboard.press("Enter")
    assert "#veld-" in page.url
    choose(page, "veld-threat-status", "Expl")
    type_in(page, "veld-measures-0-unit-price-eur", "3000")

    # a second line, without JavaScript: the form comes back with one more line, focused there
    press_button(page, "Nog een maatregel toevoegen")
    assert focused(page)["id"] == "veld-measures-1-code"
    assert page.locator("#veld-measures-0-unit-price-eur").input_value() == "3000"
    page.keyboard.type("niet in de")
    type_in(page, "veld-measures-1-description", "Extra hang- en sluitwerk achterdeur")
    type_in(page, "veld-measures-1-quantity", "2")
    type_in(page, "veld-measures-1-unit-price-eur", "250,50")
    press_button(page, "Beoordelen")
    journey.seen(page, "uitslag")

    check_result(page)

    # back to the form, as it was
    press_button(page, "Aanvraag wijzigen")
    assert page.locator("#veld-measures-1-unit-price-eur").input_value() == "250,50"
    journey.seen(page, "vooraf-gewijzigd")


def check_result(page: Page) -> None:
    assert page.locator("h1").inner_text() == "Uitkomst van de beoordeling vooraf"
    summary_text = page.locator(".vn-summary").inner_text()
    assert "Gevraagd" in summary_text and "€ 3.501,00" in summary_text
    assert page.locator(".vn-finding").count() == 4  # the vangnet criteria, each in words
    rows = page.locator(".vn-table tbody tr:not(.vn-explanation-row)")
    assert rows.count() == 2
    assert "€ 2.600,00" in rows.nth(0).inner_text()  # the neutral reference price
    assert "Niet in de catalogus" in rows.nth(1).inner_text()
    assert page.get_by_role("heading", name="Wat zou de uitkomst veranderen?").is_visible()


def walk_rules(page: Page, journey: Journey) -> None:
    page.goto(journey.base + "/")
    tab_to(page, text="Regels")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.seen(page, "regelsets")
    tab_to(page, text="Financieel Vangnet beveiliging politieke ambtsdragers")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/regelsets/vangnet/" in page.url
    journey.seen(page, "regelset")
    choose(page, "veld-naar", "vangnet-h")
    press_button(page, "Vergelijken")
    assert page.locator("h1").inner_text() == "Verschillen tussen versies"
    journey.seen(page, "verschil")
    for path, name in (("/toegankelijkheid", "toegankelijkheid"), ("/privacy", "privacy")):
        page.goto(journey.base + path)
        journey.seen(page, name)
    page.goto(journey.base + "/bestaat-niet")
    assert page.locator("h1").inner_text() == "Deze pagina bestaat niet"
    journey.seen(page, "fout-404")


def walk_account(page: Page, journey: Journey) -> None:
    page.goto(journey.base + "/")
    tab_to(page, text="Inloggen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.seen(page, "inloggen")
    type_in(page, "veld-gebruikersnaam", "demo-fin")
    type_in(page, "veld-wachtwoord", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter in a field submits the form
    assert page.url.endswith("/account")
    assert page.locator("h1").inner_text() == "Mijn account"
    journey.seen(page, "account")
    type_in(page, "veld-naam", "financieel systeem")
    press_button(page, "Sleutel maken")
    assert page.locator("#nieuwe-sleutel").inner_text().startswith("vn_")
    journey.seen(page, "account-sleutel")
    press_button(page, "Uitloggen")
    assert page.locator("a", has_text="Inloggen").count() >= 1


def test_axe_finds_a_violation_when_there_is_one(server: str, browser: Browser) -> None:
    """The harness itself: a page with an image without text and an unlabelled field fails."""
    broken = Journey(server)
    html = "<!DOCTYPE html><html lang='nl'><head><title>x</title></head><body><main>"
    html += "<img src='/stijl/vangnet.css'><input type='text'></main></body></html>"
    broken.pages.append(("kapot", server + "/kapot", html))
    found = axe_violations(browser, broken)
    assert list(found) == [f"kapot ({server}/kapot)"]
    assert any(v.startswith("image-alt") for v in found[f"kapot ({server}/kapot)"])


def test_journeys_with_the_keyboard_without_javascript_and_axe(
    server: str, browser: Browser
) -> None:
    journey = Journey(server)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        walk_precheck(page, journey)
        walk_rules(page, journey)
        walk_account(page, journey)
        # JavaScript really was off: a <noscript> would show (checked on a page of our own)
        page.set_content("<noscript><p id='zonder'>zonder</p></noscript>")
        assert page.locator("#zonder").is_visible()
    finally:
        context.close()
    assert len(journey.pages) == 14
    assert axe_violations(browser, journey) == {}
