"""A week of uptime on a 16 GiB x86-64 machine: Workload.age() against DESIGN.md's budget (<= 10 s).

Run with ``python benchmarks/bench_aging.py [RAM]``.  Prints wall and CPU time and the resulting
/proc/buddyinfo next to a real aged machine's Normal zone; asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model import Machine, procfs  # noqa: E402
from kernelmem_widgets.model.workload import Workload  # noqa: E402

BUDGET_SECONDS = 10.0


def main(ram: str = "16G") -> None:
    machine = Machine.preset("linux-6.18-x86_64", ram=ram)
    workload = Workload(machine, seed=1)
    wall, cpu = time.perf_counter(), time.process_time()
    report = workload.age()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"age() on {ram}: {report.summary()}")
    print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s (budget {BUDGET_SECONDS:.0f} s; CPU time is the model's own "
          "cost when other processes share the cores)")
    print(f"  {report.allocations / cpu:,.0f} allocations and frees per CPU second" if cpu else "")
    print(procfs.render_buddyinfo(machine), end="")
    from kernelmem_widgets.exercises.real_captures import compare_buddyinfo
    print(compare_buddyinfo(machine))


if __name__ == "__main__":
    main(*sys.argv[1:2])
