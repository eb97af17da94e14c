"""Drafting, approving and publishing rule versions (vangnet.service.regelbeheer), on SQLite
and PostgreSQL, publishing into a copy of the data folders: never into the real tree."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import ROOT
from vangnet.catalogue import load_catalogues
from vangnet.evaluate import Decider
from vangnet.manifest import check_manifest, current_hashes, read_manifest
from vangnet.ruleset import load_ruleset, load_rulesets
from vangnet.service import regelbeheer
from vangnet.service.accounts import Accounts
from vangnet.service.audit import AuditLog
from vangnet.service.authz import Refused
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.identity import Identity
from vangnet.service.models import Auditregel, RegelsetConcept
from vangnet.service.regelbeheer import ConceptError, Regelbeheer
from vangnet.service.settings import Settings

BASIS = ROOT / "rulesets" / "basismaatregelen" / "2021-01-01.yaml"
NEW = "rulesets/basismaatregelen/2024-01-01.yaml"
DRAFTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def new_basis_version(
    version: str = "2024.1", start: str = "2024-01-01", end: str = "2024-12-31"
) -> bytes:
    """basismaatregelen as a new version: another period, and a higher cap per home."""
    text_ = BASIS.read_text(encoding="utf-8")
    for old, new in (
        ('version: "2021.1"', f'version: "{version}"'),
        ("valid_from: 2021-01-01", f"valid_from: {start}"),
        ("valid_to: 2023-12-31", f"valid_to: {end}"),
        ('value: "2400.00"', 'value: "2600.00"'),
    ):
        assert old in text_, old
        text_ = text_.replace(old, new, 1)
    return text_.encode("utf-8")


def copy_tree(target: Path) -> Path:
    for sub in ("rulesets", "calculators"):
        shutil.copytree(ROOT / sub, target / sub, ignore=shutil.ignore_patterns("tests"))
    shutil.copy(ROOT / "CHANGELOG.md", target / "CHANGELOG.md")
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class Clock:
    def __init__(self) -> None:
        self.now = DRAFTED

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    engine: Engine
    tree: Path
    workflow: Regelbeheer
    clock: Clock
    anna: Identity  # regelbeheerder, the author
    bert: Identity  # another regelbeheerder
    cees: Identity  # an assessor
    audit: AuditLog


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=database_url)
    engine = create_db_engine(settings.db_url)
    migrate(engine)
    accounts = Accounts(engine, settings)
    accounts.add_organisation("BZK", "Ministerie van BZK", "bzk")

    def person(name: str, rol: str) -> Identity:
        info = accounts.add_account(name, "BZK", rol, None)
        _, raw = accounts.issue_token(info.id, "test")
        identity = accounts.token_identity(raw, "127.0.0.1")
        assert identity is not None
        return identity

    clock = Clock()
    audit = AuditLog.from_settings(settings)
    tree = copy_tree(tmp_path / "tree")
    workflow = Regelbeheer(engine, settings, root=tree, audit=audit, clock=clock)
    try:
        yield World(
            engine,
            tree,
            workflow,
            clock,
            person("anna", "regelbeheerder"),
            person("bert", "regelbeheerder"),
            person("cees", "beoordelaar"),
            audit,
        )
    finally:
        engine.dispose()


def draft(w: World, content: bytes | None = None, name: str = "2024-01-01.yaml") -> str:
    concept = w.workflow.draft(
        w.anna, name, content or new_basis_version(), "Het plafond per woning gaat omhoog."
    )
    return concept.id


def approved(w: World) -> str:
    concept_id = draft(w)
    w.clock.now = DRAFTED + timedelta(days=1)
    w.workflow.approve(w.bert, concept_id)
    w.clock.now = DRAFTED + timedelta(days=2)
    return concept_id


def actions(w: World) -> list[tuple[str, str, str]]:
    with w.engine.connect() as c:
        rows = c.execute(select(Auditregel.action, Auditregel.result, Auditregel.actor))
        return [tuple(r) for r in rows if r.action.startswith(("concept.", "toegang."))]


# --- the happy path -------------------------------------------------------------------------------


def test_draft_approve_publish_then_the_version_decides(world: World) -> None:
    w = world
    before = snapshot(w.tree)
    content = new_basis_version()
    concept = w.workflow.draft(w.anna, "2024-01-01.yaml", content, "Het plafond gaat omhoog.")
    assert (concept.status, concept.key, concept.author) == (
        "concept",
        "basismaatregelen@2024.1",
        w.anna.pseudoniem,
    )
    assert concept.changelog["vorige_versie"] == "basismaatregelen@2021.1"
    assert concept.changelog["wijzigingen"] == [
        {
            "soort": "gewijzigde parameter",
            "onderwerp": "plafond_per_woning_eur",
            "oud": "€ 2.400,00",
            "nieuw": "€ 2.600,00",
        }
    ]
    assert concept.changelog["geldigheid"] == "2024-01-01 t/m 2024-12-31"
    assert snapshot(w.tree) == before  # a draft writes no file

    w.clock.now = DRAFTED + timedelta(days=1)
    ok = w.workflow.approve(w.bert, "basismaatregelen@2024.1")
    assert (ok.status, ok.approver) == ("goedgekeurd", w.bert.pseudoniem)
    w.clock.now = DRAFTED + timedelta(days=2)
    published = w.workflow.publish(w.bert, concept.id)
    assert published.status == "gepubliceerd"
    assert published.published_at == DRAFTED + timedelta(days=2)

    # the file, byte for byte; its pin; nothing else changed but the manifest and the log
    assert (w.tree / NEW).read_bytes() == content
    after = snapshot(w.tree)
    assert set(after) - set(before) == {NEW}
    assert {p for p in before if before[p] != after[p]} == {
        "rulesets/manifest.json",
        "CHANGELOG.md",
    }
    sha = load_ruleset(w.tree / NEW).sha256
    assert sha == concept.sha256
    assert read_manifest(w.tree) == {**read_manifest(ROOT), NEW: sha}
    manifest = (w.tree / "rulesets/manifest.json").read_text(encoding="utf-8")
    old_manifest = before["rulesets/manifest.json"].decode("utf-8")
    last_pin = '"calculators/counterfactuals/2016-02-10.yaml": "'
    assert manifest.replace(f',\n    "{NEW}": "{sha}"', "") == old_manifest
    assert last_pin in manifest
    assert check_manifest(w.tree) == []
    assert set(current_hashes(w.tree)) == set(read_manifest(w.tree))

    # the changelog entry, exactly
    log = (w.tree / "CHANGELOG.md").read_text(encoding="utf-8")
    assert log == before["CHANGELOG.md"].decode("utf-8") + (
        "\n## 2026-12-03\n\n"
        "- **New ruleset version** `basismaatregelen` 2024.1 (wet), valid 2024-01-01 to"
        " 2024-12-31, after\n"
        "  2021.1. Changes: changed parameter `plafond_per_woning_eur` (€ 2.400,00 → € 2.600,00)."
        " Summary:\n"
        f"  Het plafond gaat omhoog. Drafted by `{w.anna.pseudoniem}` (2026-12-01), approved by\n"
        f"  `{w.bert.pseudoniem}` (2026-12-02), published 2026-12-03.\n"
        "  `rulesets/basismaatregelen/2024-01-01.yaml`.\n"
    ), log

    # the new version loads with the others and decides a claim dated in its period
    rulesets = load_rulesets(w.tree / "rulesets")
    assert [rs.version for rs in rulesets["basismaatregelen"]] == ["2021.1", "2024.1"]
    decider = Decider(rulesets, load_catalogues(w.tree / "calculators" / "catalogue"), prime=False)
    claim = decider.validate_json(
        json.dumps(
            {
                "claim_id": "BM-2024",
                "scheme": "basismaatregelen",
                "reference_date": "2024-06-01",
                "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
                "office_holder": {"role": "wethouder", "reference": "WH-A"},
                "home": {"pkvw_certified": True, "package_2021_used_eur": 0},
                "measures": [
                    {"code": "KLUIS", "description": "Kluis", "quantity": 1,
                     "unit_price_eur": 2500, "date": "2024-05-15"}
                ],
            }
        )
    )  # fmt: skip
    decision = decider.decide(claim)
    assert decision.ruleset.version == "2024.1" and decision.ruleset.sha256 == sha
    assert decision.outcome == "toekennen" and str(decision.eligible_total_eur) == "2500.00"

    # every step is in the audit log, by the person who took it, and the chain holds
    assert actions(w) == [
        ("concept.indienen", "gelukt", w.anna.actor),
        ("concept.goedkeuren", "gelukt", w.bert.actor),
        ("concept.publiceren", "gelukt", w.bert.actor),
    ]
    assert w.audit.verify(w.engine).ok

    # the list for the auditor page: who drafted and approved what, and when
    (row,) = w.workflow.overview()
    assert row.as_dict() | {"id": "", "sha256": ""} == {
        "id": "",
        "soort": "regelset",
        "regeling": "basismaatregelen",
        "versie": "2024.1",
        "geldig_vanaf": "2024-01-01",
        "geldigheid": "2024-01-01 t/m 2024-12-31",
        "status": "gepubliceerd",
        "sha256": "",
        "auteur": w.anna.pseudoniem,
        "ingediend_op": "2026-12-01T09:00:00Z",
        "goedgekeurd_door": w.bert.pseudoniem,
        "goedgekeurd_op": "2026-12-02T09:00:00Z",
        "gepubliceerd_op": "2026-12-03T09:00:00Z",
        "afgewezen_door": None,
        "afgewezen_op": None,
        "reden_afwijzing": None,
        "toelichting": "Het plafond gaat omhoog.",
        "vorige_versie": "basismaatregelen@2021.1",
        "wijzigingen": concept.changelog["wijzigingen"],
        "bestanden": [NEW],
    }


def test_a_second_publication_on_the_same_day_goes_under_the_same_heading(world: World) -> None:
    w = world
    approved(w)
    w.workflow.publish(w.bert, "basismaatregelen@2024.1")
    second = w.workflow.draft(
        w.bert,
        "2025-01-01.yaml",
        new_basis_version("2025.1", "2025-01-01", "2025-12-31"),
        "Zelfde.",
    )
    assert second.changelog["vorige_versie"] == "basismaatregelen@2024.1"
    assert second.changelog["wijzigingen"] == [
        {"soort": "nieuwe geldigheidsperiode", "onderwerp": "", "oud": None, "nieuw": None}
    ]
    w.workflow.approve(w.anna, second.id)
    w.workflow.publish(w.anna, second.id)
    log = (w.tree / "CHANGELOG.md").read_text(encoding="utf-8")
    assert log.count("## 2026-12-03") == 1
    last = log[log.rindex("\n- **") + 1 :]
    assert " ".join(last.split()) == (
        "- **New ruleset version** `basismaatregelen` 2025.1 (wet), valid 2025-01-01 to"
        " 2025-12-31, after 2024.1. Changes: new validity period, content otherwise unchanged."
        f" Summary: Zelfde. Drafted by `{w.bert.pseudoniem}` (2026-12-03), approved by"
        f" `{w.anna.pseudoniem}` (2026-12-03), published 2026-12-03."
        " `rulesets/basismaatregelen/2025-01-01.yaml`."
    )
    assert all(len(line) <= 100 for line in log.splitlines()[-12:])
    assert check_manifest(w.tree) == []


# --- four eyes -------------------------------------------------------------------------------------


def test_the_author_can_neither_approve_nor_publish(world: World) -> None:
    w = world
    concept_id = draft(w)
    with pytest.raises(Refused) as refused:
        w.workflow.approve(w.anna, concept_id)
    assert (refused.value.status, refused.value.code) == (403, "vier_ogen")
    with pytest.raises(Refused):
        w.workflow.reject(w.anna, concept_id, "Toch niet.")
    w.workflow.approve(w.bert, concept_id)
    with pytest.raises(Refused) as refused:
        w.workflow.publish(w.anna, concept_id)
    assert refused.value.code == "vier_ogen"
    assert not (w.tree / NEW).exists()
    (row,) = w.workflow.overview()
    assert row.status == "goedgekeurd"


def test_other_roles_may_not_draft_or_approve(world: World) -> None:
    w = world
    with pytest.raises(Refused) as refused:
        w.workflow.draft(w.cees, "2024-01-01.yaml", new_basis_version(), "Iets.")
    assert refused.value.status == 403
    concept_id = draft(w)
    with pytest.raises(Refused):
        w.workflow.approve(w.cees, concept_id)
    with pytest.raises(Refused):
        w.workflow.drafts(w.cees)
    nobody = Identity.anonymous_from("127.0.0.1")
    with pytest.raises(Refused) as refused:
        w.workflow.publish(nobody, concept_id)
    assert refused.value.status == 401


def test_the_database_refuses_an_approval_by_the_author(world: World) -> None:
    w = world
    concept_id = draft(w)
    with pytest.raises(IntegrityError), w.engine.begin() as c:
        c.execute(
            text(
                "UPDATE regelset_concept SET approved_by = author_id, status = 'goedgekeurd'"
                " WHERE id = :id"
            ),
            {"id": concept_id},
        )
    (row,) = w.workflow.overview()
    assert (row.status, row.approver) == ("concept", None)


# --- a published version never changes -----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE regelset_concept SET content = :bytes WHERE id = :id",
        "UPDATE regelset_concept SET status = 'concept' WHERE id = :id",
        "DELETE FROM regelset_concept WHERE id = :id",
    ],
)
def test_the_database_keeps_a_published_row_as_it_is(world: World, statement: str) -> None:
    w = world
    concept_id = approved(w)
    w.workflow.publish(w.bert, concept_id)
    with pytest.raises(DBAPIError) as err, w.engine.begin() as c:
        c.execute(text(statement), {"id": concept_id, "bytes": b"id: iets anders\n"})
    assert "gepubliceerd" in str(err.value.orig) or "onveranderlijk" in str(err.value.orig)
    with w.engine.connect() as c:
        row = c.execute(select(RegelsetConcept).where(RegelsetConcept.id == concept_id)).one()
    assert row.status == "gepubliceerd" and row.content == new_basis_version()


def test_a_published_version_is_not_published_or_approved_again(world: World) -> None:
    w = world
    concept_id = approved(w)
    w.workflow.publish(w.bert, concept_id)
    published = snapshot(w.tree)
    for step in (w.workflow.publish, w.workflow.approve):
        with pytest.raises(ConceptError) as err:
            step(w.bert, concept_id)
        assert err.value.code == "conflict"
        assert "gepubliceerd; een gepubliceerde versie verandert nooit" in err.value.message
    with pytest.raises(ConceptError) as err:
        w.workflow.reject(w.bert, concept_id, "Te laat.")
    assert err.value.code == "conflict"
    # the same version, or the same file, drafted again
    with pytest.raises(ConceptError) as err:
        draft(w)
    assert "rulesets/basismaatregelen/2024-01-01.yaml bestaat al" in err.value.message
    with pytest.raises(ConceptError) as err:
        draft(w, new_basis_version("2024.1", "2025-01-01", "2025-12-31"), "2025-01-01.yaml")
    assert "basismaatregelen@2024.1 is al gepubliceerd" in err.value.message
    assert snapshot(w.tree) == published


def test_a_version_drafted_twice_or_overlapping_is_refused(world: World) -> None:
    w = world
    concept_id = draft(w)
    with pytest.raises(ConceptError) as err:
        draft(w)
    assert err.value.code == "conflict" and concept_id in err.value.message
    with pytest.raises(ConceptError) as err:
        draft(w, new_basis_version("2023.1", "2023-01-01", "2023-12-31"), "2023-01-01.yaml")
    assert "overlapt met de gepubliceerde versie 2021.1 (2021-01-01 t/m 2023-12-31)" in (
        err.value.message
    )
    # an open version gets a successor that starts after it, not one that starts before it
    with pytest.raises(ConceptError) as err:
        draft(w, vangnet_successor(start="2015-01-01"), "2015-01-01.yaml")
    assert "overlapt met de gepubliceerde versie 2016.1 (vanaf 2016-02-10)" in err.value.message
    assert [c.id for c in w.workflow.overview()] == [concept_id]


# --- invalid drafts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: Vergoeding", "titel: Vergoeding", "2024-01-01.yaml: title: Field required"),
        ("    source: regeling-2020\n", "    source: onbekend\n", "2024-01-01.yaml: parameter"),
        ('value: "2600.00"', "value: 2600.5", "2024-01-01.yaml: floats are not allowed"),
        ("valid_from: 2024-01-01", "valid_from: 2024-02-01", "de bestandsnaam moet 2024-02-01"),
        ("{field: e_eur, gt:", "{field: e_euro, gt:", "regel BM-PLAFOND: onbekend veld 'e_euro'"),
        (
            "id: basismaatregelen",
            "id: basismaatregelen\nx: &a [1]\ny: *a",
            "geen YAML-verwijzingen",
        ),
        ("family: basismaatregelen", "family: 99999999999999999999", "grote getallen als tekst"),
    ],
)
def test_an_invalid_draft_is_refused_naming_the_field(
    world: World, old: str, new: str, expected: str
) -> None:
    w = world
    content = new_basis_version().decode("utf-8")
    assert old in content, old
    with pytest.raises(ConceptError) as err:
        draft(w, content.replace(old, new, 1).encode("utf-8"))
    assert err.value.code == "ongeldig"
    assert expected in err.value.message, err.value.message
    assert w.workflow.overview() == []
    assert actions(w) == []


def test_a_draft_needs_a_summary_and_a_readable_file(world: World) -> None:
    w = world
    with pytest.raises(ConceptError) as err:
        w.workflow.draft(w.anna, "2024-01-01.yaml", new_basis_version(), "   ")
    assert err.value.message.startswith("toelichting: is verplicht")
    with pytest.raises(ConceptError) as err:
        draft(w, b"id: [unclosed\n")
    assert err.value.message.startswith("2024-01-01.yaml: niet leesbaar als YAML")
    with pytest.raises(ConceptError) as err:
        draft(w, b"id: \xff\n")
    assert err.value.message == "2024-01-01.yaml: is geen tekst in UTF-8 (fout bij byte 4)"
    with pytest.raises(ConceptError) as err:
        draft(w, new_basis_version(), "../2024-01-01.yaml")
    assert "JJJJ-MM-DD.yaml" in err.value.message


# --- all or nothing --------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["CHANGELOG.md", "manifest.json", "2024-01-01.yaml"])
def test_a_failure_mid_publish_changes_neither_files_nor_status(
    world: World, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    w = world
    concept_id = approved(w)
    before = snapshot(w.tree)
    real = regelbeheer._replace
    failed: list[Path] = []

    def replace(temp: Path, target: Path) -> None:
        if target.name == failing and not failed:
            failed.append(target)
            raise OSError(28, "No space left on device")
        real(temp, target)

    monkeypatch.setattr(regelbeheer, "_replace", replace)
    with pytest.raises(OSError, match="No space"):
        w.workflow.publish(w.bert, concept_id)
    assert snapshot(w.tree) == before  # no new file, no temporary file, old manifest and log
    (row,) = w.workflow.overview()
    assert (row.status, row.published_at) == ("goedgekeurd", None)
    assert [a for a, _, _ in actions(w)] == ["concept.indienen", "concept.goedkeuren"]
    monkeypatch.undo()
    assert w.workflow.publish(w.bert, concept_id).status == "gepubliceerd"  # it can be retried


def test_a_manifest_that_does_not_check_out_undoes_the_publication(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    concept_id = approved(w)
    before = snapshot(w.tree)
    monkeypatch.setattr(
        regelbeheer, "check_manifest", lambda root: [f"{NEW}: de inhoud is veranderd"]
    )
    with pytest.raises(ConceptError, match="Na het schrijven klopt het manifest niet"):
        w.workflow.publish(w.bert, concept_id)
    assert snapshot(w.tree) == before
    (row,) = w.workflow.overview()
    assert row.status == "goedgekeurd"


# --- rejection -------------------------------------------------------------------------------------


def test_a_rejected_draft_keeps_its_reason_and_its_version_number(world: World) -> None:
    w = world
    concept_id = draft(w)
    w.clock.now = DRAFTED + timedelta(hours=3)
    rejected = w.workflow.reject(w.bert, concept_id, "  De bron\nontbreekt. ")
    assert rejected.status == "afgewezen" and rejected.rejected_by == w.bert.pseudoniem
    data = rejected.as_dict()
    assert (data["reden_afwijzing"], data["afgewezen_op"]) == (
        "De bron ontbreekt.",
        "2026-12-01T12:00:00Z",
    )
    for step in (w.workflow.approve, w.workflow.publish):
        with pytest.raises(ConceptError, match="afgewezen; dien een nieuwe versie in"):
            step(w.bert, concept_id)
    with pytest.raises(ConceptError, match="status afgewezen"):
        draft(w)
    # a new version number with the same file date is fine once the old one is rejected
    again = draft(w, new_basis_version("2024.2"))
    assert [c.status for c in w.workflow.drafts(w.bert)] == ["concept", "afgewezen"]
    assert w.workflow.get(w.bert, again).version == "2024.2"
    assert w.workflow.drafts(w.bert, "afgewezen")[0].id == concept_id
    assert [a for a, _, _ in actions(w)] == [
        "concept.indienen",
        "concept.afwijzen",
        "concept.indienen",
    ]


def test_an_unknown_draft_is_not_found(world: World) -> None:
    with pytest.raises(ConceptError) as err:
        world.workflow.approve(world.bert, "vangnet@9999.1")
    assert (err.value.code, err.value.status) == ("niet_gevonden", 404)


# --- a catalogue -----------------------------------------------------------------------------------


def test_a_catalogue_version_is_published_with_its_items(world: World, tmp_path: Path) -> None:
    w = world
    # the copy's open catalogue closed before 2030 (in the real tree that is its own, later act)
    old = w.tree / "calculators/catalogue/2016-02-10.yaml"
    old.write_text(old.read_text().replace("valid_to: null", "valid_to: 2029-12-31"))
    manifest = json.loads((w.tree / "rulesets/manifest.json").read_text())
    manifest["published"]["calculators/catalogue/2016-02-10.yaml"] = current_hashes(w.tree)[
        "calculators/catalogue/2016-02-10.yaml"
    ]
    (w.tree / "rulesets/manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    src = ROOT / "calculators/catalogue"
    meta = (src / "2016-02-10.yaml").read_text().replace("2016-02-10", "2030-01-01")
    items = (src / "2016-02-10.csv").read_text()
    line = "KLUIS,Brand- en inbraakwerende kluis,stuk,aanvullend,600,"
    assert items.count(line) == 1
    items = items.replace(line, line.replace(",600,", ",999.99,"))
    concept = w.workflow.draft(
        w.anna, "2030-01-01.yaml", meta.encode(), "Nieuwe prijs voor de kluis.", items.encode()
    )
    assert concept.key == "catalogus@2030-01-01"
    assert concept.changelog["wijzigingen"] == [
        {"soort": "gewijzigde referentieprijs", "onderwerp": "KLUIS", "oud": "€ 600,00",
         "nieuw": "€ 999,99"}
    ]  # fmt: skip
    w.workflow.approve(w.bert, concept.key)
    w.workflow.publish(w.bert, concept.key)
    cat = w.tree / "calculators/catalogue"
    assert (cat / "2030-01-01.csv").read_text() == items
    assert (cat / "2030-01-01.yaml").read_text() == meta
    versions = load_catalogues(cat).versions
    assert [v.valid_from for v in versions] == [date(2016, 2, 10), date(2030, 1, 1)]
    assert read_manifest(w.tree)["calculators/catalogue/2030-01-01.yaml"] == versions[1].sha256
    assert check_manifest(w.tree) == []
    log = (w.tree / "CHANGELOG.md").read_text()
    last = " ".join(log[log.rindex("\n- **") + 1 :].split())
    assert last == (
        "- **New catalogue version** valid from 2030-01-01, open, after the version of"
        " 2016-02-10. Changes: changed reference price `KLUIS` (€ 600,00 → € 999,99)."
        f" Summary: Nieuwe prijs voor de kluis. Drafted by `{w.anna.pseudoniem}` (2026-12-01),"
        f" approved by `{w.bert.pseudoniem}` (2026-12-01), published 2026-12-01."
        " `calculators/catalogue/2030-01-01.yaml`, `calculators/catalogue/2030-01-01.csv`."
    )


def test_a_catalogue_without_its_items_is_refused(world: World) -> None:
    meta = (ROOT / "calculators/catalogue/2016-02-10.yaml").read_text()
    with pytest.raises(ConceptError, match=r"2016-02-10.csv\) ontbreekt"):
        world.workflow.draft(world.anna, "2016-02-10.yaml", meta.encode(), "Iets.")
    bad = meta.replace("items_file: 2016-02-10.csv", "items_file: ../../etc/passwd")
    with pytest.raises(ConceptError, match=r"items_file moet 2016-02-10\.csv zijn"):
        world.workflow.draft(world.anna, "2016-02-10.yaml", bad.encode(), "Iets.", b"x")


# --- closing an open version ----------------------------------------------------------------------

VANGNET_OLD = "rulesets/vangnet/2016-02-10.yaml"
VANGNET_NEW = "rulesets/vangnet/2030-01-01.yaml"


def vangnet_successor(version: str = "2030.1", start: str = "2030-01-01") -> bytes:
    """vangnet 2016.1 (open) as a later version, otherwise the same."""
    text_ = (ROOT / VANGNET_OLD).read_text(encoding="utf-8")
    for old, new in (('version: "2016.1"', f'version: "{version}"'),
                     ("valid_from: 2016-02-10", f"valid_from: {start}")):  # fmt: skip
        assert text_.count(old) == 1, old
        text_ = text_.replace(old, new)
    assert "valid_to: null" in text_ or "valid_to:" not in text_
    return text_.encode("utf-8")


def public_claim(day: str) -> bytes:
    data = json.loads((ROOT / "tests/scenarios/public/P01.claim.json").read_text())
    return json.dumps({**data, "reference_date": day}).encode()


def test_a_successor_closes_the_open_version_beside_its_pin(world: World) -> None:
    from vangnet.jsonout import dumps
    from vangnet.service.reproduce import rerun

    w = world
    # a decision made under the open version, before the successor exists
    decider = Decider(load_rulesets(w.tree / "rulesets"),
                      load_catalogues(w.tree / "calculators/catalogue"), prime=False)  # fmt: skip
    claim_json = public_claim("2020-05-01")
    old = decider.decide(decider.validate_json(claim_json))
    assert old.ruleset.version == "2016.1" and old.ruleset.valid_to is None
    stored = dumps(old.as_dict()).encode("utf-8")
    old_bytes = (w.tree / VANGNET_OLD).read_bytes()
    old_sha = read_manifest(w.tree)[VANGNET_OLD]

    concept = w.workflow.draft(w.anna, "2030-01-01.yaml", vangnet_successor(), "Nieuwe periode.")
    closing = {"soort": "afgesloten versie", "onderwerp": "vangnet@2016.1", "oud": "open",
               "nieuw": "2029-12-31"}  # fmt: skip
    assert concept.changelog["wijzigingen"] == [
        {"soort": "nieuwe geldigheidsperiode", "onderwerp": "", "oud": None, "nieuw": None},
        closing,
    ]
    w.workflow.approve(w.bert, concept.id)
    w.workflow.publish(w.bert, concept.id)

    # the old file, its bytes and its pin, are untouched; the end date sits beside the pin
    assert (w.tree / VANGNET_OLD).read_bytes() == old_bytes
    manifest = json.loads((w.tree / "rulesets/manifest.json").read_text(encoding="utf-8"))
    assert manifest["published"][VANGNET_OLD] == old_sha
    assert manifest["closed"] == {VANGNET_OLD: {"valid_to": "2029-12-31", "by": "vangnet@2030.1"}}
    assert list(manifest) == ["comment", "published", "closed"]
    assert check_manifest(w.tree) == []
    log = " ".join((w.tree / "CHANGELOG.md").read_text().split())
    assert (
        "new validity period, content otherwise unchanged; closed in the manifest (its file"
        " unchanged) `vangnet@2016.1` (open → 2029-12-31)."
    ) in log

    # the loaders apply the end date; the hash is that of the unchanged file
    rulesets = load_rulesets(w.tree / "rulesets")
    first, second = rulesets["vangnet"]
    assert (first.version, first.valid_to, first.spec.valid_to) == (
        "2016.1",
        date(2029, 12, 31),
        None,
    )
    assert first.sha256 == old_sha and (second.version, second.valid_to) == ("2030.1", None)

    decider = Decider(rulesets, load_catalogues(w.tree / "calculators/catalogue"), prime=False)
    for day, version in (("2029-12-31", "2016.1"), ("2030-01-01", "2030.1"),
                         ("2020-05-01", "2016.1"), ("2031-06-01", "2030.1")):  # fmt: skip
        decision = decider.decide(decider.validate_json(public_claim(day)))
        assert (decision.ruleset.version, decision.forced) == (version, False), day
    # the closed version still decides when forced, and says so
    forced = decider.decide(
        decider.validate_json(public_claim("2030-01-01")), "vangnet", "2016.1", force=True
    )
    assert forced.forced and forced.ruleset.sha256 == old_sha
    # the stored decision under the old version verifies, byte for byte
    assert rerun(claim_json, stored, "vangnet", "2016.1", old.catalogue.sha256,
                 decider=decider) is None  # fmt: skip

    # a version is closed once: a third version follows the successor, not the closed one
    nxt = w.workflow.draft(w.anna, "2032-01-01.yaml", vangnet_successor("2032.1", "2032-01-01"),
                           "Weer een periode.")  # fmt: skip
    assert nxt.changelog["vorige_versie"] == "vangnet@2030.1"
    assert nxt.changelog["afsluiting"]["bestand"] == VANGNET_NEW
    # between the closed version and its successor there is no room
    with pytest.raises(ConceptError, match=r"overlapt met de gepubliceerde versie 2016\.1"):
        w.workflow.draft(w.anna, "2029-06-01.yaml", vangnet_successor("2029.1", "2029-06-01"),
                         "Tussendoor.")  # fmt: skip


def test_a_failed_publication_leaves_the_open_version_open(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    concept = w.workflow.draft(w.anna, "2030-01-01.yaml", vangnet_successor(), "Nieuwe periode.")
    w.workflow.approve(w.bert, concept.id)
    before = snapshot(w.tree)
    real = w.workflow._published
    calls: list[int] = []

    def fails_after_writing() -> object:
        calls.append(1)
        if len(calls) == 2:  # the check after the files, the manifest and the log are in place
            assert "closed" in (w.tree / "rulesets/manifest.json").read_text()
            raise ConceptError("conflict", "kapot")
        return real()

    monkeypatch.setattr(w.workflow, "_published", fails_after_writing)
    with pytest.raises(ConceptError, match="kapot"):
        w.workflow.publish(w.bert, concept.id)
    assert snapshot(w.tree) == before
    assert load_rulesets(w.tree / "rulesets")["vangnet"][0].valid_to is None


def test_an_open_catalogue_is_closed_by_its_successor(world: World) -> None:
    w = world
    src = ROOT / "calculators/catalogue"
    old_bytes = (src / "2016-02-10.yaml").read_bytes()
    meta = (src / "2016-02-10.yaml").read_text().replace("2016-02-10", "2030-01-01")
    items = (src / "2016-02-10.csv").read_text()
    concept = w.workflow.draft(
        w.anna, "2030-01-01.yaml", meta.encode(), "Zelfde prijzen.", items.encode()
    )
    assert concept.changelog["wijzigingen"][-1] == {
        "soort": "afgesloten versie", "onderwerp": "catalogus@2016-02-10", "oud": "open",
        "nieuw": "2029-12-31"}  # fmt: skip
    w.workflow.approve(w.bert, concept.key)
    w.workflow.publish(w.bert, concept.key)
    assert (w.tree / "calculators/catalogue/2016-02-10.yaml").read_bytes() == old_bytes
    manifest = json.loads((w.tree / "rulesets/manifest.json").read_text())
    assert manifest["closed"] == {"calculators/catalogue/2016-02-10.yaml": {
        "valid_to": "2029-12-31", "by": "catalogus@2030-01-01"}}  # fmt: skip
    cats = load_catalogues(w.tree / "calculators/catalogue")
    old, new = cats.versions
    assert (
        old.valid_to == date(2029, 12, 31)
        and old.sha256 == read_manifest(ROOT)["calculators/catalogue/2016-02-10.yaml"]
    )
    assert cats.in_force(date(2029, 12, 31)) is old
    assert cats.in_force(date(2030, 1, 1)) is new
    assert check_manifest(w.tree) == []
