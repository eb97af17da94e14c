"""The legal terms of a claim: when the body must decide, as data (`termijnen.yaml`).

The decision date is the day of receipt plus the statutory term (Awb 4:13), plus the days the
term was suspended while the applicant was asked for information (Awb 4:15), or the later day
the body announced when it extended the term (Awb 4:14, third paragraph). The numbers and the
sources live in `forms/pages/beoordelaar/termijnen.yaml`; this module only counts. Used by the
assessor's queue and claim page, and by the service when it checks an extension.

The history is the claim's (`Store.get`: oldest first): an information request is a step to
`aanvulling_gevraagd` with its last day to supplement (`due_on`). A step that keeps the status
(`from_status == to_status`) with a day (`due_on`) sets a term: while the claim waits for a
supplement, a later last day to supplement; otherwise the day the body announced when it
extended the decision term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.exceptions import DataError
from vangnet.paths import FORMS_DIR
from vangnet.service.lifecycle import NL, today_nl

__all__ = [
    "TERMS_DIR",
    "Deadline",
    "DecisionTerm",
    "deadline",
    "is_term_step",
    "local_moment",
    "terms",
]

TERMS_DIR = FORMS_DIR / "pages" / "beoordelaar"


class _Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weeks: int = Field(ge=1, le=52)
    source: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://")


class _Suspension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    while_status: str
    count_end_day: bool
    source: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://")


class _Extension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://")


class DecisionTerm(BaseModel):
    """`termijnen.yaml`: the term for deciding, what suspends it and what extends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    written_on: date
    decision_term: _Term
    suspension: _Suspension
    extension: _Extension


@lru_cache(maxsize=4)
def terms(directory: Path = TERMS_DIR) -> DecisionTerm:
    """The legal terms (`termijnen.yaml`); `DataError` names what is wrong."""
    path = directory / "termijnen.yaml"
    try:
        return DecisionTerm.model_validate(yamlfile.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DataError(f"{path.name}: {exc}") from None


def local_moment(stamp: str | datetime) -> datetime:
    """A stored UTC moment (ISO 8601 text or a datetime) in the Netherlands' time zone."""
    at = (
        stamp
        if isinstance(stamp, datetime)
        else datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    )
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(NL)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A claim's decision date: `due` (None while the term is suspended) and what made it.
    `supplement_due`: the last day to supplement of the open information request, if any;
    `supplement_passed`: that day has passed without a supplement (the term runs again, and
    the body may decide on the claim as it stands); `extended_to`: the day the body announced
    in its last extension (Awb 4:14), if any."""

    received: date
    due: date | None
    suspended_days: int
    suspended_now: bool
    supplement_due: date | None = None
    supplement_passed: bool = False
    extended_to: date | None = None

    def overdue(self, today: date) -> bool:
        return self.due is not None and today > self.due

    def days_left(self, today: date) -> int | None:
        return None if self.due is None else (self.due - today).days


def _as_day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def is_term_step(step: dict[str, Any]) -> bool:
    """Whether a history step sets a new day for a term (it keeps the status): while the claim
    waits for a supplement, a later last day to supplement; otherwise an extension of the
    decision term."""
    return step["from_status"] == step["to_status"] and step.get("due_on") is not None


def deadline(
    created_at: str | datetime,
    history: list[dict[str, Any]],
    term: DecisionTerm | None = None,
    now: date | None = None,
) -> Deadline:
    """The decision date of a claim received at `created_at` with status history `history`
    (oldest first, as `Store.get` gives it) on the day `now` (default today), by the rules in
    `termijnen.yaml`: a suspension runs from the day after the request up to the day of the
    supplement, or up to the day after the request's last day when that passed unused; an
    extension moves the date to the day announced (never earlier), and a later suspension
    moves that day on in turn."""
    rules = term or terms()
    on = now or today_nl()
    waiting = rules.suspension.while_status
    end_day = 0 if rules.suspension.count_end_day else 1
    received = local_moment(created_at).date()
    suspended = 0
    asked: date | None = None
    until: date | None = None
    extended: date | None = None
    suspended_before_extension = 0
    for step in history:
        day = local_moment(step["at"]).date()
        if is_term_step(step):
            if step["to_status"] != waiting:
                extended, suspended_before_extension = _as_day(step["due_on"]), suspended
            elif asked is not None:  # more time to supplement: a new last day
                until = _as_day(step["due_on"])
        elif step["to_status"] == waiting and asked is None:
            asked, until = day, _as_day(step.get("due_on"))
        elif step["from_status"] == waiting and asked is not None:
            # from the day after the request up to the day of the supplement, at the latest
            # the day after the last day to supplement (Awb 4:15, first paragraph, under a)
            end = day if until is None else min(day, until + timedelta(days=1))
            suspended += max(0, (end - asked).days - end_day)
            asked = until = None
    passed = False
    if asked is not None:
        if until is None or on <= until:
            return Deadline(received, None, suspended, True, until, extended_to=extended)
        suspended += max(0, (until + timedelta(days=1) - asked).days - end_day)
        passed = True
    due = received + timedelta(weeks=rules.decision_term.weeks, days=suspended)
    if extended is not None:
        due = max(due, extended + timedelta(days=suspended - suspended_before_extension))
    return Deadline(received, due, suspended, False, until, passed, extended)
