"""Benchmark: deciding 1,000 distinct 30-line claims end to end.

Measured per claim: validated claim in, decision object out (median, p99) and the share of
that time spent inside durable-rules calls; parsing (JSON text to validated claim) and
printing (decision to JSON text) are measured apart. Targets: median at most 1.5 ms, p99 at
most 4 ms on the 2-core reference machine.
"""

from __future__ import annotations

import json
import statistics
import time

from benchmarks.claims import make_claims
from vangnet.claim import parse_claim_json
from vangnet.evaluate import Decider


def _pct(times: list[float], q: float) -> float:
    return times[min(len(times) - 1, int(len(times) * q))] * 1e3


def main() -> None:
    texts = [json.dumps(c) for c in make_claims(1000)]
    decider = Decider()
    parse_times, decide_times, print_times = [], [], []
    claims = []
    for text in texts:
        t = time.perf_counter()
        claims.append(parse_claim_json(text))
        parse_times.append(time.perf_counter() - t)
    for c in claims[:200]:  # warm-up
        decider.decide(c)
    engine_ns = decider.engine.engine_ns
    decisions = []
    for c in claims:
        t = time.perf_counter()
        decisions.append(decider.decide(c))
        decide_times.append(time.perf_counter() - t)
    engine_share = (decider.engine.engine_ns - engine_ns) / 1e9 / sum(decide_times)
    for d in decisions:
        t = time.perf_counter()
        d.to_json(indent=None)
        print_times.append(time.perf_counter() - t)
    for xs in (parse_times, decide_times, print_times):
        xs.sort()
    print("decide, 1,000 distinct 30-line claims")
    rows = [
        ("decide (validated claim -> decision)", decide_times),
        ("parse (JSON -> validated claim)", parse_times),
        ("print (decision -> JSON)", print_times),
    ]
    for label, xs in rows:
        median = statistics.median(xs) * 1e3
        print(f"  {label:38} median {median:.3f} ms   p99 {_pct(xs, 0.99):.3f} ms")
    print(f"  share of decide time inside durable-rules: {engine_share:.0%}")
    outcomes = sorted({d.outcome for d in decisions})
    print(f"  outcomes seen: {', '.join(outcomes)}")


if __name__ == "__main__":
    main()
