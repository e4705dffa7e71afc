"""Page isolation: mm/page_isolation.c and ``__move_freepages_block_isolate()`` (Linux 6.18).

``start_isolate_page_range()`` makes every pageblock of a range MIGRATE_ISOLATE: its free pages
move to the isolate lists, which no allocation looks at, and pages freed there later land on
them too.  ``undo_isolate_page_range()`` gives each pageblock its type back.  6.18 keeps the
isolation in a separate pageblock bit (PB_migrate_isolate) so the type survives underneath;
the model, with one type byte per pageblock, remembers the types in the returned dict.
"""

from __future__ import annotations

from ..page_alloc.freearea import NO_ORDER
from ..page_alloc.mmzone import MIGRATE_ISOLATE

__all__ = ["start_isolate_page_range", "undo_isolate_page_range"]


def _move_free_pages(zone, pb: int, old_mt: int, new_mt: int) -> None:
    """``__move_freepages_block()``: every free block of pageblock ``pb`` to the new type's tail."""
    area = zone._area
    cursor, end = pb << zone.pageblock_order, (pb + 1) << zone.pageblock_order
    buddy_order = area.buddy_order
    while cursor < end:
        order = buddy_order[cursor]
        if order == NO_ORDER:
            cursor += 1
            continue
        area.move_tail(cursor, order, old_mt, new_mt)
        cursor += 1 << order


def _toggle_isolate(zone, pb: int, new_mt: int) -> None:
    """``__move_freepages_block_isolate()``: retype pageblock ``pb``, its free pages with it.

    A free buddy larger than a pageblock that covers it is taken off and freed again in
    pageblock pieces (``split_large_buddy()``), each piece with its own pageblock's type.
    """
    area, pbo = zone._area, zone.pageblock_order
    start = pb << pbo
    for order in range(zone.max_page_order, pbo, -1):
        head = start & ~((1 << order) - 1)
        if area.buddy_order[head] == order:
            area.delete(head, order, zone._pb_mt[head >> pbo])
            zone._pb_mt[pb] = new_mt
            zone._split_large_buddy(head, order, False)
            return
    old_mt = zone._pb_mt[pb]
    zone._pb_mt[pb] = new_mt
    _move_free_pages(zone, pb, old_mt, new_mt)


def _unisolate(zone, pb: int, migratetype: int) -> None:
    """``unset_migratetype_isolate()``: back to ``migratetype``; a free pageblock-or-larger block
    whose buddy is not isolated is freed again so that it merges (``__putback_isolated_page()``)."""
    area, pbo = zone._area, zone.pageblock_order
    start = pb << pbo
    order = area.buddy_order[start]
    if order != NO_ORDER and pbo <= order < zone.max_page_order:
        buddy = start ^ (1 << order)
        if area.buddy_order[buddy] == order and zone._pb_mt[buddy >> pbo] != MIGRATE_ISOLATE:
            area.delete(start, order, MIGRATE_ISOLATE)
            for piece in range(pb, pb + (1 << (order - pbo))):
                zone._pb_mt[piece] = migratetype
            zone._free_one_page(start, order, migratetype, False)
            return
    _toggle_isolate(zone, pb, migratetype)


def start_isolate_page_range(zone, first_pb: int, last_pb: int) -> dict[int, int]:
    """Isolate pageblocks [first_pb, last_pb) of ``zone``; returns their former types."""
    saved = {}
    for pb in range(first_pb, last_pb):
        saved[pb] = zone._pb_mt[pb]
        _toggle_isolate(zone, pb, MIGRATE_ISOLATE)
    return saved


def undo_isolate_page_range(zone, saved: dict[int, int]) -> None:
    """``undo_isolate_page_range()``."""
    for pb, migratetype in saved.items():
        if zone._pb_mt[pb] == MIGRATE_ISOLATE:
            _unisolate(zone, pb, migratetype)
