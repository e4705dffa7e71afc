"""How long a lab's history takes to move: replay from boot (step back, undo, the scrubber) and one step forward.

Run with ``python benchmarks/bench_history.py``.  A BuddyLab session of 200 clicks on the tiny
machine (allocations of orders 0-5, frees, one compaction, and a number of *age* clicks of 5,000
steps each) and a SlabLab session of 200 kmalloc/kfree clicks; prints the wall and CPU time of a
replay from boot to the newest step, of one step back, and of one step forward.  Aging is what
costs (about 25 us a step): a replay from boot takes about as long as the agings in the session took.
BuddyLab keeps a checkpoint (a deep copy of the machine and the lab's lists) after each aging, so a
step back replays from the nearest one; the figure without them is printed too.  Asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets import BuddyLab, Machine, SlabLab  # noqa: E402


def timed(call) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def buddy_session(ages: int, clicks: int = 200) -> BuddyLab:
    lab = BuddyLab(Machine.preset("linux-6.18-tiny", seed=1), seed=1)
    age_every = clicks // (ages + 1) if ages else clicks + 1
    for click in range(clicks):
        if ages and click % age_every == age_every - 1 and sum(op.startswith("age") for op in lab.history.ops) < ages:
            lab.age(5000)
        elif click % 3 == 2 and lab.held:
            lab.free()
        elif click == clicks // 2:
            lab.compact()
        else:
            lab.allocate(click % 6)
    return lab


def slab_session(clicks: int = 200) -> SlabLab:
    lab = SlabLab(Machine.preset("linux-6.18-tiny", seed=1, nr_cpus=4), seed=1)
    for click in range(clicks):
        if click % 3 == 2:
            lab.kfree(5, random=True)
        else:
            lab.kmalloc(32 << (click % 7), 10)
    return lab


def report(name: str, lab) -> None:
    n = len(lab.history)
    lab.goto(n)
    full = timed(lambda: lab.goto(0) and lab.goto(n))
    if getattr(lab, "_checkpoints", None):
        saved, lab._checkpoints = lab._checkpoints, {}
        plain = timed(lab.step_back)
        lab.step_forward()
        lab._checkpoints = saved
        print(f"  (without its {len(saved)} checkpoints a step back takes {plain[0] * 1000:,.0f} ms wall, "
              f"{plain[1] * 1000:,.0f} ms CPU)")
    back = timed(lab.step_back)
    forward = timed(lab.step_forward)
    print(f"{name}: {n} operations; to step 0 and back to the newest {full[0] * 1000:,.0f} ms wall "
          f"({full[1] * 1000:,.0f} ms CPU); step back {back[0] * 1000:,.0f} ms ({back[1] * 1000:,.0f} ms CPU); "
          f"step forward {forward[0] * 1000:,.1f} ms")


def main() -> None:
    for ages in (0, 1, 4, 10):
        report(f"BuddyLab, tiny machine, {ages} agings of 5,000 steps", buddy_session(ages))
    report("SlabLab, tiny machine, 4 CPUs", slab_session())


if __name__ == "__main__":
    main()
