"""`vangnet users ...` and `vangnet organisaties ...`: accounts and organisations from the
command line, for administrators with access to the server.

    vangnet organisaties add GM0363 --naam Amsterdam --soort gemeente
    vangnet organisaties list
    vangnet users add USER --organisatie GM0363 --rol beoordelaar [--wachtwoord-stdin]
    vangnet users list [--organisatie GM0363]
    vangnet users disable USER          its sessions and API tokens are revoked at once
    vangnet users password USER         a new password, read from standard input
    vangnet users token USER [--naam N] [--dagen D]

A password is never an argument (it would stay in the shell's history and the process list):
`--wachtwoord-stdin` reads it from the first line of standard input. `users token` prints the
token once, alone on standard output (so that a script can take it), and what it is on
standard error; vangnet keeps only its sha256.

Settings come from the environment (`Settings.from_env`); the database is migrated first. Each
change is recorded in the audit log with actor `systeem` and origin `cli`, in the same
transaction. Bad input exits 2 with a Dutch message naming what is wrong; a database that
cannot be reached exits 3; never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from vangnet.cli_common import fail as _fail
from vangnet.cli_common import guard, open_database

if TYPE_CHECKING:
    from vangnet.service.accounts import Accounts

__all__ = ["register"]

T = TypeVar("T")


def _guard(fn: Callable[[], T]) -> T:
    from vangnet.service.accounts import AccountsError
    from vangnet.service.audit import AuditError

    return guard(fn, (AccountsError, AuditError))


def _open() -> Accounts:
    from vangnet.service.accounts import Accounts
    from vangnet.service.audit import AuditLog

    settings, engine = open_database()
    return Accounts(engine, settings, audit=AuditLog.from_settings(settings))


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        _fail("--wachtwoord-stdin: er kwam geen wachtwoord binnen op de standaardinvoer")
    return password


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows
    )


users_app = typer.Typer(
    help="Accounts: aanmaken, bekijken, uitschakelen, wachtwoorden en API-tokens.",
    no_args_is_help=True,
)
organisaties_app = typer.Typer(
    help="Organisaties: gemeenten, provincies, waterschappen en BZK.", no_args_is_help=True
)

# --- organisaties -------------------------------------------------------------------------


@organisaties_app.command("add")
def organisation_add(
    organisatie_id: Annotated[
        str, typer.Argument(help="GM + 4 cijfers (CBS-code), PV + 2, WS + 4, of BZK.")
    ],
    naam: Annotated[str, typer.Option("--naam", help="De naam van de organisatie.")],
    soort: Annotated[str, typer.Option("--soort", help="gemeente, provincie, waterschap of bzk.")],
) -> None:
    """Registreer een organisatie."""

    def run() -> None:
        made = _open().add_organisation(organisatie_id, naam, soort)
        sys.stdout.write(f"Organisatie {made.id} ({made.soort}) geregistreerd: {made.naam}\n")

    _guard(run)


@organisaties_app.command("list")
def organisation_list() -> None:
    """Toon de geregistreerde organisaties."""

    def run() -> None:
        found = _open().list_organisations()
        if not found:
            sys.stdout.write("Er zijn nog geen organisaties.\n")
            return
        rows = [("ID", "SOORT", "NAAM")] + [(o.id, o.soort, o.naam) for o in found]
        sys.stdout.write(_table(rows))

    _guard(run)


# --- users --------------------------------------------------------------------------------


@users_app.command("add")
def user_add(
    gebruikersnaam: Annotated[str, typer.Argument(help="De gebruikersnaam (aanmelden).")],
    organisatie: Annotated[
        str, typer.Option("--organisatie", help="De organisatie, bijvoorbeeld GM0363.")
    ],
    rol: Annotated[
        str,
        typer.Option("--rol", help="aanvrager, beoordelaar, regelbeheerder, auditor of beheerder."),
    ],
    wachtwoord_stdin: Annotated[
        bool,
        typer.Option(
            "--wachtwoord-stdin",
            help="Lees het wachtwoord (minstens 12 tekens) van de standaardinvoer."
            " Zonder: het account werkt alleen met API-tokens.",
        ),
    ] = False,
) -> None:
    """Maak een account in een organisatie, met één rol."""

    def run() -> None:
        password = _read_password() if wachtwoord_stdin else None
        made = _open().add_account(gebruikersnaam, organisatie, rol, password)
        sys.stdout.write(
            f"Account {made.gebruikersnaam} aangemaakt: {made.rol} bij"
            f" {made.organisatie_id}, pseudoniem {made.pseudoniem}.\n"
        )
        if password is None:
            sys.stdout.write(
                "Het heeft geen wachtwoord en werkt alleen met API-tokens (vangnet users token).\n"
            )

    _guard(run)


@users_app.command("list")
def user_list(
    organisatie: Annotated[
        str | None, typer.Option("--organisatie", help="Alleen deze organisatie.")
    ] = None,
) -> None:
    """Toon de accounts (nooit een wachtwoord)."""

    def run() -> None:
        found = _open().list_accounts(organisatie)
        if not found:
            sys.stdout.write("Er zijn geen accounts.\n")
            return
        rows = [("GEBRUIKERSNAAM", "ORGANISATIE", "ROL", "PSEUDONIEM", "STATUS")]
        for a in found:
            status = "actief" if a.actief else "uitgeschakeld"
            if a.actief and not a.heeft_wachtwoord:
                status += " (alleen tokens)"
            rows.append((a.gebruikersnaam, a.organisatie_id, a.rol, a.pseudoniem, status))
        sys.stdout.write(_table(rows))

    _guard(run)


@users_app.command("disable")
def user_disable(
    gebruikersnaam: Annotated[str, typer.Argument(help="De gebruikersnaam.")],
) -> None:
    """Schakel een account uit: het kan niet meer aanmelden, en zijn sessies en API-tokens
    werken meteen niet meer."""

    def run() -> None:
        done = _open().disable(gebruikersnaam)
        sys.stdout.write(
            f"Account {done.gebruikersnaam} is uitgeschakeld; zijn sessies en API-tokens"
            " zijn ingetrokken.\n"
        )

    _guard(run)


@users_app.command("password")
def user_password(
    gebruikersnaam: Annotated[str, typer.Argument(help="De gebruikersnaam.")],
) -> None:
    """Geef een account een nieuw wachtwoord (van de standaardinvoer, minstens 12 tekens);
    zijn open sessies worden beëindigd."""

    def run() -> None:
        password = _read_password()
        done = _open().set_password(gebruikersnaam, password)
        sys.stdout.write(
            f"Account {done.gebruikersnaam} heeft een nieuw wachtwoord; zijn sessies zijn"
            " beëindigd.\n"
        )

    _guard(run)


@users_app.command("token")
def user_token(
    gebruikersnaam: Annotated[str, typer.Argument(help="De gebruikersnaam.")],
    naam: Annotated[
        str, typer.Option("--naam", help="Een naam om het token aan te herkennen.")
    ] = "cli",
    dagen: Annotated[
        int | None,
        typer.Option(
            "--dagen", help="Hoeveel dagen het geldig is (standaard: VANGNET_TOKEN_DAYS)."
        ),
    ] = None,
) -> None:
    """Maak een API-token voor een account. Het token wordt één keer getoond: bewaar het
    meteen; vangnet bewaart alleen een hash."""

    def run() -> None:
        accounts = _open()
        account = accounts.account_by_name(gebruikersnaam)
        info, raw = accounts.issue_token(account.id, naam, dagen)
        until = info.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        sys.stderr.write(
            f"API-token {info.id} ({info.naam}) voor {account.gebruikersnaam}, geldig tot"
            f" {until}. Het token staat hieronder en wordt niet nog eens getoond:\n"
        )
        sys.stdout.write(raw + "\n")

    _guard(run)


def register(app: typer.Typer, *, demo: typer.Typer, rules: typer.Typer) -> None:
    """Add `vangnet users ...` and `vangnet organisaties ...` to the command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(organisaties_app, name="organisaties")
