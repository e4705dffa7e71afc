"""A read-only preview of the next allocation: which free block the fast path would take.

The buddy lab's *step through a split* shows each ``expand()`` step before the allocation
happens, so it needs to know the block in advance without taking it.  This replays the decisions
of ``Machine.alloc_pages`` / ``FallbackMixin._rmqueue`` as queries; tests compare every preview
that names a block with the real allocation that follows, which keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from .buddy import ALLOC_CMA, ALLOC_NOFRAGMENT, Zone
from .gfp import gfp_migratetype, parse_gfp
from .mmzone import MIGRATE_CMA, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, MIGRATE_UNMOVABLE
from .watermarks import zone_watermark_ok

__all__ = ["AllocationPreview", "allocation_preview"]


@dataclass(frozen=True)
class AllocationPreview:
    """The free block the fast path of ``alloc_pages()`` would take now, and how it splits.

    ``pfn`` is None when the preview cannot say (``reason`` tells why); the allocation itself
    will still decide.  ``list_migratetype`` is the free list the block comes from,
    ``split_migratetype`` the lists ``expand()`` puts the upper halves on.
    """

    order: int
    migratetype: int
    zone: str | None = None
    pfn: int | None = None
    block_order: int | None = None
    list_migratetype: int | None = None
    split_migratetype: int | None = None
    path: str = ""
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.pfn is not None

    def halves(self) -> list[tuple[int, int]]:
        """(pfn, order) of each upper half ``expand()`` frees, in the order it frees them."""
        if not self.known:
            return []
        return [(self.pfn + (1 << order), order) for order in range(self.block_order - 1, self.order - 1, -1)]


class _Unknown(Exception):
    """The outcome depends on a path the preview does not replay (a partial pageblock claim)."""


def allocation_preview(machine, gfp, order: int) -> AllocationPreview:
    """Replay ``get_page_from_freelist()``'s fast path of ``alloc_pages(gfp, order)`` without taking anything.

    Follows ``Machine.alloc_pages`` (Linux 6.18 mm/page_alloc.c): the zonelist from
    ``gfp_zone()``, the low watermark, ALLOC_NOFRAGMENT first where the kernel sets it, and in
    each zone ``__rmqueue()``: ``__rmqueue_smallest()`` of the request's type, CMA,
    ``__rmqueue_claim()`` of a whole free block of at least pageblock order, ``__rmqueue_steal()``.
    A claim of part of a pageblock and the slow path are not replayed: the result then has
    ``pfn=None`` and a ``reason``.  Raises what ``alloc_pages`` raises for a bad order or GFP mask.
    """
    if not hasattr(type(machine), "alloc_pages") or not hasattr(machine, "zones") or isinstance(machine, type):
        from ..errors import InvalidArgument

        raise InvalidArgument(f"machine {machine!r:.40}: accepted: a Machine (Machine.preset(...))")
    gfp = parse_gfp(gfp)
    machine._check_order(order)
    highest = machine._highest_zoneidx(gfp)
    migratetype = gfp_migratetype(gfp) if machine.mobility_grouping else MIGRATE_UNMOVABLE
    zonelist = [zone for zone in reversed(machine.zones_by_index[:highest + 1]) if zone is not None]
    flags = ALLOC_CMA if migratetype == MIGRATE_MOVABLE else 0
    passes = [flags]
    if zonelist and zonelist[0].name == "Normal" and "DMA32" in machine.config.zone_names:
        passes.insert(0, flags | ALLOC_NOFRAGMENT)
    for alloc_flags in passes:
        for zone in zonelist:
            if not zone_watermark_ok(zone, order, zone.watermark["low"], highest, alloc_flags):
                continue
            try:
                found = _rmqueue_preview(zone, order, migratetype, alloc_flags)
            except _Unknown as unknown:
                return AllocationPreview(order, migratetype, zone=zone.name, reason=str(unknown))
            if found is not None:
                return found
    return AllocationPreview(order, migratetype, reason=(
        "no zone passes the low watermark with a suitable block: the slow path decides (min watermark, "
        "reserves, direct compaction)"))


def _rmqueue_preview(zone: Zone, order: int, migratetype: int, alloc_flags: int) -> AllocationPreview | None:
    """``__rmqueue()`` as a query: the block it would take, or None when this zone has none."""
    area = zone._area
    if alloc_flags & ALLOC_CMA and area.nr_free_cma > area.free_pages // 2:
        found = _smallest_preview(zone, order, migratetype, MIGRATE_CMA)
        if found is not None:
            return found
    found = _smallest_preview(zone, order, migratetype, migratetype)
    if found is not None or migratetype >= MIGRATE_PCPTYPES:
        return found
    if alloc_flags & ALLOC_CMA:
        found = _smallest_preview(zone, order, migratetype, MIGRATE_CMA)
        if found is not None:
            return found
    found = _claim_preview(zone, order, migratetype, alloc_flags)
    if found is None and not alloc_flags & ALLOC_NOFRAGMENT:
        found = _steal_preview(zone, order, migratetype)
    return found


def _smallest_preview(zone: Zone, order: int, migratetype: int, list_mt: int) -> AllocationPreview | None:
    """``__rmqueue_smallest()``: the head of the smallest non-empty list of ``list_mt``."""
    for current_order in range(order, zone.max_page_order + 1):
        slot = zone._area.head(current_order, list_mt)
        if slot >= 0:
            return AllocationPreview(order, migratetype, zone.name, slot + zone._base, current_order, list_mt,
                                     list_mt, "__rmqueue_smallest")
    return None


def _claim_preview(zone: Zone, order: int, migratetype: int, alloc_flags: int) -> AllocationPreview | None:
    """``__rmqueue_claim()``: the largest fallback block; only whole-pageblock claims are replayed."""
    min_order = order
    if order < zone.pageblock_order and alloc_flags & ALLOC_NOFRAGMENT:
        min_order = zone.pageblock_order
    for current_order in range(zone.max_page_order, min_order - 1, -1):
        fallback_mt = zone._find_suitable_fallback(current_order, migratetype, True)
        if fallback_mt == -1:
            continue
        if fallback_mt == -2:
            return None
        if current_order < zone.pageblock_order:
            raise _Unknown(
                f"the request needs a fallback: __rmqueue_claim() may claim the pageblock of an order-{current_order} "
                f"free block of another type, depending on how much of that pageblock is free")
        slot = zone._area.head(current_order, fallback_mt)
        return AllocationPreview(order, migratetype, zone.name, slot + zone._base, current_order, fallback_mt,
                                 migratetype, "__rmqueue_claim")
    return None


def _steal_preview(zone: Zone, order: int, migratetype: int) -> AllocationPreview | None:
    """``__rmqueue_steal()``: the smallest fallback block, split on its own type's lists."""
    for current_order in range(order, zone.max_page_order + 1):
        fallback_mt = zone._find_suitable_fallback(current_order, migratetype, False)
        if fallback_mt >= 0:
            slot = zone._area.head(current_order, fallback_mt)
            return AllocationPreview(order, migratetype, zone.name, slot + zone._base, current_order, fallback_mt,
                                     fallback_mt, "__rmqueue_steal")
    return None
