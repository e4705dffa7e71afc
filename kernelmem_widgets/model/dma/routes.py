"""Every way a driver can try to get a 100 MB DMA buffer, as routes a student can run and compare.

Each route names the kernel call, *when* it can run (boot, module load, any time), and returns a
:class:`RouteResult`: success with the physical runs, or the kernel's reason for failure, in
words.  :func:`evaluate_routes` answers "would it work now?" for every route without changing
the machine (it reads the same tables the real call would: the CMA bitmap and the range scan of
``alloc_contig_range()``, the buddy orders, the free pages a device can reach, memblock's map);
:func:`run_route` really does it, and ``result.release()`` gives everything back.

Routes (Linux 6.18 unless named): ``kmalloc()`` (mm/slub.c, KMALLOC_MAX_SIZE), ``alloc_pages()``
(MAX_PAGE_ORDER), ``dma_alloc_coherent()`` with and without a CMA area (kernel/dma/direct.c,
mm/cma.c), ``alloc_contig_pages()`` (mm/page_alloc.c), a gigantic hugetlb page at run time
(mm/hugetlb.c ``alloc_gigantic_folio()`` -> ``alloc_contig_pages()`` of 1 GiB), ``memblock_alloc()``
from a built-in driver and 2.6.35's ``alloc_bootmem()`` (boot only), ``memmap=nn$ss`` +
``memremap()`` and ``mem=`` + ``ioremap()`` (arch/x86/kernel/e820.c, arch/x86/mm/ioremap.c), an SG
list of many small allocations (lib/scatterlist.c), ``vmalloc()`` + ``vmalloc_to_page()`` into an SG
list, the IOMMU (``iommu_dma_alloc_remap()``), and one 100 MB SWIOTLB bounce (kernel/dma/swiotlb.c).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import AllocationError, InvalidArgument, InvalidOrder, KernelMemError
from ..units import format_size
from .cma import CONFIG_CMA_ALIGNMENT, bitmap_find_next_zero_area_off
from .contig import _scan_range, alloc_contig_pages, free_contig_range, kernel_align
from .device import Device
from .physmap import free_pages_map
from .direct import dma_alloc_coherent, dma_direct_optimal_gfp_mask, dma_free_coherent, get_order
from .scatterlist import sg_alloc_table_from_pages_segment
from .swiotlb import IO_TLB_SEGSIZE, IO_TLB_SIZE

__all__ = ["Route", "ROUTES", "ROUTE_NAMES", "RouteResult", "evaluate_routes", "run_route", "check_size",
           "cma_migration_estimate"]


@dataclass(frozen=True)
class Route:
    """One way to get the buffer: its short name, the kernel call and when it can run."""

    name: str
    call: str
    when: str


ROUTES: tuple[Route, ...] = (
    Route("kmalloc", "kmalloc(size, GFP_KERNEL)", "any time"),
    Route("alloc_pages", "alloc_pages(GFP_KERNEL, get_order(size))", "any time"),
    Route("dma_coherent_cma", "dma_alloc_coherent() with a CMA area", "any time, on a kernel booted with cma="),
    Route("dma_coherent", "dma_alloc_coherent() without CMA", "any time"),
    Route("alloc_contig_pages", "alloc_contig_pages(nr_pages)", "any time (best right after boot)"),
    Route("hugetlb_1g", "a 1 GiB hugetlb page (nr_hugepages at run time)", "any time (best right after boot)"),
    Route("memblock_alloc", "memblock_alloc(size) in a built-in driver", "boot only (before memblock_free_all())"),
    Route("alloc_bootmem", "alloc_bootmem(size) (Linux 2.6.35)", "boot only; bootmem was removed in 4.20"),
    Route("memmap_memremap", "memmap=nn$ss, then memremap()", "boot parameter, then module load"),
    Route("mem_ioremap", "mem=, then ioremap() of the RAM above it", "boot parameter, then module load"),
    Route("sg_small", "many small allocations + an SG list", "any time"),
    Route("vmalloc_sg", "vmalloc(size) + vmalloc_to_page() into an SG list", "any time"),
    Route("iommu", "dma_alloc_coherent() behind an IOMMU", "any time, with an IOMMU"),
    Route("swiotlb", "one streaming mapping bounced through SWIOTLB", "any time"),
)
ROUTE_NAMES = tuple(route.name for route in ROUTES)
_BY_NAME = {route.name: route for route in ROUTES}


@dataclass
class RouteResult:
    """What one route gave: ``ok``, the physical runs ``(first pfn, pages)``, and why."""

    route: Route
    ok: bool
    result: str
    why: str
    runs: list[tuple[int, int]] = field(default_factory=list)
    migrated: dict[int, int] = field(default_factory=dict)
    segments: int | None = None
    done: bool = False                          # True when run_route() really holds memory
    _release: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.route.name

    def release(self) -> None:
        """Give back what :func:`run_route` took (nothing for a failed or evaluated route)."""
        if self._release is not None:
            release, self._release = self._release, None
            release()
            self.done = False

    def row(self) -> tuple[str, str, str, str]:
        """(call, when it can run, result now, why) for the routes table."""
        return self.route.call, self.route.when, self.result, self.why


def check_size(size) -> int:
    """A buffer size: a positive number of bytes (``InvalidArgument`` otherwise)."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise InvalidArgument(f"buffer size {size!r} is not a size; accepted: a positive number of bytes, e.g. 100 << 20")
    return size


def _pages(machine, size: int) -> int:
    return -(-size // machine.page_size)


def _ok(route, result, why, runs=(), **extra) -> RouteResult:
    return RouteResult(route, True, result, why, list(runs), **extra)


def _no(route, result, why) -> RouteResult:
    return RouteResult(route, False, result, why)


# ---------------------------------------------------------------------- what would work now
def _device_gfp(device: Device) -> str:
    """GFP_KERNEL plus the zone flag of the device's mask (what a driver passes for its buffers)."""
    flags, _limit = dma_direct_optimal_gfp_mask(device)
    return "GFP_KERNEL" + "".join("|" + flag for flag in sorted(flags))


def _reachable_free(machine, device: Device | None, movable: bool = False) -> int:
    """Free pages a GFP_KERNEL (``movable``: a movable) allocation for the device may take: its mask's
    zone and below, above each zone's min watermark, CMA pages only for movable ones (ALLOC_CMA)."""
    names = machine.config.zone_names
    allowed = names
    if device is not None:
        flags, _limit = dma_direct_optimal_gfp_mask(device)
        top = "DMA" if "__GFP_DMA" in flags else "DMA32" if "__GFP_DMA32" in flags else None
        allowed = names[:names.index(top) + 1] if top in names else names
    return sum(max(0, zone.nr_free_pages - (0 if movable else zone.nr_free_cma) - zone.watermark["min"])
               for zone in machine.zones if zone.name in allowed)


def _cma_candidate(machine, cma, count: int, align: int):
    """``cma_alloc()``'s search without taking anything: (pfn, blocks to migrate) or (None, reasons)."""
    mask = (1 << align) - 1 if align else 0
    offset = cma.base_pfn & mask
    start, reasons = 0, []
    zone = machine.zone(cma.zone)
    if count > cma.available_count:
        return None, [f"the area has {cma.available_count} of {cma.count} pages available, {count} are needed"]
    while True:
        bitmap_no = bitmap_find_next_zero_area_off(cma.bitmap, start, count, mask, offset)
        if bitmap_no >= len(cma.bitmap):
            return None, reasons or [f"no free run of {count} pages aligned to 2^{align} in the area"]
        pfn = cma.base_pfn + bitmap_no
        to_move, reason, _busy = _scan_range(machine, zone, pfn - zone._base, pfn + count - zone._base, True)
        if reason is None:
            return pfn, to_move
        reasons.append(f"pfn {pfn:#x}: {reason}")
        start = bitmap_no + mask + 1


def _contig_candidate(machine, nr_pages: int, gfp: str = "GFP_KERNEL"):
    """``alloc_contig_pages()``'s window walk without taking anything."""
    _gfp, _highest, _mt, zonelist = machine._plan(gfp)
    reasons, tried = [], 0
    for zone in zonelist:
        pfn = kernel_align(zone.start_pfn, nr_pages)
        while zone.contains(pfn) and zone.contains(pfn + nr_pages - 1):
            tried += 1
            to_move, reason, _busy = _scan_range(machine, zone, pfn - zone._base, pfn + nr_pages - zone._base, False)
            if reason is None:
                return pfn, to_move, tried
            if len(reasons) < 2:
                reasons.append(f"[{pfn:#x}, {pfn + nr_pages:#x}): {reason}")
            pfn += nr_pages
    return None, reasons, tried


def _room_for(machine, route, pfn: int, count: int, to_move, who: str) -> RouteResult:
    """A candidate range is found; the migrated pages still need room elsewhere (else -ENOMEM).

    The room is estimated as the movable allocation's free pages above the min watermarks,
    less those inside the range (which is isolated): an estimate, said so.
    """
    need = sum(1 << order for _slot, order in to_move)
    inside = int(np.count_nonzero(free_pages_map(machine)[pfn:pfn + count])) if need else 0
    room = _reachable_free(machine, None, movable=True) - inside
    if need and room < need:
        return _no(route, "NULL (-ENOMEM)", f"{who} range at pfn {pfn:#x} found, but its {need:,} movable pages "
                   f"need room elsewhere and only about {max(room, 0):,} free pages are above the watermarks")
    return _ok(route, f"works: pfn {pfn:#x}", f"{who} would migrate {len(to_move):,} movable blocks "
               f"({need:,} pages) out of the way" + (" (room estimated)" if need else ""), [(pfn, count)])


def _evaluate(machine, route: Route, device: Device, size: int) -> RouteResult:
    page, name = machine.page_size, route.name
    count = _pages(machine, size)
    order = get_order(size, page)
    max_order = machine.max_page_order
    largest = page << max_order
    if name == "kmalloc":
        return _no(route, "NULL (WARN)", f"{format_size(size)} > KMALLOC_MAX_SIZE = {format_size(largest)}: kmalloc() "
                   f"hands large sizes to the page allocator, whose largest block is order {max_order}") \
            if size > largest else _ok(route, "works", f"one order-{order} block from the page allocator")
    if name == "alloc_pages":
        if order > max_order:
            return _no(route, "NULL (WARN)", f"get_order({format_size(size)}) = {order} > MAX_PAGE_ORDER {max_order}: "
                       "the buddy allocator has no block that large, however much is free")
        return _ok(route, "works if a free block is there", f"order {order} <= MAX_PAGE_ORDER {max_order}")
    if name == "dma_coherent_cma":
        cma = device.cma_area or machine.dma.default_cma
        if cma is None:
            return _no(route, "no CMA area", "no cma= on the command line (x86 sets CONFIG_CMA_SIZE_MBYTES=0)")
        if cma.count < count:
            return _no(route, "NULL", f"the CMA area is {format_size(cma.size)}, smaller than {format_size(size)}")
        if cma.end_pfn * page - 1 > device.coherent_limit and cma.base_pfn * page + size - 1 > device.coherent_limit:
            return _no(route, "NULL (CMA out of reach)", f"the area at {cma.base:#x} is above the device's coherent "
                       f"mask {device.coherent_limit:#x} (dma_coherent_ok() fails); boot with cma=...@0-4G")
        pfn, detail = _cma_candidate(machine, cma, count, min(order, CONFIG_CMA_ALIGNMENT))
        if pfn is None:
            return _no(route, "NULL (-EBUSY)", "; ".join(detail[:2]))
        return _room_for(machine, route, pfn, count, detail, "cma_alloc()")
    if name == "dma_coherent":
        if device.iommu:
            return _ok(route, "works (through the IOMMU)", "with an IOMMU dma_alloc_coherent() takes pages from "
                       "anywhere and maps them at one IOVA range (see the iommu route)")
        return _no(route, "NULL", f"without CMA dma-direct asks alloc_pages() for order {order} > MAX_PAGE_ORDER "
                   f"{max_order}") if order > max_order else _ok(route, "works if a free block is there",
                                                                 f"order {order} from the mask's zone")
    if name in ("alloc_contig_pages", "hugetlb_1g"):
        nr = count if name == "alloc_contig_pages" else (1 << 30) // page
        if name == "hugetlb_1g" and machine.nr_pages * page < (2 << 30):
            return _no(route, "no 1 GiB page", "the machine is too small for a gigantic page to be worth it")
        pfn, detail, tried = _contig_candidate(machine, nr, "GFP_HIGHUSER_MOVABLE" if name == "hugetlb_1g"
                                               else _device_gfp(device))
        if pfn is None:
            why = "; ".join(detail) if detail else "no window fits a zone"
            return _no(route, "NULL", f"{tried} candidate windows, none can be emptied: {why}")
        return _room_for(machine, route, pfn, nr, detail, f"window {tried} of alloc_contig_pages()' walk:")
    if name in ("memblock_alloc", "alloc_bootmem"):
        boot = machine.boot
        if boot is None:
            return _no(route, "not at run time", "memblock (bootmem on 2.6.35) exists only during boot; this "
                       "machine was not booted from a firmware map (Machine.preset(..., cmdline=...))")
        start = 16 << 20 if name == "alloc_bootmem" else 0
        if name == "alloc_bootmem":
            boot.memblock.bottom_up = True
        try:
            addr = boot.memblock.find_in_range(size, 4096 if name == "alloc_bootmem" else 64, start)
        finally:
            boot.memblock.bottom_up = False
        at = f"at boot it would get [mem {addr:#x}-{addr + size - 1:#x}]" if addr is not None else "no room even at boot"
        return _no(route, "only at boot", f"a module loads after memblock_free_all(): memblock is gone; {at}")
    if name == "memmap_memremap":
        region = _memmap_region(machine, size)
        if region is None:
            return _no(route, "no reserved region", "boot with memmap=100M$<addr> (escape $ in GRUB) to hide RAM "
                       "from the kernel, then memremap() it")
        return _ok(route, f"works: {region:#x}", "the hidden RAM is the driver's, contiguous, out of the allocator's "
                   "reach for good (lost to everyone else)", [(region // page, count)])
    if name == "mem_ioremap":
        region = _above_mem(machine, size)
        if region is None:
            return _no(route, "no RAM above mem=", "boot with mem= below the top of RAM; the rest is then unused by "
                       "the kernel and ioremap() may map it")
        return _ok(route, f"works: {region:#x}", "RAM above mem= is not System RAM, so ioremap() maps it (uncached: "
                   "slow for the CPU)", [(region // page, count)])
    if name in ("sg_small", "vmalloc_sg"):
        free = _reachable_free(machine, device if name == "sg_small" else None)
        if free < count:
            return _no(route, "NULL", f"{free:,} free pages, {count:,} needed")
        return _ok(route, "works (scattered)", f"{count:,} pages from {free:,} free; the device needs scatter-gather "
                   f"DMA (at most {device.max_segment_size // 1024} KiB per segment)")
    if name == "iommu":
        if not device.iommu:
            return _no(route, "no IOMMU", "the device is not behind an IOMMU (intel_iommu=on / amd_iommu, a DMA "
                       "domain); dma-direct needs contiguous memory")
        free = sum(z.nr_free_pages for z in machine.zones)
        return _ok(route, "works (one IOVA range)", f"pages from anywhere ({free:,} free), contiguous for the device "
                   "through the IOMMU") if free >= count else _no(route, "NULL", f"{free:,} free pages")
    if name == "swiotlb":
        biggest = IO_TLB_SIZE * IO_TLB_SEGSIZE
        return _no(route, "swiotlb buffer is full", f"one bounce is at most IO_TLB_SEGSIZE x IO_TLB_SIZE = "
                   f"{IO_TLB_SEGSIZE} x {IO_TLB_SIZE} = {format_size(biggest)}; the whole pool is 64 MiB") \
            if size > biggest else _ok(route, "works", "fits one SWIOTLB segment")
    raise InvalidArgument(f"no route {name!r}")


def _memmap_region(machine, size: int) -> int | None:
    """A ``memmap=nn$ss`` region (RAM in the firmware map, reserved by the command line) of ``size``."""
    boot = machine.boot
    if boot is None:
        return None
    ram = [(e.addr, e.end) for e in boot.firmware if e.type == 1]
    for entry in boot.table:
        if entry.type == 2 and entry.size >= size and any(lo <= entry.addr and entry.end <= hi for lo, hi in ram):
            return entry.addr
    return None


def _above_mem(machine, size: int) -> int | None:
    """Firmware RAM that ``mem=`` (or ``memmap=nn``) cut off, at least ``size`` long."""
    boot = machine.boot
    if boot is None:
        return None
    top = boot.max_pfn * machine.page_size
    for entry in boot.firmware:
        start = max(entry.addr, top)
        if entry.type == 1 and entry.end - start >= size:
            return start
    return None


def evaluate_routes(machine, device: Device, size: int = 100 << 20) -> list[RouteResult]:
    """Every route's answer for ``device`` and ``size`` now, the machine unchanged."""
    if not isinstance(device, Device):
        raise InvalidArgument(f"{device!r:.60} is not a Device; accepted: Device.isa(), Device.pci(bits=32), ...")
    size = check_size(size)
    return [_reach(machine, _evaluate(machine, route, device, size), device) for route in ROUTES]


def _reach(machine, result: RouteResult, device: Device) -> RouteResult:
    """A buffer the device cannot address is no answer (without an IOMMU: ``dma_capable()``)."""
    if not result.ok or device.iommu:
        return result
    page = machine.page_size
    if result.name == "vmalloc_sg":
        top = machine.nr_pages * page - 1
        if device.dma_limit < top:
            return _no(result.route, "pages out of reach", f"vmalloc() pages lie anywhere in RAM (up to {top:#x}); "
                       f"the device reaches {device.dma_limit:#x}: SWIOTLB would bounce each entry (at most "
                       "256 KiB, from a 64 MiB pool below 4 GiB)")
        return result
    for pfn, count in result.runs:
        if (pfn + count) * page - 1 > device.dma_limit:
            return _no(result.route, "out of the device's reach", f"{result.result}, but the range ends at "
                       f"{(pfn + count) * page - 1:#x}, above the device's mask {device.dma_limit:#x}")
    return result


# ---------------------------------------------------------------------- really doing it
def run_route(machine, name: str, device: Device, size: int = 100 << 20, *, progress=None) -> RouteResult:
    """Do route ``name`` for real; ``result.release()`` gives it back.  Failures are results.

    ``progress(done, total)`` follows the blocks a CMA allocation migrates (a lab's bar).
    """
    if name not in _BY_NAME:
        raise InvalidArgument(f"no route {name!r}; accepted: {', '.join(ROUTE_NAMES)}")
    if not isinstance(device, Device):
        raise InvalidArgument(f"{device!r:.60} is not a Device")
    size = check_size(size)
    route = _BY_NAME[name]
    try:
        return _run(machine, route, device, size, progress)
    except (AllocationError, InvalidOrder, KernelMemError) as error:
        return _no(route, "failed", getattr(error, "reason", "") or str(error))


def _run(machine, route: Route, device: Device, size: int, progress=None) -> RouteResult:
    name, page = route.name, machine.page_size
    count = _pages(machine, size)
    if name in ("dma_coherent_cma", "dma_coherent", "iommu"):
        if name == "dma_coherent_cma" and device.cma_area is None and machine.dma.default_cma is None:
            return _evaluate(machine, route, device, size)
        if name == "iommu" and not device.iommu:
            return _evaluate(machine, route, device, size)
        saved = machine.dma.default_cma
        if name == "dma_coherent":
            machine.dma.default_cma = None
        try:
            buffer = dma_alloc_coherent(machine, device, size, progress=progress)
        finally:
            machine.dma.default_cma = saved
        return _ok(route, f"dma_addr {buffer.dma_addr:#x}", buffer.steps[-1], buffer.runs, done=True,
                   migrated=dict(buffer.migrated), _release=lambda: dma_free_coherent(machine, buffer))
    if name == "alloc_contig_pages" or name == "hugetlb_1g":
        nr = count if name == "alloc_contig_pages" else (1 << 30) // page
        contig = alloc_contig_pages(machine, nr, "GFP_HIGHUSER_MOVABLE" if name == "hugetlb_1g" else _device_gfp(device))
        return _ok(route, f"pfn {contig.pfn:#x}", f"{len(contig.migrated)} blocks migrated", [(contig.pfn, nr)],
                   migrated=contig.migrated, done=True, _release=lambda: free_contig_range(machine, contig.pfn, nr))
    if name == "sg_small":
        return _run_sg_small(machine, route, device, size)
    if name == "vmalloc_sg":
        from .vmalloc_sg import vmalloc_to_sg_table

        addr = machine.vmalloc.vmalloc(size)
        table = vmalloc_to_sg_table(machine, addr, size, device.max_segment_size)
        runs = [(entry.pfn, -(-entry.length // page)) for entry in table.entries]
        return _ok(route, f"{table.orig_nents:,} SG entries", f"vmalloc() took {count:,} pages one by one; "
                   f"{table.describe()}", runs, segments=table.orig_nents, done=True,
                   _release=lambda: machine.vmalloc.vfree(addr))
    if name == "memmap_memremap":
        region = _memmap_region(machine, size)
        if region is None:
            return _evaluate(machine, route, device, size)
        vaddr = machine.memremap(region, size, "MEMREMAP_WB")
        return _ok(route, f"memremap() = {vaddr:#x}", f"[mem {region:#x}-{region + size - 1:#x}], hidden by memmap=",
                   [(region // page, count)], done=True, _release=lambda: machine.memunmap(vaddr))
    if name == "mem_ioremap":
        region = _above_mem(machine, size)
        if region is None:
            return _evaluate(machine, route, device, size)
        vaddr = machine.ioremap(region, size)
        return _ok(route, f"ioremap() = {vaddr:#x}", f"[mem {region:#x}-{region + size - 1:#x}] above mem=, mapped "
                   "uncached", [(region // page, count)], done=True, _release=lambda: machine.iounmap(vaddr))
    if name == "kmalloc":
        ptr = machine.slab.kmalloc(size)
        return _ok(route, f"{ptr:#x}", "kmalloc() gave it", done=True, _release=lambda: machine.slab.kfree(ptr))
    if name == "alloc_pages":
        order = get_order(size, page)
        pfn = machine.alloc_pages("GFP_KERNEL", order)
        return _ok(route, f"pfn {pfn:#x}", f"order {order}", [(pfn, 1 << order)], done=True,
                   _release=lambda: machine.free_pages(pfn, order))
    return _evaluate(machine, route, device, size)        # boot-only routes, swiotlb: nothing to hold


def _run_sg_small(machine, route, device, size) -> RouteResult:
    """The forum's "split it into small buffers": order-0 pages from the mask's zone, one SG table."""
    page = machine.page_size
    gfp = _device_gfp(device)
    count = _pages(machine, size)
    pfns, error = machine.alloc_pages_many(gfp, 0, count, trace=False)
    if error is not None:
        machine.free_pages_many([(pfn, 0) for pfn in pfns], trace=False)
        return _no(route, "NULL", error.reason)
    table = sg_alloc_table_from_pages_segment(sorted(pfns), 0, size, device.max_segment_size, page_size=page)
    runs = [(entry.pfn, -(-entry.length // page)) for entry in table.entries]
    return _ok(route, f"{table.orig_nents:,} SG entries", f"{count:,} order-0 pages ({gfp}), sorted by pfn; "
               f"{table.describe()}", runs, segments=table.orig_nents, done=True,
               _release=lambda: machine.free_pages_many([(pfn, 0) for pfn in pfns], trace=False))


def cma_migration_estimate(machine, device: Device, size: int = 100 << 20) -> int:
    """How many blocks a CMA allocation of ``size`` would migrate now (0 when it would fail or has no area)."""
    cma = device.cma_area or machine.dma.default_cma
    if cma is None:
        return 0
    count = _pages(machine, check_size(size))
    pfn, detail = _cma_candidate(machine, cma, count, min(get_order(size, machine.page_size), CONFIG_CMA_ALIGNMENT))
    return len(detail) if pfn is not None else 0
