"""Findings of the security review of the pages, each with the test that failed before its fix:
odd ids never a 500 (SQLite and PostgreSQL), an auditor's re-run never shows claim text."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.auth import Team
from tests.service.conftest import database_url, postgres_database  # noqa: F401 - fixtures
from tests.web.conftest import BROWSER
from tests.web.test_beoordelaar import P06, signed_in
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service.app import create_app
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

SECRET = "Camera bij de achterdeur van Dorpsstraat 12"  # noqa: S105 - claim text, not a password
PDF = b"%PDF-1.4\n% een kleine test\n"
# odd ids in a path: NUL (PostgreSQL refuses it in a string), far too long, not UTF-8, dots
ODD_IDS = ("%00", "a%00b", "x" * 3000, "%C3%28", "%FF", "%2E%2E")


@pytest.fixture
def any_db(
    database_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    workers: EngineWorkers,
    validator: Decider,
) -> Iterator[TestClient]:
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=database_url)
    app = create_app(settings, workers=workers, validator=validator)
    with TestClient(app, base_url="https://testserver", headers=BROWSER) as c:
        yield c


def _decided(team: Team) -> tuple[str, str, str]:
    """A claim of GM9901 with SECRET as a measure's description and an attachment, decided by
    BZK: (aanvraag id, besluit id, bijlage id)."""
    claim = copy.deepcopy(P06)
    claim["measures"][0]["description"] = SECRET
    r = team.gemeente.post("/v1/aanvragen", json=claim)
    assert r.status_code == 201, r.text
    aanvraag = r.json()
    r = team.gemeente.post(
        f"{aanvraag['href']}/bijlagen",
        params={"soort": "offerte"},
        content=PDF,
        headers={"Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    bijlage_id = r.json()["id"]
    assert team.bzk.post(f"{aanvraag['href']}/in-behandeling").status_code == 200
    r = team.bzk.post(
        f"{aanvraag['href']}/besluit", json={"outcome": "gedeeltelijk", "amount_eur": "16850.00"}
    )
    assert r.status_code == 201, r.text
    return aanvraag["id"], r.json()["id"], bijlage_id


def test_odd_ids_on_the_pages_are_404_never_a_500(any_db: TestClient) -> None:
    team = Team(any_db)
    aanvraag_id, besluit_id, bijlage_id = _decided(team)
    officer = signed_in(team, "aanvrager", "GM9901")
    assessor = signed_in(team, "beoordelaar", "BZK")
    auditor = signed_in(team, "auditor", "BZK")
    for odd in ODD_IDS:
        gets = [
            (officer, f"/aanvragen/{odd}"),
            (officer, f"/aanvragen/{odd}/aanvullen"),
            (officer, f"/aanvragen/{odd}/aanvullen/excel"),
            (officer, f"/aanvragen/{odd}/formulier.xlsx"),
            (officer, f"/aanvragen/{odd}/intrekken"),
            (officer, f"/aanvragen/{odd}/bijlagen/{bijlage_id}"),
            (officer, f"/aanvragen/{aanvraag_id}/bijlagen/{odd}"),
            (officer, f"/aanvragen/{odd}/besluiten/{besluit_id}.json"),
            (officer, f"/aanvragen/{aanvraag_id}/besluiten/{odd}.json"),
            (officer, f"/aanvragen/{odd}/besluiten/{besluit_id}/brief.pdf"),
            (officer, f"/aanvragen/{odd}/besluiten/{besluit_id}/bezwaar"),
            (assessor, f"/beoordelen/{odd}"),
            (assessor, f"/beoordelen/besluiten/{odd}/brief"),
            (assessor, f"/beoordelen/besluiten/{odd}/brief.pdf"),
            (assessor, f"/beoordelen/bijlagen/{odd}"),
            (auditor, f"/audit/besluiten/{odd}"),
            (auditor, f"/audit/besluiten?zoek={odd}"),
            (auditor, f"/audit/besluiten?zoek=BZK-vangnet-{odd}-B1"),
        ]
        for person, url in gets:
            r = person.get(url, follow_redirects=False)
            assert r.status_code in (400, 404), (url[:80], r.status_code)
        posts = [
            (officer, f"/aanvragen/{odd}/intrekken"),
            (officer, f"/aanvragen/{odd}/aanvullen"),
            (officer, f"/aanvragen/{odd}/besluiten/{besluit_id}/bezwaar"),
            (assessor, f"/beoordelen/{odd}/in-behandeling"),
            (assessor, f"/beoordelen/{odd}/aanvulling"),
            (assessor, f"/beoordelen/{odd}/besluit"),
            (assessor, f"/beoordelen/besluiten/{odd}/bezwaar"),
            (auditor, f"/audit/besluiten/{odd}/opnieuw"),
            (officer, f"/account/sleutels/{odd}/intrekken"),
        ]
        for person, url in posts:
            r = person.post(url, {"reden": "x"})
            assert r.status_code in (400, 404), (url[:80], r.status_code)


def test_the_re_run_on_the_auditors_page_shows_no_claim_text(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-run names the first difference with both values; a value can be a line (or a
    description) of the advice, which repeats what the applicant typed. The auditor reads
    pseudonymised: the page shows the path, never that text."""
    team = Team(client)
    _, besluit_id, _ = _decided(team)
    auditor = signed_in(team, "auditor", "BZK")
    app: Any = client.app
    stored = json.loads(app.state.store.advice_of(besluit_id).decision_json)
    line = stored["lines"][0]
    assert line["description"] == SECRET
    differences = [
        ("lines.0", dumps(line), "(ontbreekt)"),
        ("lines.0.description", dumps(SECRET), dumps(SECRET + ".")),
        ("(beslissing)", dumps(stored), dumps({**stored, "lines": []})),
    ]
    for difference in differences:
        monkeypatch.setattr(app.state.workers, "run", lambda *_a, d=difference: d)
        r = auditor.post(f"/audit/besluiten/{besluit_id}/opnieuw", {})
        assert r.status_code == 200, r.text
        assert difference[0] in r.text  # the path is shown
        assert "Dorpsstraat" not in r.text, difference[0]
