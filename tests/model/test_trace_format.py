"""The trace prints the kernel's tracepoints (Linux 6.18 TP_printk formats, ftrace's line prefix),
a failed allocation as warn_alloc()'s kernel log lines, and the model's own events as the model's."""

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import AllocationError, InvalidArgument
from kernelmem_widgets.model.events import Event, format_event, ftrace_prefix, warn_alloc_lines
from kernelmem_widgets.model.page_alloc.gfp import gfp_mask_value
from kernelmem_widgets.model.page_alloc.show_mem import show_free_areas

PREFIX = "       kernelmem-1000    [000] ..... "


def test_ftrace_prefix_is_trace_print_context():
    assert ftrace_prefix(1) == "       kernelmem-1000    [000] .....     0.000001: "
    assert ftrace_prefix(1_234_567, cpu=3) == "       kernelmem-1000    [003] .....     1.234567: "


def test_gfp_masks_are_the_c_values():
    assert gfp_mask_value("GFP_KERNEL") == 0xCC0
    assert gfp_mask_value("GFP_ATOMIC") == 0x820
    assert gfp_mask_value("GFP_HIGHUSER_MOVABLE") == 0x100CCA
    assert gfp_mask_value("GFP_KERNEL|__GFP_NOWARN|__GFP_COMP") == 0x42CC0


def test_page_alloc_free_and_failure_lines():
    machine = Machine.preset("linux-6.18-tiny")
    pfns = [machine.alloc_pages("GFP_KERNEL", 10) for _ in range(3)]
    machine.trace.clear()
    with pytest.raises(AllocationError):
        machine.alloc_pages("GFP_KERNEL", 10)
    free = show_free_areas(machine.zones)
    # one free order-10 block left, of a Movable pageblock pair: min watermark 128 refuses it
    assert free == ["Node 0 Normal: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB "
                    "1*4096kB (M) = 4096kB"]
    assert machine.trace.lines() == [
        "# dmesg: kernelmem: page allocation failure: order:10, mode:0xcc0(GFP_KERNEL), nodemask=(null),"
        "cpuset=/,mems_allowed=0",
        "# model: warn_alloc()'s CPU:, Call Trace: and Mem-Info counter lines are not modelled (no tasks, no page "
        "cache); show_free_areas() follows",
        "# dmesg: " + free[0],
        PREFIX + "    0.000007: mm_page_alloc: page=0000000000000000 pfn=0x0 order=10 migratetype=0 gfp_flags=GFP_KERNEL"]
    machine.trace.clear()
    machine.free_pages(pfns[1], 10)
    assert machine.trace.lines() == [
        PREFIX + "    0.000008: mm_page_free: page=ffffea0000010000 pfn=0x400 order=10"]
    assert machine.trace.lines(last=0) == []


def test_nowarn_failure_leaves_only_the_tracepoint():
    machine = Machine.preset("linux-6.18-tiny")
    for _ in range(3):
        machine.alloc_pages("GFP_KERNEL", 10)
    machine.trace.clear()
    with pytest.raises(AllocationError):
        machine.alloc_pages("GFP_KERNEL|__GFP_NOWARN", 10)
    lines = machine.trace.lines()
    assert len(lines) == 1 and lines[0].endswith(
        "mm_page_alloc: page=0000000000000000 pfn=0x0 order=10 migratetype=0 gfp_flags=GFP_KERNEL|__GFP_NOWARN")
    assert warn_alloc_lines({"order": 3, "gfp": "GFP_NOWAIT", "mask": 0x2800, "nowarn": True}) == []


def test_compaction_lines_print_mode_and_status():
    machine = Machine.preset("linux-6.18-tiny")
    machine.compact()
    assert [line[len(PREFIX) + 14:] for line in machine.trace.lines()] == [
        "mm_compaction_begin: zone_start=0x0 migrate_pfn=0x0 free_pfn=0xe00 zone_end=0x1000, mode=sync",
        "mm_compaction_migratepages: nr_migrated=0 nr_failed=0",
        "mm_compaction_end: zone_start=0x0 migrate_pfn=0xe00 free_pfn=0xe00 zone_end=0x1000, mode=sync "
        "status=complete"]


def test_slab_tracepoints_and_model_markers():
    machine = Machine.preset("linux-6.18-tiny")
    ptr = machine.slab.kmalloc(100)
    machine.slab.kfree(ptr)
    machine.reset()
    lines = machine.trace.lines()
    assert lines[-4:] == [
        "# model: slab_new: cache=kmalloc-128 pfn=0x0 order=0 objects=32  [new slab (no tracepoint; its pages' "
        "mm_page_alloc is above)]",
        PREFIX + "    0.000004: kmalloc: call_site=0x0 ptr=ffff888000000000 bytes_req=100 bytes_alloc=128 "
        "gfp_flags=GFP_KERNEL node=-1 accounted=false",
        PREFIX + "    0.000005: kfree: call_site=0x0 ptr=ffff888000000000",
        "# model: reset: ram=16777216  [machine rebooted]"]
    assert all(line.startswith(("# model: ", PREFIX)) for line in lines)


def test_32bit_pointers_and_mem_map():
    machine = Machine.preset("linux-2.6.35-i386")
    pfn = machine.alloc_pages("GFP_KERNEL", 0)
    assert machine.trace.lines(last=1)[0].endswith(
        f"mm_page_alloc: page={0xC1000000 + pfn * 32:08x} pfn={pfn:#x} order=0 migratetype=0 gfp_flags=GFP_KERNEL")


def test_format_event_refuses_what_is_not_an_event():
    with pytest.raises(InvalidArgument, match="accepted: an Event"):
        format_event({"kind": "mm_page_alloc"})
    # a hand-built event without the tracepoint's fields is shown as the model's, never a KeyError
    assert format_event(Event("mm_page_alloc", {"order": 1})) == "# model: mm_page_alloc: order=1"
