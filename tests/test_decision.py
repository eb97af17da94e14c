"""Decisions built without validation (`trusted`) equal validated ones, byte for byte."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from vangnet.decision import (
    CatalogueRef,
    Decision,
    DecisionLine,
    Finding,
    Receipt,
    RulesetRef,
    trusted,
)

LINE: dict[str, Any] = {
    "index": 3, "code": None, "description": "maatregel \"x\" €", "claimed_eur": Decimal("10.50"),
    "reference_eur": None, "eligible_eur": Decimal("0.00"), "status": "te_beoordelen",
    "rules": ["VN-L-SPECIFICATIE"], "explanation": "Deze maatregel staat niet in de catalogus.",
}  # fmt: skip
PARTS: dict[str, Any] = {
    "ruleset": {"id": "vangnet", "version": "2016.1", "status": "interpretatie",
                "valid_from": date(2016, 2, 10), "valid_to": None, "sha256": "a" * 64},
    "catalogue": {"valid_from": date(2016, 2, 10), "sha256": "b" * 64},
    "finding": {"rule": "VN-AANVRAGER", "effect": "voldaan", "explanation": "Ja.",
                "source": "bron"},
    "receipt": {"engine": "vangnet", "claim_sha256": "c" * 64, "ruleset_sha256": "a" * 64,
                "catalogue_sha256": "b" * 64, "evaluated_at": "2026-11-28T12:00:00Z"},
}  # fmt: skip


def _decision(make: Any, forced: bool) -> Decision:
    return make(  # type: ignore[no-any-return]
        Decision,
        claim_id="C-1",
        outcome="nader_onderzoek",
        simulation=False,
        forced=forced,
        claimed_total_eur=Decimal("10.50"),
        eligible_total_eur=Decimal("0.00"),
        ruleset=make(RulesetRef, **PARTS["ruleset"]),
        catalogue=make(CatalogueRef, **PARTS["catalogue"]),
        lines=[make(DecisionLine, **LINE), make(DecisionLine, **{**LINE, "index": 4})],
        findings=[make(Finding, **PARTS["finding"])],
        receipt=make(Receipt, **PARTS["receipt"]),
    )


@pytest.mark.parametrize("forced", [False, True])
def test_a_trusted_decision_equals_the_validated_one(forced: bool) -> None:
    fast = _decision(trusted, forced)
    checked = _decision(lambda cls, **kw: cls(**kw), forced)
    assert fast == checked
    assert fast.to_json() == checked.to_json()
    assert fast.to_json(indent=None) == checked.to_json(indent=None)
    assert fast.as_dict() == checked.as_dict()
    assert fast.model_fields_set == checked.model_fields_set
    assert type(fast.lines[0]) is DecisionLine
    assert Decision.model_validate(fast.as_dict()) == fast
    with pytest.raises(Exception, match="frozen"):
        fast.outcome = "afwijzen"  # type: ignore[misc]


def test_trusted_needs_every_field() -> None:
    with pytest.raises(TypeError, match="every field"):
        trusted(CatalogueRef, valid_from=date(2016, 2, 10))
