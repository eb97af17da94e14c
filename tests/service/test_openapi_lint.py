"""The OpenAPI document passes the NL GOV API Design Rules linter (Spectral) with 0 errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED
from vangnet.service.app import openapi_document
from vangnet.service.settings import Settings

SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
RULESET = SHARED / "adr" / "ruleset.yaml"


def test_spectral_reports_no_errors(tmp_path: Path) -> None:
    if not SPECTRAL.exists() or not RULESET.exists():
        if os.environ.get("CI"):
            pytest.fail("Spectral or ../shared/adr/ruleset.yaml is missing in CI; run make setup")
        pytest.skip("Spectral (make setup) or ../shared/adr/ruleset.yaml not present")
    doc = tmp_path / "openapi.json"
    doc.write_text(json.dumps(openapi_document(Settings(env="test"))))
    result = subprocess.run(
        [str(SPECTRAL), "lint", "-r", str(RULESET), "--fail-severity", "error", str(doc)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No results with a severity of 'error'" in result.stdout
