"""Who is asking: the identity every route, the store and the audit log work with.

`Identity` is resolved once per request (a session cookie for the pages, a bearer token for the
API, or nobody) by `vangnet.service.deps`; the command line acts as `Identity.cli(...)`. What an
identity may do is decided in one place, `vangnet.service.authz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ANONIEM", "SYSTEEM", "Identity", "Via"]

Via = Literal["sessie", "token", "anoniem", "cli"]

ANONIEM = "anoniem"
SYSTEEM = "systeem"


@dataclass(frozen=True, slots=True)
class Identity:
    """An account acting through a session, a token or the command line; or nobody."""

    account_id: str | None
    organisatie_id: str | None
    rol: str | None  # one of models.ROLLEN; None when anonymous
    pseudoniem: str | None
    origin: str  # the client's address, or `cli`
    via: Via
    # the session's CSRF token (pages only)
    csrf_token: str | None = None

    @property
    def actor(self) -> str:
        """What the audit log records as the actor: the account id, or `anoniem`."""
        return self.account_id or ANONIEM

    @property
    def anonymous(self) -> bool:
        return self.account_id is None

    @classmethod
    def anonymous_from(cls, origin: str) -> Identity:
        return cls(None, None, None, None, origin, "anoniem")
