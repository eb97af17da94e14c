"""Demo data: seeding creates the demo accounts and every listed claim in its status through
the engine and the store, as the accounts of its organisations; a second run adds nothing, an
interrupted run finishes, production and non-demo mode are refused."""

from __future__ import annotations

import asyncio
import hashlib
import html as htmllib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from vangnet.evaluate import Decider
from vangnet.service import deciding
from vangnet.service.app import create_app
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine
from vangnet.service.demo import (
    DEMO_FILE,
    DemoData,
    DemoError,
    DemoRefused,
    SeedReport,
    claim_versions,
    load_demo,
    seed_demo,
)
from vangnet.service.identity import Identity
from vangnet.service.lifecycle import TRANSITIONS
from vangnet.service.models import (
    Aanvraag,
    AanvraagVersie,
    Advies,
    Besluit,
    Bezwaar,
    Statusovergang,
)
from vangnet.service.settings import Settings
from vangnet.service.store import Store
from vangnet.workers import EngineWorkers

DEMO = load_demo()
# every status of the lifecycle
REQUIRED = {
    "ingediend",
    "in_behandeling",
    "aanvulling_gevraagd",
    "aangevuld",
    "besloten",
    "ingetrokken",
}


def _counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return {
                model.__tablename__: connection.scalar(select(func.count()).select_from(model)) or 0
                for model in (Aanvraag, AanvraagVersie, Advies, Statusovergang, Besluit, Bezwaar)
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, workers: EngineWorkers, validator: Decider
) -> tuple[Settings, SeedReport]:
    settings = Settings(env="test", demo=True, data_dir=tmp_path_factory.mktemp("demo"))
    return settings, seed_demo(settings, workers=workers, validator=validator)


@pytest.fixture
def store(seeded: tuple[Settings, SeedReport]) -> Iterator[Store]:
    engine = create_db_engine(seeded[0].db_url)
    try:
        yield Store(engine, AuditLog.from_settings(seeded[0]))
    finally:
        engine.dispose()


# someone acting on the demo data by hand, outside the seeder
BY_HAND = Identity("f" * 32, "BZK", "beoordelaar", "beoordelaar-hand", "cli", "cli")


def _as(client: TestClient, gebruikersnaam: str) -> dict[str, str]:
    """The headers of a new token of the demo account `gebruikersnaam`."""
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    _, raw = accounts.issue_token(accounts.account_by_name(gebruikersnaam).id, "test")
    return {"Authorization": f"Bearer {raw}"}


def _by_claim_id(store: Store) -> dict[str, dict[str, object]]:
    items, total = store.page(size=100)
    assert total == len(items)
    return {str(x["claim_id"]): store.get(str(x["id"])) for x in items}


# --- the data ---------------------------------------------------------------------------------


def test_the_data_lists_every_status_the_store_can_reach() -> None:
    assert {c.status for c in DEMO.claims} >= REQUIRED


def test_municipalities_are_fictitious_distinct_and_consistent() -> None:
    towns = DEMO.municipalities.values()
    assert len(towns) >= 3
    assert len({t.code for t in towns}) == len(towns)
    assert len({t.name for t in towns}) == len(towns)
    for t in towns:
        assert t.code.startswith("GM99")
        assert t.name.endswith("(demo)")
        # regimes.md: total lasten of EUR 3,000-5,000 per inhabitant
        assert 3000 <= t.total_expenditure_eur / t.inhabitants <= 5000
        assert t.security_budget_eur < t.total_expenditure_eur / 1000


def test_claims_carry_the_municipality_figures_and_only_pseudonyms() -> None:
    for entry in DEMO.claims:
        for claim in claim_versions(DEMO, entry):
            holder = claim["office_holder"]["reference"]
            assert holder.split("-")[1].startswith("D"), holder
            if entry.gemeente is not None:
                town = DEMO.municipalities[entry.gemeente]
                assert claim["applicant"] == {"type": "gemeente", "name": f"Gemeente {town.name}"}
                assert claim["municipality"]["code"] == town.code
                assert claim["municipality"]["inhabitants"] == town.inhabitants


def _transitions(entry: Any) -> list[Any]:
    """The steps of a demo claim that are transitions (in its history)."""
    return [s for s in entry.steps if s.action in TRANSITIONS]


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _by_key(raw: dict[str, Any], key: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(c for c in raw["claims"] if c["key"] == key)
    return entry


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["claims"][0].update(status="aangevuld"), "eindigen in ingediend"),
        (
            lambda r: r["claims"][0].update(steps=[{"action": "aanvullingen", "changes": {}}]),
            "aanvullingen kan niet vanuit ingediend",
        ),
        (
            lambda r: r["claims"][0].update(steps=[{"action": "besluiten"}]),
            "steps.0.action",
        ),
        (
            lambda r: r["claims"][0].update(
                status="besloten",
                steps=[
                    {
                        "action": "besluit",
                        "outcome": "toekennen",
                        "amount_eur": 1,
                    }
                ],
            ),
            "besluit kan niet vanuit ingediend",
        ),
        (
            lambda r: r["claims"][1]["steps"].append({"action": "bezwaren"}),
            "bezwaren kan pas na een besluit",
        ),
        (
            lambda r: _by_key(r, "D10")["steps"].append(
                {
                    "action": "beslissingen-op-bezwaar",
                    "outcome": "afwijzen",
                    "amount_eur": 0,
                    "motivation": "Ongegrond.",
                }
            ),
            "een beslissing op bezwaar volgt op een bezwaar",
        ),
        (
            lambda r: _by_key(r, "D08")["steps"][1].pop("amount_eur"),
            "besluit heeft een outcome en een amount_eur",
        ),
        (
            # who decides is a demo account, never a name in the file
            lambda r: _by_key(r, "D08")["steps"][1].update(assessor="BO-D01"),
            "steps.1.assessor",
        ),
        (lambda r: _by_key(r, "D07").pop("organisatie"), "geef `gemeente` of `organisatie`"),
        (
            lambda r: _by_key(r, "D08").update(organisatie="GM9901"),
            "geef `gemeente` of `organisatie`",
        ),
        (
            lambda r: _by_key(r, "D08")["steps"][0].update(outcome="toekennen"),
            "alleen een besluit, correctie of beslissing op bezwaar heeft outcome",
        ),
        (
            lambda r: r["municipalities"]["havendam"].update(code="GM0363"),
            "die bij geen echte gemeente hoort",
        ),
        (
            lambda r: r["municipalities"]["havendam"].update(name="Havendam"),
            "eindigt op (demo)",
        ),
        (
            lambda r: r["claims"][0]["claim"]["office_holder"].update(reference="Jan Jansen"),
            "geen pseudoniem",
        ),
        (
            lambda r: r["claims"][0]["claim"].update(municipality={"security_budget_eur": 10}),
            "tussen 0 en 0",
        ),
    ],
)
def test_the_loader_refuses_bad_demo_data_in_dutch(
    tmp_path: Path, change: object, message: str
) -> None:
    raw = _raw()
    change(raw)  # type: ignore[operator]
    with pytest.raises(DemoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_demo(_write(tmp_path, raw))


# --- seeding ----------------------------------------------------------------------------------


def test_seeding_creates_every_claim_in_its_status(
    seeded: tuple[Settings, SeedReport], store: Store
) -> None:
    _, report = seeded
    stored = _by_claim_id(store)
    expected = {str(c.claim["claim_id"]): c for c in DEMO.claims}
    assert set(stored) == set(expected)
    assert sorted(report.submitted) == sorted(expected)
    assert report.steps == sum(len(c.steps) for c in DEMO.claims)
    assert not report.left_alone
    for claim_id, entry in expected.items():
        a = stored[claim_id]
        assert a["status"] == entry.status, claim_id
        # the history follows the steps of the file
        history = a["history"]
        assert isinstance(history, list)
        assert [h["to_status"] for h in history] == ["ingediend"] + [
            TRANSITIONS[s.action].target for s in _transitions(entry)
        ]
        reasons = [h["reason"] for h in history[1:]]
        assert reasons == [s.reason.strip() if s.reason else None for s in _transitions(entry)]
        # a besluit for each besluit, correction and decision on objection of the file
        besluiten = a["besluiten"]
        assert isinstance(besluiten, list)
        assert [b["kind"] for b in besluiten] == [
            "besluit" if s.action == "besluit" else deciding.REPLACEMENTS[s.action]
            for s in entry.steps
            if s.action == "besluit" or s.action in deciding.REPLACEMENTS
        ]
    assert {a["status"] for a in stored.values()} >= REQUIRED


def test_every_version_was_evaluated_by_the_engine(store: Store) -> None:
    for claim_id, a in _by_claim_id(store).items():
        entry = next(c for c in DEMO.claims if c.claim["claim_id"] == claim_id)
        versions = claim_versions(DEMO, entry)
        assert a["claim_version"] == len(versions)
        advices = a["advices"]
        assert isinstance(advices, list)
        assert [x["claim_version"] for x in advices] == list(range(len(versions), 0, -1))
        for advice in advices:
            decision = advice["decision"]
            assert decision["claim_id"] == claim_id
            assert decision["receipt"]["engine"].startswith("vangnet ")
            assert decision["findings"], claim_id
        assert a["outcome"] == advices[0]["decision"]["outcome"]
        assert a["claim"]["municipality" if entry.gemeente else "applicant"]


def test_a_supplement_changes_the_advice(store: Store) -> None:
    d04 = _by_claim_id(store)["DEMO-D04"]
    outcomes = [x["decision"]["outcome"] for x in d04["advices"]]  # type: ignore[attr-defined]
    assert outcomes == ["toekennen", "nader_onderzoek"]


def test_a_second_run_adds_nothing(
    seeded: tuple[Settings, SeedReport], workers: EngineWorkers, validator: Decider
) -> None:
    settings, _ = seeded
    before = _counts(settings.db_url)
    again = seed_demo(settings, workers=workers, validator=validator)
    assert not again.changed
    assert again.submitted == [] and again.steps == 0
    assert _counts(settings.db_url) == before
    assert "niets toegevoegd" in again.text()


def test_a_second_run_needs_no_engine(seeded: tuple[Settings, SeedReport]) -> None:
    class NoWorkers(EngineWorkers):
        def __init__(self) -> None:
            pass

        async def adecide(self, *args: object, **kwargs: object) -> tuple[str, dict[str, object]]:
            raise AssertionError("a seeded claim was evaluated again")

    assert not seed_demo(seeded[0], workers=NoWorkers()).changed


def test_an_interrupted_run_finishes_where_it_stopped(
    tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    raw = _raw()
    full = [list(c["steps"]) for c in raw["claims"]]  # type: ignore[attr-defined]
    for c in raw["claims"]:  # type: ignore[attr-defined]
        c["steps"] = []
        c["status"] = "ingediend"
    settings = Settings(env="test", demo=True, data_dir=tmp_path / "data")
    first = seed_demo(settings, workers=workers, validator=validator, path=_write(tmp_path, raw))
    assert first.steps == 0 and len(first.submitted) == len(DEMO.claims)
    second = seed_demo(settings, workers=workers, validator=validator)
    assert second.submitted == []
    assert second.steps == sum(len(s) for s in full)
    statuses = {c: s for c, s, _ in second.claims}
    assert statuses == {str(c.claim["claim_id"]): c.status for c in DEMO.claims}


def test_an_interrupted_run_finishes_the_besluiten_where_it_stopped(
    tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    # every claim stops one step short: before its besluit, its correction, its decision on
    # the objection
    raw = _raw()
    for c in raw["claims"]:
        c["steps"] = c["steps"][:-1]
        targets = [
            TRANSITIONS[s["action"]].target for s in c["steps"] if s["action"] in TRANSITIONS
        ]
        c["status"] = targets[-1] if targets else "ingediend"
    settings = Settings(env="test", demo=True, data_dir=tmp_path / "data")
    seed_demo(settings, workers=workers, validator=validator, path=_write(tmp_path, raw))
    second = seed_demo(settings, workers=workers, validator=validator)
    assert second.submitted == [] and not second.left_alone
    assert second.steps == sum(1 for c in DEMO.claims if c.steps)
    assert {c: s for c, s, _ in second.claims} == {
        str(c.claim["claim_id"]): c.status for c in DEMO.claims
    }
    assert second.besluiten["DEMO-D10"].endswith("(correctie)")
    assert second.besluiten["DEMO-D11"].endswith("(beslissing op bezwaar)")
    before = _counts(settings.db_url)
    assert not seed_demo(settings, workers=workers, validator=validator).changed
    assert _counts(settings.db_url) == before


def test_a_claim_moved_on_by_hand_is_left_alone(
    tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    settings = Settings(env="test", demo=True, data_dir=tmp_path / "data")
    seed_demo(settings, workers=workers, validator=validator)
    engine = create_db_engine(settings.db_url)
    try:
        store = Store(engine, AuditLog.from_settings(settings))
        d01 = next(x for x in store.page(size=100)[0] if x["claim_id"] == "DEMO-D01")
        store.transition(str(d01["id"]), "intrekking", identity=BY_HAND, reason="Met de hand.")
    finally:
        engine.dispose()
    again = seed_demo(settings, workers=workers, validator=validator)
    assert not again.changed
    assert ("DEMO-D01", "ingetrokken", "toekennen") in again.claims


def test_a_besluit_corrected_by_hand_is_left_alone(
    tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    settings = Settings(env="test", demo=True, data_dir=tmp_path / "data")
    seed_demo(settings, workers=workers, validator=validator)
    engine = create_db_engine(settings.db_url)
    try:
        store = Store(engine, AuditLog.from_settings(settings))
        d08 = _by_claim_id(store)["DEMO-D08"]
        [besluit] = d08["besluiten"]  # type: ignore[misc]
        body = {"outcome": "afwijzen", "amount_eur": 0, "motivation": "Met de hand gecorrigeerd."}
        asyncio.run(
            deciding.replace(store, workers, besluit["id"], "correctie", body, identity=BY_HAND)
        )
    finally:
        engine.dispose()
    before = _counts(settings.db_url)
    again = seed_demo(settings, workers=workers, validator=validator)
    assert not again.changed and _counts(settings.db_url) == before
    assert again.left_alone == ["DEMO-D08"]


def _letter_text(client: TestClient, besluit: dict[str, Any], auth: dict[str, str]) -> str:
    r = client.get(besluit["letter"]["href"], headers={"Accept": "text/html", **auth})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", r.text))
    return " ".join(text.replace("\u00a0", " ").split())


def _plain_text(value: str | None) -> str:
    return " ".join((value or "").split())


def test_the_besluiten_follow_override_correct_and_decide_on_objection(
    seeded: tuple[Settings, SeedReport], workers: EngineWorkers, validator: Decider
) -> None:
    settings, _ = seeded
    steps = {str(c.claim["claim_id"]): c.steps for c in DEMO.claims}
    with TestClient(create_app(settings, workers=workers, validator=validator)) as client:
        # BZK's assessor, who decided them
        bzk = _as(client, "demo-beoordelaar-bzk")
        client.headers.update(bzk)
        page = client.get("/v1/aanvragen", params={"status": "besloten"}).json()
        claims = {x["claim_id"]: client.get(x["href"]).json() for x in page["items"]}
        assert set(claims) == {
            str(c.claim["claim_id"]) for c in DEMO.claims if c.status == "besloten"
        }
        besluiten = {
            k: [client.get(b["href"]).json() for b in a["besluiten"]] for k, a in claims.items()
        }
        # every besluit has its letter: the stored PDF, with its sha256
        for chain in besluiten.values():
            for b in chain:
                pdf = client.get(b["letter"]["href"], headers={"Accept": "application/pdf"})
                assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
                assert hashlib.sha256(pdf.content).hexdigest() == b["letter"]["sha256"]

        # following the advice: no motivation needed
        [follows] = besluiten["DEMO-D08"]
        assert follows["kind"] == "besluit" and follows["differs_from_advice"] is False
        assert follows["motivation"] is None
        assert follows["outcome"] == follows["advice"]["decision"]["outcome"]

        # an override: another outcome than the advice, with the motivation first in the letter
        [override] = besluiten["DEMO-D09"]
        assert override["differs_from_advice"] is True
        assert override["outcome"] != override["advice"]["decision"]["outcome"]
        motivation = _plain_text(steps["DEMO-D09"][-1].motivation)
        assert override["motivation"] == motivation
        text = _letter_text(client, override, bzk)
        assert text.index(motivation) < text.index("Wat de berekening vond")

        # a correction: a second besluit replacing the first, both kept
        first, correction = besluiten["DEMO-D10"]
        assert correction["kind"] == "correctie" and correction["number"] == 2
        assert correction["replaces"] == {"id": first["id"], "href": first["href"]}
        assert first["replaced_by"] == {"id": correction["id"], "href": correction["href"]}
        assert first["amount_eur"] != correction["amount_eur"]
        assert first["letter"]["sha256"] != correction["letter"]["sha256"]
        assert "Wij hebben dat besluit verbeterd." in _letter_text(client, correction, bzk)
        assert claims["DEMO-D10"]["besluiten"][1]["replaces"]["id"] == first["id"]

        # an objection, then the decision on it with the appeal clause
        objected, decision = besluiten["DEMO-D11"]
        [bezwaar] = objected["bezwaren"]
        pseudonym = client.app.state.accounts.account_by_name("demo-beoordelaar-bzk").pseudoniem  # type: ignore[attr-defined]
        assert bezwaar["registered_by"] == pseudonym
        assert {b["decided_by"] for chain in besluiten.values() for b in chain} == {pseudonym}
        assert bezwaar["received_on"] >= objected["letter"]["date"]
        assert decision["kind"] == "beslissing_op_bezwaar"
        assert decision["replaces"]["id"] == objected["id"]
        text = _letter_text(client, decision, bzk)
        assert "Beslissing op uw bezwaar" in text and "in beroep" in text


def test_changed_demo_data_over_old_demo_data_is_refused_clearly(
    tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    settings = Settings(env="test", demo=True, data_dir=tmp_path / "data")
    seed_demo(settings, workers=workers, validator=validator)
    raw = _raw()
    raw["claims"][0]["claim"]["measures"][0]["unit_price_eur"] = 2500  # type: ignore[index]
    with pytest.raises(DemoError, match="lege database"):
        seed_demo(settings, workers=workers, validator=validator, path=_write(tmp_path, raw))


def test_the_api_shows_the_demo_claims(
    seeded: tuple[Settings, SeedReport], workers: EngineWorkers, validator: Decider
) -> None:
    settings, _ = seeded
    owners = {str(c.claim["claim_id"]): DEMO.owner(c) for c in DEMO.claims}
    with TestClient(create_app(settings, workers=workers, validator=validator)) as client:
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/aanvragen").status_code == 401  # nobody signed in

        def listed(gebruikersnaam: str, **params: Any) -> set[str]:
            page = client.get(
                "/v1/aanvragen",
                params={"paginaGrootte": 100, **params},
                headers=_as(client, gebruikersnaam),
            ).json()
            return {x["claim_id"] for x in page["items"]}

        # an auditor sees every claim (pseudonymised); each organisation its own
        assert listed("demo-auditor") == set(owners)
        assert listed("demo-auditor", status="ingetrokken") == {"DEMO-D05"}
        for town in ("GM9901", "GM9902", "GM9903"):
            mine = {c for c, o in owners.items() if o == town}
            assert mine and listed(f"demo-aanvrager-{_town(town)}") == mine
        # BZK decides the vangnet claims; the employer body (Havendam) its own wethouder's
        assert listed("demo-beoordelaar-bzk") == set(owners) - {"DEMO-D07"}
        assert listed("demo-beoordelaar-havendam") == {"DEMO-D07"}
        for role in ("demo-beheerder", "demo-regelbeheerder-1"):
            r = client.get("/v1/aanvragen", headers=_as(client, role))
            assert r.status_code == 403


def _town(code: str) -> str:
    return next(k for k, t in DEMO.municipalities.items() if t.code == code)


def test_the_report_lists_the_demo_accounts(seeded: tuple[Settings, SeedReport]) -> None:
    _, report = seeded
    text = report.text()
    assert "Demo-accounts (alleen in demomodus" in text
    roles = {a.rol for a in report.accounts}
    assert roles == {"aanvrager", "beoordelaar", "regelbeheerder", "auditor", "beheerder"}
    for account in report.accounts:
        line = next(x for x in text.splitlines() if account.gebruikersnaam in x)
        assert account.wachtwoord in line and account.rol in line


def test_seeding_works_on_every_database(
    database_url: str, tmp_path: Path, workers: EngineWorkers, validator: Decider
) -> None:
    settings = Settings(
        env="test", demo=True, data_dir=tmp_path / "data", database_url=database_url
    )
    report = seed_demo(settings, workers=workers, validator=validator)
    assert {s for _, s, _ in report.claims} >= REQUIRED
    assert "postgresql+psycopg://" not in report.text()  # never the URL: it may hold a password
    before = _counts(settings.db_url)
    assert not seed_demo(settings, workers=workers, validator=validator).changed
    assert _counts(settings.db_url) == before


# --- production -------------------------------------------------------------------------------


def test_outside_demo_mode_seeding_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data")
    with pytest.raises(DemoError, match="VANGNET_DEMO=1"):
        seed_demo(settings)
    assert not (tmp_path / "data").exists()


def test_production_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    settings = Settings(
        env="production", demo=True, data_dir=tmp_path / "data", secret_key="s" * 32
    )
    with pytest.raises(DemoRefused, match="VANGNET_ENV=production"):
        seed_demo(settings)
    assert not (tmp_path / "data").exists()


def test_the_demo_file_is_what_the_loader_reads() -> None:
    assert isinstance(DEMO, DemoData)
    assert DEMO_FILE.parts[-3:] == ("forms", "demo", "demo.yaml")
