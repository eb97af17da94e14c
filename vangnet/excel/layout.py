"""The intake form as data: `forms/intake/versions.yaml` and one dated layout file per version.

A layout says where every input and formula of one form version sits, under which Excel name,
with which label, help text and choices. Loading checks what Excel and the claim contract need
(names Excel accepts, help texts Excel can show, fields the contract has, formulas that name
known cells) and raises `DataError` naming the file, so a bad layout stops start-up instead of
producing a broken workbook.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vangnet import yamlfile
from vangnet.catalogue import Catalogue
from vangnet.claim import Claim, Measure
from vangnet.exceptions import DataError
from vangnet.paths import FORMS_DIR

__all__ = [
    "Check",
    "Choice",
    "FormLayout",
    "FormSet",
    "FormulaCell",
    "FormulaColumn",
    "InputField",
    "Kind",
    "Limits",
    "MeasureColumn",
    "load_forms",
    "measure_choices",
]

VERSIONS_FILE = "intake/versions.yaml"

Kind = Literal["text", "choice", "date", "money", "integer", "quantity", "measure"]
# What a formula cell shows, so the reader can recompute it: a line's claimed amount, the sum
# of the claimed amounts, the sum of the amounts already reimbursed.
Check = Literal["line_claimed", "claimed_total", "reimbursed_total"]

# An Excel defined name: a letter or underscore, then letters, digits or underscores. Dots are
# valid in Excel but not in LibreOffice; two letters and digits would read as a cell.
_NAME = r"^(?![A-Za-z]{1,3}[0-9]+$)[A-Za-z_][A-Za-z0-9_]{0,254}$"
_CELL = r"^[A-Z]{1,3}[1-9][0-9]{0,6}$"
_COLUMN = r"^[A-Z]{1,3}$"
_RGB = r"^[0-9A-F]{6}$"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

Name = Annotated[str, Field(pattern=_NAME)]
CellRef = Annotated[str, Field(pattern=_CELL)]
ColumnRef = Annotated[str, Field(pattern=_COLUMN)]
Text = Annotated[str, Field(min_length=1)]
# Excel's limits: an input message at most 255 characters, an error message at most 225 and
# every title at most 32; a list entry at most 255.
HelpText = Annotated[str, Field(min_length=1, max_length=255)]
ErrorText = Annotated[str, Field(min_length=1, max_length=225)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


class Source(_Spec):
    title: Text
    url: str | None = None
    note: str | None = None


class Choice(_Spec):
    """One entry of a drop-down: the label the user picks, the value it stands for."""

    value: str | bool | None
    label: Annotated[str, Field(min_length=1, max_length=255)]


class InputField(_Spec):
    """One input cell of the claim sheet, holding the claim field `path`."""

    path: Text
    name: Name
    cell: CellRef
    kind: Kind
    label: Text
    help: HelpText
    choices: str | None = None
    required: bool = False
    max_length: Annotated[int, Field(gt=0)] | None = None
    positive: bool = False


class MeasureColumn(_Spec):
    """One input column of the measure lines, holding the measure field `path`."""

    path: Text
    name: Name
    column: ColumnRef
    kind: Kind
    label: Text
    help: HelpText
    width: Annotated[float, Field(gt=0)]
    choices: str | None = None
    required: bool = False
    max_length: Annotated[int, Field(gt=0)] | None = None
    positive: bool = False


class FormulaColumn(_Spec):
    """A computed column of the measure lines: one formula per line, locked."""

    name: Name
    column: ColumnRef
    width: Annotated[float, Field(gt=0)]
    label: Text
    formula: Text
    number_format: str | None = None
    check: Check | None = None


class FormulaCell(_Spec):
    """A computed cell (a total), locked; `check` says how the reader recomputes it."""

    name: Name
    cell: CellRef
    label: Text
    formula: Text
    label_cell: CellRef | None = None
    check: Check | None = None


class NamedCell(_Spec):
    name: Name
    cell: CellRef
    label: Text


class VersionCells(_Spec):
    form: NamedCell
    catalogue: NamedCell


class Section(_Spec):
    title: Text
    row: Annotated[int, Field(gt=0)]
    fields: list[InputField]


class Summary(_Spec):
    title: Text
    row: Annotated[int, Field(gt=0)]
    cells: list[FormulaCell]


class ClaimSheet(_Spec):
    title: Text
    intro: Text
    version: VersionCells
    sections: list[Section]
    summary: Summary


class NumberColumn(_Spec):
    column: ColumnRef
    label: Text


class MeasuresSheet(_Spec):
    title: Text
    intro: Text
    header_row: Annotated[int, Field(gt=0)]
    first_row: Annotated[int, Field(gt=0)]
    # the contract allows at most 500 lines
    lines: Annotated[int, Field(gt=0, le=500)]
    number_column: NumberColumn
    not_in_catalogue: Annotated[str, Field(min_length=1, max_length=255)]
    catalogue_label: Text
    columns: list[MeasureColumn]
    formulas: list[FormulaColumn]
    totals: list[FormulaCell]

    @property
    def last_row(self) -> int:
        return self.first_row + self.lines - 1


class ListsSheet(_Spec):
    catalogue_name: Name
    measures_name: Name
    choice_name_prefix: Name
    headers: Annotated[list[Text], Field(min_length=4, max_length=4)]


class Sheets(_Spec):
    instructions: Annotated[str, Field(min_length=1, max_length=31)]
    claim: Annotated[str, Field(min_length=1, max_length=31)]
    measures: Annotated[str, Field(min_length=1, max_length=31)]
    lists: Annotated[str, Field(min_length=1, max_length=31)]


class Colours(_Spec):
    input: Annotated[str, Field(pattern=_RGB)]
    formula: Annotated[str, Field(pattern=_RGB)]
    header: Annotated[str, Field(pattern=_RGB)]
    section: Annotated[str, Field(pattern=_RGB)]


class Instructions(_Spec):
    title: Text
    version_line: Text
    paragraphs: list[Text]


class Validation(_Spec):
    """The messages Excel shows when a cell's data validation refuses an entry."""

    title: Annotated[str, Field(min_length=1, max_length=32)]
    choice: ErrorText
    measure: ErrorText
    text: ErrorText
    date: ErrorText
    integer: ErrorText
    money: ErrorText
    money_positive: ErrorText
    quantity: ErrorText


def _claim_field_exists(path: str) -> bool:
    model: Any = Claim
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return False
        annotation = fields[part].annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if hasattr(a, "model_fields")), None)
    return True


class FormLayout(_Spec):
    """One version of the intake form."""

    version: Annotated[str, Field(pattern=r"^[0-9]{4}\.[0-9]+$")]
    valid_from: date
    claim_format: Literal[1]
    title: Text
    source: Source
    sheets: Sheets
    colours: Colours
    instructions: Instructions
    choices: dict[str, Annotated[list[Choice], Field(min_length=1)]]
    claim_sheet: ClaimSheet
    measures_sheet: MeasuresSheet
    lists_sheet: ListsSheet
    validation: Validation

    # --- views ----------------------------------------------------------------------------------

    @property
    def fields(self) -> Iterator[InputField]:
        for section in self.claim_sheet.sections:
            yield from section.fields

    def section_of(self, path: str) -> str | None:
        """The claim's optional or required part a field belongs to ('threat'), or None."""
        return path.split(".", 1)[0] if "." in path else None

    def formula_cells(self) -> Iterator[tuple[str, FormulaCell]]:
        """Every single computed cell with the sheet it is on."""
        for cell in self.claim_sheet.summary.cells:
            yield self.sheets.claim, cell
        for cell in self.measures_sheet.totals:
            yield self.sheets.measures, cell

    def input_names(self) -> list[str]:
        return [f.name for f in self.fields] + [c.name for c in self.measures_sheet.columns]

    # --- checks ---------------------------------------------------------------------------------

    @model_validator(mode="after")
    def _consistent(self) -> FormLayout:
        problems: list[str] = []
        m = self.measures_sheet
        version = self.claim_sheet.version
        names = [version.form.name, version.catalogue.name]
        names += [f.name for f in self.fields]
        names += [c.name for c in m.columns] + [c.name for c in m.formulas]
        names += [c.name for _, c in self.formula_cells()]
        names += [self.lists_sheet.catalogue_name, self.lists_sheet.measures_name]
        names += [self.lists_sheet.choice_name_prefix + key for key in self.choices]
        lowered = [n.lower() for n in names]  # Excel names ignore case
        dupes = sorted({n for n in names if lowered.count(n.lower()) > 1})
        if dupes:
            problems.append(f"namen komen meer dan eens voor: {', '.join(dupes)}")
        kinds_with_choices = {"choice"}
        inputs: list[tuple[str, InputField | MeasureColumn, bool]] = [
            *((f.path, f, False) for f in self.fields),
            *((f"measures[].{c.path}", c, True) for c in m.columns),
        ]
        for where, field, is_measure in inputs:
            path = f"measures.{field.path}" if is_measure else field.path
            if is_measure and field.path not in Measure.model_fields:
                problems.append(f"{where}: geen veld van een maatregel")
            elif not is_measure and not _claim_field_exists(path):
                problems.append(f"{where}: geen veld van de aanvraag")
            if (field.kind in kinds_with_choices) != (field.choices is not None):
                problems.append(f"{where}: choices hoort bij kind choice, en alleen daar")
            if field.choices is not None and field.choices not in self.choices:
                problems.append(f"{where}: onbekende keuzelijst {field.choices}")
            if field.kind == "measure" and not is_measure:
                problems.append(f"{where}: kind measure kan alleen in een maatregelkolom")
        required = {n for n, f in Measure.model_fields.items() if f.is_required()}
        missing = sorted(required - {c.path for c in m.columns})
        if missing:
            problems.append(f"maatregelen: geen kolom voor {', '.join(missing)}")
        known = set(names)
        formulas = [c.formula for c in m.formulas] + [c.formula for _, c in self.formula_cells()]
        for formula in formulas:
            for ref in _PLACEHOLDER.findall(formula):
                if ref not in known:
                    problems.append(f"formule {formula!r}: onbekende naam {ref}")
        if m.first_row <= m.header_row:
            problems.append("maatregelen: first_row moet onder header_row liggen")
        sheets = [self.sheets.instructions, self.sheets.claim, self.sheets.measures]
        if len({s.lower() for s in [*sheets, self.sheets.lists]}) != 4:
            problems.append("de bladen moeten elk een eigen naam hebben")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def measure_choices(layout: FormLayout, catalogue: Catalogue) -> list[tuple[str, str | None]]:
    """The entries of the measure drop-down with the code each stands for; the last entry,
    'niet in de catalogus', stands for no code."""
    label = layout.measures_sheet.catalogue_label
    out: list[tuple[str, str | None]] = [
        (label.format(name=item.name_nl, code=item.code), item.code)
        for item in catalogue.items.values()
    ]
    out.append((layout.measures_sheet.not_in_catalogue, None))
    return out


class Limits(_Spec):
    """What vangnet reads at most: the file, what it unpacks to, its number of parts."""

    max_file_bytes: Annotated[int, Field(gt=0)]
    max_unpacked_bytes: Annotated[int, Field(gt=0)]
    max_zip_members: Annotated[int, Field(gt=0)]


class _VersionsFile(_Spec):
    source: Source
    current: str
    supported: dict[str, str]
    limits: Limits


@dataclass(frozen=True, slots=True)
class FormSet:
    """Every supported form version, the current one, and the reading limits."""

    current: FormLayout
    versions: dict[str, FormLayout]
    limits: Limits
    # the defined name of the form version cell, the same in every version: the reader must
    # find the version before it knows the layout
    version_name: str


def _load_yaml(path: Path) -> Any:
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path.name}: niet leesbaar als YAML: {exc}") from None


def _invalid(path: Path, exc: ValidationError) -> DataError:
    parts = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "(bestand)"
        parts.append(f"{loc}: {e['msg']}")
    return DataError(f"{path.name}: ongeldig formulier: {'; '.join(parts)}")


@lru_cache(maxsize=4)
def load_forms(directory: Path | None = None) -> FormSet:
    """The intake form versions in `directory` (default `forms/intake/`); `DataError` names
    the file and the problem when one is invalid."""
    directory = directory or (FORMS_DIR / VERSIONS_FILE).parent
    index_path = directory / Path(VERSIONS_FILE).name
    try:
        index = _VersionsFile.model_validate(_load_yaml(index_path))
    except ValidationError as exc:
        raise _invalid(index_path, exc) from None
    versions: dict[str, FormLayout] = {}
    for version, filename in index.supported.items():
        path = directory / filename
        try:
            layout = FormLayout.model_validate(_load_yaml(path))
        except ValidationError as exc:
            raise _invalid(path, exc) from None
        if layout.version != version:
            raise DataError(
                f"{path.name}: versie {layout.version}, maar versions.yaml zegt {version}"
            )
        if path.stem != layout.valid_from.isoformat():
            raise DataError(f"{path.name}: de bestandsnaam moet {layout.valid_from}.yaml zijn")
        versions[version] = layout
    if index.current not in versions:
        raise DataError(
            f"{index_path.name}: de huidige versie {index.current} staat niet in supported"
        )
    names = {v.claim_sheet.version.form.name for v in versions.values()}
    if len(names) != 1:
        raise DataError(
            f"{index_path.name}: elke versie moet dezelfde naam voor de versiecel hebben"
        )
    return FormSet(
        current=versions[index.current],
        versions=versions,
        limits=index.limits,
        version_name=names.pop(),
    )
