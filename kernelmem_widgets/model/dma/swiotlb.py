"""SWIOTLB, the software I/O TLB: bounce buffers below 4 GiB (kernel/dma/swiotlb.c, Linux 6.18).

A device that cannot reach a buffer (a 32-bit device, a page above 4 GiB, no IOMMU) gets a
copy in a pool the kernel set aside at boot: ``swiotlb_init()`` takes IO_TLB_DEFAULT_SIZE
(64 MiB) from memblock below 4 GiB (``memblock_alloc_low()``, top-down) and cuts it into
IO_TLB_SIZE = 2 KiB slots (IO_TLB_SHIFT 11), grouped in segments of IO_TLB_SEGSIZE = 128 slots
(256 KiB, the largest mapping) and in areas, one per CPU rounded up to a power of two
("software IO TLB: area num 4.").  Each slot's ``list`` counts the free slots from it to the
end of its segment; ``swiotlb_search_pool_area()`` walks an area from its ``index`` looking for
a slot whose count covers the request, honouring the page alignment of mappings of a page or
more (stride 2 slots), the device's ``min_align_mask`` and its segment boundary.  A mapping
larger than 256 KiB finds no such slot: "swiotlb buffer is full".

Not modelled: dynamic pools (CONFIG_SWIOTLB_DYNAMIC), restricted DMA pools, the bounce copy
itself (the model moves no data).  x86-64 sets SWIOTLB up when RAM extends above 4 GiB and no
IOMMU takes over (``pci_swiotlb_detect()``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument
from .contig import take_free_range
from .physmap import free_pages_map
from .errors import SwiotlbFull

__all__ = ["IO_TLB_SHIFT", "IO_TLB_SIZE", "IO_TLB_SEGSIZE", "IO_TLB_DEFAULT_SIZE", "SwiotlbPool", "swiotlb_init",
           "swiotlb_max_mapping_size"]

IO_TLB_SHIFT = 11
IO_TLB_SIZE = 1 << IO_TLB_SHIFT
IO_TLB_SEGSIZE = 128
IO_TLB_DEFAULT_SIZE = 64 << 20
ARCH_LOW_ADDRESS_LIMIT = 0xFFFFFFFF


def swiotlb_max_mapping_size(device) -> int:
    """``swiotlb_max_mapping_size()``: 256 KiB, less what ``min_align_mask`` can cost."""
    min_align = -(-device.min_align_mask // IO_TLB_SIZE) * IO_TLB_SIZE if device.min_align_mask else 0
    return IO_TLB_SIZE * IO_TLB_SEGSIZE - min_align


def _roundup_pow_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


class SwiotlbPool:
    """``struct io_tlb_pool`` of the default pool: slots, areas, and what each slot bounces."""

    def __init__(self, start: int, nslabs: int, nr_cpus: int) -> None:
        self.start, self.nslabs = start, nslabs
        self.end = start + (nslabs << IO_TLB_SHIFT)
        self.announced_nareas = _roundup_pow_of_two(max(nr_cpus, 1))          # swiotlb_adjust_nareas()
        nareas = self.announced_nareas
        if nslabs < nareas * IO_TLB_SEGSIZE:                                     # limit_nareas()
            nareas = nslabs // IO_TLB_SEGSIZE
        self.nareas, self.area_nslabs = nareas, nslabs // nareas
        offsets = np.arange(nslabs) & (IO_TLB_SEGSIZE - 1)
        self.list = (IO_TLB_SEGSIZE - offsets).astype(np.int32)
        self.alloc_size = np.zeros(nslabs, dtype=np.int64)
        self.orig_addr = np.full(nslabs, -1, dtype=np.int64)
        self.area_index = [0] * nareas
        self.area_used = [0] * nareas
        self.mappings: dict[int, tuple[int, int, int]] = {}    # tlb_addr -> (index, nslots, orig_addr)

    @property
    def used(self) -> int:
        return sum(self.area_used)

    def boot_lines(self) -> list[str]:
        """What ``swiotlb_adjust_nareas()`` and ``swiotlb_print_info()`` print."""
        return [f"software IO TLB: area num {self.announced_nareas}.",
                f"software IO TLB: mapped [mem 0x{self.start:016x}-0x{self.end:016x}] "
                f"({(self.nslabs << IO_TLB_SHIFT) >> 20}MB)"]

    # ------------------------------------------------------------------ slot search
    def _search_area(self, device, area: int, orig_addr: int, alloc_size: int, alloc_align_mask: int) -> int:
        """``swiotlb_search_pool_area()``."""
        boundary_mask = device.segment_boundary_mask
        tbl_dma_addr = self.start & boundary_mask
        max_slots = (boundary_mask >> IO_TLB_SHIFT) + 1
        iotlb_align_mask = device.min_align_mask
        nslots = -(-alloc_size // IO_TLB_SIZE)
        if not alloc_align_mask and not iotlb_align_mask and alloc_size >= 4096:
            alloc_align_mask = 4096 - 1
        alloc_align_mask |= IO_TLB_SIZE - 1
        iotlb_align_mask &= ~alloc_align_mask
        stride = (max(alloc_align_mask, iotlb_align_mask) >> IO_TLB_SHIFT) + 1
        if nslots > self.area_nslabs - self.area_used[area]:
            return -1
        slot_base = area * self.area_nslabs
        index = self.area_index[area]
        shift_base = -(-tbl_dma_addr // IO_TLB_SIZE)
        checked = 0
        while checked < self.area_nslabs:
            slot_index = slot_base + index
            tlb_addr = tbl_dma_addr + (slot_index << IO_TLB_SHIFT)
            if tlb_addr & alloc_align_mask or (orig_addr and (tlb_addr & iotlb_align_mask)
                                               != (orig_addr & iotlb_align_mask)):
                index = index + 1 if index + 1 < self.area_nslabs else 0
                checked += 1
                continue
            spans = ((shift_base + slot_index) & (max_slots - 1)) + nslots > max_slots
            if not spans and self.list[slot_index] >= nslots:
                return self._take(area, slot_index, nslots, alloc_size, orig_addr, index)
            index = index + stride if index + stride < self.area_nslabs else 0
            checked += stride
        return -1

    def _take(self, area, slot_index, nslots, alloc_size, orig_addr, index) -> int:
        offset = 0
        for i in range(slot_index, slot_index + nslots):
            self.list[i] = 0
            self.alloc_size[i] = alloc_size - (offset + ((i - slot_index) << IO_TLB_SHIFT))
        count, i = 0, slot_index - 1
        while i >= 0 and (i & (IO_TLB_SEGSIZE - 1)) != IO_TLB_SEGSIZE - 1 and self.list[i]:
            count += 1
            self.list[i] = count
            i -= 1
        nxt = index + nslots
        self.area_index[area] = nxt if nxt < self.area_nslabs else 0
        self.area_used[area] += nslots
        return slot_index

    # ------------------------------------------------------------------ map / unmap
    def map_single(self, device, orig_addr: int, mapping_size: int, alloc_align_mask: int = 0, cpu: int = 0) -> int:
        """``swiotlb_tbl_map_single()``: the bounce address for ``mapping_size`` bytes at ``orig_addr``."""
        if isinstance(mapping_size, bool) or not isinstance(mapping_size, int) or mapping_size <= 0:
            raise InvalidArgument(f"swiotlb map of {mapping_size!r} bytes: give a positive size")
        offset = orig_addr & device.min_align_mask & (alloc_align_mask | (IO_TLB_SIZE - 1))
        size = -(-(mapping_size + offset) // (alloc_align_mask + 1)) * (alloc_align_mask + 1)
        area = cpu & (self.nareas - 1)
        index = -1
        for _ in range(self.nareas):
            index = self._search_area(device, area, orig_addr, size, alloc_align_mask)
            if index >= 0:
                break
            area = area + 1 if area + 1 < self.nareas else 0
        if index < 0:
            raise SwiotlbFull(f"{device.name}: swiotlb buffer is full (sz: {size} bytes), total {self.nslabs} "
                              f"(slots), used {self.used} (slots)" + (
                                  f"; the largest mapping is swiotlb_max_mapping_size() = "
                                  f"{swiotlb_max_mapping_size(device)} bytes (IO_TLB_SEGSIZE {IO_TLB_SEGSIZE} "
                                  f"slots of {IO_TLB_SIZE})" if size > IO_TLB_SIZE * IO_TLB_SEGSIZE else ""))
        nslots = -(-size // IO_TLB_SIZE)
        self.orig_addr[index:index + nslots] = orig_addr + (np.arange(nslots) << IO_TLB_SHIFT)
        tlb_addr = self.start + (index << IO_TLB_SHIFT) + offset
        self.mappings[tlb_addr] = (index, nslots, orig_addr)
        return tlb_addr

    def unmap_single(self, tlb_addr: int) -> None:
        """``swiotlb_release_slots()``: the slots go back, merged with the free ones around them."""
        if tlb_addr not in self.mappings:
            raise InvalidArgument(f"swiotlb: {tlb_addr:#x} is not a live bounce mapping")
        index, nslots, _orig = self.mappings.pop(tlb_addr)
        area = index // self.area_nslabs
        end = index + nslots
        count = int(self.list[end]) if end < -(-(index + 1) // IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE else 0
        for i in range(end - 1, index - 1, -1):
            count += 1
            self.list[i] = count
            self.orig_addr[i] = -1
            self.alloc_size[i] = 0
        i = index - 1
        while i >= 0 and (i & (IO_TLB_SEGSIZE - 1)) != IO_TLB_SEGSIZE - 1 and self.list[i]:
            count += 1
            self.list[i] = count
            i -= 1
        self.area_used[area] -= nslots

    def slot_of(self, tlb_addr: int) -> int:
        return (tlb_addr - self.start) >> IO_TLB_SHIFT


def swiotlb_init(machine, size: int = IO_TLB_DEFAULT_SIZE) -> SwiotlbPool:
    """``swiotlb_init_remap()``: the default pool, ``memblock_alloc_low()`` top-down below 4 GiB.

    ``size`` is what ``swiotlb=`` would give (rounded up to whole segments).  The pages are taken
    from the buddy allocator as a boot-time reservation would keep them (declare it on a fresh
    machine); ``machine.dma.swiotlb`` is set.
    """
    state = machine.dma
    if state.swiotlb is not None:
        raise InvalidArgument("swiotlb_init(): the default pool exists already")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise InvalidArgument(f"swiotlb_init(): size {size!r} must be a positive number of bytes")
    nslabs = -(-size // IO_TLB_SIZE)
    nslabs = -(-nslabs // IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE
    nbytes = nslabs << IO_TLB_SHIFT
    start = _memblock_find_low(machine, nbytes)
    if start is None:
        raise InvalidArgument(f"swiotlb_init(): no free {nbytes >> 20} MiB below 4 GiB: Cannot allocate buffer")
    page = machine.page_size
    take_free_range(machine, start // page, -(-(start + nbytes) // page))
    state.swiotlb = SwiotlbPool(start, nslabs, machine.config.nr_cpus)
    machine.bus.emit("swiotlb_init", start=start, end=start + nbytes, nslabs=nslabs)
    return state.swiotlb


def _memblock_find_low(machine, nbytes: int) -> int | None:
    """``memblock_find_in_range_node()`` top-down in [0, ARCH_LOW_ADDRESS_LIMIT], page aligned."""
    page = machine.page_size
    limit_pfn = min(machine.nr_pages, (ARCH_LOW_ADDRESS_LIMIT + 1) // page)
    free = free_pages_map(machine, limit_pfn)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], free.astype(np.int8), [0]))))
    for run_start, run_end in reversed(list(zip(edges[::2].tolist(), edges[1::2].tolist()))):
        this_end = min(run_end * page, ARCH_LOW_ADDRESS_LIMIT)
        candidate = ((this_end - nbytes) // page) * page
        if candidate >= run_start * page:
            return candidate
    return None
