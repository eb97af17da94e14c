"""Benchmark: the neutral calculation of 1,000 distinct 30-line claims (median and p99)."""

from __future__ import annotations

import statistics
import time

from benchmarks.claims import make_claims
from vangnet.calculator import calculate
from vangnet.catalogue import load_catalogues
from vangnet.claim import parse_claim


def main() -> None:
    catalogues = load_catalogues()
    claims = [parse_claim(c) for c in make_claims(1000)]
    for c in claims[:100]:  # warm-up
        calculate(c, catalogues)
    times = []
    for c in claims:
        t = time.perf_counter()
        calculate(c, catalogues)
        times.append(time.perf_counter() - t)
    times.sort()
    print("calculate, 1,000 distinct 30-line claims (validated claim in, calculation out)")
    print(f"  median {statistics.median(times) * 1e3:.3f} ms   p99 {times[989] * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
