"""Re-running a decision: does the engine, today, give the advice a besluit rests on?

`verify(engine, besluit_id)` reads the besluit's advice (`advies`, the v1 decision exactly as
stored) and the claim version it was made for (`aanvraag_versie.claim_json`, the canonical
claim whose sha256 is in the receipt; both `vangnet.service.store.stored_advice`), and
evaluates that claim again:
- under the recorded ruleset version (`ruleset.id` and `ruleset.version` of the advice),
  forced: the day it is evaluated on does not matter;
- with the catalogue whose sha256 the receipt names (looked up among the published catalogue
  versions; when none has that hash, the decision cannot be reproduced, and that is a
  difference at `receipt.catalogue_sha256`).
Then it compares the full decision JSON, byte for byte, except `receipt.engine` (the version
of the software that ran it) and `receipt.evaluated_at` (when). The answer is `gelijk`, or the
FIRST path where the two differ (in the order of the stored decision, then what only the new
one has) with both values. A path is written like the contract's problem fields:
`lines.0.eligible_eur`, `findings.1.rule`.

A value at a path is compared as JSON text, not as a number: `2600.00` and `2600.0` differ, as
their bytes do. When every value is equal but the bytes are not (the members of an object in
another order), the path is the object's, with the member names in both orders.

The comparison itself is `rerun`, which reads nothing stored: `verify` runs it in the calling
process (the CLI decides in its own process, like `vangnet evaluate`), the auditor's pages in
an engine worker (`vangnet.web.auditor`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from vangnet.catalogue import CatalogueSet
from vangnet.claim import decode_json
from vangnet.evaluate import Decider
from vangnet.exceptions import ClaimError, NoRulesetError
from vangnet.jsonout import dumps
from vangnet.service.store import StoredAdvice, stored_advice

__all__ = ["IGNORED", "Verification", "first_difference", "rerun", "verification", "verify"]

# what may differ between the stored and the new decision
IGNORED = (("receipt", "engine"), ("receipt", "evaluated_at"))
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of re-running a besluit's advice."""

    besluit_id: str
    ruleset: str  # id@version
    catalogue_sha256: str
    path: str | None = None  # the first difference; None when equal
    stored: str | None = None  # the stored value at `path`, as JSON text ("(ontbreekt)")
    recomputed: str | None = None

    @property
    def equal(self) -> bool:
        return self.path is None

    def text(self) -> str:
        """The answer in Dutch, for people."""
        if self.equal:
            return "gelijk\n"
        return (
            f"verschilt bij {self.path}\n"
            f"  opgeslagen: {self.stored}\n"
            f"  opnieuw:    {self.recomputed}\n"
        )


def _text(value: Any) -> str:
    return "(ontbreekt)" if value is _MISSING else dumps(value)


def _walk(a: Any, b: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any, Any]]:
    """The differences between JSON values `a` and `b`, in document order."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            yield from _walk(a[key], b.get(key, _MISSING), (*path, key))
        for key in b:
            if key not in a:
                yield from _walk(_MISSING, b[key], (*path, key))
        if list(a) != list(b) and set(a) == set(b):
            yield ".".join(path) or "(beslissing)", ", ".join(a), ", ".join(b)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            left = a[i] if i < len(a) else _MISSING
            right = b[i] if i < len(b) else _MISSING
            yield from _walk(left, right, (*path, str(i)))
        return
    if a is _MISSING or b is _MISSING or _text(a) != _text(b):
        yield ".".join(path) or "(beslissing)", _text(a), _text(b)


def first_difference(stored: bytes, recomputed: bytes) -> tuple[str, str, str] | None:
    """The first path where two decisions' JSON differ, apart from `IGNORED`: (path, stored
    value, new value) as JSON text; None when their bytes are equal."""
    a, b = decode_json(stored), decode_json(recomputed)
    for doc in (a, b):
        for parent, key in IGNORED:
            if isinstance(doc.get(parent), dict) and key in doc[parent]:
                doc[parent][key] = None
    if dumps(a) == dumps(b):
        return None
    return next(_walk(a, b, ()), ("(beslissing)", dumps(a), dumps(b)))


def rerun(
    claim_json: bytes,
    decision_json: bytes,
    ruleset_id: str,
    version: str,
    catalogue_sha256: str,
    *,
    decider: Decider,
) -> tuple[str, str, str] | None:
    """The stored claim `claim_json` evaluated again under ruleset `ruleset_id` version
    `version` (forced) and the catalogue of `decider` with hash `catalogue_sha256`, compared
    with the stored decision `decision_json`: the first difference (path, stored value, new
    value, as JSON text) or None when they are equal. Reads nothing stored; runs the engine of
    `decider` in the calling process (`verify`, or an engine worker of the pages)."""
    catalogue = next((c for c in decider.catalogues.versions if c.sha256 == catalogue_sha256), None)
    if catalogue is None:
        return "receipt.catalogue_sha256", _text(catalogue_sha256), "(ontbreekt)"
    again = Decider(decider.rulesets, CatalogueSet([catalogue]), decider.engine, prime=False)
    try:
        claim = again.validate(decode_json(claim_json))
        decision = again.decide(claim, ruleset_id, version, force=True)
    except ClaimError as exc:
        # the claim no longer passes the contract: name the fields, never their values
        fields = ", ".join(p.field for p in exc.problems)
        return "(beoordeling)", _text("een beslissing"), f"geweigerd bij {fields}"
    except NoRulesetError as exc:  # the ruleset version is no longer published
        return "(beoordeling)", _text("een beslissing"), f"geweigerd: {exc}"
    return first_difference(decision_json, dumps(decision.as_dict()).encode("utf-8"))


def verify(engine: Engine, besluit_id: str, *, decider: Decider | None = None) -> Verification:
    """Re-run the advice of besluit `besluit_id` (see the module's docstring); `NotFound`."""
    stored = stored_advice(engine, besluit_id)
    difference = rerun(
        stored.claim_json,
        stored.decision_json,
        stored.ruleset_id,
        stored.ruleset_version,
        stored.catalogue_sha256,
        decider=decider or Decider(prime=False),
    )
    return verification(besluit_id, stored, difference)


def verification(
    besluit_id: str, stored: StoredAdvice, difference: tuple[str, str, str] | None
) -> Verification:
    """The `Verification` of besluit `besluit_id` from what `rerun` found."""
    ruleset = f"{stored.ruleset_id}@{stored.ruleset_version}"
    if difference is None:
        return Verification(besluit_id, ruleset, stored.catalogue_sha256)
    return Verification(besluit_id, ruleset, stored.catalogue_sha256, *difference)
