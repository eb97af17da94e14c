"""Money: half-up rounding to cents, exact cents, canonical numbers and Dutch notation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vangnet.money import (
    CENT,
    ZERO,
    format_eur,
    format_number,
    round_cents,
    to_cents,
    to_json_number,
)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("4520"), "€ 4.520,00"),
        (Decimal("4520.5"), "€ 4.520,50"),
        (Decimal("0"), "€ 0,00"),
        (Decimal("0.07"), "€ 0,07"),
        (Decimal("999.99"), "€ 999,99"),
        (Decimal("1000"), "€ 1.000,00"),
        (Decimal("1234567.891"), "€ 1.234.567,89"),
        (Decimal("0.005"), "€ 0,01"),  # half up
        (Decimal("0.015"), "€ 0,02"),
        (Decimal("0.025"), "€ 0,03"),  # half-even would give 0,02
        (Decimal("-12"), "€ -12,00"),
        (Decimal("-4520.5"), "€ -4.520,50"),
        (Decimal("-0.004"), "€ 0,00"),  # no minus zero
        (2600, "€ 2.600,00"),
    ],
)
def test_format_eur(amount: Decimal | int, text: str) -> None:
    assert format_eur(amount) == text


@pytest.mark.parametrize(
    ("value", "decimals", "round_down", "text"),
    [
        (45000, 0, False, "45.000"),
        (Decimal("1000000000000"), 0, False, "1.000.000.000.000"),
        (Decimal("0.10044"), 2, False, "0,10"),
        (Decimal("2.999"), 2, True, "2,99"),
        (Decimal("2.999"), 2, False, "3,00"),
        (Decimal("123.5"), 0, False, "124"),
        (Decimal("-1234.5"), 1, False, "-1.234,5"),
        (Decimal("0.0031"), 4, False, "0,0031"),
    ],
)
def test_format_number(value: Decimal | int, decimals: int, round_down: bool, text: str) -> None:
    assert format_number(value, decimals, round_down=round_down) == text


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("0.025", "0.03"),
        ("2589.9741", "2589.97"),
        ("-0.005", "-0.01"),  # half away from zero
        ("12", "12.00"),
    ],
)
def test_round_cents_is_half_up(amount: str, rounded: str) -> None:
    assert str(round_cents(Decimal(amount))) == rounded


def test_to_cents() -> None:
    assert to_cents(Decimal("2600.50")) == 260050
    assert to_cents(Decimal("0.01")) == 1
    assert to_cents(ZERO) == 0
    with pytest.raises(ValueError, match="more than two decimals"):
        to_cents(Decimal("0.001"))


@pytest.mark.parametrize(
    ("amount", "number"),
    [("2600.00", 2600), ("2600.50", 2600.5), ("0.10", 0.1), ("-0.00", 0), ("1E+3", 1000)],
)
def test_to_json_number_has_no_trailing_zeros(amount: str, number: int | float) -> None:
    value = to_json_number(Decimal(amount))
    assert value == number
    assert type(value) is type(number)


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_money_round_trips_through_cents_and_json_numbers(cents: int) -> None:
    amount = Decimal(cents) * CENT
    assert to_cents(amount) == cents
    assert round_cents(amount) == amount
    assert Decimal(repr(to_json_number(amount))) == amount


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_format_eur_groups_the_whole_euros(euros: int, cents: int) -> None:
    text = format_eur(Decimal(euros) + Decimal(cents) / 100)
    whole, fraction = text.removeprefix("€ ").split(",")
    assert fraction == f"{cents:02d}"
    assert int(whole.replace(".", "")) == euros
    assert all(len(group) == 3 for group in whole.split(".")[1:])
