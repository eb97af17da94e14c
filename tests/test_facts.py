"""The fact vocabulary's fast pieces agree with the plain ones."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from vangnet.facts import (
    ITEM_FIELDS,
    ITEM_TEXTS,
    LINE_DISPLAY_NAMES,
    LINE_ENGINE_VALUES,
    LINE_FIELDS,
    LINE_TEXTS,
    eur_text,
)
from vangnet.money import format_eur


def test_line_fields_are_item_fields_or_per_line_fields() -> None:
    assert ITEM_FIELDS.isdisjoint(LINE_ENGINE_VALUES)
    assert ITEM_FIELDS | LINE_ENGINE_VALUES.keys() == LINE_FIELDS.keys()
    assert LINE_TEXTS.keys() >= ITEM_TEXTS
    assert tuple(LINE_TEXTS) == LINE_DISPLAY_NAMES


@given(st.decimals(min_value=0, max_value=10**13, places=2))
@example(Decimal("0.00"))
@example(Decimal("999.99"))
@example(Decimal("1000.00"))
@example(Decimal("999999.99"))
@example(Decimal("1000000.00"))
def test_eur_text_is_format_eur_for_two_decimal_amounts(amount: Decimal) -> None:
    assert eur_text(amount) == format_eur(amount)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9))
@example(Decimal("-0.00"))
@example(Decimal("2600"))
@example(Decimal("1E+3"))
@example(Decimal("0.005"))
def test_eur_text_is_format_eur_for_any_other_amount(amount: Decimal) -> None:
    assert eur_text(amount) == format_eur(amount)
