"""TLB simulation and page walks (model/mmu), against DESIGN.md's budget.

Run with ``python benchmarks/bench_mmu.py``.  Prints figures; asserts nothing.  Budgets (issue 14):
a TLB simulation of a 100 MiB sequential stream at 4 KiB granularity >= 5 million accesses/s,
and a page walk for 1 million addresses.  Times are CPU time (``time.process_time``), best of
several runs, so that other processes on a shared machine count less.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model import Machine  # noqa: E402
from kernelmem_widgets.model.mmu.mm import MmStruct  # noqa: E402
from kernelmem_widgets.model.mmu.tlb import KiB4, Tlb  # noqa: E402

SIZE = 100 << 20


def best_of(runs: int, function) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def tlb_figures() -> None:
    print("TLB simulation (Skylake dTLB + STLB), 4 KiB pages, 100 MiB buffer")
    for label, stride, warm in (("sequential, one access per 4 KiB page, cold TLB", 4096, False),
                                ("sequential, one access per 4 KiB page, second pass", 4096, True),
                                ("sequential, one access per 64-byte line, cold TLB", 64, False)):
        virts = np.arange(0, SIZE, stride, dtype=np.uint64)
        sizes = np.full(len(virts), KiB4)

        def run():
            tlb = Tlb("skylake")
            if warm:
                tlb.access(virts, sizes)
            start = time.process_time()
            tlb.access(virts, sizes)
            return time.process_time() - start

        elapsed = min(run() for _ in range(10))
        rate = len(virts) / elapsed
        print(f"  {label:<52} {len(virts):>9,} accesses {elapsed * 1e3:8.1f} ms  {rate / 1e6:7.2f} M accesses/s"
              f"  {'(budget >= 5 M/s)' if stride == 4096 else ''}")
    virts = np.random.default_rng(1).integers(0, SIZE // 64, 1_000_000).astype(np.uint64) * np.uint64(64)
    elapsed = best_of(3, lambda: Tlb("skylake").access(virts, np.full(len(virts), KiB4)))
    print(f"  {'random 64-byte accesses':<52} {len(virts):>9,} accesses {elapsed * 1e3:8.1f} ms  "
          f"{len(virts) / elapsed / 1e6:7.2f} M accesses/s")
    small = virts[:20000]
    elapsed = best_of(3, lambda: Tlb("skylake", engine="reference").access(small, np.full(len(small), KiB4)))
    print(f"  {'random 64-byte accesses, reference loop (oracle)':<52} {len(small):>9,} accesses "
          f"{elapsed * 1e3:8.1f} ms  {len(small) / elapsed / 1e6:7.2f} M accesses/s")


def walk_figures() -> None:
    print("page walks (PageTable.translate, vectorised), 1,000,000 random addresses")
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    start = time.process_time()
    kernel = machine.mmu
    print(f"  direct map of 16 GiB built in {(time.process_time() - start) * 1e3:.1f} ms "
          f"({kernel.page_table.nr_tables} table pages)")
    virts = np.uint64(kernel.direct_map.page_offset) + \
        np.random.default_rng(2).integers(0, 16 << 30, 1_000_000).astype(np.uint64)
    elapsed = best_of(3, lambda: kernel.page_table.translate(virts))
    print(f"  direct map (1 GiB / 2 MiB pages)          {elapsed * 1e3:8.1f} ms  {1e6 / elapsed / 1e6:6.2f} M walks/s")
    mm = MmStruct(machine, thp="never")
    base = mm.mmap(SIZE)
    start = time.process_time()
    mm.touch_range(base, SIZE, write=True)
    faults = time.process_time() - start
    print(f"  faulting in 100 MiB with 4 KiB pages: 25,600 faults in {faults * 1e3:.0f} ms "
          f"({25600 / faults:,.0f} faults/s)")
    virts = np.uint64(base) + np.random.default_rng(3).integers(0, SIZE, 1_000_000).astype(np.uint64)
    elapsed = best_of(3, lambda: mm.pt.translate(virts))
    print(f"  user mapping, 4 KiB pages (4 levels)      {elapsed * 1e3:8.1f} ms  {1e6 / elapsed / 1e6:6.2f} M walks/s")


if __name__ == "__main__":
    tlb_figures()
    walk_figures()
