"""50,000 evaluations in one process: invalid claims, injected faults, several threads.

No exception other than our own clear errors may leak, the engine must stay usable, and
resident memory may grow by less than 50 MB after warm-up (an untimed leak bound).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from vangnet.claim import parse_claim
from vangnet.evaluate import Decider
from vangnet.exceptions import ClaimError, EvaluationError, NoRulesetError

TOTAL = 50_000
WARMUP = 2_000
THREADS = 4


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _claims() -> list[Any]:
    base: dict[str, Any] = {
        "reference_date": "2016-06-01",
        "applicant": {"type": "gemeente", "name": "G"},
        "office_holder": {"role": "wethouder"},
        "threat": {"status": "expliciet", "assessed_by": "politie"},
        "municipality": {"name": "X", "inhabitants": 20000},
        "measures": [
            {"code": "ALARM_PAC", "description": "a", "quantity": 1, "unit_price_eur": 2700,
             "advised": True},
            {"code": "DEUR_RC3", "description": "d", "quantity": 2, "unit_price_eur": 4000,
             "advised": True},
            {"code": None, "description": "x", "quantity": 1, "unit_price_eur": 10},
        ],
    }  # fmt: skip
    valid = [parse_claim({**base, "claim_id": f"R{i}"}) for i in range(20)]
    no_threat = parse_claim({k: v for k, v in base.items() if k != "threat"})
    no_version = parse_claim({**base, "reference_date": "2001-01-01"})
    return [*valid, no_threat, no_version]


@pytest.mark.slow
def test_fifty_thousand_evaluations_leak_nothing_and_crash_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decider = Decider()
    claims = _claims()
    calls = itertools.count()
    original = Decider._line

    def faulty_line(self: Decider, *args: Any) -> Any:
        # a fault in our own code in the middle of an evaluation, between the two phases
        if next(calls) % 97 == 0:
            raise RuntimeError("injected fault")
        return original(self, *args)

    monkeypatch.setattr(Decider, "_line", faulty_line)
    counts: Counter[str] = Counter()
    leaked: list[BaseException] = []
    lock = threading.Lock()
    rss: dict[str, float] = {}
    done = itertools.count(1)

    def work(offset: int) -> None:
        local: Counter[str] = Counter()
        for i in range(offset, TOTAL, THREADS):
            claim = claims[i % len(claims)]
            try:
                decider.decide(claim)
                local["decision"] += 1
            except (ClaimError, NoRulesetError):
                local["refusal"] += 1
            except EvaluationError:
                local["fault"] += 1
            except BaseException as exc:  # noqa: BLE001 - the point is that none arrive here
                leaked.append(exc)
            n = next(done)
            if n == WARMUP:
                rss["warm"] = _rss_mb()
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rss["end"] = _rss_mb()

    assert leaked == []
    assert sum(counts.values()) == TOTAL
    assert counts["decision"] > 0 and counts["refusal"] > 0 and counts["fault"] > 0
    assert decider.engine.usable
    assert rss["end"] - rss["warm"] < 50, rss
    # and the engine still decides correctly afterwards
    monkeypatch.setattr(Decider, "_line", original)
    d = decider.decide(claims[0])
    assert [line.status for line in d.lines] == ["vergoedbaar", "deels", "te_beoordelen"]
