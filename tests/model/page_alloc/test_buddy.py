"""Exact outcomes of the buddy allocator, each worked out by hand from mm/page_alloc.c (6.18)."""

import pytest

from kernelmem_widgets.model import Zone

MOVABLE, UNMOVABLE = "Movable", "Unmovable"


def fresh(pages=4096, **kwargs):
    return Zone("Normal", 0, pages, **kwargs)


def test_boot_frees_largest_aligned_chunks_to_the_tail():
    zone = fresh()
    assert zone.free_blocks(10, MOVABLE) == [0, 1024, 2048, 3072]
    assert [zone.nr_free(order) for order in range(11)] == [0] * 10 + [4]


def test_boot_of_an_unaligned_range_uses_ffs_of_the_start():
    zone = Zone("DMA", 0, 4096, free_ranges=[(256, 4096)])
    assert [zone.nr_free(order) for order in range(11)] == [0] * 8 + [1, 1, 3]
    assert zone.free_blocks(8, MOVABLE) == [256]
    assert zone.free_blocks(9, MOVABLE) == [512]
    assert zone.managed_pages == 3840


def test_expand_keeps_the_lower_half_and_lists_each_upper_half():
    zone = fresh()
    assert zone.alloc_pages(0, MOVABLE) == 0
    assert [zone.free_blocks(order, MOVABLE) for order in range(10)] == [[1 << order] for order in range(10)]
    assert zone.free_blocks(10, MOVABLE) == [1024, 2048, 3072]


def test_three_allocations_take_the_smallest_block_first():
    zone = fresh()
    assert [zone.alloc_pages(order, MOVABLE) for order in (0, 2, 1)] == [0, 4, 2]
    assert zone.free_blocks(0, MOVABLE) == [1]
    assert zone.nr_free(1) == zone.nr_free(2) == 0


def test_freeing_merges_back_to_the_boot_state():
    zone = fresh()
    for order in (0, 2, 1):
        zone.alloc_pages(order, MOVABLE)
    zone.free_pages(2, 1)
    assert zone.free_blocks(1, MOVABLE) == [2]
    zone.free_pages(0, 0)  # merges with 1 and 2 into an order-2 block at 0
    assert zone.free_blocks(2, MOVABLE) == [0] and zone.nr_free(0) == zone.nr_free(1) == 0
    zone.free_pages(4, 2)  # merges all the way up to order 10
    assert zone.free_blocks(10, MOVABLE) == [0, 1024, 2048, 3072]
    assert sum(zone.nr_free(order) for order in range(10)) == 0
    zone.check_invariants()


def test_buddy_merge_likely_puts_a_block_at_the_tail():
    zone = fresh()
    assert [zone.alloc_pages(0, MOVABLE) for _ in range(6)] == [0, 1, 2, 3, 4, 5]
    assert zone.free_blocks(1, MOVABLE) == [6]
    zone.free_pages(0, 0)  # buddy 1 and parent's buddy 2 are in use: head
    zone.free_pages(4, 0)  # buddy 5 in use, parent's buddy 6 is free at order 1: tail
    assert zone.free_blocks(0, MOVABLE) == [0, 4]
    assert zone.alloc_pages(0, MOVABLE) == 0
    zone.free_pages(5, 0)  # merges with 4 and 6 into order 2 at 4; buddy of parent 0 at order 3 is 8, free
    assert zone.free_blocks(2, MOVABLE) == [4]
    zone.check_invariants()


def test_unmovable_request_claims_the_largest_movable_block():
    zone = fresh()
    assert zone.alloc_pages(0, UNMOVABLE) == 0
    assert zone.pageblock_migratetype(0) == 0 and zone.pageblock_migratetype(512) == 0
    assert zone.pageblock_migratetype(1024) == 1
    assert zone.free_blocks(9, UNMOVABLE) == [512]
    assert zone.alloc_pages(0, MOVABLE) == 1024
    assert zone.alloc_pages(3, "Reclaimable") == 2048
    assert zone.pageblock_migratetype(2048) == 2 and zone.pageblock_migratetype(2560) == 2
    zone.check_invariants()


def test_movable_request_claims_a_whole_pageblock_of_unmovable_lists():
    zone = fresh(1024, mobility_grouping=True)
    assert zone.alloc_pages(0, UNMOVABLE) == 0
    assert zone.alloc_pages(0, MOVABLE) == 512  # order-9 Unmovable block claimed whole
    assert zone.pageblock_migratetype(512) == 1 and zone.pageblock_migratetype(0) == 0
    assert zone.free_blocks(0, MOVABLE) == [513]


def test_small_movable_request_steals_without_changing_the_pageblock():
    zone = fresh(1024, mobility_grouping=True)
    assert [zone.alloc_pages(order, UNMOVABLE) for order in (9, 8, 7, 6, 5, 4, 3)] == [
        0, 512, 768, 896, 960, 992, 1008]
    assert zone.free_blocks(3, UNMOVABLE) == [1016]
    assert zone.alloc_pages(0, MOVABLE) == 1016  # __rmqueue_steal: smallest fallback block, split
    assert zone.pageblock_migratetype(1016) == 0
    assert zone.free_blocks(0, UNMOVABLE) == [1017]
    assert zone.free_blocks(1, UNMOVABLE) == [1018]
    assert zone.free_blocks(2, UNMOVABLE) == [1020]
    zone.free_pages(1016, 0)  # back onto the Unmovable lists, merged to order 3
    assert zone.free_blocks(3, UNMOVABLE) == [1016]
    zone.check_invariants()


def test_small_zone_disables_grouping_by_mobility():
    zone = fresh(1024)
    assert not zone.mobility_grouping  # 1024 < pageblock_nr_pages * MIGRATE_TYPES = 3072
    assert zone.alloc_pages(0, MOVABLE) == 0
    assert zone.free_blocks(0, UNMOVABLE) == [1]  # forced Unmovable, as gfp_migratetype() does


def test_blocks_never_exceed_max_page_order():
    zone = fresh()
    assert max(order for order in range(11) if zone.nr_free(order)) == 10
    with pytest.raises(Exception, match="exceeds MAX_PAGE_ORDER 10"):
        zone.alloc_pages(11)


def test_zone_boundary_stops_merging():
    zone = Zone("DMA32", 1024, 3072, mobility_grouping=True)
    assert zone.free_blocks(10, MOVABLE) == [1024, 2048]
    pfn = zone.alloc_pages(10, MOVABLE)
    zone.free_pages(pfn, 10)
    assert zone.free_blocks(10, MOVABLE) == [1024, 2048]


def test_exhausted_zone_reports_what_is_free():
    zone = fresh(2048)
    zone.alloc_pages(10, MOVABLE)
    zone.alloc_pages(0, MOVABLE)
    with pytest.raises(Exception, match=r"no free block of order >= 10.*1,023 pages free, largest free block order 9"):
        zone.alloc_pages(10, MOVABLE)
