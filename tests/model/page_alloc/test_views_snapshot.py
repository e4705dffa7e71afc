"""The snapshot queries the views draw from: the downsampled map, the allocation preview, the free block of a pfn.

Each is checked against a straightforward computation (per page, or the real allocation).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernelmem_widgets.model import KernelMemError, Machine, Zone, procfs
from kernelmem_widgets.model.page_alloc import snapshot
from kernelmem_widgets.model.page_alloc.preview import allocation_preview
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_TYPES
from kernelmem_widgets.model.workload import Workload

GFPS = ("GFP_KERNEL", "GFP_ATOMIC", "GFP_DMA", "GFP_DMA32", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE")


def per_page_map(zone, nr_bins):
    """The downsampled map counted page by page from ``page_states``: slow, obviously right."""
    pages_per_bin = max(1 << zone.max_page_order, -(-zone.spanned_pages // nr_bins))
    pages_per_bin = 1 << (pages_per_bin - 1).bit_length()
    bins = -(-(zone.end_pfn - zone._base) // pages_per_bin)
    state, migratetype = snapshot.page_states(zone)
    free = np.zeros(bins, dtype=np.int64)
    allocated = np.zeros((MIGRATE_TYPES, bins), dtype=np.int64)
    for offset in range(zone.spanned_pages):
        bin_index = (zone.start_pfn + offset - zone._base) // pages_per_bin
        if state[offset] == snapshot.PAGE_FREE:
            free[bin_index] += 1
        elif state[offset] == snapshot.PAGE_ALLOCATED:
            allocated[migratetype[offset], bin_index] += 1
    return pages_per_bin, bins, free, allocated


def scrambled_zone(start, end, seed, *, checkerboard=False):
    """A zone after a seeded mix of allocations (every migrate type the model allows) and frees."""
    zone = Zone("Normal", start, end)
    rng = np.random.default_rng(seed)
    held = []
    for _ in range(400):
        if held and rng.random() < 0.4:
            zone.free_pages(*held.pop(int(rng.integers(len(held)))))
            continue
        order = int(rng.choice([0, 0, 0, 1, 2, 3, 5]))
        try:
            held.append((zone.alloc_pages(order, ["Unmovable", "Movable", "Reclaimable"][int(rng.integers(3))]), order))
        except KernelMemError:
            pass
    if checkerboard:
        singles = []
        while True:
            try:
                singles.append(zone.alloc_pages(0, "Movable"))
            except KernelMemError:
                break
        for pfn in singles[::2]:
            zone.free_pages(pfn, 0)
    return zone


@pytest.mark.parametrize("start, end", [(0, 4096), (0x180, 0x2000), (0x1000, 0x3c00)])
@pytest.mark.parametrize("checkerboard", [False, True])
def test_downsampled_map_equals_a_per_page_count(start, end, checkerboard):
    zone = scrambled_zone(start, end, seed=start + end, checkerboard=checkerboard)
    before = procfs.render_pagetypeinfo(zone)
    for nr_bins in (1, 3, 8, 64):
        result = snapshot.downsampled_map(zone, nr_bins)
        pages_per_bin, bins, free, allocated = per_page_map(zone, nr_bins)
        assert int(result["pages_per_bin"]) == pages_per_bin
        assert result["first_pfn"].tolist() == [zone._base + index * pages_per_bin for index in range(bins)]
        assert result["free"].tolist() == free.tolist()
        assert result["allocated"].tolist() == allocated.tolist()
        assert result["free"].dtype == result["allocated"].dtype == np.int64
    assert procfs.render_pagetypeinfo(zone) == before, "a snapshot must never change the zone"


def test_downsampled_map_of_a_fresh_zone_uses_the_block_sums():
    zone = Zone("Normal", 0x100, 0x1f00)
    assert snapshot._few_blocks(zone)
    result = snapshot.downsampled_map(zone, 4)
    _, _, free, allocated = per_page_map(zone, 4)
    assert result["free"].tolist() == free.tolist() and not result["allocated"].any() and not allocated.any()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), checkerboard=st.booleans(), nr_bins=st.sampled_from([1, 2, 5, 16]))
def test_block_sums_and_page_sums_agree(seed, checkerboard, nr_bins):
    """Both ways of summing (per block for sparse zones, per page for fragmented ones) give one answer."""
    zone = scrambled_zone(0x400, 0x2400, seed, checkerboard=checkerboard)
    result = snapshot.downsampled_map(zone, nr_bins)
    per_bin, bins = int(result["pages_per_bin"]), len(result["first_pfn"])
    by_block = snapshot._binned_by_block(zone, per_bin, bins)
    by_page = snapshot._binned_by_page(zone, per_bin, bins)
    for block_sum, page_sum, chosen in zip(by_block, by_page, (result["free"], result["allocated"])):
        assert np.array_equal(block_sum, page_sum)
        assert np.array_equal(chosen, page_sum)


def test_downsampled_map_of_a_large_zone_counts_every_page():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    Workload(machine, seed=3).age(3000)
    zone = machine.zone("Normal")
    result = snapshot.downsampled_map(zone, 4096)
    assert int(result["pages_per_bin"]) == 1024 and len(result["first_pfn"]) == 3072
    assert int(result["free"].sum()) == zone.nr_free_pages
    allocated_pages = sum(1 << int(order) for order in snapshot.allocated_blocks(zone).order)
    assert int(result["allocated"].sum()) == allocated_pages


def aged_machine(preset, ram, seed, steps):
    machine = Machine.preset(preset, ram=ram)
    Workload(machine, seed=seed).age(steps)
    return machine


@pytest.mark.parametrize("preset, ram", [("linux-6.18-tiny", None), ("linux-6.18-x86_64", "64M")])
@pytest.mark.parametrize("seed", range(4))
def test_allocation_preview_names_the_block_alloc_pages_takes(preset, ram, seed):
    machine = aged_machine(preset, ram, seed, 500)
    rng = np.random.default_rng(seed)
    known = 0
    for _ in range(40):
        gfp, order = GFPS[int(rng.integers(len(GFPS)))], int(rng.integers(0, 11))
        before = procfs.render_pagetypeinfo(machine)
        preview = allocation_preview(machine, gfp, order)
        assert procfs.render_pagetypeinfo(machine) == before, "the preview must not change the model"
        try:
            pfn = machine.alloc_pages(gfp, order)
        except KernelMemError:
            pfn = None
        if not preview.known:
            assert preview.reason
            continue
        known += 1
        assert pfn == preview.pfn, (gfp, order, preview)
        zone = machine.zone(preview.zone)
        for half_pfn, half_order in preview.halves():
            assert half_pfn in zone.free_blocks(half_order, preview.split_migratetype)
        machine.check_invariants()
    assert known >= 20


def test_allocation_preview_of_a_fresh_tiny_machine_claims_a_whole_block():
    machine = Machine.preset("linux-6.18-tiny")
    preview = allocation_preview(machine, "GFP_KERNEL", 3)
    assert (preview.zone, preview.pfn, preview.block_order, preview.path) == ("Normal", 0, 10, "__rmqueue_claim")
    assert preview.halves() == [(0x200, 9), (0x100, 8), (0x80, 7), (0x40, 6), (0x20, 5), (0x10, 4), (0x8, 3)]
    movable = allocation_preview(machine, "GFP_HIGHUSER_MOVABLE", 10)
    assert (movable.pfn, movable.block_order, movable.path, movable.halves()) == (0, 10, "__rmqueue_smallest", [])


def test_allocation_preview_raises_what_alloc_pages_raises():
    machine = Machine.preset("linux-6.18-tiny")
    with pytest.raises(KernelMemError, match="MAX_PAGE_ORDER"):
        allocation_preview(machine, "GFP_KERNEL", 11)
    with pytest.raises(KernelMemError, match="unknown GFP flag"):
        allocation_preview(machine, "GFP_NONSENSE", 0)


def test_free_block_containing_agrees_with_the_free_blocks():
    zone = scrambled_zone(0, 4096, seed=7)
    free = snapshot.free_blocks(zone)
    owner = {}
    for pfn, order in zip(free.pfn.tolist(), free.order.tolist()):
        for page in range(pfn, pfn + (1 << order)):
            owner[page] = (pfn, order)
    for page in range(zone.start_pfn, zone.end_pfn):
        assert snapshot.free_block_containing(zone, page) == owner.get(page)
