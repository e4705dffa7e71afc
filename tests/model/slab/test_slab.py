"""kmalloc/kfree and kmem caches on a machine: exact addresses, slab lists, pages from the buddy allocator."""

import pytest

from kernelmem_widgets.model import AllocationError, Machine, procfs
from kernelmem_widgets.model.events import format_event
from kernelmem_widgets.model.slab.kmalloc import ZERO_SIZE_PTR
from kernelmem_widgets.model.page_alloc.snapshot import allocated_blocks

PAGE_OFFSET = 0xFFFF888000000000


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-tiny", nr_cpus=2)


def states(slab, name):
    return [(s.pfn, s.state, s.inuse) for s in slab.cache(name).slabs()]


def test_objects_are_direct_map_addresses(machine):
    slab = machine.slab
    assert slab.kmalloc(100) == PAGE_OFFSET                     # kmalloc-128, first slab at pfn 0
    assert slab.kmalloc(100) == PAGE_OFFSET + 128
    assert slab.kmalloc(8) == PAGE_OFFSET + 0x1000               # kmalloc-8 gets the next page
    assert slab.kmalloc(65) == PAGE_OFFSET + 0x2000              # 65..96 -> kmalloc-96
    assert slab.kmalloc(96) == PAGE_OFFSET + 0x2000 + 96
    assert [slab.cache_of(p).name for p in (PAGE_OFFSET, PAGE_OFFSET + 0x1000, PAGE_OFFSET + 0x2000)] == \
        ["kmalloc-128", "kmalloc-8", "kmalloc-96"]
    zone = machine.zone("Normal")
    assert [zone.allocated_order(pfn) for pfn in (0, 1, 2)] == [0, 0, 0]
    slab.check_invariants()


def test_size_zero_returns_zero_size_ptr(machine):
    slab = machine.slab
    assert slab.kmalloc(0) == ZERO_SIZE_PTR == 16
    slab.kfree(ZERO_SIZE_PTR)
    slab.kfree(None)
    slab.kfree(0)
    assert len(slab) == 0 and slab.ksize(ZERO_SIZE_PTR) == 0
    assert slab.object_info(ZERO_SIZE_PTR)["kind"] == "ZERO_SIZE_PTR"


def test_a_full_cpu_slab_is_replaced_and_a_free_puts_it_on_the_cpu_partial_list(machine):
    slab = machine.slab
    ptrs = [slab.kmalloc(128) for _ in range(33)]                # 32 per slab: the 33rd needs a new slab
    assert ptrs[32] == PAGE_OFFSET + 0x1000
    assert states(slab, "kmalloc-128") == [(1, "cpu", 32), (0, "full", 32)]
    slab.kfree(ptrs[5])                                          # was full: put_cpu_partial()
    assert states(slab, "kmalloc-128") == [(1, "cpu", 32), (0, "cpu partial", 31)]
    info = slab.cache("kmalloc-128").get_slabinfo()
    # get_slabinfo() counts only node-partial free objects as free: cpu freelists and cpu partial slabs are "active"
    assert (info["active_objs"], info["num_objs"], info["num_slabs"]) == (64, 64, 2)
    slab.check_invariants()


def test_cpu_partial_spill_and_refill_follow_put_cpu_partial_and_get_partial_node(machine):
    slab = machine.slab
    cache = slab.cache("kmalloc-128")
    assert (cache.objs_per_slab, cache.cpu_partial, cache.cpu_partial_slabs, cache.min_partial) == (32, 120, 8, 5)
    ptrs = [slab.kmalloc(100) for _ in range(11 * 32)]           # slabs S0..S10 at pfns 0..10, all full
    freed = [ptrs[32 * i + 7] for i in range(9)]                 # one object from each of S0..S8
    for ptr in freed:
        slab.kfree(ptr)
    # S0..S7 filled the cpu partial list; S8's free drained them to the node list (head first), S8 took their place
    assert [(s.pfn, s.state) for s in cache.slabs()[:10]] == \
        [(10, "cpu"), (8, "cpu partial")] + [(p, "partial") for p in range(8)]
    assert [s.pfn for s in cache._partial] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert cache.get_slabinfo()["active_objs"] == 352 - 8
    assert slab.kmalloc(100) == freed[8]                         # the cpu partial slab S8 becomes the cpu slab
    assert slab.kmalloc(100) == freed[7]                         # node partial head S7 ...
    # ... and get_partial_node() moved S6..S2 to the cpu partial list (stops when taken > cpu_partial_slabs / 2)
    assert [s.pfn for s in cache._cpu[0].partial] == [6, 5, 4, 3, 2]
    assert [s.pfn for s in cache._partial] == [1, 0]
    assert [slab.kmalloc(100) for _ in range(5)] == [freed[i] for i in (2, 3, 4, 5, 6)]
    slab.check_invariants()


def test_empty_slabs_stay_until_min_partial_and_shrink_returns_them(machine):
    slab = machine.slab
    zone = machine.zone("Normal")
    free_at_boot = zone.nr_free_pages
    ptrs = [slab.kmalloc(128) for _ in range(7 * 32)]
    assert zone.nr_free_pages == free_at_boot - 7
    for ptr in ptrs:
        slab.kfree(ptr)
    assert len(slab) == 0
    assert zone.nr_free_pages == free_at_boot - 7                # SLUB keeps empty slabs on its lists
    assert slab.kmem_cache_shrink("kmalloc-128") == 7
    assert zone.nr_free_pages == free_at_boot
    slab.check_invariants()


def test_free_from_another_cpu_goes_to_the_slab_freelist(machine):
    slab = machine.slab
    ptrs = [slab.kmalloc(100, cpu=0) for _ in range(32)]         # cpu 0's slab is now exhausted
    slab.kfree(ptrs[5], cpu=1)                                   # remote free: slab->freelist, FREE_FROZEN
    cache = slab.cache("kmalloc-128")
    assert cache._cpu[0].slab.free == [5] and not cache._cpu[1].partial
    assert slab.kmalloc(100, cpu=0) == ptrs[5]                   # get_freelist() picks it up, no new slab
    assert cache.nr_slabs == 1
    assert slab.kmalloc(100, cpu=1) == PAGE_OFFSET + 0x1000      # cpu 1 has its own cpu slab
    slab.check_invariants()


def test_large_kmalloc_is_a_compound_page_allocation(machine):
    slab, zone = machine.slab, machine.zone("Normal")
    before = zone.nr_free_pages
    ptr = slab.kmalloc(8193)                                     # above KMALLOC_MAX_CACHE_SIZE: get_order() = 2
    info = slab.object_info(ptr)
    assert (info["kind"], info["order"], info["allocated"], info["internal_waste"]) == ("large kmalloc", 2, 16384, 8191)
    assert ptr == PAGE_OFFSET + info["pfn"] * 4096 and info["pfn"] % 4 == 0
    assert zone.allocated_order(info["pfn"]) == 2 and zone.nr_free_pages == before - 4
    assert slab.ksize(ptr) == 16384
    big = slab.kmalloc(4 << 20)                                  # exactly KMALLOC_MAX_SIZE: order 10
    assert slab.object_info(big)["order"] == 10
    slab.kfree(ptr)
    slab.kfree(big)
    assert zone.nr_free_pages == before
    slab.check_invariants()


def test_above_kmalloc_max_size_fails_with_the_kernels_reason(machine):
    with pytest.raises(AllocationError, match=r"above KMALLOC_MAX_SIZE \(4,194,304 = 4 MiB\).*order 11.*MAX_PAGE_ORDER 10"):
        machine.slab.kmalloc((4 << 20) + 1)


def test_gfp_picks_cache_zone_and_migratetype():
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=2)
    slab = machine.slab
    dma = slab.kmalloc(500, "GFP_KERNEL|__GFP_DMA")
    rcl = slab.kmalloc(500, "GFP_KERNEL|__GFP_RECLAIMABLE")
    acc = slab.kmalloc(500, "GFP_KERNEL_ACCOUNT")
    assert [slab.cache_of(p).name for p in (dma, rcl, acc)] == ["dma-kmalloc-512", "kmalloc-rcl-512", "kmalloc-cg-512"]
    dma_pfn = (dma - PAGE_OFFSET) // 4096
    assert machine.zone_of(dma_pfn).name == "DMA"
    blocks = allocated_blocks(machine.zone_of((rcl - PAGE_OFFSET) // 4096))
    mt = dict(zip(blocks.pfn.tolist(), blocks.migratetype.tolist()))
    assert mt[(rcl - PAGE_OFFSET) // 4096] == 2                   # MIGRATE_RECLAIMABLE: __GFP_RECLAIMABLE in allocflags
    # kmalloc-512 with 2 CPUs is order 1: each slab took an order-1 block
    assert machine.zone_of(dma_pfn).allocated_order(dma_pfn) == 1
    slab.check_invariants()


def test_kzalloc_and_events(machine):
    seen = []
    machine.subscribe(seen.append)
    ptr = machine.slab.kzalloc(40)
    machine.slab.kfree(ptr)
    slab_events = [e for e in seen if not e.kind.startswith("mm_")]   # the buddy's own events come first
    assert [e.kind for e in seen if e.kind == "mm_page_alloc"] == ["mm_page_alloc"]
    assert [format_event(e) for e in slab_events] == [
        "# model: slab_new: cache=kmalloc-64 pfn=0x0 order=0 objects=64  "
        "[new slab (no tracepoint; its pages' mm_page_alloc is above)]",
        f"kmalloc: call_site=0x0 ptr={ptr:016x} bytes_req=40 bytes_alloc=64 gfp_flags=GFP_KERNEL|__GFP_ZERO node=-1 "
        "accounted=false",
        f"kfree: call_site=0x0 ptr={ptr:016x}"]


def test_kmem_cache_lifecycle(machine):
    slab = machine.slab
    cache = slab.kmem_cache_create("task_like", 600, ctor=True, hwcache_align=True)
    assert (cache.slab_size, cache.order, cache.objs_per_slab) == (640, 1, 12)
    seen = []
    machine.subscribe(seen.append)
    objs = [slab.kmem_cache_alloc(cache) for _ in range(13)]
    assert objs[1] - objs[0] == 640 and objs[12] == PAGE_OFFSET + 0x2000
    first = next(e for e in seen if e.kind == "kmem_cache_alloc")
    assert format_event(first) == (f"kmem_cache_alloc: call_site=0x0 ptr={objs[0]:016x} name=task_like bytes_req=600 "
                                   "bytes_alloc=640 gfp_flags=GFP_KERNEL node=-1 accounted=false")
    assert procfs.parse_slabinfo(procfs.render_slabinfo(machine))["task_like"] == {
        "active_objs": 24, "num_objs": 24, "objsize": 640, "objperslab": 12, "pagesperslab": 2,
        "active_slabs": 2, "num_slabs": 2}
    slab.kfree(objs[0])                                          # kfree() of a kmem_cache object is allowed
    for obj in objs[1:]:
        slab.kmem_cache_free(cache, obj)
    assert format_event(seen[-1]) == f"kmem_cache_free: call_site=0x0 ptr={objs[12]:016x} name=task_like"
    slab.kmem_cache_destroy(cache)
    assert "task_like" not in procfs.render_slabinfo(machine)
    assert machine.zone("Normal").nr_free_pages == machine.zone("Normal").managed_pages
    slab.check_invariants()


def test_new_slab_falls_back_to_the_minimum_order():
    machine = Machine.preset("linux-6.18-tiny", nr_cpus=64)
    zone = machine.zone("Normal")
    held = [zone.alloc_pages(0) for _ in range(zone.nr_free_pages)]   # the zone's own call: no watermarks
    for pfn in held[::2]:                                        # a checkerboard: 2048 free pages, none adjacent
        zone.free_pages(pfn, 0)
    assert zone.largest_free_order() == 0
    cache = machine.slab.cache("kmalloc-1k")
    assert (cache.order, cache.min_order) == (3, 0)
    ptr = machine.slab.kmalloc(1000)                             # order 3 fails, s->min (order 0, 4 objects) works
    slab_obj = machine.slab._live[ptr][1]
    assert (slab_obj.order, slab_obj.objects) == (0, 4)
    machine.slab.check_invariants()


def test_reboot_changes_the_geometry_with_the_cpu_count(machine):
    slab = machine.slab
    assert slab.cache("kmalloc-192").order == 0
    slab.reboot(nr_cpus=16)
    assert (slab.cache("kmalloc-192").order, slab.cache("kmalloc-192").objs_per_slab) == (1, 42)
    assert slab.nr_cpus == 16
    slab.reboot(allocator="slab")
    assert slab.cache("kmalloc-32").objs_per_slab == 124
    assert "kmalloc-8" not in procfs.parse_slabinfo(procfs.render_slabinfo(machine))


def test_machine_reset_forgets_the_slab_layer(machine):
    machine.slab.kmalloc(10)
    first = machine.slab
    machine.reset()
    assert machine.slab is not first and len(machine.slab) == 0


def test_waste_accounting(machine):
    slab = machine.slab
    for _ in range(3):
        slab.kmalloc(100)
    slab.kmalloc(9000)
    rows = {row["cache"]: row for row in slab.waste_by_cache()}
    assert rows["kmalloc-128"] == {"cache": "kmalloc-128", "objects": 3, "requested": 300, "slots": 384,
                                   "internal": 84, "free_slots": 29 * 128, "leftover": 0, "slab_bytes": 4096}
    assert rows["(page allocator)"]["internal"] == 16384 - 9000
    assert slab.slabtop(sort="objs")[0]["name"] == "kmalloc-128"
    table = slab.slab_table("kmalloc-128")
    assert table["live"].tolist() == [3] and table["inuse"].tolist() == [32] and table["state"].tolist() == [0]
