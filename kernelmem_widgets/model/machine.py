"""A whole machine: RAM, zones built from a preset, and the page allocator's front end.

``Machine.alloc_pages(gfp, order)`` follows ``__alloc_pages()`` of mm/page_alloc.c (Linux
6.18): the zonelist from ``gfp_zone()`` downwards, ``get_page_from_freelist()`` with the low
watermark and ALLOC_NOFRAGMENT on the fast path, then the slow path with
``gfp_to_alloc_flags()`` (min watermark, __GFP_HIGH and atomic reserves, HighAtomic
pageblocks) and, for requests that may sleep, direct compaction.  Reclaim is not modelled:
there is no page cache to reclaim, so when compaction cannot help the allocation fails.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import numpy as np

from .page_alloc.buddy import (ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_KSWAPD, ALLOC_MIN_RESERVE, ALLOC_NOFRAGMENT,
                    ALLOC_NON_BLOCK, ALLOC_WMARK_LOW, ALLOC_WMARK_MIN, Zone)
from .page_alloc.compaction import CompactionResult, compact_zone
from .errors import AllocationError, BadPageState, InvalidArgument, InvalidOrder, PfnOutOfRange
from .events import EventBus, Trace, TraceLayout
from .page_alloc.gfp import Gfp, gfp_mask_value, gfp_migratetype, gfp_name, gfp_zone, parse_gfp
from .page_alloc.show_mem import show_free_areas
from .page_alloc.mmzone import MIGRATE_MOVABLE, MIGRATE_TYPES, MIGRATE_UNMOVABLE
from .page_alloc.owner import OWNER_CODE, OWNERS, owner_code, owner_hint
from .errors import InvariantViolation
from .validate import as_int
from .presets import Preset, get_preset
from .units import format_size, memparse
from .page_alloc.vmstat import fragmentation_index
from .page_alloc.watermarks import (THP_MODES, calculate_min_free_kbytes, recommended_min_free_kbytes,
                         setup_per_zone_lowmem_reserve,
                         setup_per_zone_wmarks, zone_watermark_ok)

__all__ = ["Machine", "MAX_RAM", "direct_compact_priorities"]

_WMARK_NAMES = {ALLOC_WMARK_MIN: "min", ALLOC_WMARK_LOW: "low", 2: "high"}
SYSCTL_EXTFRAG_THRESHOLD = 500
#: The largest RAM a machine of this kit may have: 256 GiB (64 Mi pages of 4 KiB) boots in seconds
MAX_RAM = 256 << 30


class Machine:
    """RAM split into zones as the preset's architecture does, each with a buddy allocator.

    Examples
    --------
    >>> machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    >>> [zone.name for zone in machine.zones]
    ['DMA', 'DMA32', 'Normal']
    >>> machine.min_free_kbytes   # khugepaged's 512 * 3 zones * (2 + 3 * 3) pages, THP madvise
    67584
    >>> Machine.preset("linux-6.18-x86_64", ram="16G", transparent_hugepage="never").min_free_kbytes
    16383
    """

    def __init__(self, preset: Preset, ram: str | int | None = None, *, seed: int | None = None,
                 direct_compaction: bool = True, e820=None, cmdline: str | None = None) -> None:
        if not isinstance(preset, Preset):
            raise InvalidArgument(f"{preset!r} is not a Preset; use Machine.preset(name) with a name from PRESETS")
        if seed is not None:
            seed = as_int(seed, "seed", "an integer >= 0 or None")
            if seed < 0:
                raise InvalidArgument(f"seed {seed} is negative; accepted: an integer >= 0 or None")
        self.config = self._preset = preset
        self.ram_bytes = memparse(preset.default_ram if ram is None else ram)
        _check_ram(self.ram_bytes, preset)
        self.seed = seed
        self.direct_compaction = direct_compaction
        #: Whether direct reclaim counts as having made progress (a real machine with page cache
        #: to drop); only then does should_compact_retry() escalate to MIN_COMPACT_PRIORITY.
        self.reclaim_progress = False
        self.bus = EventBus()
        self._trace = Trace(self.bus, layout=TraceLayout.for_config(preset))
        self._slab = None
        self._vmalloc = None
        self._holders: list = []
        self._mmu = None
        self._dma = None
        # chapter 6 (model/boot/): boot from a firmware map and a command line instead of flat RAM
        self.boot = self._firmware = self._iomem = self._ioremap = None
        self.cmdline = "" if cmdline is None else cmdline
        if e820 is not None or cmdline is not None:
            from .boot.zones import resolve_firmware

            self._firmware, self.firmware_name = resolve_firmware(preset, self.ram_bytes, e820)
        self._boot()

    @classmethod
    def preset(cls, name: str, ram: str | int | None = None, *, seed: int | None = None, e820=None,
               cmdline: str | None = None, **changes) -> "Machine":
        """Build a machine from a named preset; ``changes`` override preset fields (``nr_cpus=8``).

        With ``e820`` (True or None for the preset's firmware, a firmware name, an ``E820Table``
        or a boot log's BIOS-e820 lines) and/or ``cmdline`` (``"mem=1G memmap=64M$0x30000000"``)
        the machine boots as the kernel does, from the firmware map through memblock
        (:mod:`.boot`); without either it is flat RAM as in the earlier chapters.
        """
        preset = get_preset(name)
        if changes:
            try:
                preset = preset.with_changes(**changes)
            except (TypeError, AttributeError) as error:
                raise InvalidArgument(f"unknown preset field in {sorted(changes)}: {error}") from None
        return cls(preset, ram, seed=seed, e820=e820, cmdline=cmdline)

    # ------------------------------------------------------------------ boot
    def _boot(self) -> None:
        self.highmem_layout = self._kmap_space = None
        if self._firmware is not None:
            from .boot.zones import boot_machine

            self.config = self._preset
            self.boot = boot_machine(self, self._firmware, self.cmdline)
            self._iomem = self._ioremap = None
            self._highmem_boot([])
            if self.boot.cma is not None:             # chapter 5: the cma= area becomes MIGRATE_CMA pageblocks
                from .dma.cma import cma_activate_boot_area

                cma_activate_boot_area(self, *self.boot.cma)
                self._zones_built()
            return
        preset = self.config
        self.nr_pages = self.ram_bytes // preset.page_size
        free_ranges = _subtract(self.nr_pages, [(start // preset.page_size, -(-end // preset.page_size))
                                                for start, end in preset.reserved])
        total_free = sum(end - start for start, end in free_ranges)
        nr_migratetypes = MIGRATE_TYPES if preset.config_cma else MIGRATE_TYPES - 1  # no MIGRATE_CMA
        self.mobility_grouping = total_free >= (1 << preset.pageblock_order) * nr_migratetypes
        self.zones_by_index: list[Zone | None] = []
        start = 0
        for name in preset.zone_names:
            end = self._zone_end(name)
            self.zones_by_index.append(self._make_zone(name, start, end, free_ranges) if end > start else None)
            start = max(start, end)
        self.zones = [zone for zone in self.zones_by_index if zone is not None]
        self._zones_built()
        self._highmem_boot(free_ranges)

    def _highmem_boot(self, flat_free_ranges: list[tuple[int, int]]) -> None:
        """Chapter 4: a 32-bit preset's pfn limits and zones as its kernel lays them out (model/highmem).

        ``find_low_pfn_range()`` and ``zone_sizes_init()`` of the preset's ``highmem_rules`` with its
        ``pae``, ``vmsplit`` and ``fixaddr_start``; the zones are rebuilt only where they differ.
        """
        if self._preset.highmem_rules is None:
            return
        from .highmem.machine_boot import layout_for_machine, zone_free_ranges

        self.highmem_layout = layout = layout_for_machine(self._preset, self.boot, self.nr_pages)
        self.config = self.config.with_changes(
            page_offset=layout.page_offset, vmalloc_start=layout.vmalloc_start,
            vmalloc_size=layout.vmalloc_end - layout.vmalloc_start, modules_vaddr=layout.vmalloc_start,
            modules_end=layout.vmalloc_end)
        spans = [(name, start, end) for name, start, end in layout.zones if start < end]
        if spans == [(zone.name, zone.start_pfn, zone.end_pfn) for zone in self.zones] \
                and self.nr_pages == layout.highend_pfn:
            return
        free_ranges = zone_free_ranges(layout, self.boot, flat_free_ranges)
        self.nr_pages = layout.highend_pfn
        by_name = {name: (start, end) for name, start, end in spans}
        self.zones_by_index = [self._make_zone(name, *by_name[name], free_ranges) if name in by_name else None
                               for name in self.config.zone_names]
        self.zones = [zone for zone in self.zones_by_index if zone is not None]
        self._zones_built()

    @property
    def kmap_space(self):
        """The kmap state of this boot (model/highmem ``KmapSpace``): the pkmap window and kmap_local slots
        of a 32-bit preset, or the x86-64 direct map where ``kmap()`` is ``page_address()``."""
        if self._kmap_space is None:
            from .highmem.kmap import KmapSpace

            if self.highmem_layout is not None and self.highmem_layout.config_highmem:
                self._kmap_space = KmapSpace.from_layout(self.highmem_layout, nr_cpus=self.config.nr_cpus,
                                                         bus=self.bus)
            else:
                self._kmap_space = KmapSpace.x86_64(self.nr_pages, bus=self.bus)
        return self._kmap_space

    def _zones_built(self) -> None:
        """What the kernel derives once the zones exist, on either boot path: the zonelist plans,
        ``min_free_kbytes`` (``init_per_zone_wmark_min()``, raised by khugepaged's
        ``set_recommended_min_free_kbytes()`` when THP is on), the watermarks and ``lowmem_reserve``."""
        preset = self.config
        self._plans: dict[str, tuple] = {}
        self._has_dma32 = "DMA32" in preset.zone_names
        lowmem = sum(z.managed_pages for z in self.zones if z.name not in ("HighMem", "Movable"))
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem * (preset.page_size // 1024))
        setup_per_zone_wmarks(self.zones, self.min_free_kbytes, page_size=preset.page_size,
                              watermark_scale_factor=preset.watermark_scale_factor)
        if preset.transparent_hugepage in ("always", "madvise"):  # khugepaged starts at late_initcall
            recommended = recommended_min_free_kbytes(self.zones, self.min_free_kbytes, page_size=preset.page_size)
            if recommended > self.min_free_kbytes:
                self.min_free_kbytes = recommended
                setup_per_zone_wmarks(self.zones, self.min_free_kbytes, page_size=preset.page_size,
                                      watermark_scale_factor=preset.watermark_scale_factor)
        ratios = [preset.lowmem_reserve_ratio.get(name, 0) for name in preset.zone_names]
        setup_per_zone_lowmem_reserve(self.zones_by_index, ratios)

    def _zone_end(self, name: str) -> int:
        if name == "Movable" and all(zone_name != "Movable" for zone_name, _ in self.config.zones):
            return 0
        end = dict(self.config.zones)[name]
        return self.nr_pages if end is None else min(end // self.config.page_size, self.nr_pages)

    def _make_zone(self, name: str, start: int, end: int, free_ranges: list[tuple[int, int]]) -> Zone:
        return Zone(name, start, end, max_page_order=self.config.max_page_order,
                    pageblock_order=self.config.pageblock_order, free_ranges=free_ranges,
                    mobility_grouping=self.mobility_grouping, bus=self.bus)

    def reset(self) -> None:
        """Reboot: every zone back to its boot state (subscribers stay subscribed)."""
        old_vmalloc = self._vmalloc
        self._slab = None
        self._vmalloc = None
        for holder in list(self._holders):
            holder._machine_reset()
        if old_vmalloc is not None:     # the next boot gets a new vmalloc space: the old one holds nothing
            self.remove_holder(old_vmalloc)
        self._mmu = None
        if self._dma is not None:
            self._dma.close()
        self._dma = None
        self._boot()
        self.bus.emit("reset", ram=self.ram_bytes)

    def add_holder(self, holder) -> None:
        """Register something that holds blocks of this machine (a workload, a vmalloc window).

        ``holder.owned_blocks()`` yields ``(pfn, order, owner)`` for :meth:`check_invariants` to
        compare with the zones' records, and ``holder._machine_reset()`` is called on a reboot.
        """
        if holder not in self._holders:
            self._holders.append(holder)

    def remove_holder(self, holder) -> None:
        if holder in self._holders:
            self._holders.remove(holder)

    def reboot(self, cmdline: str | None = None, e820=None) -> None:
        """Boot again from the firmware map, with a new command line (and map): chapter 6's *boot* button.

        Everything is checked before the machine changes: a bad parameter raises
        :class:`~.boot.cmdline.InvalidBootParameter` and leaves the machine as it was.
        """
        from .boot.setup import boot_memory
        from .boot.zones import resolve_firmware

        firmware, name = (self._firmware, getattr(self, "firmware_name", "")) if e820 is None and \
            self._firmware is not None else resolve_firmware(self._preset, self.ram_bytes, e820)
        cmdline = self.cmdline if cmdline is None else cmdline
        result = boot_memory(self._preset, firmware, cmdline)          # raises before anything changes
        if self._preset.highmem_rules is not None:                    # and so does a 32-bit layout
            from .highmem.machine_boot import layout_for_machine

            layout_for_machine(self._preset, result, result.max_pfn)
        self._firmware, self.firmware_name, self.cmdline = firmware, name, cmdline
        self.reset()

    # ------------------------------------------------------------------ chapter 6: firmware map, iomem, ioremap
    def _booted(self, what: str):
        if self.boot is None:
            raise InvalidArgument(f"{what} needs a machine booted from a firmware map: "
                                  f"Machine.preset({self.config.name!r}, e820=True) or cmdline='mem=1G'")
        return self.boot

    def dmesg(self) -> list[str]:
        """The boot-log lines about memory the preset's kernel prints, in its order and format.

        A 32-bit preset adds model/highmem's lines (HIGHMEM/LOWMEM, the zone block, the "virtual
        kernel memory layout:" block of its version); booted flat, it prints those lines alone.
        """
        if self.highmem_layout is not None:
            from .highmem.machine_boot import merge_dmesg

            return merge_dmesg([] if self.boot is None else list(self.boot.lines), self.highmem_layout, self.boot)
        return list(self._booted("dmesg()").lines)

    @property
    def iomem(self):
        """The /proc/iomem resource tree (:class:`~.boot.iomem.Resource`)."""
        if self._iomem is None:
            from .boot.iomem import build_iomem, platform_resources

            boot = self._booted("/proc/iomem")
            lowmem_top = max((e.end for e in boot.table if e.type == 1 and e.end <= 1 << 32), default=0)
            lowmem_top = max((e.end for e in boot.firmware if e.end <= 0xFEC00000 and e.type in (1, 2)),
                             default=lowmem_top)
            self._iomem = build_iomem(boot, platform_resources(getattr(self, "firmware_name", ""), lowmem_top),
                                      phys_bits=boot.rules.max_phys_bits)
        return self._iomem

    @property
    def ioremap_space(self):
        """This machine's ioremap()/memremap() mappings (:class:`~.boot.ioremap.IoremapSpace`)."""
        if self._ioremap is None:
            from .boot.ioremap import IoremapSpace

            self._booted("ioremap()")
            self._ioremap = IoremapSpace(self)
        return self._ioremap

    def ioremap(self, phys_addr: int, size: int) -> int:
        """``ioremap()``: an uncached (UC-) kernel mapping of a physical range, from the vmalloc area."""
        return self.ioremap_space.ioremap(phys_addr, size, "UC-", caller="ioremap")

    def ioremap_cache(self, phys_addr: int, size: int) -> int:
        """``ioremap_cache()``: a write-back (cached) mapping."""
        return self.ioremap_space.ioremap(phys_addr, size, "WB", caller="ioremap_cache")

    def ioremap_wc(self, phys_addr: int, size: int) -> int:
        """``ioremap_wc()``: a write-combining mapping (frame buffers)."""
        return self.ioremap_space.ioremap(phys_addr, size, "WC", caller="ioremap_wc")

    def ioremap_uc(self, phys_addr: int, size: int) -> int:
        """``ioremap_uc()``: a strongly uncached mapping."""
        return self.ioremap_space.ioremap(phys_addr, size, "UC", caller="ioremap_uc")

    def iounmap(self, addr: int) -> None:
        self.ioremap_space.iounmap(addr)

    def memremap(self, phys_addr: int, size: int, flags="MEMREMAP_WB") -> int:
        """``memremap()``: RAM with MEMREMAP_WB is the direct map; anything else a new mapping."""
        return self.ioremap_space.memremap(phys_addr, size, flags)

    def memunmap(self, addr: int) -> None:
        self.ioremap_space.memunmap(addr)

    # ------------------------------------------------------------------ queries
    @property
    def page_size(self) -> int:
        return self.config.page_size

    @property
    def max_page_order(self) -> int:
        return self.config.max_page_order

    @property
    def pageblock_order(self) -> int:
        return self.config.pageblock_order

    @property
    def trace(self) -> Trace:
        """The last 2000 events since the machine was built, as ftrace-like lines."""
        return self._trace

    @property
    def slab(self):
        """This machine's slab allocator (kmalloc caches, mm/slub.c), created on first use."""
        if self._slab is None:
            from .slab.slab_common import SlabAllocator

            self._slab = SlabAllocator(self)
        return self._slab

    @property
    def vmalloc(self):
        """This machine's vmalloc area (mm/vmalloc.c), created on first use."""
        if self._vmalloc is None:
            from .vmalloc.vmalloc import VmallocSpace

            self._vmalloc = VmallocSpace(self)
        return self._vmalloc

    @property
    def mmu(self):
        """This machine's kernel page tables, direct map and TLB (model/mmu), built on first use."""
        if self._mmu is None:
            from .mmu.kernel import KernelMmu

            self._mmu = KernelMmu(self)
        return self._mmu

    @property
    def dma(self):
        """This machine's DMA state (CMA areas, pins, SWIOTLB: model/dma/), created on first use."""
        if self._dma is None:
            from .dma.state import DmaState

            self._dma = DmaState(self)
        return self._dma

    def zone(self, name: str) -> Zone:
        """A populated zone by name (any case), e.g. ``machine.zone("Normal")``."""
        if not isinstance(name, str):
            raise InvalidArgument(f"zone name {name!r} is not text; this machine has: "
                                  f"{', '.join(z.name for z in self.zones)}")
        for zone in self.zones:
            if zone.name.lower() == name.lower():
                return zone
        raise InvalidArgument(f"no populated zone {name!r}; this machine has: {', '.join(z.name for z in self.zones)}")

    def zone_of(self, pfn: int) -> Zone:
        """The zone whose span holds ``pfn``."""
        pfn = as_int(pfn, "pfn", f"an integer page frame number 0..{self.nr_pages - 1:#x}", PfnOutOfRange)
        for zone in self.zones:
            if zone.contains(pfn):
                return zone
        raise PfnOutOfRange(f"pfn {pfn:#x} is beyond RAM (pfns 0x0..{self.nr_pages - 1:#x})")

    def check_invariants(self) -> None:
        """Check every zone, every layer, and that each owner's records agree with the pages.

        Each zone proves conservation (every managed page free or in one allocated block);
        then every block the slab layer, the vmalloc windows and the workloads claim must be an
        allocated block of that order recorded with that owner, claimed once, and no block
        recorded for those owners may be unclaimed (a leak).
        """
        for zone in self.zones:
            zone.check_invariants()
        claims: list[tuple[int, int, str]] = []
        if self._slab is not None:
            self._slab.check_invariants()
            claims.extend(self._slab.owned_blocks())
        for holder in self._holders:
            holder.check_invariants()
            claims.extend(holder.owned_blocks())
        seen: set[int] = set()
        for pfn, order, owner in claims:
            _require(pfn not in seen, f"pfn {pfn:#x} is claimed by two holders")
            seen.add(pfn)
            zone = self.zone_of(pfn)
            slot = pfn - zone._base
            _require(zone._alloc_order[slot] == order, f"{owner} holds pfn {pfn:#x} order {order} but the zone "
                     f"records order {zone._alloc_order[slot]}")
            _require(OWNERS[zone._alloc_owner[slot]] == owner, f"{owner} holds pfn {pfn:#x} but the zone records "
                     f"owner {OWNERS[zone._alloc_owner[slot]]}")
        claimed_owners = {OWNER_CODE[name] for name in OWNERS if name != "alloc_pages"}
        for zone in self.zones:
            heads = np.flatnonzero(np.frombuffer(zone._alloc_order, dtype=np.uint8) != 0xFF)
            owners = np.frombuffer(zone._alloc_owner, dtype=np.uint8)[heads]
            for slot, code in zip(heads.tolist(), owners.tolist()):
                if code in claimed_owners:
                    _require(slot + zone._base in seen, f"pfn {slot + zone._base:#x} is recorded for {OWNERS[code]} "
                             "but nobody holds it (a leak)")

    def subscribe(self, listener):
        return self.bus.subscribe(listener)

    def describe(self) -> str:
        """The machine's parameters, echoed the way an ostep simulator does."""
        lines = [f"{self.config.name}: Linux {self.config.kernel_version} {self.config.arch}, "
                 f"RAM {format_size(self.ram_bytes)} ({self.nr_pages:,} pages of {format_size(self.page_size)}), "
                 f"MAX_PAGE_ORDER {self.max_page_order}, pageblock_order {self.pageblock_order}, "
                 f"min_free_kbytes {self.min_free_kbytes}"]
        for zone in self.zones:
            lines.append(f"  zone {zone.name:<7} pfns {zone.start_pfn:#x}-{zone.end_pfn - 1:#x}  "
                         f"managed {zone.managed_pages:,}  free {zone.nr_free_pages:,}  "
                         f"watermarks min {zone.watermark['min']} low {zone.watermark['low']} high {zone.watermark['high']}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ allocation
    def alloc_pages(self, gfp: str | Gfp, order: int, *, owner: str = "alloc_pages") -> int:
        """``alloc_pages(gfp, order)``: the first pfn of ``2**order`` contiguous pages.

        ``owner`` records who holds the block (see :mod:`.page_alloc.owner`); the slab layer,
        vmalloc and the workload pass their own, and only the same owner may free it.
        Raises :class:`AllocationError` (the kernel's "page allocation failure") with the reason.
        """
        if order.__class__ is not int or not 0 <= order <= self.max_page_order:
            order = self._check_order(order)
        code = OWNER_CODE.get(owner) if owner.__class__ is str else None
        if code is None:
            code = owner_code(owner)
        plan = self._plans.get(gfp) if gfp.__class__ is str else None
        if plan is None:
            plan = self._plan(gfp)
        gfp, highest, migratetype, zonelist = plan
        if not zonelist:
            raise AllocationError(f"no populated zone at or below {self.config.zone_names[highest]}", order=order)
        zone, slot, flags = self._alloc_fast_then_slow(gfp, order, migratetype, highest, zonelist)
        if zone is None:
            reason = self._explain(order, migratetype, highest, zonelist)
            if self.bus.active:  # warn_alloc() and trace_mm_page_alloc(NULL, ...): see events.format_event
                self.bus.emit("mm_page_alloc_failed", order=order, gfp=gfp_name(gfp), reason=reason,
                              mask=gfp_mask_value(gfp), migratetype=migratetype, nowarn="__GFP_NOWARN" in gfp,
                              free_areas=show_free_areas(self.zones, highest,
                                                         zone_names=self.config.zone_names,
                                                         page_size=self.page_size))
            raise AllocationError(f"page allocation failure: order:{order}, mode:({gfp_name(gfp)}): {reason}",
                                  order=order, reason=reason)
        zone._commit_alloc(slot, order, migratetype, code)
        pfn = slot + zone._base
        if flags & ALLOC_HIGHATOMIC:
            zone.reserve_highatomic_pageblock(pfn, order)
        if self.bus.active:
            self.bus.emit("mm_page_alloc", pfn=pfn, order=order, migratetype=migratetype, zone=zone.name,
                          gfp=_cached_gfp_name(gfp))
        return pfn

    def alloc_pages_many(self, gfp: str | Gfp, order: int, count: int, *, trace: bool = True,
                         owner: str = "alloc_pages") -> tuple[list[int], AllocationError | None]:
        """``count`` calls of :meth:`alloc_pages` with one mask and order, at the cost of a few.

        The result is exactly ``[alloc_pages(gfp, order) for _ in range(count)]`` (same pfns,
        lists, counters and trace events), stopping at the first failure, which is returned
        rather than raised: ``(pfns, error_or_None)``.  The blocks the fast path would take
        from the requested type's own lists, within the zone's watermark headroom, are taken in
        one :meth:`Zone._rmqueue_smallest_many`; every other block goes through
        :meth:`alloc_pages` itself.  This is how a workload ages a 16 GiB machine in seconds.
        ``trace=False`` leaves out the per-block ``mm_page_alloc`` events of the bulk part (as
        with the tracepoint off); listeners still get the events of the one-by-one part.
        """
        if count.__class__ is not int or count < 0:
            raise InvalidArgument(f"count {count!r} must be a whole number of allocations >= 0")
        if order.__class__ is not int or not 0 <= order <= self.max_page_order:
            self._check_order(order)
        code = owner_code(owner)
        plan = self._plans.get(gfp) if gfp.__class__ is str else None
        if plan is None:
            plan = self._plan(gfp)
        flags_gfp, highest, migratetype, zonelist = plan
        pfns: list[int] = []
        name = _cached_gfp_name(flags_gfp)
        bus = self.bus
        while len(pfns) < count:
            if zonelist:
                taken = self._bulk_fast_path(zonelist, highest, migratetype, order, count - len(pfns))
                if taken:
                    zone, slots = taken
                    base, owners = zone._base, zone._alloc_owner
                    for slot in slots:
                        owners[slot] = code
                    if trace and bus.active:
                        for slot in slots:
                            bus.emit("mm_page_alloc", pfn=slot + base, order=order, migratetype=migratetype,
                                     zone=zone.name, gfp=name)
                    pfns.extend(slot + base for slot in slots)
                    continue
            try:
                pfns.append(self.alloc_pages(gfp, order, owner=owner))
            except AllocationError as error:
                return pfns, error
        return pfns, None

    def alloc_pages_bulk(self, gfp: str | Gfp, nr_pages: int, *, owner: str = "alloc_pages") -> list[int]:
        """``alloc_pages_bulk()`` (mm/page_alloc.c ``alloc_pages_bulk_noprof()``, Linux 6.18).

        Up to ``nr_pages`` order-0 pages, possibly fewer: the first zone of the zonelist whose
        low watermark *plus nr_pages* is met (``zone_watermark_fast()``) gives them all through
        the per-cpu path (``__rmqueue_pcplist()`` -> ``__rmqueue()``, without ALLOC_NOFRAGMENT,
        which only ``__alloc_pages()`` adds); it stops at the first page that zone cannot give.
        When no zone qualifies, or for a single page, one ``__alloc_pages()`` call is made
        instead (:meth:`alloc_pages`, which raises when it fails).  The bulk path emits no
        ``mm_page_alloc`` events, as the kernel's does not.
        """
        if nr_pages.__class__ is not int or nr_pages < 0:
            raise InvalidArgument(f"nr_pages {nr_pages!r} must be a whole number of pages >= 0")
        if nr_pages == 0:
            return []
        code = owner_code(owner)
        plan = self._plans.get(gfp) if gfp.__class__ is str else None
        if plan is None:
            plan = self._plan(gfp)
        flags_gfp, highest, migratetype, zonelist = plan
        flags = ALLOC_WMARK_LOW | (ALLOC_CMA if migratetype == MIGRATE_MOVABLE else 0)
        zone = None
        if nr_pages > 1:
            zone = next((z for z in zonelist
                         if zone_watermark_ok(z, 0, z.watermark["low"] + nr_pages, highest, flags)), None)
        if zone is None:
            return [self.alloc_pages(gfp, 0, owner=owner)]
        slots = [] if zone.nr_free_cma else zone._rmqueue_smallest_many(0, migratetype, nr_pages)
        for slot in slots:
            zone._alloc_owner[slot] = code
        while len(slots) < nr_pages:
            slot = zone._rmqueue(0, migratetype, flags)
            if slot < 0:
                break
            zone._commit_alloc(slot, 0, migratetype, code)
            slots.append(slot)
        if not slots:
            return [self.alloc_pages(gfp, 0, owner=owner)]
        return [slot + zone._base for slot in slots]

    def _bulk_fast_path(self, zonelist, highest, migratetype, order, wanted):
        """The first zone whose low-watermark check passes, and the blocks that repeated
        fast-path calls would take from its ``migratetype`` lists before the check fails.

        ``__zone_watermark_ok()`` without reserves: the i-th block (from 0) passes while
        ``free - i * 2**order - (2**order - 1) - free HighAtomic > low + lowmem_reserve``, and
        the block it takes from the type's own list is the one its order test finds."""
        size = 1 << order
        movable = migratetype == MIGRATE_MOVABLE
        for zone in zonelist:
            cma = zone.nr_free_cma
            # without ALLOC_CMA (every type but Movable) free CMA pages do not count for the watermark
            room = (zone.nr_free_pages - (size - 1) - zone.nr_free_highatomic - zone.watermark["low"]
                    - zone.lowmem_reserve[highest] - (0 if movable else cma))
            if room <= 0:
                continue  # zone_watermark_ok() fails here; alloc_pages() tries the next zone
            if order and zone.largest_free_order() < order:
                continue
            headroom = (room + size - 1) >> order
            if cma and movable:
                # __rmqueue() takes CMA first while NR_FREE_CMA_PAGES > NR_FREE_PAGES / 2: the i-th block
                # comes from the Movable lists only while free - i * size >= 2 * cma
                balance = zone.nr_free_pages - 2 * cma
                if balance < 0:
                    return None  # leave it to the one-by-one path
                headroom = min(headroom, balance // size + 1)
            slots = zone._rmqueue_smallest_many(order, migratetype, min(wanted, headroom))
            return (zone, slots) if slots else None
        return None

    def _plan(self, gfp: str | Gfp) -> tuple:
        """What a GFP mask decides before any list is looked at; cached per mask string."""
        if len(self._plans) >= 256:
            self._plans.clear()  # a bounded cache: a loop over many spellings must not grow it
        flags = parse_gfp(gfp)
        highest = self._highest_zoneidx(flags)
        migratetype = gfp_migratetype(flags) if self.mobility_grouping else MIGRATE_UNMOVABLE
        zonelist = [z for z in reversed(self.zones_by_index[:highest + 1]) if z is not None]
        plan = (flags, highest, migratetype, zonelist)
        if isinstance(gfp, str):
            self._plans[gfp] = plan
        return plan

    def free_pages(self, pfn: int, order: int, *, owner: str = "alloc_pages") -> None:
        """``__free_pages(page, order)`` for a block from :meth:`alloc_pages` with the same ``owner``."""
        order = self._check_order(order)
        if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
            raise PfnOutOfRange(f"pfn {pfn!r} is not an integer page frame number")
        pfn = int(pfn)
        self.zone_of(pfn).free_pages(pfn, order, owner=owner)

    def free_pages_many(self, blocks: Iterable[tuple[int, int]], *, trace: bool = True,
                        owner: str = "alloc_pages") -> None:
        """:meth:`free_pages` for each ``(pfn, order)`` in turn, as ``free_unref_folios()``
        frees a batch: the same lists as one call each.  Every block is checked first (an
        allocated block's head, with its order, each once), so a bad one changes nothing.
        ``trace=False`` leaves out the ``mm_page_free`` events."""
        if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__"):
            raise InvalidArgument(f"blocks {blocks!r:.60}: accepted: an iterable of (pfn, order) pairs")
        blocks = list(blocks)
        if not all(isinstance(block, (tuple, list)) and len(block) == 2 for block in blocks):
            raise InvalidArgument("blocks: accepted: (pfn, order) pairs, each a block from alloc_pages()")
        if not isinstance(trace, bool):
            raise InvalidArgument(f"trace {trace!r:.40}: accepted: True or False")
        code = owner_code(owner)
        if not blocks:
            return
        try:
            pfns = np.array([pfn for pfn, _order in blocks], dtype=np.int64)
            orders = np.array([order for _pfn, order in blocks], dtype=np.int64)
            exact = all(p.__class__ is int and o.__class__ is int for p, o in blocks)
        except (TypeError, ValueError):
            exact = False
        if not exact:  # a non-integer somewhere: let the one-block checks name it
            for pfn, order in blocks:
                self._check_order(order)
                if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
                    raise PfnOutOfRange(f"pfn {pfn!r} is not an integer page frame number")
            pfns = np.array([int(pfn) for pfn, _order in blocks], dtype=np.int64)
            orders = np.array([int(order) for _pfn, order in blocks], dtype=np.int64)
        bad_order = (orders < 0) | (orders > self.max_page_order)
        if bad_order.any():
            self._check_order(int(orders[np.argmax(bad_order)]))
        starts = np.array([zone.start_pfn for zone in self.zones])
        zone_index = np.searchsorted(starts, pfns, side="right") - 1
        ends = np.array([zone.end_pfn for zone in self.zones])
        outside = (zone_index < 0) | (pfns >= ends[np.maximum(zone_index, 0)])
        if outside.any():
            self.zone_of(int(pfns[np.argmax(outside)]))
        for index, zone in enumerate(self.zones):
            mine = zone_index == index
            if not mine.any():
                continue
            table = np.frombuffer(zone._alloc_order, dtype=np.uint8)
            wrong = table[pfns[mine] - zone._base] != orders[mine]
            if wrong.any():
                where = int(np.flatnonzero(mine)[np.argmax(wrong)])
                zone._check_allocated(int(pfns[where]) - zone._base, int(orders[where]))
            held = np.frombuffer(zone._alloc_owner, dtype=np.uint8)[pfns[mine] - zone._base]
            if (held != code).any():
                where = int(pfns[mine][np.argmax(held != code)])
                raise BadPageState(f"BUG: Bad page state: pfn {where:#x} freed by {owner} but "
                                   f"{owner_hint(int(held[np.argmax(held != code)]))}")
        if len(np.unique(pfns)) != len(pfns):
            raise BadPageState("BUG: Bad page state: the same block appears twice in one batch of frees "
                               "(a double free); each (pfn, order) may be freed once")
        if trace:
            zones = [self.zones[index] for index in zone_index.tolist()]
            for zone, pfn, order in zip(zones, pfns.tolist(), orders.tolist()):
                zone.free_pages(pfn, order, owner=owner)
            return
        for index, zone in enumerate(self.zones):  # zone by zone: frees in different zones commute
            mine = zone_index == index
            if not mine.any():
                continue
            slots, block_orders = (pfns[mine] - zone._base).tolist(), orders[mine].tolist()
            alloc_order, pb_mt, pb_order = zone._alloc_order, zone._pb_mt, zone.pageblock_order
            free_one, split_large = zone._free_one_page, zone._split_large_buddy
            for slot, order in zip(slots, block_orders):
                alloc_order[slot] = 0xFF  # NO_ORDER
                if order <= pb_order:
                    free_one(slot, order, pb_mt[slot >> pb_order], False)
                else:
                    split_large(slot, order, False)

    def _alloc_fast_then_slow(self, gfp, order, migratetype, highest, zonelist):
        flags = ALLOC_WMARK_LOW | (ALLOC_KSWAPD if "__GFP_KSWAPD_RECLAIM" in gfp else 0)
        flags |= ALLOC_CMA if migratetype == MIGRATE_MOVABLE else 0
        if zonelist[0].name == "Normal" and self._has_dma32:
            flags |= ALLOC_NOFRAGMENT  # alloc_flags_nofragment(): CONFIG_ZONE_DMA32, one node
        zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
        if zone is not None:
            return zone, slot, flags
        return self._alloc_slowpath(gfp, order, migratetype, highest, zonelist)

    def _alloc_slowpath(self, gfp, order, migratetype, highest, zonelist):
        """``__alloc_pages_slowpath()`` (mm/page_alloc.c, 6.18) without reclaim.

        The reserve flags of ``gfp_to_alloc_flags()``; then, for a request that may sleep,
        direct compaction at the priorities :func:`direct_compact_priorities` lists; before
        failing, ``unreserve_highatomic_pageblock()`` (first keeping one pageblock, then
        ``force``, as ``__alloc_pages_direct_reclaim()`` and ``should_reclaim_retry()`` do).
        """
        flags = _gfp_to_alloc_flags(gfp, order, migratetype)
        zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
        if zone is not None or "__GFP_DIRECT_RECLAIM" not in gfp:
            return zone, slot, flags
        if order > 0 and self.direct_compaction:
            for priority in direct_compact_priorities(gfp, order, migratetype, self.reclaim_progress):
                if self._direct_compact(order, migratetype, highest, zonelist, priority) == "skipped" \
                        and order > 3 and "__GFP_NORETRY" in gfp:
                    break  # COMPACT_SKIPPED for a costly __GFP_NORETRY request: goto nopage
                zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
                if zone is not None:
                    return zone, slot, flags
        for force in (False, True, True):
            if not any(z.unreserve_highatomic_pageblock(migratetype, force) for z in zonelist):
                if force:
                    break
                continue
            zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
            if zone is not None:
                return zone, slot, flags
        return None, -1, flags

    def _get_page_from_freelist(self, order, migratetype, flags, highest, zonelist):
        """``get_page_from_freelist()``: first zone above its watermark that has the block."""
        pcp_allowed = order <= 3 or (order == self.pageblock_order and self.config.transparent_hugepage is not None)
        while True:
            for zone in zonelist:
                mark = zone.watermark[_WMARK_NAMES[flags & 3]]
                if not zone_watermark_ok(zone, order, mark, highest, flags):
                    continue
                slot = zone._rmqueue_any(order, migratetype, flags, pcp_allowed)
                if slot >= 0:
                    return zone, slot
            if not flags & ALLOC_NOFRAGMENT:
                return None, -1
            flags &= ~ALLOC_NOFRAGMENT

    def _direct_compact(self, order, migratetype, highest, zonelist, priority: str = "sync_light") -> str:
        """``try_to_compact_pages()`` -> ``compact_zone_order()``: each suitable zone until one
        has the block.  Returns "success", "complete", "contended" or "skipped"."""
        mode, ignore_block_suitable = _PRIORITY_MODES[priority]
        outcome = "skipped"
        with self.bus.batch("direct compaction"):
            for zone in zonelist:
                if not self._compaction_suitable(zone, order, highest):
                    continue
                outcome = compact_zone(zone, order, migratetype=migratetype, mode=mode, direct=True,
                                       ignore_block_suitable=ignore_block_suitable).status
                if outcome == "success":
                    break
        return outcome

    @staticmethod
    def _compaction_suitable(zone: Zone, order: int, highest: int) -> bool:
        """``compaction_suitable()``: room for the copies, and failure due to fragmentation.

        The order-0 check uses the low watermark for costly orders (> PAGE_ALLOC_COSTLY_ORDER)
        and the min watermark otherwise, plus ``compact_gap(order)`` = 2 << order.
        """
        mark = zone.watermark["low" if order > 3 else "min"] + (2 << order)
        if not zone_watermark_ok(zone, 0, mark, highest, ALLOC_CMA):
            return False
        if order > 3:
            index = fragmentation_index(zone._area.nr_free, order)
            if 0 <= index <= SYSCTL_EXTFRAG_THRESHOLD:
                return False
        return True

    def compact(self, zone: str | None = None, order: int = -1) -> list[CompactionResult]:
        """Compact one zone or every zone, as writing 1 to /proc/sys/vm/compact_memory does."""
        order = as_int(order, "compaction order", f"-1 (whole zone) or 0..{self.max_page_order}", InvalidOrder)
        if order != -1:
            order = self._check_order(order)
        zones = [self.zone(zone)] if zone is not None else list(self.zones)
        with self.bus.batch("compact"):
            return [compact_zone(z, order) for z in zones]

    # ------------------------------------------------------------------ helpers
    def _check_order(self, order: int) -> int:
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
            raise InvalidOrder(f"order {order!r} is not an integer; accepted: 0..{self.max_page_order}")
        order = int(order)
        if not 0 <= order <= self.max_page_order:
            what = "is negative" if order < 0 else f"exceeds MAX_PAGE_ORDER {self.max_page_order}"
            raise InvalidOrder(f"order {order} {what}; accepted: 0..{self.max_page_order} "
                               f"(order {self.max_page_order} = {format_size(self.page_size << self.max_page_order)})")
        return order

    def _highest_zoneidx(self, gfp: Gfp) -> int:
        """``gfp_zone()`` mapped onto this machine's zones (absent zones fold into Normal)."""
        name = gfp_zone(gfp)
        names = self.config.zone_names
        return names.index(name) if name in names else names.index("Normal")

    def _explain(self, order, migratetype, highest, zonelist) -> str:
        parts = []
        for zone in zonelist:
            mark = zone.watermark["min"] + zone.lowmem_reserve[highest]
            left = zone.nr_free_pages - (1 << order) + 1
            if left <= mark:
                # __zone_watermark_ok() subtracts the request first: say so, or the numbers read as wrong arithmetic
                parts.append(f"zone {zone.name}: {zone.nr_free_pages:,} free pages minus the {1 << order:,} asked "
                             f"for (order {order}) plus 1 leaves {left:,}, not above the min watermark "
                             f"{zone.watermark['min']:,} + lowmem_reserve {zone.lowmem_reserve[highest]:,} "
                             "(__zone_watermark_ok())")
            else:
                parts.append(zone.explain_failure(order, migratetype))
        return "; ".join(parts)


#: compact_priority -> (migrate_mode, ignore_block_suitable), as compact_zone_order() sets them
_PRIORITY_MODES = {"async": ("async", False), "sync_light": ("sync_light", False), "sync_full": ("sync_light", True)}


def direct_compact_priorities(gfp: Gfp, order: int, migratetype: int, reclaim_progress: bool = False) -> list[str]:
    """The direct compaction attempts ``__alloc_pages_slowpath()`` (mm/page_alloc.c, 6.18)
    makes for a request that may sleep, in order: ``"async"`` (COMPACT_PRIO_ASYNC),
    ``"sync_light"`` (COMPACT_PRIO_SYNC_LIGHT) or ``"sync_full"`` (MIN_COMPACT_PRIORITY, where
    ``ignore_block_suitable`` lets the free scanner use pageblocks of any type).

    * No compaction at all without __GFP_IO (``gfp_compaction_allowed()``) or for order 0.
    * A first async attempt for costly orders (> PAGE_ALLOC_COSTLY_ORDER = 3) and for
      non-movable orders > 0; a costly __GFP_NORETRY request then stays async.
    * Then DEF_COMPACT_PRIORITY (sync light).  __GFP_NORETRY stops here, and so does a costly
      order without __GFP_RETRY_MAYFAIL (``goto nopage``).
    * ``should_compact_retry()`` runs only when reclaim made progress (``reclaim_progress``;
      the model has no reclaim, so Machine passes False unless told otherwise); it lowers the
      priority to MIN_COMPACT_PRIORITY for orders <= 3, and only to
      MIN_COMPACT_COSTLY_PRIORITY (sync light) for costly ones, even with __GFP_RETRY_MAYFAIL.

    >>> from kernelmem_widgets.model.page_alloc.gfp import parse_gfp
    >>> direct_compact_priorities(parse_gfp("GFP_KERNEL"), 9, 0)
    ['async', 'sync_light']
    >>> direct_compact_priorities(parse_gfp("GFP_NOIO"), 9, 0)
    []
    >>> direct_compact_priorities(parse_gfp("GFP_KERNEL"), 2, 0, reclaim_progress=True)
    ['async', 'sync_light', 'sync_full']
    """
    if order == 0 or "__GFP_IO" not in gfp or "__GFP_DIRECT_RECLAIM" not in gfp:
        return []
    costly = order > 3
    priorities = ["async"] if costly or migratetype != MIGRATE_MOVABLE else []
    if costly and "__GFP_NORETRY" in gfp:
        return priorities + ["async"]
    priorities.append("sync_light")
    if "__GFP_NORETRY" in gfp or (costly and "__GFP_RETRY_MAYFAIL" not in gfp):
        return priorities
    if reclaim_progress and not costly:
        priorities.append("sync_full")
    return priorities


@lru_cache(maxsize=256)
def _cached_gfp_name(gfp: Gfp) -> str:
    return gfp_name(gfp)


def _gfp_to_alloc_flags(gfp: Gfp, order: int, migratetype: int) -> int:
    """``gfp_to_alloc_flags()`` (with the 6.x stable fix: HighAtomic only for __GFP_HIGH)."""
    flags = ALLOC_WMARK_MIN
    flags |= ALLOC_MIN_RESERVE if "__GFP_HIGH" in gfp else 0
    flags |= ALLOC_KSWAPD if "__GFP_KSWAPD_RECLAIM" in gfp else 0
    if "__GFP_DIRECT_RECLAIM" not in gfp and "__GFP_NOMEMALLOC" not in gfp:
        flags |= ALLOC_NON_BLOCK
        if order > 0 and flags & ALLOC_MIN_RESERVE:
            flags |= ALLOC_HIGHATOMIC
    return flags | (ALLOC_CMA if migratetype == MIGRATE_MOVABLE else 0)


def _subtract(nr_pages: int, reserved: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges = [(0, nr_pages)]
    for start, end in reserved:
        ranges = [piece for lo, hi in ranges for piece in ((lo, min(hi, start)), (max(lo, end), hi)) if piece[0] < piece[1]]
    return ranges


def _check_ram(ram_bytes: int, preset: Preset) -> None:
    minimum = preset.page_size << preset.max_page_order
    if ram_bytes < minimum or ram_bytes % preset.page_size:
        raise InvalidArgument(
            f"RAM of {ram_bytes:,} bytes is not usable: it must be a multiple of the {preset.page_size}-byte page "
            f"and at least {format_size(minimum)} (one MAX_PAGE_ORDER block); e.g. ram='16M' or ram='4G'"
        )
    if preset.transparent_hugepage is not None and preset.transparent_hugepage not in THP_MODES:
        raise InvalidArgument(f"transparent_hugepage {preset.transparent_hugepage!r} is not a THP mode; accepted: "
                              f"{', '.join(map(repr, THP_MODES))} or None (a kernel without CONFIG_TRANSPARENT_HUGEPAGE)")
    if ram_bytes > MAX_RAM:
        raise InvalidArgument(f"RAM of {format_size(ram_bytes)} is more than this kit models: RAM up to "
                              f"{format_size(MAX_RAM)} in this kit (a zone's tables take a few bytes per page)")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
