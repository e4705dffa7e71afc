"""Every layer at once, valid and invalid calls mixed (issue 9): no refusal changes anything.

One hypothesis state machine drives a machine through the page allocator, the three slab
allocators (SLUB, SLAB, SLOB by rebooting the slab layer), vmalloc, module loading, the aging
workload, compaction and reset.  Before each invalid call the whole object graph is
fingerprinted (``contract_helpers.fingerprint``) and compared after the refusal; after every
step ``Machine.check_invariants()`` proves conservation with equality and that every owner's
records agree with the pages.  At the end everything is freed and the free page count must
equal the boot state's.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from contract_helpers import SCALE, fingerprint
from kernelmem_widgets.model import KernelMemError, Machine
from kernelmem_widgets.model.errors import AllocationError
from kernelmem_widgets.model.vmalloc.module import ModuleLoader
from kernelmem_widgets.model.workload import Workload, run_ops

GFPS = ["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_ATOMIC", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_NOWAIT"]
SIZES = [1, 8, 96, 100, 512, 3000, 4096, 9000, 40000]


def _invalid_calls(lab: "AllLayers"):
    """(description, call) pairs, each of which the model must refuse without any change."""
    m = lab.machine
    calls = [
        ("free_pages numpy uint8 order 9", lambda: m.free_pages(0, np.uint8(9)) if not lab.pages else
         m.free_pages(lab.pages[0][0], np.uint8(lab.pages[0][1] + 1))),
        ("free_pages bool order", lambda: m.free_pages(0, True)),
        ("free_pages float pfn", lambda: m.free_pages(1.0, 0)),
        ("free_pages beyond RAM", lambda: m.free_pages(m.nr_pages, 0)),
        ("alloc_pages order 11", lambda: m.alloc_pages("GFP_KERNEL", 11)),
        ("alloc_pages GFP None", lambda: m.alloc_pages(None, 0)),
        ("alloc_pages GFP '|'", lambda: m.alloc_pages("|", 0)),
        ("alloc_pages GFP 'GFP_KERNEL|'", lambda: m.alloc_pages("GFP_KERNEL|", 0)),
        ("alloc_pages GFP '0|0'", lambda: m.alloc_pages("0|0", 0)),
        ("alloc_pages GFP_ZONE_BAD", lambda: m.alloc_pages("__GFP_DMA|__GFP_DMA32", 0)),
        ("alloc_pages owner", lambda: m.alloc_pages("GFP_KERNEL", 0, owner="me")),
        ("kmalloc size -1", lambda: m.slab.kmalloc(-1)),
        ("kmalloc size 1.5", lambda: m.slab.kmalloc(1.5)),
        ("kmalloc gfp 3.5", lambda: m.slab.kmalloc(8, 3.5)),
        ("kmalloc cpu 99", lambda: m.slab.kmalloc(8, cpu=99)),
        ("kmalloc HIGHMEM then bad cpu", lambda: m.slab.kmalloc(8, "GFP_KERNEL|__GFP_HIGHMEM", cpu=-1)),
        ("kfree unhashable", lambda: m.slab.kfree([1])),
        ("kfree str", lambda: m.slab.kfree("x")),
        ("kfree a page pfn", lambda: m.slab.kfree(12345)),
        ("ksize unhashable", lambda: m.slab.ksize({})),
        ("vmalloc 0", lambda: m.vmalloc.vmalloc(0)),
        ("vmalloc GFP_ZONE_BAD", lambda: m.vmalloc.vmalloc(1, "__GFP_DMA|__GFP_DMA32")),
        ("vmalloc too big", lambda: m.vmalloc.vmalloc(m.ram_bytes * 2)),
        ("vfree bad", lambda: m.vmalloc.vfree(m.vmalloc.start + 1)),
        ("vmalloc_to_pfn None", lambda: m.vmalloc.vmalloc_to_pfn(None)),
        ("load_module sections=[]", lambda: lab.loader.load_module(8192, name="x", sections=[])),
        ("load_module bad name", lambda: lab.loader.load_module(8192, name="a b")),
        ("delete_module missing", lambda: lab.loader.delete_module("nope")),
        ("compact zone 5", lambda: m.compact(zone=5)),
        ("compact order 99", lambda: m.compact(order=99)),
        ("zone None", lambda: m.zone(None)),
        ("zone_of '0'", lambda: m.zone_of("0")),
        ("zone_of 1.5", lambda: m.zone_of(1.5)),
        ("age 1.5", lambda: lab.workload.age(1.5)),
        ("age too many", lambda: lab.workload.age(10**9)),
        ("Workload seed -1", lambda: Workload(m, seed=-1)),
        ("Workload fill '0.5'", lambda: Workload(m, fill="0.5")),
        ("Workload mix order 11", lambda: Workload(m, mix=(("GFP_KERNEL", 11, 1.0, 0.0),))),
        ("run_ops None", lambda: run_ops(m, None)),
        ("run_ops 0b11", lambda: run_ops(m, ["alloc 1", "alloc 0b11"])),
        ("run_ops 1_0", lambda: run_ops(m, ["alloc 1_0"])),
        ("run_ops unicode digit", lambda: run_ops(m, ["alloc \u0663"])),
        ("slab reboot nr_cpus 0", lambda: m.slab.reboot(nr_cpus=0)),
        ("slab reboot allocator SLAB2", lambda: m.slab.reboot(allocator="SLAB2")),
        ("kmem_cache_create newline", lambda: m.slab.kmem_cache_create("bad\nname", 32)),
    ]
    if lab.workload_blocks():
        pfn, order = lab.workload_blocks()[0]
        calls.append(("free a workload block as alloc_pages", lambda: m.free_pages(pfn, order)))
    if m._slab is not None and m.slab._slab_at:
        pfn, slab = next(iter(m.slab._slab_at.items()))
        calls.append(("free a slab page as alloc_pages", lambda: m.free_pages(pfn, slab.order)))
    if lab.areas:
        pfn = m.vmalloc.area(lab.areas[0]).pages[0]
        calls.append(("free a vmalloc page as alloc_pages", lambda: m.free_pages(pfn, 0)))
    if lab.ptrs:
        calls.append(("kfree then double kfree", None))
    return calls


class AllLayers(RuleBasedStateMachine):
    """One machine, every layer on it, and what this test holds of each."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = Machine.preset("linux-6.18-tiny", ram="16M")
        self.boot_free = sum(zone.nr_free_pages for zone in self.machine.zones)
        self.pages: list[tuple[int, int]] = []
        self.ptrs: list[int] = []
        self.areas: list[int] = []
        self.loader = ModuleLoader(self.machine, "linux-6.18-x86_64")
        self.workload = Workload(self.machine, seed=3, fill=0.5)
        self.unsubscribe = self.machine.subscribe(self._follow)
        self.invalid_calls = 0

    def _follow(self, event) -> None:
        if event.kind == "mm_compaction_end":
            moved = event.data.get("moved", {})
            self.pages = [(moved.get(pfn, pfn), order) for pfn, order in self.pages]
        elif event.kind == "reset":
            self.pages, self.ptrs, self.areas = [], [], []

    def workload_blocks(self):
        return self.workload.held_blocks()

    # ------------------------------------------------------------------ valid operations
    @rule(gfp=st.sampled_from(GFPS), order=st.integers(0, 4))
    def alloc_pages(self, gfp, order):
        try:
            self.pages.append((self.machine.alloc_pages(gfp, order), order))
        except AllocationError:
            pass

    @precondition(lambda self: self.pages)
    @rule(pick=st.integers(0, 10**6), numpy=st.booleans())
    def free_pages(self, pick, numpy):
        pfn, order = self.pages.pop(pick % len(self.pages))
        self.machine.free_pages(np.int64(pfn) if numpy else pfn, np.uint8(order) if numpy else order)

    @rule(size=st.sampled_from(SIZES), gfp=st.sampled_from(GFPS))
    def kmalloc(self, size, gfp):
        try:
            self.ptrs.append(self.machine.slab.kmalloc(size, gfp))
        except AllocationError:
            pass

    @precondition(lambda self: self.ptrs)
    @rule(pick=st.integers(0, 10**6))
    def kfree(self, pick):
        self.machine.slab.kfree(self.ptrs.pop(pick % len(self.ptrs)))

    @rule(size=st.sampled_from([1, 4096, 5000, 70000]))
    def vmalloc(self, size):
        try:
            self.areas.append(self.machine.vmalloc.vmalloc(size))
        except AllocationError:
            pass

    @precondition(lambda self: self.areas)
    @rule(pick=st.integers(0, 10**6))
    def vfree(self, pick):
        self.machine.vmalloc.vfree(self.areas.pop(pick % len(self.areas)))

    @rule(size=st.sampled_from([8192, 30000]), init=st.sampled_from([0, 4096]))
    def load_module(self, size, init):
        name = f"m{len(self.loader.modules)}"
        try:
            self.loader.load_module(size, name=name, init_size=init)
        except KernelMemError:
            pass

    @precondition(lambda self: self.loader.modules)
    @rule()
    def delete_module(self):
        self.loader.delete_module(next(iter(self.loader.modules)))

    @rule(steps=st.integers(0, 300))
    def age(self, steps):
        self.workload.age(steps)

    @rule()
    def workload_free_all(self):
        self.workload.free_all()

    @rule(order=st.sampled_from([-1, 0, 3, 9]))
    def compact(self, order):
        self.machine.compact(order=order)

    @precondition(lambda self: not self.ptrs and len(self.machine.slab) == 0)
    @rule(allocator=st.sampled_from(["slub", "slab", "slob"]), cpus=st.sampled_from([1, 2, 4]))
    def reboot_slab(self, allocator, cpus):
        if self.areas or self.loader.modules:
            return  # vmalloc's page arrays are kmalloc()ed: the slab layer is in use
        self.machine.slab.reboot(nr_cpus=cpus, allocator=allocator)

    @rule()
    def reset(self):
        self.machine.reset()

    # ------------------------------------------------------------------ invalid operations
    @rule(data=st.data())
    def refused(self, data):
        calls = _invalid_calls(self)
        name, call = data.draw(st.sampled_from(calls), label="invalid call")
        if call is None:   # a double kfree: the first one is valid
            ptr = self.ptrs.pop()
            self.machine.slab.kfree(ptr)
            call = lambda: self.machine.slab.kfree(ptr)  # noqa: E731
        self.machine.slab, self.machine.vmalloc  # created on first use: not a change a refusal made
        before = fingerprint(self.machine)
        with pytest.raises(KernelMemError):
            call()
        assert fingerprint(self.machine) == before, f"refused call {name!r} changed the model"
        self.invalid_calls += 1

    @invariant()
    def consistent(self):
        self.machine.check_invariants()

    def teardown(self):
        machine = self.machine
        for pfn, order in self.pages:
            machine.free_pages(pfn, order)
        for ptr in self.ptrs:
            machine.slab.kfree(ptr)
        for addr in self.areas:
            machine.vmalloc.vfree(addr)
        for name in list(self.loader.modules):
            self.loader.delete_module(name)
        self.workload.free_all()
        machine.slab.kmem_cache_shrink()
        machine.check_invariants()
        free = sum(zone.nr_free_pages for zone in machine.zones)
        assert free == self.boot_free, f"{self.boot_free - free} pages leaked after freeing everything"
        assert all(zone.allocated_owner(zone.start_pfn) is None for zone in machine.zones)
        self.unsubscribe()


AllLayers.TestCase.settings = settings(max_examples=12 * SCALE, stateful_step_count=25, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
TestAllLayers = AllLayers.TestCase
