"""Decision letters (`vangnet.letters`): golden HTML files, the PDF/A-2a, the DOCX, and the
rules of issue 4 (one paragraph per finding, one row per line, the objection clause as data,
the request for supplementary information, CONCEPT and SIMULATIE markers, loud failures).

Golden files: `tests/golden/letters/<scenario>.html` is the HTML letter (not a concept) of
every public scenario, compared after normalising the letter date, the dates computed from it,
and the SHA-256 hashes of ruleset, catalogue and claim. When a change to the letters is intended, regenerate them on purpose and review the diff:

    VANGNET_REGENERATE_GOLDEN=1 make test
    VANGNET_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_letters.py -k golden

The PDF is checked with pikepdf for what PDF/A-2a asks that can be seen without a validator
(XMP identification part 2 conformance A, a structure tree, MarkInfo, an output intent, every
font embedded); it is not validated by veraPDF, which is not available here.
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import io
import json
import os
import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pikepdf
import pypdf
import pytest

from tests.conftest import PUBLIC_SCENARIOS, ROOT
from vangnet import letters
from vangnet.claim import parse_claim_json
from vangnet.decision import Finding
from vangnet.evaluate import Decider, Evaluation
from vangnet.letters import (
    FORMATS,
    LetterError,
    letter_context,
    letter_kind,
    render_context,
    render_letter,
)
from vangnet.money import format_eur

GOLDEN = ROOT / "tests" / "golden" / "letters"
REGENERATE = os.environ.get("VANGNET_REGENERATE_GOLDEN") == "1"
SCENARIOS = sorted(
    p.name.removesuffix(".claim.json") for p in PUBLIC_SCENARIOS.glob("P*.claim.json")
)
DAY = date(2026, 3, 2)
MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
# What a template placeholder looks like in any of our template languages.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{%|%\}|\{[A-Za-z_][A-Za-z0-9_.]*\}|Undefined")


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


@pytest.fixture(scope="module")
def evaluations(decider: Decider) -> dict[str, Evaluation]:
    return {
        name: decider.evaluate(
            parse_claim_json((PUBLIC_SCENARIOS / f"{name}.claim.json").read_bytes())
        )
        for name in SCENARIOS
    }


def _html(ev: Evaluation, *, concept: bool = False, day: date = DAY) -> str:
    return render_letter(ev, "html", concept=concept, letter_date=day).decode("utf-8")


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed, no-break spaces as spaces."""
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return " ".join(text.replace("\u00a0", " ").split())


def _nl(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _normalise(html: str, day: date) -> str:
    """The letter with its date, the dates computed from it, and the SHA-256 hashes as fixed
    marks (a ruleset edit elsewhere changes a hash without changing this letter's words; the
    hashes themselves are checked by test_the_auditors_see_ruleset_and_catalogue)."""
    deadline = day + timedelta(weeks=4)
    for d, mark in ((day, "BRIEFDATUM"), (deadline, "TERMIJNDATUM")):
        html = html.replace(d.isoformat(), mark).replace(_nl(d), mark)
    return SHA256.sub("SHA256", html)


def _sections(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<section class="bevinding[^"]*" data-rule="([^"]+)">(.*?)</section>', html, re.S
    )


def _table_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="regel[^"]*" data-line="\d+">(.*?)</tr>', html, re.S)


# --- golden files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_golden_html(name: str, evaluations: dict[str, Evaluation]) -> None:
    # rendered on today's date: the normalisation, not a fixed date, makes it comparable
    today = date.today()
    actual = _normalise(_html(evaluations[name], day=today), today)
    path = GOLDEN / f"{name}.html"
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} ontbreekt; maak hem met VANGNET_REGENERATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"de brief van {name} wijkt af van {path.name}; bedoeld? VANGNET_REGENERATE_GOLDEN=1"
    )


def test_golden_normalisation_covers_the_date(evaluations: dict[str, Evaluation]) -> None:
    a = _normalise(_html(evaluations["P08"], day=date(2026, 1, 5)), date(2026, 1, 5))
    b = _normalise(_html(evaluations["P08"], day=date(2027, 6, 30)), date(2027, 6, 30))
    assert a == b
    assert "BRIEFDATUM" in a and "TERMIJNDATUM" in a


# --- reasons: one paragraph per finding -------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_one_paragraph_for_every_finding(name: str, evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations[name]
    sections = _sections(_html(ev))
    assert [rule for rule, _ in sections] == [f.rule for f in ev.decision.findings]
    for (_, body), finding in zip(sections, ev.decision.findings, strict=True):
        text = _text(body)
        assert finding.explanation in text
        assert finding.source in text


def _with_findings(ev: Evaluation, findings: list[Finding]) -> Evaluation:
    decision = ev.decision.model_copy(update={"findings": findings})
    return dataclasses.replace(ev, decision=decision)


def test_a_new_finding_gives_a_new_paragraph(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P06"]
    extra = Finding(
        rule="VN-TOETS",
        effect="info",
        explanation="Een extra bevinding met een bedrag van € 12,34.",
        source="Testbron voor een extra bevinding",
    )
    before = _sections(_html(ev))
    after = _sections(_html(_with_findings(ev, [*ev.decision.findings, extra])))
    assert len(after) == len(before) + 1
    rule, body = after[-1]
    assert rule == "VN-TOETS"
    assert "Een extra bevinding met een bedrag van € 12,34." in _text(body)
    assert "Testbron voor een extra bevinding" in _text(body)


def test_a_removed_finding_is_gone(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P06"]
    gone = ev.decision.findings[-1]
    html = _html(_with_findings(ev, list(ev.decision.findings[:-1])))
    assert gone.rule not in [rule for rule, _ in _sections(html)]
    assert gone.explanation not in _text(html)


def test_a_policy_choice_is_named(evaluations: dict[str, Evaluation]) -> None:
    # VN-ONEVENREDIG is a policy choice of this project, even where its explanation is silent
    for name in ("P01", "P06"):
        sections = dict(_sections(_html(evaluations[name])))
        assert "beleidskeuze" in _text(sections["VN-ONEVENREDIG"])
    # VN-DREIGING is an interpretation of the 2016 scheme
    sections = dict(_sections(_html(evaluations["P06"])))
    assert "uitleg" in _text(sections["VN-DREIGING"])


def test_an_estimated_reference_price_is_named(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P06"]
    rows = _table_rows(_html(ev))
    for row, calc in zip(rows, ev.calculation.lines, strict=True):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert ("schatting" in _text(cells[3])) == bool(calc.reference_is_estimate)
    assert any(c.reference_is_estimate for c in ev.calculation.lines)


# --- the table of lines -----------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_line_is_in_the_table(name: str, evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations[name]
    rows = _table_rows(_html(ev))
    assert len(rows) == len(ev.decision.lines)
    for row, line in zip(rows, ev.decision.lines, strict=True):
        text = _text(row)
        assert line.description in text
        assert format_eur(line.claimed_eur) in text


def test_a_refusal_says_would_be_eligible(evaluations: dict[str, Evaluation]) -> None:
    refusals = [n for n, ev in evaluations.items() if ev.decision.outcome == "afwijzen"]
    assert len(refusals) >= 3
    for name in refusals:
        html = _html(evaluations[name])
        table = re.search(r'<table class="maatregelen">.*?</table>', html, re.S)
        assert table is not None
        headers = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table.group(0), re.S)]
        assert "Zou vergoedbaar zijn" in headers
        assert "Vergoedbaar" not in headers
        # not in a line's reason either (the decision's "Vergoedbaar: X van Y.")
        assert not re.search(r"\bVergoedbaar\b", _text(table.group(0))), name


def test_a_refusal_with_a_partial_line_keeps_its_numbers(
    evaluations: dict[str, Evaluation],
) -> None:
    ev = evaluations["P04"]  # refused; line 1 is "deels"
    assert ev.decision.outcome == "afwijzen"
    text = _text(_html(ev))
    assert "Zou vergoedbaar zijn: € 19.500,00 van € 24.000,00." in text


# --- decision, objection, request -------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_decision_comes_first_with_its_amount(
    name: str, evaluations: dict[str, Evaluation]
) -> None:
    ev = evaluations[name]
    html = _html(ev)
    first = re.search(r'<p class="besluit">(.*?)</p>', html, re.S)
    assert first is not None
    text = _text(first.group(1))
    if letter_kind(ev.decision.outcome) == "besluit":
        amount = ev.decision.eligible_total_eur
        if ev.decision.outcome == "afwijzen":
            amount = ev.decision.claimed_total_eur
        assert format_eur(amount) in text
        assert html.index('class="besluit"') < html.index('class="bevinding')
    else:
        assert "uiterlijk" in text


def test_the_objection_clause_comes_from_data(evaluations: dict[str, Evaluation]) -> None:
    text = _text(_html(evaluations["P06"]))
    assert "Bent u het niet eens met dit besluit?" in text
    assert "binnen zes weken" in text
    assert "de dag na de dag waarop wij deze brief hebben verstuurd" in text
    assert "Stuur uw bezwaar naar de minister van Binnenlandse Zaken" in text
    assert "artikel 6:7" in text and "artikel 6:8" in text


def test_the_objection_term_is_data_not_python(
    evaluations: dict[str, Evaluation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    procedure = forms / "letters" / "procedure.yaml"
    procedure.write_text(
        procedure.read_text(encoding="utf-8").replace("term_weeks: 6", "term_weeks: 8"),
        encoding="utf-8",
    )
    monkeypatch.setattr(letters, "FORMS_DIR", forms)
    text = _text(_html(evaluations["P06"]))
    assert "binnen acht weken" in text


def test_the_deciding_body_comes_from_the_ruleset(evaluations: dict[str, Evaluation]) -> None:
    minister = letter_context(evaluations["P06"], concept=False, letter_date=DAY)
    assert minister["body"]["id"] == "minister_bzk"
    assert minister["body"]["phone"].endswith("(demo)")
    college = letter_context(evaluations["P11"], concept=False, letter_date=DAY)
    assert college["body"]["id"] == "werkgever"
    assert college["body"]["name"] == (
        "het college van burgemeester en wethouders van Gemeente Voorbeeld"
    )
    # the office-holder applied: the employer is not in the claim, the demo body stands in
    own = letter_context(evaluations["P09"], concept=False, letter_date=DAY)
    assert own["body"]["name"].endswith("Gemeente Voorbeeld (demo)")
    assert own["addressee"] == ["De ambtsdrager met kenmerk WE-P09"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_auditors_see_ruleset_and_catalogue(
    name: str, evaluations: dict[str, Evaluation]
) -> None:
    d = evaluations[name].decision
    footer = _html(evaluations[name]).split('<footer class="controle"', 1)[1]
    for value in (d.ruleset.id, d.ruleset.version, d.ruleset.sha256, d.catalogue.sha256):
        assert value in footer


def test_a_request_for_information(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P08"]
    assert ev.decision.outcome == "nader_onderzoek"
    html = _html(ev)
    text = _text(html)
    assert "Verzoek om aanvulling van uw aanvraag" in text
    assert f"Stuur de informatie uiterlijk op {_nl(DAY + timedelta(weeks=4))}." in text
    assert "Bent u het niet eens met dit besluit?" not in text
    items = [_text(i) for i in re.findall(r"<li>(.*?)</li>", html, re.S)]
    pending = [f for f in ev.decision.findings if f.effect == "nader_onderzoek"]
    assert pending
    for f in pending:
        assert any(f.explanation in item for item in items)
    assert "artikel 4:5" in text


def test_a_request_lists_every_line_to_assess(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P08"]
    line = ev.decision.lines[0].model_copy(
        update={"status": "te_beoordelen", "explanation": "Stuur een offerte voor deze regel."}
    )
    decision = ev.decision.model_copy(update={"lines": [line, *ev.decision.lines[1:]]})
    html = _html(dataclasses.replace(ev, decision=decision))
    items = [_text(i) for i in re.findall(r"<li>(.*?)</li>", html, re.S)]
    assert f"Maatregel 1, {line.description}: Stuur een offerte voor deze regel." in items


def test_a_simulation_is_marked_and_has_no_objection(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P12"]
    assert ev.decision.simulation
    text = _text(_html(ev))
    assert "SIMULATIE – geen besluit" in text
    assert "Bent u het niet eens met dit besluit?" not in text
    assert "bezwaar" not in text.lower()


def test_a_simulated_request_is_marked_and_has_no_objection(decider: Decider) -> None:
    raw = json.loads((PUBLIC_SCENARIOS / "P12.claim.json").read_text(encoding="utf-8"))
    raw["threat"] = {"status": "onbekend", "assessed_by": "geen"}
    ev = decider.evaluate(parse_claim_json(json.dumps(raw).encode()))
    assert ev.decision.simulation and ev.decision.outcome == "nader_onderzoek"
    text = _text(_html(ev))
    assert "SIMULATIE – geen besluit" in text
    assert "Verzoek om aanvulling van uw aanvraag" in text
    assert "In deze simulatie" in text
    assert "Bent u het niet eens met dit besluit?" not in text


def test_concept_marks_the_letter(evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations["P06"]
    assert "CONCEPT" in _html(ev, concept=True)
    assert "CONCEPT" not in _html(ev, concept=False)


def test_no_personal_data_beyond_the_pseudonym(evaluations: dict[str, Evaluation]) -> None:
    for ev in evaluations.values():
        claim = ev.calculation.claim
        html = _html(ev)
        if claim.triggers is not None and claim.triggers.motivation.strip():
            assert claim.triggers.motivation not in html


# --- loud failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "docx"])
def test_a_missing_field_fails_loudly(fmt: Any, evaluations: dict[str, Evaluation]) -> None:
    context = letter_context(evaluations["P06"], concept=False, letter_date=DAY)
    del context["kenmerk"]
    with pytest.raises(LetterError, match="kenmerk"):
        render_context(context, fmt)


def test_a_missing_nested_field_fails_loudly(evaluations: dict[str, Evaluation]) -> None:
    context = letter_context(evaluations["P06"], concept=False, letter_date=DAY)
    del context["findings"][0]["source"]
    with pytest.raises(LetterError, match="source"):
        render_context(context, "html")


def test_a_missing_body_file_fails_loudly(
    evaluations: dict[str, Evaluation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    (forms / "bodies" / "minister_bzk.yaml").unlink()
    monkeypatch.setattr(letters, "FORMS_DIR", forms)
    with pytest.raises(LetterError, match="minister_bzk"):
        _html(evaluations["P06"])


def test_a_text_with_a_missing_value_fails_loudly(
    evaluations: dict[str, Evaluation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    texts = forms / "letters" / "texts.yaml"
    texts.write_text(
        texts.read_text(encoding="utf-8").replace("{{ bedrag }}.", "{{ bedrag_onbekend }}."),
        encoding="utf-8",
    )
    monkeypatch.setattr(letters, "FORMS_DIR", forms)
    with pytest.raises(LetterError, match="bedrag_onbekend"):
        _html(evaluations["P01"])


def test_an_unknown_format_is_refused(evaluations: dict[str, Evaluation]) -> None:
    with pytest.raises(LetterError, match="briefformaat"):
        render_letter(evaluations["P06"], "odt", concept=True, letter_date=DAY)  # type: ignore[arg-type]


# --- no placeholder survives, in any format ---------------------------------------------------


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(p.text for p in section.header.paragraphs)
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def _pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_placeholder_in_html_or_docx(name: str, evaluations: dict[str, Evaluation]) -> None:
    ev = evaluations[name]
    html = _html(ev, concept=True)
    assert not PLACEHOLDER.search(_text(html.split("<body", 1)[1]))
    text = _docx_text(render_letter(ev, "docx", concept=True, letter_date=DAY))
    assert not PLACEHOLDER.search(text), PLACEHOLDER.search(text)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_docx_opens_and_holds_the_decision(
    name: str, evaluations: dict[str, Evaluation]
) -> None:
    ev = evaluations[name]
    context = letter_context(ev, concept=True, letter_date=DAY)
    text = _docx_text(render_context(context, "docx"))
    assert context["decision_text"] in text
    assert context["kenmerk"] in text
    for finding in ev.decision.findings:
        assert finding.explanation.replace("€ ", "€\u00a0") in text
    for line in ev.decision.lines:
        assert line.description in text
    assert "CONCEPT" in text
    if ev.decision.simulation:
        assert "SIMULATIE – geen besluit" in text


# --- the PDF/A-2a -----------------------------------------------------------------------------

PDF_SCENARIOS = ["P06", "P08", "P12"]  # a decision, a request, a simulation


@pytest.fixture(scope="module")
def pdfs(evaluations: dict[str, Evaluation]) -> dict[str, bytes]:
    return {
        name: render_letter(evaluations[name], "pdf", concept=True, letter_date=DAY)
        for name in PDF_SCENARIOS
    }


def _fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    fonts = []
    for page in pdf.pages:
        resources = page.obj.get("/Resources", pikepdf.Dictionary())
        for font in resources.get("/Font", pikepdf.Dictionary()).values():
            fonts.append(font)
            fonts.extend(font.get("/DescendantFonts", pikepdf.Array()))
    return fonts


@pytest.mark.parametrize("name", PDF_SCENARIOS)
def test_the_pdf_is_pdfa_2a(name: str, pdfs: dict[str, bytes]) -> None:
    with pikepdf.open(io.BytesIO(pdfs[name])) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2"
        assert meta.get("pdfaid:conformance") == "A"
        root = pdf.Root
        assert "/StructTreeRoot" in root
        assert bool(root.MarkInfo.get("/Marked"))
        intents = root.OutputIntents
        assert len(intents) >= 1
        assert intents[0].S == "/GTS_PDFA1"
        assert "/DestOutputProfile" in intents[0]
        assert str(root.Lang).lower().startswith("nl")
        fonts = _fonts(pdf)
        assert fonts
        for font in fonts:
            if font.Subtype == "/Type0":
                continue  # its descendant font carries the descriptor
            descriptor = font.FontDescriptor
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                f"lettertype {font.get('/BaseFont')} is niet ingebed"
            )


@pytest.mark.parametrize("name", PDF_SCENARIOS)
def test_the_pdf_text_holds_the_letter(
    name: str, pdfs: dict[str, bytes], evaluations: dict[str, Evaluation]
) -> None:
    pages = _pdf_pages(pdfs[name])
    text = " ".join(" ".join(pages).replace("\u00a0", " ").split())
    assert not PLACEHOLDER.search(text)
    assert evaluations[name].decision.claim_id in text
    for page in pages:
        assert "CONCEPT" in page
        if evaluations[name].decision.simulation:
            assert "SIMULATIE – geen besluit" in page
    assert len(pages) >= 2  # so that "every page" means something


def test_formats_and_public_surface() -> None:
    assert FORMATS == ("html", "pdf", "docx")
    assert set(letters.__all__) >= {"render_letter", "letter_context", "render_context"}
    for name in letters.__all__:
        assert hasattr(letters, name)


# --- the letters of an assessor's besluit (vangnet.service) -------------------------------------


def _assessor(kind: Any = "besluit", **changes: Any) -> letters.AssessorDecision:
    values: dict[str, Any] = {
        "kind": kind,
        "outcome": "toekennen",
        "amount_eur": Decimal("19350.00"),
        "motivation": "Het alarm is nodig. Wij vergoeden daarom alles.",
        "number": 1 if kind == "besluit" else 2,
        "replaces": None if kind == "besluit" else (1, DAY - timedelta(days=30)),
        "objection_received": DAY - timedelta(days=10) if kind == "beslissing_op_bezwaar" else None,
    }
    return letters.AssessorDecision(**(values | changes))


def _assessor_html(ev: Evaluation, assessor: letters.AssessorDecision) -> str:
    return render_letter(ev, "html", concept=False, letter_date=DAY, assessor=assessor).decode()


def test_an_override_puts_the_assessor_first(evaluations: dict[str, Evaluation]) -> None:
    text = _text(_assessor_html(evaluations["P06"], _assessor()))
    order = [
        text.index("U krijgt de hele vergoeding die u vroeg, € 19.350,00."),
        text.index("Volgens de berekening krijgt u € 16.850,00 van de € 19.350,00"),
        text.index("Het alarm is nodig."),
        text.index("Wat de berekening vond"),
    ]
    assert order == sorted(order)
    sections = _sections(_assessor_html(evaluations["P06"], _assessor()))
    assert [rule for rule, _ in sections] == [f.rule for f in evaluations["P06"].decision.findings]


def test_a_besluit_that_follows_the_advice_says_so_plainly(
    evaluations: dict[str, Evaluation],
) -> None:
    follows = _assessor(outcome="gedeeltelijk", amount_eur=Decimal("16850.00"), motivation=None)
    html = _assessor_html(evaluations["P06"], follows)
    text = _text(html)
    assert "Volgens de berekening" not in text and "Waarom wij zo besluiten" in text
    # the same words as the letter made from the advice, apart from the kenmerk
    plain = _html(evaluations["P06"]).replace("-P06<", "-P06-B1<").replace("-P06.", "-P06-B1.")
    assert html.replace("-P06-B1", "-P06") == plain.replace("-P06-B1", "-P06")


def test_a_decision_on_an_objection_has_the_appeal_clause(
    evaluations: dict[str, Evaluation],
) -> None:
    text = _text(_assessor_html(evaluations["P06"], _assessor("beslissing_op_bezwaar")))
    assert "Bent u het niet eens met deze beslissing?" in text
    assert "Dan kunt u in beroep gaan bij de rechter. Dat doet u binnen zes weken." in text
    assert "artikel 8:7, tweede lid" in text
    assert "Stuur uw bezwaar naar" not in text
    # the employer decides: the court where that body has its seat
    text = _text(
        _assessor_html(
            evaluations["P11"],
            _assessor("beslissing_op_bezwaar", outcome="afwijzen", amount_eur=Decimal(0)),
        )
    )
    assert "de rechtbank in het gebied waar het college van burgemeester en wethouders" in text
    assert "artikel 8:7, eerste lid" in text


@pytest.mark.parametrize("kind", ["besluit", "correctie", "beslissing_op_bezwaar"])
def test_besluit_letters_are_b1_in_every_format(
    kind: Any, evaluations: dict[str, Evaluation]
) -> None:
    from vangnet.b1 import check_html

    ev = evaluations["P06"]
    html = _assessor_html(ev, _assessor(kind))
    report = check_html(html)
    assert report.ok, (report.average_sentence_words, report.banned)
    data = render_letter(ev, "docx", concept=False, letter_date=DAY, assessor=_assessor(kind))
    words = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Het alarm is nodig." in words and not PLACEHOLDER.search(words)


def test_a_simulation_has_no_besluit_letter(decider: Decider) -> None:
    claim = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
    claim["scheme"] = "vangnet-herijking"
    ev = decider.evaluate(parse_claim_json(json.dumps(claim)))
    if not ev.decision.simulation:
        pytest.skip("vangnet-herijking is no simulation on this date")
    with pytest.raises(LetterError, match="simulatie"):
        letter_context(ev, concept=False, letter_date=DAY, assessor=_assessor())
