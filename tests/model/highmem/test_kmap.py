"""kmap() and the pkmap window, kmap_local_page(), kmap_atomic(): exact slots, counts and flushes."""

import pytest

from kernelmem_widgets.model.errors import InvalidArgument, PfnOutOfRange
from kernelmem_widgets.model.highmem import (KmapAtomicBug, KmapLocalBug, KmapSpace, KmapWouldSleep,
                                             KunmapBug, KunmapLocalOutOfOrder, NotAHighmemKernel, Page,
                                             boot_layout)

GiB_PFNS = 1 << 18


def space_for(rules="linux-6.18-i386", ram_pfns=2 * GiB_PFNS, **options):
    layout = boot_layout(rules, max_pfn=ram_pfns, **options)
    return layout, KmapSpace.from_layout(layout, nr_cpus=2)


def state(space):
    local = space.local.slots() if space.local else None
    return (space.pkmap_count, space.slot_pfns(), space.last_pkmap_nr, space.counters.as_dict(), local)


def test_lowmem_kmap_is_page_address_and_costs_nothing():
    layout, space = space_for()
    assert space.kmap(0x1234) == 0xC0000000 + 0x1234 * 4096 == layout.page_address(0x1234)
    space.kunmap(0x1234)
    assert space.counters.as_dict() == {"pte_writes": 0, "tlb_flush_all": 0, "tlb_flush_one": 0,
                                        "mappings_reused": 0, "wraps": 0}
    assert set(space.pkmap_count) == {0}


def test_first_kmap_takes_slot_1_and_a_second_kmap_reuses_it():
    layout, space = space_for()
    high = layout.max_low_pfn + 5
    assert space.kmap(high) == layout.pkmap_base + 4096  # last_pkmap_nr starts at 0: slot 1 first
    assert space.kmap(Page(high, True)) == layout.pkmap_base + 4096
    assert space.pkmap_count[1] == 3  # two users + 1
    assert (space.counters.pte_writes, space.counters.mappings_reused) == (1, 1)
    space.kunmap(high)
    space.kunmap((high, True))
    assert space.pkmap_count[1] == 1  # no users, still mapped: lazy unmap
    assert space.page_address(high) == layout.pkmap_base + 4096
    assert space.kmap(high) == layout.pkmap_base + 4096  # found in place, no PTE write
    assert (space.counters.pte_writes, space.counters.mappings_reused) == (1, 2)
    space.check_invariants()


def test_2048_kmap_kunmap_pairs_flush_the_window_twice():
    layout, space = space_for()
    base = layout.max_low_pfn
    slots = []
    for i in range(2048):
        space.kmap(base + i)
        slots.append(space.slot_of(base + i))
        space.kunmap(base + i)
    assert slots[:1023] == list(range(1, 1024)) and slots[1023] == 0
    assert slots[1024:2047] == list(range(1, 1024)) and slots[2047] == 0
    # first wrap unmaps slots 1..1023, the second all 1024: one whole-window TLB flush each
    assert space.counters.as_dict() == {"pte_writes": 2048 + 1023 + 1024, "tlb_flush_all": 2, "tlb_flush_one": 0,
                                        "mappings_reused": 0, "wraps": 2}
    space.check_invariants()


def test_full_window_would_sleep_and_one_kunmap_frees_a_slot_at_the_next_wrap():
    layout, space = space_for()
    base = layout.max_low_pfn
    for i in range(1024):
        space.kmap(base + i)  # all held: slots 1..1023 then 0
    assert space.slot_of(base + 1023) == 0
    assert (space.counters.wraps, space.counters.tlb_flush_all) == (1, 0)  # nothing at count 1 to flush
    before = state(space)
    with pytest.raises(KmapWouldSleep, match="would sleep: all 1024 pkmap slots"):
        space.kmap(base + 5000)
    assert state(space) == before
    space.kunmap(base + 4)  # slot 5 drops to 1: mapped, unusable until a flush
    assert space.kmap(base + 5000) == layout.pkmap_addr(5)
    assert (space.counters.wraps, space.counters.tlb_flush_all) == (2, 1)
    assert space.page_address(base + 4) is None
    space.check_invariants()


def test_pae_window_has_512_slots_at_its_own_base():
    layout, space = space_for(pae=True)
    assert (layout.last_pkmap, layout.pkmap_base) == (512, 0xFF600000)
    for i in range(512):
        space.kmap(layout.max_low_pfn + i)
    with pytest.raises(KmapWouldSleep):
        space.kmap(layout.max_low_pfn + 600)


def test_kunmap_of_a_page_never_mapped_is_the_kernels_bug():
    layout, space = space_for()
    high = layout.max_low_pfn + 7
    with pytest.raises(KunmapBug, match=r"BUG_ON\(!vaddr\)"):
        space.kunmap(high)
    space.kmap(high)
    space.kunmap(high)
    before = state(space)
    with pytest.raises(KunmapBug, match=r"would drop to 0"):
        space.kunmap(high)
    assert state(space) == before


@pytest.mark.parametrize("page", [(-1, False), (1 << 30, True), ("12", None), (True, False)])
def test_bad_pages_are_refused(page):
    _layout, space = space_for()
    with pytest.raises(PfnOutOfRange):
        space.kmap(page[0] if page[1] is None else page)


def test_a_page_whose_highmem_flag_contradicts_its_pfn_is_refused():
    layout, space = space_for()
    with pytest.raises(PfnOutOfRange, match="says highmem=True"):
        space.kmap(Page(10, True))
    with pytest.raises(PfnOutOfRange, match="says highmem=False"):
        space.kmap((layout.max_low_pfn, False))


def test_x86_64_has_no_highmem_every_call_is_page_address():
    space = KmapSpace.x86_64(max_pfn=16 * GiB_PFNS)  # 16 GiB, all in the direct map
    for call in (space.kmap, space.kmap_local_page, space.kmap_atomic):
        assert call(0x123456) == 0xFFFF888000000000 + 0x123456 * 4096
    space.kunmap(0x123456)
    space.kunmap_local(0xFFFF888000000000)
    assert set(space.counters.as_dict().values()) == {0}


def test_kmap_local_is_lifo_per_cpu():
    layout, space = space_for()
    a, b = layout.max_low_pfn + 1, layout.max_low_pfn + 2
    slot0 = 0xFFFFF000 - (69 + 0) * 4096  # __fix_to_virt(FIX_KMAP_BEGIN + idx)
    va, vb = space.kmap_local_page(a), space.kmap_local_page(b)
    assert (va, vb) == (slot0, slot0 - 4096)
    assert space.kmap_local_page(a, cpu=1) == slot0 - 16 * 4096  # KM_MAX_IDX slots per CPU
    before = state(space)
    with pytest.raises(KunmapLocalOutOfOrder, match="reverse order"):
        space.kunmap_local(va)
    assert state(space) == before
    space.kunmap_local(vb)
    space.kunmap_local(va)
    assert space.counters.tlb_flush_one == 2 and space.counters.pte_writes == 5
    with pytest.raises(KmapLocalBug, match="BUG_ON"):
        space.kunmap_local(va)  # nothing left on CPU 0
    space.kunmap_local(space.kmap_local_page(5))  # lowmem: page_address(), no slot
    assert space.local.depth(0) == 0
    space.check_invariants()


def test_kmap_local_nesting_beyond_km_max_idx_is_a_bug():
    layout, space = space_for()
    for i in range(16):
        space.kmap_local_page(layout.max_low_pfn + i)
    with pytest.raises(KmapLocalBug, match="KM_MAX_IDX"):
        space.kmap_local_page(layout.max_low_pfn + 99)
    assert space.local.depth(0) == 16


def test_kmap_atomic_of_2_6_35_uses_named_km_type_slots():
    layout, space = space_for("linux-2.6.35-i386")
    a, b = layout.max_low_pfn + 1, layout.max_low_pfn + 2
    top = layout.fixaddr_top
    va = space.kmap_atomic(a, "KM_USER0")
    assert va == top - (69 + 3) * 4096  # KM_USER0 is km_type 3
    assert space.kmap_atomic(a, "KM_USER0", cpu=1) == top - (69 + 3 + 20) * 4096  # KM_TYPE_NR 20
    with pytest.raises(KmapAtomicBug, match="pte_none"):
        space.kmap_atomic(b, "KM_USER0")
    vb = space.kmap_atomic(b, "KM_USER1")
    with pytest.raises(KmapAtomicBug, match="not slot KM_USER0"):
        space.kunmap_atomic(vb, "KM_USER0")
    space.kunmap_atomic(va, "KM_USER0")
    space.kunmap_atomic(vb, "KM_USER1")
    assert (space.counters.pte_writes, space.counters.tlb_flush_one) == (5, 2)
    with pytest.raises(InvalidArgument, match="needs a km_type"):
        space.kmap_atomic(a)
    with pytest.raises(NotAHighmemKernel, match="5.11"):
        space.kmap_local_page(a)
    space.check_invariants()


def test_kmap_atomic_of_3_16_is_a_stack_without_km_type():
    layout, space = space_for("linux-3.16-i386")
    a = layout.max_low_pfn + 1
    with pytest.raises(InvalidArgument, match="takes no km_type"):
        space.kmap_atomic(a, "KM_USER0")
    va = space.kmap_atomic(a)
    vb = space.kmap_atomic(a)
    with pytest.raises(KunmapLocalOutOfOrder):
        space.kunmap_atomic(va)
    space.kunmap_atomic(vb)
    space.kunmap_atomic(va)
    space.check_invariants()


def test_a_nohighmem_kernel_has_no_kmap_window():
    layout = boot_layout("linux-2.6.24-i386", max_pfn=GiB_PFNS, config_highmem=False)
    with pytest.raises(InvalidArgument, match="NOHIGHMEM"):
        KmapSpace.from_layout(layout)


def test_more_cpus_than_the_fixmap_holds_is_refused():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=GiB_PFNS)
    with pytest.raises(InvalidArgument, match="do not fit"):
        KmapSpace.from_layout(layout, nr_cpus=16)  # 20 * 16 slots in a 233-page fixmap


def test_each_mapping_change_is_one_event_for_a_view():
    layout, space = space_for()
    events = []
    space.bus.subscribe(events.append)
    base = layout.max_low_pfn
    for i in range(1024):
        space.kmap(base + i)
        space.kunmap(base + i)
    space.kunmap_local(space.kmap_local_page(base))
    kinds = [event.kind for event in events]
    assert kinds.count("kmap") == kinds.count("kunmap") == 1024
    assert kinds.count("flush_all_zero_pkmaps") == 1  # the wrap at the 1024th kmap
    assert kinds[-2:] == ["kmap_local", "kunmap_local"] and events[-1]["slot"] == 0
