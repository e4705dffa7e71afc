"""memblock: regions merge, allocations are top-down (or bottom-up), the first page is never given."""

import pytest

from kernelmem_widgets.model.boot import Memblock
from kernelmem_widgets.model.errors import InvalidArgument


def make():
    mb = Memblock()
    mb.add(0x1000, 0x9E000)
    mb.add(0x100000, 0x7FEE0000)
    return mb


def test_top_down_takes_the_highest_free_range():
    mb = make()
    assert mb.phys_alloc(0x200000, 0x200000) == 0x7FC00000       # round_down(0x7ffe0000 - 2M, 2M)
    assert mb.phys_alloc(0x1000, 0x1000) == 0x7FFDF000
    mb.check_invariants()


def test_bottom_up_and_the_first_page():
    mb = make()
    mb.bottom_up = True
    assert mb.phys_alloc(0x1000, 0x1000, 0) == 0x1000            # never page 0
    assert mb.phys_alloc(0x100000, 0x100000) == 0x100000


def test_reservations_merge_and_free_all_hands_whole_pages():
    mb = make()
    mb.reserve(0, 0x100000, "first 1 MiB")
    mb.reserve(0x1000000, 0x800, "odd end")
    assert mb.reserved == [[0, 0x100000], [0x1000000, 0x1000800]]
    assert mb.free_all() == [(0x100, 0x1000), (0x1001, 0x7FFE0)]
    with pytest.raises(InvalidArgument, match="after memblock_free_all"):
        mb.phys_alloc(0x1000, 0x1000)


def test_alloc_bootmem_is_above_16_mib_and_none_when_full():
    mb = make()
    assert mb.alloc_bootmem(0x1000) >= 16 << 20
    assert mb.phys_alloc(1 << 32, 0x1000) is None
    with pytest.raises(InvalidArgument, match="power of two"):
        mb.phys_alloc(0x1000, 3000)


def test_trim_memory_drops_partial_pages():
    mb = Memblock()
    mb.add(0, 0x9FC00)
    mb.trim_memory()
    assert mb.memory == [[0, 0x9F000]]
