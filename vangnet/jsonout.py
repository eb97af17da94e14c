"""JSON output with exact decimals: a `Decimal` is written as the number it holds, so money
quantized to cents comes out as `2600.00`, as the contract asks; `json` cannot do that."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["NUMBER_FENCE", "dumps", "fenced", "unfence"]

# A process-wide random fence for models that serialise Decimals through pydantic
# (`fenced`): it never leaves the process, since `unfence` removes every occurrence.
NUMBER_FENCE = secrets.token_hex(8)


def fenced(value: Decimal) -> str:
    """A Decimal as a fenced string, for `unfence(text, NUMBER_FENCE)`."""
    text = str(value)  # the same as format(value, "f") unless it has an exponent or is no number
    if "E" in text or not text[-1].isdigit():
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        text = f"{value:f}"
    return NUMBER_FENCE + text + NUMBER_FENCE


def dumps(value: Any, indent: int | None = None) -> str:
    """Serialise `value` (dicts, lists, str, int, bool, None, Decimal, date) as JSON text.

    Non-ASCII text is kept as is (UTF-8 output), compact without spaces when `indent` is None.
    The C encoder does the work: each Decimal goes through it as a string fenced by a random
    nonce, and one regular-expression pass turns those strings back into bare numbers. Text
    from a claim cannot imitate a fence it cannot know (64 random bits per call).
    """
    nonce = secrets.token_hex(8)

    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            if not o.is_finite():
                raise ValueError(f"not a finite number: {o}")
            return f"{nonce}{o:f}{nonce}"
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, Mapping):
            return dict(o)
        if isinstance(o, Sequence) and not isinstance(o, str | bytes | bytearray):
            return list(o)
        raise TypeError(f"cannot write {type(o).__name__} as JSON")

    text = json.dumps(
        value,
        default=default,
        ensure_ascii=False,
        indent=indent,
        separators=(",", ":") if indent is None else (",", ": "),
        allow_nan=False,
    )
    return unfence(text, nonce)


def unfence(text: str, nonce: str) -> str:
    """Turn the fenced number strings `"<nonce>2600.00<nonce>"` of `text` into numbers."""
    return text.replace(f'"{nonce}', "").replace(f'{nonce}"', "")
