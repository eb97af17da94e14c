"""The project's own dated copies of the spec's catalogue and scenarios still equal the source in
`../shared/spec/` (when that folder is present: a clone works on its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "spec"
PUBLIC = ROOT / "tests" / "scenarios" / "public"
CATALOGUE_COPY = ROOT / "calculators" / "catalogue" / "2016-02-10.csv"

pytestmark = pytest.mark.skipif(
    not SPEC.is_dir(), reason=f"{SPEC} is not present: nothing to compare the copies with"
)


def _shared_scenarios() -> list[Path]:
    return sorted((SPEC / "scenarios").glob("*.json")) if SPEC.is_dir() else []


def test_the_catalogue_copy_equals_the_spec() -> None:
    source = SPEC / "measures-2016.csv"
    assert CATALOGUE_COPY.read_bytes() == source.read_bytes(), (
        f"{CATALOGUE_COPY.relative_to(ROOT)} differs from {source}: a changed catalogue is a new"
        " dated version, never an edit of this copy"
    )


def test_there_are_shared_scenarios() -> None:
    assert _shared_scenarios(), f"no scenarios in {SPEC / 'scenarios'}"


@pytest.mark.parametrize("source", _shared_scenarios(), ids=lambda p: p.name)
def test_every_shared_scenario_has_an_identical_copy(source: Path) -> None:
    copy = PUBLIC / source.name
    assert copy.is_file(), f"{source.name} has no copy in {PUBLIC.relative_to(ROOT)}"
    assert copy.read_bytes() == source.read_bytes(), (
        f"{copy.relative_to(ROOT)} differs from {source}"
    )


def test_every_copy_comes_from_the_spec() -> None:
    names = {p.name for p in _shared_scenarios()}
    extra = sorted(p.name for p in PUBLIC.glob("*.json") if p.name not in names)
    assert not extra, f"copies without a source in {SPEC / 'scenarios'}: {extra}"
