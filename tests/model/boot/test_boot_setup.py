"""Booting a machine from a firmware map and a command line reproduces the real boot logs."""

import re

import pytest
from boot_fixtures import fixture_lines, fixture_text

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.boot import E820Table, InvalidBootParameter
from kernelmem_widgets.model.procfs import render_buddyinfo

MODELLED = re.compile(r"^( ?BIOS-e820|BIOS-provided|e820|last_pfn|user|Zone|  (DMA|DMA32|Normal|HighMem|Device) |"
                      r"Movable zone|Early memory|  node|Initmem|On node|\[mem .* available for PCI|early_node_map|"
                      r"    0: |Allocating PCI|\d+MB (HIGH|LOW)MEM|Memory:)")


def modelled(lines):
    return [line for line in lines if MODELLED.match(line)]


def memory_total(line):
    return re.search(r"/(\d+)[kK] available", line).group(1)


def test_qemu_2g_on_6_x_prints_the_real_log():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", e820=True)
    real = modelled(fixture_lines("qemu_i440fx_2g_linux-6.10.log"))
    ours = modelled(machine.dmesg())
    assert ours[:-1] == real[:-1]
    assert memory_total(ours[-1]) == memory_total(real[-1]) == "2096632"


def test_the_real_2_6_37_i386_boot():
    firmware = E820Table.parse(fixture_text("i386_2g_linux-2.6.37.log"))
    machine = Machine.preset("linux-2.6.35-i386", e820=firmware)
    real = modelled(fixture_lines("i386_2g_linux-2.6.37.log"))
    ours = modelled(machine.dmesg())
    assert ours[:-1] == real[:-1]
    assert memory_total(ours[-1]) == memory_total(real[-1]) == "2097136"
    assert ours[-1].endswith("1187832k highmem)")                # every highmem page is free: exact
    assert (hex(machine.config.vmalloc_start), hex(machine.config.vmalloc_start + machine.config.vmalloc_size)) == \
        ("0xf7ffe000", "0xff7fe000")                             # "vmalloc : 0xf7ffe000 - 0xff7fe000"


def test_mem4g_on_the_real_128g_machine_keeps_the_real_total():
    firmware = E820Table.parse(fixture_text("mem4g_linux-5.16.log"))
    machine = Machine.preset("linux-6.18-x86_64", e820=firmware, cmdline="crashkernel=128M mem=4G")
    ours = modelled(machine.dmesg())
    real = modelled(fixture_lines("mem4g_linux-5.16.log"))
    assert ours[:len(real) - 1] == real[:-1]
    assert memory_total(ours[-1]) == "2061136"
    crash = next(line for line in machine.dmesg() if line.startswith("crashkernel reserved"))
    assert crash == "crashkernel reserved: 0x0000000075000000 - 0x000000007d000000 (128 MB)"


def test_zones_follow_the_map():
    machine = Machine.preset("linux-6.18-x86_64", ram="6G", e820=True)
    spans = [(z.name, z.start_pfn, z.end_pfn) for z in machine.zones]
    assert spans == [("DMA", 1, 0x1000), ("DMA32", 0x1000, 0x100000), ("Normal", 0x100000, 0x1C0000)]
    dma = machine.zone("DMA")
    assert dma.managed_pages == 0x1000 - 0x100                   # the first 1 MiB is reserved
    dma32 = machine.zone("DMA32")
    assert dma32.managed_pages < 0xBFFE0 - 0x1000 - 0x100        # the PCI hole holds no pages
    assert "last_pfn = 0xbffe0 max_arch_pfn = 0x400000000" in machine.dmesg()
    assert "On node 0, zone Normal: 32 pages in unavailable ranges" in machine.dmesg()
    assert "software IO TLB: mapped [mem" in next(l for l in machine.dmesg() if "IO TLB" in l)
    machine.check_invariants()
    pfn = machine.alloc_pages("GFP_KERNEL", 0)
    assert not 0xBFFE0 <= pfn < 0x100000
    machine.free_pages(pfn, 0)
    machine.check_invariants()


def test_mem_1g_hides_ram_and_memmap_reserves_a_range():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=1G memmap=64M$0x30000000")
    assert machine.nr_pages == 0x40000
    assert [z.name for z in machine.zones] == ["DMA", "DMA32"]
    assert "user: [mem 0x0000000030000000-0x0000000033ffffff] reserved" in machine.dmesg()
    for _ in range(300):
        pfn = machine.alloc_pages("GFP_KERNEL", 9)
        assert not 0x30000 <= pfn < 0x34000
    machine.check_invariants()


def test_flat_machines_are_unchanged():
    flat = Machine.preset("linux-6.18-x86_64", ram="16G")
    assert flat.boot is None and flat.min_free_kbytes == 67584       # the class docstring's figure (THP madvise)
    with pytest.raises(Exception, match="booted from a firmware map"):
        flat.dmesg()


def test_reboot_with_a_bad_command_line_changes_nothing():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=1G")
    before = (machine.dmesg(), render_buddyinfo(machine))
    with pytest.raises(InvalidBootParameter, match="memmap"):
        machine.reboot("memmap=64M$junk")
    assert (machine.dmesg(), render_buddyinfo(machine)) == before
    machine.reboot("mem=1536M")
    assert machine.nr_pages == 0x60000 and machine.cmdline == "mem=1536M"


def test_mem_below_the_kernel_image_cannot_boot():
    with pytest.raises(InvalidBootParameter, match="kernel image"):
        Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=16M")


def test_i386_mem_1g_vmalloc_and_highmem():
    machine = Machine.preset("linux-2.6.35-i386", cmdline="mem=1G")
    assert "136MB HIGHMEM available." in machine.dmesg()
    bigger = Machine.preset("linux-2.6.35-i386", cmdline="vmalloc=512M")
    assert "495MB LOWMEM available." in bigger.dmesg()          # MAXMEM = 0xff7fe000 - 0xc0000000 - (512M + 8M)
    assert bigger.config.vmalloc_size == 512 << 20              # "vmalloc=size forces ... exactly 'size' bytes"
    with pytest.raises(InvalidBootParameter, match="lowmem"):
        Machine.preset("linux-2.6.35-i386", cmdline="vmalloc=1G")


def test_an_overlapping_firmware_map_is_refused_until_sanitised():
    overlapping = E820Table([(0, 0x9FC00, 1), (0x100000, 0x7FF00000, 1), (0x7FF00000, 0x100000, 2),
                             (0x70000000, 0x1000000, 2)])
    with pytest.raises(Exception, match="unsorted, overlapping"):
        Machine.preset("linux-6.18-x86_64", e820=overlapping)
    overlapping.update_table()
    machine = Machine.preset("linux-6.18-x86_64", e820=overlapping)
    assert "BIOS-e820: [mem 0x0000000070000000-0x0000000070ffffff] reserved" in machine.dmesg()


def test_seeded_ioremap_iounmap_keeps_every_invariant():
    import random

    rng = random.Random(11)
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=1G memmap=256M$0x20000000")
    held = []
    for _step in range(200):
        if held and rng.random() < 0.4:
            machine.iounmap(held.pop(rng.randrange(len(held))))
        else:
            phys = rng.choice([0x20000000, 0x40000000, 0x80000000, 0xFEBF0000]) + rng.randrange(0, 1 << 20, 4096)
            size = rng.choice([4096, 1 << 16, 1 << 20, 3 << 20, 64 << 20])
            try:
                held.append(machine.ioremap(phys, size))
            except Exception as error:
                assert type(error).__name__ == "IoremapRefused", error
        machine.vmalloc.check_invariants()
        machine.ioremap_space.check_invariants()
        machine.check_invariants()
    assert len(set(held)) == len(held)
