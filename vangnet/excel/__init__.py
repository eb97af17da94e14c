"""Excel for finance officers: the intake form, reading it back, and the export of a decision.

    build_intake("aanvraag.xlsx", on=date(2016, 3, 1))     # an empty form (current version)
    data = read_intake("aanvraag.xlsx")                     # the claim, interchange format v1
    export_calculation(evaluation, "berekening.xlsx")       # a decision's lines and totals

`read_intake` raises `FormError` (a `ClaimError`) listing every problem at once by sheet and
cell. The form's words and layout are data: `forms/intake/` (see its README); the export's
words: `forms/export/calculation.yaml`.
"""

from __future__ import annotations

from vangnet.excel.build import IntakeForm, build_intake, fill_intake
from vangnet.excel.export import export_calculation
from vangnet.excel.layout import FormLayout, FormSet, load_forms
from vangnet.excel.read import claim_data, read_intake
from vangnet.exceptions import FormError, FormProblem

__all__ = [
    "XLSX_MEDIA_TYPE",
    "FormError",
    "FormLayout",
    "FormProblem",
    "FormSet",
    "IntakeForm",
    "build_intake",
    "claim_data",
    "export_calculation",
    "fill_intake",
    "load_forms",
    "read_intake",
]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
