"""The export of a decision's calculation to Excel, for finance officers.

One sheet with the decision's summary (outcome, totals, the ruleset version and catalogue used,
the fingerprints) and every line with its claimed, reference and eligible amounts, status,
rules and reason; a second sheet with the claim-level findings. Amounts are numbers (not text),
so the officer can add them up. Every text goes through `put_text`: text from the claim that
starts with `=`, `+`, `-` or `@` stays text, never a formula. The words are data:
`forms/export/calculation.yaml`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.evaluate import Evaluation
from vangnet.excel.cells import put_text, put_value
from vangnet.exceptions import DataError
from vangnet.paths import FORMS_DIR

__all__ = ["ExportTexts", "export_calculation", "load_export_texts"]

TEXTS_FILE = "export/calculation.yaml"
_MONEY = "#,##0.00"
Text = Annotated[str, Field(min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Sheets(_Spec):
    calculation: Annotated[str, Field(min_length=1, max_length=31)]
    findings: Annotated[str, Field(min_length=1, max_length=31)]


class _Summary(_Spec):
    claim_id: Text
    scheme: Text
    ruleset_version: Text
    ruleset_status: Text
    ruleset_valid_from: Text
    reference_date: Text
    catalogue: Text
    outcome: Text
    claimed_total: Text
    reference_total: Text
    eligible_total: Text
    claim_sha256: Text
    ruleset_sha256: Text
    evaluated_at: Text


class _Lines(_Spec):
    number: Text
    code: Text
    description: Text
    quantity: Text
    unit: Text
    unit_price: Text
    claimed: Text
    reference: Text
    eligible: Text
    status: Text
    rules: Text
    explanation: Text
    total: Text


class _Findings(_Spec):
    rule: Text
    effect: Text
    explanation: Text
    source: Text


class ExportTexts(_Spec):
    """The words of the export."""

    sheets: _Sheets
    title: Text
    simulation: Text
    summary: _Summary
    outcomes: dict[str, Text]
    statuses: dict[str, Text]
    lines: _Lines
    findings: _Findings


@lru_cache(maxsize=2)
def load_export_texts(path: Path | None = None) -> ExportTexts:
    """The export's words from `forms/export/calculation.yaml` (or `path`)."""
    path = path or FORMS_DIR / TEXTS_FILE
    try:
        return ExportTexts.model_validate(yamlfile.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DataError(f"{path.name}: de teksten van de export zijn ongeldig: {exc}") from None


def _row(ws: Worksheet, row: int, values: list[Any], money: set[int] | None = None) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col)
        put_value(cell, value)
        if money and col in money:
            cell.number_format = _MONEY


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    fill = PatternFill("solid", fgColor="D9E1F2")
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=col)
        put_text(cell, label)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _calculation_sheet(ws: Worksheet, ev: Evaluation, t: ExportTexts) -> None:
    d, calc = ev.decision, ev.calculation
    s = t.summary
    put_text(ws["A1"], t.title.format(claim_id=d.claim_id))
    ws["A1"].font = Font(bold=True, size=14)
    row = 2
    if d.simulation:
        put_text(ws["A2"], t.simulation)
        ws["A2"].font = Font(bold=True, color="C00000", size=14)
        row = 3
    summary: list[tuple[str, Any, bool]] = [
        (s.claim_id, d.claim_id, False),
        (s.scheme, d.ruleset.id, False),
        (s.ruleset_version, d.ruleset.version, False),
        (s.ruleset_status, t.statuses.get(d.ruleset.status, d.ruleset.status), False),
        (s.ruleset_valid_from, d.ruleset.valid_from.isoformat(), False),
        (s.reference_date, calc.claim.reference_date.isoformat(), False),
        (s.catalogue, d.catalogue.valid_from.isoformat(), False),
        (s.outcome, t.outcomes.get(d.outcome, d.outcome), False),
        (s.claimed_total, d.claimed_total_eur, True),
        (s.reference_total, calc.reference_total_eur, True),
        (s.eligible_total, d.eligible_total_eur, True),
        (s.claim_sha256, d.receipt.claim_sha256, False),
        (s.ruleset_sha256, d.receipt.ruleset_sha256, False),
        (s.evaluated_at, d.receipt.evaluated_at, False),
    ]
    for label, value, is_money in summary:
        row += 1
        put_text(ws.cell(row=row, column=1), label)
        ws.cell(row=row, column=1).font = Font(bold=True)
        # the summary's values sit in column C, above the descriptions: column B is narrow
        cell = ws.cell(row=row, column=3)
        put_value(cell, value)
        if is_money:
            cell.number_format = _MONEY
            cell.alignment = Alignment(horizontal="left")
    row += 2
    lt = t.lines
    _header(
        ws,
        row,
        [
            lt.number,
            lt.code,
            lt.description,
            lt.quantity,
            lt.unit,
            lt.unit_price,
            lt.claimed,
            lt.reference,
            lt.eligible,
            lt.status,
            lt.rules,
            lt.explanation,
        ],
    )
    header = row
    money = {6, 7, 8, 9}
    for line, calc_line in zip(d.lines, calc.lines, strict=True):
        row += 1
        m = calc_line.measure
        _row(
            ws,
            row,
            [
                line.index + 1,
                line.code,
                line.description,
                m.quantity,
                None if calc_line.item is None else calc_line.item.unit,
                m.unit_price_eur,
                line.claimed_eur,
                line.reference_eur,
                line.eligible_eur,
                line.status,
                ", ".join(line.rules),
                line.explanation,
            ],
            money,
        )
        ws.cell(row=row, column=12).alignment = Alignment(wrap_text=True, vertical="top")
    row += 1
    _row(
        ws,
        row,
        [
            lt.total,
            None,
            None,
            None,
            None,
            None,
            d.claimed_total_eur,
            calc.reference_total_eur,
            d.eligible_total_eur,
        ],
        money,
    )
    for col in range(1, 10):
        ws.cell(row=row, column=col).font = Font(bold=True)
    widths = [8, 26, 40, 10, 10, 16, 16, 16, 16, 14, 28, 80]
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"A{header + 1}"
    ws.auto_filter.ref = f"A{header}:L{row - 1}"


def _findings_sheet(ws: Worksheet, ev: Evaluation, t: ExportTexts) -> None:
    f = t.findings
    _header(ws, 1, [f.rule, f.effect, f.explanation, f.source])
    for row, finding in enumerate(ev.decision.findings, start=2):
        _row(ws, row, [finding.rule, finding.effect, finding.explanation, finding.source])
        for col in (3, 4):
            ws.cell(row=row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCD", (18, 16, 80, 60), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def export_calculation(
    evaluation: Evaluation, target: Path | str | BinaryIO, *, texts: ExportTexts | None = None
) -> None:
    """Write the decision of `evaluation` with its calculation as an .xlsx workbook to
    `target` (a path or a binary stream)."""
    t = texts or load_export_texts()
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = t.sheets.calculation
    _calculation_sheet(ws, evaluation, t)
    _findings_sheet(wb.create_sheet(t.sheets.findings), evaluation, t)
    wb.properties.title = t.title.format(claim_id=evaluation.decision.claim_id)
    wb.properties.creator = "vangnet"
    wb.save(target)
