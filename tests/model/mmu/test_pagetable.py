"""Page tables: walks and their memory references, allocation of table pages, unmapping."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import AllocationError
from kernelmem_widgets.model.mmu.mmu_errors import AddressOutOfRange, BadAlignment, MappingConflict, NotMapped
from kernelmem_widgets.model.mmu.pagetable import PageTable

KERNEL = 0xFFFF888000000000


def free_pages(machine):
    return sum(zone.nr_free_pages for zone in machine.zones)


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-tiny")


@pytest.mark.parametrize("mode, level, refs, tables", [
    ("x86_64-4level", "pte", 4, 4), ("x86_64-4level", "pmd", 3, 3), ("x86_64-4level", "pud", 2, 2),
    ("x86_64-5level", "pte", 5, 5), ("x86_64-5level", "pud", 3, 3),
    ("i386-2level", "pte", 2, 2), ("i386-2level", "pgd", 1, 1),
    ("i386-pae", "pte", 3, 3), ("i386-pae", "pmd", 2, 2),
])
def test_a_walk_reads_one_entry_per_level_down_to_the_leaf(machine, mode, level, refs, tables):
    pt = PageTable(machine, mode)
    span = pt.mode.level(level).span
    pt.map_range(span * 3, 0, 1, level)
    walk = pt.walk(span * 3 + 0x123)
    assert walk.memory_references == refs and walk.phys == 0x123 and walk.page_size == span
    assert pt.nr_tables == tables
    assert [step.level for step in walk.steps] == [lv.name for lv in pt.mode.levels][:refs]
    pt.check_invariants()


def test_walk_steps_name_the_entries_read(machine):
    pt = PageTable(machine)
    pt.map_range(KERNEL + (6 << 20), 0x300, 1, "pte")
    walk = pt.walk(KERNEL + (6 << 20) + 5)
    assert [step.index for step in walk.steps] == [273, 0, 3, 0]        # pgd_index(0xffff888000000000) = 273
    assert walk.steps[0].entry_phys == int(pt.table_pfns()[0]) * 4096 + 273 * 8
    assert walk.phys == 0x300005
    assert "not mapped" in str(pt.walk(KERNEL + (8 << 20)))


def test_tables_come_from_the_buddy_allocator_and_go_back(machine):
    before = free_pages(machine)
    pt = PageTable(machine)
    pt.map_range(0x400000, 0x100, 600, "pte")               # 600 PTEs cross into a second PTE table
    assert pt.tables_per_level() == {"pgd": 1, "pud": 1, "pmd": 1, "pte": 2}
    assert free_pages(machine) == before - 5
    cleared, freed = pt.unmap_range(0x400000, 600 * 4096)
    assert cleared == 600 and len(freed) == 4 and pt.nr_tables == 1   # pte, pte, pmd, pud; the pgd stays
    assert free_pages(machine) == before - 1
    pt.destroy()
    assert free_pages(machine) == before


def test_bad_mappings_change_nothing(machine):
    pt = PageTable(machine)
    pt.map_range(0x200000, 0x200, 1, "pmd")
    state = (free_pages(machine), pt.nr_tables)
    with pytest.raises(MappingConflict):
        pt.map_range(0x201000, 0x10, 1, "pte")              # inside the 2 MiB page
    with pytest.raises(MappingConflict):
        pt.map_range(0x0, 0x10, 1024, "pte")                # runs into it
    with pytest.raises(BadAlignment):
        pt.map_range(0x401000, 0x200, 1, "pmd")
    with pytest.raises(BadAlignment, match="cannot map memory at level 'pgd'"):
        pt.map_range(0, 0, 1, "pgd")
    with pytest.raises(AddressOutOfRange):
        pt.map_range(0x0000_8000_0000_0000, 0, 1, "pte")   # non-canonical
    with pytest.raises(BadAlignment, match="split it first"):
        pt.unmap_range(0x200000, 4096)
    with pytest.raises(NotMapped):
        pt.split_leaf(0x800000)
    assert (free_pages(machine), pt.nr_tables) == state
    assert pt.walk(0x0).phys is None


def test_a_failed_table_allocation_leaves_no_trace():
    machine = Machine.preset("linux-6.18-tiny")
    pt = PageTable(machine)
    hog = []
    while True:
        try:
            hog.append(machine.alloc_pages("GFP_KERNEL", 0))
        except AllocationError:
            break
    machine.free_pages(hog.pop(), 0)               # room for one table page, the walk needs three
    with pytest.raises(AllocationError):
        pt.map_range(0x400000, 0x100, 1, "pte")
    assert pt.nr_tables == 1 and pt.walk(0x400000).memory_references == 1
    pt.check_invariants()


def test_split_leaf_keeps_every_translation(machine):
    pt = PageTable(machine)
    pt.map_range(0x40000000, 0, 1, "pud")
    virts = 0x40000000 + np.arange(0, 1 << 30, 1 << 20, dtype=np.uint64)
    before, _, _ = pt.translate(virts)
    assert pt.split_leaf(0x40000000) == 512
    after, size, refs = pt.translate(virts)
    assert (before == after).all() and set(size.tolist()) == {2 << 20} and set(refs.tolist()) == {3}
    pt.split_leaf(0x40000000 + (4 << 20))
    assert pt.leaf_entry(0x40000000 + (4 << 20))[1] == 4096
    pt.check_invariants()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(1, 40)), min_size=1, max_size=12), st.randoms())
def test_every_mapped_page_translates_to_one_frame_and_unmapping_frees_emptied_tables(runs, rnd):
    machine = Machine.preset("linux-6.18-tiny")
    before = free_pages(machine)
    pt = PageTable(machine, name="user")
    mapped: dict[int, int] = {}
    next_pfn = 0x800
    for first, length in runs:
        virt = 0x7F0000000000 + first * (1 << 19)        # runs may share and cross PTE tables
        pages = [virt + i * 4096 for i in range(length)]
        if any(page in mapped for page in pages):
            continue
        pfns = list(range(next_pfn, next_pfn + length))
        next_pfn += length
        pt.map_range(virt, pfns, length, "pte")
        mapped.update(zip(pages, pfns))
        pt.check_invariants()
    virts = np.array(sorted(mapped), dtype=np.uint64)
    phys, size, _ = pt.translate(virts)
    assert (phys // 4096 == np.array([mapped[v] for v in sorted(mapped)])).all()
    assert len(set(phys.tolist())) == len(mapped)            # no two pages share a frame
    for page in rnd.sample(sorted(mapped), len(mapped)):
        pt.unmap_range(page, 4096)
        pt.check_invariants()
    assert pt.nr_tables == 1 and free_pages(machine) == before - 1
