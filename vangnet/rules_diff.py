"""The differences between two ruleset versions, also across schemes, for auditors.

`diff_rulesets(old, new)` compares two loaded versions: their metadata (validity, status,
family, deciding body, ...), their sources, their parameters (old and new value in Dutch
notation), their display values, their rules (added, removed, changed: label, source, basis,
and clause by clause: condition, status, amount, effect, basis, explanation) and the order of
the rules they share. The result is typed data (`RulesetDiff`), with `as_dict()` for JSON and
an auditor page and `text()` in Dutch for people.

Clauses are matched by rule id and then aligned as sequences (`difflib`), so a clause inserted
in the middle of a rule is one added clause, not a change of every clause after it. Conditions
are compared as written in the file (`{param: doelgroep}` stays a reference: a changed
parameter is reported once, as a parameter change) and shown in words (`vangnet.rules_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from difflib import SequenceMatcher
from typing import Any, Literal

from vangnet.exceptions import NoRulesetError
from vangnet.rules_text import clause_text, expr_text, param_text, term_text
from vangnet.ruleset import Clause, Rule, Ruleset, RuleSpec, load_rulesets

__all__ = [
    "CLAUSE_NL",
    "METADATA_NL",
    "PARAM_NL",
    "RULE_NL",
    "SOURCE_NL",
    "VALUE_NL",
    "ChangeKind",
    "ClauseDiff",
    "FieldChange",
    "ItemDiff",
    "OrderChange",
    "RuleDiff",
    "RulesetDiff",
    "diff_rulesets",
    "diff_versions",
    "find_version",
]

ChangeKind = Literal["added", "removed", "changed"]

_KIND_NL = {"added": "nieuw", "removed": "vervallen", "changed": "gewijzigd"}
_LEVEL_NL = {"line": "per maatregel", "claim": "per aanvraag"}

# Dutch names of the compared fields, in the order they are reported (public: the pages name
# the fields of a diff with them too).
METADATA_NL = {
    "id": "regeling",
    "family": "familie",
    "version": "versie",
    "title": "titel",
    "valid_from": "geldig vanaf",
    "valid_to": "geldig tot en met",
    "status": "status",
    "deciding_body": "beslist door",
    "required_claim_fields": "verplichte onderdelen van de aanvraag",
}
SOURCE_NL = {"title": "titel", "url": "adres"}
PARAM_NL = {
    "value": "waarde",
    "unit": "eenheid",
    "label": "omschrijving",
    "basis": "grondslag",
    "source": "bron",
}
VALUE_NL = {"expr": "berekening", "format": "opmaak"}
RULE_NL = {"level": "niveau", "label": "omschrijving", "source": "bron", "basis": "grondslag"}
CLAUSE_NL = {
    "when": "voorwaarde",
    "status": "status",
    "amount": "bedrag",
    "step": "stap",
    "tolerance": "tolerantie",
    "cap": "plafond",
    "effect": "effect",
    "basis": "grondslag",
    "explanation": "uitleg",
    "explanation_unchanged": "uitleg als niets verandert",
    "line_explanation": "uitleg per maatregel",
}


# --- the data ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs: its raw values (JSON-able, None when absent) and in words."""

    field: str
    old: Any
    new: Any
    old_text: str
    new_text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "old_text": self.old_text,
            "new_text": self.new_text,
        }


@dataclass(frozen=True, slots=True)
class ItemDiff:
    """A named item (source, parameter, display value) added, removed or changed.

    `old_text`/`new_text` describe the whole item in words (None on the side where it is
    absent); `changes` lists the fields that differ when it is changed."""

    name: str
    kind: ChangeKind
    changes: tuple[FieldChange, ...]
    # the item's value in words (a parameter in Dutch notation, a source's title and address)
    old_value: str | None
    new_value: str | None
    old_text: str | None
    new_text: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "changes": [c.as_dict() for c in self.changes],
            "old_value": self.old_value,
            "new_value": self.new_value,
            "old_text": self.old_text,
            "new_text": self.new_text,
        }


@dataclass(frozen=True, slots=True)
class ClauseDiff:
    """One clause of a rule added, removed or changed; indexes are the engine's `RULE#n`."""

    kind: ChangeKind
    old_index: int | None
    new_index: int | None
    changes: tuple[FieldChange, ...]
    old_text: str | None
    new_text: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "old_index": self.old_index,
            "new_index": self.new_index,
            "changes": [c.as_dict() for c in self.changes],
            "old_text": self.old_text,
            "new_text": self.new_text,
        }


@dataclass(frozen=True, slots=True)
class RuleDiff:
    """A rule (by id) added, removed or changed: its own fields and its clauses."""

    id: str
    level: Literal["line", "claim"]
    kind: ChangeKind
    changes: tuple[FieldChange, ...]
    clauses: tuple[ClauseDiff, ...]
    # the rule's label, basis and source in words (None on the side where it is absent)
    old_text: str | None
    new_text: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "kind": self.kind,
            "changes": [c.as_dict() for c in self.changes],
            "clauses": [c.as_dict() for c in self.clauses],
            "old_text": self.old_text,
            "new_text": self.new_text,
        }


@dataclass(frozen=True, slots=True)
class OrderChange:
    """The rules both versions have at one level run in another order (line gates: the first
    that fires decides, so the order matters)."""

    level: Literal["line", "claim"]
    old: tuple[str, ...]
    new: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "old": list(self.old), "new": list(self.new)}


@dataclass(frozen=True, slots=True)
class RulesetDiff:
    """Everything that differs from version `old` to version `new`."""

    old: str
    new: str
    old_sha256: str
    new_sha256: str
    metadata: tuple[FieldChange, ...]
    sources: tuple[ItemDiff, ...]
    parameters: tuple[ItemDiff, ...]
    values: tuple[ItemDiff, ...]
    rules: tuple[RuleDiff, ...]
    order: tuple[OrderChange, ...]

    @property
    def is_empty(self) -> bool:
        """No difference at all (the content may still differ in comments and layout)."""
        return not (
            self.metadata
            or self.sources
            or self.parameters
            or self.values
            or self.rules
            or self.order
        )

    def rule(self, rule_id: str) -> RuleDiff | None:
        """The difference in one rule, or None when it is the same in both versions."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able data for the API and an auditor page."""
        return {
            "old": {"key": self.old, "sha256": self.old_sha256},
            "new": {"key": self.new, "sha256": self.new_sha256},
            "empty": self.is_empty,
            "metadata": [c.as_dict() for c in self.metadata],
            "sources": [s.as_dict() for s in self.sources],
            "parameters": [p.as_dict() for p in self.parameters],
            "values": [v.as_dict() for v in self.values],
            "rules": [r.as_dict() for r in self.rules],
            "order": [o.as_dict() for o in self.order],
        }

    def text(self) -> str:
        """The differences in Dutch, for people."""
        return "\n".join(_render(self)) + "\n"


# --- finding versions -------------------------------------------------------------------------


def find_version(rulesets: Mapping[str, Sequence[Ruleset]], key: str) -> Ruleset:
    """The version `SCHEME@VERSION`; `SCHEME` alone is its newest version (latest valid_from).

    Raises `NoRulesetError` naming the known versions when there is no such version."""
    scheme, _, version = key.partition("@")
    versions = rulesets.get(scheme)
    known = ", ".join(rs.key for vs in rulesets.values() for rs in vs)
    if not versions:
        raise NoRulesetError(
            f"Onbekende regeling {scheme!r} in {key!r}; bekend zijn: {known}.",
            field="regelset",
            value=key,
        )
    if not version:
        return max(versions, key=lambda rs: rs.valid_from)
    for rs in versions:
        if rs.version == version:
            return rs
    raise NoRulesetError(
        f"De regeling {scheme} heeft geen versie {version}; bekend zijn: {known}.",
        field="regelset",
        value=key,
    )


def diff_versions(
    old: str, new: str, rulesets: Mapping[str, Sequence[Ruleset]] | None = None
) -> RulesetDiff:
    """The difference between two versions named `SCHEME@VERSION` (default: the published
    rulesets)."""
    if rulesets is None:
        rulesets = load_rulesets()
    return diff_rulesets(find_version(rulesets, old), find_version(rulesets, new))


# --- comparing --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-able copy of raw file data (dates as ISO text, decimals as text)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _words(value: Any) -> str:
    if value is None:
        return "(geen)"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value) if value else "(geen)"
    return str(value)


def _fields(
    names: Mapping[str, str],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    words: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[FieldChange, ...]:
    """The fields of `names` (in that order) whose raw values differ."""
    out = []
    for name in names:
        a, b = _plain(old.get(name)), _plain(new.get(name))
        if a != b:
            ta, tb = (words or {}).get(name, (_words(a), _words(b)))
            out.append(FieldChange(name, a, b, ta, tb))
    return tuple(out)


def _metadata(old: Ruleset, new: Ruleset) -> tuple[FieldChange, ...]:
    a, b = old.spec, new.spec
    return _fields(
        METADATA_NL,
        {k: getattr(a, k) for k in METADATA_NL},
        {k: getattr(b, k) for k in METADATA_NL},
        {"valid_to": (_until(a.valid_to), _until(b.valid_to))},
    )


def _until(day: date | None) -> str:
    return "(geen einddatum)" if day is None else day.isoformat()


def _items(
    old: Ruleset,
    new: Ruleset,
    which: Literal["sources", "parameters", "values"],
    names: Mapping[str, str],
    *,
    describe: Callable[[Ruleset, str], tuple[str, str]],
    words: Callable[[str], Mapping[str, tuple[str, str]]] | None = None,
) -> tuple[ItemDiff, ...]:
    """Named items of two versions (sources, parameters, values): old order, then new ones."""
    a_items: Mapping[str, Any] = getattr(old.spec, which)
    b_items: Mapping[str, Any] = getattr(new.spec, which)
    out = []
    for name in [*a_items, *(n for n in b_items if n not in a_items)]:
        if name not in b_items:
            value, text = describe(old, name)
            out.append(ItemDiff(name, "removed", (), value, None, text, None))
        elif name not in a_items:
            value, text = describe(new, name)
            out.append(ItemDiff(name, "added", (), None, value, None, text))
        else:
            a, b = a_items[name].model_dump(), b_items[name].model_dump()
            changes = _fields(names, a, b, words(name) if words else None)
            if changes:
                (va, ta), (vb, tb) = describe(old, name), describe(new, name)
                out.append(ItemDiff(name, "changed", changes, va, vb, ta, tb))
    return tuple(out)


def _source_text(rs: Ruleset, name: str) -> tuple[str, str]:
    text = rs.source_text(name)
    return text, f"{name}: {text}"


def _param_text(rs: Ruleset, name: str) -> tuple[str, str]:
    p = rs.spec.parameters[name]
    value = param_text(rs, name)
    return value, f"{name} = {value}: {p.label} [{p.basis}; bron: {rs.source_text(p.source)}]"


def _value_text(rs: Ruleset, name: str) -> tuple[str, str]:
    expr, fmt = rs.values[name]
    value = expr_text(expr, rs)
    return value, f"{name} = {value} (opmaak {fmt})"


def _condition(c: Clause, rs: Ruleset) -> str:
    return " en ".join(term_text(t, rs) for t in c.when) if c.when else "anders"


def _clause_words(c: Clause, rs: Ruleset) -> dict[str, str]:
    """Per field of a clause, its value in words (for the fields where words help)."""
    return {
        "when": _condition(c, rs),
        "tolerance": "(geen)" if c.tolerance is None else expr_text(c.tolerance, rs),
        "cap": "(geen)" if c.cap is None else expr_text(c.cap, rs),
        "explanation": c.explanation,
    }


def _clause_spec_data(spec: Any) -> dict[str, Any]:
    """A clause as written, with its texts' line breaks and spacing normalised."""
    data: dict[str, Any] = _plain(spec.model_dump())
    for name in ("explanation", "explanation_unchanged", "line_explanation"):
        if isinstance(data.get(name), str):
            data[name] = " ".join(data[name].split())
    return data


def _clause_key(spec: Any) -> str:
    return repr(sorted(_clause_spec_data(spec).items()))


def _clauses(rs_old: Ruleset, rs_new: Ruleset, rule_id: str) -> tuple[ClauseDiff, ...]:
    """The clauses of one rule in two versions, aligned as sequences."""
    old_spec, new_spec = _specs(rs_old)[rule_id], _specs(rs_new)[rule_id]
    old, new = rs_old.rules_by_id[rule_id], rs_new.rules_by_id[rule_id]
    a = [_clause_key(c) for c in old_spec.clauses]
    b = [_clause_key(c) for c in new_spec.clauses]
    out: list[ClauseDiff] = []

    def removed(i: int) -> ClauseDiff:
        return ClauseDiff("removed", i, None, (), clause_text(old.clauses[i], rs_old), None)

    def added(j: int) -> ClauseDiff:
        return ClauseDiff("added", None, j, (), None, clause_text(new.clauses[j], rs_new))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            i, j = i1 + k, j1 + k
            ca, cb = old.clauses[i], new.clauses[j]
            wa, wb = _clause_words(ca, rs_old), _clause_words(cb, rs_new)
            words = {n: (wa[n], wb[n]) for n in wa}
            changes = _fields(
                CLAUSE_NL,
                _clause_spec_data(old_spec.clauses[i]),
                _clause_spec_data(new_spec.clauses[j]),
                words,
            )
            out.append(
                ClauseDiff(
                    "changed", i, j, changes, clause_text(ca, rs_old), clause_text(cb, rs_new)
                )
            )
        out += [removed(i) for i in range(i1 + pairs, i2)]
        out += [added(j) for j in range(j1 + pairs, j2)]
    return tuple(out)


def _specs(rs: Ruleset) -> dict[str, RuleSpec]:
    return {r.id: r for r in (*rs.spec.line_rules, *rs.spec.claim_rules)}


def _rule_text(rule: Rule, rs: Ruleset) -> str:
    basis = f", {rule.basis}" if rule.basis else ""
    return f"{rule.id}: {rule.label}{basis} (bron: {rs.source_text(rule.source)})"


def _rule_fields(rule: Rule) -> dict[str, Any]:
    return {
        "level": rule.level,
        "label": rule.label,
        "source": rule.source,
        "basis": rule.basis,
    }


def _rules(old: Ruleset, new: Ruleset) -> tuple[RuleDiff, ...]:
    out = []
    ids = [*old.rules_by_id, *(r for r in new.rules_by_id if r not in old.rules_by_id)]
    for rule_id in ids:
        a, b = old.rules_by_id.get(rule_id), new.rules_by_id.get(rule_id)
        if a is not None and b is None:
            gone = tuple(
                ClauseDiff("removed", c.index, None, (), clause_text(c, old), None)
                for c in a.clauses
            )
            out.append(RuleDiff(rule_id, a.level, "removed", (), gone, _rule_text(a, old), None))
            continue
        if b is not None and a is None:
            new_clauses = tuple(
                ClauseDiff("added", None, c.index, (), None, clause_text(c, new)) for c in b.clauses
            )
            out.append(
                RuleDiff(rule_id, b.level, "added", (), new_clauses, None, _rule_text(b, new))
            )
            continue
        if a is None or b is None:  # pragma: no cover - every id is in one of the two
            continue
        words = {"source": (old.source_text(a.source), new.source_text(b.source))}
        changes = _fields(RULE_NL, _rule_fields(a), _rule_fields(b), words)
        clauses = _clauses(old, new, rule_id)
        if changes or clauses:
            texts = _rule_text(a, old), _rule_text(b, new)
            out.append(RuleDiff(rule_id, b.level, "changed", changes, clauses, *texts))
    return tuple(out)


def _order(old: Ruleset, new: Ruleset) -> tuple[OrderChange, ...]:
    out = []
    levels: tuple[tuple[Literal["line", "claim"], tuple[Rule, ...], tuple[Rule, ...]], ...] = (
        ("line", old.line_rules, new.line_rules),
        ("claim", old.claim_rules, new.claim_rules),
    )
    for level, a, b in levels:
        ids_a, ids_b = [r.id for r in a], [r.id for r in b]
        common_a = tuple(i for i in ids_a if i in ids_b)
        common_b = tuple(i for i in ids_b if i in ids_a)
        if common_a != common_b:
            out.append(OrderChange(level, common_a, common_b))
    return tuple(out)


def diff_rulesets(old: Ruleset, new: Ruleset) -> RulesetDiff:
    """Everything that differs from `old` to `new` (two versions, of one scheme or two)."""

    def param_words(name: str) -> dict[str, tuple[str, str]]:
        return {
            "value": (param_text(old, name), param_text(new, name)),
            "source": (old.source_text(old.spec.parameters[name].source),
                       new.source_text(new.spec.parameters[name].source)),
        }  # fmt: skip

    def value_words(name: str) -> dict[str, tuple[str, str]]:
        return {"expr": (expr_text(old.values[name][0], old), expr_text(new.values[name][0], new))}

    return RulesetDiff(
        old=old.key,
        new=new.key,
        old_sha256=old.sha256,
        new_sha256=new.sha256,
        metadata=_metadata(old, new),
        sources=_items(old, new, "sources", SOURCE_NL, describe=_source_text),
        parameters=_items(
            old, new, "parameters", PARAM_NL, describe=_param_text, words=param_words
        ),
        values=_items(old, new, "values", VALUE_NL, describe=_value_text, words=value_words),
        rules=_rules(old, new),
        order=_order(old, new),
    )


# --- text -------------------------------------------------------------------------------------


def _change_lines(c: FieldChange, names: Mapping[str, str], indent: str) -> Iterator[str]:
    name = names.get(c.field, c.field)
    yield f"{indent}{name}:"
    yield f"{indent}  oud:   {c.old_text}"
    yield f"{indent}  nieuw: {c.new_text}"


def _clause_lines(text: str, indent: str) -> Iterator[str]:
    for i, line in enumerate(text.split("\n")):
        yield f"{indent}{'' if i == 0 else '  '}{line.strip()}"


def _item_lines(title: str, items: tuple[ItemDiff, ...], names: Mapping[str, str]) -> list[str]:
    if not items:
        return []
    out = ["", f"{title}:"]
    for item in items:
        if item.kind == "added":
            out.append(f"  nieuw: {item.new_text}")
        elif item.kind == "removed":
            out.append(f"  vervallen: {item.old_text}")
        else:
            out.append(f"  gewijzigd: {item.name}")
            for c in item.changes:
                out += _change_lines(c, names, "    ")
    return out


def _render(d: RulesetDiff) -> list[str]:
    out = [
        f"Verschillen van {d.old} naar {d.new}",
        f"  oud:   {d.old} (sha256 {d.old_sha256})",
        f"  nieuw: {d.new} (sha256 {d.new_sha256})",
    ]
    if d.is_empty:
        return [*out, "", "Geen verschillen: de regels, parameters en gegevens zijn gelijk."]
    if d.metadata:
        out += ["", "Gegevens van de regelset:"]
        for c in d.metadata:
            out += _change_lines(c, METADATA_NL, "  ")
    out += _item_lines("Bronnen", d.sources, SOURCE_NL)
    out += _item_lines("Parameters", d.parameters, PARAM_NL)
    out += _item_lines("Waarden in de uitleg (beslissen niets)", d.values, VALUE_NL)
    if d.rules:
        out += ["", "Regels:"]
    for r in d.rules:
        if r.kind == "changed":
            out.append(f"  gewijzigd: {r.id} ({_LEVEL_NL[r.level]})")
        else:
            text = r.new_text if r.kind == "added" else r.old_text
            out.append(f"  {_KIND_NL[r.kind]} ({_LEVEL_NL[r.level]}): {text}")
        for c in r.changes:
            out += _change_lines(c, RULE_NL, "    ")
        for cl in r.clauses:
            if cl.kind == "added":
                out.append(f"    nieuwe clausule {r.id}#{cl.new_index}:")
                out += _clause_lines(cl.new_text or "", "      ")
            elif cl.kind == "removed":
                out.append(f"    vervallen clausule {r.id}#{cl.old_index}:")
                out += _clause_lines(cl.old_text or "", "      ")
            else:
                where = f"{r.id}#{cl.old_index}"
                if cl.new_index != cl.old_index:
                    where += f" (nu {r.id}#{cl.new_index})"
                out.append(f"    gewijzigde clausule {where}:")
                for c in cl.changes:
                    out += _change_lines(c, CLAUSE_NL, "      ")
    for o in d.order:
        out += [
            "",
            f"Volgorde van de regels {_LEVEL_NL[o.level]}:",
            f"  oud:   {', '.join(o.old)}",
            f"  nieuw: {', '.join(o.new)}",
        ]
    return out
