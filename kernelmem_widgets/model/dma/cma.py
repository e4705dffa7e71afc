"""The Contiguous Memory Allocator: mm/cma.c and kernel/dma/contiguous.c (Linux 6.18).

A CMA area is a pfn range set aside at boot whose pageblocks are MIGRATE_CMA: the buddy
allocator lends its free pages to movable allocations only (ALLOC_CMA; ``__rmqueue()`` even
prefers them once more than half of a zone's free pages are CMA), never to unmovable ones, so
whatever sits there can be migrated away when a driver asks.  ``cma_alloc(count, align)`` finds
``count`` free bits in the area's bitmap (``bitmap_find_next_zero_area_off()`` with the
alignment mask and offset), then calls ``alloc_contig_range(..., ACR_FLAGS_CMA)``; a busy range
(-EBUSY) is given up and the search goes on from ``bitmap_no + mask + 1``.

Read in mm/cma.c of the 6.15-6.18 series (multi-range areas, ``cma_range_alloc()``,
``available_count``; stored copy id 58033049) and kernel/dma/contiguous.c
(``dma_alloc_contiguous()``, ``cma_alloc_aligned()``, default area name "reserved").  The boot
line is ``pr_info("Reserved %ld MiB at %pa\\n")`` with pr_fmt "cma: "; 6.14 and earlier printed
"... on node -1", 6.15-rc1 printed base 0 until "mm/cma: report base address of single range
correctly" (LKML, April 2025).

In the model the range is taken from the buddy allocator when it is declared (the kernel
reserves it in memblock and frees it to the buddy allocator as CMA pageblocks at core_initcall,
``cma_activate_area()``); the result is the same free lists.  Declare areas on a fresh machine.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument
from ..page_alloc.freearea import NO_ORDER
from ..page_alloc.mmzone import MIGRATE_CMA, MIGRATE_MOVABLE
from ..units import format_size
from .contig import ContigResult, alloc_contig_range, free_contig_range
from .physmap import covered, free_pages_map
from .errors import EBUSY, EINVAL, ENOMEM, ENOSPC, CmaError, ContigRangeBusy

__all__ = ["Cma", "MAX_CMA_AREAS", "CONFIG_CMA_ALIGNMENT", "cma_init_reserved_mem", "cma_activate_boot_area", "cma_declare_contiguous",
           "dma_contiguous_reserve_area", "cma_alloc", "cma_release", "bitmap_find_next_zero_area_off",
           "totalcma_pages", "cma_meminfo_lines", "check_cma_invariants"]

#: CONFIG_CMA_AREAS default with NUMA (mm/Kconfig), MAX_CMA_AREAS in include/linux/cma.h
MAX_CMA_AREAS = 20
#: CONFIG_CMA_ALIGNMENT default (kernel/dma/Kconfig): dma_alloc_contiguous() aligns to at most 2^8 pages
CONFIG_CMA_ALIGNMENT = 8


class Cma:
    """``struct cma`` with one range: base pfn, page count, bitmap, ``available_count``."""

    def __init__(self, name: str, base_pfn: int, count: int, order_per_bit: int, zone: str, page_size: int) -> None:
        self.name, self.base_pfn, self.count, self.order_per_bit = name, base_pfn, count, order_per_bit
        self.zone, self.page_size = zone, page_size
        self.bitmap = np.zeros(count >> order_per_bit, dtype=bool)
        self.available_count = count
        self.allocations: dict[int, int] = {}
        self.boot_line = ""

    @property
    def end_pfn(self) -> int:
        return self.base_pfn + self.count

    @property
    def base(self) -> int:
        """``cma_get_base()``: the physical address of the first page."""
        return self.base_pfn * self.page_size

    @property
    def size(self) -> int:
        return self.count * self.page_size

    def contains(self, pfn: int) -> bool:
        return self.base_pfn <= pfn < self.end_pfn

    def __repr__(self) -> str:
        return (f"<cma {self.name} pfns {self.base_pfn:#x}-{self.end_pfn - 1:#x} ({format_size(self.size)}), "
                f"{self.available_count} pages available>")


def _zone_spanning(machine, base_pfn: int, count: int):
    zone = machine.zone_of(base_pfn)
    if not zone.contains(base_pfn + count - 1):
        raise CmaError(f"CMA area could not be activated: pfns {base_pfn:#x}-{base_pfn + count - 1:#x} cross the "
                       f"end of zone {zone.name} ({zone.end_pfn:#x}); alloc_contig_range() needs one zone",
                       errno=EINVAL)
    return zone


def _check_free(zone, start: int, end: int) -> None:
    """The model's stand-in for memblock_is_region_reserved(): nothing may be using the range yet."""
    alloc = np.frombuffer(zone._alloc_order, dtype=np.uint8)[start:end]
    used = np.flatnonzero(alloc != NO_ORDER)
    if used.size:
        raise CmaError(f"pfn {start + int(used[0]) + zone._base:#x} is already in use: a CMA area is carved out "
                       "at boot, before anything is allocated there (declare it on a fresh machine)", errno=EBUSY)
    in_blocks = covered(zone)[start:end]
    if not in_blocks.all():
        raise CmaError(f"pfn {start + int(np.flatnonzero(~in_blocks)[0]) + zone._base:#x} is reserved "
                       "(memblock kept it): a CMA area must be ordinary RAM", errno=EBUSY)


def _activate(zone, start: int, end: int) -> None:
    """``cma_activate_area()`` / ``init_cma_reserved_pageblock()``: pageblocks become MIGRATE_CMA.

    Every free block overlapping the range is taken off its list, the pageblocks are retyped,
    and the blocks are freed again so that pages inside merge as CMA and pages outside keep
    their type.
    """
    area, pbo = zone._area, zone.pageblock_order
    blocks, cursor = [], start
    while cursor < end:
        for order in range(zone.max_page_order + 1):
            head = cursor & ~((1 << order) - 1)
            if area.buddy_order[head] == order:
                break
        area.delete(head, order, zone._pb_mt[head >> pbo])
        blocks.append((head, order))
        cursor = head + (1 << order)
    zone._pb_mt[start >> pbo:end >> pbo] = bytes([MIGRATE_CMA]) * ((end - start) >> pbo)
    for head, order in blocks:
        zone._free_pages_memory(head + zone._base, head + (1 << order) + zone._base)


def cma_init_reserved_mem(machine, base: int, size: int, order_per_bit: int = 0, name: str | None = None) -> Cma:
    """``cma_init_reserved_mem()``: make [base, base + size) (bytes) a CMA area, as it is.

    Base and size must be multiples of CMA_MIN_ALIGNMENT_BYTES (one pageblock, 2 MiB on
    x86-64), else -EINVAL; at most MAX_CMA_AREAS areas (-ENOSPC).  The area is activated at once
    (see the module docstring).  Raises :class:`CmaError` with the kernel's errno, the machine
    unchanged.
    """
    state = machine.dma
    for label, value in (("base", base), ("size", size), ("order_per_bit", order_per_bit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CmaError(f"cma_init_reserved_mem(): {label} {value!r} must be a non-negative integer", errno=EINVAL)
    if len(state.cma_areas) >= MAX_CMA_AREAS:
        raise CmaError("Not enough slots for CMA reserved regions! (MAX_CMA_AREAS = 20)", errno=ENOSPC)
    align = machine.page_size << machine.pageblock_order       # CMA_MIN_ALIGNMENT_BYTES
    if not size:
        raise CmaError("cma_init_reserved_mem(): size 0 (-EINVAL)", errno=EINVAL)
    if (base | size) % align:
        raise CmaError(f"cma_init_reserved_mem({base:#x}, {format_size(size)}) = -EINVAL: base and size must be "
                       f"multiples of CMA_MIN_ALIGNMENT_BYTES ({format_size(align)}, one pageblock)", errno=EINVAL)
    ram = machine.nr_pages * machine.page_size
    if base + size > ram:
        raise CmaError(f"cma_init_reserved_mem(): [{base:#x}, {base + size:#x}) is beyond RAM ({format_size(ram)}); "
                       "memblock has no such region", errno=EINVAL)
    base_pfn, count = base // machine.page_size, size // machine.page_size
    if count % (1 << order_per_bit):
        raise CmaError(f"size {format_size(size)} is not a multiple of 2^order_per_bit = {1 << order_per_bit} pages",
                       errno=EINVAL)
    zone = _zone_spanning(machine, base_pfn, count)
    start, end = base_pfn - zone._base, base_pfn + count - zone._base
    _check_free(zone, start, end)
    number = len(state.cma_areas) + 1
    cma = Cma(name if name else f"cma{number}", base_pfn, count, order_per_bit, zone.name, machine.page_size)
    with machine.bus.batch("cma_activate_area"):
        _activate(zone, start, end)
    state.cma_areas.append(cma)
    machine.bus.emit("cma_activate_area", name=cma.name, base_pfn=base_pfn, count=count, zone=zone.name)
    return cma


def _manage(zone, start_pfn: int, end_pfn: int) -> None:
    """``adjust_managed_page_count()``: the zone now manages these pages too."""
    zone._managed_ranges = tuple(sorted(zone._managed_ranges + ((start_pfn, end_pfn),)))
    zone.managed_pages += end_pfn - start_pfn


def cma_activate_boot_area(machine, base: int, size: int) -> Cma | None:
    """``cma_init_reserved_areas()`` -> ``cma_activate_area()`` for the area the boot reserved.

    The boot (model/boot, ``cma=`` or CONFIG_CMA_SIZE_MBYTES) left [base, base + size) reserved
    in memblock; at core_initcall every pageblock of it becomes MIGRATE_CMA and is freed to the
    buddy allocator (``init_cma_reserved_pageblock()``: ``__free_pages(page, pageblock_order)``,
    ``adjust_managed_page_count()``), before ``init_per_zone_wmark_min()`` computes the
    watermarks.  An area that spans two zones cannot be activated ("CMA area reserved could not
    be activated"): its pages are freed as ordinary ones and None is returned.  The area becomes
    ``machine.dma.default_cma`` ("reserved").
    """
    page = machine.page_size
    base_pfn, count = base // page, size // page
    zone = machine.zone_of(base_pfn)
    pbo = zone.pageblock_order
    start, end = base_pfn - zone._base, base_pfn + count - zone._base
    state = machine.dma
    if not zone.contains(base_pfn + count - 1):
        for first in range(base_pfn, base_pfn + count, 1 << pbo):
            _manage(machine.zone_of(first), first, first + (1 << pbo))
            machine.zone_of(first)._free_pages_memory(first, first + (1 << pbo))
        state.boot_lines.append("cma: CMA area reserved could not be activated")
        return None
    zone._pb_mt[start >> pbo:end >> pbo] = bytes([MIGRATE_CMA]) * ((end - start) >> pbo)
    for slot in range(start, end, 1 << pbo):
        zone._alloc_order[slot] = NO_ORDER
        zone._free_one_page(slot, pbo, MIGRATE_CMA, False)
    _manage(zone, base_pfn, base_pfn + count)
    cma = Cma("reserved", base_pfn, count, 0, zone.name, page)
    cma.boot_line = f"cma: Reserved {size >> 20} MiB at {_pa(base)}"
    state.cma_areas.append(cma)
    state.default_cma = cma
    return cma


def cma_declare_contiguous(machine, size: int, base: int = 0, limit: int = 0, alignment: int = 0,
                           order_per_bit: int = 0, fixed: bool = False, name: str | None = None) -> Cma:
    """``cma_declare_contiguous_nid()``: align, place, reserve and declare an area.

    ``alignment`` is raised to CMA_MIN_ALIGNMENT_BYTES; a ``fixed`` base must already be aligned;
    base and size are rounded up and ``limit`` down.  Without ``fixed`` the area goes bottom-up
    from 4 GiB when RAM extends at least ``size`` beyond 4 GiB (so compaction moves pages out of
    it, not into it, and DMA/DMA32 stay free), else top-down below ``limit`` - as memblock would
    place it on a machine with nothing else reserved there.  Sets ``cma.boot_line``.
    """
    for label, value in (("size", size), ("base", base), ("limit", limit), ("alignment", alignment)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CmaError(f"cma_declare_contiguous(): {label} {value!r} must be a non-negative integer", errno=EINVAL)
    if not size:
        raise CmaError("cma_declare_contiguous(): size 0 (-EINVAL)", errno=EINVAL)
    if alignment and alignment & (alignment - 1):
        raise CmaError(f"alignment {alignment:#x} is not a power of 2 (-EINVAL)", errno=EINVAL)
    alignment = max(alignment, machine.page_size << machine.pageblock_order)
    if fixed and base & (alignment - 1):
        raise CmaError(f"Region at {_pa(base)} must be aligned to {_pa(alignment)} bytes", errno=EINVAL)
    base = -(-base // alignment) * alignment
    size = -(-size // alignment) * alignment
    limit &= ~(alignment - 1)
    fixed = fixed and base != 0
    memblock_end = machine.nr_pages * machine.page_size
    if limit == 0 or limit > memblock_end:
        limit = memblock_end
    if base + size > limit:
        raise CmaError(f"Size ({_pa(size)}) of region at {_pa(base)} exceeds limit ({_pa(limit)}); "
                       f"Failed to reserve {size >> 20} MiB", errno=EINVAL)
    if not fixed:
        four_g = 1 << 32
        placed = None
        if memblock_end >= four_g + size:
            placed = _find_free(machine, size, alignment, max(base, four_g), limit, bottom_up=True)
        if placed is None:
            placed = _find_free(machine, size, alignment, base, limit, bottom_up=False)
        if placed is None:
            raise CmaError(f"Failed to reserve {size >> 20} MiB: no free aligned range in "
                           f"[{_pa(base)}, {_pa(limit)})", errno=ENOMEM)
        base = placed
    cma = cma_init_reserved_mem(machine, base, size, order_per_bit, name)
    cma.boot_line = f"cma: Reserved {size >> 20} MiB at {_pa(base)}"
    return cma


def _pa(addr: int) -> str:
    """``%pa`` of a 64-bit phys_addr_t."""
    return f"0x{addr:016x}"


def _find_free(machine, size, alignment, low, high, bottom_up) -> int | None:
    """memblock_alloc_range_nid() on the model: an aligned range whose pages are all free."""
    page = machine.page_size
    step, npages = alignment // page, size // page
    free = free_pages_map(machine)
    prefix = np.concatenate(([0], np.cumsum(free)))
    first = -(-low // alignment) * step
    last = (high - size) // page
    if last < first:
        return None
    candidates = np.arange(first, last + 1, step)
    candidates = candidates[candidates + npages <= machine.nr_pages]
    ok = candidates[(prefix[candidates + npages] - prefix[candidates]) == npages]
    zones_ok = [pfn for pfn in (ok if bottom_up else ok[::-1])[:64].tolist()
                if machine.zone_of(pfn).contains(pfn + npages - 1)]
    return zones_ok[0] * page if zones_ok else None


def dma_contiguous_reserve_area(machine, size: int, base: int = 0, limit: int = 0, fixed: bool = False) -> Cma:
    """``dma_contiguous_reserve_area()``: the default area ("reserved") that ``cma=`` asks for."""
    state = machine.dma
    if state.default_cma is not None:
        raise CmaError("the default CMA area exists already (dma_contiguous_default_area)", errno=EBUSY)
    cma = cma_declare_contiguous(machine, size, base, limit, 0, 0, fixed, "reserved")
    state.default_cma = cma
    return cma


# ---------------------------------------------------------------------- allocation
def bitmap_find_next_zero_area_off(bitmap: np.ndarray, start: int, nr: int, align_mask: int, align_offset: int) -> int:
    """lib/bitmap.c: the first run of ``nr`` zero bits at or after ``start`` whose index, plus
    ``align_offset``, is aligned by ``align_mask``; returns an index >= len(bitmap) when none."""
    size = len(bitmap)
    set_bits = np.flatnonzero(bitmap)
    while True:
        zeros = np.flatnonzero(~bitmap[start:]) if start < size else np.array([], dtype=np.int64)
        index = start + int(zeros[0]) if zeros.size else size
        index = ((index + align_offset + align_mask) & ~align_mask) - align_offset
        end = index + nr
        if end > size:
            return end
        hit = set_bits[(set_bits >= index) & (set_bits < end)]
        if not hit.size:
            return index
        start = int(hit[0]) + 1


def _check_cma(machine, cma) -> Cma:
    if not isinstance(cma, Cma) or cma not in machine.dma.cma_areas:
        raise CmaError(f"{cma!r} is not a CMA area of this machine; declare one with cma_declare_contiguous()",
                       errno=EINVAL)
    return cma


def cma_alloc(machine, cma: Cma, count: int, align: int = 0, *, no_warn: bool = False,
              progress=None) -> ContigResult:
    """``cma_alloc(cma, count, align, no_warn)``: ``count`` contiguous pages aligned to 2^align.

    Returns the :class:`~.contig.ContigResult` (pfn, pages migrated out of the way).  Raises
    :class:`ContigRangeBusy` with the kernel's "alloc failed, req-size: N pages, ret: -16" line
    and each busy candidate's reason when no candidate range could be emptied; the machine is
    then as it was.
    """
    cma = _check_cma(machine, cma)
    for label, value in (("count", count), ("align", align)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgument(f"cma_alloc(): {label} {value!r} must be a non-negative integer")
    if count == 0:
        raise InvalidArgument("cma_alloc(count=0): __cma_alloc() returns NULL for no pages; ask for 1 or more")
    mask = 0 if align <= cma.order_per_bit else (1 << (align - cma.order_per_bit)) - 1
    offset = (cma.base_pfn & ((1 << align) - 1)) >> cma.order_per_bit
    bitmap_count = -(-count // (1 << cma.order_per_bit))
    maxno = len(cma.bitmap)
    ret, start, busy = EBUSY, 0, []
    with machine.bus.batch("cma_alloc"):
        machine.bus.emit("cma_alloc_start", name=cma.name, count=count, align=align)
        if bitmap_count <= maxno:
            while count <= cma.available_count:
                bitmap_no = bitmap_find_next_zero_area_off(cma.bitmap, start, bitmap_count, mask, offset)
                if bitmap_no >= maxno:
                    break
                pfn = cma.base_pfn + (bitmap_no << cma.order_per_bit)
                try:
                    result = alloc_contig_range(machine, pfn, count, cma=True, progress=progress)
                except ContigRangeBusy as error:
                    ret = error.errno
                    if error.errno != EBUSY:
                        busy.append(f"pfn {pfn:#x}: {error.reason}")
                        break
                    busy.append(f"pfn {pfn:#x}: {error.reason}")
                    machine.bus.emit("cma_alloc_busy_retry", name=cma.name, pfn=pfn, count=count, align=align)
                    start = bitmap_no + mask + 1
                    continue
                cma.bitmap[bitmap_no:bitmap_no + bitmap_count] = True
                cma.available_count -= count
                cma.allocations[pfn] = count
                machine.bus.emit("cma_alloc_finish", name=cma.name, pfn=pfn, count=count, align=align, errorno=0)
                return result
        machine.bus.emit("cma_alloc_finish", name=cma.name, pfn=0, count=count, align=align, errorno=ret)
    line = f"cma: __cma_alloc: {cma.name}: alloc failed, req-size: {count} pages, ret: {ret}"
    why = ("; ".join(busy[:3]) + ("; ..." if len(busy) > 3 else "")) if busy else (
        f"the area has {cma.available_count} of {cma.count} pages available and no free run of {count} pages "
        f"aligned to 2^{align}" if count <= cma.count else f"the area holds only {cma.count} pages")
    raise ContigRangeBusy(f"{line} ({why})", errno=ret, reason=why)


def cma_release(machine, cma: Cma, pfn: int, count: int) -> None:
    """``cma_release()``: free pages ``cma_alloc()`` gave (all of an allocation or a part of one).

    Raises :class:`CmaError` for pages outside the area (the kernel's ``cma_pages_valid()``
    false) or not handed out by it, before anything is freed.
    """
    cma = _check_cma(machine, cma)
    if isinstance(pfn, bool) or not isinstance(pfn, int) or isinstance(count, bool) or not isinstance(count, int) \
            or count <= 0:
        raise CmaError(f"cma_release({pfn!r}, {count!r}): give the first pfn and a positive page count", errno=EINVAL)
    if not (cma.contains(pfn) and pfn + count <= cma.end_pfn):
        raise CmaError(f"cma_release({pfn:#x}, {count}): not inside CMA area {cma.name} "
                       f"(pfns {cma.base_pfn:#x}-{cma.end_pfn - 1:#x}): cma_pages_valid() is false", errno=EINVAL)
    owner = next((start for start, n in cma.allocations.items() if start <= pfn and pfn + count <= start + n), None)
    if owner is None:
        raise CmaError(f"cma_release({pfn:#x}, {count}): CMA area {cma.name} did not give these pages "
                       "(not one live cma_alloc() allocation): a double release or a wrong count", errno=EINVAL)
    with machine.bus.batch("cma_release"):
        free_contig_range(machine, pfn, count)
        length = cma.allocations.pop(owner)
        if owner < pfn:
            cma.allocations[owner] = pfn - owner
        if pfn + count < owner + length:
            cma.allocations[pfn + count] = owner + length - pfn - count
        machine.dma.contig_owned.pop(owner, None)
        first = (pfn - cma.base_pfn) >> cma.order_per_bit
        cma.bitmap[first:first + -(-count // (1 << cma.order_per_bit))] = False
        cma.available_count += count
        machine.bus.emit("cma_release", name=cma.name, pfn=pfn, count=count)


# ---------------------------------------------------------------------- counters
def totalcma_pages(machine) -> int:
    """``totalcma_pages``: pages in every CMA area."""
    return sum(cma.count for cma in machine.dma.cma_areas)


def cma_meminfo_lines(machine) -> list[str]:
    """/proc/meminfo's ``CmaTotal:`` and ``CmaFree:`` lines (fs/proc/meminfo.c ``show_val_kb()``).

    CmaFree is NR_FREE_CMA_PAGES, the free pages on every zone's CMA lists.
    """
    kib = machine.page_size // 1024
    free = sum(zone.nr_free_cma for zone in machine.zones)
    return [f"CmaTotal:       {totalcma_pages(machine) * kib:8d} kB", f"CmaFree:        {free * kib:8d} kB"]


def check_cma_invariants(machine) -> None:
    """Raise ``InvariantViolation`` unless every CMA area is consistent.

    Its pageblocks are all MIGRATE_CMA; every allocated block in it is movable or part of a
    live ``cma_alloc()`` allocation (CMA pageblocks never hold unmovable pages); its bitmap
    and ``available_count`` agree with the live allocations.
    """
    from ..errors import InvariantViolation

    for cma in machine.dma.cma_areas:
        zone = machine.zone(cma.zone)
        start, end = cma.base_pfn - zone._base, cma.end_pfn - zone._base
        types = np.frombuffer(zone._pb_mt, dtype=np.uint8)[start >> zone.pageblock_order:end >> zone.pageblock_order]
        if not np.all(types == MIGRATE_CMA):
            raise InvariantViolation(f"CMA area {cma.name}: a pageblock is not MIGRATE_CMA")
        owned = np.zeros(cma.count, dtype=bool)
        for pfn, n in cma.allocations.items():
            owned[pfn - cma.base_pfn:pfn - cma.base_pfn + n] = True
        orders = np.frombuffer(zone._alloc_order, dtype=np.uint8)[start:end]
        kinds = np.frombuffer(zone._alloc_mt, dtype=np.uint8)[start:end]
        heads = orders != NO_ORDER
        bad = np.flatnonzero(heads & (kinds != MIGRATE_MOVABLE) & ~owned)
        if bad.size:
            raise InvariantViolation(f"CMA area {cma.name}: unmovable block at pfn {cma.base_pfn + int(bad[0]):#x}")
        if owned.sum() != cma.count - cma.available_count:
            raise InvariantViolation(f"CMA area {cma.name}: available_count {cma.available_count} disagrees")
        bits = owned.reshape(-1, 1 << cma.order_per_bit).any(axis=1)
        if not np.array_equal(bits, cma.bitmap):
            raise InvariantViolation(f"CMA area {cma.name}: bitmap disagrees with the live allocations")
