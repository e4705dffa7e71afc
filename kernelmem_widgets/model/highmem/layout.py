"""The 32-bit x86 kernel address space, computed as the kernel computes it at boot.

From the inputs a boot provides — the firmware (e820) map, or the highest RAM pfn it gives, and
the command line's ``mem=``, ``vmalloc=`` and ``highmem=`` already parsed to bytes — and one
version's :class:`LayoutRules`, :func:`boot_layout` follows ``find_max_pfn()``/
``e820_end_of_ram_pfn()``, ``find_max_low_pfn()`` (to 2.6.24) or ``find_low_pfn_range()`` with
``lowmem_pfn_init()``/``highmem_pfn_init()`` (2.6.25+), ``setup_memory()``/``initmem_init()``,
``zone_sizes_init()`` and ``free_area_init_nodes()``, and the address macros of
pgtable_32_types.h / pgtable_32_areas.h and fixmap.h.  The boot-log lines are in
:mod:`.bootlog`.

The physical ranges are ``(start, end, type)`` with ``end`` exclusive (what "BIOS-e820: start -
end" printed before 3.x; the ``[mem a-b]`` form prints ``end - 1``); a type is RAM when it is
``"usable"``, ``"RAM"``, ``"System RAM"`` or 1 (E820_RAM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .errors import InvalidLayoutOption, LayoutBug
from .layout_rules import LayoutRules, get_rules, page_offset_for

__all__ = ["Layout", "boot_layout", "ram_ranges", "MAX_DMA_PFN", "MAX_NONPAE_PFN", "pages_to_mb"]

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
_MiB = 1 << 20
_U32 = (1 << 32) - 1
#: 16 MiB ISA DMA limit (arch/x86/include/asm/dma.h)
MAX_DMA_PFN = (16 * _MiB) >> PAGE_SHIFT
#: 4 GiB: the last pfn a 2-level (non-PAE) page table can map (init_32.c MAX_NONPAE_PFN)
MAX_NONPAE_PFN = 1 << 20
#: 64 GiB: 36-bit physical addresses with PAE (max_arch_pfn of e820.c)
MAX_PAE_PFN = 1 << 24
_RAM_TYPES = {"usable", "ram", "system ram", "1"}


def pages_to_mb(pages: int) -> int:
    """``pages_to_mb()`` of pgtable_32.h: pages >> (20 - PAGE_SHIFT), truncating."""
    return pages >> (20 - PAGE_SHIFT)


def ram_ranges(firmware_map: Iterable[Sequence]) -> list[tuple[int, int]]:
    """The RAM ``(start, end)`` byte ranges of a firmware map of ``(start, end, type)`` entries."""
    ranges = []
    for entry in firmware_map:
        if len(entry) != 3:
            raise InvalidLayoutOption(f"firmware map entry {entry!r} is not (start, end, type)")
        start, end, kind = entry
        _check_int("firmware map start", start)
        _check_int("firmware map end", end)
        if end < start:
            raise InvalidLayoutOption(f"firmware map entry {entry!r} ends before it starts")
        if str(kind).strip().lower() in _RAM_TYPES:
            ranges.append((int(start), int(end)))
    return sorted(ranges)


@dataclass(frozen=True)
class Layout:
    """One boot's 32-bit layout: every address and pfn the kernel derives, and what it prints.

    All addresses are kernel virtual addresses (unsigned 32-bit) except where named ``*_pfn``.
    ``zones`` lists ``(name, start_pfn, end_pfn)`` as ``free_area_init_nodes()`` computes them
    (end exclusive; an empty zone has start == end).  ``messages`` are the warnings printed on
    the way, in order.
    """

    rules: LayoutRules
    pae: bool
    vmsplit: str
    config_highmem: bool
    page_offset: int
    max_pfn: int
    max_low_pfn: int
    highstart_pfn: int
    highend_pfn: int
    high_memory: int
    maxmem: int
    vmalloc_reserve: int
    vmalloc_start: int
    vmalloc_end: int
    pkmap_base: int
    last_pkmap: int
    fixaddr_start: int
    fixaddr_top: int
    fixaddr_boot_start: int
    cpu_entry_area: tuple[int, int] | None
    ldt_base: int | None
    zones: tuple[tuple[str, int, int], ...]
    messages: tuple[str, ...] = ()
    kernel_sections: tuple[tuple[str, int, int], ...] = field(default=())

    @property
    def pmd_size(self) -> int:
        """2 MiB with PAE (3-level tables), else 4 MiB (a page directory entry maps 1024 pages)."""
        return 2 * _MiB if self.pae else 4 * _MiB

    @property
    def highmem_pages(self) -> int:
        return self.highend_pfn - self.highstart_pfn

    def is_highmem(self, pfn: int) -> bool:
        """``PageHighMem()``: the pfn lies at or above max_low_pfn (and below max_pfn)."""
        return self.config_highmem and self.max_low_pfn <= pfn < self.highend_pfn

    def page_address(self, pfn: int) -> int:
        """``page_address()`` of a lowmem page: ``__va(pfn << PAGE_SHIFT)`` = PAGE_OFFSET + phys."""
        return (self.page_offset + (pfn << PAGE_SHIFT)) & _U32

    def pkmap_addr(self, nr: int) -> int:
        """``PKMAP_ADDR(nr)`` = PKMAP_BASE + nr * PAGE_SIZE."""
        return self.pkmap_base + nr * PAGE_SIZE

    def zone(self, name: str) -> tuple[int, int]:
        for zone_name, start, end in self.zones:
            if zone_name.lower() == name.lower():
                return start, end
        raise InvalidLayoutOption(f"no zone {name!r} in this layout; it has {', '.join(z[0] for z in self.zones)}")

    def zone_table(self) -> tuple[tuple[str, int | None], ...]:
        """``(zone name, end physical address)`` pairs in the form ``model.presets.Preset.zones`` takes."""
        return tuple((name, None if name == self.zones[-1][0] else end << PAGE_SHIFT)
                     for name, _start, end in self.zones)

    def dmesg_lines(self) -> list[str]:
        """The lines this boot prints about memory, in the order the kernel prints them."""
        from .bootlog import dmesg_lines

        return dmesg_lines(self)


def boot_layout(rules: str | LayoutRules, *, firmware_map: Iterable[Sequence] | None = None,
                max_pfn: int | None = None, mem: int | None = None, vmalloc: int | None = None,
                highmem: int | None = None, pae: bool = False, vmsplit: str = "3G", config_highmem: bool = True,
                fixaddr_start: int | None = None, cpu_entry_area: tuple[int, int] | None = None,
                kernel_sections: Sequence[tuple[str, int, int]] = ()) -> Layout:
    """Boot a 32-bit kernel of these rules on this memory and return its layout.

    Parameters
    ----------
    rules : str or LayoutRules
        ``"linux-2.6.24-i386"``, ``"linux-2.6.35-i386"``, ``"linux-3.16-i386"``, ``"linux-5.1-i386"``...
    firmware_map : iterable of (start, end, type)
        The e820 map after the early fixups the log shows ("e820 update range ..."); its lowest
        RAM pfn starts ZONE_DMA and, unless ``max_pfn`` is given, its highest RAM end is max_pfn.
    max_pfn : int, optional
        The highest RAM pfn, when a log prints it (``last_pfn = ...``) or there is no map.
    mem, vmalloc, highmem : int, optional
        ``mem=``, ``vmalloc=``, ``highmem=`` in bytes (parse them with ``units.memparse``).
    pae : bool
        CONFIG_HIGHMEM64G / X86_PAE: 3-level page tables, LAST_PKMAP 512, up to 64 GiB.
    vmsplit : str
        "3G" (default), "3G_OPT", "2G", "2G_OPT" or "1G": PAGE_OFFSET.
    config_highmem : bool
        False for a CONFIG_NOHIGHMEM kernel (lowmem only).
    fixaddr_start : int, optional
        The fixmap start the log's "fixmap  :" line prints (it depends on NR_CPUS and the config).
    cpu_entry_area : (base, size), optional
        The "cpu_entry :" line of 4.15+ kernels.
    kernel_sections : sequence of (name, start, end)
        ``.init``, ``.data``, ``.text`` as a log prints them, to reproduce those lines.
    """
    rules = get_rules(rules)
    for name, value in (("pae", pae), ("config_highmem", config_highmem)):
        if not isinstance(value, bool):
            raise InvalidLayoutOption(f"{name} must be True or False, not {value!r}")
    page_offset = page_offset_for(vmsplit, pae)
    ram = ram_ranges(firmware_map) if firmware_map is not None else []
    for name, value in (("max_pfn", max_pfn), ("mem", mem), ("vmalloc", vmalloc), ("highmem", highmem)):
        if value is not None:
            _check_int(name, value)
    max_pfn, mem, vmalloc, highmem = (None if v is None else int(v) for v in (max_pfn, mem, vmalloc, highmem))
    if mem is not None:
        if mem == 0:
            raise InvalidLayoutOption("mem=0 is rejected by parse_memopt(): 'don't remove all of memory'")
        ram = [(start, min(end, mem)) for start, end in ram if start < mem]
    if max_pfn is None:
        if not ram:
            raise InvalidLayoutOption("give a firmware map with RAM in it, or max_pfn")
        max_pfn = max(end >> PAGE_SHIFT for _start, end in ram)
    elif mem is not None:
        max_pfn = min(max_pfn, mem >> PAGE_SHIFT)
    if max_pfn <= MAX_DMA_PFN:
        raise InvalidLayoutOption(f"max_pfn {max_pfn:#x} leaves no RAM above the 16 MiB DMA zone; "
                                  "this model needs more than 16 MiB of RAM")
    max_pfn = min(max_pfn, MAX_PAE_PFN if pae else max_pfn)  # e820_end_of_ram_pfn(): max_arch_pfn
    min_pfn = min(((start + PAGE_SIZE - 1) >> PAGE_SHIFT for start, _end in ram), default=0)
    lowest_pfn = min_pfn if rules.active_from_firmware else 0

    fixaddr_top = rules.fixaddr_top
    fixaddr_start = rules.fixaddr_start if fixaddr_start is None else fixaddr_start
    _check_int("fixaddr_start", fixaddr_start)
    if fixaddr_start % PAGE_SIZE or not 0xF0000000 <= fixaddr_start < fixaddr_top:
        raise InvalidLayoutOption(f"fixaddr_start {fixaddr_start:#x} must be page aligned, below FIXADDR_TOP "
                                  f"{fixaddr_top:#x} and above 0xf0000000, as a log's 'fixmap  :' line shows")
    pmd_size = 2 * _MiB if pae else 4 * _MiB
    last_pkmap = 512 if pae else 1024
    boot_start = fixaddr_top - _boot_fixmap_slots(rules, (fixaddr_top - fixaddr_start) >> PAGE_SHIFT, pae) * PAGE_SIZE
    cea, ldt_base = None, None
    if rules.pkmap_below in ("ldt", "cpu_entry"):
        cea = cpu_entry_area if cpu_entry_area is not None else (rules.cpu_entry_area_base, rules.cpu_entry_area_size)
        if (len(cea) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in cea)
                or cea[0] % PAGE_SIZE or cea[0] + cea[1] > boot_start):
            raise InvalidLayoutOption(f"cpu_entry_area {cpu_entry_area!r} must be (base, size) with a page-aligned "
                                      f"base whose area ends below the boot-time fixmap at {boot_start:#x}")
        if rules.pkmap_below == "ldt":            # 4.19+: the LDT remap between the two (32-bit PTI)
            ldt_base = (cea[0] - PAGE_SIZE) & ~(pmd_size - 1)
            top_of_vmalloc = ldt_base
        else:                                     # 4.15-4.18: PKMAP_BASE = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK
            top_of_vmalloc = cea[0]
        pkmap_base = (top_of_vmalloc - PAGE_SIZE) & ~(pmd_size - 1)
    else:
        if cpu_entry_area is not None:
            raise InvalidLayoutOption(f"{rules.name} has no cpu_entry_area (it came with 4.15)")
        pkmap_base = (boot_start - PAGE_SIZE * (last_pkmap + 1)) & ~(pmd_size - 1)
        top_of_vmalloc = fixaddr_start
    vmalloc_end = pkmap_base - 2 * PAGE_SIZE if config_highmem else top_of_vmalloc - 2 * PAGE_SIZE
    reserve = 128 * _MiB if vmalloc is None else vmalloc + (8 * _MiB if rules.vmalloc_param_adds_offset else 0)
    window = (1 << 32) - page_offset if rules.maxmem == "fixed" else vmalloc_end - page_offset
    maxmem = (window - reserve) & _U32  # unsigned long: a reserve beyond the window wraps round
    maxmem_pfn = maxmem >> PAGE_SHIFT

    messages: list[str] = []
    highmem_pages = -1 if highmem is None else highmem >> PAGE_SHIFT
    if max_pfn > maxmem_pfn:
        max_pfn, max_low_pfn = _highmem_pfn_init(rules, messages, max_pfn, maxmem, highmem_pages, pae, config_highmem)
    else:
        max_low_pfn = _lowmem_pfn_init(rules, messages, max_pfn, highmem_pages, config_highmem)
    highstart_pfn = highend_pfn = max_pfn
    if max_pfn > max_low_pfn:
        highstart_pfn = max_low_pfn
    if not config_highmem:
        highstart_pfn = highend_pfn = max_low_pfn
    high_memory = (page_offset + (highstart_pfn << PAGE_SHIFT)) & _U32
    if rules.vmalloc_start == "round_8m":
        vmalloc_start = (high_memory + 2 * 8 * _MiB - 1) & ~(8 * _MiB - 1) & _U32
    else:
        vmalloc_start = (high_memory + 8 * _MiB) & _U32
    _mem_init_checks(vmalloc_start, vmalloc_end, high_memory, pkmap_base, last_pkmap,
                     cea[0] if cea else fixaddr_start, config_highmem, reserve)
    if page_offset + (highstart_pfn << PAGE_SHIFT) > vmalloc_end:
        raise LayoutBug(f"vmalloc={vmalloc} leaves no room: __VMALLOC_RESERVE {reserve >> 20} MiB exceeds the "
                        f"{window >> 20} MiB between PAGE_OFFSET and the top of the vmalloc area, MAXMEM wraps "
                        f"below zero and the direct map of {highstart_pfn << PAGE_SHIFT >> 20} MiB would run over "
                        "the vmalloc area, the pkmap window and the fixmap (past 4 GiB high_memory wraps to "
                        "the bottom, so mem_init()'s BUG_ON()s cannot even see it)")
    zones = _zone_ranges(rules, lowest_pfn, max_low_pfn, highend_pfn, config_highmem)
    return Layout(rules=rules, pae=pae, vmsplit=vmsplit.upper().removeprefix("VMSPLIT_"),
                  config_highmem=config_highmem, page_offset=page_offset, max_pfn=max_pfn, max_low_pfn=max_low_pfn,
                  highstart_pfn=highstart_pfn, highend_pfn=highend_pfn, high_memory=high_memory, maxmem=maxmem,
                  vmalloc_reserve=reserve, vmalloc_start=vmalloc_start, vmalloc_end=vmalloc_end, pkmap_base=pkmap_base,
                  last_pkmap=last_pkmap, fixaddr_start=fixaddr_start, fixaddr_top=fixaddr_top,
                  fixaddr_boot_start=boot_start, cpu_entry_area=tuple(cea) if cea else None, ldt_base=ldt_base,
                  zones=zones, messages=tuple(messages), kernel_sections=tuple(tuple(s) for s in kernel_sections))


def _boot_fixmap_slots(rules: LayoutRules, permanent: int, pae: bool) -> int:
    """``__end_of_fixed_addresses``: the permanent slots, the boot-time FIX_BTMAPs, FIX_WP_TEST."""
    if rules.boot_fixmaps == "16":
        return permanent + 16 + rules.boot_fixmap_extra  # NR_FIX_BTMAPS 16 (fixmap_32.h, 2.6.24)
    total = 256  # NR_FIX_BTMAPS 64 * FIX_BTMAPS_SLOTS 4
    ptrs_per_pte = 512 if pae else 1024
    crossing = (permanent ^ (permanent + total - 1)) & -ptrs_per_pte
    if rules.boot_fixmaps == "256_aligned" or crossing:
        btmap_end = permanent + total - (permanent & (total - 1))
    else:
        btmap_end = permanent
    return btmap_end + total + rules.boot_fixmap_extra


def _highmem_pfn_init(rules, messages, max_pfn, maxmem, highmem_pages, pae, config_highmem):
    """``highmem_pfn_init()`` (2.6.25+) / the first branch of ``find_max_low_pfn()`` (to 2.6.24)."""
    maxmem_pfn = maxmem >> PAGE_SHIFT
    old = rules.maxmem == "fixed"
    if highmem_pages == -1:
        highmem_pages = max_pfn - maxmem_pfn
    if highmem_pages + maxmem_pfn < max_pfn:
        max_pfn = maxmem_pfn + highmem_pages
    if highmem_pages + maxmem_pfn > max_pfn:
        fmt = ("only {}MB highmem pages available, ignoring highmem size of {}MB." if old
               else "only {}MB highmem pages available, ignoring highmem size of {}MB!")
        messages.append(fmt.format(pages_to_mb(max_pfn - maxmem_pfn), pages_to_mb(highmem_pages)))
    if not config_highmem:
        messages.append(f"Warning only {maxmem >> 20}MB will be used.")
        above = max_pfn > MAX_NONPAE_PFN and rules.highmem64g
        messages.append(rules.nohighmem_above_4g_hint if above else "Use a HIGHMEM enabled kernel.")
        max_pfn = maxmem_pfn
    elif (not pae or not rules.highmem64g) and max_pfn > MAX_NONPAE_PFN:
        max_pfn = MAX_NONPAE_PFN
        messages.extend(rules.trimmed_warning)
    return max_pfn, maxmem_pfn


def _lowmem_pfn_init(rules, messages, max_pfn, highmem_pages, config_highmem):
    """``lowmem_pfn_init()``: all of RAM fits into lowmem, unless ``highmem=`` asks for some highmem."""
    old = rules.maxmem == "fixed"
    max_low_pfn = max_pfn
    if highmem_pages == -1:
        highmem_pages = 0
    if not config_highmem:
        if highmem_pages:
            messages.append("ignoring highmem size on non-highmem kernel!")
        return max_low_pfn
    if highmem_pages >= max_pfn:
        fmt = ("highmem size specified ({}MB) is bigger than pages available ({}MB)!." if old
               else "highmem size ({}MB) is bigger than pages available ({}MB)!")
        messages.append(fmt.format(pages_to_mb(highmem_pages), pages_to_mb(max_pfn)))
        highmem_pages = 0
    if highmem_pages:
        if max_low_pfn - highmem_pages < (64 * _MiB) >> PAGE_SHIFT:
            fmt = ("highmem size {}MB results in smaller than 64MB lowmem, ignoring it." if old
                   else "highmem size ({}MB) results in <64MB lowmem, ignoring it!")
            messages.append(fmt.format(pages_to_mb(highmem_pages)))
            highmem_pages = 0
        max_low_pfn -= highmem_pages
    return max_low_pfn


def _mem_init_checks(vmalloc_start, vmalloc_end, high_memory, pkmap_base, last_pkmap, above_pkmap,
                     config_highmem, reserve) -> None:
    """The boundary checks of ``mem_init()`` (arch/x86/mm/init_32.c): each failure is a BUG at boot."""
    why = f"(__VMALLOC_RESERVE is {reserve >> 20} MiB)"
    if config_highmem and pkmap_base + last_pkmap * PAGE_SIZE > above_pkmap:
        raise LayoutBug(f"kernel BUG in mem_init(): BUG_ON(PKMAP_BASE + LAST_PKMAP*PAGE_SIZE > {above_pkmap:#x})")
    if vmalloc_start >= vmalloc_end:
        raise LayoutBug(f"kernel BUG in mem_init(): BUG_ON(VMALLOC_START >= VMALLOC_END): VMALLOC_START "
                        f"{vmalloc_start:#010x} is not below VMALLOC_END {vmalloc_end:#010x} {why}; a vmalloc= "
                        "this large leaves no room: MAXMEM wrapped below zero and all RAM became lowmem")
    if high_memory > vmalloc_start:
        raise LayoutBug(f"kernel BUG in mem_init(): BUG_ON(high_memory > VMALLOC_START): high_memory "
                        f"{high_memory:#010x} {why}")


def _zone_ranges(rules, lowest_pfn, max_low_pfn, highend_pfn, config_highmem):
    """``zone_sizes_init()`` then ``free_area_init_nodes()``: each zone starts where the one below ends."""
    dma_end = min(MAX_DMA_PFN, max_low_pfn) if rules.dma_clamped else MAX_DMA_PFN
    limits = [("DMA", dma_end), ("Normal", max_low_pfn)]
    if config_highmem:
        limits.append(("HighMem", highend_pfn))
    zones, start = [], lowest_pfn
    for index, (name, limit) in enumerate(limits):
        end = limit if index == 0 else max(limit, start)
        zones.append((name, start, end))
        start = end
    return tuple(zones)


def _check_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise InvalidLayoutOption(f"{name} must be an integer number of bytes or pages, not {value!r}")
    if int(value) < 0:
        raise InvalidLayoutOption(f"{name} must not be negative, got {value}")
