"""The style sheets of the pages: the NL Design System CSS of the Rijkshuisstijl community and
vangnet's own few rules, served from a fixed list of files.

The community's CSS comes from `node_modules` (installed with npm from the committed lockfile:
the design tokens are licensed for government use only and are never copied into this
repository). The route serves exactly the files named here and nothing else under
`node_modules`; there is no CDN and no directory listing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException

from vangnet.paths import PROJECT_ROOT
from vangnet.web.render import PAGES_DIR

__all__ = ["STYLE_SHEETS", "router"]

_NPM = PROJECT_ROOT / "node_modules" / "@rijkshuisstijl-community"

# the URL name of each style sheet and the one file it is
STYLE_SHEETS: dict[str, Path] = {
    "huisstijl-tokens.css": _NPM / "design-tokens" / "dist" / "index.css",
    "huisstijl-componenten.css": _NPM / "components-css" / "dist" / "index.css",
    "vangnet.css": PAGES_DIR / "vangnet.css",
}

router = APIRouter(include_in_schema=False)


@router.get("/stijl/{name}")
async def style_sheet(name: str) -> FileResponse:
    path = STYLE_SHEETS.get(name)
    if path is None or not path.is_file():
        raise HTTPException(404)
    # the security middleware adds no-store only where a response sets no Cache-Control
    return FileResponse(
        path,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )
