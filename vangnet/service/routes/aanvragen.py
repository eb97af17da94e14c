"""`/v1/aanvragen`: submit claims, read them, and move them through their life.

A claim is stored with its canonical JSON, the engine's advice and its history
(`vangnet.service.store`); every transition is a resource named after it
(`vangnet.service.lifecycle`). An impossible transition is 409, naming the current status and
the transitions that are possible.

Every operation checks first who may (`vangnet.service.authz`, the roles table): an applicant
submits, supplements and withdraws its own organisation's claims; an assessor of the deciding
organisation takes them into treatment and asks for information; an auditor reads,
pseudonymised. The server sets a claim's owner (the account's organisation) and its deciding
organisation (from the ruleset's `deciding_body`); a claim of another organisation is 404, as
if it did not exist. The list holds only what the caller may see: the filter is in the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from vangnet.service import deciding
from vangnet.service.authz import Grant, authorize, scope
from vangnet.service.body import read_json, read_model
from vangnet.service.deps import StoreDep, ValidatorDep, WorkersDep, may
from vangnet.service.identity import Identity
from vangnet.service.intake import read_claim, submit, supplement
from vangnet.service.lifecycle import Status, today_nl
from vangnet.service.problems import ApiProblem
from vangnet.service.pseudonyms import Pseudonymiser
from vangnet.service.responses import json_body, json_response
from vangnet.service.schemas import (
    AanvraagPagina,
    AanvullingsverzoekIn,
    IngediendeAanvraag,
    ToelichtingIn,
)
from vangnet.service.store import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    Store,
    TransitionRefused,
)

__all__ = ["allowed", "router", "shown"]

router = APIRouter(tags=["aanvragen"])

AanvraagId = Annotated[
    str, Path(alias="aanvraagId", description="De id die vangnet bij het indienen gaf")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "Een unieke sleutel per aanvraag (bijvoorbeeld een UUID): dezelfde aanvraag opnieuw"
            " met dezelfde sleutel geeft de eerder ingediende terug en slaat niets dubbel op;"
            " een andere aanvraag met dezelfde sleutel is 409"
        ),
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
    ),
]


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    200: {"description": "De aanvraag zoals zij nu is"},
    404: {"description": "Onbekende aanvraag"},
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "De overgang kan niet vanuit de huidige status, of de aanvraag veranderde"}
}
# the resource each transition is, for the roles table
_ACTIONS = {
    "in-behandeling": "in_behandeling_nemen",
    "aanvullingsverzoeken": "aanvulling_vragen",
    "verdagingen": "verdagen",
    "aanvullingstermijnen": "aanvultermijn_verlengen",
    "aanvullingen": "aanvullen",
    "intrekking": "intrekken",
}


async def allowed(
    store: Store, identity: Identity, action: str, aanvraag_id: str, resource: str = "aanvragen"
) -> Grant:
    """The grant for `action` on claim `aanvraag_id`: 401 or 403 by role before anything is
    read, 404 for an unknown claim or one of another organisation."""
    authorize(identity, resource, action)
    with _problems(aanvraag_id):
        ref = await run_in_threadpool(store.ref, aanvraag_id)
    return authorize(identity, resource, action, ref)


def shown(request: Request, grant: Grant, body: dict[str, Any]) -> dict[str, Any]:
    """A claim as the caller may see it: pseudonymised for an auditor."""
    if not grant.pseudonymised:
        return body
    pseudonymiser: Pseudonymiser = request.app.state.pseudonymiser
    return pseudonymiser.aanvraag(body)


@contextmanager
def _problems(aanvraag_id: str | None = None) -> Iterator[None]:
    """The store's refusals as problems."""
    try:
        yield
    except NotFound:
        raise ApiProblem(404, f"Er is geen aanvraag {(aanvraag_id or '')[:64]}.") from None
    except Conflict as exc:
        allowed = ", ".join(exc.allowed) or "geen"
        if isinstance(exc, TransitionRefused):
            text = f"De aanvraag heeft de status {exc.status}; {exc.transition} kan dan niet."
        else:
            text = f"De aanvraag veranderde intussen en heeft nu de status {exc.status}."
        raise ApiProblem(
            409,
            f"{text} Mogelijk zijn nu: {allowed}.",
            code="ongeldige_overgang" if isinstance(exc, TransitionRefused) else "gelijktijdig",
            extensions={"current_status": exc.status, "allowed_transitions": exc.allowed},
        ) from None
    except IdempotencyConflict:
        raise ApiProblem(
            409,
            "Deze Idempotency-Key is al gebruikt voor een andere aanvraag; gebruik een nieuwe"
            " sleutel voor een nieuwe aanvraag.",
            code="idempotency_key_hergebruikt",
        ) from None


@router.post(
    "/aanvragen",
    status_code=201,
    summary="Dien een aanvraag in",
    operation_id="postAanvraag",
    response_model=IngediendeAanvraag,
    responses={
        201: {
            "description": "Ingediend (of eerder ingediend met dezelfde Idempotency-Key)",
            "headers": {
                "Location": {
                    "description": "Het adres van de aanvraag",
                    "schema": {"type": "string"},
                }
            },
        },
        409: {"description": "De Idempotency-Key hoort bij een andere aanvraag"},
    },
    openapi_extra=json_body("Aanvraag"),
)
async def post_aanvraag(
    request: Request,
    *,
    validator: ValidatorDep,
    workers: WorkersDep,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "indienen")],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Dien een aanvraag in namens uw organisatie: zij wordt beoordeeld en met het advies
    bewaard."""
    authorize(identity, "aanvragen", "indienen")
    data, claim = await read_claim(request, validator)
    with _problems():
        stored = await submit(
            data,
            claim,
            validator=validator,
            workers=workers,
            store=store,
            identity=identity,
            idempotency_key=idempotency_key,
        )
    return _created(stored)


def _created(body: dict[str, Any]) -> Response:
    return json_response(body, 201, {"Location": body["href"]})


def _page_link(page: int, size: int, status: str | None) -> str:
    query = {"pagina": page, "paginaGrootte": size} | ({"status": status} if status else {})
    return f"/v1/aanvragen?{urlencode(query)}"


@router.get(
    "/aanvragen",
    summary="Alle aanvragen",
    operation_id="getAanvragen",
    response_model=AanvraagPagina,
    responses={200: {"description": "Eén pagina aanvragen, nieuwste eerst"}},
)
async def get_aanvragen(
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "lezen")],
    pagina: Annotated[int, Query(ge=1, le=1_000_000, description="Het paginanummer, vanaf 1")] = 1,
    pagina_grootte: Annotated[
        int, Query(alias="paginaGrootte", ge=1, le=100, description="Aanvragen per pagina")
    ] = 20,
    status: Annotated[Status | None, Query(description="Alleen aanvragen met deze status")] = None,
) -> Response:
    """De aanvragen die u mag zien, nieuwste eerst, per pagina; filter op status. Een aanvrager
    ziet die van de eigen organisatie, een beoordelaar die waarover zijn organisatie beslist."""
    only = scope(identity, "aanvragen")
    items, total = await run_in_threadpool(
        lambda: store.page(
            owner=only.owner_id,
            decider=only.decider_id,
            status=status,
            page=pagina,
            size=pagina_grootte,
        )
    )
    has_next = pagina * pagina_grootte < total
    return json_response(
        {
            "items": items,
            "page": pagina,
            "page_size": pagina_grootte,
            "total": total,
            "next": _page_link(pagina + 1, pagina_grootte, status) if has_next else None,
            "previous": (_page_link(pagina - 1, pagina_grootte, status) if pagina > 1 else None),
        }
    )


@router.get(
    "/aanvragen/{aanvraagId}",
    summary="Eén aanvraag",
    operation_id="getAanvraag",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND,
)
async def get_aanvraag(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "lezen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """De aanvraag met status, huidige versie, elk advies (nieuwste eerst), haar besluiten en
    geschiedenis."""
    grant = await allowed(store, identity, "lezen", aanvraag_id)
    with _problems(aanvraag_id):
        body = await run_in_threadpool(store.get, aanvraag_id)
    return json_response(shown(request, grant, body))


async def _transition(
    store: Store, identity: Identity, aanvraag_id: str, name: str, reason: str | None
) -> Response:
    with _problems(aanvraag_id):
        body = await run_in_threadpool(
            lambda: store.transition(aanvraag_id, name, identity=identity, reason=reason)
        )
    return json_response(body)


@router.post(
    "/aanvragen/{aanvraagId}/in-behandeling",
    summary="Neem een aanvraag in behandeling",
    operation_id="postInBehandeling",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Toelichting", required=False),
)
async def post_in_behandeling(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "in_behandeling_nemen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Neem een ingediende aanvraag in behandeling."""
    await allowed(store, identity, _ACTIONS["in-behandeling"], aanvraag_id)
    body = await read_model(request, ToelichtingIn)
    return await _transition(store, identity, aanvraag_id, "in-behandeling", body.reason)


@router.post(
    "/aanvragen/{aanvraagId}/verdagingen",
    summary="Verdaag het besluit",
    operation_id="postVerdaging",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Verdaging"),
)
async def post_verdaging(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "verdagen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Deel mee dat het besluit later komt en noem de dag waarop het er uiterlijk is (Awb 4:14,
    derde lid): kan zolang de beslistermijn loopt; de status blijft gelijk."""
    await allowed(store, identity, _ACTIONS["verdagingen"], aanvraag_id)
    data = await read_json(request, optional=True)
    with _problems(aanvraag_id):
        stored = await deciding.extend(store, aanvraag_id, data, identity)
    return json_response(stored)


@router.post(
    "/aanvragen/{aanvraagId}/aanvullingstermijnen",
    summary="Geef meer tijd om aan te vullen",
    operation_id="postAanvullingstermijn",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Aanvullingstermijn"),
)
async def post_aanvullingstermijn(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "aanvultermijn_verlengen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Geef de aanvrager een latere laatste dag om aan te vullen (Awb 4:5); de beslistermijn
    blijft tot die dag opgeschort."""
    await allowed(store, identity, _ACTIONS["aanvullingstermijnen"], aanvraag_id)
    data = await read_json(request, optional=True)
    with _problems(aanvraag_id):
        stored = await deciding.extend_supplement(store, aanvraag_id, data, identity)
    return json_response(stored)


@router.post(
    "/aanvragen/{aanvraagId}/aanvullingsverzoeken",
    summary="Vraag om aanvulling",
    operation_id="postAanvullingsverzoek",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Aanvullingsverzoek"),
)
async def post_aanvullingsverzoek(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "aanvulling_vragen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Vraag de aanvrager om informatie die nodig is om te besluiten."""
    await allowed(store, identity, _ACTIONS["aanvullingsverzoeken"], aanvraag_id)
    body = await read_model(request, AanvullingsverzoekIn)
    due = deciding.supplement_due(body.due_on, today_nl())
    with _problems(aanvraag_id):
        stored = await run_in_threadpool(
            lambda: store.transition(
                aanvraag_id, "aanvullingsverzoeken", identity=identity, reason=body.reason,
                due_on=due,
            )
        )  # fmt: skip
    return json_response(stored)


@router.post(
    "/aanvragen/{aanvraagId}/aanvullingen",
    summary="Vul een aanvraag aan",
    operation_id="postAanvulling",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Aanvraag"),
)
async def post_aanvulling(
    request: Request,
    *,
    validator: ValidatorDep,
    workers: WorkersDep,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "aanvullen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Vul de aanvraag aan met een nieuwe versie; het nieuwe advies komt naast het oude."""
    await allowed(store, identity, _ACTIONS["aanvullingen"], aanvraag_id)
    data, claim = await read_claim(request, validator)
    with _problems(aanvraag_id):
        body = await supplement(
            aanvraag_id,
            data,
            claim,
            validator=validator,
            workers=workers,
            store=store,
            identity=identity,
        )
    return json_response(body)


@router.post(
    "/aanvragen/{aanvraagId}/intrekking",
    summary="Trek een aanvraag in",
    operation_id="postIntrekking",
    response_model=IngediendeAanvraag,
    responses=_NOT_FOUND | _CONFLICT,
    openapi_extra=json_body("Toelichting", required=False),
)
async def post_intrekking(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("aanvragen", "intrekken")],
    aanvraag_id: AanvraagId,
) -> Response:
    """Trek een aanvraag in zolang er niet over besloten is."""
    await allowed(store, identity, _ACTIONS["intrekking"], aanvraag_id)
    body = await read_model(request, ToelichtingIn)
    return await _transition(store, identity, aanvraag_id, "intrekking", body.reason)
