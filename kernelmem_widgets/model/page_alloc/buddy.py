"""One zone's buddy allocator, following mm/page_alloc.c of Linux 6.18.

Modelled: ``__rmqueue_smallest()``, ``expand()``, ``__free_one_page()`` with
``buddy_merge_likely()``, ``split_large_buddy()``, pageblock migrate types and the fallback
rules of ``__rmqueue()`` (``__rmqueue_claim()`` / ``try_to_claim_block()`` /
``__rmqueue_steal()``), the HighAtomic reserve, and boot-time freeing as
``memblock_free_all()`` does it (``__free_pages_memory()``: largest aligned chunks, ascending,
each freed with FPI_TO_TAIL).

Not modelled, on purpose: per-cpu page lists (they hide frees from /proc/buddyinfo until a
drain; this model behaves as if every free were drained at once, which is what
``drain_all_pages()`` gives), page shuffling (off unless CONFIG_SHUFFLE_PAGE_ALLOCATOR and
``page_alloc.shuffle=1``), watermark boosting and kswapd.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..errors import AllocationError, BadPageState, InvalidArgument, InvalidOrder, PfnOutOfRange
from ..events import EventBus
from .fallback import FallbackMixin
from .freearea import NO_ORDER, FreeArea
from .mmzone import MIGRATE_MOVABLE, MIGRATE_PCPTYPES, MIGRATE_TYPES, MIGRATE_UNMOVABLE, MIGRATETYPE_BY_NAME, MIGRATETYPE_NAMES, parse_migratetype
from .owner import OWNER_CODE, owner_code, owner_hint
from ..validate import as_int

__all__ = ["Zone", "ALLOC_WMARK_MIN", "ALLOC_WMARK_LOW", "ALLOC_WMARK_HIGH", "ALLOC_NO_WATERMARKS",
           "ALLOC_OOM", "ALLOC_NON_BLOCK", "ALLOC_MIN_RESERVE", "ALLOC_CMA", "ALLOC_NOFRAGMENT",
           "ALLOC_HIGHATOMIC", "ALLOC_KSWAPD", "ALLOC_RESERVES"]

# alloc_flags of mm/internal.h (the values are the kernel's; only their meaning matters here)
ALLOC_WMARK_MIN, ALLOC_WMARK_LOW, ALLOC_WMARK_HIGH, ALLOC_NO_WATERMARKS = 0, 1, 2, 4
ALLOC_OOM, ALLOC_NON_BLOCK, ALLOC_MIN_RESERVE = 0x08, 0x10, 0x20
ALLOC_CMA, ALLOC_NOFRAGMENT, ALLOC_HIGHATOMIC, ALLOC_KSWAPD = 0x80, 0x100, 0x200, 0x800
ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM


class Zone(FallbackMixin):
    """A zone's free lists, pageblocks and allocated blocks.

    Parameters
    ----------
    name : str
        ``"DMA"``, ``"DMA32"``, ``"Normal"``, ... (printed in /proc/buddyinfo).
    start_pfn, end_pfn : int
        The pfns the zone spans, end exclusive.
    max_page_order : int
        MAX_PAGE_ORDER (10 on x86-64: blocks of up to 4 MiB).
    pageblock_order : int
        9 on x86-64 (2 MiB pageblocks, the huge page size).
    free_ranges : iterable of (start_pfn, end_pfn), optional
        The pfn ranges memblock hands to the buddy allocator at boot; the default is the whole
        zone.  Pages outside them stay reserved, as memblock-reserved pages do.
    mobility_grouping : bool, optional
        False when ``page_group_by_mobility_disabled`` (the kernel turns grouping off when the
        machine has fewer than ``pageblock_nr_pages * MIGRATE_TYPES`` pages); by default the
        zone applies that rule to itself.

    Examples
    --------
    >>> zone = Zone("Normal", 0, 4096)
    >>> [zone.nr_free(order) for order in range(11)]
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]
    >>> zone.alloc_pages(0, migratetype="Unmovable")
    0
    >>> zone.free_blocks(0, "Unmovable"), zone.free_blocks(1, "Unmovable")
    ([1], [2])
    """

    def __init__(self, name: str, start_pfn: int, end_pfn: int, *, max_page_order: int = 10,
                 pageblock_order: int = 9, node: int = 0, free_ranges: Iterable[tuple[int, int]] | None = None,
                 mobility_grouping: bool | None = None, bus: EventBus | None = None) -> None:
        start_pfn, end_pfn, max_page_order, pageblock_order = _check_geometry(start_pfn, end_pfn, max_page_order,
                                                                              pageblock_order)
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 16:
            raise InvalidArgument(f"zone name {name!r}: a short word such as 'Normal' or 'DMA32' (it is printed in "
                                  "/proc/buddyinfo)")
        node = as_int(node, "node", "0..1023")
        if not 0 <= node < 1024:
            raise InvalidArgument(f"node {node} must be 0..1023 (MAX_NUMNODES)")
        self.name, self.node = name, node
        self.start_pfn, self.end_pfn = start_pfn, end_pfn
        self.max_page_order, self.pageblock_order = max_page_order, pageblock_order
        self.pageblock_nr_pages = 1 << pageblock_order
        self.bus = bus if bus is not None else EventBus()
        self.watermark = {"min": 0, "low": 0, "high": 0, "promo": 0}
        self.lowmem_reserve = [0] * 5
        self.nr_reserved_highatomic = 0
        self._base = start_pfn & ~((1 << max_page_order) - 1)
        top = -(-end_pfn >> max_page_order) << max_page_order
        nr_slots = top - self._base
        self._area = FreeArea(nr_slots, max_page_order + 1)
        self._alloc_order = bytearray(b"\xff") * nr_slots
        self._alloc_mt = bytearray(nr_slots)
        self._alloc_owner = bytearray(nr_slots)  # owner code of each allocated head (see owner.py)
        self._pb_mt = bytearray([MIGRATE_MOVABLE]) * (nr_slots >> pageblock_order)
        ranges = [(start_pfn, end_pfn)] if free_ranges is None else _clip(free_ranges, start_pfn, end_pfn)
        self._managed_ranges = tuple(ranges)
        self.managed_pages = sum(end - start for start, end in ranges)
        self.mobility_grouping = (self.managed_pages >= self.pageblock_nr_pages * MIGRATE_TYPES
                                  if mobility_grouping is None else bool(mobility_grouping))
        for start, end in ranges:
            self._free_pages_memory(start, end)

    # ----------------------------------------------------------------- geometry and queries
    @property
    def spanned_pages(self) -> int:
        return self.end_pfn - self.start_pfn

    @property
    def nr_free_pages(self) -> int:
        """NR_FREE_PAGES: free pages on every list but MIGRATE_ISOLATE."""
        return self._area.free_pages

    @property
    def nr_free_cma(self) -> int:
        return self._area.nr_free_cma

    @property
    def nr_free_highatomic(self) -> int:
        return self._area.nr_free_highatomic

    @property
    def populated(self) -> bool:
        return self.managed_pages > 0

    def nr_free(self, order: int) -> int:
        """``free_area[order].nr_free``: free blocks of that order, all migrate types."""
        self._check_order(order)
        return self._area.nr_free[order]

    def nr_free_list(self, order: int, migratetype: int | str) -> int:
        """Blocks on one free list (a cell of /proc/pagetypeinfo)."""
        self._check_order(order)
        return self._area.count(order, parse_migratetype(migratetype))

    def free_blocks(self, order: int, migratetype: int | str) -> list[int]:
        """The pfns on ``free_area[order].free_list[migratetype]``, head first."""
        self._check_order(order)
        slots = self._area.slots(order, parse_migratetype(migratetype))
        return [slot + self._base for slot in slots]

    def pageblock_migratetype(self, pfn: int) -> int:
        """``get_pfnblock_migratetype()`` of the pageblock holding ``pfn``."""
        self._check_pfn(pfn)
        return self._pb_mt[(pfn - self._base) >> self.pageblock_order]

    def contains(self, pfn: int) -> bool:
        """Whether ``pfn`` (an integer; anything else is in no zone) lies in this zone's span."""
        if pfn.__class__ is not int:
            if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
                return False
        return self.start_pfn <= pfn < self.end_pfn

    def largest_free_order(self) -> int:
        """The highest order with a free block, or -1 when the zone has none."""
        for order in range(self.max_page_order, -1, -1):
            if self._area.nr_free[order]:
                return order
        return -1

    def check_invariants(self) -> None:
        """Raise ``InvariantViolation`` if any rule of the free lists is broken (see ``invariants``)."""
        from .invariants import check_zone

        check_zone(self)

    def allocated_order(self, pfn: int) -> int | None:
        """The order ``pfn`` was allocated with when it heads an allocated block, else None."""
        self._check_pfn(pfn)
        order = self._alloc_order[pfn - self._base]
        return None if order == NO_ORDER else order

    # ----------------------------------------------------------------- allocation
    def alloc_pages(self, order: int, migratetype: int | str = MIGRATE_UNMOVABLE, *, alloc_flags: int = 0) -> int:
        """Take a block of ``2**order`` pages from this zone alone and return its first pfn.

        Models ``rmqueue_buddy()`` -> ``__rmqueue()`` with no watermark check (the zone-level
        call a student can make on a bare zone; ``Machine.alloc_pages`` adds watermarks and the
        zonelist).  Raises :class:`AllocationError` when no list can serve the order.
        """
        if order.__class__ is not int or not 0 <= order <= self.max_page_order:
            order = self._check_order(order)
        if alloc_flags.__class__ is not int:
            alloc_flags = as_int(alloc_flags, "alloc_flags", "ALLOC_* bits of mm/internal.h")
        requested = migratetype
        migratetype = MIGRATETYPE_BY_NAME.get(requested) if requested.__class__ is str else None
        if migratetype is None:
            migratetype = parse_migratetype(requested)
        if not self.mobility_grouping and migratetype < MIGRATE_PCPTYPES:  # as gfp_migratetype() forces
            migratetype = MIGRATE_UNMOVABLE
        slot = self._rmqueue_smallest(order, migratetype) if not alloc_flags else -1
        if slot < 0:
            slot = self._rmqueue_buddy(order, migratetype, alloc_flags)
        if slot < 0:
            raise AllocationError(self.explain_failure(order, migratetype), order=order)
        self._alloc_order[slot] = order
        self._alloc_mt[slot] = migratetype
        self._alloc_owner[slot] = 0
        if self.bus.active:
            self.bus.emit("mm_page_alloc", pfn=slot + self._base, order=order, migratetype=migratetype,
                          zone=self.name, gfp=None)
        return slot + self._base

    def split_page(self, pfn: int, order: int) -> None:
        """``split_page()`` (mm/page_alloc.c, 6.18): an allocated non-compound block becomes
        ``2**order`` order-0 allocations of the same owner, each freed on its own (as vmalloc's
        huge pages are)."""
        pfn, order = self._check_pfn(pfn), self._check_order(order)
        slot = pfn - self._base
        if self._alloc_order[slot] != order:
            self._check_allocated(slot, order)
        self._alloc_order[slot:slot + (1 << order)] = bytes(1 << order)
        self._alloc_mt[slot:slot + (1 << order)] = bytes((self._alloc_mt[slot],)) * (1 << order)
        self._alloc_owner[slot:slot + (1 << order)] = bytes((self._alloc_owner[slot],)) * (1 << order)

    def _commit_alloc(self, slot: int, order: int, migratetype: int, owner: int = 0) -> None:
        self._alloc_order[slot] = order
        self._alloc_mt[slot] = migratetype
        self._alloc_owner[slot] = owner

    def allocated_owner(self, pfn: int) -> str | None:
        """Who holds the allocated block headed by ``pfn`` (see :mod:`.owner`), else None."""
        pfn = self._check_pfn(pfn)
        slot = pfn - self._base
        if self._alloc_order[slot] == NO_ORDER:
            return None
        from .owner import OWNERS

        return OWNERS[self._alloc_owner[slot]]

    def _rmqueue_smallest(self, order: int, migratetype: int) -> int:
        """``__rmqueue_smallest()``: head of the smallest non-empty list of this type, split.

        The head is unlinked inline (as ``FreeArea.delete`` would) because every allocation runs it.
        """
        area = self._area
        list_len = area.list_len
        for current_order in range(order, area.nr_orders):
            index = current_order * MIGRATE_TYPES + migratetype
            if list_len[index]:
                links_next, sentinel = area.next, area.sentinel + index
                slot = links_next[sentinel]
                after = links_next[slot]
                links_next[sentinel] = after
                area.prev[after] = sentinel
                area.buddy_order[slot] = NO_ORDER
                area.nr_free[current_order] -= 1
                list_len[index] -= 1
                area.account(-(1 << current_order), migratetype)
                if current_order > order:
                    area.add_upper_halves(slot, order, current_order, migratetype)  # expand()
                return slot
        return -1

    def _rmqueue_smallest_many(self, order: int, migratetype: int, count: int) -> list[int]:
        """``count`` ``__rmqueue_smallest(order, migratetype)`` calls at once; stops early when
        no list of ``migratetype`` at ``order`` or above has a block (the caller then takes
        the fallback path for the next one).

        Exactly the blocks, lists and counters that calling :meth:`_rmqueue_smallest`
        ``count`` times gives: heads of the ``order`` list first; then the smallest non-empty
        higher list's head block, which repeated splitting hands out in ascending pieces of
        ``2**order`` pages (the upper halves ``expand()`` puts on the lower lists are the only
        entries there, so they go before anything else); a block only partly used leaves the
        binary decomposition of its rest on those lists.  The blocks are committed as
        allocations of ``order`` and ``migratetype``.
        """
        area = self._area
        list_len, links_next, links_prev = area.list_len, area.next, area.prev
        alloc_order, alloc_mt, buddy_order = self._alloc_order, self._alloc_mt, area.buddy_order
        taken: list[int] = []
        remaining = count
        own = order * MIGRATE_TYPES + migratetype
        step = 1 << order
        while remaining:
            if list_len[own]:  # the order's own list: pop heads
                sentinel = area.sentinel + own
                number = min(remaining, list_len[own])
                slot = links_next[sentinel]
                for _ in range(number):
                    taken.append(slot)
                    buddy_order[slot] = NO_ORDER
                    alloc_order[slot] = order
                    alloc_mt[slot] = migratetype
                    slot = links_next[slot]
                links_next[sentinel] = slot
                links_prev[slot] = sentinel
                list_len[own] -= number
                area.nr_free[order] -= number
                area.account(-(number << order), migratetype)
                remaining -= number
                continue
            current = next((o for o in range(order + 1, area.nr_orders)
                            if list_len[o * MIGRATE_TYPES + migratetype]), 0)
            if not current:
                break
            head = area.head(current, migratetype)
            area.delete(head, current, migratetype)
            size = 1 << current
            used = min(size >> order, remaining)
            pieces = range(head, head + (used << order), step)
            if order:
                for slot in pieces:
                    alloc_order[slot] = order
                    alloc_mt[slot] = migratetype
            else:
                alloc_order[head:head + used] = bytes(used)
                alloc_mt[head:head + used] = bytes((migratetype,)) * used
            taken.extend(pieces)
            start = used << order
            while start < size:  # the rest of a partly used block, as expand() left it
                piece = (start & -start).bit_length() - 1
                area.add(head + start, piece, migratetype, False)
                start += 1 << piece
            remaining -= used
        return taken

    def _free_pages_untraced(self, pfn: int, order: int) -> None:
        """:meth:`free_pages` after its checks, without the trace event (a caller has checked)."""
        slot = pfn - self._base
        self._alloc_order[slot] = NO_ORDER
        if order <= self.pageblock_order:
            self._free_one_page(slot, order, self._pb_mt[slot >> self.pageblock_order], False)
        else:
            self._split_large_buddy(slot, order, False)

    def _expand(self, slot: int, low: int, high: int, migratetype: int) -> None:
        """``expand()``: keep the lower half, put each upper half at the head of its list."""
        self._area.add_upper_halves(slot, low, high, migratetype)

    # ----------------------------------------------------------------- freeing
    def free_pages(self, pfn: int, order: int, *, owner: str = "alloc_pages") -> None:
        """Give back a block from :meth:`alloc_pages`: ``__free_pages_ok()`` -> ``free_one_page()``.

        Raises :class:`BadPageState` for a double free, a wrong order, a pfn that is not the
        head of an allocated block or a block another owner holds (``owner`` names who frees:
        see :mod:`.owner`), and :class:`PfnOutOfRange` for a pfn outside the zone.
        """
        if order.__class__ is not int or not 0 <= order <= self.max_page_order:
            order = self._check_order(order)
        if pfn.__class__ is not int or not self.start_pfn <= pfn < self.end_pfn:
            pfn = self._check_pfn(pfn)
        code = OWNER_CODE.get(owner) if owner.__class__ is str else None
        if code is None:
            code = owner_code(owner)
        slot = pfn - self._base
        if self._alloc_order[slot] != order:
            self._check_allocated(slot, order)
        if self._alloc_owner[slot] != code:
            raise BadPageState(f"BUG: Bad page state: pfn {pfn:#x} freed by {owner} but {owner_hint(self._alloc_owner[slot])}")
        self._alloc_order[slot] = NO_ORDER
        if order <= self.pageblock_order:
            self._free_one_page(slot, order, self._pb_mt[slot >> self.pageblock_order], False)
        else:
            self._split_large_buddy(slot, order, False)
        if self.bus.active:
            self.bus.emit("mm_page_free", pfn=pfn, order=order, zone=self.name)

    def _release(self, slot: int, order: int) -> None:
        self._alloc_order[slot] = NO_ORDER
        self._alloc_owner[slot] = 0
        self._split_large_buddy(slot, order, False)

    def _split_large_buddy(self, slot: int, order: int, to_tail: bool) -> None:
        """``split_large_buddy()``: free in pageblock-sized pieces, each with its own type."""
        pageblock_order = self.pageblock_order
        if order <= pageblock_order:
            self._free_one_page(slot, order, self._pb_mt[slot >> pageblock_order], to_tail)
            return
        for piece in range(slot, slot + (1 << order), 1 << pageblock_order):
            self._free_one_page(piece, pageblock_order, self._pb_mt[piece >> pageblock_order], to_tail)

    def _free_one_page(self, slot: int, order: int, migratetype: int, to_tail: bool) -> None:
        """``__free_one_page()``: merge with ``pfn ^ (1 << order)`` while that buddy is free.

        Below pageblock order the buddy shares our pageblock, hence our list: that common case
        unlinks it inline (the same steps as ``FreeArea.delete``) because every free runs it.
        """
        area = self._area
        buddy_order, max_order, pageblock_order = area.buddy_order, self.max_page_order, self.pageblock_order
        links_next, links_prev, nr_free, list_len = area.next, area.prev, area.nr_free, area.list_len
        merged_pages = 0
        buddy = slot
        while order < max_order:
            buddy = slot ^ (1 << order)
            if buddy_order[buddy] != order:
                break
            if order < pageblock_order:
                after, before = links_next[buddy], links_prev[buddy]
                links_next[before] = after
                links_prev[after] = before
                buddy_order[buddy] = NO_ORDER
                nr_free[order] -= 1
                list_len[order * MIGRATE_TYPES + migratetype] -= 1
                merged_pages += 1 << order
            elif not self._merge_across_pageblocks(buddy, order, migratetype):
                break
            slot &= buddy
            order += 1
        if merged_pages:
            area.account(-merged_pages, migratetype)
        if not to_tail and order < max_order - 1:
            higher = buddy & slot
            to_tail = buddy_order[higher ^ (1 << (order + 1))] == order + 1
        area.add(slot, order, migratetype, to_tail)

    def _merge_across_pageblocks(self, buddy: int, order: int, migratetype: int) -> bool:
        """The merge step at or above pageblock order: types must be mergeable; the buddy's
        pageblocks take our type."""
        buddy_mt = self._pb_mt[buddy >> self.pageblock_order]
        if buddy_mt != migratetype and (migratetype >= MIGRATE_PCPTYPES or buddy_mt >= MIGRATE_PCPTYPES):
            return False
        self._area.delete(buddy, order, buddy_mt)
        if buddy_mt != migratetype:
            self._change_pageblock_range(buddy, order, migratetype)
        return True

    def _change_pageblock_range(self, slot: int, order: int, migratetype: int) -> None:
        """``change_pageblock_range()`` via ``set_pageblock_migratetype()``."""
        if not self.mobility_grouping and migratetype < MIGRATE_PCPTYPES:
            migratetype = MIGRATE_UNMOVABLE
        first = slot >> self.pageblock_order
        count = 1 << (order - self.pageblock_order)
        self._pb_mt[first:first + count] = bytes([migratetype]) * count

    def _free_pages_memory(self, start: int, end: int) -> None:
        """``__free_pages_memory()``: largest naturally aligned chunks, ascending, FPI_TO_TAIL."""
        max_order = self.max_page_order
        while start < end:
            order = min(max_order, (start & -start).bit_length() - 1) if start else max_order
            while start + (1 << order) > end:
                order -= 1
            self._split_large_buddy(start - self._base, order, True)
            start += 1 << order

    # ----------------------------------------------------------------- validation
    def _check_order(self, order: int) -> int:
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
            raise InvalidOrder(f"order {order!r} is not an integer; accepted: 0..{self.max_page_order}")
        order = int(order)
        if not 0 <= order <= self.max_page_order:
            raise InvalidOrder(
                f"order {order} {'is negative' if order < 0 else f'exceeds MAX_PAGE_ORDER {self.max_page_order}'}; "
                f"accepted: 0..{self.max_page_order} (order n is 2^n pages; the largest block is "
                f"{1 << self.max_page_order} pages)"
            )
        return order

    def _check_pfn(self, pfn: int) -> int:
        if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
            raise PfnOutOfRange(f"pfn {pfn!r} is not an integer page frame number")
        pfn = int(pfn)
        if not self.start_pfn <= pfn < self.end_pfn:
            raise PfnOutOfRange(
                f"pfn {pfn:#x} is outside zone {self.name} (pfns {self.start_pfn:#x}..{self.end_pfn - 1:#x})"
            )
        return pfn

    def _check_allocated(self, slot: int, order: int) -> None:
        allocated = self._alloc_order[slot]
        pfn = slot + self._base
        if allocated == order:
            return
        if allocated != NO_ORDER:
            raise BadPageState(
                f"BUG: Bad page state: pfn {pfn:#x} was allocated with order {allocated} but freed "
                f"with order {order}; __free_pages() must get the order the block was allocated with"
            )
        raise BadPageState(f"BUG: Bad page state: pfn {pfn:#x}: {self._describe_unallocated(slot)}")

    def _describe_unallocated(self, slot: int) -> str:
        for order in range(self.max_page_order + 1):
            head = slot & ~((1 << order) - 1)
            if self._area.buddy_order[head] == order:
                where = "" if head == slot else f" inside the free order-{order} block at pfn {head + self._base:#x}"
                return f"page is already free (PageBuddy){where}: double free or never allocated"
            if self._alloc_order[head] == order and head != slot:
                return (f"not the head of an allocated block: it is a tail page of the order-{order} block "
                        f"at pfn {head + self._base:#x}; free that pfn with order {order}")
        return "page is reserved (memblock never gave it to the buddy allocator)"

    def explain_failure(self, order: int, migratetype: int = MIGRATE_UNMOVABLE) -> str:
        """Why an order-``order`` request fails here, in the kernel's terms."""
        order = self._check_order(order)
        migratetype = parse_migratetype(migratetype)
        largest = self.largest_free_order()
        free = self.nr_free_pages
        if largest < 0:
            return f"no free pages in zone {self.name}"
        return (
            f"no free block of order >= {order} for {_article(MIGRATETYPE_NAMES[migratetype])} request in zone "
            f"{self.name}: {free:,} pages free, largest free block order {largest}"
            + (" - external fragmentation" if free >= (1 << order) else " - not enough free memory")
        )


def _article(word: str) -> str:
    return ("an " if word[0] in "AEIOUaeiou" else "a ") + word


#: Largest zone span the kit builds (pfns): 256 GiB of 4 KiB pages, see ``Machine``'s RAM limit
MAX_ZONE_PFNS = 1 << 26


def _check_geometry(start_pfn: int, end_pfn: int, max_page_order: int, pageblock_order: int) -> tuple:
    start_pfn = as_int(start_pfn, "start_pfn", "an integer pfn >= 0", PfnOutOfRange)
    end_pfn = as_int(end_pfn, "end_pfn", "an integer pfn above start_pfn", PfnOutOfRange)
    max_page_order = as_int(max_page_order, "max_page_order", "0..20")
    pageblock_order = as_int(pageblock_order, "pageblock_order", "0..max_page_order")
    if end_pfn - start_pfn > MAX_ZONE_PFNS or end_pfn > 1 << 40:
        raise PfnOutOfRange(f"zone pfns {start_pfn}..{end_pfn}: more than this kit models ({MAX_ZONE_PFNS:,} pages, "
                            "256 GiB of 4 KiB pages, below pfn 2**40)")
    if not 0 <= start_pfn < end_pfn:
        raise PfnOutOfRange(f"zone pfns {start_pfn}..{end_pfn} are empty or negative; need 0 <= start_pfn < end_pfn")
    if not 0 <= pageblock_order <= max_page_order <= 20:
        raise InvalidArgument(
            f"pageblock_order {pageblock_order} and MAX_PAGE_ORDER {max_page_order} must satisfy "
            "0 <= pageblock_order <= MAX_PAGE_ORDER <= 20"
        )
    return start_pfn, end_pfn, max_page_order, pageblock_order


def _clip(ranges: Iterable[tuple[int, int]], start_pfn: int, end_pfn: int) -> list[tuple[int, int]]:
    try:
        pairs = [(as_int(start, "free range start", "integer pfns", PfnOutOfRange),
                  as_int(end, "free range end", "integer pfns", PfnOutOfRange)) for start, end in ranges]
    except InvalidArgument:
        raise
    except (TypeError, ValueError):
        raise InvalidArgument(f"free_ranges {ranges!r}: accepted: an iterable of (start_pfn, end_pfn) pairs") from None
    clipped = sorted((max(start, start_pfn), min(end, end_pfn)) for start, end in pairs)
    clipped = [(start, end) for start, end in clipped if start < end]
    for (_, end), (start, _) in zip(clipped, clipped[1:]):
        if start < end:
            raise InvalidArgument(f"free_ranges overlap at pfn {start:#x}: each page is handed to the buddy "
                                  "allocator once")
    return clipped
