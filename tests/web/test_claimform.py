"""The claim form's conversion: choice lists round-trip, blank lines are skipped, numbers in
Dutch notation are read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from vangnet.catalogue import load_catalogues
from vangnet.excel import load_forms
from vangnet.web.claimform import claim_sections, read_form


def test_every_choice_round_trips_and_its_form_values_are_unique() -> None:
    layout = load_forms().current
    catalogues = load_catalogues()
    for section in claim_sections(layout):
        for f in section.fields:
            values = [o.value for o in f.options]
            assert len(values) == len(set(values)), f.name
            for o in f.options:
                filled = read_form({f.name: o.value}, layout, catalogues, 1)
                assert f.name not in filled.errors, (f.name, o.value)
                head, _, tail = f.path.partition(".")
                got = filled.data[head][tail] if tail else filled.data[head]
                assert got == o.claim_value, (f.name, o.value)


def test_dutch_numbers_and_dates_are_read_and_blank_lines_skipped() -> None:
    form = {
        "reference_date": "1-3-2016",
        "municipality.total_expenditure_eur": "144000000,50",
        "measures[1].description": "Camera",
        "measures[1].quantity": "2,5",
        "measures[1].unit_price_eur": "€ 100,10",
        "measures[1].code": "niet-in-catalogus",
    }
    filled = read_form(form, load_forms().current, load_catalogues(), 3)
    assert filled.errors == {}
    assert filled.data["reference_date"] == date(2016, 3, 1)
    assert filled.data["municipality"]["total_expenditure_eur"] == Decimal("144000000.50")
    assert filled.data["measures"] == [
        {"description": "Camera", "quantity": Decimal("2.5"), "unit_price_eur": Decimal("100.10")}
    ]
    assert filled.line_of == [1]
