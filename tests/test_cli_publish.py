"""`vangnet rules draft | approve | reject | publish | drafts`, through typer's runner, as the
holders of API tokens, publishing into a copy of the data folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.service.test_regelbeheer import copy_tree, new_basis_version
from vangnet.cli import app
from vangnet.manifest import check_manifest, read_manifest
from vangnet.service.accounts import Accounts
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.settings import Settings

runner = CliRunner()
NEW = "rulesets/basismaatregelen/2024-01-01.yaml"


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.tree = copy_tree(tmp_path / "tree")
        self.settings = Settings(env="test", data_dir=self.data)
        engine = create_db_engine(self.settings.db_url)
        try:
            migrate(engine)
            accounts = Accounts(engine, self.settings)
            accounts.add_organisation("BZK", "Ministerie van BZK", "bzk")
            self.tokens: dict[str, str] = {}
            self.pseudonyms: dict[str, str] = {}
            for name, rol in (("anna", "regelbeheerder"), ("bert", "regelbeheerder"),
                              ("cees", "auditor")):  # fmt: skip
                info = accounts.add_account(name, "BZK", rol, None)
                self.tokens[name] = accounts.issue_token(info.id, "cli")[1]
                self.pseudonyms[name] = info.pseudoniem
        finally:
            engine.dispose()
        self.file = tmp_path / "concept" / "2024-01-01.yaml"
        self.file.parent.mkdir()
        self.file.write_bytes(new_basis_version())

    def env(self, who: str | None) -> dict[str, str | None]:
        return {
            "VANGNET_ENV": "test",
            "VANGNET_DATABASE_URL": None,
            "VANGNET_AUDIT_KEY": None,
            "VANGNET_DATA_DIR": str(self.data),
            "VANGNET_TOKEN": None if who is None else self.tokens.get(who, who),
        }

    def run(self, who: str | None, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["rules", *args], env=self.env(who))
        return result.exit_code, result.stdout, result.stderr

    def audit_actions(self) -> list[tuple[str, str]]:
        engine = create_db_engine(self.settings.db_url)
        try:
            log = AuditLog.from_settings(self.settings)
            assert log.verify(engine).ok
            return [(e.action, e.result) for e in log.entries(engine, limit=1000)
                    if e.action.startswith(("concept.", "toegang."))]  # fmt: skip
        finally:
            engine.dispose()


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_draft_approve_publish_from_the_command_line(setup: Setup) -> None:
    s = setup
    root = ["--root", str(s.tree)]
    code, out, err = s.run("anna", "draft", str(s.file), "--toelichting", "Hoger plafond.", *root)
    assert code == 0, err
    assert out.startswith(
        f"basismaatregelen@2024.1  concept  ingediend door {s.pseudonyms['anna']} op "
    )
    assert "  na basismaatregelen@2021.1\n" in out
    assert "  - gewijzigde parameter plafond_per_woning_eur: € 2.400,00 → € 2.600,00\n" in out
    assert "  toelichting: Hoger plafond.\n" in out
    assert out.endswith("keurt het goed met `vangnet rules approve basismaatregelen@2024.1`.\n")

    code, _, err = s.run("anna", "approve", "basismaatregelen@2024.1")
    assert code == 2
    assert (
        err == "U mag uw eigen concept niet goedkeuren; een andere regelbeheerder keurt het goed.\n"
    )
    code, out, err = s.run("bert", "approve", "basismaatregelen@2024.1")
    assert code == 0, err
    assert f"goedgekeurd door {s.pseudonyms['bert']} op " in out
    code, _, err = s.run("anna", "publish", "basismaatregelen@2024.1", *root)
    assert code == 2 and "eigen concept" in err
    assert not (s.tree / NEW).exists()

    code, out, err = s.run("bert", "publish", "basismaatregelen@2024.1", *root)
    assert code == 0, err
    assert f"Gepubliceerd: {NEW}, gepind in rulesets/manifest.json" in out
    assert (s.tree / NEW).read_bytes() == s.file.read_bytes()
    assert NEW in read_manifest(s.tree) and check_manifest(s.tree) == []
    assert "`basismaatregelen` 2024.1 (wet)" in (s.tree / "CHANGELOG.md").read_text()

    code, out, err = s.run("bert", "publish", "basismaatregelen@2024.1", *root)
    assert (code, out) == (2, "")
    assert err == (
        "Publiceren kan niet: basismaatregelen@2024.1 is gepubliceerd; een gepubliceerde versie"
        " verandert nooit (alleen bij status goedgekeurd).\n"
    )

    code, out, err = s.run("anna", "drafts", "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["status"], row["auteur"], row["goedgekeurd_door"]) == (
        "gepubliceerd",
        s.pseudonyms["anna"],
        s.pseudonyms["bert"],
    )
    code, out, _ = s.run("anna", "drafts", "--status", "concept")
    assert (code, out) == (0, "Geen concepten.\n")
    assert s.audit_actions() == [
        ("concept.indienen", "gelukt"),
        ("toegang.geweigerd", "geweigerd"),
        ("concept.goedkeuren", "gelukt"),
        ("toegang.geweigerd", "geweigerd"),
        ("concept.publiceren", "gelukt"),
    ]


def test_who_is_acting_must_be_known_and_a_regelbeheerder(setup: Setup) -> None:
    s = setup
    args = ("draft", str(s.file), "--toelichting", "x", "--root", str(s.tree))
    code, _, err = s.run(None, *args)
    assert code == 2 and err.startswith("Wie bent u? Zet VANGNET_TOKEN op uw API-token")
    code, _, err = s.run("vn_onbekend", *args)
    assert code == 2 and err.startswith("Het token in VANGNET_TOKEN is onbekend, verlopen")
    code, _, err = s.run("cees", *args)
    assert (code, err) == (
        2,
        "Met de rol auditor mag u dit niet (regelset_concepten: opstellen).\n",
    )
    assert s.audit_actions() == [("toegang.geweigerd", "geweigerd")]


def test_an_invalid_file_is_refused_naming_the_field(setup: Setup) -> None:
    s = setup
    s.file.write_text(s.file.read_text().replace("deciding_body: werkgever\n", ""))
    code, out, err = s.run(
        "anna", "draft", str(s.file), "--toelichting", "x", "--root", str(s.tree)
    )
    assert (code, out) == (2, "")
    assert err == "2024-01-01.yaml: deciding_body: Field required\n"
    code, _, err = s.run("anna", "draft", str(s.file.with_name("2099-01-01.yaml")),
                         "--toelichting", "x")  # fmt: skip
    assert code == 2 and "2099-01-01.yaml: kan niet worden gelezen" in err


def test_reject_with_a_reason(setup: Setup) -> None:
    s = setup
    assert s.run("anna", "draft", str(s.file), "--toelichting", "x", "--root", str(s.tree))[0] == 0
    code, out, err = s.run("bert", "reject", "basismaatregelen@2024.1", "--reden", "Bron mist.")
    assert code == 0, err
    assert f"afgewezen door {s.pseudonyms['bert']} op " in out
    assert "  reden van afwijzing: Bron mist.\n" in out
    code, _, err = s.run("bert", "drafts", "--status", "fout")
    assert code == 2 and err.startswith("--status: 'fout' kan niet; kies uit concept,")
