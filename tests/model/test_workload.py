"""Seeded workloads and literal operation lists; compaction following the workload's blocks."""

import pytest

from kernelmem_widgets.model import InvalidOperation, Machine, procfs
from kernelmem_widgets.model.workload import Workload, parse_op, run_ops


def aged_machine(seed=5, steps=8000, fill=0.6):
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    workload = Workload(machine, seed=seed, fill=fill)
    report = workload.age(steps)
    return machine, workload, report


def test_same_seed_same_machine():
    first, _, report = aged_machine()
    second, _, _ = aged_machine()
    assert procfs.render_pagetypeinfo(first) == procfs.render_pagetypeinfo(second)
    assert report.allocations + report.frees + report.failures == 8000


def test_different_seed_different_machine():
    assert procfs.render_buddyinfo(aged_machine(5)[0]) != procfs.render_buddyinfo(aged_machine(6)[0])


def test_aging_fragments_and_freeing_everything_restores_boot():
    machine, workload, _ = aged_machine()
    boot = procfs.render_buddyinfo(Machine.preset("linux-6.18-x86_64", ram="64M"))
    assert procfs.render_buddyinfo(machine) != boot
    machine.check_invariants()
    workload.free_all()
    machine.check_invariants()
    assert procfs.render_buddyinfo(machine) == boot


def test_compaction_moves_only_movable_blocks_and_the_workload_follows():
    machine, workload, _ = aged_machine(fill=0.5)
    before = {zone.name: zone.largest_free_order() for zone in machine.zones}
    held_before = set(dict(workload.held_blocks()))
    results = machine.compact()
    machine.check_invariants()
    moved = {old: new for result in results for old, new in result.moved.items()}
    assert moved, "an aged machine has movable blocks to migrate"
    for new in moved.values():
        zone = machine.zone_of(new)
        assert zone.allocated_order(new) is not None
    held_after = set(dict(workload.held_blocks()))
    followed = [old for old in moved if old in held_before]
    assert followed, "some migrated blocks were the workload's"
    assert all(moved[old] in held_after for old in followed)
    assert not any(old in held_after for old in followed if old not in moved.values())
    assert all(zone.largest_free_order() >= before[zone.name] for zone in machine.zones)
    workload.free_all()  # raises if the workload had not followed a migrated block
    machine.check_invariants()


def test_progress_callback_reaches_the_end():
    machine = Machine.preset("linux-6.18-tiny")
    seen = []
    Workload(machine, seed=1).age(2500, progress=lambda done, total: seen.append((done, total)), chunk=1000)
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_run_ops_records_failures_and_goes_on():
    machine = Machine.preset("linux-6.18-tiny")
    results = run_ops(machine, ["alloc 0", "alloc 2", "alloc 1", "free 0x0 0", "free 0x0 0", "alloc 11"])
    assert [r.pfn for r in results[:3]] == [0, 4, 2]
    assert results[3].error == "" and "double free" in results[4].error
    assert "MAX_PAGE_ORDER" in results[5].error
    assert results[0].line(reveal=False).endswith("-> ?")


@pytest.mark.parametrize("op", ["", "allocate 3", "alloc", "alloc x", "free 0x10", "free a b", "compact a b"])
def test_bad_operations_are_refused_before_anything_runs(op):
    machine = Machine.preset("linux-6.18-tiny")
    before = procfs.render_buddyinfo(machine)
    with pytest.raises(InvalidOperation, match="accepted: 'alloc ORDER"):
        run_ops(machine, ["alloc 3", op])
    assert procfs.render_buddyinfo(machine) == before


def test_parse_op():
    assert parse_op("alloc 3 GFP_DMA") == ("alloc", ["3", "GFP_DMA"])
    assert parse_op("FREE 0x1200 3") == ("free", ["0x1200", "3"])
