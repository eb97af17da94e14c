"""The pre-check of the pages, run in an engine worker (never in the web process).

The result page shows more than the API's decision: the neutral calculation per line (unit,
reference price per unit, deviation) and the counterfactuals, which run the engine once per
change they try. All of it runs in one call in the worker that holds the engine
(`vangnet.workers`); the web process gets plain data back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from vangnet.decision import refusal_for
from vangnet.exceptions import ClaimError, EngineFailure, EvaluationError, NoRulesetError

__all__ = ["PRECHECK", "ResultCache", "precheck_in_worker"]

PRECHECK = "precheck"
# at most this many counterfactuals on the page (the CLI's default too)
COUNTERFACTUALS = 3


def precheck_in_worker(claim: dict[str, Any]) -> tuple[str, Any]:
    """Run in a worker: ("precheck", {decision, calculation, counterfactuals}), or
    ("refusal", refusal dict), ("engine_failure" | "failure", {message}) as `vangnet.workers`
    answers."""
    from vangnet.counterfactual import counterfactuals
    from vangnet.workers import current_decider

    decider = current_decider()
    try:
        valid = decider.validate(claim)
        evaluation = decider.evaluate(valid)
        found = counterfactuals(decider, valid, evaluation.decision, limit=COUNTERFACTUALS)
    except (ClaimError, NoRulesetError) as exc:
        return "refusal", refusal_for(exc).model_dump()
    except EngineFailure as exc:
        return "engine_failure", {"message": str(exc)}
    except EvaluationError as exc:
        return "failure", {"message": str(exc)}
    calc = evaluation.calculation
    return PRECHECK, {
        "decision": evaluation.decision.as_dict(),
        "calculation": calc.as_dict(),
        "counterfactuals": [c.as_dict() for c in found],
    }


class ResultCache:
    """The last `size` results of pre-checks in this process, by a key that names everything
    they depend on (the claim's, the ruleset's and the catalogue's sha256), least recently
    used out first: a claim page seen again costs no engine run. Thread-safe; the results are
    plain data that nobody changes."""

    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise ValueError("size must be 1 or more")
        self.size = size
        self._lock = threading.Lock()
        self._results: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
            return found

    def put(self, key: Hashable, result: Any) -> None:
        with self._lock:
            self._results[key] = result
            self._results.move_to_end(key)
            while len(self._results) > self.size:
                self._results.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)
