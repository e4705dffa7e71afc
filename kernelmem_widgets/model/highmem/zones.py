"""A 32-bit layout's zones for the page allocator: DMA, Normal and HighMem.

:func:`build_zones` makes one ``page_alloc.Zone`` per populated zone of a :class:`Layout`, with
the watermarks and ``lowmem_reserve`` of mm/page_alloc.c (Linux 6.18, the rules
``model.page_alloc.watermarks`` follows):

* ``calculate_min_free_kbytes()`` counts lowmem only (``nr_free_buffer_pages()`` stops at
  ZONE_NORMAL), so a box with 16 GiB has the min_free_kbytes of its ~890 MiB of lowmem;
* ``__setup_per_zone_wmarks()`` shares ``min_free_kbytes`` among the lowmem zones only and gives
  HighMem a small WMARK_MIN of ``clamp(managed / 1024, SWAP_CLUSTER_MAX, 128)``: "__GFP_HIGH and
  PF_MEMALLOC allocations usually don't need highmem pages";
* ``setup_per_zone_lowmem_reserve()`` with ``sysctl_lowmem_reserve_ratio`` DMA 256, Normal 32:
  a GFP_HIGHUSER allocation falling back to Normal must leave HighMem's managed pages / 32 free
  there, and DMA keeps (Normal + HighMem) / 256.

:func:`machine_preset_fields` gives the same zones (and page-table geometry) in the form
``model.presets.Preset`` takes, for a Machine to boot with this layout.
"""

from __future__ import annotations

from typing import Iterable

from ..events import EventBus
from ..page_alloc.buddy import Zone
from ..page_alloc.watermarks import (DEFAULT_LOWMEM_RESERVE_RATIO, calculate_min_free_kbytes,
                                     setup_per_zone_lowmem_reserve, setup_per_zone_wmarks)
from .layout import PAGE_SHIFT, Layout

__all__ = ["build_zones", "machine_preset_fields", "ZONE_INDEXES_32"]

#: zone indexes of a 32-bit HIGHMEM kernel (include/linux/mmzone.h: no ZONE_DMA32 on X86_32)
ZONE_INDEXES_32 = ("DMA", "Normal", "HighMem", "Movable")


def _geometry(layout: Layout) -> tuple[int, int]:
    """MAX_PAGE_ORDER 10 and pageblock_order = HUGETLB_PAGE_ORDER: 10 (4 MiB pages) or 9 with PAE."""
    return 10, 9 if layout.pae else 10


def build_zones(layout: Layout, *, free_ranges: Iterable[tuple[int, int]] | None = None,
                bus: EventBus | None = None) -> tuple[list[Zone | None], int]:
    """The layout's zones, by zone index (None where empty), and the boot's ``min_free_kbytes``.

    ``free_ranges`` are the pfn ranges memblock frees to the buddy allocator (default: every pfn
    of every zone).
    """
    max_page_order, pageblock_order = _geometry(layout)
    bus = bus if bus is not None else EventBus()
    ranges = list(free_ranges) if free_ranges is not None else None
    zones_by_index: list[Zone | None] = []
    for name in ZONE_INDEXES_32:
        span = next(((start, end) for zone_name, start, end in layout.zones if zone_name == name), None)
        if span is None or span[0] >= span[1]:
            zones_by_index.append(None)
            continue
        zones_by_index.append(Zone(name, span[0], span[1], max_page_order=max_page_order,
                                   pageblock_order=pageblock_order, free_ranges=ranges, bus=bus))
    zones = [zone for zone in zones_by_index if zone is not None]
    lowmem_pages = sum(zone.managed_pages for zone in zones if zone.name != "HighMem")
    min_free_kbytes = calculate_min_free_kbytes(lowmem_pages * 4)
    setup_per_zone_wmarks(zones, min_free_kbytes)
    setup_per_zone_lowmem_reserve(zones_by_index, [DEFAULT_LOWMEM_RESERVE_RATIO[name] for name in ZONE_INDEXES_32])
    return zones_by_index, min_free_kbytes


def machine_preset_fields(layout: Layout) -> dict:
    """Fields for ``Preset(...)``: zones, geometry, PAGE_OFFSET and the vmalloc area of this boot."""
    max_page_order, pageblock_order = _geometry(layout)
    return {
        "kernel_version": layout.rules.kernel_version,
        "arch": "i386",
        "zones": layout.zone_table(),
        "reserved": (),
        "max_page_order": max_page_order,
        "pageblock_order": pageblock_order,
        "page_offset": layout.page_offset,
        "vmalloc_start": layout.vmalloc_start,
        "vmalloc_size": layout.vmalloc_end - layout.vmalloc_start,
        "modules_vaddr": layout.vmalloc_start,
        "modules_end": layout.vmalloc_end,
        "default_ram": str(layout.max_pfn << PAGE_SHIFT),
        # THP needs HAVE_ARCH_TRANSPARENT_HUGEPAGE: x86-64 or X86_PAE (arch/x86/Kconfig)
        "transparent_hugepage": "madvise" if layout.pae else None,
    }
