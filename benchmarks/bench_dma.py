"""cma_alloc() of 100 MiB on a 16 GiB machine aged to 85 % full (DESIGN.md budget: <= 2 s).

Run with ``python benchmarks/bench_dma.py [--steps N] [--cma SIZE]``.  Prints figures; asserts
nothing.  The machine (preset linux-6.18-x86_64-cma) boots from its firmware map with ``cma=SIZE`` on the
command line (default 2G, so that by 85 % the area holds
movable pages: movable allocations use CMA once its free pages are more than half the zone's),
is aged with the existing workload (``model/workload.py``: ``--steps`` steps of its uptime
mix), and - because that workload needs millions of steps to fill 16 GiB - topped up to 85 %
with allocations drawn from the same mix (``UPTIME_MIX``, nothing freed).  Then
``cma_alloc(reserved, 25600 pages, align 8)``, as ``dma_alloc_coherent(100 MiB)`` asks it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model import AllocationError, Machine  # noqa: E402
from kernelmem_widgets.model.dma import check_cma_invariants, cma_alloc, cma_release  # noqa: E402
from kernelmem_widgets.model.workload import UPTIME_MIX, Workload  # noqa: E402


class Timer:
    """Wall-clock and CPU time of a block (CPU time: what the model costs on shared cores)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def used_fraction(machine) -> float:
    managed = sum(zone.managed_pages for zone in machine.zones)
    return 1 - sum(zone.nr_free_pages for zone in machine.zones) / managed


def top_up(machine, target: float, seed: int) -> int:
    """Allocate from the uptime mix until ``target`` of RAM is in use; returns the allocation count."""
    rng = np.random.default_rng(seed)
    weights = np.array([share for _gfp, _order, share, _pin in UPTIME_MIX])
    managed = sum(zone.managed_pages for zone in machine.zones)
    need = int(target * managed) - (managed - sum(zone.nr_free_pages for zone in machine.zones))
    count = 0
    while need > 0:
        for kind in rng.choice(len(UPTIME_MIX), 4096, p=weights / weights.sum()).tolist():
            gfp, order, _share, _pin = UPTIME_MIX[kind]
            order = max(order, 0)          # -1: a kernel stack, order 0 with CONFIG_VMAP_STACK
            try:
                machine.alloc_pages(gfp, order)
            except AllocationError:
                continue
            need -= 1 << order
            count += 1
            if need <= 0:
                break
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="workload steps before the top-up")
    parser.add_argument("--cma", default="2G", help="cma= size (default 2G)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("cma_alloc of 100 MiB on an aged 16 GiB machine (budget <= 2 s)")
    with Timer() as boot:
        # the boot path: cma= on the command line reserves the area in memblock (chapter 5)
        machine = Machine.preset("linux-6.18-x86_64-cma", ram="16G", seed=args.seed, cmdline=f"cma={args.cma}")
        cma = machine.dma.default_cma
    print(f"  boot + {cma.boot_line!r}: {boot.wall:.2f} s wall / {boot.cpu:.2f} s CPU")
    workload = Workload(machine, seed=args.seed, fill=0.85)
    with Timer() as aging:
        report = workload.age(args.steps)
    print(f"  Workload.age({args.steps:,}): {report.summary()}; {used_fraction(machine):.1%} in use; "
          f"{aging.wall:.2f} s wall / {aging.cpu:.2f} s CPU ({args.steps / max(aging.cpu, 1e-9):,.0f} steps/s CPU)")
    with Timer() as filling:
        count = top_up(machine, 0.85, args.seed)
    zone = machine.zone(cma.zone)
    in_cma = cma.count - zone.nr_free_cma
    print(f"  top-up from UPTIME_MIX: {count:,} allocations to {used_fraction(machine):.1%} in use, "
          f"{filling.wall:.2f} s wall / {filling.cpu:.2f} s CPU; CMA area: {in_cma:,} of {cma.count:,} pages "
          "used by movable allocations")
    with Timer() as alloc:
        result = cma_alloc(machine, cma, 25600, 8)

    print(f"  cma_alloc(reserved, 25600, 8) = pfn {result.pfn:#x}, {len(result.migrated):,} blocks migrated: "
          f"{alloc.wall:.3f} s wall / {alloc.cpu:.3f} s CPU  (budget <= 2 s)")
    with Timer() as release:
        cma_release(machine, cma, result.pfn, 25600)
    print(f"  cma_release(25600 pages): {release.wall:.3f} s wall / {release.cpu:.3f} s CPU")
    machine.check_invariants()
    check_cma_invariants(machine)


if __name__ == "__main__":
    main()
