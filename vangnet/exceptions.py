"""The errors vangnet raises, one hierarchy for the whole package.

    VangnetError                      base of everything below
    ├── ClaimError                    a claim is invalid: carries the problems, in Dutch
    │   └── FormError                 ...read from an Excel intake form: by sheet and cell
    ├── NoRulesetError                no ruleset version in force on the reference date
    ├── DataError                     a declarative file (ruleset, catalogue, form) is invalid
    │   ├── CatalogueError            ...a catalogue version, naming the file and row
    │   └── RulesetError              ...a ruleset version, naming the file and rule id
    ├── EvaluationError               an evaluation could not complete
    │   └── EngineFailure             the C rule engine failed: its process is unusable
    └── LetterError                   a letter could not be made (missing data or value)

A `ClaimError` (a `FormError` too) or `NoRulesetError` becomes a refusal (CLI exit 2, API 400);
a `DataError` is a fault in the published data and stops start-up; an `EvaluationError` is
reported as a clear error for one claim, never as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CatalogueError",
    "ClaimError",
    "DataError",
    "EngineFailure",
    "EvaluationError",
    "FormError",
    "FormProblem",
    "LetterError",
    "NoRulesetError",
    "Problem",
    "RulesetError",
    "VangnetError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one field of a claim: its contract path, the bad value, and a fix."""

    field: str
    value: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "value": self.value, "message": self.message}


class VangnetError(Exception):
    """Base class of every error vangnet raises on purpose."""


class ClaimError(VangnetError):
    """The claim is invalid; `problems` lists every problem at once."""

    code: Literal["ongeldige_aanvraag"] = "ongeldige_aanvraag"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        n = len(problems)
        self.message = (
            "De aanvraag is ongeldig: 1 probleem."
            if n == 1
            else f"De aanvraag is ongeldig: {n} problemen."
        )
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class FormProblem:
    """One problem with an Excel intake form: where (sheet and cell, when there is one), what,
    and the contract path of the claim field the cell holds (when it holds one)."""

    sheet: str | None
    cell: str | None
    message: str
    value: str | None = None
    field: str | None = None

    @property
    def location(self) -> str | None:
        """'Blad Maatregelen, cel E7', 'Blad Maatregelen', or None for the file as a whole."""
        if self.sheet is None:
            return None
        where = f"Blad {self.sheet}"
        if self.cell is not None:
            where += f", {'cellen' if ':' in self.cell else 'cel'} {self.cell}"
        return where

    def __str__(self) -> str:
        where = self.location
        return self.message if where is None else f"{where}: {self.message}"

    def as_problem(self) -> Problem:
        """The problem in a refusal: the location stands in the place of the field path."""
        return Problem(self.location or "(bestand)", self.value, self.message)


class FormError(ClaimError):
    """An Excel intake form cannot be read as a valid claim; `form_problems` lists every
    problem at once, each with its sheet and cell ("Blad Maatregelen, cel E7: ...")."""

    def __init__(self, problems: list[FormProblem]) -> None:
        self.form_problems = problems
        super().__init__([p.as_problem() for p in problems])
        n = len(problems)
        self.message = (
            "Het formulier kan niet worden gelezen: 1 probleem."
            if n == 1
            else f"Het formulier kan niet worden gelezen: {n} problemen."
        )
        self.args = (self.message,)

    def lines(self) -> list[str]:
        """Every problem as one Dutch line, for a person."""
        return [str(p) for p in self.form_problems]


class NoRulesetError(VangnetError):
    """No version of the claim's scheme is in force on its reference date."""

    code: Literal["geen_regelset"] = "geen_regelset"

    def __init__(self, message: str, field: str = "reference_date", value: str | None = None):
        self.message = message
        self.problems = [Problem(field, value, message)]
        super().__init__(message)


class DataError(VangnetError):
    """A declarative data file is invalid."""


class CatalogueError(DataError):
    """A catalogue version is invalid; the message names the file and the row."""


class RulesetError(DataError):
    """A ruleset version is invalid; the message names the file and the rule id."""


class EvaluationError(VangnetError):
    """An evaluation could not complete; the claim got no decision."""


class EngineFailure(EvaluationError):
    """The C rule engine failed; the process that ran it must be replaced."""


class LetterError(VangnetError):
    """A letter could not be made: missing letter data, or a template asked for a missing
    value. The message names the file and the value."""
