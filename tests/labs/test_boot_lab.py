"""BootLab: clicks call the model and say what happened; refusals leave the machine as it was."""

from kernelmem_widgets.labs import BootLab
from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.procfs import render_buddyinfo


def lab_on(cmdline="", preset="linux-6.18-x86_64"):
    return BootLab(Machine.preset(preset, ram="2G", cmdline=cmdline))


def test_boot_button_reboots_with_the_command_line():
    lab = lab_on()
    lab.cmdline.value = "mem=1G memmap=64M$0x30000000"
    lab.boot_button.click()
    assert lab.machine.nr_pages == 0x40000
    assert "user: [mem 0x0000000030000000-0x0000000033ffffff] reserved" in lab.dmesg.value
    assert "30000000-33ffffff : Reserved" in lab.iomem.value
    assert lab.status_text.startswith("booted with 'mem=1G memmap=64M$0x30000000': max_pfn 0x40000")


def test_a_bad_parameter_is_said_in_words_and_changes_nothing():
    lab = lab_on("mem=1G")
    before = render_buddyinfo(lab.machine)
    lab.cmdline.value = "memmap=64M"
    lab.cmdline.value = "mem=junk"
    lab.boot_button.click()
    assert lab.status_text.startswith("not booted: mem=junk:") and "Malformed early option 'mem'" in lab.status_text
    assert render_buddyinfo(lab.machine) == before and lab.machine.cmdline == "mem=1G"


def test_module_panel_maps_and_unmaps():
    lab = lab_on("mem=1G")
    lab.call.value, lab.phys.value, lab.size.value = "ioremap", "0x40000000", "1G"
    lab.map_button.click()
    assert lab.held == [0xFFFFC90000000000]
    assert "cache mode UC-, 1024 memory transactions to read 4 KiB" in lab.status_text
    lab.call.value, lab.phys.value, lab.size.value = "ioremap", "0x100000", "4K"
    lab.map_button.click()
    assert "ioremap on RAM at 0x0000000000100000 - 0x0000000000100fff" in lab.status_text
    lab.call.value = "memremap(MEMREMAP_WB)"
    lab.map_button.click()
    assert lab.held[-1] == 0xFFFF888000100000 and "the direct map" in lab.status_text
    lab.unmap_button.click()
    lab.unmap_button.click()
    assert lab.held == []
    lab.unmap_button.click()
    assert lab.status_text == "the module holds no mapping"


def test_ops_and_i386():
    lab = BootLab(Machine.preset("linux-2.6.35-i386", cmdline="mem=1G"), ops=["map ioremap 0x40000000 1G"])
    assert "vmap allocation for size 1073745920 failed" in lab.status_text
    lab.run("boot vmalloc=512M mem=1G")
    lab.run("map ioremap 0x40000000 256M")
    assert lab.held == [0xDF800000]                   # VMALLOC_START 0xdf7fe000, 512 KiB aligned
