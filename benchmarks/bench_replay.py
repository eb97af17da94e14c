"""Benchmark: replay 100,000 portfolio claims from the database to vangnet-herijking@2018.1,
with every report (JSON Lines, the Excel workbook, the SVG chart, the text summary); target at
most 60 s on the 2-core reference machine.

The claims are loaded first (`vangnet demo portfolio`'s loader, into a temporary SQLite
database; not timed, its time is printed). `python -m benchmarks.bench_replay [N]` replays N
claims instead (default 100,000), e.g. 10,000 for a quick run on a busy machine.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from vangnet.impact_chart import impact_svg
from vangnet.portfolio import load_portfolio
from vangnet.replay import default_processes, replay
from vangnet.service import crypto
from vangnet.service.db import create_db_engine
from vangnet.service.settings import Settings

TARGET = "vangnet-herijking@2018.1"
TARGET_SECONDS_PER_100K = 60.0


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its ended children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(env="test", data_dir=folder / "data")
        crypto.configure(settings)
        t = time.perf_counter()
        loaded = load_portfolio(settings, n, seed=2026, batch_size=2000)
        load_s = time.perf_counter() - t
        if loaded.stored != n:
            raise SystemExit(f"expected {n} stored claims, got {loaded.stored}")
        engine = create_db_engine(settings.db_url)
        cpu0 = _cpu()
        try:
            t0 = time.perf_counter()
            report = replay(engine, TARGET)
            t1 = time.perf_counter()
            with (folder / "replay.jsonl").open("w", encoding="utf-8") as out:
                report.write_jsonl(out)
            t2 = time.perf_counter()
            report.write_xlsx(folder / "replay.xlsx")
            t3 = time.perf_counter()
            (folder / "replay.svg").write_text(impact_svg(report), "utf-8")
            summary = report.text()
            t4 = time.perf_counter()
        finally:
            engine.dispose()
        cpu = _cpu() - cpu0
        if len(report) != n or report.total.failed:
            raise SystemExit(f"replayed {len(report)} of {n}, {report.total.failed} failed")
        total = t4 - t0
        per_100k = total / n * 100_000
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"vangnet replay --to {TARGET}: {n} portfolio claims, {default_processes()} worker"
            f" processes, load average {load:.1f} at the end"
        )
        print(f"  load (not timed)      {load_s:8.1f} s")
        print(f"  replay (read+decide)  {t1 - t0:8.1f} s")
        print(f"  JSON Lines            {t2 - t1:8.1f} s")
        print(f"  Excel workbook        {t3 - t2:8.1f} s")
        print(f"  SVG and summary       {t4 - t3:8.2f} s")
        print(
            f"  total {total:.1f} s = {total / n * 1e3:.3f} ms per claim;"
            f" for 100,000 claims {per_100k:.0f} s (target {TARGET_SECONDS_PER_100K:.0f} s)"
        )
        cores = default_processes()
        print(
            f"  CPU used: {cpu:.1f} s (this process and its workers) = {cpu / n * 1e3:.3f} ms"
            f" per claim; on {cores} idle cores at least {cpu / cores / n * 100_000:.0f} s for"
            " 100,000 claims"
        )
        print(f"  flipped {report.total.flipped}; summary {len(summary)} characters")


if __name__ == "__main__":
    main()
