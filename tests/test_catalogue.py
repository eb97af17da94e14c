"""The dated measure catalogue: the real version, and one broken copy per kind of error, each
refused with a `CatalogueError` that names the file and the row."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vangnet.catalogue import COLUMNS, Catalogue, CatalogueSet, load_catalogue, load_catalogues
from vangnet.exceptions import CatalogueError, DataError

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "calculators" / "catalogue"
META = "2016-02-10.yaml"
ITEMS = "2016-02-10.csv"

# The SHA-256 of the canonical content of the 2016-02-10 version. Decisions cite it; a dated
# version is never rewritten, so a change here means a new version file is needed instead.
SHA_2016 = "7e2cbbdc234304b4b5b27b378b587a533bf658368be1bbf8005a309b72410f79"


# --- the real catalogue -----------------------------------------------------------------------


def test_the_real_catalogue_loads(catalogues: CatalogueSet) -> None:
    [version] = catalogues.versions
    assert version.valid_from == date(2016, 2, 10)
    assert version.valid_to is None
    assert len(version.items) == 34
    assert version.path == SOURCE / META


def test_its_hash_is_stable(catalogues: CatalogueSet) -> None:
    [version] = catalogues.versions
    assert re.fullmatch(r"[0-9a-f]{64}", version.sha256)
    assert load_catalogue(SOURCE / META).sha256 == version.sha256
    assert version.sha256 == SHA_2016, "a dated catalogue version was rewritten"


@pytest.mark.parametrize(
    ("day", "in_force"),
    [
        (date(2016, 2, 9), False),
        (date(2016, 2, 10), True),
        (date(2016, 2, 11), True),
        (date(2099, 12, 31), True),
        (date(1900, 1, 1), False),
    ],
)
def test_the_version_in_force(catalogues: CatalogueSet, day: date, in_force: bool) -> None:
    assert catalogues.in_force(day) is (catalogues.versions[0] if in_force else None)


def test_items_are_typed(catalogues: CatalogueSet) -> None:
    version = catalogues.versions[0]
    alarm = version.items["ALARM_PAC"]
    assert (alarm.unit, alarm.category, alarm.price_basis) == ("stuk", "aanvullend", "bron")
    assert alarm.reference_unit_price_eur == Decimal("2600.00")
    assert alarm.is_estimate is False
    assert alarm.recurring is False
    assert version.items["PAC_ABONNEMENT"].recurring is True
    assert version.items["DEUR_RC3"].pkvw_equivalent == "DEUR_RC2"
    assert version.items["DEURSPION"].package_2021 == "zicht_op_deur"
    assert version.items["RAMEN_KOZIJNEN"].reference_unit_price_eur is None
    assert version.get("ALARM_PAC") is alarm
    assert version.get("NIET_IN_CATALOGUS") is None
    assert version.get(None) is None


def test_the_closed_value_sets_are_those_of_the_spec(catalogues: CatalogueSet) -> None:
    version = catalogues.versions[0]
    assert version.units == (
        "element",
        "stuk",
        "set",
        "m",
        "m2",
        "uur",
        "maand",
        "nacht",
        "avond",
        "hek-dag",
        "post",
    )
    assert list(version.categories) == [
        "pkvw_basis",
        "aanvullend",
        "bewaking",
        "politie",
        "openbare_orde",
        "vergadering",
        "woningverbetering",
        "uitwijk",
    ]
    assert list(version.package_items) == [
        "brievenbus",
        "ruiten",
        "zicht_op_deur",
        "basisinstallatie",
        "kluis",
    ]
    assert set(version.price_bases) == {"bron", "schatting"}


def test_every_item_but_home_improvement_has_a_reference_price(catalogues: CatalogueSet) -> None:
    for item in catalogues.versions[0].items.values():
        has_price = item.reference_unit_price_eur is not None
        assert has_price is (item.category != "woningverbetering"), item.code


def test_the_default_directory_is_the_project_catalogue() -> None:
    assert load_catalogues().versions[0].sha256 == load_catalogues(SOURCE).versions[0].sha256


# --- broken copies ----------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the real catalogue version to break."""
    target = tmp_path / "catalogue"
    target.mkdir()
    for name in (META, ITEMS):
        shutil.copyfile(SOURCE / name, target / name)
    return target


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / ITEMS).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(folder: Path, rows: list[dict[str, str]], *, quote_all: bool = False) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(
        out,
        fieldnames=COLUMNS,
        lineterminator="\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writeheader()
    writer.writerows(rows)
    (folder / ITEMS).write_text(out.getvalue(), encoding="utf-8")


def row_of(code: str) -> int:
    """The row of `code` in the real CSV, as a spreadsheet counts it (the header is row 1)."""
    codes = [row["code"] for row in _rows(SOURCE)]
    return codes.index(code) + 2


def set_cell(folder: Path, code: str, column: str, value: str) -> None:
    rows = _rows(folder)
    [row] = [r for r in rows if r["code"] == code]
    row[column] = value
    _write(folder, rows)


def set_meta(folder: Path, old: str, new: str) -> None:
    path = folder / META
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(folder: Path) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogues(folder)
    return str(info.value)


def test_the_unbroken_copy_loads(folder: Path) -> None:
    assert load_catalogues(folder).versions[0].sha256 == SHA_2016


CELL_ERRORS = [
    ("ALARM_PAC", "category", "beveiliging", "onbekende categorie 'beveiliging' bij ALARM_PAC"),
    ("ALARM_PAC", "unit", "stuks", "onbekende eenheid 'stuks' bij ALARM_PAC"),
    ("KLUIS", "package_2021", "deur", "onbekend pakketonderdeel 'deur' bij KLUIS"),
    (
        "ALARM_PAC",
        "reference_unit_price_eur",
        "",
        "referentieprijs ontbreekt bij ALARM_PAC (categorie aanvullend)",
    ),
    ("ALARM_PAC", "reference_unit_price_eur", "-5", "referentieprijs '-5' bij ALARM_PAC"),
    ("ALARM_PAC", "reference_unit_price_eur", "12.345", "referentieprijs '12.345' bij ALARM_PAC"),
    ("ALARM_PAC", "reference_unit_price_eur", "1e30", "referentieprijs '1e30' bij ALARM_PAC"),
    ("ALARM_PAC", "reference_unit_price_eur", "NaN", "referentieprijs 'NaN' bij ALARM_PAC"),
    ("ALARM_PAC", "reference_unit_price_eur", "2.600", "referentieprijs '2.600' bij ALARM_PAC"),
    ("ALARM_PAC", "price_basis", "offerte", "onbekende prijsgrondslag 'offerte' bij ALARM_PAC"),
    ("ALARM_PAC", "price_date", "2026-13-01", "prijsdatum '2026-13-01' bij ALARM_PAC"),
    ("ALARM_PAC", "price_date", "20261128", "prijsdatum '20261128' bij ALARM_PAC"),
    ("ALARM_PAC", "price_date", "28-11-2026", "prijsdatum '28-11-2026' bij ALARM_PAC"),
    ("ALARM_PAC", "price_date", "", "prijsdatum '' bij ALARM_PAC"),
    ("ALARM_PAC", "recurring", "ja", "recurring moet yes of no zijn bij ALARM_PAC"),
    ("ALARM_PAC", "code", " ", "code is leeg"),
    (
        "DEUR_RC3",
        "pkvw_equivalent",
        "DEUR_RC9",
        "PKVW-equivalent DEUR_RC9 bij DEUR_RC3 bestaat niet",
    ),
    (
        "DEUR_RC4",
        "pkvw_equivalent",
        "RAMEN_KOZIJNEN",
        "PKVW-equivalent RAMEN_KOZIJNEN bij DEUR_RC4 heeft geen referentieprijs",
    ),
    ("KLUIS", "code", "ALARM_PAC", f"dubbele code ALARM_PAC (ook in rij {row_of('ALARM_PAC')})"),
]


@pytest.mark.parametrize(
    ("code", "column", "value", "text"), CELL_ERRORS, ids=[f"{c[1]}={c[2]!r}" for c in CELL_ERRORS]
)
def test_a_bad_cell_is_refused_naming_file_and_row(
    folder: Path, code: str, column: str, value: str, text: str
) -> None:
    set_cell(folder, code, column, value)
    error = refused(folder)
    assert error.startswith(f"{ITEMS}, rij {row_of(code)}: "), error
    assert text in error


def test_an_empty_price_is_allowed_for_home_improvement(folder: Path) -> None:
    set_cell(folder, "RAMEN_KOZIJNEN", "reference_unit_price_eur", "")
    item = load_catalogues(folder).versions[0].items["RAMEN_KOZIJNEN"]
    assert item.category == "woningverbetering"
    assert item.reference_unit_price_eur is None


def test_a_price_for_home_improvement_is_allowed_too(folder: Path) -> None:
    set_cell(folder, "RAMEN_KOZIJNEN", "reference_unit_price_eur", "1000")
    item = load_catalogues(folder).versions[0].items["RAMEN_KOZIJNEN"]
    assert item.reference_unit_price_eur == Decimal("1000.00")


@pytest.mark.parametrize(
    "header",
    [
        ",".join(COLUMNS[:-1]),
        ",".join((*COLUMNS, "extra")),
        ",".join(("naam", *COLUMNS[1:])),
        ",".join((COLUMNS[1], COLUMNS[0], *COLUMNS[2:])),
    ],
    ids=["missing", "extra", "renamed", "reordered"],
)
def test_wrong_columns_are_refused_on_row_1(folder: Path, header: str) -> None:
    path = folder / ITEMS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(header + "\n" + "".join(lines[1:]), encoding="utf-8")
    error = refused(folder)
    assert error.startswith(f"{ITEMS}, rij 1: de kolommen moeten zijn: {', '.join(COLUMNS)}")


@pytest.mark.parametrize("change", ["drop", "add"])
def test_a_row_with_the_wrong_number_of_cells_is_refused(folder: Path, change: str) -> None:
    path = folder / ITEMS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    n = row_of("KLUIS")
    line = lines[n - 1].rstrip("\n")
    lines[n - 1] = (line.rsplit(",", 1)[0] if change == "drop" else line + ",x") + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    assert refused(folder) == f"{ITEMS}, rij {n}: verkeerd aantal kolommen"


def test_the_row_number_counts_blank_lines(folder: Path) -> None:
    path = folder / ITEMS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(1, "\n")  # a blank line after the header: every row moves down one
    n = row_of("KLUIS") + 1
    lines[n - 1] = lines[n - 1].replace(",aanvullend,", ",onbekend,")
    path.write_text("".join(lines), encoding="utf-8")
    assert refused(folder).startswith(f"{ITEMS}, rij {n}: onbekende categorie 'onbekend'")


def test_an_empty_items_file_is_refused(folder: Path) -> None:
    _write(folder, [])
    assert refused(folder) == f"{ITEMS}: bevat geen maatregelen"


def test_a_missing_items_file_is_refused(folder: Path) -> None:
    (folder / ITEMS).unlink()
    assert refused(folder).startswith(f"{ITEMS}: niet leesbaar")


# --- the version file -------------------------------------------------------------------------


def test_the_file_name_must_be_its_valid_from(folder: Path) -> None:
    (folder / META).rename(folder / "2016-02-11.yaml")
    assert refused(folder) == "2016-02-11.yaml: de bestandsnaam moet 2016-02-10.yaml zijn"


def test_valid_from_must_be_a_date(folder: Path) -> None:
    set_meta(folder, "valid_from: 2016-02-10", "valid_from: 10-02-2016")
    assert refused(folder) == f"{META}: valid_from is geen datum (JJJJ-MM-DD): '10-02-2016'"


def test_valid_to_may_not_precede_valid_from(folder: Path) -> None:
    set_meta(folder, "valid_to: null", "valid_to: 2016-02-09")
    assert refused(folder) == f"{META}: valid_to ligt voor valid_from"


def test_an_unknown_key_is_refused(folder: Path) -> None:
    set_meta(folder, "valid_to: null", "valid_to: null\nvalid_until: 2020-01-01")
    assert refused(folder) == f"{META}: onbekende sleutels: valid_until"


def test_a_missing_key_is_refused(folder: Path) -> None:
    set_meta(folder, "categories_without_price: [woningverbetering]", "")
    assert refused(folder) == f"{META}: ontbrekende sleutels: categories_without_price"


def test_broken_yaml_is_refused(folder: Path) -> None:
    (folder / META).write_text("valid_from: [2016-02-10\n", encoding="utf-8")
    assert refused(folder).startswith(f"{META}: niet leesbaar als YAML")


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="geen catalogusversies gevonden"):
        load_catalogues(tmp_path)


def _second_version(folder: Path, valid_from: str, first_valid_to: str | None) -> None:
    if first_valid_to is not None:
        set_meta(folder, "valid_to: null", f"valid_to: {first_valid_to}")
    text = (SOURCE / META).read_text(encoding="utf-8")
    text = text.replace("valid_from: 2016-02-10", f"valid_from: {valid_from}")
    (folder / f"{valid_from}.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("first_valid_to", [None, "2020-01-01", "2021-06-30"])
def test_overlapping_versions_are_refused(folder: Path, first_valid_to: str | None) -> None:
    _second_version(folder, "2020-01-01", first_valid_to)
    assert refused(folder).startswith("2020-01-01.yaml: de geldigheid overlapt met 2016-02-10.yaml")


def test_adjoining_versions_each_hold_their_own_period(folder: Path) -> None:
    _second_version(folder, "2020-01-01", "2019-12-31")
    catalogues = load_catalogues(folder)
    old, new = catalogues.versions
    assert (old.valid_to, new.valid_from) == (date(2019, 12, 31), date(2020, 1, 1))
    assert catalogues.in_force(date(2016, 2, 9)) is None
    assert catalogues.in_force(date(2016, 2, 10)) is old
    assert catalogues.in_force(date(2019, 12, 31)) is old
    assert catalogues.in_force(date(2020, 1, 1)) is new
    # the same prices, a different validity: a different version, so a different hash
    assert old.sha256 != new.sha256


def test_a_catalogue_error_is_a_data_error() -> None:
    assert issubclass(CatalogueError, DataError)


# --- the hash ---------------------------------------------------------------------------------


def _sha(folder: Path) -> str:
    version: Catalogue = load_catalogues(folder).versions[0]
    return version.sha256


def test_changing_one_price_changes_the_hash(folder: Path) -> None:
    set_cell(folder, "ALARM_PAC", "reference_unit_price_eur", "2601")
    assert _sha(folder) != SHA_2016


@pytest.mark.parametrize(
    ("column", "value"),
    [("name_nl", "Alarm"), ("price_date", "2026-11-29"), ("recurring", "yes"), ("unit", "set")],
)
def test_changing_any_cell_changes_the_hash(folder: Path, column: str, value: str) -> None:
    set_cell(folder, "ALARM_PAC", column, value)
    assert _sha(folder) != SHA_2016


def test_the_hash_covers_content_not_bytes(folder: Path) -> None:
    rows = _rows(folder)
    for row in rows:
        if row["reference_unit_price_eur"]:
            row["reference_unit_price_eur"] += ".00"  # 2600 and 2600.00 are the same price
    _write(folder, rows, quote_all=True)
    set_meta(folder, "# Measure catalogue", "# A changed comment on the measure catalogue")
    assert _sha(folder) == SHA_2016


# --- closures recorded in the manifest, and bytes that used to crash the loader --------------


def _manifest(tmp_path: Path, closure: object) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps({"published": {}, "closed": {f"calculators/catalogue/{META}": closure}}),
        encoding="utf-8",
    )
    return path


def test_a_closure_in_the_manifest_ends_the_open_version(folder: Path, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {"valid_to": "2029-12-31", "by": "catalogus@2030-01-01"})
    cats = load_catalogues(folder, manifest=manifest)
    (cat,) = cats.versions
    assert cat.valid_to == date(2029, 12, 31) and cat.sha256 == SHA_2016
    assert cats.in_force(date(2029, 12, 31)) is cat and cats.in_force(date(2030, 1, 1)) is None
    assert load_catalogue(folder / META).valid_to is None  # the file alone is open


def test_the_default_manifest_is_that_of_the_tree(folder: Path) -> None:
    # folder/../../rulesets/manifest.json, as in a copy of the project
    tree = folder.parent / "tree"
    shutil.copytree(folder, tree / "calculators" / "catalogue")
    (tree / "rulesets").mkdir()
    _manifest(tree / "rulesets", {"valid_to": "2020-01-01", "by": "catalogus@2020-01-02"})
    (cat,) = load_catalogues(tree / "calculators" / "catalogue").versions
    assert cat.valid_to == date(2020, 1, 1)


def test_a_file_end_date_that_contradicts_its_closure_is_refused(
    folder: Path, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path, {"valid_to": "2029-12-31", "by": "catalogus@2030-01-01"})
    set_meta(folder, "valid_to: null", "valid_to: 2028-12-31")
    with pytest.raises(CatalogueError, match=r"2016-02-10\.yaml: het bestand zegt valid_to"):
        load_catalogues(folder, manifest=manifest)
    set_meta(folder, "valid_to: 2028-12-31", "valid_to: 2029-12-31")
    assert load_catalogues(folder, manifest=manifest).versions[0].valid_to == date(2029, 12, 31)


def test_an_items_file_not_in_utf8_is_refused(folder: Path) -> None:
    data = (folder / ITEMS).read_bytes()
    (folder / ITEMS).write_bytes(data.replace(b"Brand-", b"Br\xe9nd-", 1))
    assert "2016-02-10.csv: is geen tekst in UTF-8" in refused(folder)


def test_a_meta_file_not_in_utf8_is_refused(folder: Path) -> None:
    (folder / META).write_bytes(b"\xff\xfe" + (folder / META).read_bytes())
    assert "2016-02-10.yaml: is geen tekst in UTF-8" in refused(folder)


@given(st.binary(max_size=400))
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_items_bytes_are_loaded_or_refused_in_words(folder: Path, content: bytes) -> None:
    (folder / ITEMS).write_bytes(content)
    with pytest.raises(CatalogueError, match=r"^2016-02-10\.(csv|yaml)"):
        load_catalogue(folder / META)
