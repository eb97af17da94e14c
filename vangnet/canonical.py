"""Canonical JSON (RFC 8785, JCS) for the values vangnet hashes, fast.

For JSON made of objects with ASCII keys, strings, integers, booleans, null and floats that are
exactly representable with up to two decimals below 10**15, RFC 8785 output equals Python's
`json.dumps` with sorted keys, no whitespace and no ASCII escaping: both escape only `"`, `\\`
and control characters (short forms for \\b \\f \\n \\r \\t, else lowercase \\u00xx), both sort
ASCII keys by code unit, and Python's shortest float repr equals ECMAScript's number format in
that range. The test suite checks this against the `rfc8785` reference implementation; the
function refuses inputs outside that range rather than hash them differently.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["canonical_json"]

_LIMIT = 10**15


def _prepare(value: Any) -> Any:
    """Check that `value` is in the range where json.dumps is RFC 8785; integral floats
    become integers (ECMAScript writes 5.0 as 5)."""
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str) or not k.isascii():
                raise ValueError(f"canonical JSON needs ASCII string keys, not {k!r}")
        return {k: _prepare(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= _LIMIT:
            raise ValueError(f"number out of the canonical range: {value!r}")
        return int(value) if value.is_integer() else value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) >= 2**53:
            raise ValueError(f"integer out of the canonical range: {value!r}")
        return value
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical_json(value: Any, *, checked: bool = False) -> bytes:
    """RFC 8785 canonical JSON of `value` as UTF-8 bytes.

    `checked=True` skips the range check, for values a model has already confined to it (the
    validated claim); the test suite compares that path with the reference implementation.
    """
    text = json.dumps(
        value if checked else _prepare(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return text.encode("utf-8")
