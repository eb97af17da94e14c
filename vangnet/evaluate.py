"""The decision core: a claim goes in, the ruleset version in force on its reference date runs
on durable-rules, and a complete, explained, reproducible decision comes out.

The pipeline, for one claim:
1. choose the ruleset version (scheme + reference date, or a forced version) and the catalogue;
2. calculate every line against the catalogue (`vangnet.calculator`);
3. phase one: assert the line facts; the line rules fire; our code reads the firings in the
   ruleset's order (the first gate stops a line) and applies the amount effects the ruleset
   names, with the ruleset's numbers;
4. phase two: assert the claim fact with the line results E and P; the claim rules fire; the
   first clause of each rule that fired is its finding;
5. the outcome follows the shared mechanics of `schemes.md`.

Nothing here knows a scheme, a rule id or a number of a regulation: they come from the data.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, cast

from vangnet import __version__
from vangnet.calculator import CalculatedLine, Calculation, calculate
from vangnet.catalogue import Catalogue, CatalogueSet, load_catalogues
from vangnet.claim import Claim, claim_sha256, decode_json, parse_claim
from vangnet.decision import (
    CatalogueRef,
    Decision,
    DecisionLine,
    Effect,
    Finding,
    LineStatus,
    Outcome,
    Receipt,
    RulesetRef,
    trusted,
)
from vangnet.engine import (
    DURABLE_VERSION,
    Firing,
    RuleEngine,
    Trace,
    default_engine,
    fact_members,
    member_key,
    member_value,
)
from vangnet.exceptions import (
    ClaimError,
    EvaluationError,
    NoRulesetError,
    Problem,
    VangnetError,
)
from vangnet.facts import (
    CLAIM_FIELDS,
    ITEM_FIELDS,
    ITEM_TEXTS,
    LINE_ENGINE_VALUES,
    LINE_FIELDS,
    LINE_TEXTS,
    ClaimTotals,
    claim_display,
    claim_values,
    eur_text,
    line_values,
    to_fact,
)
from vangnet.messages import message
from vangnet.money import ZERO, format_eur, format_number, round_cents
from vangnet.rules_text import param_text
from vangnet.ruleset import Clause, Rule, Ruleset, compile_ruleset, evaluate_expr, load_rulesets
from vangnet.validity import covers, describe_periods, in_force

__all__ = ["ENGINE_NAME", "Decider", "Evaluation", "LineResult"]

_NOTHING = Decimal("0.00")
ENGINE_NAME = f"vangnet {__version__}; durable-rules {DURABLE_VERSION}"


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a setattr per field per line
class LineResult:
    """One line's own assessment (treat as read-only)."""

    line: CalculatedLine
    status: LineStatus
    eligible: Decimal
    rules: list[str]
    parts: list[str]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A decision with everything behind it: the calculation and the engine's trace."""

    decision: Decision
    calculation: Calculation
    ruleset: Ruleset
    trace: Sequence[Firing]  # a `Trace`
    facts: Mapping[str, Mapping[str, Any]]


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


# texts that depend only on a ruleset version (its parameters), by (hash, name)
_STATIC_TEXTS: dict[tuple[str, str], str] = {}


class _Values(Mapping[str, str]):
    """Ruleset `values` and parameters as texts for explanations, computed when asked for."""

    __slots__ = ("_rs", "_values")

    def __init__(self, rs: Ruleset, values: Mapping[str, Any]) -> None:
        self._rs = rs
        self._values = values

    def __getitem__(self, name: str) -> str:
        rs = self._rs
        key = (rs.sha256, name)
        text = _STATIC_TEXTS.get(key)
        if text is not None:
            return text
        if name in rs.params:
            text = _STATIC_TEXTS[key] = param_text(rs, name)
            return text
        if name in rs.values:
            if not rs.values[name][0].fields:
                text = _STATIC_TEXTS[key] = self._value(name)
                return text
            return self._value(name)
        raise KeyError(name)

    def _value(self, name: str) -> str:
        rs = self._rs
        expr, fmt = rs.values[name]
        v = evaluate_expr(expr, rs.params, self._values)
        if v is None:
            return "onbekend"
        if fmt == "eur":
            return format_eur(v)
        if fmt == "eur_min0":
            return format_eur(max(v, ZERO))
        if fmt == "eur_down":
            return format_eur(v.quantize(Decimal("0.01"), rounding=ROUND_DOWN))
        return format_number(v, 2).removesuffix(",00")

    def __iter__(self) -> Iterator[str]:
        return iter([*self._rs.values, *self._rs.params])

    def __len__(self) -> int:
        return len(self._rs.values) + len(self._rs.params)


@dataclass(frozen=True, slots=True)
class _Program:
    """What the fired line clauses of a line do: the first gate in the ruleset's order, or
    else the amount steps in step order (`has_base`: the first one sets the base amount)."""

    gate: tuple[Rule, Clause] | None
    steps: tuple[tuple[Rule, Clause], ...]
    has_base: bool


# An explanation template with the texts that are the same for every line of one item filled
# in: the rest of the template and the names it still needs per line (none: the finished text).
# None when the template cannot be filled ahead (a format spec or a conversion in a field).
_Filled = tuple[str, tuple[str, ...]] | None


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class _Item:
    """What a line plan keeps per catalogue item: the item's part of the line fact, its texts
    and parameter-bound caps, and its explanation templates filled in as far as they can be."""

    __slots__ = ("caps", "fact", "filled", "members", "texts")

    def __init__(self, fact: dict[str, Any]) -> None:
        self.fact = fact
        # the same fields as engine JSON, each member preceded by a comma
        self.members = "".join("," + fact_members({k: v}) for k, v in fact.items())
        self.texts: dict[str, str] = {}
        self.filled: dict[str, _Filled] = {}
        self.caps: dict[str, Decimal] = {}


class _LinePlan:
    """What the line rules of one ruleset version read and do, against one catalogue version,
    worked out once (per process) so that deciding a line is mostly lookups:

    - the line fact: the tested fields that depend only on the catalogue item are built once per
      item (`ITEM_FIELDS`), the others per line (`LINE_ENGINE_VALUES`);
    - the clauses that fired on a line become a `_Program`, kept per combination of clauses;
    - each explanation template is filled in once per item with the texts that depend only on
      the item (`ITEM_TEXTS`), the parameters and the values that depend on no other field;
      per line only the rest is formatted.

    The numbers still come from the ruleset: the plan only remembers what it computed.
    """

    def __init__(self, rs: Ruleset, catalogue: Catalogue) -> None:
        self.rs = rs
        self.categories = catalogue.categories
        self.item_fields = rs.line_fields & ITEM_FIELDS
        self.line_getters = tuple(
            (name, LINE_ENGINE_VALUES[name], "," + member_key(name))
            for name in sorted(rs.line_fields - ITEM_FIELDS)
        )
        per_line = LINE_FIELDS.keys() - ITEM_FIELDS
        # ruleset values whose text is the same for every line with the same item
        self.item_values = frozenset(
            name for name, (expr, _) in rs.values.items() if not expr.fields & per_line
        )
        # tolerances that depend on no field: one number per clause
        self.tolerances: dict[str, Decimal | None] = {
            c.name: evaluate_expr(c.tolerance, rs.params, {})
            for rule in rs.line_rules
            for c in rule.clauses
            if c.tolerance is not None and not c.tolerance.fields
        }
        self._items: dict[str | None, _Item] = {}
        self._programs: dict[tuple[str, ...], _Program] = {}

    def item(self, line: CalculatedLine) -> _Item:
        code = None if line.item is None else line.item.code
        item = self._items.get(code)
        if item is None:
            fact = to_fact(line_values(line, None), LINE_FIELDS, self.item_fields)
            item = self._items[code] = _Item(fact)
        return item

    def program(self, fired: list[str]) -> _Program:
        key = tuple(fired)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = self._program(set(fired))
        return program

    def _program(self, fired: set[str]) -> _Program:
        amounts: list[tuple[Rule, Clause]] = []
        for rule in self.rs.line_rules:
            for c in rule.clauses:
                if c.name not in fired:
                    continue
                if c.status is not None:
                    return _Program((rule, c), (), False)
                amounts.append((rule, c))
        amounts.sort(key=lambda rc: rc[1].step)
        has_base = bool(amounts) and amounts[0][1].amount == "base_claimed"
        return _Program(None, tuple(amounts), has_base)

    # --- explanations -------------------------------------------------------------------------

    def explain(
        self, template: str, line: CalculatedLine, item: _Item, assessed_on: date | None
    ) -> str:
        """`template` formatted for `line`."""
        try:
            filled = item.filled[template]
        except KeyError:
            filled = item.filled[template] = self._fill(template, line, item, assessed_on)
        if filled is None:
            return template.format_map(_LineTexts(self, line, item, assessed_on))
        rest, names = filled
        if not names:
            return rest
        return rest.format_map({n: self._line_text(n, line, assessed_on) for n in names})

    def _per_line(self, name: str) -> bool:
        if name in LINE_TEXTS:
            return name not in ITEM_TEXTS
        return name not in self.rs.params and name not in self.item_values

    def _fill(
        self, template: str, line: CalculatedLine, item: _Item, assessed_on: date | None
    ) -> _Filled:
        rest: list[str] = []
        done: list[str] = []
        names: list[str] = []
        for literal, name, spec, conversion in string.Formatter().parse(template):
            rest.append(_braces(literal))
            done.append(literal)
            if name is None:
                continue
            if spec or conversion or not name.isidentifier():
                return None
            if self._per_line(name):
                rest.append("{" + name + "}")
                names.append(name)
            else:
                text = self.text(name, line, item, assessed_on)
                rest.append(_braces(text))
                done.append(text)
        if not names:
            return "".join(done), ()
        return "".join(rest), tuple(names)

    def _line_text(self, name: str, line: CalculatedLine, assessed_on: date | None) -> str:
        get = LINE_TEXTS.get(name)
        if get is not None:
            return get(line, self.categories, assessed_on)
        return _Values(self.rs, line_values(line, assessed_on))[name]

    def text(self, name: str, line: CalculatedLine, item: _Item, assessed_on: date | None) -> str:
        """The text `name` for an explanation of `line` (kept per item where it can be)."""
        if self._per_line(name):
            return self._line_text(name, line, assessed_on)
        text = item.texts.get(name)
        if text is None:
            text = item.texts[name] = self._line_text(name, line, assessed_on)
        return text


class _LineTexts(dict[str, str]):
    """The texts of one line for `str.format_map`, each formatted when first named."""

    __slots__ = ("_assessed_on", "_item", "_line", "_plan")

    def __init__(
        self, plan: _LinePlan, line: CalculatedLine, item: _Item, assessed_on: date | None
    ) -> None:
        super().__init__()
        self._plan = plan
        self._line = line
        self._item = item
        self._assessed_on = assessed_on

    def __missing__(self, name: str) -> str:
        text = self[name] = self._plan.text(name, self._line, self._item, self._assessed_on)
        return text


class Decider:
    """Decides claims under the published rulesets and catalogues, on one rule engine."""

    def __init__(
        self,
        rulesets: Mapping[str, tuple[Ruleset, ...]] | None = None,
        catalogues: CatalogueSet | None = None,
        engine: RuleEngine | None = None,
        *,
        prime: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.rulesets = dict(rulesets) if rulesets is not None else load_rulesets()
        self.catalogues = catalogues if catalogues is not None else load_catalogues()
        self.engine = engine if engine is not None else default_engine()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._plans: dict[tuple[str, str], _LinePlan] = {}
        if prime:
            for versions in self.rulesets.values():
                for rs in versions:
                    self._engine_name(rs)

    # --- choosing versions --------------------------------------------------------------------

    def _engine_name(self, rs: Ruleset) -> str:
        name = f"{rs.key}#{rs.sha256[:16]}"
        if not self.engine.registered(name):
            self.engine.register(name, compile_ruleset(rs))
        return name

    def choose(
        self,
        claim: Claim,
        scheme: str | None = None,
        version: str | None = None,
        *,
        force: bool = False,
    ) -> tuple[Ruleset, bool]:
        """The ruleset version for `claim`, and whether it was forced outside its validity."""
        scheme = scheme or claim.scheme
        day = claim.reference_date
        versions = self.rulesets.get(scheme)
        if not versions:
            text = message(
                "unknown_scheme", scheme=scheme, schemes=", ".join(sorted(self.rulesets))
            )
            raise NoRulesetError(text, field="scheme", value=scheme)
        if version is None:
            rs = in_force(versions, day)
            if rs is None:
                text = message(
                    "no_ruleset",
                    scheme=scheme,
                    date=day.isoformat(),
                    periods=describe_periods(versions),
                )
                raise NoRulesetError(text, value=day.isoformat())
            return rs, False
        chosen = [v for v in versions if v.version == version]
        if not chosen:
            known = ", ".join(v.version for v in versions)
            text = f"De regeling {scheme} heeft geen versie {version}. Versies: {known}."
            raise NoRulesetError(text, field="version", value=version)
        rs = chosen[0]
        if covers(rs, day):
            return rs, False
        if not force:
            text = (
                f"Versie {version} van {scheme} is niet van kracht op de peildatum"
                f" {day.isoformat()} (geldig: {describe_periods([rs])}); gebruik --force om"
                " toch met deze versie te rekenen."
            )
            raise NoRulesetError(text, value=day.isoformat())
        return rs, True

    # --- validating ---------------------------------------------------------------------------

    def _required_problems(
        self, scheme: Any, reference_date: Any, present: set[str]
    ) -> list[Problem]:
        """Problems for fields the version in force requires but the claim lacks."""
        versions = self.rulesets.get(scheme) if isinstance(scheme, str) else None
        try:
            day = (
                date.fromisoformat(reference_date)
                if isinstance(reference_date, str)
                else reference_date
            )
        except ValueError:
            return []
        if not versions or not isinstance(day, date):
            return []
        rs = in_force(versions, day)
        if rs is None:
            return []
        return [
            Problem(f, None, message("required_for_scheme", scheme=rs.id))
            for f in rs.spec.required_claim_fields
            if f not in present
        ]

    def validate(self, data: Any) -> Claim:
        """Validate a decoded claim, including the fields its scheme's version requires:
        every problem at once, as one `ClaimError`."""
        try:
            claim = parse_claim(data)
        except ClaimError as exc:
            if isinstance(data, dict):
                present = {k for k, v in data.items() if v is not None}
                extra = self._required_problems(
                    data.get("scheme", Claim.model_fields["scheme"].default),
                    data.get("reference_date"),
                    present,
                )
                known = {p.field for p in exc.problems}
                exc.problems.extend(p for p in extra if p.field not in known)
                raise ClaimError(exc.problems) from None
            raise
        present = {f for f in type(claim).model_fields if getattr(claim, f) is not None}
        problems = self._required_problems(claim.scheme, claim.reference_date, present)
        if problems:
            raise ClaimError(problems)
        return claim

    def validate_json(self, text: str | bytes) -> Claim:
        """Decode and validate claim JSON (see `validate`)."""
        return self.validate(decode_json(text))

    # --- deciding -----------------------------------------------------------------------------

    def decide(
        self,
        claim: Claim,
        scheme: str | None = None,
        version: str | None = None,
        *,
        force: bool = False,
    ) -> Decision:
        """The decision for a validated claim (raises a refusal error when there is none)."""
        return self.evaluate(claim, scheme, version, force=force).decision

    def evaluate(
        self,
        claim: Claim,
        scheme: str | None = None,
        version: str | None = None,
        *,
        force: bool = False,
    ) -> Evaluation:
        """The decision with its calculation and trace."""
        rs, forced = self.choose(claim, scheme, version, force=force)
        missing = [f for f in rs.spec.required_claim_fields if getattr(claim, f) is None]
        if missing:
            raise ClaimError(
                [Problem(f, None, message("required_for_scheme", scheme=rs.id)) for f in missing]
            )
        calc = calculate(claim, self.catalogues)
        name = self._engine_name(rs)
        try:
            with self.engine.session(name) as session:
                return self._run(session, rs, calc, forced)
        except VangnetError:
            raise
        except Exception as exc:
            # a fault in our own code: the session was deleted, the process stays usable
            raise EvaluationError(
                f"interne fout bij de beoordeling ({type(exc).__name__}); de aanvraag is niet"
                " beoordeeld"
            ) from exc

    def _plan(self, rs: Ruleset, catalogue: Catalogue) -> _LinePlan:
        key = (rs.sha256, catalogue.sha256)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _LinePlan(rs, catalogue)
        return plan

    def _run(self, session: Any, rs: Ruleset, calc: Calculation, forced: bool) -> Evaluation:
        claim = calc.claim
        assessed_on = None if claim.threat is None else claim.threat.assessed_on
        plan = self._plan(rs, calc.catalogue)
        facts: dict[str, dict[str, Any]] = {}
        items = []
        getters = plan.line_getters
        members = []
        for line in calc.lines:
            item = plan.item(line)
            items.append(item)
            fact = item.fact.copy()
            fact_id = f"l{line.index}"
            text = f'"id":"{fact_id}","kind":"line"' + item.members
            for name, get, key in getters:
                value = get(line, assessed_on)
                if value is not None:
                    fact[name] = value
                    text += key + member_value(value)
            fact["id"] = fact_id
            fact["kind"] = "line"
            facts[fact_id] = fact
            members.append(text)
        line_actions = session.assert_members(members)
        fired: dict[str, list[str]] = {fact_id: [] for fact_id in facts}
        for rule_name, ids in line_actions:
            for fact_id in ids:
                names = fired.get(fact_id)
                if names is not None:
                    names.append(rule_name)
        results = [
            self._line(plan, line, item, fired[f"l{line.index}"], assessed_on)
            for line, item in zip(calc.lines, items, strict=True)
        ]
        e = sum((r.eligible for r in results if r.status in ("vergoedbaar", "deels")), ZERO)
        p = sum((r.line.claimed_eur for r in results if r.status == "te_beoordelen"), ZERO)
        cvalues = claim_values(calc, ClaimTotals(e, p))
        cfact = to_fact(cvalues, CLAIM_FIELDS, rs.claim_fields)
        cfact["id"] = "claim"
        cfact["kind"] = "claim"
        facts["claim"] = cfact
        claim_actions = session.assert_actions([cfact])
        claim_fired = {rule_name for rule_name, ids in claim_actions if "claim" in ids}
        display = claim_display(cvalues, calc, _Values(rs, cvalues))
        findings = []
        for rule in rs.claim_rules:
            clause = self._first_fired(rule, claim_fired)
            if clause.amount == "fill_cap":
                self._fill_cap(rs, clause, cvalues, results, rule)
            findings.append(
                trusted(
                    Finding,
                    rule=rule.id,
                    effect=cast(Effect, clause.effect),
                    explanation=clause.explanation.format_map(display),
                    source=rs.source_text(rule.source),
                )
            )
        decision = self._decision(rs, calc, results, findings, forced)
        return Evaluation(
            decision=decision,
            calculation=calc,
            ruleset=rs,
            trace=Trace(line_actions, claim_actions),
            facts=facts,
        )

    @staticmethod
    def _first_fired(rule: Rule, fired: set[str]) -> Clause:
        for c in rule.clauses:
            if c.name in fired:
                return c
        raise EvaluationError(f"regel {rule.id} gaf geen uitkomst; de regelset is onvolledig")

    # --- lines --------------------------------------------------------------------------------

    def _line(
        self,
        plan: _LinePlan,
        line: CalculatedLine,
        item: _Item,
        fired: list[str],
        assessed_on: date | None,
    ) -> LineResult:
        """One line's assessment from the line clauses that fired on it (see `_LinePlan`)."""
        program = plan.program(fired)
        if program.gate is not None:
            rule, c = program.gate
            text = plan.explain(c.explanation, line, item, assessed_on)
            return LineResult(line, cast(LineStatus, c.status), _NOTHING, [rule.id], [text])
        if not program.has_base:
            raise EvaluationError(
                f"regel {line.index}: de regelset geeft deze regel geen basisbedrag"
            )
        m = line.measure
        exact = m.quantity * m.unit_price_eur
        rules: list[str] = []
        parts: list[str] = []
        for rule, c in program.steps:
            named = True
            amount = c.amount
            if amount == "cap_unit_price":
                cap = self._unit_price_cap(plan, c, line, item, assessed_on)
                named = m.unit_price_eur > cap
                if named:
                    exact = m.quantity * cap
            elif amount == "subtract_pkvw_equivalent":
                deduction = min(exact, line.pkvw_equivalent_exact or ZERO)
                named = deduction > 0
                exact -= deduction
            elif amount == "subtract_already_reimbursed":
                exact = max(ZERO, exact - m.already_reimbursed_eur)
            if named:
                rules.append(rule.id)
                template: str | None = c.explanation
            else:
                template = c.explanation_unchanged
            if template:
                parts.append(plan.explain(template, line, item, assessed_on))
        eligible = round_cents(max(ZERO, exact))
        status = self._status(eligible, line.claimed_eur)
        return LineResult(line, status, eligible, rules, parts)

    @staticmethod
    def _unit_price_cap(
        plan: _LinePlan, c: Clause, line: CalculatedLine, item: _Item, assessed_on: date | None
    ) -> Decimal:
        """The highest unit price: reference × (1 + tolerance), once per item when the
        tolerance depends on no field."""
        cap = item.caps.get(c.name)
        if cap is not None:
            return cap
        constant = c.name in plan.tolerances
        if constant:
            tolerance = plan.tolerances[c.name]
        else:
            values = line_values(line, assessed_on)
            tolerance = evaluate_expr(c.tolerance, plan.rs.params, values)  # type: ignore[arg-type]
        ref = line.reference_unit_price_eur
        if ref is None or tolerance is None:
            raise EvaluationError(f"regel {line.index}: geen referentieprijs om te toetsen")
        cap = ref * (1 + tolerance)
        if constant:
            item.caps[c.name] = cap
        return cap

    @staticmethod
    def _status(eligible: Decimal, claimed: Decimal) -> LineStatus:
        if eligible == 0:
            return "uitgesloten"
        return "vergoedbaar" if eligible == claimed else "deels"

    def _fill_cap(
        self,
        rs: Ruleset,
        clause: Clause,
        cvalues: Mapping[str, Any],
        results: list[LineResult],
        rule: Rule,
    ) -> bool:
        cap = evaluate_expr(clause.cap, rs.params, cvalues)  # type: ignore[arg-type]
        room = max(ZERO, cap if cap is not None else ZERO)
        lowered = False
        for i, r in enumerate(results):
            if r.status not in ("vergoedbaar", "deels"):
                continue
            take = min(r.eligible, room)
            room -= take
            if take < r.eligible:
                lowered = True
                note = (clause.line_explanation or "").format_map({"toegestaan": format_eur(take)})
                results[i] = LineResult(
                    r.line,
                    self._status(take, r.line.claimed_eur),
                    take,
                    [*r.rules, rule.id],
                    [*r.parts, note],
                )
        return lowered

    # --- the decision -------------------------------------------------------------------------

    @staticmethod
    def _line_out(r: LineResult) -> DecisionLine:
        line = r.line
        text = _first_upper("; ".join(r.parts)).rstrip(".") + "."
        if r.status == "deels":
            partial = message(
                "line_partial",
                eligible=eur_text(r.eligible),
                claimed=eur_text(line.claimed_eur),
            )
            text += " " + partial
        elif r.status == "uitgesloten" and r.rules and r.eligible == 0 and len(r.parts) > 1:
            text += " " + message("line_nothing_left")
        return trusted(
            DecisionLine,
            index=line.index,
            code=line.measure.code,
            description=line.measure.description,
            claimed_eur=line.claimed_eur,
            reference_eur=line.reference_eur,
            eligible_eur=r.eligible,
            status=r.status,
            rules=r.rules,
            explanation=text,
        )

    def _decision(
        self,
        rs: Ruleset,
        calc: Calculation,
        results: list[LineResult],
        findings: list[Finding],
        forced: bool,
    ) -> Decision:
        effects = {f.effect for f in findings}
        statuses = {r.status for r in results}
        payable = sum((r.eligible for r in results if r.status in ("vergoedbaar", "deels")), ZERO)
        claimed = calc.claimed_total_eur
        if "afwijzen" in effects or not statuses & {"vergoedbaar", "deels", "te_beoordelen"}:
            outcome: Outcome = "afwijzen"
            total = ZERO
        elif "nader_onderzoek" in effects or "te_beoordelen" in statuses:
            outcome, total = "nader_onderzoek", payable
        elif payable < claimed:
            outcome, total = "gedeeltelijk", payable
        else:
            outcome, total = "toekennen", payable
        sha = claim_sha256(calc.claim)
        spec = rs.spec
        return trusted(
            Decision,
            claim_id=calc.claim.claim_id or sha[:12],
            outcome=outcome,
            simulation=spec.status == "simulatie",
            forced=forced,
            claimed_total_eur=claimed,
            eligible_total_eur=round_cents(total),
            ruleset=trusted(
                RulesetRef,
                id=spec.id,
                version=spec.version,
                status=spec.status,
                valid_from=spec.valid_from,
                valid_to=spec.valid_to,
                sha256=rs.sha256,
            ),
            catalogue=trusted(
                CatalogueRef, valid_from=calc.catalogue.valid_from, sha256=calc.catalogue.sha256
            ),
            lines=[self._line_out(r) for r in results],
            findings=findings,
            receipt=trusted(
                Receipt,
                engine=ENGINE_NAME,
                claim_sha256=sha,
                ruleset_sha256=rs.sha256,
                catalogue_sha256=calc.catalogue.sha256,
                evaluated_at=self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
        )
