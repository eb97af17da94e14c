"""vangnet.canonical equals the RFC 8785 reference implementation on the values we hash."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from vangnet.canonical import canonical_json

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.decimals(min_value=-(10**12), max_value=10**12, places=2).map(float)
    | st.text()
)
keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4)
)


@given(values)
def test_equals_the_reference_implementation(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return  # e.g. lone surrogates: the reference refuses them, the claim model too
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [{"é": 1}, {"a": float("nan")}, {"a": 1e16}, {"a": 2**60}, {"a": object()}],
    ids=["non-ascii key", "nan", "huge float", "huge int", "object"],
)
def test_refuses_what_it_cannot_promise(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        canonical_json(value)


def test_the_canonical_claim_of_every_public_scenario_equals_the_reference() -> None:
    from tests.conftest import PUBLIC_SCENARIOS
    from vangnet.claim import _canonical, canonical_claim, parse_claim_json

    for path in sorted(PUBLIC_SCENARIOS.glob("*.claim.json")):
        claim = parse_claim_json(path.read_bytes())
        assert canonical_claim(claim) == rfc8785.dumps(_canonical(claim)), path.name


claim_texts = st.text(max_size=30).filter(lambda t: t.strip() != "")


@given(
    description=claim_texts,
    price=st.decimals(min_value=0, max_value=10**9, places=2),
    quantity=st.decimals(min_value="0.01", max_value=1000, places=2),
    inhabitants=st.integers(min_value=1, max_value=10**8),
)
def test_canonical_claims_equal_the_reference(
    description: str, price: object, quantity: object, inhabitants: int
) -> None:
    from vangnet.claim import _canonical, canonical_claim, parse_claim
    from vangnet.exceptions import ClaimError

    raw = {
        "reference_date": "2016-03-01",
        "applicant": {"type": "gemeente", "name": description},
        "office_holder": {"role": "raadslid"},
        "municipality": {"name": "X", "inhabitants": inhabitants},
        "home": {},
        "measures": [{"description": description, "quantity": str(quantity),
                      "unit_price_eur": str(price)}],
    }  # fmt: skip
    try:
        claim = parse_claim(raw)
    except ClaimError:
        return
    assert canonical_claim(claim) == rfc8785.dumps(_canonical(claim))
