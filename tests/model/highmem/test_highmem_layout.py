"""boot_layout(): VMSPLIT, vmalloc=, highmem=, mem=, PAE limits, and bad input.

Where no boot log with the option was found (VMSPLIT_2G, vmalloc=, highmem=), the expected
numbers are the kernel's formulas worked by hand in the comments.
"""

import pytest

from kernelmem_widgets.model.errors import UnknownPreset
from kernelmem_widgets.model.highmem import (InvalidLayoutOption, LayoutBug, UnknownVmsplit, boot_layout,
                                             memory_lines, page_offset_for, zone_block)

MiB, GiB = 1 << 20, 1 << 30
ONE_GIB_MAP = [(0, 0x9F000, "usable"), (0x100000, GiB, "usable")]


def test_vmsplit_2g_with_2_gib():
    # MAXMEM = VMALLOC_END 0xff7fe000 - PAGE_OFFSET 0x80000000 - 128 MiB = 0x777fe000 (1911 MiB)
    layout = boot_layout("linux-2.6.35-i386", max_pfn=2 * GiB >> 12, vmsplit="2G")
    assert (layout.page_offset, layout.max_low_pfn, layout.vmalloc_start) == (0x80000000, 0x777FE, 0xF7FFE000)
    assert memory_lines(layout)[:2] == ["136MB HIGHMEM available.", "1911MB LOWMEM available."]


@pytest.mark.parametrize("split, offset", [("3G", 0xC0000000), ("3G_OPT", 0xB0000000), ("2G", 0x80000000),
                                           ("2G_OPT", 0x78000000), ("1G", 0x40000000), ("VMSPLIT_1G", 0x40000000)])
def test_every_vmsplit_of_kconfig(split, offset):
    assert page_offset_for(split, pae=False) == offset


def test_vmsplit_1g_maps_2_5_gib_directly():
    # MAXMEM = 0xff7fe000 - 0x40000000 - 128 MiB = 0xb77fe000 (2935 MiB): 2.5 GiB all fit
    layout = boot_layout("linux-3.16-i386", max_pfn=5 * GiB // 2 >> 12, vmsplit="1G")
    assert layout.highmem_pages == 0 and memory_lines(layout)[0] == "0MB HIGHMEM available."
    assert zone_block(layout)[3] == "  HighMem  empty"


@pytest.mark.parametrize("split, pae, reason", [("4G", False, "does not exist"), ("3G_OPT", True, "depends on !X86_PAE"),
                                                ("2G_OPT", True, "depends on !X86_PAE"), (3, False, "does not exist")])
def test_a_vmsplit_kconfig_does_not_offer(split, pae, reason):
    with pytest.raises(UnknownVmsplit, match=reason):
        boot_layout("linux-2.6.35-i386", max_pfn=GiB >> 12, vmsplit=split, pae=pae)


def test_vmalloc_256m_gives_exactly_256_mib_of_vmalloc_area_since_2008():
    # __VMALLOC_RESERVE = 256 MiB + VMALLOC_OFFSET; MAXMEM = 0x3f7fe000 - 0x10800000 = 0x2effe000
    layout = boot_layout("linux-2.6.35-i386", firmware_map=ONE_GIB_MAP, vmalloc=256 * MiB)
    assert layout.vmalloc_end - layout.vmalloc_start == 256 * MiB
    assert memory_lines(layout)[1] == "751MB LOWMEM available."


def test_vmalloc_256m_on_2_6_24_takes_the_value_as_the_reserve():
    # MAXMEM = 1 GiB - 256 MiB = 768 MiB; VMALLOC_START rounded up past high_memory + 8 MiB
    layout = boot_layout("linux-2.6.24-i386", firmware_map=ONE_GIB_MAP, vmalloc=256 * MiB)
    assert (layout.max_low_pfn, layout.high_memory, layout.vmalloc_start) == (768 * MiB >> 12, 0xF0000000, 0xF0800000)


def test_vmalloc_larger_than_the_window_is_a_boot_failure():
    with pytest.raises(LayoutBug, match="MAXMEM wraps below zero"):
        boot_layout("linux-2.6.35-i386", firmware_map=ONE_GIB_MAP, vmalloc=1 * GiB)


def test_vmalloc_larger_than_the_window_boots_when_ram_is_small():
    """MAXMEM wraps to ~4 GiB, so all 512 MiB are lowmem and the vmalloc area is what is left."""
    layout = boot_layout("linux-2.6.35-i386", max_pfn=512 * MiB >> 12, vmalloc=1 * GiB)
    assert layout.max_low_pfn == 512 * MiB >> 12
    assert layout.vmalloc_end - layout.vmalloc_start == 0xFF7FE000 - 0xE0800000


def test_highmem_parameter_moves_lowmem_pages_to_highmem():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=512 * MiB >> 12, highmem=128 * MiB)
    assert memory_lines(layout)[:2] == ["128MB HIGHMEM available.", "384MB LOWMEM available."]


def test_highmem_parameter_that_leaves_under_64m_lowmem_is_ignored_with_the_kernels_message():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=512 * MiB >> 12, highmem=480 * MiB)
    assert memory_lines(layout)[:3] == ["highmem size (480MB) results in <64MB lowmem, ignoring it!",
                                        "0MB HIGHMEM available.", "512MB LOWMEM available."]


def test_highmem_parameter_larger_than_highmem_on_a_big_box():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=GiB >> 12, highmem=512 * MiB)
    assert memory_lines(layout)[0] == "only 136MB highmem pages available, ignoring highmem size of 512MB!"


def test_mem_cuts_the_firmware_map():
    layout = boot_layout("linux-2.6.35-i386", firmware_map=ONE_GIB_MAP, mem=512 * MiB)
    assert (layout.max_pfn, layout.highmem_pages) == (512 * MiB >> 12, 0)


def test_non_pae_drops_ram_above_4_gib_with_the_versions_warning():
    eight = [(0, 0x9F000, "usable"), (0x100000, 0xC0000000, "usable"), (4 * GiB, 9 * GiB, "usable")]
    old = boot_layout("linux-2.6.24-i386", firmware_map=eight)
    new = boot_layout("linux-2.6.35-i386", firmware_map=eight)
    pae = boot_layout("linux-2.6.35-i386", firmware_map=eight, pae=True)
    now = boot_layout("linux-6.18-i386", firmware_map=eight, pae=True)
    assert old.messages == ("Warning only 4GB will be used.", "Use a HIGHMEM64G enabled kernel.")
    assert new.messages == ("Warning: only 4GB will be used. Use a HIGHMEM64G enabled kernel!",)
    assert (old.max_pfn, new.max_pfn, pae.max_pfn, pae.messages) == (1 << 20, 1 << 20, 9 * GiB >> 12, ())
    assert now.messages == ("Warning: only 4GB will be used. Support for CONFIG_HIGHMEM64G was removed!",)
    assert now.max_pfn == 1 << 20


def test_pae_stops_at_64_gib():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=128 * GiB >> 12, pae=True)
    assert layout.max_pfn == 1 << 24


def test_nohighmem_kernel_on_6_gib():
    # no pkmap window: VMALLOC_END = FIXADDR_START - 2 pages, MAXMEM = 0xfff14000 - 0xc0000000 - 128 MiB
    layout = boot_layout("linux-2.6.35-i386", max_pfn=6 * GiB >> 12, config_highmem=False)
    assert layout.messages == ("Warning only 895MB will be used.", "Use a HIGHMEM64G enabled kernel.")
    assert (layout.max_pfn, layout.zones[-1][0]) == (0x37F14, "Normal")


def test_the_5_1_layout_places_pkmap_below_the_ldt_below_the_cpu_entry_area():
    layout = boot_layout("linux-5.1-i386", max_pfn=GiB >> 12, pae=True)
    assert (layout.cpu_entry_area, layout.ldt_base, layout.pkmap_base) == ((0xFFA00000, 0x139000), 0xFF800000, 0xFF600000)
    assert layout.zone_table() == (("DMA", 16 * MiB), ("Normal", 0x375FE000), ("HighMem", None))


@pytest.mark.parametrize("kwargs, match", [
    ({"fixaddr_start": 0xFFF16001}, "page aligned"),
    ({"fixaddr_start": True}, "integer"),
    ({"max_pfn": -5}, "negative"),
    ({"max_pfn": 100}, "16 MiB"),
    ({"pae": "yes"}, "True or False"),
    ({"mem": 0}, "parse_memopt"),
    ({"cpu_entry_area": (0xFFA00000, 0x1000)}, "no cpu_entry_area"),
    ({"firmware_map": [(0, 10)]}, "not \\(start, end, type\\)"),
    ({"firmware_map": [(10, 0, "usable")]}, "ends before"),
])
def test_bad_options_are_named(kwargs, match):
    options = {"max_pfn": GiB >> 12, **kwargs}
    with pytest.raises(InvalidLayoutOption, match=match):
        boot_layout("linux-2.6.35-i386", **options)


def test_unknown_rules():
    with pytest.raises(UnknownPreset, match="linux-2.6.24-i386"):
        boot_layout("linux-9.9-i386", max_pfn=GiB >> 12)


def test_is_highmem_and_page_address():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=GiB >> 12)
    assert layout.is_highmem(0x377FE) and not layout.is_highmem(0x377FD)
    assert layout.page_address(0x377FD) == 0xF77FD000


def test_the_docstring_examples_run():
    import doctest

    from kernelmem_widgets.model.highmem import kmap, layout_rules

    for module in (kmap, layout_rules):
        assert doctest.testmod(module).failed == 0
