"""The direct map's plan: which ``init_memory_mapping()`` calls the kernel makes, with which page sizes.

Pure arithmetic on the boot's memblock memory (no page table is written here: :mod:`..mmu.direct_map`
does that, from this plan).  x86-64 follows ``init_mem_mapping()`` of arch/x86/mm/init.c:

1. ``probe_page_size_mask()``: 2 MiB pages, and 1 GiB pages with ``X86_FEATURE_GBPAGES``, which it
   announces with ``printk(KERN_INFO "Using GB pages for direct mapping\\n")`` (4.x - 6.18);
2. ``init_memory_mapping(0, ISA_END_ADDRESS)``: the first 1 MiB, always, holes or not;
3. ``memory_map_top_down(1 MiB, max_pfn << PAGE_SHIFT)``: from the top 2 MiB of RAM downwards in
   steps that grow once enough is mapped, each step through ``init_range_memory_mapping()``,
   which calls ``init_memory_mapping()`` once per memblock memory range inside the step;
4. each ``init_memory_mapping(start, end)`` cuts its range with ``split_mem_range()``: a 4 KiB
   head up to the first 2 MiB boundary, 2 MiB pages up to the first 1 GiB boundary, 1 GiB pages
   (with GB pages), 2 MiB, a 4 KiB tail; ``adjust_range_page_size_mask()`` lets a small piece use
   the large page when the whole large page is memory; neighbours of one size merge.

Version differences are data (:data:`DIRECT_MAP_RULES`): the step growth of
``memory_map_top_down()`` (3.9 - 3.x: ``step_size <<= 5`` when a step mapped more than all steps
before it; 6.x: ``step_size <<= PMD_SHIFT - PAGE_SHIFT - 1`` once the mapped total reaches the
step) and how the lines are printed: 2.6.28 - 3.7 ``printk(KERN_INFO "init_memory_mapping:
%016lx-%016lx\\n")`` and ``printk(KERN_DEBUG " %010lx - %010lx page %s\\n")`` (end exclusive,
read in a 2.6.3x arch/x86/mm/init.c); 3.8 - 3.x ``init_memory_mapping: [mem %#010lx-%#010lx]`` and
`` [mem %#010lx-%#010lx] page %s`` (end inclusive); 4.x - 6.18 the same words by ``pr_debug()``,
so a distribution kernel's dmesg does not show them (``dyndbg=`` on the command line is applied by
``dynamic_debug_init()``, an early initcall, long after ``setup_arch()``).

32-bit kernels of 2.6.3x map lowmem in one call, ``init_memory_mapping(0, max_low_pfn <<
PAGE_SHIFT)`` (arch/x86/kernel/setup.c), split by the 32-bit branch of the same code: 4 KiB pages
up to the first PMD boundary (from 0: the whole first PMD), large pages (4 MiB without PAE,
printed as "2M": ``page_size_string()`` names the PG_LEVEL_2M bit) up to the last PMD boundary,
a 4 KiB tail.

``count_direct_pages()`` gives ``direct_pages_count[]`` (what ``arch_report_meminfo()`` prints
as DirectMap4k/2M/1G, or DirectMap4k/4M on a 32-bit kernel without PAE) from the plan alone,
the way init_64.c's ``phys_pud_init()``/``phys_pmd_init()``/``phys_pte_init()`` count while
they write the entries (a reused entry is counted again before bootmem: ``if (!after_bootmem)
pages++``, v4.17 init_64.c), so /proc/meminfo can be rendered without building page tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidArgument

__all__ = ["DirectMapRules", "DIRECT_MAP_RULES", "MapRange", "MappingCall", "DirectMapPlan", "memblock_memory",
           "plan_init_mem_mapping", "plan_init_mem_mapping_i386", "split_mem_range", "split_mem_range_i386",
           "count_direct_pages", "render_directmap_meminfo", "E820_TYPE_RAM", "E820_TYPE_RESERVED_KERN",
           "LINE_STYLES", "GB_PAGES_LINE"]

GB_PAGES_LINE = "Using GB pages for direct mapping"
#: how init_memory_mapping() prints a call and its ranges, by kernel generation
LINE_STYLES = ("2.6", "3.x", "6.x")

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
    line_style: str = "3.x"          # one of LINE_STYLES


DIRECT_MAP_RULES = {
    "3.13": DirectMapRules("3.13", 5, False, True,
                           "arch/x86/mm/init.c of 3.9-3.x (torvalds/linux as stored: __init_refok, "
                           "'if (new_mapped_ram_size > mapped_ram_size) step_size = get_new_step_size()' "
                           "with step_size << 5; pr_info/printk(KERN_DEBUG) lines)"),
    "6.18": DirectMapRules("6.18", 21 - 12 - 1, True, False,
                           "arch/x86/mm/init.c of 6.x (gregkh/linux as stored, a 6.4-6.9 tree: "
                           "'if (mapped_ram_size >= step_size)', step_size << (PMD_SHIFT - PAGE_SHIFT - 1), "
                           "pr_debug() for both lines)", "6.x"),
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

    def line(self, style: str = "3.x") -> str:
        if style == "2.6":
            return f" {self.start:010x} - {self.end:010x} page {self.page_size_name}"
        return f" [mem {self.start:#010x}-{self.end - 1:#010x}] page {self.page_size_name}"


@dataclass(frozen=True)
class MappingCall:
    """One ``init_memory_mapping(start, end)`` call and the ranges ``split_mem_range()`` made."""

    start: int
    end: int
    ranges: tuple[MapRange, ...]

    def lines(self, style: str = "3.x") -> list[str]:
        if style == "2.6":
            head = f"init_memory_mapping: {self.start:016x}-{self.end:016x}"
        else:
            head = f"init_memory_mapping: [mem {self.start:#010x}-{self.end - 1:#010x}]"
        return [head] + [r.line(style) for r in self.ranges]


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


PMD_SIZE_NONPAE = 4 << 20


def split_mem_range_i386(start: int, end: int, pse: bool = True, pmd_size: int = PMD_SIZE_NONPAE) -> list[MapRange]:
    """The 32-bit branch of ``init_memory_mapping()`` (2.6.3x arch/x86/mm/init.c), NR_RANGE_MR 3.

    A 4 KiB head up to the first PMD boundary (from 0: the whole first PMD, "if (pos == 0)
    end_pfn = 1<<(PMD_SHIFT - PAGE_SHIFT)"), large pages to the last PMD boundary below ``end``,
    a 4 KiB tail; ranges of one size that touch are merged.
    """
    pfn_pmd = pmd_size // PAGE_SIZE
    mask = PG_LEVEL_2M if pse else 0
    pieces: list[list[int]] = []
    pos_pfn = start // PAGE_SIZE
    end_pfn = pfn_pmd if pos_pfn == 0 else _round_up(pos_pfn, pfn_pmd)
    end_pfn = min(end_pfn, end // PAGE_SIZE)
    if pos_pfn < end_pfn:
        pieces.append([pos_pfn, end_pfn, 0])
        pos_pfn = end_pfn
    big_start, big_end = _round_up(pos_pfn, pfn_pmd), end // pmd_size * pfn_pmd
    if big_start < big_end:
        pieces.append([big_start, big_end, mask])
        pos_pfn = big_end
    if pos_pfn < end // PAGE_SIZE:
        pieces.append([pos_pfn, end // PAGE_SIZE, 0])
    merged: list[list[int]] = []
    for piece in pieces:
        if merged and merged[-1][1] == piece[0] and merged[-1][2] == piece[2]:
            merged[-1][1] = piece[1]
        else:
            merged.append(piece)
    return [MapRange(lo * PAGE_SIZE, hi * PAGE_SIZE, m) for lo, hi, m in merged]


def plan_init_mem_mapping_i386(max_low_pfn: int, *, pse: bool = True,
                               pmd_size: int = PMD_SIZE_NONPAE) -> list[MappingCall]:
    """2.6.3x ``setup_arch()`` on 32-bit: ``max_low_pfn_mapped = init_memory_mapping(0, max_low_pfn<<PAGE_SHIFT)``."""
    if max_low_pfn <= 0:
        raise InvalidArgument(f"max_low_pfn {max_low_pfn}: there is no lowmem to map")
    end = max_low_pfn * PAGE_SIZE
    return [MappingCall(0, end, tuple(split_mem_range_i386(0, end, pse, pmd_size)))]


def count_direct_pages(calls, *, arch: str = "x86_64", pmd_size: int = PMD_SIZE) -> dict[int, int]:
    """``direct_pages_count[]`` after the calls, as ``kernel_physical_mapping_init()`` counts.

    x86-64 (init_64.c): a 1 GiB leaf is written where the PUD is empty, and counted again where
    a 1 GiB range meets one already there; else the PMD level: a 2 MiB leaf where the PMD is empty
    (again where one is there); else every PTE of the piece, present or not, is counted (present
    ones are reused and counted again before bootmem).  32-bit: each range's pages of its size.
    """
    if arch not in ("x86_64", "i386"):
        raise InvalidArgument(f"arch {arch!r}: accepted: 'x86_64' or 'i386'")
    if arch == "i386":
        counts = {PAGE_SIZE: 0, pmd_size: 0}
        for call in calls:
            for piece in call.ranges:
                size = pmd_size if piece.page_size_mask & PG_LEVEL_2M else PAGE_SIZE
                counts[size] += (piece.end - piece.start) // size
        return counts
    counts = {PAGE_SIZE: 0, PMD_SIZE: 0, PUD_SIZE: 0}
    puds: dict[int, str] = {}
    pmds: dict[int, str] = {}
    for call in calls:
        for piece in call.ranges:
            mask, paddr = piece.page_size_mask, piece.start
            while paddr < piece.end:
                pud_index, pud_next = paddr // PUD_SIZE, (paddr // PUD_SIZE + 1) * PUD_SIZE
                kind = puds.get(pud_index, "none")
                if mask & PG_LEVEL_1G and kind != "table":
                    puds[pud_index] = "leaf"
                    counts[PUD_SIZE] += 1
                elif kind != "leaf":
                    puds[pud_index] = "table"
                    stop = min(piece.end, pud_next)
                    while paddr < stop:
                        pmd_index, pmd_next = paddr // PMD_SIZE, (paddr // PMD_SIZE + 1) * PMD_SIZE
                        pmd_kind = pmds.get(pmd_index, "none")
                        if mask & PG_LEVEL_2M and pmd_kind != "table":
                            pmds[pmd_index] = "leaf"
                            counts[PMD_SIZE] += 1
                        elif pmd_kind != "leaf":
                            pmds[pmd_index] = "table"
                            counts[PAGE_SIZE] += (min(stop, pmd_next) - paddr) // PAGE_SIZE
                        paddr = pmd_next
                paddr = pud_next
    return counts


def render_directmap_meminfo(pages_count: dict[int, int], *, gbpages: bool, arch: str = "x86_64") -> str:
    """``arch_report_meminfo()`` (arch/x86/mm/pat/set_memory.c): the last lines of /proc/meminfo.

    x86-64 and PAE: DirectMap4k and DirectMap2M (``<< 11``), DirectMap1G with GB pages; a 32-bit
    kernel without PAE: DirectMap4k and DirectMap4M (``direct_pages_count[PG_LEVEL_2M] << 12``).
    """
    if arch not in ("x86_64", "i386"):
        raise InvalidArgument(f"arch {arch!r}: accepted: 'x86_64' or 'i386'")
    text = f"DirectMap4k:    {pages_count.get(PAGE_SIZE, 0) << 2:8d} kB\n"
    if arch == "i386":
        return text + f"DirectMap4M:    {pages_count.get(PMD_SIZE_NONPAE, 0) << 12:8d} kB\n"
    text += f"DirectMap2M:    {pages_count.get(PMD_SIZE, 0) << 11:8d} kB\n"
    if gbpages:
        text += f"DirectMap1G:    {pages_count.get(PUD_SIZE, 0) << 20:8d} kB\n"
    return text


@dataclass(frozen=True)
class DirectMapPlan:
    """What a boot decided about the direct map: the calls, GB pages, how the kernel prints them."""

    calls: tuple[MappingCall, ...]
    gbpages: bool
    style: str
    printed: bool
    arch: str = "x86_64"
    pmd_size: int = PMD_SIZE

    def lines(self) -> list[str]:
        """Every line ``init_mem_mapping()`` would print (``printed`` says whether dmesg shows the calls)."""
        head = [GB_PAGES_LINE] if self.gbpages and self.arch == "x86_64" else []
        return head + [line for call in self.calls for line in call.lines(self.style)]

    def dmesg_lines(self) -> list[str]:
        """The lines a kernel of this generation leaves in dmesg (pr_debug ones are not there)."""
        if self.printed:
            return self.lines()
        return [GB_PAGES_LINE] if self.gbpages and self.arch == "x86_64" else []

    @property
    def pages_count(self) -> dict[int, int]:
        return count_direct_pages(self.calls, arch=self.arch, pmd_size=self.pmd_size)

    def meminfo_lines(self) -> str:
        return render_directmap_meminfo(self.pages_count, gbpages=self.gbpages, arch=self.arch)
