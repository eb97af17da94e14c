"""`/v1/accounts` and `/v1/organisaties`: the beheerder manages who works with vangnet.

    GET  /v1/accounts[?organisatie=GM0363]          the accounts (never a password hash)
    POST /v1/accounts                                a new account in an organisation, with a
                                                     role; a password is optional (without
                                                     one, the account uses API tokens only)
    GET  /v1/accounts/{accountId}                    one account
    POST /v1/accounts/{accountId}/uitschakeling      disable it: its sessions and tokens are
                                                     revoked in the same transaction
    GET  /v1/accounts/{accountId}/tokens             its API tokens (to revoke one:
                                                     DELETE /v1/tokens/{tokenId})
    POST /v1/accounts/{accountId}/tokens             a token for it, shown once
    GET  /v1/organisaties                            the organisations
    POST /v1/organisaties                            register one (GMnnnn, PVnn, WSnnnn, BZK)
    GET  /v1/organisaties/{organisatieId}            one organisation

Only the role beheerder may (`vangnet.service.authz`, rows `accounts` and `organisaties`),
checked by the dependency `deps.may` before any parameter or body is read: anyone else is told
401 or 403, never what was wrong with the request. Every change is recorded in the audit log
in its own transaction (`vangnet.service.accounts`). A beheerder cannot disable their own
account here (they would lock themselves out), nor the last active beheerder at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from vangnet.service.accounts import AccountInfo, OrganisationInfo
from vangnet.service.body import read_model
from vangnet.service.deps import may
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem
from vangnet.service.responses import json_response
from vangnet.service.routes.tokens import (
    NieuwToken,
    TokenIn,
    TokenOut,
    accounts_of,
    inline_body,
    problems,
    timestamp,
    token_body,
)

__all__ = ["AccountIn", "AccountOut", "OrganisatieIn", "OrganisatieOut", "router"]

router = APIRouter(tags=["beheer"])

Rol = Literal["aanvrager", "beoordelaar", "regelbeheerder", "auditor", "beheerder"]
Soort = Literal["gemeente", "provincie", "waterschap", "bzk"]
AccountId = Annotated[
    str,
    Path(alias="accountId", description="De id van het account"),
]
OrganisatieId = Annotated[
    str,
    Path(alias="organisatieId", description="De id van de organisatie, zoals GM0363"),
]
# who is asking, when their role may manage accounts (organisations) at all: 401/403 before
# any parameter or body is checked
AccountBeheerder = Annotated[Identity, may("accounts", "beheren")]
OrganisatieBeheerder = Annotated[Identity, may("organisaties", "beheren")]


class AccountIn(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")

    gebruikersnaam: str = Field(
        max_length=100,
        description="Om mee aan te melden: letters, cijfers en . _ @ - (wordt kleine letters)",
    )
    organisatie_id: str = Field(
        min_length=1, max_length=16, description="De organisatie, bijvoorbeeld GM0363 of BZK"
    )
    rol: Rol
    # the length is checked by vangnet.service.accounts, whose refusal never repeats it
    wachtwoord: str | None = Field(
        default=None,
        description="Minstens 12 tekens; leeg: het account gebruikt alleen API-tokens",
        json_schema_extra={"minLength": 12, "maxLength": 256},
    )


class AccountOut(BaseModel):
    """An account as the beheerder sees it (never a password or its hash)."""

    id: str
    href: str
    gebruikersnaam: str
    organisatie_id: str
    rol: Rol
    pseudoniem: str = Field(description="Wat besluiten en de auditlog over dit account tonen")
    actief: bool
    heeft_wachtwoord: bool
    created_at: datetime
    disabled_at: datetime | None


class OrganisatieIn(BaseModel):
    """A new organisation."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=3,
        max_length=16,
        description=(
            "Gemeente: GM en vier cijfers (de CBS-code); provincie: PV en twee cijfers;"
            " waterschap: WS en vier cijfers; BZK: BZK"
        ),
    )
    naam: str = Field(min_length=1, max_length=200)
    soort: Soort


class OrganisatieOut(BaseModel):
    """An organisation."""

    id: str
    href: str
    naam: str
    soort: Soort
    created_at: datetime


def _account(a: AccountInfo) -> dict[str, Any]:
    return {
        "id": a.id,
        "href": f"/v1/accounts/{a.id}",
        "gebruikersnaam": a.gebruikersnaam,
        "organisatie_id": a.organisatie_id,
        "rol": a.rol,
        "pseudoniem": a.pseudoniem,
        "actief": a.actief,
        "heeft_wachtwoord": a.heeft_wachtwoord,
        "created_at": timestamp(a.created_at),
        "disabled_at": timestamp(a.disabled_at),
    }


def _organisation(o: OrganisationInfo) -> dict[str, Any]:
    return {
        "id": o.id,
        "href": f"/v1/organisaties/{o.id}",
        "naam": o.naam,
        "soort": o.soort,
        "created_at": timestamp(o.created_at),
    }


_MANAGE: dict[int | str, dict[str, Any]] = {
    401: {"description": "Niet aangemeld, of het token is ongeldig"},
    403: {"description": "Alleen een beheerder mag dit"},
}
_UNKNOWN_ACCOUNT: dict[int | str, dict[str, Any]] = {
    **_MANAGE,
    404: {"description": "Onbekend account"},
}


def _location(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Location": {"description": "Het adres", "schema": {"type": "string"}}},
    }


# --- accounts -----------------------------------------------------------------------------------


@router.get(
    "/accounts",
    summary="Alle accounts",
    operation_id="getAccounts",
    response_model=list[AccountOut],
    responses={200: {"description": "De accounts, per organisatie"}, **_MANAGE},
)
async def get_accounts(
    request: Request,
    identity: AccountBeheerder,
    organisatie: Annotated[
        str | None,
        Query(max_length=16, description="Alleen de accounts van deze organisatie, zoals GM0363"),
    ] = None,
) -> Response:
    """De accounts (nooit een wachtwoord), per organisatie; filter op één organisatie."""
    found = await run_in_threadpool(accounts_of(request).list_accounts, organisatie)
    return json_response([_account(a) for a in found])


@router.post(
    "/accounts",
    status_code=201,
    summary="Maak een account",
    operation_id="postAccount",
    response_model=AccountOut,
    responses={
        201: _location("Het account is gemaakt"),
        **_MANAGE,
        409: {"description": "De gebruikersnaam bestaat al"},
    },
    openapi_extra=inline_body(AccountIn),
)
async def post_account(request: Request, identity: AccountBeheerder) -> Response:
    """Maak een account in een organisatie, met één rol. Zonder wachtwoord kan het account
    alleen met API-tokens werken."""
    body = await read_model(request, AccountIn)
    accounts = accounts_of(request)
    with problems():
        made = await run_in_threadpool(
            lambda: accounts.add_account(
                body.gebruikersnaam, body.organisatie_id, body.rol, body.wachtwoord, by=identity
            )
        )
    out = _account(made)
    return json_response(out, 201, {"Location": out["href"]})


@router.get(
    "/accounts/{accountId}",
    summary="Eén account",
    operation_id="getAccount",
    response_model=AccountOut,
    responses={200: {"description": "Het account"}, **_UNKNOWN_ACCOUNT},
)
async def get_account(
    request: Request, identity: AccountBeheerder, account_id: AccountId
) -> Response:
    """Eén account (nooit een wachtwoord)."""
    with problems("account", account_id):
        found = await run_in_threadpool(accounts_of(request).account, account_id)
    return json_response(_account(found))


@router.post(
    "/accounts/{accountId}/uitschakeling",
    summary="Schakel een account uit",
    operation_id="postUitschakeling",
    response_model=AccountOut,
    responses={
        200: {"description": "Het account is uitgeschakeld (of was dat al)"},
        **_UNKNOWN_ACCOUNT,
        409: {"description": "Uw eigen account, of de laatste actieve beheerder"},
    },
)
async def post_uitschakeling(
    request: Request, identity: AccountBeheerder, account_id: AccountId
) -> Response:
    """Schakel een account uit: het kan niet meer aanmelden, en zijn sessies en API-tokens
    werken meteen niet meer."""
    if account_id == identity.account_id:
        raise ApiProblem(
            409,
            "U kunt uw eigen account niet uitschakelen; laat een andere beheerder dat doen.",
            code="eigen_account",
        )
    accounts = accounts_of(request)
    with problems("account", account_id):
        done = await run_in_threadpool(lambda: accounts.disable_id(account_id, by=identity))
    return json_response(_account(done))


@router.get(
    "/accounts/{accountId}/tokens",
    summary="De API-tokens van een account",
    operation_id="getAccountTokens",
    response_model=list[TokenOut],
    responses={200: {"description": "De tokens, nieuwste eerst"}, **_UNKNOWN_ACCOUNT},
)
async def get_account_tokens(
    request: Request, identity: AccountBeheerder, account_id: AccountId
) -> Response:
    """De API-tokens van een account (nooit het token zelf); intrekken met
    DELETE /tokens/{tokenId}."""
    accounts = accounts_of(request)
    with problems("account", account_id):
        await run_in_threadpool(accounts.account, account_id)
    tokens = await run_in_threadpool(accounts.list_tokens, account_id)
    now = accounts.now()
    return json_response([token_body(t, now) for t in tokens])


@router.post(
    "/accounts/{accountId}/tokens",
    status_code=201,
    summary="Maak een API-token voor een account",
    operation_id="postAccountToken",
    response_model=NieuwToken,
    responses={
        201: _location("Het token is gemaakt; het token zelf staat alleen in dit antwoord"),
        **_UNKNOWN_ACCOUNT,
        409: {"description": "Het account is uitgeschakeld"},
    },
    openapi_extra=inline_body(TokenIn),
)
async def post_account_token(
    request: Request, identity: AccountBeheerder, account_id: AccountId
) -> Response:
    """Maak een API-token voor een account (bijvoorbeeld een koppeling). Het token zelf staat
    alleen in dit antwoord."""
    body = await read_model(request, TokenIn)
    accounts = accounts_of(request)
    with problems("account", account_id):
        info, raw = await run_in_threadpool(
            lambda: accounts.issue_token(account_id, body.naam, body.dagen, by=identity)
        )
    created = token_body(info, accounts.now()) | {"token": raw}
    return json_response(created, 201, {"Location": created["href"]})


# --- organisations ------------------------------------------------------------------------------


@router.get(
    "/organisaties",
    summary="Alle organisaties",
    operation_id="getOrganisaties",
    response_model=list[OrganisatieOut],
    responses={200: {"description": "De organisaties, op id"}, **_MANAGE},
)
async def get_organisaties(request: Request, identity: OrganisatieBeheerder) -> Response:
    """De geregistreerde organisaties: gemeenten, provincies, waterschappen en BZK."""
    found = await run_in_threadpool(accounts_of(request).list_organisations)
    return json_response([_organisation(o) for o in found])


@router.post(
    "/organisaties",
    status_code=201,
    summary="Registreer een organisatie",
    operation_id="postOrganisatie",
    response_model=OrganisatieOut,
    responses={
        201: _location("De organisatie is geregistreerd"),
        **_MANAGE,
        409: {"description": "Er is al een organisatie met deze id"},
    },
    openapi_extra=inline_body(OrganisatieIn),
)
async def post_organisatie(request: Request, identity: OrganisatieBeheerder) -> Response:
    """Registreer een organisatie: een gemeente (GM en de CBS-code), provincie (PVnn),
    waterschap (WSnnnn) of BZK."""
    body = await read_model(request, OrganisatieIn)
    accounts = accounts_of(request)
    with problems():
        made = await run_in_threadpool(
            lambda: accounts.add_organisation(body.id, body.naam, body.soort, by=identity)
        )
    out = _organisation(made)
    return json_response(out, 201, {"Location": out["href"]})


@router.get(
    "/organisaties/{organisatieId}",
    summary="Eén organisatie",
    operation_id="getOrganisatie",
    response_model=OrganisatieOut,
    responses={
        200: {"description": "De organisatie"},
        **_MANAGE,
        404: {"description": "Onbekende organisatie"},
    },
)
async def get_organisatie(
    request: Request, identity: OrganisatieBeheerder, organisatie_id: OrganisatieId
) -> Response:
    """Eén organisatie."""
    with problems("organisatie", organisatie_id):
        found = await run_in_threadpool(accounts_of(request).organisation, organisatie_id)
    return json_response(_organisation(found))
