"""The application: `/v1` (the API) mounted in a root app that will also serve the pages.

At start-up the lifespan opens the database and applies pending migrations, makes the audit
log (`AuditLog`, its key outside the database), the accounts (`Accounts`: sessions, tokens;
their changes go to the audit log) and the store, then starts the engine workers (unless
given); at shut-down it closes both. Who is asking is resolved per request
(`deps.IdentityDep`); what they may do is `authz`, whose refusals are answered by
`authz.refusal_handler` after they are written to the audit log.

Middleware on every response: `API-Version`, `Cache-Control: no-store`, `nosniff`,
frame-ancestors none, HSTS; CORS is open for the OpenAPI document only.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from vangnet.evaluate import Decider
from vangnet.service import crypto
from vangnet.service.accounts import Accounts
from vangnet.service.audit import AuditLog
from vangnet.service.audit_buffer import AuditBuffer
from vangnet.service.authz import Refused, refusal_handler
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.middleware import SecurityHeaders
from vangnet.service.openapi import API_VERSION, build_openapi
from vangnet.service.problems import (
    ApiProblem,
    api_problem_handler,
    http_exception_handler,
    internal_error_handler,
    validation_exception_handler,
)
from vangnet.service.pseudonyms import Pseudonymiser, pseudonym_key
from vangnet.service.ratelimit import RateLimiter
from vangnet.service.routes import (
    aanvragen,
    beheer,
    besluiten,
    bijlagen,
    concepten,
    evaluaties,
    health,
    regelsets,
    tokens,
    verbetermogelijkheden,
)
from vangnet.service.settings import Settings
from vangnet.service.store import Store
from vangnet.web.mount import install_pages
from vangnet.workers import EngineWorkers

__all__ = ["create_app", "openapi_document"]


def _api(settings: Settings) -> FastAPI:
    api = FastAPI(
        title="vangnet API",
        version=API_VERSION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        # `servers` is set in one place (openapi.py), not again from the mount's root path
        root_path_in_servers=False,
    )
    routers = [
        m.router
        for m in (
            evaluaties,
            verbetermogelijkheden,
            aanvragen,
            besluiten,
            bijlagen,
            regelsets,
            concepten,
            tokens,
            beheer,
            health,
        )
    ]
    for router in routers:
        api.include_router(router)
    # for the `Allow` header of a 405 (problems.py)
    api.state.route_methods = [
        (route.path_regex, route.methods)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    api.add_exception_handler(Refused, refusal_handler)
    api.add_exception_handler(ApiProblem, api_problem_handler)
    api.add_exception_handler(StarletteHTTPException, http_exception_handler)
    api.add_exception_handler(RequestValidationError, validation_exception_handler)
    api.add_exception_handler(Exception, internal_error_handler)
    document: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not document:
            document.update(build_openapi(api, settings.public_url))
        return document

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def create_app(
    settings: Settings | None = None,
    *,
    workers: EngineWorkers | None = None,
    validator: Decider | None = None,
) -> FastAPI:
    """The root application. `workers` and `validator` may be given (tests share them)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings.db_url)
        try:
            # the key ring for encryption at rest, before anything reads or writes a row
            await run_in_threadpool(crypto.configure, settings)
            await run_in_threadpool(migrate, engine)
            audit = AuditLog.from_settings(settings)
            accounts = Accounts(engine, settings, audit=audit)
            store = Store(engine, audit)
            pseudonymiser = Pseudonymiser(pseudonym_key(settings))
            own = workers is None
            pool = workers or EngineWorkers(settings.engine_workers)
            if own:
                # start the engine processes now, not on the first requests
                await run_in_threadpool(pool.warm)
            # the engine pool's helper threads hand results back to the event loop; a shorter
            # switch interval lets them through sooner (measured: ~10 % more throughput)
            sys.setswitchinterval(0.0005)
            # pre-checks' audit entries, written in batches (docs/audit.md)
            audit_buffer = AuditBuffer(audit, engine)
            for part in (app, api):
                part.state.audit_buffer = audit_buffer
                part.state.workers = pool
                part.state.store = store
                part.state.audit = audit
                part.state.accounts = accounts
                part.state.pseudonymiser = pseudonymiser
            try:
                yield
            finally:
                await run_in_threadpool(audit_buffer.close)
                if own:
                    pool.close()
        finally:
            engine.dispose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api = _api(settings)
    # validates and chooses versions; never decides here
    validator = validator or Decider(prime=False)
    limiter = RateLimiter(settings.evaluations_per_minute)
    for part in (app, api):
        part.state.settings = settings
        part.state.validator = validator
        part.state.rate_limiter = limiter
        if workers is not None:
            part.state.workers = workers
    app.mount("/v1", api)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    install_pages(app)  # the pages outside /v1, with their error pages (vangnet.web)

    app.add_middleware(SecurityHeaders)

    return app


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The `/v1` OpenAPI document, without starting the service."""
    return _api(settings or Settings.from_env()).openapi()
