"""The API's common behaviour: problems, headers, limits, 404/405, the OpenAPI document."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.service.openapi import API_VERSION

P06 = (PUBLIC_SCENARIOS / "P06.claim.json").read_bytes()
JSON = {"content-type": "application/json"}


def test_evaluatie_returns_the_contract_decision(client: TestClient) -> None:
    r = client.post("/v1/evaluaties", content=P06, headers=JSON)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert '"eligible_total_eur":16850.00' in r.text
    assert r.json()["outcome"] == "gedeeltelijk"


def test_every_response_has_the_version_and_security_headers(client: TestClient) -> None:
    for r in (
        client.get("/v1/health"),
        client.get("/v1/nope"),
        client.post("/v1/evaluaties", content=b"{", headers=JSON),
    ):
        assert r.headers["API-Version"] == API_VERSION
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_invalid_claim_is_400_with_every_problem(client: TestClient) -> None:
    r = client.post("/v1/evaluaties", content=b'{"measures": [], "x": 1}', headers=JSON)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 400 and body["title"] and body["detail"]
    assert body["code"] == "ongeldige_aanvraag"
    fields = [p["field"] for p in body["problems"]]
    # without a reference date no version is known, so its required fields are not added
    assert fields == ["reference_date", "applicant", "office_holder", "measures", "x"]


def test_no_version_in_force_is_400_geen_regelset(client: TestClient) -> None:
    claim = json.loads(P06)
    claim["reference_date"] = "2010-01-01"
    r = client.post("/v1/evaluaties", json=claim)
    assert r.status_code == 400 and r.json()["code"] == "geen_regelset"


def test_unknown_path_404_and_wrong_method_405_with_allow(client: TestClient) -> None:
    r = client.get("/v1/bestaat-niet")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/v1/evaluaties")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert r.json()["status"] == 405
    assert client.get("/v1/regelsets/").status_code == 404  # no trailing slashes


def test_too_large_is_413_and_wrong_media_type_415(client: TestClient) -> None:
    r = client.post("/v1/evaluaties", content=b" " * (1024 * 1024 + 1), headers=JSON)
    assert r.status_code == 413 and r.json()["status"] == 413
    r = client.post("/v1/evaluaties", content=P06, headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_regelsets_are_public_data(client: TestClient) -> None:
    r = client.get("/v1/regelsets")
    assert [(x["id"], x["version"]) for x in r.json()] == [
        ("basismaatregelen", "2021.1"), ("beveiligingsmaatregelen", "2024.1"),
        ("vangnet", "2016.1"), ("vangnet-herijking", "2018.1"),
    ]  # fmt: skip
    r = client.get("/v1/regelsets/vangnet/2016.1")
    assert r.status_code == 200
    body = r.json()
    assert body["parameters"]["drempel_per_inwoner_eur"]["value"] == "1.00"
    assert [rule["id"] for rule in body["claim_rules"]][-1] == "VN-ONEVENREDIG"
    assert client.get("/v1/regelsets/vangnet/1999.1").status_code == 404


def test_health_has_no_personal_data(client: TestClient) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    assert set(r.json()) == {"status", "version", "rulesets", "engine_replacements"}


def test_openapi_document_follows_the_design_rules(client: TestClient) -> None:
    r = client.get("/v1/openapi.json")
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/v1/health").headers
    doc = r.json()
    assert doc["servers"][0]["url"].endswith("/v1")
    assert set(doc["info"]["contact"]) == {"name", "url", "email"}
    for path, item in doc["paths"].items():
        assert not path.endswith("/")
        for op in item.values():
            assert "400" in op["responses"] and "422" not in op["responses"]
            for status, response in op["responses"].items():
                assert "API-Version" in response["headers"], (path, status)
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"]


def test_rate_limit_is_429_with_retry_after(client: TestClient) -> None:
    client.app.state.rate_limiter.per_minute = 2  # type: ignore[attr-defined]
    for _ in range(2):
        assert client.post("/v1/evaluaties", content=b"{}", headers=JSON).status_code == 400
    r = client.post("/v1/evaluaties", content=b"{}", headers=JSON)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_the_precheck_as_an_excel_workbook_by_accept(client: TestClient) -> None:
    import io

    from openpyxl import load_workbook

    from vangnet.excel import XLSX_MEDIA_TYPE

    r = client.post("/v1/evaluaties", content=P06, headers={**JSON, "Accept": XLSX_MEDIA_TYPE})
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX_MEDIA_TYPE
    assert "attachment" in r.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(r.content), read_only=True)
    cells = [
        str(c)
        for ws in workbook.worksheets
        for row in ws.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    assert any("gedeeltelijk" in c.lower() for c in cells)
    r = client.post(
        "/v1/evaluaties",
        content=P06,
        headers={**JSON, "Accept": f"application/json, {XLSX_MEDIA_TYPE};q=0.5"},
    )
    assert r.headers["content-type"] == "application/json"
    r = client.post("/v1/evaluaties", content=P06, headers={**JSON, "Accept": "text/csv"})
    assert r.status_code == 406 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/v1/evaluaties", content=b"{}", headers={**JSON, "Accept": XLSX_MEDIA_TYPE})
    assert r.status_code == 400


def test_an_unexpected_error_is_a_500_problem_without_traceback(client: TestClient) -> None:
    api = next(r.app for r in client.app.routes if getattr(r, "path", "") == "/v1")  # type: ignore[attr-defined]

    def broken() -> None:
        raise RuntimeError("geheime details die niet naar buiten mogen")

    api.add_api_route("/kapot", broken, methods=["GET"])
    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.get("/v1/kapot")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "geheime" not in r.text and "Traceback" not in r.text
    assert r.headers["API-Version"] == API_VERSION
