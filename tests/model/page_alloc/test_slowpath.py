"""The allocator's slow path of Linux 6.18: when it compacts, at which priority, and the
HighAtomic reserve (mm/page_alloc.c __alloc_pages_slowpath, rmqueue, unreserve_highatomic_pageblock)."""

import pytest

from kernelmem_widgets.model import AllocationError, Machine, Zone
from kernelmem_widgets.model.machine import direct_compact_priorities
from kernelmem_widgets.model.page_alloc.compaction import compact_zone
from kernelmem_widgets.model.page_alloc.buddy import ALLOC_HIGHATOMIC, ALLOC_WMARK_MIN
from kernelmem_widgets.model.page_alloc.gfp import parse_gfp
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE, MIGRATE_UNMOVABLE


def fragmented_tiny():
    machine = Machine.preset("linux-6.18-tiny")
    held = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(3800)]
    for pfn in held[::2]:
        machine.free_pages(pfn, 0)
    assert machine.zones[0].largest_free_order() == 8
    return machine


def test_no_compaction_without_gfp_io():
    """gfp_compaction_allowed() (include/linux/gfp.h, 6.8+): compaction needs __GFP_IO."""
    machine = fragmented_tiny()
    events = []
    machine.subscribe(lambda event: events.append(event.kind))
    with pytest.raises(AllocationError, match="order:9, mode:\\(GFP_NOIO\\)"):
        machine.alloc_pages("GFP_NOIO", 9)
    assert "mm_compaction_begin" not in events
    assert machine.zones[0].largest_free_order() == 8
    pfn = machine.alloc_pages("GFP_KERNEL", 9)
    assert machine.zones[0].allocated_order(pfn) == 9 and "mm_compaction_begin" in events


def test_gfp_nofs_may_compact():
    """GFP_NOFS keeps __GFP_IO, so it compacts (the kernel then skips file pages whose
    migration would need the filesystem; the model's movable pages have no mapping)."""
    machine = fragmented_tiny()
    pfn = machine.alloc_pages("GFP_NOFS", 9)
    assert machine.zones[0].allocated_order(pfn) == 9


def test_priorities_of_the_slow_path():
    kernel, noio = parse_gfp("GFP_KERNEL"), parse_gfp("GFP_NOIO")
    mayfail = parse_gfp("GFP_KERNEL | __GFP_RETRY_MAYFAIL")
    noretry = parse_gfp("GFP_KERNEL | __GFP_NORETRY")
    movable = parse_gfp("GFP_HIGHUSER_MOVABLE")
    # costly: one async, one sync-light attempt, then goto nopage
    assert direct_compact_priorities(kernel, 9, MIGRATE_UNMOVABLE) == ["async", "sync_light"]
    # __GFP_RETRY_MAYFAIL keeps a costly order retrying, but never below MIN_COMPACT_COSTLY_PRIORITY
    assert direct_compact_priorities(mayfail, 9, MIGRATE_UNMOVABLE, reclaim_progress=True) == ["async", "sync_light"]
    assert direct_compact_priorities(noretry, 9, MIGRATE_UNMOVABLE) == ["async", "async"]
    # orders <= 3: movable ones skip the first async attempt; with reclaim progress,
    # should_compact_retry() escalates to MIN_COMPACT_PRIORITY (ignore_block_suitable)
    assert direct_compact_priorities(movable, 2, MIGRATE_MOVABLE) == ["sync_light"]
    assert direct_compact_priorities(kernel, 2, MIGRATE_UNMOVABLE, reclaim_progress=True) == [
        "async", "sync_light", "sync_full"]
    assert direct_compact_priorities(noio, 2, MIGRATE_UNMOVABLE) == []
    assert direct_compact_priorities(kernel, 0, MIGRATE_UNMOVABLE) == []
    assert direct_compact_priorities(parse_gfp("GFP_ATOMIC"), 2, MIGRATE_UNMOVABLE) == []


def test_sync_full_uses_pageblocks_of_any_type():
    """At MIN_COMPACT_PRIORITY (compact_zone_order(): ignore_block_suitable) the free scanner
    also takes pages from pageblocks that are not Movable."""
    def zone_with_free_pages_in_an_unmovable_block():
        zone = Zone("Normal", 0, 4096, mobility_grouping=True)
        assert [zone.alloc_pages(0, "Movable") for _ in range(4096)] == list(range(4096))
        zone._set_pageblock_migratetype(3584, MIGRATE_UNMOVABLE)
        for pfn in [*range(3584, 4096, 2), *range(256)]:
            zone.free_pages(pfn, 0)
        return zone
    zone = zone_with_free_pages_in_an_unmovable_block()
    plain = compact_zone(zone, 9, migratetype=MIGRATE_MOVABLE, mode="sync_light", direct=True)
    assert plain.status == "complete" and plain.nr_migrated == 0 and zone.largest_free_order() == 8
    zone = zone_with_free_pages_in_an_unmovable_block()
    full = compact_zone(zone, 9, migratetype=MIGRATE_MOVABLE, mode="sync_light", direct=True,
                        ignore_block_suitable=True)
    assert full.status == "success" and sorted(full.moved) == list(range(256, 512))
    assert zone.free_blocks(9, "Movable") == [0]
    zone.check_invariants()


def highatomic_zone():
    """A 256 MiB zone with the pageblock at pfn 0 reserved HighAtomic and half free."""
    zone = Zone("Normal", 0, 65536, mobility_grouping=True)
    held = [zone.alloc_pages(0, "Unmovable") for _ in range(1024)]
    assert zone.reserve_highatomic_pageblock(0, 1)
    assert zone.reserve_highatomic_pageblock(512, 1)
    for pfn in held[:512:4]:
        zone.free_pages(pfn, 0)
    for pfn in held[512::4]:
        zone.free_pages(pfn, 0)
    assert zone.nr_reserved_highatomic == 1024
    return zone


def test_pcp_orders_do_not_take_highatomic_first():
    """rmqueue(): orders <= 3 go rmqueue_pcplist -> __rmqueue, which skips the HighAtomic lists
    while the normal ones can serve; only rmqueue_buddy() tries HighAtomic first."""
    zone = highatomic_zone()
    flags = ALLOC_WMARK_MIN | ALLOC_HIGHATOMIC
    pcp = zone._rmqueue_any(0, MIGRATE_UNMOVABLE, flags, pcp_allowed=True)
    assert zone.pageblock_migratetype(pcp) == MIGRATE_UNMOVABLE
    buddy = zone._rmqueue_any(0, MIGRATE_UNMOVABLE, flags, pcp_allowed=False)
    assert zone.pageblock_migratetype(buddy) == MIGRATE_HIGHATOMIC


def test_unreserve_highatomic_keeps_one_pageblock_unless_forced():
    zone = highatomic_zone()
    assert zone.nr_free_list(0, MIGRATE_HIGHATOMIC) == 256
    first = zone.free_blocks(0, MIGRATE_HIGHATOMIC)[0]  # the last page freed: in pageblock 512
    assert first >= 512
    assert zone.unreserve_highatomic_pageblock(MIGRATE_MOVABLE, force=False)
    assert zone.nr_reserved_highatomic == 512
    assert zone.pageblock_migratetype(512) == MIGRATE_MOVABLE and zone.pageblock_migratetype(0) == MIGRATE_HIGHATOMIC
    assert zone.nr_free_list(0, MIGRATE_MOVABLE) == 128 and zone.free_blocks(0, MIGRATE_MOVABLE)[-1] == first
    assert not zone.unreserve_highatomic_pageblock(MIGRATE_MOVABLE, force=False)
    assert zone.unreserve_highatomic_pageblock(MIGRATE_UNMOVABLE, force=True)
    assert zone.nr_reserved_highatomic == 0 and zone.nr_free_highatomic == 0
    assert zone.pageblock_migratetype(0) == MIGRATE_UNMOVABLE
    zone.check_invariants()
