"""Chapter 01's problems: what the buddy allocator does with a sequence of allocations and frees.

Each problem boots a small machine (optionally aged by the chapter's workload), then plays a
random sequence of ``alloc ORDER GFP`` and ``free ptr[i]``.  Frees name an earlier allocation by
its index, never by its pfn, so no question gives another's answer away.  The parts ask for the
pfn of every allocation (or that it fails), the block every free leaves after merging, and the
zone's /proc/buddyinfo line at the end.  The answers are what the model computes, which follows
``__rmqueue_smallest()``, ``expand()``, ``__rmqueue_claim()`` and ``__free_one_page()`` of Linux
6.18 (see :mod:`kernelmem_widgets.model.page_alloc`).
"""

from __future__ import annotations

import numpy as np

from ..model import Machine, procfs
from ..model.errors import AllocationError, InvalidArgument
from ..model.page_alloc.mmzone import MIGRATE_TYPES, MIGRATETYPE_NAMES
from ..model.page_alloc.snapshot import free_block_containing
from ..model.workload import Workload
from .base import Part, Problem, check_count, chapter_generator, part_label, with_defaults

__all__ = ["OPTIONS", "generate"]

#: Options a teacher may set, with their defaults and what each means.
OPTIONS = {
    "ops": (6, "operations per problem"),
    "free_ratio": (0.35, "share of operations that free an earlier allocation"),
    "orders": ("0,1,2,3", "orders an allocation draws from (comma-separated)"),
    "gfp": ("GFP_KERNEL,GFP_HIGHUSER_MOVABLE", "GFP masks an allocation draws from"),
    "age": (0, "steps of the uptime workload before the operations (0: a freshly booted machine)"),
}
PRESET = "linux-6.18-tiny"
MAX_OPS, MAX_AGE = 40, 200_000


def _options(raw: dict) -> dict:
    options = with_defaults("01", raw, OPTIONS)
    options["ops"] = check_count(options["ops"], most=MAX_OPS, what="ops")
    ratio = options["free_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 0.9:
        raise InvalidArgument(f"free_ratio {ratio!r}: expected a number from 0 to 0.9")
    orders = [word.strip() for word in str(options["orders"]).split(",") if word.strip()]
    if not orders or not all(word.isdigit() and int(word) <= 10 for word in orders):
        raise InvalidArgument(f"orders {options['orders']!r}: expected orders 0 to 10, comma-separated (0,1,2,3)")
    options["orders"] = ",".join(orders)
    gfps = [word.strip() for word in str(options["gfp"]).split(",") if word.strip()]
    from ..model.page_alloc.gfp import parse_gfp

    for mask in gfps or ["?"]:
        parse_gfp(mask)
    options["gfp"] = ",".join(gfps)
    age = options["age"]
    if isinstance(age, bool) or not hasattr(age, "__index__") or not 0 <= age.__index__() <= MAX_AGE:
        raise InvalidArgument(f"age {age!r}: expected a number of steps from 0 to {MAX_AGE:,}")
    options["age"] = age.__index__()
    return options



def _problem(number: int, seed: int, options: dict) -> Problem:
    rng = np.random.default_rng(seed)
    machine = Machine.preset(PRESET, seed=seed)
    setup = [f"machine: {machine.describe().splitlines()[0]}"]
    if options["age"]:
        report = Workload(machine, seed=seed).age(options["age"])
        setup += [f"aged: {report.summary()}"]
    zone = machine.zones[-1]
    setup += _state_lines(machine, zone, options["ops"])
    orders = [int(word) for word in options["orders"].split(",")]
    gfps = options["gfp"].split(",")
    parts, live = [], []  # live: (index into ptr[], pfn, order) still allocated
    ops_text = []
    for step in range(options["ops"]):
        letter = part_label(number, step)
        if live and rng.random() < options["free_ratio"]:
            index, pfn, order = live.pop(int(rng.integers(len(live))))
            machine.free_pages(pfn, order)
            ops_text.append(f"{letter}: free ptr[{index}]")
            parts.append(Part(letter, "block", f"after free ptr[{index}]: the free block holding its pages "
                              "(first pfn and order)", free_block_containing(zone, pfn), {"order": order}))
            continue
        order, gfp = int(rng.choice(orders)), str(rng.choice(gfps))
        index = sum(1 for text in ops_text if "= alloc" in text)
        try:
            pfn = machine.alloc_pages(gfp, order)
            live.append((index, pfn, order))
        except AllocationError:
            pfn = None
        ops_text.append(f"{letter}: ptr[{index}] = alloc_pages({gfp}, {order})")
        parts.append(Part(letter, "pfn", f"the pfn of ptr[{index}], or 'fails'", pfn, {"order": order}))
    final = part_label(number, options["ops"])
    line = procfs.render_buddyinfo(machine).splitlines()[-1]
    counts = tuple(int(word) for word in line.split()[4:])
    parts.append(Part(final, "numbers", f"/proc/buddyinfo for zone {zone.name} afterwards (the {len(counts)} "
                      "counts, order 0 first)", counts))
    return Problem(number, f"{options['ops']} operations on zone {zone.name}", tuple(setup + ["operations:"]
                   + ["  " + text for text in ops_text]), tuple(parts))



def _state_lines(machine, zone, depth: int) -> list[str]:
    """What a student needs to predict the answers: the free lists, head first, as deep as the
    operations can reach (each allocation takes at most one block off one list), and the
    migrate type of every pageblock."""
    lines = [f"zone {zone.name}: pfns {zone.start_pfn:#x}-{zone.end_pfn - 1:#x}, watermarks "
             f"min {zone.watermark['min']} low {zone.watermark['low']} high {zone.watermark['high']} pages"]
    blocks = []
    for pfn in range(zone.start_pfn, zone.end_pfn, 1 << zone.pageblock_order):
        blocks.append(MIGRATETYPE_NAMES[zone.pageblock_migratetype(pfn)][0])
    lines.append(f"pageblocks ({1 << zone.pageblock_order} pages each, from pfn {zone.start_pfn:#x}): "
                 + "".join(blocks) + "  (U Unmovable, M Movable, R Reclaimable, H HighAtomic)")
    lines.append("free lists, head first (the allocator takes the head):")
    for migratetype in range(MIGRATE_TYPES):
        for order in range(zone.max_page_order + 1):
            pfns = zone.free_blocks(order, migratetype)
            if pfns:
                shown = " ".join(f"{pfn:#x}" for pfn in pfns[:depth])
                more = f" ... ({len(pfns) - depth} more)" if len(pfns) > depth else ""
                lines.append(f"  order {order:>2} {MIGRATETYPE_NAMES[migratetype]:<11} {shown}{more}")
    return lines


generate = chapter_generator(_options, _problem)
