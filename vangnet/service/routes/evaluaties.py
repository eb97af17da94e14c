"""`POST /v1/evaluaties`: the open pre-check. A claim in, a decision out; nothing stored."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vangnet.decision import Decision
from vangnet.excel import XLSX_MEDIA_TYPE
from vangnet.exceptions import EvaluationError
from vangnet.service.body import read_body
from vangnet.service.deps import WorkersDep
from vangnet.service.problems import ApiProblem, engine_problem, worker_refusal

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
    xlsx = _wants_xlsx(request.headers.get("accept", ""))
    body = await read_body(request)
    # the engine worker decodes, validates, decides and serialises: the web process only
    # forwards bytes (a refusal comes back with every problem, as validation gives them)
    try:
        kind, result = await workers.adecide_json(body, xlsx=xlsx)
    except EvaluationError as exc:  # an EngineFailure too
        raise engine_problem(exc) from None
    if kind == "refusal":
        raise worker_refusal(result)
    if xlsx:
        headers = {"Content-Disposition": 'attachment; filename="berekening.xlsx"'}
        return Response(result, media_type=XLSX_MEDIA_TYPE, headers=headers)
    return Response(result, media_type="application/json")


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
