"""Dated versions: validity periods, overlap checks and choosing the version in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import pairwise
from typing import Protocol, TypeVar

__all__ = ["Dated", "covers", "describe_periods", "find_overlap", "in_force"]


class Dated(Protocol):
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_to(self) -> date | None: ...


D = TypeVar("D", bound=Dated)


def covers(version: Dated, day: date) -> bool:
    """In force on `day`: valid_from <= day <= valid_to, both inclusive; no end means open."""
    return version.valid_from <= day and (version.valid_to is None or day <= version.valid_to)


def in_force(versions: Sequence[D], day: date) -> D | None:
    """The one version in force on `day`, or None."""
    for v in versions:
        if covers(v, day):
            return v
    return None


def find_overlap(versions: Sequence[D]) -> tuple[D, D] | None:
    """Two versions whose periods overlap, or None."""
    ordered = sorted(versions, key=lambda v: v.valid_from)
    for a, b in pairwise(ordered):
        if a.valid_to is None or b.valid_from <= a.valid_to:
            return a, b
    return None


def describe_periods(versions: Sequence[Dated]) -> str:
    """The periods in Dutch, e.g. 'vanaf 2016-02-10' or '2021-01-01 t/m 2023-12-31'."""
    parts = []
    for v in sorted(versions, key=lambda v: v.valid_from):
        if v.valid_to is None:
            parts.append(f"vanaf {v.valid_from.isoformat()}")
        else:
            parts.append(f"{v.valid_from.isoformat()} t/m {v.valid_to.isoformat()}")
    return "; ".join(parts) if parts else "geen"
