"""The measure catalogue: dated versions of measures with neutral reference prices.

Each version is a pair of files in `calculators/catalogue/`: `<valid_from>.yaml` (validity,
source, the closed value sets) and the items file it names (the CSV of the spec, every column).
Loading validates every row and names the file and row of the first problem; each version gets
a SHA-256 over its canonical content, so a decision can cite exactly the prices it used.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from vangnet import yamlfile
from vangnet.canonical import canonical_json
from vangnet.exceptions import CatalogueError
from vangnet.money import to_json_number
from vangnet.paths import CALCULATORS_DIR
from vangnet.validity import Closure, effective_valid_to, find_overlap, in_force, read_closures

__all__ = [
    "Catalogue",
    "CatalogueItem",
    "CatalogueSet",
    "load_catalogue",
    "load_catalogues",
]

COLUMNS = (
    "code",
    "name_nl",
    "unit",
    "category",
    "reference_unit_price_eur",
    "price_basis",
    "price_source",
    "price_date",
    "pkvw_equivalent",
    "package_2021",
    "recurring",
)
_META_KEYS = {
    "valid_from",
    "valid_to",
    "title",
    "items_file",
    "source",
    "units",
    "categories",
    "package_items",
    "categories_without_price",
    "price_bases",
}


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One measure of the catalogue with its neutral reference price."""

    code: str
    name_nl: str
    unit: str
    category: str
    reference_unit_price_eur: Decimal | None
    price_basis: str
    price_source: str
    price_date: date
    pkvw_equivalent: str | None
    package_2021: str | None
    recurring: bool

    @property
    def is_estimate(self) -> bool:
        return self.price_basis == "schatting"

    def canonical(self) -> dict[str, Any]:
        price = self.reference_unit_price_eur
        return {
            "code": self.code,
            "name_nl": self.name_nl,
            "unit": self.unit,
            "category": self.category,
            "reference_unit_price_eur": None if price is None else to_json_number(price),
            "price_basis": self.price_basis,
            "price_source": self.price_source,
            "price_date": self.price_date.isoformat(),
            "pkvw_equivalent": self.pkvw_equivalent,
            "package_2021": self.package_2021,
            "recurring": self.recurring,
        }


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One dated version of the catalogue."""

    valid_from: date
    valid_to: date | None
    title: str
    source: Mapping[str, Any]
    categories: Mapping[str, str]
    package_items: Mapping[str, str]
    price_bases: Mapping[str, str]
    items: Mapping[str, CatalogueItem]
    sha256: str
    path: Path
    units: tuple[str, ...] = field(default=())
    # the end date recorded beside the pin when the version was closed (then `valid_to`); the
    # file, and so `sha256`, is unchanged
    closure: Closure | None = None

    def get(self, code: str | None) -> CatalogueItem | None:
        return None if code is None else self.items.get(code)


class CatalogueSet:
    """All catalogue versions; picks the one in force on a date."""

    def __init__(self, versions: Sequence[Catalogue]) -> None:
        overlap = find_overlap(versions)
        if overlap:
            a, b = overlap
            raise CatalogueError(
                f"{b.path.name}: de geldigheid overlapt met {a.path.name}"
                " (binnen de catalogus mogen versies elkaar niet overlappen)"
            )
        self.versions = tuple(sorted(versions, key=lambda v: v.valid_from))

    def in_force(self, day: date) -> Catalogue | None:
        return in_force(self.versions, day)


# A reference price is a plain amount (no sign, no exponent, at most two decimals); a price date
# is YYYY-MM-DD only (`date.fromisoformat` would also take '20261128' or '2026-W48-6').
_PRICE = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _fail(path: Path, row: int | None, text: str) -> CatalogueError:
    where = f"{path.name}, rij {row}" if row is not None else path.name
    return CatalogueError(f"{where}: {text}")


def _date(value: Any, path: Path, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _fail(path, None, f"{what} is geen datum (JJJJ-MM-DD): {value!r}") from None


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(path, None, f"is geen tekst in UTF-8 (fout bij byte {exc.start})") from None
    except RecursionError:
        raise _fail(path, None, "te diep genest om te lezen") from None
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path, None, f"niet leesbaar als YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise _fail(path, None, "moet een YAML-object zijn")
    missing = sorted(_META_KEYS - {"valid_to"} - meta.keys())
    if missing:
        raise _fail(path, None, f"ontbrekende sleutels: {', '.join(missing)}")
    unknown = sorted(meta.keys() - _META_KEYS)
    if unknown:
        raise _fail(path, None, f"onbekende sleutels: {', '.join(unknown)}")
    return meta


def _item(row: dict[str, str], meta: dict[str, Any], path: Path, n: int) -> CatalogueItem:
    code = row["code"].strip()
    if not code:
        raise _fail(path, n, "code is leeg")
    if row["unit"] not in meta["units"]:
        raise _fail(path, n, f"onbekende eenheid {row['unit']!r} bij {code}")
    category = row["category"]
    if category not in meta["categories"]:
        raise _fail(path, n, f"onbekende categorie {category!r} bij {code}")
    package = row["package_2021"] or None
    if package is not None and package not in meta["package_items"]:
        raise _fail(path, n, f"onbekend pakketonderdeel {package!r} bij {code}")
    raw_price = row["reference_unit_price_eur"].strip()
    price: Decimal | None = None
    if raw_price:
        if not _PRICE.fullmatch(raw_price):
            raise _fail(
                path,
                n,
                f"referentieprijs {raw_price!r} bij {code} is geen bedrag"
                " (een getal van 0 of meer met hoogstens twee decimalen, bijvoorbeeld 2600.50)",
            )
        price = Decimal(raw_price).quantize(Decimal("0.01"))
    elif category not in meta["categories_without_price"]:
        raise _fail(path, n, f"referentieprijs ontbreekt bij {code} (categorie {category})")
    if row["price_basis"] not in meta["price_bases"]:
        raise _fail(path, n, f"onbekende prijsgrondslag {row['price_basis']!r} bij {code}")
    try:
        if not _ISO_DATE.fullmatch(row["price_date"]):
            raise ValueError(row["price_date"])
        price_date = date.fromisoformat(row["price_date"])
    except ValueError:
        raise _fail(
            path, n, f"prijsdatum {row['price_date']!r} bij {code} is geen datum (JJJJ-MM-DD)"
        ) from None
    if row["recurring"] not in ("yes", "no"):
        raise _fail(path, n, f"recurring moet yes of no zijn bij {code}")
    return CatalogueItem(
        code=code,
        name_nl=row["name_nl"],
        unit=row["unit"],
        category=category,
        reference_unit_price_eur=price,
        price_basis=row["price_basis"],
        price_source=row["price_source"],
        price_date=price_date,
        pkvw_equivalent=row["pkvw_equivalent"] or None,
        package_2021=package,
        recurring=row["recurring"] == "yes",
    )


def load_catalogue(meta_path: Path) -> Catalogue:
    """Load and validate one catalogue version from its YAML file (and the items it names)."""
    meta = _read_meta(meta_path)
    valid_from = _date(meta["valid_from"], meta_path, "valid_from")
    raw_to = meta.get("valid_to")
    valid_to = None if raw_to is None else _date(raw_to, meta_path, "valid_to")
    if meta_path.stem != valid_from.isoformat():
        raise _fail(meta_path, None, f"de bestandsnaam moet {valid_from.isoformat()}.yaml zijn")
    if valid_to is not None and valid_to < valid_from:
        raise _fail(meta_path, None, "valid_to ligt voor valid_from")
    items_path = meta_path.parent / str(meta["items_file"])
    try:
        with items_path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise _fail(items_path, 1, f"de kolommen moeten zijn: {', '.join(COLUMNS)}")
            items: dict[str, CatalogueItem] = {}
            rows: dict[str, int] = {}
            for row in reader:
                # the row as a spreadsheet numbers it (header = 1), also after a blank line
                n = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise _fail(items_path, n, "verkeerd aantal kolommen")
                item = _item(row, meta, items_path, n)
                if item.code in items:
                    raise _fail(
                        items_path, n, f"dubbele code {item.code} (ook in rij {rows[item.code]})"
                    )
                items[item.code] = item
                rows[item.code] = n
    except OSError as exc:
        raise _fail(items_path, None, f"niet leesbaar: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        # the rows before the bad byte were read; the reader's count is the row it was in
        raise _fail(
            items_path,
            None,
            f"is geen tekst in UTF-8 (fout bij byte {exc.start} van een blok); sla het bestand"
            " op als CSV in UTF-8",
        ) from None
    if not items:
        raise _fail(items_path, None, "bevat geen maatregelen")
    for item in items.values():
        if item.pkvw_equivalent is None:
            continue
        n = rows[item.code]
        eq = items.get(item.pkvw_equivalent)
        if eq is None:
            raise _fail(
                items_path,
                n,
                f"PKVW-equivalent {item.pkvw_equivalent} bij {item.code} bestaat niet",
            )
        if eq.reference_unit_price_eur is None:
            raise _fail(
                items_path,
                n,
                f"PKVW-equivalent {eq.code} bij {item.code} heeft geen referentieprijs",
            )
    canonical = {
        "valid_from": valid_from.isoformat(),
        "valid_to": None if valid_to is None else valid_to.isoformat(),
        "title": meta["title"],
        "source": meta["source"],
        "units": list(meta["units"]),
        "categories": meta["categories"],
        "package_items": meta["package_items"],
        "categories_without_price": list(meta["categories_without_price"]),
        "price_bases": meta["price_bases"],
        "items": [i.canonical() for i in items.values()],
    }
    try:
        sha256 = hashlib.sha256(canonical_json(canonical)).hexdigest()
    except (TypeError, ValueError, RecursionError) as exc:
        raise _fail(
            meta_path,
            None,
            f"de inhoud kan niet worden vastgelegd ({str(exc)[:200]}); gebruik sleutels in"
            " ASCII, geen kommagetallen buiten aanhalingstekens en grote getallen als tekst",
        ) from None
    return Catalogue(
        valid_from=valid_from,
        valid_to=valid_to,
        title=str(meta["title"]),
        source=meta["source"],
        categories=dict(meta["categories"]),
        package_items=dict(meta["package_items"]),
        price_bases=dict(meta["price_bases"]),
        items=items,
        sha256=sha256,
        path=meta_path,
        units=tuple(meta["units"]),
    )


def load_catalogues(directory: Path | None = None, *, manifest: Path | None = None) -> CatalogueSet:
    """Load every catalogue version in `directory` (default `calculators/catalogue/`).

    A version closed in the manifest (default `rulesets/manifest.json` of the tree that holds
    `directory`, i.e. `directory/../../rulesets/manifest.json`; see `vangnet.validity`) gets
    the recorded end date as its `valid_to`; a file whose own end date contradicts it is
    refused."""
    directory = directory or CALCULATORS_DIR / "catalogue"
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise CatalogueError(f"{directory}: geen catalogusversies gevonden")
    if manifest is None:
        manifest = directory.parent.parent / "rulesets" / "manifest.json"
    try:
        closures = read_closures(manifest)
    except ValueError as exc:
        raise CatalogueError(str(exc)) from None
    versions = []
    for path in paths:
        cat = load_catalogue(path)
        closure = closures.get(f"calculators/catalogue/{path.name}")
        if closure is not None:
            try:
                end = effective_valid_to(cat.valid_from, cat.valid_to, closure, path.name)
            except ValueError as exc:
                raise CatalogueError(str(exc)) from None
            cat = dataclasses.replace(cat, valid_to=end, closure=closure)
        versions.append(cat)
    return CatalogueSet(versions)
