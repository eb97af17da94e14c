"""Reading a filled-in intake workbook into a claim of interchange format v1.

The order of the checks:
1. the file (`container.checked_bytes`): size, macros, old formats, corrupt or oversized zips;
2. the form version, from the cell of the version name; an unknown version is refused, naming
   that cell and the versions that are read;
3. the layout of that version: every defined name must be there and point where a name of its
   kind can point (one cell; a column of lines as long as the others). The reader reads by
   these names only, never by fixed coordinates;
4. every cell: its value is converted by the kind of the cell (text, choice, date, amount,
   number), and what cannot be converted is a problem at that cell;
5. the claim is validated like any claim (`parse_claim`, or a `Decider`'s `validate` with the
   fields the scheme requires), and each problem is put back on its cell;
6. the totals Excel stored (when it stored any: openpyxl stores none, so a missing value means
   "not computed") are compared with the amounts recomputed here.
Every problem is collected and raised at once as a `FormError`; nothing is stored.

openpyxl parses the workbook's XML with defusedxml (a test asserts it). The warnings openpyxl
gives for parts of a workbook it drops (extensions, conditional formatting, drawings) are
expected for a workbook saved by Excel and do not matter for reading values: they are ignored
by their message, and any other warning stays a warning.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from defusedxml import DefusedXmlException
from openpyxl import DEFUSEDXML, load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from vangnet.catalogue import Catalogue, CatalogueSet, load_catalogues
from vangnet.claim import Claim, parse_claim
from vangnet.excel.container import WorkbookSource, checked_bytes
from vangnet.excel.layout import (
    Check,
    FormLayout,
    FormSet,
    InputField,
    Kind,
    MeasureColumn,
    load_forms,
    measure_choices,
)
from vangnet.exceptions import ClaimError, FormError, FormProblem
from vangnet.messages import MESSAGES, message
from vangnet.money import CENT, ZERO, format_eur, round_cents

__all__ = ["claim_data", "read_intake"]

Validator = Callable[[Any], Claim]

# openpyxl's warnings about parts it drops while reading; nothing read here depends on them
_OPENPYXL_NOTES = (
    r".* extension is not supported and will be removed",
    r"Workbook contains no default style",
    r"Cell .* is marked as a date but the serial value .* is outside the limits",
    r"Failed to load a conditional formatting rule",
    r"Print area cannot be set to Defined name",
    r"Defined names for sheet index .* cannot be located",
    r"DrawingML support is incomplete",
)
if not DEFUSEDXML:  # pragma: no cover - only with OPENPYXL_DEFUSEDXML=False or no defusedxml
    raise ImportError("vangnet.excel reads workbooks only when openpyxl parses with defusedxml")

# `warnings.catch_warnings` changes process-wide state: one reader at a time touches it
_WARNINGS_LOCK = threading.Lock()

_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DUTCH_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")


# --- where things are -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Range:
    """Where a defined name points: a sheet and a block of cells (1-based, inclusive)."""

    sheet: str
    min_col: int
    min_row: int
    max_col: int
    max_row: int

    @property
    def coordinate(self) -> str:
        first = f"{get_column_letter(self.min_col)}{self.min_row}"
        if (self.min_col, self.min_row) == (self.max_col, self.max_row):
            return first
        return f"{first}:{get_column_letter(self.max_col)}{self.max_row}"

    @property
    def single(self) -> bool:
        return self.min_col == self.max_col and self.min_row == self.max_row

    @property
    def rows(self) -> int:
        return self.max_row - self.min_row + 1


@dataclass(frozen=True, slots=True)
class _Where:
    """A cell a problem is about, with its label and the claim path it holds."""

    sheet: str | None
    cell: str | None
    label: str
    path: str | None = None


@dataclass(slots=True)
class _Snapshot:
    """Everything read from the workbook, before any conversion."""

    layout: FormLayout
    places: dict[str, _Range]
    # per sheet: (row, column) -> value, for the cells of the form only
    values: dict[str, dict[tuple[int, int], Any]]


def _expected(sheet: str, ref: str) -> _Where:
    return _Where(sheet, ref, "")


def _lower_first(label: str) -> str:
    """'Prijs per eenheid' -> 'prijs per eenheid'; 'CBS-code' stays as it is."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date() if value.time() == time() else value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "WAAR" if value else "ONWAAR"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


# --- reading the workbook ---------------------------------------------------------------------


def _unreadable(exc: BaseException) -> FormError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            detail = "het bestand bevat XML die wij uit veiligheid niet lezen"
            break
        cause = cause.__cause__ or cause.__context__
    else:
        detail = "een deel van de werkmap ontbreekt of is ongeldig"
    return FormError([FormProblem(None, None, message("xlsx_unreadable", detail=detail))])


class _WorkbookReader:
    """Reads the names and the values of the form's cells from an openpyxl workbook."""

    def __init__(self, wb: Workbook, forms: FormSet) -> None:
        self.wb = wb
        self.forms = forms
        self.names = {name.casefold(): d for name, d in wb.defined_names.items()}
        self.sheets = set(wb.sheetnames)
        self.problems: list[FormProblem] = []
        self.missing_sheets: set[str] = set()

    def place(self, name: str, expected: _Where) -> _Range | None:
        """Where `name` points, or None with a problem at the cell it should point to."""
        defined = self.names.get(name.casefold())
        if defined is None:
            self.problem(expected, "form_name_missing", name=name)
            return None
        try:
            destinations = list(defined.destinations)
        except (ValueError, TypeError, KeyError):
            destinations = []
        if len(destinations) != 1:
            target = defined.attr_text or "niets"
            self.problem(
                expected,
                "form_name_broken",
                name=name,
                what=message("form_name_one_cell"),
                target=target,
            )
            return None
        sheet, ref = destinations[0]
        if sheet not in self.sheets:
            if sheet not in self.missing_sheets:
                self.missing_sheets.add(sheet)
                self.problems.append(
                    FormProblem(sheet, None, message("form_sheet_missing", sheet=sheet))
                )
            return None
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
        except (ValueError, TypeError):
            self.problem(
                expected,
                "form_name_broken",
                name=name,
                what=message("form_name_one_cell"),
                target=ref,
            )
            return None
        if None in (min_col, min_row, max_col, max_row):
            # a whole row or column: no name of the form points to one
            self.problem(
                expected,
                "form_name_broken",
                name=name,
                what=message("form_name_one_cell"),
                target=ref,
            )
            return None
        return _Range(
            sheet, int(min_col or 0), int(min_row or 0), int(max_col or 0), int(max_row or 0)
        )

    def problem(self, where: _Where, key: str, **values: Any) -> None:
        self.problems.append(FormProblem(where.sheet, where.cell, message(key, **values)))

    def cells(self, places: list[_Range]) -> dict[str, dict[tuple[int, int], Any]]:
        """The values of every cell in `places`, one pass over each sheet's block."""
        out: dict[str, dict[tuple[int, int], Any]] = {}
        sheets = {p.sheet for p in places}
        for sheet in sheets:
            mine = [p for p in places if p.sheet == sheet]
            min_row = min(p.min_row for p in mine)
            max_row = max(p.max_row for p in mine)
            min_col = min(p.min_col for p in mine)
            max_col = max(p.max_col for p in mine)
            values: dict[tuple[int, int], Any] = {}
            rows = self.wb[sheet].iter_rows(
                min_row=min_row,
                max_row=max_row,
                min_col=min_col,
                max_col=max_col,
                values_only=True,
            )
            for r, row in enumerate(rows, start=min_row):
                for c, value in enumerate(row, start=min_col):
                    if value is not None:
                        values[(r, c)] = value
            out[sheet] = values
        return out

    def version(self) -> FormLayout:
        """The layout of the workbook's form version; `FormError` when it has none we read."""
        name = self.forms.version_name
        current = self.forms.current.claim_sheet.version.form
        expected = _Where(self.forms.current.sheets.claim, current.cell, current.label)
        if name.casefold() not in self.names:
            raise FormError([FormProblem(None, None, message("form_not_ours", name=name))])
        place = self.place(name, expected)
        if place is not None and not place.single:
            one_cell = message("form_name_one_cell")
            target = place.coordinate
            self.problem(expected, "form_name_broken", name=name, what=one_cell, target=target)
        if place is None or not place.single:
            raise FormError(self.problems)
        value = self.cells([place])[place.sheet].get((place.min_row, place.min_col))
        version = "" if value is None else str(value).strip()
        layout = self.forms.versions.get(version)
        if layout is None:
            supported = ", ".join(sorted(self.forms.versions))
            where = _Where(place.sheet, place.coordinate, "")
            shown = version or "(leeg)"
            self.problem(where, "form_version_unknown", version=shown, supported=supported)
            raise FormError(self.problems)
        return layout

    def snapshot(self) -> _Snapshot:
        layout = self.version()
        s = layout.sheets
        cs = layout.claim_sheet
        m = layout.measures_sheet
        places: dict[str, _Range] = {}

        def single(name: str, sheet: str, cell: str) -> None:
            place = self.place(name, _expected(sheet, cell))
            if place is None:
                return
            if not place.single:
                self.problem(
                    _expected(place.sheet, place.coordinate),
                    "form_name_broken",
                    name=name,
                    what=message("form_name_one_cell"),
                    target=place.coordinate,
                )
                return
            places[name] = place

        single(cs.version.form.name, s.claim, cs.version.form.cell)
        single(cs.version.catalogue.name, s.claim, cs.version.catalogue.cell)
        for f in layout.fields:
            single(f.name, s.claim, f.cell)
        for sheet, cell in layout.formula_cells():
            single(cell.name, sheet, cell.cell)
        column_names = [(c.name, c.column) for c in m.columns]
        column_names += [(c.name, c.column) for c in m.formulas]
        columns: dict[str, _Range] = {}
        for name, column in column_names:
            ref = f"{column}{m.first_row}:{column}{m.last_row}"
            place = self.place(name, _expected(s.measures, ref))
            if place is not None:
                columns[name] = place
        # the lines are where most columns say they are; a column out of line is reported
        spans = Counter((p.sheet, p.min_row, p.max_row) for p in columns.values())
        span = spans.most_common(1)[0][0] if spans else None
        for name, place in columns.items():
            same = (place.sheet, place.min_row, place.max_row) == span
            if place.min_col != place.max_col or not same or place.rows > m.lines:
                self.problem(
                    _expected(place.sheet, place.coordinate),
                    "form_name_broken",
                    name=name,
                    what=message("form_name_column", lines=m.lines),
                    target=place.coordinate,
                )
                continue
            places[name] = place
        if self.problems:
            raise FormError(sorted(self.problems, key=_sort_key(layout)))
        return _Snapshot(layout, places, self.cells(list(places.values())))


def _snapshot(data: bytes, forms: FormSet) -> _Snapshot:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        for note in _OPENPYXL_NOTES:
            warnings.filterwarnings(
                "ignore", message=note, category=UserWarning, module=r"openpyxl(\.|$)"
            )
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Warning:
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a broken file
            raise _unreadable(exc) from None
        try:
            return _WorkbookReader(wb, forms).snapshot()
        except (FormError, Warning):
            raise
        except Exception as exc:  # noqa: BLE001 - sheets are parsed lazily, here
            raise _unreadable(exc) from None
        finally:
            wb.close()


# --- converting cells -------------------------------------------------------------------------


class _Invalid(Exception):
    """A cell's value cannot be converted; `key` names the message."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values


def _decimal(value: Any, example: str) -> Decimal:
    if isinstance(value, bool | datetime | date):
        raise _Invalid("form_number", example=example)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip().replace(",", "."))
    raise _Invalid("form_number", example=example)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid("form_integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _Invalid("form_integer")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != time():
            raise _Invalid("form_date")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if m := _ISO_DATE.fullmatch(text):
                return date(int(m[1]), int(m[2]), int(m[3]))
            if m := _DUTCH_DATE.fullmatch(text):
                return date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            pass
    raise _Invalid("form_date")


def _text(value: Any) -> str:
    if isinstance(value, bool | datetime | date):
        raise _Invalid("form_text")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return str(value).strip()


@dataclass(slots=True)
class _Converter:
    layout: FormLayout
    catalogue: Catalogue
    measures: dict[str, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.measures = {}
        for label, code in measure_choices(self.layout, self.catalogue):
            self.measures[_key(label)] = code
            if code is not None:
                self.measures.setdefault(_key(code), code)

    def convert(self, kind: Kind, value: Any, choices: str | None) -> Any:
        if kind == "text":
            return _text(value)
        if kind == "date":
            return _date(value)
        if kind == "integer":
            return _integer(value)
        if kind == "money":
            return _decimal(value, "2600,50")
        if kind == "quantity":
            return _decimal(value, "2 of 2,5")
        if kind == "measure":
            if isinstance(value, str) and _key(value) in self.measures:
                return self.measures[_key(value)]
            raise _Invalid("form_measure", none=self.layout.measures_sheet.not_in_catalogue)
        options = self.layout.choices[str(choices)]
        for choice in options:
            if isinstance(value, bool) and choice.value is value:
                return choice.value
            if isinstance(value, str) and _key(value) in (
                _key(choice.label),
                _key(str(choice.value)) if isinstance(choice.value, str) else None,
            ):
                return choice.value
        labels = ", ".join(c.label for c in options)
        raise _Invalid("form_choice", choices=labels)


# --- the claim --------------------------------------------------------------------------------


def claim_data(claim: Claim) -> dict[str, Any]:
    """A validated claim as interchange-format JSON data: defaults filled in, money and
    quantities as numbers; `claim_sha256` of `parse_claim` of it is the claim's."""
    data = claim.model_dump(mode="json", exclude_none=True)
    if claim.home is not None and claim.home.pkvw_certified is None:
        data["home"]["pkvw_certified"] = None  # null means unknown here, and is kept
    return data


@dataclass(slots=True)
class _Line:
    row: int
    values: dict[str, Any]
    failed: set[str]


class _ClaimReader:
    """Turns the snapshot of a workbook into claim data, collecting every problem."""

    def __init__(self, snap: _Snapshot, catalogues: CatalogueSet) -> None:
        self.snap = snap
        self.layout = snap.layout
        self.catalogues = catalogues
        self.problems: list[FormProblem] = []
        self.where: dict[str, _Where] = {}
        self.failed: set[str] = set()
        self.lines: list[_Line] = []
        self.catalogue: Catalogue | None = None

    # --- helpers ------------------------------------------------------------------------------

    def value(self, name: str, row_offset: int = 0) -> tuple[_Where, Any]:
        place = self.snap.places[name]
        row, col = place.min_row + row_offset, place.min_col
        cell = f"{get_column_letter(col)}{row}"
        return _Where(place.sheet, cell, ""), self.snap.values[place.sheet].get((row, col))

    def add(self, where: _Where, text: str, value: Any = None) -> None:
        shown = None if value is None else _show(value)
        self.problems.append(FormProblem(where.sheet, where.cell, text, shown, where.path))

    def cell_problem(self, where: _Where, exc: _Invalid, value: Any) -> None:
        text = message(exc.key, label=_lower_first(where.label), **exc.values)
        if exc.key in {"form_measure", "form_choice"}:
            text = message(exc.key, label=where.label, **exc.values)
        self.add(where, text, value)

    # --- reading ------------------------------------------------------------------------------

    def read_catalogue(self) -> None:
        named = self.layout.claim_sheet.version.catalogue
        where, value = self.value(named.name)
        text = value.isoformat() if isinstance(value, date | datetime) else str(value or "")
        text = text.strip()[:10]
        for version in self.catalogues.versions:
            if version.valid_from.isoformat() == text:
                self.catalogue = version
                return
        known = ", ".join(v.valid_from.isoformat() for v in self.catalogues.versions)
        shown = text or "(leeg)"
        self.add(where, message("form_catalogue_unknown", value=shown, known=known), value)

    def read_field(self, f: InputField, converter: _Converter, data: dict[str, Any]) -> None:
        where, value = self.value(f.name)
        where = _Where(where.sheet, where.cell, f.label, f.path)
        self.where[f.path] = where
        if _blank(value):
            return
        head, _, tail = f.path.partition(".")
        target = data.setdefault(head, {}) if tail else data
        try:
            target[tail or head] = converter.convert(f.kind, value, f.choices)
        except _Invalid as exc:
            self.failed.add(f.path)
            self.cell_problem(where, exc, value)

    def read_lines(self, converter: _Converter) -> list[dict[str, Any]]:
        m = self.layout.measures_sheet
        first = self.snap.places[m.columns[0].name]
        out: list[dict[str, Any]] = []
        for offset in range(first.rows):
            cells: list[tuple[MeasureColumn, _Where, Any]] = []
            for c in m.columns:
                where, value = self.value(c.name, offset)
                cells.append((c, where, value))
            if all(_blank(v) for _, _, v in cells):
                continue
            index = len(out)
            line = _Line(first.min_row + offset, {}, set())
            for c, place, value in cells:
                path = f"measures[{index}].{c.path}"
                where = _Where(place.sheet, place.cell, c.label, path)
                self.where[path] = where
                if _blank(value):
                    if c.kind == "measure":
                        self.failed.add(path)
                        line.failed.add(c.path)
                        none = m.not_in_catalogue
                        label = _lower_first(c.label)
                        self.add(where, message("form_measure_empty", label=label, none=none))
                    continue
                try:
                    converted = converter.convert(c.kind, value, c.choices)
                except _Invalid as exc:
                    self.failed.add(path)
                    line.failed.add(c.path)
                    self.cell_problem(where, exc, value)
                    continue
                if converted is not None:
                    line.values[c.path] = converted
            self.lines.append(line)
            out.append(line.values)
        if not out:
            code = m.columns[0]
            where, _ = self.value(code.name)
            self.add(_Where(where.sheet, where.cell, code.label), message("form_no_lines"))
            self.failed.add("measures")
        return out

    def data(self) -> dict[str, Any]:
        self.read_catalogue()
        if self.catalogue is None:
            raise FormError(self.problems)
        converter = _Converter(self.layout, self.catalogue)
        data: dict[str, Any] = {}
        for f in self.layout.fields:
            self.read_field(f, converter, data)
        for f in self.layout.fields:
            head, _, tail = f.path.partition(".")
            if tail and Claim.model_fields[head].is_required():
                data.setdefault(head, {})
        data["measures"] = self.read_lines(converter)
        self.check_catalogue(data.get("reference_date"))
        return data

    def check_catalogue(self, day: Any) -> None:
        if not isinstance(day, date) or self.catalogue is None:
            return
        in_force = self.catalogues.in_force(day)
        if in_force is None or in_force.valid_from == self.catalogue.valid_from:
            return
        self.add(
            self.where["reference_date"],
            message(
                "form_catalogue_not_in_force",
                date=day.isoformat(),
                in_force=in_force.valid_from.isoformat(),
                catalogue=self.catalogue.valid_from.isoformat(),
            ),
        )

    # --- validation ---------------------------------------------------------------------------

    def locate(self, path: str) -> _Where:
        if path in self.where:
            return self.where[path]
        if path.startswith("measures["):
            line = path.split("]", 1)[0] + "]"
            candidates = [w for p, w in self.where.items() if p.startswith(line + ".")]
            if candidates:
                return candidates[0]
        for p, w in self.where.items():
            if p.startswith(path + ".") or (path == "measures" and p.startswith("measures[")):
                return _Where(w.sheet, w.cell, w.label, path)
        return _Where(None, None, path, path)

    def validate(self, data: dict[str, Any], validate: Validator) -> Claim | None:
        try:
            return validate(data)
        except ClaimError as exc:
            missing = MESSAGES["missing"]
            for p in exc.problems:
                if p.field in self.failed or any(p.field.startswith(f + ".") for f in self.failed):
                    continue
                where = self.locate(p.field)
                label = _lower_first(where.label)
                if p.message == missing:
                    text = message("form_empty", label=label)
                else:
                    text = message("form_claim", label=label, message=p.message)
                self.problems.append(
                    FormProblem(where.sheet, where.cell, text, p.value, where.path or p.field)
                )
            return None

    # --- cached values ------------------------------------------------------------------------

    def check_cached(self, claim: Claim | None) -> None:
        """Compare what Excel stored in the formula cells with what is recomputed here."""
        m = self.layout.measures_sheet
        amounts: list[Decimal] = []
        reimbursed: list[Decimal] = []
        exact = True
        for index, line in enumerate(self.lines):
            measure = claim.measures[index] if claim is not None else None
            q, p = line.values.get("quantity"), line.values.get("unit_price_eur")
            if {"quantity", "unit_price_eur", "already_reimbursed_eur"} & line.failed:
                exact = False
                continue
            if measure is not None:
                q, p = measure.quantity, measure.unit_price_eur
            if not isinstance(q, Decimal) or not isinstance(p, Decimal):
                exact = False
                continue
            amount = round_cents(q * p)
            amounts.append(amount)
            reimbursed.append(line.values.get("already_reimbursed_eur") or ZERO)
            for f in m.formulas:
                if f.check == "line_claimed":
                    self.compare(f.name, amount, line.row - self.snap.places[f.name].min_row)
        if not exact or claim is None:
            return
        totals: dict[Check, Decimal] = {
            "claimed_total": sum(amounts, ZERO),
            "reimbursed_total": sum(reimbursed, ZERO),
        }
        for _, cell in self.layout.formula_cells():
            if cell.check in totals:
                self.compare(cell.name, totals[cell.check])

    def compare(self, name: str, computed: Decimal, row_offset: int = 0) -> None:
        where, value = self.value(name, row_offset)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return  # not computed, or text such as "" or an error value
        shown = Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)
        if shown != computed:
            text = message("form_cached", shown=format_eur(shown), computed=format_eur(computed))
            self.add(where, text, value)


def _sort_key(layout: FormLayout) -> Callable[[FormProblem], tuple[int, int, int]]:
    order = {s: i for i, s in enumerate(layout.sheets.model_dump().values())}

    def key(p: FormProblem) -> tuple[int, int, int]:
        if p.sheet is None:
            return (-1, 0, 0)
        if p.cell is None:
            return (order.get(p.sheet, len(order)), 0, 0)
        col, row, _, _ = range_boundaries(p.cell)
        return (order.get(p.sheet, len(order)), int(row or 0), int(col or 0))

    return key


def read_intake(
    source: WorkbookSource,
    *,
    validate: Validator = parse_claim,
    catalogues: CatalogueSet | None = None,
    forms: FormSet | None = None,
) -> dict[str, Any]:
    """The claim (interchange format v1, JSON-ready) in a filled-in intake workbook.

    `source` is a path, the file's bytes or a binary stream. `validate` validates the claim
    data: `parse_claim` (the contract), or a `Decider`'s `validate` to report the fields the
    scheme's version requires as well. Raises `FormError` listing every problem at once, each
    by sheet and cell ("Blad Maatregelen, cel E7: prijs per eenheid is leeg; vul dit in").
    """
    forms = forms or load_forms()
    data = checked_bytes(source, forms.limits)
    snap = _snapshot(data, forms)
    reader = _ClaimReader(snap, catalogues or load_catalogues())
    claim_in = reader.data()
    claim = reader.validate(claim_in, validate)
    reader.check_cached(claim)
    if reader.problems or claim is None:
        raise FormError(sorted(reader.problems, key=_sort_key(snap.layout)))
    return claim_data(claim)
