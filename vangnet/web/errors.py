"""Error pages in the house style for everything outside `/v1` (the API keeps problem+json).

Two parts, because of where Starlette handles what:
- `PageRoute` is the route class of every page: a page that needs an account answers with the
  login page when nobody is signed in (`vangnet.web.access.SignedOut`); an unexpected error
  inside a page becomes the 500 page here, before it could reach the security middleware
  (which answers the API's 500 problem). Nothing about the error reaches the browser; the log
  gets the route and the kind of error, never a value (a claim's contents describe threatened
  people).
- `install_error_pages` replaces the root application's handlers for HTTP errors (404, 405,
  ...) and invalid requests with pages; under `/v1` it keeps answering problems.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from vangnet.service.problems import http_exception_handler
from vangnet.web.access import SignedOut, login_redirect
from vangnet.web.render import page, texts

__all__ = ["PageRoute", "error_page", "install_error_pages"]

_log = logging.getLogger(__name__)

API_PREFIX = "/v1"


def error_page(
    request: Request,
    status: int,
    *,
    headers: dict[str, str] | None = None,
    seconds: int | None = None,
) -> Response:
    """The error page for `status` (its words: `errors` in `forms/pages/texts.yaml`)."""
    words = texts()["errors"]
    entry = words.get(str(status), words["other"])
    text = entry["text"].format(seconds=seconds if seconds is not None else 60)
    context = {"status": status, "title": entry["title"], "text": text}
    return page(request, "fout.html.j2", context, status=status, headers=headers)


class PageRoute(APIRoute):
    """A page's route: an unexpected error becomes the 500 page (see the module text)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        path = self.path

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignedOut:
                return login_redirect(request)
            except (StarletteHTTPException, RequestValidationError):
                raise
            except Exception as exc:  # noqa: BLE001 - a page never shows a traceback
                _log.error("pagina %s: onverwachte fout (%s)", path, type(exc).__name__)
                return error_page(request, 500)

        return guarded


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
    if request.url.path == API_PREFIX or request.url.path.startswith(API_PREFIX + "/"):
        return await http_exception_handler(request, exc)
    return error_page(request, exc.status_code, headers=dict(exc.headers or {}))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    return error_page(request, 400)


def install_error_pages(app: FastAPI) -> None:
    """Answer HTTP errors outside `/v1` with pages (the mounted API has its own handlers)."""
    handlers: dict[Any, Any] = {
        StarletteHTTPException: _http_error,
        RequestValidationError: _invalid_request,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
