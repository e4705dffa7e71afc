"""SG tables (merging, max_segment, chaining), dma_map_sg with and without IOMMU, SWIOTLB slots."""

from pathlib import Path

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.dma import (SG_MAX_SINGLE_ALLOC, Device, DmaMappingError, SwiotlbFull, dma_map_sg,
                                         dma_unmap_sg, sg_alloc_table_from_pages, sg_alloc_table_from_pages_segment,
                                         sg_chunk_sizes, sg_nents, swiotlb_init, swiotlb_max_mapping_size,
                                         vmalloc_to_sg_table)
from kernelmem_widgets.model.errors import InvalidArgument

MiB = 1 << 20
PAGE = 4096
FIXTURE = Path(__file__).parent / "fixtures" / "boot_lines.txt"


@pytest.fixture(scope="module")
def big():
    return Machine.preset("linux-6.18-x86_64", ram="16G")


def test_runs_of_adjacent_pages_become_one_entry():
    table = sg_alloc_table_from_pages([10, 11, 12, 40, 41, 7], 0, 6 * PAGE)
    assert [(e.pfn, e.offset, e.length) for e in table.entries] == [(10, 0, 3 * PAGE), (40, 0, 2 * PAGE),
                                                                     (7, 0, PAGE)]
    assert sg_nents(table) == 3 and table.chunks == [3]


def test_offset_size_and_max_segment():
    table = sg_alloc_table_from_pages_segment(list(range(100, 140)), 100, 40 * PAGE - 300, 64 * 1024)
    assert [(e.pfn, e.offset, e.length) for e in table.entries] == [
        (100, 100, 16 * PAGE - 100), (116, 0, 16 * PAGE), (132, 0, 8 * PAGE - 200)]
    with pytest.raises(InvalidArgument):
        sg_alloc_table_from_pages_segment([1, 2], 0, 2 * PAGE, 2048)      # max_segment < PAGE_SIZE
    with pytest.raises(InvalidArgument):
        sg_alloc_table_from_pages([1, 2], 0, 3 * PAGE)


def test_chaining_at_sg_max_single_alloc():
    assert SG_MAX_SINGLE_ALLOC == 128                                  # 4096 / sizeof(struct scatterlist) = 32
    assert sg_chunk_sizes(128) == [128]
    assert sg_chunk_sizes(129) == [128, 2]                             # 127 entries + the chain link, then 2
    table = sg_alloc_table_from_pages(list(range(0, 600, 2)), 0, 300 * PAGE)
    assert table.orig_nents == 300 and table.chunks == [128, 128, 46]


def test_dma_direct_maps_one_segment_per_entry(big):
    table = sg_alloc_table_from_pages([0x200000, 0x200001, 0x300000], 0, 3 * PAGE)
    assert dma_map_sg(big, Device.pci("nic", 64), table) == 2
    assert table.dma_segments() == [(0x200000000, 2 * PAGE), (0x300000000, PAGE)]
    dma_unmap_sg(big, table)


def test_an_iommu_merges_entries_into_fewer_segments(big):
    pages = list(range(0x200000, 0x200010, 2))                          # 8 scattered pages
    table = sg_alloc_table_from_pages(pages, 0, 8 * PAGE)
    device = Device.pci("gpu", 64, iommu=True)
    assert table.orig_nents == 8
    assert dma_map_sg(big, device, table) == 1                          # one 32 KiB IOVA segment
    assert table.dma_segments() == [(0xFFFF8000, 8 * PAGE)]
    dma_unmap_sg(big, table)
    table = sg_alloc_table_from_pages(list(range(0x300000, 0x300080, 2)), 0, 64 * PAGE)
    assert dma_map_sg(big, device, table) == 4                          # max_segment_size 64 KiB cuts it
    assert [length for _addr, length in table.dma_segments()] == [64 * 1024] * 4
    dma_unmap_sg(big, table)


def test_a_32_bit_device_without_iommu_or_swiotlb_cannot_reach_high_pages():
    machine = Machine.preset("linux-6.18-x86_64", ram="8G")
    table = sg_alloc_table_from_pages([0x180000], 0, PAGE)
    with pytest.raises(DmaMappingError) as failure:
        dma_map_sg(machine, Device.pci("old", 32), table)
    assert "DMA addr 0x180000000+4096 overflow (mask 0xffffffff" in str(failure.value)
    assert table.nents == 0 and table.entries[0].dma_address is None


def test_swiotlb_pool_boot_lines_and_slot_sequence():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    pool = swiotlb_init(machine)
    real = [line for line in FIXTURE.read_text().splitlines() if line.startswith("software IO TLB")]
    assert pool.boot_lines() == real
    assert (pool.nslabs, pool.nareas, pool.area_nslabs) == (32768, 4, 8192)
    device = Device.pci("old", 32)
    sizes = [4096, 512, 8192, 65536, 2048]
    addrs = [pool.map_single(device, 0x100000000 + i * PAGE, size) for i, size in enumerate(sizes)]
    assert [pool.slot_of(addr) for addr in addrs] == [0, 2, 4, 8, 40]   # page-sized maps skip to even slots
    pool.unmap_single(addrs[1])
    assert (pool.list[2], pool.list[3]) == (2, 1)        # merged with slot 3, free since the page map
    assert pool.slot_of(pool.map_single(device, 0x200000000, 100)) == 41  # the area index moved on
    assert swiotlb_max_mapping_size(device) == 256 * 1024
    with pytest.raises(SwiotlbFull) as failure:
        pool.map_single(device, 0x300000000, 100 * MiB)
    assert str(failure.value).startswith("old: swiotlb buffer is full (sz: 104857600 bytes), total 32768 (slots)")
    machine.check_invariants()


def test_bounce_through_swiotlb_and_why_100_mib_cannot_bounce():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    swiotlb_init(machine)
    device = Device.pci("old", 32)
    table = sg_alloc_table_from_pages([0x200000, 0x200001], 0, 2 * PAGE)
    assert dma_map_sg(machine, device, table) == 1
    assert table.dma_segments() == [(0xFBFFF000, 2 * PAGE)]           # slot 0 of the pool below 4 GiB
    dma_unmap_sg(machine, table)
    addr = machine.vmalloc.vmalloc(100 * MiB)
    sg = vmalloc_to_sg_table(machine, addr)
    with pytest.raises(SwiotlbFull):
        dma_map_sg(machine, device, sg)                                 # one 100 MiB entry > 256 KiB
    assert machine.dma.swiotlb.used == 0
    machine.check_invariants()


def test_vmalloc_buffer_as_sg_table():
    machine = Machine.preset("linux-6.18-tiny")
    addr = machine.vmalloc.vmalloc(64 * PAGE)
    assert vmalloc_to_sg_table(machine, addr).orig_nents == 1          # a fresh machine: adjacent pages
    held = [machine.alloc_pages("GFP_KERNEL", 0) for _ in range(400)]
    for pfn in held[::2]:
        machine.free_pages(pfn, 0)                                     # holes every other page
    addr = machine.vmalloc.vmalloc(100 * PAGE)
    table = vmalloc_to_sg_table(machine, addr)
    pfns = [machine.vmalloc.vmalloc_to_pfn(addr + i * PAGE) for i in range(100)]
    # LIFO: the last freed pages first; held[-2] went to the kmalloc-1k slab of the page array
    assert pfns[:3] == [held[-4], held[-6], held[-8]]
    assert table.orig_nents == 100 and table.chunks == [100]
    machine.check_invariants()
