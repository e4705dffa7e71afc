"""Bad input raises a named error with the kernel's reason and leaves the model unchanged."""

import pytest

from kernelmem_widgets.model import (BadPageState, InvalidOrder, InvalidSize, Machine, PfnOutOfRange,
                                     UnknownGfpFlag, UnknownMigrateType, UnknownPreset, Zone, memparse, procfs)
from kernelmem_widgets.model.page_alloc.snapshot import allocated_blocks


def state(source):
    zones = source.zones if hasattr(source, "zones") else [source]
    blocks = [allocated_blocks(zone) for zone in zones]
    return procfs.render_pagetypeinfo(source), [(b.pfn.tolist(), b.order.tolist(), b.migratetype.tolist()) for b in blocks]


@pytest.fixture
def zone():
    zone = Zone("Normal", 0, 4096)
    zone.alloc_pages(0, "Movable")
    zone.alloc_pages(3, "Unmovable")
    return zone


@pytest.fixture
def machine():
    machine = Machine.preset("linux-6.18-tiny")
    machine.alloc_pages("GFP_KERNEL", 2)
    return machine


ZONE_CASES = [
    (lambda z: z.alloc_pages(-1), InvalidOrder, "order -1 is negative; accepted: 0..10"),
    (lambda z: z.alloc_pages(11), InvalidOrder, "order 11 exceeds MAX_PAGE_ORDER 10"),
    (lambda z: z.alloc_pages(2.5), InvalidOrder, "not an integer"),
    (lambda z: z.alloc_pages(0, migratetype="Sticky"), UnknownMigrateType, "unknown migrate type 'Sticky'; accepted: Unmovable, Movable"),
    (lambda z: z.free_pages(1, 0), BadPageState, "already free .*double free"),
    (lambda z: z.free_pages(0, 1), BadPageState, "allocated with order 0 but freed with order 1"),
    (lambda z: z.free_pages(2000, 0), BadPageState, "already free"),
    (lambda z: z.free_pages(4096, 0), PfnOutOfRange, r"pfn 0x1000 is outside zone Normal \(pfns 0x0..0xfff\)"),
    (lambda z: z.free_pages(-3, 0), PfnOutOfRange, "outside zone"),
    (lambda z: z.free_pages(0, 11), InvalidOrder, "exceeds MAX_PAGE_ORDER"),
]


@pytest.mark.parametrize("call, error, message", ZONE_CASES)
def test_zone_errors_leave_the_zone_unchanged(zone, call, error, message):
    before = state(zone)
    with pytest.raises(error, match=message):
        call(zone)
    assert state(zone) == before
    zone.check_invariants()


def test_freeing_a_tail_page_names_the_head():
    zone = Zone("Normal", 0, 4096)
    pfn = zone.alloc_pages(3, "Movable")
    with pytest.raises(BadPageState, match=r"tail page of the order-3 block at pfn 0x0; free that pfn with order 3"):
        zone.free_pages(pfn + 2, 0)


def test_double_free_after_a_real_free():
    zone = Zone("Normal", 0, 4096)
    pfn = zone.alloc_pages(2, "Movable")
    zone.free_pages(pfn, 2)
    before = state(zone)
    with pytest.raises(BadPageState, match="double free"):
        zone.free_pages(pfn, 2)
    assert state(zone) == before


def test_freeing_a_reserved_page():
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    with pytest.raises(BadPageState, match="reserved"):
        machine.free_pages(5, 0)


MACHINE_CASES = [
    (lambda m: m.alloc_pages("GFP_KERNAL", 0), UnknownGfpFlag, "unknown GFP flag 'GFP_KERNAL'; accepted: .*GFP_KERNEL"),
    (lambda m: m.alloc_pages("__GFP_DMA|__GFP_DMA32", 0), UnknownGfpFlag, "GFP_ZONE_BAD"),
    (lambda m: m.alloc_pages("GFP_KERNEL", 12), InvalidOrder, "order 12 exceeds MAX_PAGE_ORDER 10"),
    (lambda m: m.free_pages(0x10000, 0), PfnOutOfRange, "beyond RAM"),
    (lambda m: m.free_pages(0, 0), BadPageState, "allocated with order 2 but freed with order 0"),
    (lambda m: m.free_pages("0x0", 2), PfnOutOfRange, "not an integer"),
]


@pytest.mark.parametrize("call, error, message", MACHINE_CASES)
def test_machine_errors_leave_the_machine_unchanged(machine, call, error, message):
    before = state(machine)
    with pytest.raises(error, match=message):
        call(machine)
    assert state(machine) == before


@pytest.mark.parametrize("text", ["", "abc", "8X", "-1", "1.5G", "8KK", "0x", "G"])
def test_sizes_that_are_not_sizes(text):
    with pytest.raises(InvalidSize, match="accepted: a non-negative integer"):
        memparse(text)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(UnknownPreset, match="accepted: linux-6.18-x86_64, linux-6.18-tiny"):
        Machine.preset("linux-9.9-vax")


def test_ram_that_is_not_usable():
    with pytest.raises(InvalidSize):
        Machine.preset("linux-6.18-tiny", ram="lots")
    with pytest.raises(Exception, match="at least 4 MiB"):
        Machine.preset("linux-6.18-tiny", ram="1M")
