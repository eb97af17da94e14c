"""`GET /v1/regelsets`: the rulesets as data, public, so the criteria stay transparent (open to
everyone in the roles table, `vangnet.service.authz`; a bad token is still 401)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from vangnet.ruleset import Ruleset
from vangnet.service.authz import authorize
from vangnet.service.deps import IdentityDep
from vangnet.service.problems import ApiProblem

__all__ = ["router"]

router = APIRouter(tags=["regelsets"])


class RegelsetSamenvatting(BaseModel):
    """A ruleset version in a list."""

    id: str
    family: str
    version: str
    title: str
    status: str
    valid_from: date
    valid_to: date | None
    sha256: str
    href: str


class Regelset(RegelsetSamenvatting):
    """A ruleset version with its parameters, rules and sources, as published."""

    deciding_body: str
    sources: dict[str, Any]
    parameters: dict[str, Any]
    line_rules: list[dict[str, Any]]
    claim_rules: list[dict[str, Any]]


def _summary(rs: Ruleset) -> dict[str, Any]:
    s = rs.spec
    return {
        "id": s.id,
        "family": s.family,
        "version": s.version,
        "title": s.title,
        "status": s.status,
        "valid_from": s.valid_from,
        # the effective end: the file's, or the closure recorded beside its pin
        "valid_to": rs.valid_to,
        "sha256": rs.sha256,
        "href": f"/v1/regelsets/{s.id}/{s.version}",
    }


@router.get(
    "/regelsets",
    summary="Alle regelsets",
    operation_id="getRegelsets",
    response_model=list[RegelsetSamenvatting],
)
async def get_regelsets(request: Request, identity: IdentityDep) -> list[dict[str, Any]]:
    """Alle versies van alle regelingen, met geldigheid, status en hash."""
    authorize(identity, "regelsets", "lezen")
    rulesets = request.app.state.validator.rulesets
    return [_summary(rs) for scheme in sorted(rulesets) for rs in rulesets[scheme]]


@router.get(
    "/regelsets/{schemeId}/{version}",
    summary="Eén regelset",
    operation_id="getRegelset",
    response_model=Regelset,
    responses={404: {"description": "Onbekende regeling of versie"}},
)
async def get_regelset(
    request: Request,
    identity: IdentityDep,
    schemeId: str,  # noqa: N803
    version: str,
) -> dict[str, Any]:
    """Eén versie met haar parameters, regels en bronnen, zoals gepubliceerd."""
    authorize(identity, "regelsets", "lezen")
    versions = request.app.state.validator.rulesets.get(schemeId, ())
    for rs in versions:
        if rs.version == version:
            data = rs.spec.model_dump(mode="json")
            return {**_summary(rs), **{k: data[k] for k in Regelset.model_fields if k in data}}
    raise ApiProblem(404, f"Er is geen regelset {schemeId} versie {version}.")
