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


def week(ram="1G", seed=3):
    machine = Machine.preset("linux-6.18-x86_64", ram=ram)
    workload = Workload(machine, seed=seed)
    return machine, workload, workload.age()


def test_a_week_fills_the_machine_to_its_target_and_same_seed_gives_same_pfns():
    machine, workload, report = week()
    machine.check_invariants()
    managed = sum(zone.managed_pages for zone in machine.zones)
    assert report.managed_pages == managed
    assert abs(report.pages_in_use - 0.85 * managed) <= 1 << 4  # stops within one block of the target
    assert report.failures == 0 and report.frees > 0
    again, workload_again, _ = week()
    assert procfs.render_pagetypeinfo(again) == procfs.render_pagetypeinfo(machine)
    assert workload_again.held_blocks() == workload.held_blocks() and workload_again.pinned == workload.pinned
    assert procfs.render_buddyinfo(week(seed=4)[0]) != procfs.render_buddyinfo(machine)


def test_a_week_leaves_free_memory_in_small_blocks_and_unmovable_pages_spread():
    machine, workload, _ = week("2G")
    zone = machine.zone("DMA32")
    free_pages = zone.nr_free_pages
    small = sum(zone.nr_free(order) << order for order in range(4))
    assert small > free_pages // 2, "most free memory is in blocks below order 4"
    blocks = procfs.parse_pagetypeinfo(procfs.render_pagetypeinfo(machine))["blocks"][(0, "DMA32")]
    # pageblocks holding at least one unmovable page: far more than the Unmovable pageblocks
    unmovable_somewhere = {pfn >> 9 for pfn, _order in workload.pinned if machine.zone_of(pfn) is zone}
    assert len(unmovable_somewhere) > blocks["Unmovable"]
    workload.free_all()
    machine.check_invariants()
    assert procfs.render_buddyinfo(machine) == procfs.render_buddyinfo(Machine.preset("linux-6.18-x86_64", ram="2G"))


def test_kernel_stacks_follow_config_vmap_stack():
    from kernelmem_widgets.model.workload import WEEK_MIX
    assert [order for what, _gfp, order, _share, _pin in WEEK_MIX if what == "kernel stacks"] == [-1]
    assert Workload(Machine.preset("linux-6.18-tiny"))._stack_order(-1) == 0
    assert Workload(Machine.preset("linux-6.18-tiny", vmap_stack=False))._stack_order(-1) == 2


def test_week_progress_and_bad_rounds():
    machine = Machine.preset("linux-6.18-x86_64", ram="512M")
    seen = []
    Workload(machine, seed=1).age(progress=lambda done, total: seen.append((done, total)), rounds=2)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(InvalidOperation, match="rounds"):
        Workload(machine).age_week(rounds=0)
    with pytest.raises(InvalidOperation, match="not an integer"):
        Workload(machine).age(2.5)
