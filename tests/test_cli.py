"""The command line, through typer's runner, on exact output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.cli import app

runner = CliRunner()
P01 = str(PUBLIC_SCENARIOS / "P01.claim.json")


def test_calculate_prints_a_table_in_dutch() -> None:
    result = runner.invoke(app, ["calculate", P01])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "#", "Maatregel", "Aantal", "Prijs", "p.e.", "Gevraagd", "Referentie", "Afwijking",
        "PKVW-deel", "Pakket", "2021",
    ]  # fmt: skip
    assert "1 stuk  € 2.600,00  € 2.600,00            € 2.600,00      0,00%" in lines[2]
    assert "Gevraagd totaal:                 € 4.520,00" in result.stdout
    assert "Gevraagd per inwoner:            € 0,10" in result.stdout
    assert "Deel van de totale lasten:       0,0031%" in result.stdout


def test_calculate_as_json() -> None:
    result = runner.invoke(app, ["calculate", P01, "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["totals"]["claimed_eur"] == 4520
    assert '"claimed_eur": 4520.00' in result.stdout
    assert data["lines"][0]["catalogue_item"] == "ALARM_PAC"


def test_an_invalid_claim_exits_2_with_the_refusal_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"reference_date": "2016-03-01", "measures": []}')
    # the calculation needs no scheme; the decision also needs what the vangnet requires
    expected = {"calculate": [], "evaluate": ["threat"]}
    for command in (["calculate", str(bad)], ["evaluate", str(bad)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert result.stdout == ""
        refusal = json.loads(result.stderr)
        assert refusal["claim_file"] == "bad.json"
        assert refusal["error"]["code"] == "ongeldige_aanvraag"
        assert [p["field"] for p in refusal["error"]["problems"]] == [
            "applicant",
            "office_holder",
            "measures",
            *expected[command[0]],
        ]
        assert "Traceback" not in result.stderr


def test_unreadable_and_broken_files_are_refusals_not_tracebacks(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["problems"][0]["field"] == "(bestand)"
    broken = tmp_path / "broken.json"
    broken.write_text('{"claim_id": ')
    result = runner.invoke(app, ["evaluate", str(broken)])
    assert result.exit_code == 2
    problem = json.loads(result.stderr)["error"]["problems"][0]
    assert problem["field"] == "(aanvraag)" and "regel 1" in problem["message"]


def test_evaluate_one_claim_prints_the_decision() -> None:
    result = runner.invoke(app, ["evaluate", P01])
    assert result.exit_code == 0
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "toekennen"
    assert '"eligible_total_eur": 4520.00' in result.stdout


def test_evaluate_text_for_people() -> None:
    result = runner.invoke(app, ["evaluate", P01, "--format", "text"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Aanvraag P01: toekennen"
    assert lines[1] == "Gevraagd € 4.520,00; vergoedbaar € 4.520,00"
    assert "  VN-ONEVENREDIG: voldaan" in lines


def test_evaluate_a_folder_gives_one_line_per_claim_in_order(tmp_path: Path) -> None:
    for name in ("P03", "P01", "P12"):
        (tmp_path / f"{name}.json").write_text(
            (PUBLIC_SCENARIOS / f"{name}.claim.json").read_text()
        )
    result = runner.invoke(app, ["evaluate", str(tmp_path)])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["claim_id"] for r in rows] == ["P01", "P03", "P12"]
    assert rows[2]["simulation"] is True


def test_evaluate_several_files_with_a_refusal_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    result = runner.invoke(app, ["evaluate", P01, str(bad)])
    assert result.exit_code == 2
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["claim_id"] == "P01"
    assert second == {
        "claim_file": "bad.json",
        "error": {
            "code": "ongeldige_aanvraag",
            "message": "De aanvraag is ongeldig: 1 probleem.",
            "problems": [second["error"]["problems"][0]],
        },
    }


def test_evaluate_with_scheme_version_and_force() -> None:
    result = runner.invoke(
        app, ["evaluate", P01, "--scheme", "basismaatregelen", "--version", "2021.1"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["code"] == "geen_regelset"
    result = runner.invoke(
        app, ["evaluate", P01, "--scheme", "basismaatregelen", "--version", "2021.1", "--force"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["forced"] is True
    result = runner.invoke(
        app,
        ["evaluate", P01, "--scheme", "basismaatregelen", "--version", "2021.1", "--force",
         "--format", "text"],
    )  # fmt: skip
    assert "geforceerd" in result.stdout.splitlines()[0]


def test_catalogue_lists_the_items_in_force() -> None:
    result = runner.invoke(app, ["catalogue", "--on", "2016-03-01"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split()[:3] == ["Code", "Maatregel", "Eenheid"]
    assert "ALARM_PAC" in result.stdout and "€ 2.600,00" in result.stdout
    result = runner.invoke(app, ["catalogue", "--on", "2016-02-09"])
    assert result.exit_code == 2
    assert "Geen catalogus van kracht op 2016-02-09" in result.stderr
    result = runner.invoke(app, ["catalogue", "--on", "maart"])
    assert result.exit_code == 2 and "JJJJ-MM-DD" in result.stderr


def test_rules_list_and_show() -> None:
    result = runner.invoke(app, ["rules", "list"])
    assert result.exit_code == 0
    rows = [line.split()[:4] for line in result.stdout.splitlines()[2:]]
    assert rows == [
        ["basismaatregelen", "2021.1", "2021-01-01", "t/m"],
        ["beveiligingsmaatregelen", "2024.1", "vanaf", "2024-01-01"],
        ["vangnet", "2016.1", "vanaf", "2016-02-10"],
        ["vangnet-herijking", "2018.1", "vanaf", "2016-02-10"],
    ]
    result = runner.invoke(app, ["rules", "show", "vangnet@2016.1"])
    assert result.exit_code == 0
    assert "drempel_per_inwoner_eur = € 1,00" in result.stdout
    assert "prijstolerantie = 0,25 (25%)" in result.stdout
    assert "VN-ONEVENREDIG: Een onevenredige last voor de gemeentebegroting" in result.stdout
    result = runner.invoke(app, ["rules", "show", "vangnet@1999.1"])
    assert result.exit_code == 2 and "Onbekende regelset" in result.stderr


@pytest.mark.parametrize("command", [["calculate"], ["evaluate"], ["rules", "show"]])
def test_missing_arguments_are_usage_errors(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("fmt", "magic"), [("pdf", b"%PDF-"), ("html", b"<!DOCTYPE html>"), ("docx", b"PK")]
)
def test_letter_writes_a_concept_in_each_format(tmp_path: Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"brief.{fmt}"
    result = runner.invoke(app, ["letter", P01, "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    content = out.read_bytes()
    assert content.startswith(magic)
    if fmt == "html":
        assert "CONCEPT" in content.decode()
    assert f"geschreven naar {out}" in result.stderr


def test_letter_for_an_invalid_claim_is_a_refusal(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(app, ["letter", str(bad), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["code"] == "ongeldige_aanvraag"
    assert not (tmp_path / "x.pdf").exists()


def test_rules_diff_lists_the_known_differences() -> None:
    result = runner.invoke(app, ["rules", "diff", "vangnet@2016.1", "vangnet-herijking@2018.1"])
    assert result.exit_code == 0
    assert "VN-DREIGING" in result.stdout and "VN-ONEVENREDIG" in result.stdout
    assert "grens_kleine_gemeente_inwoners" in result.stdout
    assert "VN-DOELGROEP" not in result.stdout
    result = runner.invoke(
        app, ["rules", "diff", "vangnet@2016.1", "vangnet-herijking@2018.1", "--format", "json"]
    )
    assert result.exit_code == 0 and json.loads(result.stdout)
    result = runner.invoke(app, ["rules", "diff", "vangnet@2016.1", "vangnet@9.9"])
    assert result.exit_code == 2 and result.stderr


def test_counterfactuals_name_a_documentable_change() -> None:
    result = runner.invoke(app, ["counterfactuals", str(PUBLIC_SCENARIOS / "P08.claim.json")])
    assert result.exit_code == 0
    assert result.stdout.startswith("- Als ") and "toekennen" in result.stdout
    result = runner.invoke(app, ["counterfactuals", P01])
    assert result.stdout == "Geen enkele aantoonbare verandering verbetert de uitkomst.\n"


def test_forms_intake_read_and_export(tmp_path: Path) -> None:
    form = tmp_path / "aanvraag.xlsx"
    result = runner.invoke(app, ["forms", "intake", "-o", str(form), "--on", "2016-03-01"])
    assert result.exit_code == 0 and form.exists()
    assert "catalogus van 2016-02-10" in result.stdout
    result = runner.invoke(app, ["forms", "read", str(form)])
    assert result.exit_code == 2
    assert "Blad Aanvraag, cel B9: peildatum is leeg" in result.stderr
    out = tmp_path / "berekening.xlsx"
    result = runner.invoke(app, ["forms", "export", P01, "-o", str(out)])
    assert result.exit_code == 0 and out.read_bytes().startswith(b"PK")
    result = runner.invoke(app, ["forms", "intake", "-o", str(form), "--on", "2010-01-01"])
    assert result.exit_code == 2


def test_a_reader_that_goes_away_ends_the_batch_quietly(tmp_path: Path) -> None:
    """`vangnet evaluate DIR | head`: a closed pipe is no internal error, no traceback."""
    import subprocess
    import sys

    folder = tmp_path / "claims"
    folder.mkdir()
    claim = (PUBLIC_SCENARIOS / "P01.claim.json").read_text()
    for n in range(300):
        (folder / f"{n:04d}.json").write_text(claim)
    script = "from vangnet.cli import app; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "evaluate", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""
