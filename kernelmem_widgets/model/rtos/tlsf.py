"""TLSF, the two-level segregated fit allocator, on the simulated RAM.

The algorithm of Masmano, Ripoll, Crespo and Real, "TLSF: a new dynamic memory allocator for
real-time systems" (ECRTS 2004): free blocks sit on lists indexed by a first level (the power of
two of their size, ``fls``) and a second level (``SL_INDEX_COUNT`` linear steps inside it); two
bitmaps find a non-empty list with ``ffs`` in constant time, so malloc and free take O(1) steps
whatever the heap holds - the property an RTOS needs.

This is mattconte/tlsf (tlsf.c at commit deff9ab, 2020), the implementation many RTOS ports use,
with its constants: ``SL_INDEX_COUNT_LOG2`` = 5 (32 second-level lists; 4 may be chosen),
``ALIGN_SIZE`` 4 on 32-bit (8 on 64-bit), ``FL_INDEX_MAX`` 30 (32), so ``SMALL_BLOCK_SIZE`` is 128
(256) bytes.  A block header is ``prev_phys_block, size, next_free, prev_free``; a used block
pays only the ``size`` word (4 bytes): ``prev_phys_block`` lives in the last word of the previous
block and is valid only while that block is free, and the two free-list links use the payload of
a free block.  The smallest block is 12 bytes (``block_size_min``).  The low two bits of ``size``
are "this block is free" and "the previous block is free".  ``tlsf_create_with_pool()`` puts the
control structure (``control_t``: the bitmaps and 24 x 32 list heads, 3,188 bytes on a Cortex-M4)
at the start of the memory, so it counts against the heap here.  The bitmaps and list heads are
kept beside the RAM; the block headers and links are in it.
"""

from __future__ import annotations

from .allocator import Allocator, Region
from .os_err import AllocFailed, HeapCorrupted, RtosArgumentError, check_int
from .ram import Ram

__all__ = ["Tlsf", "tlsf_constants"]


def tlsf_constants(ptr_size: int = 4, sl_index_count_log2: int = 5) -> dict[str, int]:
    """The constants of tlsf.c for a pointer size.

    >>> c = tlsf_constants(4)
    >>> c["ALIGN_SIZE"], c["FL_INDEX_COUNT"], c["SMALL_BLOCK_SIZE"], c["block_size_min"], c["tlsf_size"]
    (4, 24, 128, 12, 3188)
    >>> tlsf_constants(8)["tlsf_size"]
    6536
    """
    align_log2 = 2 if ptr_size == 4 else 3
    fl_index_max = 30 if ptr_size == 4 else 32
    sl_count = 1 << sl_index_count_log2
    fl_shift = sl_index_count_log2 + align_log2
    fl_count = fl_index_max - fl_shift + 1
    head = 4 * ptr_size + 4 + 4 * fl_count           # block_null, fl_bitmap, sl_bitmap[]
    head = -(-head // ptr_size) * ptr_size
    return {"ALIGN_SIZE": 1 << align_log2, "FL_INDEX_MAX": fl_index_max, "SL_INDEX_COUNT_LOG2": sl_index_count_log2,
            "SL_INDEX_COUNT": sl_count, "FL_INDEX_SHIFT": fl_shift, "FL_INDEX_COUNT": fl_count,
            "SMALL_BLOCK_SIZE": 1 << fl_shift, "block_header_overhead": ptr_size,
            "block_size_min": 3 * ptr_size, "block_size_max": 1 << fl_index_max,
            "tlsf_size": head + fl_count * sl_count * ptr_size}


class Tlsf(Allocator):
    """``tlsf_create_with_pool(start, size)`` on ``ram``, then ``tlsf_malloc``/``tlsf_free``.

    Parameters
    ----------
    ram : Ram
    start, size : int, optional
        The memory given to ``tlsf_create_with_pool`` (default: the whole RAM).
    sl_index_count_log2 : {4, 5}
        log2 of the second-level lists per first level (tlsf.c's default is 5).

    Examples
    --------
    >>> ram = Ram(size=4096)
    >>> heap = Tlsf(ram)
    >>> hex(heap.pool), heap.free_bytes()
    ('0x20000c74', 904)
    >>> a = heap.malloc(20); hex(a), heap.footprint(a)
    ('0x20000c78', 24)
    """

    kind = "TLSF"

    def __init__(self, ram: Ram, start: int | None = None, size: int | None = None, *,
                 sl_index_count_log2: int = 5, name: str = "TLSF") -> None:
        super().__init__(ram, name)
        sl_log2 = check_int(sl_index_count_log2, "sl_index_count_log2", minimum=4, maximum=5, accepted="4 or 5")
        c = tlsf_constants(ram.ptr_size, sl_log2)
        self.c = c
        p = self.p = ram.ptr_size
        start = ram.base if start is None else check_int(start, "start", minimum=ram.base, maximum=ram.end - 1)
        size = ram.end - start if size is None else check_int(size, "size", minimum=1, maximum=ram.end - start)
        if start % c["ALIGN_SIZE"]:
            raise RtosArgumentError(f"tlsf_create: Memory must be aligned to {c['ALIGN_SIZE']} bytes ({start:#x} is not)")
        pool_bytes = (size - c["tlsf_size"] - 2 * p) & ~(c["ALIGN_SIZE"] - 1)
        if size - c["tlsf_size"] - 2 * p < c["block_size_min"] or pool_bytes < c["block_size_min"]:
            raise RtosArgumentError(f"tlsf_add_pool: Memory size must be between {2 * p + c['block_size_min']} and "
                                    f"{2 * p + c['block_size_max']} bytes after the {c['tlsf_size']}-byte control "
                                    f"structure; {size} bytes give {size - c['tlsf_size']}")
        self.align, self.small = c["ALIGN_SIZE"], c["SMALL_BLOCK_SIZE"]
        self.sl_log2, self.sl_count, self.fl_count = sl_log2, c["SL_INDEX_COUNT"], c["FL_INDEX_COUNT"]
        self.fl_shift, self.size_min, self.size_max = c["FL_INDEX_SHIFT"], c["block_size_min"], c["block_size_max"]
        self.start, self.end = start, start + size
        self.control = start                   # control_t at the start; block_null is its first member
        self.null = start
        self.pool = start + c["tlsf_size"]
        self.pool_bytes = pool_bytes
        self._ops = 0
        # control_construct()
        self.fl_bitmap = 0
        self.sl_bitmap = [0] * self.fl_count
        self.blocks = [[self.null] * self.sl_count for _ in range(self.fl_count)]
        ram.write_ptr(self.null + 2 * p, self.null)
        ram.write_ptr(self.null + 3 * p, self.null)
        # tlsf_add_pool(): one free block, then a zero-size sentinel
        block = self.pool - p
        self._set_size(block, pool_bytes)
        self._set_flags(block, free=True, prev_free=False)
        self._insert(block)
        sentinel = self._link_next(block)
        self._set_size(sentinel, 0)
        self._set_flags(sentinel, free=False, prev_free=True)
        self.first_block = block

    # ------------------------------------------------------------------ block header fields in RAM
    def _raw(self, b: int) -> int:
        return self.ram.read_ptr(b + self.p)

    def bsize(self, b: int) -> int:
        return self._raw(b) & ~3

    def _set_size(self, b: int, size: int) -> None:
        self.ram.write_ptr(b + self.p, size | (self._raw(b) & 3))  # keeps the old flag bits, as tlsf.c does

    def _set_flags(self, b: int, *, free: bool | None = None, prev_free: bool | None = None) -> None:
        raw = self._raw(b)
        if free is not None:
            raw = raw | 1 if free else raw & ~1
        if prev_free is not None:
            raw = raw | 2 if prev_free else raw & ~2
        self.ram.write_ptr(b + self.p, raw)

    def is_free(self, b: int) -> bool:
        return bool(self._raw(b) & 1)

    def is_prev_free(self, b: int) -> bool:
        return bool(self._raw(b) & 2)

    def _next_phys(self, b: int) -> int:
        return b + self.p + self.bsize(b)

    def _link_next(self, b: int) -> int:
        nxt = self._next_phys(b)
        self.ram.write_ptr(nxt, b)              # next->prev_phys_block = block
        return nxt

    def _mark_free(self, b: int) -> None:
        nxt = self._link_next(b)
        self._set_flags(nxt, prev_free=True)
        self._set_flags(b, free=True)

    def _mark_used(self, b: int) -> None:
        self._set_flags(self._next_phys(b), prev_free=False)
        self._set_flags(b, free=False)

    # ------------------------------------------------------------------ mapping and the free lists
    def mapping_insert(self, size: int) -> tuple[int, int]:
        """``(fl, sl)`` of the list a free block of ``size`` bytes goes on."""
        if size < self.small:
            return 0, size // (self.small // self.sl_count)
        fl = size.bit_length() - 1
        sl = (size >> (fl - self.sl_log2)) ^ (1 << self.sl_log2)
        return fl - (self.fl_shift - 1), sl

    def mapping_search(self, size: int) -> tuple[int, int]:
        """``(fl, sl)`` of the first list whose every block fits ``size`` (the request rounded up)."""
        if size >= self.small:
            size += (1 << (size.bit_length() - 1 - self.sl_log2)) - 1
        return self.mapping_insert(size)

    def _search(self, fl: int, sl: int):
        sl_map = self.sl_bitmap[fl] & (0xFFFFFFFF << sl) & 0xFFFFFFFF
        if not sl_map:
            fl_map = self.fl_bitmap & (0xFFFFFFFF << (fl + 1)) & 0xFFFFFFFF
            if not fl_map:
                return None
            fl = (fl_map & -fl_map).bit_length() - 1
            sl_map = self.sl_bitmap[fl]
        sl = (sl_map & -sl_map).bit_length() - 1
        return self.blocks[fl][sl], fl, sl

    def _remove_free(self, b: int, fl: int, sl: int) -> None:
        p, ram = self.p, self.ram
        prev, nxt = ram.read_ptr(b + 3 * p), ram.read_ptr(b + 2 * p)
        ram.write_ptr(nxt + 3 * p, prev)
        ram.write_ptr(prev + 2 * p, nxt)
        if self.blocks[fl][sl] == b:
            self.blocks[fl][sl] = nxt
            if nxt == self.null:
                self.sl_bitmap[fl] &= ~(1 << sl)
                if not self.sl_bitmap[fl]:
                    self.fl_bitmap &= ~(1 << fl)
        self._ops += 1

    def _insert_free(self, b: int, fl: int, sl: int) -> None:
        p, ram = self.p, self.ram
        current = self.blocks[fl][sl]
        ram.write_ptr(b + 2 * p, current)
        ram.write_ptr(b + 3 * p, self.null)
        ram.write_ptr(current + 3 * p, b)
        self.blocks[fl][sl] = b
        self.fl_bitmap |= 1 << fl
        self.sl_bitmap[fl] |= 1 << sl
        self._ops += 1

    def _remove(self, b: int) -> None:
        self._remove_free(b, *self.mapping_insert(self.bsize(b)))

    def _insert(self, b: int) -> None:
        self._insert_free(b, *self.mapping_insert(self.bsize(b)))

    def adjust_request_size(self, size: int) -> int:
        """The block size ``tlsf_malloc(size)`` looks for (0: the request fails)."""
        if not size:
            return 0
        aligned = (size + self.align - 1) & ~(self.align - 1)
        return max(aligned, self.size_min) if aligned < self.size_max else 0

    def _locate(self, size: int, *, dry: bool = False):
        if not size:
            return None
        fl, sl = self.mapping_search(size)
        if fl >= self.fl_count:
            return None
        found = self._search(fl, sl)
        if found is None or dry:
            return found
        block, fl, sl = found
        self._remove_free(block, fl, sl)
        return block

    # ------------------------------------------------------------------ tlsf_malloc / tlsf_free
    def _malloc(self, size: int) -> int:
        self._ops = 1  # the bitmap search
        adjust = self.adjust_request_size(size)
        block = self._locate(adjust)
        if block is None:
            self.last_steps = self._ops
            why = "tlsf_malloc(0) returns NULL" if size == 0 else (
                f"no list at or above class {self.mapping_search(adjust) if adjust else '-'} holds a block "
                f"(largest free block {self.largest_free()} bytes; the search rounds {adjust} up to its class)")
            raise AllocFailed(f"malloc({size}): {why}", size=size, reason=why)
        if self.bsize(block) >= 4 * self.p + adjust:   # block_trim_free(): split off the rest
            remaining = block + self.p + adjust
            remain_size = self.bsize(block) - (adjust + self.p)
            self._set_size(remaining, remain_size)
            self._set_size(block, adjust)
            self._mark_free(remaining)
            self._link_next(block)
            self._set_flags(remaining, prev_free=True)
            self._insert(remaining)
        self._mark_used(block)
        self.last_steps = self._ops
        return block + 2 * self.p

    def _free(self, ptr: int) -> None:
        self._ops = 0
        block = ptr - 2 * self.p
        self._mark_free(block)
        if self.is_prev_free(block):                     # block_merge_prev()
            prev = self.ram.read_ptr(block)
            self._remove(prev)
            self.ram.write_ptr(prev + self.p, self._raw(prev) + self.bsize(block) + self.p)
            self._link_next(prev)
            block = prev
        nxt = self._next_phys(block)                     # block_merge_next()
        if self.is_free(nxt):
            self._remove(nxt)
            self.ram.write_ptr(block + self.p, self._raw(block) + self.bsize(nxt) + self.p)
            self._link_next(block)
        self._insert(block)
        self.last_steps = self._ops

    # ------------------------------------------------------------------ figures
    def physical_blocks(self) -> list[tuple[int, int, bool]]:
        """``(block, size, is_free)`` of every block in address order (``tlsf_walk_pool``), sentinel excluded."""
        out, b = [], self.first_block
        while self.bsize(b) != 0 and b < self.end:
            out.append((b, self.bsize(b), self.is_free(b)))
            b = self._next_phys(b)
        return out

    def free_blocks(self) -> list[tuple[int, int]]:
        return [(b, size) for b, size, free in self.physical_blocks() if free]

    def footprint(self, ptr: int) -> int:
        """The block's size word plus its size: the RAM it takes from the pool."""
        return self.bsize(ptr - 2 * self.p) + self.p

    def free_bytes(self) -> int:
        """Bytes of the pool in free blocks (their size words included)."""
        return sum(size + self.p for _, size in self.free_blocks())

    def largest_free(self) -> int:
        return max((size + self.p for _, size in self.free_blocks()), default=0)

    def max_request(self) -> int:
        """The largest ``malloc(size)`` that would succeed now (-1: none); smaller than the largest block,
        because the search rounds a request up to the next second-level class."""
        low, high = 0, max((size for _, size in self.free_blocks()), default=0)
        if high == 0 or self._locate(self.adjust_request_size(1), dry=True) is None:
            return -1
        while low < high:  # success is monotone in the size: binary search
            mid = (low + high + 1) // 2
            if self._locate(self.adjust_request_size(mid), dry=True) is not None:
                low = mid
            else:
                high = mid - 1
        return low

    def area(self) -> tuple[int, int]:
        return self.start, self.end

    def regions(self) -> list[Region]:
        p = self.p
        out = [Region(self.control, self.pool - self.control, "control", "control_t (bitmaps, list heads)")]
        for b, size, free in self.physical_blocks():
            out.append(Region(b + p, p, "header", "size | flags"))
            if free:
                out.append(Region(b + 2 * p, 2 * p, "link", "next_free, prev_free"))
                out.append(Region(b + 4 * p, size - 2 * p, "free", "free block"))
            else:
                requested = self.live.get(b + 2 * p, size)
                out.append(Region(b + 2 * p, requested, "used", "data"))
                if size - requested:
                    out.append(Region(b + 2 * p + requested, size - requested, "waste", "rounding"))
        sentinel = self.pool + self.pool_bytes
        out.append(Region(sentinel + p, p, "header", "sentinel block (size 0)"))
        if self.end > sentinel + 2 * p:
            out.append(Region(sentinel + 2 * p, self.end - sentinel - 2 * p, "waste", "pool alignment"))
        return out

    def check_invariants(self) -> None:
        """``tlsf_check()`` and ``tlsf_check_pool()``: bitmaps agree with lists, lists hold free, merged,
        correctly indexed blocks; the physical walk's flags agree; the blocks tile the pool."""
        problems, p = [], self.p
        listed = set()
        for fl in range(self.fl_count):
            for sl in range(self.sl_count):
                has = bool(self.sl_bitmap[fl] >> sl & 1)
                if has and not self.fl_bitmap >> fl & 1:
                    problems.append(f"sl bitmap {fl}/{sl} set without the fl bit")
                b = self.blocks[fl][sl]
                if not has:
                    if b != self.null:
                        problems.append(f"list {fl}/{sl} not empty but its bit is clear")
                    continue
                seen = 0
                while b != self.null and seen < 100_000:
                    seen += 1
                    listed.add(b)
                    nxt = self._next_phys(b)
                    if not self.is_free(b) or self.is_prev_free(b) or self.is_free(nxt) or not self.is_prev_free(nxt):
                        problems.append(f"block {b:#x} on list {fl}/{sl}: flags say it should have coalesced")
                    if self.bsize(b) < self.size_min or self.mapping_insert(self.bsize(b)) != (fl, sl):
                        problems.append(f"block {b:#x} of size {self.bsize(b)} indexed in the wrong list {fl}/{sl}")
                    b = self.ram.read_ptr(b + 2 * p)
        blocks = self.physical_blocks()
        prev_free = False
        for b, size, free in blocks:
            if self.is_prev_free(b) != prev_free:
                problems.append(f"block {b:#x}: prev status incorrect")
            prev_free = free
        if {b for b, _, free in blocks if free} != listed:
            problems.append("the free blocks of the pool and the blocks on the lists differ")
        if sum(size + p for _, size, _ in blocks) != self.pool_bytes + p:  # the sentinel's size word follows
            problems.append("the blocks do not tile the pool")
        used = {b + 2 * p for b, _, free in blocks if not free}
        if used != set(self.live):
            problems.append("used blocks and live pointers differ")
        if problems:
            raise HeapCorrupted(problems)
