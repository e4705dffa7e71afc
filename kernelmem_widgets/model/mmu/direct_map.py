"""The direct map: all of RAM mapped once at boot at PAGE_OFFSET, with the largest pages that fit.

``build_direct_map()`` follows ``init_mem_mapping()`` of arch/x86/mm/init.c for x86-64:

1. ``init_memory_mapping(0, ISA_END_ADDRESS)``: the first 1 MiB, always, holes or not;
2. ``memory_map_top_down(1 MiB, max_pfn << PAGE_SHIFT)``: from the top 2 MiB of RAM downwards in
   steps that grow once enough is mapped, each step through ``init_range_memory_mapping()``,
   which calls ``init_memory_mapping()`` once per memblock memory range inside the step;
3. each ``init_memory_mapping(start, end)`` cuts its range with ``split_mem_range()``: a 4 KiB
   head up to the first 2 MiB boundary, 2 MiB pages up to the first 1 GiB boundary, 1 GiB pages
   (with ``X86_FEATURE_GBPAGES``), 2 MiB, a 4 KiB tail; ``adjust_range_page_size_mask()`` lets a
   small piece use the large page when the whole large page is memory; neighbours of one size
   merge; then ``kernel_physical_mapping_init()`` (init_64.c ``phys_pud_init()``,
   ``phys_pmd_init()``, ``phys_pte_init()``) writes the entries, counting each new leaf in
   ``direct_pages_count[]``, which ``arch_report_meminfo()`` prints as DirectMap4k/2M/1G.  An
   entry an earlier call already wrote is reused and, before bootmem, counted again
   (``if (!after_bootmem) pages++``, read in init_64.c of v4.17): when a small piece was widened
   to a large page that a later call covers as well (RAM running up to a 1 GiB boundary, e.g. a
   VM), the DirectMap lines add up to more than the RAM.

The plan (which calls, which page sizes, what they print, the DirectMap counts) is
:mod:`..boot.init_mapping`'s, re-exported here; this module writes it into a page table.  The
input is a plain sequence of firmware ranges ``(start, end, type)`` with ``end`` exclusive and
``type`` an e820 type ("usable" / 1 for RAM, 128 for reserved-kern, anything else is not RAM);
``machine_ram_ranges()`` gives a booted machine's memblock memory (its e820 table after the
command line), or one range per run of zones for a machine built from zones.  As ``e820__memblock_setup()`` and ``trim_bios_range()`` do, memblock memory is
the RAM ranges trimmed to whole pages, without page 0 and without 640 KiB - 1 MiB.

Version differences are data (:data:`DIRECT_MAP_RULES`): the step growth of
``memory_map_top_down()`` (3.9 - 3.x: ``step_size <<= 5`` when a step mapped more than all steps
before it; 6.x: ``step_size <<= PMD_SHIFT - PAGE_SHIFT - 1`` once the mapped total reaches the
step) and whether the lines are printed (``pr_info``/``printk(KERN_DEBUG)`` in 3.x; ``pr_debug``
in 4.x - 6.18, so dmesg shows them only in a kernel built with DEBUG for arch/x86/mm/init.c).  Not modelled:
the "BRK [...] PGTABLE" lines (where each early table page came from), bottom-up mapping with
``movable_node``, Xen, 32-bit kernels' direct map (lowmem; see the highmem model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..boot.init_mapping import (DIRECT_MAP_RULES, E820_TYPE_RAM, E820_TYPE_RESERVED_KERN, GB_PAGES_LINE,
                                 PAGE_SIZE, PG_LEVEL_1G, PG_LEVEL_2M, PMD_SIZE, PUD_SIZE, DirectMapPlan,
                                 DirectMapRules, MappingCall, MapRange, count_direct_pages, memblock_memory,
                                 plan_init_mem_mapping, render_directmap_meminfo, split_mem_range)
from ..errors import InvalidArgument
from ..units import format_size
from .paging import PAGE_KERNEL
from .pagetable import PageTable

__all__ = ["DirectMapRules", "DIRECT_MAP_RULES", "MapRange", "MappingCall", "DirectMap", "memblock_memory",
           "plan_init_mem_mapping", "split_mem_range", "build_direct_map", "machine_ram_ranges",
           "render_directmap_meminfo", "E820_TYPE_RAM", "E820_TYPE_RESERVED_KERN", "count_direct_pages",
           "directmap_meminfo", "direct_map_plan"]

def machine_ram_ranges(machine) -> list[tuple[int, int, str]]:
    """The RAM the direct map covers: a booted machine's memblock memory (its firmware map after the
    command line and ``trim_bios_range()``, as ``e820__memblock_setup()`` filled memblock), else,
    for a machine built from zones, its RAM as one "usable" range per run of zones."""
    boot = getattr(machine, "boot", None)
    if boot is not None:
        return [(start, end, "usable") for start, end in boot.memblock.memory]
    page = machine.page_size
    runs: list[list[int]] = []
    for zone in machine.zones:
        lo, hi = zone.start_pfn * page, zone.end_pfn * page
        if runs and runs[-1][1] == lo:
            runs[-1][1] = hi
        else:
            runs.append([lo, hi])
    return [(lo, hi, "usable") for lo, hi in runs]


@dataclass
class DirectMap:
    """The direct map of one machine: the calls made, the leaves written, the DirectMap counts."""

    page_table: PageTable
    page_offset: int
    calls: list[MappingCall]
    rules: DirectMapRules
    gbpages: bool
    memory: list[tuple[int, int]]
    #: direct_pages_count[]: leaves per page size (bytes -> count)
    pages_count: dict[int, int] = field(default_factory=lambda: {4096: 0, PMD_SIZE: 0, PUD_SIZE: 0})
    #: /proc/vmstat direct_map_level2_splits / direct_map_level3_splits
    splits: dict[str, int] = field(default_factory=lambda: {"direct_map_level2_splits": 0,
                                                           "direct_map_level3_splits": 0})

    def boot_lines(self) -> list[str]:
        """The lines ``init_mem_mapping()`` prints (with ``pr_debug`` enabled on 6.x)."""
        lines = [GB_PAGES_LINE] if self.gbpages else []
        for call in self.calls:
            lines += call.lines(self.rules.line_style)
        return lines

    def virt(self, phys: int) -> int:
        """``__va(phys)``: the direct-map address of a physical address."""
        return self.page_offset + phys

    def meminfo_lines(self) -> str:
        return render_directmap_meminfo(self.pages_count, gbpages=self.gbpages)

    @property
    def mapped_bytes(self) -> int:
        return sum(size * count for size, count in self.pages_count.items())


def build_direct_map(machine, ranges=None, *, gbpages: bool = True, rules: str | DirectMapRules = "6.18",
                     page_table: PageTable | None = None) -> DirectMap:
    """Map the machine's RAM at PAGE_OFFSET as ``init_mem_mapping()`` does; table pages from the buddy.

    ``ranges`` are firmware ranges (default: :func:`machine_ram_ranges`); RAM in them beyond the
    machine's RAM is refused.  The early table pages of a real boot come from BRK and memblock;
    here they are taken from the buddy allocator so that they show in the machine's memory.
    """
    rules = DIRECT_MAP_RULES[rules] if isinstance(rules, str) else rules
    ranges = machine_ram_ranges(machine) if ranges is None else list(ranges)
    calls = plan_init_mem_mapping(ranges, gbpages=gbpages, rules=rules)
    memory = memblock_memory(ranges)
    if memory[-1][1] > machine.nr_pages * machine.page_size:
        raise InvalidArgument(f"the firmware map has RAM up to {memory[-1][1]:#x} but the machine has only "
                              f"{format_size(machine.ram_bytes)}; build the machine with ram >= {memory[-1][1]:#x}")
    table = PageTable(machine, name="init_mm") if page_table is None else page_table
    direct = DirectMap(table, machine.config.page_offset, calls, rules, gbpages, memory)
    for call in calls:
        for piece in call.ranges:
            _physical_mapping_init(direct, piece)
    return direct


def _physical_mapping_init(direct: DirectMap, piece: MapRange) -> None:
    """``kernel_physical_mapping_init()`` for one map_range, entry by entry as init_64.c does."""
    table, offset = direct.page_table, direct.page_offset
    paddr = piece.start
    while paddr < piece.end:
        pud_next = (paddr // PUD_SIZE + 1) * PUD_SIZE
        kind = table.kind_at(offset + paddr, "pud")
        if kind == "none" and piece.page_size_mask & PG_LEVEL_1G:
            table.map_range(offset + paddr // PUD_SIZE * PUD_SIZE, paddr // PUD_SIZE * PUD_SIZE // PAGE_SIZE, 1,
                            "pud", PAGE_KERNEL)
            direct.pages_count[PUD_SIZE] += 1
        elif kind == "leaf" and piece.page_size_mask & PG_LEVEL_1G:
            direct.pages_count[PUD_SIZE] += 1        # reused, and counted again: "if (!after_bootmem) pages++"
        elif kind != "leaf":
            _phys_pmd_init(direct, paddr, min(piece.end, pud_next), piece.page_size_mask)
        paddr = pud_next


def _phys_pmd_init(direct: DirectMap, paddr: int, end: int, mask: int) -> None:
    table, offset = direct.page_table, direct.page_offset
    while paddr < end:
        pmd_next = (paddr // PMD_SIZE + 1) * PMD_SIZE
        kind = table.kind_at(offset + paddr, "pmd")
        if kind == "none" and mask & PG_LEVEL_2M:
            base = paddr // PMD_SIZE * PMD_SIZE
            table.map_range(offset + base, base // PAGE_SIZE, 1, "pmd", PAGE_KERNEL)
            direct.pages_count[PMD_SIZE] += 1
        elif kind == "leaf" and mask & PG_LEVEL_2M and table.kind_at(offset + paddr, "pud") == "table":
            direct.pages_count[PMD_SIZE] += 1        # reused, and counted again
        elif kind != "leaf":
            # phys_pte_init(): every missing PTE of [paddr, min(end, pmd_next)), present ones kept
            stop = min(end, pmd_next)
            count = (stop - paddr) // PAGE_SIZE
            present = table.present_in_table(offset + paddr, count, "pte")
            direct.pages_count[PAGE_SIZE] += int(present.sum())       # present PTEs are counted again too
            edges = np.flatnonzero(np.diff(np.concatenate(([True], present, [True])).astype(np.int8)))
            for first, last in zip(edges[::2], edges[1::2]):      # runs of missing entries
                table.map_range(offset + paddr + int(first) * PAGE_SIZE, paddr // PAGE_SIZE + int(first),
                                int(last - first), "pte", PAGE_KERNEL)
                direct.pages_count[PAGE_SIZE] += int(last - first)
        paddr = pmd_next


def direct_map_plan(machine) -> DirectMapPlan | None:
    """The direct map a machine has or would have, without writing a page table.

    A booted machine: the plan its boot made (``machine.boot.direct_map``); a machine built from
    zones (x86-64 presets): the plan for its RAM, with GB pages as :class:`~.kernel.KernelMmu`
    decides them; None where the model has no direct map plan (a 32-bit machine not booted).
    """
    boot = getattr(machine, "boot", None)
    if boot is not None:
        return boot.direct_map
    if getattr(machine.config, "arch", "x86_64") != "x86_64":
        return None
    calls = plan_init_mem_mapping(machine_ram_ranges(machine), gbpages=True, rules="6.18")
    return DirectMapPlan(tuple(calls), True, "6.x", False)


def directmap_meminfo(machine) -> str:
    """The DirectMap lines of /proc/meminfo: from the page tables once they exist (so set_memory
    splits show), else from the boot's plan (the counts the page tables will have)."""
    plan = direct_map_plan(machine)
    if getattr(machine, "_mmu", None) is not None and (plan is None or plan.arch == "x86_64"):
        return machine.mmu.direct_map.meminfo_lines()
    return "" if plan is None else plan.meminfo_lines()
