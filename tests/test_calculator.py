"""The neutral cost calculator: the public scenarios to the cent, half-up rounding, reference
prices and deviations, unspecified lines, totals, and independence of the order of the lines."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vangnet.calculator import CalculatedLine, Calculation, calculate, catalogue_for
from vangnet.catalogue import CatalogueSet, load_catalogues
from vangnet.claim import Claim, parse_claim, parse_claim_json
from vangnet.exceptions import NoRulesetError

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "tests" / "scenarios" / "public"
SCENARIOS = sorted(PUBLIC.glob("*.claim.json"))

# The real catalogue, loaded once for the hypothesis tests (fixtures do not mix with @given).
CATALOGUES = load_catalogues()
CATALOGUE = CATALOGUES.versions[0]
CODES = sorted(CATALOGUE.items)
PRICED = [c for c in CODES if CATALOGUE.items[c].reference_unit_price_eur is not None]


def _claim(lines: list[dict[str, Any]], **extra: Any) -> Claim:
    data: dict[str, Any] = {
        "reference_date": "2016-03-01",
        "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
        "office_holder": {"role": "raadslid"},
        "measures": lines,
        **extra,
    }
    return parse_claim(data)


def _line(code: str | None, quantity: Any, price: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"description": "regel", "quantity": quantity, "unit_price_eur": price}
    if code is not None:
        line["code"] = code
    return line


def _cents(amount: Decimal) -> int:
    cents = amount * 100
    assert cents == cents.to_integral_value()
    return int(cents)


def _half_up_product(quantity: Decimal, price: Decimal) -> Decimal:
    """quantity × price rounded half-up to cents, in integers (an oracle independent of
    `vangnet.money`): both have two decimals, so the product is in 1/10000 euro."""
    product = _cents(quantity) * _cents(price)
    assert product >= 0
    return Decimal((product + 50) // 100) / 100


# --- the public scenarios ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name.split(".")[0])
def test_the_claimed_totals_of_the_public_scenarios(catalogues: CatalogueSet, path: Path) -> None:
    claim = parse_claim_json(path.read_bytes())
    expected_path = path.with_name(path.name.replace(".claim.", ".expected."))
    expected = json.loads(expected_path.read_text(encoding="utf-8"), parse_float=Decimal)
    calc = calculate(claim, catalogues)
    assert calc.claimed_total_eur == expected["claimed_total_eur"]
    assert calc.claimed_total_eur.as_tuple().exponent == -2
    assert [line.index for line in calc.lines] == list(range(len(claim.measures)))
    for line, measure in zip(calc.lines, claim.measures, strict=True):
        assert line.measure is measure
        assert line.claimed_eur == _half_up_product(measure.quantity, measure.unit_price_eur)
        assert line.item is not None
        assert line.item.code == measure.code
        ref = line.item.reference_unit_price_eur
        if ref is None:
            assert line.reference_eur is None
        else:
            assert line.reference_eur == _half_up_product(measure.quantity, ref)
    assert sum(line.claimed_eur for line in calc.lines) == calc.claimed_total_eur


def test_the_totals_of_p01(catalogues: CatalogueSet) -> None:
    calc = calculate(parse_claim_json((PUBLIC / "P01.claim.json").read_bytes()), catalogues)
    assert calc.claimed_total_eur == Decimal("4520.00")
    assert calc.reference_total_eur == Decimal("4520.00")
    assert calc.claimed_with_reference_eur == Decimal("4520.00")
    # 4520 / 45000 inhabitants = 0.10044...; 4520 / 144,000,000 = 0.0031388... %
    assert calc.claimed_per_inhabitant_eur == Decimal("0.10")
    assert calc.share_of_expenditure_pct == Decimal("0.0031")
    assert calc.catalogue is CATALOGUE or calc.catalogue.sha256 == CATALOGUE.sha256


def test_deviation_and_pkvw_part_in_p06(catalogues: CatalogueSet) -> None:
    calc = calculate(parse_claim_json((PUBLIC / "P06.claim.json").read_bytes()), catalogues)
    by_code = {line.measure.code: line for line in calc.lines}
    # ALARM_PAC at 3000 against 2600: +15.3846...%
    assert by_code["ALARM_PAC"].deviation_pct == Decimal("15.38")
    assert by_code["CAMERA_SET_4"].deviation_pct == Decimal("66.67")
    assert by_code["DEUR_RC3"].deviation_pct == Decimal("0.00")
    door = by_code["DEUR_RC3"]
    assert door.pkvw_equivalent is not None
    assert door.pkvw_equivalent.code == "DEUR_RC2"
    assert door.pkvw_equivalent_eur == Decimal("1500.00")
    assert door.pkvw_equivalent_exact == Decimal("1500.00")
    assert by_code["ALARM_PAC"].pkvw_equivalent is None
    assert by_code["ALARM_PAC"].pkvw_equivalent_eur is None


# --- rounding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "claimed"),
    [
        ("0.5", "0.01", "0.01"),  # 0.005: half goes up
        ("0.5", "0.05", "0.03"),  # 0.025: half-even would give 0.02
        ("0.5", "0.03", "0.02"),  # 0.015
        ("0.25", "0.02", "0.01"),  # 0.005
        ("0.01", "0.49", "0.00"),  # 0.0049
        ("0.01", "0.50", "0.01"),  # 0.005
        ("0.01", "0.01", "0.00"),  # 0.0001
        ("0.99", "0.99", "0.98"),  # 0.9801
        ("1.5", "0.03", "0.05"),  # 0.045
        ("3", "0.1", "0.30"),  # no binary float drift
        ("7.77", "333.33", "2589.97"),  # 2589.9741
        ("2.5", "0", "0.00"),
    ],
)
def test_a_line_is_rounded_half_up_to_cents(quantity: str, price: str, claimed: str) -> None:
    [line] = calculate(_claim([_line(None, quantity, price)]), CATALOGUES).lines
    assert str(line.claimed_eur) == claimed


def test_the_reference_amount_is_rounded_half_up(tmp_path: Path) -> None:
    source = ROOT / "calculators" / "catalogue"
    for name in ("2016-02-10.yaml", "2016-02-10.csv"):
        shutil.copyfile(source / name, tmp_path / name)
    items = tmp_path / "2016-02-10.csv"
    items.write_text(
        items.read_text(encoding="utf-8").replace(",aanvullend,2600,", ",aanvullend,0.05,"),
        encoding="utf-8",
    )
    catalogues = load_catalogues(tmp_path)
    [line] = calculate(_claim([_line("ALARM_PAC", "0.5", "0.05")]), catalogues).lines
    assert line.reference_unit_price_eur == Decimal("0.05")
    assert line.reference_eur == Decimal("0.03")  # 0.025 up
    assert line.deviation_pct == Decimal("0.00")


# --- unspecified lines ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [None, "", "NIET_IN_CATALOGUS", "alarm_pac", " ALARM_PAC"])
def test_an_unspecified_line_has_no_item_and_no_reference(code: str | None) -> None:
    [line] = calculate(_claim([_line(code, "2", "100.50")]), CATALOGUES).lines
    assert line.item is None
    assert not line.specified
    assert line.reference_unit_price_eur is None
    assert line.reference_eur is None
    assert line.deviation_pct is None
    assert line.reference_is_estimate is None
    assert line.pkvw_equivalent is None
    assert line.pkvw_equivalent_exact is None
    assert line.pkvw_equivalent_eur is None
    assert line.claimed_eur == Decimal("201.00")
    shown = line.as_dict()
    assert shown["catalogue_item"] is None
    assert shown["code"] == code
    assert shown["claimed_eur"] == Decimal("201.00")


def test_an_item_without_a_reference_price() -> None:
    [line] = calculate(_claim([_line("RAMEN_KOZIJNEN", 1, 8000)]), CATALOGUES).lines
    assert line.specified
    assert line.item is CATALOGUE.items["RAMEN_KOZIJNEN"]
    assert (line.reference_unit_price_eur, line.reference_eur, line.deviation_pct) == (
        None,
        None,
        None,
    )
    assert line.reference_is_estimate is None


def test_unspecified_lines_count_in_the_claimed_total_only() -> None:
    calc = calculate(
        _claim([_line("ALARM_PAC", 1, 2800), _line(None, 1, 99), _line("RAMEN_KOZIJNEN", 1, 1)]),
        CATALOGUES,
    )
    assert calc.claimed_total_eur == Decimal("2900.00")
    assert calc.reference_total_eur == Decimal("2600.00")
    assert calc.claimed_with_reference_eur == Decimal("2800.00")


# --- totals -----------------------------------------------------------------------------------


def test_totals_without_municipality_have_no_per_inhabitant_figures() -> None:
    calc = calculate(_claim([_line("ALARM_PAC", 1, 2600)]), CATALOGUES)
    assert calc.claimed_per_inhabitant_eur is None
    assert calc.share_of_expenditure_pct is None


def test_share_of_expenditure_needs_total_expenditure() -> None:
    municipality = {"name": "Klein", "inhabitants": 3}
    calc = calculate(_claim([_line(None, 1, 100)], municipality=municipality), CATALOGUES)
    assert calc.claimed_per_inhabitant_eur == Decimal("33.33")
    assert calc.share_of_expenditure_pct is None


@pytest.mark.parametrize(
    ("claimed", "inhabitants", "expenditure", "per_inhabitant", "share"),
    [
        ("100", 3, "300", "33.33", "33.3333"),
        ("200", 3, "300", "66.67", "66.6667"),  # half-up in both
        ("0.05", 10, "1000000", "0.01", "0.0000"),  # 0.005 up; 0.000005 % down
        ("1", 8, "16000", "0.13", "0.0063"),  # 0.125 up; 0.00625 up
        ("0", 45000, "144000000", "0.00", "0.0000"),
    ],
)
def test_per_inhabitant_and_share_of_expenditure(
    claimed: str, inhabitants: int, expenditure: str, per_inhabitant: str, share: str
) -> None:
    municipality = {"name": "X", "inhabitants": inhabitants, "total_expenditure_eur": expenditure}
    calc = calculate(_claim([_line(None, 1, claimed)], municipality=municipality), CATALOGUES)
    assert str(calc.claimed_per_inhabitant_eur) == per_inhabitant
    assert str(calc.share_of_expenditure_pct) == share


def test_as_dict_carries_the_totals_and_the_catalogue() -> None:
    calc = calculate(_claim([_line("DEUR_RC3", 1, 4000)], claim_id="C-1"), CATALOGUES)
    shown = calc.as_dict()
    assert shown["claim_id"] == "C-1"
    assert shown["reference_date"] == date(2016, 3, 1)
    assert shown["catalogue"] == {"valid_from": date(2016, 2, 10), "sha256": CATALOGUE.sha256}
    assert shown["totals"]["claimed_eur"] == Decimal("4000.00")
    assert shown["totals"]["reference_eur"] == Decimal("3800.00")
    [line] = shown["lines"]
    assert line["catalogue_item"] == "DEUR_RC3"
    assert line["deviation_pct"] == Decimal("5.26")  # 5.263...
    assert line["pkvw_equivalent"] == "DEUR_RC2"
    assert line["pkvw_equivalent_eur"] == Decimal("1500.00")
    assert line["reference_is_estimate"] is True


# --- the catalogue version --------------------------------------------------------------------


def test_no_catalogue_before_its_first_version() -> None:
    with pytest.raises(NoRulesetError) as info:
        catalogue_for(CATALOGUES, date(2016, 2, 9))
    assert info.value.message == (
        "Er is geen versie van de regeling maatregelencatalogus van kracht op de peildatum"
        " 2016-02-09. De versies gelden: vanaf 2016-02-10."
    )
    assert [p.field for p in info.value.problems] == ["reference_date"]
    with pytest.raises(NoRulesetError):
        calculate(_claim([_line(None, 1, 1)], reference_date="2016-02-09"), CATALOGUES)


def test_the_catalogue_version_can_be_given_directly() -> None:
    claim = _claim([_line("ALARM_PAC", 1, 1)], reference_date="2016-02-09")
    assert calculate(claim, CATALOGUE).lines[0].item is CATALOGUE.items["ALARM_PAC"]
    assert catalogue_for(CATALOGUES, date(2016, 2, 10)) is CATALOGUE


# --- properties -------------------------------------------------------------------------------


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from([*CODES, None, "", "ONBEKEND"]))
    item = CATALOGUE.get(code) if code else None
    ref = None if item is None else item.reference_unit_price_eur
    quantity = draw(st.integers(min_value=1, max_value=100_000))  # 0.01 .. 1000
    random_price = st.integers(min_value=0, max_value=10_000_000)  # 0 .. 100,000
    if ref is None:
        price = draw(random_price)
    else:
        r = _cents(ref)
        price = draw(st.one_of(st.just(r), st.sampled_from([r - 1, r + 1]), random_price))
    return _line(code, _amount(quantity), _amount(max(price, 0)))


claims = st.lists(lines(), min_size=1, max_size=12).map(_claim)


@given(claims)
def test_the_lines_sum_to_the_totals(claim: Claim) -> None:
    calc = calculate(claim, CATALOGUES)
    assert calc.claimed_total_eur == sum(line.claimed_eur for line in calc.lines)
    referenced = [line for line in calc.lines if line.reference_eur is not None]
    assert calc.reference_total_eur == sum(line.reference_eur or 0 for line in referenced)
    assert calc.claimed_with_reference_eur == sum(line.claimed_eur for line in referenced)
    for total in (
        calc.claimed_total_eur,
        calc.reference_total_eur,
        calc.claimed_with_reference_eur,
    ):
        assert total.as_tuple().exponent == -2


@given(claims)
def test_each_line_is_quantity_times_price_rounded_half_up(claim: Claim) -> None:
    for line in calculate(claim, CATALOGUES).lines:
        m = line.measure
        assert line.claimed_eur == _half_up_product(m.quantity, m.unit_price_eur)
        ref = line.reference_unit_price_eur
        if ref is not None:
            assert line.reference_eur == _half_up_product(m.quantity, ref)


@given(claims)
def test_the_deviation_is_zero_exactly_when_the_price_is_the_reference(claim: Claim) -> None:
    for line in calculate(claim, CATALOGUES).lines:
        ref = line.reference_unit_price_eur
        if ref is None or ref == 0:
            assert line.deviation_pct is None
            continue
        assert line.deviation_pct is not None
        difference = line.measure.unit_price_eur - ref
        assert (line.deviation_pct > 0) == (difference > 0)
        assert (line.deviation_pct < 0) == (difference < 0)
        assert (line.deviation_pct == 0) == (difference == 0)
        exact = difference * 100 / ref
        assert abs(line.deviation_pct - exact) <= Decimal("0.01")


@given(claims)
def test_specified_lines_carry_their_item(claim: Claim) -> None:
    for line in calculate(claim, CATALOGUES).lines:
        code = line.measure.code
        item = CATALOGUE.items.get(code) if code else None
        assert line.item is item
        assert line.specified is (item is not None)
        if item is None:
            assert (line.reference_eur, line.pkvw_equivalent) == (None, None)
        eq = None if item is None or item.pkvw_equivalent is None else item.pkvw_equivalent
        assert (line.pkvw_equivalent.code if line.pkvw_equivalent else None) == eq


def _result(line: CalculatedLine) -> tuple[Any, ...]:
    return (
        line.measure,
        line.item,
        line.claimed_eur,
        line.reference_unit_price_eur,
        line.reference_eur,
        line.deviation_pct,
        line.pkvw_equivalent,
        line.pkvw_equivalent_exact,
        line.pkvw_equivalent_eur,
    )


def _totals(calc: Calculation) -> tuple[Any, ...]:
    return (
        calc.claimed_total_eur,
        calc.reference_total_eur,
        calc.claimed_with_reference_eur,
        calc.claimed_per_inhabitant_eur,
        calc.share_of_expenditure_pct,
    )


@given(st.lists(lines(), min_size=1, max_size=10), st.data())
def test_the_result_does_not_depend_on_the_order_of_the_lines(
    drawn: list[dict[str, Any]], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(drawn))))
    municipality = {"name": "X", "inhabitants": 4567, "total_expenditure_eur": "12345678.90"}
    original = calculate(_claim(drawn, municipality=municipality), CATALOGUES)
    permuted = calculate(_claim([drawn[i] for i in order], municipality=municipality), CATALOGUES)
    assert [line.index for line in permuted.lines] == list(range(len(drawn)))
    for position, line in enumerate(permuted.lines):
        assert _result(line) == _result(original.lines[order[position]])
    assert _totals(permuted) == _totals(original)
