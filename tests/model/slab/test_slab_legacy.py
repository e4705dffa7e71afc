"""SLAB (mm/slab.c, removed in 6.8) and SLOB (mm/slob.c, removed in 6.4): what made them different."""

import pytest

from kernelmem_widgets.model import Machine, procfs

PAGE_OFFSET = 0xFFFF888000000000


@pytest.fixture
def slab_machine():
    return Machine.preset("linux-6.18-tiny", nr_cpus=2, slab_allocator="slab")


@pytest.fixture
def slob_machine():
    return Machine.preset("linux-6.18-tiny", nr_cpus=1, slab_allocator="slob")


def test_slab_hands_out_objects_lifo_from_the_per_cpu_array(slab_machine):
    slab = slab_machine.slab
    first = slab.kmalloc(20)
    # the first refill moves BATCHREFILL_LIMIT (16) objects into the array; the last one pushed comes out first
    assert first == PAGE_OFFSET + 15 * 32
    assert slab.kmalloc(20) == PAGE_OFFSET + 14 * 32
    slab.kfree(first)
    assert slab.kmalloc(32) == first                              # LIFO: the cache-warm object again
    cache = slab.cache("kmalloc-32")
    assert (cache.limit, cache.batchcount, cache.shared, cache.free_limit) == (120, 60, 8, 3 * 60 + 124)
    assert [len(ac.entries) for ac in cache._ac] == [14, 0]
    slab.check_invariants()


def test_slab_kmalloc_classes_and_alignment(slab_machine):
    slab = slab_machine.slab
    names = [slab.cache_of(slab.kmalloc(n)).name for n in (1, 8, 32, 33, 65, 97, 129, 193)]
    assert names == ["kmalloc-32", "kmalloc-32", "kmalloc-32", "kmalloc-64", "kmalloc-96", "kmalloc-128",
                     "kmalloc-192", "kmalloc-256"]
    assert slab.cache("kmalloc-96").slab_size == 128              # SLAB_HWCACHE_ALIGN: 96 rounds to 128


def test_slab_array_overflow_goes_to_the_shared_array_then_the_slabs(slab_machine):
    slab = slab_machine.slab
    cache = slab.cache("kmalloc-32")
    ptrs = [slab.kmalloc(32) for _ in range(300)]
    for ptr in ptrs:
        slab.kfree(ptr)
    ac, shared = cache._ac[0], cache._shared
    # refills brought 16 (untouched array), 60, 48 (slab 1 empty, no grow: the array is not empty), 60, 60, 4, 60
    # objects: 8 were left after 300 allocations.  300 frees into the 120-entry array flushed batchcount (60)
    # four times into the shared array (limit 8 * 60): 8 + 300 - 240 = 68 remain in the array
    assert (len(ac.entries), len(shared.entries)) == (68, 240)
    assert cache.get_slabinfo()["sharedavail"] == 240
    cache.shrink()
    assert cache.nr_slabs == 0 and slab_machine.zone("Normal").nr_free_pages == slab_machine.zone("Normal").managed_pages
    slab.check_invariants()


def test_slab_free_limit_destroys_free_slabs(slab_machine):
    slab = slab_machine.slab
    cache = slab.cache("kmalloc-4k")                              # 1 object per slab, limit 24, batch 12
    ptrs = [slab.kmalloc(4000) for _ in range(80)]
    for ptr in ptrs:
        slab.kfree(ptr)
    # free_limit = (1 + 2 CPUs) * 12 + 1 = 37 free objects may stay in slabs; the rest sit in the arrays
    assert cache.free_limit == 37
    assert cache.free_objects <= cache.free_limit
    assert len(cache._ac[0].entries) + len(cache._shared.entries) + cache.free_objects == cache.nr_slabs
    slab.check_invariants()


def test_slab_colouring_shifts_each_new_slab(slab_machine):
    slab = slab_machine.slab
    cache = slab.kmem_cache_create("coloured", 1300)
    assert (cache.slab_size, cache.objs_per_slab, cache.leftover, cache.colour, cache.colour_off) == (1304, 3, 184, 2, 64)
    ptrs = [slab.kmem_cache_alloc(cache) for _ in range(9)]
    slabs = sorted(cache.slabs(), key=lambda s: s.pfn)
    assert [s.colour for s in slabs] == [1, 0, 1]                 # colour_next: 1, then 2 -> 0, then 1
    assert [(s.base - PAGE_OFFSET) % 4096 for s in slabs] == [64, 0, 64]
    assert min(ptrs) == PAGE_OFFSET + slabs[0].pfn * 4096 + 64
    slab.check_invariants()


def test_slob_kmalloc_header_and_first_fit(slob_machine):
    slab = slob_machine.slab
    a = slab.kmalloc(100)
    b = slab.kmalloc(100)
    assert a == PAGE_OFFSET + 8                                   # 8-byte size header in front of the block
    assert b == PAGE_OFFSET + 120                                 # 108 bytes used, next block aligned so b % 8 == 0
    page = slab._heap.pages[0]
    assert page.blocks[0] == [54, 2]                              # the 4-byte alignment fragment stays free
    c = slab.kmalloc(2048)                                        # power of two: aligned to 2048, on the "large" list
    assert c % 2048 == 0 and slab._heap.lists["large"][0].pfn == (c - PAGE_OFFSET) // 4096
    assert slab.ksize(a) == 100 and slab.object_info(a)["allocated"] == 108
    slab.kfree(a)
    slab.kfree(b)
    slab.kfree(c)
    assert not slab._heap.pages                                   # empty pages go straight back
    assert slob_machine.zone("Normal").nr_free_pages == slob_machine.zone("Normal").managed_pages
    slab.check_invariants()


def test_slob_objects_of_every_size_share_a_page(slob_machine):
    slab = slob_machine.slab
    cache = slab.kmem_cache_create("thing", 40)
    ptrs = [slab.kmalloc(24), slab.kmem_cache_alloc(cache), slab.kmalloc(200)]
    assert {(p - PAGE_OFFSET) // 4096 for p in ptrs} == {0}
    assert slab.kmalloc(4087) != 0 and len(slab._large) == 0      # below PAGE_SIZE - 8: still the heap
    big = slab.kmalloc(4088)                                      # the page allocator from PAGE_SIZE - 8 up
    assert slab.object_info(big)["kind"] == "large kmalloc" and slab.object_info(big)["order"] == 0
    slab.check_invariants()


def test_slob_frees_merge_with_neighbours(slob_machine):
    slab = slob_machine.slab
    ptrs = [slab.kmalloc(56) for _ in range(4)]                   # 64-byte blocks, back to back
    assert [p - PAGE_OFFSET for p in ptrs] == [8, 72, 136, 200]
    slab.kfree(ptrs[1])
    slab.kfree(ptrs[2])
    page = slab._heap.pages[0]
    assert page.blocks[0] == [32, 64]                             # one merged 128-byte block (64 units)
    assert slab.kmalloc(120) == ptrs[1]                           # first fit takes the merged hole
    slab.check_invariants()


def test_allocators_side_by_side():
    rows = {}
    for allocator in ("slub", "slab", "slob"):
        machine = Machine.preset("linux-6.18-tiny", nr_cpus=2, slab_allocator=allocator)
        for _ in range(1000):
            machine.slab.kmalloc(40)
        zone = machine.zone("Normal")
        rows[allocator] = zone.managed_pages - zone.nr_free_pages
    # SLUB: 64-byte objects, 64 per page -> 16 pages; SLAB: kmalloc-64 too; SLOB: 48-byte blocks, 85 a page -> 12
    assert rows == {"slub": 16, "slab": 16, "slob": 12}
    assert "kmalloc-64" in procfs.parse_slabinfo(procfs.render_slabinfo(
        Machine.preset("linux-6.18-tiny", slab_allocator="slab")))
