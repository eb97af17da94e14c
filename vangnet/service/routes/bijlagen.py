"""Bijlagen: the evidence of a claim (quotes, invoices, the threat assessment, the security
advice), PDF, PNG or JPEG up to 10 MB, stored with its sha256 (`vangnet.service.attachments`).

    POST /v1/aanvragen/{aanvraagId}/bijlagen?soort=…   the file itself as the body, with its
                                                       Content-Type; 201 with Location
    GET  /v1/aanvragen/{aanvraagId}/bijlagen           the claim's bijlagen (no bytes)
    GET  /v1/bijlagen/{bijlageId}                      the bytes, as an attachment

The body is the raw file (no multipart): its declared type must be one of the three, and its
first bytes must say the same (415 otherwise); it is read as a stream and refused with 413 as
soon as it passes 10 MB (10,000,000 bytes), or at once when its Content-Length says so. The
same bytes again on the same claim return the bijlage that has them (200), unless they were
given another soort (409). A withdrawn claim takes no bijlagen (409).

Who may (`vangnet.service.authz`): the applicant's organisation adds bijlagen; it and the
deciding organisation list and download them; an auditor lists them (soort, type, size,
sha256) but does not download them (the bytes cannot be pseudonymised). A bijlage or claim of
another organisation is 404. Adding one is recorded in the audit log in the same transaction
(`bijlage.toevoegen`); a download in a transaction of its own (`bijlage.downloaden`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vangnet.service.attachments import (
    MAGIC,
    MAGIC_LENGTH,
    MAX_BYTES,
    Attachments,
    ClaimClosed,
    MediaType,
    SameBytesOtherSoort,
    Soort,
    Upload,
    download,
    logged_addition,
    sniff,
)
from vangnet.service.authz import authorize
from vangnet.service.body import media_type
from vangnet.service.deps import StoreDep, may
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem
from vangnet.service.responses import json_response
from vangnet.service.routes.aanvragen import allowed
from vangnet.service.schemas_besluit import Link
from vangnet.service.store import NotFound

__all__ = ["BijlageOut", "router"]

router = APIRouter(tags=["bijlagen"])

AanvraagId = Annotated[
    str, Path(alias="aanvraagId", description="De id die vangnet bij het indienen gaf")
]
BijlageId = Annotated[str, Path(alias="bijlageId", description="De id van de bijlage")]
SoortQuery = Annotated[
    Soort,
    Query(
        description=(
            "Wat de bijlage is: offerte, factuur, dreigingsinschatting, beveiligingsadvies of"
            " overig"
        )
    ),
]

_TYPES = ", ".join(MAGIC)


class BijlageOut(BaseModel):
    """An attachment of a claim: what it is, its type (by content), size and sha256. Its file
    name is not kept."""

    id: str
    href: str = Field(description="De bijlage zelf (de bytes)")
    aanvraag: Link
    soort: Soort
    media_type: MediaType = Field(description="Het mediatype, vastgesteld aan de inhoud")
    size: int = Field(description="De grootte in bytes")
    sha256: str = Field(description="De SHA-256 van de bytes, hexadecimaal")
    created_at: datetime


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "Het bestand zelf, met zijn Content-Type: PDF, PNG of JPEG, hoogstens 10 MB"
            " (10.000.000 bytes). De inhoud moet bij het Content-Type passen."
        ),
        "content": dict.fromkeys(MAGIC, _BINARY),
    }
}
_LOCATION: dict[str, Any] = {
    "Location": {"description": "Het adres van de bijlage", "schema": {"type": "string"}}
}
_UNKNOWN_AANVRAAG: dict[int | str, dict[str, Any]] = {404: {"description": "Onbekende aanvraag"}}
_LISTED: dict[int | str, dict[str, Any]] = {200: {"description": "De bijlagen, de oudste eerst"}}
_UPLOADED: dict[int | str, dict[str, Any]] = {
    201: {"description": "De bijlage is opgeslagen", "headers": _LOCATION},
    200: {
        "description": "Deze bytes waren al een bijlage van de aanvraag; dat is deze",
        "model": BijlageOut,
        "headers": _LOCATION,
    },
    409: {
        "description": (
            "De aanvraag is ingetrokken, of dezelfde bytes zijn al bijlage met een andere soort"
        )
    },
}


@contextmanager
def _problems(what: str, id_: str) -> Iterator[None]:
    """The store's refusals as problems."""
    try:
        yield
    except NotFound:
        raise ApiProblem(404, f"Er is geen {what} {id_[:64]}.") from None
    except ClaimClosed as exc:
        raise ApiProblem(
            409,
            f"De aanvraag heeft de status {exc.status}; zij neemt geen bijlagen meer aan.",
            code="aanvraag_gesloten",
            extensions={"current_status": exc.status},
        ) from None
    except SameBytesOtherSoort as exc:
        existing = exc.existing
        raise ApiProblem(
            409,
            f"Deze bytes zijn al bijlage {existing['id']} van deze aanvraag, als"
            f" {existing['soort']}.",
            code="bijlage_bestaat",
        ) from None


def _too_large() -> ApiProblem:
    return ApiProblem(
        413, "De bijlage is groter dan 10 MB (10.000.000 bytes).", code="bijlage_te_groot"
    )


def _wrong_content(declared: str) -> ApiProblem:
    return ApiProblem(
        415,
        f"De inhoud is geen {declared}: het begin van het bestand past niet bij het"
        f" Content-Type. Een bijlage is een PDF, PNG of JPEG ({_TYPES}).",
        code="inhoud_past_niet",
    )


async def _receive(request: Request, declared: str) -> Upload:
    """The body as a stream: 413 as soon as it passes the limit, 415 as soon as its first
    bytes are not of the declared type; never more than the limit in memory."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BYTES:
        raise _too_large()
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    head = b""
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise _too_large()
        if len(head) < MAGIC_LENGTH:
            head += chunk[: MAGIC_LENGTH - len(head)]
            if len(head) >= MAGIC_LENGTH and sniff(head) != declared:
                raise _wrong_content(declared)
        digest.update(chunk)
        chunks.append(chunk)
    if sniff(head) != declared:  # shorter than the longest signature
        raise _wrong_content(declared)
    return Upload(media_type=declared, content=b"".join(chunks), sha256=digest.hexdigest())


@router.post(
    "/aanvragen/{aanvraagId}/bijlagen",
    status_code=201,
    summary="Voeg een bijlage toe aan een aanvraag",
    operation_id="postBijlage",
    response_model=BijlageOut,
    responses=_UPLOADED | _UNKNOWN_AANVRAAG,
    openapi_extra=_UPLOAD,
)
async def post_bijlage(
    request: Request,
    store: StoreDep,
    identity: Annotated[Identity, may("bijlagen", "toevoegen")],
    aanvraag_id: AanvraagId,
    soort: SoortQuery,
) -> Response:
    """Voeg een PDF, PNG of JPEG (hoogstens 10 MB) toe als bewijsstuk bij een aanvraag. De
    bestandsnaam wordt niet bewaard."""
    await allowed(store, identity, "toevoegen", aanvraag_id, resource="bijlagen")
    declared = media_type(request)
    if declared not in MAGIC:
        raise ApiProblem(
            415,
            f"Een bijlage is een PDF, PNG of JPEG; stuur het bestand met Content-Type {_TYPES}.",
            code="mediatype_niet_toegestaan",
        )
    attachments = Attachments(store.engine)
    with _problems("aanvraag", aanvraag_id):
        await run_in_threadpool(attachments.check_open, aanvraag_id)
        upload = await _receive(request, declared)

        logged = logged_addition(store.audit, identity, aanvraag_id)
        stored, created = await run_in_threadpool(
            lambda: attachments.add(aanvraag_id, soort, upload, on_stored=logged)
        )
    return json_response(stored, 201 if created else 200, {"Location": stored["href"]})


@router.get(
    "/aanvragen/{aanvraagId}/bijlagen",
    summary="De bijlagen van een aanvraag",
    operation_id="getBijlagen",
    response_model=list[BijlageOut],
    responses=_LISTED | _UNKNOWN_AANVRAAG,
)
async def get_bijlagen(
    store: StoreDep,
    identity: Annotated[Identity, may("bijlagen", "lezen")],
    aanvraag_id: AanvraagId,
) -> Response:
    """De bijlagen van een aanvraag: soort, mediatype, grootte, SHA-256 en wanneer."""
    await allowed(store, identity, "lezen", aanvraag_id, resource="bijlagen")
    with _problems("aanvraag", aanvraag_id):
        listed = await run_in_threadpool(Attachments(store.engine).of_aanvraag, aanvraag_id)
    return json_response(listed)


@router.get(
    "/bijlagen/{bijlageId}",
    summary="Eén bijlage",
    operation_id="getBijlage",
    response_class=Response,
    responses={
        200: {
            "description": "De bytes van de bijlage, precies zoals ze zijn ontvangen",
            "content": dict.fromkeys(MAGIC, _BINARY),
        },
        404: {"description": "Onbekende bijlage"},
    },
)
async def get_bijlage(
    store: StoreDep,
    identity: Annotated[Identity, may("bijlagen", "downloaden")],
    bijlage_id: BijlageId,
) -> Response:
    """De bijlage zelf, als download, met haar mediatype."""
    authorize(identity, "bijlagen", "downloaden")
    with _problems("bijlage", bijlage_id):
        ref = await run_in_threadpool(store.bijlage_ref, bijlage_id)
    authorize(identity, "bijlagen", "downloaden", ref)
    with _problems("bijlage", bijlage_id):
        return await run_in_threadpool(download, store, identity, bijlage_id)
