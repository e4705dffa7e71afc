"""/proc/iomem: r_show()'s format, the nesting of a real capture, and round trips."""

import pytest
from boot_fixtures import fixture_text

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.boot.iomem import IomemLine, nest, parse_iomem, render_iomem, render_iomem_lines
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.model.procfs import parse_iomem as procfs_parse_iomem
from kernelmem_widgets.model.procfs import render_iomem as procfs_render_iomem


@pytest.mark.parametrize("name", ["iomem_memmap_patch_2018.txt", "iomem_qemu_guest.txt"])
def test_real_captures_round_trip(name):
    text = fixture_text(name)
    lines = parse_iomem(text)
    assert render_iomem_lines(lines) == text
    tree = nest([(l.start, l.end, l.name, l.name == "System RAM") for l in lines], (1 << 46) - 1)
    assert render_iomem(tree) == text                      # insert_resource() nesting gives the same tree


def test_a_qemu_2g_machine_has_the_real_guests_layout():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", e820=True)
    ours = parse_iomem(procfs_render_iomem(machine))
    real = parse_iomem(fixture_text("iomem_qemu_guest.txt"))
    kernel = ("Kernel code", "Kernel data", "Kernel bss", "Kernel rodata")
    assert [l for l in ours if l.name not in kernel][:len(real) - 3] == [l for l in real if l.name not in kernel]
    children = [l.name for l in ours if l.depth == 1 and 0x100000 <= l.start < 0x7FFE0000]
    assert children == ["Kernel code", "Kernel rodata", "Kernel data", "Kernel bss"]


def test_memmap_reserved_and_crash_kernel_appear_where_the_kernel_puts_them():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="memmap=64M$0x30000000 crashkernel=64M")
    lines = parse_iomem(procfs_render_iomem(machine))
    assert IomemLine(0, 0x30000000, 0x33FFFFFF, "Reserved") in lines
    crash = next(l for l in lines if l.name == "Crash kernel")
    assert crash.depth == 1 and crash.end - crash.start + 1 == 64 << 20


def test_a_user_reads_zeros():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G", e820=True)
    first = procfs_render_iomem(machine, privileged=False).splitlines()[1]
    assert first == "00000000-00000000 : System RAM"


def test_2_6_names_reserved_in_lower_case_and_has_no_rodata():
    machine = Machine.preset("linux-2.6.35-i386", e820=True)
    names = {l.name for l in procfs_parse_iomem(procfs_render_iomem(machine))}
    assert "reserved" in names and "Reserved" not in names and "Kernel rodata" not in names


@pytest.mark.parametrize("bad", ["00000000-00000fff System RAM", "    00001000-0009fbff : too deep"])
def test_parse_rejects_what_is_not_iomem(bad):
    with pytest.raises(InvalidArgument):
        parse_iomem(bad)
