"""uC/OS-III fixed-size memory partitions: ``OSMemCreate()``, ``OSMemGet()``, ``OSMemPut()``.

Follows Source/os_mem.c of weston-embedded/uC-OS3 V3.08.02 (commit 2fa9aeb; the file differs from
V3.08.01 only in its copyright year and version line), with the template configuration of
Cfg/Template/os_cfg.h: ``OS_CFG_ARG_CHK_EN``, ``OS_CFG_CALLED_FROM_ISR_CHK_EN``,
``OS_CFG_OBJ_TYPE_CHK_EN`` all 1, ``OS_CFG_DBG_EN`` 0.  ``OS_MEM_QTY`` and ``OS_MEM_SIZE`` are
``CPU_INT16U`` (Source/os_type.h).

The partition's storage is part of a :class:`~.ram.Ram`.  As in C, the free list is threaded
through the free blocks themselves: the first pointer-sized word of a free block holds the address
of the next free block (0 ends the list), written into the RAM's bytes.  ``OSMemGet()`` pops the
head, ``OSMemPut()`` pushes at the head, so the last block returned is the next one handed out.

What os_mem.c does not check - a put of a block of another partition, of an address that is not a
block boundary, of a block that is already free (while ``NbrFree < NbrMax``) - is done as os_mem.c
does it; the model records the damage (:attr:`MemPartition.misuse`) and :meth:`check_invariants`
names it.  A ``strict=True`` partition refuses those calls instead.
"""

from __future__ import annotations

import numpy as np

from .os_err import HardFault, HeapCorrupted, RtosArgumentError, RtosError, check_int
from .ram import Ram

__all__ = ["MemPartition", "OS_MEM_QTY_MAX", "OS_MEM_SIZE_MAX", "os_mem_sizeof"]

#: ``OS_MEM_QTY`` / ``OS_MEM_SIZE`` are ``CPU_INT16U`` in Source/os_type.h (V3.08.02).
OS_MEM_QTY_MAX = 0xFFFF
OS_MEM_SIZE_MAX = 0xFFFF


def os_mem_sizeof(ptr_size: int = 4) -> int:
    """``sizeof(OS_MEM)`` with the template os_cfg.h (Type, AddrPtr, FreeListPtr, BlkSize, NbrMax, NbrFree).

    >>> os_mem_sizeof(4), os_mem_sizeof(8)
    (20, 32)
    """
    offset = 4                                   # OS_OBJ_TYPE Type (CPU_INT32U)
    offset = -(-offset // ptr_size) * ptr_size   # AddrPtr is pointer aligned
    offset += 2 * ptr_size + 3 * 2               # AddrPtr, FreeListPtr, BlkSize, NbrMax, NbrFree
    return -(-offset // ptr_size) * ptr_size


class MemPartition:
    """A memory partition created by ``OSMemCreate(p_mem, name, p_addr, n_blks, blk_size, &err)``.

    Parameters
    ----------
    p_addr : int
        Start of the storage area (``void *p_addr``).
    n_blks : int
        Number of blocks (``OS_MEM_QTY``, 16-bit).
    blk_size : int
        Bytes per block (``OS_MEM_SIZE``, 16-bit).
    name : str
        ``p_name`` (kept although ``OS_CFG_DBG_EN`` is 0 in the template configuration).
    ptr_size : {4, 8}, optional
        ``sizeof(void *)``; defaults to the RAM's, 4 (Cortex-M4) without a RAM.
    ram : Ram, optional
        The memory the storage lives in; by default a RAM of exactly the storage's size at ``p_addr``.
    strict : bool
        Refuse the puts that os_mem.c accepts without checking (for contrast).
    in_isr : bool
        Create "from an interrupt handler" (``OSIntNestingCtr > 0``).
    safety_critical_started : bool
        Create after ``OSSafetyCriticalStart()`` (only checked with ``OS_SAFETY_CRITICAL_IEC61508``).
    mcb_addr : int, optional
        Where the ``OS_MEM`` control block itself lives in ``ram``; when given, its fields are
        written there after every call (the partition wrapper stores this address in its headers).

    Raises
    ------
    RtosError
        In os_mem.c's order: ``OS_ERR_ILLEGAL_CREATE_RUN_TIME``, ``OS_ERR_MEM_CREATE_ISR``,
        ``OS_ERR_MEM_INVALID_P_ADDR`` (NULL), ``OS_ERR_MEM_INVALID_BLKS`` (fewer than 2),
        ``OS_ERR_MEM_INVALID_SIZE`` (smaller than a pointer), ``OS_ERR_MEM_INVALID_P_ADDR``
        (not pointer aligned), ``OS_ERR_MEM_INVALID_SIZE`` (not a multiple of the pointer size).
    RtosArgumentError
        A value C could not pass as such (negative, above 65535, not an integer), or storage
        outside the RAM.  Nothing is written in either case.

    Examples
    --------
    >>> part = MemPartition(0x20000000, 4, 16)
    >>> [hex(a) for a in part.free_list()]
    ['0x20000000', '0x20000010', '0x20000020', '0x20000030']
    >>> a = part.get(); b = part.get(); part.put(a)
    >>> hex(part.get()) == hex(a), part.nbr_free
    (True, 2)
    """

    def __init__(self, p_addr: int, n_blks: int, blk_size: int, *, name: str = "", ptr_size: int | None = None,
                 ram: Ram | None = None, strict: bool = False, in_isr: bool = False,
                 safety_critical_started: bool = False, mcb_addr: int | None = None) -> None:
        if ptr_size is None:
            ptr_size = ram.ptr_size if ram is not None else 4
        ptr_size = check_int(ptr_size, "ptr_size", accepted="4 or 8")
        if ptr_size not in (4, 8):
            raise RtosArgumentError(f"ptr_size {ptr_size} is not a pointer size; accepted: 4 or 8")
        if ram is not None and ram.ptr_size != ptr_size:
            raise RtosArgumentError(f"ptr_size {ptr_size} differs from the RAM's {ram.ptr_size}")
        p_addr = check_int(p_addr, "p_addr", minimum=0, maximum=(1 << (8 * ptr_size)) - 1,
                           accepted=f"an address 0..{(1 << (8 * ptr_size)) - 1:#x}")
        n_blks = check_int(n_blks, "n_blks", minimum=0, maximum=OS_MEM_QTY_MAX,
                           accepted="OS_MEM_QTY is CPU_INT16U (os_type.h): 0..65535; a C caller's larger value "
                                    "would be truncated modulo 65536 without an error")
        blk_size = check_int(blk_size, "blk_size", minimum=0, maximum=OS_MEM_SIZE_MAX,
                             accepted="OS_MEM_SIZE is CPU_INT16U (os_type.h): 0..65535")
        if not isinstance(name, str):
            raise RtosArgumentError(f"name {name!r} is not a string")
        # --- os_mem.c OSMemCreate(), checks in source order
        if safety_critical_started:
            raise RtosError("OS_ERR_ILLEGAL_CREATE_RUN_TIME", "OSMemCreate() after OSSafetyCriticalStart()")
        if in_isr:
            raise RtosError("OS_ERR_MEM_CREATE_ISR", "OSMemCreate() called from an ISR (OSIntNestingCtr > 0)")
        if p_addr == 0:
            raise RtosError("OS_ERR_MEM_INVALID_P_ADDR", "p_addr is NULL")
        if n_blks < 2:
            raise RtosError("OS_ERR_MEM_INVALID_BLKS", f"n_blks is {n_blks}; a partition needs at least 2 blocks")
        if blk_size < ptr_size:
            raise RtosError("OS_ERR_MEM_INVALID_SIZE",
                            f"blk_size {blk_size} is smaller than a pointer ({ptr_size} bytes): no room for the link")
        align_msk = ptr_size - 1
        if p_addr & align_msk:
            raise RtosError("OS_ERR_MEM_INVALID_P_ADDR", f"p_addr {p_addr:#x} is not aligned to {ptr_size} bytes")
        if blk_size & align_msk:
            raise RtosError("OS_ERR_MEM_INVALID_SIZE", f"blk_size {blk_size} is not a multiple of {ptr_size}")
        # --- the model's own check: os_mem.c trusts the caller, but the model has no bytes elsewhere
        nbytes = n_blks * blk_size
        if ram is None:
            ram = Ram(base=p_addr, size=nbytes, ptr_size=ptr_size)
        elif not ram.contains(p_addr, nbytes):
            raise RtosArgumentError(f"storage {p_addr:#x}..{p_addr + nbytes - 1:#x} ({n_blks} x {blk_size} bytes) is "
                                    f"not inside the RAM {ram.base:#x}..{ram.end - 1:#x}; os_mem.c does not check this, "
                                    "a real MCU would overwrite whatever is there")
        if mcb_addr is not None and not ram.contains(check_int(mcb_addr, "mcb_addr"), os_mem_sizeof(ptr_size)):
            raise RtosArgumentError(f"mcb_addr {mcb_addr:#x} is not inside the RAM")
        self.ram, self.name, self.strict, self.ptr_size, self.mcb_addr = ram, name, bool(strict), ptr_size, mcb_addr
        self.addr_ptr, self.blk_size, self.nbr_max = p_addr, blk_size, n_blks
        self.end = p_addr + nbytes
        #: blocks handed out by get() and not put back (the model's bookkeeping, not os_mem.c's)
        self.held: set[int] = set()
        #: one line per call os_mem.c accepted without checking, in order
        self.misuse: list[str] = []
        self.steps = 1  # every call is O(1): one list operation
        # Build the free list through the blocks (outside the critical section, as os_mem.c does).
        links = p_addr + blk_size * np.arange(1, n_blks + 1, dtype=np.uint64)
        links[-1] = 0
        region = np.frombuffer(ram.mem, dtype=np.uint8)[p_addr - ram.base:p_addr - ram.base + nbytes]
        region = region.reshape(n_blks, blk_size)
        region[:, :ptr_size] = links.astype("<u4" if ptr_size == 4 else "<u8").view(np.uint8).reshape(n_blks, ptr_size)
        self.free_list_ptr = p_addr
        self.nbr_free = n_blks
        # hot-path shortcuts: get/put are the 1-million-per-second calls of the benchmark
        self._unpack, self._pack = ram.ptr.unpack_from, ram.ptr.pack_into
        self._mem, self._base, self._last_word, self._bus = ram.mem, ram.base, ram.size - ptr_size, ram.bus
        self._write_mcb()
        self._emit("os_mem_create", addr=p_addr, n_blks=n_blks, blk_size=blk_size)

    def __repr__(self) -> str:
        return (f"MemPartition({self.name or 'unnamed'!r}, {self.addr_ptr:#x}, n_blks={self.nbr_max}, "
                f"blk_size={self.blk_size}, nbr_free={self.nbr_free})")

    # ------------------------------------------------------------------ the three calls
    def get(self) -> int:
        """``OSMemGet()``: pop the head of the free list and return its address.

        Raises
        ------
        RtosError
            ``OS_ERR_MEM_NO_FREE_BLKS`` when ``NbrFree`` is 0 (OSMemGet never waits).
        HardFault
            The head of a corrupted list points outside the RAM (reading its link would fault).
        """
        if self.nbr_free == 0:
            raise RtosError("OS_ERR_MEM_NO_FREE_BLKS", f"partition {self.name or hex(self.addr_ptr)} has no free block "
                            f"({self.nbr_max} of {self.nbr_max} in use)")
        p_blk = self.free_list_ptr
        offset = p_blk - self._base
        if offset < 0 or offset > self._last_word:
            ram = self.ram
            raise HardFault(f"OSMemGet() would read the link word at {p_blk:#x}, outside the RAM "
                            f"{ram.base:#x}-{ram.end - 1:#x}: a bus fault on a Cortex-M4 (the free list is corrupted)")
        self.free_list_ptr = self._unpack(self._mem, offset)[0]
        self.nbr_free -= 1
        held = self.held
        if p_blk in held:
            self.misuse.append(f"OSMemGet() returned {p_blk:#x}, which is already in use: the same block is now "
                               "held twice")
        held.add(p_blk)
        if self.mcb_addr is not None:
            self._write_mcb()
        if self._bus.active:
            self._bus.emit("os_mem_get", partition=self.name, addr=p_blk, nbr_free=self.nbr_free)
        return p_blk

    def put(self, p_blk: int) -> None:
        """``OSMemPut(p_blk)``: push ``p_blk`` at the head of the free list.

        Raises
        ------
        RtosError
            ``OS_ERR_MEM_INVALID_P_BLK`` for NULL; ``OS_ERR_MEM_FULL`` when every block is already
            free ("You freed more blocks than you allocated!").  A ``strict`` partition also raises
            ``OS_ERR_MEM_INVALID_P_BLK`` for a foreign, misaligned or already-free block.
        RtosArgumentError
            ``p_blk`` is not an integer, or its link word would lie outside the RAM.
        """
        if p_blk.__class__ is not int:
            p_blk = check_int(p_blk, "p_blk", minimum=0, accepted="an address")
        if p_blk == 0:
            raise RtosError("OS_ERR_MEM_INVALID_P_BLK", "p_blk is NULL")
        if self.nbr_free >= self.nbr_max:
            raise RtosError("OS_ERR_MEM_FULL", f"all {self.nbr_max} blocks of {self.name or hex(self.addr_ptr)} are "
                            "already free: you freed more blocks than you allocated")
        offset = p_blk - self._base
        if offset < 0 or offset > self._last_word:
            ram = self.ram
            raise RtosArgumentError(f"p_blk {p_blk:#x} is outside the RAM {ram.base:#x}-{ram.end - 1:#x}: the model "
                                    "has no memory there to write the link into")
        held = self.held
        problem = None if p_blk in held else self.diagnose(p_blk)
        if problem is not None and self.strict:
            raise RtosError("OS_ERR_MEM_INVALID_P_BLK", f"strict partition refuses {problem} "
                            "(os_mem.c V3.08.02 itself only rejects NULL)")
        self._pack(self._mem, offset, self.free_list_ptr)
        self.free_list_ptr = p_blk
        self.nbr_free += 1
        if problem is None:
            held.remove(p_blk)
        else:
            self.misuse.append(f"OSMemPut({p_blk:#x}) accepted: {problem}")
        if self.mcb_addr is not None:
            self._write_mcb()
        if self._bus.active:
            self._bus.emit("os_mem_put", partition=self.name, addr=p_blk, nbr_free=self.nbr_free, misuse=problem)

    # ------------------------------------------------------------------ reading the state
    def diagnose(self, p_blk: int) -> str | None:
        """Why ``p_blk`` is not a block this partition handed out (None when it is one)."""
        if p_blk in self.held:
            return None
        if not (self.addr_ptr <= p_blk < self.end):
            return f"{p_blk:#x} is not inside this partition ({self.addr_ptr:#x}-{self.end - 1:#x}): a foreign block"
        index, offset = divmod(p_blk - self.addr_ptr, self.blk_size)
        if offset:
            return f"{p_blk:#x} is {offset} bytes into block {index}, not a block boundary: a misaligned address"
        return f"block {index} at {p_blk:#x} is already free: a double put"

    def block_index(self, addr: int) -> int | None:
        """The block number of the block starting at ``addr``, or None."""
        index, offset = divmod(addr - self.addr_ptr, self.blk_size)
        return index if 0 <= index < self.nbr_max and offset == 0 else None

    def blocks(self) -> list[int]:
        """Addresses of every block, in address order."""
        return list(range(self.addr_ptr, self.end, self.blk_size))

    def free_list(self, limit: int | None = None) -> list[int]:
        """Addresses on the free list, head first, following the links in RAM.

        Stops after ``NbrFree`` entries (what OSMemGet could hand out), at NULL, at an address
        outside the RAM, or at the first repeated address (a cycle), whichever comes first.
        """
        limit = self.nbr_free if limit is None else limit
        out, seen, addr = [], set(), self.free_list_ptr
        while len(out) < limit and addr and addr not in seen and self.ram.contains(addr, self.ptr_size):
            out.append(addr)
            seen.add(addr)
            addr = self.ram.read_ptr(addr)
        return out

    def links(self) -> list[tuple[int, int]]:
        """``(block, next)`` for each block on the free list, next 0 for NULL: the arrows a view draws."""
        return [(addr, self.ram.read_ptr(addr)) for addr in self.free_list()]

    @property
    def nbr_used(self) -> int:
        """``NbrMax - NbrFree`` (what ``OSMemQuery``-style code reports as used)."""
        return self.nbr_max - self.nbr_free

    def corruption(self) -> list[str]:
        """What is wrong with the free list now, in words (empty when it is sound)."""
        problems: list[str] = []
        ram, addr, seen = self.ram, self.free_list_ptr, set()
        for position in range(self.nbr_free):
            if addr == 0:
                problems.append(f"the list ends (NULL) after {position} entries but NbrFree is {self.nbr_free}")
                break
            if addr in seen:
                problems.append(f"entry {position} is {addr:#x} again: the free list has a cycle (a double put)")
                break
            seen.add(addr)
            if not ram.contains(addr, self.ptr_size):
                problems.append(f"entry {position} is {addr:#x}, outside the RAM")
                break
            if not (self.addr_ptr <= addr < self.end):
                problems.append(f"entry {position} is {addr:#x}, foreign memory outside this partition")
            elif (addr - self.addr_ptr) % self.blk_size:
                problems.append(f"entry {position} is {addr:#x}, not a block boundary")
            if addr in self.held:
                problems.append(f"entry {position} is {addr:#x}, a block that is also in use")
            addr = ram.read_ptr(addr)
        else:
            if self.nbr_free and addr != 0 and not problems:
                problems.append(f"after NbrFree = {self.nbr_free} entries the list goes on to {addr:#x} instead of NULL")
        if self.nbr_free == 0 and self.free_list_ptr != 0 and not problems:
            problems.append(f"NbrFree is 0 but FreeListPtr is {self.free_list_ptr:#x}")
        lost = [blk for blk in range(self.addr_ptr, self.end, self.blk_size) if blk not in seen and blk not in self.held]
        if lost and problems:
            problems.append(f"{len(lost)} free block{'s are' if len(lost) > 1 else ' is'} no longer reachable from "
                            "FreeListPtr: lost to OSMemGet")
        for line in self.misuse:
            if "held twice" in line:
                problems.append(line)
        return problems

    def check_invariants(self) -> None:
        """Raise :class:`HeapCorrupted` naming the damage when the free list is not sound.

        Sound means: ``NbrFree`` links, each a distinct block boundary of this partition that is
        not in use, ending in NULL; and every block is either on the list or held, never both.
        """
        problems = self.corruption()
        if not problems and len(self.held) + self.nbr_free != self.nbr_max:
            problems.append(f"{len(self.held)} blocks held + {self.nbr_free} free != NbrMax {self.nbr_max}")
        if problems:
            raise HeapCorrupted(problems)

    def _write_mcb(self) -> None:
        """Mirror the OS_MEM fields into RAM at ``mcb_addr`` (layout of Source/os.h, template config)."""
        if self.mcb_addr is None:
            return
        ram, p, at = self.ram, self.ptr_size, self.mcb_addr
        ram.write_bytes(at, b"MEM ")  # Type = CPU_TYPE_CREATE('M','E','M',' ') as it reads in memory
        first = -(-4 // p) * p
        ram.write_ptr(at + first, self.addr_ptr)
        ram.write_ptr(at + first + p, self.free_list_ptr)
        counts = np.array([self.blk_size, self.nbr_max, self.nbr_free], dtype="<u2").tobytes()
        ram.write_bytes(at + first + 2 * p, counts)

    def _emit(self, kind: str, **data) -> None:
        if self.ram.bus.active:
            self.ram.bus.emit(kind, partition=self.name, **data)
