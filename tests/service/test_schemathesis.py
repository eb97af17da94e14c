"""A schemathesis run over every operation of the published OpenAPI document, in-process.

The document is the one `/v1/openapi.json` publishes (a test checks that they are equal); the
requests go straight to the ASGI application, with one engine worker of its own.

Per operation, with a fixed seed (`seed = 2016`, `derandomize=True`, no example database):
- the **coverage** phase: schemathesis's deterministic boundary, missing-field, wrong-type and
  wrong-method cases (about 350 for `POST /v1/evaluaties`, a few for each `GET`);
- the **fuzzing** phase: **25 examples per operation** (`max_examples=25`), positive and
  negative.

Random bodies almost never make a claim that a scheme accepts, so every 2xx schema is also
exercised on purpose: each public scenario claim (P01-P12, every outcome), 25 seeded
variations of them, and every published ruleset version go through the same checks.

Checks on every response:
- no server error: a 5xx fails, except a deliberate 503 problem document; and the engine
  worker never dies (an input that crashes the C engine fails, even though the client gets
  the deliberate 503);
- the response conforms to the published schema: a documented status code, the documented
  content type, the body schema, the documented headers (`API-Version`);
- invalid input is refused (`negative_data_rejection`: 4xx for data that breaks the schema);
- a wrong method is 405 with a correct `Allow` header.

Every request carries the bearer token of an aanvrager of a municipality (made directly in
the database before the app starts), so the protected operations answer as they would a real
client: its own claims and attachments are found, and what its role may not do (deciding,
taking a claim into treatment) is the documented 403. The roles themselves are tested as a
table in test_authz.py.

`positive_data_acceptance` is left out on purpose: the claim schema cannot express every rule
of the validator (the reference date must fall in a ruleset's validity, a scheme adds required
fields, amounts must be decimals), so schema-valid claims are rightly refused with 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.python import asgi

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.excel import XLSX_MEDIA_TYPE
from vangnet.service.accounts import Accounts
from vangnet.service.app import create_app, openapi_document
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.problems import PROBLEM_JSON
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

DOCUMENT = openapi_document(Settings(env="test"))
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 2016,
        # a deliberate 503 (the engine was replaced, storage unavailable) is documented and
        # allowed here; the test body still fails when the engine worker died
        "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", 503]}},
    }
)
# raw binary bodies (the Excel intake form, a PDF attachment) are sent as the bytes generated
schemathesis.serializer.alias([XLSX_MEDIA_TYPE, "application/pdf"], "application/octet-stream")
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

FUZZ_EXAMPLES = 25
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.unsupported_method,
    schemathesis.checks.allow_header_conformance,
]
# cases made by hand carry no generation metadata, which the negative-data check needs
EXPLICIT_CHECKS = [c for c in CHECKS if c is not schemathesis.checks.negative_data_rejection]
PUBLIC_CLAIMS = sorted(PUBLIC_SCENARIOS.glob("P*.claim.json"))


@pytest.fixture(scope="module")
def workers() -> Iterator[EngineWorkers]:
    with EngineWorkers(1) as pool:
        yield pool


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path_factory.mktemp("schemathesis"),
        # hundreds of requests from one client in a minute; the limit has its own test
        evaluations_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
def auth(settings: Settings) -> dict[str, str]:
    """The headers of an aanvrager of GM9901, made in the database the app will use."""
    engine = create_db_engine(settings.db_url)
    try:
        migrate(engine)
        accounts = Accounts(engine, settings, audit=AuditLog.from_settings(settings))
        accounts.add_organisation("GM9901", "Havendam (test)", "gemeente")
        account = accounts.add_account("test-aanvrager", "GM9901", "aanvrager", None)
        _, raw = accounts.issue_token(account.id, "schemathesis")
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture(scope="module")
def app(settings: Settings, workers: EngineWorkers, auth: dict[str, str]) -> Iterator[FastAPI]:
    yield create_app(settings, workers=workers)
    # schemathesis starts the application's lifespan on the first request and would keep it
    # until the interpreter exits; end it with this module
    asgi.shutdown_lifespans()


def _auth_for(case: schemathesis.Case, auth: dict[str, str]) -> dict[str, str] | None:
    """The token, unless the case's headers are the invalid part on purpose (a missing or
    malformed Authorization among them): then the headers go as generated, and the refusal
    (401) is what the negative-data check expects."""
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return None if headers is not None and headers.mode.is_negative else auth


def _call(
    case: schemathesis.Case,
    app: FastAPI,
    workers: EngineWorkers,
    checks: list[Any],
    auth: dict[str, str],
) -> int:
    before = workers.replacements
    response = case.call_and_validate(app=app, checks=checks, headers=_auth_for(case, auth))
    assert workers.replacements == before, (
        f"the engine worker died on this input ({response.status_code}):\n{case.as_curl_command()}"
    )
    if response.status_code == 503:
        assert response.headers["content-type"] == [PROBLEM_JSON]
    return response.status_code


def test_the_tested_document_is_the_published_one(app: FastAPI) -> None:
    with asgi.get_client(app) as client:
        assert client.get("/v1/openapi.json").json() == json.loads(json.dumps(DOCUMENT))


@schema.parametrize()
@hypothesis_settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation(
    case: schemathesis.Case, app: FastAPI, workers: EngineWorkers, auth: dict[str, str]
) -> None:
    _call(case, app, workers, CHECKS, auth)


@pytest.mark.parametrize("path", PUBLIC_CLAIMS, ids=lambda p: p.name.split(".")[0])
def test_public_claims_get_decisions_that_conform(
    path: Path, app: FastAPI, workers: EngineWorkers, auth: dict[str, str]
) -> None:
    case = schema["/evaluaties"]["POST"].Case(
        body=json.loads(path.read_text()), media_type="application/json"
    )
    assert _call(case, app, workers, EXPLICIT_CHECKS, auth) == 200


def _enum(name: str, field: str) -> list[str]:
    values: list[str] = DOCUMENT["components"]["schemas"][name]["properties"][field]["enum"]
    return values


@st.composite
def claim_variations(draw: st.DrawFn) -> dict[str, Any]:
    """A public claim with other amounts, roles and threats: mostly decisions, some refusals."""
    claim: dict[str, Any] = json.loads(draw(st.sampled_from(PUBLIC_CLAIMS)).read_text())
    claim["office_holder"]["role"] = draw(st.sampled_from(_enum("OfficeHolder", "role")))
    if claim.get("threat"):
        claim["threat"]["status"] = draw(st.sampled_from(_enum("Threat", "status")))
    for measure in claim["measures"]:
        measure["quantity"] = draw(st.integers(1, 50))
        cents = draw(st.integers(0, 5_000_000))
        measure["unit_price_eur"] = draw(st.sampled_from([cents / 100, f"{cents / 100:.2f}"]))
        measure["advised"] = draw(st.booleans())
    return claim


@given(claim=claim_variations())
@hypothesis_settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None)
def test_claim_variations_conform(
    claim: dict[str, Any], app: FastAPI, workers: EngineWorkers, auth: dict[str, str]
) -> None:
    case = schema["/evaluaties"]["POST"].Case(body=claim, media_type="application/json")
    assert _call(case, app, workers, EXPLICIT_CHECKS, auth) in (200, 400)


def test_every_published_ruleset_conforms(
    app: FastAPI, workers: EngineWorkers, auth: dict[str, str]
) -> None:
    listing = schema["/regelsets"]["GET"].Case()
    listing.call_and_validate(app=app, checks=EXPLICIT_CHECKS, headers=auth)
    with asgi.get_client(app) as client:
        versions = [(r["id"], r["version"]) for r in client.get("/v1/regelsets").json()]
    assert versions
    for scheme_id, version in versions:
        case = schema["/regelsets/{schemeId}/{version}"]["GET"].Case(
            path_parameters={"schemeId": scheme_id, "version": version}
        )
        assert _call(case, app, workers, EXPLICIT_CHECKS, auth) == 200


def test_attachments_conform(app: FastAPI, workers: EngineWorkers, auth: dict[str, str]) -> None:
    """Random bytes are never a PDF, PNG or JPEG and random ids no claim: one of each type is
    uploaded to a real claim, listed and downloaded, through the same checks."""
    claim = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
    with asgi.get_client(app) as client:
        aanvraag_id = client.post("/v1/aanvragen", json=claim, headers=auth).json()["id"]
    files = {
        "application/pdf": b"%PDF-1.4\n%%EOF\n",
        "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    }
    path = {"aanvraagId": aanvraag_id}
    ids = []
    for media_type, content in files.items():
        case = schema["/aanvragen/{aanvraagId}/bijlagen"]["POST"].Case(
            path_parameters=path, query={"soort": "offerte"}, body=content, media_type=media_type
        )
        response = case.call_and_validate(app=app, checks=EXPLICIT_CHECKS, headers=auth)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    listing = schema["/aanvragen/{aanvraagId}/bijlagen"]["GET"].Case(path_parameters=path)
    assert _call(listing, app, workers, EXPLICIT_CHECKS, auth) == 200
    for bijlage_id in ids:
        case = schema["/bijlagen/{bijlageId}"]["GET"].Case(
            path_parameters={"bijlageId": bijlage_id}
        )
        assert _call(case, app, workers, EXPLICIT_CHECKS, auth) == 200
