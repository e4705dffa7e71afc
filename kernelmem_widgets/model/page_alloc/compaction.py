"""Memory compaction: mm/compaction.c of Linux 6.18.

A migrate scanner walks pageblocks up from the zone start and isolates movable allocated
blocks in batches of COMPACT_CLUSTER_MAX pages (``isolate_migratepages()``,
``isolate_migratepages_block()``); a free scanner walks pageblocks down from the zone end,
isolating free blocks *with their order* as targets (``isolate_freepages()``,
``isolate_freepages_block()``, ``suitable_migration_target()``: Movable/CMA pageblocks, or any
pageblock with ``ignore_block_suitable``, that do not start with a free block of the order
being compacted for).  ``compaction_alloc()`` (the >0-order form of 6.10+, Zi Yan) takes the
first isolated block of the smallest order >= the source's, splitting a larger one, isolates
more when none is left and searches again.  The batch is a list built with ``list_add``, so
``migrate_pages()`` moves its highest pfn first.  A run ends when the scanners meet
(``__compact_finished()``: COMPACT_COMPLETE) or, for a given order and at a pageblock
boundary, as soon as a free block of ``cc->migratetype`` (or one it may claim) exists
(COMPACT_SUCCESS); a migration that finds no target while the scanners have not met ends it
as COMPACT_CONTENDED (``compact_zone()``'s -ENOMEM case).

Modes: ``"async"`` direct compaction only scans pageblocks of the request's type
(``suitable_migration_source()``); ``"sync_light"`` and ``"sync"`` scan every pageblock.
Not modelled: the pageblock skip bits and cached scanner positions (every run is a fresh
whole-zone run), ``fast_isolate_freepages()`` / ``fast_find_migrateblock()`` (the free-list
shortcuts of orders > PAGE_ALLOC_COSTLY_ORDER), the async free scanner's stride, and what
async migration cannot move (dirty or writeback pages: the model has none).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..errors import InvalidArgument, InvalidOrder
from ..validate import as_int
from .freearea import NO_ORDER
from .mmzone import MIGRATE_CMA, MIGRATE_MOVABLE
from .owner import MIGRATABLE_OWNERS

__all__ = ["CompactionResult", "compact_zone", "COMPACT_MODES"]

#: ``enum migrate_mode`` values compaction runs with: MIGRATE_ASYNC, MIGRATE_SYNC_LIGHT, MIGRATE_SYNC.
COMPACT_MODES = ("async", "sync_light", "sync")


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
    mode: str = "sync"

    def summary(self) -> str:
        return (f"zone {self.zone}: {self.status}; migrated {self.nr_migrated} blocks, "
                f"{self.nr_failed} failed, {self.nr_unmovable} unmovable blocks left in place, "
                f"{self.nr_scanned_pageblocks} pageblocks scanned")


COMPACT_CLUSTER_MAX = 32  # SWAP_CLUSTER_MAX: pages isolated for migration per batch


class _Compactor:
    """One ``compact_zone()`` run; positions are slots of the zone's tables."""

    def __init__(self, zone, order: int, migratetype: int, mode: str, direct: bool,
                 ignore_block_suitable: bool) -> None:
        self.zone, self.order = zone, order
        self.migratetype, self.mode, self.direct = migratetype, mode, direct
        self.ignore_block_suitable = ignore_block_suitable
        self.pageblock = zone.pageblock_nr_pages
        self.migrate_slot = zone.start_pfn - zone._base
        # cc->free_pfn = pageblock_start_pfn(zone_end_pfn(zone) - 1)
        self.free_slot = (zone.end_pfn - 1 - zone._base) & ~(self.pageblock - 1)
        self.pool: list[deque[int]] = [deque() for _ in range(zone.max_page_order + 1)]
        self.nr_freepages = 0
        self.nr_migratepages = 0
        self.result = CompactionResult(zone.name, order, mode=mode)

    def run(self) -> CompactionResult:
        zone = self.zone
        zone.bus.emit("mm_compaction_begin", zone=zone.name, zone_start=zone.start_pfn,
                      migrate_pfn=self.migrate_slot + zone._base, free_pfn=self.free_slot + zone._base,
                      zone_end=zone.end_pfn, order=self.order, mode=self.mode)
        while True:
            status = self._finished()
            if status is not None:
                self.result.status = status
                break
            batch = self._isolate_migratepages()
            if batch and not self._migrate_batch(batch):
                self.result.status = "contended"
                break
        self._release_free_pages()
        zone.bus.emit("mm_compaction_migratepages", nr_migrated=self.result.nr_migrated,
                      nr_failed=self.result.nr_failed, zone=zone.name)
        zone.bus.emit("mm_compaction_end", zone=zone.name, zone_start=zone.start_pfn, zone_end=zone.end_pfn,
                      mode=self.mode, migrate_pfn=self.migrate_slot + zone._base,
                      free_pfn=self.free_slot + zone._base, status=self.result.status,
                      moved=dict(self.result.moved))
        return self.result

    def _scanners_met(self) -> bool:
        """``compact_scanners_met()``: the free scanner's pageblock is at or below the migrate one's."""
        return self.free_slot // self.pageblock <= self.migrate_slot // self.pageblock

    def _finished(self) -> str | None:
        """``__compact_finished()``: None to continue, else the run's status."""
        if self._scanners_met():
            return "complete"
        if self.order < 0 or self.migrate_slot % self.pageblock:
            return None  # compact_memory runs to the end; always finish a pageblock
        return "success" if self._suitable_page_exists() else None

    def _suitable_migration_source(self, block: int) -> bool:
        """``suitable_migration_source()``: async direct compaction only scans its own type."""
        if self.mode != "async" or not self.direct:
            return True
        block_mt = self.zone._pb_mt[block >> self.zone.pageblock_order]
        if self.migratetype == MIGRATE_MOVABLE:
            return block_mt in (MIGRATE_MOVABLE, MIGRATE_CMA)
        return block_mt == self.migratetype

    def _isolate_migratepages(self) -> list[tuple[int, int]]:
        """``isolate_migratepages()``: the first suitable pageblock, up to COMPACT_CLUSTER_MAX pages."""
        zone = self.zone
        zone_end = zone.end_pfn - zone._base
        while True:
            cursor = self.migrate_slot
            block = cursor & ~(self.pageblock - 1)
            end = min(block + self.pageblock, zone_end)
            if end > self.free_slot:  # never cross the free scanner
                return []
            if self._suitable_migration_source(block):
                break
            self.migrate_slot = end
        alloc_order, alloc_mt, alloc_owner = zone._alloc_order, zone._alloc_mt, zone._alloc_owner
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
        self.nr_migratepages = pages
        batch.reverse()  # list_add(&folio->lru, &cc->migratepages): the highest pfn is moved first
        return batch

    def _migrate_batch(self, batch: list[tuple[int, int]]) -> bool:
        """``migrate_pages()`` with ``compaction_alloc()``; False when a target was missing."""
        zone = self.zone
        for index, (slot, order) in enumerate(batch):
            target = self._take_target(order)
            if target < 0:
                self.result.nr_failed += len(batch) - index  # putback_movable_pages()
                return self._scanners_met()
            zone._commit_alloc(target, order, MIGRATE_MOVABLE, zone._alloc_owner[slot])  # the owner follows
            zone._release(slot, order)
            self.result.nr_migrated += 1
            self.result.moved[slot + zone._base] = target + zone._base
        return True

    def _first_isolated(self, order: int) -> int:
        return next((o for o in range(order, len(self.pool)) if self.pool[o]), -1)

    def _take_target(self, order: int) -> int:
        """``compaction_alloc_noprof()``: the first isolated block of the smallest order >= the
        source's, split with the upper halves to the heads of the lower lists."""
        found = self._first_isolated(order)
        if found < 0:
            self._isolate_freepages()
            found = self._first_isolated(order)
        if found < 0:
            return -1
        slot = self.pool[found].popleft()
        while found > order:
            found -= 1
            self.pool[found].appendleft(slot + (1 << found))
        self.nr_freepages -= 1 << order
        self.nr_migratepages -= 1 << order
        return slot

    def _isolate_freepages(self) -> None:
        """``isolate_freepages()``: pageblocks downwards to the migrate scanner's, until the
        isolated pages cover the batch; remembers where to restart."""
        zone = self.zone
        isolate_start = self.free_slot
        block = isolate_start & ~(self.pageblock - 1)
        block_end = min(block + self.pageblock, zone.end_pfn - zone._base)
        low = (self.migrate_slot // self.pageblock + 1) * self.pageblock
        while block >= low:
            if self._suitable_migration_target(block):
                isolate_start = self._isolate_freepages_block(isolate_start, block_end)
                if self.nr_freepages >= self.nr_migratepages:
                    if isolate_start >= block_end:
                        isolate_start = block - self.pageblock
                    break
            block_end = block
            block -= self.pageblock
            isolate_start = block
        self.free_slot = isolate_start

    def _suitable_migration_target(self, block: int) -> bool:
        """``suitable_migration_target()``: never break up a free block we are compacting for."""
        zone = self.zone
        head_order = zone._area.buddy_order[block]
        large = self.order if self.order > 0 else zone.pageblock_order
        if head_order != NO_ORDER and head_order >= large:
            return False
        if self.ignore_block_suitable:
            return True
        return zone._pb_mt[block >> zone.pageblock_order] in (MIGRATE_MOVABLE, MIGRATE_CMA)

    def _isolate_freepages_block(self, start: int, end: int) -> int:
        """``isolate_freepages_block()``: free blocks with their order to the tails of the
        private lists, stopping once enough are isolated; returns where it stopped."""
        zone = self.zone
        area = zone._area
        block_mt = zone._pb_mt[start >> zone.pageblock_order]
        cursor = start
        while cursor < end:
            order = area.buddy_order[cursor]
            if order == NO_ORDER:
                cursor += 1
                continue
            area.delete(cursor, order, block_mt)
            self.pool[order].append(cursor)
            self.nr_freepages += 1 << order
            self.result.nr_isolated_free += 1 << order
            cursor += 1 << order
            if self.nr_freepages >= self.nr_migratepages:
                break
        return cursor

    def _release_free_pages(self) -> None:
        """``release_free_list()``: unused targets go back to the buddy allocator, by order."""
        zone = self.zone
        for order, slots in enumerate(self.pool):
            while slots:
                zone._split_large_buddy(slots.popleft(), order, False)

    def _suitable_page_exists(self) -> bool:
        """``__compact_finished()``'s test: a free block of ``cc->migratetype`` (Movable may
        also use CMA), or one ``find_suitable_fallback()`` would let it claim."""
        zone = self.zone
        migratetype = self.migratetype
        for current_order in range(self.order, zone.max_page_order + 1):
            if not zone._area.is_empty(current_order, migratetype):
                return True
            if migratetype == MIGRATE_MOVABLE and not zone._area.is_empty(current_order, MIGRATE_CMA):
                return True
            if zone._find_suitable_fallback(current_order, migratetype, True) >= 0:
                return True
        return False


def compact_zone(zone, order: int = -1, *, migratetype: int = MIGRATE_MOVABLE, mode: str = "sync",
                 direct: bool = False, ignore_block_suitable: bool = False) -> CompactionResult:
    """Compact one zone: ``compact_zone()`` of mm/compaction.c (Linux 6.18).

    Parameters
    ----------
    zone : Zone
    order : int
        ``cc->order``; -1 compacts the whole zone as /proc/sys/vm/compact_memory does.
    migratetype : int
        ``cc->migratetype`` (the request's type): what ``__compact_finished()`` looks for and,
        in async direct compaction, which pageblocks are scanned.
    mode : {"async", "sync_light", "sync"}
        The ``migrate_mode``.
    direct : bool
        ``cc->direct_compaction`` (compaction on behalf of an allocation).
    ignore_block_suitable : bool
        As ``compact_zone_order()`` sets it at MIN_COMPACT_PRIORITY: the free scanner may use
        pageblocks of any type.

    Returns a :class:`CompactionResult` whose ``moved`` maps each migrated block's old pfn to
    its new pfn, so whoever holds those pfns can follow them.  Only blocks whose owner stands
    for LRU memory are migrated (see :mod:`.owner`).
    """
    if not hasattr(zone, "_alloc_owner"):
        raise InvalidArgument(f"compact_zone({zone!r:.60}): accepted: a Zone (machine.zone('Normal'))")
    order = as_int(order, "compaction order", f"-1 (whole zone) or 0..{zone.max_page_order}", InvalidOrder)
    if not -1 <= order <= zone.max_page_order:
        raise InvalidOrder(f"compaction order {order}: accepted: -1 (whole zone) or 0..{zone.max_page_order}")
    if mode not in COMPACT_MODES:
        raise InvalidArgument(f"compaction mode {mode!r} is not one of {', '.join(COMPACT_MODES)}")
    return _Compactor(zone, order, migratetype, mode, direct, ignore_block_suitable).run()
