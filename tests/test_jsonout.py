"""JSON output with exact decimals: `Decimal("2600.00")` is written as 2600.00; everything else
as `json` writes it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from vangnet.jsonout import NUMBER_FENCE, dumps, fenced


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("2600.00"), "2600.00"),
        (Decimal("0.10"), "0.10"),
        (Decimal("-12.50"), "-12.50"),
        (Decimal("0.00"), "0.00"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-7"), "0.0000001"),
        (2600, "2600"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (date(2016, 3, 1), '"2016-03-01"'),
    ],
)
def test_scalars(value: Any, text: str) -> None:
    assert dumps(value) == text
    json.loads(text)


def test_money_keeps_its_two_decimals_inside_a_document() -> None:
    doc = {"claimed_total_eur": Decimal("2600.00"), "lines": [{"eligible_eur": Decimal("0.50")}]}
    text = dumps(doc)
    assert text == '{"claimed_total_eur":2600.00,"lines":[{"eligible_eur":0.50}]}'
    assert json.loads(text, parse_float=Decimal) == doc


@pytest.mark.parametrize(
    "text",
    [
        'quote " here',
        "back\\slash",
        "new\nline\ttab\r",
        "\x00\x1f\x7f",
        "</script>",
        "\u2028\u2029",
    ],
)
def test_strings_are_escaped_as_json_escapes_them(text: str) -> None:
    assert dumps(text) == json.dumps(text, ensure_ascii=False)
    assert json.loads(dumps(text)) == text


def test_non_ascii_is_kept() -> None:
    text = "Inbraakwerende deur – café “Ĳssel” 🚪 € 4.520,00"
    assert dumps({"naam": text}) == '{"naam":"' + text + '"}'


def test_empty_containers() -> None:
    assert dumps({}) == "{}"
    assert dumps([]) == "[]"
    assert dumps({"a": [], "b": {}}, indent=2) == '{\n  "a": [],\n  "b": {}\n}'


def test_indented_form() -> None:
    doc = {"outcome": "toekennen", "lines": [{"index": 0, "claimed_eur": Decimal("2600.00")}]}
    assert dumps(doc, indent=2) == (
        "{\n"
        '  "outcome": "toekennen",\n'
        '  "lines": [\n'
        "    {\n"
        '      "index": 0,\n'
        '      "claimed_eur": 2600.00\n'
        "    }\n"
        "  ]\n"
        "}"
    )


def test_key_order_is_kept() -> None:
    assert dumps({"b": 1, "a": 2}) == '{"b":1,"a":2}'


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_non_finite_decimal_is_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        dumps({"x": value})


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object()])
def test_other_types_are_refused(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot write"):
        dumps([value])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_without_decimals_the_output_is_that_of_json(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert dumps(value, indent=2) == json.dumps(value, ensure_ascii=False, indent=2)
    assert json.loads(dumps(value)) == value
    assert json.loads(dumps(value, indent=4)) == value


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_cents_are_written_with_two_decimals(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    text = dumps({"eur": amount})
    assert json.loads(text, parse_float=Decimal)["eur"] == amount
    number = text.removeprefix('{"eur":').removesuffix("}")
    assert len(number.split(".")[1]) == 2


def test_text_cannot_forge_a_number() -> None:
    # a string that looks like a fenced number stays a string: the fence is random per call
    tricky = ["0123456789abcdef12.5" + "0123456789abcdef", "12.50"]
    assert json.loads(dumps(tricky)) == tricky
    assert dumps({"a": Decimal("12.50"), "b": "12.50"}) == '{"a":12.50,"b":"12.50"}'


@given(st.decimals(allow_nan=False, allow_infinity=False))
@example(Decimal("-0.00"))
@example(Decimal("1E+3"))
@example(Decimal("1E-7"))
@example(Decimal("0E-9"))
def test_fenced_writes_the_fixed_point_text(value: Decimal) -> None:
    assert fenced(value) == f"{NUMBER_FENCE}{value:f}{NUMBER_FENCE}"


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_fenced_refuses_what_is_no_number(value: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        fenced(Decimal(value))
