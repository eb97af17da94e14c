"""Errors as RFC 9457 `application/problem+json`, in Dutch, the same shape everywhere."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from vangnet.exceptions import ClaimError, EngineFailure, NoRulesetError, Problem

__all__ = [
    "PROBLEM_JSON",
    "ApiProblem",
    "ProblemDetail",
    "ProblemOut",
    "api_problem_handler",
    "engine_problem",
    "http_exception_handler",
    "internal_error_handler",
    "problem_response",
    "refusal_problem",
    "validation_exception_handler",
    "worker_refusal",
]

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Ongeldige invoer",
    401: "Niet aangemeld",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegestaan",
    406: "Gevraagde vorm niet beschikbaar",
    409: "Conflict",
    413: "Te groot",
    415: "Niet-ondersteund mediatype",
    429: "Te veel verzoeken",
    500: "Interne fout",
    503: "Tijdelijk niet beschikbaar",
}


class ProblemDetail(BaseModel):
    """One problem with one field."""

    field: str
    value: str | None = None
    message: str


class ProblemOut(BaseModel):
    """An RFC 9457 problem document, with vangnet's `code` and `problems` extensions."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | None = None
    problems: list[ProblemDetail] | None = None
    current_status: str | None = None
    allowed_transitions: list[str] | None = None


class ApiProblem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.problems = problems
        self.headers = headers
        self.extensions = extensions


def problem_response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    problems: list[Problem] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem document; `extensions` are further members (declared in `ProblemOut`)."""
    body: dict[str, Any] = {
        "type": f"urn:vangnet:probleem:{code}" if code else "about:blank",
        "title": _TITLES.get(status, "Fout"),
        "status": status,
        "detail": detail,
    }
    if code is not None:
        body["code"] = code
    if problems is not None:
        body["problems"] = [p.as_dict() for p in problems]
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def refusal_problem(error: ClaimError | NoRulesetError) -> ApiProblem:
    """The contract's refusal as a 400 problem."""
    return ApiProblem(400, error.message, code=error.code, problems=error.problems)


async def api_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)  # noqa: S101 - registered for ApiProblem only
    return problem_response(
        exc.status,
        exc.detail,
        code=exc.code,
        problems=exc.problems,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    detail = {
        404: f"Er is geen bron op {request.url.path}.",
        405: f"De methode {request.method} is hier niet toegestaan.",
    }.get(exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method of every route on this path (Starlette names only the first route's).
    The routes are listed in `app.state.route_methods` (see app.py)."""
    table: list[tuple[re.Pattern[str], set[str]]] = getattr(request.app.state, "route_methods", [])
    path: str = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    methods = {m for regex, route_methods in table if regex.match(path) for m in route_methods}
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(sorted(methods, key=lambda m: (order.index(m) if m in order else 99, m)))


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header")]
    return ".".join(parts) or "(verzoek)"


async def validation_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Invalid path, query or header values: 400 (never 422) listing every problem."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    problems = [
        Problem(_loc(tuple(e["loc"])), None if e.get("input") is None else str(e["input"])[:80],
                "heeft een ongeldige waarde")
        for e in exc.errors()
    ]  # fmt: skip
    return problem_response(
        400, "Het verzoek is ongeldig.", code="ongeldig_verzoek", problems=problems
    )


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Any unexpected error: a 500 problem that reveals nothing of the error itself."""
    return problem_response(500, "Er ging iets mis in vangnet; probeer het opnieuw.")


def engine_problem(exc: Exception) -> ApiProblem:
    """An engine worker's failure as a problem: 503 when the engine fell over (a fresh process
    takes over), 500 for any other failed evaluation."""
    if isinstance(exc, EngineFailure):
        return ApiProblem(503, str(exc), code="regelengine_uitgevallen")
    return ApiProblem(500, str(exc), code="beoordeling_mislukt")


def worker_refusal(result: dict[str, Any]) -> ApiProblem:
    """A refusal an engine worker returned, as the 400 problem of the contract."""
    error = result["error"]
    problems = [Problem(p["field"], p["value"], p["message"]) for p in error["problems"]]
    return ApiProblem(400, error["message"], code=error["code"], problems=problems)
