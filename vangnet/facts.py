"""The fact vocabulary: what a ruleset may test, built from a claim and its calculation.

Rulesets name these fields in their conditions; the loader refuses a field that is not here.
Facts are neutral descriptions of the claim (no scheme knows about another): derived values
such as `has_trigger` only spare the rulesets string tests the engine cannot do safely.

In the engine, money is integer cents (exact in its doubles) and dates are integers
`YYYYMMDD` (ordered like dates); a field that is unknown is left out of the fact, so a rule can
test it with `present: false`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from vangnet.calculator import CalculatedLine, Calculation
from vangnet.money import format_eur, format_number

__all__ = [
    "CLAIM_FIELDS",
    "ITEM_FIELDS",
    "ITEM_TEXTS",
    "LINE_ENGINE_VALUES",
    "LINE_FIELDS",
    "LINE_TEXTS",
    "ClaimTotals",
    "Display",
    "FieldType",
    "LineText",
    "claim_display",
    "claim_values",
    "eur_text",
    "line_values",
    "list_nl",
    "to_fact",
]

FieldType = Literal["text", "bool", "int", "money", "date"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: FieldType
    doc: str


LINE_FIELDS: dict[str, FieldSpec] = {
    "index": FieldSpec("int", "0-based position of the line in the claim"),
    "specified": FieldSpec("bool", "the code names an item of the catalogue in force"),
    "code": FieldSpec("text", "the catalogue code (absent when unspecified)"),
    "category": FieldSpec("text", "the catalogue item's category (absent when unspecified)"),
    "package_2021": FieldSpec("text", "the item's 2021 package item (absent when none)"),
    "has_pkvw_equivalent": FieldSpec("bool", "the item has a PKVW-level equivalent"),
    "has_reference_price": FieldSpec("bool", "the item has a reference unit price"),
    "advised": FieldSpec("bool", "the measure is named in the required advice"),
    "date": FieldSpec("date", "date of the cost (absent when unknown)"),
    "threat_assessed_on": FieldSpec("date", "date of the threat assessment (absent: unknown)"),
    "unit_price_eur": FieldSpec("money", "claimed unit price"),
    "claimed_eur": FieldSpec("money", "claimed amount of the line"),
    "reference_unit_price_eur": FieldSpec("money", "reference unit price (absent: none)"),
    "already_reimbursed_eur": FieldSpec("money", "already paid by another scheme"),
}

# The line fields that depend only on the catalogue item (within one catalogue version): the
# same for every line with that item, so the decision core computes them once per item.
ITEM_FIELDS = frozenset(
    {"specified", "code", "category", "package_2021", "has_pkvw_equivalent",
     "has_reference_price", "reference_unit_price_eur"}
)  # fmt: skip

CLAIM_FIELDS: dict[str, FieldSpec] = {
    "applicant_type": FieldSpec("text", "applicant.type"),
    "role": FieldSpec("text", "office_holder.role"),
    "threat_status": FieldSpec("text", "threat.status (absent: no threat given)"),
    "threat_assessed_by": FieldSpec("text", "threat.assessed_by (absent: no threat given)"),
    "advice_by": FieldSpec("text", "advice.by (absent: no advice given)"),
    "municipality_known": FieldSpec("bool", "the claim gives the municipality's figures"),
    "inhabitants": FieldSpec("int", "municipality.inhabitants (absent: unknown)"),
    "security_budget_eur": FieldSpec("money", "municipality.security_budget_eur, 0 if none"),
    "has_trigger": FieldSpec("bool", "political_discussion or deters_reporting is true"),
    "motivation_given": FieldSpec("bool", "the motivation has a non-whitespace character"),
    "pkvw_certified": FieldSpec("bool", "home.pkvw_certified (absent: unknown)"),
    "package_2021_used_eur": FieldSpec("money", "home.package_2021_used_eur"),
    "e_eur": FieldSpec("money", "E: eligible amount of the vergoedbaar and deels lines"),
    "p_eur": FieldSpec("money", "P: claimed amount of the te_beoordelen lines"),
    "ep_eur": FieldSpec("money", "E + P"),
}


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _day(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


# --- line facts -------------------------------------------------------------------------------


def line_values(line: CalculatedLine, threat_assessed_on: date | None) -> dict[str, Any]:
    """The line's fields as exact Python values (euros as Decimal); None where unknown."""
    m, item = line.measure, line.item
    return {
        "index": line.index,
        "specified": item is not None,
        "code": None if item is None else item.code,
        "category": None if item is None else item.category,
        "package_2021": None if item is None else item.package_2021,
        "has_pkvw_equivalent": line.pkvw_equivalent is not None,
        "has_reference_price": line.reference_unit_price_eur is not None,
        "advised": m.advised,
        "date": m.date,
        "threat_assessed_on": threat_assessed_on,
        "unit_price_eur": m.unit_price_eur,
        "claimed_eur": line.claimed_eur,
        "reference_unit_price_eur": line.reference_unit_price_eur,
        "already_reimbursed_eur": m.already_reimbursed_eur,
    }


# The fields of a line fact that vary per line (the others depend only on the catalogue item,
# `ITEM_FIELDS`), each straight in engine units: (line, date of the threat assessment) -> value,
# None when unknown. `to_fact(line_values(...))` is the reference; a test keeps them equal.
LINE_ENGINE_VALUES: dict[str, Callable[[CalculatedLine, date | None], Any]] = {
    "index": lambda line, _: line.index,
    "advised": lambda line, _: line.measure.advised,
    "date": lambda line, _: None if line.measure.date is None else _day(line.measure.date),
    "threat_assessed_on": lambda _, assessed_on: None if assessed_on is None else _day(assessed_on),
    "unit_price_eur": lambda line, _: _cents(line.measure.unit_price_eur),
    "claimed_eur": lambda line, _: _cents(line.claimed_eur),
    "already_reimbursed_eur": lambda line, _: _cents(line.measure.already_reimbursed_eur),
}


# --- claim facts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimTotals:
    """The line results the claim-level rules weigh."""

    e: Decimal
    p: Decimal


def claim_values(calc: Calculation, totals: ClaimTotals) -> dict[str, Any]:
    """The claim fields as exact Python values; None where unknown."""
    claim = calc.claim
    t, mun, home, trig = claim.threat, claim.municipality, claim.home, claim.triggers
    has_trigger = trig is not None and (trig.political_discussion or trig.deters_reporting)
    return {
        "applicant_type": claim.applicant.type,
        "role": claim.office_holder.role,
        "threat_status": None if t is None else t.status,
        "threat_assessed_by": None if t is None else t.assessed_by,
        "advice_by": None if claim.advice is None else claim.advice.by,
        "municipality_known": mun is not None,
        "inhabitants": None if mun is None else mun.inhabitants,
        "security_budget_eur": (
            Decimal("0.00")
            if mun is None or mun.security_budget_eur is None
            else mun.security_budget_eur
        ),
        "has_trigger": has_trigger,
        "motivation_given": trig is not None and bool(trig.motivation.strip()),
        "pkvw_certified": None if home is None else home.pkvw_certified,
        "package_2021_used_eur": (Decimal("0.00") if home is None else home.package_2021_used_eur),
        "e_eur": totals.e,
        "p_eur": totals.p,
        "ep_eur": totals.e + totals.p,
    }


_CONVERT: dict[str, Callable[[Any], Any]] = {"money": _cents, "date": _day}


def to_fact(
    values: Mapping[str, Any], fields: Mapping[str, FieldSpec], only: frozenset[str] | None = None
) -> dict[str, Any]:
    """The engine fact from exact values: money in cents, dates as YYYYMMDD, unknowns left out.

    `only` keeps just the fields a ruleset tests: smaller facts are cheaper to encode, assert
    and decode, and a rule can only see what it names anyway.
    """
    fact: dict[str, Any] = {}
    for name in values if only is None else only:
        value = values[name]
        if value is None:
            continue
        convert = _CONVERT.get(fields[name].type)
        fact[name] = value if convert is None else convert(value)
    return fact


# --- display values for explanations ----------------------------------------------------------


class Display(Mapping[str, str]):
    """Named texts for explanation templates, formatted only when a template asks for them."""

    __slots__ = ("_cache", "_fallback", "_getters")

    def __init__(
        self, getters: Mapping[str, Callable[[], str]], fallback: Mapping[str, str] | None = None
    ) -> None:
        self._getters = getters
        self._fallback = fallback
        self._cache: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        try:
            return self._cache[key]
        except KeyError:
            pass
        getter = self._getters.get(key)
        if getter is None:
            if self._fallback is None:
                raise KeyError(key)
            text = self._fallback[key]
        else:
            text = getter()
        self._cache[key] = text
        return text

    def __iter__(self) -> Iterator[str]:
        return iter(self._getters)

    def __len__(self) -> int:
        return len(self._getters)


def eur_text(amount: Decimal) -> str:
    """`format_eur(amount)`, written out for an amount with exactly two decimals (the common
    case: the amounts of a claim and its lines); a third of the time on an uncached amount."""
    whole, _, cents = str(amount).partition(".")
    if len(cents) != 2 or not whole.isdigit():
        return format_eur(amount)
    if len(whole) > 3:
        if len(whole) > 6:
            whole = f"{int(whole):,}".replace(",", ".")
        else:
            whole = whole[:-3] + "." + whole[-3:]
    return "€ " + whole + "," + cents


def _date_nl(d: date | None) -> str:
    return "een onbekende datum" if d is None else d.strftime("%d-%m-%Y")


def _list_nl(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " en " + items[-1]


CLAIM_DISPLAY_NAMES = (
    "E", "P", "EP", "budget", "inwoners", "aanvrager", "rol", "dreiging_status",
    "dreiging_door", "aanleiding", "advies_door", "pakket_gebruikt", "pkvw_keurmerk",
)  # fmt: skip

_ROLE_NL = {
    "burgemeester": "burgemeester",
    "wethouder": "wethouder",
    "raadslid": "raadslid",
    "gedeputeerde": "gedeputeerde",
    "cdk": "commissaris van de Koning",
    "statenlid": "Statenlid",
    "waterschapsbestuurder": "bestuurder van een waterschap",
}
_ASSESSOR_NL = {
    "politie": "de politie",
    "om": "het Openbaar Ministerie",
    "nctv": "de NCTV",
    "adviseur_bb": "de adviseur bewaken en beveiligen",
    "gemeente": "de gemeente",
    "geen": "niemand",
    "ccv": "het CCV",
    "bva": "de beveiligingsautoriteit van BZK",
}
_STATUS_NL = {
    "expliciet": "expliciet",
    "impliciet": "impliciet (een dreigende situatie zonder concrete dreiging tegen de persoon)",
    "voorstelbaar": "alleen voorstelbaar",
    "geen": "er is geen dreiging",
    "onbekend": "onbekend",
}


def _category_name(line: CalculatedLine, labels: Mapping[str, str], _: date | None) -> str:
    item = line.item
    if item is None:
        return "Maatregel buiten de catalogus"
    label = labels.get(item.category, item.category)
    return label[:1].upper() + label[1:]


def _reference_price(line: CalculatedLine, _: Mapping[str, str], __: date | None) -> str:
    ref = line.reference_unit_price_eur
    return "geen" if ref is None else eur_text(ref)


def _reference_amount(line: CalculatedLine, _: Mapping[str, str], __: date | None) -> str:
    return "geen" if line.reference_eur is None else eur_text(line.reference_eur)


def _pkvw_amount(line: CalculatedLine, _: Mapping[str, str], __: date | None) -> str:
    amount = line.pkvw_equivalent_eur
    return "€ 0,00" if amount is None else eur_text(amount)


LineText = Callable[[CalculatedLine, Mapping[str, str], "date | None"], str]

# The texts about one line for explanation templates: (line, category labels of the catalogue,
# date of the threat assessment) -> text.
LINE_TEXTS: dict[str, LineText] = {
    "code": lambda line, _, __: line.measure.code or "(geen code)",
    "omschrijving": lambda line, _, __: line.measure.description,
    "categorie_naam": _category_name,
    "aantal": lambda line, _, __: format_number(line.measure.quantity, 2).removesuffix(",00"),
    "prijs": lambda line, _, __: eur_text(line.measure.unit_price_eur),
    "gevraagd": lambda line, _, __: eur_text(line.claimed_eur),
    "referentieprijs": _reference_price,
    "referentiebedrag": _reference_amount,
    "schatting": lambda line, _, __: " (een schatting)" if line.reference_is_estimate else "",
    "pkvw_code": lambda line, _, __: (
        "geen" if line.pkvw_equivalent is None else line.pkvw_equivalent.code
    ),
    "pkvw_bedrag": _pkvw_amount,
    "al_vergoed": lambda line, _, __: eur_text(line.measure.already_reimbursed_eur),
    "datum": lambda line, _, __: _date_nl(line.measure.date),
    "dreiging_datum": lambda line, _, assessed_on: _date_nl(assessed_on),
}

LINE_DISPLAY_NAMES = tuple(LINE_TEXTS)

# The texts that depend only on the catalogue item of a line (see `ITEM_FIELDS`).
ITEM_TEXTS = frozenset({"categorie_naam", "referentieprijs", "schatting", "pkvw_code"})


def claim_display(
    values: Mapping[str, Any], calc: Calculation, fallback: Mapping[str, str] | None = None
) -> Display:
    """Texts about the claim: E, P, the municipality, the threat, in Dutch."""
    claim = calc.claim
    trig = claim.triggers

    def trigger() -> str:
        reasons = []
        if trig is not None and trig.political_discussion:
            reasons.append("tot politieke discussie leiden")
        if trig is not None and trig.deters_reporting:
            reasons.append("een reden zijn om een dreiging niet te melden")
        return " of ".join(reasons) if reasons else "geen aanleiding"

    def inhabitants() -> str:
        n = values["inhabitants"]
        return "onbekend" if n is None else format_number(n)

    def pkvw() -> str:
        v = values["pkvw_certified"]
        return "onbekend" if v is None else ("ja" if v else "nee")

    getters: dict[str, Callable[[], str]] = {
        "E": lambda: eur_text(values["e_eur"]),
        "P": lambda: eur_text(values["p_eur"]),
        "EP": lambda: eur_text(values["ep_eur"]),
        "budget": lambda: eur_text(values["security_budget_eur"]),
        "inwoners": inhabitants,
        "aanvrager": lambda: claim.applicant.type,
        "rol": lambda: _ROLE_NL[claim.office_holder.role],
        "dreiging_status": lambda: (
            "niet opgegeven" if claim.threat is None else _STATUS_NL[claim.threat.status]
        ),
        "dreiging_door": lambda: (
            "niemand" if claim.threat is None else _ASSESSOR_NL[claim.threat.assessed_by]
        ),
        "aanleiding": trigger,
        "advies_door": lambda: (
            "niemand (geen advies opgegeven)"
            if claim.advice is None
            else _ASSESSOR_NL[claim.advice.by]
        ),
        "pakket_gebruikt": lambda: eur_text(values["package_2021_used_eur"]),
        "pkvw_keurmerk": pkvw,
    }
    return Display(getters, fallback)


def list_nl(items: list[str]) -> str:
    """'a, b en c'."""
    return _list_nl(items)
