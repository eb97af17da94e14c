"""Adding the pages to the root application (`vangnet.service.app.create_app` calls this)."""

from __future__ import annotations

from fastapi import FastAPI

from vangnet.web import aanvrager, account, auditor, beoordelaar, precheck, public, static
from vangnet.web.errors import install_error_pages

__all__ = ["install_pages"]


def install_pages(app: FastAPI) -> None:
    """Mount the pages and the style sheets outside `/v1`, with error pages in the house style
    (the API under `/v1` keeps its problem+json)."""
    for module in (static, public, precheck, account, beoordelaar, auditor):
        app.include_router(module.router)
    app.include_router(aanvrager.router)  # the finance officer's pages
    install_error_pages(app)
