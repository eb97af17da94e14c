"""JSON output with exact decimals: a `Decimal` is written as the number it holds, so money
quantized to cents comes out as `2600.00`, as the contract asks; `json` cannot do that."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["dumps"]

_encode_str = json.encoder.encode_basestring


def _write(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        out.append(f"{value:f}")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, date):
        out.append(_encode_str(value.isoformat()))
    elif isinstance(value, Mapping):
        _container(list(value.items()), out, indent, level, brackets="{}", keyed=True)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        _container(list(value), out, indent, level, brackets="[]", keyed=False)
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _container(
    items: list[Any], out: list[str], indent: int | None, level: int, *, brackets: str, keyed: bool
) -> None:
    op, cl = brackets[0], brackets[1]
    if not items:
        out.append(op + cl)
        return
    out.append(op)
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    for i, item in enumerate(items):
        if i:
            out.append(",")
        out.append(inner)
        if keyed:
            key, val = item
            out.append(_encode_str(str(key)))
            out.append(":" if indent is None else ": ")
            _write(val, out, indent, level + 1)
        else:
            _write(item, out, indent, level + 1)
    if indent is not None:
        out.append("\n" + " " * (indent * level))
    out.append(cl)


def dumps(value: Any, indent: int | None = None) -> str:
    """Serialise `value` (dicts, lists, str, int, bool, None, Decimal, date) as JSON text.

    Non-ASCII text is kept as is (UTF-8 output), compact without spaces when `indent` is None.
    """
    out: list[str] = []
    _write(value, out, indent, 0)
    return "".join(out)
