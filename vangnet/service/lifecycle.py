"""A claim's life as data: its statuses and the transitions between them.

    ingediend → in_behandeling → (aanvulling_gevraagd → aangevuld)* → besloten
    every status before `besloten` → ingetrokken

A transition is named after the resource that performs it (`POST /v1/aanvragen/{id}/<name>`),
so an error can say which requests would be valid now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["STATUSES", "TRANSITIONS", "Status", "Transition", "allowed_transitions"]

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
            "besluit", ("in_behandeling", "aangevuld"), "besloten", "het bevoegd gezag besluit"
        ),
        Transition("intrekking", _OPEN, "ingetrokken", "de aanvrager trekt haar in"),
    )
}


def allowed_transitions(status: str) -> list[str]:
    """The transitions possible from `status`, in the order of the life above."""
    return [t.name for t in TRANSITIONS.values() if status in t.sources]
