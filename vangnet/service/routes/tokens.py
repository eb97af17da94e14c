"""`/v1/tokens`: every account makes and revokes its own API tokens.

    GET    /v1/tokens             the caller's tokens (valid, expired and revoked), newest first
    POST   /v1/tokens             a new token; the token itself is in this answer and nowhere
                                  else, ever (vangnet keeps only its sha256)
    GET    /v1/tokens/{tokenId}   one token (its status, not the token)
    DELETE /v1/tokens/{tokenId}   revoke it at once, in every worker

Who may (`vangnet.service.authz`, row `tokens`): every signed-in account its own tokens; a
beheerder anyone's (to revoke a token of someone who left, for instance). Another account's
token is 404 for everyone else, worded as for an id that does not exist. The role is checked
by the dependency `deps.may`, before any parameter or body is read: a caller who may not is
told 401 or 403, never what was wrong with the request. Issuing and revoking
are recorded in the audit log in the same transaction (`vangnet.service.accounts`).

The work is in `vangnet.service.accounts`; these routes only translate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from vangnet.exceptions import Problem
from vangnet.service.accounts import (
    Accounts,
    AccountsError,
    AlreadyExists,
    ApiTokenInfo,
    InvalidInput,
    NotFound,
    Refused,
)
from vangnet.service.authz import ObjectRef, authorize
from vangnet.service.body import read_model
from vangnet.service.deps import may
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem
from vangnet.service.responses import json_response

__all__ = [
    "NieuwToken",
    "TokenIn",
    "TokenOut",
    "accounts_of",
    "inline_body",
    "problems",
    "router",
    "timestamp",
    "token_body",
]

router = APIRouter(tags=["tokens"])

TokenId = Annotated[
    str,
    Path(alias="tokenId", description="De id van het token"),
]
# who is asking, when their role may manage tokens at all (401/403 before anything else)
Manager = Annotated[Identity, may("tokens", "beheren")]


class TokenIn(BaseModel):
    """A new API token: a name to recognise it by, and how long it is valid."""

    model_config = ConfigDict(extra="forbid")

    naam: str = Field(
        min_length=1,
        max_length=100,
        description="Een naam om het token aan te herkennen, bijvoorbeeld de koppeling",
    )
    dagen: int | None = Field(
        default=None,
        ge=1,
        description="Hoeveel dagen het token geldig is; leeg: de standaard van deze installatie",
    )


class TokenOut(BaseModel):
    """An API token as listed: never the token itself."""

    id: str
    href: str
    naam: str
    account_id: str
    status: Literal["geldig", "verlopen", "ingetrokken"]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Laatst gebruikt (op de minuut)")


class NieuwToken(TokenOut):
    """A token just made, with the token itself: shown this once, never again."""

    token: str = Field(
        description=(
            "Het token zelf: stuur het als Authorization: Bearer <token>. Bewaar het nu;"
            " vangnet bewaart alleen een hash en kan het niet nog eens tonen."
        )
    )


def inline_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON request body of `model`, inline."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def timestamp(moment: datetime | None) -> str | None:
    """A timestamp as the API writes it: ISO 8601 in UTC with `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def token_body(info: ApiTokenInfo, now: datetime) -> dict[str, Any]:
    return {
        "id": info.id,
        "href": f"/v1/tokens/{info.id}",
        "naam": info.naam,
        "account_id": info.account_id,
        "status": info.status(now),
        "created_at": timestamp(info.created_at),
        "expires_at": timestamp(info.expires_at),
        "revoked_at": timestamp(info.revoked_at),
        "last_used_at": timestamp(info.last_used_at),
    }


def accounts_of(request: Request) -> Accounts:
    """The service's `Accounts`, made at start-up (`app.state.accounts`)."""
    accounts: Accounts = request.app.state.accounts
    return accounts


@contextmanager
def problems(what: str = "token", id_: str = "") -> Iterator[None]:
    """`vangnet.service.accounts`'s refusals as problems."""
    try:
        yield
    except InvalidInput as exc:
        raise ApiProblem(
            400,
            "Het verzoek is ongeldig: 1 probleem.",
            code="ongeldig_verzoek",
            problems=[Problem(exc.field, exc.value, exc.message)],
        ) from None
    except NotFound:
        raise ApiProblem(404, f"Er is geen {what} {id_[:64]}.".replace("  ", " ")) from None
    except AlreadyExists as exc:
        raise ApiProblem(409, str(exc), code="bestaat_al") from None
    except Refused as exc:
        raise ApiProblem(409, str(exc), code="niet_mogelijk") from None
    except AccountsError as exc:
        raise ApiProblem(400, str(exc), code="ongeldig_verzoek") from None


_UNKNOWN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Niet aangemeld, of het token is ongeldig"},
    404: {"description": "Onbekend token (of het token van een ander)"},
}
_SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Niet aangemeld, of het token is ongeldig"},
}
_CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Het token is gemaakt; het token zelf staat alleen in dit antwoord",
        "headers": {
            "Location": {"description": "Het adres van het token", "schema": {"type": "string"}}
        },
    },
    **_SIGNED_IN,
    409: {"description": "Het account is uitgeschakeld"},
}


@router.get(
    "/tokens",
    summary="Mijn API-tokens",
    operation_id="getTokens",
    response_model=list[TokenOut],
    responses={200: {"description": "Uw tokens, nieuwste eerst"}, **_SIGNED_IN},
)
async def get_tokens(request: Request, identity: Manager) -> Response:
    """Uw API-tokens: geldige, verlopen en ingetrokken, nieuwste eerst. Nooit het token zelf."""
    accounts = accounts_of(request)
    assert identity.account_id is not None  # noqa: S101 - authorize refuses the anonymous
    tokens = await run_in_threadpool(accounts.list_tokens, identity.account_id)
    now = accounts.now()
    return json_response([token_body(t, now) for t in tokens])


@router.post(
    "/tokens",
    status_code=201,
    summary="Maak een API-token",
    operation_id="postToken",
    response_model=NieuwToken,
    responses=_CREATED,
    openapi_extra=inline_body(TokenIn),
)
async def post_token(request: Request, identity: Manager) -> Response:
    """Maak een API-token voor uw account. Het token zelf staat alleen in dit antwoord:
    bewaar het meteen."""
    body = await read_model(request, TokenIn)
    accounts = accounts_of(request)
    assert identity.account_id is not None  # noqa: S101 - authorize refuses the anonymous
    account_id = identity.account_id
    with problems():
        info, raw = await run_in_threadpool(
            lambda: accounts.issue_token(account_id, body.naam, body.dagen, by=identity)
        )
    created = token_body(info, accounts.now()) | {"token": raw}
    return json_response(created, 201, {"Location": created["href"]})


async def _owned(request: Request, identity: Identity, token_id: str) -> ApiTokenInfo:
    """The token, after checking the caller may manage it (its own; a beheerder anyone's);
    the role was checked before (`Manager`)."""
    accounts = accounts_of(request)
    with problems("token", token_id):
        info = await run_in_threadpool(accounts.token, token_id, None)
    authorize(
        identity, "tokens", "beheren", ObjectRef("token", token_id, account_id=info.account_id)
    )
    return info


@router.get(
    "/tokens/{tokenId}",
    summary="Eén API-token",
    operation_id="getToken",
    response_model=TokenOut,
    responses={200: {"description": "Het token (niet het token zelf)"}, **_UNKNOWN},
)
async def get_token(request: Request, identity: Manager, token_id: TokenId) -> Response:
    """Eén van uw API-tokens: naam, status en data. Nooit het token zelf."""
    info = await _owned(request, identity, token_id)
    return json_response(token_body(info, accounts_of(request).now()))


@router.delete(
    "/tokens/{tokenId}",
    status_code=204,
    summary="Trek een API-token in",
    operation_id="deleteToken",
    responses={204: {"description": "Het token is ingetrokken (of was dat al)"}, **_UNKNOWN},
)
async def delete_token(request: Request, identity: Manager, token_id: TokenId) -> Response:
    """Trek een API-token in: het werkt meteen niet meer. Een beheerder kan elk token
    intrekken."""
    info = await _owned(request, identity, token_id)
    accounts = accounts_of(request)
    assert identity.account_id is not None  # noqa: S101 - authorize refuses the anonymous
    by_id = identity.account_id
    admin = info.account_id != by_id  # authorize allowed another's token: a beheerder
    with problems("token", token_id):
        await run_in_threadpool(lambda: accounts.revoke_token(token_id, by_id, admin, by=identity))
    return Response(status_code=204)
