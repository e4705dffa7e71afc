"""A Machine of a 32-bit preset boots from a real log's firmware map and prints the log's lines.

``Machine.preset(name, e820=<the log's BIOS-e820 lines>, cmdline=..., pae=..., fixaddr_start=...)``
goes through model/boot (the e820 fixups, memblock) and model/highmem (find_low_pfn_range(),
zone_sizes_init(), mem_init()'s layout block).  Each fixture's header cites its source.
"""

import re
from pathlib import Path

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import KernelMemError
from kernelmem_widgets.model.highmem import UnknownVmsplit

FIXTURES = Path(__file__).parent / "fixtures"
_STAMP = re.compile(r"^\[\s*[\d.]+\] ")


def log_lines(name):
    return [_STAMP.sub("", raw) for raw in (FIXTURES / name).read_text().splitlines()
            if not raw.startswith("#") and raw != "..."]


def e820_text(lines):
    return "\n".join(line for line in lines if "BIOS-e820:" in line)


def contiguous_in(log, block):
    start = log.index(block[0])
    return log[start:start + len(block)] == block


def block_of(lines, first, length):
    start = lines.index(first)
    return lines[start:start + length]


CASES = {
    # fixture: (preset, preset changes, zones as the log prints them)
    "ubuntu-2.6.38-8-generic-1g.log": ("linux-2.6.35-i386", {"fixaddr_start": 0xFFF16000},
                                       [("DMA", 0x10, 0x1000), ("Normal", 0x1000, 0x377FE), ("HighMem", 0x377FE, 0x3F6D0)]),
    "ubuntu-2.6.32-24-generic-pae-4.75g.log": ("linux-2.6.35-i386", {"pae": True, "fixaddr_start": 0xFFF1D000},
                                               [("DMA", 0x10, 0x1000), ("Normal", 0x1000, 0x379FE),
                                                ("HighMem", 0x379FE, 0x130000)]),
    "ubuntu-2.6.24-19-generic-1g.log": ("linux-2.6.24-i386", {"fixaddr_start": 0xFFF4B000},
                                        [("DMA", 0x10, 0x1000), ("Normal", 0x1000, 229376), ("HighMem", 229376, 262080)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_machine_boots_the_logs_zones_and_prints_its_lines(name):
    preset, changes, zones = CASES[name]
    log = log_lines(name)
    machine = Machine.preset(preset, e820=e820_text(log), **changes)
    ours = machine.dmesg()
    highmem = next(line for line in ours if line.endswith("MB HIGHMEM available."))
    assert block_of(ours, highmem, 2) == block_of(log, highmem, 2)            # HIGHMEM, LOWMEM
    zone_header = next(line for line in ours if line.startswith("Zone PFN ranges:"))
    assert contiguous_in(log, block_of(ours, zone_header, 5))                  # header, 3 zones, Movable
    layout = block_of(ours, "virtual kernel memory layout:", 5)                # fixmap, pkmap, vmalloc, lowmem
    assert contiguous_in(log, layout) and ours[-5:] == layout
    # the buddy allocator's zones: the log's pfn ranges (2.6.24 counts from pfn 0, memblock from 0x10)
    ours_zones = [(zone.name, zone.start_pfn, zone.end_pfn) for zone in machine.zones]
    assert ours_zones[1:] == zones[1:] and ours_zones[0][2] == 0x1000
    machine.check_invariants()


def test_pae_machine_keeps_ram_above_4g_and_prints_the_pae_max_arch_pfn():
    log = log_lines("ubuntu-2.6.32-24-generic-pae-4.75g.log")
    machine = Machine.preset("linux-2.6.35-i386", e820=e820_text(log), pae=True, fixaddr_start=0xFFF1D000)
    assert "last_pfn = 0x130000 max_arch_pfn = 0x1000000" in machine.dmesg() and \
        "last_pfn = 0x130000 max_arch_pfn = 0x1000000" in log
    highmem = machine.zone("HighMem")
    assert highmem.end_pfn == 0x130000 and highmem.nr_free_pages == highmem.managed_pages
    assert highmem.managed_pages == (0xCFFA0 - 0x379FE) + (0x130000 - 0x100000)


def test_non_pae_machine_above_4g_warns_and_drops_it():
    machine = Machine.preset("linux-2.6.35-i386", ram="6G", cmdline="")
    lines = machine.dmesg()
    assert "Warning: only 4GB will be used. Use a HIGHMEM64G enabled kernel!" in lines
    assert machine.zone("HighMem").end_pfn == 0x100000
    assert "last_pfn = 0x100000 max_arch_pfn = 0x100000" in lines


def test_below_896m_there_is_no_highmem_zone():
    machine = Machine.preset("linux-2.6.35-i386", ram="512M", cmdline="")
    assert [zone.name for zone in machine.zones] == ["DMA", "Normal"]
    assert "0MB HIGHMEM available." in machine.dmesg() and "  HighMem  empty" in machine.dmesg()


@pytest.mark.parametrize("vmsplit, page_offset, lowmem_mb", [("3G", 0xC0000000, 887), ("2G", 0x80000000, 1911),
                                                           ("1G", 0x40000000, 2047), ("3G_OPT", 0xB0000000, 1143)])
def test_vmsplit_moves_page_offset_and_lowmem(vmsplit, page_offset, lowmem_mb):
    machine = Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="", vmsplit=vmsplit)
    assert machine.highmem_layout.page_offset == page_offset == machine.config.page_offset
    assert f"{lowmem_mb}MB LOWMEM available." in machine.dmesg()
    assert machine.zone("Normal").end_pfn == machine.highmem_layout.max_low_pfn


def test_vmalloc_and_highmem_on_the_command_line():
    machine = Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="vmalloc=256M highmem=512M")
    layout = machine.highmem_layout
    assert layout.vmalloc_end - layout.vmalloc_start == 256 << 20
    assert machine.config.vmalloc_size == 256 << 20
    assert machine.zone("HighMem").end_pfn - machine.zone("HighMem").start_pfn == (512 << 20) >> 12
    assert "    vmalloc : 0xef7fe000 - 0xff7fe000   ( 256 MB)" in machine.dmesg()


def test_5_1_prints_the_cpu_entry_line():
    lines = Machine.preset("linux-5.1-i386", ram="2G", cmdline="").dmesg()
    assert "  cpu_entry : 0xffa00000 - 0xffb39000   (1252 kB)" in lines
    assert "Zone ranges:" in lines and "  Normal   [mem 0x0000000001000000-0x00000000373fdfff]" in lines


def test_flat_machine_takes_the_layout_zones_too():
    machine = Machine.preset("linux-3.16-i386", ram="2G")
    assert [(z.name, z.end_pfn) for z in machine.zones] == [("DMA", 0x1000), ("Normal", 0x377FE), ("HighMem", 0x80000)]
    assert machine.dmesg()[-1].startswith("    lowmem  : 0xc0000000 - 0xf77fe000")


def test_bad_options_are_named_errors_and_reboot_leaves_the_machine_unchanged():
    with pytest.raises(UnknownVmsplit, match="accepted|3G"):
        Machine.preset("linux-2.6.35-i386", ram="2G", vmsplit="4G")
    with pytest.raises(UnknownVmsplit, match="X86_PAE"):
        Machine.preset("linux-2.6.35-i386", ram="2G", pae=True, vmsplit="2G_OPT")
    machine = Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="vmalloc=256M")
    before = (machine.dmesg(), [(z.name, z.start_pfn, z.end_pfn) for z in machine.zones])
    with pytest.raises(KernelMemError):
        machine.reboot("vmalloc=1G")
    assert (machine.dmesg(), [(z.name, z.start_pfn, z.end_pfn) for z in machine.zones]) == before


def test_kmap_space_of_a_machine():
    machine = Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="")
    space = machine.kmap_space
    assert space.kmap(0x1000) == 0xC1000000                       # lowmem: page_address()
    assert space.kmap(0x40000) == space.pkmap_base + 4096         # slot 1 (slot 0 is skipped on the first wrap)
    machine.reboot("")
    assert machine.kmap_space is not space and machine.kmap_space.pkmap_count[1] == 0
    wide = Machine.preset("linux-6.18-x86_64", ram="4G")
    assert wide.kmap_space.kmap(0x40000) == 0xFFFF888000000000 + (0x40000 << 12)


def test_seeded_mix_of_allocations_and_kmaps_keeps_every_invariant():
    """GFP_KERNEL never gets HighMem, GFP_HIGHUSER takes HighMem first; kmap state stays consistent."""
    import numpy as np

    from kernelmem_widgets.model.errors import AllocationError
    from kernelmem_widgets.model.highmem import KmapWouldSleep

    machine = Machine.preset("linux-2.6.35-i386", ram="1G", cmdline="")
    layout, space = machine.highmem_layout, machine.kmap_space
    rng = np.random.default_rng(4)
    held, mapped = [], []
    for step in range(600):
        action = rng.integers(4)
        if action == 0:
            gfp, order = ("GFP_KERNEL", "GFP_HIGHUSER")[int(rng.integers(2))], int(rng.integers(0, 3))
            highmem_free = machine.zone("HighMem").nr_free_pages
            try:
                pfn = machine.alloc_pages(gfp, order)
            except AllocationError:
                continue
            zone = machine.zone_of(pfn).name
            if gfp == "GFP_KERNEL":
                assert zone != "HighMem" and pfn + (1 << order) <= layout.max_low_pfn
            elif highmem_free > 4 * machine.zone("HighMem").watermark["high"]:
                assert zone == "HighMem", (step, pfn)
            held.append((pfn, order))
        elif action == 1 and held:
            machine.free_pages(*held.pop(int(rng.integers(len(held)))))
        elif action == 2:
            pfn = int(rng.integers(layout.highstart_pfn, layout.highend_pfn))
            try:
                space.kmap(pfn)
                mapped.append(pfn)
            except KmapWouldSleep:
                pass
        elif mapped:
            space.kunmap(mapped.pop(int(rng.integers(len(mapped)))))
        if step % 150 == 0:
            machine.check_invariants()
            space.check_invariants()
    machine.check_invariants()
    space.check_invariants()
