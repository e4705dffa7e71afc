"""set_memory_ro/uc on the direct map: splits, DirectMap figures, TLB flushes."""

import numpy as np
import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.mmu.direct_map import build_direct_map
from kernelmem_widgets.model.mmu.mmu_errors import BadAlignment, NotMapped
from kernelmem_widgets.model.mmu.paging import _PAGE_PCD, _PAGE_RW
from kernelmem_widgets.model.mmu.set_memory import set_memory_ro, set_memory_uc, set_memory_wb
from kernelmem_widgets.model.mmu.tlb import Tlb

MiB, GiB = 1 << 20, 1 << 30


@pytest.fixture
def direct():
    machine = Machine.preset("linux-6.18-x86_64", ram="3G")
    return build_direct_map(machine, [(0, 0x9FC00, "usable"), (0x100000, 3 * GiB, "usable")], gbpages=True)


def test_boot_split_of_a_3g_machine(direct):
    # RAM ends on a 1 GiB boundary: the top 2 MiB step is widened to the 1 GiB page [2G, 3G), which the
    # next two steps map again; phys_pud_init() counts a reused entry again ("if (!after_bootmem)
    # pages++"), so DirectMap1G says 4 GiB for the two 1 GiB pages there are
    assert [call.ranges[-1].page_size_name for call in direct.calls] == ["4k", "1G", "1G", "1G"]
    assert direct.pages_count == {4096: 512, 2 * MiB: 511, GiB: 4}
    assert direct.meminfo_lines() == ("DirectMap4k:        2048 kB\nDirectMap2M:     1046528 kB\n"
                                      "DirectMap1G:     4194304 kB\n")


def test_one_page_read_only_inside_a_1g_page_splits_twice(direct):
    tlb = Tlb("skylake")
    addr = direct.virt(GiB + 5 * MiB)
    result = set_memory_ro(direct, addr, 1, tlb=tlb)
    assert (result.splits_1g, result.splits_2m, result.entries_changed, result.flush) == (1, 1, 1, "all")
    assert result.tables_allocated == 2
    assert direct.pages_count == {4096: 512 + 512, 2 * MiB: 511 + 511, GiB: 4 - 1}
    assert direct.splits == {"direct_map_level2_splits": 1, "direct_map_level3_splits": 1}
    assert not direct.page_table.leaf_entry(addr)[0] & _PAGE_RW
    assert direct.page_table.leaf_entry(addr + 4096)[0] & _PAGE_RW
    assert tlb.flushes["all"] == 1
    assert set_memory_ro(direct, addr, 1).flush == "none"        # nothing left to change


def test_a_whole_aligned_2m_page_changes_without_a_split(direct):
    addr = direct.virt(4 * MiB)
    result = set_memory_uc(direct, addr, 512)
    assert (result.splits_2m, result.entries_changed, result.flush) == (0, 1, "all")   # 512 > 33 pages
    assert direct.page_table.leaf_entry(addr)[0] & _PAGE_PCD
    assert set_memory_wb(direct, addr, 512).entries_changed == 1
    small = set_memory_ro(direct, direct.virt(0x10000), 2)        # in the 4k first 2 MiB: no split
    assert (small.splits_2m, small.entries_changed, small.flush) == (0, 2, "pages")


def test_translations_survive_splits(direct):
    virts = np.uint64(direct.page_offset) + np.arange(GiB, 2 * GiB, 1 << 16, dtype=np.uint64)
    before, _, _ = direct.page_table.translate(virts)
    set_memory_ro(direct, direct.virt(GiB + 7 * 4096), 3)
    after, _, _ = direct.page_table.translate(virts)
    assert (before == after).all()
    direct.page_table.check_invariants()


def test_bad_ranges_change_nothing(direct):
    counts = dict(direct.pages_count)
    with pytest.raises(BadAlignment):
        set_memory_ro(direct, direct.virt(GiB) + 1, 1)
    with pytest.raises(NotMapped):
        set_memory_ro(direct, direct.virt(3 * GiB - 4096), 2)       # the second page is beyond RAM
    assert direct.pages_count == counts
