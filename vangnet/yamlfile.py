"""Reading vangnet's YAML data files (rulesets, catalogues, forms, pages' texts).

One loader for all of them: PyYAML's safe loader, in C (libyaml) when PyYAML was built with
it, which reads the rulesets about ten times faster than the pure-Python one and so shortens
the start of every command. Both build the same objects from the same text (only safe tags);
their error messages differ in wording, and every caller reports them as "niet leesbaar als
YAML" with the file name, whichever loader read it.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["safe_load"]

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    """The one YAML document in `text`, with only the safe tags (as `yaml.safe_load`)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506  (a safe loader)
