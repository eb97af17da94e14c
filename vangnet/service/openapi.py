"""The OpenAPI document, shaped in one place to follow the NL GOV API Design Rules.

Every response declares the `API-Version` header; every error is `application/problem+json`
with status, title and detail; every operation declares 400; `servers` carries the major
version; `info.contact` is complete. `POST /aanvragen` declares the Excel intake form as a
second request media type.

Security: one scheme, `bearer` (an API token, `Authorization: Bearer <token>`). Every
operation needs it, except those the roles table opens to everyone (`OPEN_OPERATIONS`: the
pre-check, the rulesets, the health check), which declare it optional. Every operation
documents 401 (no token where one is needed, or a token that is invalid, expired or
revoked, with `WWW-Authenticate`); every protected one 403 (the role may not) too.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vangnet.claim import Claim
from vangnet.excel import XLSX_MEDIA_TYPE
from vangnet.service.problems import PROBLEM_JSON, ProblemOut
from vangnet.service.schemas import REQUEST_BODIES
from vangnet.service.schemas_besluit import REQUEST_BODIES as BESLUIT_BODIES

__all__ = ["API_VERSION", "OPEN_OPERATIONS", "SECURITY_SCHEME", "build_openapi"]

API_VERSION = "1.0.0"

_ERRORS = {
    "400": "Ongeldige invoer: elk probleem met zijn veld",
    "404": "Niet gevonden",
    "405": "Methode niet toegestaan",
    "406": "Gevraagde vorm niet beschikbaar",
    "409": "Conflict",
    "413": "Te groot",
    "415": "Niet-ondersteund mediatype",
    "429": "Te veel verzoeken",
    "500": "Interne fout",
    "503": "Tijdelijk niet beschikbaar (bijvoorbeeld de regelengine is uitgevallen)",
}
# the operations open to everyone (the `anoniem` column of vangnet.service.authz.TABLE; a test
# checks the two agree)
OPEN_OPERATIONS = frozenset(
    {"postEvaluatie", "postVerbetermogelijkheden", "getRegelsets", "getRegelset", "getHealth"}
)
SECURITY_SCHEME = "bearer"
_SECURITY_SCHEMES = {
    SECURITY_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "Een API-token (maak het met POST /v1/tokens of `vangnet users token`), als"
            " Authorization: Bearer <token>. Het token wordt één keer getoond, verloopt en kan"
            " worden ingetrokken."
        ),
    }
}
_UNAUTHENTICATED = {
    "description": (
        "Niet aangemeld: een token is nodig, of het token is ongeldig, verlopen of ingetrokken"
    ),
    "headers": {
        "WWW-Authenticate": {
            "description": "Hoe u zich aanmeldt: Bearer",
            "schema": {"type": "string", "example": "Bearer"},
        }
    },
}
_FORBIDDEN = {"description": "Geen toegang: uw rol mag dit niet"}
_VERSION_HEADER = {
    "API-Version": {
        "description": "De volledige versie van de API",
        "schema": {"type": "string", "example": API_VERSION},
    }
}


def _collapse_nullable_formats(schema: dict[str, Any]) -> None:
    """`anyOf: [{type: string, format: date}, {type: null}]` becomes
    `{type: [string, null], format: date}`: the design rules look for `format` on the
    property itself."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf")
        if not options or len(options) != 2:
            continue
        typed = [o for o in options if o.get("type") != "null"]
        if len(typed) == 1 and "format" in typed[0] and {"type": "null"} in options:
            del prop["anyOf"]
            prop["type"] = [typed[0]["type"], "null"]
            prop["format"] = typed[0]["format"]


def build_openapi(app: FastAPI, public_url: str) -> dict[str, Any]:
    """The document for the `/v1` application."""
    doc = get_openapi(
        title="vangnet API",
        version=API_VERSION,
        summary="Beslisondersteuning voor het Financieel Vangnet en verwante regelingen",
        description=(
            "Vooraf beoordelen, aanvragen indienen en besluiten voor de vergoeding van"
            " beveiligingsmaatregelen bij de woning van bedreigde politieke ambtsdragers."
            " Bedragen zijn euro's inclusief btw; veldnamen volgen het uitwisselformaat v1."
        ),
        routes=app.routes,
        servers=[{"url": f"{public_url}/v1", "description": "deze installatie"}],
        contact={
            "name": "Beheer vangnet",
            "url": f"{public_url}/",
            "email": "beheer@vangnet.example",
        },
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        separate_input_output_schemas=False,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    claim_schema = Claim.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in claim_schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas["Aanvraag"] = claim_schema
    for name, model in (REQUEST_BODIES | BESLUIT_BODIES).items():
        schemas[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Probleem"] = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schemas["Probleem"].pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    for schema in schemas.values():
        _collapse_nullable_formats(schema)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    # POST /aanvragen takes the Excel intake form too (vangnet.service.intake)
    submit = doc.get("paths", {}).get("/aanvragen", {}).get("post")
    if submit is not None:
        submit["requestBody"]["content"][XLSX_MEDIA_TYPE] = {
            "schema": {"type": "string", "format": "binary"}
        }
    doc["components"]["securitySchemes"] = _SECURITY_SCHEMES
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Probleem"}}}
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses.setdefault("401", copy.deepcopy(_UNAUTHENTICATED))
            if operation.get("operationId") in OPEN_OPERATIONS:
                operation["security"] = [{}, {SECURITY_SCHEME: []}]
            else:
                operation["security"] = [{SECURITY_SCHEME: []}]
                responses.setdefault("403", dict(_FORBIDDEN))
            for status in ("400", "405", "500", "503"):
                responses.setdefault(status, {"description": _ERRORS[status]})
            if "requestBody" in operation:
                for status in ("413", "415"):
                    responses.setdefault(status, {"description": _ERRORS[status]})
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = problem
                    response.setdefault("description", _ERRORS.get(status, "Fout"))
                response.setdefault("headers", {}).update(_VERSION_HEADER)
    return doc
