"""SLOB, the "Simple List Of Blocks" allocator for tiny machines (mm/slob.c; removed in Linux 6.4).

A K&R-style heap, not a slab allocator: objects of every size share pages.  Partially free pages
sit on three lists by request size (< 256 bytes, < 1024 bytes, larger); ``slob_alloc()`` walks
the list and tries each page first-fit (``slob_page_alloc()``), then rotates the list so the
next search starts at the page that served this one ("see Knuth vol 1, sec 2.5, pg 449");
``slob_free()`` reinserts blocks in address order, merging neighbours.  Sizes are counted in
2-byte ``SLOB_UNIT`` s.  ``kmalloc()`` prepends an 8-byte header holding the size, so kfree()
needs no cache; requests of ``PAGE_SIZE - 8`` bytes or more go straight to the page allocator.

Source: mm/slob.c as deleted by Vlastimil Babka's "mm: remove all the slab allocators" (LKML,
1 April 2023, against v6.3-rc) - the final SLOB, unchanged by its real removal in 6.4.
SLOB keeps no per-cache statistics, so a SLOB kernel has no /proc/slabinfo.
"""

from __future__ import annotations

from ..errors import InvalidSize

from bisect import bisect_left

from ..errors import InvariantViolation
from .slub_sizes import align_up

__all__ = ["SlobHeap", "SlobPage", "SlobCache", "SLOB_UNIT", "slob_units", "SLOB_BREAK1", "SLOB_BREAK2"]

SLOB_UNIT = 2                 # sizeof(slob_t): slobidx_t is s16 while PAGE_SIZE <= 64 KiB
SLOB_BREAK1, SLOB_BREAK2 = 256, 1024
SLOB_RCU_FOOTER = 24          # sizeof(struct slob_rcu): rcu_head (16) + int, padded


def slob_units(size: int) -> int:
    """``SLOB_UNITS()`` (mm/slob.c, Linux 6.3): whole 2-byte units covering ``size`` bytes (0..2^64 - 1)."""
    if size.__class__ is not int or not 0 <= size < 1 << 64:
        from ..validate import in_range

        size = in_range(size, "size", 0, (1 << 64) - 1, InvalidSize)
    return -(-size // SLOB_UNIT)


class SlobPage:
    """One heap page: free blocks as sorted ``[start_unit, units]`` pairs, ``units`` free in all."""

    __slots__ = ("pfn", "order", "base", "units", "blocks", "on_list", "objects", "state", "cache")

    def __init__(self, pfn: int, base: int, page_units: int) -> None:
        self.pfn, self.order, self.base = pfn, 0, base
        self.units = page_units
        self.blocks = [[0, page_units]]
        self.on_list = None
        self.objects = 0
        self.state = "partial"
        self.cache = None

    def __repr__(self) -> str:
        return f"<slob page pfn={self.pfn:#x} free units={self.units} blocks={len(self.blocks)}>"


class SlobCache:
    """``struct kmem_cache`` under SLOB: only a size, an alignment and flags (``__kmem_cache_create()``)."""

    allocator_name = "SLOB"

    def __init__(self, name: str, object_size: int, align: int = 0, ctor: bool = False, rcu: bool = False, *,
                 hwcache_align: bool = False, cache_line_size: int = 64, page_size: int = 4096, **_ignored) -> None:
        from .slub_sizes import calculate_alignment

        self.name, self.object_size, self.ctor, self.rcu = name, object_size, bool(ctor), bool(rcu)
        self.align = calculate_alignment(align, object_size, hwcache_align=hwcache_align,
                                         cache_line_size=cache_line_size)
        size = object_size + (SLOB_RCU_FOOTER if rcu else 0)
        self.size = slob_units(size) * SLOB_UNIT
        self.page_size = page_size
        self.order, self.objs_per_slab = 0, 0
        self.kmalloc = self.account = self.reclaim_account = self.cache_dma = False

    @property
    def slab_size(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} (SLOB): size={self.size} align={self.align}>"


class SlobHeap:
    """The three partially-free page lists and every page the heap owns."""

    def __init__(self, owner, page_size: int = 4096) -> None:
        self.owner = owner
        self.page_size = page_size
        self.page_units = slob_units(page_size)
        self.lists = {"small": [], "medium": [], "large": []}   # head first
        self.pages: dict[int, SlobPage] = {}

    @staticmethod
    def list_for(size: int) -> str:
        return "small" if size < SLOB_BREAK1 else "medium" if size < SLOB_BREAK2 else "large"

    def alloc(self, size: int, gfp, align: int, align_offset: int):
        """``slob_alloc()``: first page on the list with room, else a new page; returns (address, page)."""
        units = slob_units(size)
        pages = self.lists[self.list_for(size)]
        for position, page in enumerate(pages):
            if page.units < units:
                continue
            found = self._page_alloc(page, size, align, align_offset)
            if found is None:
                continue
            if page.on_list is not None and position:
                pages[:] = pages[position:] + pages[:position]      # list_rotate_to_front()
            return found, page
        page = self.owner._slob_page(gfp - {"__GFP_ZERO"})               # may raise: nothing changed
        page.on_list = self.list_for(size)
        pages.insert(0, page)                                          # set_slob_page_free(): list_add()
        return self._page_alloc(page, size, align, align_offset), page

    def _page_alloc(self, page: SlobPage, size: int, align: int, align_offset: int):
        """``slob_page_alloc()``: first free block that fits (after aligning ``start + offset``)."""
        units = slob_units(size)
        blocks = page.blocks
        for i, (start, avail) in enumerate(blocks):
            delta = 0
            if align:
                cur = page.base + start * SLOB_UNIT
                delta = (align_up(cur + align_offset, align) - align_offset - cur) // SLOB_UNIT
            if avail < units + delta:
                continue
            if delta:                                   # keep the head fragment free
                blocks[i] = [start, delta]
                i, start, avail = i + 1, start + delta, avail - delta
                blocks.insert(i, [start, avail])
            if avail == units:
                del blocks[i]
            else:
                blocks[i] = [start + units, avail - units]
            page.units -= units
            page.objects += 1
            if not page.units:                          # clear_slob_page_free()
                self.lists[page.on_list].remove(page)
                page.on_list, page.state = None, "full"
            return page.base + start * SLOB_UNIT
        return None

    def free(self, addr: int, size: int) -> None:
        """``slob_free()``: reinsert the block in address order, merging with free neighbours."""
        pfn = (addr - self.owner.page_offset) // self.page_size
        page = self.pages[pfn]
        units = slob_units(size)
        start = (addr - page.base) // SLOB_UNIT
        page.objects -= 1
        if page.units + units == self.page_units:       # the page is empty: straight back
            if page.on_list is not None:
                self.lists[page.on_list].remove(page)
            del self.pages[pfn]
            self.owner._free_slob_page(page)
            return
        if page.on_list is None:                        # was full: partially free now
            page.units, page.blocks = units, [[start, units]]
            page.on_list, page.state = self.list_for(size), "partial"
            self.lists[page.on_list].insert(0, page)
            return
        page.units += units
        blocks = page.blocks
        i = bisect_left(blocks, [start, 0])
        blocks.insert(i, [start, units])
        if i + 1 < len(blocks) and start + units == blocks[i + 1][0]:
            blocks[i][1] += blocks[i + 1][1]
            del blocks[i + 1]
        if i > 0 and blocks[i - 1][0] + blocks[i - 1][1] == start:
            blocks[i - 1][1] += blocks[i][1]
            del blocks[i]

    def check_invariants(self) -> None:
        listed = [p for pages in self.lists.values() for p in pages]
        if len({id(p) for p in listed}) != len(listed):
            raise InvariantViolation("SLOB: a page is on two lists")
        for page in self.pages.values():
            free = sum(units for _start, units in page.blocks) if page.on_list is not None else 0
            end = 0
            for start, units in (page.blocks if page.on_list is not None else []):
                if start < end or units <= 0:
                    raise InvariantViolation(f"SLOB: overlapping or empty free blocks in {page}")
                end = start + units
            if end > self.page_units or free != page.units or (page.on_list is None) != (page.units == 0):
                raise InvariantViolation(f"SLOB: free units of {page} disagree with its blocks or lists")
        if any(p.pfn not in self.pages for p in listed):
            raise InvariantViolation("SLOB: a listed page is not owned")
