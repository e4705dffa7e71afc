"""Consistency checks of a zone, run after every step of the property-based tests.

They restate what mm/page_alloc.c relies on: every free block sits on exactly one list, the
one of its pageblock's migrate type, with PageBuddy and its order set; blocks are naturally
aligned; the counters agree with the lists; no two free buddies of one order stay unmerged
unless the kernel forbids the merge; and conservation, with equality: every managed page is in
exactly one block, free or allocated (with a known owner), and no reserved page is in any.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvariantViolation
from .freearea import NO_ORDER
from .owner import OWNERS
from .mmzone import MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_PCPTYPES, MIGRATE_TYPES

__all__ = ["InvariantViolation", "check_zone"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)


def check_zone(zone) -> None:
    """Raise :class:`InvariantViolation` naming the first broken rule."""
    from .checks import check_zone_arg

    check_zone_arg(zone)
    area = zone._area
    listed = _check_lists(zone)
    heads = np.flatnonzero(np.frombuffer(area.buddy_order, dtype=np.uint8) != NO_ORDER)
    _require(len(heads) == len(listed) and set(heads.tolist()) == listed,
             "a PageBuddy page is on no free list, or a listed page lost PageBuddy")
    _check_counters(zone)
    _check_coverage(zone)
    _check_merged(zone, heads)


def _check_lists(zone) -> set[int]:
    area = zone._area
    seen: set[int] = set()
    for order in range(area.nr_orders):
        for migratetype in range(MIGRATE_TYPES):
            slots = area.slots(order, migratetype, limit=area.nr_slots + 1)
            _require(len(slots) == area.count(order, migratetype),
                     f"free_list[{order}][{migratetype}] holds {len(slots)} blocks, counter says {area.count(order, migratetype)}")
            _require(area.walk_back_consistent(order, migratetype), f"free_list[{order}][{migratetype}] prev links broken")
            for slot in slots:
                pfn = slot + zone._base
                _require(slot not in seen, f"pfn {pfn:#x} is on two free lists")
                _require(area.buddy_order[slot] == order, f"pfn {pfn:#x} on order-{order} list has order {area.buddy_order[slot]}")
                _require(pfn % (1 << order) == 0, f"free block pfn {pfn:#x} is not aligned to order {order}")
                _require(zone.start_pfn <= pfn and pfn + (1 << order) <= zone.end_pfn, f"free block {pfn:#x} leaves the zone")
                block_mt = zone._pb_mt[slot >> zone.pageblock_order]
                _require(block_mt == migratetype,
                         f"pfn {pfn:#x} is on the type-{migratetype} list but its pageblock is type {block_mt}")
                seen.add(slot)
    return seen


def _check_counters(zone) -> None:
    area = zone._area
    for order in range(area.nr_orders):
        total = sum(area.count(order, mt) for mt in range(MIGRATE_TYPES))
        _require(area.nr_free[order] == total, f"nr_free[{order}] = {area.nr_free[order]} but lists hold {total}")
    pages = {mt: sum(area.count(o, mt) << o for o in range(area.nr_orders)) for mt in range(MIGRATE_TYPES)}
    expected = sum(count for mt, count in pages.items() if mt != MIGRATE_ISOLATE)
    _require(area.free_pages == expected, f"NR_FREE_PAGES {area.free_pages} != {expected} pages on the lists")
    _require(area.nr_free_cma == pages[MIGRATE_CMA], "NR_FREE_CMA_PAGES disagrees with the CMA lists")
    _require(area.nr_free_highatomic == pages[MIGRATE_HIGHATOMIC], "nr_free_highatomic disagrees with the lists")


def _check_coverage(zone) -> None:
    length = len(zone._alloc_order)
    cover = np.zeros(length + 1, dtype=np.int64)
    for table in (zone._area.buddy_order, zone._alloc_order):
        orders = np.frombuffer(table, dtype=np.uint8)
        starts = np.flatnonzero(orders != NO_ORDER)
        ends = starts + (1 << orders[starts].astype(np.int64))
        _require(bool(np.all(starts % (1 << orders[starts].astype(np.int64)) == 0)), "a block is not naturally aligned")
        np.add.at(cover, starts, 1)
        np.add.at(cover, ends, -1)
    depth = np.cumsum(cover[:-1])
    _require(int(depth.max(initial=0)) <= 1, "a page belongs to two blocks (free or allocated) at once")
    managed = np.zeros(length, dtype=bool)
    for start, end in zone._managed_ranges:
        managed[start - zone._base:end - zone._base] = True
    _require(not np.any(depth[~managed]), "a block covers a reserved page or a page outside the zone")
    lost = np.flatnonzero(depth[managed] == 0)
    _require(len(lost) == 0, f"{len(lost)} managed pages are neither free nor allocated"
             + (f" (first: pfn {int(np.flatnonzero(managed)[lost[0]]) + zone._base:#x})" if len(lost) else ""))
    covered = int(depth.sum())
    _require(covered == zone.managed_pages, f"{covered} pages in blocks but {zone.managed_pages} managed")
    allocated = np.flatnonzero(np.frombuffer(zone._alloc_order, dtype=np.uint8) != NO_ORDER)
    owners = np.frombuffer(zone._alloc_owner, dtype=np.uint8)[allocated]
    _require(bool(np.all(owners < len(OWNERS))), "an allocated block has no known owner")


def _check_merged(zone, heads: np.ndarray) -> None:
    area = zone._area
    for slot in heads.tolist():
        order = area.buddy_order[slot]
        if order >= zone.max_page_order:
            continue
        buddy = slot ^ (1 << order)
        if area.buddy_order[buddy] != order:
            continue
        mine, theirs = zone._pb_mt[slot >> zone.pageblock_order], zone._pb_mt[buddy >> zone.pageblock_order]
        blocked = order >= zone.pageblock_order and mine != theirs and (
            mine >= MIGRATE_PCPTYPES or theirs >= MIGRATE_PCPTYPES)
        _require(blocked, f"free buddies {slot + zone._base:#x} and {buddy + zone._base:#x} of order {order} were not merged")
