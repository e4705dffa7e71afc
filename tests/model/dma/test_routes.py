"""Every route to a 100 MB buffer on a fresh and an aged 2 GiB machine booted with cma=128M."""

import pytest

from kernelmem_widgets.model import InvalidArgument, Machine
from kernelmem_widgets.model.dma import (ROUTE_NAMES, Device, check_cma_invariants, evaluate_routes,
                                         pin_user_pages, run_route)
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_MOVABLE
from kernelmem_widgets.model.workload import Workload

CMDLINE = "cma=128M memmap=100M$0x20000000"
FRESH = {"kmalloc": (False, "NULL (WARN)"), "alloc_pages": (False, "NULL (WARN)"),
         "dma_coherent_cma": (True, "works: pfn 0x77e00"), "dma_coherent": (False, "NULL"),
         "alloc_contig_pages": (True, "works: pfn 0x7400"), "hugetlb_1g": (False, "no 1 GiB page"),
         "memblock_alloc": (False, "only at boot"), "alloc_bootmem": (False, "only at boot"),
         "memmap_memremap": (True, "works: 0x20000000"), "mem_ioremap": (False, "no RAM above mem="),
         "sg_small": (True, "works (scattered)"), "vmalloc_sg": (True, "works (scattered)"),
         "iommu": (False, "no IOMMU"), "swiotlb": (False, "swiotlb buffer is full")}
#: After a week of uptime only alloc_contig_pages changes: unmovable pages landed in every window
AGED = dict(FRESH, alloc_contig_pages=(False, "NULL"))


def fingerprint(machine):
    return [(bytes(z._area.buddy_order), bytes(z._alloc_order), bytes(z._alloc_mt), bytes(z._pb_mt),
             list(z._area.list_len)) for z in machine.zones]


@pytest.fixture(scope="module")
def aged():
    machine = Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline=CMDLINE, seed=1)
    Workload(machine, seed=1).age()
    return machine


def test_fresh_machine_every_route_and_nothing_changes():
    machine = Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline=CMDLINE, seed=1)
    before = fingerprint(machine)
    results = evaluate_routes(machine, Device.pci("nic", 64))
    assert [r.name for r in results] == list(ROUTE_NAMES)
    assert {r.name: (r.ok, r.result) for r in results} == FRESH
    assert fingerprint(machine) == before
    by_name = {r.name: r for r in results}
    assert "get_order(100 MiB) = 15 > MAX_PAGE_ORDER 10" in by_name["alloc_pages"].why
    assert "256 KiB" in by_name["swiotlb"].why


def test_fresh_routes_run_and_release():
    machine = Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline=CMDLINE, seed=1)
    device = Device.pci("nic", 64)
    before = fingerprint(machine)
    cma = run_route(machine, "dma_coherent_cma", device)
    assert (cma.ok, cma.runs, cma.migrated) == (True, [(0x77e00, 25600)], {})
    cma.release()
    sg = run_route(machine, "sg_small", device)
    assert (sg.ok, sg.segments) == (True, 1600)          # 25,600 adjacent pages cut at 64 KiB = 16 pages
    assert all(count == 16 for _pfn, count in sg.runs)
    sg.release()
    vm = run_route(machine, "vmalloc_sg", device)
    assert vm.ok and vm.segments == 1601
    vm.release()
    assert run_route(machine, "kmalloc", device).ok is False
    memmap = run_route(machine, "memmap_memremap", device)
    assert (memmap.ok, memmap.runs) == (True, [(0x20000, 25600)])
    memmap.release()
    machine.check_invariants()
    check_cma_invariants(machine)
    assert machine.zone("DMA32").nr_free_cma == 32768
    assert fingerprint(machine)[0] == before[0]             # ZONE_DMA untouched


def test_zone_per_mask_for_the_routes():
    machine = Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline=CMDLINE, seed=1)
    isa = {r.name: (r.ok, r.result) for r in evaluate_routes(machine, Device.isa("floppy"))}
    assert isa["dma_coherent_cma"] == (False, "NULL (CMA out of reach)")       # the area is above 16 MiB
    assert isa["sg_small"] == (False, "NULL")                                  # ZONE_DMA: 15 MiB
    assert isa["alloc_contig_pages"] == (False, "NULL")
    iommu = {r.name: (r.ok, r.result) for r in evaluate_routes(machine, Device.pci("gpu", 32, iommu=True))}
    assert iommu["iommu"] == (True, "works (one IOVA range)")
    assert iommu["dma_coherent"] == (True, "works (through the IOMMU)")


def test_a_pinned_page_in_the_middle_makes_cma_busy(aged):
    cma = aged.dma.default_cma
    zone = aged.zone(cma.zone)
    middle = (cma.base_pfn + cma.end_pfn) // 2
    heads = [pfn for pfn in range(cma.base_pfn, cma.end_pfn) if zone._alloc_order[pfn - zone._base] != 0xFF
             and zone._alloc_mt[pfn - zone._base] == MIGRATE_MOVABLE]
    pfn = min(heads, key=lambda p: abs(p - middle))
    pin_user_pages(aged, pfn)
    try:
        before = fingerprint(aged)
        evaluated = {r.name: r for r in evaluate_routes(aged, Device.pci("nic", 64))}["dma_coherent_cma"]
        assert (evaluated.ok, evaluated.result) == (False, "NULL (-EBUSY)")
        assert "pinned by pin_user_pages()" in evaluated.why
        result = run_route(aged, "dma_coherent_cma", Device.pci("nic", 64))
        assert result.ok is False and "-16" in result.why
        assert fingerprint(aged) == before
    finally:
        from kernelmem_widgets.model.dma import unpin_user_pages
        unpin_user_pages(aged, pfn)


def test_aged_machine(aged):
    device = Device.pci("nic", 64)
    assert {r.name: (r.ok, r.result) for r in evaluate_routes(aged, device)} == AGED
    result = run_route(aged, "dma_coherent_cma", device)
    assert (result.ok, result.runs, len(result.migrated)) == (True, [(0x77e00, 25600)], 6338)
    assert sorted(result.migrated.items())[:2] == [(491008, 97180), (491012, 335028)]
    assert not any(0x77e00 <= new < 0x77e00 + 25600 for new in result.migrated.values())
    result.release()
    check_cma_invariants(aged)
    aged.check_invariants()


def test_bad_input():
    machine = Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline="cma=128M")
    for size in (0, -1, "100M", 1.5, True):
        with pytest.raises(InvalidArgument):
            evaluate_routes(machine, Device.pci("x", 64), size)
    with pytest.raises(InvalidArgument):
        run_route(machine, "no-such-route", Device.pci("x", 64))
    with pytest.raises(InvalidArgument):
        evaluate_routes(machine, "not a device")
