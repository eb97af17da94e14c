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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, cast

from vangnet import __version__
from vangnet.calculator import CalculatedLine, Calculation, calculate
from vangnet.catalogue import CatalogueSet, load_catalogues
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
)
from vangnet.engine import DURABLE_VERSION, Firing, RuleEngine, default_engine
from vangnet.exceptions import (
    ClaimError,
    EvaluationError,
    NoRulesetError,
    Problem,
    VangnetError,
)
from vangnet.facts import (
    CLAIM_FIELDS,
    LINE_FIELDS,
    ClaimTotals,
    Display,
    claim_display,
    claim_values,
    line_display,
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


@dataclass(frozen=True, slots=True)
class LineResult:
    """One line's own assessment."""

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
    trace: tuple[Firing, ...]
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

    def _run(self, session: Any, rs: Ruleset, calc: Calculation, forced: bool) -> Evaluation:
        claim = calc.claim
        assessed_on = None if claim.threat is None else claim.threat.assessed_on
        facts: dict[str, dict[str, Any]] = {}
        values_by_line = []
        for line in calc.lines:
            values = line_values(line, assessed_on)
            values_by_line.append(values)
            fact = to_fact(values, LINE_FIELDS, rs.line_fields)
            fact["id"] = f"l{line.index}"
            fact["kind"] = "line"
            facts[fact["id"]] = fact
        line_firings = session.assert_facts(list(facts.values()))
        fired: dict[str, set[str]] = {}
        for f in line_firings:
            fired.setdefault(f.fact_id, set()).add(f.rule)
        categories = calc.catalogue.categories
        results = []
        for line, values in zip(calc.lines, values_by_line, strict=True):
            texts = line_display(line, categories, assessed_on, _Values(rs, values))
            fired_here = fired.get(f"l{line.index}", set())
            results.append(self._line(rs, line, values, fired_here, texts))
        e = sum((r.eligible for r in results if r.status in ("vergoedbaar", "deels")), ZERO)
        p = sum((r.line.claimed_eur for r in results if r.status == "te_beoordelen"), ZERO)
        cvalues = claim_values(calc, ClaimTotals(e, p))
        cfact = to_fact(cvalues, CLAIM_FIELDS, rs.claim_fields)
        cfact["id"] = "claim"
        cfact["kind"] = "claim"
        facts["claim"] = cfact
        claim_firings = session.assert_facts([cfact])
        claim_fired = {f.rule for f in claim_firings if f.fact_id == "claim"}
        display = claim_display(cvalues, calc, _Values(rs, cvalues))
        findings = []
        for rule in rs.claim_rules:
            clause = self._first_fired(rule, claim_fired)
            if clause.amount == "fill_cap":
                self._fill_cap(rs, clause, cvalues, results, rule)
            findings.append(
                Finding(
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
            trace=tuple(line_firings + claim_firings),
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
        rs: Ruleset,
        line: CalculatedLine,
        values: dict[str, Any],
        fired: set[str],
        display: Display,
    ) -> LineResult:
        amounts: list[tuple[Rule, Clause]] = []
        texts = display
        for rule in rs.line_rules:
            for c in rule.clauses:
                if c.name not in fired:
                    continue
                if c.status is not None:
                    text = c.explanation.format_map(texts)
                    status = cast(LineStatus, c.status)
                    return LineResult(line, status, _NOTHING, [rule.id], [text])
                amounts.append((rule, c))
        amounts.sort(key=lambda rc: rc[1].step)
        if not amounts or amounts[0][1].amount != "base_claimed":
            raise EvaluationError(
                f"regel {line.index}: de regelset geeft deze regel geen basisbedrag"
            )
        m = line.measure
        exact = m.quantity * m.unit_price_eur
        rules: list[str] = []
        parts: list[str] = []
        for rule, c in amounts:
            named = True
            if c.amount == "cap_unit_price":
                tolerance = evaluate_expr(c.tolerance, rs.params, values)  # type: ignore[arg-type]
                ref = line.reference_unit_price_eur
                if ref is None or tolerance is None:
                    raise EvaluationError(f"regel {line.index}: geen referentieprijs om te toetsen")
                cap = ref * (1 + tolerance)
                named = m.unit_price_eur > cap
                if named:
                    exact = m.quantity * cap
            elif c.amount == "subtract_pkvw_equivalent":
                deduction = min(exact, line.pkvw_equivalent_exact or ZERO)
                named = deduction > 0
                exact -= deduction
            elif c.amount == "subtract_already_reimbursed":
                exact = max(ZERO, exact - m.already_reimbursed_eur)
            if named:
                rules.append(rule.id)
                parts.append(c.explanation.format_map(texts))
            elif c.explanation_unchanged:
                parts.append(c.explanation_unchanged.format_map(texts))
        eligible = round_cents(max(ZERO, exact))
        status = self._status(eligible, line.claimed_eur)
        return LineResult(line, status, eligible, rules, parts)

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
                eligible=format_eur(r.eligible),
                claimed=format_eur(line.claimed_eur),
            )
            text += " " + partial
        elif r.status == "uitgesloten" and r.rules and r.eligible == 0 and len(r.parts) > 1:
            text += " " + message("line_nothing_left")
        return DecisionLine(
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
        return Decision(
            claim_id=calc.claim.claim_id or sha[:12],
            outcome=outcome,
            simulation=spec.status == "simulatie",
            forced=forced,
            claimed_total_eur=claimed,
            eligible_total_eur=round_cents(total),
            ruleset=RulesetRef(
                id=spec.id,
                version=spec.version,
                status=spec.status,
                valid_from=spec.valid_from,
                valid_to=spec.valid_to,
                sha256=rs.sha256,
            ),
            catalogue=CatalogueRef(
                valid_from=calc.catalogue.valid_from, sha256=calc.catalogue.sha256
            ),
            lines=[self._line_out(r) for r in results],
            findings=findings,
            receipt=Receipt(
                engine=ENGINE_NAME,
                claim_sha256=sha,
                ruleset_sha256=rs.sha256,
                catalogue_sha256=calc.catalogue.sha256,
                evaluated_at=self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
        )
