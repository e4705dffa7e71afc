"""The IOMMU side of the DMA API, simplified: drivers/iommu/dma-iommu.c and drivers/iommu/iova.c.

With an IOMMU the device sees I/O virtual addresses (IOVAs): the IOMMU's page tables map them to
pages anywhere in RAM.  Modelled: the IOVA allocator of iova.c as a top-down search below the
limit with size alignment (``alloc_iova(..., size_aligned=true)``: IOVA ranges are aligned to
their power-of-two size; ranges under 32 pages are rounded up to a power of two, as
``iommu_dma_alloc_iova()`` does for the rcache), PCI devices tried below 4 GiB first (SAC
addresses), IOVA page frame 0 never used.  Not modelled: the per-CPU IOVA rcaches, the page
tables themselves, flush queues, IOTLB invalidation.  ``iommu_dma_map_sg()``'s layout and
``__finalise_sg()``'s merging are modelled exactly: one IOVA range for the whole list, segments
padded to the device's segment boundary, merged while they stay within ``max_segment_size``.
"""

from __future__ import annotations

from bisect import insort

from .errors import ENOMEM, DmaAllocError

__all__ = ["IovaDomain", "IOMMU_PAGE_ORDERS", "iommu_domain", "iommu_dma_alloc_iova", "iommu_dma_free_iova"]

#: Intel VT-d / AMD-Vi second-level page sizes 4 KiB, 2 MiB, 1 GiB, as buddy orders <= MAX_PAGE_ORDER
IOMMU_PAGE_ORDERS = (9, 0)
IOVA_RANGE_CACHE_MAX_SIZE = 6


class IovaDomain:
    """One device's IOVA space (``struct iova_domain``), in page frames of 4 KiB."""

    def __init__(self, name: str, page_size: int = 4096) -> None:
        self.name, self.page_size = name, page_size
        self.ranges: list[tuple[int, int]] = []       # (pfn_lo, pfn_hi inclusive), sorted

    def alloc(self, nr_pages: int, limit_pfn: int, size_aligned: bool = True) -> int | None:
        """``alloc_iova()``: the highest free range of ``nr_pages`` at or below ``limit_pfn``."""
        align = (1 << (nr_pages - 1).bit_length()) if size_aligned else 1
        high = limit_pfn + 1                          # exclusive top of the gap being tried
        for lo, hi in reversed(self.ranges):
            if lo >= high:
                continue
            candidate = (high - nr_pages) & ~(align - 1)
            if candidate > hi:
                break
            high = min(high, lo)
        else:
            candidate = (high - nr_pages) & ~(align - 1)
            if candidate < 1:                          # IOVA pfn 0 is never handed out
                return None
        insort(self.ranges, (candidate, candidate + nr_pages - 1))
        return candidate

    def free(self, pfn_lo: int) -> None:
        for item in self.ranges:
            if item[0] == pfn_lo:
                self.ranges.remove(item)
                return
        raise KeyError(pfn_lo)


def iommu_domain(machine, device) -> IovaDomain:
    """The device's DMA domain (one per device here; real IOMMU groups may share one)."""
    domains = machine.dma.iommu_domains
    if device.name not in domains:
        domains[device.name] = IovaDomain(device.name, machine.page_size)
    return domains[device.name]


def iommu_dma_alloc_iova(machine, device, size: int, dma_limit: int) -> int:
    """``iommu_dma_alloc_iova()``: an IOVA (bytes) for ``size`` bytes below ``dma_limit``."""
    shift = machine.page_size.bit_length() - 1
    iova_len = -(-size >> shift) if size % machine.page_size else size >> shift
    if iova_len < (1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1)):
        iova_len = 1 << (iova_len - 1).bit_length()
    if device.bus_dma_limit:
        dma_limit = min(dma_limit, device.bus_dma_limit)
    domain = iommu_domain(machine, device)
    pfn = None
    if dma_limit > (1 << 32) - 1:
        pfn = domain.alloc(iova_len, ((1 << 32) - 1) >> shift)
    if pfn is None:
        pfn = domain.alloc(iova_len, dma_limit >> shift)
    if pfn is None:
        raise DmaAllocError(f"{device.name}: no IOVA space for {size} bytes below {dma_limit:#x}", errno=ENOMEM,
                            reason="IOVA space exhausted")
    return pfn << shift


def iommu_dma_free_iova(machine, device, iova: int) -> None:
    iommu_domain(machine, device).free(iova // machine.page_size)
