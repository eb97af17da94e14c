"""`vangnet rules draft | approve | reject | publish | drafts`: publishing rule versions.

A new ruleset or catalogue version is drafted by one regelbeheerder, approved by another and
then published (`vangnet.service.regelbeheer`). The person acting is the holder of the API
token in VANGNET_TOKEN (made with `vangnet users token`), so the command line is held to the
same roles and the same four-eyes rule as the API, and every step is in the audit log under
that person. Refusals exit with code 2 and one Dutch message; nothing ends in a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vangnet.cli_common import fail as _fail

if TYPE_CHECKING:
    from vangnet.service.identity import Identity
    from vangnet.service.regelbeheer import Concept, Regelbeheer

__all__ = ["register"]

TOKEN_VARIABLE = "VANGNET_TOKEN"  # noqa: S105 - the variable's name, not a token


class ListFormat(StrEnum):
    text = "text"
    json = "json"


@contextmanager
def _workflow(root: Path | None) -> Iterator[tuple[Regelbeheer, Identity]]:
    """The workflow on the configured database, and who holds the token; refusals end here."""
    from vangnet.paths import PROJECT_ROOT
    from vangnet.service.accounts import Accounts
    from vangnet.service.audit import AuditLog
    from vangnet.service.authz import Refused, refusal_event
    from vangnet.service.db import create_db_engine, migrate
    from vangnet.service.regelbeheer import ConceptError, Regelbeheer
    from vangnet.service.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _fail(f"Ongeldige instellingen: {exc}.")
    raw = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not raw:
        _fail(
            f"Wie bent u? Zet {TOKEN_VARIABLE} op uw API-token (een regelbeheerder maakt er"
            " een met `vangnet users token GEBRUIKERSNAAM`)."
        )
    engine = create_db_engine(settings.db_url)
    try:
        migrate(engine)
        audit = AuditLog.from_settings(settings)
        identity = Accounts(engine, settings).token_identity(raw, "cli")
        if identity is None:
            _fail(
                f"Het token in {TOKEN_VARIABLE} is onbekend, verlopen of ingetrokken, of het"
                " account is uitgeschakeld; maak een nieuw token."
            )
        workflow = Regelbeheer(engine, settings, root=root or PROJECT_ROOT, audit=audit)
        try:
            yield workflow, identity
        except Refused as exc:
            audit.record(engine, refusal_event(exc))
            _fail(exc.detail)
        except ConceptError as exc:
            _fail(exc.message)
    finally:
        engine.dispose()


def _guarded(fn: Callable[[], None]) -> None:
    from vangnet.cli import _guard  # the command line's one guard: no traceback, ever

    _guard(fn)


def _line(c: Concept) -> str:
    d = c.as_dict()
    text = (
        f"{c.key}  {c.status}  ingediend door {c.author} op {d['ingediend_op'][:10]}"
        + (f"; goedgekeurd door {c.approver} op {d['goedgekeurd_op'][:10]}" if c.approver else "")
        + (f"; gepubliceerd op {d['gepubliceerd_op'][:10]}" if c.published_at else "")
        + (f"; afgewezen door {c.rejected_by} op {d['afgewezen_op'][:10]}" if c.rejected_by else "")
    )
    return text


def _summary(c: Concept) -> str:
    d = c.as_dict()
    out = [_line(c), f"  id {c.id}, geldigheid {d['geldigheid']}, sha256 {c.sha256[:16]}…"]
    previous = d["vorige_versie"]
    out.append(f"  na {previous}" if previous else "  eerste versie")
    for w in d["wijzigingen"]:
        change = w["soort"] + (f" {w['onderwerp']}" if w["onderwerp"] else "")
        if w["oud"] is not None and w["nieuw"] is not None:
            change += f": {w['oud']} → {w['nieuw']}"
        elif w["nieuw"] is not None:
            change += f": {w['nieuw']}"
        out.append(f"  - {change}")
    out.append(f"  toelichting: {d['toelichting']}")
    if d["reden_afwijzing"]:
        out.append(f"  reden van afwijzing: {d['reden_afwijzing']}")
    out.append("  bestanden: " + ", ".join(d["bestanden"]))
    return "\n".join(out) + "\n"


RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="De map met rulesets/, calculators/ en CHANGELOG.md (standaard: het project).",
    ),
]
Ref = Annotated[
    str,
    typer.Argument(help="De id van het concept, of REGELING@VERSIE (catalogus@JJJJ-MM-DD)."),
]


def rules_draft(
    file: Annotated[
        Path,
        typer.Argument(help="De nieuwe versie: rulesets/…/JJJJ-MM-DD.yaml of een catalogus."),
    ],
    toelichting: Annotated[
        str,
        typer.Option("--toelichting", help="Wat verandert er en waarom (voor de changelog)."),
    ],
    root: RootOption = None,
) -> None:
    """Dien een nieuwe versie in als concept (regelbeheerder)."""

    def run() -> None:
        try:
            content = file.read_bytes()
            items = None
            csv = file.with_suffix(".csv")
            if csv.is_file():
                items = csv.read_bytes()
        except OSError as exc:
            _fail(f"{file}: kan niet worden gelezen ({exc.strerror}).")
        with _workflow(root) as (workflow, who):
            concept = workflow.draft(who, file.name, content, toelichting, items)
        sys.stdout.write(
            _summary(concept) + f"Concept ingediend. Een andere regelbeheerder keurt het goed met"
            f" `vangnet rules approve {concept.key}`.\n"
        )

    _guarded(run)


def rules_approve(ref: Ref) -> None:
    """Keur een concept goed (een andere regelbeheerder dan de auteur)."""

    def run() -> None:
        with _workflow(None) as (workflow, who):
            concept = workflow.approve(who, ref)
        sys.stdout.write(
            _summary(concept) + f"Goedgekeurd. Publiceren: `vangnet rules publish {concept.key}`.\n"
        )

    _guarded(run)


def rules_reject(
    ref: Ref,
    reden: Annotated[str, typer.Option("--reden", help="Waarom het concept is afgewezen.")],
) -> None:
    """Wijs een concept af, met een reden (een andere regelbeheerder dan de auteur)."""

    def run() -> None:
        with _workflow(None) as (workflow, who):
            concept = workflow.reject(who, ref, reden)
        sys.stdout.write(_summary(concept) + "Afgewezen.\n")

    _guarded(run)


def rules_publish(ref: Ref, root: RootOption = None) -> None:
    """Publiceer een goedgekeurd concept: bestand, pin in het manifest, changelog."""

    def run() -> None:
        with _workflow(root) as (workflow, who):
            concept = workflow.publish(who, ref)
        files = ", ".join(concept.changelog.get("bestanden", []))
        sys.stdout.write(
            _summary(concept)
            + f"Gepubliceerd: {files}, gepind in rulesets/manifest.json, met een regel in"
            " CHANGELOG.md. Een draaiende dienst leest de nieuwe versie na een herstart.\n"
        )

    _guarded(run)


def rules_drafts(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Alleen concept, goedgekeurd, gepubliceerd of afgewezen."),
    ] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="text of json")] = ListFormat.text,
) -> None:
    """Alle concepten: status, wie indiende en goedkeurde, en wanneer."""
    from vangnet.service.models import CONCEPT_STATUSSEN

    def run() -> None:
        if status is not None and status not in CONCEPT_STATUSSEN:
            _fail(f"--status: {status!r} kan niet; kies uit {', '.join(CONCEPT_STATUSSEN)}.")
        with _workflow(None) as (workflow, who):
            concepts = workflow.drafts(who, status)
        if fmt is ListFormat.json:
            from vangnet.jsonout import dumps

            sys.stdout.write(dumps([c.as_dict() for c in concepts], indent=2) + "\n")
        elif not concepts:
            sys.stdout.write("Geen concepten.\n")
        else:
            sys.stdout.write("".join(_summary(c) for c in concepts))

    _guarded(run)


def register(app: typer.Typer, *, demo: typer.Typer, rules: typer.Typer) -> None:
    """Add this group's commands to the command line."""
    rules.command("draft")(rules_draft)
    rules.command("approve")(rules_approve)
    rules.command("reject")(rules_reject)
    rules.command("publish")(rules_publish)
    rules.command("drafts")(rules_drafts)
