"""`GET /v1/health`: for monitoring; no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from vangnet import __version__
from vangnet.service.authz import authorize
from vangnet.service.deps import IdentityDep

__all__ = ["router"]

router = APIRouter(tags=["beheer"])


class Gezondheid(BaseModel):
    """The service's state."""

    status: str
    version: str
    rulesets: int
    engine_replacements: int


@router.get("/health", summary="Status van de dienst", operation_id="getHealth",
            response_model=Gezondheid)  # fmt: skip
async def get_health(request: Request, identity: IdentityDep) -> Gezondheid:
    """Of de dienst werkt, met de versie; zonder persoonsgegevens."""
    authorize(identity, "health", "lezen")
    state = request.app.state
    count = sum(len(v) for v in state.validator.rulesets.values())
    return Gezondheid(
        status="ok",
        version=__version__,
        rulesets=count,
        engine_replacements=state.workers.replacements,
    )
