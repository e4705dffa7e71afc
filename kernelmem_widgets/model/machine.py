"""A whole machine: RAM, zones built from a preset, and the page allocator's front end.

``Machine.alloc_pages(gfp, order)`` follows ``__alloc_pages()`` of mm/page_alloc.c (Linux
6.18): the zonelist from ``gfp_zone()`` downwards, ``get_page_from_freelist()`` with the low
watermark and ALLOC_NOFRAGMENT on the fast path, then the slow path with
``gfp_to_alloc_flags()`` (min watermark, __GFP_HIGH and atomic reserves, HighAtomic
pageblocks) and, for requests that may sleep, direct compaction.  Reclaim is not modelled:
there is no page cache to reclaim, so when compaction cannot help the allocation fails.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .page_alloc.buddy import (ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_KSWAPD, ALLOC_MIN_RESERVE, ALLOC_NOFRAGMENT,
                    ALLOC_NON_BLOCK, ALLOC_WMARK_LOW, ALLOC_WMARK_MIN, Zone)
from .page_alloc.compaction import CompactionResult, compact_zone
from .errors import AllocationError, InvalidArgument, InvalidOrder, PfnOutOfRange
from .events import EventBus, Trace
from .page_alloc.gfp import Gfp, gfp_migratetype, gfp_name, gfp_zone, parse_gfp
from .page_alloc.mmzone import MIGRATE_MOVABLE, MIGRATE_TYPES, MIGRATE_UNMOVABLE
from .page_alloc.owner import OWNER_CODE, OWNERS, owner_code
from .errors import InvariantViolation
from .validate import as_int
from .presets import Preset, get_preset
from .units import format_size, memparse
from .page_alloc.vmstat import fragmentation_index
from .page_alloc.watermarks import (calculate_min_free_kbytes, setup_per_zone_lowmem_reserve,
                         setup_per_zone_wmarks, zone_watermark_ok)

__all__ = ["Machine", "MAX_RAM"]

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
    >>> machine.min_free_kbytes   # int_sqrt((16 GiB - the reserved 1 MiB) in KiB * 16)
    16383
    """

    def __init__(self, preset: Preset, ram: str | int | None = None, *, seed: int | None = None,
                 direct_compaction: bool = True) -> None:
        if not isinstance(preset, Preset):
            raise InvalidArgument(f"{preset!r} is not a Preset; use Machine.preset(name) with a name from PRESETS")
        if seed is not None:
            seed = as_int(seed, "seed", "an integer >= 0 or None")
            if seed < 0:
                raise InvalidArgument(f"seed {seed} is negative; accepted: an integer >= 0 or None")
        self.config = preset
        self.ram_bytes = memparse(preset.default_ram if ram is None else ram)
        _check_ram(self.ram_bytes, preset)
        self.seed = seed
        self.direct_compaction = direct_compaction
        self.bus = EventBus()
        self._trace = Trace(self.bus)
        self._slab = None
        self._vmalloc = None
        self._holders: list = []
        self._boot()

    @classmethod
    def preset(cls, name: str, ram: str | int | None = None, *, seed: int | None = None, **changes) -> "Machine":
        """Build a machine from a named preset; ``changes`` override preset fields (``nr_cpus=8``)."""
        preset = get_preset(name)
        if changes:
            try:
                preset = preset.with_changes(**changes)
            except (TypeError, AttributeError) as error:
                raise InvalidArgument(f"unknown preset field in {sorted(changes)}: {error}") from None
        return cls(preset, ram, seed=seed)

    # ------------------------------------------------------------------ boot
    def _boot(self) -> None:
        preset = self.config
        self.nr_pages = self.ram_bytes // preset.page_size
        free_ranges = _subtract(self.nr_pages, [(start // preset.page_size, -(-end // preset.page_size))
                                                for start, end in preset.reserved])
        total_free = sum(end - start for start, end in free_ranges)
        self.mobility_grouping = total_free >= (1 << preset.pageblock_order) * MIGRATE_TYPES
        self.zones_by_index: list[Zone | None] = []
        start = 0
        for name in preset.zone_names:
            end = self._zone_end(name)
            self.zones_by_index.append(self._make_zone(name, start, end, free_ranges) if end > start else None)
            start = max(start, end)
        self.zones = [zone for zone in self.zones_by_index if zone is not None]
        self._plans: dict[str, tuple] = {}
        lowmem = sum(z.managed_pages for z in self.zones if z.name not in ("HighMem", "Movable"))
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem * (preset.page_size // 1024))
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
        self._slab = None
        self._vmalloc = None
        for holder in list(self._holders):
            holder._machine_reset()
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
            self.bus.emit("mm_page_alloc_failed", order=order, gfp=gfp_name(gfp), reason=reason)
            raise AllocationError(f"page allocation failure: order:{order}, mode:({gfp_name(gfp)}): {reason}",
                                  order=order, reason=reason)
        zone._commit_alloc(slot, order, migratetype, code)
        pfn = slot + zone._base
        if flags & ALLOC_HIGHATOMIC:
            zone.reserve_highatomic_pageblock(pfn, order)
        if self.bus.active:
            self.bus.emit("mm_page_alloc", pfn=pfn, order=order, migratetype=migratetype, zone=zone.name,
                          gfp=gfp_name(gfp))
        return pfn

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

    def _alloc_fast_then_slow(self, gfp, order, migratetype, highest, zonelist):
        flags = ALLOC_WMARK_LOW | (ALLOC_KSWAPD if "__GFP_KSWAPD_RECLAIM" in gfp else 0)
        flags |= ALLOC_CMA if migratetype == MIGRATE_MOVABLE else 0
        if zonelist[0].name == "Normal" and "DMA32" in self.config.zone_names:
            flags |= ALLOC_NOFRAGMENT  # alloc_flags_nofragment(): CONFIG_ZONE_DMA32, one node
        zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
        if zone is not None:
            return zone, slot, flags
        flags = _gfp_to_alloc_flags(gfp, order, migratetype)
        zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
        if zone is None and order > 0 and self.direct_compaction and "__GFP_DIRECT_RECLAIM" in gfp:
            self._direct_compact(order, flags, highest, zonelist)
            zone, slot = self._get_page_from_freelist(order, migratetype, flags, highest, zonelist)
        return zone, slot, flags

    def _get_page_from_freelist(self, order, migratetype, flags, highest, zonelist):
        """``get_page_from_freelist()``: first zone above its watermark that has the block."""
        while True:
            for zone in zonelist:
                mark = zone.watermark[_WMARK_NAMES[flags & 3]]
                if not zone_watermark_ok(zone, order, mark, highest, flags):
                    continue
                slot = zone._rmqueue_buddy(order, migratetype, flags)
                if slot >= 0:
                    return zone, slot
            if not flags & ALLOC_NOFRAGMENT:
                return None, -1
            flags &= ~ALLOC_NOFRAGMENT

    def _direct_compact(self, order, flags, highest, zonelist) -> None:
        """``try_to_compact_pages()``: compact each suitable zone until one has the block."""
        with self.bus.batch("direct compaction"):
            for zone in zonelist:
                if not self._compaction_suitable(zone, order, highest):
                    continue
                if compact_zone(zone, order).status == "success":
                    return

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
            if zone.nr_free_pages - (1 << order) + 1 <= mark:
                parts.append(f"zone {zone.name}: {zone.nr_free_pages:,} free pages, not above the min "
                             f"watermark {zone.watermark['min']} + lowmem_reserve {zone.lowmem_reserve[highest]}")
            else:
                parts.append(zone.explain_failure(order, migratetype))
        return "; ".join(parts)


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
    if ram_bytes > MAX_RAM:
        raise InvalidArgument(f"RAM of {format_size(ram_bytes)} is more than this kit models: RAM up to "
                              f"{format_size(MAX_RAM)} in this kit (a zone's tables take a few bytes per page)")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
