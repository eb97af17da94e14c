"""Decision letters generated from an evaluation: the decision, its findings and its trace.

A letter is built in two steps, so that every format says the same:

1. `letter_context(evaluation, ...)` turns the evaluation into plain data: the words come from
   `forms/letters/texts.yaml`, the deciding body and its contact details from
   `forms/bodies/<deciding_body>.yaml` (the ruleset names the body), the objection term and the
   term for supplementary information from `forms/letters/procedure.yaml`, each with its source.
   The reasons are one paragraph per finding of the decision, built from the finding alone (its
   effect, explanation and source; the rule's label and basis from the ruleset, the clause that
   fired from the trace), and the table has one row per line of the decision.
2. `render_context(context, fmt)` renders that data: HTML from the jinja2 template
   `forms/letters/letter.html.j2` (also the input of the PDF/A-2a made by WeasyPrint) and DOCX
   from the docxtpl template `forms/letters/letter.docx`. Every template runs with
   `StrictUndefined` and autoescaping: a missing value raises `LetterError`, never a blank.

`toekennen`, `gedeeltelijk` and `afwijzen` give a decision letter (*besluit*, with the objection
clause of Awb 3:45/6:7); `nader_onderzoek` gives a request for supplementary information
(*verzoek om aanvulling*, Awb 4:5), which is no decision and has no objection clause. A
simulation carries "SIMULATIE – geen besluit" on every page and no objection clause; a letter
made outside an assessor's decision (`concept=True`) carries "CONCEPT".

The letter of a stored *besluit* (`vangnet.service`) passes `assessor=AssessorDecision(...)`:
the outcome and amount are then the assessor's; when they differ from the advice (an override)
the letter says what the calculation gave, then the assessor's motivation, then every finding
of the advice. A correction says which besluit it replaces; a decision on an objection
(*beslissing op bezwaar*) carries the appeal clause (beroep at the administrative court, Awb
7:1, 8:1, 8:7, 6:7) instead of the objection clause, its court and term from procedure.yaml.

    render_letter(evaluation, "pdf", concept=True, letter_date=date.today())

The PDF/A-2a is checked in the tests with pikepdf (XMP identification, structure tree,
MarkInfo, output intent, embedded fonts); it is not validated by veraPDF (not available here).

No personal data enters a letter beyond the office-holder's pseudonym: the claim's free-text
motivation is never shown; measure descriptions are shown (the claim format forbids names in
them).
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

import jinja2
import yaml
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.claim import Claim
from vangnet.decision import Decision, DecisionLine, Finding
from vangnet.evaluate import Evaluation
from vangnet.exceptions import LetterError
from vangnet.messages import message
from vangnet.money import ZERO, format_eur
from vangnet.paths import FORMS_DIR

__all__ = [
    "BESLUIT_KINDS",
    "FILE_SUFFIXES",
    "FORMATS",
    "MEDIA_TYPES",
    "AssessorDecision",
    "BesluitKind",
    "LetterError",
    "LetterFormat",
    "LetterKind",
    "letter_context",
    "letter_kind",
    "render_context",
    "render_letter",
]

LetterFormat = Literal["html", "pdf", "docx"]
LetterKind = Literal["besluit", "verzoek"]
BesluitKind = Literal["besluit", "correctie", "beslissing_op_bezwaar"]
BESLUIT_KINDS: Final[tuple[BesluitKind, ...]] = get_args(BesluitKind)
FORMATS: Final[tuple[LetterFormat, ...]] = get_args(LetterFormat)
MEDIA_TYPES: Final[Mapping[LetterFormat, str]] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FILE_SUFFIXES: Final[Mapping[LetterFormat, str]] = {
    "html": ".html",
    "pdf": ".pdf",
    "docx": ".docx",
}

# The PDF variant: archival (PDF/A part 2), accessible (conformance A: tagged, Unicode text).
PDF_VARIANT: Final = "pdf/a-2a"

HTML_TEMPLATE = "letter.html.j2"
DOCX_TEMPLATE = "letter.docx"
STYLESHEET = "letter.css"


class _CompiledOnce(jinja2.Environment):
    """An environment that compiles each source once: docxtpl hands it the same template XML
    for every letter, and compiling it is most of the time of a DOCX."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, jinja2.Template] = {}
        self._compiled_lock = threading.Lock()

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[jinja2.Template] | None = None,
    ) -> jinja2.Template:
        if not isinstance(source, str) or globals or template_class is not None:
            return super().from_string(source, globals, template_class)
        with self._compiled_lock:
            template = self._compiled.get(source)
            if template is None:
                if len(self._compiled) >= 64:
                    self._compiled.clear()
                template = super().from_string(source)
                self._compiled[source] = template
            return template


@dataclass(frozen=True, slots=True)
class AssessorDecision:
    """What an assessor decided, for the letter of a stored besluit.

    `number`: the besluit's number within its claim (1 for the first), the suffix of its
    kenmerk. `replaces`: the number and date of the besluit it replaces (a correction or a
    decision on an objection). `objection_received`: the day the objection came in.
    """

    kind: BesluitKind
    outcome: Literal["toekennen", "gedeeltelijk", "afwijzen"]
    amount_eur: Decimal
    motivation: str | None
    number: int
    replaces: tuple[int, date] | None = None
    objection_received: date | None = None


def letter_kind(outcome: str) -> LetterKind:
    """`verzoek` (request for supplementary information) for `nader_onderzoek`, else `besluit`."""
    return "verzoek" if outcome == "nader_onderzoek" else "besluit"


# --- letter data files ------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Source(_Spec):
    title: Annotated[str, Field(min_length=1)]
    url: str | None = None


class _Objection(_Spec):
    term_weeks: Annotated[int, Field(gt=0)]
    term_basis: Literal["wet", "beleidskeuze"]
    term_sources: list[str]
    start_sources: list[str]
    body_sources: list[str]
    content_sources: list[str]


class _Court(_Spec):
    court: Annotated[str, Field(min_length=1)]
    sources: list[str]


class _Appeal(_Spec):
    term_weeks: Annotated[int, Field(gt=0)]
    term_basis: Literal["wet", "beleidskeuze"]
    term_sources: list[str]
    start_sources: list[str]
    basis_sources: list[str]
    courts: dict[str, _Court]
    how_sources: list[str]
    fee_sources: list[str]


class _Supplement(_Spec):
    term_weeks: Annotated[int, Field(gt=0)]
    term_basis: Literal["wet", "beleidskeuze"]
    term_sources: list[str]


class _Procedure(_Spec):
    sources: dict[str, _Source]
    objection: _Objection
    appeal: _Appeal
    supplement: _Supplement


class _BodyEntry(_Spec):
    roles: list[str] | None = None
    applicant_type: str | None = None
    from_municipality: str | None = None
    demo_organisation: str | None = None
    name: Annotated[str, Field(min_length=1)]
    organisation: Annotated[str, Field(min_length=1)]


class _BodyFile(_Spec):
    id: str
    source: str
    kenmerk_prefix: Annotated[str, Field(pattern=r"^[A-Z]{2,8}$")]
    bodies: Annotated[list[_BodyEntry], Field(min_length=1)]
    department: str
    address: Annotated[list[str], Field(min_length=1)]
    phone: str
    email: str
    signature: Annotated[list[str], Field(min_length=1)]


_M = TypeVar("_M", bound=BaseModel)


def _load_yaml(path: Path) -> Any:
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LetterError(f"{path}: het bestand met briefgegevens ontbreekt ({exc})") from exc
    except yaml.YAMLError as exc:
        raise LetterError(f"{path}: geen geldige YAML: {exc}") from exc


def _validated(model: type[_M], path: Path) -> _M:
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as exc:
        raise LetterError(f"{path}: ongeldige briefgegevens: {exc}") from exc


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(slots=True)
class _Forms:
    """The letter data and compiled templates of one `forms/` folder, loaded once."""

    directory: Path
    texts: dict[str, Any]
    procedure: _Procedure
    css: str
    html: jinja2.Template
    text_env: jinja2.Environment
    docx_template: bytes
    docx_env: _CompiledOnce
    _bodies: dict[str, _BodyFile] = field(default_factory=dict)
    _snippets: dict[str, jinja2.Template] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, directory: Path) -> _Forms:
        letters = directory / "letters"
        texts = _load_yaml(letters / "texts.yaml")
        if not isinstance(texts, dict):
            raise LetterError(f"{letters / 'texts.yaml'}: verwacht een mapping van teksten")
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(letters),
            undefined=jinja2.StrictUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        # The texts render to plain text; each format escapes them where it places them.
        text_env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
        try:
            css = (letters / STYLESHEET).read_text(encoding="utf-8")
            docx_template = (letters / DOCX_TEMPLATE).read_bytes()
            html = env.get_template(HTML_TEMPLATE)
        except (OSError, jinja2.TemplateError) as exc:
            raise LetterError(
                f"{letters}: een briefsjabloon ontbreekt of is ongeldig: {exc}"
            ) from exc
        return cls(
            directory=directory,
            texts=texts,
            procedure=_validated(_Procedure, letters / "procedure.yaml"),
            css=css,
            html=html,
            text_env=text_env,
            docx_template=docx_template,
            docx_env=_CompiledOnce(undefined=jinja2.StrictUndefined, autoescape=True),
        )

    def body(self, body_id: str) -> _BodyFile:
        with self._lock:
            if body_id not in self._bodies:
                path = self.directory / "bodies" / f"{body_id}.yaml"
                data = _validated(_BodyFile, path)
                if data.id != body_id:
                    raise LetterError(f"{path}: id {data.id!r} hoort {body_id!r} te zijn")
                self._bodies[body_id] = data
            return self._bodies[body_id]

    def raw(self, key: str) -> Any:
        """The text entry at the dotted `key` of texts.yaml."""
        value: Any = self.texts
        for part in key.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise LetterError(f"texts.yaml: de tekst {key!r} ontbreekt")
        return value

    def text(self, key: str, **values: Any) -> str:
        """The text at `key`, rendered with `values` (plain text; escaped by the format)."""
        with self._lock:
            template = self._snippets.get(key)
            if template is None:
                raw = self.raw(key)
                if not isinstance(raw, str):
                    raise LetterError(f"texts.yaml: de tekst {key!r} is geen tekst")
                template = self.text_env.from_string(raw)
                self._snippets[key] = template
        try:
            return " ".join(template.render(values).split())
        except jinja2.UndefinedError as exc:
            raise LetterError(f"texts.yaml: de tekst {key!r} mist een waarde: {exc}") from exc

    def source(self, source_id: str) -> str:
        src = self.procedure.sources.get(source_id)
        if src is None:
            raise LetterError(f"procedure.yaml: onbekende bron {source_id!r}")
        return src.title if src.url is None else f"{src.title} ({src.url})"


_FORMS_LOCK = threading.Lock()
# warning filters are process-wide: one PDF at a time changes them
_PDF_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _forms_at(directory: Path) -> _Forms:
    return _Forms.load(directory)


def _forms() -> _Forms:
    with _FORMS_LOCK:
        return _forms_at(FORMS_DIR)


# --- the context ------------------------------------------------------------------------------


def supplement_weeks() -> int:
    """The term for supplementary information, in weeks (`forms/letters/procedure.yaml`,
    `supplement.term_weeks`): the letters' and an assessor's information request's default."""
    return _forms().procedure.supplement.term_weeks


def _date_nl(forms: _Forms, day: date) -> str:
    months = forms.raw("months")
    return f"{day.day} {months[day.month - 1]} {day.year}"


def _dated(forms: _Forms, day: date) -> dict[str, str]:
    return {"iso": day.isoformat(), "text": _date_nl(forms, day)}


def _weeks(forms: _Forms, n: int) -> str:
    numbers = forms.raw("numbers")
    word = numbers[n] if n < len(numbers) else str(n)
    return forms.text("week" if n == 1 else "weeks", aantal=word)


def _deciding_body(forms: _Forms, claim: Claim, body_id: str) -> dict[str, Any]:
    data = forms.body(body_id)
    role = claim.office_holder.role
    entry = next((b for b in data.bodies if b.roles is None or role in b.roles), None)
    if entry is None:
        raise LetterError(f"bodies/{body_id}.yaml: geen bestuursorgaan voor de rol {role}")
    applicant = claim.applicant
    if entry.applicant_type is not None and applicant.type == entry.applicant_type:
        organisation = applicant.name
    elif entry.from_municipality is not None and claim.municipality is not None:
        organisation = entry.from_municipality.format(municipality=claim.municipality.name)
    elif entry.demo_organisation is not None:
        organisation = entry.demo_organisation
    else:
        organisation = ""
    name = entry.name.format(organisation=organisation)
    return {
        "id": body_id,
        "name": name,
        "organisation": entry.organisation.format(organisation=organisation),
        "department": data.department,
        "address": list(data.address),
        "phone": data.phone,
        "email": data.email,
        "signature": [line.format(Name=_cap(name), name=name) for line in data.signature],
        "kenmerk_prefix": data.kenmerk_prefix,
    }


def _fired_clauses(evaluation: Evaluation) -> set[str]:
    return {f.rule for f in evaluation.trace if f.fact_id == "claim"}


def _finding(
    forms: _Forms, evaluation: Evaluation, finding: Finding, fired: set[str]
) -> dict[str, Any]:
    """One reason paragraph, from the finding; the rule's label and basis from the ruleset."""
    rule = evaluation.ruleset.rules_by_id.get(finding.rule)
    basis: str | None = None
    label = finding.rule
    if rule is not None:
        label = rule.label
        clause = next((c for c in rule.clauses if f"{rule.id}#{c.index}" in fired), None)
        basis = (clause.basis if clause is not None else None) or rule.basis
    note = ""
    if basis is not None and basis not in finding.explanation:
        note = forms.text(f"basis_notes.{basis}")
    return {
        "rule": finding.rule,
        "label": label,
        "effect": finding.effect,
        "effect_text": forms.text(f"effects.{finding.effect}"),
        "explanation": finding.explanation,
        "note": note,
        "source": finding.source,
    }


def _line(
    forms: _Forms, evaluation: Evaluation, line: DecisionLine, refusal: bool
) -> dict[str, Any]:
    calc = {c.index: c for c in evaluation.calculation.lines}.get(line.index)
    estimate = bool(calc is not None and calc.reference_is_estimate)
    catalogue_name = None
    if calc is not None and calc.item is not None and calc.item.name_nl != line.description:
        catalogue_name = calc.item.name_nl
    reason = line.explanation
    partial = message(
        "line_partial", eligible=format_eur(line.eligible_eur), claimed=format_eur(line.claimed_eur)
    )
    suffix = " " + partial
    if refusal and reason.endswith(suffix):
        # a refusal never calls a line "vergoedbaar": the same numbers, in the conditional
        reason = (
            reason.removesuffix(suffix)
            + " "
            + forms.text(
                "measures.refusal_partial",
                deel=format_eur(line.eligible_eur),
                gevraagd=format_eur(line.claimed_eur),
            )
        )
    pending = line.status == "te_beoordelen"
    return {
        "number": line.index + 1,
        "code": line.code or "",
        "description": line.description,
        "catalogue_name": catalogue_name,
        "claimed": format_eur(line.claimed_eur),
        "reference": (
            forms.text("measures.no_reference")
            if line.reference_eur is None
            else format_eur(line.reference_eur)
        ),
        "estimate": forms.text("measures.estimate_mark") if estimate else "",
        "eligible": (
            forms.text("effects.nader_onderzoek").removeprefix("Uitkomst: ").rstrip(".")
            if pending
            else format_eur(line.eligible_eur)
        ),
        "status": line.status,
        "reason": reason,
    }


def _request_items(forms: _Forms, findings: list[dict[str, Any]], decision: Decision) -> list[str]:
    items = [
        forms.text("request.criterion", voorwaarde=f["label"], uitleg=f["explanation"])
        for f in findings
        if f["effect"] == "nader_onderzoek"
    ]
    items += [
        forms.text(
            "request.line",
            nummer=line.index + 1,
            omschrijving=line.description,
            uitleg=line.explanation,
        )
        for line in decision.lines
        if line.status == "te_beoordelen"
    ]
    return items


def _objection(forms: _Forms, body: Mapping[str, Any], kenmerk: str) -> dict[str, Any]:
    """The objection clause (Awb 3:45, 6:7): term, body and how, from procedure.yaml."""
    proc = forms.procedure.objection
    sources = (*proc.term_sources, *proc.start_sources, *proc.body_sources, *proc.content_sources)
    return {
        "heading": forms.text("headings.bezwaar"),
        "term": forms.text("objection.term", termijn=_weeks(forms, proc.term_weeks)),
        "to": forms.text("objection.to", orgaan=body["name"]),
        "how": forms.text("objection.how", adres=", ".join(body["address"]), email=body["email"]),
        "content_intro": forms.text("objection.content_intro"),
        "content": [
            forms.text(f"objection.content.{i}", kenmerk=kenmerk)
            for i in range(len(forms.raw("objection.content")))
        ],
        "sources": [forms.source(s) for s in sources],
    }


def _appeal(forms: _Forms, body: Mapping[str, Any], kenmerk: str) -> dict[str, Any]:
    """The appeal clause of a decision on an objection (Awb 7:1, 8:1, 8:7, 6:7, 6:8): term,
    court and how, from procedure.yaml."""
    proc = forms.procedure.appeal
    court = proc.courts.get(body["id"])
    if court is None:
        raise LetterError(f"procedure.yaml: geen rechtbank voor het bestuursorgaan {body['id']}")
    sources = (
        *proc.basis_sources,
        *proc.term_sources,
        *proc.start_sources,
        *court.sources,
        *proc.how_sources,
        *proc.fee_sources,
    )
    return {
        "heading": forms.text("headings.beroep"),
        "term": forms.text("appeal.term", termijn=_weeks(forms, proc.term_weeks)),
        "to": forms.text("appeal.court", rechtbank=court.court.format(orgaan=body["name"])),
        "how": forms.text("appeal.how"),
        "content_intro": forms.text("appeal.content_intro"),
        "content": [
            forms.text(f"appeal.content.{i}", kenmerk=kenmerk)
            for i in range(len(forms.raw("appeal.content")))
        ],
        "sources": [forms.source(s) for s in dict.fromkeys(sources)],
    }


def _request(
    forms: _Forms,
    *,
    decision: Decision,
    findings: list[dict[str, Any]],
    body: Mapping[str, Any],
    kenmerk: str,
    letter_date: date,
) -> dict[str, Any]:
    """The request for supplementary information (Awb 4:5): what is needed, by when."""
    sup = forms.procedure.supplement
    deadline = letter_date + timedelta(weeks=sup.term_weeks)
    return {
        "deadline": _dated(forms, deadline),
        "deadline_text": forms.text("request.deadline", uiterlijk=_date_nl(forms, deadline)),
        "term": _weeks(forms, sup.term_weeks),
        "list_intro": forms.text("request.list_intro"),
        "items": _request_items(forms, findings, decision),
        "send": forms.text("request.send", orgaan=body["name"], kenmerk=kenmerk),
        "late": forms.text("request.late"),
        "not_a_decision": forms.text("request.not_a_decision"),
        "sources": [forms.source(s) for s in sup.term_sources],
    }


def _measures(  # noqa: PLR0917 - the table's facts, each a plain value
    forms: _Forms,
    decision: Decision,
    kind: LetterKind,
    refusal: bool,
    any_estimate: bool,
    override: bool = False,
) -> dict[str, Any]:
    """The table's texts: its column names, introduction and totals."""
    if override:
        # the advice's own table, said to be the calculation's; the decision is above it
        eligible_column = "zou_vergoedbaar" if refusal else "berekend"
        intro = "intro_override"
    elif kind == "verzoek":
        eligible_column, intro = "voorlopig", "intro_request"
    elif refusal:
        eligible_column, intro = "zou_vergoedbaar", "intro_refusal"
    else:
        eligible_column, intro = "vergoedbaar", "intro"
    columns = {k: forms.text(f"measures.columns.{k}") for k in forms.raw("measures.columns")}
    columns["vergoedbaar"] = columns[eligible_column]
    # a refusal shows what each line would get: the sum of the lines' own assessments
    would_be = sum(
        (x.eligible_eur for x in decision.lines if x.status in ("vergoedbaar", "deels")), ZERO
    )
    return {
        "intro": forms.text(f"measures.{intro}"),
        "reference": forms.text("measures.reference"),
        "estimate": forms.text("measures.estimate") if any_estimate else "",
        "columns": columns,
        "total_label": forms.text("measures.total"),
        "total_claimed": format_eur(decision.claimed_total_eur),
        "total_eligible": format_eur(would_be if refusal else decision.eligible_total_eur),
    }


def _audit(forms: _Forms, decision: Decision) -> list[dict[str, str]]:
    """For auditors: the ruleset id, version and hash, the catalogue and the claim's hash."""
    rows = [
        ("regelset", decision.ruleset.id),
        ("versie", decision.ruleset.version),
        ("status", forms.text(f"ruleset_status.{decision.ruleset.status}")),
        ("regelset_hash", decision.ruleset.sha256),
        ("catalogus", decision.catalogue.valid_from.isoformat()),
        ("catalogus_hash", decision.catalogue.sha256),
        ("aanvraag_hash", decision.receipt.claim_sha256),
        ("software", decision.receipt.engine),
    ]
    return [{"label": forms.text(f"audit.{key}"), "value": value} for key, value in rows]


def _parties(forms: _Forms, claim: Claim) -> tuple[list[str], str]:
    """The addressee's lines, and whose security the claim is about (a pseudonym at most)."""
    role = forms.raw(f"roles.{claim.office_holder.role}")
    pseudonym = claim.office_holder.reference
    holder = (
        forms.text("office_holder", rol=role, pseudoniem=pseudonym)
        if pseudonym
        else forms.text("office_holder_anonymous", rol=role)
    )
    if claim.applicant.type == "ambtsdrager":
        # the applicant's name is the office-holder's pseudonym (claim-format.md)
        addressee = [forms.text("office_holder_addressee", pseudoniem=claim.applicant.name)]
        return addressee, forms.text("security_self")
    return [claim.applicant.name], forms.text("security_of", ambtsdrager=holder)


def _assessor(
    forms: _Forms,
    decision: Decision,
    assessor: AssessorDecision,
    security: str,
    base_kenmerk: str,
) -> dict[str, Any]:
    """An assessor's besluit: its title, introduction, decision text and, for an override,
    what the calculation gave and the assessor's motivation."""
    override = (
        assessor.outcome != decision.outcome or assessor.amount_eur != decision.eligible_total_eur
    )
    claimed = format_eur(decision.claimed_total_eur)
    intro_values: dict[str, str] = {"beveiliging": security}
    if assessor.kind != "besluit":
        if assessor.replaces is None:
            raise LetterError(f"een {assessor.kind} vervangt een besluit; welk ontbreekt")
        number, day = assessor.replaces
        intro_values |= {
            "vorig_kenmerk": f"{base_kenmerk}-B{number}",
            "datum": _date_nl(forms, day),
        }
    if assessor.kind == "beslissing_op_bezwaar":
        if assessor.objection_received is None:
            raise LetterError("een beslissing op bezwaar noemt de dag waarop het bezwaar kwam")
        intro_values["ontvangen"] = _date_nl(forms, assessor.objection_received)
    advice = forms.text(
        f"advice_result.{decision.outcome}",
        bedrag=format_eur(decision.eligible_total_eur),
        gevraagd=claimed,
    )
    return {
        "kind": assessor.kind,
        "override": override,
        "title": forms.text(f"titles.{assessor.kind}"),
        "intro": forms.text(f"intro.{assessor.kind}", **intro_values),
        "decision_text": forms.text(
            f"decision.{assessor.outcome}", bedrag=format_eur(assessor.amount_eur), gevraagd=claimed
        ),
        "override_text": forms.text("override", advies=advice) if override else "",
        "motivation_heading": forms.text(f"headings.{'afwijking' if override else 'motivering'}"),
        "motivation": assessor.motivation or "",
        "reasons_heading": forms.text(f"headings.{'berekening' if override else 'redenen'}"),
    }


def letter_context(
    evaluation: Evaluation,
    *,
    concept: bool,
    letter_date: date,
    assessor: AssessorDecision | None = None,
) -> dict[str, Any]:
    """Everything a letter shows, as plain data (strings, lists, dicts), in Dutch.

    `concept`: the letter is not an assessor's decision (the CLI) and is marked "CONCEPT".
    `letter_date`: the date of the letter; the objection term runs from the day after it was
    sent, the term for supplementary information from this date.
    `assessor`: the besluit of an assessor (see the module docstring); its letter is always a
    decision, never a request, and never a simulation.
    """
    forms = _forms()
    decision = evaluation.decision
    claim = evaluation.calculation.claim
    spec = evaluation.ruleset.spec
    if assessor is not None and decision.simulation:
        raise LetterError("een simulatie is nooit een besluit; er is geen besluitbrief")
    kind = "besluit" if assessor is not None else letter_kind(decision.outcome)
    simulation = decision.simulation
    refusal = kind == "besluit" and decision.outcome == "afwijzen"
    body = _deciding_body(forms, claim, spec.deciding_body)
    kenmerk = f"{body['kenmerk_prefix']}-{decision.ruleset.id}-{decision.claim_id}"
    base_kenmerk = kenmerk
    if assessor is not None:
        kenmerk = f"{base_kenmerk}-B{assessor.number}"
    markers = [forms.text("markers.concept")] if concept else []
    if simulation:
        markers.append(forms.text("markers.simulatie"))
    addressee, security = _parties(forms, claim)
    amounts = {
        "bedrag": format_eur(decision.eligible_total_eur),
        "gevraagd": format_eur(decision.claimed_total_eur),
    }
    decided = (
        None if assessor is None else _assessor(forms, decision, assessor, security, base_kenmerk)
    )
    override = decided is not None and decided["override"]
    fired = _fired_clauses(evaluation)
    findings = [_finding(forms, evaluation, f, fired) for f in decision.findings]
    lines = [_line(forms, evaluation, line, refusal) for line in decision.lines]
    appeal = decided is not None and decided["kind"] == "beslissing_op_bezwaar"
    context = {
        "kind": kind,
        "outcome": decision.outcome if assessor is None else assessor.outcome,
        "simulation": simulation,
        "concept": concept,
        "markers": markers,
        "marker": " · ".join(markers),
        "title": (
            decided["title"]
            if decided is not None
            else forms.text(f"titles.{'simulatie' if simulation and kind == 'besluit' else kind}")
        ),
        "scheme_title": spec.title,
        "kenmerk": kenmerk,
        "letter_date": _dated(forms, letter_date),
        "claim": {"id": decision.claim_id, "reference_date": _dated(forms, claim.reference_date)},
        "addressee": addressee,
        "body": body,
        "labels": {k: forms.text(f"labels.{k}", regeling=spec.title) for k in forms.raw("labels")},
        "headings": {k: forms.text(f"headings.{k}") for k in forms.raw("headings")},
        "greeting": forms.text("greeting"),
        "intro": (
            decided["intro"]
            if decided is not None
            else forms.text(f"intro.{'simulatie' if simulation else kind}", beveiliging=security)
        ),
        "decision_text": (
            decided["decision_text"]
            if decided is not None
            else forms.text(
                f"{'simulated_decision' if simulation else 'decision'}.{decision.outcome}",
                **amounts,
            )
        ),
        # the assessor's besluit: None in a letter made from the advice alone
        "assessor": decided,
        "vat": forms.text("vat"),
        "reasons_intro": forms.text(
            "reasons.intro", aantal_voorwaarden=_count(forms, len(findings))
        ),
        "interpretation": (
            forms.text("reasons.interpretation") if spec.status == "interpretatie" else ""
        ),
        "findings": findings,
        "source_label": forms.text("source_label"),
        "rule_label": forms.text("rule_label"),
        "measures": _measures(
            forms, decision, kind, refusal, any(x["estimate"] for x in lines), override
        ),
        "lines": lines,
        # a decision has the objection clause, except in a simulation (no decision at all) and
        # in a decision on an objection, which has the appeal clause instead
        "objection": _objection(forms, body, kenmerk)
        if kind == "besluit" and not simulation and not appeal
        else None,
        "appeal": _appeal(forms, body, kenmerk) if appeal else None,
        "request": (
            _request(
                forms,
                decision=decision,
                findings=findings,
                body=body,
                kenmerk=kenmerk,
                letter_date=letter_date,
            )
            if kind == "verzoek"
            else None
        ),
        "questions": forms.text(
            "questions", telefoon=body["phone"], email=body["email"], kenmerk=kenmerk
        ),
        "closing": forms.text("closing"),
        "audit_intro": forms.text("audit.intro"),
        "audit": _audit(forms, decision),
    }
    result: dict[str, Any] = _keep_amounts_together(context)
    return result


def _keep_amounts_together(value: Any) -> Any:
    """Every "€ 1.234,56" with a no-break space, so that no format breaks a line inside it."""
    if isinstance(value, str):
        return value.replace("€ ", "€\u00a0")
    if isinstance(value, dict):
        return {k: _keep_amounts_together(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keep_amounts_together(v) for v in value]
    return value


def _count(forms: _Forms, n: int) -> str:
    numbers = forms.raw("numbers")
    return str(numbers[n]) if n < len(numbers) else str(n)


# --- rendering --------------------------------------------------------------------------------


def _html(forms: _Forms, context: Mapping[str, Any]) -> str:
    try:
        return forms.html.render({**context, "css": Markup(forms.css)})  # noqa: S704
    except jinja2.UndefinedError as exc:
        raise LetterError(f"{HTML_TEMPLATE}: het sjabloon mist een waarde: {exc}") from exc


def _pdf(forms: _Forms, html: str) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]  # heavy: only for a PDF

    document = HTML(string=html, base_url=str(forms.directory / "letters"))
    with _PDF_LOCK, warnings.catch_warnings():
        # WeasyPrint 70.0 opens its sRGB profile for the output intent and never closes it;
        # the file is read whole, so only the warning about the open handle is dropped.
        warnings.filterwarnings(
            "ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning
        )
        pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT)
    return pdf


def _docx(forms: _Forms, context: Mapping[str, Any]) -> bytes:
    from docxtpl import DocxTemplate  # type: ignore[import-untyped]  # only for a DOCX

    template = DocxTemplate(io.BytesIO(forms.docx_template))
    try:
        template.render(dict(context), jinja_env=forms.docx_env, autoescape=True)
    except jinja2.UndefinedError as exc:
        raise LetterError(f"{DOCX_TEMPLATE}: het sjabloon mist een waarde: {exc}") from exc
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_context(context: Mapping[str, Any], fmt: LetterFormat) -> bytes:
    """Render a letter context (from `letter_context`) as HTML, PDF/A-2a or DOCX bytes."""
    forms = _forms()
    if fmt == "html":
        return _html(forms, context).encode("utf-8")
    if fmt == "pdf":
        return _pdf(forms, _html(forms, context))
    if fmt == "docx":
        return _docx(forms, context)
    raise LetterError(f"onbekend briefformaat {fmt!r}; kies uit {', '.join(FORMATS)}")


def render_letter(
    evaluation: Evaluation,
    fmt: LetterFormat,
    *,
    concept: bool,
    letter_date: date,
    assessor: AssessorDecision | None = None,
) -> bytes:
    """The letter for an evaluation in one format (see the module docstring)."""
    context = letter_context(
        evaluation, concept=concept, letter_date=letter_date, assessor=assessor
    )
    return render_context(context, fmt)
