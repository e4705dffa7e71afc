"""newlib-nano's first-fit ``malloc()``/``free()`` (newlib/libc/stdlib/nano-mallocr.c), on the simulated RAM.

The allocator the GNU Arm toolchain links with ``--specs=nano.specs``.  Read in newlib's
nano-mallocr.c as copied by jmcmullan/newlib-cygwin (ca50962) and fjtrujy/newlib (efbeed2):
both have the same ``nano_malloc``/``nano_free``.  The layout, for ``sizeof(void *)`` = 4:

* a chunk starts with ``long size`` (the whole chunk, header included); user data follows at
  ``CHUNK_OFFSET`` = 4, moved up to the next 8-byte boundary (``MALLOC_ALIGN``) if needed, with
  the negative offset stored in the word in front of the pointer;
* ``alloc_size = ALIGN_TO(s, 4) + MALLOC_PADDING (4) + CHUNK_OFFSET (4)``, at least
  ``MALLOC_MINCHUNK`` = 12: ``malloc(1)`` takes 12 bytes, ``malloc(100)`` 108;
* one free list, sorted by address; ``malloc`` walks it from the start and takes the first chunk
  that fits, splitting off the *tail* when the rest is at least ``MALLOC_MINCHUNK``; with no fit it
  calls ``sbrk(alloc_size)`` (the heap grows up to the end of its area, then ENOMEM);
* ``free`` inserts the chunk in address order and merges it with the free chunks just before and
  after it.  Coalescing uses the sorted list, not boundary tags (K&R's design): a free costs a
  walk of the list, as malloc does - the worst case grows with the number of free chunks.

This newlib version never gives memory back to sbrk and does not grow a free chunk at the top of
the heap: a request larger than every free chunk takes fresh memory even when the last free
chunk borders the top.
"""

from __future__ import annotations

from .allocator import Allocator, Region
from .os_err import AllocFailed, HeapCorrupted, check_int
from .ram import Ram

__all__ = ["NanoMalloc", "nano_alloc_size"]

MALLOC_ALIGN = 8
MAX_ALLOC_SIZE = 0x80000000


def _align(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def nano_alloc_size(size: int, ptr_size: int = 4) -> int:
    """The chunk size ``nano_malloc(size)`` carves, header and padding included.

    >>> [nano_alloc_size(s) for s in (1, 4, 5, 100, 800)]
    [12, 12, 16, 108, 808]
    >>> nano_alloc_size(100, ptr_size=8)
    112
    """
    padding = max(MALLOC_ALIGN, ptr_size) - ptr_size
    minchunk = ptr_size + padding + ptr_size
    return max(_align(size, ptr_size) + padding + ptr_size, minchunk)


class NanoMalloc(Allocator):
    """A newlib-nano heap on ``[start, start + size)`` of ``ram``; ``sbrk`` fails past its end.

    Examples
    --------
    >>> ram = Ram(size=256)
    >>> heap = NanoMalloc(ram)
    >>> a = heap.malloc(20); b = heap.malloc(20); hex(a), hex(b), heap.footprint(a)
    ('0x20000008', '0x20000020', 28)
    >>> heap.free(a); heap.free(b); heap.free_list(), heap.brk - heap.sbrk_start
    ([(536870912, 56)], 56)
    """

    kind = "first-fit heap (newlib-nano)"

    def __init__(self, ram: Ram, start: int | None = None, size: int | None = None, *,
                 name: str = "newlib-nano") -> None:
        super().__init__(ram, name)
        start = ram.base if start is None else check_int(start, "start", minimum=ram.base, maximum=ram.end - 1)
        size = ram.end - start if size is None else check_int(size, "size", minimum=1, maximum=ram.end - start,
                                                                accepted="bytes that fit in the RAM after start")
        p = ram.ptr_size
        self.chunk_align, self.chunk_offset = p, p
        self.padding = max(MALLOC_ALIGN, p) - p
        self.minchunk = self.chunk_offset + self.padding + p
        self.start, self.limit = start, start + size
        self.free_list_head = 0        # ``free_list`` (in .bss, not in the heap)
        self.sbrk_start: int | None = None
        self.brk = start               # the program break the heap grows from
        self.errno = 0

    # ------------------------------------------------------------------ chunk fields in RAM
    def _size(self, chunk: int) -> int:
        return self.ram.read_long(chunk)

    def _set_size(self, chunk: int, value: int) -> None:
        self.ram.write_long(chunk, value)

    def _next(self, chunk: int) -> int:
        return self.ram.read_ptr(chunk + self.chunk_offset)

    def _set_next(self, chunk: int, value: int) -> None:
        self.ram.write_ptr(chunk + self.chunk_offset, value)

    def _sbrk(self, increment: int) -> int:
        """libnosys-style ``_sbrk``: -1 when the break would pass the end of the heap area."""
        if self.brk + increment > self.limit:
            return -1
        old, self.brk = self.brk, self.brk + increment
        return old

    def _sbrk_aligned(self, size: int) -> int:
        if self.sbrk_start is None:
            self.sbrk_start = self._sbrk(0)
        p = self._sbrk(size)
        if p == -1:
            return -1
        align_p = _align(p, self.chunk_align)
        if align_p != p:
            p = self._sbrk(align_p - p)
            if p == -1:
                return -1
        return align_p

    # ------------------------------------------------------------------ nano_malloc / nano_free
    def _malloc(self, s: int) -> int:
        alloc_size = max(_align(s, self.chunk_align) + self.padding + self.chunk_offset, self.minchunk)
        if alloc_size >= MAX_ALLOC_SIZE or alloc_size < s:
            self.last_steps = 0
            raise AllocFailed(f"malloc({s}): larger than MAX_ALLOC_SIZE", size=s, reason="ENOMEM: too large")
        # dry run first, so that a failure changes nothing (sbrk failing leaves the list as it was)
        p = r = self.free_list_head
        steps = 0
        while r:
            steps += 1
            if self._size(r) - alloc_size >= 0:
                break
            p, r = r, self._next(r)
        self.last_steps = steps
        if r == 0 and self.brk + alloc_size + (-self.brk % self.chunk_align) > self.limit:
            self.errno = 12
            largest = max((size for _, size in self.free_list()), default=0)
            raise AllocFailed(f"malloc({s}): no free chunk of {alloc_size} bytes (largest {largest}) and sbrk "
                              f"cannot grow the heap ({self.limit - self.brk} bytes left at the top): ENOMEM",
                              size=s, reason="no chunk fits and the heap cannot grow")
        if r:
            rem = self._size(r) - alloc_size
            if rem >= self.minchunk:
                self._set_size(r, rem)          # keep the head of the chunk on the list,
                r = r + rem                     # hand out its tail
                self._set_size(r, alloc_size)
            elif p == r:
                self.free_list_head = self._next(r)
            else:
                self._set_next(p, self._next(r))
        else:
            r = self._sbrk_aligned(alloc_size)
            self._set_size(r, alloc_size)
        ptr = r + self.chunk_offset
        align_ptr = _align(ptr, MALLOC_ALIGN)
        offset = align_ptr - ptr
        if offset:
            self.ram.write_long(r + offset, -offset)
        return align_ptr

    def chunk_of(self, ptr: int) -> int:
        """``get_chunk_from_ptr()``: the chunk start, following a negative padding offset."""
        chunk = ptr - self.chunk_offset
        size = self.ram.read_long(chunk)
        return chunk + size if size < 0 else chunk

    def _free(self, ptr: int) -> None:
        c = self.chunk_of(ptr)
        head = self.free_list_head
        self.last_steps = 1
        if head == 0:
            self._set_next(c, 0)
            self.free_list_head = c
            return
        if c < head:
            if c + self._size(c) == head:
                self._set_size(c, self._size(c) + self._size(head))
                self._set_next(c, self._next(head))
            else:
                self._set_next(c, head)
            self.free_list_head = c
            return
        q, steps = head, 0
        while True:
            steps += 1
            p, q = q, self._next(q)
            if not (q and q <= c):
                break
        self.last_steps = steps
        if p + self._size(p) == c:
            self._set_size(p, self._size(p) + self._size(c))
            if p + self._size(p) == q:
                self._set_size(p, self._size(p) + self._size(q))
                self._set_next(p, self._next(q))
        elif p + self._size(p) > c:
            self.errno = 12  # MALLOC_CHECK_DOUBLE_FREE: nano_free returns with errno = ENOMEM
        elif c + self._size(c) == q:
            self._set_size(c, self._size(c) + self._size(q))
            self._set_next(c, self._next(q))
            self._set_next(p, c)
        else:
            self._set_next(c, q)
            self._set_next(p, c)

    # ------------------------------------------------------------------ figures
    def free_list(self) -> list[tuple[int, int]]:
        """``(chunk, size)`` of every free chunk, in list (= address) order."""
        out, chunk, seen = [], self.free_list_head, set()
        while chunk and chunk not in seen and self.ram.contains(chunk, 2 * self.ram.ptr_size):
            seen.add(chunk)
            out.append((chunk, self._size(chunk)))
            chunk = self._next(chunk)
        return out

    def footprint(self, ptr: int) -> int:
        return self._size(self.chunk_of(ptr))

    def free_bytes(self) -> int:
        """Free chunks plus the part of the area sbrk has not handed out yet."""
        return sum(size for _, size in self.free_list()) + (self.limit - self.brk)

    def largest_free(self) -> int:
        return max([size for _, size in self.free_list()] + [self.limit - self.brk])

    def max_request(self) -> int:
        """The largest ``malloc(size)`` that would succeed now (-1: none)."""
        best = -1
        for size in [size for _, size in self.free_list()] + [self.limit - self.brk - (-self.brk % self.chunk_align)]:
            if size >= self.minchunk:
                best = max(best, (size - self.padding - self.chunk_offset) & ~(self.chunk_align - 1))
        return best

    def area(self) -> tuple[int, int]:
        return self.start, self.limit

    def chunks(self) -> list[tuple[int, int, bool]]:
        """``(chunk, size, is_free)`` of every chunk from the first sbrk to the break, in address order."""
        free = {chunk for chunk, _ in self.free_list()}
        out, at = [], self.sbrk_start if self.sbrk_start is not None else self.brk
        while at < self.brk:
            size = self._size(at)
            if size <= 0:
                break
            out.append((at, size, at in free))
            at += size
        return out

    def regions(self) -> list[Region]:
        p = self.ram.ptr_size
        by_chunk = {self.chunk_of(ptr): (ptr, size) for ptr, size in self.live.items()}
        out = []
        for chunk, size, free in self.chunks():
            if free:
                out += [Region(chunk, p, "header", "size"), Region(chunk + p, p, "link", "next free chunk"),
                        Region(chunk + 2 * p, size - 2 * p, "free", "free chunk")]
                continue
            ptr, requested = by_chunk.get(chunk, (chunk + p, size - p))
            out.append(Region(chunk, ptr - chunk, "header", "size (+ padding offset)"))
            out.append(Region(ptr, requested, "used", "data"))
            if chunk + size - ptr - requested:
                out.append(Region(ptr + requested, chunk + size - ptr - requested, "waste", "rounding"))
        if self.limit > self.brk:
            out.append(Region(self.brk, self.limit - self.brk, "free", "not yet obtained with sbrk"))
        return out

    def check_invariants(self) -> None:
        """Chunks tile the heap; the free list is sorted, merged, inside the heap; live pointers are in used chunks."""
        problems = []
        chunks = self.chunks()
        start = self.sbrk_start if self.sbrk_start is not None else self.brk
        if sum(size for _, size, _ in chunks) != self.brk - start:
            problems.append(f"chunks cover {sum(s for _, s, _ in chunks)} bytes, the heap has {self.brk - start}")
        free = self.free_list()
        for (a, size_a), (b, _size_b) in zip(free, free[1:]):
            if b <= a:
                problems.append(f"free list not sorted: {b:#x} after {a:#x}")
            elif a + size_a == b:
                problems.append(f"free chunks {a:#x} and {b:#x} are neighbours but not merged")
        starts = {chunk for chunk, _, _ in chunks}
        for chunk, size in free:
            if chunk not in starts or size < self.minchunk:
                problems.append(f"free chunk {chunk:#x} (size {size}) is not a chunk of the heap")
        free_starts = {chunk for chunk, _ in free}
        for ptr in self.live:
            chunk = self.chunk_of(ptr)
            if chunk not in starts or chunk in free_starts:
                problems.append(f"live pointer {ptr:#x} is not in a used chunk")
        used = [c for c, _, is_free in chunks if not is_free]
        if len(used) != len(self.live):
            problems.append(f"{len(used)} used chunks but {len(self.live)} live pointers")
        if problems:
            raise HeapCorrupted(problems)



