"""``pin_user_pages()`` as a flag on a block: mm/gup.c (Linux 6.18), what it means for migration.

A FOLL_PIN reference says "a device is doing DMA to this page": migration must not move it
(``folio_maybe_dma_pinned()``), so a pinned page in a CMA range makes ``cma_alloc()`` fail with
-EBUSY.  A long-term pin (FOLL_LONGTERM: RDMA, VFIO) is never left in a CMA pageblock or
ZONE_MOVABLE: ``check_and_migrate_movable_pages()`` migrates the page first.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..page_alloc.freearea import NO_ORDER
from ..page_alloc.mmzone import MIGRATE_CMA, MIGRATE_MOVABLE

__all__ = ["pin_user_pages", "unpin_user_pages", "user_pages_in"]


def pin_user_pages(machine, pfn: int, *, longterm: bool = False) -> int:
    """``pin_user_pages()`` on the user page block at ``pfn``; returns the pfn now pinned.

    A short-term pin (O_DIRECT, a DMA in flight) pins the page where it is.  With
    ``longterm=True`` (FOLL_LONGTERM, e.g. RDMA or VFIO) the kernel first migrates a page out of
    a CMA pageblock (``check_and_migrate_movable_pages()``), so a long-term pin never blocks CMA.
    """
    zone = machine.zone_of(pfn)
    slot = pfn - zone._base
    order = zone._alloc_order[slot]
    if order == NO_ORDER or zone._alloc_mt[slot] != MIGRATE_MOVABLE:
        raise InvalidArgument(f"pin_user_pages({pfn:#x}): not the head of an allocated user (Movable) block; "
                              "only user pages can be pinned")
    if pfn in machine.dma.pins:
        raise InvalidArgument(f"pin_user_pages({pfn:#x}): already pinned")
    if longterm and zone._pb_mt[slot >> zone.pageblock_order] == MIGRATE_CMA:
        with machine.bus.batch("pin_user_pages"):
            new_pfn = _migrate_out_of_cma(machine, zone, slot, order)
            machine.bus.emit("mm_migrate_pages", reason="longterm_pin", succeeded=1, failed=0, moved={pfn: new_pfn})
        pfn = new_pfn
    machine.dma.add_pin(pfn, order)
    return pfn


def _migrate_out_of_cma(machine, zone, slot, order) -> int:
    """A target outside CMA: under ``memalloc_pin_save()`` ``current_gfp_context()`` clears
    __GFP_MOVABLE, so the new page is an unmovable one (no ALLOC_CMA), as a long-term pin is."""
    new_pfn = machine.alloc_pages("GFP_HIGHUSER|__GFP_RETRY_MAYFAIL", order)   # __GFP_MOVABLE cleared
    zone.free_pages(slot + zone._base, order)
    return new_pfn


def unpin_user_pages(machine, pfn: int) -> None:
    """``unpin_user_page()``: drop the pin; the page may migrate again."""
    if pfn not in machine.dma.pins:
        raise InvalidArgument(f"unpin_user_page({pfn:#x}): that page is not pinned")
    machine.dma.remove_pin(pfn)


def user_pages_in(machine, cma) -> list[int]:
    """The heads of user (Movable) blocks that sit in CMA area ``cma`` and are not pinned: what
    ``pin_user_pages()`` could pin there, ascending pfn."""
    import numpy as np

    zone = machine.zone(cma.zone)
    start, end = cma.base_pfn - zone._base, cma.end_pfn - zone._base
    orders = np.frombuffer(zone._alloc_order, dtype=np.uint8)[start:end]
    kinds = np.frombuffer(zone._alloc_mt, dtype=np.uint8)[start:end]
    heads = (np.flatnonzero((orders != NO_ORDER) & (kinds == MIGRATE_MOVABLE)) + cma.base_pfn).tolist()
    pins = machine.dma.pins
    return [pfn for pfn in heads if pfn not in pins]
