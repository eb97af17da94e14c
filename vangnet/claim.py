"""The claim of interchange format v1 (`claim-format.md`): models, validation, canonical form.

Everything that comes in is validated here, with every problem reported at once, each with its
contract path (`measures[2].unit_price_eur`), the bad value and a Dutch message saying what
would be valid. Money and quantities are `Decimal`; nothing is ever a binary float.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring as _json_string  # what json.dumps uses
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vangnet.canonical import canonical_json
from vangnet.exceptions import ClaimError, Problem
from vangnet.messages import message
from vangnet.money import format_number, to_json_number

__all__ = [
    "AdviceBy",
    "Applicant",
    "ApplicantType",
    "Assessor",
    "Claim",
    "Home",
    "Measure",
    "Municipality",
    "OfficeHolder",
    "Role",
    "Scheme",
    "Threat",
    "ThreatStatus",
    "Triggers",
    "canonical_claim",
    "canonical_claim_reference",
    "claim_sha256",
    "decode_json",
    "parse_claim",
    "parse_claim_json",
]

Scheme = Literal["vangnet", "basismaatregelen", "beveiligingsmaatregelen", "vangnet-herijking"]
ApplicantType = Literal["gemeente", "provincie", "waterschap", "ambtsdrager"]
Role = Literal[
    "burgemeester",
    "wethouder",
    "raadslid",
    "gedeputeerde",
    "cdk",
    "statenlid",
    "waterschapsbestuurder",
]
ThreatStatus = Literal["expliciet", "impliciet", "voorstelbaar", "geen", "onbekend"]
Assessor = Literal["politie", "om", "nctv", "adviseur_bb", "gemeente", "geen"]
AdviceBy = Literal["politie", "om", "nctv", "adviseur_bb", "ccv", "bva", "geen"]

# Limits that keep every amount exact in the engine (integer cents below 2**53 even summed over
# 500 lines). They are far above any real claim and are part of the documented contract limits.
MAX_MONEY = Decimal("1000000000000")
MAX_QUANTITY = Decimal("1000000")
MAX_LINE = Decimal("1000000000")


# A string holding a number must hold a JSON number: no '1_000', '+5', ' 5', 'nan' or non-ASCII
# digits, all of which `Decimal()` would accept.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Above this magnitude a number is left unquantized (every limit is far below it), so that no
# Decimal context arithmetic can overflow or lose digits on absurd input such as 1e999999999.
_HUGE_ADJUSTED = 18


def _decimals(d: Decimal) -> int:
    """How many decimals a finite `d` needs (trailing zeros do not count); context-free."""
    _, digits, exponent = d.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(-exponent - trailing, 0)


_CENT = Decimal("0.01")
_FAST_LIMIT = 10**15


def _decimal(value: Any, kind: str) -> Decimal:
    """A Decimal from a JSON number or a string holding one; never from a boolean."""
    # fast paths for what JSON gives almost always: an integer, or a Decimal with <= 2 decimals
    kind_of = type(value)
    if kind_of is int and -_FAST_LIMIT < value < _FAST_LIMIT:
        return Decimal(value).quantize(_CENT)
    if kind_of is str and _JSON_NUMBER.fullmatch(value):
        value = Decimal(value)
        kind_of = Decimal
    if kind_of is Decimal and value.is_finite() and value.adjusted() < 15:
        q: Decimal = value.quantize(_CENT)
        if q == value:
            return q + 0  # no '-0.00'
    return _decimal_slow(value, kind)


def _decimal_slow(value: Any, kind: str) -> Decimal:
    if isinstance(value, bool):
        raise PydanticCustomError(kind, message(kind))
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError(kind, message(kind))
        d = Decimal(repr(value))
    elif isinstance(value, str):
        if not _JSON_NUMBER.fullmatch(value):
            raise PydanticCustomError(kind, message(kind))
        d = Decimal(value)
    else:
        raise PydanticCustomError(kind, message(kind))
    if not d.is_finite():
        raise PydanticCustomError(kind, message(kind))
    if _decimals(d) > 2:
        raise PydanticCustomError(f"{kind}_decimals", message(f"{kind}_decimals"))
    if d.adjusted() >= _HUGE_ADJUSTED:
        return d  # the caller's limit rejects it (comparisons are exact)
    return d.quantize(Decimal("0.01")) + 0  # two decimals, and no '-0.00'


_MAX_MONEY_INT = int(MAX_MONEY)
_MAX_QUANTITY_INT = int(MAX_QUANTITY)


def _money(value: Any) -> Decimal:
    # the fast path of `_decimal` with the limits below, in one call (a claim has ~100 amounts)
    kind = type(value)
    if kind is int:
        if 0 <= value <= _MAX_MONEY_INT:
            return Decimal(value).quantize(_CENT)
    else:
        if kind is str and _JSON_NUMBER.fullmatch(value):
            value = Decimal(value)
            kind = Decimal
        if kind is Decimal and value.is_finite() and value.adjusted() < 15:
            q: Decimal = value.quantize(_CENT)
            if q == value and 0 <= q <= MAX_MONEY:
                return q + 0
    return _money_checked(value)


def _money_checked(value: Any) -> Decimal:
    d = _decimal(value, "money")
    if d < 0:
        raise PydanticCustomError("money_negative", message("money_negative"))
    if d > MAX_MONEY:
        limit = format_number(MAX_MONEY)
        raise PydanticCustomError("money_too_large", message("money_too_large", limit=limit))
    return d


def _positive_money(value: Any) -> Decimal:
    d = _money(value)
    if d == 0:
        raise PydanticCustomError("money_positive", message("money_positive"))
    return d


def _quantity(value: Any) -> Decimal:
    # the fast path of `_decimal` with the limits below, in one call
    kind = type(value)
    if kind is int:
        if 0 < value <= _MAX_QUANTITY_INT:
            return Decimal(value).quantize(_CENT)
    else:
        if kind is str and _JSON_NUMBER.fullmatch(value):
            value = Decimal(value)
            kind = Decimal
        if kind is Decimal and value.is_finite() and value.adjusted() < 15:
            q: Decimal = value.quantize(_CENT)
            if q == value and 0 < q <= MAX_QUANTITY:
                return q + 0
    return _quantity_checked(value)


def _quantity_checked(value: Any) -> Decimal:
    d = _decimal(value, "quantity")
    if d <= 0:
        raise PydanticCustomError("quantity_positive", message("quantity_positive"))
    if d > MAX_QUANTITY:
        limit = format_number(MAX_QUANTITY)
        raise PydanticCustomError("quantity_too_large", message("quantity_too_large", limit=limit))
    return d


# Only the extended calendar form: `date.fromisoformat` also takes '2016-W09-2' and '20160301'.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_DATES: dict[str, date] = {}  # dates already read (a claim's lines share a few)


def _date(value: Any) -> date:
    if type(value) is str:
        known = _DATES.get(value)
        if known is not None:
            return known
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if type(value) is str and len(_DATES) < 10_000:
                _DATES[value] = day
            return day
    raise PydanticCustomError("date", message("date"))


# In JSON (and so in the canonical claim) money and quantities are numbers without trailing
# zeros, never strings.
_AS_NUMBER = PlainSerializer(to_json_number, when_used="json")
Money = Annotated[Decimal, BeforeValidator(_money), _AS_NUMBER]
PositiveMoney = Annotated[Decimal, BeforeValidator(_positive_money), _AS_NUMBER]
Quantity = Annotated[Decimal, BeforeValidator(_quantity), _AS_NUMBER]
IsoDate = Annotated[
    date, BeforeValidator(_date), WithJsonSchema({"type": "string", "format": "date"})
]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Pseudonym = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class _In(BaseModel):
    """Base of every inbound model: unknown fields are errors, nothing is silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Fields whose `None` is the contract's default (kept in the canonical claim as null); any
    # other field that is `None` (absent, or written as null where that is allowed) is left out.
    _none_is_default: ClassVar[frozenset[str]] = frozenset()


class Applicant(_In):
    type: ApplicantType
    name: Name


class Municipality(_In):
    name: Name
    code: Annotated[StrictStr, Field(pattern=r"^GM[0-9]{4}$")] | None = None
    inhabitants: Annotated[StrictInt, Field(gt=0, le=100_000_000)]
    total_expenditure_eur: PositiveMoney | None = None
    security_budget_eur: Money | None = None


class OfficeHolder(_In):
    role: Role
    reference: Pseudonym | None = None


class Threat(_In):
    status: ThreatStatus
    assessed_by: Assessor
    assessed_on: IsoDate | None = None


class Advice(_In):
    by: AdviceBy
    date: IsoDate | None = None


class Home(_In):
    _none_is_default = frozenset({"pkvw_certified"})

    pkvw_certified: StrictBool | None = None
    package_2021_used_eur: Money = Decimal("0.00")


class Triggers(_In):
    political_discussion: StrictBool = False
    deters_reporting: StrictBool = False
    motivation: Annotated[StrictStr, Field(max_length=2000)] = ""


class Measure(_In):
    code: Annotated[StrictStr, Field(max_length=64)] | None = None
    description: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    quantity: Quantity
    unit_price_eur: Money
    date: IsoDate | None = None
    advised: StrictBool = False
    already_reimbursed_eur: Money = Decimal("0.00")

    @property
    def catalogue_code(self) -> str | None:
        """The code to look up, or None when the line names no code at all."""
        return self.code or None

    @model_validator(mode="after")
    def _line_stays_exact(self) -> Measure:
        amount = self.quantity * self.unit_price_eur
        if amount > MAX_LINE:
            raise PydanticCustomError(
                "line_too_large",
                message(
                    "line_too_large",
                    amount=format_number(amount, 2),
                    limit=format_number(MAX_LINE),
                ),
            )
        return self


class Claim(_In):
    claim_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] | None = None
    scheme: Scheme = "vangnet"
    reference_date: IsoDate
    applicant: Applicant
    municipality: Municipality | None = None
    office_holder: OfficeHolder
    threat: Threat | None = None
    advice: Advice | None = None
    home: Home | None = None
    triggers: Triggers | None = None
    measures: Annotated[list[Measure], Field(min_length=1, max_length=500)]


# --- validation -------------------------------------------------------------------------------

_TYPE_KEYS = {
    "missing": "missing",
    "extra_forbidden": "extra_forbidden",
    "model_type": "object",
    "model_attributes_type": "object",
    "dict_type": "object",
    "list_type": "list",
    "string_type": "text",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "literal_error": "choice",
    "greater_than": "greater_than",
    "greater_than_equal": "greater_than_equal",
    "less_than_equal": "less_than_equal",
    "string_too_long": "text_too_long",
    "string_unicode": "text_unicode",
}

_PATTERN_KEYS = {"claim_id": "claim_id", "code": "cbs_code"}


def _utf8(text: str) -> str:
    """`text` with lone surrogates (from JSON escapes like \\ud800) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _utf8(part)
    return out or "(aanvraag)"  # the claim as a whole, as for a JSON syntax error


def _show(value: Any) -> str | None:
    """The bad value as the claimant wrote it, shortened; None when the field was absent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        value = str(value)
    if isinstance(value, str):
        return _utf8(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return "[…]"
    return type(value).__name__


def _problem(error: Any) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = None if kind == "missing" else _show(error.get("input"))
    if kind == "line_too_large":
        return Problem(_path((*loc, "quantity")), value=None, message=error["msg"])
    if kind.startswith(("money", "quantity", "date")) or kind in {"claim_id"}:
        return Problem(_path(loc), value, error["msg"])
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return Problem(_path(loc), value, message("choice", expected=expected))
    if kind == "string_pattern_mismatch":
        key = _PATTERN_KEYS.get(str(loc[-1]), "invalid")
        return Problem(_path(loc), value, message(key))
    if kind == "string_too_short":
        key = "text_empty" if ctx.get("min_length") == 1 else "text_too_short"
        return Problem(_path(loc), value, message(key, **ctx))
    if kind == "too_short":
        return Problem(_path(loc), value, message("list_too_short", **ctx))
    if kind == "too_long":
        return Problem(_path(loc), value, message("list_too_long", **ctx))
    type_key = _TYPE_KEYS.get(kind)
    if type_key is None:
        return Problem(_path(loc), value, message("invalid"))
    return Problem(_path(loc), value, message(type_key, **ctx))


def parse_claim(data: Any) -> Claim:
    """Validate a decoded claim; raise `ClaimError` listing every problem at once."""
    try:
        return Claim.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors(include_url=False)]
        raise ClaimError(problems) from None


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find the key that came twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return out


def _int(text: str) -> int | Decimal:
    # Python refuses to convert integers of more than 4300 digits; such a number is kept as a
    # Decimal so that the field it stands in is reported (too large, or not an integer).
    return int(text) if len(text) <= 100 else Decimal(text)


def _no_constants(name: str) -> Any:
    raise PydanticCustomError("json_constant", message("json_constant", value=name))


def decode_json(text: str | bytes) -> Any:
    """Decode claim JSON with exact decimals; raise `ClaimError` naming where it is broken."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ClaimError([Problem("(aanvraag)", None, message("json_encoding"))]) from None
    text = text.removeprefix("\ufeff")
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=_int,
            parse_constant=_no_constants,
            object_pairs_hook=_no_duplicates,
        )
    except _DuplicateKeyError as exc:
        raise ClaimError([Problem(exc.key, None, message("json_duplicate_key"))]) from None
    except PydanticCustomError as exc:
        raise ClaimError([Problem("(aanvraag)", None, str(exc))]) from None
    except json.JSONDecodeError as exc:
        msg = message("json", detail=exc.msg, line=exc.lineno, column=exc.colno)
        raise ClaimError([Problem("(aanvraag)", None, msg)]) from None
    except RecursionError:
        raise ClaimError([Problem("(aanvraag)", None, message("json_depth"))]) from None


def parse_claim_json(text: str | bytes) -> Claim:
    """Decode and validate claim JSON; raise `ClaimError` with every problem."""
    return parse_claim(decode_json(text))


# --- canonical form ---------------------------------------------------------------------------


def _canonical(claim: Claim) -> dict[str, Any]:
    # An optional field without default is left out whether it was absent or written as null:
    # both validate to the same claim, which must get the same hash and id. A field whose
    # default is null (`home.pkvw_certified`) is always written.
    data = claim.model_dump(mode="json", exclude_none=True)
    for name in type(claim).model_fields:
        part = getattr(claim, name)
        if isinstance(part, _In):
            for field in part._none_is_default:
                if getattr(part, field) is None:
                    data[name][field] = None
    return data


# The fast path to the same canonical bytes, written directly: keys in sorted order, strings
# escaped by the `json` module's own function, amounts as numbers. `canonical_json` writes
# money and quantities as floats (`to_json_number`); for a plain decimal of at most 15
# significant digits that is exactly its text without trailing zeros. Anything else (a type
# this writer does not know, a number outside that range) goes the reference way. A test
# compares both on generated claims; they must give the same bytes.
_NO_NONE: frozenset[str] = frozenset()
_SORTED_KEYS: dict[type[_In], tuple[tuple[str, str], ...]] = {}


class _NotPlain(Exception):
    pass


def _number_text(value: Decimal) -> str:
    text = str(value)
    if "E" in text or text[0] == "-":
        raise _NotPlain
    if "." in text:
        text = text.rstrip("0").rstrip(".")
        if "." in text and (len(text) > 16 or text.startswith("0.000")):
            raise _NotPlain
    return text


def _object_text(model: _In, keep_none: frozenset[str], root: bool) -> str:
    cls = type(model)
    keys = _SORTED_KEYS.get(cls)
    if keys is None:
        keys = tuple((n, _json_string(n) + ":") for n in sorted(cls.model_fields))
        _SORTED_KEYS[cls] = keys
    values = model.__dict__
    parts: list[str] = []
    append = parts.append
    for name, key in keys:
        value = values[name]
        kind = type(value)
        if kind is str:
            append(key + _json_string(value))
        elif kind is Decimal:
            append(key + _number_text(value))
        elif value is None:
            if name in keep_none:
                append(key + "null")
        elif kind is bool:
            append(key + ("true" if value else "false"))
        elif kind is int:
            append(key + int.__repr__(value))
        elif kind is date:
            append(key + '"' + value.isoformat() + '"')
        elif kind is list:
            if not all(isinstance(item, _In) for item in value):
                raise _NotPlain
            items = [
                _measure_text(i)
                if type(i) is Measure and _MEASURE_FAST
                else _object_text(i, _NO_NONE, False)
                for i in value
            ]
            append(key + "[" + ",".join(items) + "]")
        elif isinstance(value, _In):
            # only a part of the claim itself keeps its null defaults (as `_canonical` does)
            keep = value._none_is_default if root else _NO_NONE
            append(key + _object_text(value, keep, False))
        else:
            raise _NotPlain
    return "{" + ",".join(parts) + "}"


_MEASURE_KEYS = (
    "advised",
    "already_reimbursed_eur",
    "code",
    "date",
    "description",
    "quantity",
    "unit_price_eur",
)
# the written-out measure holds exactly these fields; should the model change, the generic way
_MEASURE_FAST = tuple(sorted(Measure.model_fields)) == _MEASURE_KEYS


def _measure_text(m: Measure) -> str:
    """`_object_text` of a measure, written out (a claim has up to 500 of them); the same
    bytes, and `_NotPlain` for any value of another type than validation gives."""
    v = m.__dict__
    advised, reimbursed, code, day = v["advised"], v["already_reimbursed_eur"], v["code"], v["date"]
    description, quantity, price = v["description"], v["quantity"], v["unit_price_eur"]
    if (
        type(advised) is not bool
        or type(reimbursed) is not Decimal
        or type(description) is not str
        or type(quantity) is not Decimal
        or type(price) is not Decimal
    ):
        raise _NotPlain
    text = '{"advised":' + ("true" if advised else "false")
    text += ',"already_reimbursed_eur":' + _number_text(reimbursed)
    if code is not None:
        if type(code) is not str:
            raise _NotPlain
        text += ',"code":' + _json_string(code)
    if day is not None:
        if type(day) is not date:
            raise _NotPlain
        text += ',"date":"' + day.isoformat() + '"'
    text += ',"description":' + _json_string(description)
    text += ',"quantity":' + _number_text(quantity)
    return text + ',"unit_price_eur":' + _number_text(price) + "}"


def canonical_claim(claim: Claim) -> bytes:
    """The claim in RFC 8785 canonical JSON, with defaults filled in (see the contract)."""
    try:
        text = _object_text(claim, _NO_NONE, True)
    except _NotPlain:
        return canonical_claim_reference(claim)
    return text.encode("utf-8")


def canonical_claim_reference(claim: Claim) -> bytes:
    """`canonical_claim` the plain way, through pydantic's JSON mode and `canonical_json`."""
    return canonical_json(_canonical(claim), checked=True)


def claim_sha256(claim: Claim) -> str:
    """SHA-256 (hex) of the canonical claim."""
    return hashlib.sha256(canonical_claim(claim)).hexdigest()
