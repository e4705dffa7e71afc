"""CMA areas, cma_alloc() through alloc_contig_range(), -EBUSY with a pinned page, cma_release()."""

from pathlib import Path

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.dma import (CmaError, ContigRangeBusy, alloc_contig_pages, bitmap_find_next_zero_area_off,
                                         check_cma_invariants, cma_alloc, cma_declare_contiguous,
                                         cma_init_reserved_mem, cma_meminfo_lines, cma_release, free_contig_range,
                                         pin_user_pages, unpin_user_pages)
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_CMA

import numpy as np

MiB = 1 << 20
FIXTURE = Path(__file__).parent / "fixtures" / "boot_lines.txt"


def real_lines(prefix):
    return [line for line in FIXTURE.read_text().splitlines() if line.startswith(prefix)]


def fingerprint(machine):
    return [(bytes(z._area.buddy_order), bytes(z._alloc_order), bytes(z._alloc_mt), bytes(z._pb_mt),
             list(z._area.list_len)) for z in machine.zones]


@pytest.fixture
def tiny():
    """16 MiB, one zone; an 8 MiB CMA area goes top-down to pfns 0x800-0xfff."""
    machine = Machine.preset("linux-6.18-tiny")
    cma = cma_declare_contiguous(machine, 8 * MiB)
    return machine, cma


def test_declared_area_boot_line_and_meminfo(tiny):
    machine, cma = tiny
    assert (cma.base_pfn, cma.count, cma.name) == (0x800, 2048, "cma1")
    assert cma.boot_line == "cma: Reserved 8 MiB at 0x0000000000800000"
    assert cma_meminfo_lines(machine) == ["CmaTotal:           8192 kB", "CmaFree:            8192 kB"]
    zone = machine.zone("Normal")
    assert [zone.pageblock_migratetype(pfn) for pfn in range(0, 4096, 512)] == [1] * 4 + [MIGRATE_CMA] * 4
    assert zone.free_blocks(10, "CMA") == [0x800, 0xC00]
    machine.check_invariants()
    check_cma_invariants(machine)


def test_real_cma_boot_line():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    cma = cma_declare_contiguous(machine, 64 * MiB, base=0xFBE00000, fixed=True)
    assert [cma.boot_line] == real_lines("cma:")[:1]


def test_alignment_rules():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    with pytest.raises(CmaError) as failure:
        cma_init_reserved_mem(machine, 0x100100000, 64 * MiB)         # 1 MiB: not pageblock aligned
    assert failure.value.errno == -22 and "CMA_MIN_ALIGNMENT_BYTES (2 MiB" in str(failure.value)
    with pytest.raises(CmaError) as failure:
        cma_declare_contiguous(machine, 64 * MiB, base=0x100100000, fixed=True)
    assert str(failure.value) == "Region at 0x0000000100100000 must be aligned to 0x0000000000200000 bytes"
    with pytest.raises(CmaError):
        cma_declare_contiguous(machine, 32 << 30)                      # a cma= larger than RAM
    with pytest.raises(CmaError):
        cma_declare_contiguous(machine, 64 * MiB, alignment=3 * MiB)
    with pytest.raises(CmaError):
        cma_init_reserved_mem(machine, 0xFF000000, 32 * MiB)           # crosses DMA32 -> Normal
    cma = cma_declare_contiguous(machine, 63 * MiB)                    # rounded up to 64 MiB, from 4 GiB
    assert (cma.base, cma.size) == (1 << 32, 64 * MiB)
    assert machine.dma.cma_areas == [cma]


def test_cma_alloc_migrates_movable_pages_out(tiny):
    machine, cma = tiny
    users = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(3)]
    assert users == [0x0, 0x800, 0x1]           # CMA is used once its free pages are more than half the zone's
    result = cma_alloc(machine, cma, 16, 4)
    assert (result.pfn, result.nr_pages, result.migrated) == (0x800, 16, {0x800: 0x2})
    zone = machine.zone("Normal")
    assert [zone.allocated_order(pfn) for pfn in range(0x800, 0x810)] == [0] * 16
    assert cma.bitmap[:16].all() and not cma.bitmap[16:].any() and cma.available_count == 2032
    machine.check_invariants()
    check_cma_invariants(machine)
    cma_release(machine, cma, 0x800, 16)
    assert cma.available_count == 2048 and not cma.bitmap.any()
    machine.check_invariants()
    check_cma_invariants(machine)


def test_a_pinned_page_makes_the_range_busy_and_cma_tries_further(tiny):
    machine, cma = tiny
    users = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(3)]
    pin_user_pages(machine, users[1])                                   # 0x800, a short-term pin
    result = cma_alloc(machine, cma, 16, 4)
    assert (result.pfn, result.migrated) == (0x810, {})                # start = bitmap_no + mask + 1 = 16
    cma_release(machine, cma, 0x810, 16)
    before = fingerprint(machine)
    with pytest.raises(ContigRangeBusy) as failure:
        cma_alloc(machine, cma, 2048, 0)                                # every candidate holds the pin
    assert failure.value.errno == -16
    assert str(failure.value).startswith("cma: __cma_alloc: cma1: alloc failed, req-size: 2048 pages, ret: -16")
    assert "pfn 0x800 is pinned by pin_user_pages()" in str(failure.value)
    assert fingerprint(machine) == before                               # the model checks before it migrates
    unpin_user_pages(machine, 0x800)
    result = cma_alloc(machine, cma, 2048, 0)
    assert result.migrated == {0x800: 0x2}
    check_cma_invariants(machine)


def test_a_longterm_pin_migrates_out_of_cma_first(tiny):
    machine, cma = tiny
    machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    user = machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    assert user == 0x800
    pinned = pin_user_pages(machine, user, longterm=True)             # FOLL_LONGTERM
    assert not cma.contains(pinned)
    assert cma_alloc(machine, cma, 2048, 0).pfn == 0x800
    check_cma_invariants(machine)


def test_unmovable_allocations_never_use_cma(tiny):
    machine, cma = tiny
    held = []
    while True:
        try:
            held.append(machine.alloc_pages("GFP_KERNEL", 0))
        except Exception:
            break
    assert not any(cma.contains(pfn) for pfn in held)
    assert machine.zone("Normal").nr_free_cma == 2048
    check_cma_invariants(machine)


def test_release_of_pages_cma_did_not_give(tiny):
    machine, cma = tiny
    result = cma_alloc(machine, cma, 64, 6)
    before = fingerprint(machine)
    for pfn, count in ((0x100, 4), (result.pfn + 64, 4), (result.pfn, 65), (0xFFF, 2)):
        with pytest.raises(CmaError):
            cma_release(machine, cma, pfn, count)
    assert fingerprint(machine) == before
    cma_release(machine, cma, result.pfn + 32, 32)                      # half of it
    cma_release(machine, cma, result.pfn, 32)
    with pytest.raises(CmaError):
        cma_release(machine, cma, result.pfn, 32)                      # twice
    assert cma.available_count == 2048
    check_cma_invariants(machine)


def test_bitmap_search_with_alignment_mask_and_offset():
    bitmap = np.zeros(64, dtype=bool)
    bitmap[0:3] = True
    assert bitmap_find_next_zero_area_off(bitmap, 0, 4, 0, 0) == 3
    assert bitmap_find_next_zero_area_off(bitmap, 0, 4, 7, 0) == 8
    assert bitmap_find_next_zero_area_off(bitmap, 0, 4, 7, 2) == 6     # (index + offset) aligned to 8
    assert bitmap_find_next_zero_area_off(bitmap, 0, 64, 0, 0) >= 64


def test_alloc_contig_pages_without_cma():
    machine = Machine.preset("linux-6.18-tiny")
    result = alloc_contig_pages(machine, 1024)
    assert (result.pfn, result.nr_pages, result.migrated) == (0, 1024, {})   # ALIGN(zone_start_pfn, nr_pages)
    free_contig_range(machine, 0, 1024)
    machine.check_invariants()
    kernel = machine.alloc_pages("GFP_KERNEL", 0)                      # claims pageblocks 0-1 as Unmovable
    users = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(8)]
    assert kernel == 0 and users == list(range(0x400, 0x408))
    result = alloc_contig_pages(machine, 1024)                         # window 0 holds an unmovable page
    assert result.pfn == 0x400
    assert result.migrated == {pfn: pfn + 0x400 for pfn in users}
    machine.check_invariants()
    with pytest.raises(ContigRangeBusy) as failure:
        alloc_contig_pages(machine, 4096)
    assert "has_unmovable_pages(): pfn 0x0 is an Unmovable allocation" in str(failure.value)
