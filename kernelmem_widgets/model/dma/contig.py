"""Contiguous ranges taken out of the buddy allocator: ``alloc_contig_range()`` and friends.

Follows mm/page_alloc.c (``alloc_contig_range_noprof()``, ``__alloc_contig_migrate_range()``,
``__alloc_contig_verify_gfp_mask()``, ``find_large_buddy()``, ``alloc_contig_pages_noprof()``,
``pfn_range_valid_contig()``, ``free_contig_range()``) and mm/page_isolation.c
(``start_isolate_page_range()``, ``set_migratetype_isolate()``, ``has_unmovable_pages()``,
``__move_freepages_block_isolate()``, ``unset_migratetype_isolate()``,
``test_pages_isolated()``) of Linux 6.18 (gregkh/linux mm/page_alloc.c @ 0425e849c744, a
6.17/6.18-era file with ``pb_isolate_mode`` and MAX_FOLIO_ORDER).

The steps: every pageblock covering [start, end) becomes MIGRATE_ISOLATE (its free pages move
to the isolate lists, where no allocation can take them); each in-use block in the range is
migrated - a new block is allocated elsewhere with GFP_KERNEL | __GFP_MOVABLE |
__GFP_RETRY_MAYFAIL and the old one freed, so it lands on the isolate list too; then the range is
all free, it is taken off the lists (from ``find_large_buddy(start)``, so a buddy straddling the
edge is taken whole and its outside part freed again), split into order-0 pages, and the
pageblocks get their type back.

What may move is decided in one place, :func:`migrate_obstacle`: today the model knows a
block's migrate type (Movable = user and page-cache pages, i.e. LRU pages) and whether
``pin_user_pages()`` holds it.  Simplification, said here once: the model checks the range for
pages that cannot move *before* it migrates anything, so a failed attempt leaves the machine as
it was; the kernel finds them only after migrating the others (``test_pages_isolated()``), so on
a real machine a failed attempt has already moved some pages.  Direct compaction is not run for
migration targets (the model's compaction does not yet skip isolated ranges).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import AllocationError, BadPageState, InvalidArgument, KernelMemError
from ..page_alloc.freearea import NO_ORDER
from ..page_alloc.mmzone import MIGRATE_CMA, MIGRATE_MOVABLE, MIGRATE_UNMOVABLE, MIGRATETYPE_NAMES
from ..page_alloc.owner import MIGRATABLE_OWNERS, OWNERS
from .page_isolation import start_isolate_page_range, undo_isolate_page_range
from .physmap import covered
from .errors import EBUSY, EINVAL, ENOMEM, ContigRangeBusy

__all__ = ["MIGRATION_GFP", "ContigResult", "migrate_obstacle", "alloc_contig_range", "alloc_contig_pages",
           "free_contig_range", "kernel_align", "take_free_range"]

#: ``__alloc_contig_verify_gfp_mask()``: the reclaim bits of GFP_KERNEL | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL.
MIGRATION_GFP = "GFP_KERNEL|__GFP_MOVABLE|__GFP_RETRY_MAYFAIL"
COMPACT_CLUSTER_MAX = 32     # pages isolate_migratepages_range() gathers per migrate_pages() batch


@dataclass
class ContigResult:
    """A range ``alloc_contig_range()`` took: ``nr_pages`` order-0 pages from ``pfn``.

    ``migrated`` maps each block that had to move (old pfn) to where it went (new pfn).
    """

    pfn: int
    nr_pages: int
    zone: str
    migrated: dict[int, int] = field(default_factory=dict)
    page_size: int = 4096

    @property
    def end_pfn(self) -> int:
        return self.pfn + self.nr_pages

    @property
    def phys_addr(self) -> int:
        return self.pfn * self.page_size

    def phys_range(self) -> tuple[int, int]:
        """First and last byte, as /proc/iomem would print them."""
        return self.phys_addr, self.end_pfn * self.page_size - 1


def kernel_align(x: int, a: int) -> int:
    """The kernel's ``ALIGN(x, a)`` = ``(x + a - 1) & ~(a - 1)``, exact even when ``a`` is no power of two."""
    return (x + a - 1) & ~(a - 1)


# ---------------------------------------------------------------------- what may move
def _block_covering(zone, slot: int) -> tuple[int, int, str]:
    """(head slot, order, "free" | "alloc" | "reserved") of the block holding ``slot``."""
    buddy_order, alloc_order = zone._area.buddy_order, zone._alloc_order
    for order in range(zone.max_page_order + 1):
        head = slot & ~((1 << order) - 1)
        if buddy_order[head] == order:
            return head, order, "free"
        if alloc_order[head] == order:
            return head, order, "alloc"
    return slot, 0, "reserved"


def migrate_obstacle(machine, zone, slot: int) -> str | None:
    """None when the allocated block heading ``slot`` may migrate, else why it may not.

    This is the one place that answers "may this block move?": a block moves when it is a
    movable (LRU / movable_ops) allocation - a Movable migrate type and an owner that stands
    for user memory (:mod:`..page_alloc.owner`, the rule compaction follows too) - and no
    ``pin_user_pages()`` holds it.
    """
    pfn = slot + zone._base
    if zone._alloc_mt[slot] != MIGRATE_MOVABLE:
        return (f"pfn {pfn:#x} is an {MIGRATETYPE_NAMES[zone._alloc_mt[slot]]} allocation (kernel memory: slab, "
                "page tables, a driver's buffer): not an LRU or movable_ops page, it cannot migrate")
    if zone._alloc_owner[slot] not in MIGRATABLE_OWNERS:
        return (f"pfn {pfn:#x} is held by {OWNERS[zone._alloc_owner[slot]]} (slab, large kmalloc or vmalloc "
                "memory): on no LRU and without movable_ops, it cannot migrate whatever its GFP mask")
    state = machine.dma
    if state.pins and pfn in state.pins:
        return f"pfn {pfn:#x} is pinned by pin_user_pages() (FOLL_PIN): migration would break the pin"
    return None


_MIGRATABLE_CODES = np.array(sorted(MIGRATABLE_OWNERS), dtype=np.uint8)


def _movable_kind(zone, slot: int) -> bool:
    """``has_unmovable_pages()``'s question: is it an LRU / movable_ops page at all (pins aside)?"""
    return zone._alloc_mt[slot] == MIGRATE_MOVABLE and zone._alloc_owner[slot] in MIGRATABLE_OWNERS


def _scan_range(machine, zone, start: int, end: int, cma_mode: bool) -> tuple[list[tuple[int, int]], str | None, int | None]:
    """Walk [start, end) (slots): the blocks to migrate, or the first reason the range is busy.

    Vectorised over the zone's tables (a 100 MiB range holds tens of thousands of blocks): the
    blocks overlapping the range, free or allocated, come from the per-page order tables of a
    window rounded out to MAX_PAGE_ORDER blocks; the first problem in pfn order is reported
    with the same words as :func:`migrate_obstacle`, which stays the one rule.
    """
    base, pbo = zone._base, zone.pageblock_order
    if not cma_mode:
        types = np.frombuffer(zone._pb_mt, dtype=np.uint8)[start >> pbo:-(-end >> pbo)]
        cma_blocks = np.flatnonzero(types == MIGRATE_CMA)
        if cma_blocks.size:                 # has_unmovable_pages(): "return page" unless PB_ISOLATE_MODE_CMA_ALLOC
            pfn = (((start >> pbo) + int(cma_blocks[0])) << pbo) + base
            pfn = max(pfn, start + base)
            return [], (f"has_unmovable_pages(): pfn {pfn:#x} is in a MIGRATE_CMA pageblock, which only cma_alloc() "
                        "may isolate; set_migratetype_isolate() fails"), pfn
    max_block = 1 << zone.max_page_order
    lo = start & ~(max_block - 1)
    hi = min(len(zone._alloc_order), end)
    alloc = np.frombuffer(zone._alloc_order, dtype=np.uint8)[lo:hi]
    buddy = np.frombuffer(zone._area.buddy_order, dtype=np.uint8)[lo:hi]
    alloc_heads = np.flatnonzero(alloc != NO_ORDER)
    free_heads = np.flatnonzero(buddy != NO_ORDER)
    alloc_ends = alloc_heads + (1 << alloc[alloc_heads].astype(np.int64))
    free_ends = free_heads + (1 << buddy[free_heads].astype(np.int64))
    cover = np.zeros(hi - lo + max_block + 1, dtype=np.int32)
    for heads, ends in ((alloc_heads, alloc_ends), (free_heads, free_ends)):
        np.add.at(cover, heads, 1)
        np.add.at(cover, ends, -1)
    holes = np.flatnonzero(np.cumsum(cover)[start - lo:end - lo] == 0)
    first_hole = start + int(holes[0]) if holes.size else None
    keep = alloc_ends > start - lo
    heads = alloc_heads[keep] + lo
    orders = alloc[alloc_heads[keep]]
    kinds = np.frombuffer(zone._alloc_mt, dtype=np.uint8)[heads]
    owners = np.frombuffer(zone._alloc_owner, dtype=np.uint8)[heads]
    movable = (kinds == MIGRATE_MOVABLE) & np.isin(owners, _MIGRATABLE_CODES)
    pins = machine.dma.pins
    pinned = np.isin(heads + base, np.fromiter(pins, dtype=np.int64, count=len(pins))) if pins else \
        np.zeros(len(heads), dtype=bool)
    bad = np.flatnonzero(~movable | pinned)
    first_bad = int(bad[0]) if bad.size else None
    if first_hole is not None and (first_bad is None or first_hole < max(int(heads[first_bad]), start)):
        return [], (f"pfn {first_hole + base:#x} is reserved (PageReserved: memblock kept it, "
                    "the buddy allocator never had it)"), first_hole + base
    if first_bad is not None:
        head = int(heads[first_bad])
        in_cma = zone._pb_mt[head >> pbo] == MIGRATE_CMA
        reason = migrate_obstacle(machine, zone, head)
        if (not cma_mode or not in_cma) and not movable[first_bad]:
            return [], "has_unmovable_pages(): " + reason + "; set_migratetype_isolate() fails", head + base
        return [], "test_pages_isolated(): " + reason + "; it is still in use after migration", head + base
    return list(zip(heads.tolist(), orders.tolist())), None, None


# ---------------------------------------------------------------------- the range itself
def _check_range(machine, start_pfn, nr_pages):
    for name, value in (("start pfn", start_pfn), ("nr_pages", nr_pages)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidArgument(f"alloc_contig_range(): {name} {value!r} is not an integer")
    start_pfn, nr_pages = int(start_pfn), int(nr_pages)
    if nr_pages <= 0:
        raise ContigRangeBusy(f"alloc_contig_range(): {nr_pages} pages is not a range (-EINVAL); give at least 1",
                              errno=EINVAL)
    zone = machine.zone_of(start_pfn)
    if not zone.contains(start_pfn + nr_pages - 1):
        raise ContigRangeBusy(
            f"alloc_contig_range(): [{start_pfn:#x}, {start_pfn + nr_pages:#x}) leaves zone {zone.name} "
            f"(pfns {zone.start_pfn:#x}..{zone.end_pfn - 1:#x}): the range must belong to one zone", errno=EINVAL)
    return zone, start_pfn, nr_pages


def alloc_contig_range(machine, start_pfn: int, nr_pages: int, *, cma: bool = False,
                       progress=None) -> ContigResult:
    """``alloc_contig_range(start, start + nr_pages, cma ? ACR_FLAGS_CMA : ACR_FLAGS_NONE, GFP_KERNEL)``.

    Returns the :class:`ContigResult` (the range is then ``nr_pages`` allocated order-0 pages,
    free them with :func:`free_contig_range`), or raises :class:`ContigRangeBusy` with -EBUSY
    (a page that cannot move, named) or -ENOMEM (no room for the migrated pages) and the machine
    unchanged.  ``progress(done, total)`` is called every 1,024 migrated blocks (a lab's bar).
    """
    zone, start_pfn, nr_pages = _check_range(machine, start_pfn, nr_pages)
    with machine.bus.batch("alloc_contig_range"):
        return _alloc_contig_range(machine, zone, start_pfn, nr_pages, cma, progress)


def _alloc_contig_range(machine, zone, start_pfn, nr_pages, cma_mode, progress=None) -> ContigResult:
    base, pbo = zone._base, zone.pageblock_order
    start, end = start_pfn - base, start_pfn + nr_pages - base
    to_move, reason, busy_pfn = _scan_range(machine, zone, start, end, cma_mode)
    if reason is not None:
        raise ContigRangeBusy(f"alloc_contig_range([{start_pfn:#x}, {start_pfn + nr_pages:#x})) = -EBUSY: {reason}",
                              errno=EBUSY, busy_pfn=busy_pfn, reason=reason)
    snapshot = _ZoneSnapshot(machine)
    saved = start_isolate_page_range(zone, start >> pbo, -(-end >> pbo))
    try:
        moved = _migrate(machine, zone, to_move, progress)
    except AllocationError as error:
        snapshot.restore()
        reason = f"no room to migrate the range's pages: {error.reason}"
        raise ContigRangeBusy(f"alloc_contig_range([{start_pfn:#x}, {start_pfn + nr_pages:#x})) = -ENOMEM: {reason}",
                              errno=ENOMEM, reason=reason) from None
    outer_start = _find_large_buddy(zone, start)
    outer_end = _isolate_freepages_range(zone, outer_start, end)
    for slot in list(range(outer_start, start)) + list(range(end, outer_end)):
        zone.free_pages(slot + base, 0)       # free_contig_range() of the head and tail
    undo_isolate_page_range(zone, saved)
    machine.dma.contig_owned[start_pfn] = nr_pages
    if moved:
        machine.bus.emit("mm_migrate_pages", reason="contig_range", succeeded=len(moved), failed=0, moved=moved)
    machine.bus.emit("alloc_contig_range", pfn=start_pfn, nr_pages=nr_pages, zone=zone.name, cma=cma_mode)
    return ContigResult(start_pfn, nr_pages, zone.name, moved, machine.page_size)


def _migrate(machine, zone, to_move, progress=None) -> dict[int, int]:
    """``__alloc_contig_migrate_range()``: new block elsewhere, old block freed (to the isolate list).

    The blocks move one by one, as before, with the allocator's own rules; what is left out is
    the per-block ``mm_page_alloc`` / ``mm_page_free`` events (tens of thousands for 100 MiB,
    a third of the cost): the one ``mm_migrate_pages`` event the caller emits lists every move,
    which is what the workload and the views follow.
    """
    moved: dict[int, int] = {}
    bus = machine.bus
    saved_compaction, machine.direct_compaction = machine.direct_compaction, False
    saved_active, bus.active = bus.active, False
    try:
        for number, (slot, order) in enumerate(to_move):
            if progress is not None and not number & 1023:
                progress(number, len(to_move))
            owner = OWNERS[zone._alloc_owner[slot]]               # the holder follows its block
            new_pfn = machine.alloc_pages(MIGRATION_GFP, order, owner=owner)    # alloc_migration_target()
            zone.free_pages(slot + zone._base, order, owner=owner)
            moved[slot + zone._base] = new_pfn
    finally:
        machine.direct_compaction = saved_compaction
        bus.active = saved_active and (bool(bus.listeners) or bus.recorder is not None)
    return moved


def _find_large_buddy(zone, start: int) -> int:
    """``find_large_buddy()``: the head of a free buddy that straddles ``start``, else ``start``."""
    buddy_order = zone._area.buddy_order
    for order in range(zone.max_page_order + 1):
        head = start & ~((1 << order) - 1)
        if buddy_order[head] != NO_ORDER:
            return head if head + (1 << buddy_order[head]) > start else start
    return start


def _isolate_freepages_range(zone, outer_start: int, end: int) -> int:
    """``isolate_freepages_range()`` + ``split_free_pages()``: off the lists, order-0 allocated."""
    area = zone._area
    cursor = outer_start
    while cursor < end:
        order = area.buddy_order[cursor]
        if order == NO_ORDER:     # test_pages_isolated() would have failed: a model bug
            raise KernelMemError(f"pfn {cursor + zone._base:#x} is not free after migration")
        area.delete(cursor, order, zone._pb_mt[cursor >> zone.pageblock_order])
        cursor += 1 << order
    zone._alloc_order[outer_start:cursor] = bytes(cursor - outer_start)
    zone._alloc_mt[outer_start:cursor] = bytes([MIGRATE_UNMOVABLE]) * (cursor - outer_start)
    zone._alloc_owner[outer_start:cursor] = bytes(cursor - outer_start)  # owner code 0: alloc_pages
    return cursor


def free_contig_range(machine, pfn: int, nr_pages: int) -> None:
    """``free_contig_range()``: give back ``nr_pages`` order-0 pages from ``pfn``, one by one.

    Raises :class:`BadPageState` (before freeing anything) when a page is not an allocated
    order-0 page, as ``__free_page()`` would complain.
    """
    zone, pfn, nr_pages = _check_range(machine, pfn, nr_pages)
    start = pfn - zone._base
    orders = np.frombuffer(zone._alloc_order, dtype=np.uint8)[start:start + nr_pages]
    bad = np.flatnonzero(orders != 0)
    if bad.size:
        raise BadPageState(f"BUG: Bad page state: free_contig_range({pfn:#x}, {nr_pages}): pfn "
                           f"{pfn + int(bad[0]):#x} is not an allocated order-0 page")
    with machine.bus.batch("free_contig_range"):
        for page in range(pfn, pfn + nr_pages):
            zone.free_pages(page, 0)
        owned = machine.dma.contig_owned
        if owned.get(pfn) == nr_pages:
            del owned[pfn]


# ---------------------------------------------------------------------- alloc_contig_pages
def alloc_contig_pages(machine, nr_pages: int, gfp="GFP_KERNEL") -> ContigResult:
    """``alloc_contig_pages(nr_pages, gfp)``: try candidate windows in each zone of the zonelist.

    Windows start at ``ALIGN(zone_start_pfn, nr_pages)`` (the kernel's ALIGN, which aligns only
    for a power of two) and step by ``nr_pages``; a window with a reserved page or one outside
    the zone is skipped (``pfn_range_valid_contig()``), the others go to
    :func:`alloc_contig_range` until one succeeds.  Raises :class:`ContigRangeBusy` (-ENOMEM in
    the kernel's terms: it returns NULL) listing why the windows failed.
    """
    if isinstance(nr_pages, bool) or not isinstance(nr_pages, (int, np.integer)) or nr_pages <= 0:
        raise InvalidArgument(f"alloc_contig_pages({nr_pages!r}): nr_pages must be a positive integer")
    nr_pages = int(nr_pages)
    _gfp, _highest, _mt, zonelist = machine._plan(gfp)
    tried, reasons = 0, []
    with machine.bus.batch("alloc_contig_pages"):
        for zone in zonelist:
            in_blocks = covered(zone)
            pfn = kernel_align(zone.start_pfn, nr_pages)
            while zone.contains(pfn) and zone.contains(pfn + nr_pages - 1):
                slot = pfn - zone._base
                if in_blocks[slot:slot + nr_pages].all():
                    tried += 1
                    try:
                        return alloc_contig_range(machine, pfn, nr_pages)
                    except ContigRangeBusy as error:
                        if error.errno == ENOMEM:
                            raise
                        if len(reasons) < 3:
                            reasons.append(f"[{pfn:#x}, {pfn + nr_pages:#x}): {error.reason}")
                pfn += nr_pages
    detail = "; ".join(reasons) + ("; ..." if tried > len(reasons) else "")
    raise ContigRangeBusy(f"alloc_contig_pages({nr_pages}) returned NULL: {tried} candidate windows tried, "
                          f"none could be emptied" + (f": {detail}" if detail else " (no window fits a zone)"),
                          errno=ENOMEM, reason=detail or "no candidate window")


class _ZoneSnapshot:
    """Every zone's tables, to put back if migration runs out of room half-way (-ENOMEM)."""

    def __init__(self, machine) -> None:
        self.saved = []
        for zone in machine.zones:
            area = zone._area
            self.saved.append((zone, area.next[:], area.prev[:], bytearray(area.buddy_order), list(area.nr_free),
                               list(area.list_len), area.free_pages, area.nr_free_cma, area.nr_free_highatomic,
                               bytearray(zone._alloc_order), bytearray(zone._alloc_mt), bytearray(zone._pb_mt),
                               zone.nr_reserved_highatomic, bytearray(zone._alloc_owner)))

    def restore(self) -> None:
        for (zone, nxt, prv, buddy, nr_free, list_len, free_pages, cma, highatomic, alloc_order, alloc_mt,
             pb_mt, reserved, alloc_owner) in self.saved:
            area = zone._area
            area.next, area.prev, area.buddy_order = nxt, prv, buddy
            area.nr_free, area.list_len = nr_free, list_len
            area.free_pages, area.nr_free_cma, area.nr_free_highatomic = free_pages, cma, highatomic
            zone._alloc_order, zone._alloc_mt, zone._pb_mt = alloc_order, alloc_mt, pb_mt
            zone.nr_reserved_highatomic = reserved
            zone._alloc_owner = alloc_owner


def take_free_range(machine, start_pfn: int, end_pfn: int) -> None:
    """Take [start_pfn, end_pfn) off the buddy lists as allocated order-0 (unmovable) pages.

    The model's stand-in for a boot-time ``memblock_alloc()`` on a machine that is already up:
    every page must be free; free buddies straddling the edges are taken off and their outside
    parts freed again.  Raises ``InvalidArgument`` (nothing changed) if a page is in use.
    """
    zone = machine.zone_of(start_pfn)
    if not zone.contains(end_pfn - 1):
        raise InvalidArgument(f"[{start_pfn:#x}, {end_pfn:#x}) crosses the end of zone {zone.name}")
    start, end, area = start_pfn - zone._base, end_pfn - zone._base, zone._area
    blocks, cursor = [], start
    while cursor < end:
        head, order, kind = _block_covering(zone, cursor)
        if kind != "free":
            raise InvalidArgument(f"pfn {cursor + zone._base:#x} is in use or reserved: a boot-time reservation "
                                  "needs free memory (do it on a fresh machine)")
        blocks.append((head, order))
        cursor = head + (1 << order)
    for head, order in blocks:
        area.delete(head, order, zone._pb_mt[head >> zone.pageblock_order])
    zone._alloc_order[start:end] = bytes(end - start)
    zone._alloc_mt[start:end] = bytes([MIGRATE_UNMOVABLE]) * (end - start)
    zone._alloc_owner[start:end] = bytes(end - start)
    for head, order in blocks:
        for lo, hi in ((head, min(start, head + (1 << order))), (max(end, head), head + (1 << order))):
            if lo < hi:
                zone._free_pages_memory(lo + zone._base, hi + zone._base)
