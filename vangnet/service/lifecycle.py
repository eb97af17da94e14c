"""A claim's life as data: its statuses and the transitions between them.

    ingediend → in_behandeling → (aanvulling_gevraagd → aangevuld)* → besloten
    aanvulling_gevraagd → besloten, once the term for the supplement passed unused
    every status before `besloten` → ingetrokken

A transition is named after the resource that performs it (`POST /v1/aanvragen/{id}/<name>`),
so an error can say which requests would be valid now.

An information request (Awb 4:5) carries the day by which the applicant may supplement the
claim (`due_on`). Until that day has passed, the body waits: deciding from
`aanvulling_gevraagd` is allowed only after it (`supplement_open`), on the claim as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo

__all__ = [
    "EXTENDABLE",
    "NL",
    "STATUSES",
    "TERM_STEPS",
    "TRANSITIONS",
    "Status",
    "Transition",
    "allowed_transitions",
    "supplement_open",
    "today_nl",
]

# days of the lifecycle (terms, received, decided) are days in the Netherlands
NL = ZoneInfo("Europe/Amsterdam")

Status = Literal[
    "ingediend", "in_behandeling", "aanvulling_gevraagd", "aangevuld", "besloten", "ingetrokken"
]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True, slots=True)
class Transition:
    """A step in a claim's life: from one of `sources` to `target`."""

    name: str
    sources: tuple[Status, ...]
    target: Status
    description: str
    new_version: bool = False  # brings a new version of the claim, evaluated again


_OPEN: tuple[Status, ...] = ("ingediend", "in_behandeling", "aanvulling_gevraagd", "aangevuld")

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "in-behandeling", ("ingediend",), "in_behandeling", "een beoordelaar neemt haar op"
        ),
        Transition(
            "aanvullingsverzoeken",
            ("in_behandeling", "aangevuld"),
            "aanvulling_gevraagd",
            "de beoordelaar vraagt om informatie",
        ),
        Transition(
            "aanvullingen",
            ("aanvulling_gevraagd",),
            "aangevuld",
            "de aanvrager vult de aanvraag aan",
            new_version=True,
        ),
        Transition(
            "besluit",
            ("in_behandeling", "aangevuld", "aanvulling_gevraagd"),
            "besloten",
            "het bevoegd gezag besluit (tijdens een verzoek om aanvulling pas na de termijn)",
        ),
        Transition("intrekking", _OPEN, "ingetrokken", "de aanvrager trekt haar in"),
    )
}


# the statuses in which the body may extend the decision term (Awb 4:14): a claim it handles,
# not one that waits for the applicant; an extension keeps the status
EXTENDABLE: tuple[Status, ...] = ("in_behandeling", "aangevuld")
# the steps that set a new day for a term and keep the status (named after their resource,
# POST /v1/aanvragen/{id}/<name>), with the statuses they are made in: an extension of the
# decision term, and a later last day to supplement (Awb 4:5) while the claim waits for it
TERM_STEPS: dict[str, tuple[Status, ...]] = {
    "verdagingen": EXTENDABLE,
    "aanvullingstermijnen": ("aanvulling_gevraagd",),
}


def today_nl(moment: datetime | None = None) -> date:
    """The day it is (or was at the aware `moment`) in the Netherlands."""
    return (moment or datetime.now(NL)).astimezone(NL).date()


def supplement_open(due_on: date | None, today: date) -> bool:
    """Whether the applicant may still supplement: the day `due_on` has not passed yet. A
    request without a day (made before requests carried one) stays open."""
    return due_on is None or today <= due_on


def allowed_transitions(status: str, *, supplement_due: date | None = None,
                        today: date | None = None) -> list[str]:  # fmt: skip
    """The transitions possible from `status`, in the order of the life above; while an
    information request is open (`supplement_due` not passed), no besluit."""
    waiting = status == "aanvulling_gevraagd" and supplement_open(
        supplement_due, today or today_nl()
    )
    return [
        t.name
        for t in TRANSITIONS.values()
        if status in t.sources and not (waiting and t.name == "besluit")
    ]
