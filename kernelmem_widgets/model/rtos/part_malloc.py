"""A ``malloc()`` for uC/OS-III built from several partitions, one per size class.

The usual answer to "my library calls malloc/free for 4-800 bytes, but the RTOS offers only
fixed-size partitions": create a few partitions (small, medium, large), and let ``malloc(size)``
take a block from the smallest class that fits ``size`` plus a header word.  The header word holds
the address of the partition's ``OS_MEM`` control block, so ``free(ptr)`` reads it back from
``ptr - header`` and calls ``OSMemPut()`` on the right partition.  The cost is the header (4 bytes
per allocation on a Cortex-M4) and the rounding up to the class's block size.

The control blocks (``OS_MEM MemPart[n]``) are placed at the start of the area, then each class's
storage, pointer aligned (8-byte aligned when ``header_size`` is 8, so that the returned pointers
keep the AAPCS's 8-byte alignment).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

from .allocator import Allocator, Region
from .os_err import AllocFailed, InvalidFree, RtosArgumentError, RtosError, check_int
from .os_mem import MemPartition, os_mem_sizeof
from .ram import Ram

__all__ = ["PartitionMalloc", "parse_classes"]


def parse_classes(text: str) -> list[tuple[int, int]]:
    """``"32x20, 128x8, 800x4"`` -> ``[(32, 20), (128, 8), (800, 4)]`` (block size x count).

    >>> parse_classes("32x20, 128x8")
    [(32, 20), (128, 8)]
    """
    if not isinstance(text, str):
        raise RtosArgumentError(f"partition classes {text!r} are not text; accepted: 'SIZExCOUNT, ...'")
    classes = []
    for part in text.replace(";", ",").split(","):
        part = part.strip().lower()
        if not part:
            continue
        size, sep, count = part.partition("x")
        if not sep or not size.strip().isdigit() or not count.strip().isdigit():
            raise RtosArgumentError(f"{part!r} is not SIZExCOUNT; accepted e.g. '32x20, 128x8, 800x4'")
        classes.append((int(size), int(count)))
    if not classes:
        raise RtosArgumentError("no partition class given; accepted e.g. '32x20, 128x8, 800x4'")
    return classes


class PartitionMalloc(Allocator):
    """``malloc``/``calloc``/``free`` on top of ``OSMemGet``/``OSMemPut``, one partition per size class.

    Parameters
    ----------
    ram : Ram
    classes : sequence of (blk_size, n_blks), or str
        Block size (header included) and number of blocks of each class, e.g. ``[(32, 20), (128, 8)]``
        or ``"32x20, 128x8"``.  Sorted by block size here.
    start : int, optional
        First address of the area (default: the RAM's start).
    header_size : int, optional
        Bytes in front of each returned pointer; at least a pointer (default ``ram.ptr_size``).
    spill : bool
        When a class is empty, take a block of the next larger class instead of failing.
    strict : bool
        Make the partitions refuse unchecked puts (see :class:`MemPartition`).

    Examples
    --------
    >>> ram = Ram(size=2048)
    >>> heap = PartitionMalloc(ram, "32x4, 128x2")
    >>> p = heap.malloc(20)
    >>> heap.partition_of(p).blk_size, p - heap.partition_of(p).addr_ptr, heap.footprint(p)
    (32, 4, 32)
    >>> heap.malloc(200)
    Traceback (most recent call last):
    ...
    kernelmem_widgets.model.rtos.os_err.AllocFailed: malloc(200): 200 bytes + a 4-byte header exceed the largest block (128 bytes)
    """

    kind = "partitions"

    def __init__(self, ram: Ram, classes: Sequence[tuple[int, int]] | str, *, start: int | None = None,
                 header_size: int | None = None, spill: bool = False, strict: bool = False,
                 name: str = "partitions") -> None:
        super().__init__(ram, name)
        if isinstance(classes, str):
            classes = parse_classes(classes)
        p = ram.ptr_size
        header_size = p if header_size is None else check_int(header_size, "header_size", minimum=p, maximum=64,
                                                              accepted=f"{p}..64 bytes, a multiple of {p}")
        if header_size % p:
            raise RtosArgumentError(f"header_size {header_size} is not a multiple of the pointer size {p}")
        checked = []
        for entry in classes:
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
                raise RtosArgumentError(f"class {entry!r} is not (blk_size, n_blks)")
            blk = check_int(entry[0], "blk_size", minimum=0, maximum=0xFFFF, accepted="OS_MEM_SIZE 0..65535")
            count = check_int(entry[1], "n_blks", minimum=0, maximum=0xFFFF, accepted="OS_MEM_QTY 0..65535")
            if blk <= header_size:
                raise RtosArgumentError(f"block size {blk} leaves no room after the {header_size}-byte header")
            checked.append((blk, count))
        checked.sort()
        if len({blk for blk, _ in checked}) != len(checked):
            raise RtosArgumentError(f"two classes with the same block size in {checked}")
        start = ram.base if start is None else check_int(start, "start", minimum=ram.base, maximum=ram.end)
        align = max(p, header_size if header_size in (8, 16) else p)
        at = -(-start // p) * p
        mcb_size = os_mem_sizeof(p)
        mcbs = [at + i * mcb_size for i in range(len(checked))]
        at += mcb_size * len(checked)
        layout = []
        for blk, count in checked:
            at = -(-at // align) * align
            if blk % align:
                raise RtosArgumentError(f"block size {blk} is not a multiple of {align} (header and pointer alignment)")
            layout.append(at)
            at += blk * count
        if at > ram.end:
            raise RtosArgumentError(f"the partitions need {at - start:,} bytes from {start:#x}; the RAM ends at "
                                    f"{ram.end:#x} ({ram.end - start:,} bytes available)")
        self.header_size, self.spill, self.start, self.end = header_size, bool(spill), start, at
        self.mcb_area = (mcbs[0] if mcbs else start, mcb_size * len(checked))
        # MemPartition runs OSMemCreate's checks (fewer than 2 blocks -> OS_ERR_MEM_INVALID_BLKS ...)
        self.partitions = [MemPartition(addr, count, blk, name=f"pool-{blk}", ram=ram, strict=strict, mcb_addr=mcb)
                           for (blk, count), addr, mcb in zip(checked, layout, mcbs)]
        self._sizes = [part.blk_size for part in self.partitions]
        self._by_mcb = {part.mcb_addr: part for part in self.partitions}

    def __repr__(self) -> str:
        classes = ", ".join(f"{part.blk_size}x{part.nbr_max}" for part in self.partitions)
        return f"PartitionMalloc({classes}, header={self.header_size})"

    @property
    def classes(self) -> list[tuple[int, int]]:
        """``[(blk_size, n_blks), ...]``, smallest first."""
        return [(part.blk_size, part.nbr_max) for part in self.partitions]

    def class_for(self, size: int) -> MemPartition | None:
        """The partition ``malloc(size)`` tries first (the smallest whose blocks hold size + header)."""
        index = bisect_left(self._sizes, max(size, 1) + self.header_size)
        return self.partitions[index] if index < len(self.partitions) else None

    def _malloc(self, size: int) -> int:
        need = max(size, 1) + self.header_size  # malloc(0) takes a smallest block: a unique pointer
        index = bisect_left(self._sizes, need)
        if index == len(self.partitions):
            largest = self._sizes[-1] if self._sizes else 0
            raise AllocFailed(f"malloc({size}): {size} bytes + a {self.header_size}-byte header exceed the largest "
                              f"block ({largest} bytes)", size=size, reason="larger than the largest class")
        tried = []
        for part in self.partitions[index:] if self.spill else self.partitions[index:index + 1]:
            self.last_steps = len(tried) + 1
            try:
                blk = part.get()
            except RtosError as error:
                tried.append(part.name)
                last = error
                continue
            self.ram.write_ptr(blk, part.mcb_addr)
            return blk + self.header_size
        raise AllocFailed(f"malloc({size}): {', '.join(tried)} empty ({last.code})", size=size,
                          reason=f"{tried[0]} has no free block")

    def partition_of(self, ptr: int) -> MemPartition:
        """The partition whose control block the header word in front of ``ptr`` names."""
        blk = ptr - self.header_size
        if not self.ram.contains(blk, self.ram.ptr_size):
            raise InvalidFree(f"free({ptr:#x}): its header word would be outside the RAM", ptr=ptr)
        mcb = self.ram.read_ptr(blk)
        if mcb == 0:  # a double free of the last block put back: its first word is now the NULL link
            raise RtosError("OS_ERR_MEM_INVALID_P_MEM", f"free({ptr:#x}): the header word at {blk:#x} is NULL, so "
                            "OSMemPut(NULL, ...) is called (a free of a block that is already free)")
        part = self._by_mcb.get(mcb)
        if part is None:
            raise InvalidFree(f"free({ptr:#x}): the header word at {blk:#x} holds {mcb:#x}, no partition's OS_MEM; "
                              "OSMemPut() on it would write through a wild pointer", ptr=ptr)
        return part

    def _free(self, ptr: int) -> None:
        self.last_steps = 1
        self.partition_of(ptr).put(ptr - self.header_size)

    def _foreign_free(self, ptr: int) -> None:
        """A pointer that is not live: uC/OS-III would still put whatever block the header names."""
        part = self.partition_of(ptr)
        self.last_steps = 1
        part.put(ptr - self.header_size)  # a double free pushes the block again (unless NbrFree == NbrMax)

    def footprint(self, ptr: int) -> int:
        return self.partition_of(ptr).blk_size

    def free_bytes(self) -> int:
        return sum(part.nbr_free * part.blk_size for part in self.partitions)

    def largest_free(self) -> int:
        return max((part.blk_size for part in self.partitions if part.nbr_free), default=0)

    def max_request(self) -> int:
        """The largest ``malloc(size)`` that would succeed now."""
        free = [part.blk_size for part in self.partitions if part.nbr_free]
        return max(free) - self.header_size if free else -1

    def area(self) -> tuple[int, int]:
        return self.start, self.end

    def regions(self) -> list[Region]:
        out = [Region(self.mcb_area[0], self.mcb_area[1], "control", "OS_MEM control blocks")]
        p, h = self.ram.ptr_size, self.header_size
        for part in self.partitions:
            free = set(part.free_list())
            bad = part.corruption()
            for blk in part.blocks():
                if blk in free:
                    out.append(Region(blk, p, "corrupt" if bad else "link", f"{part.name} free, next link"))
                    out.append(Region(blk + p, part.blk_size - p, "free", part.name))
                elif blk in part.held:
                    size = self.live.get(blk + h)
                    out.append(Region(blk, h, "header", f"{part.name} header"))
                    used = part.blk_size - h if size is None else size
                    out.append(Region(blk + h, used, "used", part.name))
                    if part.blk_size - h - used:
                        out.append(Region(blk + h + used, part.blk_size - h - used, "waste", part.name))
                else:  # unreachable from FreeListPtr after a corrupting put: lost
                    out.append(Region(blk, part.blk_size, "corrupt", f"{part.name}: lost, off the free list"))
        return out

    def check_invariants(self) -> None:
        """Each partition's free list is sound, and each live pointer sits behind its partition's header."""
        for part in self.partitions:
            part.check_invariants()
        for ptr in self.live:
            self.partition_of(ptr)
