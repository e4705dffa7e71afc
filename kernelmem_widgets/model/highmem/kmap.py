"""``kmap()``: the persistent kmap (pkmap) window of mm/highmem.c.

A lowmem page already has a kernel address, ``page_address()``; a highmem page gets one of
LAST_PKMAP slots (1024, or 512 with PAE) of one page table at PKMAP_BASE.  ``pkmap_count[nr]``
is 0 for a slot that is free and unmapped, 1 for a slot nobody uses that is still mapped (its
TLB entry may be live: it cannot be reused before a flush), and n + 1 for n users.
``map_new_virtual()`` looks for a free slot round-robin from ``last_pkmap_nr``; each time the
search wraps to slot 0 it calls ``flush_all_zero_pkmaps()``, which unmaps every count-1 slot and
flushes the TLB of the whole window once.  ``kunmap()`` only drops the count: the unmapping is
lazy, batched into the next wrap.  The algorithm is the same in 2.6.35 and 6.18 (6.18 adds the
PKMAP colouring hooks, which x86 leaves at one colour).

The per-CPU fixmap slots of ``kmap_atomic()``/``kmap_local_page()`` are in :mod:`.kmap_local`;
:class:`KmapSpace` combines both.  On x86-64 (:meth:`KmapSpace.x86_64`) every page is in the
direct map, every call returns ``page_address()`` and no counter moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvariantViolation, PfnOutOfRange
from ..events import EventBus
from .errors import InvalidLayoutOption, KmapWouldSleep, KunmapBug
from .kmap_local import LocalKmaps
from .layout import PAGE_SHIFT, PAGE_SIZE, Layout
from .layout_rules import X86_64_PAGE_OFFSET

__all__ = ["Page", "KmapCounters", "KmapSpace"]


@dataclass(frozen=True)
class Page:
    """The part of ``struct page`` kmap looks at: the pfn and ``PageHighMem()``."""

    pfn: int
    highmem: bool


@dataclass
class KmapCounters:
    """What the mappings cost: PTE writes, TLB flushes, and kmaps that found a mapping in place.

    ``tlb_flush_all`` counts ``flush_tlb_kernel_range()`` of the whole pkmap window (one per wrap
    that unmapped something); ``tlb_flush_one`` counts single-address flushes
    (``kunmap_local()``/``kunmap_atomic()``); ``wraps`` counts ``flush_all_zero_pkmaps()`` calls.
    """

    pte_writes: int = 0
    tlb_flush_all: int = 0
    tlb_flush_one: int = 0
    mappings_reused: int = 0
    wraps: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class KmapSpace:
    """The pkmap window and the kmap_local/kmap_atomic slots of one booted kernel.

    Build it with :meth:`from_layout` (32-bit) or :meth:`x86_64`.  Pages are :class:`Page`
    objects, ``(pfn, is_highmem)`` pairs, or plain pfns (then highmem means pfn >= max_low_pfn).

    Examples
    --------
    >>> from kernelmem_widgets.model.highmem import boot_layout
    >>> layout = boot_layout("linux-6.18-i386", max_pfn=0x80000)        # 2 GiB, non-PAE
    >>> space = KmapSpace.from_layout(layout)
    >>> hex(space.kmap(0x1000))                                         # lowmem: page_address()
    '0xc1000000'
    >>> hex(space.kmap(0x40000)), space.pkmap_count[1]                  # highmem: slot 1, one user
    ('0xff401000', 2)
    """

    def __init__(self, *, page_offset: int, max_low_pfn: int, max_pfn: int, pkmap_base: int | None,
                 last_pkmap: int, local: LocalKmaps | None, bus: EventBus | None = None) -> None:
        self.page_offset, self.max_low_pfn, self.max_pfn = page_offset, max_low_pfn, max_pfn
        self.pkmap_base, self.last_pkmap = pkmap_base, last_pkmap
        self.counters = KmapCounters()
        self.local = local
        self.bus = bus if bus is not None else EventBus()
        self._count = [0] * last_pkmap
        self._slot_pfn = [-1] * last_pkmap
        self._virtual: dict[int, int] = {}  # pfn -> slot: set_page_address() of mm/highmem.c
        self._busy = 0  # slots with pkmap_count >= 2 (in use)
        self.last_pkmap_nr = 0

    @classmethod
    def from_layout(cls, layout: Layout, *, nr_cpus: int = 1, fix_kmap_begin: int | None = None,
                    bus: EventBus | None = None) -> "KmapSpace":
        """The kmap state of a freshly booted 32-bit kernel with this layout."""
        if not layout.config_highmem:
            raise InvalidLayoutOption("a CONFIG_NOHIGHMEM kernel has no pkmap window: every page is lowmem")
        local = LocalKmaps(layout.rules, nr_cpus=nr_cpus, fixaddr_top=layout.fixaddr_top,
                           fix_kmap_begin=layout.rules.fix_kmap_begin if fix_kmap_begin is None else fix_kmap_begin,
                           fixaddr_start=layout.fixaddr_start)
        space = cls(page_offset=layout.page_offset, max_low_pfn=layout.max_low_pfn, max_pfn=layout.highend_pfn,
                    pkmap_base=layout.pkmap_base, last_pkmap=layout.last_pkmap, local=local, bus=bus)
        local.counters, local.bus = space.counters, space.bus
        return space

    @classmethod
    def x86_64(cls, max_pfn: int, *, bus: EventBus | None = None) -> "KmapSpace":
        """x86-64: no highmem, the direct map at PAGE_OFFSET covers every pfn up to ``max_pfn``."""
        return cls(page_offset=X86_64_PAGE_OFFSET, max_low_pfn=max_pfn, max_pfn=max_pfn, pkmap_base=None,
                   last_pkmap=0, local=None, bus=bus)

    # ------------------------------------------------------------------ queries
    @property
    def pkmap_count(self) -> tuple[int, ...]:
        """``pkmap_count[]`` as a tuple (a copy: views replace, never mutate)."""
        return tuple(self._count)

    def slot_pfns(self) -> tuple[int, ...]:
        """The pfn each pkmap slot's PTE maps, -1 for an empty PTE."""
        return tuple(self._slot_pfn)

    def page_address(self, page) -> int | None:
        """``page_address()``: the direct map for lowmem, the pkmap address or None for highmem."""
        pfn, highmem = self._page(page)
        if not highmem:
            return self.page_offset + (pfn << PAGE_SHIFT)
        slot = self._virtual.get(pfn)
        return None if slot is None else self.pkmap_base + slot * PAGE_SIZE

    def slot_of(self, page) -> int | None:
        """The pkmap slot a highmem page is mapped at, or None."""
        return self._virtual.get(self._page(page)[0])

    # ------------------------------------------------------------------ kmap / kunmap
    def kmap(self, page) -> int:
        """``kmap(page)``: its address, mapping a highmem page into the pkmap window if needed.

        Raises :class:`KmapWouldSleep` when every slot has users (the kernel would sleep).
        """
        if page.__class__ is int and self.max_low_pfn <= page < self.max_pfn:
            pfn = page  # the common case, a highmem pfn: skip the general checks
        else:
            pfn, highmem = self._page(page)
            if not highmem:
                return self.page_offset + (pfn << PAGE_SHIFT)
        slot = self._virtual.get(pfn)
        if slot is None:
            slot = self._map_new_virtual(pfn)
        else:
            self.counters.mappings_reused += 1
        count = self._count[slot] + 1
        self._count[slot] = count
        if count == 2:
            self._busy += 1
        if self.bus.active:
            self.bus.emit("kmap", pfn=pfn, slot=slot, count=count)
        return self.pkmap_base + slot * PAGE_SIZE

    def kunmap(self, page) -> None:
        """``kunmap(page)``: drop one user; the slot stays mapped until the next wrap's flush."""
        if page.__class__ is int and self.max_low_pfn <= page < self.max_pfn:
            pfn = page
        else:
            pfn, highmem = self._page(page)
            if not highmem:
                return
        slot = self._virtual.get(pfn)
        if slot is None:
            raise KunmapBug(f"kernel BUG in kunmap_high(): BUG_ON(!vaddr): highmem pfn {pfn:#x} has no pkmap "
                            "address: it was never kmap()ed (or every kmap() was undone and the slot flushed)")
        count = self._count[slot]
        if count == 1:
            raise KunmapBug(f"kernel BUG in kunmap_high(): pkmap_count[{slot}] would drop to 0 (BUG()): pfn "
                            f"{pfn:#x} is still mapped but has no kmap() user left to kunmap")
        self._count[slot] = count - 1
        if count == 2:
            self._busy -= 1  # back to 1: a sleeping kmap() would be woken (pkmap_map_wait)
        if self.bus.active:
            self.bus.emit("kunmap", pfn=pfn, slot=slot, count=count - 1)

    def _map_new_virtual(self, pfn: int) -> int:
        """``map_new_virtual()``: the next free slot after ``last_pkmap_nr``, flushing on each wrap."""
        if self._busy == self.last_pkmap:
            raise KmapWouldSleep(f"kmap() of pfn {pfn:#x} would sleep: all {self.last_pkmap} pkmap slots have users "
                                 "(pkmap_count >= 2); map_new_virtual() waits on pkmap_map_wait until a kunmap()",
                                 pfn=pfn)
        # Some slot has count 0 or 1 (the check above), so this ends within one wrap: the flush at
        # slot 0 turns every count-1 slot into a free one.
        counts, mask = self._count, self.last_pkmap - 1
        nr = (self.last_pkmap_nr + 1) & mask
        while True:
            if not nr:
                self._flush_all_zero_pkmaps()
            if not counts[nr]:
                break
            nr = (nr + 1) & mask
        self.last_pkmap_nr = nr
        counts[nr] = 1
        self._slot_pfn[nr] = pfn
        self._virtual[pfn] = nr
        self.counters.pte_writes += 1  # set_pte_at(&init_mm, vaddr, &pkmap_page_table[nr], mk_pte(...))
        return nr

    def _flush_all_zero_pkmaps(self) -> None:
        """``flush_all_zero_pkmaps()``: unmap every count-1 slot, then one TLB flush of the window."""
        self.counters.wraps += 1
        counts, slot_pfn, virtual = self._count, self._slot_pfn, self._virtual
        flushed = 0
        for nr in range(self.last_pkmap):
            if counts[nr] != 1:
                continue
            counts[nr] = 0
            del virtual[slot_pfn[nr]]
            slot_pfn[nr] = -1
            flushed += 1
        if flushed:
            self.counters.pte_writes += flushed  # pte_clear() of each
            self.counters.tlb_flush_all += 1  # flush_tlb_kernel_range(PKMAP_ADDR(0), PKMAP_ADDR(LAST_PKMAP))
        if self.bus.active:
            self.bus.emit("flush_all_zero_pkmaps", unmapped=flushed, tlb_flush=bool(flushed))

    # ------------------------------------------------------------------ kmap_local / kmap_atomic
    def kmap_local_page(self, page, cpu: int = 0) -> int:
        """``kmap_local_page()`` (5.11+): a per-CPU fixmap slot for a highmem page, LIFO."""
        if page.__class__ is int and self.max_low_pfn <= page < self.max_pfn:
            pfn = page
        else:
            pfn, highmem = self._page(page)
            if not highmem:
                return self.page_offset + (pfn << PAGE_SHIFT)
        return self._local().map_local(pfn, cpu)

    def kunmap_local(self, vaddr: int, cpu: int = 0) -> None:
        """``kunmap_local()``: release the top slot of this CPU's stack (lowmem addresses are a no-op)."""
        local = self.local
        if local is None or not local.is_fixmap_kmap(vaddr):
            return
        local.unmap_local(vaddr, cpu)

    def kmap_atomic(self, page, km_type: str | None = None, cpu: int = 0) -> int:
        """``kmap_atomic()``: ``(page, km_type)`` slots in 2.6.35, a per-CPU stack from 2.6.37."""
        pfn, highmem = self._page(page)
        local = self.local
        if local is not None:
            local.check_atomic_type(km_type)
        if not highmem:
            return self.page_offset + (pfn << PAGE_SHIFT)
        return local.map_atomic(pfn, km_type, cpu)

    def kunmap_atomic(self, vaddr: int, km_type: str | None = None, cpu: int = 0) -> None:
        """``kunmap_atomic()``: clear the slot (lowmem addresses are a no-op)."""
        if self.local is None:
            return
        self.local.check_atomic_type(km_type)
        if self.local.is_fixmap_kmap(vaddr):
            self.local.unmap_atomic(vaddr, km_type, cpu)

    def _local(self) -> LocalKmaps:
        if self.local is None:
            raise InvariantViolation("a highmem page on a kernel without kmap slots")
        return self.local

    # ------------------------------------------------------------------ helpers
    def _page(self, page) -> tuple[int, bool]:
        if page.__class__ is Page:
            pfn, highmem = page.pfn, page.highmem
        elif isinstance(page, tuple) and len(page) == 2:
            pfn, highmem = page
        else:
            pfn, highmem = page, None
        if isinstance(pfn, bool) or not isinstance(pfn, int):
            if not hasattr(pfn, "__index__") or isinstance(pfn, bool):
                raise PfnOutOfRange(f"page {page!r}: the pfn must be an integer")
            pfn = int(pfn)
        if not 0 <= pfn < self.max_pfn:
            raise PfnOutOfRange(f"pfn {pfn:#x} is not RAM of this kernel (pfns 0..{self.max_pfn - 1:#x})")
        is_high = pfn >= self.max_low_pfn
        if highmem is not None and highmem is not is_high:
            where = f"at or above max_low_pfn {self.max_low_pfn:#x}" if is_high else f"below max_low_pfn {self.max_low_pfn:#x}"
            raise PfnOutOfRange(f"page {page!r} says highmem={highmem!r}, but pfn {pfn:#x} lies {where}")
        return pfn, is_high

    def check_invariants(self) -> None:
        """pkmap_count agrees with the PTEs and page->virtual; the local stacks are consistent."""
        busy = 0
        for nr, (count, pfn) in enumerate(zip(self._count, self._slot_pfn)):
            if count < 0:
                raise InvariantViolation(f"pkmap_count[{nr}] = {count} is negative")
            if (count == 0) != (pfn == -1):
                raise InvariantViolation(f"pkmap slot {nr}: count {count} but PTE maps pfn {pfn}")
            if pfn != -1 and self._virtual.get(pfn) != nr:
                raise InvariantViolation(f"slot {nr} maps pfn {pfn:#x} whose page_address is slot {self._virtual.get(pfn)}")
            busy += count >= 2
        if len(self._virtual) != sum(pfn != -1 for pfn in self._slot_pfn):
            raise InvariantViolation("page->virtual records a page no slot maps")
        if busy != self._busy:
            raise InvariantViolation(f"{busy} slots in use but the busy count says {self._busy}")
        if self.last_pkmap and not 0 <= self.last_pkmap_nr < self.last_pkmap:
            raise InvariantViolation(f"last_pkmap_nr {self.last_pkmap_nr} outside the window")
        if self.local is not None:
            self.local.check_invariants()
