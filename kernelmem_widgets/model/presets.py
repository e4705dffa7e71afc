"""Machine presets: a kernel version and architecture as data.

Behaviour that differs between kernel versions is a field here, never an ``if`` in the
allocator.  Each preset names where its numbers come from.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace

from .errors import InvalidArgument, UnknownPreset

__all__ = ["Preset", "PRESETS", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """What a machine needs to know about its kernel and architecture.

    ``zones`` lists (zone name, end physical address) in zone-index order; ``None`` as the end
    means "the rest of RAM".  ``reserved`` lists physical byte ranges memblock reserves before
    ``memblock_free_all()`` hands the rest to the buddy allocator.
    """

    name: str
    kernel_version: str
    arch: str
    description: str
    default_ram: str
    page_size: int = 4096
    max_page_order: int = 10
    pageblock_order: int = 9
    nr_cpus: int = 4
    zones: tuple[tuple[str, int | None], ...] = (("Normal", None),)
    reserved: tuple[tuple[int, int], ...] = ()
    lowmem_reserve_ratio: dict[str, int] = field(
        default_factory=lambda: {"DMA": 256, "DMA32": 256, "Normal": 32, "HighMem": 0, "Movable": 0})
    watermark_scale_factor: int = 10
    sources: tuple[str, ...] = ()
    # --- slab layer and kernel virtual addresses (model/slab.py, vmalloc.py, module.py) ---
    #: "slub" (Linux 6.18), "slab" (mm/slab.c, removed in 6.8) or "slob" (mm/slob.c, removed in 6.4)
    slab_allocator: str = "slub"
    #: x86-64 __PAGE_OFFSET_BASE_L4 (arch/x86/include/asm/page_64_types.h), 4-level paging, no KASLR
    page_offset: int = 0xFFFF888000000000
    #: x86-64 __VMALLOC_BASE_L4 and VMALLOC_SIZE_TB_L4 = 32 (arch/x86/include/asm/pgtable_64_types.h)
    vmalloc_start: int = 0xFFFFC90000000000
    vmalloc_size: int = 32 << 40
    #: MODULES_VADDR = __START_KERNEL_map + KERNEL_IMAGE_SIZE (1 GiB with CONFIG_RANDOMIZE_BASE),
    #: MODULES_END = 0xffffffffff000000 (pgtable_64_types.h): 1008 MiB for module sections
    modules_vaddr: int = 0xFFFFFFFFC0000000
    modules_end: int = 0xFFFFFFFFFF000000
    #: cache_line_size() on x86, used by SLAB_HWCACHE_ALIGN
    cache_line_size: int = 64
    # --- booting from a firmware map (model/boot/, chapter 6): opt-in with Machine.preset(e820=..., cmdline=...) ---
    #: the firmware whose e820 map the machine boots from (model/boot/firmware.py)
    firmware: str = "qemu-i440fx"
    #: how the kernel reads the map and command line and prints its log (model/boot/early.py BOOT_RULES)
    boot_rules: str = "6.x"
    # --- kernel configuration the allocators depend on (issue 8) ---
    #: /sys/kernel/mm/transparent_hugepage/enabled at boot: "always", "madvise" or "never";
    #: None when the kernel has no CONFIG_TRANSPARENT_HUGEPAGE.  "always"/"madvise" start
    #: khugepaged, whose set_recommended_min_free_kbytes() (mm/khugepaged.c) raises
    #: min_free_kbytes; with THP configured, pcp_allowed_order() also takes HPAGE_PMD_ORDER.
    transparent_hugepage: str | None = "madvise"
    #: CONFIG_CMA: whether MIGRATE_CMA exists (a row and a column of /proc/pagetypeinfo,
    #: MIGRATE_TYPES 6 instead of 5 in include/linux/mmzone.h)
    config_cma: bool = False
    #: CONFIG_CMA_SIZE_MBYTES (kernel/dma/Kconfig: "default 0 if X86", 16 elsewhere): the default
    #: CMA area when the command line has no cma= (needs config_cma, i.e. CONFIG_DMA_CMA)
    cma_size_mbytes: int = 0
    #: CONFIG_VMAP_STACK: thread stacks are vmalloc'd order-0 pages (alloc_thread_stack_node()
    #: in kernel/fork.c) rather than one order-THREAD_SIZE_ORDER block
    vmap_stack: bool = True
    #: THREAD_SIZE_ORDER (arch/x86/include/asm/page_64_types.h: 2, 16 KiB stacks; 4 with KASAN)
    thread_size_order: int = 2
    #: CONFIG_SLAB_BUCKETS (6.11+): the kmalloc_buckets cache backing kmem_buckets_create()
    slab_buckets: bool = True
    # --- 32-bit x86 highmem (model/highmem/, chapter 4) ---
    #: the model.highmem.RULES entry that lays out this kernel's 4 GiB (None: not a 32-bit highmem kernel)
    highmem_rules: str | None = None
    #: CONFIG_HIGHMEM64G / X86_PAE: 3-level page tables, LAST_PKMAP 512, RAM up to 64 GiB
    pae: bool = False
    #: CONFIG_VMSPLIT_*: "3G", "3G_OPT", "2G", "2G_OPT" or "1G" (PAGE_OFFSET)
    vmsplit: str = "3G"
    #: FIXADDR_START as a boot log's "fixmap  :" line prints it (None: the rules' default)
    fixaddr_start: int | None = None

    def __post_init__(self) -> None:
        _check_preset(self)
        if self.highmem_rules is not None:
            from .highmem.machine_boot import check_highmem_preset

            check_highmem_preset(self)

    @property
    def zone_names(self) -> tuple[str, ...]:
        """Zone indexes as the kernel numbers them: the preset's zones, then ZONE_MOVABLE."""
        names = tuple(name for name, _end in self.zones)
        return names if "Movable" in names else names + ("Movable",)

    def with_changes(self, **changes: object) -> "Preset":
        """A copy with some fields changed (``nr_cpus=8``); the result is validated like a new preset."""
        return replace(self, **changes)


#: The zone names a preset may use, in the kernel's zone-index order (enum zone_type)
ZONE_ORDER = ("DMA", "DMA32", "Normal", "HighMem", "Movable")


def _whole(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise InvalidArgument(f"preset field {name}={value!r:.40}: accepted: an integer {low}..{high:,}")
    return int(value)


def _check_preset(preset: "Preset") -> None:
    """Refuse a preset no kernel could boot with, naming the field and what is accepted."""
    for name in ("name", "kernel_version", "arch", "description", "default_ram"):
        if not isinstance(getattr(preset, name), str):
            raise InvalidArgument(f"preset field {name} must be text, not {type(getattr(preset, name)).__name__}")
    page_size = _whole(preset.page_size, "page_size", 1024, 1 << 16)
    if page_size & (page_size - 1):
        raise InvalidArgument(f"preset field page_size={page_size}: accepted: a power of two, 1024..65536")
    max_order = _whole(preset.max_page_order, "max_page_order", 0, 20)
    _whole(preset.pageblock_order, "pageblock_order", 0, max_order)
    _whole(preset.nr_cpus, "nr_cpus", 1, 8192)
    _whole(preset.watermark_scale_factor, "watermark_scale_factor", 1, 3000)  # the sysctl's range
    _whole(preset.cache_line_size, "cache_line_size", 8, 4096)
    _whole(preset.cma_size_mbytes, "cma_size_mbytes", 0, 1 << 20)
    zones = preset.zones
    if not isinstance(zones, tuple) or not zones or not all(isinstance(z, tuple) and len(z) == 2 for z in zones):
        raise InvalidArgument(f"preset field zones={zones!r:.80}: accepted: a non-empty tuple of (zone name, end "
                              "address or None), e.g. (('DMA', 16 << 20), ('Normal', None))")
    names = [zone_name for zone_name, _end in zones]
    if any(name not in ZONE_ORDER for name in names) or len(set(names)) != len(names) or "Normal" not in names:
        raise InvalidArgument(f"preset zones {names}: accepted: distinct names among {', '.join(ZONE_ORDER)}, "
                              "Normal included")
    if [ZONE_ORDER.index(name) for name in names] != sorted(ZONE_ORDER.index(name) for name in names):
        raise InvalidArgument(f"preset zones {names} are out of order; the kernel's order is {', '.join(ZONE_ORDER)}")
    previous = 0
    for index, (zone_name, end) in enumerate(zones):
        if end is None:
            if index != len(zones) - 1:
                raise InvalidArgument(f"preset zone {zone_name}: only the last zone may end at None (the rest of RAM)")
            continue
        end = _whole(end, f"zones[{zone_name}] end", 1, 1 << 52)
        if end <= previous:
            raise InvalidArgument(f"preset zone {zone_name} ends at {end:#x}, not above the zone before it")
        previous = end
    if not isinstance(preset.reserved, tuple) or not all(
            isinstance(r, tuple) and len(r) == 2 and _whole(r[0], "reserved start", 0, 1 << 52) < _whole(
                r[1], "reserved end", 1, 1 << 52) for r in preset.reserved):
        raise InvalidArgument("preset field reserved: accepted: a tuple of (start, end) byte ranges, start < end")
    ratios = preset.lowmem_reserve_ratio
    if not isinstance(ratios, dict) or not all(isinstance(k, str) for k in ratios):
        raise InvalidArgument("preset field lowmem_reserve_ratio: accepted: {zone name: ratio >= 0}")
    for key, ratio in ratios.items():
        _whole(ratio, f"lowmem_reserve_ratio[{key}]", 0, 1 << 31)
    if preset.slab_allocator not in ("slub", "slab", "slob"):
        raise InvalidArgument(f"preset field slab_allocator={preset.slab_allocator!r:.40}: accepted: slub, slab, slob")
    for name in ("page_offset", "vmalloc_start", "vmalloc_size", "modules_vaddr", "modules_end"):
        _whole(getattr(preset, name), name, 0, (1 << 64) - 1)


_MiB = 1 << 20
_GiB = 1 << 30

PRESETS: dict[str, Preset] = {
    "linux-6.18-x86_64": Preset(
        name="linux-6.18-x86_64",
        kernel_version="6.18",
        arch="x86_64",
        description="x86-64, 4 KiB pages, MAX_PAGE_ORDER 10, 2 MiB pageblocks; ZONE_DMA below 16 MiB, "
                    "ZONE_DMA32 below 4 GiB, ZONE_NORMAL above; the first 1 MiB reserved at boot",
        default_ram="4G",
        zones=(("DMA", 16 * _MiB), ("DMA32", 4 * _GiB), ("Normal", None)),
        reserved=((0, 1 * _MiB),),
        sources=(
            "booting from a firmware map (e820=/cmdline=): QEMU pc (i440FX) with SeaBIOS, RAM above 3.5 GiB "
            "split 3 GiB below / the rest above 4 GiB with the PCI hole between (model/boot/firmware.py)",
            "include/linux/mmzone.h: MAX_PAGE_ORDER 10, NR_PAGE_ORDERS 11",
            "include/linux/pageblock-flags.h: pageblock_order = HUGETLB_PAGE_ORDER = 9 on x86-64",
            "arch/x86/mm/init.c zone_sizes_init(): MAX_DMA_PFN 16 MiB, MAX_DMA32_PFN 4 GiB",
            "arch/x86/realmode/init.c reserve_real_mode(): memblock_reserve(0, SZ_1M)",
            "configuration of the reference 6.18 VM: THP madvise, CONFIG_VMAP_STACK=y, "
            "CONFIG_SLAB_BUCKETS=y, no CONFIG_CMA (so no CMA row in /proc/pagetypeinfo)",
        ),
    ),
    "linux-6.18-tiny": Preset(
        name="linux-6.18-tiny",
        kernel_version="6.18",
        arch="teaching",
        description="the Linux 6.18 page allocator on a small machine with a single ZONE_NORMAL "
                    "(no DMA zones, nothing reserved): every page is drawn in the lab",
        default_ram="16M",
        zones=(("Normal", None),),
        transparent_hugepage=None,
        sources=("mm/page_alloc.c and include/linux/mmzone.h as for linux-6.18-x86_64",
                 "built without CONFIG_TRANSPARENT_HUGEPAGE, so min_free_kbytes is the int_sqrt value"),
    ),
    "linux-2.6.35-i386": Preset(
        name="linux-2.6.35-i386",
        kernel_version="2.6.35",
        arch="i386",
        description="32-bit x86, 3G/1G split, HIGHMEM4G (no PAE): ZONE_DMA below 16 MiB, ZONE_NORMAL up to "
                    "MAXMEM (0x377fe000 = 887.99 MiB with the 128 MiB vmalloc reserve), ZONE_HIGHMEM above; "
                    "MAX_ORDER 11, 4 MiB pageblocks; boots from QEMU's SeaBIOS map with the 2.6 print formats",
        default_ram="2G",
        max_page_order=10,
        pageblock_order=10,
        zones=(("DMA", 16 * _MiB), ("Normal", 0x377FE000), ("HighMem", None)),
        reserved=((0, 64 << 10),),
        page_offset=0xC0000000,
        vmalloc_start=0xF7FFE000,
        vmalloc_size=0xFF7FE000 - 0xF7FFE000,
        modules_vaddr=0xF7FFE000,
        modules_end=0xFF7FE000,
        boot_rules="2.6-i386",
        highmem_rules="linux-2.6.35-i386",
        # CONFIG_TRANSPARENT_HUGEPAGE arrived in 2.6.38 (mm/huge_memory.c), so no khugepaged raises
        # min_free_kbytes here: init_per_zone_wmark_min() keeps int_sqrt(lowmem_kbytes * 16)
        transparent_hugepage=None,
        sources=(
            "arch/x86/include/asm/pgtable_32_types.h: VMALLOC_END = PKMAP_BASE - 2 pages, __VMALLOC_RESERVE 128 MiB",
            "include/linux/mmzone.h (2.6.35): MAX_ORDER 11; pageblock_order = HUGETLB_PAGE_ORDER = 10 (4 MiB pages)",
            "boot log of a 2 GiB i386 2.6.37 machine (LKML, 2011): Zone PFN ranges DMA 0x10, Normal 0x1000, "
            "HighMem 0x377fe; vmalloc 0xf7ffe000 - 0xff7fe000 (120 MB)",
        ),
    ),
}


def _i386_preset(version: str, normal_end: int, description: str, sources: tuple[str, ...]) -> Preset:
    """A 32-bit preset of chapter 4: the 2.6.35 machine with another version's layout rules."""
    base = PRESETS["linux-2.6.35-i386"]
    thp = None if version.startswith("2.6.") else "madvise"  # THP exists from 2.6.38
    return base.with_changes(transparent_hugepage=thp, name=f"linux-{version}-i386", kernel_version=version, description=description,
                             zones=(("DMA", 16 * _MiB), ("Normal", normal_end), ("HighMem", None)),
                             highmem_rules=f"linux-{version}-i386", sources=sources)


PRESETS.update({
    "linux-2.6.24-i386": _i386_preset(
        "2.6.24", 0x38000000,
        "32-bit x86 of Ubuntu 8.04: MAXMEM fixed at -PAGE_OFFSET - __VMALLOC_RESERVE (896 MiB), VMALLOC_START "
        "rounded up to 8 MiB; zones and the layout block from model/highmem (the rest of the log in 2.6.3x form)",
        ("model/highmem/layout_rules.py linux-2.6.24-i386: arch/x86/kernel/setup_32.c find_max_low_pfn(), "
         "include/asm-x86/page_32.h, pgtable_32.h, fixmap_32.h",)),
    "linux-3.16-i386": _i386_preset(
        "3.16", 0x377FE000,
        "32-bit x86, Linux 3.16: the 2.6.35 layout, 'Zone ranges:' as [mem ...], kmap_atomic() on a per-CPU "
        "stack; zones and the layout block from model/highmem (the rest of the log in 2.6.3x form)",
        ("model/highmem/layout_rules.py linux-3.16-i386: arch/x86/mm/init_32.c, pgtable_32_types.h, fixmap.h",)),
    "linux-5.1-i386": _i386_preset(
        "5.1", 0x373FE000,
        "32-bit x86, Linux 5.1: the cpu_entry_area and the LDT remap between the fixmap and the pkmap window; "
        "among the last kernels to print the layout block (removed in 5.7)",
        ("model/highmem/layout_rules.py linux-5.1-i386: arch/x86/include/asm/pgtable_32_areas.h, "
         "arch/x86/mm/init_32.c mem_init()",)),
})
#: A distribution's 6.18 x86-64 kernel (Debian, Fedora, Ubuntu): CONFIG_CMA=y, CONFIG_DMA_CMA=y,
#: CONFIG_CMA_SIZE_MBYTES=0 (the x86 default), so the CMA area is what cma= asks for (chapter 5).
PRESETS["linux-6.18-x86_64-cma"] = replace(
    PRESETS["linux-6.18-x86_64"], name="linux-6.18-x86_64-cma", config_cma=True,
    description=PRESETS["linux-6.18-x86_64"].description + "; CONFIG_CMA and CONFIG_DMA_CMA on, "
                "CONFIG_CMA_SIZE_MBYTES=0 (no CMA area unless the command line has cma=)",
    sources=PRESETS["linux-6.18-x86_64"].sources[:-1] + (
        "a distribution configuration: CONFIG_CMA=y, CONFIG_DMA_CMA=y, CONFIG_CMA_SIZE_MBYTES=0 "
        "(kernel/dma/Kconfig: default 0 if X86), THP madvise, CONFIG_VMAP_STACK=y",))


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise UnknownPreset(f"unknown machine preset {name!r}; accepted: {', '.join(PRESETS)}") from None
