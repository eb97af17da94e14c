"""Building the intake workbook from a form layout and the catalogue in force.

The workbook has four sheets: the instructions, the claim, the measure lines and a hidden sheet
with the drop-down lists. Input cells are yellow and unlocked, with a drop-down or data
validation and the help text as their input message; formulas are grey and locked; every sheet
and the workbook's structure are protected (without a password: the protection prevents
accidents, the reader checks everything again). Every input, version cell and total has a
defined name: the reader finds them by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import (
    absolute_coordinate,
    column_index_from_string,
    get_column_letter,
    quote_sheetname,
)
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from vangnet.calculator import catalogue_for
from vangnet.catalogue import Catalogue, CatalogueSet, load_catalogues
from vangnet.claim import MAX_MONEY, MAX_QUANTITY, Claim
from vangnet.excel.cells import put_text, put_value
from vangnet.excel.layout import (
    Choice,
    FormLayout,
    FormSet,
    Kind,
    load_forms,
    measure_choices,
)

__all__ = ["IntakeForm", "build_intake", "fill_intake", "intake_workbook"]

Target = Path | str | BinaryIO

_NUMBER_FORMATS: dict[Kind, str] = {
    "text": "@",
    "choice": "@",
    "measure": "@",
    "date": "dd-mm-yyyy",
    "money": "#,##0.00",
    "integer": "#,##0",
    "quantity": "General",
}
# Excel's first and last date (1900-01-01 and 9999-12-31 as serial numbers)
_FIRST_DATE, _LAST_DATE = "1", "2958465"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# column widths (characters) of the instructions and of the claim sheet's labels and help
_INSTRUCTIONS_WIDTH = 90
_LABEL_WIDTH = 46
_HELP_WIDTH = 100


@dataclass(frozen=True, slots=True)
class IntakeForm:
    """What was built: the form version, the catalogue version offered, the number of lines."""

    version: str
    catalogue_valid_from: date
    lines: int


class _Styles:
    """The few styles of the form, made once."""

    def __init__(self, layout: FormLayout) -> None:
        c = layout.colours
        thin = Side(style="thin", color="A6A6A6")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.input_fill = PatternFill("solid", fgColor=c.input)
        self.formula_fill = PatternFill("solid", fgColor=c.formula)
        self.header_fill = PatternFill("solid", fgColor=c.header)
        self.section_fill = PatternFill("solid", fgColor=c.section)
        self.unlocked = Protection(locked=False)
        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=14)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.top = Alignment(vertical="top")

    def input(self, cell: Cell, kind: Kind) -> None:
        cell.fill = self.input_fill
        cell.border = self.border
        cell.protection = self.unlocked
        cell.number_format = _NUMBER_FORMATS[kind]
        cell.alignment = self.top

    def formula(self, cell: Cell, number_format: str | None = None) -> None:
        cell.fill = self.formula_fill
        cell.border = self.border
        if number_format:
            cell.number_format = number_format


def _height(text: str, width: float) -> float:
    """A row height (points) that shows `text` wrapped in a column `width` characters wide:
    spreadsheet programs do not all fit wrapped rows themselves."""
    per_line = max(int(width * 0.95), 1)
    lines = sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))
    return 15.0 * lines + 2


def _fit_width(ws: Worksheet, landscape: bool) -> None:
    """Print on pages as wide as the sheet, as many pages down as needed."""
    if landscape:
        ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # type: ignore[union-attr]
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def _protect(ws: Worksheet) -> None:
    ws.protection.sheet = True
    # people may still widen columns and rows to read long texts
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


class _Builder:
    def __init__(self, layout: FormLayout, catalogue: Catalogue) -> None:
        self.layout = layout
        self.catalogue = catalogue
        self.styles = _Styles(layout)
        self.wb = Workbook()
        # name -> (sheet title, coordinate or range, without $)
        self.places: dict[str, tuple[str, str]] = {}

    # --- names and formulas -------------------------------------------------------------------

    def name(self, name: str, sheet: str, ref: str) -> None:
        self.places[name] = (sheet, ref)
        text = f"{quote_sheetname(sheet)}!{absolute_coordinate(ref)}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=text)

    def formula(self, template: str, sheet: str, row: int | None = None) -> str:
        """`template` with each {name} replaced by its cell or range; in a measure line (`row`),
        a measure column's name stands for that line's cell."""
        columns = {c.name: c.column for c in self.layout.measures_sheet.columns}
        columns |= {c.name: c.column for c in self.layout.measures_sheet.formulas}

        def ref(match: re.Match[str]) -> str:
            name = match.group(1)
            if row is not None and name in columns:
                return f"{columns[name]}{row}"
            where, coordinate = self.places[name]
            absolute = absolute_coordinate(coordinate)
            return absolute if where == sheet else f"{quote_sheetname(where)}!{absolute}"

        return "=" + _PLACEHOLDER.sub(ref, template)

    # --- validation ---------------------------------------------------------------------------

    def validation(
        self,
        ws: Worksheet,
        ref: str,
        kind: Kind,
        label: str,
        help_text: str,
        *,
        choices: str | None = None,
        max_length: int | None = None,
        positive: bool = False,
    ) -> None:
        v = self.layout.validation
        top = ref.split(":", 1)[0]
        money_floor = f"{top}>0" if positive else f"{top}>=0"
        dv: DataValidation
        if kind == "choice":
            name = self.layout.lists_sheet.choice_name_prefix + str(choices)
            dv = DataValidation(type="list", formula1=name, error=v.choice)
        elif kind == "measure":
            dv = DataValidation(
                type="list", formula1=self.layout.lists_sheet.measures_name, error=v.measure
            )
        elif kind == "text":
            limit = max_length or 32767
            dv = DataValidation(
                type="textLength",
                operator="lessThanOrEqual",
                formula1=str(limit),
                error=v.text.format(max_length=limit),
            )
        elif kind == "date":
            dv = DataValidation(
                type="date",
                operator="between",
                formula1=_FIRST_DATE,
                formula2=_LAST_DATE,
                error=v.date,
            )
        elif kind == "integer":
            dv = DataValidation(type="whole", operator="greaterThan", formula1="0", error=v.integer)
        elif kind == "money":
            dv = DataValidation(
                type="custom",
                formula1=f"AND(ISNUMBER({top}),{money_floor},{top}<={MAX_MONEY},"
                f"ROUND({top},2)={top})",
                error=v.money_positive if positive else v.money,
            )
        else:  # quantity
            dv = DataValidation(
                type="custom",
                formula1=f"AND(ISNUMBER({top}),{top}>0,{top}<={MAX_QUANTITY},ROUND({top},2)={top})",
                error=v.quantity,
            )
        dv.allow_blank = True
        dv.showErrorMessage = True
        dv.errorStyle = "stop"
        dv.errorTitle = v.title
        dv.showInputMessage = True
        # Excel allows a title of at most 32 characters
        dv.promptTitle = label if len(label) <= 32 else None
        dv.prompt = help_text
        dv.add(ref)
        ws.add_data_validation(dv)

    # --- sheets -------------------------------------------------------------------------------

    def build(self) -> Workbook:
        layout = self.layout
        s = layout.sheets
        first = self.wb.worksheets[0]
        first.title = s.instructions
        claim = self.wb.create_sheet(s.claim)
        measures = self.wb.create_sheet(s.measures)
        lists = self.wb.create_sheet(s.lists)
        self.lists(lists)
        # the totals first: the claim sheet's summary refers to them
        self.measures(measures)
        self.claim(claim)
        self.instructions(first)
        lists.sheet_state = "hidden"
        for ws in (first, claim, measures, lists):
            _protect(ws)
        self.wb.security = WorkbookProtection(lockStructure=True)
        self.wb.active = 0
        props = self.wb.properties
        props.title = f"{layout.title} (formulierversie {layout.version})"
        props.creator = "vangnet"
        props.keywords = f"vangnet-aanvraagformulier {layout.version}"
        return self.wb

    def instructions(self, ws: Worksheet) -> None:
        text = self.layout.instructions
        ws.column_dimensions["A"].width = _INSTRUCTIONS_WIDTH
        put_text(ws["A1"], text.title)
        ws["A1"].font = self.styles.title
        put_text(
            ws["A2"],
            text.version_line.format(
                version=self.layout.version, catalogue=self.catalogue.valid_from.isoformat()
            ),
        )
        for i, paragraph in enumerate(text.paragraphs, start=4):
            cell = ws.cell(row=i, column=1)
            put_text(cell, paragraph)
            cell.alignment = self.styles.wrap
            ws.row_dimensions[i].height = _height(paragraph, _INSTRUCTIONS_WIDTH)
        _fit_width(ws, landscape=False)

    def lists(self, ws: Worksheet) -> None:
        layout = self.layout
        sheet = layout.sheets.lists
        for col, header in enumerate(layout.lists_sheet.headers, start=1):
            put_text(ws.cell(row=1, column=col), header)
        entries = measure_choices(layout, self.catalogue)
        for row, (label, code) in enumerate(entries, start=2):
            put_text(ws.cell(row=row, column=1), label)
            item = self.catalogue.get(code)
            if item is not None:
                put_text(ws.cell(row=row, column=2), item.code)
                put_text(ws.cell(row=row, column=3), item.unit)
                put_value(ws.cell(row=row, column=4), item.reference_unit_price_eur)
        last = len(entries) + 1
        self.name(layout.lists_sheet.measures_name, sheet, f"A2:A{last}")
        self.name(layout.lists_sheet.catalogue_name, sheet, f"A2:D{last - 1}")
        for n, (key, choices) in enumerate(layout.choices.items()):
            col = 6 + n
            letter = get_column_letter(col)
            put_text(ws.cell(row=1, column=col), key)
            for row, choice in enumerate(choices, start=2):
                put_text(ws.cell(row=row, column=col), choice.label)
            ref = f"{letter}2:{letter}{len(choices) + 1}"
            self.name(layout.lists_sheet.choice_name_prefix + key, sheet, ref)

    def measures(self, ws: Worksheet) -> None:
        layout = self.layout
        m = layout.measures_sheet
        st = self.styles
        sheet = layout.sheets.measures
        put_text(ws["A1"], m.title)
        ws["A1"].font = st.title
        put_text(ws["A2"], m.intro)
        ws["A2"].alignment = st.wrap
        columns = [m.number_column.column, *(c.column for c in m.columns)]
        columns += [c.column for c in m.formulas]
        last_column = max(columns, key=column_index_from_string)
        ws.merge_cells(f"A2:{last_column}2")
        ws.row_dimensions[2].height = 32
        first, last = m.first_row, m.last_row
        header = m.header_row
        ws.row_dimensions[header].height = 45
        number = ws[f"{m.number_column.column}{header}"]
        put_text(number, m.number_column.label)
        ws.column_dimensions[m.number_column.column].width = 6
        for row in range(first, last + 1):
            ws[f"{m.number_column.column}{row}"] = row - first + 1
        for c in m.columns:
            ws.column_dimensions[c.column].width = c.width
            cell = ws[f"{c.column}{header}"]
            put_text(cell, c.label)
            for row in range(first, last + 1):
                st.input(ws[f"{c.column}{row}"], c.kind)
            ref = f"{c.column}{first}:{c.column}{last}"
            self.name(c.name, sheet, ref)
            self.validation(
                ws,
                ref,
                c.kind,
                c.label,
                c.help,
                choices=c.choices,
                max_length=c.max_length,
                positive=c.positive,
            )
        for f in m.formulas:
            self.name(f.name, sheet, f"{f.column}{first}:{f.column}{last}")
        for f in m.formulas:
            ws.column_dimensions[f.column].width = f.width
            put_text(ws[f"{f.column}{header}"], f.label)
            for row in range(first, last + 1):
                cell = ws[f"{f.column}{row}"]
                cell.value = self.formula(f.formula, sheet, row)
                st.formula(cell, f.number_format)
        for col in columns:
            cell = ws[f"{col}{header}"]
            cell.font = st.bold
            cell.fill = st.header_fill
            cell.alignment = st.wrap
            cell.border = st.border
        for total in m.totals:
            self.name(total.name, sheet, total.cell)
        for total in m.totals:
            self.total(
                ws,
                sheet=sheet,
                coordinate=total.cell,
                label_cell=total.label_cell,
                label=total.label,
                formula=total.formula,
            )
        ws.freeze_panes = f"A{first}"
        _fit_width(ws, landscape=True)

    def total(
        self,
        ws: Worksheet,
        *,
        sheet: str,
        coordinate: str,
        label_cell: str | None,
        label: str,
        formula: str,
    ) -> None:
        if label_cell is not None:
            put_text(ws[label_cell], label)
            ws[label_cell].font = self.styles.bold
            ws[label_cell].alignment = Alignment(horizontal="right")
        cell = ws[coordinate]
        cell.value = self.formula(formula, sheet)
        self.styles.formula(cell, _NUMBER_FORMATS["money"])
        cell.font = self.styles.bold

    def claim(self, ws: Worksheet) -> None:
        layout = self.layout
        cs = layout.claim_sheet
        st = self.styles
        sheet = layout.sheets.claim
        ws.column_dimensions["A"].width = _LABEL_WIDTH
        ws.column_dimensions["B"].width = 46
        ws.column_dimensions["C"].width = _HELP_WIDTH
        _fit_width(ws, landscape=True)
        put_text(ws["A1"], cs.title)
        ws["A1"].font = st.title
        put_text(ws["A2"], cs.intro)
        versions = (
            (cs.version.form, layout.version),
            (cs.version.catalogue, self.catalogue.valid_from.isoformat()),
        )
        for named, value in versions:
            row = ws[named.cell].row
            put_text(ws.cell(row=row, column=1), named.label)
            cell = ws[named.cell]
            put_text(cell, value)
            cell.font = st.bold
            cell.number_format = "@"
            self.name(named.name, sheet, named.cell)
        for section in cs.sections:
            self.section(ws, section.row, section.title)
            for f in section.fields:
                cell = ws[f.cell]
                label = ws.cell(row=cell.row, column=1)
                put_text(label, f.label + (" *" if f.required else ""))
                label.alignment = st.wrap
                st.input(cell, f.kind)
                if f.path == "triggers.motivation":
                    cell.alignment = st.wrap
                help_cell = ws.cell(row=cell.row, column=cell.column + 1)
                put_text(help_cell, f.help)
                help_cell.alignment = st.wrap
                ws.row_dimensions[cell.row].height = max(
                    _height(f.help, _HELP_WIDTH), _height(f.label, _LABEL_WIDTH)
                )
                self.name(f.name, sheet, f.cell)
                self.validation(
                    ws,
                    f.cell,
                    f.kind,
                    f.label,
                    f.help,
                    choices=f.choices,
                    max_length=f.max_length,
                    positive=f.positive,
                )
        summary = cs.summary
        self.section(ws, summary.row, summary.title)
        for total in summary.cells:
            self.name(total.name, sheet, total.cell)
            row = ws[total.cell].row
            self.total(
                ws,
                sheet=sheet,
                coordinate=total.cell,
                label_cell=f"A{row}",
                label=total.label,
                formula=total.formula,
            )
            ws[f"A{row}"].alignment = Alignment(horizontal="left")

    def section(self, ws: Worksheet, row: int, title: str) -> None:
        for col in (1, 2, 3):
            ws.cell(row=row, column=col).fill = self.styles.section_fill
        cell = ws.cell(row=row, column=1)
        put_text(cell, title)
        cell.font = self.styles.bold


def intake_workbook(layout: FormLayout, catalogue: Catalogue) -> Workbook:
    """A new, empty intake workbook of `layout` offering the measures of `catalogue`."""
    return _Builder(layout, catalogue).build()


def build_intake(
    target: Target,
    *,
    on: date,
    catalogues: CatalogueSet | None = None,
    forms: FormSet | None = None,
) -> IntakeForm:
    """Write a new, empty intake workbook of the current form version to `target` (a path or
    a binary stream), offering the catalogue in force `on` that date.

    Raises `NoRulesetError` when no catalogue version is in force on `on`."""
    forms = forms or load_forms()
    catalogue = catalogue_for(catalogues or load_catalogues(), on)
    layout = forms.current
    intake_workbook(layout, catalogue).save(target)
    return IntakeForm(layout.version, catalogue.valid_from, layout.measures_sheet.lines)


# --- filling in ------------------------------------------------------------------------------


def _label(choices: Iterable[Choice], value: Any) -> str:
    for choice in choices:
        # `is` for booleans and None: True == 1 must not pick a label of 1
        if choice.value is value or (isinstance(value, str) and choice.value == value):
            return choice.label
    raise ValueError(f"no label for {value!r}")


def _claim_value(claim: Claim, path: str) -> tuple[bool, Any]:
    """Whether the claim holds a value at `path`, and the value. A null is held only where it
    means 'unknown' (`home.pkvw_certified`) in a part that is there."""
    head, _, tail = path.partition(".")
    part = getattr(claim, head)
    if not tail:
        return part is not None, part
    if part is None:
        return False, None
    value = getattr(part, tail)
    return value is not None or tail in part._none_is_default, value


def fill_intake(
    claim: Claim,
    target: Target,
    *,
    on: date | None = None,
    catalogues: CatalogueSet | None = None,
    forms: FormSet | None = None,
) -> IntakeForm:
    """Write an intake workbook filled in with `claim`, cell by cell through the defined names,
    as a person would: for a claim to correct in Excel, and for the round-trip tests.

    The form offers the catalogue in force `on` (default: the claim's reference date). A line
    whose code is not in that catalogue is written as 'niet in de catalogus': its code is lost.
    A claim of more lines than the form has raises `ValueError`."""
    forms = forms or load_forms()
    catalogue = catalogue_for(catalogues or load_catalogues(), on or claim.reference_date)
    layout = forms.current
    m = layout.measures_sheet
    if len(claim.measures) > m.lines:
        raise ValueError(f"the form has {m.lines} lines, the claim {len(claim.measures)}")
    wb = intake_workbook(layout, catalogue)
    places = {name: next(iter(d.destinations)) for name, d in wb.defined_names.items()}
    labels = {code: label for label, code in measure_choices(layout, catalogue)}

    def write(name: str, value: Any, kind: Kind, choices: str | None, row: int = 0) -> None:
        sheet, ref = places[name]
        ws = wb[sheet]
        first = ref.replace("$", "").split(":", 1)[0]
        cell = ws[first] if row == 0 else ws.cell(row=ws[first].row + row, column=ws[first].column)
        if kind == "choice":
            put_text(cell, _label(layout.choices[str(choices)], value))
        elif kind == "measure":
            put_text(cell, labels.get(value, m.not_in_catalogue))
        else:
            put_value(cell, value)

    for f in layout.fields:
        present, value = _claim_value(claim, f.path)
        if present:
            write(f.name, value, f.kind, f.choices)
    for i, measure in enumerate(claim.measures):
        for c in m.columns:
            value = getattr(measure, c.path)
            if value is None and c.kind != "measure":
                continue
            write(c.name, value, c.kind, c.choices, row=i)
    wb.save(target)
    return IntakeForm(layout.version, catalogue.valid_from, m.lines)
