"""The plain-language check (`vangnet.b1`): which text counts, sentence splitting, banned words
with their inflections, and the check on every letter of the public scenarios."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.b1 import (
    check_html,
    check_text,
    find_banned,
    load_rules,
    prose_blocks,
    split_sentences,
    word_count,
)
from vangnet.claim import parse_claim_json
from vangnet.evaluate import Decider
from vangnet.exceptions import DataError
from vangnet.letters import render_letter

SCENARIOS = sorted(
    p.name.removesuffix(".claim.json") for p in PUBLIC_SCENARIOS.glob("P*.claim.json")
)


# --- which text counts ------------------------------------------------------------------------


def test_prose_is_paragraphs_and_list_items() -> None:
    html = """
    <h1>Titel telt niet</h1>
    <p>Eerste alinea.</p>
    <ul><li>Een punt</li><li>Nog een punt</li></ul>
    <div>Losse tekst telt niet.</div>
    """
    assert prose_blocks(html) == ["Eerste alinea.", "Een punt", "Nog een punt"]


def test_tables_hashes_sources_and_marked_blocks_do_not_count() -> None:
    html = """
    <p>Telt wel. <code>39c6f111f9f0172bf50b99b55d45493232</code> <cite>Stcrt. 2020, 49908</cite></p>
    <table><tr><td><p>In een tabel, derhalve niet.</p></td></tr></table>
    <p data-b1="skip">Bron: Regeling nr. 2020-0000564039 inzake beveiliging.</p>
    <footer data-b1="skip"><p>Voor controle, conform de regels.</p></footer>
    """
    assert prose_blocks(html) == ["Telt wel."]


def test_entities_and_line_breaks() -> None:
    html = "<p>Een &#34;woord&#34;<br>en nog&nbsp;een.</p>"
    assert prose_blocks(html) == ['Een "woord" en nog een.']


# --- sentences and words ----------------------------------------------------------------------


def test_sentences_split_at_full_stops() -> None:
    text = "U krijgt geld. Dat is goed! Of niet? Ja."
    assert split_sentences(text) == ["U krijgt geld.", "Dat is goed!", "Of niet?", "Ja."]


def test_abbreviations_end_no_sentence() -> None:
    text = (
        "De regeling nr. 2020-0000564039 staat in de Stcrt. van 2020. Zie ook art. 3 van "
        "de wet, bijv. lid 2. Klaar."
    )
    assert split_sentences(text) == [
        "De regeling nr. 2020-0000564039 staat in de Stcrt. van 2020.",
        "Zie ook art. 3 van de wet, bijv. lid 2.",
        "Klaar.",
    ]


def test_numbers_with_points_end_no_sentence() -> None:
    text = "U krijgt € 2.600,00 voor 1.5 maand. Dat is alles."
    assert split_sentences(text) == ["U krijgt € 2.600,00 voor 1.5 maand.", "Dat is alles."]


def test_a_block_without_a_full_stop_is_one_sentence() -> None:
    assert split_sentences("uw naam en adres") == ["uw naam en adres"]


def test_words_are_counted_without_symbols() -> None:
    assert word_count("U krijgt € 2.600,00 (incl. btw).") == 5
    assert word_count("PKVW-niveau, 25% en 6:7") == 5
    assert word_count("€ –") == 0


# --- banned words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Derhalve krijgt u niets.", "derhalve"),
        ("U dient dit te sturen.", "dienen"),
        ("Dat diende eerder te gebeuren.", "dienen"),
        ("Uw aanvraag heeft ons goed gediend.", "dienen"),
        ("Dit is ten   behoeve van de woning.", "ten behoeve van"),
        ("Dit is t.b.v. de woning.", "ten behoeve van"),
        ("Een brief inzake uw aanvraag.", "inzake"),
        ("Betaling middels een overboeking.", "middels"),
        ("Conform de regeling.", "conform"),
        ("Onverminderd het vorige.", "onverminderd"),
        ("Wij verzoeken u dit te sturen.", "verzoeken"),
        ("De onderhavige aanvraag.", "onderhavig"),
    ],
)
def test_banned_words_and_their_inflections(text: str, word: str) -> None:
    hits = find_banned(text)
    assert [h.word for h in hits] == [word]


@pytest.mark.parametrize(
    "text",
    [
        "U heeft de aanvraag ingediend.",  # "gediend" inside another word
        "Wij dienstverleners helpen u.",
        "Uw verzoek om aanvulling.",  # the noun is the legal name
        "Het bedrag is conformiteit.",
    ],
)
def test_words_that_only_look_banned(text: str) -> None:
    assert find_banned(text) == []


def test_the_list_holds_what_the_issue_names() -> None:
    banned = load_rules().banned
    for word in ("derhalve", "dienen", "inzake", "middels", "ten behoeve van", "conform"):
        assert word in banned
    assert "onverminderd" in banned
    assert {"dient", "diende", "gediend"} <= set(banned)


def test_the_average_and_the_verdict() -> None:
    long = " ".join(["woord"] * 20) + "."
    report = check_text([long, "Kort.", "Ook kort."])
    assert report.words == 23
    assert report.average_sentence_words == pytest.approx(23 / 3)
    assert report.ok
    report = check_text([long, long])
    assert not report.ok and report.average_sentence_words == 20
    assert "20.0" in report.summary()
    report = check_text(["Derhalve niet."])
    assert not report.ok
    assert [h.form for h in report.banned] == ["Derhalve"]


def test_a_bad_rules_file_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "b1.yaml"
    path.write_text("banned: []\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"b1\.yaml"):
        load_rules(path)


# --- every letter of the public scenarios -----------------------------------------------------


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("concept", [False, True])
def test_every_public_letter_is_b1(name: str, concept: bool, decider: Decider) -> None:
    claim = parse_claim_json((PUBLIC_SCENARIOS / f"{name}.claim.json").read_bytes())
    evaluation = decider.evaluate(claim)
    html = render_letter(evaluation, "html", concept=concept, letter_date=date(2026, 3, 2))
    report = check_html(html.decode("utf-8"))
    assert len(report.sentences) >= 10
    assert report.ok, f"{name}: {report.summary()}; langste zinnen: {report.longest()}"
