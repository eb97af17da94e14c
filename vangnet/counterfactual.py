"""Counterfactuals: the smallest single documentable change that gives a better outcome.

For a decision that is not the best outcome, `counterfactuals(decider, claim)` tries the
changes that `calculators/counterfactuals/<valid_from>.yaml` lists for the claim's scheme:
facts a claimant can document (a recognised threat assessment, a motivated trigger, a security
advice, a measure being advised, a PKVW certificate, a price down to the reference cap). What
can change is data, never Python; the claim's frame and the facts of record (who applies, the
office-holder, the municipality's figures, what another scheme paid) are refused by the loader
even when a data file names them.

"Better" is an order of outcomes (the data's `outcomes`, worst first), then a higher eligible
total for the same outcome. A categorical change tries its candidates in order and keeps the
best verified one (the earlier on a tie); a numeric change moves a money field towards a bound
and finds by bisection, to the cent, the value nearest the claim's that still gives a better
outcome (so one cent less of a change does not). Every counterfactual returned was verified by
running the changed claim through the engine (`Decider.decide`) under the same ruleset
version. Ranking: categorical before numeric, then the better outcome, the higher total, fewer
changed fields, the smaller amount, and the data's order.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from vangnet import yamlfile
from vangnet.calculator import calculate
from vangnet.claim import Claim, parse_claim
from vangnet.decision import Decision, Outcome
from vangnet.exceptions import ClaimError, DataError
from vangnet.facts import LINE_FIELDS, line_values
from vangnet.money import CENT, format_eur
from vangnet.paths import CALCULATORS_DIR
from vangnet.ruleset import Expr, Ruleset, evaluate_expr
from vangnet.validity import find_overlap, in_force

if TYPE_CHECKING:
    from vangnet.evaluate import Decider

__all__ = [
    "NEVER_CHANGED",
    "Candidate",
    "ChangeableFact",
    "ChangeableFacts",
    "ChangedField",
    "Condition",
    "Counterfactual",
    "apply_change",
    "counterfactuals",
    "load_changeable_facts",
]

# Claim paths no counterfactual may touch, whatever a data file says: the claim's frame, who
# applies, the office-holder (role), the municipality's figures (inhabitants, budget) and what
# another scheme already paid. These are facts of record, not something a claimant documents.
NEVER_CHANGED: tuple[str, ...] = (
    "claim_id",
    "scheme",
    "reference_date",
    "applicant",
    "office_holder",
    "municipality",
    "measures[*].already_reimbursed_eur",
)

Kind = Literal["categorical", "numeric"]
_LINE_PLACEHOLDERS = frozenset({"nummer", "omschrijving", "code", "oud", "nieuw"})
_PLACEHOLDERS = frozenset({"oud", "nieuw"})
_CONSEQUENCE = frozenset({"wijziging", "uitkomst", "bedrag", "oude_uitkomst", "oud_bedrag"})


# --- the file ---------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourceSpec(_Spec):
    title: Annotated[str, Field(min_length=1)]
    url: str | None = None


class _CandidateSpec(_Spec):
    value: Any
    description: Annotated[str, Field(min_length=1)]


class _ChangeSpec(_Spec):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    schemes: Annotated[list[str], Field(min_length=1)]
    kind: Kind
    path: Annotated[str, Field(min_length=1)]
    when: list[Any] = []
    candidates: list[_CandidateSpec] = []
    towards: Any = None
    direction: Literal["down", "up"] | None = None
    description: str | None = None
    documentable: Annotated[str, Field(min_length=1)]
    source: str


class _FileSpec(_Spec):
    valid_from: date
    valid_to: date | None = None
    sources: dict[str, _SourceSpec]
    outcomes: dict[str, str]
    consequence: Annotated[str, Field(min_length=1)]
    changes: Annotated[list[_ChangeSpec], Field(min_length=1)]


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on one claim path (`[*]`: the line being changed); `any` holds alternatives.
    `param` names a parameter of the deciding ruleset that holds the list."""

    op: Literal["is", "is_not", "in", "not_in", "any"]
    path: str = ""
    value: Any = None
    param: str | None = None
    any: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One value to try (for an object path: the fields to set) and its Dutch wording."""

    value: Any
    description: str


@dataclass(frozen=True, slots=True)
class ChangeableFact:
    """One documentable change: where it applies and how it is tried."""

    id: str
    schemes: frozenset[str]
    kind: Kind
    path: str
    when: tuple[Condition, ...]
    candidates: tuple[Candidate, ...]
    # numeric: the bound (an expression on the line's calculation and the ruleset's
    # parameters) and the only direction the value may move in (a price is only lowered)
    towards: Expr | None
    direction: Literal["down", "up"] | None
    description: str
    documentable: str
    source: str

    @property
    def per_line(self) -> bool:
        return self.path.startswith("measures[*]")

    @property
    def leaf_paths(self) -> frozenset[str]:
        """Every claim path (lines as `measures[*]`) this change may set."""
        out = set()
        for c in self.candidates:
            if isinstance(c.value, Mapping):
                out |= {f"{self.path}.{k}" for k in c.value}
            else:
                out.add(self.path)
        return frozenset(out) if self.candidates else frozenset({self.path})


@dataclass(frozen=True, slots=True)
class ChangeableFacts:
    """One dated version of the changeable facts."""

    valid_from: date
    valid_to: date | None
    path: Path
    outcomes: tuple[str, ...]  # worst first
    outcome_names: Mapping[str, str]
    consequence: str
    changes: tuple[ChangeableFact, ...]
    sources: Mapping[str, str]

    def rank(self, outcome: str, total: Decimal) -> tuple[int, Decimal]:
        """The order of (outcome, eligible total): a larger rank is a better result."""
        return self.outcomes.index(outcome), total

    def for_scheme(self, scheme: str) -> tuple[ChangeableFact, ...]:
        return tuple(c for c in self.changes if scheme in c.schemes)


# --- paths ------------------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    """'measures[2].advised' -> ['measures', '2', 'advised']; '[*]' stays '*'."""
    return path.replace("[", ".").replace("]", "").split(".")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _field_type(path: str) -> Any:
    """The pydantic annotation at a claim path (a model for an object path); KeyError if none."""
    model: type[BaseModel] | None = Claim
    annotation: Any = None
    for seg in _segments(path):
        if seg == "*":
            continue
        if model is None or seg not in model.model_fields:
            raise KeyError(path)
        info = model.model_fields[seg]
        annotation = info.rebuild_annotation()
        model = _model_of(info.annotation)
    return annotation


def _never(path: str) -> bool:
    return any(path == n or path.startswith((n + ".", n + "[")) for n in NEVER_CHANGED)


def _get(data: Any, path: str) -> Any:
    for seg in _segments(path):
        if data is None:
            return None
        data = data[int(seg)] if isinstance(data, list) else data.get(seg)
    return data


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` in the claim data, creating an absent object on the way; an object value
    sets only the fields it names."""
    segs = _segments(path)
    node: Any = data
    for seg in segs[:-1]:
        if isinstance(node, list):
            node = node[int(seg)]
            continue
        if node.get(seg) is None:
            node[seg] = {}
        node = node[seg]
    last = segs[-1]
    if isinstance(value, Mapping):
        if node.get(last) is None:
            node[last] = {}
        node[last].update(value)
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def apply_change(claim: Claim, path: str, value: Any) -> Claim:
    """The claim with `path` (e.g. `measures[1].advised`, or `threat` with a dict of fields)
    set to `value`, validated again; raises `ClaimError` when the result is not a valid claim."""
    data = claim.model_dump()
    _set(data, path, value)
    return parse_claim(data)


# --- loading ----------------------------------------------------------------------------------


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = ""

    def fail(self, text: str) -> DataError:
        where = f"{self.path.name}, wijziging {self.where}" if self.where else self.path.name
        return DataError(f"{where}: {text}")

    def check_path(self, path: str, per_line: bool) -> Any:
        if _never(path):
            raise self.fail(
                f"{path} is een vast gegeven van de aanvraag, niets om aan te tonen; nooit te"
                f" wijzigen zijn: {', '.join(NEVER_CHANGED)}"
            )
        if "*" in path and not path.startswith("measures[*]."):
            raise self.fail(f"[*] staat alleen in measures[*].…, niet in {path}")
        if path.startswith("measures") and not path.startswith("measures[*]."):
            raise self.fail(f"schrijf een maatregel als measures[*].veld, niet {path}")
        if per_line != path.startswith("measures[*]."):
            raise self.fail(f"{path} hoort bij een andere regel van de aanvraag")
        try:
            return _field_type(path)
        except KeyError:
            raise self.fail(f"onbekend pad {path!r} in de aanvraag (claim-format.md)") from None

    def check_value(self, path: str, annotation: Any, value: Any) -> None:
        try:
            TypeAdapter(annotation).validate_python(value)
        except ValidationError:
            raise self.fail(f"waarde {value!r} past niet bij {path}") from None

    def condition(self, raw: Any, per_line: bool) -> Condition:
        if isinstance(raw, dict) and set(raw) == {"any"}:
            alts = raw["any"]
            if not isinstance(alts, list) or len(alts) < 2:
                raise self.fail("any heeft minstens twee voorwaarden")
            return Condition("any", any=tuple(self.condition(a, per_line) for a in alts))
        ops = [k for k in raw if k != "path"] if isinstance(raw, dict) else []
        ok = ("is", "is_not", "in", "not_in")
        if not isinstance(raw, dict) or "path" not in raw or len(ops) != 1 or ops[0] not in ok:
            raise self.fail(
                f"een voorwaarde is {{path: ..., OP: ...}} met OP een van {', '.join(ok)}: {raw!r}"
            )
        op, value = ops[0], raw[ops[0]]
        path = str(raw["path"])
        annotation = self.check_path(path, per_line)
        if op in ("in", "not_in"):
            if isinstance(value, dict) and set(value) == {"param"}:
                return Condition(op, path, param=str(value["param"]))
            if not isinstance(value, list) or not value:
                raise self.fail(f"{op} vraagt een lijst of {{param: naam}} bij {path}")
            for v in value:
                self.check_value(path, annotation, v)
            return Condition(op, path, tuple(value))
        self.check_value(path, annotation, value)
        return Condition(op, path, value)

    def placeholders(self, text: str, known: frozenset[str]) -> None:
        for _, name, _, _ in string.Formatter().parse(text):
            if name is not None and name not in known:
                raise self.fail(f"onbekende waarde {{{name}}} in de tekst; bekend: {sorted(known)}")

    def change(self, spec: _ChangeSpec, sources: Mapping[str, Any]) -> ChangeableFact:
        self.where = spec.id
        per_line = spec.path.startswith("measures")
        annotation = self.check_path(spec.path, per_line)
        if spec.source not in sources:
            raise self.fail(f"onbekende bron {spec.source!r}")
        known = _LINE_PLACEHOLDERS if per_line else _PLACEHOLDERS
        when = tuple(self.condition(c, per_line) for c in spec.when)
        towards: Expr | None = None
        if spec.kind == "categorical":
            if not spec.candidates or spec.towards or spec.direction or spec.description:
                raise self.fail("een categorische wijziging heeft candidates (met description)")
            for c in spec.candidates:
                self.placeholders(c.description, known)
                if isinstance(c.value, dict):
                    if not c.value:
                        raise self.fail("een kandidaat noemt minstens één veld")
                    for k, v in c.value.items():
                        sub = f"{spec.path}.{k}"
                        self.check_value(sub, self.check_path(sub, per_line), v)
                else:
                    self.check_value(spec.path, annotation, c.value)
            description = ""
        else:
            if (
                spec.candidates
                or spec.towards is None
                or spec.direction is None
                or spec.description is None
            ):
                raise self.fail("een numerieke wijziging heeft towards, direction en description")
            if annotation is not Decimal and get_args(annotation)[:1] != (Decimal,):
                raise self.fail(f"{spec.path} is geen bedrag; numeriek werkt alleen op bedragen")
            towards = self.expr(spec.towards, per_line)
            self.placeholders(spec.description, known)
            description = " ".join(spec.description.split())
        self.where = ""
        return ChangeableFact(
            id=spec.id,
            schemes=frozenset(spec.schemes),
            kind=spec.kind,
            path=spec.path,
            when=when,
            candidates=tuple(
                Candidate(c.value, " ".join(c.description.split())) for c in spec.candidates
            ),
            towards=towards,
            direction=spec.direction,
            description=description,
            documentable=" ".join(spec.documentable.split()),
            source=spec.source,
        )

    def expr(self, raw: Any, per_line: bool) -> Expr:
        """A bound: a literal amount, {line: FIELD}, {param: NAME} (of the deciding ruleset),
        or one arithmetic step {mul|add|sub|div: [EXPR, EXPR]}, as in a ruleset."""
        if isinstance(raw, str | int) and not isinstance(raw, bool):
            try:
                return Expr("literal", Decimal(str(raw)))
            except ArithmeticError:
                raise self.fail(f"geen getal: {raw!r}") from None
        if not isinstance(raw, dict) or len(raw) != 1:
            raise self.fail(f"een grens is een getal of een berekening met één sleutel: {raw!r}")
        ((key, arg),) = raw.items()
        if key == "line":
            spec = LINE_FIELDS.get(arg)
            if not per_line or spec is None or spec.type not in ("money", "int"):
                raise self.fail(f"{{line: {arg}}} noemt geen getal of bedrag van de regel")
            return Expr("field", arg)
        if key == "param":
            return Expr("param", str(arg))
        if key in ("mul", "add", "sub", "div"):
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(f"{key} heeft precies twee delen: {arg!r}")
            return Expr(key, args=(self.expr(arg[0], per_line), self.expr(arg[1], per_line)))
        raise self.fail(f"onbekende berekening {key!r}")


def _load(path: Path) -> ChangeableFacts:
    loader = _Loader(path)
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise loader.fail(f"niet leesbaar als YAML: {exc}") from None
    try:
        spec = _FileSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise loader.fail("; ".join(problems)) from None
    if path.stem != spec.valid_from.isoformat():
        raise loader.fail(f"de bestandsnaam moet {spec.valid_from}.yaml zijn")
    outcomes = tuple(spec.outcomes)
    if sorted(outcomes) != sorted(get_args(Outcome)):
        raise loader.fail(f"outcomes noemt elke uitkomst één keer: {', '.join(get_args(Outcome))}")
    loader.placeholders(spec.consequence, _CONSEQUENCE)
    changes = tuple(loader.change(c, spec.sources) for c in spec.changes)
    if len({c.id for c in changes}) != len(changes):
        raise loader.fail("twee wijzigingen met dezelfde id")
    return ChangeableFacts(
        valid_from=spec.valid_from,
        valid_to=spec.valid_to,
        path=path,
        outcomes=outcomes,
        outcome_names=dict(spec.outcomes),
        consequence=" ".join(spec.consequence.split()),
        changes=changes,
        sources={
            k: s.title if s.url is None else f"{s.title} ({s.url})" for k, s in spec.sources.items()
        },
    )


def load_changeable_facts(directory: Path | None = None) -> tuple[ChangeableFacts, ...]:
    """Every dated version under `directory` (default `calculators/counterfactuals/`)."""
    directory = directory or CALCULATORS_DIR / "counterfactuals"
    versions = tuple(_load(p) for p in sorted(directory.glob("*.yaml")))
    overlap = find_overlap(versions)
    if overlap:
        a, b = overlap
        raise DataError(f"{b.path.name}: de geldigheid overlapt met {a.path.name}")
    return tuple(sorted(versions, key=lambda v: v.valid_from))


@lru_cache(maxsize=1)
def _published() -> tuple[ChangeableFacts, ...]:
    return load_changeable_facts()


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangedField:
    """One field of the claim a counterfactual changes."""

    path: str
    old_value: Any
    new_value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old_value": self.old_value, "new_value": self.new_value}


@dataclass(frozen=True, slots=True)
class Counterfactual:
    """A verified single change and the better outcome it gives.

    `path` is the change's claim path (`threat`, `measures[1].advised`); for an object path
    `old_value`/`new_value` hold only the fields that change, each also in `fields`."""

    change: str
    kind: Kind
    path: str
    old_value: Any
    new_value: Any
    fields: tuple[ChangedField, ...]
    description: str
    outcome: Outcome
    eligible_total_eur: Decimal
    old_outcome: Outcome
    old_eligible_total_eur: Decimal
    documentable: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-able data (money as Decimal, like `Decision.as_dict`)."""
        return {
            "change": self.change,
            "kind": self.kind,
            "path": self.path,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "fields": [f.as_dict() for f in self.fields],
            "description": self.description,
            "outcome": self.outcome,
            "eligible_total_eur": self.eligible_total_eur,
            "old_outcome": self.old_outcome,
            "old_eligible_total_eur": self.old_eligible_total_eur,
            "documentable": self.documentable,
            "source": self.source,
        }


# --- searching --------------------------------------------------------------------------------


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, Decimal):
        return format_eur(value)
    return "onbekend" if value is None else str(value)


def _plain(value: Any) -> Any:
    """A JSON-able copy (dates as ISO text; Decimals stay)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Search:
    """One claim's search: its data, its decision and the engine runs, cached per change."""

    def __init__(
        self, decider: Decider, claim: Claim, decision: Decision, facts: ChangeableFacts
    ) -> None:
        self.decider = decider
        self.claim = claim
        self.decision = decision
        self.facts = facts
        self.data = claim.model_dump()
        ref = decision.ruleset
        self.ruleset = next(rs for rs in decider.rulesets[ref.id] if rs.version == ref.version)
        self.base = facts.rank(decision.outcome, decision.eligible_total_eur)
        self._lines: list[dict[str, Any]] | None = None

    def concrete(self, path: str, index: int | None) -> str:
        return path if index is None else path.replace("[*]", f"[{index}]", 1)

    def holds(self, c: Condition, index: int | None, rs: Ruleset) -> bool:
        if c.op == "any":
            return any(self.holds(a, index, rs) for a in c.any)
        value = _get(self.data, self.concrete(c.path, index))
        if c.op == "is":
            return value is not None and value == c.value
        if c.op == "is_not":
            return value is None or value != c.value
        options = c.value
        if c.param is not None:
            if c.param not in rs.params:
                raise DataError(
                    f"{self.facts.path.name}: de voorwaarde noemt parameter {c.param}, maar"
                    f" {rs.key} heeft die niet"
                )
            options = rs.params[c.param]
        inside = value is not None and value in options
        return inside if c.op == "in" else not inside

    def bound(self, expr: Expr, index: int | None) -> Decimal | None:
        """The value of a numeric change's bound for this claim (None: unknown here)."""
        if self._lines is None:
            calc = calculate(self.claim, self.decider.catalogues)
            self._lines = [line_values(line, None) for line in calc.lines]
        values = {} if index is None else self._lines[index]
        try:
            return evaluate_expr(expr, self.ruleset.params, values)
        except KeyError as exc:
            raise DataError(
                f"{self.facts.path.name}: een grens noemt parameter {exc.args[0]}, maar"
                f" {self.ruleset.key} heeft die niet"
            ) from None

    def run(self, path: str, value: Any) -> Decision | None:
        """The decision for the changed claim under the same version, or None if the change
        makes no valid claim."""
        data = self.claim.model_dump()
        _set(data, path, value)
        try:
            changed = parse_claim(data)
        except ClaimError:
            return None
        ref = self.decision.ruleset
        try:
            return self.decider.decide(changed, ref.id, ref.version, force=self.decision.forced)
        except ClaimError:  # a field the version requires went missing
            return None

    def better(self, d: Decision | None) -> bool:
        return d is not None and self.facts.rank(d.outcome, d.eligible_total_eur) > self.base

    def fields(self, path: str, value: Any) -> tuple[ChangedField, ...]:
        if isinstance(value, Mapping):
            old = _get(self.data, path)
            out = []
            for k, v in value.items():
                before = None if old is None else old.get(k)
                if before != v:
                    out.append(ChangedField(f"{path}.{k}", _plain(before), _plain(v)))
            return tuple(out)
        before = _get(self.data, path)
        return () if before == value else (ChangedField(path, _plain(before), _plain(value)),)

    def found(
        self,
        change: ChangeableFact,
        path: str,
        index: int | None,
        value: Any,
        *,
        template: str,
        result: Decision,
    ) -> Counterfactual:
        fields = self.fields(path, value)
        if isinstance(value, Mapping):
            old_value: Any = {f.path.rsplit(".", 1)[1]: f.old_value for f in fields}
            new_value: Any = {f.path.rsplit(".", 1)[1]: f.new_value for f in fields}
        else:
            old_value, new_value = fields[0].old_value, fields[0].new_value
        texts = {"oud": _words(old_value), "nieuw": _words(new_value)}
        if index is not None:
            m = self.claim.measures[index]
            texts |= {"nummer": str(index + 1), "omschrijving": m.description, "code": m.code or ""}
        names = self.facts.outcome_names
        description = self.facts.consequence.format(
            wijziging=template.format(**texts),
            uitkomst=names[result.outcome],
            bedrag=format_eur(result.eligible_total_eur),
            oude_uitkomst=names[self.decision.outcome],
            oud_bedrag=format_eur(self.decision.eligible_total_eur),
        )
        return Counterfactual(
            change=change.id,
            kind=change.kind,
            path=path,
            old_value=old_value,
            new_value=new_value,
            fields=fields,
            description=description,
            outcome=result.outcome,
            eligible_total_eur=result.eligible_total_eur,
            old_outcome=self.decision.outcome,
            old_eligible_total_eur=self.decision.eligible_total_eur,
            documentable=change.documentable,
            source=self.facts.sources[change.source],
        )

    def categorical(self, change: ChangeableFact, index: int | None) -> Counterfactual | None:
        path = self.concrete(change.path, index)
        best: tuple[Candidate, Decision] | None = None
        for cand in change.candidates:
            if not self.fields(path, cand.value):
                continue
            d = self.run(path, cand.value)
            if d is None or not self.better(d):
                continue
            rank = self.facts.rank(d.outcome, d.eligible_total_eur)
            if best is None or rank > self.facts.rank(best[1].outcome, best[1].eligible_total_eur):
                best = (cand, d)
        if best is None:
            return None
        cand, d = best
        return self.found(change, path, index, cand.value, template=cand.description, result=d)

    def numeric(self, change: ChangeableFact, index: int | None) -> Counterfactual | None:
        path = self.concrete(change.path, index)
        current = _get(self.data, path)
        bound = None if change.towards is None else self.bound(change.towards, index)
        if not isinstance(current, Decimal) or bound is None:
            return None
        # the bound to the cent, reached: rounded away from the claim's value
        down = change.direction == "down"
        target = bound.quantize(CENT, ROUND_DOWN if down else ROUND_UP)
        if (target >= current) if down else (target <= current):
            return None
        results: dict[Decimal, Decision | None] = {}

        def better(value: Decimal) -> bool:
            if value not in results:
                results[value] = self.run(path, value)
            return self.better(results[value])

        if not better(target):
            return None
        good, bad = int(target / CENT), int(current / CENT)
        while abs(good - bad) > 1:
            mid = (good + bad) // 2
            if better(mid * CENT):
                good = mid
            else:
                bad = mid
        value = good * CENT
        result = results[value]
        if result is None:  # pragma: no cover - `better` holds only for a decision
            return None
        return self.found(change, path, index, value, template=change.description, result=result)

    def targets(self, change: ChangeableFact) -> Iterator[int | None]:
        if change.per_line:
            yield from range(len(self.claim.measures))
        else:
            yield None

    def search(self) -> list[tuple[int, int | None, Counterfactual]]:
        out = []
        for order, change in enumerate(self.facts.for_scheme(self.decision.ruleset.id)):
            for index in self.targets(change):
                if not all(self.holds(c, index, self.ruleset) for c in change.when):
                    continue
                if change.kind == "categorical":
                    cf = self.categorical(change, index)
                else:
                    cf = self.numeric(change, index)
                if cf is not None:
                    out.append((order, index, cf))
        return out


def _sort_key(
    facts: ChangeableFacts, item: tuple[int, int | None, Counterfactual]
) -> tuple[Any, ...]:
    order, index, cf = item
    outcome_rank, total = facts.rank(cf.outcome, cf.eligible_total_eur)
    size = Decimal(0)
    if cf.kind == "numeric":
        size = abs(Decimal(cf.new_value) - Decimal(cf.old_value))
    return (
        cf.kind != "categorical",
        -outcome_rank,
        -total,
        len(cf.fields),
        size,
        order,
        -1 if index is None else index,
    )


def counterfactuals(
    decider: Decider,
    claim: Claim,
    decision: Decision | None = None,
    limit: int | None = 3,
    *,
    facts: Sequence[ChangeableFacts] | None = None,
) -> list[Counterfactual]:
    """The best single documentable changes that give `claim` a better outcome, verified.

    `decision` is the claim's decision (decided here when None; a forced version is kept);
    `facts` the changeable-fact versions (default: the published data), the one in force on
    the claim's reference date is used. Empty for the best outcome, or when no listed change
    helps. `limit=None` returns every verified counterfactual."""
    if decision is None:
        decision = decider.decide(claim)
    table = in_force(_published() if facts is None else facts, claim.reference_date)
    if table is None or decision.outcome == table.outcomes[-1]:
        return []
    found = _Search(decider, claim, decision, table).search()
    found.sort(key=lambda item: _sort_key(table, item))
    out = [cf for _, _, cf in found]
    return out if limit is None else out[:limit]
