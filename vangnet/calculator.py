"""The neutral cost calculator: every claimed line against the catalogue's reference prices.

It computes numbers and decides nothing: which lines are eligible is for the rulesets. The
result is the same for every scheme, deterministic, and independent of the order of the lines
apart from their index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from vangnet.catalogue import Catalogue, CatalogueItem, CatalogueSet
from vangnet.claim import Claim, Measure
from vangnet.exceptions import NoRulesetError
from vangnet.messages import message
from vangnet.money import ZERO, round_cents
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
    deviation_pct: Decimal | None
    pkvw_equivalent: CatalogueItem | None
    # unrounded: the rules subtract it before the line's single rounding
    pkvw_equivalent_exact: Decimal | None
    pkvw_equivalent_eur: Decimal | None

    @property
    def specified(self) -> bool:
        return self.item is not None

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


def _line(index: int, m: Measure, catalogue: Catalogue) -> CalculatedLine:
    claimed = round_cents(m.quantity * m.unit_price_eur)
    item = catalogue.get(m.catalogue_code)
    ref_unit = None if item is None else item.reference_unit_price_eur
    reference = deviation = None
    if ref_unit is not None:
        reference = round_cents(m.quantity * ref_unit)
        if ref_unit > 0:
            exact = (m.unit_price_eur - ref_unit) * 100 / ref_unit
            deviation = exact.quantize(_PCT, rounding=ROUND_HALF_UP)
            if deviation == 0 and exact != 0:
                # a price that differs from the reference never shows as a 0.00 % deviation
                deviation = exact.quantize(_PCT, rounding=ROUND_UP)
    eq = None if item is None else catalogue.get(item.pkvw_equivalent)
    eq_exact = eq_eur = None
    if eq is not None and eq.reference_unit_price_eur is not None:
        eq_exact = m.quantity * eq.reference_unit_price_eur
        eq_eur = round_cents(eq_exact)
    return CalculatedLine(
        index=index,
        measure=m,
        item=item,
        claimed_eur=claimed,
        reference_unit_price_eur=ref_unit,
        reference_eur=reference,
        deviation_pct=deviation,
        pkvw_equivalent=eq,
        pkvw_equivalent_exact=eq_exact,
        pkvw_equivalent_eur=eq_eur,
    )


def calculate(claim: Claim, catalogues: CatalogueSet | Catalogue) -> Calculation:
    """Itemise `claim` against the catalogue in force on its reference date."""
    catalogue = (
        catalogues
        if isinstance(catalogues, Catalogue)
        else catalogue_for(catalogues, claim.reference_date)
    )
    lines = tuple(_line(i, m, catalogue) for i, m in enumerate(claim.measures))
    claimed = sum((line.claimed_eur for line in lines), ZERO)
    referenced = [line for line in lines if line.reference_eur is not None]
    reference = sum((line.reference_eur for line in referenced if line.reference_eur), ZERO)
    with_reference = sum((line.claimed_eur for line in referenced), ZERO)
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
