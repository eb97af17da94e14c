"""Logging in and out, and "my account" with the account's API keys.

The session itself is `vangnet.service.accounts`: `login` opens it (throttled, audited) and the
cookie is the one `session_cookie` describes (HttpOnly, Secure, SameSite=Strict). The pages add
the forms: the login form carries a double-submit token (no session exists yet), every form of
a signed-in user carries the session's CSRF token (`vangnet.web.session.read_form` checks it).
An API key is shown once, on the page that answers the form that made it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from vangnet.service.accounts import (
    COOKIE_NAME,
    InvalidInput,
    LoginRefused,
    LoginThrottled,
    NotFound,
    Refused,
    clear_cookie,
    session_cookie,
)
from vangnet.service.identity import Identity
from vangnet.web.access import SignedIn, role_page
from vangnet.web.errors import PageRoute, error_page
from vangnet.web.render import page
from vangnet.web.session import (
    PageUser,
    accounts_of,
    client_origin,
    login_cookie,
    login_token_ok,
    read_form,
)

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_TOKEN_FIELD = "formulier_token"  # noqa: S105 - a field name, not a secret


def _back(raw: str | None) -> str:
    """Where to go after logging in: a path on this site only (never `//host`)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw[:500]
    return "/account"


def _accounts(request: Request) -> Any:
    accounts = accounts_of(request)
    if accounts is None:
        raise HTTPException(503)
    return accounts


def _login_page(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    token, set_cookie = login_cookie(request)
    context = {"values": values, "errors": errors, "token": token, "token_field": LOGIN_TOKEN_FIELD}
    response = page(request, "inloggen.html.j2", context, status=status)
    if set_cookie:
        response.headers.append("Set-Cookie", set_cookie)
    return response


@router.get("/inloggen")
async def login_form(request: Request, user: PageUser) -> Response:
    back = _back(request.query_params.get("terug"))
    if user is not None:
        return RedirectResponse(back, status_code=303)
    return _login_page(request, values={"terug": back}, errors={})


@router.post("/inloggen")
async def login(request: Request, user: PageUser) -> Response:
    form = await read_form(request, None)
    if not login_token_ok(request, form.get(LOGIN_TOKEN_FIELD)):
        raise HTTPException(403)
    name = form.get("gebruikersnaam", "").strip()
    password = form.get("wachtwoord", "")
    values = {"gebruikersnaam": name, "terug": _back(form.get("terug"))}
    errors: dict[str, str] = {}
    if not name:
        errors["gebruikersnaam"] = "Vul uw gebruikersnaam in."
    if not password:
        errors["wachtwoord"] = "Vul uw wachtwoord in."
    if errors:
        return _login_page(request, values=values, errors=errors, status=400)
    accounts = _accounts(request)
    try:
        new = await run_in_threadpool(accounts.login, name, password, client_origin(request))
    except LoginThrottled as exc:
        seconds = exc.retry_after_seconds
        return error_page(request, 429, headers={"Retry-After": str(seconds)}, seconds=seconds)
    except LoginRefused as exc:
        errors["gebruikersnaam"] = str(exc)
        return _login_page(request, values=values, errors=errors, status=400)
    response = RedirectResponse(values["terug"], status_code=303)
    response.headers.append("Set-Cookie", session_cookie(new.token, new.expires_at))
    return response


@router.post("/uitloggen")
async def logout(request: Request, user: PageUser) -> Response:
    if user is None:
        return RedirectResponse("/", status_code=303)
    await read_form(request, user)
    token = request.cookies.get(COOKIE_NAME)
    await run_in_threadpool(lambda: _accounts(request).logout(token, origin=client_origin(request)))
    response = RedirectResponse("/", status_code=303)
    response.headers.append("Set-Cookie", clear_cookie())
    return response


# --- my account -------------------------------------------------------------------------------


# managing one's own API keys (every role may: the roles table's row, its refusal audited)
TokenOwner = Annotated[Identity, role_page("tokens", "beheren")]


async def _account_page(
    request: Request,
    user: Identity,
    *,
    new_token: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    accounts = _accounts(request)
    account_id = str(user.account_id)
    info = await run_in_threadpool(accounts.account, account_id)
    organisation = await run_in_threadpool(accounts.organisation, info.organisatie_id)
    tokens = await run_in_threadpool(accounts.list_tokens, account_id)
    context = {
        "account": info,
        "organisation": organisation,
        "tokens": tokens,
        "now": accounts.now(),
        "new_token": new_token,
        "values": values or {},
        "errors": errors or {},
        "token_days": request.app.state.settings.token_days,
    }
    return page(request, "account.html.j2", context, status=status)


@router.get("/account")
async def account(request: Request, user: SignedIn) -> Response:
    return await _account_page(request, user)


@router.post("/account/sleutels")
async def new_key(request: Request, user: TokenOwner) -> Response:
    form = await read_form(request, user)
    values = {"naam": form.get("naam", "").strip(), "dagen": form.get("dagen", "").strip()}
    errors: dict[str, str] = {}
    days: int | None = None
    if values["dagen"]:
        if values["dagen"].isdigit() and len(values["dagen"]) < 5:
            days = int(values["dagen"])
        else:
            errors["dagen"] = "Geldig (dagen) moet een heel getal zijn, bijvoorbeeld 90."
    if not values["naam"]:
        errors["naam"] = "Naam van de sleutel is leeg; vul dit in."
    if not errors:
        try:
            _, raw = await run_in_threadpool(
                lambda: _accounts(request).issue_token(
                    str(user.account_id), values["naam"], days, by=user
                )
            )
        except InvalidInput as exc:
            label = {"naam": "Naam van de sleutel", "dagen": "Geldig (dagen)"}[exc.field]
            errors[exc.field] = f"{label} {exc.message}."
        except Refused as exc:
            errors["naam"] = str(exc)
        else:
            return await _account_page(request, user, new_token=raw, status=201)
    return await _account_page(request, user, values=values, errors=errors, status=400)


@router.post("/account/sleutels/{token_id}/intrekken")
async def revoke_key(request: Request, token_id: str, user: TokenOwner) -> Response:
    await read_form(request, user)
    try:
        await run_in_threadpool(
            lambda: _accounts(request).revoke_token(token_id, str(user.account_id), by=user)
        )
    except NotFound:
        raise HTTPException(404) from None
    return RedirectResponse("/account", status_code=303)
