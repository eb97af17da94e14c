"""Benchmark: `vangnet evaluate FOLDER` on 3,000 claims in one process, reading and printing
included (target: at most 1.5 ms per claim)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.claims import make_claims

N = 3000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for c in make_claims(N, seed=3000):
            (folder / f"{c['claim_id']}.json").write_text(json.dumps(c))
        cmd = [sys.executable, "-m", "vangnet", "evaluate", str(folder)]
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, check=False)  # noqa: S603
            runs.append(time.perf_counter() - t)
            lines = proc.stdout.count(b"\n")
            if lines != N:
                raise SystemExit(f"expected {N} lines, got {lines}: {proc.stderr[-500:]!r}")
        best, median = min(runs), sorted(runs)[1]
        print(f"vangnet evaluate FOLDER, {N} claims of 30 lines, one process (3 runs)")
        print(
            f"  median {median:.2f} s = {median / N * 1e3:.3f} ms per claim"
            f"   (best {best / N * 1e3:.3f} ms per claim; start-up included)"
        )


if __name__ == "__main__":
    main()
