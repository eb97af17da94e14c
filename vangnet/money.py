"""Money and numbers: `Decimal` everywhere, half-up rounding to cents, Dutch formatting."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

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


def _group(digits: str) -> str:
    parts = []
    while len(digits) > 3:
        parts.append(digits[-3:])
        digits = digits[:-3]
    parts.append(digits)
    return ".".join(reversed(parts))


def format_number(value: Decimal | int, decimals: int = 0, *, round_down: bool = False) -> str:
    """Dutch notation: thousands with '.', decimals with ','; e.g. 45000 -> '45.000'."""
    d = Decimal(value)
    q = Decimal(1).scaleb(-decimals)
    d = d.quantize(q, rounding=ROUND_DOWN if round_down else ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    text = f"{abs(d):.{decimals}f}"
    whole, _, frac = text.partition(".")
    return sign + _group(whole) + ("," + frac if decimals else "")


def format_eur(value: Decimal | int) -> str:
    """Dutch euro notation: '€ 4.520,00'."""
    return "€ " + format_number(value, 2)
