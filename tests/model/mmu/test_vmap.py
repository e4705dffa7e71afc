"""vmalloc's PTEs and the lazy purge's TLB flush."""

import numpy as np

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.mmu.pagetable import PageTable
from kernelmem_widgets.model.mmu.tlb import KiB4, Tlb
from kernelmem_widgets.model.mmu.vmap import VmallocMappings


def setup(ram="256M", nr_cpus=1):
    machine = Machine.preset("linux-6.18-x86_64", ram=ram, nr_cpus=nr_cpus)
    tlb = Tlb("skylake")
    return machine, VmallocMappings(machine.vmalloc, PageTable(machine), tlb), tlb


def test_one_pte_per_page_and_the_walk_reaches_each_page():
    machine, maps, _ = setup()
    addr = maps.vmalloc(10 * 4096)
    area = machine.vmalloc.area(addr)
    phys, size, refs = maps.page_table.translate(addr + np.arange(10, dtype=np.uint64) * np.uint64(4096))
    assert (phys // 4096 == np.array(area.pages)).all() and set(size.tolist()) == {4096}
    assert maps.ptes_written == 10 and set(refs.tolist()) == {4}
    assert maps.page_table.walk(addr + 10 * 4096).phys is None            # the guard page


def test_vfree_clears_ptes_now_and_flushes_once_per_lazy_max_pages():
    machine, maps, tlb = setup(nr_cpus=1)               # lazy_max_pages = fls(1) * 32 MiB = 8192 pages
    assert maps.lazy_max_pages == 8192
    tables = maps.page_table.nr_tables
    for _ in range(64):
        addr = maps.vmalloc(127 * 4096)                 # 128 pages of virtual space with the guard page
        tlb.access([addr], [KiB4])
        maps.vfree(addr)
        assert maps.page_table.walk(addr).phys is None
    assert maps.ptes_cleared == 64 * 127 and maps.flushes == []     # 64 * 128 = 8192: not more than the limit
    assert len(maps.stale_ranges()) == 64
    addr = maps.vmalloc(127 * 4096)
    maps.vfree(addr)                                   # 8320 > 8192: one purge, one flush_tlb_all()
    assert len(maps.flushes) == 1
    flush = maps.flushes[0]
    assert (flush.areas, flush.pages, flush.kind) == (65, 65 * 128, "all")
    assert tlb.flushes["all"] == 1 and not tlb.holds(addr) and maps.stale_ranges() == []
    # a lazily freed range is not reused before the purge: 65 ranges of 128 pages walk through
    # 8320 PTE slots = 17 PTE tables, under one PMD and one PUD table; kernel tables are never freed
    assert maps.page_table.tables_per_level() == {"pgd": 1, "pud": 1, "pmd": 1, "pte": 17} and tables == 1
    maps.page_table.check_invariants()


def test_stale_entries_exist_until_the_purge():
    machine, maps, tlb = setup()
    addr = maps.vmalloc(4096)
    tlb.access([addr], [KiB4])
    maps.vfree(addr)
    assert tlb.holds(addr)                              # PTE gone, translation still cached
    flush = maps.purge()
    assert flush.kind == "pages" and not tlb.holds(addr)
