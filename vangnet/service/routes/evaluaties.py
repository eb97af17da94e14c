"""`POST /v1/evaluaties`: the open pre-check. A claim in, a decision out; the claim is not stored.

Open to everyone (`vangnet.service.authz`); without an account it is rate-limited per client.
Each pre-check is recorded in the audit log with only who, when, the claim's hash and the
outcome: never the claim's content (`evaluatie.uitvoeren`). The hash is the receipt's
`claim_sha256` (the canonical claim) for a decision; for a refusal or an Excel calculation,
whose answer the web process does not read, the sha256 of the bytes sent.

A pre-check stores nothing else, so its entry needs no transaction of its own: when the app
has an `AuditBuffer` (`app.state.audit_buffer`, made in the lifespan) the entry is queued and
written with others in one transaction (at most `max_delay` later; docs/audit.md says what a
crash can lose). The event loop only queues it (no thread hop); when the queue is full, a
thread waits for room, and when there is none the pre-check is refused with 503 rather than
answered without its entry. Without a buffer the entry is written at once, in a transaction
of its own.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vangnet.decision import Decision
from vangnet.excel import XLSX_MEDIA_TYPE
from vangnet.exceptions import EvaluationError
from vangnet.service.audit import AuditEvent
from vangnet.service.audit_buffer import AuditBuffer, AuditBusy
from vangnet.service.authz import authorize
from vangnet.service.body import read_body
from vangnet.service.deps import IdentityDep, StoreDep, WorkersDep
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem, engine_problem, worker_refusal
from vangnet.service.store import Store

__all__ = ["router"]

router = APIRouter(tags=["evaluaties"])


@router.post(
    "/evaluaties",
    summary="Beoordeel een aanvraag vooraf",
    operation_id="postEvaluatie",
    response_model=Decision,
    responses={
        200: {
            "description": "Het besluit (JSON), of met `Accept` het Excel-bestand met de"
            " berekening",
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        406: {"description": "Gevraagde vorm niet beschikbaar"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Aanvraag"}}},
        }
    },
)
async def post_evaluatie(
    request: Request, workers: WorkersDep, store: StoreDep, identity: IdentityDep
) -> Response:
    """Beoordeel een aanvraag met de regels die gelden op de peildatum; de aanvraag wordt niet
    bewaard."""
    authorize(identity, "evaluaties", "uitvoeren")
    wait = request.app.state.rate_limiter.check(identity.origin) if identity.anonymous else None
    if wait is not None:
        seconds = int(wait) + 1
        raise ApiProblem(
            429,
            f"Te veel vooraf-beoordelingen; probeer het over {seconds} seconden opnieuw.",
            headers={"Retry-After": str(seconds)},
        )
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media != "application/json":
        raise ApiProblem(415, "Stuur de aanvraag als application/json.")
    xlsx = _wants_xlsx(request.headers.get("accept", ""))
    body = await read_body(request)
    # the engine worker decodes, validates, decides and serialises: the web process only
    # forwards bytes (a refusal comes back with every problem, as validation gives them)
    try:
        kind, result = await workers.adecide_json(body, xlsx=xlsx)
    except EvaluationError as exc:  # an EngineFailure too
        raise engine_problem(exc) from None
    event = _event(identity, kind=kind, result=result, body=body, xlsx=xlsx)
    buffer: AuditBuffer | None = getattr(request.app.state, "audit_buffer", None)
    if buffer is None or not buffer.try_submit(event):
        await run_in_threadpool(_record, store, buffer, event)
    if kind == "refusal":
        raise worker_refusal(result)
    if xlsx:
        headers = {"Content-Disposition": 'attachment; filename="berekening.xlsx"'}
        return Response(result, media_type=XLSX_MEDIA_TYPE, headers=headers)
    return Response(result, media_type="application/json")


def _event(identity: Identity, *, kind: str, result: Any, body: bytes, xlsx: bool) -> AuditEvent:
    """The pre-check's audit-log entry: the claim's hash and the outcome, nothing more."""
    details: dict[str, Any] = {"vorm": "xlsx" if xlsx else "json"}
    if kind == "decision" and not xlsx:
        decision = json.loads(result)
        details |= {
            "claim_sha256": decision["receipt"]["claim_sha256"],
            "uitkomst": decision["outcome"],
        }
    else:
        details |= {
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "uitkomst": "geweigerd" if kind == "refusal" else "berekening",
        }
    return AuditEvent(
        actor=identity.actor,
        action="evaluatie.uitvoeren",
        result="gelukt",
        origin=identity.origin,
        details=details,
    )


def _record(store: Store, buffer: AuditBuffer | None, event: AuditEvent) -> None:
    """Write or queue `event` when the event loop could not queue it (in a thread: may wait)."""
    if buffer is None:
        store.audit.record(store.engine, event)
        return
    try:
        buffer.submit(event)
    except AuditBusy:
        raise ApiProblem(
            503,
            "De vooraf-beoordeling kan nu niet worden vastgelegd; probeer het over een paar"
            " seconden opnieuw.",
            headers={"Retry-After": "5"},
        ) from None


def _wants_xlsx(accept: str) -> bool:
    """True when `Accept` prefers the Excel workbook; 406 when it accepts neither form."""
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (x.strip() for x in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        best[media.lower()] = max(q, best.get(media.lower(), 0.0))
    if not best:
        return False
    json_q = max(best.get(m, 0.0) for m in ("application/json", "application/*", "*/*"))
    xlsx_q = best.get(XLSX_MEDIA_TYPE, 0.0)
    if json_q <= 0 and xlsx_q <= 0:
        raise ApiProblem(406, f"Deze bron levert application/json of {XLSX_MEDIA_TYPE}.")
    return xlsx_q > json_q
