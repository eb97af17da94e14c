"""Publishing a ruleset or catalogue version: draft, approval by a second rule owner, publication.

A published version is what decides claims, so no one person can put one in force. The path:

    draft (concept)  a regelbeheerder submits a version file; it is validated with the same
                     loader that will read it once published (errors name file and rule or
                     row) and stored, bytes and hash, in `regelset_concept`, with the data of
                     its changelog entry derived from the version it follows
    approve          another regelbeheerder approves it (never its author: `authz` refuses it,
                     and the database's CHECK `approved_by <> author_id` holds too); or rejects
                     it, with a reason
    publish          only an approved draft, never by its author: the files are written under
                     the repository root (`rulesets/<scheme>/<valid_from>.yaml`, or
                     `calculators/catalogue/<valid_from>.yaml` with its `.csv`), the hash is
                     pinned in `rulesets/manifest.json`, an entry is appended to `CHANGELOG.md`
                     and the row becomes `gepubliceerd`, which a trigger keeps as it is

Publication is all or nothing. Every file is written under a temporary name beside its target
and renamed into place; the row's UPDATE and the audit entry are flushed before the first
rename (so a database refusal touches no file), the manifest is checked after the last one, and
when anything fails before the commit the new files are removed and the manifest and changelog
get their old bytes back. Publications are serialised by the database (the transaction takes
SQLite's write lock at its start, and a PostgreSQL advisory lock), so two never interleave their
edits of the manifest.

Closing an open version. A successor of a version published open (`valid_to: null`) closes it
on the day before the successor's `valid_from`, in the same publication: the end date is added
to the manifest's `closed` section beside the predecessor's pin (`vangnet.manifest`), never
written into its file, whose hash the receipts of past decisions pin; the loaders apply it
(`vangnet.validity`). The changelog entry names it (`afgesloten versie`). Any other overlap
with a published version is refused, as is a version that starts on or before the open one.

Every step writes its audit entry in the step's own transaction, so both are stored or neither
is; a refusal by `authz` is a `Refused`, recorded by whoever catches it (the API's refusal
handler; the command line). Free text (the summary, a rejection's reason) is stored with the
draft, never in the audit log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from vangnet import yamlfile
from vangnet.catalogue import Catalogue, load_catalogue, load_catalogues
from vangnet.exceptions import DataError, VangnetError
from vangnet.manifest import MANIFEST, PinError, check_manifest, manifest_with_pins, read_manifest
from vangnet.money import format_eur
from vangnet.paths import PROJECT_ROOT
from vangnet.rules_diff import RulesetDiff, diff_rulesets
from vangnet.ruleset import Ruleset, load_ruleset, load_rulesets
from vangnet.service.audit import AuditEvent, AuditLog
from vangnet.service.authz import ObjectRef, authorize
from vangnet.service.db import WRITE
from vangnet.service.identity import Identity
from vangnet.service.models import Account, RegelsetConcept
from vangnet.service.settings import Settings
from vangnet.validity import Closure, describe_periods, find_overlap

__all__ = [
    "CATALOGUE_SCHEME",
    "CHANGELOG",
    "CHANGE_KINDS",
    "Concept",
    "ConceptError",
    "Regelbeheer",
    "Soort",
    "ValidatedVersion",
    "changelog_entry",
    "changelog_with_entry",
    "validate_version",
]

Soort = Literal["regelset", "catalogus"]
CATALOGUE_SCHEME = "catalogus"  # the `scheme` of a catalogue draft (catalogues have no id)
CHANGELOG = "CHANGELOG.md"
OBJECT_TYPE = "regelset_concept"
MAX_TOELICHTING = 1000
MAX_REDEN = 500
# PostgreSQL advisory lock id for publications ("publ"); SQLite's write lock does the same
_PUBLISH_LOCK = 0x7075626C

# The kinds of change a changelog entry names (Dutch, as people read them in the command line
# and the API) with the English words of CHANGELOG.md (a document, in English like the others).
CHANGE_KINDS: dict[str, str] = {
    "nieuwe regelset": "new ruleset",
    "nieuwe catalogus": "new catalogue",
    "nieuwe geldigheidsperiode": "new validity period, content otherwise unchanged",
    "nieuwe regel": "new rule",
    "vervallen regel": "removed rule",
    "gewijzigde regel": "changed rule",
    "gewijzigde volgorde": "changed order of rules",
    "nieuwe parameter": "new parameter",
    "vervallen parameter": "removed parameter",
    "gewijzigde parameter": "changed parameter",
    "nieuwe bron": "new source",
    "vervallen bron": "removed source",
    "gewijzigde bron": "changed source",
    "nieuwe weergavewaarde": "new display value",
    "vervallen weergavewaarde": "removed display value",
    "gewijzigde weergavewaarde": "changed display value",
    "gewijzigde gegevens": "changed metadata",
    "nieuwe maatregel": "new measure",
    "vervallen maatregel": "removed measure",
    "gewijzigde referentieprijs": "changed reference price",
    "gewijzigde maatregel": "changed measure",
    "afgesloten versie": "closed in the manifest (its file unchanged)",
}
_KIND_WORD = {"added": "nieuwe", "removed": "vervallen", "changed": "gewijzigde"}
# metadata that differs between any two versions, so it is no change of content
_PERIOD_FIELDS = {"version", "valid_from", "valid_to"}
# how many subjects of one kind the changelog names before it counts the rest
_NAMED = 8


class ConceptError(VangnetError):
    """A draft step that cannot be done: `code` says why (the API's status follows from it),
    the message says it in Dutch and names the file, field or draft."""

    STATUS: Mapping[str, int] = {"ongeldig": 400, "niet_gevonden": 404, "conflict": 409}

    def __init__(
        self, code: Literal["ongeldig", "niet_gevonden", "conflict"], message: str
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return self.STATUS[self.code]


# --- validating a version ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidatedVersion:
    """A version file (and a catalogue's items) that the loader accepts, ready to store."""

    soort: Soort
    scheme: str
    version: str
    valid_from: date
    valid_to: date | None
    sha256: str  # the content hash the manifest pins (comments do not count)
    # path under the repository root -> bytes, in the order they are written
    files: dict[str, bytes]
    status: str | None  # a ruleset's status (wet, interpretatie, simulatie)

    @property
    def key(self) -> str:
        return f"{self.scheme}@{self.version}"

    @property
    def period(self) -> str:
        return describe_periods([self])


_ITEMS_NAME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\.csv")


def _soort_of(raw: Any) -> Soort:
    """A catalogue names its items file; anything else is read as a ruleset."""
    return "catalogus" if isinstance(raw, dict) and "items_file" in raw else "regelset"


def validate_version(
    name: str, content: bytes, items: bytes | None = None
) -> tuple[ValidatedVersion, Ruleset | Catalogue]:
    """Validate a version file called `name` (and a catalogue's items file) with the loader
    that reads published versions; `ConceptError("ongeldig")` with the loader's own message
    (file, rule or row, field) otherwise."""
    if not re.fullmatch(r"[^/\\\x00]{1,100}\.ya?ml", name) or name.startswith("."):
        raise ConceptError("ongeldig", f"{name[:100]!r}: de naam van een versiebestand is"
                           " JJJJ-MM-DD.yaml (de datum van valid_from)")  # fmt: skip
    for what, data in ((name, content), ("het bestand met maatregelen", items or b"")):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConceptError(
                "ongeldig", f"{what}: is geen tekst in UTF-8 (fout bij byte {exc.start})"
            ) from None
    try:
        # an alias can multiply what the content hash has to serialise (and no published
        # version uses one)
        has_alias = any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(content))
        raw = yamlfile.safe_load(content)
    except yaml.YAMLError:
        has_alias, raw = False, None  # the loader says what is wrong, naming the file
    if has_alias:
        raise ConceptError("ongeldig", f"{name}: gebruik geen YAML-verwijzingen (&anker en"
                           " *verwijzing); schrijf elke waarde uit")  # fmt: skip
    soort = _soort_of(raw)
    with tempfile.TemporaryDirectory(prefix="vangnet-concept-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            if soort == "regelset":
                rs = load_ruleset(path)
                folder = f"rulesets/{rs.id}/{rs.valid_from.isoformat()}.yaml"
                return ValidatedVersion(
                    soort="regelset",
                    scheme=rs.id,
                    version=rs.version,
                    valid_from=rs.valid_from,
                    valid_to=rs.valid_to,
                    sha256=rs.sha256,
                    files={folder: content},
                    status=rs.spec.status,
                ), rs
            assert isinstance(raw, dict)  # noqa: S101 - _soort_of read a mapping
            items_name = raw["items_file"]
            expected = f"{Path(name).stem}.csv"
            if not isinstance(items_name, str) or not _ITEMS_NAME.fullmatch(items_name):
                raise ConceptError("ongeldig", f"{name}: items_file moet {expected} zijn (het"
                                   " bestand naast de catalogus, met dezelfde datum)")  # fmt: skip
            if items_name != expected:
                raise ConceptError(
                    "ongeldig", f"{name}: items_file is {items_name}, maar moet {expected} zijn"
                )
            if items is None:
                raise ConceptError(
                    "ongeldig", f"{name}: het bestand met maatregelen ({items_name}) ontbreekt"
                )
            (Path(tmp) / items_name).write_bytes(items)
            cat = load_catalogue(path)
        except DataError as exc:
            raise ConceptError("ongeldig", str(exc)) from None
        except (ValueError, TypeError, RecursionError) as exc:
            # what the loaders do not word themselves: a key outside ASCII, an integer beyond
            # 2^53, an alias that contains itself (the content hash cannot be made)
            raise ConceptError(
                "ongeldig",
                f"{name}: kan niet als versie worden gelezen ({str(exc)[:200]}); gebruik"
                " sleutels in ASCII, grote getallen als tekst, en geen verwijzing naar zichzelf",
            ) from None
    day = cat.valid_from.isoformat()
    return ValidatedVersion(
        soort="catalogus",
        scheme=CATALOGUE_SCHEME,
        version=day,
        valid_from=cat.valid_from,
        valid_to=cat.valid_to,
        sha256=cat.sha256,
        files={
            f"calculators/catalogue/{day}.yaml": content,
            f"calculators/catalogue/{day}.csv": items,
        },
        status=None,
    ), cat


def _pack(v: ValidatedVersion) -> bytes:
    """What `regelset_concept.content` holds: a ruleset's YAML bytes as they are; a catalogue's
    two files as one JSON object (also YAML) of file name -> text."""
    if v.soort == "regelset":
        (content,) = v.files.values()
        return content
    files = {Path(p).name: b.decode("utf-8") for p, b in v.files.items()}
    return json.dumps({"bestanden": files}, ensure_ascii=False, indent=1).encode("utf-8")


def _unpack(row: RegelsetConcept) -> tuple[str, bytes, bytes | None]:
    """The file name, content and items of a stored draft (the reverse of `_pack`)."""
    name = f"{row.valid_from.isoformat()}.yaml"
    if row.soort == "regelset":
        return name, row.content, None
    files: dict[str, str] = json.loads(row.content)["bestanden"]
    items = files.get(f"{row.valid_from.isoformat()}.csv")
    return name, files[name].encode("utf-8"), None if items is None else items.encode("utf-8")


# --- the changelog's data ---------------------------------------------------------------------


def _change(
    kind: str, subject: str, old: str | None = None, new: str | None = None
) -> dict[str, Any]:
    return {"soort": kind, "onderwerp": subject, "oud": old, "nieuw": new}


def _ruleset_changes(d: RulesetDiff) -> list[dict[str, Any]]:
    out = []
    for m in d.metadata:
        if m.field not in _PERIOD_FIELDS:
            out.append(_change("gewijzigde gegevens", m.field, m.old_text, m.new_text))
    for items, noun in ((d.sources, "bron"), (d.parameters, "parameter"),
                        (d.values, "weergavewaarde")):  # fmt: skip
        for item in items:
            kind = f"{_KIND_WORD[item.kind]} {noun}"
            out.append(_change(kind, item.name, item.old_value, item.new_value))
    for r in d.rules:
        out.append(_change(f"{_KIND_WORD[r.kind]} regel", r.id))
    for o in d.order:
        level = "per maatregel" if o.level == "line" else "per aanvraag"
        out.append(_change("gewijzigde volgorde", f"regels {level}", ", ".join(o.old),
                           ", ".join(o.new)))  # fmt: skip
    return out


def _price(value: Any) -> str:
    return "geen" if value is None else format_eur(value)


def _catalogue_changes(old: Catalogue, new: Catalogue) -> list[dict[str, Any]]:
    out = []
    meta = ("title", "categories", "package_items", "price_bases", "units")
    for name in meta:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            out.append(_change("gewijzigde gegevens", name))
    for code in old.items.keys() - new.items.keys():
        out.append(_change("vervallen maatregel", code))
    for code, item in new.items.items():
        before = old.items.get(code)
        if before is None:
            out.append(
                _change("nieuwe maatregel", code, None, _price(item.reference_unit_price_eur))
            )
            continue
        a, b = before.reference_unit_price_eur, item.reference_unit_price_eur
        if a != b:
            out.append(_change("gewijzigde referentieprijs", code, _price(a), _price(b)))
        skip = {"reference_unit_price_eur", "price_date"}
        ca, cb = before.canonical(), item.canonical()
        fields = sorted(k for k in ca if k not in skip and ca[k] != cb[k])
        if fields:
            out.append(_change("gewijzigde maatregel", code, None, ", ".join(fields)))
    return sorted(out, key=lambda c: (c["soort"], c["onderwerp"]))


def _version_key(v: Ruleset | Catalogue) -> str:
    """`SCHEME@VERSION`, or `catalogus@VALID_FROM` for a catalogue."""
    if isinstance(v, Ruleset):
        return v.key
    return f"{CATALOGUE_SCHEME}@{v.valid_from.isoformat()}"


def _predecessor(versions: Sequence[Any], valid_from: date) -> Any | None:
    """The published version a new one follows: the latest that starts before it."""
    earlier = [v for v in versions if v.valid_from < valid_from]
    return max(earlier, key=lambda v: v.valid_from) if earlier else None


# --- a draft as it is shown -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concept:
    """A draft with its people as pseudonyms: for `vangnet rules drafts`, the API and the
    auditor page."""

    id: str
    soort: str
    scheme: str
    version: str
    valid_from: date
    status: str
    sha256: str
    author: str
    created_at: datetime
    approver: str | None
    approved_at: datetime | None
    published_at: datetime | None
    changelog: Mapping[str, Any] = field(default_factory=dict)
    rejected_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.scheme}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        c = self.changelog
        rejection = c.get("afwijzing")
        return {
            "id": self.id,
            "soort": self.soort,
            "regeling": self.scheme,
            "versie": self.version,
            "geldig_vanaf": self.valid_from.isoformat(),
            "geldigheid": c.get("geldigheid"),
            "status": self.status,
            "sha256": self.sha256,
            "auteur": self.author,
            "ingediend_op": _iso(self.created_at),
            "goedgekeurd_door": self.approver,
            "goedgekeurd_op": None if self.approved_at is None else _iso(self.approved_at),
            "gepubliceerd_op": None if self.published_at is None else _iso(self.published_at),
            "afgewezen_door": self.rejected_by,
            "afgewezen_op": None if rejection is None else rejection["op"],
            "reden_afwijzing": None if rejection is None else rejection["reden"],
            "toelichting": c.get("toelichting"),
            "vorige_versie": c.get("vorige_versie"),
            "wijzigingen": list(c.get("wijzigingen", [])),
            "bestanden": list(c.get("bestanden", [])),
        }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the changelog entry ----------------------------------------------------------------------


def _subjects(changes: list[dict[str, Any]]) -> str:
    parts = []
    for c in changes[:_NAMED]:
        part = f"`{c['onderwerp']}`"
        if c["oud"] is not None and c["nieuw"] is not None:
            part += f" ({c['oud']} → {c['nieuw']})"
        elif c["nieuw"] is not None:
            part += f" ({c['nieuw']})"
        parts.append(part)
    if len(changes) > _NAMED:
        parts.append(f"and {len(changes) - _NAMED} more")
    return ", ".join(parts)


def changelog_entry(concept: Concept, published_on: date, author: str, approver: str) -> str:
    """The bullet of CHANGELOG.md for a publication, wrapped at 100 columns."""
    c = concept.changelog
    valid = _period_en(concept.valid_from, c.get("valid_to"))
    previous = c.get("vorige_versie")
    if concept.soort == "regelset":
        what = "New ruleset version" if previous else "New ruleset"
        head = f"**{what}** `{concept.scheme}` {concept.version} ({c.get('status')}), {valid}"
        if previous:
            head += f", after {previous.partition('@')[2]}"
    else:
        what = "New catalogue version" if previous else "New catalogue"
        head = f"**{what}** {valid}"
        if previous:
            head += f", after the version of {previous.partition('@')[2]}"
    groups: dict[str, list[dict[str, Any]]] = {}
    for change in c.get("wijzigingen", []):
        groups.setdefault(change["soort"], []).append(change)
    kinds = []
    for kind, changes in groups.items():
        subjects = _subjects(changes) if changes[0]["onderwerp"] else ""
        kinds.append(f"{CHANGE_KINDS[kind]} {subjects}".rstrip())
    text = head + ". Changes: " + "; ".join(kinds) + "."
    text += f" Summary: {c['toelichting']}"
    if not text.endswith((".", "!", "?")):
        text += "."
    approved = c.get("goedgekeurd_op", "")
    text += (
        f" Drafted by `{author}` ({_iso(concept.created_at)[:10]}), approved by `{approver}`"
        f" ({approved[:10]}), published {published_on.isoformat()}. "
        + ", ".join(f"`{p}`" for p in c.get("bestanden", []))
        + "."
    )
    wrapper = textwrap.TextWrapper(
        width=100,
        initial_indent="- ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapper.fill(text) + "\n"


def _period_en(valid_from: date, valid_to: str | None) -> str:
    if valid_to is None:
        return f"valid from {valid_from.isoformat()}, open"
    return f"valid {valid_from.isoformat()} to {valid_to}"


def changelog_with_entry(current: str, entry: str, published_on: date) -> str:
    """CHANGELOG.md with `entry` appended under the heading of `published_on` (a new heading
    when the last one is of another day)."""
    heading = f"## {published_on.isoformat()}"
    headings = [line for line in current.splitlines() if line.startswith("## ")]
    body = current.rstrip("\n") + "\n"
    if headings and headings[-1] == heading:
        return body + entry
    return body + f"\n{heading}\n\n" + entry


# --- writing files all or nothing -------------------------------------------------------------


class _Files:
    """New files and replaced files under `root`, undone unless `keep()` is called."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[Path] = []
        self.replaced: list[tuple[Path, bytes]] = []
        self.temps: list[Path] = []

    def _temp(self, target: Path, content: bytes) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        temp = Path(name)
        self.temps.append(temp)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        return temp

    def stage(self, relative: str, content: bytes) -> tuple[Path, Path]:
        """Write `content` beside its target under a temporary name; (temp, target)."""
        target = self.root / relative
        return self._temp(target, content), target

    def create(self, temp: Path, target: Path) -> None:
        if target.exists():
            raise ConceptError("conflict", f"{target.relative_to(self.root)} bestaat al; een"
                               " gepubliceerde versie verandert nooit")  # fmt: skip
        _replace(temp, target)
        self.temps.remove(temp)
        self.created.append(target)

    def replace(self, temp: Path, target: Path) -> None:
        old = target.read_bytes()
        _replace(temp, target)
        self.temps.remove(temp)
        self.replaced.append((target, old))

    def undo(self) -> None:
        """Remove the new files and the temporary ones; give replaced files their old bytes."""
        for path in self.created:
            path.unlink(missing_ok=True)
        for path, old in reversed(self.replaced):
            _replace(self._temp(path, old), path)
            self.temps.pop()
        for temp in self.temps:
            temp.unlink(missing_ok=True)


def _replace(temp: Path, target: Path) -> None:
    """Rename `temp` onto `target` (atomic on one file system); a seam for failure tests."""
    os.replace(temp, target)


# --- the workflow -----------------------------------------------------------------------------


class Regelbeheer:
    """Drafts of rule versions in one database, published under one repository root.

    `root`: where `rulesets/`, `calculators/`, the manifest and CHANGELOG.md live (default: the
    project root, or VANGNET_HOME); tests publish into a copy. `clock`: the time."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        root: Path = PROJECT_ROOT,
        audit: AuditLog | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.root = root
        self.audit = audit or AuditLog.from_settings(settings)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)

    # --- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    def _record(
        self, session: Session, who: Identity, action: str, row: RegelsetConcept, **extra: Any
    ) -> None:
        details = {"soort": row.soort, "regeling": row.scheme, "versie": row.version,
                   "sha256": row.sha256, **extra}  # fmt: skip
        self.audit.append(
            session,
            AuditEvent(
                actor=who.actor,
                action=action,
                result="gelukt",
                origin=who.origin[:64],
                object_type=OBJECT_TYPE,
                object_id=row.id,
                details=details,
            ),
        )

    def _find(self, session: Session, ref: str, *, lock: bool = False) -> RegelsetConcept:
        """A draft by its id or as SCHEME@VERSION (`catalogus@2025-01-01` for a catalogue)."""
        query = select(RegelsetConcept)
        if "@" in ref:
            scheme, _, version = ref.partition("@")
            query = query.where(
                RegelsetConcept.scheme == scheme, RegelsetConcept.version == version
            )
        else:
            query = query.where(RegelsetConcept.id == ref)
        if lock:
            query = query.with_for_update()
        rows = session.scalars(query).all()
        if len(rows) != 1:
            raise ConceptError("niet_gevonden", f"Er is geen concept {ref[:80]}.")
        return rows[0]

    @staticmethod
    def _object(row: RegelsetConcept) -> ObjectRef:
        return ObjectRef(kind="concept", id=row.id, account_id=row.author_id)

    def _published(self) -> tuple[dict[str, tuple[Ruleset, ...]], tuple[Catalogue, ...]]:
        """The versions published under the root now."""
        try:
            rulesets = load_rulesets(self.root / "rulesets")
            catalogues = load_catalogues(self.root / "calculators" / "catalogue").versions
        except DataError as exc:
            raise ConceptError(
                "conflict", f"De gepubliceerde versies laden niet: {exc}. Herstel dat eerst."
            ) from None
        return rulesets, catalogues

    def _check_against_published(
        self, v: ValidatedVersion
    ) -> tuple[Any | None, dict[str, str] | None]:
        """Refuse a version that exists or overlaps; the published version it follows, and
        the closure of that version when it is open (path, key, end date, closed by)."""
        rulesets, catalogues = self._published()
        pinned = read_manifest(self.root)
        for path in v.files:
            if path in pinned or (self.root / path).exists():
                raise ConceptError("conflict", f"{path} bestaat al; een gepubliceerde versie"
                                   " verandert nooit: kies een nieuwe valid_from")  # fmt: skip
        siblings: list[Any] = list(
            rulesets.get(v.scheme, ()) if v.soort == "regelset" else catalogues
        )
        if v.soort == "regelset" and any(s.version == v.version for s in siblings):
            raise ConceptError("conflict", f"{v.key} is al gepubliceerd; een gepubliceerde versie"
                               " verandert nooit: kies een nieuw versienummer")  # fmt: skip
        previous = _predecessor(siblings, v.valid_from)
        closing = None
        if previous is not None and previous.valid_to is None:
            # the open predecessor ends the day before; checked below like any period
            closure = Closure(v.valid_from - timedelta(days=1), v.key)
            closed = (
                dataclasses.replace(previous, closure=closure)
                if isinstance(previous, Ruleset)
                else dataclasses.replace(previous, valid_to=closure.valid_to, closure=closure)
            )
            siblings = [closed if s is previous else s for s in siblings]
            previous = closed
            closing = {
                "bestand": previous.path.relative_to(self.root).as_posix(),
                "versie": _version_key(previous),
                "valid_to": closure.valid_to.isoformat(),
                "door": closure.by,
            }
        overlap = find_overlap([*siblings, v])
        if overlap is not None:
            a, b = overlap
            other = b if a is v else a
            label = other.version if v.soort == "regelset" else other.valid_from.isoformat()
            raise ConceptError(
                "conflict",
                f"{v.key} ({v.period}) overlapt met de gepubliceerde versie {label}"
                f" ({describe_periods([other])}). Een gepubliceerde versie verandert nooit, ook"
                " haar einddatum niet; kies een periode die daarna begint.",
            )
        return previous, closing

    def _changelog(self, v: ValidatedVersion, loaded: Ruleset | Catalogue) -> dict[str, Any]:
        previous, closing = self._check_against_published(v)
        changes: list[dict[str, Any]]
        if previous is None:
            kind = "nieuwe regelset" if v.soort == "regelset" else "nieuwe catalogus"
            changes = [_change(kind, "")]
            previous_key = None
        elif isinstance(loaded, Ruleset):
            changes = _ruleset_changes(diff_rulesets(previous, loaded))
            previous_key = previous.key
        else:
            changes = _catalogue_changes(previous, loaded)
            previous_key = f"{CATALOGUE_SCHEME}@{previous.valid_from.isoformat()}"
        if not changes:
            changes = [_change("nieuwe geldigheidsperiode", "")]
        if closing is not None:
            changes.append(
                _change("afgesloten versie", closing["versie"], "open", closing["valid_to"])
            )
        return {
            "wijzigingen": changes,
            "afsluiting": closing,
            "vorige_versie": previous_key,
            "geldigheid": v.period,
            "valid_to": None if v.valid_to is None else v.valid_to.isoformat(),
            "bestanden": list(v.files),
            "status": v.status,
        }

    # --- the steps --------------------------------------------------------------------------

    def draft(
        self,
        who: Identity,
        name: str,
        content: bytes,
        toelichting: str,
        items: bytes | None = None,
    ) -> Concept:
        """Submit version file `name` (a catalogue with its items file) as a draft, with a
        summary for the changelog. Refuses an invalid file (naming file and rule, row or
        field), a version that is published, drafted or overlaps a published one."""
        authorize(who, "regelset_concepten", "opstellen")
        summary = _free_text("toelichting", toelichting, MAX_TOELICHTING)
        version, loaded = validate_version(name, content, items)
        changelog = {**self._changelog(version, loaded), "toelichting": summary}
        try:
            with self._writing() as session:
                for row in session.scalars(
                    select(RegelsetConcept).where(
                        RegelsetConcept.soort == version.soort,
                        RegelsetConcept.scheme == version.scheme,
                    )
                ):
                    if row.version == version.version or (
                        row.valid_from == version.valid_from and row.status != "afgewezen"
                    ):
                        raise ConceptError(
                            "conflict",
                            f"Er is al een concept van {row.scheme}@{row.version} (status"
                            f" {row.status}, id {row.id}); een versienummer en een valid_from"
                            " worden één keer gebruikt",
                        )
                row = RegelsetConcept(
                    id=uuid.uuid4().hex,
                    soort=version.soort,
                    scheme=version.scheme,
                    version=version.version,
                    valid_from=version.valid_from,
                    content=_pack(version),
                    sha256=version.sha256,
                    changelog=changelog,
                    status="concept",
                    author_id=who.account_id,
                    created_at=self._clock(),
                    approved_by=None,
                    approved_at=None,
                    published_at=None,
                )
                session.add(row)
                session.flush()
                self._record(session, who, "concept.indienen", row)
                return self._concept(session, row)
        except IntegrityError:
            raise ConceptError(
                "conflict",
                f"Er is al een concept van {version.key}; een versienummer wordt één keer gebruikt",
            ) from None

    def approve(self, who: Identity, ref: str) -> Concept:
        """Approve a draft: another regelbeheerder than its author."""
        authorize(who, "regelset_concepten", "goedkeuren")
        with self._writing() as session:
            row = self._find(session, ref, lock=True)
            authorize(who, "regelset_concepten", "goedkeuren", self._object(row))
            _expect(row, "concept", "goedkeuren")
            now = self._clock()
            row.status = "goedgekeurd"
            row.approved_by = who.account_id
            row.approved_at = now
            row.changelog = {**row.changelog, "goedgekeurd_op": now.date().isoformat()}
            session.flush()
            self._record(session, who, "concept.goedkeuren", row)
            return self._concept(session, row)

    def reject(self, who: Identity, ref: str, reden: str) -> Concept:
        """Reject a draft (or an approved one not yet published), with a reason: another
        regelbeheerder than its author. The version number stays used; a new draft takes a
        new one."""
        authorize(who, "regelset_concepten", "goedkeuren")
        reason = _free_text("reden", reden, MAX_REDEN)
        with self._writing() as session:
            row = self._find(session, ref, lock=True)
            authorize(who, "regelset_concepten", "goedkeuren", self._object(row))
            _expect(row, ("concept", "goedgekeurd"), "afwijzen")
            row.status = "afgewezen"
            row.changelog = {
                **row.changelog,
                "afwijzing": {"door": who.account_id, "op": _iso(self._clock()), "reden": reason},
            }
            session.flush()
            self._record(session, who, "concept.afwijzen", row)
            return self._concept(session, row)

    def publish(self, who: Identity, ref: str) -> Concept:
        """Publish an approved draft: files, manifest pin, changelog entry and status, all or
        nothing. Never by its author; a published version is never published again."""
        authorize(who, "regelset_concepten", "goedkeuren")
        files = _Files(self.root)
        try:
            with self._writing() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.connection().exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({_PUBLISH_LOCK})"
                    )
                row = self._find(session, ref, lock=True)
                authorize(who, "regelset_concepten", "goedkeuren", self._object(row))
                _expect(row, "goedgekeurd", "publiceren")
                name, content, items = _unpack(row)
                version, loaded = validate_version(name, content, items)
                if version.sha256 != row.sha256:
                    raise ConceptError("conflict", f"Het concept {row.id} is niet meer wat werd"
                                       " goedgekeurd (de hash verschilt)")  # fmt: skip
                now = self._clock()
                # derived again: another version may have been published since the draft
                changelog = {**row.changelog, **self._changelog(version, loaded),
                             "gepubliceerd_op": now.date().isoformat()}  # fmt: skip
                row.status = "gepubliceerd"
                row.published_at = now
                row.changelog = changelog
                session.flush()
                self._record(session, who, "concept.publiceren", row,
                             bestanden=list(version.files))  # fmt: skip
                concept = self._concept(session, row)
                self._write_files(files, version, concept, now.date())
            return concept
        except BaseException:
            files.undo()
            raise

    def _write_files(
        self, files: _Files, v: ValidatedVersion, concept: Concept, today: date
    ) -> None:
        """Stage every file, then rename: the version's files, the manifest, the changelog."""
        pins = _pins(v)
        closing = concept.changelog.get("afsluiting")
        closures = {}
        if closing is not None:
            day = date.fromisoformat(closing["valid_to"])
            closures[closing["bestand"]] = Closure(day, closing["door"])
        try:
            manifest = manifest_with_pins(self.root, pins, closures)
        except PinError as exc:
            raise ConceptError("conflict", str(exc)) from None
        changelog_path = self.root / CHANGELOG
        entry = changelog_entry(concept, today, concept.author, concept.approver or "")
        changelog = changelog_with_entry(changelog_path.read_text(encoding="utf-8"), entry, today)
        staged = [files.stage(path, content) for path, content in v.files.items()]
        manifest_temp, manifest_target = files.stage(MANIFEST, manifest.encode("utf-8"))
        log_temp, log_target = files.stage(CHANGELOG, changelog.encode("utf-8"))
        for temp, target in staged:
            files.create(temp, target)
        files.replace(manifest_temp, manifest_target)
        files.replace(log_temp, log_target)
        problems = [p for p in check_manifest(self.root) if p.split(":")[0] in {*pins, *closures}]
        if problems:
            raise ConceptError("conflict", "Na het schrijven klopt het manifest niet: "
                               + "; ".join(problems))  # fmt: skip
        self._published()  # the tree, closures applied, loads without overlap

    # --- reading ----------------------------------------------------------------------------

    def get(self, who: Identity, ref: str) -> Concept:
        """One draft (regelbeheerders)."""
        authorize(who, "regelset_concepten", "lezen")
        with self._read() as session, session.begin():
            return self._concept(session, self._find(session, ref))

    def drafts(self, who: Identity, status: str | None = None) -> list[Concept]:
        """Every draft, newest first (regelbeheerders); `status` filters."""
        authorize(who, "regelset_concepten", "lezen")
        return self.overview(status)

    def overview(self, status: str | None = None) -> list[Concept]:
        """Every draft with who drafted, approved or rejected it and when, newest first: the
        data of the auditor page (its caller checks who may read it)."""
        author, approver = aliased(Account), aliased(Account)
        query = (
            select(RegelsetConcept, author.pseudoniem, approver.pseudoniem)
            .join(author, author.id == RegelsetConcept.author_id)
            .outerjoin(approver, approver.id == RegelsetConcept.approved_by)
            .order_by(RegelsetConcept.created_at.desc(), RegelsetConcept.id)
        )
        if status is not None:
            query = query.where(RegelsetConcept.status == status)
        with self._read() as session, session.begin():
            rows = session.execute(query).all()
            rejecters = _pseudonyms(
                session,
                {
                    r.changelog["afwijzing"]["door"]
                    for r, _, _ in rows
                    if "afwijzing" in r.changelog
                },
            )
            return [_as_concept(r, a, b, rejecters) for r, a, b in rows]

    def _concept(self, session: Session, row: RegelsetConcept) -> Concept:
        ids = {row.author_id, row.approved_by}
        rejection = row.changelog.get("afwijzing")
        if rejection is not None:
            ids.add(rejection["door"])
        names = _pseudonyms(session, {i for i in ids if i is not None})
        return _as_concept(row, names[row.author_id], names.get(row.approved_by or ""), names)


def _pins(v: ValidatedVersion) -> dict[str, str]:
    """What the manifest pins: the version's YAML file (a catalogue's hash covers its items)."""
    (path,) = [p for p in v.files if p.endswith(".yaml")]
    return {path: v.sha256}


def _pseudonyms(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Account.id, Account.pseudoniem).where(Account.id.in_(ids)))
    return {str(i): str(p) for i, p in rows}


def _as_concept(
    row: RegelsetConcept, author: str, approver: str | None, names: Mapping[str, str]
) -> Concept:
    rejection = row.changelog.get("afwijzing")
    return Concept(
        id=row.id,
        soort=row.soort,
        scheme=row.scheme,
        version=row.version,
        valid_from=row.valid_from,
        status=row.status,
        sha256=row.sha256,
        author=author,
        created_at=row.created_at,
        approver=approver,
        approved_at=row.approved_at,
        published_at=row.published_at,
        changelog=dict(row.changelog),
        rejected_by=None if rejection is None else names.get(rejection["door"]),
    )


_STATUS_NL = {
    "concept": "een concept",
    "goedgekeurd": "goedgekeurd",
    "gepubliceerd": "gepubliceerd; een gepubliceerde versie verandert nooit",
    "afgewezen": "afgewezen; dien een nieuwe versie in",
}


def _expect(row: RegelsetConcept, allowed: str | tuple[str, ...], action: str) -> None:
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    if row.status not in allowed:
        needed = " of ".join(allowed)
        raise ConceptError(
            "conflict",
            f"{action.capitalize()} kan niet: {row.scheme}@{row.version} is"
            f" {_STATUS_NL[row.status]} (alleen bij status {needed}).",
        )


def _free_text(name: str, raw: str, limit: int) -> str:
    text = " ".join(raw.split())
    if not text:
        raise ConceptError("ongeldig", f"{name}: is verplicht; schrijf in één of twee zinnen"
                           " wat er verandert en waarom")  # fmt: skip
    if len(text) > limit:
        raise ConceptError("ongeldig", f"{name}: hoogstens {limit} tekens, niet {len(text)}")
    return text
