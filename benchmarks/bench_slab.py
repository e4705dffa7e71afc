"""kmalloc/kfree throughput with a realistic size mix, vmalloc/vfree, and the slab view's redraw.

Run with ``make bench`` or ``python benchmarks/bench_slab.py``.  Prints figures; asserts nothing.
The budget the issue sets: >= 300,000 kmalloc+kfree operations per second on the CI machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model import Machine  # noqa: E402

# Active objects per kmalloc cache on a 2-CPU x86-64 6.18 machine after boot (its /proc/slabinfo):
# the mix of request sizes below follows these weights, each size uniform inside its class,
# plus 1 % of large kmallocs (8 KiB .. 64 KiB) that go to the page allocator.
CLASS_WEIGHTS = {(1, 8): 1536, (9, 16): 3328, (17, 32): 2016, (33, 64): 2080, (65, 96): 3276, (97, 128): 6368,
                 (129, 192): 4011, (193, 256): 672, (257, 512): 1651, (513, 1024): 558, (1025, 2048): 176,
                 (2049, 4096): 338, (4097, 8192): 28}


def size_mix(count: int, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    ranges = list(CLASS_WEIGHTS)
    weights = np.array(list(CLASS_WEIGHTS.values()), dtype=float)
    picks = rng.choice(len(ranges), count, p=weights / weights.sum())
    sizes = [int(rng.integers(ranges[i][0], ranges[i][1] + 1)) for i in picks]
    for index in rng.choice(count, count // 100, replace=False):
        sizes[index] = int(rng.integers(8193, 65537))
    return sizes


def churn(allocator: str, operations: int, live: int = 5000, nr_cpus: int = 4, seed: int = 1, trace: bool = True):
    """Keep ``live`` objects, then alternate kmalloc and kfree of a random live one.

    ``trace=False`` closes the machine's boot-time trace first: no listener on the bus, so no
    ``kmalloc``/``kfree`` event objects are built (the model's cost alone).
    """
    machine = Machine.preset("linux-6.18-x86_64", ram="4G", nr_cpus=nr_cpus, slab_allocator=allocator)
    if not trace:
        machine.trace.close()
    slab = machine.slab
    sizes = size_mix(operations // 2 + live, seed)
    victims = np.random.default_rng(seed + 1).integers(0, live, operations // 2).tolist()
    kmalloc, kfree = slab.kmalloc, slab.kfree
    held = [kmalloc(size) for size in sizes[:live]]
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for size, victim in zip(sizes[live:], victims):
        ptr = held[victim]
        held[victim] = kmalloc(size)
        kfree(ptr)
        count += 2
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    slab.check_invariants()
    return count / wall, count / cpu, len(slab.caches)


def vmalloc_rate(rounds: int = 200) -> float:
    machine = Machine.preset("linux-6.18-x86_64", ram="4G", nr_cpus=4)
    space = machine.vmalloc
    start = time.perf_counter()
    for _ in range(rounds):
        space.vfree(space.vmalloc(256 * 4096))
    return rounds / (time.perf_counter() - start)


def view_redraw() -> str:
    """Time SlabView.refresh() on a cache with ~200 slabs (needs ipywidgets and bqplot)."""
    try:
        from kernelmem_widgets.views.slab_view import SlabView
    except Exception as error:  # pragma: no cover - depends on the environment
        return f"skipped ({type(error).__name__}: {error})"
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=2)
    for _ in range(6000):
        machine.slab.kmalloc(100)
    view = SlabView(machine, "kmalloc-128")
    times = []
    for _ in range(20):
        start = time.perf_counter()
        view.refresh()
        times.append(time.perf_counter() - start)
    table = []
    for _ in range(20):
        start = time.perf_counter()
        machine.slab.slab_table("kmalloc-128")
        table.append(time.perf_counter() - start)
    return (f"median {statistics.median(times) * 1000:.2f} ms for {machine.slab.cache('kmalloc-128').nr_slabs} slabs "
            f"(model side slab_table(): {statistics.median(table) * 1000:.2f} ms)")


def main() -> None:
    print("kmalloc+kfree, realistic size mix, 5,000 live objects, 4 CPUs, 4 GiB x86-64 machine "
          "(budget for SLUB: >= 300,000 ops/s)")
    for allocator in ("slub", "slab", "slob"):
        for trace in (True, False):
            runs = [churn(allocator, 400_000 if allocator != "slob" else 100_000, trace=trace) for _ in range(3)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            label = "machine.trace recording" if trace else "machine.trace closed   "
            print(f"  {allocator.upper():4} {label}: {wall:>10,.0f} ops/s wall  {cpu:>10,.0f} ops/s CPU  "
                  f"({runs[0][2]} caches)")
    print(f"vmalloc(1 MiB)+vfree: {vmalloc_rate():,.0f} pairs/s")
    print(f"SlabView.refresh(): {view_redraw()}")


if __name__ == "__main__":
    main()
