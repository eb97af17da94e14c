"""`POST /v1/verbetermogelijkheden`: the counterfactuals of a claim, on SQLite and PostgreSQL.

Every counterfactual the API returns is applied to the claim here (by this test's own path
code, field by field) and the changed claim is decided again by the engine, through
`POST /v1/evaluaties`: it must give the outcome and amount the API promised, better than the
claim's own. A granted claim gets none; an invalid claim is a 400 problem naming the field;
the audit entry holds the claim's hash and counts, never its content.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.counterfactual import NEVER_CHANGED
from vangnet.evaluate import Decider
from vangnet.service.app import create_app, openapi_document
from vangnet.service.audit import AuditEntry
from vangnet.service.routes.verbetermogelijkheden import Verbetermogelijkheden
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

URL = "/v1/verbetermogelijkheden"
PROBLEM = "application/problem+json"
ORDER = ["afwijzen", "nader_onderzoek", "gedeeltelijk", "toekennen"]
# words of the claims' content that no audit entry may hold
CONTENT = "Geheime omschrijving van de achterdeur"
SCHEMA = schemathesis.openapi.from_dict(openapi_document(Settings(env="test")))


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PUBLIC_SCENARIOS / f"{name}.claim.json").read_text())
    data["claim_id"] = f"VERBETER-{name}"
    data["measures"][0]["description"] = CONTENT
    return data


def _p04_like() -> dict[str, Any]:
    """P04 with its implicit threat assessed by the municipality, not within the stelsel: the
    vangnet refuses it; an explicit threat found by a recognised assessor would help."""
    claim = _raw("P04")
    claim["threat"]["assessed_by"] = "gemeente"
    return claim


def _decode(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return data


def _set(claim: dict[str, Any], path: str, value: Any) -> None:
    """Set one field, `a.b` or `measures[2].c`, creating an absent object on the way."""
    keys: list[str | int] = [
        int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")
    ]
    node: Any = claim
    for key in keys[:-1]:
        if isinstance(key, str) and node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def _rank(outcome: str, total: Decimal) -> tuple[int, Decimal]:
    return ORDER.index(outcome), total


def _entries(client: TestClient) -> list[AuditEntry]:
    state: Any = client.app.state  # type: ignore[attr-defined]
    buffer = getattr(state, "audit_buffer", None)  # the lifespan's: written in batches
    if buffer is not None:
        assert buffer.flush(timeout=30)
    found: list[AuditEntry] = state.audit.entries(state.store.engine, limit=10_000)
    return [e for e in found if e.action == "verbetermogelijkheden.opvragen"]


@pytest.mark.parametrize(
    ("name", "claim"),
    [("P04-like", _p04_like()), ("P05", _raw("P05")), ("P08", _raw("P08"))],
)
def test_every_counterfactual_applied_gives_the_better_outcome_it_promises(
    api: TestClient, name: str, claim: dict[str, Any]
) -> None:
    r = api.post(URL, json=claim)
    assert r.status_code == 200, r.text
    body = _decode(r.text)
    Verbetermogelijkheden.model_validate(body)  # the documented shape, nothing more
    decided = _decode(api.post("/v1/evaluaties", json=claim).text)
    assert (body["outcome"], body["eligible_total_eur"]) == (
        decided["outcome"],
        decided["eligible_total_eur"],
    )
    assert body["claim_sha256"] == decided["receipt"]["claim_sha256"]
    assert body["ruleset"] == decided["ruleset"]
    assert body["counterfactuals"], name
    for cf in body["counterfactuals"]:
        assert cf["fields"] and cf["description"]
        changed = copy.deepcopy(claim)
        for field in cf["fields"]:
            assert field["path"].startswith(cf["path"])
            generic = re.sub(r"\[\d+\]", "[*]", field["path"])
            assert not any(generic == n or generic.startswith(n + ".") for n in NEVER_CHANGED)
            assert field["old_value"] != field["new_value"]
            _set(changed, field["path"], field["new_value"])
        again = api.post("/v1/evaluaties", json=json.loads(json.dumps(changed, default=str)))
        assert again.status_code == 200, again.text
        result = _decode(again.text)
        assert (result["outcome"], result["eligible_total_eur"]) == (
            cf["outcome"],
            cf["eligible_total_eur"],
        )
        better = _rank(result["outcome"], result["eligible_total_eur"])
        assert better > _rank(body["outcome"], body["eligible_total_eur"])


def test_the_p04_like_claim_needs_an_explicit_threat(api: TestClient) -> None:
    body = _decode(api.post(URL, json=_p04_like()).text)
    assert body["outcome"] == "afwijzen"
    (cf,) = body["counterfactuals"]
    assert (cf["path"], cf["kind"], cf["outcome"]) == ("threat", "categorical", "gedeeltelijk")
    assert cf["old_value"] == {"status": "impliciet", "assessed_by": "gemeente"}
    assert cf["new_value"] == {"status": "expliciet", "assessed_by": "politie"}
    assert {f["path"] for f in cf["fields"]} == {"threat.status", "threat.assessed_by"}


def test_a_granted_claim_gets_an_empty_list(api: TestClient) -> None:
    r = api.post(URL, json=_raw("P01"))
    assert r.status_code == 200, r.text
    body = _decode(r.text)
    assert body["outcome"] == "toekennen"
    assert body["counterfactuals"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("measures", 0, "unit_price_eur", "-5"), "measures[0].unit_price_eur"),
        (("office_holder", None, "role", "koning"), "office_holder.role"),
        (("reference_date", None, None, "gisteren"), "reference_date"),
    ],
)
def test_an_invalid_claim_is_400_naming_the_field(
    api: TestClient, change: tuple[Any, ...], field: str
) -> None:
    claim = _raw("P05")
    key, index, sub, value = change
    if sub is None:
        claim[key] = value
    elif index is None:
        claim[key][sub] = value
    else:
        claim[key][index][sub] = value
    r = api.post(URL, json=claim)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert field in [p["field"] for p in r.json()["problems"]]
    (entry,) = _entries(api)
    assert entry.details == {"vorm": "json", "uitkomst": "geweigerd"}


def test_broken_json_and_another_media_type_are_refused(api: TestClient) -> None:
    r = api.post(URL, content=b'{"measures": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    r = api.post(URL, content=b"claim", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"] == PROBLEM


def test_the_audit_entry_has_the_hash_and_counts_never_the_content(api: TestClient) -> None:
    r = api.post(URL, json=_p04_like())
    assert r.status_code == 200, r.text
    body = r.json()
    (entry,) = _entries(api)
    assert entry.actor == "anoniem" and entry.result == "gelukt"
    assert entry.details == {
        "vorm": "json",
        "claim_sha256": body["claim_sha256"],
        "uitkomst": "afwijzen",
        "aantal": len(body["counterfactuals"]),
    }
    text = json.dumps(entry.as_dict())
    for content in ("VERBETER", CONTENT, "Voorbeeld", "gemeente", "DEUR_RC4", "threat"):
        assert content not in text, content
    state: Any = api.app.state  # type: ignore[attr-defined]
    assert state.audit.verify(state.store.engine).ok


def test_the_response_conforms_to_the_published_document(api: TestClient) -> None:
    operation = SCHEMA["/verbetermogelijkheden"]["POST"]
    for claim in (_p04_like(), _raw("P01")):
        case = operation.Case(body=claim, media_type="application/json")
        response = api.post(URL, json=claim)
        case.validate_response(response)
    refused = api.post(URL, json={"measures": []})
    operation.Case(body={"measures": []}, media_type="application/json").validate_response(refused)


def test_anonymous_callers_are_rate_limited(
    tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data", evaluations_per_minute=1)
    with TestClient(create_app(settings, workers=workers, validator=validator)) as client:
        assert client.post(URL, json=_raw("P01")).status_code == 200
        r = client.post(URL, json=_raw("P01"))
        assert r.status_code == 429 and r.headers["content-type"] == PROBLEM
        assert int(r.headers["Retry-After"]) >= 1
        assert len(_entries(client)) == 1  # the refused request did no work
