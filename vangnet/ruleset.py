"""Rulesets as data: the schema of `rulesets/<scheme>/<valid_from>.yaml`, the loader that
validates it, and the compiler from its flat declarative conditions to durable-rules' JSON.

A ruleset names fields of the fact vocabulary (`vangnet.facts`), its own parameters and its
own sources; the loader refuses anything else and names the file and the rule id. Conditions
are lists of terms (all must hold); a term tests one field:

    {field: category, is: pkvw_basis}          {field: category, in: [a, b]}
    {field: role, in: {param: doelgroep}}      {field: applicant_type, not_in: {param: x}}
    {field: date, present: true}               {field: e_eur, gte: EXPR}
    {any: [term, term]}

with EXPR a literal, `{field: f}`, `{param: p}` or one arithmetic step
`{mul|add|sub|div: [EXPR, EXPR]}`. Money parameters and literals compared with money are in
euros in the YAML and in cents in the engine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.canonical import canonical_json
from vangnet.exceptions import RulesetError
from vangnet.facts import CLAIM_DISPLAY_NAMES, CLAIM_FIELDS, LINE_DISPLAY_NAMES, LINE_FIELDS
from vangnet.facts import FieldSpec as FactField
from vangnet.paths import RULESETS_DIR
from vangnet.validity import Closure, effective_valid_to, find_overlap, read_closures

__all__ = [
    "AMOUNT_EFFECTS",
    "Clause",
    "Expr",
    "Rule",
    "Ruleset",
    "RulesetSpec",
    "Term",
    "compile_ruleset",
    "evaluate_expr",
    "load_ruleset",
    "load_rulesets",
    "ruleset_content",
]

Status = Literal["wet", "interpretatie", "simulatie"]
Basis = Literal["wet", "interpretatie", "beleidskeuze"]
LineStatus = Literal["uitgesloten", "te_beoordelen"]
Effect = Literal["voldaan", "afwijzen", "nader_onderzoek", "info"]

# The generic amount effects our code interprets, with the numbers taken from the ruleset.
AMOUNT_EFFECTS: dict[str, str] = {
    "base_claimed": "het basisbedrag is het gevraagde bedrag (aantal × prijs per eenheid)",
    "cap_unit_price": "de prijs per eenheid is ten hoogste referentie × (1 + tolerantie)",
    "subtract_pkvw_equivalent": "het deel tot PKVW-niveau gaat eraf (aantal × referentieprijs)",
    "subtract_already_reimbursed": "wat al vergoed is gaat eraf, niet onder 0",
    "fill_cap": "de regels vullen een plafond in volgorde van de aanvraag",
}
LINE_AMOUNTS = {"base_claimed", "cap_unit_price", "subtract_pkvw_equivalent",
                "subtract_already_reimbursed"}  # fmt: skip
CLAIM_AMOUNTS = {"fill_cap"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Spec):
    title: Annotated[str, Field(min_length=1)]
    url: str | None = None


class ParamSpec(_Spec):
    value: list[str] | str | int | bool
    unit: Literal["eur", "fractie", "aantal"] | None = None
    label: Annotated[str, Field(min_length=1)]
    basis: Basis
    source: str


class ValueSpec(_Spec):
    expr: Any
    format: Literal["eur", "eur_down", "eur_min0", "number"]


class ClauseSpec(_Spec):
    when: list[Any] | None = None
    status: LineStatus | None = None
    amount: str | None = None
    step: int | None = None
    tolerance: Any = None
    cap: Any = None
    effect: Effect | None = None
    basis: Basis | None = None
    explanation: Annotated[str, Field(min_length=1)]
    explanation_unchanged: str | None = None
    # for an amount effect on the claim level: the note on each line it lowers
    line_explanation: str | None = None


class RuleSpec(_Spec):
    id: Annotated[str, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]+)+$")]
    label: Annotated[str, Field(min_length=1)]
    source: str
    basis: Basis | None = None
    clauses: Annotated[list[ClauseSpec], Field(min_length=1)]


class RulesetSpec(_Spec):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    family: str
    version: Annotated[str, Field(pattern=r"^[0-9]{4}\.[0-9]+$")]
    title: str
    valid_from: date
    valid_to: date | None = None
    status: Status
    deciding_body: str
    required_claim_fields: list[Literal["threat", "municipality", "advice", "home"]] = []
    sources: dict[str, SourceSpec]
    parameters: dict[str, ParamSpec]
    values: dict[str, ValueSpec] = {}
    line_rules: list[RuleSpec]
    claim_rules: Annotated[list[RuleSpec], Field(min_length=1)]


# --- parsed conditions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expr:
    """A literal, a field, a parameter, or one arithmetic step on two of those."""

    kind: Literal["literal", "field", "param", "mul", "add", "sub", "div"]
    value: Any = None
    args: tuple[Expr, ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        """The fact fields this expression reads."""
        if self.kind == "field":
            return frozenset({str(self.value)})
        return frozenset().union(*(a.fields for a in self.args))


@dataclass(frozen=True, slots=True)
class Term:
    """One test on one field; `any` holds alternatives."""

    op: str
    field: str = ""
    value: Any = None
    any: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class Clause:
    index: int
    name: str  # the engine rule's name: RULE-ID#index
    when: tuple[Term, ...]
    status: str | None
    amount: str | None
    step: int
    tolerance: Expr | None
    cap: Expr | None
    effect: str | None
    basis: str | None
    explanation: str
    explanation_unchanged: str | None
    line_explanation: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: Literal["line", "claim"]
    label: str
    source: str
    basis: str | None
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Ruleset:
    """One validated ruleset version, with its hash and its compiled engine JSON."""

    spec: RulesetSpec
    path: Path
    sha256: str
    params: Mapping[str, Any]
    line_rules: tuple[Rule, ...]
    claim_rules: tuple[Rule, ...]
    values: Mapping[str, tuple[Expr, str]]
    rules_by_id: Mapping[str, Rule] = field(default_factory=dict)
    # the fact fields the conditions test, per level: the engine gets only these
    line_fields: frozenset[str] = frozenset()
    claim_fields: frozenset[str] = frozenset()
    # the end date recorded beside the pin when the version was closed (the file is unchanged)
    closure: Closure | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def valid_from(self) -> date:
        return self.spec.valid_from

    @property
    def valid_to(self) -> date | None:
        """The effective end date: the file's own, or the one its closure records (equal when
        both exist; `load_rulesets` checks). `spec.valid_to` is what the file says."""
        return self.closure.valid_to if self.closure is not None else self.spec.valid_to

    @property
    def key(self) -> str:
        return f"{self.spec.id}@{self.spec.version}"

    def source_text(self, source_id: str) -> str:
        src = self.spec.sources[source_id]
        return src.title if src.url is None else f"{src.title} ({src.url})"


# --- loading ----------------------------------------------------------------------------------


class _Loader:
    """Parses one file's conditions and checks every reference, naming file and rule."""

    def __init__(self, path: Path, spec: RulesetSpec) -> None:
        self.path = path
        self.spec = spec
        self.rule_id = ""
        self.params = self._params()

    def fail(self, text: str) -> RulesetError:
        where = f"{self.path.name}, regel {self.rule_id}" if self.rule_id else self.path.name
        return RulesetError(f"{where}: {text}")

    def _params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in self.spec.parameters.items():
            if p.source not in self.spec.sources:
                raise self.fail(f"parameter {name} noemt onbekende bron {p.source!r}")
            if p.unit in ("eur", "fractie"):
                try:
                    value = Decimal(str(p.value))
                except InvalidOperation:
                    raise self.fail(f"parameter {name} is geen getal: {p.value!r}") from None
                if isinstance(p.value, bool) or not value.is_finite():
                    raise self.fail(f"parameter {name} is geen getal: {p.value!r}")
                out[name] = value
            else:
                out[name] = p.value
        return out

    def expr(self, raw: Any, fields: Mapping[str, FactField]) -> Expr:
        if isinstance(raw, bool) or raw is None:
            raise self.fail(f"ongeldige waarde in een berekening: {raw!r}")
        if isinstance(raw, int | float | str) and not isinstance(raw, dict):
            if isinstance(raw, float):
                raise self.fail(f"schrijf getallen als tekst of geheel getal, niet {raw!r}")
            if isinstance(raw, str):
                try:
                    return Expr("literal", Decimal(raw))
                except InvalidOperation:
                    return Expr("literal", raw)
            return Expr("literal", raw)
        if not isinstance(raw, dict) or len(raw) != 1:
            raise self.fail(f"een berekening heeft precies één sleutel: {raw!r}")
        ((key, arg),) = raw.items()
        if key == "field":
            if arg not in fields:
                raise self.fail(f"onbekend veld {arg!r}")
            return Expr("field", arg)
        if key == "param":
            if arg not in self.params:
                raise self.fail(f"onbekende parameter {arg!r}")
            return Expr("param", arg)
        if key in ("mul", "add", "sub", "div"):
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(f"{key} heeft precies twee delen: {arg!r}")
            return Expr(key, args=(self.expr(arg[0], fields), self.expr(arg[1], fields)))
        raise self.fail(f"onbekende berekening {key!r}")

    _OPS = ("is", "is_not", "in", "not_in", "present", "lt", "lte", "gt", "gte")

    def term(self, raw: Any, fields: Mapping[str, FactField]) -> Term:
        if not isinstance(raw, dict):
            raise self.fail(f"een voorwaarde is een object: {raw!r}")
        if set(raw) == {"any"}:
            if not isinstance(raw["any"], list) or len(raw["any"]) < 2:
                raise self.fail("any heeft minstens twee voorwaarden")
            return Term("any", any=tuple(self.term(t, fields) for t in raw["any"]))
        name = raw.get("field")
        ops = [k for k in raw if k != "field"]
        if name is None or len(ops) != 1 or ops[0] not in self._OPS:
            raise self.fail(
                f"een voorwaarde is {{field: ..., OP: ...}} met OP een van"
                f" {', '.join(self._OPS)}: {raw!r}"
            )
        if name not in fields:
            raise self.fail(f"onbekend veld {name!r} (zie de feitenlijst in docs/rulesets.md)")
        op, value = ops[0], raw[ops[0]]
        kind = fields[name].type
        if op == "present":
            if not isinstance(value, bool):
                raise self.fail(f"present is true of false bij {name}")
            return Term(op, name, value)
        if op in ("in", "not_in"):
            if isinstance(value, dict) and set(value) == {"param"}:
                if value["param"] not in self.params:
                    raise self.fail(f"onbekende parameter {value['param']!r}")
                values = self.params[value["param"]]
            else:
                values = value
            if not isinstance(values, list) or not values:
                raise self.fail(f"{op} vraagt een lijst bij {name}")
            return Term(op, name, tuple(self.scalar(v, kind, name) for v in values))
        if op in ("is", "is_not"):
            if isinstance(value, dict):
                raise self.fail(f"{op} vraagt een vaste waarde bij {name}")
            return Term(op, name, self.scalar(value, kind, name))
        if kind not in ("int", "money", "date"):
            raise self.fail(f"{op} werkt alleen op getallen, bedragen en datums, niet op {name}")
        return Term(op, name, self.expr(value, fields))

    def scalar(self, value: Any, kind: str, name: str) -> Any:
        ok = {
            "text": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "money": isinstance(value, int | str) and not isinstance(value, bool),
            "date": isinstance(value, date),
        }[kind]
        if not ok:
            raise self.fail(f"waarde {value!r} past niet bij veld {name} ({kind})")
        return Decimal(str(value)) if kind == "money" else value

    def rule(self, spec: RuleSpec, level: Literal["line", "claim"]) -> Rule:
        self.rule_id = spec.id
        fields = LINE_FIELDS if level == "line" else CLAIM_FIELDS
        display = set(LINE_DISPLAY_NAMES if level == "line" else CLAIM_DISPLAY_NAMES)
        display |= set(self.spec.values) | set(self.params)
        if spec.source not in self.spec.sources:
            raise self.fail(f"onbekende bron {spec.source!r}")
        clauses = []
        for i, c in enumerate(spec.clauses):
            last = i == len(spec.clauses) - 1
            when = tuple(self.term(t, fields) for t in (c.when or ()))
            if level == "claim":
                if c.effect is None or c.status or c.amount not in (None, *CLAIM_AMOUNTS):
                    raise self.fail(f"clausule {i}: een regel op aanvraagniveau heeft een effect")
                if not when and not last:
                    raise self.fail(
                        f"clausule {i}: alleen de laatste clausule is zonder voorwaarde"
                    )
                if when and last:
                    raise self.fail("de laatste clausule is zonder voorwaarde (anders)")
            else:
                if c.effect is not None or (c.status is None) == (c.amount is None):
                    raise self.fail(f"clausule {i}: een regelregel heeft een status of een bedrag")
                if not when:
                    raise self.fail(f"clausule {i}: een regelregel heeft een voorwaarde")
                if c.amount is not None and (c.amount not in LINE_AMOUNTS or c.step is None):
                    raise self.fail(
                        f"clausule {i}: bedrag {c.amount!r} vraagt een step en een van"
                        f" {', '.join(sorted(LINE_AMOUNTS))}"
                    )
            if c.amount == "cap_unit_price" and c.tolerance is None:
                raise self.fail(f"clausule {i}: cap_unit_price vraagt een tolerance")
            if c.amount == "fill_cap" and (c.cap is None or c.line_explanation is None):
                raise self.fail(f"clausule {i}: fill_cap vraagt een cap en een line_explanation")
            for _, name, _, _ in string.Formatter().parse(c.line_explanation or ""):
                if name is not None and name != "toegestaan":
                    known = "{toegestaan}"
                    raise self.fail(
                        f"clausule {i}: line_explanation kent alleen {known}, niet {{{name}}}"
                    )
            for text in (c.explanation, c.explanation_unchanged or ""):
                for _, name, _, _ in string.Formatter().parse(text):
                    if name is not None and name not in display:
                        raise self.fail(f"clausule {i}: onbekende waarde {{{name}}} in de uitleg")
            clauses.append(
                Clause(
                    index=i,
                    name=f"{spec.id}#{i}",
                    when=when,
                    status=c.status,
                    amount=c.amount,
                    step=c.step or 0,
                    tolerance=None if c.tolerance is None else self.expr(c.tolerance, fields),
                    cap=None if c.cap is None else self.expr(c.cap, fields),
                    effect=c.effect,
                    basis=c.basis,
                    explanation=" ".join(c.explanation.split()),
                    explanation_unchanged=(
                        None
                        if c.explanation_unchanged is None
                        else " ".join(c.explanation_unchanged.split())
                    ),
                    line_explanation=c.line_explanation,
                )
            )
        self.rule_id = ""
        return Rule(spec.id, level, spec.label, spec.source, spec.basis, tuple(clauses))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        raise TypeError("floats are not allowed in ruleset files; quote decimal numbers")
    return value


def ruleset_content(raw: Mapping[str, Any]) -> bytes:
    """The canonical content of a ruleset file (RFC 8785 over its data, comments ignored)."""
    return canonical_json(_jsonable(dict(raw)))


def load_ruleset(path: Path) -> Ruleset:
    """Load and validate one ruleset version as its file says (no closure applied); errors
    name the file and the rule id."""
    try:
        return _load_ruleset(path)
    except RecursionError:
        raise RulesetError(
            f"{path.name}: te diep genest om te lezen; schrijf voorwaarden en waarden vlak uit"
            " (en gebruik geen YAML-verwijzing naar zichzelf)"
        ) from None


def _load_ruleset(path: Path) -> Ruleset:
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise RulesetError(
            f"{path.name}: is geen tekst in UTF-8 (fout bij byte {exc.start})"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise RulesetError(f"{path.name}: niet leesbaar als YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RulesetError(f"{path.name}: moet een YAML-object zijn")
    try:
        content = ruleset_content(raw)
    except TypeError as exc:
        raise RulesetError(f"{path.name}: {exc}") from None
    except ValueError as exc:
        # canonical JSON: a key outside ASCII, an integer beyond 2^53
        raise RulesetError(
            f"{path.name}: de inhoud kan niet worden vastgelegd ({str(exc)[:200]}); gebruik"
            " sleutels in ASCII en schrijf grote getallen als tekst"
        ) from None
    try:
        spec = RulesetSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            loc = list(e["loc"])
            where = ".".join(str(x) for x in loc)
            if len(loc) >= 2 and loc[0] in ("line_rules", "claim_rules"):
                rules = raw.get(loc[0]) or []
                idx = loc[1]
                if isinstance(idx, int) and idx < len(rules) and isinstance(rules[idx], dict):
                    where = f"regel {rules[idx].get('id', idx)}: " + ".".join(
                        str(x) for x in loc[2:]
                    )
            problems.append(f"{where}: {e['msg']}")
        raise RulesetError(f"{path.name}: " + "; ".join(problems)) from None
    if path.stem != spec.valid_from.isoformat():
        raise RulesetError(f"{path.name}: de bestandsnaam moet {spec.valid_from}.yaml zijn")
    if spec.valid_to is not None and spec.valid_to < spec.valid_from:
        raise RulesetError(f"{path.name}: valid_to ligt voor valid_from")
    loader = _Loader(path, spec)
    seen: set[str] = set()
    for r in [*spec.line_rules, *spec.claim_rules]:
        if r.id in seen:
            raise RulesetError(f"{path.name}, regel {r.id}: de regel-id komt twee keer voor")
        seen.add(r.id)
    values = {}
    for name, v in spec.values.items():
        loader.rule_id = f"(waarde {name})"
        fields = {**LINE_FIELDS, **CLAIM_FIELDS}
        values[name] = (loader.expr(v.expr, fields), v.format)
    loader.rule_id = ""
    line_rules = tuple(loader.rule(r, "line") for r in spec.line_rules)
    claim_rules = tuple(loader.rule(r, "claim") for r in spec.claim_rules)
    return Ruleset(
        spec=spec,
        path=path,
        sha256=hashlib.sha256(content).hexdigest(),
        params=loader.params,
        line_rules=line_rules,
        claim_rules=claim_rules,
        values=values,
        rules_by_id={r.id: r for r in (*line_rules, *claim_rules)},
        line_fields=_tested_fields(line_rules),
        claim_fields=_tested_fields(claim_rules),
    )


def _term_fields(t: Term) -> frozenset[str]:
    if t.op == "any":
        return frozenset().union(*(_term_fields(a) for a in t.any))
    extra = t.value.fields if isinstance(t.value, Expr) else frozenset()
    return frozenset({t.field}) | extra


def _tested_fields(rules: tuple[Rule, ...]) -> frozenset[str]:
    return frozenset(f for r in rules for c in r.clauses for t in c.when for f in _term_fields(t))


def load_rulesets(
    directory: Path | None = None, *, manifest: Path | None = None
) -> dict[str, tuple[Ruleset, ...]]:
    """Every ruleset version under `directory`, by scheme, oldest first; overlaps refused.

    A version closed in the manifest (default `directory/manifest.json`; see
    `vangnet.validity`) gets the recorded end date as its `valid_to`; a file whose own end
    date contradicts it is refused."""
    directory = directory or RULESETS_DIR
    try:
        closures = read_closures(manifest or directory / "manifest.json")
    except ValueError as exc:
        raise RulesetError(str(exc)) from None
    by_scheme: dict[str, list[Ruleset]] = {}
    for path in sorted(directory.glob("*/*.yaml")):
        rs = load_ruleset(path)
        if rs.id != path.parent.name:
            raise RulesetError(f"{path.name}: id {rs.id} hoort in de map rulesets/{rs.id}/")
        closure = closures.get(f"rulesets/{path.parent.name}/{path.name}")
        if closure is not None:
            try:
                effective_valid_to(rs.valid_from, rs.spec.valid_to, closure, path.name)
            except ValueError as exc:
                raise RulesetError(str(exc)) from None
            rs = dataclasses.replace(rs, closure=closure)
        by_scheme.setdefault(rs.id, []).append(rs)
    for scheme, versions in by_scheme.items():
        overlap = find_overlap(versions)
        if overlap:
            a, b = overlap
            raise RulesetError(
                f"{b.path.name}: de geldigheid van {scheme} {b.version} overlapt met {a.version}"
            )
        if len({v.version for v in versions}) != len(versions):
            raise RulesetError(f"rulesets/{scheme}: twee versies met hetzelfde versienummer")
    return {k: tuple(sorted(v, key=lambda r: r.valid_from)) for k, v in by_scheme.items()}


# --- compiling to durable-rules JSON ----------------------------------------------------------

_CMP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_ARITH = {"mul": "$mul", "add": "$add", "sub": "$sub", "div": "$div"}


def _engine_scalar(value: Any) -> Any:
    if isinstance(value, Decimal):  # money: euros to cents
        return int(value * 100)
    if isinstance(value, date):
        return value.year * 10000 + value.month * 100 + value.day
    return value


def _engine_expr(e: Expr, rs: Ruleset, fields: Mapping[str, FactField], money: bool) -> Any:
    if e.kind == "literal":
        v = e.value
        if isinstance(v, Decimal):
            v = v * 100 if money else v
            return int(v) if v == v.to_integral_value() else float(v)
        return v
    if e.kind == "field":
        return {"$m": e.value}
    if e.kind == "param":
        spec = rs.spec.parameters[e.value]
        v = rs.params[e.value]
        if spec.unit == "eur":
            v = v * 100
        return int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else float(v)
    left, right = e.args
    # inside arithmetic, literals are plain numbers; money parameters are still cents
    return {
        _ARITH[e.kind]: {
            "$l": _engine_expr(left, rs, fields, False),
            "$r": _engine_expr(right, rs, fields, False),
        }
    }


def _engine_term(t: Term, rs: Ruleset, fields: Mapping[str, FactField]) -> list[dict[str, Any]]:
    if t.op == "any":
        alts = [{"$and": _engine_term(a, rs, fields)} for a in t.any]
        return [{"$or": alts}]
    if t.op == "present":
        return [{"$ex" if t.value else "$nex": {t.field: 1}}]
    guard: list[dict[str, Any]] = [{"$ex": {t.field: 1}}]
    if t.op == "is":
        return [*guard, {t.field: _engine_scalar(t.value)}]
    if t.op == "is_not":
        return [*guard, {"$neq": {t.field: _engine_scalar(t.value)}}]
    if t.op == "in":
        eqs = [{t.field: _engine_scalar(v)} for v in t.value]
        return [*guard, eqs[0] if len(eqs) == 1 else {"$or": eqs}]
    if t.op == "not_in":
        return [*guard, *({"$neq": {t.field: _engine_scalar(v)}} for v in t.value)]
    expr: Expr = t.value
    money = fields[t.field].type == "money"
    guard += [{"$ex": {f: 1}} for f in sorted(expr.fields)]
    return [*guard, {_CMP[t.op]: {t.field: _engine_expr(expr, rs, fields, money)}}]


ANCHOR = "$anker"
# more than the contract's 500 lines, so one action carries every line a clause matches
LINE_CAP = 1000


def compile_ruleset(rs: Ruleset) -> dict[str, Any]:
    """durable-rules JSON: one engine rule per clause, named `RULE-ID#n`, plus the anchor."""
    out: dict[str, Any] = {ANCHOR: {"all": [{"m": {"kind": "start"}}]}}
    for rule in (*rs.line_rules, *rs.claim_rules):
        fields = LINE_FIELDS if rule.level == "line" else CLAIM_FIELDS
        for c in rule.clauses:
            tests: list[dict[str, Any]] = [{"kind": rule.level}]
            for t in c.when:
                for test in _engine_term(t, rs, fields):
                    if test not in tests:  # the same $ex guard for a field used twice
                        tests.append(test)
            compiled: dict[str, Any] = {"all": [{"m": {"$and": tests}}]}
            if rule.level == "line":
                # deliver every matching line in one action: one engine round trip per clause
                compiled["cap"] = LINE_CAP
            out[c.name] = compiled
    return out


# --- exact evaluation of expressions (amounts and explanation values) --------------------------


def evaluate_expr(e: Expr, params: Mapping[str, Any], values: Mapping[str, Any]) -> Decimal | None:
    """Exact Decimal value of `e`, or None when a field it needs is unknown."""
    if e.kind == "literal":
        return Decimal(e.value)
    if e.kind == "field":
        v = values.get(e.value)
        return None if v is None else Decimal(v)
    if e.kind == "param":
        return Decimal(params[e.value])
    left = evaluate_expr(e.args[0], params, values)
    right = evaluate_expr(e.args[1], params, values)
    if left is None or right is None:
        return None
    if e.kind == "mul":
        return left * right
    if e.kind == "add":
        return left + right
    if e.kind == "sub":
        return left - right
    return None if right == 0 else left / right


def rule_ids(rulesets: Sequence[Ruleset]) -> set[str]:
    """Every rule id of the given rulesets."""
    return {r for rs in rulesets for r in rs.rules_by_id}
