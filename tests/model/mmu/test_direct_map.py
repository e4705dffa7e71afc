"""The direct map against real boot logs, and its DirectMap counts."""

import re
from pathlib import Path

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.model.mmu.direct_map import (build_direct_map, machine_ram_ranges, memblock_memory,
                                                    plan_init_mem_mapping, split_mem_range)

FIXTURES = Path(__file__).parent / "fixtures"
_E820 = re.compile(r"BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.+)$")
_NODE = re.compile(r"node\s+0: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\]")


def load(name):
    lines = [line for line in (FIXTURES / name).read_text().splitlines() if not line.startswith("#")]
    e820 = [(int(m[1], 16), int(m[2], 16) + 1, m[3]) for m in map(_E820.match, lines) if m]
    mapping = [line for line in lines if line.startswith(("init_memory_mapping", " [mem", "Using GB pages"))]
    nodes = [(int(m[1], 16), int(m[2], 16) + 1) for m in map(_NODE.search, lines) if m]
    return e820, mapping, nodes


@pytest.mark.parametrize("name, gbpages", [("hermes-3.13.0-24-init_memory_mapping.txt", False),
                                           ("proliant-3.13.0-48-init_memory_mapping.txt", True)])
def test_real_boot_logs_are_reproduced_line_for_line(name, gbpages):
    e820, expected, nodes = load(name)
    assert memblock_memory(e820) == nodes            # the kernel's "Early memory node ranges"
    machine = Machine.preset("linux-6.18-x86_64", ram=nodes[-1][1])
    direct = build_direct_map(machine, e820, gbpages=gbpages, rules="3.13")
    assert direct.boot_lines() == expected
    direct.page_table.check_invariants()


def test_hermes_directmap_counts_follow_from_its_page_lines():
    e820, _, _ = load("hermes-3.13.0-24-init_memory_mapping.txt")
    machine = Machine.preset("linux-6.18-x86_64", ram=0x250000000)
    direct = build_direct_map(machine, e820, gbpages=False, rules="3.13")
    # 4k: [0,1M) 256 + [1M,2M) 256 + [0xafe00000,0xafee0000) 224 pages; 2M: 1 + 31 + 608 + 1406 + 2048
    assert direct.pages_count == {4096: 736, 2 << 20: 4094, 1 << 30: 0}
    assert direct.meminfo_lines() == "DirectMap4k:        2944 kB\nDirectMap2M:     8384512 kB\n"


def test_proliant_directmap_counts_with_gb_pages():
    e820, _, _ = load("proliant-3.13.0-48-init_memory_mapping.txt")
    machine = Machine.preset("linux-6.18-x86_64", ram=0x1A0000000)
    direct = build_direct_map(machine, e820, gbpages=True, rules="3.13")
    # 4k: 256 + 256 + (0xd7f90000-0xd7e00000)/4k = 400; 2M: 1 + 31 + 224 + 511 + 191; 1G: 2 + 2
    assert direct.pages_count == {4096: 912, 2 << 20: 958, 1 << 30: 4}
    assert direct.meminfo_lines().splitlines() == ["DirectMap4k:        3648 kB", "DirectMap2M:     1961984 kB",
                                                   "DirectMap1G:     4194304 kB"]


def test_6_18_steps_grow_by_256_once_the_total_reaches_the_step():
    e820, _, _ = load("hermes-3.13.0-24-init_memory_mapping.txt")
    calls = plan_init_mem_mapping(e820, gbpages=False, rules="6.18")
    assert [(c.start, c.end) for c in calls] == [
        (0, 0x100000), (0x24FE00000, 0x250000000), (0x240000000, 0x24FE00000), (0x220000000, 0x240000000),
        (0x100000, 0xAFEE0000), (0x100000000, 0x220000000)]


def test_split_mem_range_uses_the_large_page_when_the_whole_page_is_ram():
    memory = [(0x1000, 0x9F000), (0x100000, 0x80000000)]
    pieces = split_mem_range(0x100000, 0x80000000, 0b1100, memory)
    assert [(p.start, p.end, p.page_size_name) for p in pieces] == [
        (0x100000, 0x200000, "4k"), (0x200000, 0x40000000, "2M"), (0x40000000, 0x80000000, "1G")]
    # a 4k tail becomes 2M when the whole 2 MiB around it is memory
    assert split_mem_range(0x100000, 0x300000, 0b100, [(0, 0x400000)])[-1].page_size_name == "2M"


def test_the_direct_map_translates_every_page_to_its_own_frame():
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    direct = build_direct_map(machine, gbpages=True)
    import numpy as np
    phys = np.arange(0, 64 << 20, 4096, dtype=np.uint64)
    got, size, refs = direct.page_table.translate(phys + np.uint64(direct.page_offset))
    assert (got == phys.astype(np.int64)).all()
    # 0-2M with 4k pages (page 0 and the ISA hole keep 0-2M from being one 2M page), the rest 2M
    assert direct.pages_count == {4096: 512, 2 << 20: 31, 1 << 30: 0}
    assert set(refs[:512].tolist()) == {4} and set(refs[512:].tolist()) == {3}


def test_machine_ram_ranges_and_bad_input():
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    assert machine_ram_ranges(machine) == [(0, 64 << 20, "usable")]
    free = machine.zone("DMA32").nr_free_pages
    with pytest.raises(InvalidArgument, match="only 64 MiB"):
        build_direct_map(machine, [(0, 1 << 30, "usable")])
    assert machine.zone("DMA32").nr_free_pages == free
    with pytest.raises(InvalidArgument, match="overlap"):
        memblock_memory([(0x100000, 0x300000, 1), (0x200000, 0x400000, 1)])
    with pytest.raises(InvalidArgument, match="exclusive"):
        memblock_memory([(0x300000, 0x100000, "usable")])
