"""Each kernel version's 32-bit x86 layout rules as data.

What changed, and when (read in the kernel source of each version; the boot logs the tests
reproduce confirm each rule):

* **2.6.17** (arch/i386/kernel/setup.c ``find_max_low_pfn()``): MAXMEM fixed at
  ``-PAGE_OFFSET - __VMALLOC_RESERVE`` (896 MiB with the 3G split); a HIGHMEM4G kernel on more
  than 4 GiB prints "Warning only 4GB will be used." / "Use a PAE enabled kernel.".  No
  "Zone PFN ranges:" block yet (the architecture-independent ``free_area_init_nodes()`` that
  prints it came with 2.6.19) and no layout block in this capture.
* **2.6.24** (the i386/x86_64 merge: arch/x86/kernel/setup_32.c, include/asm-x86/page_32.h,
  pgtable_32.h, fixmap_32.h, highmem.h): the same MAXMEM; ``VMALLOC_START`` rounded up to an
  8 MiB boundary, ``(high_memory + 2*VMALLOC_OFFSET - 1) & ~(VMALLOC_OFFSET - 1)``;
  ``vmalloc=`` sets ``__VMALLOC_RESERVE`` to exactly its value; 16 boot-time fixmaps
  (NR_FIX_BTMAPS) and FIX_WP_TEST below the permanent fixmap; PKMAP_BASE
  ``(FIXADDR_BOOT_START - PAGE_SIZE*(LAST_PKMAP+1)) & PMD_MASK``; the trim warning now says
  "Use a HIGHMEM64G enabled kernel."; "Zone PFN ranges:" printed ``"  %-8s %8lu -> %8lu"``.
* **2.6.35** (arch/x86/include/asm/pgtable_32_types.h, arch/x86/mm/init_32.c
  ``find_low_pfn_range()``/``lowmem_pfn_init()``/``highmem_pfn_init()``, arch/x86/mm/pgtable_32.c
  ``parse_vmalloc()``): ``MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE`` and
  ``VMALLOC_START = high_memory + VMALLOC_OFFSET`` (2008); ``vmalloc=`` adds VMALLOC_OFFSET for
  the guard hole; 256 boot-time fixmaps always rounded up to a 256-slot boundary
  (arch/x86/include/asm/fixmap.h); the trim warning is MSG_HIGHMEM_TRIMMED "Warning: only 4GB
  will be used. Use a HIGHMEM64G enabled kernel!"; "Zone PFN ranges:" in hex
  ``"%0#10lx -> %0#10lx"`` with "empty"; ``kmap_atomic(page, km_type)`` (KM_TYPE_NR 20).
* **3.16**: "Zone ranges:" as ``[mem %0#10lx-%0#10lx]`` (physical addresses, 2012) and
  "Movable zone start for each node"; the 256 boot fixmaps are aligned only when they would
  cross a page table; ``max_zone_pfns[ZONE_DMA] = min(MAX_DMA_PFN, max_low_pfn)``;
  ``kmap_atomic(page)`` on a per-CPU stack of KM_TYPE_NR = 20 slots (2.6.37).
* **4.14**: the same layout, zone ranges printed ``[mem %#018Lx-%#018Lx]``.
* **4.15** (final; in -rc4 the cpu_entry_area was still inside the fixmap, as in 4.14): the
  cpu_entry_area sits below the fixmap, ``CPU_ENTRY_AREA_BASE = (FIXADDR_TOT_START - PAGE_SIZE *
  (CPU_ENTRY_AREA_PAGES + 1)) & PMD_MASK``, and the pkmap window right under it,
  ``PKMAP_BASE = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK``; the layout block gains a
  "cpu_entry" line (a 4.15-rc8 log of Tetsuo Handa's reproduces it).
* **5.1** (arch/x86/include/asm/pgtable_32_areas.h, 4.19+): the cpu_entry_area and, for
  32-bit PTI (4.19), the LDT remap sit between the fixmap and the pkmap window:
  ``LDT_BASE_ADDR = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK``,
  ``PKMAP_BASE = (LDT_BASE_ADDR - PAGE_SIZE) & PMD_MASK``; the layout block gains a
  "cpu_entry" line.  5.1 is among the last to print the block: Arvind Sankar's "x86/mm/init_32:
  Stop printing the virtual memory layout" removed it in 5.7.
* **6.18**: ``kmap_local_page()`` (Thomas Gleixner's series, 5.11: KM_MAX_IDX = 16 per CPU,
  LIFO) replaces the km_type slots; commit bbeb69ce3013 "x86/mm: Remove CONFIG_HIGHMEM64G
  support" (Arnd Bergmann, 2025, 6.15) leaves X86_PAE (for NX) but caps every 32-bit kernel at
  4 GiB: "Warning: only 4GB will be used. Support for CONFIG_HIGHMEM64G was removed!" (the
  "for for" of 6.15 fixed by Lukas Bulwahn in May 2025).  The same 2025 series dropped HIGHPTE
  (page tables in highmem), SWIOTLB for PAE and the 32-bit "bigsmp" support, and NUMA on 32-bit
  went with it (Mike Rapoport's "x86/mm: Consolidate initmem_init()").  A 6.18 i386 kernel still
  offers HIGHMEM4G, the five VMSPLIT choices, X86_PAE (NX) with at most 4 GiB, kmap() and
  kmap_local_page(), and still prints the HIGHMEM/LOWMEM, low ram and zone lines.

Values that depend on NR_CPUS and the configuration (where the fixmap starts, where the
cpu_entry_area lands) are options: pass what a boot log prints; the defaults are those of the
distribution kernels whose logs the tests reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import UnknownPreset
from .errors import UnknownVmsplit

__all__ = ["LayoutRules", "RULES", "get_rules", "VMSPLITS", "page_offset_for", "KM_TYPES_2_6_24",
           "KM_TYPES_2_6_35", "X86_64_PAGE_OFFSET"]

_MiB = 1 << 20

#: CONFIG_PAGE_OFFSET for each VMSPLIT choice of arch/x86/Kconfig (the _OPT ones depend on !X86_PAE)
VMSPLITS: dict[str, int] = {
    "3G": 0xC0000000, "3G_OPT": 0xB0000000, "2G": 0x80000000, "2G_OPT": 0x78000000, "1G": 0x40000000,
}

#: x86-64 __PAGE_OFFSET_BASE_L4 (arch/x86/include/asm/page_64_types.h), the direct map of all RAM
X86_64_PAGE_OFFSET = 0xFFFF888000000000

#: enum km_type of include/asm-x86/kmap_types.h, 2.6.24 (KM_TYPE_NR 13)
KM_TYPES_2_6_24 = ("KM_BOUNCE_READ", "KM_SKB_SUNRPC_DATA", "KM_SKB_DATA_SOFTIRQ", "KM_USER0", "KM_USER1",
                   "KM_BIO_SRC_IRQ", "KM_BIO_DST_IRQ", "KM_PTE0", "KM_PTE1", "KM_IRQ0", "KM_IRQ1",
                   "KM_SOFTIRQ0", "KM_SOFTIRQ1")
#: enum km_type of include/asm-generic/kmap_types.h, 2.6.35 (KM_TYPE_NR 20)
KM_TYPES_2_6_35 = KM_TYPES_2_6_24 + ("KM_SYNC_ICACHE", "KM_SYNC_DCACHE", "KM_UML_USERCOPY", "KM_IRQ_PTE",
                                     "KM_NMI", "KM_NMI_PTE", "KM_KDB")


@dataclass(frozen=True)
class LayoutRules:
    """How one kernel version lays out the 32-bit address space and what it prints.

    Attributes
    ----------
    maxmem : {"fixed", "vmalloc_end"}
        ``-PAGE_OFFSET - __VMALLOC_RESERVE`` (to 2.6.24) or ``VMALLOC_END - PAGE_OFFSET -
        __VMALLOC_RESERVE`` (2.6.25+).
    vmalloc_start : {"round_8m", "offset"}
        8 MiB-aligned start (to 2.6.24) or ``high_memory + VMALLOC_OFFSET``.
    vmalloc_param_adds_offset : bool
        ``parse_vmalloc()`` adds VMALLOC_OFFSET to the ``vmalloc=`` value.
    boot_fixmaps : {"16", "256_aligned", "256_if_crossing"}
        The temporary boot-time fixmaps below the permanent ones (FIXADDR_BOOT_START, later
        FIXADDR_TOT_START).
    boot_fixmap_extra : int
        Slots after FIX_BTMAP_BEGIN (FIX_WP_TEST on X86_32).
    pkmap_below : {"boot_fixmap", "cpu_entry", "ldt"}
        What the pkmap window is placed under.
    zone_format : str or None
        "dec", "hex", "mem10", "mem18" or None (not printed).
    kmap_atomic : {"km_type", "stack", "kmap_local"}
        ``kmap_atomic(page, type)`` with fixed slots, the 2.6.37 per-CPU stack, or
        ``kmap_local_page()``.
    """

    name: str
    kernel_version: str
    description: str
    maxmem: str
    vmalloc_start: str
    vmalloc_param_adds_offset: bool
    boot_fixmaps: str
    pkmap_below: str
    zone_format: str | None
    zone_header: str
    movable_line: str | None
    zone_empty: bool
    dma_clamped: bool
    active_from_firmware: bool
    low_ram_lines: bool
    prints_layout: bool
    layout_cpu_entry: bool
    nohighmem_above_4g_hint: str
    trimmed_warning: tuple[str, ...]
    highmem64g: bool
    kmap_atomic: str
    km_types: tuple[str, ...] = ()
    km_stack_depth: int = 0
    boot_fixmap_extra: int = 1
    fixaddr_start: int = 0xFFF16000
    fix_kmap_begin: int = 69
    cpu_entry_area_base: int | None = None
    cpu_entry_area_size: int | None = None
    fixaddr_top: int = 0xFFFFF000
    vmalloc_reserve: int = 128 * _MiB
    sources: tuple[str, ...] = field(default=())

    def with_changes(self, **changes) -> "LayoutRules":
        return replace(self, **changes)


_TRIMMED_OLD = ("Warning only 4GB will be used.", "Use a PAE enabled kernel.")
_TRIMMED_2_6_24 = ("Warning only 4GB will be used.", "Use a HIGHMEM64G enabled kernel.")
_TRIMMED_2_6_28 = ("Warning: only 4GB will be used. Use a HIGHMEM64G enabled kernel!",)
_TRIMMED_6_16 = ("Warning: only 4GB will be used. Support for CONFIG_HIGHMEM64G was removed!",)

_COMMON_2_6_35 = dict(
    maxmem="vmalloc_end", vmalloc_start="offset", vmalloc_param_adds_offset=True, pkmap_below="boot_fixmap",
    zone_empty=True, active_from_firmware=True, low_ram_lines=True, prints_layout=True, layout_cpu_entry=False,
    nohighmem_above_4g_hint="Use a HIGHMEM64G enabled kernel.", trimmed_warning=_TRIMMED_2_6_28, highmem64g=True,
)

RULES: dict[str, LayoutRules] = {
    "linux-2.6.17-i386": LayoutRules(
        name="linux-2.6.17-i386", kernel_version="2.6.17",
        description="i386 before the x86 merge: MAXMEM fixed at 896 MiB, 'Use a PAE enabled kernel.'",
        maxmem="fixed", vmalloc_start="round_8m", vmalloc_param_adds_offset=False, boot_fixmaps="16",
        pkmap_below="boot_fixmap", zone_format=None, zone_header="", movable_line=None, zone_empty=False,
        dma_clamped=False, active_from_firmware=False, low_ram_lines=False, prints_layout=False,
        layout_cpu_entry=False, nohighmem_above_4g_hint="Use a PAE enabled kernel.", trimmed_warning=_TRIMMED_OLD,
        highmem64g=True, kmap_atomic="km_type", km_types=KM_TYPES_2_6_24, fixaddr_start=0xFFF4B000,
        sources=("arch/i386/kernel/setup.c find_max_low_pfn(), setup_memory() (2.6.17)",
                 "include/asm-i386/page.h MAXMEM, pgtable.h VMALLOC_START, highmem.h PKMAP_BASE"),
    ),
    "linux-2.6.24-i386": LayoutRules(
        name="linux-2.6.24-i386", kernel_version="2.6.24",
        description="MAXMEM fixed at -PAGE_OFFSET - 128 MiB, VMALLOC_START rounded up to 8 MiB, 16 boot fixmaps",
        maxmem="fixed", vmalloc_start="round_8m", vmalloc_param_adds_offset=False, boot_fixmaps="16",
        pkmap_below="boot_fixmap", zone_format="dec", zone_header="Zone PFN ranges:",
        movable_line="Movable zone start PFN for each node", zone_empty=False, dma_clamped=False,
        active_from_firmware=False, low_ram_lines=False, prints_layout=True, layout_cpu_entry=False,
        nohighmem_above_4g_hint="Use a HIGHMEM64G enabled kernel.", trimmed_warning=_TRIMMED_2_6_24,
        highmem64g=True, kmap_atomic="km_type", km_types=KM_TYPES_2_6_24, fixaddr_start=0xFFF4B000,
        sources=("arch/x86/kernel/setup_32.c find_max_low_pfn(), setup_memory(), parse_vmalloc(), zone_sizes_init()",
                 "include/asm-x86/page_32.h MAXMEM; pgtable_32.h VMALLOC_OFFSET/START/END; fixmap_32.h; highmem.h",
                 "arch/x86/mm/init_32.c mem_init(); mm/page_alloc.c free_area_init_nodes()"),
    ),
    "linux-2.6.35-i386": LayoutRules(
        name="linux-2.6.35-i386", kernel_version="2.6.35",
        description="MAXMEM from VMALLOC_END and __VMALLOC_RESERVE, VMALLOC_START = high_memory + 8 MiB",
        boot_fixmaps="256_aligned", zone_format="hex", zone_header="Zone PFN ranges:",
        movable_line="Movable zone start PFN for each node", dma_clamped=False, kmap_atomic="km_type",
        km_types=KM_TYPES_2_6_35, fixaddr_start=0xFFF16000,
        sources=("arch/x86/include/asm/pgtable_32_types.h, page_32_types.h, fixmap.h",
                 "arch/x86/mm/init_32.c find_low_pfn_range(), lowmem_pfn_init(), highmem_pfn_init(), "
                 "initmem_init(), mem_init(); arch/x86/mm/pgtable_32.c parse_vmalloc()",
                 "arch/x86/mm/highmem_32.c kmap_atomic_prot(); include/asm-generic/kmap_types.h"),
        **_COMMON_2_6_35,
    ),
    "linux-3.16-i386": LayoutRules(
        name="linux-3.16-i386", kernel_version="3.16",
        description="the 2.6.35 layout, 'Zone ranges:' as [mem ...], kmap_atomic on a per-CPU stack",
        boot_fixmaps="256_if_crossing", zone_format="mem10", zone_header="Zone ranges:",
        movable_line="Movable zone start for each node", dma_clamped=True, kmap_atomic="stack",
        km_stack_depth=20, fixaddr_start=0xFFF16000,
        sources=("arch/x86/include/asm/pgtable_32_types.h, fixmap.h; arch/x86/mm/init_32.c; arch/x86/mm/init.c "
                 "zone_sizes_init(); mm/page_alloc.c free_area_init_nodes(); include/linux/highmem.h "
                 "kmap_atomic_idx_push()",),
        **_COMMON_2_6_35,
    ),
    "linux-4.14-i386": LayoutRules(
        name="linux-4.14-i386", kernel_version="4.14",
        description="the 3.16 layout with zone ranges printed as 64-bit [mem %#018Lx-%#018Lx]",
        boot_fixmaps="256_if_crossing", zone_format="mem18", zone_header="Zone ranges:",
        movable_line="Movable zone start for each node", dma_clamped=True, kmap_atomic="stack",
        km_stack_depth=20, fixaddr_start=0xFF9D4000,
        sources=("as linux-3.16-i386; mm/page_alloc.c free_area_init_nodes() with %#018Lx",),
        **_COMMON_2_6_35,
    ),
    "linux-4.15-i386": LayoutRules(
        name="linux-4.15-i386", kernel_version="4.15",
        description="the cpu_entry_area moved out of the fixmap (4.15-rc5): the pkmap window right below it, "
                    "no LDT remap yet (32-bit PTI came with 4.19)",
        boot_fixmaps="256_if_crossing", zone_format="mem18", zone_header="Zone ranges:",
        movable_line="Movable zone start for each node", dma_clamped=True, kmap_atomic="stack",
        km_stack_depth=20, fixaddr_start=0xFFFA4000, cpu_entry_area_base=0xFFC00000, cpu_entry_area_size=0x28000,
        sources=("arch/x86/include/asm/pgtable_32_types.h (4.15): CPU_ENTRY_AREA_BASE = (FIXADDR_TOT_START - "
                 "PAGE_SIZE * (CPU_ENTRY_AREA_PAGES + 1)) & PMD_MASK, PKMAP_BASE = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) "
                 "& PMD_MASK, VMALLOC_END = CPU_ENTRY_AREA_BASE - 2 pages without HIGHMEM",
                 "Thomas Gleixner, 'x86/cpu_entry_area: Move it out of the fixmap' (4.15-rc5); the 4.19 32-bit PTI "
                 "series added LDT_BASE_ADDR below it"),
        **{**_COMMON_2_6_35, "layout_cpu_entry": True, "pkmap_below": "cpu_entry"},
    ),
    "linux-5.1-i386": LayoutRules(
        name="linux-5.1-i386", kernel_version="5.1",
        description="cpu_entry_area and the LDT remap between the fixmap and the pkmap window",
        boot_fixmaps="256_if_crossing", zone_format="mem18", zone_header="Zone ranges:",
        movable_line="Movable zone start for each node", dma_clamped=True, kmap_atomic="stack",
        km_stack_depth=20, fixaddr_start=0xFFF14000, cpu_entry_area_base=0xFFA00000,
        cpu_entry_area_size=0x139000,
        sources=("arch/x86/include/asm/pgtable_32_areas.h CPU_ENTRY_AREA_BASE, LDT_BASE_ADDR, PKMAP_BASE",
                 "arch/x86/mm/init_32.c mem_init() with the cpu_entry line (removed in 5.7)"),
        **{**_COMMON_2_6_35, "layout_cpu_entry": True, "pkmap_below": "ldt"},
    ),
    "linux-6.18-i386": LayoutRules(
        name="linux-6.18-i386", kernel_version="6.18",
        description="the 5.1 layout without the layout printk; kmap_local_page; no HIGHMEM64G (4 GiB cap)",
        boot_fixmaps="256_if_crossing", zone_format="mem18", zone_header="Zone ranges:",
        movable_line="Movable zone start for each node", dma_clamped=True, kmap_atomic="kmap_local",
        km_stack_depth=16, fixaddr_start=0xFFF14000, cpu_entry_area_base=0xFFA00000,
        cpu_entry_area_size=0x139000,
        sources=("mm/highmem.c __kmap_local_pfn_prot(), kunmap_local_indexed(); include/asm-generic/kmap_size.h",
                 "commit bbeb69ce3013 'x86/mm: Remove CONFIG_HIGHMEM64G support' (6.15) and its 'for for' fix"),
        **{**_COMMON_2_6_35, "layout_cpu_entry": True, "pkmap_below": "ldt", "prints_layout": False,
           "highmem64g": False, "trimmed_warning": _TRIMMED_6_16, "nohighmem_above_4g_hint": "Use a HIGHMEM enabled kernel."},
    ),
}


def get_rules(name: str | LayoutRules) -> LayoutRules:
    """The rules of a preset name (``"linux-2.6.35-i386"``), or the rules object itself."""
    if isinstance(name, LayoutRules):
        return name
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise UnknownPreset(f"no 32-bit layout rules named {name!r}; accepted: {', '.join(RULES)}") from None


def page_offset_for(vmsplit: str, pae: bool) -> int:
    """CONFIG_PAGE_OFFSET for a VMSPLIT choice (arch/x86/Kconfig, the same from 2.6.16 to 6.18).

    >>> hex(page_offset_for("2G", pae=True))
    '0x80000000'
    """
    if not isinstance(vmsplit, str) or vmsplit.upper().removeprefix("VMSPLIT_") not in VMSPLITS:
        raise UnknownVmsplit(f"VMSPLIT {vmsplit!r} does not exist; accepted: {', '.join(VMSPLITS)} "
                             "(arch/x86/Kconfig 'Memory split')")
    key = vmsplit.upper().removeprefix("VMSPLIT_")
    if pae and key.endswith("_OPT"):
        raise UnknownVmsplit(f"VMSPLIT_{key} depends on !X86_PAE in arch/x86/Kconfig: its PAGE_OFFSET "
                             f"{VMSPLITS[key]:#x} is not 1 GiB aligned, as a PAE page directory pointer needs; "
                             "with pae=True use 3G, 2G or 1G")
    return VMSPLITS[key]
