"""What every allocator of this package offers: malloc, calloc, free, and the figures to compare them.

A subclass implements ``_malloc(size)`` (return an address or raise :class:`AllocFailed`),
``_free(ptr)``, ``footprint(ptr)`` and the free-space figures; this base keeps the caller's side
(which pointer holds a request of how many bytes), validates arguments before anything changes,
counts the steps of each call (the RTOS's concern: worst case, not average) and announces every
call on the RAM's bus.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .os_err import AllocFailed, InvalidFree, RtosArgumentError, check_int
from .ram import Ram

__all__ = ["Allocator", "Region", "REGION_KINDS"]

#: What a byte of an allocator's area is, for the byte-array view (codes are list positions).
REGION_KINDS = ("outside", "control", "header", "used", "waste", "free", "link", "corrupt")


class Region(tuple):
    """``(start, length, kind, label)``: a run of bytes of one kind."""

    __slots__ = ()

    def __new__(cls, start: int, length: int, kind: str, label: str = ""):
        return tuple.__new__(cls, (start, length, kind, label))

    start = property(lambda self: self[0])
    length = property(lambda self: self[1])
    kind = property(lambda self: self[2])
    label = property(lambda self: self[3])


class Allocator(ABC):
    """Base of the partition wrapper and the two heaps.

    Attributes
    ----------
    ram : Ram
    name : str
    live : dict
        ``{pointer: requested bytes}`` of every allocation not yet freed.
    last_steps : int
        Steps of the last call (free-list chunks visited, bitmap searches, list operations).
    max_steps : dict
        Worst ``{"malloc": n, "free": n}`` seen since creation.
    """

    kind = "allocator"

    def __init__(self, ram: Ram, name: str) -> None:
        if not isinstance(ram, Ram):
            raise RtosArgumentError(f"ram must be a Ram, not {type(ram).__name__}")
        self.ram, self.name = ram, name
        self.live: dict[int, int] = {}
        self.last_steps = 0
        self.max_steps = {"malloc": 0, "free": 0}

    # ------------------------------------------------------------------ the C interface
    def malloc(self, size: int) -> int:
        """``malloc(size)``: the address of at least ``size`` usable bytes.

        Raises
        ------
        AllocFailed
            Where C returns NULL; ``reason`` says why in the allocator's terms.
        """
        size = check_int(size, "size", minimum=0, maximum=(1 << (8 * self.ram.ptr_size)) - 1,
                         accepted="a byte count >= 0")
        bus = self.ram.bus
        if not bus.active:
            ptr = self._malloc(size)
            self._count("malloc")
            self.live[ptr] = size
            return ptr
        with bus.batch("malloc"):  # views redraw once, after the bookkeeping below, not on the inner OSMemGet
            ptr = self._malloc(size)
            self._count("malloc")
            self.live[ptr] = size
            bus.emit("malloc", allocator=self.name, ptr=ptr, size=size, steps=self.last_steps)
        return ptr

    def calloc(self, nmemb: int, size: int) -> int:
        """``calloc(nmemb, size)``: ``malloc(nmemb * size)`` with the bytes zeroed; NULL on overflow."""
        nmemb = check_int(nmemb, "nmemb", minimum=0, accepted="a count >= 0")
        size = check_int(size, "size", minimum=0, accepted="a byte count >= 0")
        total = nmemb * size
        if total >> (8 * self.ram.ptr_size):
            raise AllocFailed(f"calloc({nmemb}, {size}): {nmemb} * {size} overflows size_t", size=total,
                              reason="multiplication overflow")
        ptr = self.malloc(total)
        if total:
            self.ram.fill(ptr, total, 0)
        return ptr

    def free(self, ptr: int) -> None:
        """``free(ptr)``; ``free(NULL)`` does nothing.

        Raises
        ------
        InvalidFree
            ``ptr`` is not a live allocation of this allocator (see the subclass for what C would do).
        """
        ptr = check_int(ptr, "ptr", minimum=0, accepted="a pointer malloc returned")
        if ptr == 0:
            return
        bus = self.ram.bus
        with bus.batch("free"):
            if ptr not in self.live:
                self._foreign_free(ptr)
            else:
                self._free(ptr)
            self._count("free")
            self.live.pop(ptr, None)
            if bus.active:
                bus.emit("free", allocator=self.name, ptr=ptr, steps=self.last_steps)

    def _foreign_free(self, ptr: int) -> None:
        raise InvalidFree(f"free({ptr:#x}): not a pointer {self.name} returned, or already freed", ptr=ptr)

    def _count(self, call: str) -> None:
        if self.last_steps > self.max_steps[call]:
            self.max_steps[call] = self.last_steps

    # ------------------------------------------------------------------ figures
    def requested_bytes(self) -> int:
        """Bytes the callers asked for and hold."""
        return sum(self.live.values())

    def reserved_bytes(self) -> int:
        """RAM the live allocations occupy, headers and rounding included."""
        return sum(self.footprint(ptr) for ptr in self.live)

    def internal_waste(self) -> int:
        """``reserved - requested`` over the live allocations."""
        return self.reserved_bytes() - self.requested_bytes()

    def external_fragmentation(self) -> float:
        """``1 - largest free block / free bytes`` (0: all free memory in one piece)."""
        free = self.free_bytes()
        return 0.0 if free == 0 else 1.0 - self.largest_free() / free

    @abstractmethod
    def regions(self) -> list[Region]:
        """What every byte of the managed RAM is: ``(start, length, kind, label)`` runs."""

    @abstractmethod
    def area(self) -> tuple[int, int]:
        """``(start, end)`` of the RAM this allocator manages."""

    def byte_kinds(self):
        """One code per byte of the RAM (positions in :data:`REGION_KINDS`) for the byte-array view."""
        codes = np.zeros(self.ram.size, dtype=np.uint8)
        base = self.ram.base
        for start, length, kind, _label in self.regions():
            codes[start - base:start - base + length] = REGION_KINDS.index(kind)
        return codes
