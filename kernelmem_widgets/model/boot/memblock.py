"""memblock: the boot-time allocator between the firmware map and the buddy allocator (mm/memblock.c).

Followed from mm/memblock.c of 6.x: ``memblock.memory`` holds the RAM ranges
``e820__memblock_setup()`` adds (then ``memblock_trim_memory(PAGE_SIZE)`` drops partial pages),
``memblock.reserved`` what must never be handed out.  Both are sorted arrays of regions that
``memblock_add_range()`` merges when they touch.  ``memblock_phys_alloc_range()`` finds a free
range with ``memblock_find_in_range_node()``: top-down by default (from the highest free address
below ``memblock.current_limit`` down, ``round_down(this_end - size, align)``), bottom-up when
``memblock_set_bottom_up(true)``; it never returns the first page (``start = max(start,
PAGE_SIZE)``), then reserves what it found.  ``memblock_free_all()`` gives every free range's
whole pages (``PFN_UP(start)`` .. ``PFN_DOWN(end)``) to the buddy allocator.

Linux 2.6.35 called the same service ``alloc_bootmem()`` (x86 had just moved its early
reservations from ``early_res`` to memblock, with the bootmem API on top, CONFIG_NO_BOOTMEM):
:meth:`Memblock.alloc_bootmem` is that name, with the bootmem goal of ``MAX_DMA_ADDRESS``.
"""

from __future__ import annotations

import re

from bisect import insort

from ..errors import InvalidArgument, InvariantViolation

__all__ = ["replay_debug_log", "Memblock", "Reservation", "PHYS_ADDR_MAX"]

PHYS_ADDR_MAX = (1 << 64) - 1


class Reservation(tuple):
    """``(base, size, owner)``: who reserved a range (memblock itself keeps no names; the model does)."""

    __slots__ = ()

    def __new__(cls, base: int, size: int, owner: str):
        return super().__new__(cls, (base, size, owner))

    base = property(lambda self: self[0])
    size = property(lambda self: self[1])
    owner = property(lambda self: self[2])


def _merge_add(regions: list[list[int]], base: int, size: int) -> None:
    """``memblock_add_range()`` + ``memblock_merge_regions()``: insert, then merge overlapping or touching."""
    if size <= 0:
        return
    insort(regions, [base, base + size])
    merged: list[list[int]] = []
    for start, end in regions:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    regions[:] = merged


class Memblock:
    """``struct memblock``: memory and reserved regions, and the allocator over them.

    Examples
    --------
    >>> mb = Memblock(page_size=4096)
    >>> mb.add(0x100000, 0x3ff00000)
    >>> mb.reserve(0x1000000, 0x2000000, "kernel image")
    >>> hex(mb.phys_alloc(0x200000, 0x200000, owner="demo"))    # top-down: just below the end
    '0x3fe00000'
    """

    def __init__(self, *, page_size: int = 4096, bottom_up: bool = False, current_limit: int = PHYS_ADDR_MAX) -> None:
        self.page_size = page_size
        self.bottom_up = bottom_up
        self.current_limit = current_limit
        self.memory: list[list[int]] = []
        self.reserved: list[list[int]] = []
        self.reservations: list[Reservation] = []
        self.freed = False

    # ------------------------------------------------------------------ building
    def add(self, base: int, size: int) -> None:
        """``memblock_add()``."""
        _merge_add(self.memory, base, size)

    def trim_memory(self) -> None:
        """``memblock_trim_memory(PAGE_SIZE)``: round each region in to whole pages, drop empty ones."""
        page = self.page_size
        trimmed = [[-(-s // page) * page, e // page * page] for s, e in self.memory]
        self.memory = [r for r in trimmed if r[0] < r[1]]

    def reserve(self, base: int, size: int, owner: str = "memblock_reserve") -> None:
        """``memblock_reserve()``: may overlap memory holes and earlier reservations (merged)."""
        for name, value in (("base", base), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgument(f"memblock_reserve() {name} {value!r} is not a non-negative integer")
        if size == 0:
            return
        _merge_add(self.reserved, base, size)
        self.reservations.append(Reservation(base, size, owner))

    def phys_free(self, base: int, size: int) -> None:
        """``memblock_phys_free()``: give a reserved range back (``memblock_remove_range(&memblock.reserved)``)."""
        for name, value in (("base", base), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgument(f"memblock_phys_free() {name} {value!r} is not a non-negative integer")
        end = base + size
        kept: list[list[int]] = []
        for start, stop in self.reserved:
            if stop <= base or start >= end:
                kept.append([start, stop])
                continue
            if start < base:
                kept.append([start, base])
            if stop > end:
                kept.append([end, stop])
        self.reserved = kept

    # ------------------------------------------------------------------ allocating
    def free_ranges(self, start: int = 0, end: int = PHYS_ADDR_MAX) -> list[tuple[int, int]]:
        """``for_each_free_mem_range()``: memory minus reserved, clipped to ``[start, end)``."""
        out = []
        reserved = self.reserved
        j = 0
        for mstart, mend in self.memory:
            position = mstart
            while j < len(reserved) and reserved[j][1] <= position:
                j += 1
            k = j
            while position < mend:
                if k < len(reserved) and reserved[k][0] < mend:
                    rstart, rend = reserved[k]
                    if rstart > position:
                        out.append((position, rstart))
                    position = max(position, rend)
                    k += 1
                else:
                    out.append((position, mend))
                    break
        return [(max(s, start), min(e, end)) for s, e in out if max(s, start) < min(e, end)]

    def find_in_range(self, size: int, align: int, start: int = 0, end: int = PHYS_ADDR_MAX) -> int | None:
        """``memblock_find_in_range_node()``: the address an allocation would get, or None."""
        start = max(start, self.page_size)
        end = min(end, self.current_limit)
        ranges = self.free_ranges(start, end)
        if self.bottom_up:
            for this_start, this_end in ranges:
                candidate = -(-this_start // align) * align
                if candidate < this_end and this_end - candidate >= size:
                    return candidate
            return None
        for this_start, this_end in reversed(ranges):
            if this_end < size:
                continue
            candidate = (this_end - size) // align * align
            if candidate >= this_start:
                return candidate
        return None

    def phys_alloc(self, size: int, align: int, start: int = 0, end: int = PHYS_ADDR_MAX, *,
                   owner: str = "memblock_alloc") -> int | None:
        """``memblock_phys_alloc_range()``: find and reserve; None where the kernel gets 0 (NULL)."""
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise InvalidArgument(f"memblock_alloc() size {size!r} must be a positive integer")
        if isinstance(align, bool) or not isinstance(align, int) or align <= 0 or align & (align - 1):
            raise InvalidArgument(f"memblock_alloc() align {align!r} must be a power of two")
        if self.freed:
            raise InvalidArgument("memblock_alloc() after memblock_free_all(): memblock is gone; use the page "
                                  "allocator (alloc_pages, kmalloc, vmalloc)")
        addr = self.find_in_range(size, align, start, end)
        if addr is not None:
            self.reserve(addr, size, owner)
        return addr

    memblock_alloc = phys_alloc

    def alloc_bootmem(self, size: int, align: int = 64, *, owner: str = "alloc_bootmem") -> int | None:
        """Linux 2.6.35 ``alloc_bootmem(size)``: the same allocator, goal ``__pa(MAX_DMA_ADDRESS)`` (16 MiB)."""
        return self.phys_alloc(size, align, 16 << 20, owner=owner)

    # ------------------------------------------------------------------ handing over
    def free_all(self) -> list[tuple[int, int]]:
        """``memblock_free_all()``: the pfn ranges given to the buddy allocator (whole pages only)."""
        page = self.page_size
        pfns = []
        for start, end in self.free_ranges():
            first, last = -(-start // page), end // page
            if first < last:
                pfns.append((first, last))
        self.freed = True
        return pfns

    # ------------------------------------------------------------------ queries
    @property
    def memory_size(self) -> int:
        """``memblock_phys_mem_size()``."""
        return sum(e - s for s, e in self.memory)

    @property
    def reserved_size(self) -> int:
        return sum(e - s for s, e in self.reserved)

    def dump(self) -> list[str]:
        """``memblock_dump_all()`` (memblock=debug): one line per region, as 6.x prints them."""
        out = [f" memory size = {self.memory_size:#x} reserved size = {self.reserved_size:#x}"]
        for name, regions in (("memory", self.memory), ("reserved", self.reserved)):
            out.append(f" {name}.cnt  = {len(regions):#x}")
            for i, (start, end) in enumerate(regions):
                out.append(f" {name}[{i:#x}]\t[{start:#018x}-{end - 1:#018x}], {end - start:#x} bytes flags: 0x0")
        return out

    def check_invariants(self) -> None:
        for name, regions in (("memory", self.memory), ("reserved", self.reserved)):
            for a, b in zip(regions, regions[1:]):
                if a[1] >= b[0]:
                    raise InvariantViolation(f"memblock.{name} regions {a} and {b} overlap or touch unmerged")


_DEBUG_LINE = re.compile(r"(memblock_add|memblock_reserve|memblock_phys_free): \[(0x[0-9a-f]+)-(0x[0-9a-f]+)\]")


def replay_debug_log(text: str, *, page_size: int = 4096) -> Memblock:
    """Build memblock from a ``memblock=debug`` boot log: every ``memblock_add:``, ``memblock_reserve:``
    and ``memblock_phys_free:`` line (``memblock_dbg("%s: [%pa-%pa] %pS")``, end inclusive) in
    order, then ``memblock_trim_memory(PAGE_SIZE)`` as ``e820__memblock_setup()`` does."""
    if not isinstance(text, str):
        raise InvalidArgument(f"{text!r:.60}: accepted: the text of a boot log booted with memblock=debug")
    memblock = Memblock(page_size=page_size)
    seen = 0
    for match in _DEBUG_LINE.finditer(text):
        verb, start, last = match[1], int(match[2], 16), int(match[3], 16)
        if last < start:
            raise InvalidArgument(f"{match[0]!r}: the range ends before it starts")
        size = last + 1 - start
        if verb == "memblock_add":
            memblock.add(start, size)
        elif verb == "memblock_reserve":
            memblock.reserve(start, size, "memblock=debug log")
        else:
            memblock.phys_free(start, size)
        seen += 1
    if not memblock.memory:
        raise InvalidArgument(f"no memblock_add: line among {seen} memblock lines: the log was not booted with "
                              "memblock=debug (accepted: a log with memblock_add/memblock_reserve lines)")
    memblock.trim_memory()
    return memblock
