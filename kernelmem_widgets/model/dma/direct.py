"""``dma_alloc_coherent()`` and ``dma_free_coherent()``: kernel/dma/mapping.c -> kernel/dma/direct.c.

Read in gregkh/linux kernel/dma/direct.c @ 2c142b63c8ee (the 6.18-era file with
``dma_direct_map_phys()``) and kernel/dma/contiguous.c.  Without an IOMMU,
``dma_direct_alloc()`` -> ``__dma_direct_alloc_pages()``:

1. ``dma_direct_optimal_gfp_mask()``: the coherent limit (``min_not_zero(coherent_dma_mask,
   bus_dma_limit)``) picks the zone: <= ``zone_dma_limit`` (16 MiB) -> GFP_DMA, <= 4 GiB ->
   GFP_DMA32, else none ("optimistically try the zone that the physical address mask falls into
   first");
2. ``dma_alloc_contiguous()``: the device's CMA area, else (for more than one page) the default
   area, with ``cma_alloc(count, min(get_order(size), CONFIG_CMA_ALIGNMENT))``; a CMA range the
   device cannot reach (``dma_coherent_ok()`` false) is given back;
3. ``alloc_pages_node(gfp, get_order(size))`` in a loop: memory the device cannot reach is freed
   and the next lower zone tried (GFP_DMA32, then GFP_DMA), until none is left.

The buffer is physically contiguous, zeroed, mapped in the direct map (``cpu_addr`` =
``page_address()``) and ``dma_addr`` = its physical address (x86 without memory encryption).
With an IOMMU (``iommu_dma_alloc()`` -> ``iommu_dma_alloc_remap()``) pages come in the largest
orders the IOMMU can map (2 MiB then 4 KiB on x86) from anywhere, one IOVA range covers them and
``cpu_addr`` is a vmap() address: see :mod:`.iommu` for what is simplified there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AllocationError, InvalidSize
from ..page_alloc.gfp import gfp_name, parse_gfp
from ..units import format_size
from .cma import CONFIG_CMA_ALIGNMENT, cma_alloc, cma_release
from .device import ZONE_DMA_LIMIT, DMA_BIT_MASK, Device
from .errors import EINVAL, ENOMEM, ContigRangeBusy, DmaAllocError, DmaInvalidFree
from .iommu import IOMMU_PAGE_ORDERS, iommu_dma_alloc_iova, iommu_dma_free_iova

__all__ = ["DmaBuffer", "dma_direct_optimal_gfp_mask", "dma_coherent_ok", "dma_alloc_coherent",
           "dma_free_coherent", "get_order"]

_ZONE_FLAGS = frozenset(("__GFP_DMA", "__GFP_DMA32", "__GFP_HIGHMEM"))


def get_order(size: int, page_size: int = 4096) -> int:
    """``get_order()``: the smallest order whose block holds ``size`` bytes."""
    pages = -(-size // page_size)
    return max(0, (pages - 1).bit_length())


@dataclass
class DmaBuffer:
    """What ``dma_alloc_coherent()`` handed out.

    ``runs`` lists (first pfn, page count) of the physical memory behind it: one run for
    dma-direct, possibly many with an IOMMU.  ``steps`` says, in the kernel's terms, what was
    tried on the way.
    """

    device: Device
    size: int
    cpu_addr: int
    dma_addr: int
    runs: list[tuple[int, int]]
    source: str                      # "cma", "buddy" or "iommu"
    page_size: int = 4096
    order: int | None = None
    cma: object = None
    steps: list[str] = field(default_factory=list)
    blocks: list[tuple[int, int]] = field(default_factory=list)   # (pfn, order) from the buddy allocator
    migrated: dict[int, int] = field(default_factory=dict)        # CMA: old pfn -> new pfn of what moved out

    @property
    def phys_addr(self) -> int | None:
        """The physical address when the buffer is one run (always without an IOMMU)."""
        return self.runs[0][0] * self.page_size if len(self.runs) == 1 else None

    @property
    def pfns(self) -> list[int]:
        return [pfn for start, count in self.runs for pfn in range(start, start + count)]

    @property
    def nr_pages(self) -> int:
        return sum(count for _start, count in self.runs)

    def phys_ranges(self) -> list[tuple[int, int]]:
        """(first byte, last byte) of each physically contiguous run."""
        return [(start * self.page_size, (start + count) * self.page_size - 1) for start, count in self.runs]

    def describe(self) -> str:
        ranges = ", ".join(f"[mem {lo:#012x}-{hi:#012x}]" for lo, hi in self.phys_ranges()[:4])
        more = f" and {len(self.runs) - 4} more runs" if len(self.runs) > 4 else ""
        return (f"{self.device.name}: {format_size(self.size)} from {self.source}, dma_addr {self.dma_addr:#x}, "
                f"cpu_addr {self.cpu_addr:#x}, {ranges}{more}")


def dma_direct_optimal_gfp_mask(device: Device) -> tuple[frozenset, int]:
    """``dma_direct_optimal_gfp_mask()``: the zone flag for the device's coherent limit, and the limit."""
    phys_limit = device.coherent_limit
    if phys_limit <= ZONE_DMA_LIMIT:
        return frozenset({"__GFP_DMA"}), phys_limit
    if phys_limit <= DMA_BIT_MASK(32):
        return frozenset({"__GFP_DMA32"}), phys_limit
    return frozenset(), phys_limit


def dma_coherent_ok(device: Device, phys: int, size: int) -> bool:
    """``dma_coherent_ok()``: the buffer's last byte is at or below the coherent limit."""
    return phys + size - 1 <= device.coherent_limit


def _check(size, gfp):
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise InvalidSize(f"dma_alloc_coherent(): size {size!r} is not a size; accepted: a positive number of bytes")
    flags = parse_gfp(gfp)
    if "__GFP_COMP" in flags:
        raise DmaAllocError("dma_alloc_attrs(): __GFP_COMP makes no sense for a DMA buffer (WARN_ON_ONCE, NULL)",
                            errno=EINVAL, reason="__GFP_COMP")
    return flags - _ZONE_FLAGS                        # "let the implementation decide on the zone"


def dma_alloc_coherent(machine, device: Device, size: int, gfp="GFP_KERNEL", *, progress=None) -> DmaBuffer:
    """``dma_alloc_coherent(dev, size, &dma_handle, gfp)``.

    Returns a :class:`DmaBuffer`; raises :class:`DmaAllocError` (the kernel returns NULL) whose
    ``reason`` gives every step that failed, with the machine unchanged.  ``progress(done, total)``
    follows the pages CMA migrates out of the way (a lab's progress bar).
    """
    if not isinstance(device, Device):
        raise InvalidSize(f"dma_alloc_coherent(): {device!r} is not a Device")
    flags = _check(size, gfp)
    with machine.bus.batch("dma_alloc_coherent"):
        buffer = _iommu_alloc(machine, device, size, flags) if device.iommu else _direct_alloc(machine, device,
                                                                                                size, flags, progress)
    machine.dma.buffers[buffer.cpu_addr] = buffer
    machine.bus.emit("dma_alloc", device=device.name, size=size, dma_addr=buffer.dma_addr, source=buffer.source)
    return buffer


def _direct_alloc(machine, device, size, flags, progress=None) -> DmaBuffer:
    page = machine.page_size
    size_aligned = -(-size // page) * page
    zone_flag, phys_limit = dma_direct_optimal_gfp_mask(device)
    flags = flags | zone_flag
    steps = [f"dma_direct_optimal_gfp_mask(): coherent limit {phys_limit:#x} -> "
             f"{gfp_name(zone_flag) if zone_flag else 'no zone flag (any zone)'}"]
    buffer = _try_cma(machine, device, size, size_aligned, flags, steps, progress)
    if buffer is not None:
        return buffer
    order = get_order(size_aligned, page)
    if order > machine.max_page_order:
        steps.append(f"alloc_pages_node(order {order}): order {order} > MAX_PAGE_ORDER {machine.max_page_order} "
                     f"(WARN_ON_ONCE in __alloc_pages(): the buddy allocator's largest block is "
                     f"{format_size(page << machine.max_page_order)})")
        raise _failed(device, size, steps, order)
    zones = set(machine.config.zone_names)
    while True:
        try:
            pfn = machine.alloc_pages(flags, order)
        except AllocationError as error:
            steps.append(f"alloc_pages_node({gfp_name(flags)}, order {order}): {error.reason}")
            raise _failed(device, size, steps, order) from None
        if dma_coherent_ok(device, pfn * page, size_aligned):
            steps.append(f"alloc_pages_node({gfp_name(flags)}, order {order}) = pfn {pfn:#x}")
            return DmaBuffer(device, size, machine.config.page_offset + pfn * page, pfn * page,
                             [(pfn, 1 << order)], "buddy", page, order, None, steps, [(pfn, order)])
        machine.free_pages(pfn, order)
        steps.append(f"pfn {pfn:#x} ends above the coherent limit {phys_limit:#x}: freed, lower zone next")
        if "DMA32" in zones and phys_limit < DMA_BIT_MASK(64) and not flags & {"__GFP_DMA32", "__GFP_DMA"}:
            flags = flags | {"__GFP_DMA32"}
        elif "DMA" in zones and "__GFP_DMA" not in flags:
            flags = (flags - {"__GFP_DMA32"}) | {"__GFP_DMA"}
        else:
            raise _failed(device, size, steps, order)


def _try_cma(machine, device, size, size_aligned, flags, steps, progress=None) -> DmaBuffer | None:
    """``dma_alloc_contiguous()`` and the ``dma_coherent_ok()`` check of its result."""
    page = machine.page_size
    if "__GFP_DIRECT_RECLAIM" not in flags:
        steps.append("dma_alloc_contiguous(): the gfp may not sleep, CMA is not used")
        return None
    area = device.cma_area
    if area is None:
        if size_aligned <= page:
            return None
        area = machine.dma.default_cma
        if area is None:
            steps.append("dma_alloc_contiguous(): no CMA area (boot with cma=)")
            return None
    count = size_aligned // page
    align = min(get_order(size_aligned, page), CONFIG_CMA_ALIGNMENT)
    try:
        result = cma_alloc(machine, area, count, align, no_warn="__GFP_NOWARN" in flags, progress=progress)
    except ContigRangeBusy as error:
        steps.append(f"cma_alloc({area.name}, {count}, {align}) failed: {error}")
        return None
    if not dma_coherent_ok(device, result.pfn * page, size_aligned):
        cma_release(machine, area, result.pfn, count)
        steps.append(f"cma_alloc() gave pfn {result.pfn:#x}, above the coherent limit "
                     f"{device.coherent_limit:#x}: released (dma_free_contiguous())")
        return None
    steps.append(f"cma_alloc({area.name}, {count}, {align}) = pfn {result.pfn:#x}"
                 + (f", {len(result.migrated)} blocks migrated out of the way" if result.migrated else ""))
    return DmaBuffer(device, size, machine.config.page_offset + result.pfn * page, result.pfn * page,
                     [(result.pfn, count)], "cma", page, None, area, steps, migrated=dict(result.migrated))


def _iommu_alloc(machine, device, size, flags) -> DmaBuffer:
    """``iommu_dma_alloc_remap()``: pages of the IOMMU's orders, one IOVA range, a vmap address."""
    page = machine.page_size
    count = -(-size // page)
    flags = flags | {"__GFP_NOWARN", "__GFP_HIGHMEM"}
    blocks, steps = [], []
    remaining = count
    try:
        while remaining:
            orders = [order for order in IOMMU_PAGE_ORDERS if (1 << order) <= remaining]
            for i, order in enumerate(orders):
                attempt = flags | {"__GFP_NORETRY"} if i < len(orders) - 1 else flags
                try:
                    blocks.append((machine.alloc_pages(attempt, order), order))
                    break
                except AllocationError as error:
                    if i == len(orders) - 1:
                        raise
                    steps.append(f"order-{order} page failed ({error.reason}), smaller pages next")
            remaining -= 1 << blocks[-1][1]
        iova = iommu_dma_alloc_iova(machine, device, count * page, device.coherent_limit)
    except (AllocationError, DmaAllocError) as error:
        for pfn, order in blocks:
            machine.free_pages(pfn, order)
        steps.append(f"__iommu_dma_alloc_pages(): {getattr(error, 'reason', error)}")
        raise _failed(device, size, steps, None) from None
    runs: list[tuple[int, int]] = []
    for pfn, order in blocks:
        pages = 1 << order
        if runs and runs[-1][0] + runs[-1][1] == pfn:
            runs[-1] = (runs[-1][0], runs[-1][1] + pages)
        else:
            runs.append((pfn, pages))
    steps.append(f"{len(blocks)} blocks ({sum(1 for _p, o in blocks if o)} of 2 MiB) in {len(runs)} physical runs, "
                 f"mapped at IOVA {iova:#x}")
    cpu_addr = machine.vmalloc.start + (iova & ((1 << 40) - 1))       # a vmap() address stands in
    return DmaBuffer(device, size, cpu_addr, iova, runs, "iommu", page, None, None, steps, blocks)


def _failed(device, size, steps, order) -> DmaAllocError:
    reason = "; ".join(steps)
    return DmaAllocError(f"dma_alloc_coherent({device.name}, {format_size(size)}) returned NULL: {reason}",
                         errno=ENOMEM, reason=reason, order=order)


def dma_free_coherent(machine, buffer: DmaBuffer, size: int | None = None) -> None:
    """``dma_free_coherent(dev, size, cpu_addr, dma_handle)``: the pages go back where they came from.

    Raises :class:`DmaInvalidFree` for a buffer that is not live (a double free) or a ``size``
    other than the one allocated, before anything is freed.
    """
    live = machine.dma.buffers.get(getattr(buffer, "cpu_addr", None))
    if live is not buffer:
        raise DmaInvalidFree(f"dma_free_coherent(): {buffer!r} is not a live dma_alloc_coherent() buffer "
                             "(freed already?)")
    page = machine.page_size
    if size is not None and -(-size // page) != -(-buffer.size // page):
        raise DmaInvalidFree(f"dma_free_coherent(size={size}): the buffer was allocated with size {buffer.size}; "
                             "the kernel would free the wrong number of pages")
    with machine.bus.batch("dma_free_coherent"):
        if buffer.source == "cma":
            pfn, count = buffer.runs[0]
            cma_release(machine, buffer.cma, pfn, count)
        else:
            for pfn, order in buffer.blocks:
                machine.free_pages(pfn, order)
            if buffer.source == "iommu":
                iommu_dma_free_iova(machine, buffer.device, buffer.dma_addr)
    del machine.dma.buffers[buffer.cpu_addr]
    machine.bus.emit("dma_free", device=buffer.device.name, size=buffer.size, dma_addr=buffer.dma_addr)
