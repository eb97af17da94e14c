"""Where the declarative content lives: the project's top-level data folders."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CALCULATORS_DIR", "FORMS_DIR", "PROJECT_ROOT", "RULESETS_DIR"]

# The data folders sit beside the package in the repository; VANGNET_HOME points elsewhere
# (an installed copy, or a test that works on edited copies of the data).
PROJECT_ROOT = Path(os.environ.get("VANGNET_HOME", Path(__file__).resolve().parent.parent))
RULESETS_DIR = PROJECT_ROOT / "rulesets"
CALCULATORS_DIR = PROJECT_ROOT / "calculators"
FORMS_DIR = PROJECT_ROOT / "forms"
