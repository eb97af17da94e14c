"""Money and numbers: `Decimal` everywhere, half-up rounding to cents, Dutch formatting."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache

__all__ = [
    "CENT",
    "ZERO",
    "format_eur",
    "format_number",
    "round_cents",
    "to_cents",
    "to_json_number",
]

CENT = Decimal("0.01")
ZERO = Decimal("0")


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to whole cents."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Exact integer cents of an amount that has at most two decimals."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(cents)


def to_json_number(value: Decimal) -> int | float:
    """A number for canonical JSON without trailing zeros (values have at most 2 decimals)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


_SWAP = str.maketrans(",.", ".,")
_QUANTUM = {n: Decimal(1).scaleb(-n) for n in range(7)}


def format_number(value: Decimal | int, decimals: int = 0, *, round_down: bool = False) -> str:
    """Dutch notation: thousands with '.', decimals with ','; e.g. 45000 -> '45.000'."""
    q = _QUANTUM.get(decimals) or Decimal(1).scaleb(-decimals)
    d = Decimal(value).quantize(q, rounding=ROUND_DOWN if round_down else ROUND_HALF_UP)
    if d == 0:
        d = d.copy_abs()  # never '-0,00'
    return f"{d:,.{decimals}f}".translate(_SWAP)


@lru_cache(maxsize=8192)
def format_eur(value: Decimal | int) -> str:
    """Dutch euro notation: '€ 4.520,00'. Cached: reference prices and totals repeat."""
    return "€ " + format_number(value, 2)
