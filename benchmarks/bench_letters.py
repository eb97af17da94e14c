"""Benchmark of the decision letters: render time per letter and format, public scenarios.

Each public scenario is evaluated once; the letters are then rendered from the evaluation (the
time measured is `render_letter` alone, not the evaluation). One warm-up round per format
loads the templates and the fonts; then every scenario is rendered `--rounds` times (PDF:
`--pdf-rounds`). Prints the median and the 99th percentile (nearest rank) per format against
the targets of issue 4: HTML 20 ms, DOCX 150 ms, PDF 1 s (median).

    .venv/bin/python benchmarks/bench_letters.py [--rounds 20] [--pdf-rounds 5]

Exit status 1 when a median misses its target. Prints no claim content.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

from vangnet.claim import parse_claim_json
from vangnet.evaluate import Decider, Evaluation
from vangnet.letters import FORMATS, LetterFormat, render_letter

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "scenarios" / "public"
TARGET_MEDIAN_MS: dict[LetterFormat, float] = {"html": 20.0, "docx": 150.0, "pdf": 1000.0}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "onbekend"


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _evaluations() -> list[Evaluation]:
    decider = Decider()
    paths = sorted(SCENARIOS.glob("P*.claim.json"))
    return [decider.evaluate(parse_claim_json(p.read_bytes())) for p in paths]


def _measure(evaluations: list[Evaluation], fmt: LetterFormat, rounds: int) -> list[float]:
    day = date.today()
    for ev in evaluations:  # warm-up: templates, fonts, lazy imports
        render_letter(ev, fmt, concept=True, letter_date=day)
    times = []
    for _ in range(rounds):
        for ev in evaluations:
            start = time.perf_counter()
            render_letter(ev, fmt, concept=True, letter_date=day)
            times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds for HTML and DOCX")
    parser.add_argument("--pdf-rounds", type=int, default=5, help="rounds for PDF")
    args = parser.parse_args(argv)

    evaluations = _evaluations()
    print(f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    print(f"machine: {os.cpu_count()} cpu(s), {_cpu_model()}, {platform.machine()}")
    print(
        f"python {platform.python_version()}; weasyprint {version('weasyprint')};"
        f" docxtpl {version('docxtpl')}; jinja2 {version('jinja2')}"
    )
    print(f"letters: {len(evaluations)} public scenarios; time of render_letter only")
    print()
    header = ("format", "letters", "median ms", "p99 ms", "max ms", "target")
    print("{:<6} {:>7} {:>10} {:>8} {:>8} {:>8}".format(*header))
    ok = True
    for fmt in FORMATS:
        rounds = args.pdf_rounds if fmt == "pdf" else args.rounds
        times = _measure(evaluations, fmt, rounds)
        median = statistics.median(times)
        target = TARGET_MEDIAN_MS[fmt]
        verdict = "ok" if median <= target else "TE TRAAG"
        ok = ok and median <= target
        print(
            f"{fmt:<6} {len(times):>7} {median:>10.1f} {_percentile(times, 99):>8.1f}"
            f" {max(times):>8.1f} {target:>6.0f}ms  {verdict}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
