"""vmalloc: guard pages, first-fit addresses, page-by-page backing, lazy purge, /proc/vmallocinfo."""

import pytest

from kernelmem_widgets.model import AllocationError, InvalidArgument, InvalidSize, Machine, UnknownGfpFlag
from kernelmem_widgets.model.errors import DoubleFree, InvalidFree
from kernelmem_widgets.model.vmalloc.vmalloc import VmallocSpace, kvfree, kvmalloc

VMALLOC_START = 0xFFFFC90000000000


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-tiny", nr_cpus=2)


def test_first_area_starts_at_vmalloc_start_with_a_guard_page(machine):
    space = machine.vmalloc
    a = space.vmalloc(1)
    b = space.vmalloc(4096)
    c = space.vmalloc(4097)
    assert (a, b, c) == (VMALLOC_START, VMALLOC_START + 0x2000, VMALLOC_START + 0x4000)
    assert [space.area(x).size for x in (a, b, c)] == [8192, 8192, 12288]     # PAGE_ALIGN(size) + guard
    assert [space.area(x).nr_pages for x in (a, b, c)] == [1, 1, 2]
    assert space.end == VMALLOC_START + (32 << 40) - 1
    space.check_invariants()


def test_pages_come_one_by_one_from_the_buddy_allocator(machine):
    zone = machine.zone("Normal")
    before = zone.nr_free_pages
    addr = machine.vmalloc.vmalloc(10 * 4096)
    area = machine.vmalloc.area(addr)
    assert all(zone.allocated_order(pfn) == 0 for pfn in area.pages)
    # 10 pages + the kmalloc-96 slab page that holds the 80-byte struct page * array
    assert zone.nr_free_pages == before - 11
    assert machine.slab.object_info(area.array)["cache"] == "kmalloc-96"
    mapping = machine.vmalloc.mapping(addr)
    assert mapping["virt"].tolist() == [addr + 4096 * i for i in range(10)]
    assert mapping["pfn"].tolist() == area.pages and mapping["phys"].tolist() == [p * 4096 for p in area.pages]
    assert machine.vmalloc.vmalloc_to_pfn(addr + 3 * 4096 + 17) == area.pages[3]


def test_physically_scattered_on_a_fragmented_machine(machine):
    zone = machine.zone("Normal")
    held = [zone.alloc_pages(0) for _ in range(64)]
    for pfn in held[1::2]:
        zone.free_pages(pfn, 0)                                  # holes at every other page
    addr = machine.vmalloc.vmalloc(16 * 4096)
    pages = machine.vmalloc.area(addr).pages
    gaps = [b - a for a, b in zip(pages, pages[1:])]
    assert any(gap != 1 for gap in gaps)                         # virtually contiguous, physically not
    # the order-0 free list is LIFO: the last hole freed (pfn 63) went to the kmalloc-128 slab of the page
    # array, then vmalloc took 61, 59, 57, ... one page at a time
    assert (machine.vmalloc.area(addr).array - 0xFFFF888000000000) // 4096 == held[63]
    assert pages[:4] == [held[61], held[59], held[57], held[55]]


def test_big_areas_keep_their_page_array_in_vmalloc_space(machine):
    space = machine.vmalloc
    addr = space.vmalloc(2 << 20)                                 # 512 pages: 4096-byte array -> kmalloc-4k
    assert machine.slab.object_info(space.area(addr).array)["cache"] == "kmalloc-4k"
    big = space.vmalloc((2 << 20) + 4096)                         # 513 pages: array > PAGE_SIZE -> nested vmalloc
    area = space.area(big)
    assert area.vpages and area.array.addr == big + area.size and area.array.nr_pages == 2
    lines = space.render_vmallocinfo().splitlines()
    assert lines[1] == f"0x{big:016x}-0x{big + area.size:016x} {area.size:7d} vmalloc pages=513 vmalloc vpages N0=513"
    space.check_invariants()


def test_vfree_is_lazy_for_the_address_range(machine):
    space = machine.vmalloc
    zone = machine.zone("Normal")
    a = space.vmalloc(3 * 4096 + 1, caller="my_driver_init")
    before_free = zone.nr_free_pages
    space.vfree(a)
    assert zone.nr_free_pages == before_free + 4                 # pages back at once ...
    assert space.render_vmallocinfo() == (f"0x{a:016x}-0x{a + 20480:016x}   20480 unpurged vm_area\n")
    assert space.vmalloc(4096) == a + 20480                      # ... the range only after a purge
    assert space.lazy_max_pages == 2 * (32 << 20) // 4096        # fls(2 CPUs) * 32 MiB
    assert space.purge() == 1
    assert space.vmalloc(4096) == a
    space.check_invariants()


def test_lazy_ranges_are_purged_when_nothing_else_fits():
    machine = Machine.preset("linux-6.18-tiny")
    space = VmallocSpace(machine, start=0x10000000, end=0x10010000, name="small")   # 16 pages of address space
    a = space.vmalloc(7 * 4096)
    space.vfree(a)
    b = space.vmalloc(12 * 4096)                                 # 13 pages with the guard: only fits after purging a
    assert b == 0x10000000 and not space._lazy
    with pytest.raises(AllocationError, match=r"vmap allocation for size 16384 failed: use vmalloc=<size> to increase"):
        space.vmalloc(3 * 4096)
    assert space.render_vmallocinfo() == f"0x{b:08x}-0x{b + 13 * 4096:08x}   53248 vmalloc pages=12 vmalloc N0=12\n"


def test_vmallocinfo_format(machine):
    space = machine.vmalloc
    space.vmalloc(4 * 4096, caller="kernel_clone+0xb8/0x400")
    # the same shape as a real line: "0x...-0x...   20480 kernel_clone+0xb8/0x400 pages=4 vmalloc N0=4"
    assert space.render_vmallocinfo() == \
        "0xffffc90000000000-0xffffc90000005000   20480 kernel_clone+0xb8/0x400 pages=4 vmalloc N0=4\n"


@pytest.mark.parametrize("call, error, message", [
    (lambda s: s.vmalloc(0), InvalidSize, r"vmalloc\(0\): __vmalloc_node_range\(\) hits WARN_ON_ONCE\(!size\)"),
    (lambda s: s.vmalloc(-4096), InvalidSize, "negative"),
    (lambda s: s.vmalloc(4096.0), InvalidSize, "not an integer"),
    (lambda s: s.vmalloc(4096, "GFP_KERNAL"), UnknownGfpFlag, "GFP_KERNAL"),
    (lambda s: s.vmalloc(17 << 20), AllocationError, r"vmalloc error: size 17825792, exceeds total pages"),
    (lambda s: s.vfree(VMALLOC_START + 0x2000), InvalidFree, r"Trying to vfree\(\) nonexistent vm area"),
    (lambda s: s.vfree(VMALLOC_START + 0x2001), InvalidFree, r"Trying to vfree\(\) bad address"),
    (lambda s: s.vfree(VMALLOC_START + 0x1000), InvalidFree, "inside another area"),
    (lambda s: s.vfree("x"), InvalidArgument, "integer address"),
    (lambda s: s.vmalloc_to_pfn(VMALLOC_START + 0x1000), InvalidArgument, "guard page"),
])
def test_bad_input(machine, call, error, message):
    space = machine.vmalloc
    space.vmalloc(4096)
    before = (space.render_vmallocinfo(), machine.zone("Normal").nr_free_pages, len(machine.slab))
    with pytest.raises(error, match=message):
        call(space)
    assert (space.render_vmallocinfo(), machine.zone("Normal").nr_free_pages, len(machine.slab)) == before
    space.check_invariants()


def test_double_vfree(machine):
    space = machine.vmalloc
    addr = space.vmalloc(4096)
    space.vfree(addr)
    space.vfree(None)                                            # vfree(NULL) is a no-op
    with pytest.raises(DoubleFree, match="vfree\\(\\)d already"):
        space.vfree(addr)


def test_out_of_pages_rolls_back(machine):
    space = machine.vmalloc
    zone = machine.zone("Normal")

    def slab_pages():
        return sum(1 << s.order for s in machine.slab._slab_at.values())

    state = (space.render_vmallocinfo(), zone.nr_free_pages + slab_pages(), len(machine.slab))
    with pytest.raises(AllocationError, match=r"vmalloc error: size 16773120, failed to allocate pages"):
        space.vmalloc((16 << 20) - 4096)                         # fits the RAM size test, not the watermarks
    # every page and the address range are back; only an empty slab made for the page array stays cached
    assert (space.render_vmallocinfo(), zone.nr_free_pages + slab_pages(), len(machine.slab)) == state
    assert slab_pages() == 1
    space.check_invariants()
    machine.slab.check_invariants()


def test_kvmalloc_falls_back_to_vmalloc(machine):
    small = kvmalloc(machine, 3000)
    assert machine.slab.cache_of(small).name == "kmalloc-4k"
    big = kvmalloc(machine, 6 << 20)                             # above KMALLOC_MAX_SIZE: vmalloc
    assert machine.vmalloc.is_vmalloc_addr(big)
    mid = kvmalloc(machine, 64 << 10)                            # a large kmalloc works while memory is plentiful
    assert not machine.vmalloc.is_vmalloc_addr(mid)
    for ptr in (small, big, mid):
        kvfree(machine, ptr)
    assert len(machine.slab) == 0 and not machine.vmalloc.areas()
    with pytest.raises(AllocationError):
        kvmalloc(machine, 6 << 20, "GFP_ATOMIC")                 # no vmalloc fallback without blocking


def test_kvmalloc_of_2_mib_and_more_uses_huge_vmap():
    """__kvmalloc_node_noprof() passes VM_ALLOW_HUGE_VMAP: a 5 MiB kvmalloc is 6 MiB of 1,536
    pages from three order-9 blocks, 2 MiB-aligned; vmalloc() of 5 MiB stays 1,280 pages."""
    machine = Machine.preset("linux-6.18-x86_64", ram="256M")
    space = machine.vmalloc
    huge = kvmalloc(machine, 5 << 20)
    area = space.area(huge)
    assert huge % (2 << 20) == 0 and area.size == (6 << 20) + 4096 and area.nr_pages == 1536
    runs = [area.pages[i:i + 512] for i in range(0, 1536, 512)]
    assert all(run == list(range(run[0], run[0] + 512)) and run[0] % 512 == 0 for run in runs)
    assert all(machine.zone_of(pfn).allocated_order(pfn) == 0 for pfn in area.pages)  # split_page()
    assert space.render_vmallocinfo().splitlines()[0] == (
        f"0x{huge:016x}-0x{huge + (6 << 20) + 4096:016x} 6295552 kvmalloc pages=1536 vmalloc vpages N0=1536")
    plain = space.vmalloc(5 << 20)
    assert space.area(plain).nr_pages == 1280
    kvfree(machine, huge)
    space.vfree(plain)
    space.check_invariants()
    machine.check_invariants()


def test_huge_kvmalloc_falls_back_to_small_pages():
    machine = Machine.preset("linux-6.18-x86_64", ram="256M")
    zone = machine.zone("DMA32")
    held, error = machine.alloc_pages_many("GFP_KERNEL", 0, 10**6)
    assert error is not None  # every page the watermarks allow
    for pfn in held[::2]:
        machine.free_pages(pfn, 0)  # plenty of free pages, in small blocks
    for zone_ in machine.zones:
        while zone_.largest_free_order() >= 9:
            zone_.alloc_pages(9, "Unmovable")  # the zone-level call: no watermark, takes what is left
    assert zone.largest_free_order() < 9
    space = machine.vmalloc
    addr = kvmalloc(machine, 4 << 20)
    assert space.area(addr).nr_pages == 1024
    assert "unpurged vm_area" in space.render_vmallocinfo()  # the failed huge attempt, vfree()d lazily
    space.check_invariants()
    machine.check_invariants()


def test_vmalloc_pages_come_from_alloc_pages_bulk(machine):
    """alloc_pages_bulk(): one zone, its low watermark + nr_pages; pages as __rmqueue() gives them."""
    pfns = machine.alloc_pages_bulk("GFP_KERNEL", 5)
    assert len(pfns) == 5 and all(machine.zone_of(pfn).allocated_order(pfn) == 0 for pfn in pfns)
    assert machine.alloc_pages_bulk("GFP_KERNEL", 0) == []
    for pfn in pfns:
        machine.free_pages(pfn, 0)
    machine.check_invariants()
