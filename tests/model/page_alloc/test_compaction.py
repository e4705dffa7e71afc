"""Compaction: the two scanners of mm/compaction.c on a zone whose layout is known exactly."""

import pytest

from kernelmem_widgets.model import AllocationError, Machine, Zone, procfs
from kernelmem_widgets.model.page_alloc.compaction import compact_zone


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
    # Pageblocks 7, 6, 5, 4 hold 256 free pages each; the migrate scanner empties pageblocks
    # 0-2 (768 pages) and one batch of COMPACT_CLUSTER_MAX = 32 in pageblock 3, by which time
    # the free scanner has isolated pageblock 4 and the scanners meet.
    assert result.status == "complete" and result.nr_migrated == 800 and result.nr_failed == 0
    assert all(new > old for old, new in result.moved.items())
    assert [zone.nr_free(order) for order in range(11)] == [448, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1]
    assert zone.free_blocks(10, "Movable") == [0]
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
