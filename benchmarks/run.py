"""Run every benchmark (`make bench`): each `bench_*.py` in its own process, in name order."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}; Python {platform.python_version()}")
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        module = f"benchmarks.{script.stem}"
        result = subprocess.run([sys.executable, "-m", module], cwd=HERE.parent, check=False)  # noqa: S603
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
