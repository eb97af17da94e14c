"""Taking a claim in for storage: read and validate it, refuse a simulation, find the
organisation that decides it, have the engine workers evaluate it. The web process validates
and chooses versions only; it never decides.

`submit` and `supplement` are the whole of storing a new claim and a new version of one, as
`POST /v1/aanvragen` and `POST /v1/aanvragen/{id}/aanvullingen` do it; the finance officer's
pages (`vangnet.web.aanvrager`) call the same two, so the form, the Excel upload and the API
refuse, evaluate and store alike. Both raise the store's refusals (`IdempotencyConflict`,
`TransitionRefused`, `Conflict`, `NotFound`) as they are, for the caller to word; everything
else they refuse is an `ApiProblem`."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vangnet.claim import Claim, canonical_claim, claim_sha256, decode_json
from vangnet.evaluate import Decider
from vangnet.excel import XLSX_MEDIA_TYPE, load_forms, read_intake
from vangnet.exceptions import ClaimError, EvaluationError, NoRulesetError, Problem
from vangnet.service.authz import decider_for
from vangnet.service.body import media_type, read_body
from vangnet.service.identity import Identity
from vangnet.service.lifecycle import TRANSITIONS
from vangnet.service.problems import ApiProblem, engine_problem, refusal_problem, worker_refusal
from vangnet.service.store import Evaluated, Store, TransitionRefused
from vangnet.workers import EngineWorkers

__all__ = [
    "deciding_organisation",
    "evaluate",
    "read_claim",
    "refuse_simulation",
    "submit",
    "supplement",
]

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


async def submit(
    data: Any,
    claim: Claim,
    *,
    validator: Decider,
    workers: EngineWorkers,
    store: Store,
    identity: Identity,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Store the validated claim `claim` (decoded as `data`) as a new claim of the
    organisation of `identity`: refuse a simulation, find the deciding organisation, give back
    the claim stored before under the same idempotency key (without evaluating again),
    evaluate in an engine worker, store with the advice. `IdempotencyConflict` when the key
    holds another claim."""
    refuse_simulation(claim, validator)
    owner = identity.organisatie_id
    decider = deciding_organisation(claim, validator, owner)
    if idempotency_key is not None:
        digest = claim_sha256(claim)
        earlier = await run_in_threadpool(
            lambda: store.replay(idempotency_key, digest, owner=owner)
        )
        if earlier is not None:
            return earlier
    evaluated = await evaluate(data, claim, workers)
    stored, _ = await run_in_threadpool(
        lambda: store.submit(
            evaluated, identity=identity, decider=decider, idempotency_key=idempotency_key
        )
    )
    return stored


def _scheme_problem(given: str, stored: str) -> Problem:
    """The problem of a supplement of another scheme than its claim's."""
    return Problem("scheme", given, f"moet {stored} zijn, de regeling van de aanvraag")


async def supplement(
    aanvraag_id: str,
    data: Any,
    claim: Claim,
    *,
    validator: Decider,
    workers: EngineWorkers,
    store: Store,
    identity: Identity,
) -> dict[str, Any]:
    """Store `claim` as the new version of claim `aanvraag_id` with its new advice: refused
    (`TransitionRefused`) unless the claim waits on information, 400 for another scheme or a
    simulation; `Conflict` when the claim changed while the engine evaluated."""
    seen = await run_in_threadpool(store.snapshot, aanvraag_id)
    if seen.status not in TRANSITIONS["aanvullingen"].sources:
        raise TransitionRefused(seen.status, "aanvullingen")
    if claim.scheme != seen.scheme:
        raise ApiProblem(
            400,
            f"Een aanvulling hoort bij dezelfde regeling ({seen.scheme}).",
            code="ongeldige_aanvraag",
            problems=[_scheme_problem(claim.scheme, seen.scheme)],
        )
    refuse_simulation(claim, validator)
    evaluated = await evaluate(data, claim, workers)
    body: dict[str, Any] = await run_in_threadpool(
        lambda: store.transition(
            aanvraag_id,
            "aanvullingen",
            identity=identity,
            evaluated=evaluated,
            expected_lock=seen.lock_version,
        )
    )
    return body
