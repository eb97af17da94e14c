"""Benchmark: reading a filled-in 500-line intake workbook (target: at most 1 s), and building
the empty form and the export of a 500-line decision for comparison."""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from datetime import date

from benchmarks.claims import make_claims
from vangnet.catalogue import load_catalogues
from vangnet.claim import claim_sha256, parse_claim
from vangnet.evaluate import Decider
from vangnet.excel import build_intake, export_calculation, fill_intake, read_intake

RUNS = 20
TARGET_S = 1.0


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    catalogues = load_catalogues()
    claim_json = make_claims(1, lines=500, seed=7)[0]
    items = catalogues.versions[0].items
    for measure in claim_json["measures"]:
        # the form offers the catalogue or 'niet in de catalogus': another code is not kept
        if measure["code"] not in items:
            measure["code"] = None
    claim = parse_claim(claim_json)
    filled = io.BytesIO()
    fill_intake(claim, filled, catalogues=catalogues)
    data = filled.getvalue()
    back = parse_claim(read_intake(data, catalogues=catalogues))  # warm-up, and a check
    assert claim_sha256(back) == claim_sha256(claim)

    read = _times(lambda: read_intake(data, catalogues=catalogues), RUNS)
    verdict = "met" if max(read) <= TARGET_S else "NOT MET"
    print(f"excel read_intake, 500-line workbook ({len(data) / 1024:.0f} KB), {RUNS} runs")
    print(
        f"  median {statistics.median(read) * 1e3:.0f} ms   max {max(read) * 1e3:.0f} ms"
        f"   (target <= {TARGET_S * 1e3:.0f} ms: {verdict})"
    )

    build = _times(lambda: build_intake(io.BytesIO(), on=date(2016, 6, 1)), 5)
    median = statistics.median(build) * 1e3
    print(f"excel build_intake, empty 500-line form: median {median:.0f} ms")

    evaluation = Decider(prime=False).evaluate(claim)
    export = _times(lambda: export_calculation(evaluation, io.BytesIO()), 5)
    print(
        f"excel export_calculation, 500-line decision: median"
        f" {statistics.median(export) * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
