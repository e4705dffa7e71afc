"""Scatter-gather tables and ``dma_map_sg()``: lib/scatterlist.c, kernel/dma/direct.c (Linux 6.18).

``sg_alloc_table_from_pages_segment(sgt, pages, n_pages, offset, size, max_segment)`` (via
``sg_alloc_append_table_from_pages()``) first counts the chunks - a new one starts where the
next page is not physically adjacent (``page_to_pfn(pages[i]) != page_to_pfn(pages[i-1]) + 1``)
or the chunk has reached ``max_segment`` (rounded down to a page; UINT_MAX by default) - then
fills one entry per chunk.  The entries live in arrays of at most SG_MAX_SINGLE_ALLOC =
PAGE_SIZE / sizeof(struct scatterlist) = 4096 / 32 = 128 entries (64-bit, with
CONFIG_NEED_SG_DMA_LENGTH: page_link 8, offset 4, length 4, dma_address 8, dma_length 4,
dma_flags 4 bytes); a longer table is chained: ``get_next_sg()`` allocates
``min(needed, 128)`` entries and the last entry of a full array becomes the chain link.  A
segment boundary (``dma_get_seg_boundary()``) is the device's requirement: the builder does not
look at it, ``dma_map_sg()`` and the IOMMU code do.

``dma_map_sg()``: dma-direct maps entry by entry (``dma_direct_map_phys()``): an entry the
device can reach (``dma_capable()``) keeps its physical address, one it cannot goes through
SWIOTLB when the pool exists (a bounce per entry, at most 256 KiB each), else the mapping fails
(DMA_MAPPING_ERROR, -EIO).  dma-iommu (``iommu_dma_map_sg()``) lays all entries out in one
IOVA range and ``__finalise_sg()`` merges them into as few DMA segments as ``max_segment_size``
and the segment boundary allow, so it returns fewer entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..errors import InvalidArgument
from .device import Device
from .errors import EIO, DmaInvalidFree, DmaMappingError, SwiotlbFull
from .iommu import iommu_dma_alloc_iova, iommu_dma_free_iova

__all__ = ["SCATTERLIST_SIZE", "SG_MAX_SINGLE_ALLOC", "SgEntry", "SgTable", "sg_alloc_table_from_pages_segment",
           "sg_alloc_table_from_pages", "sg_nents", "sg_chunk_sizes", "dma_map_sg", "dma_unmap_sg"]

SCATTERLIST_SIZE = 32            # sizeof(struct scatterlist), 64-bit, CONFIG_NEED_SG_DMA_LENGTH
SG_MAX_SINGLE_ALLOC = 4096 // SCATTERLIST_SIZE
UINT_MAX = (1 << 32) - 1


@dataclass
class SgEntry:
    """One ``struct scatterlist``: (page, offset, length), then dma_address / dma_length once mapped."""

    pfn: int
    offset: int
    length: int
    dma_address: int | None = None
    dma_length: int = 0

    def phys(self, page_size: int = 4096) -> int:
        """``sg_phys()``."""
        return self.pfn * page_size + self.offset


@dataclass
class SgTable:
    """``struct sg_table``: ``orig_nents`` entries, ``nents`` DMA segments once mapped."""

    entries: list[SgEntry]
    chunks: list[int]
    page_size: int = 4096
    nents: int = 0
    mapped_by: str = ""
    device: Device | None = None
    bounces: list[int] = field(default_factory=list)     # swiotlb tlb_addr of each bounced entry
    iova: int | None = None

    @property
    def orig_nents(self) -> int:
        return len(self.entries)

    @property
    def length(self) -> int:
        return sum(entry.length for entry in self.entries)

    def dma_segments(self) -> list[tuple[int, int]]:
        """(dma_address, dma_length) of the segments the device is programmed with."""
        return [(entry.dma_address, entry.dma_length) for entry in self.entries[:self.nents]]

    def describe(self) -> str:
        text = (f"{self.orig_nents} entries of {self.length:,} bytes in {len(self.chunks)} scatterlist array"
                f"{'s' if len(self.chunks) != 1 else ''} ({', '.join(map(str, self.chunks))} entries)")
        if self.nents:
            text += f"; mapped by {self.mapped_by} into {self.nents} DMA segments"
        return text


def sg_chunk_sizes(nents: int) -> list[int]:
    """The arrays ``get_next_sg()`` allocates for ``nents`` entries (each full one gives a slot to the chain)."""
    sizes, placed = [], 0
    while placed < nents:
        needed = nents - placed
        size = min(needed, SG_MAX_SINGLE_ALLOC)
        sizes.append(size)
        placed += size if size == needed else size - 1
    return sizes


def _check_pages(pages: Sequence[int], offset: int, size: int, page_size: int) -> list[int]:
    if isinstance(pages, (str, bytes)) or not hasattr(pages, "__len__"):
        raise InvalidArgument("pages must be a sequence of page frame numbers")
    pfns = [int(pfn) for pfn in pages]
    if not pfns:
        raise InvalidArgument("sg_alloc_table_from_pages(): no pages (n_pages 0)")
    if any(pfn < 0 for pfn in pfns):
        raise InvalidArgument("a page frame number cannot be negative")
    for label, value in (("offset", offset), ("size", size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgument(f"sg_alloc_table_from_pages(): {label} {value!r} must be a non-negative integer")
    if offset >= page_size:
        raise InvalidArgument(f"offset {offset} must be within the first page (< {page_size})")
    if size == 0 or offset + size > len(pfns) * page_size:
        raise InvalidArgument(f"size {size} with offset {offset} does not fit the {len(pfns)} pages given")
    return pfns


def sg_alloc_table_from_pages_segment(pages: Sequence[int], offset: int, size: int, max_segment: int = UINT_MAX,
                                      *, page_size: int = 4096) -> SgTable:
    """``sg_alloc_table_from_pages_segment()``: one entry per run of adjacent pages, runs cut at ``max_segment``.

    >>> sg_alloc_table_from_pages_segment([10, 11, 12, 40], 0, 4 * 4096).orig_nents
    2
    """
    pfns = _check_pages(pages, offset, size, page_size)
    if isinstance(max_segment, bool) or not isinstance(max_segment, int) or max_segment < page_size:
        raise InvalidArgument(f"max_segment {max_segment!r} < PAGE_SIZE (WARN_ON, -EINVAL)")
    max_segment = max_segment // page_size * page_size               # ALIGN_DOWN(max_segment, PAGE_SIZE)
    entries, cur = [], 0
    n_pages = len(pfns)
    while cur < n_pages:
        seg_len, j = 0, cur + 1
        while j < n_pages:
            seg_len += page_size
            if seg_len >= max_segment or pfns[j] != pfns[j - 1] + 1:
                break
            j += 1
        chunk_size = ((j - cur) * page_size) - offset
        entries.append(SgEntry(pfns[cur], offset, min(size, chunk_size)))
        size -= chunk_size
        offset = 0
        cur = j
        if size <= 0:
            break
    return SgTable(entries, sg_chunk_sizes(len(entries)), page_size)


def sg_alloc_table_from_pages(pages: Sequence[int], offset: int, size: int, *, page_size: int = 4096) -> SgTable:
    """``sg_alloc_table_from_pages()``: the same with ``max_segment`` UINT_MAX."""
    return sg_alloc_table_from_pages_segment(pages, offset, size, UINT_MAX, page_size=page_size)


def sg_nents(table: SgTable) -> int:
    """``sg_nents()``: entries in the list, chain links not counted."""
    return table.orig_nents


# ---------------------------------------------------------------------- mapping
def dma_map_sg(machine, device: Device, table: SgTable, direction: str = "DMA_TO_DEVICE") -> int:
    """``dma_map_sg()``: map every entry for the device; returns the number of DMA segments.

    Raises :class:`DmaMappingError` (or :class:`SwiotlbFull`) with nothing left mapped when an
    entry cannot be made reachable.
    """
    if direction not in ("DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL"):
        raise InvalidArgument(f"direction {direction!r}: accepted DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL")
    if table.nents:
        raise InvalidArgument("this SG table is mapped already: dma_unmap_sg() it first")
    if device.iommu:
        return _iommu_map_sg(machine, device, table)
    page = machine.page_size
    pool = machine.dma.swiotlb
    bounced = []
    try:
        for entry in table.entries:
            phys = entry.phys(page)
            if device.dma_capable(phys, entry.length):
                entry.dma_address, entry.dma_length = phys, entry.length
                bounced.append(None)
                continue
            if pool is None:
                raise DmaMappingError(f"{device.name}: DMA addr {phys:#x}+{entry.length} overflow (mask "
                                      f"{device.dma_mask:#x}, bus limit {device.bus_dma_limit:#x}) and no swiotlb "
                                      "pool to bounce through", errno=EIO)
            tlb_addr = pool.map_single(device, phys, entry.length)
            bounced.append(tlb_addr)
            if not device.dma_capable(tlb_addr, entry.length):
                raise DmaMappingError(f"{device.name}: swiotlb addr {tlb_addr:#x}+{entry.length} overflow (mask "
                                      f"{device.dma_mask:#x}): the bounce pool is out of the device's reach",
                                      errno=EIO)
            entry.dma_address, entry.dma_length = tlb_addr, entry.length
    except (DmaMappingError, SwiotlbFull):
        for tlb_addr in bounced:
            if tlb_addr is not None:
                pool.unmap_single(tlb_addr)
        for entry in table.entries:
            entry.dma_address, entry.dma_length = None, 0
        raise
    table.bounces = [addr for addr in bounced if addr is not None]
    table.nents, table.mapped_by, table.device = table.orig_nents, "dma-direct", device
    if table.bounces:
        table.mapped_by += f" ({len(table.bounces)} entries bounced through swiotlb)"
    return table.nents


def _iommu_map_sg(machine, device: Device, table: SgTable) -> int:
    """``iommu_dma_map_sg()`` + ``__finalise_sg()``: one IOVA range, padded to the segment boundary."""
    page = machine.page_size
    mask = device.segment_boundary_mask
    layout, iova_len, prev = [], 0, None
    for entry in table.entries:
        s_iova_off = entry.offset & (page - 1)
        s_length = -(-(entry.length + s_iova_off) // page) * page      # iova_align()
        pad_len = (mask - iova_len + 1) & mask
        if pad_len and pad_len < s_length - 1 and prev is not None:
            layout[prev][2] += pad_len
            iova_len += pad_len
        layout.append([s_iova_off, entry.length, s_length])
        prev = len(layout) - 1
        iova_len += s_length
    iova = iommu_dma_alloc_iova(machine, device, iova_len, device.dma_limit)
    segments, dma_addr, cur_len = [], iova, 0
    for s_iova_off, s_length, s_iova_len in layout:
        if cur_len and not s_iova_off and (dma_addr & mask) and device.max_segment_size - cur_len >= s_length:
            cur_len += s_length
            segments[-1][1] = cur_len
        else:
            cur_len = s_length
            segments.append([dma_addr + s_iova_off, cur_len])
        dma_addr += s_iova_len
        if s_length + s_iova_off < s_iova_len:
            cur_len = 0
    for entry in table.entries:
        entry.dma_address, entry.dma_length = None, 0
    for entry, (address, length) in zip(table.entries, segments):
        entry.dma_address, entry.dma_length = address, length
    table.iova, table.nents, table.device = iova, len(segments), device
    table.mapped_by = f"dma-iommu (IOVA {iova:#x}, {iova_len:,} bytes)"
    return table.nents


def dma_unmap_sg(machine, table: SgTable) -> None:
    """``dma_unmap_sg()``: release the bounce slots or the IOVA range."""
    if not table.nents:
        raise DmaInvalidFree("dma_unmap_sg(): this SG table is not mapped")
    if table.iova is not None:
        iommu_dma_free_iova(machine, table.device, table.iova)
    for tlb_addr in table.bounces:
        machine.dma.swiotlb.unmap_single(tlb_addr)
    for entry in table.entries:
        entry.dma_address, entry.dma_length = None, 0
    table.nents, table.bounces, table.iova, table.mapped_by, table.device = 0, [], None, "", None
