"""The direct map planned at boot from the e820 table after the command line, its boot lines in
machine.dmesg() and its DirectMap lines in /proc/meminfo; highmem= messages; the Memory: line."""

import re
from pathlib import Path

import numpy as np
import pytest
from boot_fixtures import fixture_lines, fixture_text
from hypothesis import given, settings, strategies as st

from kernelmem_widgets.model import Machine, procfs
from kernelmem_widgets.model.boot import InvalidBootParameter
from kernelmem_widgets.model.boot.bootlog import mem_init_print_info
from kernelmem_widgets.model.boot.init_mapping import (GB_PAGES_LINE, count_direct_pages, plan_init_mem_mapping,
                                                       plan_init_mem_mapping_i386, split_mem_range_i386)
from kernelmem_widgets.model.boot.memblock import Memblock, replay_debug_log
from kernelmem_widgets.model.boot.setup import HIGHMEM_MESSAGES, KernelBuild
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.model.mmu.direct_map import build_direct_map

MMU_FIXTURES = Path(__file__).parents[1] / "mmu" / "fixtures"
NC4010 = "i386_1g_linux-3.2.0-53.log"
VIRTME = "virtme_6.6.41_memblock_debug.log"


def test_a_real_i386_boot_log_line_for_line():
    """HP nc4010, 1 GiB, no PAE: last_pfn, init_memory_mapping and its three ranges (4 MiB pages printed
    "2M"), HIGHMEM/LOWMEM, the low ram lines, the zones, in the log's order."""
    machine = Machine.preset("linux-2.6.35-i386", e820=fixture_text(NC4010))
    ours = machine.dmesg()
    real = fixture_lines(NC4010)
    at = [ours.index(line) for line in real]          # every real line is printed ...
    assert at == sorted(at)                           # ... in the real order
    # the total and the highmem part of the Memory: line follow from the map (the rest is the 3.2 kernel's)
    memory = [line for line in ours if line.startswith("Memory: ")]   # the layout block follows it (mem_init())
    assert len(memory) == 1 and "k/1015616k available" in memory[0]
    assert memory[0].endswith("106312k highmem)")     # real: "... 716k init, 106312k highmem)"
    # /proc/meminfo of a 32-bit kernel without PAE: DirectMap4k and DirectMap4M
    assert procfs.render_meminfo(machine).splitlines()[-2:] == ["DirectMap4k:        8184 kB",
                                                                "DirectMap4M:      901120 kB"]


def test_i386_split_by_hand():
    # from 0 the whole first PMD is 4k; 4 MiB pages to the last 4 MiB boundary; a 4k tail
    pieces = split_mem_range_i386(0, 0x377FE000)
    assert [(p.start, p.end, p.page_size_name) for p in pieces] == [
        (0, 0x400000, "4k"), (0x400000, 0x37400000, "2M"), (0x37400000, 0x377FE000, "4k")]
    assert [(p.start, p.end, p.page_size_name) for p in split_mem_range_i386(0, 0x377FE000, pse=False)] == [
        (0, 0x377FE000, "4k")]                          # 4k pieces that touch are merged
    with pytest.raises(InvalidArgument, match="no lowmem"):
        plan_init_mem_mapping_i386(0)
    with pytest.raises(InvalidArgument, match="accepted: 'x86_64' or 'i386'"):
        count_direct_pages(plan_init_mem_mapping_i386(0x377FE), arch="arm64")


def _hermes():
    lines = (MMU_FIXTURES / "hermes-3.13.0-24-init_memory_mapping.txt").read_text().splitlines()
    e820 = "\n".join(line for line in lines if line.startswith("BIOS-e820"))
    calls = [line for line in lines if line.startswith(("init_memory_mapping", " [mem"))]
    return e820, calls


def test_6_18_boot_plans_the_direct_map_from_the_e820_table_and_prints_only_the_gb_line():
    e820, real_lines = _hermes()
    machine = Machine.preset("linux-6.18-x86_64", e820=e820)
    dmesg = machine.dmesg()
    assert GB_PAGES_LINE in dmesg                     # printk(KERN_INFO) in probe_page_size_mask()
    assert not any(line.startswith("init_memory_mapping") for line in dmesg)     # pr_debug in 6.x
    assert dmesg.index(GB_PAGES_LINE) > max(i for i, line in enumerate(dmesg) if line.startswith("last_pfn"))
    plan = machine.boot.direct_map
    assert plan.lines()[0] == GB_PAGES_LINE
    # the memblock memory the 6.18 boot made from the e820 table, planned with the hermes CPU (no GB
    # pages) and the 3.13 step rule, is the real 3.13 log line for line
    booted = [(s, e, "usable") for s, e in machine.boot.memblock.memory]
    calls = plan_init_mem_mapping(booted, gbpages=False, rules="3.13")
    assert [line for call in calls for line in call.lines()] == real_lines
    # with the 6.18 rule the calls differ (the step grows by 256 once the total reaches it), the map not:
    # the same bytes at the same page sizes
    def covered(calls):
        out = []
        for piece in sorted((p for call in calls for p in call.ranges), key=lambda p: p.start):
            if out and out[-1][1] == piece.start and out[-1][2] == piece.page_size_name:
                out[-1][1] = piece.end
            else:
                out.append([piece.start, piece.end, piece.page_size_name])
        return out
    assert covered(plan_init_mem_mapping(booted, gbpages=False)) == covered(calls)


def test_the_direct_map_follows_mem_and_meminfo_shows_it_before_and_after_the_page_tables():
    machine = Machine.preset("linux-6.18-x86_64", ram="4G", e820=True, cmdline="mem=1500M memmap=64M$0x20000000")
    memory = [tuple(r) for r in machine.boot.memblock.memory]
    assert memory == [(0x1000, 0x9F000), (0x100000, 0x20000000), (0x24000000, 1500 << 20)]   # memmap=$ hole
    free = [zone.nr_free_pages for zone in machine.zones]
    before = procfs.render_meminfo(machine).splitlines()[-3:]
    assert [zone.nr_free_pages for zone in machine.zones] == free     # reading meminfo builds no page table
    # 4k: 0-2M (page 0 and the ISA hole); 2M: 2M-512M and 576M-1500M (every edge on a 2 MiB boundary);
    # no 1 GiB page: no whole aligned GiB is RAM
    assert before == ["DirectMap4k:        2048 kB", f"DirectMap2M:    {(255 + 462) * 2048:8d} kB",
                      "DirectMap1G:           0 kB"]
    assert machine.mmu.direct_map.memory == memory    # the page tables are written from the same plan
    assert procfs.render_meminfo(machine).splitlines()[-3:] == before
    assert machine.mmu.direct_map.pages_count == machine.boot.direct_map.pages_count


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2048), st.integers(0, 64), st.booleans()), min_size=1, max_size=6),
       st.booleans())
def test_plan_counts_equal_the_page_tables_written(runs, gbpages):
    """count_direct_pages() (no page table) == the counts kernel_physical_mapping_init() leaves."""
    ranges, position = [], 0x100000
    runs[0] = (max(runs[0][0], 4), runs[0][1], True)           # some RAM above 1 MiB to start from
    for length_pages, gap_mib, ram in runs:
        length = length_pages * 0x100000 + (0x5000 if ram else 0)
        if ram:
            ranges.append((position, position + length, "usable"))
        position += length + gap_mib * 0x100000
    ranges.insert(0, (0, 0x9F000, "usable"))
    end = max(e for _s, e, _t in ranges)
    machine = Machine.preset("linux-6.18-x86_64", ram=max(-(-end // (4 << 20)) * (4 << 20), 16 << 20))
    direct = build_direct_map(machine, ranges, gbpages=gbpages)
    assert count_direct_pages(direct.calls) == direct.pages_count
    direct.page_table.check_invariants()


def test_a_memblock_debug_log_gives_its_memory_line_exactly():
    """Linux 6.6.41 in QEMU, 4 GiB: memory and every reservation as the log shows them, memblock_free_all(),
    then mem_init_print_info() with the log's section sizes; 'available' is 64 pages below totalram:
    preallocate_vmalloc_pages() took them between memblock_free_all() and the line."""
    text = (Path(__file__).parent / "fixtures" / VIRTME).read_text()
    memblock = replay_debug_log(text)
    assert memblock.memory == [[0x1000, 0x9F000], [0x100000, 0xBFFE0000], [0x100000000, 0x140000000]]
    totalram = sum(end - start for start, end in memblock.free_all())
    build = KernelBuild("6.x", code=18432 << 10, rwdata=2739 << 10, rodata=6532 << 10, init=2644 << 10,
                        bss=1528 << 10)
    real = next(line for line in text.splitlines() if line.startswith("Memory:"))
    assert mem_init_print_info(build, memblock.memory_size // 4096, totalram) == real
    assert totalram * 4 == 4021152 + 64 * 4


def test_memblock_phys_free_and_bad_logs():
    mb = Memblock()
    mb.add(0, 1 << 20)
    mb.reserve(0x10000, 0x30000)
    mb.phys_free(0x20000, 0x10000)                     # a hole in the middle of a reservation
    assert mb.reserved == [[0x10000, 0x20000], [0x30000, 0x40000]]
    before = [list(r) for r in mb.reserved]
    with pytest.raises(InvalidArgument, match="non-negative"):
        mb.phys_free(-1, 10)
    assert mb.reserved == before
    with pytest.raises(InvalidArgument, match="memblock=debug"):
        replay_debug_log("Memory: 1K/2K available")
    with pytest.raises(InvalidArgument, match="accepted"):
        replay_debug_log(None)


# --------------------------------------------------------------------------- highmem= (init_32.c)
def _after_last_pfn(machine):
    lines = machine.dmesg()
    start = next(i for i, line in enumerate(lines) if line.startswith("last_pfn"))
    return lines[start + 1:]


@pytest.mark.parametrize("cmdline, message, high, low", [
    # more RAM than MAXMEM: highmem_pfn_init()
    ("highmem=512M", "only 103MB highmem pages available, ignoring highmem size of 512MB!", 103, 887),
    ("highmem=64M", None, 64, 887),
    ("highmem=0", None, 0, 887),
    # all RAM below MAXMEM: lowmem_pfn_init()
    ("mem=512M highmem=1G", "highmem size (1024MB) is bigger than pages available (512MB)!", 0, 512),
    ("mem=512M highmem=480M", "highmem size (480MB) results in <64MB lowmem, ignoring it!", 0, 512),
    ("mem=512M highmem=256M", None, 256, 256),
])
def test_highmem_messages_of_2_6_35(cmdline, message, high, low):
    machine = Machine.preset("linux-2.6.35-i386", e820=fixture_text(NC4010), cmdline=cmdline)
    lines = _after_last_pfn(machine)
    if message is not None:
        assert lines[0] == message                     # find_low_pfn_range() runs before init_memory_mapping()
        assert lines[1].startswith("init_memory_mapping: ")
    else:
        assert lines[0].startswith("init_memory_mapping: ")
    assert f"{high}MB HIGHMEM available." in lines and f"{low}MB LOWMEM available." in lines
    assert lines.index(f"{high}MB HIGHMEM available.") > lines.index(next(l for l in lines if l.startswith("init_m")))


def test_highmem_message_texts_per_version():
    assert HIGHMEM_MESSAGES["2.6.35"]["trimmed"] == "Warning: only 4GB will be used. Use a HIGHMEM64G enabled kernel!"
    assert HIGHMEM_MESSAGES["6.18"]["trimmed"] == \
        "Warning: only 4GB will be used. Support for CONFIG_HIGHMEM64G was removed!"
    shared = {key for key in HIGHMEM_MESSAGES["6.18"] if key != "trimmed"}
    assert all(HIGHMEM_MESSAGES["2.6.35"][key] == HIGHMEM_MESSAGES["6.18"][key] for key in shared)


@pytest.mark.parametrize("cmdline, match", [("highmem", "Malformed early option 'highmem'"),
                                            ("highmem=lots", "not a size"),
                                            ("highmem=12Q", "not a size")])
def test_bad_highmem_is_refused_and_the_machine_is_unchanged(cmdline, match):
    machine = Machine.preset("linux-2.6.35-i386", e820=fixture_text(NC4010), cmdline="highmem=64M")
    before, free = machine.dmesg(), [zone.nr_free_pages for zone in machine.zones]
    with pytest.raises(InvalidBootParameter, match=match):
        machine.reboot(cmdline)
    assert machine.dmesg() == before and [zone.nr_free_pages for zone in machine.zones] == free
    assert machine.cmdline == "highmem=64M"


def test_highmem_on_x86_64_is_not_an_early_parameter():
    with pytest.raises(InvalidBootParameter, match="32-bit x86 only"):
        Machine.preset("linux-6.18-x86_64", e820=True, cmdline="highmem=512M")
