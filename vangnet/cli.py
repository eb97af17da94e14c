"""The command line: `vangnet calculate | catalogue | evaluate | rules | serve | demo`.

Every command prints Dutch for people (tables, euros) or JSON for machines. An invalid claim
exits with code 2 and the refusal of the contract on stderr; nothing ends in a traceback.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from vangnet.calculator import Calculation, calculate
from vangnet.catalogue import load_catalogues
from vangnet.claim import parse_claim_json
from vangnet.decision import Decision, refusal_for
from vangnet.exceptions import (
    ClaimError,
    DataError,
    EvaluationError,
    FormError,
    NoRulesetError,
    Problem,
    VangnetError,
)
from vangnet.jsonout import dumps
from vangnet.money import format_eur, format_number
from vangnet.validity import describe_periods

if TYPE_CHECKING:
    import uvicorn

    from vangnet.claim import Claim
    from vangnet.evaluate import Decider

__all__ = ["app"]

app = typer.Typer(
    help="vangnet: beslisondersteuning voor het Financieel Vangnet en verwante regelingen.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)
rules_app = typer.Typer(help="Regelsets: versies, geldigheid en regels.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

T = TypeVar("T")


class CalcFormat(StrEnum):
    table = "table"
    json = "json"


class DecisionFormat(StrEnum):
    json = "json"
    text = "text"


def _fail(text: str, code: int = 1) -> NoReturn:
    sys.stderr.write(text.rstrip("\n") + "\n")
    raise typer.Exit(code)


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body: data faults and internal errors end in a message, not a traceback."""
    try:
        return fn()
    except typer.Exit:
        raise
    except BrokenPipeError:
        # the reader went away (`vangnet evaluate DIR | head`): stop quietly, as Unix tools do;
        # stdout is pointed at /dev/null so that flushing it at exit raises nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(141) from None
    except DataError as exc:
        _fail(f"Fout in de gepubliceerde gegevens: {exc}")
    except VangnetError as exc:
        _fail(f"Fout: {exc}")
    except Exception as exc:  # noqa: BLE001 - the CLI promises no traceback
        _fail(f"Interne fout ({type(exc).__name__}); meld dit aan de beheerder van vangnet.")


def _read_claim_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or "niet leesbaar"
        raise ClaimError(
            [Problem("(bestand)", str(path), f"kan niet worden gelezen: {reason}")]
        ) from None


def _refuse(error: ClaimError | NoRulesetError, path: Path) -> NoReturn:
    _fail(refusal_for(error, path.name).to_json(indent=2), code=2)


def _decided(claim_file: Path, decide: Callable[[Decider, Claim], T]) -> T:
    """Validate the claim in `claim_file` and run `decide(decider, claim)`; a refusal exits 2."""
    from vangnet.evaluate import Decider

    decider = Decider()
    try:
        return decide(decider, decider.validate_json(_read_claim_file(claim_file)))
    except (ClaimError, NoRulesetError) as exc:
        _refuse(exc, claim_file)


# --- calculate --------------------------------------------------------------------------------


def _pct(value: object) -> str:
    return "" if value is None else format_number(value, 2) + "%"  # type: ignore[arg-type]


def _table(calc: Calculation) -> str:
    rows = [("#", "Maatregel", "Aantal", "Prijs p.e.", "Gevraagd", "Referentie", "Afwijking",
             "PKVW-deel", "Pakket 2021")]  # fmt: skip
    for line in calc.lines:
        m, item = line.measure, line.item
        name = item.name_nl if item else f"(niet in de catalogus) {m.description}"
        ref = "geen" if line.reference_eur is None else format_eur(line.reference_eur)
        if line.reference_is_estimate:
            ref += " (schatting)"
        rows.append(
            (
                str(line.index),
                (f"{item.code}: " if item else "")
                + (name if len(name) <= 48 else name[:45] + "..."),
                format_number(m.quantity, 2).removesuffix(",00")
                + (f" {item.unit}" if item else ""),
                format_eur(m.unit_price_eur),
                format_eur(line.claimed_eur),
                ref,
                _pct(line.deviation_pct),
                "" if line.pkvw_equivalent_eur is None else format_eur(line.pkvw_equivalent_eur),
                (item.package_2021 or "") if item else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2, 3, 4, 5, 6, 7}
    out = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    c = calc.catalogue
    out += [
        "",
        f"Gevraagd totaal:                 {format_eur(calc.claimed_total_eur)}",
        f"Referentie (regels met prijs):   {format_eur(calc.reference_total_eur)}"
        f" (gevraagd voor die regels: {format_eur(calc.claimed_with_reference_eur)})",
    ]
    if calc.claimed_per_inhabitant_eur is not None:
        out.append(
            f"Gevraagd per inwoner:            {format_eur(calc.claimed_per_inhabitant_eur)}"
        )
    if calc.share_of_expenditure_pct is not None:
        out.append(
            f"Deel van de totale lasten:       {format_number(calc.share_of_expenditure_pct, 4)}%"
        )
    out += [
        "",
        f"Catalogus geldig vanaf {c.valid_from.isoformat()} (sha256 {c.sha256[:16]}…).",
        "Deze berekening beslist niets: of een regel vergoedbaar is, volgt uit de regelset.",
    ]
    return "\n".join(out) + "\n"


@app.command("calculate")
def calculate_cmd(
    claim_file: Annotated[Path, typer.Argument(help="De aanvraag als JSON (formaat v1).")],
    fmt: Annotated[CalcFormat, typer.Option("--format", help="table of json")] = CalcFormat.table,
) -> None:
    """Reken een aanvraag neutraal door tegen de referentieprijzen van de catalogus."""

    def run() -> None:
        try:
            claim = parse_claim_json(_read_claim_file(claim_file))
            calc = calculate(claim, load_catalogues())
        except (ClaimError, NoRulesetError) as exc:
            _refuse(exc, claim_file)
        if fmt is CalcFormat.json:
            sys.stdout.write(dumps(calc.as_dict(), indent=2) + "\n")
        else:
            sys.stdout.write(_table(calc))

    _guard(run)


# --- catalogue --------------------------------------------------------------------------------


@app.command("catalogue")
def catalogue_cmd(
    on: Annotated[
        str | None, typer.Option("--on", help="Datum JJJJ-MM-DD (standaard: vandaag).")
    ] = None,
    fmt: Annotated[CalcFormat, typer.Option("--format", help="table of json")] = CalcFormat.table,
) -> None:
    """Toon de maatregelen van de catalogus die op een datum geldt."""

    def run() -> None:
        try:
            day = date.today() if on is None else date.fromisoformat(on)
        except ValueError:
            _fail(f"--on: {on!r} is geen datum; gebruik JJJJ-MM-DD, bijvoorbeeld 2016-03-01", 2)
        catalogues = load_catalogues()
        c = catalogues.in_force(day)
        if c is None:
            periods = describe_periods(catalogues.versions)
            _fail(f"Geen catalogus van kracht op {day.isoformat()}. Versies: {periods}.", 2)
        if fmt is CalcFormat.json:
            items = [i.canonical() for i in c.items.values()]
            data = {"valid_from": c.valid_from, "valid_to": c.valid_to, "sha256": c.sha256,
                    "items": items}  # fmt: skip
            sys.stdout.write(dumps(data, indent=2) + "\n")
            return
        rows = [("Code", "Maatregel", "Eenheid", "Categorie", "Referentieprijs", "Grondslag")]
        for i in c.items.values():
            price = (
                "geen"
                if i.reference_unit_price_eur is None
                else format_eur(i.reference_unit_price_eur)
            )
            rows.append((i.code, i.name_nl, i.unit, i.category, price, i.price_basis))
        widths = [max(len(r[k]) for r in rows) for k in range(6)]
        lines = [
            "  ".join(
                c_.rjust(w) if k == 4 else c_.ljust(w)
                for k, (c_, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        valid = describe_periods([c])
        lines += ["", f"Catalogus {valid}; sha256 {c.sha256}."]
        sys.stdout.write("\n".join(lines) + "\n")

    _guard(run)


# --- evaluate ---------------------------------------------------------------------------------

_OUTCOME_NL = {
    "toekennen": "toekennen",
    "gedeeltelijk": "gedeeltelijk toekennen",
    "afwijzen": "afwijzen",
    "nader_onderzoek": "nader onderzoek nodig",
}


def decision_text(d: Decision) -> str:
    """A decision for people: the outcome, every line and every criterion, in Dutch."""
    rs = d.ruleset
    out = []
    if d.simulation:
        out.append("SIMULATIE – geen besluit")
    if d.forced:
        out.append(f"LET OP: versie {rs.version} is geforceerd; zij geldt niet op de peildatum.")
    out += [
        f"Aanvraag {d.claim_id}: {_OUTCOME_NL[d.outcome]}",
        f"Gevraagd {format_eur(d.claimed_total_eur)};"
        f" vergoedbaar {format_eur(d.eligible_total_eur)}"
        + (" (voorlopig)" if d.outcome == "nader_onderzoek" else ""),
        f"Regelset {rs.id} {rs.version} ({rs.status}), sha256 {rs.sha256[:16]}…",
        "",
        "Maatregelen:",
    ]
    for line in d.lines:
        out.append(
            f"  {line.index}. {line.code or '(geen code)'}: {line.status}, "
            f"{format_eur(line.eligible_eur)} van {format_eur(line.claimed_eur)}"
        )
        out.append(f"     {line.explanation}")
    out += ["", "Criteria:"]
    for f in d.findings:
        out.append(f"  {f.rule}: {f.effect}")
        out.append(f"     {f.explanation}")
        out.append(f"     Bron: {f.source}")
    return "\n".join(out) + "\n"


def _claim_files(paths: list[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(x for x in p.iterdir() if x.suffix == ".json" and x.is_file())
        else:
            yield p


@app.command("evaluate")
def evaluate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Aanvragen (JSON) of mappen met aanvragen.")],
    fmt: Annotated[
        DecisionFormat, typer.Option("--format", help="json of text")
    ] = DecisionFormat.json,
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="Een andere regeling dan in de aanvraag.")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Een bepaalde versie, bv. 2016.1.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rekenen met een versie die niet geldt op de peildatum.")
    ] = False,
) -> None:
    """Beoordeel aanvragen: één besluit per aanvraag, of een weigering (exit 2)."""
    from vangnet.evaluate import Decider  # the engine loads only for commands that decide

    def run() -> None:
        files = list(_claim_files(paths))
        decider = Decider()
        if len(files) == 1 and not paths[0].is_dir():
            path = files[0]
            try:
                claim = decider.validate_json(_read_claim_file(path))
                d = decider.decide(claim, scheme, version, force=force)
            except (ClaimError, NoRulesetError) as exc:
                _refuse(exc, path)
            except EvaluationError as exc:
                _fail(f"{path.name}: {exc}")
            sys.stdout.write(
                decision_text(d) if fmt is DecisionFormat.text else d.to_json(indent=2) + "\n"
            )
            return
        refused = False
        write = sys.stdout.write
        for path in files:
            try:
                claim = decider.validate_json(_read_claim_file(path))
                d = decider.decide(claim, scheme, version, force=force)
            except (ClaimError, NoRulesetError) as exc:
                refused = True
                write(refusal_for(exc, path.name).to_json() + "\n")
                continue
            except EvaluationError as exc:
                refused = True
                err = ClaimError([Problem("(aanvraag)", None, str(exc))])
                write(refusal_for(err, path.name).to_json() + "\n")
                continue
            if fmt is DecisionFormat.text:
                write(f"== {path.name}\n" + decision_text(d) + "\n")
            else:
                write(d.to_json(indent=None) + "\n")
        if refused:
            raise typer.Exit(2)

    _guard(run)


# --- letter -----------------------------------------------------------------------------------


class LetterFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    docx = "docx"


@app.command("letter")
def letter_cmd(
    claim_file: Annotated[Path, typer.Argument(help="De aanvraag als JSON (formaat v1).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Het bestand voor de brief.")],
    fmt: Annotated[LetterFormat, typer.Option("--format", help="pdf, html of docx")] = (
        LetterFormat.pdf
    ),
) -> None:
    """Maak de brief bij een aanvraag (een CONCEPT: buiten een besluit van een beoordelaar)."""
    from vangnet.letters import render_letter

    def run() -> None:
        evaluation = _decided(claim_file, lambda decider, claim: decider.evaluate(claim))
        content = render_letter(evaluation, fmt.value, concept=True, letter_date=date.today())
        try:
            output.write_bytes(content)
        except OSError as exc:
            _fail(f"{output}: kan niet worden geschreven ({exc.strerror}).", 2)
        sys.stderr.write(f"Brief ({fmt.value}, concept) geschreven naar {output}.\n")

    _guard(run)


# --- rules ------------------------------------------------------------------------------------


@rules_app.command("list")
def rules_list() -> None:
    """Alle regelsets met versie, geldigheid, status en hash."""
    from vangnet.ruleset import load_rulesets

    def run() -> None:
        rows = [("Regeling", "Versie", "Geldig", "Status", "sha256")]
        for scheme, versions in sorted(load_rulesets().items()):
            for rs in versions:
                rows.append((scheme, rs.version, describe_periods([rs]), rs.spec.status, rs.sha256))
        widths = [max(len(r[k]) for r in rows) for k in range(5)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        sys.stdout.write("\n".join(lines) + "\n")

    _guard(run)


@rules_app.command("show")
def rules_show(
    ref: Annotated[str, typer.Argument(help="REGELING@VERSIE, bijvoorbeeld vangnet@2016.1")],
) -> None:
    """Elke regel van een versie in woorden, met parameters en bronnen."""
    from vangnet.rules_text import ruleset_text
    from vangnet.ruleset import load_rulesets

    def run() -> None:
        scheme, _, version = ref.partition("@")
        versions = load_rulesets().get(scheme, ())
        match = [v for v in versions if v.version == version]
        if not match:
            known = ", ".join(f"{v.id}@{v.version}" for vs in load_rulesets().values() for v in vs)
            _fail(f"Onbekende regelset {ref!r}. Bekend: {known}.", 2)
        sys.stdout.write(ruleset_text(match[0]))

    _guard(run)


@app.command("openapi")
def openapi_cmd() -> None:
    """Druk het OpenAPI-document van /v1 af (JSON)."""
    import json

    from vangnet.service.app import openapi_document

    def run() -> None:
        sys.stdout.write(json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n")

    _guard(run)


# --- serve ------------------------------------------------------------------------------------


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _as_tcp(sock: socket.socket) -> socket.socket:
    """The same listening socket, declared TCP (`proto` IPPROTO_TCP) if it is an IP stream.

    With `--workers` uvicorn binds the socket itself with `proto` 0, and its connections
    inherit that; asyncio then leaves Nagle's algorithm on for them, so every keep-alive
    request after the first waits for a delayed ACK, about 40 ms on Linux (uvicorn issue
    #3149). Declared TCP, asyncio sets TCP_NODELAY on each connection as usual.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return sock
    if sock.proto == socket.IPPROTO_TCP:
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def _bind_sockets_as_tcp(config_class: type[uvicorn.Config]) -> None:
    bind = config_class.bind_socket

    def bind_socket(self: uvicorn.Config) -> socket.socket:
        return _as_tcp(bind(self))

    config_class.bind_socket = bind_socket  # type: ignore[method-assign]


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Het adres om op te luisteren.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="De poort.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Webprocessen (uvicorn); elk heeft eigen regelengine-processen"
            " (VANGNET_ENGINE_WORKERS).",
        ),
    ] = 1,
) -> None:
    """Start de dienst: de API onder /v1 (instellingen uit VANGNET_*)."""
    from vangnet.service.settings import Settings, SettingsError

    def run() -> None:
        # Checked here, before uvicorn starts a process: a refusal is one Dutch line, not a
        # traceback from every web process. Each process then builds its app once from the
        # same environment through the factory.
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            _fail(f"vangnet start niet: ongeldige instellingen. {exc}.", 2)
        import uvicorn

        if workers > 1:
            _bind_sockets_as_tcp(uvicorn.Config)
        url = _url(host, port)
        sys.stdout.write(
            f"vangnet ({settings.env}) luistert op {url}; de API staat op {url}/v1"
            f" (beschrijving: {url}/v1/openapi.json). {workers} webproces(sen),"
            f" elk met {settings.engine_workers} regelengine-proces(sen). Stoppen: Ctrl+C.\n"
        )
        sys.stdout.flush()
        uvicorn.run(
            "vangnet.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            # no access log: it cost CPU per request, and paths carry claim ids
            access_log=False,
            workers=workers,
        )

    _guard(run)


# --- demo -------------------------------------------------------------------------------------

demo_app = typer.Typer(
    help="Demogegevens voor een ontwikkel- of testomgeving (nooit in productie).",
    no_args_is_help=True,
)
app.add_typer(demo_app, name="demo")


@demo_app.command("seed")
def demo_seed() -> None:
    """Laad de demo-accounts en demogegevens (forms/demo/) één keer in de database; alleen in
    demomodus (VANGNET_DEMO=1), nooit in productie (instellingen uit VANGNET_*). Toont de
    demo-accounts met hun wachtwoorden en rollen."""

    from vangnet.service.demo import DemoRefused, refuse_production, seed_demo
    from vangnet.service.settings import Settings, SettingsError

    def run() -> None:
        try:
            # first: production is refused whatever else its settings say
            refuse_production(os.environ.get("VANGNET_ENV", "development"))
            settings = Settings.from_env()
        except DemoRefused as exc:
            _fail(str(exc), 2)
        except SettingsError as exc:
            _fail(f"vangnet laadt geen demogegevens: ongeldige instellingen. {exc}.", 2)
        sys.stdout.write(seed_demo(settings).text())

    _guard(run)


# --- forms (Excel) -----------------------------------------------------------------------------

forms_app = typer.Typer(
    help="Het Excel-aanvraagformulier en de Excel-berekening.", no_args_is_help=True
)
app.add_typer(forms_app, name="forms")


@forms_app.command("intake")
def forms_intake(
    output: Annotated[Path, typer.Option("-o", "--output", help="Het nieuwe .xlsx-formulier.")],
    on: Annotated[str | None, typer.Option("--on", help="Catalogus van datum JJJJ-MM-DD.")] = None,
) -> None:
    """Maak een leeg aanvraagformulier (Excel) met de catalogus die op een datum geldt."""
    from vangnet.excel import build_intake

    def run() -> None:
        try:
            day = date.today() if on is None else date.fromisoformat(on)
        except ValueError:
            _fail(f"--on: {on!r} is geen datum; gebruik JJJJ-MM-DD, bijvoorbeeld 2016-03-01", 2)
        try:
            info = build_intake(output, on=day)
        except NoRulesetError as exc:
            _fail(exc.message, 2)
        except OSError as exc:
            _fail(f"{output}: kan niet worden geschreven ({exc.strerror}).")
        sys.stdout.write(
            f"Formulier {info.version} (catalogus van {info.catalogue_valid_from})"
            f" geschreven naar {output}.\n"
        )

    _guard(run)


@forms_app.command("read")
def forms_read(
    workbook: Annotated[Path, typer.Argument(help="Een ingevuld aanvraagformulier (.xlsx).")],
) -> None:
    """Lees een ingevuld formulier: de aanvraag als JSON, of elk probleem met blad en cel."""
    from vangnet.evaluate import Decider
    from vangnet.excel import read_intake

    def run() -> None:
        try:
            data = read_intake(workbook, validate=Decider(prime=False).validate)
        except FormError as exc:
            _fail("\n".join([exc.message, *exc.lines()]), 2)
        except ClaimError as exc:
            _refuse(exc, workbook)
        sys.stdout.write(dumps(data, indent=2) + "\n")

    _guard(run)


@forms_app.command("export")
def forms_export(
    claim_file: Annotated[Path, typer.Argument(help="De aanvraag als JSON (formaat v1).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Het .xlsx-bestand.")],
) -> None:
    """Zet de berekening en het advies van een aanvraag in een Excel-bestand."""
    from vangnet.excel import export_calculation

    def run() -> None:
        evaluation = _decided(claim_file, lambda decider, claim: decider.evaluate(claim))
        try:
            export_calculation(evaluation, output)
        except OSError as exc:
            _fail(f"{output}: kan niet worden geschreven ({exc.strerror}).")
        sys.stderr.write(f"Berekening geschreven naar {output}.\n")

    _guard(run)


# --- auditor tools ---------------------------------------------------------------------------


@rules_app.command("diff")
def rules_diff(
    old: Annotated[str, typer.Argument(help="REGELING@VERSIE, bijvoorbeeld vangnet@2016.1")],
    new: Annotated[str, typer.Argument(help="REGELING@VERSIE om mee te vergelijken")],
    fmt: Annotated[DecisionFormat, typer.Option("--format", help="text of json")] = (
        DecisionFormat.text
    ),
) -> None:
    """De verschillen tussen twee versies: regels, clausules en parameters."""
    from vangnet.rules_diff import diff_versions

    def run() -> None:
        try:
            diff = diff_versions(old, new)
        except NoRulesetError as exc:
            _fail(exc.message, 2)
        if fmt is DecisionFormat.json:
            sys.stdout.write(dumps(diff.as_dict(), indent=2) + "\n")
        else:
            sys.stdout.write(diff.text().rstrip("\n") + "\n")

    _guard(run)


@app.command("counterfactuals")
def counterfactuals_cmd(
    claim_file: Annotated[Path, typer.Argument(help="De aanvraag als JSON (formaat v1).")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="Hoeveel veranderingen.")] = 3,
    fmt: Annotated[DecisionFormat, typer.Option("--format", help="text of json")] = (
        DecisionFormat.text
    ),
) -> None:
    """Wat zou de uitkomst verbeteren? De kleinste aantoonbare verandering, nagerekend."""
    from vangnet.counterfactual import counterfactuals

    def run() -> None:
        found = _decided(
            claim_file, lambda decider, claim: counterfactuals(decider, claim, limit=limit)
        )
        if fmt is DecisionFormat.json:
            sys.stdout.write(dumps([c.as_dict() for c in found], indent=2) + "\n")
        elif not found:
            sys.stdout.write("Geen enkele aantoonbare verandering verbetert de uitkomst.\n")
        else:
            for c in found:
                sys.stdout.write(f"- {c.description}\n")

    _guard(run)


# --- the command groups that live in their own modules -------------------------------------
# Each module has `register(app, demo=..., rules=...)`: it adds its commands and imports what it
# needs lazily, so that `vangnet evaluate` does not pay for the service's imports.
def _register_modules() -> None:
    from vangnet import cli_audit, cli_publish, cli_records, cli_replay, cli_users

    for module in (cli_users, cli_audit, cli_records, cli_replay, cli_publish):
        module.register(app, demo=demo_app, rules=rules_app)


_register_modules()


def main() -> None:  # pragma: no cover - console entry point
    app()
