"""Streams through the direct map, vmalloc and user mappings."""

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.model.mmu.streams import access_pattern, compare_mappings


def free_pages(machine):
    return sum(zone.nr_free_pages for zone in machine.zones)


def test_four_mappings_of_8_mib_sequential():
    machine = Machine.preset("linux-6.18-x86_64", ram="256M")
    tables = machine.mmu.page_table.nr_tables
    before = free_pages(machine)
    out = compare_mappings(machine, 8 << 20, "sequential", stride=4096)
    assert out["direct map"]["walks"] == 4 and out["direct map"]["walk memory references"] == 12
    assert out["vmalloc"]["walks"] == 2048 and out["vmalloc"]["walk memory references"] == 8192
    assert out["user 4 KiB"]["walks"] == 2048 and out["user 4 KiB"]["page faults"] == 2048
    assert out["user THP"]["walks"] == 4 and out["user THP"]["page faults"] == 4
    # what stays: the kernel page tables of the vmalloc range (8 MiB area + its page-array area:
    # PUD, PMD and 5 PTE pages) and the kmalloc slab page that held the small page array
    assert machine.mmu.page_table.nr_tables - tables == 7
    assert free_pages(machine) == before - 7 - 1


def test_patterns_and_bad_input():
    assert access_pattern("sequential", 4096, stride=1024).tolist() == [0, 1024, 2048, 3072]
    assert access_pattern("random", 1 << 20, count=5, seed=1).tolist() == \
        access_pattern("random", 1 << 20, count=5, seed=1).tolist()
    with pytest.raises(InvalidArgument, match="accepted: sequential, strided, random"):
        access_pattern("zigzag", 4096)
    with pytest.raises(InvalidArgument):
        access_pattern("sequential", 0)
