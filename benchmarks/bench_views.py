"""What each buddy view costs to recompute after one operation on a 16 GiB machine.

DESIGN.md's budget: recomputing what a view draws after one operation, 16 GiB machine, <= 20 ms.
For each view this prints the median over 20 runs of

* data: the snapshot functions the view draws from (pure numpy, no widget), and
* redraw: the view's whole ``redraw()`` (data, colours, PNG, trait updates; no browser attached),

for three states of the Normal zone (3 GiB of the 16): just booted, aged by 20,000 workload
steps, and a checkerboard (every other page free, nothing mergeable: the most blocks a zone can
have).  Then one lab click (allocate, all four views redrawn once) end to end in Python.

Run with ``python benchmarks/bench_views.py`` (add ``--quick`` to skip the checkerboard).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model import Machine, Zone  # noqa: E402
from kernelmem_widgets.model.page_alloc import snapshot  # noqa: E402
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_MOVABLE  # noqa: E402
from kernelmem_widgets.model.page_alloc.vmstat import fragmentation_index  # noqa: E402
from kernelmem_widgets.model.workload import Workload  # noqa: E402

RUNS = 20
BUDGET_MS = 20.0


def median_ms(step, runs: int = RUNS, before=None) -> float:
    """Median wall time of ``step()`` in milliseconds; ``before()`` (one model operation) is not timed."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def data_steps(model, zone):
    """The snapshot work behind each view, without any widget."""
    trace = model.trace if hasattr(model, "trace") else None

    def fragmentation():
        nr_free = snapshot.free_list_counts(zone).sum(axis=1).tolist()
        return [fragmentation_index(nr_free, order) for order in range(len(nr_free))], zone.largest_free_order()

    return {
        "MemoryMap": lambda: snapshot.downsampled_map(zone, 4096),
        "FreeListBars": lambda: snapshot.free_list_counts(zone),
        "FragmentationPlot": fragmentation,
        "TraceView": (lambda: trace.lines(last=12)) if trace is not None else (lambda: None),
    }


def one_operation(zone):
    """Allocate or free one page (alternately), as a click does; returns the step for ``median_ms``."""
    held: list[int] = []

    def operate():
        if held:
            zone.free_pages(held.pop(), 0)
        else:
            held.append(zone.alloc_pages(0, "Movable"))

    return operate


def report_state(label: str, model, zone) -> None:
    from kernelmem_widgets.views import FragmentationPlot, FreeListBars, MemoryMap, TraceView

    views = {"MemoryMap": MemoryMap(model, zone.name), "FreeListBars": FreeListBars(model, zone.name),
             "FragmentationPlot": FragmentationPlot(model, zone.name), "TraceView": TraceView(model)}
    blocks = sum(zone._area.nr_free) + len(snapshot.allocated_blocks(zone))
    print(f"\n{label}: zone {zone.name}, {zone.spanned_pages:,} pages, {blocks:,} blocks")
    print(f"  {'view':<18} {'data ms':>9} {'redraw ms':>10}   budget {BUDGET_MS:.0f} ms")
    operate = one_operation(zone)
    for name, step in data_steps(model, zone).items():
        data = median_ms(step, before=operate)
        redraw = median_ms(views[name].redraw, before=operate)
        verdict = "ok" if redraw <= BUDGET_MS else "OVER BUDGET"
        print(f"  {name:<18} {data:9.2f} {redraw:10.2f}   {verdict}")
    for view in views.values():
        view.close()


def checkerboard_zone() -> Zone:
    """The Normal zone of a 16 GiB machine with every other page free (built directly, in ~3 s)."""
    start, end = 0x100000, 0x400000
    zone = Zone("Normal", start, end, free_ranges=[], mobility_grouping=True)
    area = zone._area
    for slot in range(0, end - start, 2):
        area.add(slot, 0, MIGRATE_MOVABLE, True)
        zone._commit_alloc(slot + 1, 0, MIGRATE_MOVABLE)
    zone.managed_pages = end - start
    return zone


def report_lab_click() -> None:
    from kernelmem_widgets import BuddyLab

    lab = BuddyLab(Machine.preset("linux-6.18-x86_64", ram="16G"))
    lab.gfp.value = "GFP_HIGHUSER_MOVABLE"
    click = median_ms(lab.alloc_button.click)
    print(f"\nBuddyLab allocate click on 16 GiB (model + 4 views + status, Python side): {click:.2f} ms median")


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"bench_views: median of {RUNS} runs, Python {sys.version.split()[0]}")
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    report_state("16 GiB machine, just booted", machine, machine.zone("Normal"))
    Workload(machine, seed=1).age(20000)
    report_state("16 GiB machine, aged 20,000 steps", machine, machine.zone("Normal"))
    if not quick:
        zone = checkerboard_zone()
        report_state("16 GiB Normal zone, checkerboard (a bare zone)", zone, zone)
    report_lab_click()


if __name__ == "__main__":
    main()
