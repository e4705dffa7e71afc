"""Start-up costs: ``import kernelmem_widgets`` and a whole nbval run of the chapters.

Prints figures against DESIGN.md's budgets (import <= 0.5 s; every notebook under nbval <= 120 s).
Run with ``make bench``.  Set ``KMW_BENCH_SKIP_NBVAL=1`` to skip the (slow) notebook run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_command(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    python = sys.executable
    bare = time_command([python, "-c", "pass"], 5)
    whole = time_command([python, "-c", "import kernelmem_widgets"], 5)
    labs = time_command([python, "-c", "import kernelmem_widgets.labs"], 3)
    print("start-up benchmarks")
    print(f"  python -c pass                          : {bare:6.3f} s")
    print(f"  import kernelmem_widgets (model, numpy) : {whole:6.3f} s   (budget <= 0.5 s, interpreter included)")
    print(f"  import kernelmem_widgets.labs (widgets) : {labs:6.3f} s   (paid once, when a chapter shows a lab)")
    if os.environ.get("KMW_BENCH_SKIP_NBVAL"):
        print("  nbval run of notebooks/                 : skipped (KMW_BENCH_SKIP_NBVAL)")
        return
    start = time.perf_counter()
    completed = subprocess.run([python, "-m", "pytest", "-q", "notebooks"], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-200:]
    print(f"  pytest --nbval-lax notebooks/           : {elapsed:6.1f} s   (budget <= 120 s) [{summary}]")


if __name__ == "__main__":
    main()
