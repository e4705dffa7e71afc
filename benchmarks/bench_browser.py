"""Click-to-repaint latency in JupyterLab (headless Chromium), DESIGN.md budget <= 100 ms median.

Runs the browser tests of chapters 01 and 02 with output shown and prints the latency lines
they measure (the tests never assert on time).  Needs /usr/bin/chromium; says so otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/browser/test_chapter01.py", "tests/browser/test_slab_lab.py", "tests/browser/test_harness.py"]


def main() -> None:
    print("browser benchmarks: click to repainted plot")
    if not Path("/usr/bin/chromium").exists():
        print("  skipped: /usr/bin/chromium is not installed (apt-get install chromium)")
        return
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", *TESTS],
                               cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in completed.stdout.splitlines()
             if "click" in line.lower() or "median" in line or "latency" in line.lower()]
    print("\n".join(f"  {line.strip()}" for line in lines) or "  no latency lines printed")
    print(f"  ({completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else 'no output'})")


if __name__ == "__main__":
    main()
