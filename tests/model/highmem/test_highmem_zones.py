"""The buddy allocator on three zones: DMA, Normal, HighMem of a 32-bit layout.

Built with today's Machine and Preset, unchanged: a layout's ``machine_preset_fields()`` is all a
32-bit preset needs.  The numbers are mm/page_alloc.c's (Linux 6.18): lowmem-only
min_free_kbytes, HighMem's small WMARK_MIN, lowmem_reserve ratios DMA 256 and Normal 32.
"""

import pytest

from kernelmem_widgets.model.errors import AllocationError
from kernelmem_widgets.model.highmem import boot_layout, build_zones, machine_preset_fields
from kernelmem_widgets.model.machine import Machine
from kernelmem_widgets.model.presets import Preset

GiB_PFNS = 1 << 18


def machine_for(ram_pfns: int, rules: str = "linux-2.6.35-i386", **options) -> Machine:
    layout = boot_layout(rules, max_pfn=ram_pfns, **options)
    return Machine(Preset(name=f"{rules} test", description="a 32-bit layout's zones", **machine_preset_fields(layout)))


def test_zones_watermarks_and_reserves_of_a_1_gib_box():
    layout = boot_layout("linux-2.6.35-i386", max_pfn=GiB_PFNS)
    zones, min_free_kbytes = build_zones(layout)
    dma, normal, highmem, movable = zones
    assert movable is None
    assert [(z.name, z.start_pfn, z.end_pfn) for z in (dma, normal, highmem)] == [
        ("DMA", 0, 0x1000), ("Normal", 0x1000, 0x377FE), ("HighMem", 0x377FE, 0x40000)]
    assert min_free_kbytes == 3814  # int_sqrt((4096 + 223230) * 4 KiB * 16): lowmem only
    assert highmem.watermark["min"] == 34  # clamp(34818 / 1024, SWAP_CLUSTER_MAX, 128)
    assert normal.watermark["min"] == 3814 // 4 * 223230 // 227326
    assert normal.lowmem_reserve[2] == 34818 // 32
    assert dma.lowmem_reserve[1:3] == [223230 // 256, (223230 + 34818) // 256]


@pytest.mark.parametrize("gfp, zone", [("GFP_HIGHUSER", "HighMem"), ("GFP_HIGHUSER_MOVABLE", "HighMem"),
                                       ("GFP_KERNEL", "Normal"), ("GFP_USER", "Normal"), ("GFP_ATOMIC", "Normal"),
                                       ("GFP_DMA", "DMA")])
def test_the_first_zone_of_each_zonelist(gfp, zone):
    machine = machine_for(GiB_PFNS)
    assert machine.zone_of(machine.alloc_pages(gfp, 0)).name == zone


def test_gfp_kernel_never_gets_highmem_and_fails_while_highmem_is_free():
    """The classic 32-bit failure: lowmem exhausted, gigabytes of highmem free."""
    machine = machine_for(4 * GiB_PFNS, pae=True)
    highmem = machine.zone("HighMem")
    taken = []
    with pytest.raises(AllocationError, match="zone Normal") as failure:
        for _ in range(10_000):
            taken.append(machine.alloc_pages("GFP_KERNEL", 10))
    assert all(pfn + 1024 <= machine.zone("Normal").end_pfn for pfn in taken)
    assert "DMA" in str(failure.value)
    assert highmem.nr_free_pages > 700_000  # ~3 GiB of highmem, untouched
    assert machine.zone_of(machine.alloc_pages("GFP_HIGHUSER", 10)).name == "HighMem"
    machine.check_invariants()


def test_lowmem_reserve_keeps_highuser_fallback_off_the_last_normal_pages():
    """When HighMem is gone GFP_HIGHUSER falls back to Normal, but must leave Normal's reserve."""
    machine = machine_for(GiB_PFNS)
    normal = machine.zone("Normal")
    for order in (10, 0):  # exhaust HighMem, then Normal down to its protection for HIGHMEM allocations
        while True:
            try:
                machine.alloc_pages("GFP_HIGHUSER", order)
            except AllocationError:
                break
    assert machine.zone("HighMem").nr_free_pages <= machine.zone("HighMem").watermark["min"]
    assert normal.nr_free_pages > normal.watermark["min"] + normal.lowmem_reserve[1]
    assert normal.nr_free_pages <= normal.watermark["min"] + normal.lowmem_reserve[2] + 1
    assert machine.zone_of(machine.alloc_pages("GFP_KERNEL", 0)).name == "Normal"  # lowmem still serves the kernel


def test_64_bit_machine_has_no_highmem_zone_to_fall_into():
    machine = Machine.preset("linux-6.18-x86_64", ram="1G")
    assert machine.zone_of(machine.alloc_pages("GFP_HIGHUSER", 0)).name in ("Normal", "DMA32")
    assert "HighMem" not in [zone.name for zone in machine.zones]
