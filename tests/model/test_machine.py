"""A whole machine: zones, boot, watermarks, lowmem_reserve and the GFP zonelist."""

import pytest

from kernelmem_widgets.model import AllocationError, Machine, procfs


@pytest.fixture(scope="module")
def big():
    return Machine.preset("linux-6.18-x86_64", ram="16G")


def test_zones_of_a_16g_x86_64_machine(big):
    assert [(z.name, z.start_pfn, z.end_pfn, z.managed_pages) for z in big.zones] == [
        ("DMA", 0, 4096, 3840), ("DMA32", 4096, 1048576, 1044480), ("Normal", 1048576, 4194304, 3145728)]


def test_boot_buddyinfo_of_a_16g_machine(big):
    assert procfs.render_buddyinfo(big) == (
        "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n"
        "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0   1020 \n"
        "Node 0, zone   Normal      0      0      0      0      0      0      0      0      0      0   3072 \n")


def test_min_free_kbytes_and_watermarks(big):
    # THP madvise: khugepaged's set_recommended_min_free_kbytes() raises int_sqrt's 16383 to
    # 512 pages * 3 zones * (2 + MIGRATE_PCPTYPES**2) = 16896 pages = 67584 KiB
    assert big.config.transparent_hugepage == "madvise"
    assert big.min_free_kbytes == 67584
    normal = big.zone("Normal")
    # min = 16896 * 3145728 // 4194048 = 12672; gap = max(12672 >> 2, mult_frac(3145728, 10, 10000) = 3145)
    assert normal.watermark == {"min": 12672, "low": 15840, "high": 19008, "promo": 22176}


def test_min_free_kbytes_without_thp_is_the_square_root():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G", transparent_hugepage="never")
    # int_sqrt(16776192 KiB * 16) = 16383; pages_min 4095 shared by managed pages
    assert machine.min_free_kbytes == 16383
    normal = machine.zone("Normal")
    # min = 4095 * 3145728 // 4194048 = 3071; gap = max(3071 >> 2, mult_frac(3145728, 10, 10000) = 3145)
    assert normal.watermark == {"min": 3071, "low": 6216, "high": 9361, "promo": 12506}


def test_thp_never_raises_min_free_kbytes_on_a_small_machine():
    # 64 MiB: 5 % of nr_free_buffer_pages() caps the recommendation below 11 pageblocks per zone
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    assert machine.min_free_kbytes > Machine.preset("linux-6.18-x86_64", ram="64M",
                                                    transparent_hugepage="never").min_free_kbytes


def test_unknown_thp_mode_is_refused():
    from kernelmem_widgets.model import InvalidArgument
    with pytest.raises(InvalidArgument, match="accepted: 'always', 'madvise', 'never'"):
        Machine.preset("linux-6.18-x86_64", transparent_hugepage="sometimes")


def test_lowmem_reserve(big):
    dma, dma32, normal = big.zones
    assert dma.lowmem_reserve == [0, 1044480 // 256, (1044480 + 3145728) // 256, (1044480 + 3145728) // 256]
    assert dma32.lowmem_reserve == [0, 0, 3145728 // 256, 3145728 // 256]
    assert normal.lowmem_reserve == [0, 0, 0, 0]


def test_gfp_flags_choose_the_zone(big):
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    assert machine.zone_of(machine.alloc_pages("GFP_KERNEL", 0)).name == "Normal"
    assert machine.zone_of(machine.alloc_pages("GFP_DMA32", 0)).name == "DMA32"
    assert machine.alloc_pages("GFP_DMA", 0) == 1024  # DMA's largest Movable block is claimed
    assert machine.alloc_pages("GFP_DMA", 3) == 1032  # the order-3 upper half expand() listed


def test_gfp_kernel_falls_back_to_dma32_without_a_normal_zone():
    machine = Machine.preset("linux-6.18-x86_64", ram="2G")
    assert [zone.name for zone in machine.zones] == ["DMA", "DMA32"]
    assert machine.zone_of(machine.alloc_pages("GFP_KERNEL", 0)).name == "DMA32"


def test_dma_zone_keeps_its_lowmem_reserve_from_normal_requests():
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    dma32 = machine.zone("DMA32")
    taken = []
    with pytest.raises(AllocationError):
        while True:
            taken.append(machine.alloc_pages("GFP_KERNEL", 0))
    # GFP_KERNEL may not take DMA below min + lowmem_reserve[Normal]; GFP_DMA still can
    dma = machine.zone("DMA")
    assert dma.nr_free_pages > dma.lowmem_reserve[2]
    assert machine.zone_of(machine.alloc_pages("GFP_DMA", 0)).name == "DMA"
    assert dma32.nr_free_pages <= dma32.watermark["min"]


def test_failure_names_the_order_and_the_reason():
    machine = Machine.preset("linux-6.18-tiny")
    for _ in range(3):
        machine.alloc_pages("GFP_KERNEL", 10)
    with pytest.raises(AllocationError, match=r"page allocation failure: order:10, mode:\(GFP_KERNEL\)"):
        machine.alloc_pages("GFP_KERNEL", 10)


def test_reset_returns_to_boot(big):
    machine = Machine.preset("linux-6.18-tiny")
    before = procfs.render_pagetypeinfo(machine)
    machine.alloc_pages("GFP_KERNEL", 3)
    machine.reset()
    assert procfs.render_pagetypeinfo(machine) == before
