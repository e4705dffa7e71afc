"""dma_alloc_coherent() as dma-direct does it: zone per mask, the retry loop, CMA first, failures."""

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.dma import (DMA_BIT_MASK, Device, DmaAllocError, DmaInvalidFree, DmaMaskError,
                                         check_cma_invariants, dma_alloc_coherent, dma_contiguous_reserve_area,
                                         dma_direct_optimal_gfp_mask, dma_free_coherent, dma_set_coherent_mask,
                                         dma_set_mask, dma_set_mask_and_coherent, get_order)
from kernelmem_widgets.model.errors import InvalidSize

MiB = 1 << 20


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-x86_64", ram="16G")


def fingerprint(machine):
    return [(bytes(z._area.buddy_order), bytes(z._alloc_order), bytes(z._pb_mt), z.nr_free_pages) for z in machine.zones]


@pytest.mark.parametrize("device, zone_flag, pfn, zone", [
    (Device.isa("isa"), "__GFP_DMA", 0x400, "DMA"),
    (Device.pci("pci32"), "__GFP_DMA32", 0x1000, "DMA32"),
    (Device.pci("pci64", 64), None, 0x100000, "Normal"),
])
def test_zone_follows_the_coherent_mask(machine, device, zone_flag, pfn, zone):
    flags, _limit = dma_direct_optimal_gfp_mask(device)
    assert flags == (frozenset({zone_flag}) if zone_flag else frozenset())
    buffer = dma_alloc_coherent(machine, device, 1 * MiB)
    assert (buffer.source, buffer.order, buffer.runs) == ("buddy", 8, [(pfn, 256)])
    assert buffer.dma_addr == buffer.phys_addr == pfn * 4096
    assert buffer.cpu_addr == 0xFFFF888000000000 + pfn * 4096          # page_address(): the direct map
    assert machine.zone_of(pfn).name == zone
    dma_free_coherent(machine, buffer)
    machine.check_invariants()


def test_memory_above_the_mask_is_freed_and_a_lower_zone_tried(machine):
    taken = [machine.alloc_pages("GFP_DMA32", 10) for _ in range(4)]      # pfns 0x1000-0x1fff
    assert taken == [0x1000, 0x1400, 0x1800, 0x1c00]
    device = Device("25-bit", dma_mask=DMA_BIT_MASK(25), coherent_dma_mask=DMA_BIT_MASK(25))
    buffer = dma_alloc_coherent(machine, device, 1 * MiB)
    assert buffer.runs == [(0x400, 256)]                                 # ZONE_DMA after DMA32 gave 0x2000
    assert "pfn 0x2000 ends above the coherent limit 0x1ffffff" in buffer.steps[2]
    assert buffer.steps[3] == "alloc_pages_node(GFP_KERNEL|GFP_DMA, order 8) = pfn 0x400"
    machine.check_invariants()


def test_100_mib_without_cma_fails_with_the_kernels_reason(machine):
    before = fingerprint(machine)
    with pytest.raises(DmaAllocError) as failure:
        dma_alloc_coherent(machine, Device.pci("nic", 64), 100 * MiB)
    assert failure.value.errno == -12 and failure.value.order == 15
    assert "order 15 > MAX_PAGE_ORDER 10" in failure.value.reason
    assert "no CMA area (boot with cma=)" in failure.value.reason
    assert fingerprint(machine) == before


def test_100_mib_from_the_default_cma_area(machine):
    cma = dma_contiguous_reserve_area(machine, 256 * MiB)
    assert (cma.name, cma.base_pfn, cma.count) == ("reserved", 0x100000, 65536)     # bottom-up from 4 GiB
    buffer = dma_alloc_coherent(machine, Device.pci("nic", 64), 100 * MiB)
    assert (buffer.source, buffer.runs, buffer.dma_addr) == ("cma", [(0x100000, 25600)], 0x100000000)
    assert buffer.steps[-1] == "cma_alloc(reserved, 25600, 8) = pfn 0x100000"   # align min(15, CMA_ALIGNMENT 8)
    check_cma_invariants(machine)
    dma_free_coherent(machine, buffer)
    assert cma.available_count == cma.count
    machine.check_invariants()


def test_a_32_bit_device_cannot_use_a_cma_area_above_4_gib(machine):
    dma_contiguous_reserve_area(machine, 256 * MiB)
    with pytest.raises(DmaAllocError) as failure:
        dma_alloc_coherent(machine, Device.pci("old", 32), 100 * MiB)
    assert "above the coherent limit 0xffffffff: released" in failure.value.reason
    assert machine.dma.default_cma.available_count == 65536
    check_cma_invariants(machine)


def test_with_an_iommu_pages_need_not_be_contiguous(machine):
    device = Device.pci("gpu", 64, iommu=True)
    buffer = dma_alloc_coherent(machine, device, 5 * MiB + 4096)
    assert buffer.source == "iommu"
    assert [order for _pfn, order in buffer.blocks] == [9, 9] + [0] * 257    # 2 MiB IOMMU pages, then 4 KiB
    assert buffer.runs == [(0x100000, 1281)]               # adjacent here only because the machine is fresh
    assert buffer.dma_addr == 0xFF800000           # IOVA below 4 GiB first, aligned to 2048 pages (8 MiB)
    dma_free_coherent(machine, buffer)
    assert machine.dma.iommu_domains["gpu"].ranges == []
    machine.check_invariants()


def test_masks(machine):
    isa = Device.isa()
    dma_set_mask(machine, isa, DMA_BIT_MASK(24))                         # covers ZONE_DMA: accepted
    with pytest.raises(DmaMaskError) as failure:
        dma_set_mask(machine, isa, DMA_BIT_MASK(20))
    assert failure.value.errno == -5 and isa.dma_mask == DMA_BIT_MASK(24)
    behind_iommu = Device("old", iommu=True)
    dma_set_mask_and_coherent(machine, behind_iommu, DMA_BIT_MASK(20))   # the IOMMU can place an IOVA there
    assert behind_iommu.coherent_dma_mask == DMA_BIT_MASK(20)
    small = Machine.preset("linux-6.18-tiny")                            # 16 MiB, no ZONE_DMA
    dma_set_coherent_mask(small, Device("d"), DMA_BIT_MASK(24))          # covers all of RAM
    for bad in (0x1234, -1, 1 << 64, "0xffffffff", True, 2.0):
        with pytest.raises(DmaMaskError):
            dma_set_mask(machine, Device("d"), bad)
    assert DMA_BIT_MASK(64) == (1 << 64) - 1 and get_order(100 * MiB) == 15


def test_bad_input_changes_nothing(machine):
    before = fingerprint(machine)
    for size in (0, -4096, "1M", 1.5):
        with pytest.raises(InvalidSize):
            dma_alloc_coherent(machine, Device("d"), size)
    with pytest.raises(DmaAllocError):
        dma_alloc_coherent(machine, Device("d"), 4096, "GFP_KERNEL|__GFP_COMP")
    assert fingerprint(machine) == before
    buffer = dma_alloc_coherent(machine, Device("d"), 8192)
    during = fingerprint(machine)
    with pytest.raises(DmaInvalidFree):
        dma_free_coherent(machine, buffer, size=3 * 4096)        # the wrong size: 3 pages, not 2
    assert fingerprint(machine) == during
    dma_free_coherent(machine, buffer)
    after = fingerprint(machine)
    with pytest.raises(DmaInvalidFree):
        dma_free_coherent(machine, buffer)                       # twice
    assert fingerprint(machine) == after
