"""Property-based tests: random allocations and frees keep every invariant of the allocator."""

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kernelmem_widgets.model import AllocationError, Machine, Zone, procfs

MIGRATETYPES = ("Unmovable", "Movable", "Reclaimable")
GFPS = ("GFP_KERNEL", "GFP_ATOMIC", "GFP_DMA", "GFP_DMA32", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE",
        "GFP_NOWAIT")


class ZoneMachine(RuleBasedStateMachine):
    """One zone, driven through alloc/free in any order, with invariants after every step."""

    @initialize(pages=st.sampled_from([4096, 6144, 8192]), grouping=st.booleans())
    def boot(self, pages, grouping):
        self.zone = Zone("Normal", 0, pages, mobility_grouping=grouping)
        self.boot_pages = self.zone.nr_free_pages
        self.held = []

    @rule(order=st.integers(0, 10), migratetype=st.sampled_from(MIGRATETYPES))
    def alloc(self, order, migratetype):
        try:
            pfn = self.zone.alloc_pages(order, migratetype)
        except AllocationError:
            assert self.zone.largest_free_order() < order or self.zone.nr_free_pages < (1 << order)
            return
        assert pfn % (1 << order) == 0
        assert all(not (pfn < p + (1 << o) and p < pfn + (1 << order)) for p, o in self.held)
        self.held.append((pfn, order))

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(0, 10_000))
    def free(self, pick):
        pfn, order = self.held.pop(pick % len(self.held))
        self.zone.free_pages(pfn, order)

    @invariant()
    def consistent(self):
        if hasattr(self, "zone"):
            self.zone.check_invariants()
            in_use = sum(1 << order for _pfn, order in self.held)
            assert self.zone.nr_free_pages + in_use == self.boot_pages

    def teardown(self):
        if hasattr(self, "zone"):
            for pfn, order in self.held:
                self.zone.free_pages(pfn, order)
            self.zone.check_invariants()
            # everything merged back: only MAX_PAGE_ORDER blocks remain
            assert [self.zone.nr_free(o) for o in range(10)] == [0] * 10
            assert self.zone.nr_free(10) << 10 == self.boot_pages


class WholeMachine(RuleBasedStateMachine):
    """A small x86-64 machine through the GFP front end, watermarks and compaction."""

    @initialize(ram=st.sampled_from(["32M", "64M"]))
    def boot(self, ram):
        self.machine = Machine.preset("linux-6.18-x86_64", ram=ram)
        self.boot_info = procfs.render_buddyinfo(self.machine)
        self.held = {}
        self.machine.bus.subscribe(self._follow)

    def _follow(self, event):
        if event.kind == "mm_compaction_end":
            moved = {new: self.held.pop(old) for old, new in event.data["moved"].items() if old in self.held}
            self.held.update(moved)

    @rule(gfp=st.sampled_from(GFPS), order=st.integers(0, 10))
    def alloc(self, gfp, order):
        try:
            pfn = self.machine.alloc_pages(gfp, order)
        except AllocationError:
            return
        assert pfn not in self.held
        self.held[pfn] = order

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(0, 10_000))
    def free(self, pick):
        pfn = sorted(self.held)[pick % len(self.held)]
        self.machine.free_pages(pfn, self.held.pop(pfn))

    @rule()
    def compact(self):
        self.machine.compact()

    @invariant()
    def consistent(self):
        if hasattr(self, "machine"):
            self.machine.check_invariants()

    def teardown(self):
        if hasattr(self, "machine"):
            for pfn, order in list(self.held.items()):
                self.machine.free_pages(pfn, order)
            self.machine.check_invariants()
            free = [sum(z.nr_free(o) << o for o in range(11)) for z in self.machine.zones]
            assert free == [z.managed_pages for z in self.machine.zones]


TestZone = ZoneMachine.TestCase
TestZone.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestMachine = WholeMachine.TestCase
TestMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
