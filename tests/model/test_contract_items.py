"""One test per finding of issue 9 ("No error may change the model, no input may hang it").

Each reproduces what the fuzzing found on the old model and asserts the contract: a refusal
is a named error and leaves the whole model as it was (``contract_helpers.fingerprint``).
"""

from __future__ import annotations

import numpy as np
import pytest

from contract_helpers import fingerprint
from kernelmem_widgets.model import KernelMemError, Machine
from kernelmem_widgets.model.errors import BadPageState, InvalidArgument, InvalidOperation, InvariantViolation
from kernelmem_widgets.model.page_alloc.gfp import gfp_migratetype, gfp_zone, parse_gfp
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_MOVABLE
from kernelmem_widgets.model.units import memparse
from kernelmem_widgets.model.vmalloc.module import ModuleLoader
from kernelmem_widgets.model.workload import MAX_STEPS, Workload, run_ops


def tiny() -> Machine:
    return Machine.preset("linux-6.18-tiny", ram="16M")


def refused(machine, call, error=KernelMemError):
    """``call()`` raises ``error`` and the whole machine is unchanged."""
    machine.slab, machine.vmalloc  # created on first use
    before = fingerprint(machine)
    with pytest.raises(error) as info:
        call()
    assert fingerprint(machine) == before
    machine.check_invariants()
    return info.value


# ---------------------------------------------------------------------- 1. owners and compaction
def test_compaction_leaves_a_large_kmalloc_where_it_is():
    """The issue's repro, scaled so that the migrate scanner reaches pfn 100 with targets to spare:
    a movable-mask kmalloc(9000) at pfn 100 among movable user pages must stay where it is."""
    machine = tiny()
    for _ in range(3800):
        machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    for pfn in range(100, 104):
        machine.free_pages(pfn, 0)
    ptr = machine.slab.kmalloc(9000, "GFP_HIGHUSER_MOVABLE")
    assert machine.slab._large[ptr][:2] == (100, 2)
    for pfn in range(2048, 3800, 2):
        machine.free_pages(pfn, 0)
    [result] = machine.compact()
    assert result.nr_migrated > 1000 and 100 not in result.moved
    assert machine.zone_of(100).allocated_order(100) == 2
    machine.check_invariants()
    for _ in range(60):
        try:
            machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 2)
        except KernelMemError:
            break
    machine.slab.kfree(ptr)
    assert machine.zone_of(100).allocated_order(100) is None
    machine.check_invariants()


def test_compaction_moves_workload_blocks_and_the_workload_follows():
    machine = tiny()
    workload = Workload(machine, seed=1, mix=(("GFP_HIGHUSER_MOVABLE", 0, 1.0, 0.0),), fill=0.6)
    workload.age(4000)
    [result] = machine.compact()
    assert result.nr_migrated > 0
    assert set(result.moved.values()) & {pfn for pfn, _ in workload.held_blocks()}
    machine.check_invariants()
    workload.free_all()
    machine.check_invariants()


def test_vmalloc_and_slob_pages_stay_put():
    machine = Machine.preset("linux-6.18-tiny", ram="16M", slab_allocator="slob")
    low = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(1000)]
    addr = machine.vmalloc.vmalloc(64 * 4096, "GFP_HIGHUSER_MOVABLE")
    ptrs = [machine.slab.kmalloc(100, "GFP_HIGHUSER_MOVABLE") for _ in range(200)]
    high = [machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(2600)]
    for pfn in low[::2] + [pfn for pfn in high if pfn >= 2048][::2]:
        machine.free_pages(pfn, 0)
    pages = list(machine.vmalloc.area(addr).pages)
    slob_pages = set(machine.slab._slab_at)
    [result] = machine.compact()
    assert result.nr_migrated > 0
    assert machine.vmalloc.area(addr).pages == pages and set(machine.slab._slab_at) == slob_pages
    assert not set(result.moved) & (set(pages) | slob_pages)
    machine.check_invariants()
    for ptr in ptrs:
        machine.slab.kfree(ptr)
    machine.vmalloc.vfree(addr)
    machine.check_invariants()


# ---------------------------------------------------------------------- 2. vmalloc with a bad mask
def test_vmalloc_with_an_impossible_mask_takes_nothing():
    machine = tiny()
    refused(machine, lambda: machine.vmalloc.vmalloc(1, "__GFP_DMA|__GFP_DMA32"))
    assert machine.vmalloc.areas() == [] and len(machine.slab) == 0


# ---------------------------------------------------------------------- 3. numpy small ints
def test_numpy_uint8_order_is_an_int_and_conservation_is_equality():
    machine = tiny()
    pfn = machine.alloc_pages("GFP_KERNEL", np.uint8(9))
    machine.free_pages(np.int64(pfn), np.uint8(9))
    machine.check_invariants()
    assert machine.zones[0].nr_free_pages == machine.zones[0].managed_pages


def test_check_invariants_catches_a_lost_page():
    machine = tiny()
    zone = machine.zones[0]
    pfn = machine.alloc_pages("GFP_KERNEL", 0)
    zone._alloc_order[pfn - zone._base] = 0xFF  # the page is now neither free nor allocated
    with pytest.raises(InvariantViolation, match="neither free nor allocated"):
        machine.check_invariants()


# ---------------------------------------------------------------------- 4. SlabLab.reboot validates first
def test_slab_reboot_refuses_before_freeing_anything():
    pytest.importorskip("ipywidgets")
    from kernelmem_widgets.labs import SlabLab

    machine = tiny()
    lab = SlabLab(machine, ops=["kmalloc 100 x3", "vmalloc 20K"])
    held, vheld = list(lab.held), list(lab.vheld)
    lab.reboot(nr_cpus=0)
    assert lab.held == held and lab.vheld == vheld and len(machine.slab) >= 3
    lab.run_ops(["reboot allocator=SLAB2"])
    assert lab.held == held and "unknown slab allocator" in lab.status_text
    lab.close()


# ---------------------------------------------------------------------- 5. frees by the wrong owner
def test_freeing_a_slab_page_with_free_pages_is_refused():
    machine = tiny()
    machine.slab.kmalloc(64)
    pfn, slab = next(iter(machine.slab._slab_at.items()))
    error = refused(machine, lambda: machine.free_pages(pfn, slab.order), BadPageState)
    assert "slab" in str(error)


def test_lab_free_of_a_workload_block_is_refused():
    pytest.importorskip("ipywidgets")
    from kernelmem_widgets.labs import BuddyLab

    machine = tiny()
    lab = BuddyLab(machine, seed=2)
    lab.age(2000)
    pfn, order = lab._workload.held_blocks()[0]
    before = fingerprint(machine)
    assert lab.free(pfn, order) is None
    assert "aging workload holds it" in lab.status_text
    assert fingerprint(machine) == before
    lab.close()


# ---------------------------------------------------------------------- 6. small changes after refusals
def test_refused_calls_in_a_batch_leave_the_trace_alone():
    machine = tiny()
    machine.alloc_pages("GFP_KERNEL", 0)
    lines = machine.trace.lines()
    raw = len(machine.trace._raw)
    for _ in range(50):
        with pytest.raises(KernelMemError):
            machine.vmalloc.vmalloc(0)
    assert machine.trace.lines() == lines and len(machine.trace._raw) == raw


def test_refused_kmalloc_appends_no_warning():
    machine = tiny()
    refused(machine, lambda: machine.slab.kmalloc(8, "GFP_KERNEL|__GFP_HIGHMEM", cpu=99))
    assert machine.slab.warnings == []


def test_refused_slob_kfree_keeps_the_order_of_live_objects():
    machine = Machine.preset("linux-6.18-tiny", ram="16M", slab_allocator="slob")
    cache = machine.slab.kmem_cache_create("things", 40)
    first = machine.slab.kmem_cache_alloc(cache)
    machine.slab.kmalloc(10)
    refused(machine, lambda: machine.slab.kfree(first))


def test_a_failing_listener_does_not_lose_the_pfn():
    machine = tiny()

    def broken(event):
        raise RuntimeError("a view bug")

    machine.subscribe(broken)
    with pytest.warns(RuntimeWarning, match="a view bug"):
        pfn = machine.alloc_pages("GFP_KERNEL", 0)
    assert machine.zone_of(pfn).allocated_order(pfn) == 0
    assert machine.bus.listener_errors[-1][0] is broken


# ---------------------------------------------------------------------- 7-8. parsers (see test_parser_fuzz)
def test_memparse_refuses_huge_numbers_with_a_named_error():
    with pytest.raises(KernelMemError):
        memparse("9" * 5000)
    with pytest.raises(KernelMemError):
        memparse("1" * 30 + "K")


# ---------------------------------------------------------------------- 8-9. wrong types, silently wrong input
@pytest.mark.parametrize("mask", [None, 0, 3.5, True, "|", "GFP_KERNEL|", "0|0", [], "GFP_KERNEL||__GFP_ZERO"])
def test_bad_gfp_masks_are_refused_everywhere(mask):
    machine = tiny()
    with pytest.raises(KernelMemError):
        parse_gfp(mask)
    refused(machine, lambda: machine.alloc_pages(mask, 0))
    refused(machine, lambda: machine.slab.kmalloc(8, mask))
    refused(machine, lambda: machine.vmalloc.vmalloc(8, mask))


def test_gfp_helpers_read_text_exactly():
    assert gfp_zone("GFP_DMA") == "DMA"
    assert gfp_migratetype("GFP_HIGHUSER_MOVABLE") == MIGRATE_MOVABLE
    assert parse_gfp("0") == frozenset()


@pytest.mark.parametrize("call", [
    lambda m: m.zone(None), lambda m: m.compact(zone=5), lambda m: m.zone_of("0"), lambda m: m.zone_of(1.5),
    lambda m: m.compact(order=99), lambda m: m.compact(order=1.0),
    lambda m: m.slab.kfree([1]), lambda m: m.slab.ksize({}), lambda m: m.vmalloc.vmalloc_to_pfn(None),
    lambda m: m.loader.load_module(8192, sections=[]), lambda m: m.loader.load_module(8192, name="a b"),
    lambda m: Workload(m, mix="x"), lambda m: Workload(m, seed=-1), lambda m: Workload(m, fill="0.5"),
    lambda m: m.workload.age(1.5), lambda m: m.workload.age(-1), lambda m: run_ops(m, None),
    lambda m: Workload(m, mix=(("GFP_KERNEL", 11, 1.0, 0.0),)),
    lambda m: run_ops(m, ["alloc 0b1"]), lambda m: run_ops(m, ["alloc 1_0"]), lambda m: run_ops(m, ["alloc \u0663"]),
    lambda m: m.slab.kmem_cache_create("two\nlines", 32),
], ids=lambda call: "call")
def test_wrong_types_and_values_are_named_errors(call):
    machine = tiny()
    machine.loader, machine.workload = ModuleLoader(machine), Workload(machine)  # built before the refusal
    refused(machine, lambda: call(machine))


@pytest.mark.parametrize("changes", [dict(page_size=0), dict(max_page_order=-1), dict(zones=()),
                                     dict(watermark_scale_factor=-5), dict(lowmem_reserve_ratio={"DMA": -1}),
                                     dict(zones=(("Normal", None), ("DMA", 16 << 20))), dict(nr_cpus=0)])
def test_impossible_presets_are_refused(changes):
    with pytest.raises(InvalidArgument):
        Machine.preset("linux-6.18-x86_64", ram="64M", **changes)


@pytest.mark.parametrize("allocator", ["slub", "slab", "slob"])
@pytest.mark.parametrize("align", [3, 24, -8, 1 << 20, 8.0, True])
def test_every_slab_allocator_refuses_an_impossible_align(allocator, align):
    machine = Machine.preset("linux-6.18-tiny", ram="16M", slab_allocator=allocator)
    refused(machine, lambda: machine.slab.kmem_cache_create("things", 40, align=align), InvalidArgument)


def test_zone_bounds_must_be_integers():
    from kernelmem_widgets.model import Zone

    for bounds in ((0.0, 4096), ("0", 4096), (0, 4096.5), (True, 4096)):
        with pytest.raises(KernelMemError):
            Zone("Normal", *bounds)


# ---------------------------------------------------------------------- 10. bounded work
def test_ram_and_steps_have_stated_limits():
    with pytest.raises(InvalidArgument, match="RAM up to 256 GiB in this kit"):
        Machine.preset("linux-6.18-x86_64", ram="1T")
    machine = tiny()
    with pytest.raises(InvalidOperation, match="1,000,000"):
        Workload(machine).age(MAX_STEPS + 1)


def test_aging_can_be_cancelled_between_chunks_and_stays_consistent():
    machine = tiny()
    workload = Workload(machine, seed=4)
    calls = []
    report = workload.age(50_000, chunk=500, cancel=lambda: len(calls) >= 3, progress=lambda d, t: calls.append(d))
    assert report.cancelled and report.steps == 1500 and calls == [500, 1000, 1500]
    machine.check_invariants()


def test_ctrl_c_stops_aging_at_a_chunk_boundary():
    import os
    import signal

    machine = tiny()
    workload = Workload(machine, seed=4)
    report = workload.age(50_000, chunk=500, progress=lambda done, _t: done == 1000 and os.kill(os.getpid(),
                                                                                                signal.SIGINT))
    assert report.cancelled and report.steps == 1000
    machine.check_invariants()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_lab_steps_box_is_bounded_and_bad_constructors_say_one_thing(recwarn):
    pytest.importorskip("ipywidgets")
    import gc

    from kernelmem_widgets.labs import BuddyLab, SlabLab

    machine = tiny()
    lab = BuddyLab(machine)
    assert lab.age_steps.max == MAX_STEPS
    assert lab.age(MAX_STEPS + 1) is None and "1,000,000" in lab.status_text
    lab.close()
    for make in (lambda: BuddyLab(machine, seed=-1), lambda: SlabLab(machine, seed=-1),
                 lambda: BuddyLab(machine, zone=5), lambda: BuddyLab(machine, ops="alloc 3")):
        with pytest.raises(KernelMemError):
            make()
    gc.collect()
    assert not [w for w in recwarn if "PytestUnraisableExceptionWarning" in type(w.message).__name__]
