"""User address spaces: lazy allocation, THP and its fallback, fault-around, fork and COW."""

import pytest
from hypothesis import given, settings, strategies as st

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import AllocationError, InvalidArgument
from kernelmem_widgets.model.mmu.mm import File, MmStruct
from kernelmem_widgets.model.mmu.mmu_errors import AddressOutOfRange, MappingConflict

MiB = 1 << 20


def free_pages(machine):
    return sum(zone.nr_free_pages for zone in machine.zones)


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-x86_64", ram="64M")


def test_mmap_gives_no_pages_and_a_touch_faults_one_in(machine):
    before = free_pages(machine)
    mm = MmStruct(machine, thp="never")
    addr = mm.mmap(MiB)
    assert mm.rss_pages == 0 and free_pages(machine) == before - 1          # only the PGD page
    reads = mm.touch_range(addr, MiB)
    assert reads == {"faults": 256, "pages allocated": 0, "page tables allocated": 3, "anon-zero-page": 256}
    writes = mm.touch_range(addr, MiB, write=True)
    assert writes == {"faults": 256, "pages allocated": 256, "page tables allocated": 0, "cow": 256}
    assert mm.touch_range(addr, MiB, write=True)["faults"] == 0
    assert mm.counters["pgfault"] == 512 and mm.rss == {"MM_ANONPAGES": 256, "MM_FILEPAGES": 0}
    mm.check_invariants()


def test_write_first_touch_allocates_without_the_zero_page(machine):
    mm = MmStruct(machine, thp="never")
    addr = mm.mmap(16 * 4096)
    result = mm.touch(addr + 5, write=True)
    assert result.kind == "anon" and [order for _, order in result.allocated] == [0]
    assert result.pgtables_allocated == 3               # PUD, PMD and PTE pages under the PGD


def test_thp_needs_an_aligned_2mib_inside_the_vma(machine):
    mm = MmStruct(machine, thp="always")
    addr = mm.mmap(4 * MiB)
    assert addr % (2 * MiB) == 0                         # thp_get_unmapped_area() alignment
    result = mm.touch(addr + 12345, write=True)
    assert result.kind == "thp" and sorted(order for _, order in result.allocated) == [0, 9]
    assert mm.touch_range(addr, 2 * MiB, write=True)["faults"] == 0
    small = mm.mmap(MiB)                                 # 1 MiB: no aligned 2 MiB inside, so 4 KiB pages
    assert mm.touch(small, write=True).kind == "anon"
    assert mm.counters["thp_fault_alloc"] == 1 and mm.rss["MM_ANONPAGES"] == 513
    mm.check_invariants()


def test_thp_falls_back_to_4k_when_fragmentation_leaves_no_order_9_block(machine):
    hog = []
    while True:
        try:
            hog.append(machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0))
        except AllocationError:
            break
    for pfn in hog[::2][:2000]:                          # 2000 free pages, none of them adjacent
        machine.free_pages(pfn, 0)
    mm = MmStruct(machine, thp="always")
    addr = mm.mmap(2 * MiB)
    result = mm.touch(addr, write=True)
    assert result.kind == "anon-fallback" and result.allocated[0][1] == 0
    assert "THP fallback" in result.reason and mm.counters["thp_fault_fallback"] == 1


def test_madvise_mode_only_for_madvised_vmas(machine):
    mm = MmStruct(machine, thp="madvise")
    plain, advised = mm.mmap(2 * MiB), mm.mmap(2 * MiB)
    mm.madvise_hugepage(advised, 2 * MiB)
    assert mm.touch(plain, write=True).kind == "anon"
    assert mm.touch(advised, write=True).kind == "thp"


def test_file_read_faults_map_64k_around_the_address(machine):
    f = File(machine, 1 * MiB, "libc.so.6")
    mm = MmStruct(machine)
    addr = mm.mmap(1 * MiB, file=f, writable=False)
    result = mm.touch(addr + 20 * 4096)
    assert result.kind == "file-read" and result.ptes_mapped == 16 and result.allocated == ()
    assert mm.touch_range(addr + 16 * 4096, 64 << 10)["faults"] == 0         # the window 16..31 is mapped
    assert mm.touch_range(addr, MiB)["faults"] == 15                          # 256 pages / 16 per fault, one done
    assert mm.rss["MM_FILEPAGES"] == 256
    denied = mm.touch(addr, write=True)
    assert denied.signal == "SIGSEGV" and "PROT_WRITE" in denied.reason


def test_fault_around_is_clamped_to_the_vma_and_the_file(machine):
    f = File(machine, 5 * 4096 + 10, "short")                # 6 pages
    mm = MmStruct(machine)
    addr = mm.mmap(64 << 10, file=f, writable=False)
    assert mm.touch(addr).ptes_mapped == 6
    assert mm.touch(addr + 8 * 4096).kind == "sigbus"


def test_fork_shares_pages_and_the_first_write_copies(machine):
    mm = MmStruct(machine, thp="never")
    addr = mm.mmap(8 * 4096)
    mm.touch_range(addr, 8 * 4096, write=True)
    before = free_pages(machine)
    child = mm.fork()
    assert free_pages(machine) == before - 4             # the child's page tables only, no data page
    first = child.touch(addr, write=True)
    assert first.kind == "cow" and len(first.allocated) == 1
    assert mm.touch(addr, write=True).kind == "wp-reuse"  # the parent's page is its own again: no copy
    counts = [child.touch(addr + i * 4096, write=True).kind for i in range(1, 8)]
    assert counts == ["cow"] * 7 and child.counters["cow_fault"] == 8
    assert mm.touch(addr + 4096).kind == "none"           # reads never fault after fork
    mm.check_invariants()
    child.check_invariants()
    child.exit()
    assert free_pages(machine) == before


def test_fork_of_a_thp_then_write_splits_and_copies_4k(machine):
    mm = MmStruct(machine, thp="always")
    addr = mm.mmap(2 * MiB)
    mm.touch(addr, write=True)
    child = mm.fork()
    result = child.touch(addr + 4096, write=True)
    assert result.kind == "cow" and [order for _, order in result.allocated] == [0]
    assert child.counters["thp_split_pmd"] == 1
    assert child.pt.leaf_entry(addr)[1] == 4096 and mm.pt.leaf_entry(addr)[1] == 2 * MiB
    mm.check_invariants()
    child.check_invariants()


def test_munmap_gives_back_pages_and_emptied_tables(machine):
    before = free_pages(machine)
    mm = MmStruct(machine, thp="never")
    addr = mm.mmap(MiB)
    mm.touch_range(addr, MiB, write=True)
    result = mm.munmap(addr, MiB)
    assert result == {"pages freed": 256, "page tables freed": 3}
    assert free_pages(machine) == before - 1 and mm.vmas == []
    mm.exit()
    assert free_pages(machine) == before


def test_bad_accesses_are_results_or_named_errors(machine):
    mm = MmStruct(machine)
    result = mm.touch(0x1000)
    assert result.signal == "SIGSEGV" and "SEGV_MAPERR" in result.reason
    with pytest.raises(AddressOutOfRange):
        mm.touch(0xFFFF888000000000)
    addr = mm.mmap(4096, addr=0x10000)
    with pytest.raises(MappingConflict):
        mm.mmap(4096, addr=0x10000)
    with pytest.raises(InvalidArgument):
        MmStruct(machine, thp="sometimes")
    assert mm.rss_pages == 0 and addr == 0x10000


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["touch", "write", "fork", "munmap", "exit-child"]),
                          st.integers(0, 63)), min_size=1, max_size=40))
def test_random_sequences_keep_every_count_consistent(ops):
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    before = free_pages(machine)
    mm = MmStruct(machine, thp="always")
    base = mm.mmap(4 * MiB)
    procs = [mm]
    for op, page in ops:
        addr = base + page * 64 * 1024
        proc = procs[page % len(procs)]
        if op == "touch":
            proc.touch(addr)
        elif op == "write":
            proc.touch(addr, write=True)
        elif op == "fork" and len(procs) < 4:
            procs.append(proc.fork())
        elif op == "munmap":
            proc.munmap(addr, 64 * 1024)
        elif op == "exit-child" and len(procs) > 1:
            procs.pop().exit()
        for p in procs:
            p.check_invariants()
    for p in reversed(procs):
        p.exit()
    kept = (mm.rmap.zero_pfn is not None) + 512 * (mm.rmap.huge_zero_pfn is not None)
    assert free_pages(machine) == before - kept           # only the zero pages stay
