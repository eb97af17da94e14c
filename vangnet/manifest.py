"""The manifest of published versions: the content hash of every ruleset, catalogue and
changeable-facts file.

`rulesets/manifest.json` pins each published version. A published file never changes: a
change is a new dated file with its own entry. `check_manifest` reports every file whose hash
differs from its pin, every pin without a file, and every file without a pin.

A pin is only ever added, never replaced or removed: `manifest_with_pins` (used by publishing,
`vangnet.service.regelbeheer`) refuses a path that is pinned already, and writes the file in
the layout it has (two-space JSON, pins in the order they were published), so that a
publication is one added line in review.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from vangnet.canonical import canonical_json
from vangnet.catalogue import load_catalogue
from vangnet.paths import PROJECT_ROOT
from vangnet.ruleset import load_ruleset

__all__ = [
    "MANIFEST",
    "PinError",
    "check_manifest",
    "current_hashes",
    "data_sha256",
    "manifest_with_pins",
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
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
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


def manifest_with_pins(root: Path, pins: Mapping[str, str]) -> str:
    """The text of the manifest under `root` with `pins` (path -> sha256) added at the end.

    Raises `PinError` (in Dutch) when a path is pinned already, or a hash is not a SHA-256."""
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    published: dict[str, str] = data["published"]
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
    return problems
