"""The canonical claim's fast writer (`canonical_claim`) gives the same bytes as the reference
path through pydantic's JSON mode and `canonical_json` (itself checked against RFC 8785)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

from tests.test_evaluate import _dated, claims
from vangnet.claim import (
    Claim,
    Measure,
    canonical_claim,
    canonical_claim_reference,
    parse_claim,
)

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=200)
@given(claims, texts, st.sampled_from([None, True, False]), st.booleans())
def test_fast_and_reference_canonical_claims_are_the_same_bytes(
    raw: dict[str, Any], text: str, certified: bool | None, sparse: bool
) -> None:
    raw = _dated(raw)
    raw["applicant"] = {**raw["applicant"], "name": text}
    raw["measures"] = [{**m, "description": text} for m in raw["measures"]]
    raw["home"] = {**raw["home"], "pkvw_certified": certified}
    if sparse:  # absent optional parts, and a null default kept
        for part in ("threat", "municipality", "advice", "triggers"):
            raw.pop(part, None)
        raw["home"] = {}
    claim = parse_claim(raw)
    assert canonical_claim(claim) == canonical_claim_reference(claim)


@pytest.mark.parametrize("price", [Decimal("1E+3"), Decimal("-5.50"), Decimal("0.00001"), 12.5])
def test_a_value_outside_the_fast_range_goes_the_reference_way(price: Any) -> None:
    claim = parse_claim(
        {
            "reference_date": "2016-06-01",
            "applicant": {"type": "gemeente", "name": "G"},
            "office_holder": {"role": "wethouder"},
            "municipality": {"name": "X", "inhabitants": 5, "security_budget_eur": "0.10"},
            "measures": [{"description": "m", "quantity": "0.5", "unit_price_eur": "99.90"}],
        }
    )
    assert b'"quantity":0.5' in canonical_claim(claim)
    assert b'"security_budget_eur":0.1}' in canonical_claim(claim)
    assert b'"unit_price_eur":99.9}' in canonical_claim(claim)
    # what validation never gives, built around it
    measure = Measure.model_construct(**{**claim.measures[0].__dict__, "unit_price_eur": price})
    odd = Claim.model_construct(**{**claim.__dict__, "measures": [measure]})
    if isinstance(price, float):  # the reference refuses it, and so does the fast writer
        with pytest.raises(PydanticSerializationError):
            canonical_claim_reference(odd)
        with pytest.raises(PydanticSerializationError):
            canonical_claim(odd)
    else:
        assert canonical_claim(odd) == canonical_claim_reference(odd)


def _stored_minimal() -> dict[str, Any]:
    claim = parse_claim(
        {
            "reference_date": "2016-06-01",
            "applicant": {"type": "gemeente", "name": "G"},
            "office_holder": {"role": "wethouder"},
            "municipality": {"name": "X", "inhabitants": 5},
            "measures": [{"description": "m", "quantity": 2, "unit_price_eur": "99.90"}],
        }
    )
    data: dict[str, Any] = json.loads(canonical_claim(claim))
    return data


def test_the_written_out_measure_holds_every_field_of_the_model() -> None:
    from vangnet.claim import _MEASURE_FAST, _MEASURE_KEYS, _measure_text, _NotPlain

    assert tuple(sorted(Measure.model_fields)) == _MEASURE_KEYS and _MEASURE_FAST
    claim = parse_claim(_stored_minimal())  # no code, no date
    assert canonical_claim(claim) == canonical_claim_reference(claim)
    # a value of another type than validation gives: left to the generic writer
    odd = Measure.model_construct(**{**claim.measures[0].__dict__, "code": 5})
    with pytest.raises(_NotPlain):
        _measure_text(odd)
