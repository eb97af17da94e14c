"""Dated versions: validity periods, overlap checks and choosing the version in force.

A published version file never changes, not even its end date (a receipt pins its hash). So a
version that was published open (`valid_to: null`) is closed by a recorded act beside its pin:
the `closed` section of `rulesets/manifest.json`, path -> `{"valid_to": ..., "by": ...}`,
written when its successor is published (`vangnet.service.regelbeheer`). The loaders read it
here (`read_closures`) and apply it as the version's effective end date (`effective_valid_to`);
a file that names an end date of its own must agree with its closure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol, TypeVar

__all__ = [
    "Closure",
    "Dated",
    "covers",
    "describe_periods",
    "effective_valid_to",
    "find_overlap",
    "in_force",
    "read_closures",
]


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


@dataclass(frozen=True, slots=True)
class Closure:
    """The recorded end of a published version: its last day, and the publication that closed
    it (`SCHEME@VERSION` of the successor, `catalogus@VALID_FROM` for a catalogue)."""

    valid_to: date
    by: str

    def as_json(self) -> dict[str, str]:
        return {"valid_to": self.valid_to.isoformat(), "by": self.by}


def _closure(path: str, raw: Any) -> Closure:
    if not isinstance(raw, dict) or set(raw) != {"valid_to", "by"}:
        raise ValueError(f'closed.{path}: verwacht {{"valid_to": JJJJ-MM-DD, "by": ...}}')
    by, day = raw["by"], raw["valid_to"]
    if not isinstance(by, str) or not by.strip():
        raise ValueError(f"closed.{path}.by: de publicatie die de versie afsloot ontbreekt")
    try:
        if not isinstance(day, str) or len(day) != 10:
            raise ValueError(day)
        return Closure(date.fromisoformat(day), by)
    except ValueError:
        raise ValueError(f"closed.{path}.valid_to: {day!r} is geen datum (JJJJ-MM-DD)") from None


def read_closures(manifest: Path) -> dict[str, Closure]:
    """The closures recorded in the manifest at `manifest` (path -> `Closure`); none when the
    file or its `closed` section is absent. `ValueError` (in Dutch) when one is malformed."""
    try:
        text = manifest.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{manifest.name}: niet leesbaar ({exc})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{manifest.name}: geen geldige JSON ({exc})") from None
    closed = data.get("closed", {}) if isinstance(data, dict) else None
    if not isinstance(closed, dict):
        raise ValueError(f"{manifest.name}: closed moet een object zijn (pad -> afsluiting)")
    return {str(path): _closure(str(path), raw) for path, raw in closed.items()}


def effective_valid_to(
    valid_from: date, own: date | None, closure: Closure | None, where: str
) -> date | None:
    """A version's end date: its file's own, or the one its closure records. `ValueError` (in
    Dutch, naming `where`) when both exist and differ, or the closure ends before it starts."""
    if closure is None:
        return own
    if closure.valid_to < valid_from:
        raise ValueError(
            f"{where}: afgesloten op {closure.valid_to.isoformat()} (door {closure.by}), voor"
            f" het begin van de versie ({valid_from.isoformat()})"
        )
    if own is not None and own != closure.valid_to:
        raise ValueError(
            f"{where}: het bestand zegt valid_to {own.isoformat()}, maar het manifest sluit de"
            f" versie af op {closure.valid_to.isoformat()} (door {closure.by}); die twee moeten"
            " gelijk zijn"
        )
    return closure.valid_to
