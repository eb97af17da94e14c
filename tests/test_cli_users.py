"""`vangnet users ...` and `vangnet organisaties ...` through typer's runner, on a SQLite data
directory: what administrators read, exit 2 on bad input, and the audit log."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from vangnet.cli import app
from vangnet.service.accounts import Accounts, LoginRefused
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine
from vangnet.service.settings import Settings

runner = CliRunner()
PASSWORD = "een-lang-wachtwoord"  # noqa: S105 - a test password


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("VANGNET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VANGNET_ENV", "test")
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    db = create_db_engine(Settings.from_env().db_url)
    yield db
    db.dispose()


def vangnet(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _organisations() -> None:
    assert (
        vangnet("organisaties", "add", "GM0363", "--naam", "Amsterdam", "--soort", "gemeente")[0]
        == 0
    )
    assert vangnet("organisaties", "add", "bzk", "--naam", "BZK", "--soort", "bzk")[0] == 0


def test_organisations(data_dir: Path) -> None:
    assert vangnet("organisaties", "list") == (0, "Er zijn nog geen organisaties.\n", "")
    code, out, _ = vangnet(
        "organisaties", "add", "GM0363", "--naam", "Amsterdam", "--soort", "gemeente"
    )
    assert (code, out) == (0, "Organisatie GM0363 (gemeente) geregistreerd: Amsterdam\n")
    vangnet("organisaties", "add", "bzk", "--naam", "BZK", "--soort", "bzk")
    code, out, _ = vangnet("organisaties", "list")
    assert code == 0
    assert out.splitlines() == [
        "ID      SOORT     NAAM",
        "BZK     bzk       BZK",
        "GM0363  gemeente  Amsterdam",
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("GM363", "--naam", "X", "--soort", "gemeente"),
            "id: een gemeente heeft als id GM en vier",
        ),
        (("PV1", "--naam", "X", "--soort", "provincie"), "PV en twee cijfers"),
        (("GM0363", "--naam", "X", "--soort", "stad"), "soort: kies gemeente, provincie"),
        (("GM0363", "--naam", " ", "--soort", "gemeente"), "naam: mag niet leeg zijn"),
    ],
)
def test_bad_organisations_exit_2(data_dir: Path, args: tuple[str, ...], words: str) -> None:
    code, out, err = vangnet("organisaties", "add", *args)
    assert code == 2 and out == ""
    assert err.startswith("Fout: ") and words in err
    assert "Traceback" not in err


def test_a_duplicate_organisation_exits_2(data_dir: Path) -> None:
    _organisations()
    code, _, err = vangnet("organisaties", "add", "GM0363", "--naam", "A", "--soort", "gemeente")
    assert code == 2 and err == "Fout: Er is al een organisatie GM0363.\n"


def test_add_list_and_disable_users(data_dir: Path, engine: Engine) -> None:
    _organisations()
    code, out, err = vangnet(
        "users", "add", "Jan", "--organisatie", "GM0363", "--rol", "beoordelaar",
        "--wachtwoord-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert re.fullmatch(
        r"Account jan aangemaakt: beoordelaar bij GM0363, pseudoniem beoordelaar-[0-9a-f]{6}\.\n",
        out,
    )
    assert PASSWORD not in out + err
    code, out, _ = vangnet("users", "add", "koppeling", "--organisatie", "BZK", "--rol", "auditor")
    assert code == 0 and "alleen met API-tokens" in out
    code, out, _ = vangnet("users", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["GEBRUIKERSNAAM", "ORGANISATIE", "ROL", "PSEUDONIEM", "STATUS"]
    assert lines[1].split()[:3] == ["koppeling", "BZK", "auditor"]
    assert lines[1].endswith("  actief (alleen tokens)")
    assert lines[2].split()[:3] == ["jan", "GM0363", "beoordelaar"]
    assert lines[2].endswith("  actief")
    code, out, _ = vangnet("users", "list", "--organisatie", "GM0363")
    assert len(out.splitlines()) == 2
    accounts = Accounts(engine, Settings.from_env())
    session = accounts.login("jan", PASSWORD, "10.0.0.1")
    code, out, _ = vangnet("users", "disable", "JAN")
    assert code == 0 and "uitgeschakeld" in out
    assert accounts.session_identity(session.token, "10.0.0.1") is None
    assert "uitgeschakeld" in vangnet("users", "list")[1].splitlines()[2]
    # every change is in the audit log, as done by `systeem` from `cli`, without user names
    entries = AuditLog.from_settings(Settings.from_env()).entries(engine, limit=100)
    assert [(e.action, e.actor, e.origin) for e in entries if e.actor == "systeem"] == [
        ("organisatie.toevoegen", "systeem", "cli"),
        ("organisatie.toevoegen", "systeem", "cli"),
        ("account.toevoegen", "systeem", "cli"),
        ("account.toevoegen", "systeem", "cli"),
        ("account.uitschakelen", "systeem", "cli"),
    ]
    assert "jan" not in repr([e.as_dict() for e in entries]).replace("account.", "")


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (("jan", "--organisatie", "GM0363", "--rol", "baas"), None, "rol: kies aanvrager,"),
        (("jan", "--organisatie", "GM9999", "--rol", "aanvrager"), None, "organisatie: is geen"),
        (("j", "--organisatie", "GM0363", "--rol", "aanvrager"), None, "gebruikersnaam: gebruik"),
        (
            ("jan", "--organisatie", "GM0363", "--rol", "aanvrager", "--wachtwoord-stdin"),
            "te-kort\n",
            "wachtwoord: moet minstens 12 tekens lang zijn",
        ),
        (
            ("jan", "--organisatie", "GM0363", "--rol", "aanvrager", "--wachtwoord-stdin"),
            "",
            "er kwam geen wachtwoord binnen",
        ),
    ],
)
def test_bad_users_exit_2(
    data_dir: Path, args: tuple[str, ...], stdin: str | None, words: str
) -> None:
    _organisations()
    code, out, err = vangnet("users", "add", *args, stdin=stdin)
    assert code == 2 and out == "" and words in err, err
    assert "te-kort" not in err
    assert vangnet("users", "list")[1] == "Er zijn geen accounts.\n"


def test_a_token_is_printed_once(data_dir: Path, engine: Engine) -> None:
    _organisations()
    vangnet("users", "add", "koppeling", "--organisatie", "BZK", "--rol", "auditor")
    code, out, err = vangnet("users", "token", "koppeling", "--naam", "zaaksysteem", "--dagen", "7")
    assert code == 0, err
    raw = out.strip()
    assert re.fullmatch(r"vn_[A-Za-z0-9_-]{43}", raw) and out == raw + "\n"
    assert "(zaaksysteem) voor koppeling, geldig tot" in err and raw not in err
    accounts = Accounts(engine, Settings.from_env())
    identity = accounts.token_identity(raw, "10.0.0.1")
    assert identity is not None and identity.rol == "auditor"
    (token,) = accounts.list_tokens(identity.account_id or "")
    assert (token.expires_at - token.created_at).days == 7
    for args, words in [
        (("niemand",), "Er is geen account met deze gebruikersnaam."),
        (("koppeling", "--dagen", "0"), "dagen: moet een geheel getal van 1 tot en met"),
    ]:
        code, out, err = vangnet("users", "token", *args)
        assert (code, out) == (2, "") and words in err
    vangnet("users", "disable", "koppeling")
    code, _, err = vangnet("users", "token", "koppeling")
    assert code == 2 and "uitgeschakeld" in err


def test_a_new_password(data_dir: Path, engine: Engine) -> None:
    _organisations()
    vangnet("users", "add", "jan", "--organisatie", "GM0363", "--rol", "aanvrager")
    code, out, err = vangnet("users", "password", "jan", stdin="een-nieuw-wachtwoord\n")
    assert code == 0 and "nieuw wachtwoord" in out, err
    accounts = Accounts(engine, Settings.from_env())
    assert accounts.login("jan", "een-nieuw-wachtwoord", "10.0.0.1").identity.rol == "aanvrager"
    with pytest.raises(LoginRefused):
        accounts.login("jan", PASSWORD, "10.0.0.1")
    code, _, err = vangnet("users", "password", "jan", stdin="kort\n")
    assert code == 2 and "minstens 12 tekens" in err


def test_bad_settings_exit_2(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VANGNET_DATABASE_URL", "mysql://x")
    code, _, err = vangnet("users", "list")
    assert code == 2 and "VANGNET_DATABASE_URL" in err
