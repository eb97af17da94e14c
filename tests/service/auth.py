"""Signed-in test clients: one account per role, made directly through `Accounts` (no login,
no argon2: API-only accounts with a bearer token), each a thin wrapper around the service's
TestClient that sends its token.

    team = Team(client)        # the client's app must be started (`with TestClient(...)`)
    team.gemeente.post(...)    # an aanvrager of GM9901 (a municipality)
    team.bzk.post(...)         # a beoordelaar of BZK, which decides `vangnet` claims

Accounts are made when first used, so a test pays only for the roles it needs.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from vangnet.service.accounts import Accounts

__all__ = ["ORGANISATIONS", "Actor", "Team"]

# id -> (name, soort); the codes are demo codes no real municipality has
ORGANISATIONS = {
    "GM9901": ("Havendam (test)", "gemeente"),
    "GM9902": ("Lindeveen (test)", "gemeente"),
    "BZK": ("Ministerie van BZK (test)", "bzk"),
}


class Actor:
    """A TestClient acting as one account (with its bearer token), or as nobody."""

    def __init__(
        self, client: TestClient, token: str | None, account: Any = None, name: str = ""
    ) -> None:
        self.client = client
        self.token = token
        self.account = account  # AccountInfo, or None for nobody
        self.name = name

    def __repr__(self) -> str:
        return f"Actor({self.name or 'anoniem'})"

    @property
    def app(self) -> Any:
        return self.client.app

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        return self.request("DELETE", url, **kwargs)


class Team:
    """One account per role on the started app of `client`, made on first use."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._orgs: set[str] = set()
        self._count = 0

    @property
    def accounts(self) -> Accounts:
        accounts: Accounts = self.client.app.state.accounts  # type: ignore[attr-defined]
        return accounts

    def organisation(self, organisatie_id: str) -> None:
        if organisatie_id not in self._orgs:
            naam, soort = ORGANISATIONS[organisatie_id]
            existing = {o.id for o in self.accounts.list_organisations()}
            if organisatie_id not in existing:
                self.accounts.add_organisation(organisatie_id, naam, soort)
            self._orgs.add(organisatie_id)

    def actor(self, rol: str, organisatie_id: str, name: str = "") -> Actor:
        """A new account of `rol` at `organisatie_id`, with a token."""
        self.organisation(organisatie_id)
        self._count += 1
        account = self.accounts.add_account(
            f"test-{rol}-{organisatie_id.lower()}-{self._count}", organisatie_id, rol, None
        )
        _, raw = self.accounts.issue_token(account.id, "test")
        return Actor(self.client, raw, account, name or f"{rol}@{organisatie_id}")

    @functools.cached_property
    def anoniem(self) -> Actor:
        return Actor(self.client, None)

    @functools.cached_property
    def gemeente(self) -> Actor:
        """An aanvrager of GM9901."""
        return self.actor("aanvrager", "GM9901", "aanvrager GM9901")

    @functools.cached_property
    def andere_gemeente(self) -> Actor:
        """An aanvrager of GM9902: another municipality."""
        return self.actor("aanvrager", "GM9902", "aanvrager GM9902")

    @functools.cached_property
    def bzk(self) -> Actor:
        """A beoordelaar of BZK, which decides `vangnet` claims."""
        return self.actor("beoordelaar", "BZK", "beoordelaar BZK")

    @functools.cached_property
    def beoordelaar_gemeente(self) -> Actor:
        """A beoordelaar of GM9902: decides its own basismaatregelen claims, no vangnet ones."""
        return self.actor("beoordelaar", "GM9902", "beoordelaar GM9902")

    @functools.cached_property
    def regelbeheerder(self) -> Actor:
        return self.actor("regelbeheerder", "BZK", "regelbeheerder")

    @functools.cached_property
    def auditor(self) -> Actor:
        return self.actor("auditor", "BZK", "auditor")

    @functools.cached_property
    def beheerder(self) -> Actor:
        return self.actor("beheerder", "BZK", "beheerder")
