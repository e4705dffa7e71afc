"""Booting from a firmware map and a command line: the memory part of ``setup_arch()`` and ``mm_core_init()``.

The order is arch/x86/kernel/setup.c's (6.x; 2.6.3x where :class:`KernelBuild` says so):
``e820__memory_setup()`` prints the firmware map; ``parse_early_param()`` and
``e820__finish_early_params()`` apply ``mem=``/``memmap=`` (:mod:`.early`); ``trim_bios_range()``
turns the first page (2.6.3x: the first 64 KiB, X86_RESERVE_LOW) into reserved and removes the
640 KiB-1 MiB BIOS area from RAM; ``e820__end_of_ram_pfn()`` prints ``last_pfn``; on i386
``find_low_pfn_range()`` caps lowmem at MAXMEM and prints ``NMB HIGHMEM/LOWMEM available``;
``e820__memblock_setup()`` fills memblock; the kernel's early reservations are made (its image at
CONFIG_PHYSICAL_START 16 MiB, the first 1 MiB by ``reserve_real_mode()`` on 6.x, the first page
and the EBDA on 2.6.3x, ``crashkernel=``, ``cma=``, the memmap of ``sparse_init()`` on 6.x, the
node's flat ``mem_map`` on 2.6.3x i386, the 64 MiB swiotlb below 4 GiB when RAM goes above it);
``free_area_init()`` prints the zone ranges (mm/mm_init.c: ``Zone ranges:``, ``Early memory node
ranges``, ``On node 0, zone X: N pages in unavailable ranges``; 2.6.3x ``Zone PFN ranges:`` and
``early_node_map[N] active PFN ranges``), ``e820__setup_pci_gap()`` the PCI window, and
``memblock_free_all()`` hands every free page to the buddy allocator before
``mem_init_print_info()`` prints ``Memory: ...K/...K available``.

``init_mem_mapping()`` (x86-64) or the 32-bit ``init_memory_mapping(0, max_low_pfn << 12)``
plans the direct map from memblock memory (:mod:`.init_mapping`) right after the low
reservations, printing what that version prints; on 2.6.3x i386 ``initmem_init()`` then prints
``NMB HIGHMEM/LOWMEM available.`` and ``setup_bootmem_allocator()`` the ``low ram`` lines.

The ``Memory:`` line is ``mem_init_print_info()``'s arithmetic on the model's memblock
(:func:`.bootlog.mem_init_print_info`); given every reservation a real boot made (a
``memblock=debug`` log, :func:`.memblock.replay_debug_log`) it is the real line to the KiB.
What is NOT modelled among the reservations of a boot from a firmware map alone: page tables of
the direct map (BRK and ``alloc_low_pages()``), per-CPU areas, NODE_DATA, the sparse section
arrays, swiotlb's slot array, ACPI tables in RAM, the initrd, the many small early allocations;
so ``available`` and ``reserved`` are the model's (within a few MiB of a real kernel's), while the
total (``/...K``) is the kernel's exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidArgument
from .cmdline import InvalidBootParameter, parse_crashkernel
from .e820 import E820_TYPE_RAM, E820_TYPE_RESERVED, E820_TYPE_RESERVED_KERN, E820Table
from .early import BOOT_RULES, BootRules, EarlyResult, apply_cmdline
from .init_mapping import PMD_SIZE_NONPAE, DirectMapPlan, plan_init_mem_mapping, plan_init_mem_mapping_i386
from .memblock import Memblock

__all__ = ["KernelBuild", "KERNEL_BUILDS", "HIGHMEM_MESSAGES", "BootResult", "boot_memory", "pages_to_mb"]

_MiB = 1 << 20
PAGES_PER_SECTION = 1 << (27 - 12)          # SECTION_SIZE_BITS 27 on x86-64 (128 MiB)


@dataclass(frozen=True)
class KernelBuild:
    """The kernel image and the boot-time rules of one preset (sizes as its ``Memory:`` line printed them).

    6.x sizes: a distribution 5.16 kernel's ``Memory:`` line (16394K kernel code, 3568K rwdata,
    10324K rodata, 2676K init, 4924K bss; LKML, John Dorminy, 2021-12-09).  2.6.3x i386: the
    2.6.37 A7V8X report (4035k code, 1528k data, 320k init; LKML, Matthias Merz, 2011-01); its
    bss size is not printed there, 600 KiB is assumed.
    """

    rules: str
    phys_start: int = 16 * _MiB
    code: int = 16394 << 10
    rwdata: int = 3568 << 10
    rodata: int = 10324 << 10
    init: int = 2676 << 10
    bss: int = 4924 << 10
    section_align: int = 2 * _MiB
    #: reserve_real_mode(): memblock_reserve(0, SZ_1M) on 6.x; 2.6.3x reserves the BIOS data page and EBDA
    low_reserved: tuple[tuple[int, int, str], ...] = ((0, _MiB, "reserve_real_mode: first 1 MiB"),)
    struct_page: int = 64
    sparse_vmemmap: bool = True
    zone_device: bool = True
    print_style: str = "6.x"
    #: i386: PAGE_OFFSET, VMALLOC_END (PKMAP_BASE - 2 pages) and the default __VMALLOC_RESERVE
    page_offset: int = 0
    vmalloc_end: int = 0
    vmalloc_reserve: int = 128 * _MiB
    #: the CPU has X86_FEATURE_GBPAGES (x86-64): 1 GiB pages in the direct map (the Skylake of the TLB model)
    gbpages: bool = True
    #: which highmem= messages init_32.c prints (:data:`HIGHMEM_MESSAGES`)
    highmem_messages: str = "6.18"
    #: pages x86-64 ``mem_init()`` takes from the buddy allocator before the Memory: line
    #: (``preallocate_vmalloc_pages()``, 4-level: 32 TiB / 512 GiB = 64 PUD pages)
    vmalloc_prealloc_pages: int = 64

    @property
    def image_size(self) -> int:
        return self.code + self.rodata + self.rwdata + self.init + self.bss


KERNEL_BUILDS = {
    "6.x": KernelBuild("6.x"),
    "2.6-i386": KernelBuild("2.6-i386", code=4035 << 10, rwdata=1528 << 10, rodata=0, init=320 << 10, bss=600 << 10,
                            section_align=4096, low_reserved=((0, 4096, "BIOS data page"),
                                                              (0x9F000, 0x61000, "EBDA and BIOS area")),
                            struct_page=32, sparse_vmemmap=False, zone_device=False, print_style="2.6",
                            page_offset=0xC0000000, vmalloc_end=0xFF7FE000, gbpages=False,
                            highmem_messages="2.6.35", vmalloc_prealloc_pages=0),
}

#: What ``lowmem_pfn_init()`` / ``highmem_pfn_init()`` (arch/x86/mm/init_32.c) print about
#: ``highmem=``.  2.6.35: the MSG_* macros as they stand from 2.6.28 on (MSG_HIGHMEM_TRIMMED
#: "Use a HIGHMEM64G enabled kernel!"); 6.18: the same macros, MSG_HIGHMEM_TRIMMED reworded when
#: CONFIG_HIGHMEM64G was removed in 6.15 ("x86/mm: Remove CONFIG_HIGHMEM64G support"; the text
#: as fixed by Lukas Bulwahn's follow-up, 2025).  Read in init_32.c copies of both generations.
HIGHMEM_MESSAGES = {
    "2.6.35": {
        "too_big": "highmem size ({highmem}MB) is bigger than pages available ({available}MB)!",
        "lowmem_too_small": "highmem size ({highmem}MB) results in <64MB lowmem, ignoring it!",
        "highmem_too_small": "only {available}MB highmem pages available, ignoring highmem size of {highmem}MB!",
        "trimmed": "Warning: only 4GB will be used. Use a HIGHMEM64G enabled kernel!",
    },
    "6.18": {
        "too_big": "highmem size ({highmem}MB) is bigger than pages available ({available}MB)!",
        "lowmem_too_small": "highmem size ({highmem}MB) results in <64MB lowmem, ignoring it!",
        "highmem_too_small": "only {available}MB highmem pages available, ignoring highmem size of {highmem}MB!",
        "trimmed": "Warning: only 4GB will be used. Support for CONFIG_HIGHMEM64G was removed!",
    },
}


def pages_to_mb(pages: int) -> int:
    """``pages_to_mb()``: pages >> (20 - PAGE_SHIFT)."""
    return pages >> 8


@dataclass
class BootResult:
    """Everything a boot decided: tables, memblock, pfn limits, zone spans and the log."""

    firmware: E820Table
    table: E820Table
    early: EarlyResult
    memblock: Memblock
    build: KernelBuild
    rules: BootRules
    max_pfn: int
    max_low_pfn: int
    zone_spans: list[tuple[str, int, int]]
    free_pfn_ranges: list[tuple[int, int]]
    lines: list[str] = field(default_factory=list)
    kernel_sections: dict[str, tuple[int, int]] = field(default_factory=dict)
    crashkernel: tuple[int, int] | None = None
    cma: tuple[int, int] | None = None
    pci_gap: tuple[int, int] | None = None
    vmalloc_start: int | None = None
    vmalloc_end: int | None = None
    #: the direct map ``init_mem_mapping()`` plans (:class:`.init_mapping.DirectMapPlan`)
    direct_map: DirectMapPlan | None = None

    @property
    def physpages(self) -> int:
        return self.memblock.memory_size // 4096

    @property
    def memory_ranges(self) -> list[tuple[int, int]]:
        """memblock.memory as pfn ranges (what ``Early memory node ranges`` prints)."""
        return [(s // 4096, e // 4096) for s, e in self.memblock.memory]


def _x86_64_limits(table: E820Table, rules: BootRules, lines: list[str]) -> tuple[int, int]:
    max_arch_pfn = 1 << (rules.max_phys_bits - 12)
    max_pfn = table.end_ram_pfn(max_arch_pfn, max_arch_pfn, rules.end_pfn_types)
    lines.append(f"last_pfn = {max_pfn:#x} max_arch_pfn = {max_arch_pfn:#x}")
    if max_pfn > 1 << 20:
        low = table.end_ram_pfn(1 << 20, max_arch_pfn, rules.end_pfn_types)
        lines.append(f"last_pfn = {low:#x} max_arch_pfn = {max_arch_pfn:#x}")
    return max_pfn, max_pfn          # init_mem_mapping(): max_low_pfn = max_pfn on 64-bit


def _i386_limits(table, rules, build: KernelBuild, early: EarlyResult, lines) -> tuple[int, int]:
    """``find_low_pfn_range()`` of arch/x86/mm/init_32.c: ``lowmem_pfn_init()`` when all RAM fits
    below MAXMEM, else ``highmem_pfn_init()``, with ``highmem=`` (``highmem_pages``, -1 when not
    given) and the messages of :data:`HIGHMEM_MESSAGES` (printk KERN_ERR / KERN_WARNING).

    The ``NMB HIGHMEM available.`` / ``NMB LOWMEM available.`` lines are ``initmem_init()``'s,
    printed later, after ``init_memory_mapping()`` (see :func:`boot_memory`).
    """
    max_arch_pfn = 1 << (rules.max_phys_bits - 12)
    max_pfn = table.end_ram_pfn(max_arch_pfn, max_arch_pfn, rules.end_pfn_types)
    lines.append(f"last_pfn = {max_pfn:#x} max_arch_pfn = {max_arch_pfn:#x}")
    reserve = build.vmalloc_reserve if early.params.vmalloc is None else early.params.vmalloc + 8 * _MiB
    maxmem = build.vmalloc_end - build.page_offset - reserve
    if maxmem < 64 * _MiB:
        raise InvalidBootParameter(f"vmalloc={early.params.vmalloc:#x} leaves {max(maxmem, 0) >> 20} MiB of lowmem "
                                   "(MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE): the kernel cannot "
                                   "boot; accepted: vmalloc= below about 880M", param="vmalloc")
    messages = HIGHMEM_MESSAGES[build.highmem_messages]
    maxmem_pfn = maxmem >> 12
    # "static unsigned int highmem_pages = -1": memparse(arg) >> PAGE_SHIFT, kept in 32 bits
    highmem_pages = -1 if early.params.highmem is None else (early.params.highmem >> 12) & 0xFFFFFFFF
    if max_pfn > maxmem_pfn:                                  # highmem_pfn_init()
        max_low_pfn = maxmem_pfn
        if highmem_pages == -1:
            highmem_pages = max_pfn - maxmem_pfn
        if highmem_pages + maxmem_pfn < max_pfn:
            max_pfn = maxmem_pfn + highmem_pages
        if highmem_pages + maxmem_pfn > max_pfn:
            lines.append(messages["highmem_too_small"].format(available=pages_to_mb(max_pfn - maxmem_pfn),
                                                              highmem=pages_to_mb(highmem_pages)))
            highmem_pages = 0
        if max_pfn > 1 << 20:                                 # MAX_NONPAE_PFN, !CONFIG_HIGHMEM64G
            max_pfn = 1 << 20
            lines.append(messages["trimmed"])
    else:                                                     # lowmem_pfn_init()
        max_low_pfn = max_pfn
        if highmem_pages == -1:
            highmem_pages = 0
        if highmem_pages >= max_pfn:
            lines.append(messages["too_big"].format(highmem=pages_to_mb(highmem_pages),
                                                    available=pages_to_mb(max_pfn)))
            highmem_pages = 0
        if highmem_pages:
            if max_low_pfn - highmem_pages < (64 * _MiB) >> 12:
                lines.append(messages["lowmem_too_small"].format(highmem=pages_to_mb(highmem_pages)))
                highmem_pages = 0
            max_low_pfn -= highmem_pages
    return max_pfn, max_low_pfn


def _initmem_lines(result: "BootResult") -> list[str]:
    """2.6.3x i386 ``initmem_init()`` and ``setup_bootmem_allocator()`` (CONFIG_NO_BOOTMEM): after the
    direct map is built, ``max_pfn_mapped`` = ``max_low_pfn``."""
    highstart = result.max_low_pfn if result.max_pfn > result.max_low_pfn else result.max_pfn
    return [f"{pages_to_mb(result.max_pfn - highstart)}MB HIGHMEM available.",
            f"{pages_to_mb(result.max_low_pfn)}MB LOWMEM available.",
            f"  mapped low ram: 0 - {result.max_low_pfn << 12:08x}",
            f"  low ram: 0 - {result.max_low_pfn << 12:08x}"]


def _direct_map(result: "BootResult") -> None:
    """``init_mem_mapping()`` (x86-64) or 2.6.3x 32-bit ``init_memory_mapping(0, max_low_pfn << 12)``."""
    build = result.build
    if result.rules.arch == "i386":
        calls = plan_init_mem_mapping_i386(result.max_low_pfn)
        result.direct_map = DirectMapPlan(tuple(calls), False, "2.6", True, "i386", PMD_SIZE_NONPAE)
    else:
        ranges = [(start, end, "usable") for start, end in result.memblock.memory]
        calls = plan_init_mem_mapping(ranges, gbpages=build.gbpages, rules="6.18")
        result.direct_map = DirectMapPlan(tuple(calls), build.gbpages, "6.x", False)
    result.lines += result.direct_map.dmesg_lines()
    if result.rules.arch == "i386":
        result.lines += _initmem_lines(result)


def _zone_spans(zone_names, max_pfn, max_low_pfn, min_pfn, arch) -> list[tuple[str, int, int]]:
    """``zone_sizes_init()`` (arch/x86/mm/init.c): DMA < 16 MiB, DMA32 < 4 GiB, Normal to max_low_pfn, HighMem."""
    limits = {"DMA": min(0x1000, max_low_pfn), "DMA32": min(1 << 20, max_low_pfn), "Normal": max_low_pfn,
              "HighMem": max_pfn}
    spans, low = [], min_pfn
    for name in zone_names:
        if name not in limits:
            continue
        high = max(limits[name], low)
        spans.append((name, low, high))
        low = high
    return spans


def boot_memory(preset, firmware: E820Table, cmdline: str = "", *, strict: bool = True) -> BootResult:
    """Boot ``preset``'s kernel on ``firmware`` with ``cmdline``; nothing is built until it all checks out."""
    rules = BOOT_RULES[preset.boot_rules]
    build = KERNEL_BUILDS[preset.boot_rules]
    style = rules.style
    lines = [style.header_bios] + firmware.lines("BIOS-e820", style)
    early = apply_cmdline(firmware, cmdline, rules, strict=strict)
    lines += early.lines
    table = early.table.copy()
    # trim_bios_range(): the first page(s) are the BIOS's; 640K-1M is never RAM
    _size, line = table.range_update(0, rules.low_reserve, E820_TYPE_RAM, E820_TYPE_RESERVED, style)
    lines.append(line)
    _size, line = table.range_remove(0xA0000, 0x60000, E820_TYPE_RAM, True, style)
    if line is not None:
        lines.append(line)
    table.update_table()
    if rules.arch == "i386":
        max_pfn, max_low_pfn = _i386_limits(table, rules, build, early, lines)
    else:
        max_pfn, max_low_pfn = _x86_64_limits(table, rules, lines)
    if max_pfn == 0:
        raise InvalidBootParameter("no usable RAM is left in the e820 map: the kernel has nothing to run in",
                                   param="mem")
    memblock = Memblock(bottom_up=False)
    for entry in table:
        if entry.type in (E820_TYPE_RAM, E820_TYPE_RESERVED_KERN) and entry.addr < max_pfn << 12:
            memblock.add(entry.addr, min(entry.end, max_pfn << 12) - entry.addr)
    memblock.trim_memory()
    if memblock.memory_size == 0:
        raise InvalidBootParameter("memblock has no memory after trimming to whole pages", param="mem")
    result = BootResult(firmware, table, early, memblock, build, rules, max_pfn, max_low_pfn, [], [], lines)
    _kernel_image(result)
    for base, size, owner in build.low_reserved:
        memblock.reserve(base, size, owner)
    _direct_map(result)
    _crashkernel_and_cma(result)
    _cma_reserve(result, preset)
    _memmap(result, preset)
    if rules.arch == "i386":
        result.vmalloc_start = build.page_offset + (max_low_pfn << 12) + 8 * _MiB
        result.vmalloc_end = build.vmalloc_end
    min_pfn = memblock.memory[0][0] // 4096
    result.zone_spans = _zone_spans(preset.zone_names, max_pfn, max_low_pfn, min_pfn, rules.arch)
    from .bootlog import zone_lines
    lines += zone_lines(result)
    if max_pfn > 1 << 20 and rules.arch != "i386":
        base = memblock.phys_alloc(64 * _MiB, 1 << 11, 0, 1 << 32, owner="swiotlb")
        if base is not None:
            lines.append(f"software IO TLB: mapped [mem {base:#018x}-{base + (64 << 20):#018x}] (64MB)")
    result.free_pfn_ranges = memblock.free_all()
    from .bootlog import memory_line
    lines.append(memory_line(result))
    return result


def _kernel_image(result: BootResult) -> None:
    build, memblock = result.build, result.memblock
    align = build.section_align
    position = build.phys_start
    sections = {}
    for name, size in (("Kernel code", build.code), ("Kernel rodata", build.rodata), ("Kernel data", build.rwdata),
                       ("init", build.init), ("Kernel bss", build.bss)):
        if size:
            sections[name] = (position, position + size)
            position = -(-(position + size) // align) * align if name != "Kernel bss" else position + size
    end = max(e for _s, e in sections.values())
    if not any(s <= build.phys_start and end <= e for s, e in memblock.memory):
        raise InvalidBootParameter(
            f"the kernel image ({build.phys_start:#x}-{end - 1:#x}) is not in usable RAM after the command line: "
            "the boot loader put it there, so mem=/memmap= must leave it usable", param="mem")
    memblock.reserve(build.phys_start, -(-(end - build.phys_start) // 4096) * 4096, "kernel image")
    result.kernel_sections = {k: v for k, v in sections.items() if k != "init"}


def _crashkernel_and_cma(result: BootResult) -> None:
    params, memblock = result.early.params, result.memblock
    if params.crashkernel is not None:
        request = parse_crashkernel(params.crashkernel, memblock.memory_size)
        if request.size:
            if request.base is not None:
                if memblock.find_in_range(request.size, 4096, request.base, request.base + request.size) != \
                        request.base:
                    raise InvalidBootParameter(f"crashkernel={request.text}: the range at {request.base:#x} is not "
                                               "free RAM (the kernel prints 'crashkernel reservation failed - memory "
                                               "is in use.')", param="crashkernel",
                                               kernel_line="crashkernel reservation failed - memory is in use.")
                memblock.reserve(request.base, request.size, "crashkernel")
                base = request.base
            else:
                low_max = 1 << 32 if not request.high else 1 << 46
                base = memblock.phys_alloc(request.size, 16 * _MiB, 16 * _MiB, low_max, owner="crashkernel")
                if base is None:
                    raise InvalidBootParameter(f"crashkernel={request.text}: no {request.size >> 20} MiB free "
                                               "(the kernel prints 'crashkernel reservation failed - No suitable "
                                               "area found.')", param="crashkernel",
                                               kernel_line="crashkernel reservation failed - No suitable area found.")
            result.crashkernel = (base, request.size)
            result.lines.append(f"crashkernel reserved: {base:#018x} - {base + request.size:#018x} "
                                f"({request.size >> 20} MB)")


def _cma_reserve(result: BootResult, preset) -> None:
    """``dma_contiguous_reserve(max_pfn_mapped << PAGE_SHIFT)`` (kernel/dma/contiguous.c) ->
    ``cma_declare_contiguous_nid()`` (mm/cma.c, Linux 6.18), on a kernel with CONFIG_DMA_CMA.

    The size is ``cma=``'s, else CONFIG_CMA_SIZE_MBYTES (the preset's ``cma_size_mbytes``, 0 on
    x86).  Base and size are rounded up to CMA_MIN_ALIGNMENT_BYTES (one pageblock), the limit
    down; ``cma=S@B`` alone is a fixed base (limit = base + size).  Otherwise, with RAM reaching
    at least ``size`` past 4 GiB, memblock searches bottom-up from 4 GiB first ("avoid using
    first 4GB to not interfere with constrained zones like DMA/DMA32"), then top-down below the
    limit.  Sets ``result.cma`` = (base, size); the pages stay reserved until the machine turns
    them into MIGRATE_CMA pageblocks (``cma_activate_area()``, model/dma).
    """
    params, memblock = result.early.params, result.memblock
    if not getattr(preset, "config_cma", False):
        return
    request = params.cma
    if request is not None:
        size, base, limit = request.size, request.base, request.limit
        fixed = bool(request.base) and request.base + request.size == request.limit
        what = f"cma={request.text}"
    else:
        size, base, limit, fixed = getattr(preset, "cma_size_mbytes", 0) * _MiB, 0, 0, False
        what = f"CONFIG_CMA_SIZE_MBYTES={getattr(preset, 'cma_size_mbytes', 0)}"
    if not size:
        return
    x86_limit = result.max_pfn << 12                     # max_pfn_mapped on x86-64: all of RAM
    limit = min(limit, x86_limit) if limit else x86_limit
    alignment = 4096 << preset.pageblock_order          # CMA_MIN_ALIGNMENT_BYTES
    if fixed and base & (alignment - 1):
        raise _cma_failed(what, size, f"cma: Region at {base:#018x} must be aligned to {alignment:#018x} bytes")
    base = -(-base // alignment) * alignment
    size = -(-size // alignment) * alignment
    limit &= ~(alignment - 1)
    memblock_end = memblock.memory[-1][1]
    if limit == 0 or limit > memblock_end:
        limit = memblock_end
    if base + size > limit:
        raise _cma_failed(what, size, f"cma: Size ({size:#018x}) of region at {base:#018x} exceeds limit "
                                      f"({limit:#018x})")
    if fixed:
        if memblock.find_in_range(size, 4096, base, base + size) != base:
            raise _cma_failed(what, size, f"cma: Region at {base:#018x} is busy (memblock_is_region_reserved())")
        addr = base
    else:
        addr = None
        if memblock_end >= (1 << 32) + size:
            memblock.bottom_up = True
            try:
                addr = memblock.find_in_range(size, alignment, 1 << 32, limit)
            finally:
                memblock.bottom_up = False
        if addr is None:
            addr = memblock.find_in_range(size, alignment, base, limit)
        if addr is None:
            raise _cma_failed(what, size, f"no free {size >> 20} MiB aligned to {alignment >> 20} MiB in "
                                          f"[{base:#x}, {limit:#x})")
    memblock.reserve(addr, size, "cma")
    result.cma = (addr, size)
    result.lines.append(f"cma: Reserved {size >> 20} MiB at {addr:#018x}")


def _cma_failed(what: str, size: int, line: str) -> InvalidBootParameter:
    return InvalidBootParameter(f"{what}: {line}; the kernel prints 'cma: Failed to reserve {size >> 20} MiB' and "
                                "boots without a CMA area (dma_alloc_coherent() then falls back to the buddy "
                                "allocator); accepted: a size that fits RAM, e.g. cma=256M, cma=64M@0-4G",
                                param="cma", kernel_line=f"cma: Failed to reserve {size >> 20} MiB")


def _memmap(result: BootResult, preset) -> None:
    """``sparse_init()`` (6.x: 64-byte struct pages per present 128 MiB section) or 2.6 flat ``mem_map``."""
    build, memblock = result.build, result.memblock
    if build.sparse_vmemmap:
        sections = {pfn // PAGES_PER_SECTION for s, e in result.memory_ranges
                    for pfn in range(s - s % PAGES_PER_SECTION, e, PAGES_PER_SECTION)}
        size = len(sections) * PAGES_PER_SECTION * build.struct_page
        align = 2 * _MiB
        if memblock.phys_alloc(size, align, 16 * _MiB, owner="memmap (sparse_init)") is None:
            raise InvalidArgument("no room for the memmap: too little RAM for this many sections")
    else:
        spanned = result.max_pfn - memblock.memory[0][0] // 4096
        size = -(-spanned * build.struct_page // 4096) * 4096
        if memblock.phys_alloc(size, 4096, 16 * _MiB, result.max_low_pfn << 12, owner="mem_map") is None:
            raise InvalidArgument("no room for mem_map in lowmem")
