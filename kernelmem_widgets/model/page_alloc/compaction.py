"""Memory compaction: mm/compaction.c (Linux 6.18), the synchronous whole-zone kind.

A migrate scanner walks pageblocks up from the zone start and migrates movable allocated
blocks; a free scanner walks pageblocks down from the zone end, isolating free pages as
targets (``isolate_freepages()`` with ``suitable_migration_target()``: only Movable/CMA
pageblocks that do not start with a free block of the order being compacted for).  The run ends when the scanners meet
(``compact_finished()``: COMPACT_COMPLETE) or, for a given order, as soon as a suitable free
block exists (COMPACT_SUCCESS).  Migration goes in batches of COMPACT_CLUSTER_MAX pages, as
``isolate_migratepages()`` isolates them; the pageblock skip bits and the cached scanner
positions of later runs are not modelled (every run is a fresh, synchronous one).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..errors import InvalidArgument, InvalidOrder
from ..validate import as_int
from .freearea import NO_ORDER
from .mmzone import MIGRATE_CMA, MIGRATE_MOVABLE
from .owner import MIGRATABLE_OWNERS

__all__ = ["CompactionResult", "compact_zone"]


@dataclass
class CompactionResult:
    """What one compaction run did, in the terms of the compaction tracepoints."""

    zone: str
    order: int
    status: str = "complete"
    nr_migrated: int = 0
    nr_failed: int = 0
    nr_unmovable: int = 0
    nr_scanned_pageblocks: int = 0
    nr_isolated_free: int = 0
    moved: dict[int, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"zone {self.zone}: {self.status}; migrated {self.nr_migrated} blocks, "
                f"{self.nr_failed} failed, {self.nr_unmovable} unmovable blocks left in place, "
                f"{self.nr_scanned_pageblocks} pageblocks scanned")


COMPACT_CLUSTER_MAX = 32  # SWAP_CLUSTER_MAX: pages isolated for migration per batch


class _Compactor:
    """One ``compact_zone()`` run; positions are slots of the zone's tables."""

    def __init__(self, zone, order: int) -> None:
        self.zone, self.order = zone, order
        self.pageblock = zone.pageblock_nr_pages
        self.migrate_slot = zone.start_pfn - zone._base
        self.free_slot = (zone.end_pfn - 1 - zone._base) & ~(self.pageblock - 1)
        self.pool: list[deque[int]] = [deque() for _ in range(zone.max_page_order + 1)]
        self.result = CompactionResult(zone.name, order)

    def run(self) -> CompactionResult:
        zone = self.zone
        zone.bus.emit("mm_compaction_begin", zone=zone.name, zone_start=zone.start_pfn,
                      migrate_pfn=self.migrate_slot + zone._base, free_pfn=self.free_slot + zone._base,
                      zone_end=zone.end_pfn, order=self.order)
        while not self._scanners_met():
            for slot, order in self._isolate_migratepages():
                self._migrate_one(slot, order)
            if self.order >= 0 and self.migrate_slot % self.pageblock == 0 and self._suitable_page_exists():
                self.result.status = "success"
                break
        self._release_free_pages()
        zone.bus.emit("mm_compaction_migratepages", nr_migrated=self.result.nr_migrated,
                      nr_failed=self.result.nr_failed, zone=zone.name)
        zone.bus.emit("mm_compaction_end", zone=zone.name, migrate_pfn=self.migrate_slot + zone._base,
                      free_pfn=self.free_slot + zone._base, status=self.result.status,
                      moved=dict(self.result.moved))
        return self.result

    def _scanners_met(self) -> bool:
        """``compact_scanners_met()``: the free scanner's pageblock is at or below the migrate one's."""
        return self.free_slot // self.pageblock <= self.migrate_slot // self.pageblock

    def _isolate_migratepages(self) -> list[tuple[int, int]]:
        """``isolate_migratepages()``: up to COMPACT_CLUSTER_MAX pages of movable blocks."""
        zone = self.zone
        alloc_order, alloc_mt, alloc_owner = zone._alloc_order, zone._alloc_mt, zone._alloc_owner
        cursor = self.migrate_slot
        end = min((cursor // self.pageblock + 1) * self.pageblock, zone.end_pfn - zone._base)
        batch, pages = [], 0
        if cursor % self.pageblock == 0:
            self.result.nr_scanned_pageblocks += 1
        while cursor < end and pages < COMPACT_CLUSTER_MAX:
            order = alloc_order[cursor]
            if order == NO_ORDER:
                cursor += 1
                continue
            # PageLRU or movable_ops only: slab, large-kmalloc and vmalloc pages are never isolated
            if alloc_mt[cursor] == MIGRATE_MOVABLE and alloc_owner[cursor] in MIGRATABLE_OWNERS:
                batch.append((cursor, order))
                pages += 1 << order
            else:
                self.result.nr_unmovable += 1
            cursor += 1 << order
        self.migrate_slot = cursor
        return batch

    def _migrate_one(self, slot: int, order: int) -> None:
        target = self._take_target(order)
        if target < 0:
            self.result.nr_failed += 1
            return
        zone = self.zone
        zone._commit_alloc(target, order, MIGRATE_MOVABLE, zone._alloc_owner[slot])
        zone._release(slot, order)
        self.result.nr_migrated += 1
        self.result.moved[slot + zone._base] = target + zone._base

    def _take_target(self, order: int) -> int:
        """``compaction_alloc()``: the first isolated page of at least ``order``, split."""
        found = next((o for o in range(order, len(self.pool)) if self.pool[o]), -1)
        if found < 0:
            self._isolate_freepages(1 << order)
            found = order if self.pool[order] else -1
        if found < 0:
            return -1
        slot = self.pool[found].popleft()
        while found > order:
            found -= 1
            self.pool[found].appendleft(slot + (1 << found))
        return slot

    def _isolate_freepages(self, wanted: int) -> None:
        """``isolate_freepages()``: pageblocks downwards, never the migrate scanner's own."""
        low = (self.migrate_slot // self.pageblock + 1) * self.pageblock
        block = self.free_slot
        while block >= low:
            isolated = self._isolate_pageblock(block)
            block -= self.pageblock
            if isolated >= wanted:
                break
            wanted -= isolated
        self.free_slot = block

    def _isolate_pageblock(self, start: int) -> int:
        zone = self.zone
        area = zone._area
        block_mt = zone._pb_mt[start >> zone.pageblock_order]
        large = self.order if self.order > 0 else zone.pageblock_order
        if block_mt not in (MIGRATE_MOVABLE, MIGRATE_CMA) or area.buddy_order[start] in range(large, 64):
            return 0  # suitable_migration_target(): never break up a free block we are compacting for
        isolated = 0
        cursor, end = start, start + self.pageblock
        while cursor < end:
            order = area.buddy_order[cursor]
            if order == NO_ORDER:
                cursor += 1
                continue
            area.delete(cursor, order, block_mt)
            self.pool[order].append(cursor)
            isolated += 1 << order
            cursor += 1 << order
        self.result.nr_isolated_free += isolated
        return isolated

    def _release_free_pages(self) -> None:
        """``release_free_list()``: unused targets go back to the buddy allocator."""
        zone = self.zone
        for order, slots in enumerate(self.pool):
            while slots:
                zone._split_large_buddy(slots.popleft(), order, False)

    def _suitable_page_exists(self) -> bool:
        """``__compact_finished()``: a free block of ``order`` the request could use."""
        zone = self.zone
        for current_order in range(self.order, zone.max_page_order + 1):
            if not zone._area.is_empty(current_order, MIGRATE_MOVABLE):
                return True
            if zone._find_suitable_fallback(current_order, MIGRATE_MOVABLE, True) >= 0:
                return True
        return False


def compact_zone(zone, order: int = -1) -> CompactionResult:
    """Compact one zone: ``compact_zone()`` with ``cc->order = order`` (-1: the whole zone).

    Returns a :class:`CompactionResult` whose ``moved`` maps each migrated block's old pfn to
    its new pfn, so whoever holds those pfns can follow them.  Only blocks whose owner stands
    for LRU memory are migrated (see :mod:`.owner`).
    """
    if not hasattr(zone, "_alloc_owner"):
        raise InvalidArgument(f"compact_zone({zone!r:.60}): accepted: a Zone (machine.zone('Normal'))")
    order = as_int(order, "compaction order", f"-1 (whole zone) or 0..{zone.max_page_order}", InvalidOrder)
    if not -1 <= order <= zone.max_page_order:
        raise InvalidOrder(f"compaction order {order}: accepted: -1 (whole zone) or 0..{zone.max_page_order}")
    return _Compactor(zone, order).run()
