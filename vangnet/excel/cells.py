"""Writing cells safely: text is always text, never a formula.

A text that starts with `=`, `+`, `-` or `@` is a formula to a spreadsheet that re-reads it
(and `=` is one to openpyxl itself). Claims carry text from outside, so every text vangnet
writes goes through `put_text`: the cell gets the string type and the quote prefix, as if the
user had typed an apostrophe first, so that Excel keeps it text even when the cell is edited.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openpyxl.cell.cell import Cell, MergedCell

__all__ = ["FORMULA_STARTS", "put_text", "put_value"]

# what a spreadsheet may read as the start of a formula (a tab or return before it too)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def put_text(cell: Cell | MergedCell, text: str) -> None:
    """Write `text` as text; a text that could start a formula gets the quote prefix."""
    if isinstance(cell, MergedCell):
        raise ValueError(f"{cell.coordinate} is part of a merged cell: write its first cell")
    cell.value = text
    if text.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def put_value(cell: Cell | MergedCell, value: str | int | Decimal | date | bool | None) -> None:
    """Write a value: text through `put_text`, everything else as it is."""
    if isinstance(value, str):
        put_text(cell, value)
    elif isinstance(cell, MergedCell):
        raise ValueError(f"{cell.coordinate} is part of a merged cell: write its first cell")
    else:
        cell.value = value
