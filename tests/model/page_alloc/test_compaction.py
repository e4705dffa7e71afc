"""Compaction: the two scanners of mm/compaction.c on a zone whose layout is known exactly."""

import pytest

from kernelmem_widgets.model import AllocationError, Machine, Zone, procfs
from kernelmem_widgets.model.page_alloc.compaction import compact_zone
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_MOVABLE, MIGRATE_UNMOVABLE


def checkerboard(pages=4096):
    zone = Zone("Normal", 0, pages, mobility_grouping=True)
    for pfn in [zone.alloc_pages(0, "Movable") for _ in range(pages)]:
        if pfn % 2:
            zone.free_pages(pfn, 0)
    return zone


def test_checkerboard_compacts_until_the_scanners_meet():
    zone = checkerboard()
    assert procfs.render_buddyinfo(zone).split()[4:] == ["2048"] + ["0"] * 10
    result = compact_zone(zone)
    # Pageblocks 7, 6, 5, 4 hold 256 free pages each.  isolate_freepages_block() stops as soon as
    # the batch (COMPACT_CLUSTER_MAX = 32 pages) is covered, so the free scanner uses those
    # pageblocks to the last page while the migrate scanner empties pageblocks 0-3: 1024 pages
    # move and the scanners meet at pageblock 4.
    assert result.status == "complete" and result.nr_migrated == 1024 and result.nr_failed == 0
    assert all(new > old for old, new in result.moved.items())
    # list_add() builds the batch, so its highest pfn (62) moves first, to the first isolated page
    assert result.moved[62] == 3585 and result.moved[0] == 3647
    assert [zone.nr_free(order) for order in range(11)] == [0] * 10 + [2]
    assert zone.free_blocks(10, "Movable") == [1024, 0]
    zone.check_invariants()


def test_unmovable_pages_stay_put():
    zone = Zone("Normal", 0, 4096, mobility_grouping=True)
    pinned = zone.alloc_pages(0, "Unmovable")
    movable = [zone.alloc_pages(0, "Movable") for _ in range(600)]
    for pfn in movable[::2]:
        zone.free_pages(pfn, 0)
    result = compact_zone(zone)
    assert pinned not in result.moved
    assert zone.allocated_order(pinned) == 0
    assert result.nr_unmovable >= 1
    zone.check_invariants()


def test_compaction_for_an_order_stops_on_success():
    zone = checkerboard()
    result = compact_zone(zone, order=9)
    assert result.status == "success"
    assert zone.largest_free_order() >= 9
    assert result.nr_migrated < 800


def test_direct_compaction_lets_a_blocking_allocation_succeed():
    machine = Machine.preset("linux-6.18-tiny")
    held = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(3800)]
    for pfn in held[::2]:
        machine.free_pages(pfn, 0)
    assert machine.zones[0].largest_free_order() == 8
    with pytest.raises(AllocationError, match="order:9, mode:\\(GFP_ATOMIC\\)"):
        machine.alloc_pages("GFP_ATOMIC", 9)  # may not sleep, so no direct compaction
    pfn = machine.alloc_pages("GFP_KERNEL", 9)
    assert machine.zones[0].allocated_order(pfn) == 9
    machine.check_invariants()


def test_target_search_splits_a_larger_isolated_block():
    """compaction_alloc_noprof() (6.10+): every order >= the source's, splitting a larger block.

    The scenario of issue 8: a 16 MiB zone all allocated Movable, pfns 512-1535 and 3584-3839
    freed.  The free scanner isolates the order-8 block at 3584 (pageblocks 1 and 2 start with
    free order-9 blocks, which suitable_migration_target() never breaks up); pfns 0-255 move
    into 3584-3839, leaving a free order-8 block at pfn 0.  The next batch finds no target and
    the scanners have met.
    """
    zone = Zone("Normal", 0, 4096, mobility_grouping=True)
    assert [zone.alloc_pages(0, "Movable") for _ in range(4096)] == list(range(4096))
    for pfn in [*range(512, 1536), *range(3584, 3840)]:
        zone.free_pages(pfn, 0)
    result = compact_zone(zone)
    assert result.status == "complete"
    assert sorted(result.moved) == list(range(256))
    assert sorted(result.moved.values()) == list(range(3584, 3840))
    assert result.moved[31] == 3584 and result.moved[0] == 3615 and result.moved[255] == 3808
    assert result.nr_migrated == 256 and result.nr_failed == 32
    assert [zone.nr_free(order) for order in range(11)] == [0] * 8 + [1, 2, 0]
    assert zone.free_blocks(8, "Movable") == [0]
    assert zone.free_blocks(9, "Movable") == [1024, 512]
    assert all(zone.allocated_order(pfn) == 0 for pfn in range(3584, 3840))
    zone.check_invariants()


def test_finish_test_uses_the_request_migratetype():
    """__compact_finished() looks for a free block of cc->migratetype, not always Movable."""
    def zone_with_unmovable_hole():
        zone = Zone("Normal", 0, 4096, mobility_grouping=True)
        held = [zone.alloc_pages(0, "Movable") for _ in range(4096)]
        zone._set_pageblock_migratetype(0, MIGRATE_UNMOVABLE)
        for pfn in held[:8]:
            zone.free_pages(pfn, 0)  # an order-3 block on the Unmovable list
        return zone
    zone = zone_with_unmovable_hole()
    unmovable = compact_zone(zone, order=3, migratetype=MIGRATE_UNMOVABLE)
    assert unmovable.status == "success" and unmovable.nr_migrated == 0
    # A Movable order-3 request may not claim that Unmovable block (should_try_claim_block), so
    # the run goes on; with no free Movable pages anywhere it cannot succeed.
    movable = compact_zone(zone_with_unmovable_hole(), order=3, migratetype=MIGRATE_MOVABLE)
    assert movable.status == "complete" and movable.nr_migrated == 0


def test_async_direct_compaction_scans_only_the_request_type():
    """suitable_migration_source(): async direct compaction skips pageblocks of other types."""
    zone = checkerboard()
    zone._set_pageblock_migratetype(0, MIGRATE_UNMOVABLE)
    result = compact_zone(zone, order=9, migratetype=MIGRATE_MOVABLE, mode="async", direct=True)
    assert not any(old < 512 for old in result.moved)
    synced = checkerboard()
    synced._set_pageblock_migratetype(0, MIGRATE_UNMOVABLE)
    result = compact_zone(synced, order=9, migratetype=MIGRATE_MOVABLE, mode="sync_light", direct=True)
    assert all(old in result.moved for old in range(0, 512, 2))
