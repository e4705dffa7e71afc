"""The free lists of one zone: ``free_area[order].free_list[migratetype]`` as intrusive lists.

include/linux/mmzone.h (Linux 6.18) keeps, per zone and order, one doubly linked list per
migrate type threaded through ``page->buddy_list``, plus ``nr_free`` (blocks, all types).  A free
block is its first page with PageBuddy set and its order in ``page_private``.

Here the links are two ``array('i')`` indexed by slot (pfn minus the zone's aligned base), with
one sentinel slot per list after the pages, so every list operation is O(1) and a page costs
4 + 4 bytes of links plus one byte of buddy order.  Slot ``base + i`` holds pfn ``base + i``;
the base is aligned to ``MAX_ORDER_NR_PAGES`` so that ``slot ^ (1 << order)`` is the buddy slot.
"""

from __future__ import annotations

from array import array

from .mmzone import MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_PCPTYPES, MIGRATE_TYPES

__all__ = ["FreeArea", "NO_ORDER"]

#: ``buddy_order`` / ``alloc_order`` value of a page that is not the head of such a block.
NO_ORDER = 0xFF


class FreeArea:
    """All free lists of one zone, with the counters /proc/buddyinfo and pagetypeinfo print."""

    __slots__ = (
        "nr_slots", "nr_orders", "sentinel", "next", "prev", "buddy_order", "nr_free",
        "list_len", "free_pages", "nr_free_cma", "nr_free_highatomic",
    )

    def __init__(self, nr_slots: int, nr_orders: int) -> None:
        nr_lists = nr_orders * MIGRATE_TYPES
        self.nr_slots = nr_slots
        self.nr_orders = nr_orders
        self.sentinel = nr_slots
        sentinels = range(nr_slots, nr_slots + nr_lists)
        self.next = array("i", bytes(4 * nr_slots)) + array("i", sentinels)
        self.prev = array("i", bytes(4 * nr_slots)) + array("i", sentinels)
        self.buddy_order = bytearray(b"\xff") * nr_slots
        self.nr_free = [0] * nr_orders
        self.list_len = [0] * nr_lists
        self.free_pages = 0
        self.nr_free_cma = 0
        self.nr_free_highatomic = 0

    def add(self, slot: int, order: int, migratetype: int, tail: bool) -> None:
        """``__add_to_free_list()``: head (LIFO) unless ``tail``; sets PageBuddy and the order."""
        sentinel = self.sentinel + order * MIGRATE_TYPES + migratetype
        links_next, links_prev = self.next, self.prev
        if tail:
            last = links_prev[sentinel]
            links_next[last] = slot
            links_prev[slot] = last
            links_next[slot] = sentinel
            links_prev[sentinel] = slot
        else:
            first = links_next[sentinel]
            links_prev[first] = slot
            links_next[slot] = first
            links_prev[slot] = sentinel
            links_next[sentinel] = slot
        self.buddy_order[slot] = order
        self.nr_free[order] += 1
        self.list_len[sentinel - self.sentinel] += 1
        if migratetype < MIGRATE_PCPTYPES:
            self.free_pages += 1 << order
        else:
            self._account_special(1 << order, migratetype)

    def delete(self, slot: int, order: int, migratetype: int) -> None:
        """``__del_page_from_free_list()`` plus ``account_freepages()``."""
        links_next, links_prev = self.next, self.prev
        after, before = links_next[slot], links_prev[slot]
        links_next[before] = after
        links_prev[after] = before
        self.buddy_order[slot] = NO_ORDER
        self.nr_free[order] -= 1
        self.list_len[order * MIGRATE_TYPES + migratetype] -= 1
        if migratetype < MIGRATE_PCPTYPES:
            self.free_pages -= 1 << order
        else:
            self._account_special(-(1 << order), migratetype)

    def add_upper_halves(self, slot: int, low: int, high: int, migratetype: int) -> None:
        """``expand()``'s list work: the upper half of each split, to the head of its list.

        The same as calling :meth:`add` once per order, unrolled because every allocation that
        splits a block runs it.
        """
        links_next, links_prev, buddy_order = self.next, self.prev, self.buddy_order
        nr_free, list_len = self.nr_free, self.list_len
        added = 0
        while high > low:
            high -= 1
            upper = slot + (1 << high)
            index = high * MIGRATE_TYPES + migratetype
            sentinel = self.sentinel + index
            first = links_next[sentinel]
            links_prev[first] = upper
            links_next[upper] = first
            links_prev[upper] = sentinel
            links_next[sentinel] = upper
            buddy_order[upper] = high
            nr_free[high] += 1
            list_len[index] += 1
            added += 1 << high
        if migratetype < MIGRATE_PCPTYPES:
            self.free_pages += added
        else:
            self._account_special(added, migratetype)

    def move_tail(self, slot: int, order: int, old_mt: int, new_mt: int) -> None:
        """``move_to_free_list()``: to the TAIL of the new type's list."""
        self.delete(slot, order, old_mt)
        self.add(slot, order, new_mt, True)

    def account(self, nr_pages: int, migratetype: int) -> None:
        """``account_freepages()``: NR_FREE_PAGES and the CMA / HighAtomic counters."""
        if migratetype < MIGRATE_PCPTYPES:
            self.free_pages += nr_pages
        else:
            self._account_special(nr_pages, migratetype)

    def _account_special(self, nr_pages: int, migratetype: int) -> None:
        if migratetype == MIGRATE_ISOLATE:
            return
        self.free_pages += nr_pages
        if migratetype == MIGRATE_CMA:
            self.nr_free_cma += nr_pages
        elif migratetype == MIGRATE_HIGHATOMIC:
            self.nr_free_highatomic += nr_pages

    def head(self, order: int, migratetype: int) -> int:
        """``get_page_from_free_area()``: the first slot of a list, or -1 when it is empty."""
        sentinel = self.sentinel + order * MIGRATE_TYPES + migratetype
        first = self.next[sentinel]
        return -1 if first == sentinel else first

    def is_empty(self, order: int, migratetype: int) -> bool:
        return self.list_len[order * MIGRATE_TYPES + migratetype] == 0

    def slots(self, order: int, migratetype: int, limit: int | None = None) -> list[int]:
        """The slots of one list, head first (``limit`` caps the walk, as pagetypeinfo does)."""
        sentinel = self.sentinel + order * MIGRATE_TYPES + migratetype
        result: list[int] = []
        slot = self.next[sentinel]
        while slot != sentinel and (limit is None or len(result) < limit):
            result.append(slot)
            slot = self.next[slot]
        return result

    def count(self, order: int, migratetype: int) -> int:
        return self.list_len[order * MIGRATE_TYPES + migratetype]

    def walk_back_consistent(self, order: int, migratetype: int) -> bool:
        """True when following ``prev`` from the tail gives the same list as ``next`` reversed."""
        sentinel = self.sentinel + order * MIGRATE_TYPES + migratetype
        backwards: list[int] = []
        slot = self.prev[sentinel]
        while slot != sentinel and len(backwards) <= self.nr_slots:
            backwards.append(slot)
            slot = self.prev[slot]
        return backwards[::-1] == self.slots(order, migratetype)
