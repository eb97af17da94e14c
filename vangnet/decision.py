"""The decision and the refusal of interchange format v1 (`claim-format.md`), as models.

These are outbound models: built by `vangnet.evaluate`, serialised by `to_json` with money as
JSON numbers with exactly two decimals, keys in the contract's order.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from vangnet import jsonout
from vangnet.exceptions import ClaimError, NoRulesetError, Problem
from vangnet.jsonout import NUMBER_FENCE, fenced, unfence

__all__ = [
    "CatalogueRef",
    "Decision",
    "DecisionLine",
    "Effect",
    "Finding",
    "LineStatus",
    "Outcome",
    "Receipt",
    "Refusal",
    "RefusalError",
    "RefusalProblem",
    "RulesetRef",
    "refusal_for",
    "trusted",
]

Outcome = Literal["toekennen", "gedeeltelijk", "afwijzen", "nader_onderzoek"]
LineStatus = Literal["uitgesloten", "vergoedbaar", "deels", "te_beoordelen"]
Effect = Literal["voldaan", "afwijzen", "nader_onderzoek", "info"]


# Money in a decision: a Decimal in Python; in JSON a number with exactly two decimals
# (pydantic writes a fenced string that `to_json` turns into the bare number).
Money = Annotated[
    Decimal,
    PlainSerializer(fenced, when_used="json", return_type=str),
    WithJsonSchema({"type": "number", "multipleOf": 0.01}),
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


M = TypeVar("M", bound=_Out)
_set_attribute = object.__setattr__
_FIELD_COUNTS: dict[type[_Out], int] = {}


def trusted(cls: type[M], **values: Any) -> M:
    """A model built from values that our own code computed with the right types, every field
    given: no validation (half the cost of building a decision line is validating it).

    What pydantic's `model_construct` does, without its per-field handling of defaults and
    aliases, which these models do not need. The decision core builds its output this way; a
    test checks that the result equals the validated model and serialises to the same bytes.
    """
    count = _FIELD_COUNTS.get(cls)
    if count is None:
        count = _FIELD_COUNTS[cls] = len(cls.model_fields)
    if len(values) != count:
        raise TypeError(f"{cls.__name__}: every field must be given")
    model = cls.__new__(cls)
    _set_attribute(model, "__dict__", values)
    _set_attribute(model, "__pydantic_fields_set__", set(values))
    _set_attribute(model, "__pydantic_extra__", None)
    _set_attribute(model, "__pydantic_private__", None)
    return model


class RulesetRef(_Out):
    id: str
    version: str
    status: Literal["wet", "interpretatie", "simulatie"]
    valid_from: date
    valid_to: date | None
    sha256: str


class CatalogueRef(_Out):
    valid_from: date
    sha256: str


class DecisionLine(_Out):
    index: int
    code: str | None
    description: str
    claimed_eur: Money
    reference_eur: Money | None
    eligible_eur: Money
    status: LineStatus
    rules: list[str]
    explanation: str


class Finding(_Out):
    rule: str
    effect: Effect
    explanation: str
    source: str


class Receipt(_Out):
    engine: str
    claim_sha256: str
    ruleset_sha256: str
    catalogue_sha256: str
    evaluated_at: str


class Decision(_Out):
    claim_id: str
    outcome: Outcome
    simulation: bool
    # present (true) only when a version was forced outside its validity period
    forced: bool = False
    claimed_total_eur: Money
    eligible_total_eur: Money
    ruleset: RulesetRef
    catalogue: CatalogueRef
    lines: list[DecisionLine]
    findings: list[Finding]
    receipt: Receipt

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (money as Decimal, dates as ISO strings)."""
        data = self.model_dump()
        if not self.forced:
            del data["forced"]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """The decision as JSON: money with exactly two decimals."""
        exclude = None if self.forced else {"forced"}
        text = self.model_dump_json(indent=indent, exclude=exclude)
        return unfence(text, NUMBER_FENCE)


class RefusalProblem(_Out):
    field: str
    value: str | None
    message: str


class RefusalError(_Out):
    code: Literal["ongeldige_aanvraag", "geen_regelset"]
    message: str
    problems: list[RefusalProblem]


class Refusal(_Out):
    claim_file: str | None = None
    error: RefusalError

    def to_json(self, indent: int | None = None) -> str:
        data = self.model_dump()
        if self.claim_file is None:
            del data["claim_file"]
        return jsonout.dumps(data, indent=indent)


def _problems(problems: list[Problem]) -> list[RefusalProblem]:
    return [RefusalProblem(field=p.field, value=p.value, message=p.message) for p in problems]


def refusal_for(error: ClaimError | NoRulesetError, claim_file: str | None = None) -> Refusal:
    """The refusal of the contract for a claim that gets no decision."""
    return Refusal(
        claim_file=claim_file,
        error=RefusalError(
            code=error.code,
            message=error.message,
            problems=_problems(error.problems),
        ),
    )
