"""`POST /v1/evaluaties`: the open pre-check. A claim in, a decision out; nothing stored."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vangnet.decision import Decision
from vangnet.exceptions import EngineFailure, EvaluationError, Problem
from vangnet.service.body import read_body
from vangnet.service.deps import WorkersDep
from vangnet.service.problems import ApiProblem

__all__ = ["router"]

router = APIRouter(tags=["evaluaties"])


@router.post(
    "/evaluaties",
    summary="Beoordeel een aanvraag vooraf",
    operation_id="postEvaluatie",
    response_model=Decision,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Aanvraag"}}},
        }
    },
)
async def post_evaluatie(request: Request, workers: WorkersDep) -> Response:
    """Beoordeel een aanvraag met de regels die gelden op de peildatum; er wordt niets bewaard."""
    client = request.client.host if request.client else "onbekend"
    wait = request.app.state.rate_limiter.check(client)
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
    body = await read_body(request)
    # the engine worker decodes, validates, decides and serialises: the web process only
    # forwards bytes (a refusal comes back with every problem, as validation gives them)
    try:
        kind, result = await workers.adecide_json(body)
    except EngineFailure as exc:
        raise ApiProblem(503, str(exc), code="regelengine_uitgevallen") from None
    except EvaluationError as exc:
        raise ApiProblem(500, str(exc), code="beoordeling_mislukt") from None
    if kind == "refusal":
        error = result["error"]
        problems = [Problem(p["field"], p["value"], p["message"]) for p in error["problems"]]
        raise ApiProblem(400, error["message"], code=error["code"], problems=problems)
    return Response(result, media_type="application/json")
