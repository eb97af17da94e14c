"""Dependencies, declared once (async: a plain `def` dependency would cost a thread hop per
request): settings, the claim validator, the engine workers, the store, and who is asking.

`IdentityDep` resolves the caller once per request:
- `Authorization: Bearer <token>`: an API token (`Accounts.token_identity`, a lookup by the
  token's sha256: no password hashing on this path). A token that is unknown, expired or
  revoked is 401 with `WWW-Authenticate`, never silently anonymous; so is any other
  Authorization scheme;
- else the session cookie `vangnet_sessie` of the pages (`Accounts.session_identity`). A
  request that changes something (not GET, HEAD or OPTIONS) with only a cookie must carry
  the session's CSRF token in `X-CSRF-Token`, or it is refused (403): a cookie is sent by the
  browser on its own, a header only by the page itself;
- else anonymous. Only the routes know whether that is enough (`vangnet.service.authz`).
A request without either header or cookie costs no database access.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from vangnet.evaluate import Decider
from vangnet.service.authz import Refused, authorize, unauthenticated
from vangnet.service.identity import Identity
from vangnet.service.settings import Settings
from vangnet.service.store import Store
from vangnet.workers import EngineWorkers

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "IdentityDep",
    "SettingsDep",
    "StoreDep",
    "ValidatorDep",
    "WorkersDep",
    "may",
    "origin_of",
    "resolve_identity",
]

SESSION_COOKIE = "vangnet_sessie"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _validator(request: Request) -> Decider:
    # validates and chooses versions only; decisions run in the engine workers
    validator: Decider = request.app.state.validator
    return validator


async def _workers(request: Request) -> EngineWorkers:
    workers: EngineWorkers = request.app.state.workers
    return workers


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def origin_of(request: Request) -> str:
    """The client's address as the audit log records it."""
    return request.client.host if request.client else "onbekend"


async def resolve_identity(request: Request) -> Identity:
    """Who is asking (see the module's docstring); `Refused` for a bad token or a cookie
    request without its CSRF token."""
    origin = origin_of(request)
    anonymous = Identity.anonymous_from(origin)
    header = request.headers.get("authorization")
    accounts: Any = request.app.state.accounts
    if header is not None:
        scheme, _, raw = header.strip().partition(" ")
        token = raw.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated(anonymous, "api", "aanmelden", "ongeldig_token")
        found: Identity | None = await run_in_threadpool(accounts.token_identity, token, origin)
        if found is None:
            raise unauthenticated(anonymous, "api", "aanmelden", "ongeldig_token")
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session: Identity | None = await run_in_threadpool(
            accounts.session_identity, cookie, origin
        )
        if session is None:
            return anonymous  # an ended session: signed out, as the pages show
        if request.method not in _SAFE:
            given = request.headers.get(CSRF_HEADER, "")
            expected = session.csrf_token or ""
            # bytes: compare_digest refuses str with non-ASCII characters (a 500, not a 403)
            same = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
            if not (given and expected and same):
                raise Refused(
                    403,
                    "Dit verzoek mist het CSRF-token van uw sessie (X-CSRF-Token); laad de"
                    " pagina opnieuw.",
                    identity=session,
                    resource="api",
                    action=request.method.lower(),
                    reason="csrf",
                    code="csrf",
                )
        return session
    return anonymous


def may(resource: str, action: str) -> Any:
    """A dependency: who is asking, when their role may do `action` on `resource` at all
    (`authz.authorize` without an object). As a dependency it runs before the request's
    parameters are checked, so nobody learns more than 401 or 403 from a request they may not
    make; the route checks the object itself once it is found."""

    async def dependency(request: Request) -> Identity:
        identity = await resolve_identity(request)
        authorize(identity, resource, action)
        return identity

    return Depends(dependency)


SettingsDep = Annotated[Settings, Depends(_settings)]
ValidatorDep = Annotated[Decider, Depends(_validator)]
WorkersDep = Annotated[EngineWorkers, Depends(_workers)]
StoreDep = Annotated[Store, Depends(_store)]
IdentityDep = Annotated[Identity, Depends(resolve_identity)]
