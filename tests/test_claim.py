"""The claim of interchange format v1 (`claim-format.md`): every field, value set and constraint;
the refusal's problems (all at once, contract paths, the bad value, Dutch messages); the
canonical form and its hash."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import typing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vangnet import claim as claim_module
from vangnet.claim import (
    Claim,
    Measure,
    canonical_claim,
    claim_sha256,
    parse_claim,
    parse_claim_json,
)
from vangnet.exceptions import ClaimError, Problem
from vangnet.messages import message

PUBLIC = Path(__file__).resolve().parent / "scenarios" / "public"

# --- helpers ----------------------------------------------------------------------------------


def full_claim() -> dict[str, Any]:
    """A valid claim that uses every field of the contract, one measure line without a code."""
    return {
        "claim_id": "2016-0042",
        "scheme": "vangnet",
        "reference_date": "2016-03-01",
        "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
        "municipality": {
            "name": "Voorbeeld",
            "code": "GM9999",
            "inhabitants": 45000,
            "total_expenditure_eur": 144000000,
            "security_budget_eur": 0,
        },
        "office_holder": {"role": "raadslid", "reference": "RL-A"},
        "threat": {"status": "expliciet", "assessed_by": "politie", "assessed_on": "2016-02-20"},
        "advice": {"by": "politie", "date": "2016-02-25"},
        "home": {"pkvw_certified": True, "package_2021_used_eur": 0},
        "triggers": {
            "political_discussion": True,
            "deters_reporting": False,
            "motivation": "De raad wil de kosten in openbare vergadering bespreken.",
        },
        "measures": [
            {
                "code": "ALARM_PAC",
                "description": "Alarm met doormelding",
                "quantity": 1,
                "unit_price_eur": 2600,
                "date": "2016-02-15",
                "advised": True,
                "already_reimbursed_eur": 0,
            },
            {"description": "Extra slot", "quantity": "2.5", "unit_price_eur": "12.50"},
            {
                "code": "DEUR_RC3",
                "description": "Deur klasse 3",
                "quantity": 1,
                "unit_price_eur": 3800,
            },
        ],
    }


def minimal_claim() -> dict[str, Any]:
    """A valid claim with only the required fields."""
    return {
        "reference_date": "2016-03-01",
        "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
        "office_holder": {"role": "raadslid"},
        "measures": [{"description": "Alarm", "quantity": 1, "unit_price_eur": 2600}],
    }


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _STEP.findall(path)]


def _parent(data: Any, path: str) -> tuple[Any, str | int]:
    *head, last = _steps(path)
    for step in head:
        data = data[step]
    return data, last


def with_value(path: str, value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `data` (default: the full claim) with `value` at the contract path."""
    out = copy.deepcopy(full_claim() if data is None else data)
    parent, last = _parent(out, path)
    parent[last] = value
    return out


def without(path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `data` (default: the full claim) with the field at `path` left out."""
    out = copy.deepcopy(full_claim() if data is None else data)
    parent, last = _parent(out, path)
    del parent[last]
    return out


def problems(data: Any) -> list[Problem]:
    with pytest.raises(ClaimError) as info:
        parse_claim(data)
    return info.value.problems


def only_problem(data: Any, field: str) -> Problem:
    """The one problem of an invalid claim, which must be about `field`."""
    found = problems(data)
    assert [p.field for p in found] == [field], [p.as_dict() for p in found]
    return found[0]


def json_problems(text: str | bytes) -> list[Problem]:
    with pytest.raises(ClaimError) as info:
        parse_claim_json(text)
    return info.value.problems


def get(model: Any, path: str) -> Any:
    for step in _steps(path):
        model = model[step] if isinstance(step, int) else getattr(model, step)
    return model


# --- valid claims -----------------------------------------------------------------------------


def test_the_full_claim_is_valid_and_typed() -> None:
    claim = parse_claim(full_claim())
    assert claim.claim_id == "2016-0042"
    assert claim.reference_date == date(2016, 3, 1)
    assert claim.municipality is not None
    assert claim.municipality.inhabitants == 45000
    assert claim.municipality.total_expenditure_eur == Decimal("144000000.00")
    assert claim.threat is not None
    assert claim.threat.assessed_on == date(2016, 2, 20)
    line = claim.measures[1]
    assert (line.quantity, line.unit_price_eur) == (Decimal("2.50"), Decimal("12.50"))
    # amounts keep exactly two decimals, and nothing is a binary float
    for path in (
        "measures[0].unit_price_eur",
        "measures[1].quantity",
        "home.package_2021_used_eur",
    ):
        value = get(claim, path)
        assert type(value) is Decimal
        assert value.as_tuple().exponent == -2


def test_the_minimal_claim_gets_the_defaults() -> None:
    claim = parse_claim(minimal_claim())
    assert claim.claim_id is None
    assert claim.scheme == "vangnet"
    assert (claim.municipality, claim.threat, claim.advice, claim.home, claim.triggers) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert claim.office_holder.reference is None
    line = claim.measures[0]
    assert (line.code, line.date, line.advised) == (None, None, False)
    assert line.already_reimbursed_eur == Decimal("0.00")


def test_defaults_inside_optional_objects() -> None:
    claim = parse_claim(with_value("triggers", {}, with_value("home", {}, minimal_claim())))
    assert claim.home is not None
    assert claim.home.pkvw_certified is None
    assert claim.home.package_2021_used_eur == Decimal("0.00")
    assert claim.triggers is not None
    assert claim.triggers.political_discussion is False
    assert claim.triggers.deters_reporting is False
    assert claim.triggers.motivation == ""


@pytest.mark.parametrize("path", sorted(PUBLIC.glob("*.claim.json")), ids=lambda p: p.name)
def test_every_public_scenario_is_a_valid_claim(path: Path) -> None:
    claim = parse_claim_json(path.read_bytes())
    assert claim.claim_id == path.name.removesuffix(".claim.json")


def test_the_claim_is_immutable() -> None:
    claim = parse_claim(full_claim())
    with pytest.raises(ValueError, match="frozen"):
        claim.scheme = "basismaatregelen"  # type: ignore[misc]


# --- required and optional fields -------------------------------------------------------------

REQUIRED = [
    "reference_date",
    "applicant",
    "applicant.type",
    "applicant.name",
    "municipality.name",
    "municipality.inhabitants",
    "office_holder",
    "office_holder.role",
    "threat.status",
    "threat.assessed_by",
    "advice.by",
    "measures",
    "measures[0].description",
    "measures[0].quantity",
    "measures[0].unit_price_eur",
    "measures[2].unit_price_eur",
]

OPTIONAL = [
    "claim_id",
    "scheme",
    "municipality",
    "municipality.code",
    "municipality.total_expenditure_eur",
    "municipality.security_budget_eur",
    "office_holder.reference",
    # required for vangnet and vangnet-herijking: the ruleset version says so
    # (`required_claim_fields`), the claim model does not depend on the scheme
    "threat",
    "threat.assessed_on",
    "advice",
    "advice.date",
    "home",
    "home.pkvw_certified",
    "home.package_2021_used_eur",
    "triggers",
    "triggers.political_discussion",
    "triggers.deters_reporting",
    "triggers.motivation",
    "measures[0].code",
    "measures[0].date",
    "measures[0].advised",
    "measures[0].already_reimbursed_eur",
]


@pytest.mark.parametrize("path", REQUIRED)
def test_a_missing_required_field_is_named(path: str) -> None:
    problem = only_problem(without(path), path)
    assert problem.value is None
    assert problem.message == "is verplicht maar ontbreekt"


@pytest.mark.parametrize("path", OPTIONAL)
def test_an_optional_field_may_be_left_out(path: str) -> None:
    parse_claim(without(path))


def test_an_empty_claim_lists_every_required_top_level_field() -> None:
    assert {p.field for p in problems({})} == {
        "reference_date",
        "applicant",
        "office_holder",
        "measures",
    }


@pytest.mark.parametrize("data", [[], None, "claim", 42])
def test_a_claim_that_is_no_object_is_refused_as_a_whole(data: Any) -> None:
    problem = only_problem(data, "(aanvraag)")
    assert problem.message == message("object")


# --- null -------------------------------------------------------------------------------------

NULL_ALLOWED = [
    "claim_id",
    "municipality",
    "municipality.code",
    "municipality.total_expenditure_eur",
    "municipality.security_budget_eur",
    "office_holder.reference",
    "threat",
    "threat.assessed_on",
    "advice",
    "advice.date",
    "home",
    "home.pkvw_certified",
    "triggers",
    "measures[0].code",
    "measures[0].date",
]

NULL_REJECTED = [
    "scheme",
    "reference_date",
    "applicant",
    "applicant.type",
    "applicant.name",
    "municipality.name",
    "municipality.inhabitants",
    "office_holder",
    "office_holder.role",
    "threat.status",
    "threat.assessed_by",
    "advice.by",
    "home.package_2021_used_eur",
    "triggers.political_discussion",
    "triggers.deters_reporting",
    "triggers.motivation",
    "measures",
    "measures[1]",
    "measures[0].description",
    "measures[0].quantity",
    "measures[0].unit_price_eur",
    "measures[0].advised",
    "measures[0].already_reimbursed_eur",
]


@pytest.mark.parametrize("path", NULL_ALLOWED)
def test_null_is_accepted_where_the_field_is_optional(path: str) -> None:
    assert get(parse_claim(with_value(path, None)), path) is None


@pytest.mark.parametrize("path", NULL_REJECTED)
def test_null_is_rejected_elsewhere(path: str) -> None:
    problem = only_problem(with_value(path, None), path)
    assert problem.value == "null"
    _all_messages_are_dutch([problem])


# --- enumerations -----------------------------------------------------------------------------

# The value sets exactly as the contract lists them, in its order.
ENUMERATIONS = {
    "scheme": ["vangnet", "basismaatregelen", "beveiligingsmaatregelen", "vangnet-herijking"],
    "applicant.type": ["gemeente", "provincie", "waterschap", "ambtsdrager"],
    "office_holder.role": [
        "burgemeester",
        "wethouder",
        "raadslid",
        "gedeputeerde",
        "cdk",
        "statenlid",
        "waterschapsbestuurder",
    ],
    "threat.status": ["expliciet", "impliciet", "voorstelbaar", "geen", "onbekend"],
    "threat.assessed_by": ["politie", "om", "nctv", "adviseur_bb", "gemeente", "geen"],
    "advice.by": ["politie", "om", "nctv", "adviseur_bb", "ccv", "bva", "geen"],
}

_TYPES = {
    "scheme": claim_module.Scheme,
    "applicant.type": claim_module.ApplicantType,
    "office_holder.role": claim_module.Role,
    "threat.status": claim_module.ThreatStatus,
    "threat.assessed_by": claim_module.Assessor,
    "advice.by": claim_module.AdviceBy,
}


@pytest.mark.parametrize("path", ENUMERATIONS)
def test_the_model_has_the_contract_value_sets(path: str) -> None:
    assert list(typing.get_args(_TYPES[path])) == ENUMERATIONS[path]


@pytest.mark.parametrize(
    ("path", "value"), [(path, v) for path, values in ENUMERATIONS.items() for v in values]
)
def test_every_valid_value_is_accepted(path: str, value: str) -> None:
    assert get(parse_claim(with_value(path, value)), path) == value


@pytest.mark.parametrize("path", ENUMERATIONS)
@pytest.mark.parametrize("wrong", ["onbekende_waarde", "Gemeente", "", 1, True])
def test_a_wrong_value_is_rejected_with_the_valid_values(path: str, wrong: Any) -> None:
    problem = only_problem(with_value(path, wrong), path)
    assert problem.message == "moet een van deze waarden zijn: " + ", ".join(ENUMERATIONS[path])
    assert problem.value == (json.dumps(wrong) if isinstance(wrong, bool) else str(wrong))


# --- money ------------------------------------------------------------------------------------

MONEY = [
    "municipality.total_expenditure_eur",
    "municipality.security_budget_eur",
    "home.package_2021_used_eur",
    "measures[0].unit_price_eur",
    "measures[0].already_reimbursed_eur",
]

MONEY_ACCEPTED = [
    (12, "12.00"),
    (Decimal("12.5"), "12.50"),
    (Decimal("12.05"), "12.05"),
    ("12", "12.00"),
    ("12.50", "12.50"),
    ("0.01", "0.01"),
    ("1.5e2", "150.00"),
    (12.25, "12.25"),
    (1_000_000, "1000000.00"),
]

MONEY_NOT_A_NUMBER = [
    float("nan"),
    float("inf"),
    float("-inf"),
    Decimal("NaN"),
    Decimal("Infinity"),
    "NaN",
    "Infinity",
    "-Infinity",
    "abc",
    "",
    " 12",
    "12 ",
    "12,50",
    "1_000",
    "+12",
    "0x10",
    "\u0661\u0662",  # Arabic-Indic digits, which Decimal() would take
    True,
    False,
    [12],
    {"eur": 12},
]


@pytest.mark.parametrize("path", MONEY)
@pytest.mark.parametrize(("value", "stored"), MONEY_ACCEPTED)
def test_money_accepts_numbers_and_strings_holding_one(path: str, value: Any, stored: str) -> None:
    amount = get(parse_claim(with_value(path, value)), path)
    assert type(amount) is Decimal
    assert str(amount) == stored


@pytest.mark.parametrize("path", MONEY)
@pytest.mark.parametrize("value", ["2600.505", Decimal("0.001"), 0.125, "1e-3"])
def test_money_with_more_than_two_decimals_is_rejected(path: str, value: Any) -> None:
    problem = only_problem(with_value(path, value), path)
    assert problem.message == message("money_decimals")
    assert problem.value == str(value)


@pytest.mark.parametrize("path", MONEY)
@pytest.mark.parametrize("value", MONEY_NOT_A_NUMBER)
def test_money_that_is_no_number_is_rejected(path: str, value: Any) -> None:
    assert only_problem(with_value(path, value), path).message == message("money")


@pytest.mark.parametrize("path", MONEY)
@pytest.mark.parametrize("value", [-1, "-0.01", Decimal("-2600")])
def test_negative_money_is_rejected(path: str, value: Any) -> None:
    assert only_problem(with_value(path, value), path).message == "moet 0 of meer zijn"


@pytest.mark.parametrize("path", MONEY)
@pytest.mark.parametrize("value", ["1000000000000.01", 10**13, "1e30", "1e999999999"])
def test_absurd_money_is_rejected_not_crashed_on(path: str, value: Any) -> None:
    problem = only_problem(with_value(path, value), path)
    assert problem.message == "mag hoogstens 1.000.000.000.000 zijn"


@pytest.mark.parametrize("path", [p for p in MONEY if p != "municipality.total_expenditure_eur"])
def test_zero_money_is_accepted(path: str) -> None:
    assert get(parse_claim(with_value(path, 0)), path) == 0


@pytest.mark.parametrize("value", [0, "0.00", "-0"])
def test_total_expenditure_must_be_positive(value: Any) -> None:
    path = "municipality.total_expenditure_eur"
    assert only_problem(with_value(path, value), path).message == "moet groter zijn dan 0"


def test_minus_zero_is_stored_as_zero() -> None:
    amount = parse_claim(with_value("measures[0].already_reimbursed_eur", "-0.00")).measures[0]
    assert str(amount.already_reimbursed_eur) == "0.00"


# --- quantities -------------------------------------------------------------------------------

Q = "measures[0].quantity"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (1, "1.00"),
        ("2.5", "2.50"),
        (Decimal("0.01"), "0.01"),
        (0.25, "0.25"),
        (10**6, "1000000.00"),
    ],
)
def test_a_quantity_above_zero_with_two_decimals_is_accepted(value: Any, stored: str) -> None:
    data = with_value(Q, value, with_value("measures[0].unit_price_eur", 1))
    assert str(parse_claim(data).measures[0].quantity) == stored


@pytest.mark.parametrize("value", [0, "0.00", -1, "-0.5"])
def test_a_quantity_must_be_above_zero(value: Any) -> None:
    assert only_problem(with_value(Q, value), Q).message == "moet groter zijn dan 0"


@pytest.mark.parametrize("value", ["0.005", Decimal("1.001"), 2.125])
def test_a_quantity_has_at_most_two_decimals(value: Any) -> None:
    assert only_problem(with_value(Q, value), Q).message == message("quantity_decimals")


@pytest.mark.parametrize("value", [True, False, "abc", "NaN", float("inf"), [1]])
def test_a_quantity_that_is_no_number_is_rejected(value: Any) -> None:
    assert only_problem(with_value(Q, value), Q).message == message("quantity")


def test_an_absurd_quantity_is_rejected() -> None:
    assert only_problem(with_value(Q, "1000000.01"), Q).message == "mag hoogstens 1.000.000 zijn"


def test_a_line_amount_beyond_the_limit_is_named_on_its_quantity() -> None:
    data = with_value(
        "measures[1].quantity", 1000, with_value("measures[1].unit_price_eur", "1000000.01")
    )
    problem = only_problem(data, "measures[1].quantity")
    assert problem.message == (
        "aantal maal prijs per eenheid is 1.000.000.010,00;"
        " een regel mag hoogstens 1.000.000.000 bedragen"
    )


def test_line_amount_problems_come_with_every_other_problem() -> None:
    data = with_value("measures[0].quantity", 1000, with_value("measures[0].unit_price_eur", 10**7))
    data = with_value(
        "measures[2].quantity", 1000, with_value("measures[2].unit_price_eur", 10**7, data)
    )
    data = with_value("measures[1].unit_price_eur", -1, data)
    assert [p.field for p in problems(data)] == [
        "measures[0].quantity",
        "measures[1].unit_price_eur",
        "measures[2].quantity",
    ]


# --- measure lines ----------------------------------------------------------------------------


def _lines(n: int) -> dict[str, Any]:
    line = {"description": "Alarm", "quantity": 1, "unit_price_eur": 1}
    return with_value("measures", [dict(line) for _ in range(n)])


@pytest.mark.parametrize("n", [1, 500])
def test_one_to_500_lines_are_accepted(n: int) -> None:
    assert len(parse_claim(_lines(n)).measures) == n


def test_no_lines_are_rejected() -> None:
    assert only_problem(_lines(0), "measures").message == "moet minstens 1 regel(s) bevatten"


def test_501_lines_are_rejected() -> None:
    assert only_problem(_lines(501), "measures").message == "mag hoogstens 500 regels bevatten"


@pytest.mark.parametrize("value", [{}, "Alarm", 1])
def test_measures_must_be_a_list(value: Any) -> None:
    assert only_problem(with_value("measures", value), "measures").message == message("list")


def test_a_line_must_be_an_object() -> None:
    problem = only_problem(with_value("measures[1]", "Alarm"), "measures[1]")
    assert problem.message == message("object")


@pytest.mark.parametrize(
    ("code", "looked_up"), [("ALARM_PAC", "ALARM_PAC"), ("", None), (None, None)]
)
def test_the_catalogue_code_of_a_line(code: str | None, looked_up: str | None) -> None:
    line = parse_claim(with_value("measures[0].code", code)).measures[0]
    assert isinstance(line, Measure)
    assert line.catalogue_code == looked_up


def test_an_unknown_code_is_accepted_by_the_claim() -> None:
    assert parse_claim(with_value("measures[0].code", "NIET_IN_CATALOGUS")).measures[0].code


# --- text fields ------------------------------------------------------------------------------

TEXT_LIMITS = [
    ("applicant.name", 1, 200),
    ("municipality.name", 1, 200),
    ("office_holder.reference", 1, 64),
    ("measures[0].description", 1, 500),
    ("measures[0].code", 0, 64),
    ("triggers.motivation", 0, 2000),
]


@pytest.mark.parametrize(("path", "shortest", "longest"), TEXT_LIMITS)
def test_text_lengths(path: str, shortest: int, longest: int) -> None:
    for n in {shortest, longest}:
        assert get(parse_claim(with_value(path, "x" * n)), path) == "x" * n
    too_long = only_problem(with_value(path, "x" * (longest + 1)), path)
    assert too_long.message == f"mag hoogstens {longest} tekens bevatten"
    assert too_long.value == ("x" * (longest + 1) if longest < 80 else "x" * 77 + "...")
    if shortest:
        assert only_problem(with_value(path, ""), path).message == "mag niet leeg zijn"


@pytest.mark.parametrize("path", [p for p, _, _ in TEXT_LIMITS])
@pytest.mark.parametrize("value", [5, True, ["x"]])
def test_text_must_be_text(path: str, value: Any) -> None:
    assert only_problem(with_value(path, value), path).message == "moet tekst zijn"


def test_non_ascii_text_is_kept() -> None:
    text = "Inbraakwerende deur – café “Ĳssel” 🚪"
    assert parse_claim(with_value("measures[0].description", text)).measures[0].description == text


def test_a_lone_surrogate_is_reported_and_shown_safely() -> None:
    problem = json_problems(
        json.dumps(full_claim()).replace('"Alarm met doormelding"', '"a\\ud800"')
    )[0]
    assert problem.field == "measures[0].description"
    assert problem.message == message("text_unicode")
    assert problem.value == "a\\ud800"
    problem.value.encode("utf-8")


# --- claim_id and CBS code --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a", "2016-0042", "A.z_0-9", "x" * 64])
def test_a_valid_claim_id(value: str) -> None:
    assert parse_claim(with_value("claim_id", value)).claim_id == value


@pytest.mark.parametrize(
    "value", ["", "x" * 65, "2016/0042", "met spatie", "café", "P01\n", "P01;", "*"]
)
def test_an_invalid_claim_id(value: str) -> None:
    problem = only_problem(with_value("claim_id", value), "claim_id")
    assert problem.message == message("claim_id")
    assert problem.value == (value if len(value) <= 80 else value[:77] + "...")


def test_a_claim_id_must_be_text() -> None:
    assert only_problem(with_value("claim_id", 42), "claim_id").message == "moet tekst zijn"


@pytest.mark.parametrize("value", ["GM0363", "GM0000", "GM9999"])
def test_a_valid_cbs_code(value: str) -> None:
    municipality = parse_claim(with_value("municipality.code", value)).municipality
    assert municipality is not None
    assert municipality.code == value


@pytest.mark.parametrize(
    "value", ["GM363", "gm0363", "GM03630", "0363", "GM036A", "GM0363\n", " GM0363", ""]
)
def test_an_invalid_cbs_code(value: str) -> None:
    problem = only_problem(with_value("municipality.code", value), "municipality.code")
    assert problem.message == message("cbs_code")


# --- integers ---------------------------------------------------------------------------------

INHABITANTS = "municipality.inhabitants"


@pytest.mark.parametrize("value", [1, 45000, 100_000_000])
def test_valid_inhabitants(value: int) -> None:
    assert get(parse_claim(with_value(INHABITANTS, value)), INHABITANTS) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "moet groter zijn dan 0"),
        (-5, "moet groter zijn dan 0"),
        (100_000_001, "mag hoogstens 100000000 zijn"),
        (Decimal("45000.0"), message("integer")),
        (45000.5, message("integer")),
        ("45000", message("integer")),
        (True, message("integer")),
    ],
)
def test_invalid_inhabitants(value: Any, text: str) -> None:
    assert only_problem(with_value(INHABITANTS, value), INHABITANTS).message == text


# --- dates ------------------------------------------------------------------------------------

DATES = ["reference_date", "threat.assessed_on", "advice.date", "measures[0].date"]


@pytest.mark.parametrize("path", DATES)
def test_an_iso_date_is_accepted(path: str) -> None:
    assert get(parse_claim(with_value(path, "2016-02-29")), path) == date(2016, 2, 29)


@pytest.mark.parametrize("path", DATES)
@pytest.mark.parametrize(
    "value",
    [
        "2016-13-01",
        "2015-02-29",
        "2016-00-10",
        "20160301",
        "2016-3-1",
        "2016-W09-2",
        "2016-061",
        "01-03-2016",
        "2016-03-01T00:00:00",
        "2016-03-01 ",
        "",
        20160301,
        True,
    ],
)
def test_anything_else_is_no_date(path: str, value: Any) -> None:
    problem = only_problem(with_value(path, value), path)
    assert problem.message == "moet een datum zijn in de vorm JJJJ-MM-DD, bijvoorbeeld 2016-03-01"
    assert problem.value == (json.dumps(value) if isinstance(value, bool) else str(value))


# --- booleans ---------------------------------------------------------------------------------

BOOLEANS = [
    "home.pkvw_certified",
    "triggers.political_discussion",
    "triggers.deters_reporting",
    "measures[0].advised",
]


@pytest.mark.parametrize("path", BOOLEANS)
@pytest.mark.parametrize("value", [True, False])
def test_true_and_false_are_booleans(path: str, value: bool) -> None:
    assert get(parse_claim(with_value(path, value)), path) is value


@pytest.mark.parametrize("path", BOOLEANS)
@pytest.mark.parametrize("value", [1, 0, "true", "false", "ja", 1.0])
def test_nothing_else_is_a_boolean(path: str, value: Any) -> None:
    problem = only_problem(with_value(path, value), path)
    assert problem.message == "moet true of false zijn (zonder aanhalingstekens)"


# --- objects and unknown fields ---------------------------------------------------------------

OBJECTS = ["applicant", "municipality", "office_holder", "threat", "advice", "home", "triggers"]


@pytest.mark.parametrize("path", ["", *OBJECTS, "measures[0]", "measures[2]"])
def test_an_unknown_field_is_named_at_every_level(path: str) -> None:
    field = f"{path}.x" if path else "x"
    problem = only_problem(with_value(field, 1), field)
    assert problem.message == "is geen veld van het aanvraagformaat v1; verwijder dit veld"
    assert problem.value == "1"


@pytest.mark.parametrize("path", OBJECTS)
@pytest.mark.parametrize("value", ["x", [], 1])
def test_an_object_field_must_be_an_object(path: str, value: Any) -> None:
    assert only_problem(with_value(path, value), path).message == message("object")


# --- every problem at once --------------------------------------------------------------------


def test_every_problem_is_reported_at_once_with_path_value_and_dutch_message() -> None:
    data = full_claim()
    data["measures"][2]["unit_price_eur"] = "-12"
    data["measures"][0]["quantity"] = 0
    data["measures"][1]["y"] = True
    data["applicant"]["type"] = "burger"
    data["reference_date"] = "2016-13-01"
    data["home"]["pkvw_certified"] = "ja"
    data["municipality"]["code"] = "GM12"
    del data["office_holder"]
    with pytest.raises(ClaimError) as info:
        parse_claim(data)
    error = info.value
    assert error.code == "ongeldige_aanvraag"
    assert error.message == "De aanvraag is ongeldig: 8 problemen."
    found = sorted((p.field, p.value, p.message) for p in error.problems)
    assert found == sorted(
        [
            ("measures[2].unit_price_eur", "-12", "moet 0 of meer zijn"),
            ("measures[0].quantity", "0", "moet groter zijn dan 0"),
            ("measures[1].y", "true", message("extra_forbidden")),
            (
                "applicant.type",
                "burger",
                "moet een van deze waarden zijn: gemeente, provincie, waterschap, ambtsdrager",
            ),
            ("reference_date", "2016-13-01", message("date")),
            ("home.pkvw_certified", "ja", message("boolean")),
            ("municipality.code", "GM12", message("cbs_code")),
            ("office_holder", None, message("missing")),
        ]
    )
    assert all(
        p.as_dict() == {"field": p.field, "value": p.value, "message": p.message}
        for p in error.problems
    )


def test_one_problem_is_counted_in_the_singular() -> None:
    with pytest.raises(ClaimError, match=r"^De aanvraag is ongeldig: 1 probleem\.$"):
        parse_claim(with_value("scheme", "x"))


def _all_messages_are_dutch(found: list[Problem]) -> None:
    for p in found:
        assert p.message, p
        assert not re.search(r"\b(Input|should|valid|field)\b", p.message), p
        assert p.message != message("invalid"), p  # the fallback means a mapping is missing


_ODD_VALUES: list[Any] = [None, "", "x", -1, 1.5, True, [], {}, "1e999999999", "0.001"]


@pytest.mark.parametrize(
    "data",
    [
        with_value(path, value)
        for path in [*MONEY, Q, INHABITANTS, *DATES, *BOOLEANS, *ENUMERATIONS, "claim_id"]
        for value in _ODD_VALUES
    ],
)
def test_no_problem_is_left_in_english(data: dict[str, Any]) -> None:
    try:
        parse_claim(data)
    except ClaimError as exc:
        _all_messages_are_dutch(exc.problems)


# --- JSON -------------------------------------------------------------------------------------


def test_claim_json_is_decoded_with_exact_decimals() -> None:
    text = json.dumps(full_claim()).replace('"unit_price_eur": 2600', '"unit_price_eur": 0.1')
    text = text.replace('"quantity": 1,', '"quantity": 3,', 1)
    line = parse_claim_json(text).measures[0]
    assert line.quantity * line.unit_price_eur == Decimal("0.3")


def test_bytes_with_non_ascii_and_a_byte_order_mark_are_accepted() -> None:
    data = with_value("measures[0].description", "Deur – café")
    text = "\ufeff" + json.dumps(data, ensure_ascii=False)
    assert parse_claim_json(text.encode("utf-8")).measures[0].description == "Deur – café"


def test_a_syntax_error_names_line_and_column() -> None:
    [problem] = json_problems('{\n  "claim_id": ,\n}')
    assert problem.field == "(aanvraag)"
    assert problem.value is None
    assert problem.message.startswith("is geen geldige JSON: ")
    assert problem.message.endswith("(regel 2, kolom 15)")


@pytest.mark.parametrize("text", ["", "{", '{"claim_id": "x",}', "[1, 2", "'x'"])
def test_broken_json_is_refused(text: str) -> None:
    [problem] = json_problems(text)
    assert problem.field == "(aanvraag)"
    assert problem.message.startswith("is geen geldige JSON: ")


def test_a_duplicate_key_is_refused() -> None:
    text = json.dumps(full_claim()).replace(
        '"scheme": "vangnet"', '"scheme": "vangnet", "scheme": "x"'
    )
    assert [p.as_dict() for p in json_problems(text)] == [
        {"field": "scheme", "value": None, "message": "komt twee keer voor in hetzelfde object"}
    ]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_constant_is_refused(constant: str) -> None:
    text = json.dumps(full_claim()).replace(
        '"unit_price_eur": 2600', f'"unit_price_eur": {constant}'
    )
    [problem] = json_problems(text)
    assert problem.field == "(aanvraag)"
    assert problem.message == f"{constant} is geen getal; gebruik een gewoon getal"


@pytest.mark.parametrize("raw", [b'{"claim_id": "\xff"}', "{}".encode("utf-16")])
def test_bytes_that_are_not_utf8_are_refused(raw: bytes) -> None:
    assert [p.as_dict() for p in json_problems(raw)] == [
        {"field": "(aanvraag)", "value": None, "message": "is geen UTF-8-tekst"}
    ]


def test_too_deep_nesting_is_refused_not_crashed_on() -> None:
    [problem] = json_problems("[" * 100_000 + "]" * 100_000)
    assert problem.message == message("json_depth")


def test_an_integer_of_thousands_of_digits_is_a_field_problem() -> None:
    text = json.dumps(full_claim()).replace(
        '"unit_price_eur": 2600', '"unit_price_eur": ' + "9" * 5000
    )
    [problem] = json_problems(text)
    assert problem.field == "measures[0].unit_price_eur"
    assert problem.message == "mag hoogstens 1.000.000.000.000 zijn"
    assert problem.value is not None
    assert len(problem.value) == 80


def test_json_problems_of_fields_come_all_at_once() -> None:
    data = with_value("measures[2].unit_price_eur", "-12", with_value("scheme", "x"))
    text = json.dumps(data).replace('"quantity": 1,', '"quantity": 1.005,', 1)
    assert sorted(p.field for p in json_problems(text)) == [
        "measures[0].quantity",
        "measures[2].unit_price_eur",
        "scheme",
    ]


# --- canonical form ---------------------------------------------------------------------------


def test_the_canonical_form_of_a_small_claim_computed_by_hand() -> None:
    data = {
        "reference_date": "2016-03-01",
        "office_holder": {"role": "raadslid"},
        "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
        "home": {},
        "measures": [
            {
                "code": "ALARM_PAC",
                "description": "Café",
                "quantity": "1.50",
                "unit_price_eur": "2600.50",
            },
            {"description": "Slot", "quantity": 2, "unit_price_eur": "2600.00"},
        ],
    }
    expected = (
        '{"applicant":{"name":"Gemeente Voorbeeld","type":"gemeente"},'
        '"home":{"package_2021_used_eur":0,"pkvw_certified":null},'
        '"measures":['
        '{"advised":false,"already_reimbursed_eur":0,"code":"ALARM_PAC","description":"Café",'
        '"quantity":1.5,"unit_price_eur":2600.5},'
        '{"advised":false,"already_reimbursed_eur":0,"description":"Slot",'
        '"quantity":2,"unit_price_eur":2600}'
        "],"
        '"office_holder":{"role":"raadslid"},'
        '"reference_date":"2016-03-01",'
        '"scheme":"vangnet"}'
    ).encode()
    claim = parse_claim(data)
    assert canonical_claim(claim) == expected
    assert claim_sha256(claim) == hashlib.sha256(expected).hexdigest()


def test_the_canonical_form_of_the_full_claim() -> None:
    canonical = json.loads(canonical_claim(parse_claim(full_claim())), parse_float=Decimal)
    assert canonical["claim_id"] == "2016-0042"
    assert canonical["municipality"] == {
        "code": "GM9999",
        "inhabitants": 45000,
        "name": "Voorbeeld",
        "security_budget_eur": 0,
        "total_expenditure_eur": 144000000,
    }
    assert canonical["measures"][1] == {
        "advised": False,
        "already_reimbursed_eur": 0,
        "description": "Extra slot",
        "quantity": Decimal("2.5"),
        "unit_price_eur": Decimal("12.5"),
    }
    assert canonical["triggers"]["deters_reporting"] is False


def test_triggers_defaults_are_filled_in() -> None:
    canonical = json.loads(
        canonical_claim(parse_claim(with_value("triggers", {}, minimal_claim())))
    )
    assert canonical["triggers"] == {
        "deters_reporting": False,
        "motivation": "",
        "political_discussion": False,
    }


def test_claim_id_is_left_out_when_absent() -> None:
    canonical = json.loads(canonical_claim(parse_claim(minimal_claim())))
    assert "claim_id" not in canonical
    assert set(canonical) == {"applicant", "measures", "office_holder", "reference_date", "scheme"}


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _sha(data: Any) -> str:
    return claim_sha256(parse_claim(data))


def test_the_hash_does_not_depend_on_key_order() -> None:
    data = full_claim()
    assert list(_reordered(data)) != list(data)
    assert _sha(_reordered(data)) == _sha(data)
    assert _sha(json.loads(json.dumps(data, indent=4))) == _sha(data)


@pytest.mark.parametrize(
    "value", ["2600", 2600, 2600.0, Decimal("2600.0"), Decimal("2600.00"), "2600.00", "2.6e3"]
)
def test_the_hash_does_not_depend_on_how_a_number_is_written(value: Any) -> None:
    assert _sha(with_value("measures[0].unit_price_eur", value)) == _sha(full_claim())


def test_the_hash_of_json_text_equals_the_hash_of_the_decoded_claim() -> None:
    text = json.dumps(full_claim()).replace('"unit_price_eur": 2600', '"unit_price_eur": 2600.000')
    assert claim_sha256(parse_claim_json(text)) == _sha(full_claim())


@pytest.mark.parametrize(
    "path",
    [
        "claim_id",
        "municipality",
        "municipality.code",
        "office_holder.reference",
        "threat.assessed_on",
        "home.pkvw_certified",
        "measures[0].code",
        "measures[0].date",
    ],
)
def test_null_and_absent_give_the_same_hash(path: str) -> None:
    assert _sha(with_value(path, None)) == _sha(without(path))


@pytest.mark.parametrize(
    "path",
    ["home.package_2021_used_eur", "measures[0].advised", "measures[0].already_reimbursed_eur"],
)
def test_a_default_written_out_gives_the_same_hash(path: str) -> None:
    default = get(parse_claim(without(path)), path)
    assert _sha(with_value(path, default)) == _sha(without(path))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("claim_id", "2016-0043"),
        ("scheme", "vangnet-herijking"),
        ("reference_date", "2016-03-02"),
        ("home.pkvw_certified", None),
        ("measures[0].quantity", 2),
        ("measures[0].unit_price_eur", "2600.01"),
        ("measures[0].advised", False),
        ("measures[0].code", ""),
        ("triggers.motivation", ""),
    ],
)
def test_the_hash_changes_with_the_claim(path: str, value: Any) -> None:
    assert _sha(with_value(path, value)) != _sha(full_claim())


def test_the_hash_changes_with_the_order_of_the_lines() -> None:
    data = full_claim()
    swapped = with_value("measures", list(reversed(data["measures"])))
    assert _sha(swapped) != _sha(data)


def test_the_hash_is_sha256_of_the_canonical_bytes() -> None:
    claim = parse_claim(full_claim())
    assert re.fullmatch(r"[0-9a-f]{64}", claim_sha256(claim))
    assert claim_sha256(claim) == hashlib.sha256(canonical_claim(claim)).hexdigest()


cents = st.integers(min_value=0, max_value=10**11)


def _amount(n: int) -> str:
    return f"{n // 100}.{n % 100:02d}"


@given(
    price=cents,
    reimbursed=cents,
    quantity=st.integers(min_value=1, max_value=10**4),
    written=st.sampled_from(["string", "decimal", "normalized"]),
)
def test_canonical_numbers_are_the_exact_amounts(
    price: int, reimbursed: int, quantity: int, written: str
) -> None:
    def write(text: str) -> Any:
        if written == "decimal":
            return Decimal(text)
        if written == "normalized":
            return str(Decimal(text).normalize())
        return text

    price = min(price, 10**9 * 100 // quantity)  # within the line limit
    data = with_value("measures[0].unit_price_eur", write(_amount(price)), minimal_claim())
    data = with_value("measures[0].already_reimbursed_eur", write(_amount(reimbursed)), data)
    data = with_value("measures[0].quantity", write(_amount(quantity)), data)
    claim = parse_claim(data)
    text = canonical_claim(claim)
    line = json.loads(text, parse_float=Decimal)["measures"][0]
    assert Decimal(line["unit_price_eur"]) == Decimal(price) / 100
    assert Decimal(line["already_reimbursed_eur"]) == Decimal(reimbursed) / 100
    assert Decimal(line["quantity"]) == Decimal(quantity) / 100
    # no trailing zeros: the number is written as its shortest exact form
    for key in ("unit_price_eur", "already_reimbursed_eur", "quantity"):
        written_number = re.search(rf'"{key}":([^,}}]+)', text.decode()).group(1)  # type: ignore[union-attr]
        assert not re.search(r"\.\d*0$|\.$", written_number), written_number
    # the canonical claim is itself a claim with the same canonical form
    assert canonical_claim(parse_claim_json(text)) == text


def test_the_model_exposes_the_contract_surface() -> None:
    assert set(Claim.model_fields) == {
        "claim_id",
        "scheme",
        "reference_date",
        "applicant",
        "municipality",
        "office_holder",
        "threat",
        "advice",
        "home",
        "triggers",
        "measures",
    }
    assert set(Measure.model_fields) == {
        "code",
        "description",
        "quantity",
        "unit_price_eur",
        "date",
        "advised",
        "already_reimbursed_eur",
    }
