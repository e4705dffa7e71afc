"""Bad input to the slab layer: a named error with the kernel's reason, and the model exactly as before."""

import pytest

from kernelmem_widgets.model import AllocationError, InvalidArgument, InvalidSize, Machine, UnknownGfpFlag, procfs
from kernelmem_widgets.model.errors import CacheInUse, DoubleFree, InvalidFree, KernelMemError, WrongSlabCache
from kernelmem_widgets.model.slab.kmalloc import ZERO_SIZE_PTR
from kernelmem_widgets.model.page_alloc.snapshot import allocated_blocks

PAGE_OFFSET = 0xFFFF888000000000


def fingerprint(machine):
    """Everything an error must leave alone: buddy lists and blocks, every slab list, every pointer."""
    slab = machine.slab
    caches = []
    if slab.allocator == "slob":
        heap = slab._heap
        caches = [(p.pfn, p.units, [tuple(b) for b in p.blocks], p.on_list) for p in heap.pages.values()]
        caches.append({name: [p.pfn for p in pages] for name, pages in heap.lists.items()})
    for cache in slab.caches if slab.allocator != "slob" else []:
        lists = [(s.pfn, s.state, tuple(s.free), s.frozen) for s in cache.slabs()]
        if hasattr(cache, "_cpu"):
            cpus = [(c.slab.pfn if c.slab else None, tuple(c.freelist), tuple(s.pfn for s in c.partial))
                    for c in cache._cpu]
            order = [s.pfn for s in cache._partial]
        else:
            cpus = [tuple((s.pfn, i) for s, i in ac.entries) for ac in cache._ac]
            order = [s.pfn for s in cache._partial] + [s.pfn for s in cache._free]
        caches.append((cache.name, lists, cpus, order, cache.nr_slabs, cache.total_objects))
    blocks = [allocated_blocks(z) for z in machine.zones]
    return (procfs.render_pagetypeinfo(machine), [(b.pfn.tolist(), b.order.tolist()) for b in blocks], caches,
            dict(slab._live), dict(slab._large), sorted(slab._slab_at), slab.nr_cpus, slab.allocator)


@pytest.fixture
def machine():
    machine = Machine.preset("linux-6.18-tiny", nr_cpus=2)
    slab = machine.slab
    machine.objs = [slab.kmalloc(100) for _ in range(40)] + [slab.kmalloc(8) for _ in range(3)]
    machine.cache = slab.kmem_cache_create("thing", 200)
    machine.thing = slab.kmem_cache_alloc(machine.cache)
    machine.big = slab.kmalloc(20000)
    machine.page = machine.alloc_pages("GFP_KERNEL", 1)
    for ptr in machine.objs[:3]:
        slab.kfree(ptr)
    return machine


def cases(m):
    slab, objs, cache = m.slab, m.objs, m.cache
    freed = objs[0]
    return [
        (lambda: slab.kmalloc(-1), InvalidSize, r"negative: size_t is unsigned, so C would see 18,446,744,073,709,551,615 bytes"),
        (lambda: slab.kmalloc(1.5), InvalidSize, "not an integer number of bytes"),
        (lambda: slab.kmalloc(True), InvalidSize, "not an integer"),
        (lambda: slab.kmalloc("100"), InvalidSize, "not an integer"),
        (lambda: slab.kmalloc(10, "GFP_KERNAL"), UnknownGfpFlag, "unknown GFP flag 'GFP_KERNAL'; accepted: GFP_HIGHUSER"),
        (lambda: slab.kmalloc(10, cpu=2), InvalidArgument, r"cpu 2 does not exist: this machine has CPUs 0..1"),
        (lambda: slab.kmalloc(10, cpu=-1), InvalidArgument, "does not exist"),
        (lambda: slab.kmalloc((4 << 20) + 1), AllocationError, r"returns NULL: 4,194,305 bytes is above KMALLOC_MAX_SIZE \(4,194,304 = 4 MiB\)"),
        (lambda: slab.kmalloc(10 << 20), AllocationError, "order 12"),
        (lambda: slab.kfree(freed), DoubleFree, r"Object already free: object 0 of the kmalloc-128 slab at pfn 0x0"),
        (lambda: slab.kfree(objs[5] + 8), InvalidFree,
         r"Invalid object pointer .*: 8 bytes into object 5 of a kmalloc-128 slab \(objects start every 128 bytes"),
        (lambda: slab.kfree(m.big + 4096), InvalidFree, r"inside the 32 KiB large kmalloc"),
        (lambda: slab.kfree(PAGE_OFFSET + m.page * 4096), InvalidFree,
         r"Not a kmalloc allocation: pfn .* belongs to an order-1 block from alloc_pages\(\).*__free_pages\(page, 1\)"),
        (lambda: slab.kfree(PAGE_OFFSET + 3000 * 4096), InvalidFree, r"is free \(PageBuddy\) or reserved memory"),
        (lambda: slab.kfree(0xFFFFC90000001000), InvalidFree, r"vmalloc area.*vfree\(\)"),
        (lambda: slab.kfree(0x7FFF0000), InvalidFree, r"direct map 0xffff888000000000"),
        (lambda: slab.kfree("0xffff888000000000"), InvalidArgument, "integer address"),
        (lambda: slab.kfree(objs[5], cpu=9), InvalidArgument, "cpu 9 does not exist"),
        (lambda: slab.kmem_cache_free(cache, objs[5]), WrongSlabCache,
         r"Wrong slab cache. thing but object is from kmalloc-128 \(cache_from_obj\(\)"),
        (lambda: slab.kmem_cache_free("kmalloc-8", m.thing), WrongSlabCache, "but object is from thing"),
        (lambda: slab.kmem_cache_free(cache, None), InvalidFree, "only kfree\\(\\) accepts NULL and ZERO_SIZE_PTR"),
        (lambda: slab.kmem_cache_free(cache, ZERO_SIZE_PTR), InvalidFree, "ZERO_SIZE_PTR"),
        (lambda: slab.kmem_cache_free(cache, m.big), WrongSlabCache, "large kmalloc"),
        (lambda: slab.kmem_cache_free("no-such-cache", m.thing), InvalidArgument, "no kmem cache named 'no-such-cache'"),
        (lambda: slab.kmem_cache_alloc(cache, "GFP_NOPE"), UnknownGfpFlag, "GFP_NOPE"),
        (lambda: slab.kmem_cache_destroy(cache), CacheInUse, r"Slab cache still has objects \(1 allocated\)"),
        (lambda: slab.kmem_cache_destroy("kmalloc-64"), InvalidArgument, "kmalloc cache"),
        (lambda: slab.kmem_cache_create("thing", 10), InvalidArgument, "already exists"),
        (lambda: slab.kmem_cache_create("two words", 10), InvalidArgument, "without spaces"),
        (lambda: slab.kmem_cache_create("zero", 0), InvalidArgument, r"must be 1..KMALLOC_MAX_SIZE"),
        (lambda: slab.kmem_cache_create("huge", (4 << 20) + 1), InvalidArgument, "integrity check failed"),
        (lambda: slab.kmem_cache_create("odd", 64, align=3), InvalidArgument, "power of two"),
        (lambda: slab.reboot(nr_cpus=4), CacheInUse, "still allocated"),
        (lambda: slab.reboot(nr_cpus=0), InvalidArgument, "NR_CPUS"),
        (lambda: slab.reboot(allocator="slub2"), InvalidArgument, "unknown slab allocator 'slub2'; accepted: 'slub'"),
        (lambda: slab.ksize(objs[5] + 1), InvalidFree, "Invalid object pointer"),
        (lambda: slab.cache_of(freed), InvalidArgument, "not a live object"),
    ]


@pytest.mark.parametrize("index", range(37))
def test_bad_input_is_named_and_changes_nothing(machine, index):
    call, error, message = cases(machine)[index]
    before = fingerprint(machine)
    with pytest.raises(error, match=message):
        call()
    assert fingerprint(machine) == before
    machine.slab.check_invariants()


def test_every_case_is_covered(machine):
    assert len(cases(machine)) == 37


def test_out_of_memory_is_a_clean_failure():
    machine = Machine.preset("linux-6.18-tiny", nr_cpus=2)
    slab = machine.slab
    held = []
    with pytest.raises(AllocationError) as info:
        while True:
            held.append(slab.kmalloc(2048))
    assert "SLUB: Unable to allocate memory on node 0" in str(info.value)
    assert "cache: kmalloc-2k, object size: 2048, buffer size: 2048, default order: 3, min order: 0" in str(info.value)
    before = fingerprint(machine)
    with pytest.raises(AllocationError):
        slab.kmalloc(2048)
    assert fingerprint(machine) == before
    slab.check_invariants()
    for ptr in held:
        slab.kfree(ptr)
    slab.kmem_cache_shrink()
    zone = machine.zone("Normal")
    assert zone.nr_free_pages == zone.managed_pages


def test_errors_are_kernelmem_errors():
    for cls in (InvalidFree, DoubleFree, WrongSlabCache, CacheInUse):
        assert issubclass(cls, KernelMemError)
    assert issubclass(DoubleFree, InvalidFree) and issubclass(WrongSlabCache, InvalidFree)


def test_slob_kfree_of_a_cache_object_is_refused():
    machine = Machine.preset("linux-6.18-tiny", slab_allocator="slob")
    slab = machine.slab
    cache = slab.kmem_cache_create("obj", 100)
    ptr = slab.kmem_cache_alloc(cache)
    before = fingerprint(machine)
    with pytest.raises(InvalidFree, match="SLOB's kfree\\(\\) reads the 8-byte size header"):
        slab.kfree(ptr)
    assert fingerprint(machine) == before
    slab.kmem_cache_free(cache, ptr)
    with pytest.raises(InvalidArgument, match="no /proc/slabinfo with SLOB"):
        procfs.render_slabinfo(machine)
