"""The manifest of published versions: the content hash of every ruleset, catalogue and
changeable-facts file.

`rulesets/manifest.json` pins each published version. A published file never changes: a
change is a new dated file with its own entry. `check_manifest` reports every file whose hash
differs from its pin, every pin without a file, and every file without a pin.

A pin is only ever added, never replaced or removed: `manifest_with_pins` (used by publishing,
`vangnet.service.regelbeheer`) refuses a path that is pinned already, and writes the file in
the layout it has (two-space JSON, pins in the order they were published), so that a
publication is one added line in review.

A version published open (`valid_to: null`) is closed, when its successor is published, by an
entry in the manifest's `closed` section beside its pin, never by an edit of its file (that
would change its hash and the receipts that cite it):

    "closed": {
      "rulesets/vangnet/2016-02-10.yaml": {"valid_to": "2029-12-31", "by": "vangnet@2030.1"}
    }

The loaders apply it as the version's end date (`vangnet.validity`). A closure, too, is only
ever added: a version is closed once, and only a pinned one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from vangnet import yamlfile
from vangnet.canonical import canonical_json
from vangnet.catalogue import load_catalogue
from vangnet.paths import PROJECT_ROOT
from vangnet.ruleset import load_ruleset
from vangnet.validity import Closure, effective_valid_to, read_closures

__all__ = [
    "MANIFEST",
    "PinError",
    "check_manifest",
    "current_hashes",
    "data_sha256",
    "manifest_with_pins",
    "read_closures",
    "read_manifest",
]

MANIFEST = "rulesets/manifest.json"


def current_hashes(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The content hash of every ruleset and catalogue version file under `root`."""
    out: dict[str, str] = {}
    for path in sorted((root / "rulesets").glob("*/*.yaml")):
        out[path.relative_to(root).as_posix()] = load_ruleset(path).sha256
    for path in sorted((root / "calculators" / "catalogue").glob("*.yaml")):
        out[path.relative_to(root).as_posix()] = load_catalogue(path).sha256
    for path in sorted((root / "calculators" / "counterfactuals").glob("*.yaml")):
        out[path.relative_to(root).as_posix()] = data_sha256(path)
    return out


def data_sha256(path: Path) -> str:
    """SHA-256 over the canonical JSON of a YAML data file (comments do not count)."""
    data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    return hashlib.sha256(canonical_json(_plain(data))).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def read_manifest(root: Path = PROJECT_ROOT) -> dict[str, str]:
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    return dict(data["published"])


class PinError(ValueError):
    """A path is pinned already: a published version never gets a second pin."""


def manifest_with_pins(
    root: Path, pins: Mapping[str, str], closures: Mapping[str, Closure] | None = None
) -> str:
    """The text of the manifest under `root` with `pins` (path -> sha256) added at the end,
    and `closures` (path -> `Closure`) at the end of its `closed` section.

    Raises `PinError` (in Dutch) when a path is pinned already, or a hash is not a SHA-256; or
    a closure names a path that is not pinned or is closed already."""
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    published: dict[str, str] = data["published"]
    if closures:
        closed: dict[str, Any] = data.setdefault("closed", {})
        for path, closure in closures.items():
            if path not in published:
                raise PinError(f"{path}: kan niet worden afgesloten, want het is niet gepubliceerd")
            if path in closed:
                raise PinError(
                    f"{path} is al afgesloten (t/m {closed[path].get('valid_to')}); een versie"
                    " wordt één keer afgesloten"
                )
            closed[path] = closure.as_json()
    for path, sha in pins.items():
        if path in published:
            raise PinError(
                f"{path} is al gepubliceerd (gepind {published[path][:12]}…); een gepubliceerde"
                " versie verandert nooit"
            )
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise PinError(f"{path}: {sha!r} is geen SHA-256 (64 hexadecimale tekens)")
        published[path] = sha
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def check_manifest(root: Path = PROJECT_ROOT) -> list[str]:
    """Problems (in Dutch) with the published versions; empty when all is pinned and intact."""
    pinned = read_manifest(root)
    current = current_hashes(root)
    problems = []
    for path, sha in sorted(pinned.items()):
        if path not in current:
            problems.append(f"{path}: gepubliceerd maar het bestand ontbreekt")
        elif current[path] != sha:
            problems.append(
                f"{path}: de inhoud is veranderd na publicatie (gepind {sha[:12]}…, nu"
                f" {current[path][:12]}…); een wijziging is een nieuw gedateerd bestand"
            )
    problems += [
        f"{p}: niet gepubliceerd (geen pin in {MANIFEST})"
        for p in sorted(current)
        if p not in pinned
    ]
    return problems + _closure_problems(root, pinned)


def _closure_problems(root: Path, pinned: Mapping[str, str]) -> list[str]:
    """Closures that are malformed, of a version that is not pinned, or that contradict it."""
    try:
        closures = read_closures(root / MANIFEST)
    except ValueError as exc:
        return [f"{MANIFEST}: {exc}"]
    problems = []
    for path, closure in closures.items():
        if path not in pinned:
            problems.append(f"{path}: afgesloten in {MANIFEST}, maar niet gepubliceerd")
            continue
        if not (root / path).exists():
            continue  # reported above as a pin without a file
        if path.startswith("rulesets/"):
            version: Any = load_ruleset(root / path).spec
        elif path.startswith("calculators/catalogue/"):
            version = load_catalogue(root / path)
        else:
            problems.append(f"{path}: alleen regelsets en catalogi worden afgesloten")
            continue
        try:
            effective_valid_to(version.valid_from, version.valid_to, closure, path)
        except ValueError as exc:
            problems.append(str(exc))
    return problems
