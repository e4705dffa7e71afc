"""Migrate-type fallback: what ``__rmqueue()`` does when the requested type's lists are empty.

Follows mm/page_alloc.c of Linux 6.18: ``rmqueue_buddy()``, ``__rmqueue()``,
``__rmqueue_claim()``, ``find_suitable_fallback()``, ``should_try_claim_block()``,
``try_to_claim_block()``, ``__rmqueue_steal()``, ``__move_freepages_block()`` and
``reserve_highatomic_pageblock()``, ``unreserve_highatomic_pageblock()``, and ``rmqueue()``'s
choice between the per-cpu path (``rmqueue_pcplist()`` -> ``__rmqueue()``, which never looks
at the HighAtomic lists first) and ``rmqueue_buddy()``.  ``boost_watermark()`` is not modelled (nothing here plays
kswapd, which is what would take the boost away again).
"""

from __future__ import annotations

from .freearea import NO_ORDER
from .mmzone import (MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE, MIGRATE_PCPTYPES,
                     MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE)

__all__ = ["FallbackMixin", "FALLBACKS"]

ALLOC_OOM, ALLOC_NON_BLOCK, ALLOC_CMA, ALLOC_NOFRAGMENT, ALLOC_HIGHATOMIC = 0x08, 0x10, 0x80, 0x100, 0x200

#: ``fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1]``
FALLBACKS = {
    MIGRATE_UNMOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE),
    MIGRATE_MOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE),
    MIGRATE_RECLAIMABLE: (MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
}


class FallbackMixin:
    """The fallback half of a zone's allocator; mixed into :class:`~.buddy.Zone`."""

    def _rmqueue_buddy(self, order: int, migratetype: int, alloc_flags: int) -> int:
        """``rmqueue_buddy()``: HighAtomic reserves first for ALLOC_HIGHATOMIC, last for atomic."""
        slot = -1
        if alloc_flags & ALLOC_HIGHATOMIC:
            slot = self._rmqueue_smallest(order, MIGRATE_HIGHATOMIC)
        if slot < 0:
            slot = self._rmqueue(order, migratetype, alloc_flags)
            if slot < 0 and alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK):
                slot = self._rmqueue_smallest(order, MIGRATE_HIGHATOMIC)
        return slot

    def _rmqueue_any(self, order: int, migratetype: int, alloc_flags: int, pcp_allowed: bool) -> int:
        """``rmqueue()`` (mm/page_alloc.c, 6.18): orders that ``pcp_allowed_order()`` accepts
        (<= PAGE_ALLOC_COSTLY_ORDER, and HPAGE_PMD_ORDER with THP) are taken by the per-cpu
        path, ``rmqueue_pcplist()`` -> ``rmqueue_bulk()`` -> ``__rmqueue()``, which does not try
        the HighAtomic reserve first; only if that finds nothing does ``rmqueue_buddy()`` run.
        The per-cpu lists themselves are not modelled (every refill is one block, as if each
        pcp list were drained at once)."""
        if pcp_allowed:
            slot = self._rmqueue(order, migratetype, alloc_flags)
            if slot >= 0:
                return slot
        return self._rmqueue_buddy(order, migratetype, alloc_flags)

    def _rmqueue(self, order: int, migratetype: int, alloc_flags: int) -> int:
        """``__rmqueue()``: requested type, then CMA, then claim a block, then steal a page."""
        area = self._area
        if alloc_flags & ALLOC_CMA and area.nr_free_cma > area.free_pages // 2:
            slot = self._rmqueue_smallest(order, MIGRATE_CMA)
            if slot >= 0:
                return slot
        slot = self._rmqueue_smallest(order, migratetype)
        if slot >= 0 or migratetype >= MIGRATE_PCPTYPES:
            return slot
        if alloc_flags & ALLOC_CMA:
            slot = self._rmqueue_smallest(order, MIGRATE_CMA)
            if slot >= 0:
                return slot
        slot = self._rmqueue_claim(order, migratetype, alloc_flags)
        if slot < 0 and not alloc_flags & ALLOC_NOFRAGMENT:
            slot = self._rmqueue_steal(order, migratetype)
        return slot

    def _should_try_claim_block(self, order: int, start_mt: int) -> bool:
        pageblock_order = self.pageblock_order
        return (order >= pageblock_order or order >= pageblock_order // 2
                or start_mt in (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE) or not self.mobility_grouping)

    def _find_suitable_fallback(self, order: int, migratetype: int, claimable: bool) -> int:
        """-2: too small to claim; -1: nothing at this order; else the fallback type to use."""
        if claimable and not self._should_try_claim_block(order, migratetype):
            return -2
        if self._area.nr_free[order] == 0:
            return -1
        for fallback_mt in FALLBACKS[migratetype]:
            if not self._area.is_empty(order, fallback_mt):
                return fallback_mt
        return -1

    def _rmqueue_claim(self, order: int, start_mt: int, alloc_flags: int) -> int:
        """``__rmqueue_claim()``: the largest fallback block, claiming its pageblock if it can."""
        min_order = order
        if order < self.pageblock_order and alloc_flags & ALLOC_NOFRAGMENT:
            min_order = self.pageblock_order
        for current_order in range(self.max_page_order, min_order - 1, -1):
            fallback_mt = self._find_suitable_fallback(current_order, start_mt, True)
            if fallback_mt == -1:
                continue
            if fallback_mt == -2:
                break
            slot = self._try_to_claim_block(self._area.head(current_order, fallback_mt),
                                            current_order, order, start_mt, fallback_mt)
            if slot >= 0:
                self._trace_extfrag(slot, order, current_order, start_mt, fallback_mt)
                return slot
        return -1

    def _try_to_claim_block(self, slot: int, current_order: int, order: int, start_mt: int, block_mt: int) -> int:
        """``try_to_claim_block()``: whole block if big enough, else the pageblock if half is alike."""
        area = self._area
        if current_order >= self.pageblock_order:
            area.delete(slot, current_order, block_mt)
            self._change_pageblock_range(slot, current_order, start_mt)
            self._expand(slot, order, current_order, start_mt)
            return slot
        counts = self._prep_move_freepages_block(slot)
        if counts is None:
            return -1
        start, free_pages, movable_pages = counts
        if start_mt == MIGRATE_MOVABLE:
            alike_pages = movable_pages
        elif block_mt == MIGRATE_MOVABLE:
            alike_pages = self.pageblock_nr_pages - (free_pages + movable_pages)
        else:
            alike_pages = 0
        if free_pages + alike_pages >= 1 << (self.pageblock_order - 1) or not self.mobility_grouping:
            self._move_freepages_block(start, block_mt, start_mt)
            self._set_pageblock_migratetype(start, start_mt)
            return self._rmqueue_smallest(order, start_mt)
        return -1

    def _prep_move_freepages_block(self, slot: int) -> tuple[int, int, int] | None:
        """``prep_move_freepages_block()``: the block's free and movable page counts."""
        start = slot & ~(self.pageblock_nr_pages - 1)
        end = start + self.pageblock_nr_pages
        if not (self.contains(start + self._base) and self.contains(end - 1 + self._base)):
            return None
        buddy_order, alloc_order, alloc_mt = self._area.buddy_order, self._alloc_order, self._alloc_mt
        free_pages = movable_pages = 0
        cursor = start
        while cursor < end:
            if buddy_order[cursor] != NO_ORDER:
                free_pages += 1 << buddy_order[cursor]
                cursor += 1 << buddy_order[cursor]
            elif alloc_order[cursor] != NO_ORDER:
                size = 1 << alloc_order[cursor]
                if alloc_mt[cursor] == MIGRATE_MOVABLE:
                    movable_pages += size
                cursor += size
            else:
                cursor += 1
        return start, free_pages, movable_pages

    def _move_freepages_block(self, start: int, old_mt: int, new_mt: int) -> int:
        """``__move_freepages_block()``: every free block of the pageblock to the new type's tail."""
        area = self._area
        buddy_order = area.buddy_order
        moved = 0
        cursor, end = start, start + self.pageblock_nr_pages
        while cursor < end:
            order = buddy_order[cursor]
            if order == NO_ORDER:
                cursor += 1
                continue
            area.move_tail(cursor, order, old_mt, new_mt)
            cursor += 1 << order
            moved += 1 << order
        return moved

    def _set_pageblock_migratetype(self, start: int, migratetype: int) -> None:
        if not self.mobility_grouping and migratetype < MIGRATE_PCPTYPES:
            migratetype = MIGRATE_UNMOVABLE
        self._pb_mt[start >> self.pageblock_order] = migratetype

    def _rmqueue_steal(self, order: int, start_mt: int) -> int:
        """``__rmqueue_steal()``: the smallest fallback block, split, leaving its pageblock's type."""
        for current_order in range(order, self.max_page_order + 1):
            fallback_mt = self._find_suitable_fallback(current_order, start_mt, False)
            if fallback_mt == -1:
                continue
            slot = self._area.head(current_order, fallback_mt)
            self._area.delete(slot, current_order, fallback_mt)
            self._expand(slot, order, current_order, fallback_mt)
            self._trace_extfrag(slot, order, current_order, start_mt, fallback_mt)
            return slot
        return -1

    def _trace_extfrag(self, slot: int, order: int, fallback_order: int, alloc_mt: int, fallback_mt: int) -> None:
        if self.bus.active:
            self.bus.emit(
                "mm_page_alloc_extfrag", pfn=slot + self._base, alloc_order=order,
                fallback_order=fallback_order, pageblock_order=self.pageblock_order,
                alloc_migratetype=alloc_mt, fallback_migratetype=fallback_mt,
                fragmenting=fallback_order < self.pageblock_order,
                change_ownership=self._pb_mt[slot >> self.pageblock_order] == alloc_mt, zone=self.name,
            )

    def reserve_highatomic_pageblock(self, pfn: int, order: int) -> bool:
        """``reserve_highatomic_pageblock()``: keep a pageblock for high-order atomic requests.

        At most about 1% of the zone (rounded up to pageblocks), none when 1% is below one
        pageblock.  Returns True when a pageblock changed type.
        """
        one_percent = self.managed_pages // 100
        if one_percent < self.pageblock_nr_pages:
            return False
        max_managed = -(-one_percent // self.pageblock_nr_pages) * self.pageblock_nr_pages
        if self.nr_reserved_highatomic >= max_managed:
            return False
        slot = pfn - self._base
        block_mt = self._pb_mt[slot >> self.pageblock_order]
        if block_mt >= MIGRATE_PCPTYPES:
            return False
        if order < self.pageblock_order:
            start = slot & ~(self.pageblock_nr_pages - 1)
            if self._prep_move_freepages_block(slot) is None:
                return False
            self._move_freepages_block(start, block_mt, MIGRATE_HIGHATOMIC)
            self._pb_mt[start >> self.pageblock_order] = MIGRATE_HIGHATOMIC
            self.nr_reserved_highatomic += self.pageblock_nr_pages
        else:
            self._change_pageblock_range(slot, order, MIGRATE_HIGHATOMIC)
            self.nr_reserved_highatomic += 1 << order
        return True


    def unreserve_highatomic_pageblock(self, migratetype: int, force: bool) -> bool:
        """``unreserve_highatomic_pageblock()`` (mm/page_alloc.c, 6.18) for this zone.

        Unless ``force``, one reserved pageblock is always kept.  The first HighAtomic free
        block, lowest order first, gives its pageblock(s) back to ``migratetype`` (the
        request's), its free pages moving with it.  Returns True when a pageblock changed.
        """
        if not force and self.nr_reserved_highatomic <= self.pageblock_nr_pages:
            return False
        area = self._area
        for order in range(self.max_page_order + 1):
            slot = area.head(order, MIGRATE_HIGHATOMIC)
            if slot < 0:
                continue
            size = min(max(self.pageblock_nr_pages, 1 << order), self.nr_reserved_highatomic)
            self.nr_reserved_highatomic -= size
            if order < self.pageblock_order:
                start = slot & ~(self.pageblock_nr_pages - 1)
                moved = self._move_freepages_block(start, MIGRATE_HIGHATOMIC, migratetype)
                self._set_pageblock_migratetype(start, migratetype)
            else:
                area.move_tail(slot, order, MIGRATE_HIGHATOMIC, migratetype)
                self._change_pageblock_range(slot, order, migratetype)
                moved = 1
            if moved > 0:
                return True
        return False
