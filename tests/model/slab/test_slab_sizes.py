"""Exact SLUB/SLAB geometry: size classes, object layout, orders and objects per slab (Linux 6.18 / 6.3)."""

import pytest

from kernelmem_widgets.model.errors import InvalidArgument, InvalidSize, UnknownGfpFlag
from kernelmem_widgets.model.slab.kmalloc import (KMALLOC_INFO, kmalloc_cache_name, kmalloc_index, kmalloc_max_cache_size,
                                             kmalloc_max_size, kmalloc_size_roundup)
from kernelmem_widgets.model.slab.slab_common import SlabAllocator  # noqa: F401  (public entry point importable)
from kernelmem_widgets.model.slab.slab_legacy import SlabCache, cache_estimate, enable_cpucache
from kernelmem_widgets.model.slab.slub import KmemCache
from kernelmem_widgets.model.slab.slub_sizes import (calc_slab_order, calculate_alignment, calculate_order,
                                                cpu_partial_objects, cpu_partial_slabs, get_order, min_partial,
                                                order_objects, slab_sizes, slub_min_objects)

KMALLOC_SIZES = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)
CPUS = (1, 2, 4, 8, 16, 64)

# order/objects-per-slab for every kmalloc size and CPU count, computed by hand from the C of
# calculate_order()/calc_slab_order() (mm/slub.c) and identical to KERNEL_FACTS.md 2.4's table
# (its "16+" column is 16 and 64 here; nr_cpu_ids = 1 for the 1-CPU column).
EXPECTED = {
    8: ["0/512"] * 6, 16: ["0/256"] * 6, 32: ["0/128"] * 6, 64: ["0/64"] * 6, 96: ["0/42"] * 6,
    128: ["0/32"] * 6,
    192: ["0/21", "0/21", "0/21", "0/21", "1/42", "1/42"],
    256: ["0/16", "0/16", "0/16", "1/32", "1/32", "1/32"],
    512: ["0/8", "1/16", "1/16", "2/32", "2/32", "2/32"],
    1024: ["1/8", "2/16", "2/16", "3/32", "3/32", "3/32"],
    2048: ["2/8", "3/16", "3/16", "3/16", "3/16", "3/16"],
    4096: ["3/8"] * 6,
    8192: ["3/4"] * 6,
}


def _c_size_class(size):
    """An independent transcription of __kmalloc_index() (include/linux/slab.h)."""
    if size <= 8:
        return 8
    if 64 < size <= 96:
        return 96
    if 128 < size <= 192:
        return 192
    for limit in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192):
        if size <= limit:
            return limit
    raise AssertionError(size)


def test_every_size_from_1_to_8192_lands_in_the_kernels_cache():
    wrong = []
    for size in range(1, 8193):
        expected = _c_size_class(size)
        short = {1024: "1k", 2048: "2k", 4096: "4k", 8192: "8k"}.get(expected, str(expected))
        if KMALLOC_INFO[kmalloc_index(size)][0] != expected or kmalloc_cache_name(size) != f"kmalloc-{short}":
            wrong.append((size, kmalloc_cache_name(size), expected))
    assert not wrong, wrong[:10]


def test_every_size_lands_in_the_machines_cache():
    from kernelmem_widgets.model import Machine

    slab = Machine.preset("linux-6.18-tiny").slab
    wrong = [size for size in range(1, 8193) if slab._table[0][size].name != kmalloc_cache_name(size)]
    assert not wrong


def test_slab_size_classes_start_at_32():
    assert [KMALLOC_INFO[kmalloc_index(s, shift_low=5)][0] for s in (1, 8, 24, 32, 33, 65, 96, 97, 129, 193)] == \
        [32, 32, 32, 32, 64, 96, 96, 128, 192, 256]
    assert kmalloc_cache_name(1, shift_low=5) == "kmalloc-32"


@pytest.mark.parametrize("gfp, name", [
    ("GFP_KERNEL", "kmalloc-512"), ("GFP_ATOMIC", "kmalloc-512"), ("GFP_NOWAIT", "kmalloc-512"),
    ("GFP_KERNEL|__GFP_RECLAIMABLE", "kmalloc-rcl-512"), ("GFP_KERNEL_ACCOUNT", "kmalloc-cg-512"),
    ("GFP_KERNEL|__GFP_DMA", "dma-kmalloc-512"), ("GFP_DMA", "dma-kmalloc-512"),
    ("GFP_DMA|__GFP_RECLAIMABLE|__GFP_ACCOUNT", "dma-kmalloc-512"),
    ("GFP_KERNEL_ACCOUNT|__GFP_RECLAIMABLE", "kmalloc-rcl-512"),
])
def test_kmalloc_type_priorities(gfp, name):
    # kmalloc_type(): __GFP_DMA, then __GFP_RECLAIMABLE, then __GFP_ACCOUNT
    assert kmalloc_cache_name(500, gfp) == name


def test_names_the_kernel_spells():
    assert kmalloc_cache_name(96) == "kmalloc-96"
    assert kmalloc_cache_name(512, "GFP_DMA") == "dma-kmalloc-512"
    assert kmalloc_cache_name(1000, "GFP_KERNEL_ACCOUNT") == "kmalloc-cg-1k"
    assert kmalloc_cache_name(0) is None and kmalloc_cache_name(8193) is None


def test_kmalloc_name_errors():
    with pytest.raises(InvalidSize, match="negative"):
        kmalloc_cache_name(-1)
    with pytest.raises(InvalidSize, match="not an integer"):
        kmalloc_cache_name(1.5)
    with pytest.raises(UnknownGfpFlag, match="GFP_KERNAL"):
        kmalloc_cache_name(8, "GFP_KERNAL")


def test_limits_and_roundup():
    assert kmalloc_max_cache_size() == 8192 and kmalloc_max_size() == 4 << 20
    assert [kmalloc_size_roundup(n) for n in (1, 100, 8192, 8193, 12288, 4 << 20, (4 << 20) + 1)] == \
        [8, 128, 8192, 16384, 16384, 4 << 20, (4 << 20) + 1]


@pytest.mark.parametrize("size", KMALLOC_SIZES)
@pytest.mark.parametrize("cpus_index", range(len(CPUS)))
def test_calculate_order_table(size, cpus_index):
    nr_cpus = CPUS[cpus_index]
    order = calculate_order(size, nr_cpus=nr_cpus)
    assert f"{order}/{order_objects(order, size)}" == EXPECTED[size][cpus_index]


def test_min_objects_and_nr_cpu_ids():
    # 4 * (fls(n) + 1): fls(3) == 2, so 2-3 CPUs give 12, 4-7 give 16, 8-15 give 20, 16-31 give 24 ...
    assert [slub_min_objects(n) for n in (1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127)] == \
        [8, 12, 12, 16, 16, 20, 20, 24, 24, 28, 28, 32, 32]
    # one present CPU is not trusted: nr_cpu_ids (possible CPUs) is used instead
    assert slub_min_objects(1, nr_cpu_ids=8) == 20
    assert calculate_order(512, nr_cpus=1, nr_cpu_ids=8) == 2


def test_calculate_order_knobs_and_edges():
    assert calculate_order(512, nr_cpus=64, max_order=1) == 1          # slab_max_order=1
    assert calculate_order(8, nr_cpus=2, min_order=2) == 2             # slab_min_order=2
    assert calculate_order(256, nr_cpus=2, min_objects=64) == 2        # slab_min_objects=64
    # an object bigger than slub_max_order slabs: get_order(size)
    assert calculate_order(40000, nr_cpus=4) == 4
    assert calculate_order(5 << 20, nr_cpus=4) == -38                  # -ENOSYS beyond MAX_PAGE_ORDER
    # more than MAX_OBJS_PER_PAGE objects at min_order: get_order(size * 32767) - 1
    assert calculate_order(8, nr_cpus=4, min_order=7) == get_order(8 * 32767) - 1 == 5
    assert calc_slab_order(192, 0, 3, 16) == 0 and calc_slab_order(1500, 0, 0, 16) == 1
    with pytest.raises(InvalidSize):
        calculate_order(12.0, nr_cpus=1)
    with pytest.raises(InvalidArgument):
        calculate_order(0, nr_cpus=1)
    with pytest.raises(InvalidArgument, match="CPUs"):
        calculate_order(64, nr_cpus=0)


def test_get_order_and_order_objects():
    assert [get_order(n) for n in (1, 4096, 4097, 8192, 8193, 16384, 4 << 20, (4 << 20) + 1)] == [0, 0, 1, 1, 2, 2, 10, 11]
    assert order_objects(3, 4096) == 8 and order_objects(0, 4000) == 1 and order_objects(0, 5000) == 0


@pytest.mark.parametrize("object_size, ctor, rcu, expected", [
    (20, False, False, (24, 8, 24)),       # free pointer in the middle: ALIGN_DOWN(20 / 2, 8)
    (20, True, False, (32, 24, 24)),       # constructor: free pointer after the object
    (20, False, True, (32, 24, 24)),       # SLAB_TYPESAFE_BY_RCU: after the object too
    (64, False, False, (64, 32, 64)),
    (64, True, False, (72, 64, 64)),
    (1, False, False, (8, 0, 8)),
    (1000, False, True, (1008, 1000, 1000)),
])
def test_calculate_sizes_free_pointer(object_size, ctor, rcu, expected):
    assert slab_sizes(object_size, align=8, ctor=ctor, rcu=rcu) == expected


def test_alignment_rules():
    assert calculate_alignment(0, 20, hwcache_align=True) == 32      # 64 -> 32, not 16
    assert calculate_alignment(0, 100, hwcache_align=True) == 64
    assert calculate_alignment(0, 8, hwcache_align=True) == 8
    assert calculate_alignment(0, 24) == 8 and calculate_alignment(4, 24) == 8 and calculate_alignment(128, 24) == 128
    kmalloc_align = {s: KmemCache(f"k{s}", s, kmalloc=True).align for s in KMALLOC_SIZES}
    assert kmalloc_align == {8: 8, 16: 16, 32: 32, 64: 64, 96: 32, 128: 128, 192: 64, 256: 256, 512: 512,
                             1024: 1024, 2048: 2048, 4096: 4096, 8192: 8192}


def test_kmem_cache_geometry():
    plain = KmemCache("plain", 100, nr_cpus=4)
    assert (plain.align, plain.slab_size, plain.offset, plain.order, plain.objs_per_slab) == (8, 104, 48, 0, 39)
    ctor = KmemCache("with_ctor", 100, ctor=True, nr_cpus=4)
    assert (ctor.slab_size, ctor.offset, ctor.objs_per_slab) == (112, 104, 36)
    hw = KmemCache("hw", 100, hwcache_align=True, ctor=True, nr_cpus=4)
    assert (hw.align, hw.slab_size, hw.objs_per_slab, hw.leftover) == (64, 128, 32, 0)
    rcu = KmemCache("rcu", 600, rcu=True, hwcache_align=True, nr_cpus=8)
    assert (rcu.slab_size, rcu.order, rcu.objs_per_slab) == (640, 2, 25)
    assert rcu.sysfs() == {"object_size": 600, "slab_size": 640, "align": 64, "order": 2, "objs_per_slab": 25,
                           "min_partial": 5, "cpu_partial": 52}
    with pytest.raises(InvalidArgument, match="power of two"):
        KmemCache("bad", 64, align=24)


def test_min_partial_and_cpu_partial():
    assert [min_partial(s) for s in (8, 1024, 2048, 4096, 8192, 1 << 20, 1 << 22)] == [5, 5, 5, 6, 6, 10, 10]
    assert [cpu_partial_objects(s) for s in (8, 255, 256, 1023, 1024, 4095, 4096)] == [120, 120, 52, 52, 24, 24, 6]
    assert cpu_partial_slabs(120, 512) == 1 and cpu_partial_slabs(52, 16) == 7 and cpu_partial_slabs(6, 4) == 3


def test_slab_legacy_geometry():
    # SLAB's kmalloc caches are SLAB_HWCACHE_ALIGN (ARCH_KMALLOC_FLAGS) and start at 32 bytes
    expected = {32: (32, 0, 124, "on-slab"), 64: (64, 0, 64, "objfreelist"), 96: (128, 0, 32, "objfreelist"),
                128: (128, 0, 32, "objfreelist"), 192: (192, 0, 21, "objfreelist"),
                256: (256, 0, 16, "objfreelist"), 512: (512, 0, 8, "objfreelist"),
                1024: (1024, 0, 4, "objfreelist"), 2048: (2048, 0, 2, "objfreelist"),
                4096: (4096, 0, 1, "objfreelist"), 8192: (8192, 1, 1, "objfreelist")}
    for size, (slab_size, order, num, management) in expected.items():
        cache = SlabCache(f"kmalloc-{size}", size, kmalloc=True, hwcache_align=True, nr_cpus=4)
        assert (cache.slab_size, cache.order, cache.objs_per_slab, cache.management) == \
            (slab_size, order, num, management), size
    assert cache_estimate(0, 32, "on-slab") == (124, 4) and cache_estimate(0, 32, "objfreelist") == (128, 0)
    assert enable_cpucache(32, 4) == (120, 60, 8) and enable_cpucache(2048, 1) == (24, 12, 0)
    assert enable_cpucache(8192, 4) == (8, 4, 0) and enable_cpucache(200000, 4) == (1, 1, 0)
    # below 32 MiB of RAM SLAB keeps slab_max_order 0
    assert SlabCache("k8k", 8192, kmalloc=True, hwcache_align=True, slab_max_order=0).order == 1
    assert SlabCache("c1k", 1000, ctor=True).management == "on-slab"


def test_use_freeptr_offset_keeps_vm_area_struct_at_192_bytes():
    """calculate_sizes() (mm/slub.c, 6.13+): an RCU cache with use_freeptr_offset keeps its free
    pointer inside the object; vm_area_struct (SLAB_HWCACHE_ALIGN | SLAB_TYPESAFE_BY_RCU) is then
    192 bytes a slot, not 256."""
    from kernelmem_widgets.model import Machine
    slab = Machine.preset("linux-6.18-tiny").slab
    with_field = slab.kmem_cache_create("vm_area_struct", 192, rcu=True, hwcache_align=True, freeptr_offset=176)
    without = slab.kmem_cache_create("vm_area_struct_old", 192, rcu=True, hwcache_align=True)
    assert (with_field.size, with_field.offset) == (192, 176)
    assert (without.size, without.offset) == (256, 192)


@pytest.mark.parametrize("kwargs", [dict(rcu=False, freeptr_offset=8), dict(rcu=True, freeptr_offset=192),
                                    dict(rcu=True, freeptr_offset=4)])
def test_bad_freeptr_offset_is_refused_before_anything_changes(kwargs):
    from kernelmem_widgets.model import InvalidArgument, Machine
    slab = Machine.preset("linux-6.18-tiny").slab
    before = len(slab.caches)
    with pytest.raises(InvalidArgument, match="use_freeptr_offset needs SLAB_TYPESAFE_BY_RCU"):
        slab.kmem_cache_create("bad", 192, **kwargs)
    assert len(slab.caches) == before


def test_ksize_of_a_ctor_cache_is_the_slot_and_of_an_rcu_cache_inuse():
    """slab_ksize() (mm/slab.h, 6.18): only SLAB_TYPESAFE_BY_RCU / SLAB_STORE_USER stop at s->inuse."""
    from kernelmem_widgets.model import Machine
    slab = Machine.preset("linux-6.18-tiny").slab
    ctor = slab.kmem_cache_create("with_ctor", 20, ctor=True)
    rcu = slab.kmem_cache_create("with_rcu", 20, rcu=True)
    assert (ctor.size, ctor.inuse) == (32, 24)
    assert slab.ksize(slab.kmem_cache_alloc(ctor)) == 32
    assert slab.ksize(slab.kmem_cache_alloc(rcu)) == 24


def test_kmalloc_buckets_cache_with_config_slab_buckets():
    """create_kmalloc_caches() (6.11+): kmem_cache_create("kmalloc_buckets", sizeof(kmem_buckets))."""
    from kernelmem_widgets.model import Machine
    slab = Machine.preset("linux-6.18-tiny").slab
    assert slab.cache("kmalloc_buckets").object_size == 8 * 14  # KMALLOC_SHIFT_HIGH + 1 pointers
    assert "kmalloc_buckets" not in Machine.preset("linux-6.18-tiny", slab_buckets=False).slab._names
