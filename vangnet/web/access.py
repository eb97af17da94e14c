"""Who may do what on a page: the API's one check (`vangnet.service.authz.authorize`), with
the API's audit of every refusal, answered with an error page instead of a problem.

A page asks exactly what the matching API route asks, in the same order: the role first
(before anything is read), then the object once it is found. A refusal is written to the
audit log (`toegang.geweigerd`, in a transaction of its own, as `authz.refusal_handler`
does for the API) and becomes the error page of its status; an object of another
organisation is the 404 page, the same as an id that does not exist.

The top of every page that needs an account is one dependency: `SignedIn` gives the signed-in
account (nobody signed in: `SignedOut`, which `vangnet.web.errors.PageRoute` answers with the
login page, and back here afterwards); `role_page(resource, action)` adds the role's check
from the roles table, so a page of another role is refused (403, audited) before anything is
read or any form is parsed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from vangnet.service.authz import Grant, ObjectRef, Refused, authorize, refusal_event
from vangnet.service.identity import Identity
from vangnet.service.store import NotFound, Store
from vangnet.web.session import PageUser

__all__ = [
    "ID",
    "SignedIn",
    "SignedOut",
    "check",
    "check_besluit",
    "check_bijlage",
    "check_claim",
    "login_redirect",
    "role_page",
    "store_of",
]

# the ids vangnet gives (uuid4 hex): anything else is not found without asking the database
ID = re.compile(r"[0-9a-f]{32}")


class SignedOut(Exception):
    """Nobody is signed in on a page that needs an account."""


def login_redirect(request: Request) -> Response:
    """To the login page, and back here afterwards."""
    return RedirectResponse(f"/inloggen?terug={request.url.path}", status_code=303)


async def _signed_in(user: PageUser) -> Identity:
    if user is None:
        raise SignedOut
    return user


# the signed-in account of a page that needs one
SignedIn = Annotated[Identity, Depends(_signed_in)]


def role_page(resource: str, action: str) -> Any:
    """The dependency of a role's pages: the signed-in account, after `check` of `resource`
    and `action` (the row of the roles table that admits only that role)."""

    async def allowed(request: Request, user: SignedIn) -> Identity:
        await check(request, user, resource, action)
        return user

    return Depends(allowed)


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def check(
    request: Request, identity: Identity, resource: str, action: str, obj: ObjectRef | None = None
) -> Grant:
    """`authorize`, its refusal audited and raised as the error page of its status."""
    try:
        return authorize(identity, resource, action, obj)
    except Refused as exc:
        state = request.app.state
        await run_in_threadpool(state.audit.record, state.store.engine, refusal_event(exc))
        raise HTTPException(exc.status) from None


async def _on(
    request: Request, identity: Identity, resource: str, action: str, *, id_: str, kind: str
) -> Grant:
    await check(request, identity, resource, action)
    if not ID.fullmatch(id_):
        raise HTTPException(404)
    store = store_of(request)
    find = {"aanvraag": store.ref, "besluit": store.besluit_ref, "bijlage": store.bijlage_ref}
    try:
        ref = await run_in_threadpool(find[kind], id_)
    except NotFound:
        raise HTTPException(404) from None
    return await check(request, identity, resource, action, ref)


async def check_claim(
    request: Request, identity: Identity, resource: str, action: str, aanvraag_id: str
) -> Grant:
    """The grant for `action` on claim `aanvraag_id` (as `routes.aanvragen.allowed`)."""
    return await _on(request, identity, resource, action, id_=aanvraag_id, kind="aanvraag")


async def check_besluit(
    request: Request, identity: Identity, resource: str, action: str, besluit_id: str
) -> Grant:
    """The grant for `action` on besluit `besluit_id` (its claim's organisations)."""
    return await _on(request, identity, resource, action, id_=besluit_id, kind="besluit")


async def check_bijlage(
    request: Request, identity: Identity, resource: str, action: str, bijlage_id: str
) -> Grant:
    """The grant for `action` on bijlage `bijlage_id` (its claim's organisations)."""
    return await _on(request, identity, resource, action, id_=bijlage_id, kind="bijlage")
