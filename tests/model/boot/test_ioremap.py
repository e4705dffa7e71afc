"""ioremap()/memremap(): placement in the vmalloc area, alignment, refusals, cache types."""

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.boot import InvalidIoremapRange, IoremapRefused, access_cost
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.model.procfs import render_buddyinfo


def booted(cmdline="mem=1G"):
    return Machine.preset("linux-6.18-x86_64", ram="2G", cmdline=cmdline)


def test_the_forum_answer_works_on_x86_64():
    machine = booted("mem=1G")
    addr = machine.ioremap(0x40000000, 0x40000000)
    assert addr == 0xFFFFC90000000000                           # lowest 1 GiB-aligned range of VMALLOC_START
    assert machine.vmalloc.render_vmallocinfo() == \
        "0xffffc90000000000-0xffffc90040001000 1073745920 ioremap phys=0x0000000040000000 ioremap\n"
    assert machine.ioremap_space.mappings[addr].cache_mode == "UC-"
    machine.check_invariants()
    machine.vmalloc.check_invariants()


def test_alignment_offset_and_guard_page():
    machine = booted("mem=1G")
    a = machine.ioremap(0xFEBF1004, 16)                          # a PCI BAR inside the hole
    b = machine.ioremap_wc(0xFD000000, 0x1000000)
    assert a == 0xFFFFC90000000004                              # offset kept: phys & ~PAGE_MASK
    assert b == 0xFFFFC90001000000                              # 16 MiB -> 16 MiB aligned, after a+guard
    assert machine.ioremap_space.mappings[b].cache_mode == "WC"
    machine.iounmap(a)
    assert machine.vmalloc.render_vmallocinfo().splitlines()[-1].endswith("unpurged vm_area")


def test_ioremap_of_managed_ram_is_refused_with_the_warn_and_nothing_changes():
    machine = booted("mem=1G")
    before = (render_buddyinfo(machine), machine.vmalloc.render_vmallocinfo())
    with pytest.raises(IoremapRefused) as caught:
        machine.ioremap(0x3FF00000, 0x200000)
    assert caught.value.kernel_line == "ioremap on RAM at 0x000000003ff00000 - 0x00000000400fffff"
    assert (render_buddyinfo(machine), machine.vmalloc.render_vmallocinfo()) == before


def test_memmap_reserved_ram_can_be_ioremapped():
    machine = booted("memmap=64M$0x30000000")
    assert machine.ioremap_cache(0x30000000, 64 << 20) == 0xFFFFC90000000000


def test_memremap_wb_of_ram_is_the_direct_map_and_wc_is_refused():
    machine = booted("")
    assert machine.memremap(0x1000000, 4096, "MEMREMAP_WB") == 0xFFFF888001000000
    with pytest.raises(IoremapRefused, match="memremap attempted on ram"):
        machine.memremap(0x1000000, 4096, "MEMREMAP_WC")
    with pytest.raises(IoremapRefused, match="mixed range"):
        machine.memremap(0x7FFD0000, 0x20000, "MEMREMAP_WB")
    assert machine.memremap(0x7FFE0000, 0x1000, "MEMREMAP_WB") == 0xFFFFC90000000000   # not RAM: ioremap_cache


@pytest.mark.parametrize("phys, size, match", [
    (0x40000000, 0, "size 0"), (0xFFFFFFFFFFFFF000, 0x2000, "wraps"), (1 << 46, 0x1000, "physical address"),
    (True, 0x1000, "non-negative integer"),
])
def test_ranges_no_ioremap_can_take(phys, size, match):
    with pytest.raises(InvalidIoremapRange, match=match):
        booted().ioremap(phys, size)


def test_i386_runs_out_of_vmalloc_space():
    machine = Machine.preset("linux-2.6.35-i386", cmdline="mem=1G")
    with pytest.raises(IoremapRefused) as caught:
        machine.ioremap(0x40000000, 0x40000000)
    assert caught.value.kernel_line == "vmap allocation for size 1073745920 failed: use vmalloc=<size> to increase size."
    assert machine.ioremap(0x40000000, 64 << 20) == 0xF8000000   # alignment: fls(size) capped at 7 + PAGE_SHIFT (512 KiB)
    assert machine.ioremap(0xA0000, 0x20000) == 0xC00A0000       # the ISA hole is always mapped
    with pytest.raises(InvalidArgument, match="4.3"):
        machine.memremap(0x40000000, 4096, "MEMREMAP_WB")


def test_i386_refuses_ram_silently_but_not_reserved_ram():
    machine = Machine.preset("linux-2.6.35-i386", e820=True)
    with pytest.raises(IoremapRefused) as caught:
        machine.ioremap(0x40000000, 0x100000)
    assert caught.value.kernel_line is None
    assert machine.ioremap(0x1000000, 0x2000)                    # the kernel image: PageReserved


def test_cost_model():
    assert access_cost("UC-", 64) == 16 and access_cost("WB", 64) == 1
    assert access_cost("WC", 256, write=True) == 4 and access_cost("WC", 256) == 64
    with pytest.raises(InvalidArgument):
        access_cost("XX", 1)
