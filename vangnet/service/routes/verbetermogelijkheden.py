"""`POST /v1/verbetermogelijkheden`: the counterfactuals of the pre-check, as an API resource.

A claim in; out its decision's outcome and, for a decision that is not the best outcome, the
smallest single documentable changes that would give a better one (`vangnet.counterfactual`),
each verified by the engine: the claim path it changes, old and new value, the new outcome and
amount, and the Dutch sentence the pre-check page shows. The claim is not stored.

Like `POST /v1/evaluaties` (routes/evaluaties.py) it is open to everyone, rate-limited per
client without an account, and recorded in the audit log without the claim's content
(`verbetermogelijkheden.opvragen`: who, when, the claim's hash, the outcome and how many
improvements were found; a refusal only as `geweigerd`). The web process reads and validates
the claim (`intake.read_claim`: 400 naming every field); the search runs the engine once per
change it tries, so it runs in an engine worker, in the very function the pre-check page uses
(`vangnet.web.worker.precheck_in_worker`, which returns at most its `COUNTERFACTUALS`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from vangnet.decision import Money, Outcome, RulesetRef
from vangnet.exceptions import EngineFailure, EvaluationError
from vangnet.service.audit import AuditEvent
from vangnet.service.audit_buffer import AuditBuffer, AuditBusy
from vangnet.service.body import media_type
from vangnet.service.deps import StoreDep, ValidatorDep, WorkersDep, may
from vangnet.service.identity import Identity
from vangnet.service.intake import read_claim
from vangnet.service.problems import ApiProblem, engine_problem, worker_refusal
from vangnet.service.responses import json_body, json_response
from vangnet.service.store import Store
from vangnet.web.worker import PRECHECK, precheck_in_worker

__all__ = ["GewijzigdVeld", "Verbetermogelijkheden", "Verbetermogelijkheid", "router"]

router = APIRouter(tags=["verbetermogelijkheden"])

ACTION = "verbetermogelijkheden.opvragen"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GewijzigdVeld(_Out):
    """One field of the claim that the change sets."""

    path: Annotated[str, Field(description="Het pad van het veld in de aanvraag")]
    old_value: Annotated[Any, Field(description="De waarde in de aanvraag (null: leeg)")]
    new_value: Annotated[Any, Field(description="De waarde die de uitkomst verbetert")]


class Verbetermogelijkheid(_Out):
    """One verified change and the better outcome it gives."""

    change: Annotated[str, Field(description="Welke wijziging (uit de gegevens per regeling)")]
    kind: Annotated[
        Literal["categorical", "numeric"],
        Field(description="categorical: een feit; numeric: een bedrag, tot op de cent"),
    ]
    path: Annotated[
        str, Field(description="Het pad in de aanvraag, zoals `threat` of `measures[1].advised`")
    ]
    old_value: Annotated[
        Any, Field(description="De oude waarde; bij een object alleen de velden die wijzigen")
    ]
    new_value: Annotated[
        Any, Field(description="De nieuwe waarde; bij een object alleen de velden die wijzigen")
    ]
    fields: list[GewijzigdVeld]
    outcome: Annotated[Outcome, Field(description="De uitkomst met deze wijziging")]
    eligible_total_eur: Annotated[Money, Field(description="Het bedrag met deze wijziging")]
    description: Annotated[str, Field(description="De wijziging en haar gevolg, in woorden")]
    documentable: Annotated[str, Field(description="Hoe de aanvrager dit kan aantonen")]
    source: Annotated[str, Field(description="Waar deze mogelijkheid op steunt")]


class Verbetermogelijkheden(_Out):
    """The decision's outcome and the changes that would improve it (none for `toekennen`)."""

    claim_sha256: Annotated[str, Field(description="De vingerafdruk van de aanvraag")]
    outcome: Outcome
    eligible_total_eur: Money
    ruleset: RulesetRef
    counterfactuals: Annotated[
        list[Verbetermogelijkheid],
        Field(description="Beste eerst; leeg als er niets beters is (zoals bij toekennen)"),
    ]


@router.post(
    "/verbetermogelijkheden",
    summary="Wat maakt de uitkomst van een aanvraag beter?",
    operation_id="postVerbetermogelijkheden",
    response_model=Verbetermogelijkheden,
    responses={
        200: {"description": "De uitkomst en de kleinste wijzigingen die haar verbeteren"},
        429: {"description": "Te veel verzoeken; probeer het later opnieuw"},
    },
    openapi_extra=json_body("Aanvraag"),
)
async def post_verbetermogelijkheden(
    request: Request,
    *,
    validator: ValidatorDep,
    workers: WorkersDep,
    store: StoreDep,
    identity: Annotated[Identity, may("verbetermogelijkheden", "uitvoeren")],
) -> Response:
    """Welke enkele wijziging die de aanvrager kan aantonen, geeft een betere uitkomst? Elke
    mogelijkheid is met de regels nagerekend; de aanvraag wordt niet bewaard."""
    wait = request.app.state.rate_limiter.check(identity.origin) if identity.anonymous else None
    if wait is not None:
        seconds = int(wait) + 1
        raise ApiProblem(
            429,
            f"Te veel verzoeken; probeer het over {seconds} seconden opnieuw.",
            headers={"Retry-After": str(seconds)},
        )
    form = "xlsx" if media_type(request) != "application/json" else "json"
    try:
        data, _ = await read_claim(request, validator)
    except ApiProblem as exc:
        if exc.status == 400:
            await _record(request, store, _event(identity, form, {"uitkomst": "geweigerd"}))
        raise
    try:
        kind, result = await workers.arun(precheck_in_worker, data)
    except EvaluationError as exc:  # the worker died: EngineFailure
        raise engine_problem(exc) from None
    if kind == "refusal":
        await _record(request, store, _event(identity, form, {"uitkomst": "geweigerd"}))
        raise worker_refusal(result)
    if kind != PRECHECK:
        message = str(result.get("message", kind))
        failure = EngineFailure if kind == "engine_failure" else EvaluationError
        raise engine_problem(failure(message))
    answer = _answer(result)
    details = {
        "claim_sha256": answer.claim_sha256,
        "uitkomst": answer.outcome,
        "aantal": len(answer.counterfactuals),
    }
    await _record(request, store, _event(identity, form, details))
    return json_response(answer.model_dump())


def _answer(result: dict[str, Any]) -> Verbetermogelijkheden:
    """The worker's pre-check result as the response model (which checks its shape)."""
    decision = result["decision"]
    found = [
        {k: v for k, v in cf.items() if k not in ("old_outcome", "old_eligible_total_eur")}
        for cf in result["counterfactuals"]
    ]
    return Verbetermogelijkheden.model_validate(
        {
            "claim_sha256": decision["receipt"]["claim_sha256"],
            "outcome": decision["outcome"],
            "eligible_total_eur": decision["eligible_total_eur"],
            "ruleset": decision["ruleset"],
            "counterfactuals": found,
        }
    )


def _event(identity: Identity, form: str, details: dict[str, Any]) -> AuditEvent:
    """The entry: the claim's hash, the outcome and a count; never the claim's content."""
    return AuditEvent(
        actor=identity.actor,
        action=ACTION,
        result="gelukt",
        origin=identity.origin,
        details={"vorm": form, **details},
    )


async def _record(request: Request, store: Store, event: AuditEvent) -> None:
    """Queue the entry in the app's `AuditBuffer` (or write it at once without one); 503 when
    the queue stays full, rather than answering without the entry."""
    buffer: AuditBuffer | None = getattr(request.app.state, "audit_buffer", None)
    if buffer is not None and buffer.try_submit(event):
        return
    try:
        if buffer is None:
            await run_in_threadpool(store.audit.record, store.engine, event)
        else:
            await run_in_threadpool(buffer.submit, event)
    except AuditBusy:
        raise ApiProblem(
            503,
            "De vraag kan nu niet worden vastgelegd; probeer het over een paar seconden opnieuw.",
            headers={"Retry-After": "5"},
        ) from None
