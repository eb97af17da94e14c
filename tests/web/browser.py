"""What the browser tests share: the service on a free port, Debian's chromium driven by
Playwright (never `playwright install`; headless, no sandbox, background networking off), key
presses only, and axe-core on every page a journey saw.

axe-core comes from `node_modules/axe-core` and is injected into a JavaScript-enabled context
that bypasses the pages' CSP (which forbids scripts); a page is served again from the HTML the
journey captured, on the service's own address, so its style sheets load as they did. With
VANGNET_SCREENSHOTS=1 the pages named in `SCREENSHOT_PAGES` are saved in docs/screenshots/ at
the size of the viewport.

A module that imports this skips when /usr/bin/chromium is missing, except in CI (CI set),
where it must run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vangnet.evaluate import Decider
from vangnet.paths import PROJECT_ROOT
from vangnet.service.app import create_app
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

CHROMIUM = Path("/usr/bin/chromium")
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PASSWORD = "een lang genoeg wachtwoord"  # noqa: S105 - test accounts
# the screenshots kept in the repository: the main pages, one each (docs/screenshots/)
SCREENSHOT_PAGES = frozenset(
    {
        "uitslag",
        "regelset",
        "aanvrager-aanvraag",
        "beoordelaar-wachtrij",
        "beoordelaar-aanvraag",
        "auditor-besluit",
    }
)
SCREENSHOT_WIDTH, SCREENSHOT_HEIGHT = 1024, 768

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "/usr/bin/chromium is missing (apt-get install chromium, or make setup as root);"
        " in CI this test must run",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, Route, sync_playwright  # noqa: E402

__all__ = [
    "AXE",
    "PASSWORD",
    "Browser",
    "Journey",
    "Page",
    "axe_violations",
    "choose",
    "choose_file",
    "focused",
    "launch",
    "press_button",
    "press_link",
    "serve",
    "tab_to",
    "type_in",
]


@dataclass
class Journey:
    """The pages a journey saw: (name, address, html) in order."""

    base: str
    pages: list[tuple[str, str, str]] = field(default_factory=list)

    def seen(self, page: Page, name: str) -> None:
        assert "Er ging iets mis" not in page.title(), f"{name}: the page failed"
        self.pages.append((name, page.url, page.content()))
        if os.environ.get("VANGNET_SCREENSHOTS") == "1" and name in SCREENSHOT_PAGES:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            size = page.viewport_size
            page.set_viewport_size({"width": SCREENSHOT_WIDTH, "height": SCREENSHOT_HEIGHT})
            try:
                png = page.screenshot(full_page=False)
            finally:
                if size is not None:
                    page.set_viewport_size(size)
            _save_small(png, SCREENSHOTS / f"{name}.png")


def _save_small(png: bytes, path: Path) -> None:
    """A screenshot as a PNG of at most 256 colours (the pages have few): a fraction of the
    size of the browser's, for the repository."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(path, format="PNG", optimize=True)


@contextmanager
def serve(data_dir: Path, workers: EngineWorkers, validator: Decider) -> Iterator[tuple[str, Any]]:
    """The service on a free port of 127.0.0.1, in a thread of this process: (address, app)."""
    import uvicorn

    settings = Settings(env="test", data_dir=data_dir)
    app = create_app(settings, workers=workers, validator=validator)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


@contextmanager
def launch() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        try:
            yield b
        finally:
            b.close()


# --- keyboard helpers ------------------------------------------------------------------------


def focused(page: Page) -> dict[str, Any]:
    """What has the focus: its id, tag and text (read by the test, not by the page)."""
    info: dict[str, Any] = page.evaluate(
        "() => { const e = document.activeElement;"
        " return {id: e.id, tag: e.tagName, text: (e.innerText || e.value || '').trim()}; }"
    )
    return info


def tab_to(
    page: Page,
    *,
    id: str | None = None,
    text: str | None = None,
    starts: str | None = None,
    limit: int = 600,
) -> None:
    """Press Tab until the element with this id (or this text, or a text that starts so)
    has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if (
            (id is not None and now["id"] == id)
            or (text is not None and now["text"] == text)
            or (starts is not None and now["text"].startswith(starts))
        ):
            return
    raise AssertionError(f"Tab never reached {id or text or starts!r}")


def type_in(page: Page, field_id: str, keys: str) -> None:
    """Tab to a field, clear it with the keyboard, and type."""
    tab_to(page, id=field_id)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(keys)


def choose(page: Page, field_id: str, label_start: str) -> None:
    """Tab to a closed select and type the start of an option's label (type-ahead)."""
    tab_to(page, id=field_id)
    page.keyboard.type(label_start)


def press_button(page: Page, text: str) -> None:
    """Tab to a button or link with this text and press Enter: the next page loads."""
    tab_to(page, text=text)
    with page.expect_navigation():
        page.keyboard.press("Enter")


press_link = press_button


def choose_file(page: Page, field_id: str, path: Path) -> None:
    """Tab to a file input and open its file dialog with the space bar; the dialog (which a
    headless browser does not draw) gets the file. On a busy machine the dialog's event can
    be missed; the key is then pressed again (a person would too)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab_to(page, id=field_id)
    for attempt in range(3):
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeout:
            assert focused(page)["id"] == field_id, "the focus left the file input"
            if attempt == 2:
                raise
            continue
        chooser.value.set_files(str(path))
        return


# --- axe-core ----------------------------------------------------------------------------------


def _serve_html(html: str) -> Any:
    def handler(route: Route) -> None:
        route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")

    return handler


def axe_violations(browser: Browser, journey: Journey) -> dict[str, list[str]]:
    """axe-core's WCAG A/AA violations per page, each page loaded as the journey saw it."""
    assert AXE.exists(), "node_modules/axe-core is missing: run make setup (npm ci)"
    context = browser.new_context(java_script_enabled=True, bypass_csp=True)
    found: dict[str, list[str]] = {}
    try:
        for n, (name, url, html) in enumerate(journey.pages):
            address = f"{journey.base}/__axe__/{n}"
            context.route(address, _serve_html(html))
            page = context.new_page()
            page.goto(address)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "async (tags) => await axe.run(document,"
                " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                WCAG,
            )
            problems = [
                f"{v['id']} ({v['impact']}): {v['help']} at "
                + ", ".join(str(node["target"]) for node in v["nodes"][:3])
                for v in result["violations"]
            ]
            if problems:
                found[f"{name} ({url})"] = problems
            page.close()
    finally:
        context.close()
    return found
