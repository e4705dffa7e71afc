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

The input is a plain sequence of firmware ranges ``(start, end, type)`` with ``end`` exclusive
and ``type`` an e820 type ("usable" / 1 for RAM, 128 for reserved-kern, anything else is not
RAM), as a boot model's e820 table provides; ``machine_ram_ranges()`` makes one from a
machine's zones.  As ``e820__memblock_setup()`` and ``trim_bios_range()`` do, memblock memory is
the RAM ranges trimmed to whole pages, without page 0 and without 640 KiB - 1 MiB.

Version differences are data (:data:`DIRECT_MAP_RULES`): the step growth of
``memory_map_top_down()`` (3.9 - 3.x: ``step_size <<= 5`` when a step mapped more than all steps
before it; 6.x: ``step_size <<= PMD_SHIFT - PAGE_SHIFT - 1`` once the mapped total reaches the
step) and whether the lines are printed (``pr_info``/``printk(KERN_DEBUG)`` in 3.x; ``pr_debug``
in 6.x, so dmesg shows them only with dynamic debug on for arch/x86/mm/init.c).  Not modelled:
the "BRK [...] PGTABLE" lines (where each early table page came from), bottom-up mapping with
``movable_node``, Xen, 32-bit kernels' direct map (lowmem; see the highmem model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgument
from ..units import format_size
from .paging import PAGE_KERNEL
from .pagetable import PageTable

__all__ = ["DirectMapRules", "DIRECT_MAP_RULES", "MapRange", "MappingCall", "DirectMap", "memblock_memory",
           "plan_init_mem_mapping", "split_mem_range", "build_direct_map", "machine_ram_ranges",
           "render_directmap_meminfo", "E820_TYPE_RAM", "E820_TYPE_RESERVED_KERN"]

E820_TYPE_RAM = 1
E820_TYPE_RESERVED_KERN = 128
_RAM_NAMES = {"usable", "ram", "system ram", "reserved-kern", "reserved kern"}
PAGE_SIZE = 4096
PMD_SIZE = 2 << 20
PUD_SIZE = 1 << 30
ISA_END_ADDRESS = 0x100000
BIOS_BEGIN = 0xA0000
PG_LEVEL_2M = 1 << 2
PG_LEVEL_1G = 1 << 3


@dataclass(frozen=True)
class DirectMapRules:
    """How one kernel version builds the direct map (see the module docstring)."""

    kernel_version: str
    step_shift: int                  # get_new_step_size(): step_size << step_shift
    grow_when_total_reaches_step: bool
    lines_printed: bool              # False: pr_debug, not in dmesg without dynamic debug
    source: str


DIRECT_MAP_RULES = {
    "3.13": DirectMapRules("3.13", 5, False, True,
                           "arch/x86/mm/init.c of 3.9-3.x (torvalds/linux as stored: __init_refok, "
                           "'if (new_mapped_ram_size > mapped_ram_size) step_size = get_new_step_size()' "
                           "with step_size << 5; pr_info/printk(KERN_DEBUG) lines)"),
    "6.18": DirectMapRules("6.18", 21 - 12 - 1, True, False,
                           "arch/x86/mm/init.c of 6.x (gregkh/linux as stored, a 6.4-6.9 tree: "
                           "'if (mapped_ram_size >= step_size)', step_size << (PMD_SHIFT - PAGE_SHIFT - 1), "
                           "pr_debug() for both lines)"),
}


@dataclass(frozen=True)
class MapRange:
    """One ``struct map_range``: [start, end) mapped with one page size."""

    start: int
    end: int
    page_size_mask: int

    @property
    def page_size_name(self) -> str:
        """``page_size_string()``: "1G", "2M" or "4k"."""
        if self.page_size_mask & PG_LEVEL_1G:
            return "1G"
        return "2M" if self.page_size_mask & PG_LEVEL_2M else "4k"

    def line(self) -> str:
        return f" [mem {self.start:#010x}-{self.end - 1:#010x}] page {self.page_size_name}"


@dataclass(frozen=True)
class MappingCall:
    """One ``init_memory_mapping(start, end)`` call and the ranges ``split_mem_range()`` made."""

    start: int
    end: int
    ranges: tuple[MapRange, ...]

    def lines(self) -> list[str]:
        return [f"init_memory_mapping: [mem {self.start:#010x}-{self.end - 1:#010x}]"] + [r.line() for r in self.ranges]


def _is_ram(kind) -> bool:
    if isinstance(kind, str):
        return kind.strip().lower() in _RAM_NAMES
    return kind in (E820_TYPE_RAM, E820_TYPE_RESERVED_KERN)


def memblock_memory(ranges) -> list[tuple[int, int]]:
    """memblock.memory from firmware ranges: RAM only, whole pages, merged, BIOS areas trimmed.

    ``e820__memblock_setup()`` adds E820_TYPE_RAM and E820_TYPE_RESERVED_KERN entries and
    ``memblock_trim_memory(PAGE_SIZE)`` rounds each inwards to pages; ``trim_bios_range()``
    (arch/x86/kernel/setup.c) has already made page 0 reserved ("e820: update [mem
    0x00000000-0x00000fff] usable ==> reserved") and removed 640 KiB - 1 MiB ("e820: remove").
    """
    found = []
    for entry in ranges:
        try:
            start, end, kind = entry
            start, end = int(start), int(end)
        except (TypeError, ValueError):
            raise InvalidArgument(f"firmware range {entry!r} is not (start, end, type)") from None
        if start < 0 or end <= start:
            raise InvalidArgument(f"firmware range [{start:#x}, {end:#x}) is empty or negative; end is exclusive")
        if not _is_ram(kind):
            continue
        for lo, hi in ((start, min(end, BIOS_BEGIN)), (max(start, ISA_END_ADDRESS), end)):
            lo = max(-(-lo // PAGE_SIZE) * PAGE_SIZE, PAGE_SIZE)
            hi = hi // PAGE_SIZE * PAGE_SIZE
            if lo < hi:
                found.append((lo, hi))
    found.sort()
    merged: list[list[int]] = []
    for lo, hi in found:
        if merged and lo <= merged[-1][1]:
            if lo < merged[-1][1]:
                raise InvalidArgument(f"firmware RAM ranges overlap at {lo:#x}")
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    if not merged:
        raise InvalidArgument("the firmware map has no usable RAM above page 0")
    return [(lo, hi) for lo, hi in merged]


def _round_up(x: int, a: int) -> int:
    return -(-x // a) * a


def _region_is_memory(memory, start: int, end: int) -> bool:
    """``memblock_is_region_memory()``: [start, end) inside one memblock memory range."""
    return any(lo <= start and end <= hi for lo, hi in memory)


def split_mem_range(start: int, end: int, page_size_mask: int, memory) -> list[MapRange]:
    """``split_mem_range()`` for x86-64 (arch/x86/mm/init.c, unchanged from 3.9 to 6.18)."""
    ranges: list[list[int]] = []
    pfn_pmd, pfn_pud = PMD_SIZE // PAGE_SIZE, PUD_SIZE // PAGE_SIZE
    limit = end // PAGE_SIZE
    pfn = start_pfn = start // PAGE_SIZE
    end_pfn = min(_round_up(pfn, pfn_pmd), limit)
    if start_pfn < end_pfn:
        ranges.append([start_pfn, end_pfn, 0])
        pfn = end_pfn
    start_pfn = _round_up(pfn, pfn_pmd)
    end_pfn = min(_round_up(pfn, pfn_pud), limit // pfn_pmd * pfn_pmd)
    if start_pfn < end_pfn:
        ranges.append([start_pfn, end_pfn, page_size_mask & PG_LEVEL_2M])
        pfn = end_pfn
    start_pfn = _round_up(pfn, pfn_pud)
    end_pfn = limit // pfn_pud * pfn_pud
    if start_pfn < end_pfn:
        ranges.append([start_pfn, end_pfn, page_size_mask & (PG_LEVEL_2M | PG_LEVEL_1G)])
        pfn = end_pfn
    start_pfn = _round_up(pfn, pfn_pmd)
    end_pfn = limit // pfn_pmd * pfn_pmd
    if start_pfn < end_pfn:
        ranges.append([start_pfn, end_pfn, page_size_mask & PG_LEVEL_2M])
        pfn = end_pfn
    if pfn < limit:
        ranges.append([pfn, limit, 0])
    for piece in ranges:          # adjust_range_page_size_mask(): before bootmem, x86-64
        lo, hi = piece[0] * PAGE_SIZE, piece[1] * PAGE_SIZE
        if page_size_mask & PG_LEVEL_2M and not piece[2] & PG_LEVEL_2M:
            if _region_is_memory(memory, lo // PMD_SIZE * PMD_SIZE, _round_up(hi, PMD_SIZE)):
                piece[2] |= PG_LEVEL_2M
        if page_size_mask & PG_LEVEL_1G and not piece[2] & PG_LEVEL_1G:
            if _region_is_memory(memory, lo // PUD_SIZE * PUD_SIZE, _round_up(hi, PUD_SIZE)):
                piece[2] |= PG_LEVEL_1G
    merged: list[list[int]] = []
    for piece in ranges:
        if merged and merged[-1][1] == piece[0] and merged[-1][2] == piece[2]:
            merged[-1][1] = piece[1]
        else:
            merged.append(list(piece))
    return [MapRange(lo * PAGE_SIZE, hi * PAGE_SIZE, mask) for lo, hi, mask in merged]


def plan_init_mem_mapping(ranges, *, gbpages: bool = True, rules: str | DirectMapRules = "6.18") -> list[MappingCall]:
    """The ``init_memory_mapping()`` calls ``init_mem_mapping()`` makes, in order (x86-64)."""
    rules = DIRECT_MAP_RULES[rules] if isinstance(rules, str) else rules
    memory = memblock_memory(ranges)
    mask = PG_LEVEL_2M | (PG_LEVEL_1G if gbpages else 0)
    calls = [MappingCall(0, ISA_END_ADDRESS, tuple(split_mem_range(0, ISA_END_ADDRESS, mask, memory)))]
    map_start, map_end = ISA_END_ADDRESS, memory[-1][1]

    def init_range(r_start: int, r_end: int) -> int:
        mapped = 0
        for lo, hi in memory:
            start, end = min(max(lo, r_start), r_end), min(max(hi, r_start), r_end)
            if start < end:
                calls.append(MappingCall(start, end, tuple(split_mem_range(start, end, mask, memory))))
                mapped += end - start
        return mapped

    # memblock_find_in_range(map_start, map_end, PMD_SIZE, PMD_SIZE): the highest free 2 MiB block
    blocks = [hi // PMD_SIZE * PMD_SIZE - PMD_SIZE for lo, hi in memory
              if hi // PMD_SIZE * PMD_SIZE - PMD_SIZE >= max(_round_up(lo, PMD_SIZE), map_start)]
    if not blocks:
        raise InvalidArgument("no 2 MiB-aligned 2 MiB block of RAM above 1 MiB: memory_map_top_down() cannot start")
    real_end = max(blocks) + PMD_SIZE
    step, mapped, last_start = PMD_SIZE, 0, real_end
    while last_start > map_start:
        start = max((last_start - 1) // step * step, map_start) if last_start > step else map_start
        new = init_range(start, last_start)
        last_start = start
        if rules.grow_when_total_reaches_step:
            mapped += new
            if mapped >= step:
                step <<= rules.step_shift
        else:
            if new > mapped:
                step <<= rules.step_shift
            mapped += new
    if real_end < map_end:
        init_range(real_end, map_end)
    return calls


def machine_ram_ranges(machine) -> list[tuple[int, int, str]]:
    """Firmware ranges for a machine built from zones: its RAM as one "usable" range per run."""
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
        lines = ["Using GB pages for direct mapping"] if self.gbpages else []
        for call in self.calls:
            lines += call.lines()
        return lines

    def virt(self, phys: int) -> int:
        """``__va(phys)``: the direct-map address of a physical address."""
        return self.page_offset + phys

    def meminfo_lines(self) -> str:
        return render_directmap_meminfo(self.pages_count, gbpages=self.gbpages)

    @property
    def mapped_bytes(self) -> int:
        return sum(size * count for size, count in self.pages_count.items())


def render_directmap_meminfo(pages_count: dict[int, int], *, gbpages: bool) -> str:
    """``arch_report_meminfo()`` (arch/x86/mm/pat/set_memory.c, x86-64 and PAE), as /proc/meminfo ends."""
    text = (f"DirectMap4k:    {pages_count.get(4096, 0) << 2:8d} kB\n"
            f"DirectMap2M:    {pages_count.get(PMD_SIZE, 0) << 11:8d} kB\n")
    if gbpages:
        text += f"DirectMap1G:    {pages_count.get(PUD_SIZE, 0) << 20:8d} kB\n"
    return text


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
