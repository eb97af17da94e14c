"""Rendering the pages: one jinja2 environment over `forms/pages/`, autoescaped, strict.

The words people read are data in `forms/pages/` (the templates and `texts.yaml`), like the
letters in `forms/letters/`. Every page answers with a Content-Security-Policy that allows no
script and no inline style at all: the pages need neither (they work without JavaScript), and
the policy keeps an injected script from running if escaping ever failed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from vangnet import yamlfile
from vangnet.exceptions import DataError
from vangnet.money import format_eur, format_number
from vangnet.paths import FORMS_DIR

__all__ = ["PAGES_DIR", "PAGE_CSP", "environment", "page", "render_text", "texts"]

PAGES_DIR = FORMS_DIR / "pages"

# No script, no inline style, no framing; forms post only to vangnet itself. The components'
# CSS uses a few `data:` images (check marks, arrows).
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'"
)

_TEXT_KEYS = ("site", "months", "outcomes", "effects", "line_statuses", "ruleset_statuses",
              "bases", "changes", "levels", "errors", "outcome_explanations",
              "form_help", "claim_statuses", "claim_status_explanations", "attachment_kinds",
              "media_types", "besluit_kinds")  # fmt: skip
# the time people read: the Netherlands'
_NL = ZoneInfo("Europe/Amsterdam")


@lru_cache(maxsize=4)
def texts(directory: Path = PAGES_DIR) -> dict[str, Any]:
    """The shared words of the pages (`texts.yaml`); `DataError` names what is missing."""
    path = directory / "texts.yaml"
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path.name}: niet leesbaar als YAML: {exc}") from None
    missing = [k for k in _TEXT_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise DataError(f"{path.name}: ontbreekt: {', '.join(missing)}")
    if len(data["months"]) != 12:
        raise DataError(f"{path.name}: months noemt twaalf maanden")
    result: dict[str, Any] = data
    return result


def _eur(value: Any) -> str:
    return "" if value is None else format_eur(Decimal(str(value)))


def _number(value: Any, decimals: int = 0) -> str:
    return "" if value is None else format_number(Decimal(str(value)), decimals)


def _quantity(value: Any) -> str:
    """An amount of units in Dutch notation, without needless decimals: 2,5 and 12."""
    if value is None:
        return ""
    d = Decimal(str(value))
    return format_number(d, 0 if d == d.to_integral_value() else 2)


def _day(value: Any) -> str:
    """A date in words: 1 maart 2016."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return f"{day.day} {texts()['months'][day.month - 1]} {day.year}"


def _moment(value: Any) -> str:
    """A moment (UTC, as the API writes it) in Dutch time: 1 maart 2016, 14:05."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    local = moment.astimezone(_NL)
    return f"{_day(local.date())}, {local.hour:02d}:{local.minute:02d}"


def _size(value: Any) -> str:
    """A file size in words people read: 850 bytes, 12 kB, 2,4 MB."""
    n = int(value)
    if n < 1000:
        return f"{n} bytes"
    if n < 1_000_000:
        return f"{format_number(Decimal(n) / 1000, 0)} kB"
    return f"{format_number(Decimal(n) / 1_000_000, 1)} MB"


@lru_cache(maxsize=4)
def environment(directory: Path = PAGES_DIR) -> Environment:
    """The page templates: autoescaped (every template is HTML), undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        eur=_eur, number=_number, quantity=_quantity, day=_day, moment=_moment, size=_size
    )
    env.globals["t"] = texts(directory)
    return env


def render_text(name: str, **context: Any) -> str:
    """A template rendered to text (for tests and for the error pages)."""
    return environment().get_template(name).render(**context)


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page `name` (a template in `forms/pages/`) as an HTML response with the page CSP.

    Every template gets `request`, `path` and `user` (the signed-in account, or None)."""
    values: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "user": getattr(request.state, "page_user", None),
    }
    values.update(context or {})
    html = render_text(name, **values)
    out = {"Content-Security-Policy": PAGE_CSP, **(headers or {})}
    return HTMLResponse(html, status_code=status, headers=out)
