"""Property-based tests: any sequence of kmalloc/kfree/kmem_cache calls keeps every invariant.

After every step: objects are conserved (live + free = objects of every slab), no object is in
two places, every slab page is an allocated block of the buddy model owned by exactly one cache,
and pages are conserved (free + slab + large kmalloc = managed).  At the end, after freeing
everything and shrinking, the zone is back to its boot state.
"""

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kernelmem_widgets.model import AllocationError, Machine
from kernelmem_widgets.model.errors import InvalidFree

SIZES = st.one_of(st.sampled_from([1, 8, 9, 64, 65, 96, 97, 128, 192, 193, 1024, 4096, 8192, 8193, 20000]),
                  st.integers(1, 9000))
GFPS = st.sampled_from(["GFP_KERNEL", "GFP_ATOMIC", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_KERNEL_ACCOUNT",
                        "GFP_NOWAIT", "GFP_KERNEL|__GFP_ZERO"])


class SlabMachine(RuleBasedStateMachine):
    allocator = "slub"

    @initialize(cpus=st.sampled_from([1, 2, 4]))
    def boot(self, cpus):
        self.machine = Machine.preset("linux-6.18-tiny", nr_cpus=cpus, slab_allocator=self.allocator)
        self.slab = self.machine.slab
        self.zone = self.machine.zone("Normal")
        self.boot_free = self.zone.nr_free_pages
        self.cache = self.slab.kmem_cache_create("obj", 72, ctor=True)
        self.live: dict[int, object] = {}
        self.freed: list[int] = []

    @rule(size=SIZES, gfp=GFPS, cpu=st.integers(0, 3))
    def kmalloc(self, size, gfp, cpu):
        cpu %= self.slab.nr_cpus
        try:
            ptr = self.slab.kmalloc(size, gfp, cpu=cpu)
        except AllocationError:
            return
        assert ptr not in self.live
        self.live[ptr] = None

    @rule(cpu=st.integers(0, 3))
    def cache_alloc(self, cpu):
        try:
            ptr = self.slab.kmem_cache_alloc(self.cache, cpu=cpu % self.slab.nr_cpus)
        except AllocationError:
            return
        assert ptr not in self.live
        self.live[ptr] = self.cache

    @precondition(lambda self: self.live)
    @rule(pick=st.integers(0, 10_000), cpu=st.integers(0, 3))
    def free(self, pick, cpu):
        ptr = list(self.live)[pick % len(self.live)]
        owner = self.live.pop(ptr)
        if owner is None or self.allocator != "slob" and pick % 2:
            self.slab.kfree(ptr, cpu=cpu % self.slab.nr_cpus)
        else:
            self.slab.kmem_cache_free(owner or self.slab.cache_of(ptr), ptr, cpu=cpu % self.slab.nr_cpus)
        self.freed.append(ptr)

    @precondition(lambda self: self.freed)
    @rule(pick=st.integers(0, 10_000))
    def double_free_is_caught(self, pick):
        ptr = self.freed[pick % len(self.freed)]
        if ptr in self.live:
            return
        before = (len(self.slab), self.zone.nr_free_pages)
        with pytest.raises(InvalidFree):
            self.slab.kfree(ptr)
        assert (len(self.slab), self.zone.nr_free_pages) == before

    @rule()
    def shrink(self):
        self.slab.kmem_cache_shrink()

    @invariant()
    def consistent(self):
        if not hasattr(self, "slab"):
            return
        self.slab.check_invariants()
        self.machine.check_invariants()
        assert len(self.slab) == len(self.live)
        held = sum(1 << s.order for s in self.slab._slab_at.values())
        held += sum(1 << order for _pfn, order, _size in self.slab._large.values())
        assert self.zone.nr_free_pages + held == self.boot_free

    def teardown(self):
        if not hasattr(self, "slab"):
            return
        for ptr, owner in list(self.live.items()):
            if owner is None:
                self.slab.kfree(ptr)
            else:
                self.slab.kmem_cache_free(owner, ptr)
        self.slab.kmem_cache_shrink()
        self.slab.check_invariants()
        assert self.zone.nr_free_pages == self.boot_free
        assert [self.zone.nr_free(o) for o in range(10)] == [0] * 10


class SlabLegacyMachine(SlabMachine):
    allocator = "slab"


class SlobMachine(SlabMachine):
    allocator = "slob"


_SETTINGS = settings(max_examples=25, stateful_step_count=60, deadline=None)
TestSlub = SlabMachine.TestCase
TestSlub.settings = _SETTINGS
TestSlab = SlabLegacyMachine.TestCase
TestSlab.settings = _SETTINGS
TestSlob = SlobMachine.TestCase
TestSlob.settings = _SETTINGS
