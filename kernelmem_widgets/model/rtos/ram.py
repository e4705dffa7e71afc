"""The simulated RAM of a microcontroller: one byte array at a physical address.

Every allocator of this package keeps its state *in these bytes* where the C code does: the
free-list links of a uC/OS-III partition, a newlib-nano chunk's size word, a TLSF block header.
Words are little-endian, as on an ARM Cortex-M4 (and x86-64); ``ptr_size`` is 4 for the MCU, 8
for a 64-bit host.  The default base, 0x20000000, is where the Cortex-M memory map puts SRAM.

Examples
--------
>>> ram = Ram(size=64)
>>> ram.write_ptr(0x20000010, 0x20000020)
>>> hex(ram.read_ptr(0x20000010)), ram.read_bytes(0x20000010, 4)
('0x20000020', b' \\x00\\x00 ')
"""

from __future__ import annotations

import struct

import numpy as np

from ..events import EventBus
from .os_err import HardFault, RtosArgumentError, check_int

__all__ = ["Ram", "SRAM_BASE"]

#: Start of the SRAM region in the ARMv7-M memory map (Cortex-M4).
SRAM_BASE = 0x2000_0000


class Ram:
    """``size`` bytes of RAM starting at ``base``; words of ``ptr_size`` bytes, little-endian.

    Parameters
    ----------
    base : int
        Address of the first byte.
    size : int
        Number of bytes (at most 16 MiB: a teaching MCU, not a server).
    ptr_size : {4, 8}
        ``sizeof(void *)``: 4 on a Cortex-M4, 8 on a 64-bit host.

    Attributes
    ----------
    mem : bytearray
        The bytes themselves (``mem[addr - base]``).
    bus : EventBus
        One change signal for everything that lives in this RAM: views redraw on it.
    """

    def __init__(self, base: int = SRAM_BASE, size: int = 16 * 1024, ptr_size: int = 4) -> None:
        ptr_size = check_int(ptr_size, "ptr_size", accepted="4 (32-bit MCU) or 8 (64-bit host)")
        if ptr_size not in (4, 8):
            raise RtosArgumentError(f"ptr_size {ptr_size} is not a pointer size; accepted: 4 or 8")
        size = check_int(size, "RAM size", minimum=1, maximum=16 << 20, accepted="1 byte .. 16 MiB")
        base = check_int(base, "RAM base", minimum=0, maximum=(1 << (8 * ptr_size)) - size,
                         accepted=f"an address such that the RAM ends within the {8 * ptr_size}-bit address space")
        self.base, self.size, self.end, self.ptr_size = base, size, base + size, ptr_size
        self.mem = bytearray(size)
        self.ptr = struct.Struct("<I" if ptr_size == 4 else "<Q")
        self.sptr = struct.Struct("<i" if ptr_size == 4 else "<q")  # a C ``long`` on ILP32 / LP64
        self.bus = EventBus()

    def __repr__(self) -> str:
        return f"Ram(base={self.base:#x}, size={self.size}, ptr_size={self.ptr_size})"

    def contains(self, addr: int, nbytes: int = 1) -> bool:
        """Whether ``[addr, addr + nbytes)`` is inside this RAM."""
        return self.base <= addr and addr + nbytes <= self.end

    def _offset(self, addr: int, nbytes: int, what: str) -> int:
        if not (self.base <= addr and addr + nbytes <= self.end):
            raise HardFault(f"{what} of {nbytes} bytes at {addr:#x} is outside the RAM "
                            f"{self.base:#x}-{self.end - 1:#x}: on a Cortex-M4 a bus fault (HardFault)")
        return addr - self.base

    def read_ptr(self, addr: int) -> int:
        """The pointer-sized word at ``addr`` (unsigned)."""
        return self.ptr.unpack_from(self.mem, self._offset(addr, self.ptr_size, "read"))[0]

    def write_ptr(self, addr: int, value: int) -> None:
        """Store a pointer-sized word (``value`` modulo the word size, as C stores it)."""
        self.ptr.pack_into(self.mem, self._offset(addr, self.ptr_size, "write"), value & ((1 << (8 * self.ptr_size)) - 1))

    def read_long(self, addr: int) -> int:
        """The signed ``long`` at ``addr`` (newlib-nano stores negative padding offsets)."""
        return self.sptr.unpack_from(self.mem, self._offset(addr, self.ptr_size, "read"))[0]

    def write_long(self, addr: int, value: int) -> None:
        self.sptr.pack_into(self.mem, self._offset(addr, self.ptr_size, "write"), value)

    def read_bytes(self, addr: int, nbytes: int) -> bytes:
        offset = self._offset(addr, nbytes, "read")
        return bytes(self.mem[offset:offset + nbytes])

    def write_bytes(self, addr: int, data: bytes) -> None:
        """Write ``data`` at ``addr`` (what a program does with its buffer; also a use-after-free)."""
        offset = self._offset(addr, len(data), "write")
        self.mem[offset:offset + len(data)] = data

    def fill(self, addr: int, nbytes: int, value: int = 0) -> None:
        """``memset(addr, value, nbytes)``."""
        offset = self._offset(addr, nbytes, "write")
        self.mem[offset:offset + nbytes] = bytes([value & 0xFF]) * nbytes

    def view(self) -> np.ndarray:
        """The bytes as a read-only numpy array (no copy)."""
        array = np.frombuffer(self.mem, dtype=np.uint8)
        array.flags.writeable = False
        return array
