"""Which page frames are free, in use or reserved: the maps boot-time placement needs.

memblock (which the boot chapter models) knows what is reserved; on a machine that is already
up the model reads the same from the buddy allocator's tables, vectorised: a page is *free*
when a free block covers it, *covered* when any block (free or allocated) does, and reserved
(PageReserved, never given to the buddy allocator) otherwise.
"""

from __future__ import annotations

import numpy as np

from ..page_alloc.freearea import NO_ORDER

__all__ = ["covered", "free_pages_map"]


def _cover(zone, tables) -> np.ndarray:
    length = len(zone._alloc_order)
    cover = np.zeros(length + 1, dtype=np.int32)
    for table in tables:
        orders = np.frombuffer(table, dtype=np.uint8)
        starts = np.flatnonzero(orders != NO_ORDER)
        np.add.at(cover, starts, 1)
        np.add.at(cover, starts + (1 << orders[starts].astype(np.int64)), -1)
    return np.cumsum(cover[:-1]) > 0


def covered(zone) -> np.ndarray:
    """Per slot of ``zone``: True when the page is in a free or allocated block (not reserved)."""
    return _cover(zone, (zone._area.buddy_order, zone._alloc_order))


def free_pages_map(machine, limit_pfn: int | None = None) -> np.ndarray:
    """Per pfn below ``limit_pfn`` (all RAM by default): True when the page is free."""
    limit_pfn = machine.nr_pages if limit_pfn is None else min(limit_pfn, machine.nr_pages)
    free = np.zeros(limit_pfn, dtype=bool)
    for zone in machine.zones:
        if zone.start_pfn >= limit_pfn:
            continue
        zone_free = _cover(zone, (zone._area.buddy_order,))
        hi = min(zone.end_pfn, limit_pfn)
        free[zone.start_pfn:hi] = zone_free[zone.start_pfn - zone._base:hi - zone._base]
    return free
