"""The neutral cost calculator: every claimed line against the catalogue's reference prices.

It computes numbers and decides nothing: which lines are eligible is for the rulesets. The
result is the same for every scheme, deterministic, and independent of the order of the lines
apart from their index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from vangnet.catalogue import Catalogue, CatalogueItem, CatalogueSet
from vangnet.claim import Claim, Measure
from vangnet.exceptions import NoRulesetError
from vangnet.messages import message
from vangnet.money import CENT, ZERO, round_cents
from vangnet.validity import describe_periods

__all__ = ["CalculatedLine", "Calculation", "calculate", "catalogue_for"]

_PCT = Decimal("0.01")
_SHARE = Decimal("0.0001")


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a setattr per field per line
class CalculatedLine:
    """One measure line, itemised against the catalogue (treat as read-only)."""

    index: int
    measure: Measure
    item: CatalogueItem | None
    claimed_eur: Decimal
    reference_unit_price_eur: Decimal | None
    reference_eur: Decimal | None
    pkvw_equivalent: CatalogueItem | None
    # unrounded: the rules subtract it before the line's single rounding
    pkvw_equivalent_exact: Decimal | None

    @property
    def specified(self) -> bool:
        return self.item is not None

    # The next two are computed when read: deciding a claim needs neither.

    @property
    def deviation_pct(self) -> Decimal | None:
        """How far the unit price lies above (or below) the reference, in percent."""
        ref_unit = self.reference_unit_price_eur
        if ref_unit is None or not ref_unit > 0:
            return None
        exact = (self.measure.unit_price_eur - ref_unit) * 100 / ref_unit
        deviation = exact.quantize(_PCT, rounding=ROUND_HALF_UP)
        if deviation == 0 and exact != 0:
            # a price that differs from the reference never shows as a 0.00 % deviation
            deviation = exact.quantize(_PCT, rounding=ROUND_UP)
        return deviation

    @property
    def pkvw_equivalent_eur(self) -> Decimal | None:
        """The PKVW-level equivalent's reference amount, rounded to cents."""
        exact = self.pkvw_equivalent_exact
        return None if exact is None else round_cents(exact)

    @property
    def reference_is_estimate(self) -> bool | None:
        if self.item is None or self.reference_unit_price_eur is None:
            return None
        return self.item.is_estimate

    def as_dict(self) -> dict[str, Any]:
        m, item = self.measure, self.item
        return {
            "index": self.index,
            "code": m.code,
            "description": m.description,
            "catalogue_item": None if item is None else item.code,
            "catalogue_name": None if item is None else item.name_nl,
            "category": None if item is None else item.category,
            "unit": None if item is None else item.unit,
            "quantity": m.quantity,
            "unit_price_eur": m.unit_price_eur,
            "claimed_eur": self.claimed_eur,
            "reference_unit_price_eur": self.reference_unit_price_eur,
            "reference_eur": self.reference_eur,
            "deviation_pct": self.deviation_pct,
            "reference_is_estimate": self.reference_is_estimate,
            "price_date": None if item is None else item.price_date,
            "pkvw_equivalent": None if self.pkvw_equivalent is None else self.pkvw_equivalent.code,
            "pkvw_equivalent_eur": self.pkvw_equivalent_eur,
            "package_2021": None if item is None else item.package_2021,
        }


@dataclass(frozen=True, slots=True)
class Calculation:
    """The itemised claim with its totals."""

    claim: Claim
    catalogue: Catalogue
    lines: tuple[CalculatedLine, ...]
    claimed_total_eur: Decimal
    reference_total_eur: Decimal
    claimed_with_reference_eur: Decimal
    claimed_per_inhabitant_eur: Decimal | None
    share_of_expenditure_pct: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim.claim_id,
            "reference_date": self.claim.reference_date,
            "catalogue": {
                "valid_from": self.catalogue.valid_from,
                "sha256": self.catalogue.sha256,
            },
            "lines": [line.as_dict() for line in self.lines],
            "totals": {
                "claimed_eur": self.claimed_total_eur,
                "reference_eur": self.reference_total_eur,
                "claimed_with_reference_eur": self.claimed_with_reference_eur,
                "claimed_per_inhabitant_eur": self.claimed_per_inhabitant_eur,
                "share_of_expenditure_pct": self.share_of_expenditure_pct,
            },
        }


def catalogue_for(catalogues: CatalogueSet, day: date) -> Catalogue:
    """The catalogue version in force on `day`, or the `geen_regelset` refusal."""
    catalogue = catalogues.in_force(day)
    if catalogue is None:
        text = message(
            "no_ruleset",
            scheme="maatregelencatalogus",
            date=day.isoformat(),
            periods=describe_periods(catalogues.versions),
        )
        raise NoRulesetError(text, value=day.isoformat())
    return catalogue


def _line(index: int, m: Measure, items: Mapping[str, CatalogueItem]) -> CalculatedLine:
    # half-up to cents as `round_cents`, written out: this runs for every line of every claim
    quantity = m.quantity
    claimed = (quantity * m.unit_price_eur).quantize(CENT, ROUND_HALF_UP)
    item = items.get(m.code) if m.code else None
    if item is None:
        return CalculatedLine(index, m, None, claimed, None, None, None, None)
    ref_unit = item.reference_unit_price_eur
    reference = None if ref_unit is None else (quantity * ref_unit).quantize(CENT, ROUND_HALF_UP)
    eq = None if item.pkvw_equivalent is None else items.get(item.pkvw_equivalent)
    eq_exact = None
    if eq is not None and eq.reference_unit_price_eur is not None:
        eq_exact = quantity * eq.reference_unit_price_eur
    return CalculatedLine(index, m, item, claimed, ref_unit, reference, eq, eq_exact)


def calculate(claim: Claim, catalogues: CatalogueSet | Catalogue) -> Calculation:
    """Itemise `claim` against the catalogue in force on its reference date."""
    catalogue = (
        catalogues
        if isinstance(catalogues, Catalogue)
        else catalogue_for(catalogues, claim.reference_date)
    )
    items = catalogue.items
    lines = tuple([_line(i, m, items) for i, m in enumerate(claim.measures)])
    claimed = reference = with_reference = ZERO
    for line in lines:
        claimed += line.claimed_eur
        if line.reference_eur is not None:
            reference += line.reference_eur
            with_reference += line.claimed_eur
    per_inhabitant = share = None
    municipality = claim.municipality
    if municipality is not None:
        per_inhabitant = round_cents(claimed / municipality.inhabitants)
        if municipality.total_expenditure_eur:
            share = (claimed * 100 / municipality.total_expenditure_eur).quantize(
                _SHARE, rounding=ROUND_HALF_UP
            )
    return Calculation(
        claim=claim,
        catalogue=catalogue,
        lines=lines,
        claimed_total_eur=round_cents(claimed),
        reference_total_eur=round_cents(reference),
        claimed_with_reference_eur=round_cents(with_reference),
        claimed_per_inhabitant_eur=per_inhabitant,
        share_of_expenditure_pct=share,
    )
