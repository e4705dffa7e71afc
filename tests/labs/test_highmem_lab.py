"""HighmemLab: controls reboot and redraw, kmap buttons, which zone pays; errors in words."""

import pytest

from kernelmem_widgets import HighmemLab, Machine
from kernelmem_widgets.model.errors import InvalidArgument


def lab_2g(**kw):
    return HighmemLab(Machine.preset("linux-2.6.35-i386", ram="2G", cmdline=""), **kw)


def test_controls_reboot_and_redraw():
    lab = lab_2g()
    first = lab.machine
    lab.vmalloc.value = "256M"
    assert lab.machine is not first and lab.machine.cmdline == "vmalloc=256M"
    assert lab.address_space.machine is lab.machine and lab.pkmap.machine is lab.machine
    assert "vmalloc 0xef7fe000-0xff7fe000 (256 MB)" in lab.address_space.caption_text
    lab.vmsplit.value = "2G"
    assert lab.machine.highmem_layout.page_offset == 0x80000000
    assert "1775MB LOWMEM available." in lab.dmesg.value
    lab.pae.value = True
    assert lab.machine.highmem_layout.last_pkmap == 512 and "PAE" in lab.status_text
    lab.ram.value = "8G"
    assert lab.machine.zone("HighMem").end_pfn == 0x240000


def test_a_refused_configuration_keeps_the_machine_and_says_why():
    lab = lab_2g(ops=["boot pae=1"])
    machine = lab.machine
    lab.vmsplit.value = "2G_OPT"
    assert lab.machine is machine and lab.vmsplit.value == "3G"
    assert lab.status_text.startswith("not booted: VMSPLIT_2G_OPT depends on !X86_PAE")


def test_kmap_until_full_then_kunmap_and_wrap():
    lab = lab_2g()
    lab.kmap(1023)
    assert lab.status_text.endswith("pkmap slot 1023, pkmap_count 2")
    lab.kmap(1)                                                         # the wrap: slot 0, nothing to flush
    assert lab.status_text.endswith("pkmap slot 0, pkmap_count 2")
    lab.kmap(1)
    assert "would sleep" in lab.status_text
    lab.run("kunmap")
    assert "count now 1" in lab.status_text
    lab.kmap(1)
    assert "1 whole-window TLB flush" in lab.status_text and "pkmap slot 1," in lab.status_text


@pytest.mark.parametrize("kernel, call", [("linux-5.1-i386", "kunmap_atomic"), ("linux-6.18-i386", "kunmap_local")])
def test_kmap_local_is_lifo_from_2_6_37(kernel, call):
    lab = HighmemLab(Machine.preset("linux-2.6.35-i386", ram="2G", cmdline=""), ops=["kmap_local", "kmap_local"])
    lab.buttons["kunmap_local outermost"].click()                     # 2.6.35: km_type slots, any order
    assert lab.status_text.startswith("kunmap_atomic(") and len(lab.local) == 1
    if kernel not in lab.kernel.options:
        return
    lab.run(f"boot kernel={kernel}")
    lab.run("kmap_local")
    lab.run("kmap_local")
    lab.buttons["kunmap_local outermost"].click()
    assert lab.status_text.startswith(f"{call}(") and "out of order" in lab.status_text and len(lab.local) == 2
    lab.buttons["kunmap_local"].click()
    assert lab.status_text.startswith(f"{call}(") and len(lab.local) == 1


def test_which_zone_pays():
    lab = lab_2g()
    lab.run("alloc GFP_HIGHUSER 0")
    assert "zone HighMem paid" in lab.status_text
    lab.gfp.value = "GFP_KERNEL"
    lab.alloc_button.click()
    assert "zone Normal paid" in lab.status_text


def test_64_bit_contrast_and_bad_ops():
    lab = lab_2g(ops=["boot kernel=linux-6.18-x86_64"])
    lab.kmap(1)
    assert "page_address(): already in the direct map" in lab.status_text
    with pytest.raises(InvalidArgument, match="accepted"):
        lab.run("fly")
    with pytest.raises(InvalidArgument):
        HighmemLab("not a machine")
