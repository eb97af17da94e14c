"""The claim form of the pages: its fields, reading a posted form into a claim, and putting
every problem back next to its field.

The fields, their labels, help texts and choice lists are those of the Excel intake form
(`forms/intake/`, `vangnet.excel.layout`): one set of words for one claim, whether a finance
officer fills it in in Excel or in the browser. A posted form is converted field by field (a
value that is not a number or a date is a problem at that field), then validated as every claim
is (`Decider.validate`, which adds what the scheme requires); each problem's contract path
(`measures[2].unit_price_eur`) is mapped back to the input it came from. Blank measure lines are
skipped, so the claim's line numbers can differ from the form's: the mapping keeps both.

Nothing here renders HTML; the template `forms/pages/vooraf.html.j2` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from vangnet.catalogue import Catalogue, CatalogueSet
from vangnet.claim import Claim
from vangnet.evaluate import Decider
from vangnet.excel.layout import Choice, FormLayout, InputField, MeasureColumn, measure_choices
from vangnet.exceptions import ClaimError, NoRulesetError, Problem
from vangnet.messages import MESSAGES, message
from vangnet.web.render import texts

__all__ = [
    "ADD_LINE",
    "MAX_LINES",
    "NOT_IN_CATALOGUE",
    "FilledForm",
    "FormField",
    "FormSection",
    "Option",
    "add_claim_problems",
    "catalogue_for_form",
    "claim_sections",
    "claim_values",
    "form_context",
    "form_lines",
    "line_fields",
    "option_value",
    "read_form",
    "shown_again",
    "validated_claim",
]

MAX_LINES = 500  # the contract's limit on measure lines
ADD_LINE = "regel-toevoegen"  # the `actie` of the button that adds a line
# the option value of the measure list's entry 'niet in de catalogus' (codes are upper case)
NOT_IN_CATALOGUE = "niet-in-catalogus"

_DUTCH_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")
_EXAMPLES = {"money": "2600,50", "quantity": "2 of 2,5"}


@dataclass(frozen=True, slots=True)
class Option:
    """One entry of a choice list: the form's value, its label, and the claim's value."""

    value: str
    label: str
    claim_value: str | bool | None = None


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: `name` is what the form posts (the contract path), `id` its HTML id."""

    name: str
    id: str
    path: str  # the claim path; for a measure column the column's path (`quantity`)
    kind: str
    label: str
    help: str
    required: bool
    max_length: int | None
    options: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True)
class FormSection:
    title: str
    fields: tuple[FormField, ...]


@dataclass(slots=True)
class FilledForm:
    """A posted form: what was typed (to show again), the claim data read from it, and every
    problem by input name (shown next to the field) and in order (the summary at the top)."""

    values: dict[str, str]
    lines: int
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)
    # claim line index -> form line index (blank form lines are skipped)
    line_of: list[int] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)

    def add(self, f: FormField, text: str) -> None:
        if f.name not in self.errors:
            self.errors[f.name] = text
            self.summary.append((f.id, text))

    @property
    def valid(self) -> bool:
        return not self.errors


def _html_id(name: str) -> str:
    return "veld-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def option_value(value: str | bool | None) -> str:
    """How a choice's claim value travels in a form (unique within each list; decoding goes
    through the list, where a string `onbekend` and the null `Onbekend` never meet)."""
    if value is None:
        return "onbekend"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    return value


def _options(choices: list[Choice]) -> tuple[Option, ...]:
    return tuple(Option(option_value(c.value), c.label, c.value) for c in choices)


def _field(spec: InputField | MeasureColumn, name: str, layout: FormLayout) -> FormField:
    options: tuple[Option, ...] = ()
    if spec.kind == "choice" and spec.choices is not None:
        options = _options(layout.choices[spec.choices])
    return FormField(
        name=name,
        id=_html_id(name),
        path=spec.path,
        kind=spec.kind,
        label=spec.label,
        help=texts()["form_help"].get(name, spec.help),
        required=spec.required,
        max_length=spec.max_length,
        options=options,
    )


def claim_sections(layout: FormLayout) -> tuple[FormSection, ...]:
    """The claim's fields in the sections of the intake form."""
    return tuple(
        FormSection(s.title, tuple(_field(f, f.path, layout) for f in s.fields))
        for s in layout.claim_sheet.sections
    )


def line_fields(layout: FormLayout, catalogue: Catalogue, index: int) -> tuple[FormField, ...]:
    """The inputs of measure line `index` (0-based); the measure is a list of the catalogue."""
    out = []
    for col in layout.measures_sheet.columns:
        f = _field(col, f"measures[{index}].{col.path}", layout)
        if col.kind == "measure":
            options = tuple(
                Option(NOT_IN_CATALOGUE if code is None else code, label)
                for label, code in measure_choices(layout, catalogue)
            )
            f = replace(f, options=options)
        out.append(f)
    return tuple(out)


def catalogue_for_form(catalogues: CatalogueSet, raw_day: str) -> Catalogue:
    """The catalogue the measure list shows: the one in force on the typed reference date,
    else the newest."""
    try:
        day = _date(raw_day.strip())
    except _Invalid:
        day = None
    found = catalogues.in_force(day) if day is not None else None
    return found or catalogues.versions[-1]


# --- converting -------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values


def _date(text: str) -> date:
    try:
        if m := _ISO_DATE.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DUTCH_DATE.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        pass
    raise _Invalid("form_date")


def _decimal(text: str, kind: str) -> Decimal:
    cleaned = text.removeprefix("€").strip()
    if not _NUMBER.fullmatch(cleaned):
        raise _Invalid("form_number", example=_EXAMPLES[kind])
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        raise _Invalid("form_number", example=_EXAMPLES[kind]) from None


def _convert(f: FormField, text: str) -> Any:
    if f.kind == "text":
        return text
    if f.kind == "date":
        return _date(text)
    if f.kind == "integer":
        if not text.isdigit() or not text.isascii():
            raise _Invalid("form_integer")
        return int(text)
    if f.kind in ("money", "quantity"):
        return _decimal(text, f.kind)
    if f.kind == "measure":
        if text == NOT_IN_CATALOGUE:
            return None
        if any(o.value == text for o in f.options):
            return text
        raise _Invalid("form_measure", none=_not_in_catalogue_label(f))
    for o in f.options:
        if o.value == text:
            return o.claim_value
    raise _Invalid("form_choice", choices=", ".join(o.label for o in f.options))


def _not_in_catalogue_label(f: FormField) -> str:
    return next((o.label for o in f.options if o.value == NOT_IN_CATALOGUE), "")


def _lower_first(label: str) -> str:
    """'Prijs per eenheid' -> 'prijs per eenheid'; 'CBS-code' stays as it is."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _line_text(number: int, text: str) -> str:
    return f"Maatregel {number}: {text}"


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    head, _, tail = path.partition(".")
    if tail:
        data.setdefault(head, {})[tail] = value
    else:
        data[head] = value


def read_form(
    form: Mapping[str, str],
    layout: FormLayout,
    catalogues: CatalogueSet,
    lines: int,
) -> FilledForm:
    """The claim data of a posted form, with every problem of converting it (not yet the
    claim's own validation: `add_claim_problems`)."""
    lines = max(1, min(lines, MAX_LINES))
    catalogue = catalogue_for_form(catalogues, form.get("reference_date", ""))
    sections = claim_sections(layout)
    names = [f.name for s in sections for f in s.fields]
    names += [f.name for i in range(lines) for f in line_fields(layout, catalogue, i)]
    filled = FilledForm({n: form.get(n, "") for n in names}, lines)
    data = filled.data
    for section in sections:
        for f in section.fields:
            text = filled.values[f.name].strip()
            if not text:
                continue
            try:
                _set(data, f.path, _convert(f, text))
            except _Invalid as exc:
                filled.failed.add(f.path)
                filled.add(f, message(exc.key, label=f.label, **exc.values))
    for spec in layout.fields:
        head, _, tail = spec.path.partition(".")
        if tail and Claim.model_fields[head].is_required():
            data.setdefault(head, {})
    data["measures"] = _read_lines(filled, layout, catalogue)
    return filled


def _read_lines(
    filled: FilledForm, layout: FormLayout, catalogue: Catalogue
) -> list[dict[str, Any]]:
    """The measure lines of the form, blank ones skipped, every problem on its field."""
    measures: list[dict[str, Any]] = []
    first_code: FormField | None = None
    for j in range(filled.lines):
        fields = line_fields(layout, catalogue, j)
        first_code = first_code or fields[0]
        texts = {f.path: filled.values[f.name].strip() for f in fields}
        if not any(texts.values()):
            continue
        index = len(measures)
        line: dict[str, Any] = {}
        for f in fields:
            text = texts[f.path]
            path = f"measures[{index}].{f.path}"
            if not text:
                if f.kind == "measure":
                    filled.failed.add(path)
                    none = _not_in_catalogue_label(f)
                    label = _lower_first(f.label)
                    filled.add(
                        f, _line_text(j + 1, message("form_measure_empty", label=label, none=none))
                    )
                continue
            try:
                value = _convert(f, text)
            except _Invalid as exc:
                filled.failed.add(path)
                filled.add(f, _line_text(j + 1, message(exc.key, label=f.label, **exc.values)))
                continue
            if value is not None:
                line[f.path] = value
        measures.append(line)
        filled.line_of.append(j)
    if not measures and first_code is not None:
        filled.failed.add("measures")
        filled.add(first_code, message("form_no_lines"))
    return measures


def add_claim_problems(
    filled: FilledForm,
    problems: list[Problem],
    layout: FormLayout,
    catalogues: CatalogueSet,
) -> None:
    """Put each problem of the claim's validation next to the input it is about; a problem of
    a field whose value could not be read is left out (that field has its problem already)."""
    catalogue = catalogue_for_form(catalogues, filled.values.get("reference_date", ""))
    sections = claim_sections(layout)
    by_path = {f.path: f for s in sections for f in s.fields}
    first_of_head: dict[str, FormField] = {}
    titles: dict[str, str] = {}
    for s in sections:
        for f in s.fields:
            head = f.path.split(".", 1)[0]
            first_of_head.setdefault(head, f)
            titles.setdefault(head, s.title.split(" (", 1)[0])
    missing = MESSAGES["missing"]
    fallback = next(iter(by_path.values()))
    for p in problems:
        if p.field in filled.failed or any(
            p.field.startswith(x + ".") or p.field.startswith(x + "[") for x in filled.failed
        ):
            continue
        target, label, line = _locate(p.field, filled, layout, catalogue, by_path)
        if target is None and p.field in first_of_head:
            target, label = first_of_head[p.field], titles[p.field]
        if target is None:
            target, label = fallback, ""
        text = (
            message("form_empty", label=_lower_first(label))
            if p.message == missing and label
            else message("form_claim", label=label, message=p.message).strip()
        )
        if text[:1].islower():
            text = text[0].upper() + text[1:]
        filled.add(target, _line_text(line, text) if line else text)


def _locate(
    path: str,
    filled: FilledForm,
    layout: FormLayout,
    catalogue: Catalogue,
    by_path: dict[str, FormField],
) -> tuple[FormField | None, str, int | None]:
    """The input a claim path is about, its label, and the form's line number (1-based)."""
    if path in by_path:
        return by_path[path], by_path[path].label, None
    m = re.fullmatch(r"measures\[([0-9]+)\](?:\.([a-z_]+))?", path)
    if m and int(m[1]) < len(filled.line_of):
        j = filled.line_of[int(m[1])]
        fields = {f.path: f for f in line_fields(layout, catalogue, j)}
        f = fields.get(m[2] or "", fields[layout.measures_sheet.columns[0].path])
        return f, f.label, j + 1
    if path == "measures":
        f = line_fields(layout, catalogue, 0)[0]
        return f, "Maatregelen", None
    return None, "", None


def validated_claim(filled: FilledForm, validator: Decider, layout: FormLayout) -> Claim | None:
    """The validated claim of a read form, with a version in force; None with every problem
    put next to its field."""
    try:
        claim = validator.validate(filled.data)
        validator.choose(claim)
    except (ClaimError, NoRulesetError) as exc:
        add_claim_problems(filled, list(exc.problems), layout, validator.catalogues)
        return None
    return None if filled.errors else claim


# --- a stored claim back in the form ----------------------------------------------------------


def _plain_number(value: Any) -> str:
    """2600.00 -> '2600,00', 2.5 -> '2,5': what the form reads back (no thousands marks)."""
    return f"{Decimal(str(value)):f}".replace(".", ",")


def _as_text(f: FormField, value: Any) -> str:
    if f.kind == "date":
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        return f"{day.day:02d}-{day.month:02d}-{day.year}"
    if f.kind in ("money", "quantity"):
        return _plain_number(value)
    if f.kind == "measure":
        return NOT_IN_CATALOGUE if value is None else str(value)
    if f.options:
        for o in f.options:
            # `is` for booleans and None: True == 1 must not pick another option
            if o.claim_value is value or (isinstance(value, str) and o.claim_value == value):
                return o.value
        return ""
    return str(value)


def _value_at(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    head, _, tail = path.partition(".")
    if head not in data:
        return False, None
    if not tail:
        return True, data[head]
    inner = data[head]
    if not isinstance(inner, Mapping) or tail not in inner:
        return False, None
    return True, inner[tail]


def claim_values(
    data: Mapping[str, Any], layout: FormLayout, catalogues: CatalogueSet
) -> FilledForm:
    """A stored claim (interchange format v1, decoded) as the form shows it, to change it: the
    reverse of `read_form`. A line's measure without a code is 'niet in de catalogus'."""
    measures = [m for m in data.get("measures") or [] if isinstance(m, Mapping)]
    lines = max(1, min(len(measures), MAX_LINES))
    values: dict[str, str] = {}
    for section in claim_sections(layout):
        for f in section.fields:
            present, value = _value_at(data, f.path)
            if present and (value is not None or f.options):
                values[f.name] = _as_text(f, value)
    reference = values.get("reference_date", "")
    catalogue = catalogue_for_form(catalogues, reference)
    for j, line in enumerate(measures[:lines]):
        for f in line_fields(layout, catalogue, j):
            if f.kind == "measure":
                values[f.name] = _as_text(f, line.get(f.path))
            elif line.get(f.path) is not None:
                values[f.name] = _as_text(f, line[f.path])
    return FilledForm(values, lines)


def form_lines(raw: str | None) -> int:
    """The number of measure lines a posted form says it has (`regels`), 1 to `MAX_LINES`."""
    return max(1, min(int(raw), MAX_LINES)) if raw and raw.isdigit() and len(raw) < 4 else 1


def shown_again(
    form: Mapping[str, str], layout: FormLayout, catalogues: CatalogueSet, *, add: bool
) -> tuple[FilledForm, str | None]:
    """The posted form to show again, without problems (nothing is checked until it is sent):
    with one more empty line when `add` (up to `MAX_LINES`), and the id of the field to focus
    (the new line's first), or None."""
    lines = form_lines(form.get("regels"))
    more = add and lines < MAX_LINES
    filled = read_form(form, layout, catalogues, lines + (1 if more else 0))
    # the ids of a line do not depend on the catalogue
    focus = line_fields(layout, catalogues.versions[-1], lines)[0].id if more else None
    return FilledForm(filled.values, filled.lines), focus


def form_context(
    filled: FilledForm, layout: FormLayout, catalogues: CatalogueSet, *, focus: str | None = None
) -> dict[str, Any]:
    """What the claim form's templates show: its sections, its lines with the choice list of
    the catalogue for the typed reference date, the typed values and their problems."""
    catalogue = catalogue_for_form(catalogues, filled.values.get("reference_date", ""))
    return {
        "sections": claim_sections(layout),
        "lines": [line_fields(layout, catalogue, j) for j in range(filled.lines)],
        "form": filled,
        "focus": focus,
        "max_lines": MAX_LINES,
        "catalogue": catalogue,
    }
