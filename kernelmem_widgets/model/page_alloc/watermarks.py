"""Zone watermarks, ``min_free_kbytes`` and ``lowmem_reserve``: mm/page_alloc.c, Linux 6.18.

``calculate_min_free_kbytes()``, ``set_recommended_min_free_kbytes()`` (mm/khugepaged.c),
``nr_free_buffer_pages()``, ``__setup_per_zone_wmarks()``,
``setup_per_zone_lowmem_reserve()`` and ``__zone_watermark_ok()``.
"""

from __future__ import annotations

from math import isqrt
from typing import Sequence

from .buddy import (ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_MIN_RESERVE, ALLOC_NON_BLOCK, ALLOC_OOM,
                    ALLOC_RESERVES, Zone)
from .mmzone import MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_PCPTYPES
from .checks import check_zone_arg, check_zones_arg
from ..validate import in_range, power_of_two

__all__ = ["calculate_min_free_kbytes", "recommended_min_free_kbytes", "THP_MODES", "setup_per_zone_wmarks", "setup_per_zone_lowmem_reserve",
           "zone_watermark_ok", "mult_frac", "DEFAULT_LOWMEM_RESERVE_RATIO"]

#: ``sysctl_lowmem_reserve_ratio[]`` defaults by zone name.
DEFAULT_LOWMEM_RESERVE_RATIO = {"DMA": 256, "DMA32": 256, "Normal": 32, "HighMem": 0, "Movable": 0}


def mult_frac(x: int, numer: int, denom: int) -> int:
    """The kernel's ``mult_frac()`` (include/linux/math.h, Linux 6.18): x * numer / denom without overflowing."""
    if x.__class__ is not int or numer.__class__ is not int or denom.__class__ is not int or denom <= 0 \
            or not 0 <= x < 1 << 64 or not 0 <= numer < 1 << 64:
        from ..validate import in_range

        x, numer = in_range(x, "x", 0, (1 << 64) - 1), in_range(numer, "numer", 0, (1 << 64) - 1)
        denom = in_range(denom, "denom", 1, (1 << 64) - 1)
    return (x // denom) * numer + ((x % denom) * numer) // denom


def calculate_min_free_kbytes(lowmem_kbytes: int) -> int:
    """``calculate_min_free_kbytes()``: int_sqrt(lowmem_kbytes * 16) clamped to [128, 262144].

    >>> calculate_min_free_kbytes(4 * 1024 * 1024)   # 4 GiB of lowmem
    8192
    """
    if lowmem_kbytes.__class__ is not int or not 0 <= lowmem_kbytes < 1 << 54:
        from ..validate import in_range

        lowmem_kbytes = in_range(lowmem_kbytes, "lowmem_kbytes", 0, (1 << 54) - 1)   # 16 EiB of kB
    return min(max(isqrt(lowmem_kbytes * 16), 128), 262144)


#: The boot-time settings of /sys/kernel/mm/transparent_hugepage/enabled.
THP_MODES = ("always", "madvise", "never")


def recommended_min_free_kbytes(zones: Sequence[Zone], min_free_kbytes: int, *, page_size: int = 4096) -> int:
    """``set_recommended_min_free_kbytes()`` of mm/khugepaged.c (Linux 6.18).

    Run when khugepaged starts (THP ``always`` or ``madvise``): two pageblocks per zone up to
    ZONE_NORMAL (``gfp_zone(GFP_USER)``) plus ``MIGRATE_PCPTYPES**2`` more, capped at 5 % of
    ``nr_free_buffer_pages()`` (managed minus high watermark, summed over those zones), and
    only ever raising ``min_free_kbytes``.  ``zones`` must already carry the watermarks of
    the ``int_sqrt`` value.

    >>> from kernelmem_widgets.model import Machine
    >>> recommended_min_free_kbytes(Machine.preset("linux-6.18-x86_64", ram="16G",
    ...                                            transparent_hugepage="never").zones, 16383)
    67584
    """
    zones = check_zones_arg(zones)
    min_free_kbytes = in_range(min_free_kbytes, "min_free_kbytes", 0, 1 << 40)
    page_size = power_of_two(page_size, "page_size", 1024, 1 << 16)
    user_zones = [zone for zone in zones if zone.populated and zone.name not in ("HighMem", "Movable")]
    pageblock_nr_pages = user_zones[0].pageblock_nr_pages if user_zones else 0
    recommended = pageblock_nr_pages * len(user_zones) * (2 + MIGRATE_PCPTYPES * MIGRATE_PCPTYPES)
    free_buffer_pages = sum(max(zone.managed_pages - zone.watermark["high"], 0) for zone in user_zones)
    recommended = min(recommended, free_buffer_pages // 20) * (page_size // 1024)
    return max(recommended, min_free_kbytes)


def _is_lowmem(zone_name: str) -> bool:
    return zone_name not in ("HighMem", "Movable")


def setup_per_zone_wmarks(zones: Sequence[Zone], min_free_kbytes: int, *, page_size: int = 4096,
                          watermark_scale_factor: int = 10) -> None:
    """``__setup_per_zone_wmarks()``: share ``min_free_kbytes`` among lowmem zones by size."""
    zones = check_zones_arg(zones)
    min_free_kbytes = in_range(min_free_kbytes, "min_free_kbytes", 0, 1 << 40)
    page_size = power_of_two(page_size, "page_size", 1024, 1 << 16)
    watermark_scale_factor = in_range(watermark_scale_factor, "watermark_scale_factor", 1, 3000)
    pages_min = min_free_kbytes // (page_size // 1024)
    lowmem_pages = sum(zone.managed_pages for zone in zones if _is_lowmem(zone.name))
    for zone in zones:
        share = pages_min * zone.managed_pages // lowmem_pages if lowmem_pages else 0
        if _is_lowmem(zone.name):
            minimum = share
        else:
            minimum = min(max(zone.managed_pages // 1024, 32), 128)
        gap = max(share >> 2, mult_frac(zone.managed_pages, watermark_scale_factor, 10000))
        zone.watermark = {"min": minimum, "low": minimum + gap, "high": minimum + 2 * gap,
                          "promo": minimum + 3 * gap}


def setup_per_zone_lowmem_reserve(zones_by_index: Sequence[Zone | None], ratios: Sequence[int]) -> None:
    """``setup_per_zone_lowmem_reserve()``: lowmem_reserve[j] = managed pages of zones i+1..j / ratio[i]."""
    zones_by_index = check_zones_arg(zones_by_index, "zones_by_index", allow_none=True)
    if not isinstance(ratios, (list, tuple)) or len(ratios) < len(zones_by_index):
        from ..errors import InvalidArgument

        raise InvalidArgument(f"ratios {ratios!r:.40}: accepted: one lowmem_reserve_ratio per zone index")
    ratios = [in_range(ratio, f"ratios[{i}]", 0, 1 << 31) for i, ratio in enumerate(ratios)]
    nr_zones = len(zones_by_index)
    for index, zone in enumerate(zones_by_index):
        if zone is None:
            continue
        reserve = [0] * nr_zones
        ratio = ratios[index]
        upper = 0
        for higher in range(index + 1, nr_zones):
            upper_zone = zones_by_index[higher]
            upper += upper_zone.managed_pages if upper_zone is not None else 0
            if ratio and zone.managed_pages:
                reserve[higher] = upper // ratio
        zone.lowmem_reserve = reserve


def zone_watermark_ok(zone: Zone, order: int, mark: int, highest_zoneidx: int, alloc_flags: int,
                      free_pages: int | None = None) -> bool:
    """``__zone_watermark_ok()``: enough free pages above ``mark`` and a block of ``order``."""
    if zone.__class__ is not Zone or order.__class__ is not int or mark.__class__ is not int \
            or highest_zoneidx.__class__ is not int or alloc_flags.__class__ is not int:
        check_zone_arg(zone)
        order = in_range(order, "order", 0, getattr(zone, "max_page_order", 20))
        mark = in_range(mark, "mark", 0, 1 << 52)
        highest_zoneidx = in_range(highest_zoneidx, "highest_zoneidx", 0, len(zone.lowmem_reserve) - 1)
        alloc_flags = in_range(alloc_flags, "alloc_flags", 0, 1 << 16)
    if not 0 <= order <= getattr(zone, "max_page_order", 20) or not 0 <= highest_zoneidx < len(zone.lowmem_reserve):
        order = in_range(order, "order", 0, getattr(zone, "max_page_order", 20))
        highest_zoneidx = in_range(highest_zoneidx, "highest_zoneidx", 0, len(zone.lowmem_reserve) - 1)
    if free_pages is not None:
        free_pages = in_range(free_pages, "free_pages", 0, 1 << 52)
    free = zone.nr_free_pages if free_pages is None else free_pages
    unusable = (1 << order) - 1
    if not alloc_flags & ALLOC_RESERVES:
        unusable += zone.nr_free_highatomic
    if not alloc_flags & ALLOC_CMA:
        unusable += zone.nr_free_cma
    free -= unusable
    minimum = mark
    if alloc_flags & ALLOC_RESERVES:
        if alloc_flags & ALLOC_MIN_RESERVE:
            minimum -= minimum // 2
            if alloc_flags & ALLOC_NON_BLOCK:
                minimum -= minimum // 4
        if alloc_flags & ALLOC_OOM:
            minimum -= minimum // 2
    if free <= minimum + zone.lowmem_reserve[highest_zoneidx]:
        return False
    if order == 0:
        return True
    area = zone._area
    for current_order in range(order, area.nr_orders):
        if not area.nr_free[current_order]:
            continue
        for migratetype in range(MIGRATE_PCPTYPES):
            if not area.is_empty(current_order, migratetype):
                return True
        if alloc_flags & ALLOC_CMA and not area.is_empty(current_order, MIGRATE_CMA):
            return True
        if alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM) and not area.is_empty(current_order, MIGRATE_HIGHATOMIC):
            return True
    return False
