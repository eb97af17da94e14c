"""Taking a claim in for storage: read and validate it, refuse a simulation, find the
organisation that decides it, have the engine workers evaluate it. The web process validates
and chooses versions only; it never decides."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vangnet.claim import Claim, canonical_claim, decode_json
from vangnet.evaluate import Decider
from vangnet.excel import XLSX_MEDIA_TYPE, load_forms, read_intake
from vangnet.exceptions import ClaimError, EvaluationError, NoRulesetError, Problem
from vangnet.service.authz import decider_for
from vangnet.service.body import media_type, read_body
from vangnet.service.problems import ApiProblem, engine_problem, refusal_problem, worker_refusal
from vangnet.service.store import Evaluated
from vangnet.workers import EngineWorkers

__all__ = ["deciding_organisation", "evaluate", "read_claim", "refuse_simulation"]

# the ruleset status of a simulation (claim-format.md: `ruleset.status`)
SIMULATION = "simulatie"


async def read_claim(request: Request, validator: Decider) -> tuple[Any, Claim]:
    """The decoded and validated claim, from JSON or from the Excel intake form: 413, 415,
    or 400 listing every problem (for a workbook: by sheet and cell)."""
    kind = media_type(request)
    if kind == XLSX_MEDIA_TYPE:
        body = await read_body(request, limit=load_forms().limits.max_file_bytes)
        try:
            # reading a workbook takes a fifth of a second: never in the event loop
            data = await run_in_threadpool(read_intake, body, validate=validator.validate)
            return data, validator.validate(data)
        except ClaimError as exc:
            raise refusal_problem(exc) from None
    if kind != "application/json":
        raise ApiProblem(
            415,
            f"Stuur de aanvraag als application/json of als Excel-formulier ({XLSX_MEDIA_TYPE}).",
        )
    body = await read_body(request)
    try:
        data = decode_json(body)
        return data, validator.validate(data)
    except ClaimError as exc:
        raise refusal_problem(exc) from None


def _simulation(scheme: str) -> ApiProblem:
    problem = Problem(
        "scheme",
        scheme,
        "is een simulatie: die kan alleen vooraf worden beoordeeld (POST /v1/evaluaties),"
        " niet als aanvraag worden ingediend",
    )
    return refusal_problem(ClaimError([problem]))


def refuse_simulation(claim: Claim, validator: Decider) -> None:
    """400 naming `scheme` when the claim's ruleset version is a simulation, or when it has
    no version in force and every version of its scheme is one (a simulation is never a real
    decision); 400 `geen_regelset` when no version is in force."""
    try:
        ruleset, _ = validator.choose(claim)
    except NoRulesetError as exc:
        versions = validator.rulesets.get(claim.scheme, ())
        if versions and all(v.spec.status == SIMULATION for v in versions):
            raise _simulation(claim.scheme) from None
        raise refusal_problem(exc) from None
    if ruleset.spec.status == SIMULATION:
        raise _simulation(claim.scheme)


def deciding_organisation(claim: Claim, validator: Decider, owner: str | None) -> str | None:
    """The organisation whose assessors decide `claim` when organisation `owner` submits it:
    the ruleset version in force names its `deciding_body`, `forms/organisaties.yaml` maps
    that to an organisation. Call after `refuse_simulation` (a version is in force)."""
    try:
        ruleset, _ = validator.choose(claim)
    except NoRulesetError as exc:
        raise refusal_problem(exc) from None
    try:
        return decider_for(ruleset.spec.deciding_body, owner)
    except ValueError:
        raise ApiProblem(
            500,
            "vangnet weet niet welke organisatie over deze regeling beslist.",
            code="beslisser_onbekend",
        ) from None


async def evaluate(data: Any, claim: Claim, workers: EngineWorkers) -> Evaluated:
    """The claim with the engine's advice; a refusal is 400, an engine crash 503."""
    try:
        kind, result = await workers.adecide(data)
    except EvaluationError as exc:  # an EngineFailure too
        raise engine_problem(exc) from None
    if kind == "refusal":
        raise worker_refusal(result)
    if result["simulation"]:
        raise _simulation(claim.scheme)
    canonical = canonical_claim(claim)
    digest = hashlib.sha256(canonical).hexdigest()
    if digest != result["receipt"]["claim_sha256"]:  # the stored bytes must be the hashed ones
        raise ApiProblem(
            500, "De vingerafdruk van de aanvraag klopt niet.", code="beoordeling_mislukt"
        )
    return Evaluated(
        claim_json=canonical,
        claim_sha256=digest,
        scheme=claim.scheme,
        reference_date=claim.reference_date,
        decision=result,
    )
