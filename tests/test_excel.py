"""The Excel intake form and the Excel export (issue 7): round trips of every public scenario,
every kind of broken workbook, the formula-injection guard, and the form's own data."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import defusedxml.ElementTree
import openpyxl
import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from tests.conftest import PUBLIC_SCENARIOS, ROOT
from vangnet.b1 import check_text
from vangnet.claim import Claim, claim_sha256, parse_claim, parse_claim_json
from vangnet.decision import refusal_for
from vangnet.evaluate import Decider
from vangnet.excel import (
    XLSX_MEDIA_TYPE,
    build_intake,
    export_calculation,
    fill_intake,
    load_forms,
    read_intake,
)
from vangnet.excel.layout import measure_choices
from vangnet.exceptions import ClaimError, DataError, FormError, FormProblem, NoRulesetError

FIXED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ON = date(2016, 3, 1)
FIXTURES = ROOT / "tests" / "fixtures" / "excel"
LAYOUT = load_forms().current
SCENARIOS = sorted(PUBLIC_SCENARIOS.glob("*.claim.json"))


def _ids(path: Path) -> str:
    return path.name.split(".")[0]


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(clock=lambda: FIXED)


@pytest.fixture(scope="module")
def form_bytes() -> bytes:
    out = io.BytesIO()
    build_intake(out, on=ON)
    return out.getvalue()


# --- helpers: a person filling in the form with openpyxl ---------------------------------------


def _open(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(wb: Workbook, name: str, line: int = 0) -> Any:
    """The cell a defined name points to (for a column of lines: the cell of `line`)."""
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    first = wb[sheet][ref.replace("$", "").split(":")[0]]
    return wb[sheet].cell(row=first.row + line, column=first.column)


def _label(choices: str, value: Any) -> str:
    return next(c.label for c in LAYOUT.choices[choices] if c.value is value or c.value == value)


def _fill(wb: Workbook, claim: dict[str, Any]) -> None:
    """Type the claim into the form through the defined names, picking list entries by their
    label: the measure's entry is found on the hidden list sheet by its code."""
    lists = wb[LAYOUT.sheets.lists]
    by_code = {row[1]: row[0] for row in lists.iter_rows(min_row=2, values_only=True) if row[1]}
    for f in LAYOUT.fields:
        head, _, tail = f.path.partition(".")
        part = claim.get(head) if tail else claim
        key = tail or head
        if not isinstance(part, dict) or key not in part:
            continue
        value = part[key]
        if value is None and f.kind != "choice":
            continue
        if f.kind == "choice":
            value = _label(str(f.choices), value)
        elif f.kind == "date":
            value = date.fromisoformat(value)
        _cell(wb, f.name).value = value
    for i, measure in enumerate(claim["measures"]):
        for c in LAYOUT.measures_sheet.columns:
            value = measure.get(c.path)
            if c.kind == "measure":
                value = by_code.get(value, LAYOUT.measures_sheet.not_in_catalogue)
            elif value is None:
                continue
            elif c.kind == "choice":
                value = _label(str(c.choices), value)
            elif c.kind == "date":
                value = date.fromisoformat(value)
            _cell(wb, c.name, i).value = value


def _filled(form_bytes: bytes, claim: dict[str, Any]) -> bytes:
    wb = _open(form_bytes)
    _fill(wb, claim)
    return _save(wb)


def _small_claim() -> dict[str, Any]:
    return json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())


def _problems(source: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(FormError) as info:
        read_intake(source, **kwargs)
    return info.value.lines()


def _edit(form_bytes: bytes, claim: dict[str, Any], edit: Callable[[Workbook], None]) -> bytes:
    wb = _open(form_bytes)
    _fill(wb, claim)
    edit(wb)
    return _save(wb)


def _rezip(
    data: bytes, change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None
) -> bytes:
    """The workbook with each part passed through `change` (None drops it), plus `extra`."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = change(info.filename, src.read(info))
            if content is not None:
                dst.writestr(info.filename, content)
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def _sheet_part(data: bytes, sheet: str) -> str:
    """The zip part of a sheet, found through the workbook and its relationships."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet[^>]*name="{sheet}"[^>]*r:id="(rId[0-9]+)"', workbook)
    assert rid is not None
    target = re.search(
        rf'<Relationship[^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels
    ) or re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels)
    assert target is not None
    return "xl/" + target.group(1).removeprefix("/xl/")


# --- the round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_round_trip_of_a_public_scenario(form_bytes: bytes, decider: Decider, path: Path) -> None:
    """Build the form, fill it in with openpyxl, read it back: an equal claim, the same
    decision."""
    original = json.loads(path.read_text())
    claim = parse_claim(original)
    form = io.BytesIO()
    build_intake(form, on=claim.reference_date)
    data = read_intake(_filled(form.getvalue(), original))
    back = parse_claim(data)
    assert claim_sha256(back) == claim_sha256(claim)
    assert decider.decide(back).to_json() == decider.decide(claim).to_json()


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_fill_intake_round_trip(path: Path) -> None:
    claim = parse_claim_json(path.read_bytes())
    out = io.BytesIO()
    info = fill_intake(claim, out)
    assert info.version == LAYOUT.version
    assert claim_sha256(parse_claim(read_intake(out.getvalue()))) == claim_sha256(claim)


def test_a_form_filled_in_by_hand(form_bytes: bytes) -> None:
    """Typed as a person would, with the labels the person sees: the claim is exactly this."""
    wb = _open(form_bytes)
    typed = {
        "vn_claim_id": "2016-0042",
        "vn_reference_date": datetime(2016, 3, 1),
        "vn_applicant_type": "Gemeente",
        "vn_applicant_name": "  Gemeente Voorbeeld ",
        "vn_office_holder_role": "raadslid",  # the value itself is taken too, in any case
        "vn_municipality_name": "Voorbeeld",
        "vn_municipality_inhabitants": 45000,
        "vn_municipality_total_expenditure_eur": 144000000,
        "vn_threat_status": "Expliciet (een concrete dreiging tegen deze persoon)",
        "vn_threat_assessed_by": "Politie",
        "vn_threat_assessed_on": "20-02-2016",
        "vn_home_pkvw_certified": "Onbekend",
        "vn_triggers_political_discussion": "Ja",
    }
    for name, value in typed.items():
        _cell(wb, name).value = value
    lines = [
        (
            "Inbraakalarm met doormelding naar particuliere alarmcentrale (installatie) (ALARM_PAC)",
            "Alarm met doormelding",
            1,
            2600,
            datetime(2016, 2, 15),
            "Ja",
            None,
        ),
        ("niet in de catalogus", "Extra slot", 2.5, 19.99, None, None, "10,5"),
    ]
    columns = ["code", "description", "quantity", "unit_price_eur", "date", "advised"]
    columns.append("already_reimbursed_eur")
    # line 2 is left empty: empty lines are skipped
    for row, line in zip((0, 2), lines, strict=True):
        for path, value in zip(columns, line, strict=True):
            _cell(wb, f"vn_measures_{path}", row).value = value
    data = read_intake(_save(wb))
    assert data == {
        "claim_id": "2016-0042",
        "scheme": "vangnet",
        "reference_date": "2016-03-01",
        "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
        "municipality": {
            "name": "Voorbeeld",
            "inhabitants": 45000,
            "total_expenditure_eur": 144000000,
        },
        "office_holder": {"role": "raadslid"},
        "threat": {"status": "expliciet", "assessed_by": "politie", "assessed_on": "2016-02-20"},
        "home": {"pkvw_certified": None, "package_2021_used_eur": 0},
        "triggers": {"political_discussion": True, "deters_reporting": False, "motivation": ""},
        "measures": [
            {
                "code": "ALARM_PAC",
                "description": "Alarm met doormelding",
                "quantity": 1,
                "unit_price_eur": 2600,
                "date": "2016-02-15",
                "advised": True,
                "already_reimbursed_eur": 0,
            },
            {
                "description": "Extra slot",
                "quantity": 2.5,
                "unit_price_eur": 19.99,
                "advised": False,
                "already_reimbursed_eur": 10.5,
            },
        ],
    }


def test_a_workbook_saved_by_a_spreadsheet_program_reads_back() -> None:
    """P06 filled in, opened, recalculated and saved by LibreOffice Calc: its names survive,
    its cached totals agree, and the claim is the scenario's."""
    path = FIXTURES / "P06.libreoffice.xlsx"
    claim = parse_claim_json((PUBLIC_SCENARIOS / "P06.claim.json").read_bytes())
    wb = load_workbook(path, data_only=True)
    assert _cell(wb, "vn_totaal_gevraagd").value == 19350  # Excel-style cached values exist
    assert claim_sha256(parse_claim(read_intake(path))) == claim_sha256(claim)


def test_read_intake_takes_a_path_bytes_or_a_stream(form_bytes: bytes, tmp_path: Path) -> None:
    data = _filled(form_bytes, _small_claim())
    path = tmp_path / "aanvraag.xlsx"
    path.write_bytes(data)
    expected = read_intake(data)
    assert read_intake(path) == expected
    assert read_intake(str(path)) == expected
    assert read_intake(io.BytesIO(data)) == expected


def test_text_that_looks_like_a_formula_stays_text_in_the_form(form_bytes: bytes) -> None:
    claim = _small_claim()
    texts = ['=HYPERLINK("http://x")', "+31 6", "-rest", "@SUM(A1)"]
    for measure, text in zip(claim["measures"], texts, strict=False):
        measure["description"] = text
    out = io.BytesIO()
    fill_intake(parse_claim(claim), out)
    data = read_intake(out.getvalue())
    assert [m["description"] for m in data["measures"][:4]] == texts


# --- broken workbooks: each refused or reported with its cell ---------------------------------


def test_a_wrong_type_in_a_cell(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_measures_quantity").value = "veel"
        _cell(wb, "vn_measures_unit_price_eur", 1).value = datetime(2016, 1, 1)
        _cell(wb, "vn_measures_date", 2).value = "gisteren"
        _cell(wb, "vn_municipality_inhabitants").value = 45000.5
        _cell(wb, "vn_applicant_name").value = True

    problems = _problems(_edit(form_bytes, _small_claim(), edit))
    assert problems == [
        "Blad Aanvraag, cel B13: naam van de aanvrager moet tekst zijn",
        "Blad Aanvraag, cel B22: aantal inwoners moet een heel getal zijn, bijvoorbeeld 45000",
        "Blad Maatregelen, cel D7: aantal moet een getal zijn, bijvoorbeeld 2 of 2,5",
        "Blad Maatregelen, cel E8: prijs per eenheid (euro, met btw) moet een getal zijn,"
        " bijvoorbeeld 2600,50",
        "Blad Maatregelen, cel G9: datum moet een datum zijn (dag-maand-jaar), bijvoorbeeld"
        " 01-03-2016",
    ]


def test_an_unknown_measure_or_choice(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_measures_code", 1).value = "Een gouden hek"
        _cell(wb, "vn_threat_status").value = "Heel erg"

    problems = _problems(_edit(form_bytes, _small_claim(), edit))
    assert problems == [
        "Blad Aanvraag, cel B27: Soort dreiging: kies een waarde uit de lijst: Expliciet (een"
        " concrete dreiging tegen deze persoon), Impliciet (een dreigende situatie), Voorstelbaar"
        " (alleen denkbaar), Geen dreiging, Onbekend",
        "Blad Maatregelen, cel B8: Maatregel: deze maatregel staat niet in de lijst. Kies een"
        " maatregel uit de lijst, of kies 'niet in de catalogus' en beschrijf de maatregel",
    ]


def test_an_empty_required_cell(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_measures_unit_price_eur").value = None
        _cell(wb, "vn_measures_code", 1).value = None
        _cell(wb, "vn_reference_date").value = None
        _cell(wb, "vn_municipality_name").value = "   "

    problems = _problems(_edit(form_bytes, _small_claim(), edit))
    assert problems == [
        "Blad Aanvraag, cel B9: peildatum is leeg; vul dit in",
        "Blad Aanvraag, cel B20: naam van de gemeente is leeg; vul dit in",
        "Blad Maatregelen, cel E7: prijs per eenheid (euro, met btw) is leeg; vul dit in",
        "Blad Maatregelen, cel B8: maatregel is leeg. Kies een maatregel uit de lijst, of kies"
        " 'niet in de catalogus' en beschrijf de maatregel",
    ]


def test_no_lines_at_all(form_bytes: bytes) -> None:
    claim = _small_claim()
    claim["measures"] = []
    assert _problems(_filled(form_bytes, claim)) == [
        "Blad Maatregelen, cel B7: er staat geen enkele maatregel in het formulier; vul minstens"
        " één regel in"
    ]


def test_contract_problems_are_put_back_on_their_cells(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_measures_unit_price_eur").value = 12.345
        _cell(wb, "vn_measures_quantity", 1).value = -1
        _cell(wb, "vn_municipality_code").value = "XX12"
        _cell(wb, "vn_claim_id").value = "2016/42"

    problems = _problems(_edit(form_bytes, _small_claim(), edit))
    assert problems == [
        "Blad Aanvraag, cel B7: kenmerk van de aanvraag moet 1 tot 64 tekens zijn uit A-Z, a-z,"
        " 0-9, punt, liggend streepje of koppelteken",
        "Blad Aanvraag, cel B21: CBS-code van de gemeente moet een CBS-gemeentecode zijn: GM"
        " gevolgd door 4 cijfers, bijvoorbeeld GM0363",
        "Blad Maatregelen, cel E7: prijs per eenheid (euro, met btw) heeft meer dan twee"
        " decimalen; rond af op hele centen, bijvoorbeeld 2600.50",
        "Blad Maatregelen, cel D8: aantal moet groter zijn dan 0",
    ]


def test_the_fields_a_scheme_requires_are_reported_on_their_cells(
    form_bytes: bytes, decider: Decider
) -> None:
    claim = _small_claim()
    del claim["threat"]
    data = _filled(form_bytes, claim)
    assert read_intake(data)["scheme"] == "vangnet"  # the contract alone allows it
    assert _problems(data, validate=decider.validate) == [
        "Blad Aanvraag, cel B27: soort dreiging is verplicht voor de regeling vangnet"
    ]


def test_a_removed_sheet(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        del wb[LAYOUT.sheets.measures]

    assert _problems(_edit(form_bytes, _small_claim(), edit)) == [
        "Blad Maatregelen: het blad Maatregelen ontbreekt. Verander de bladen van het formulier"
        " niet; vul zo nodig een nieuw formulier in."
    ]


def test_an_unknown_form_version(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_formulierversie").value = "2019.1"

    assert _problems(_edit(form_bytes, _small_claim(), edit)) == [
        "Blad Aanvraag, cel B3: formulierversie 2019.1 kunnen wij niet lezen. Wij lezen de"
        " versies 2026.1. Vul een nieuw formulier in."
    ]


def test_a_workbook_that_is_not_our_form() -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Begroting 2016"  # type: ignore[index]
    assert _problems(_save(wb)) == [
        "Dit is geen aanvraagformulier van vangnet: de naam vn_formulierversie ontbreekt. Maak"
        " een nieuw formulier met 'vangnet forms intake' en vul dat in."
    ]


def test_a_renamed_named_range(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        defined = wb.defined_names.pop("vn_measures_unit_price_eur")
        defined.name = "prijzen"
        wb.defined_names["prijzen"] = defined

    assert _problems(_edit(form_bytes, _small_claim(), edit)) == [
        "Blad Maatregelen, cellen E7:E506: de naam vn_measures_unit_price_eur ontbreekt."
        " Verander de namen in het formulier niet; vul zo nodig een nieuw formulier in."
    ]


def test_a_named_range_that_points_elsewhere(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        wb.defined_names["vn_measures_quantity"].attr_text = "Maatregelen!$D$8:$D$506"
        wb.defined_names["vn_reference_date"].attr_text = "Aanvraag!$B$9:$B$10"

    assert _problems(_edit(form_bytes, _small_claim(), edit)) == [
        "Blad Aanvraag, cellen B9:B10: de naam vn_reference_date wijst niet naar één cel, maar"
        " naar B9:B10. Verander de namen in het formulier niet; vul zo nodig een nieuw formulier"
        " in.",
        "Blad Maatregelen, cellen D8:D506: de naam vn_measures_quantity wijst niet naar een kolom"
        " met 500 regels, gelijk met de andere kolommen, maar naar D8:D506. Verander de namen in"
        " het formulier niet; vul zo nodig een nieuw formulier in.",
    ]


def test_the_reader_reads_by_name_not_by_coordinate(form_bytes: bytes) -> None:
    """A name moved to another cell is followed: the value is read where the name points."""

    def edit(wb: Workbook) -> None:
        ws = wb[LAYOUT.sheets.claim]
        ws["E9"] = ws["B9"].value
        ws["B9"] = None
        wb.defined_names["vn_reference_date"].attr_text = "Aanvraag!$E$9"

    data = read_intake(_edit(form_bytes, _small_claim(), edit))
    assert data["reference_date"] == _small_claim()["reference_date"]


def _inject_cached(data: bytes, cell: str, value: str) -> bytes:
    part = _sheet_part(data, LAYOUT.sheets.measures)

    def change(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        text, n = re.subn(
            rf'(<c r="{cell}"[^>]*>)(<f>.*?</f>)<v>[^<]*</v>',
            rf"\1\2<v>{value}</v>",
            content.decode(),
        )
        assert n == 1
        return text.encode()

    return _rezip(data, change)


def test_cached_totals_that_disagree(form_bytes: bytes) -> None:
    data = _filled(form_bytes, _small_claim())
    data = _inject_cached(_inject_cached(data, "F3", "999"), "F7", "3000.004")
    data = _inject_cached(data, "F8", "310")
    assert _problems(data) == [
        "Blad Maatregelen, cel F3: in het bestand staat hier € 999,00, maar wij rekenen"
        " € 19.350,00. Laat Excel opnieuw rekenen en kijk de regels na",
        "Blad Maatregelen, cel F8: in het bestand staat hier € 310,00, maar wij rekenen € 300,00."
        " Laat Excel opnieuw rekenen en kijk de regels na",
    ]


def test_cached_totals_that_agree_or_are_missing(form_bytes: bytes) -> None:
    data = _inject_cached(_filled(form_bytes, _small_claim()), "F3", "19350.000000000004")
    read_intake(data)
    read_intake(_filled(form_bytes, _small_claim()))  # openpyxl stored none: not computed


def test_a_macro_workbook(form_bytes: bytes, tmp_path: Path) -> None:
    data = _filled(form_bytes, _small_claim())
    xlsm = tmp_path / "aanvraag.xlsm"
    xlsm.write_bytes(data)
    assert _problems(xlsm) == [
        "Een werkmap met macro's (.xlsm) nemen wij niet aan. Bewaar het formulier als"
        " Excel-werkmap (.xlsx), zonder macro's."
    ]
    refusal = (
        "De werkmap bevat macro's of ActiveX-elementen. Die nemen wij niet aan. Bewaar het"
        " formulier als Excel-werkmap (.xlsx), zonder macro's."
    )
    with_vba = _rezip(data, lambda _n, c: c, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 vba"})
    assert _problems(with_vba) == [refusal]
    xlm = _rezip(data, lambda _n, c: c, {"xl/macrosheets/sheet1.xml": b"<xm:macrosheet/>"})
    assert _problems(xlm) == [refusal]

    def macro_type(name: str, content: bytes) -> bytes:
        if name != "[Content_Types].xml":
            return content
        return content.replace(
            b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml"
        ).replace(
            b"application/vnd.openxmlformats-officedocument.sheet.macro",
            b"application/vnd.ms-excel.sheet.macro",
        )

    assert _problems(_rezip(data, macro_type)) == [refusal]


def _bomb(form_bytes: bytes, size: int) -> bytes:
    out = io.BytesIO(form_bytes)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z,
        z.open("xl/media/image1.png", "w") as part,
    ):
        chunk = bytes(1024 * 1024)
        for _ in range(size // len(chunk)):
            part.write(chunk)
    return out.getvalue()


def test_a_zip_bomb(form_bytes: bytes) -> None:
    limit = load_forms().limits.max_unpacked_bytes
    bomb = _bomb(form_bytes, limit + 16 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # small on disk, far over the limit unpacked
    assert _problems(bomb) == [
        "Het bestand pakt uit tot meer dan 50,0 MB. Zo groot is een aanvraagformulier nooit; wij"
        " lezen het niet."
    ]


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The zip with `member`'s declared unpacked size changed, in the local header and in the
    central directory: a lie the reader must not believe."""
    raw = bytearray(data)
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        name_at = {b"PK\x03\x04": 30, b"PK\x01\x02": 46}[signature]
        for match in re.finditer(re.escape(signature), raw):
            start = match.start()
            if raw[start + name_at : start + name_at + len(name)] == name:
                struct.pack_into("<I", raw, start + offset, size)
    return bytes(raw)


def test_a_zip_bomb_that_lies_about_its_size(form_bytes: bytes) -> None:
    limit = load_forms().limits.max_unpacked_bytes
    bomb = _bomb(form_bytes, limit + 16 * 1024 * 1024)
    small = _declare_size(bomb, "xl/media/image1.png", 1000)
    with zipfile.ZipFile(io.BytesIO(small)) as z:
        assert z.getinfo("xl/media/image1.png").file_size == 1000
    # believed, the part would be 1000 bytes; unpacked, it does not match its checksum
    assert _problems(small) == [
        "Het bestand is beschadigd (een deel klopt niet met zijn controlegetal). Open het"
        " formulier in Excel en bewaar het opnieuw als Excel-werkmap (.xlsx)."
    ]
    huge = _declare_size(bomb, "xl/media/image1.png", 2**32 - 1)
    assert "pakt uit tot meer dan 50,0 MB" in _problems(huge)[0]


def test_a_zip_of_too_many_parts(form_bytes: bytes) -> None:
    parts = {f"xl/media/p{i}.bin": b"" for i in range(load_forms().limits.max_zip_members)}
    assert _problems(_rezip(form_bytes, lambda _n, c: c, parts)) == [
        "Het bestand bestaat uit meer dan 500 delen. Zo ziet een aanvraagformulier er nooit uit;"
        " wij lezen het niet."
    ]


def test_a_6_mb_file(form_bytes: bytes, tmp_path: Path) -> None:
    noise = os.urandom(6 * 1024 * 1024)  # does not compress
    data = _rezip(
        _filled(form_bytes, _small_claim()), lambda _n, c: c, {"xl/media/foto.jpg": noise}
    )
    assert len(data) > 6 * 1024 * 1024
    size = f"{len(data) / 1024 / 1024:.1f}".replace(".", ",")
    message = f"Het bestand is {size} MB. Een formulier mag hoogstens 5,0 MB zijn. Stuur het"
    message += " aanvraagformulier zonder andere bladen, plaatjes of bijlagen."
    assert _problems(data) == [message]
    path = tmp_path / "groot.xlsx"
    path.write_bytes(data)
    assert _problems(path) == [message]
    stream = _problems(io.BytesIO(data))
    assert stream == [
        "Het bestand is groter dan 5,0 MB. Een formulier mag hoogstens 5,0 MB zijn. Stuur het"
        " aanvraagformulier zonder andere bladen, plaatjes of bijlagen."
    ]


def test_files_that_are_no_workbook(form_bytes: bytes, tmp_path: Path) -> None:
    assert _problems(b"claim_id,reference_date\n") == [
        "Dit bestand is geen Excel-werkmap (.xlsx). Gebruik het aanvraagformulier en bewaar het"
        " als Excel-werkmap."
    ]
    assert _problems(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)) == [
        "Dit is geen .xlsx-bestand: het is een oud Excel-bestand (.xls) of een bestand met een"
        " wachtwoord. Bewaar het formulier zonder wachtwoord als Excel-werkmap (.xlsx)."
    ]
    assert _problems(form_bytes[: len(form_bytes) // 2]) == [
        "Het bestand is beschadigd (het zip-bestand is ongeldig). Open het formulier in Excel"
        " en bewaar het opnieuw als Excel-werkmap (.xlsx)."
    ]
    xls = tmp_path / "oud.xls"
    xls.write_bytes(form_bytes)
    assert _problems(xls) == [
        "Een bestand .xls kunnen wij niet lezen. Bewaar het formulier als Excel-werkmap (.xlsx)."
    ]
    assert _problems(tmp_path / "er-niet.xlsx") == [
        "Het bestand kan niet worden gelezen: No such file or directory."
    ]
    no_workbook = _rezip(form_bytes, lambda n, c: None if n == "xl/workbook.xml" else c)
    assert _problems(no_workbook) == [
        "De werkmap kan niet worden gelezen (een deel van de werkmap ontbreekt of is ongeldig)."
        " Open het formulier in Excel en bewaar het opnieuw als Excel-werkmap (.xlsx)."
    ]


def test_openpyxl_parses_with_defusedxml() -> None:
    from openpyxl.reader import strings
    from openpyxl.worksheet import _reader

    assert openpyxl.DEFUSEDXML is True
    assert _reader.iterparse is defusedxml.ElementTree.iterparse
    assert strings.iterparse is defusedxml.ElementTree.iterparse


def test_an_xml_entity_bomb_is_refused(form_bytes: bytes) -> None:
    part = _sheet_part(form_bytes, LAYOUT.sheets.claim)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "lollollollollol">'
        + "".join(
            f'<!ENTITY {b} "{("&" + a + ";") * 10}">'
            for a, b in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "]>"
    )

    def change(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        return laughs.encode() + content.replace(b"<t>Formulierversie</t>", b"<t>&i;</t>")

    assert _problems(_rezip(_filled(form_bytes, _small_claim()), change)) == [
        "De werkmap kan niet worden gelezen (het bestand bevat XML die wij uit veiligheid niet"
        " lezen). Open het formulier in Excel en bewaar het opnieuw als Excel-werkmap (.xlsx)."
    ]


def test_warnings_about_parts_openpyxl_drops_are_handled(form_bytes: bytes) -> None:
    """Excel writes extensions openpyxl does not keep; reading a value needs none of them,
    and with warnings as errors the workbook still reads."""
    part = _sheet_part(form_bytes, LAYOUT.sheets.measures)
    ext = (
        b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"'
        b' xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x14:dataValidations count="0"/></ext></extLst></worksheet>'
    )

    def change(name: str, content: bytes) -> bytes:
        return content.replace(b"</worksheet>", ext) if name == part else content

    data = _rezip(_filled(form_bytes, _small_claim()), change)
    assert read_intake(data)["claim_id"] == "P06"


def test_every_problem_at_once_and_the_refusal(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_reference_date").value = None
        _cell(wb, "vn_measures_quantity", 3).value = "twee"
        _cell(wb, "vn_measures_description", 4).value = None

    with pytest.raises(FormError) as info:
        read_intake(_edit(form_bytes, _small_claim(), edit))
    error = info.value
    assert isinstance(error, ClaimError)
    assert error.message == "Het formulier kan niet worden gelezen: 3 problemen."
    assert [p.cell for p in error.form_problems] == ["B9", "D10", "C11"]
    assert error.form_problems[1].field == "measures[3].quantity"
    assert error.form_problems[1].value == "twee"
    refusal = refusal_for(error, "aanvraag.xlsx").model_dump()
    assert refusal["error"]["code"] == "ongeldige_aanvraag"
    assert refusal["error"]["problems"][1] == {
        "field": "Blad Maatregelen, cel D10",
        "value": "twee",
        "message": "aantal moet een getal zijn, bijvoorbeeld 2 of 2,5",
    }


def test_a_form_whose_catalogue_is_not_the_one_in_force(form_bytes: bytes) -> None:
    def edit(wb: Workbook) -> None:
        _cell(wb, "vn_catalogusversie").value = "2015-01-01"

    assert _problems(_edit(form_bytes, _small_claim(), edit)) == [
        "Blad Aanvraag, cel B4: de catalogus van 2015-01-01 kennen wij niet. Bekende catalogi:"
        " 2016-02-10. Vul een nieuw formulier in."
    ]


def test_form_problem_locations() -> None:
    assert str(FormProblem("Maatregelen", "E7", "x")) == "Blad Maatregelen, cel E7: x"
    assert str(FormProblem("Maatregelen", "E7:E506", "x")) == "Blad Maatregelen, cellen E7:E506: x"
    assert str(FormProblem("Maatregelen", None, "x")) == "Blad Maatregelen: x"
    assert str(FormProblem(None, None, "x")) == "x"
    assert FormProblem(None, None, "x").as_problem().field == "(bestand)"


# --- the empty form --------------------------------------------------------------------------


def test_the_empty_form(form_bytes: bytes) -> None:
    wb = _open(form_bytes)
    s = LAYOUT.sheets
    assert wb.sheetnames == [s.instructions, s.claim, s.measures, s.lists]
    assert wb[s.lists].sheet_state == "hidden"
    assert all(wb[name].protection.sheet for name in wb.sheetnames)
    assert wb.security is not None and wb.security.lockStructure
    assert _cell(wb, "vn_formulierversie").value == "2026.1"
    assert _cell(wb, "vn_catalogusversie").value == "2016-02-10"
    # every input has a name, is unlocked and yellow; every formula is locked and grey
    for name in LAYOUT.input_names():
        for line in (0, 499) if name.startswith("vn_measures_") else (0,):
            cell = _cell(wb, name, line)
            assert cell.protection.locked is False, name
            assert cell.fill.fgColor.rgb == "00" + LAYOUT.colours.input, name
    for name in ("vn_measures_claimed_eur", "vn_totaal_gevraagd", "vn_overzicht_gevraagd"):
        cell = _cell(wb, name)
        assert cell.protection.locked is True
        assert str(cell.value).startswith("=")
    assert _cell(wb, "vn_measures_claimed_eur", 499).value == (
        '=IF(OR(D506="",E506=""),"",ROUND(D506*E506,2))'
    )
    assert _cell(wb, "vn_totaal_gevraagd").value == "=SUM($F$7:$F$506)"
    assert _cell(wb, "vn_overzicht_gevraagd").value == "='Maatregelen'!$F$3"
    # the measure drop-down: the catalogue plus 'niet in de catalogus', from the hidden sheet
    ws = wb[s.measures]
    lists = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert lists["B7:B506"].type == "list"
    assert lists["B7:B506"].formula1 == "vn_lijst_maatregelen"
    assert lists["D7:D506"].formula1 == "AND(ISNUMBER(D7),D7>0,D7<=1000000,ROUND(D7,2)=D7)"
    assert lists["G7:G506"].type == "date"
    entries = [r[0] for r in wb[s.lists].iter_rows(min_row=2, max_col=1, values_only=True) if r[0]]
    catalogue = ROOT / "calculators" / "catalogue" / "2016-02-10.csv"
    assert len(entries) == len(catalogue.read_text().splitlines())  # items + 'niet in de catalogus'
    assert entries[-1] == "niet in de catalogus"
    # an explicit 'Onbekend' wherever the claim allows unknown
    onbekend = {
        f.path
        for f in LAYOUT.fields
        if f.choices and any(c.label == "Onbekend" for c in LAYOUT.choices[f.choices])
    }
    assert onbekend == {"threat.status", "home.pkvw_certified"}


def test_names_cover_every_input(form_bytes: bytes) -> None:
    wb = _open(form_bytes)
    inputs = {f.path for f in LAYOUT.fields} | {
        f"measures.{c.path}" for c in LAYOUT.measures_sheet.columns
    }
    claim_fields = {
        f"{name}.{sub}" if sub else name
        for name, field in Claim.model_fields.items()
        for sub in (_submodel_fields(field.annotation) or [""])
    }
    assert inputs == claim_fields
    assert set(LAYOUT.input_names()) <= set(wb.defined_names)


def _submodel_fields(annotation: Any) -> list[str]:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        inner = getattr(arg, "__args__", None)
        model = inner[0] if inner and hasattr(inner[0], "model_fields") else arg
        if hasattr(model, "model_fields"):
            return list(model.model_fields)
    return []


def test_build_intake_needs_a_catalogue_in_force() -> None:
    with pytest.raises(NoRulesetError):
        build_intake(io.BytesIO(), on=date(2010, 1, 1))


def test_the_instructions_are_plain_dutch() -> None:
    texts = [*LAYOUT.instructions.paragraphs, LAYOUT.claim_sheet.intro, LAYOUT.measures_sheet.intro]
    texts += [f.help for f in LAYOUT.fields] + [c.help for c in LAYOUT.measures_sheet.columns]
    report = check_text(texts)
    assert report.ok, report.summary()


def test_the_drop_down_labels_are_unique() -> None:
    from vangnet.catalogue import load_catalogues

    for catalogue in load_catalogues().versions:
        labels = [label.casefold() for label, _ in measure_choices(LAYOUT, catalogue)]
        assert len(labels) == len(set(labels))
    for choices in LAYOUT.choices.values():
        assert len({c.label.casefold() for c in choices}) == len(choices)


def test_a_broken_layout_stops_with_the_file_named(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "forms" / "intake", tmp_path / "intake")
    path = tmp_path / "intake" / "2026-11-28.yaml"
    path.write_text(path.read_text().replace("choices: dreiging", "choices: dreigingen"))
    with pytest.raises(DataError, match=r"2026-11-28.yaml: .*onbekende keuzelijst dreigingen"):
        load_forms(tmp_path / "intake")
    path.write_text(path.read_text().replace("choices: dreigingen", "choices: dreiging"))
    index = tmp_path / "intake" / "versions.yaml"
    index.write_text(index.read_text().replace('current: "2026.1"', 'current: "2027.1"'))
    with pytest.raises(DataError, match=r"versions\.yaml: de huidige versie 2027\.1"):
        load_forms(tmp_path / "intake")


def test_media_type() -> None:
    assert XLSX_MEDIA_TYPE == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- the export ------------------------------------------------------------------------------


def _export(decider: Decider, claim: Claim) -> bytes:
    out = io.BytesIO()
    export_calculation(decider.evaluate(claim), out)
    return out.getvalue()


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_the_export_of_a_decision(decider: Decider, path: Path) -> None:
    claim = parse_claim_json(path.read_bytes())
    evaluation = decider.evaluate(claim)
    decision = evaluation.decision
    wb = load_workbook(io.BytesIO(_export(decider, claim)))
    ws = wb["Berekening"]
    values = {
        row[0]: row[2] for row in ws.iter_rows(min_row=2, max_row=20, values_only=True) if row[0]
    }
    assert values["Aanvraag"] == decision.claim_id
    assert values["Regeling"] == decision.ruleset.id
    assert values["Versie van de regels"] == decision.ruleset.version
    assert values["Catalogus van"] == decision.catalogue.valid_from.isoformat()
    assert values["Totaal gevraagd (euro)"] == pytest.approx(float(decision.claimed_total_eur))
    assert values["Totaal vergoedbaar (euro)"] == pytest.approx(float(decision.eligible_total_eur))
    assert values["Vingerafdruk van de aanvraag (SHA-256)"] == decision.receipt.claim_sha256
    assert values["Uitkomst"] in {
        "toekennen",
        "gedeeltelijk toekennen",
        "afwijzen",
        "nader onderzoek nodig",
    }
    assert ("SIMULATIE – dit is geen besluit" in [ws["A2"].value]) == decision.simulation
    header = next(r for r in range(1, 40) if ws.cell(row=r, column=1).value == "Nr.")
    rows = list(
        ws.iter_rows(min_row=header + 1, max_row=header + len(decision.lines), values_only=True)
    )
    for row, line in zip(rows, decision.lines, strict=True):
        assert row[0] == line.index + 1
        assert row[1] == line.code and row[2] == line.description
        assert Decimal(str(row[6])) == line.claimed_eur
        assert (row[7] is None) == (line.reference_eur is None)
        if line.reference_eur is not None:
            assert Decimal(str(row[7])) == line.reference_eur
        assert Decimal(str(row[8])) == line.eligible_eur
        assert row[9] == line.status
        assert row[11] == line.explanation
    total = ws.cell(row=header + len(decision.lines) + 1, column=1)
    assert total.value == "Totaal"
    assert ws.cell(row=total.row, column=9).value == pytest.approx(
        float(decision.eligible_total_eur)
    )
    findings = list(wb["Beoordeling"].iter_rows(min_row=2, values_only=True))
    assert [f[0] for f in findings] == [f.rule for f in decision.findings]


def test_the_export_writes_formula_like_text_as_text(decider: Decider) -> None:
    claim = json.loads((PUBLIC_SCENARIOS / "P01.claim.json").read_text())
    texts = ['=HYPERLINK("http://example.org","klik")', "+31 6 1234", "-12", "@SUM(A1:A9)", "=1+1"]
    for measure, text in zip(claim["measures"], texts, strict=True):
        measure["description"] = text
    data = _export(decider, parse_claim(claim))
    # no formula anywhere in the sheet
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Berekening"]
    cells = [c for row in ws.iter_rows() for c in row if c.value in texts]
    assert sorted(c.value for c in cells) == sorted(texts)
    for c in cells:
        assert c.data_type == "s"
        assert c.quotePrefix  # Excel keeps it text when the cell is edited


def test_export_to_a_path(decider: Decider, tmp_path: Path) -> None:
    claim = parse_claim_json((PUBLIC_SCENARIOS / "P06.claim.json").read_bytes())
    path = tmp_path / "berekening.xlsx"
    export_calculation(decider.evaluate(claim), path)
    assert load_workbook(path).sheetnames == ["Berekening", "Beoordeling"]


def test_a_form_whose_catalogue_is_not_in_force_on_the_reference_date(tmp_path: Path) -> None:
    """Two catalogue versions: a form made for 2016 cannot hold a claim of 2021."""
    from vangnet.catalogue import load_catalogues

    folder = tmp_path / "catalogue"
    shutil.copytree(ROOT / "calculators" / "catalogue", folder)
    old = folder / "2016-02-10.yaml"
    old.write_text(old.read_text().replace("valid_to: null", "valid_to: 2019-12-31"))
    new = folder / "2020-01-01.yaml"
    new.write_text(
        old.read_text()
        .replace("valid_from: 2016-02-10", "valid_from: 2020-01-01")
        .replace("valid_to: 2019-12-31", "valid_to: null")
        .replace("items_file: 2016-02-10.csv", "items_file: 2020-01-01.csv")
    )
    shutil.copy(folder / "2016-02-10.csv", folder / "2020-01-01.csv")
    catalogues = load_catalogues(folder)
    claim = _small_claim()
    claim["reference_date"] = "2021-03-01"
    out = io.BytesIO()
    fill_intake(parse_claim(claim), out, on=ON, catalogues=catalogues)
    assert _problems(out.getvalue(), catalogues=catalogues) == [
        "Blad Aanvraag, cel B9: op de peildatum 2021-03-01 geldt de catalogus van 2020-01-01,"
        " maar dit formulier heeft de catalogus van 2016-02-10. Maak een formulier voor deze"
        " peildatum: vangnet forms intake --on 2021-03-01."
    ]
    out = io.BytesIO()
    fill_intake(parse_claim(claim), out, catalogues=catalogues)  # a form for its own date
    assert read_intake(out.getvalue(), catalogues=catalogues)["reference_date"] == "2021-03-01"
