"""Shared fixtures and the hypothesis profiles (CI: fixed seed, no deadline)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_SCENARIOS = ROOT / "tests" / "scenarios" / "public"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def catalogues():  # type: ignore[no-untyped-def]
    from vangnet.catalogue import load_catalogues

    return load_catalogues()
