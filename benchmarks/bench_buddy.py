"""Buddy allocator throughput and memory per page, against the budgets of DESIGN.md.

Run with ``make bench`` or ``python benchmarks/bench_buddy.py``.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model import Machine, Zone  # noqa: E402

PAGES_16G = 4 * 1024 * 1024
ORDERS = np.array([0, 0, 0, 0, 0, 1, 1, 2, 3])  # mostly order 0, as a running system asks


class Timer:
    """Wall-clock and CPU time of a block: CPU time is what the model costs when other
    processes share the machine's two cores (as CI's neighbours may)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def mixed_run(zone: Zone, operations: int, seed: int = 1) -> tuple[float, float]:
    """Alloc/free at random with a mix of small orders; returns (wall, cpu) operations per second."""
    rng = np.random.default_rng(seed)
    orders = rng.choice(ORDERS, operations).tolist()
    types = rng.choice(["Unmovable", "Movable", "Reclaimable"], operations, p=[0.2, 0.7, 0.1]).tolist()
    coins = rng.random(operations).tolist()
    held: list[tuple[int, int]] = []
    alloc, free = zone.alloc_pages, zone.free_pages
    with Timer() as timer:
        for order, migratetype, coin in zip(orders, types, coins):
            if held and coin < 0.5:
                index = int(coin * 2 * len(held))
                pfn, held_order = held[index]
                held[index] = held[-1]
                held.pop()
                free(pfn, held_order)
            else:
                held.append((alloc(order, migratetype), order))
    return operations / timer.wall, operations / timer.cpu


def checkerboard_zone() -> Zone:
    """A 16 GiB zone with every other page free: half the memory free, nothing mergeable."""
    zone = Zone("Normal", 0, PAGES_16G, mobility_grouping=True, free_ranges=[])
    area, movable = zone._area, 1
    for slot in range(0, PAGES_16G, 2):
        area.add(slot, 0, movable, True)
        zone._commit_alloc(slot + 1, 0, movable)
    zone.managed_pages = PAGES_16G
    zone.check_invariants()
    return zone


def checkerboard_run(zone: Zone, operations: int, seed: int = 2) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    coins = rng.random(operations).tolist()
    held: list[int] = []
    alloc, free = zone.alloc_pages, zone.free_pages
    with Timer() as timer:
        for coin in coins:
            if held and coin < 0.5:
                free(held.pop(), 0)
            else:
                held.append(alloc(0, "Movable"))
    return operations / timer.wall, operations / timer.cpu


def bytes_per_page(zone: Zone) -> float:
    area = zone._area
    buffers = (area.next, area.prev, area.buddy_order, zone._alloc_order, zone._alloc_mt, zone._pb_mt)
    total = sum(len(memoryview(buffer).cast("B")) for buffer in buffers)
    return total / zone.spanned_pages


def machine_run(operations: int, seed: int = 3) -> tuple[float, float]:
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    rng = np.random.default_rng(seed)
    gfps = rng.choice(["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE"], operations,
                      p=[0.2, 0.7, 0.1]).tolist()
    orders = rng.choice(ORDERS, operations).tolist()
    coins = rng.random(operations).tolist()
    held: list[tuple[int, int]] = []
    with Timer() as timer:
        for gfp, order, coin in zip(gfps, orders, coins):
            if held and coin < 0.5:
                pfn, held_order = held.pop(int(coin * 2 * len(held)))
                machine.free_pages(pfn, held_order)
            else:
                held.append((machine.alloc_pages(gfp, order), order))
    return operations / timer.wall, operations / timer.cpu


def medians(runs) -> tuple[float, float]:
    runs = list(runs)
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    operations = 200_000
    print("buddy allocator benchmarks (budgets from DESIGN.md)")
    print("  (operations per second by wall clock / by CPU time of this process; median of 3 runs)")
    zone = Zone("Normal", 0, PAGES_16G)
    wall, cpu = medians(mixed_run(zone, operations, seed) for seed in (1, 2, 3))
    print(f"  zone alloc+free, mixed orders 0-3, 16 GiB zone  : {wall:10,.0f} / {cpu:10,.0f} ops/s  (budget >= 500,000)")
    board = checkerboard_zone()
    print(f"  checkerboard zone: {board.nr_free_pages:,} free pages, largest free order {board.largest_free_order()}")
    wall, cpu = medians(checkerboard_run(board, operations, seed) for seed in (1, 2, 3))
    print(f"  zone alloc+free, checkerboard-fragmented 16 GiB : {wall:10,.0f} / {cpu:10,.0f} ops/s  (budget >= 500,000)")
    wall, cpu = medians(machine_run(operations // 2, seed) for seed in (1, 2, 3))
    print(f"  machine alloc_pages/free_pages (GFP, watermarks): {wall:10,.0f} / {cpu:10,.0f} ops/s  (no budget)")
    print(f"  model metadata per page frame                  : {bytes_per_page(zone):12.2f} bytes  (budget <= 16)")


if __name__ == "__main__":
    main()
