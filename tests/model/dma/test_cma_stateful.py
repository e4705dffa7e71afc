"""Seeded stateful tests: CMA pageblocks never hold unmovable pages, cma_release() leaves the area whole,
every invariant of the zone holds after every step."""

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kernelmem_widgets.model import AllocationError, Machine
from kernelmem_widgets.model.dma import (ContigRangeBusy, check_cma_invariants, cma_alloc, cma_declare_contiguous,
                                         cma_release, pin_user_pages, unpin_user_pages)
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_CMA


class CmaMachine(RuleBasedStateMachine):
    """A 16 MiB machine with an 8 MiB CMA area, driven by users, kernel allocations and a driver."""

    @initialize(cma_mib=st.sampled_from([4, 8]))
    def boot(self, cma_mib):
        self.machine = Machine.preset("linux-6.18-tiny")
        self.cma = cma_declare_contiguous(self.machine, cma_mib << 20)
        self.zone = self.machine.zone("Normal")
        self.boot_free = self.zone.nr_free_pages
        self.held: dict[int, int] = {}           # pfn -> order, the users' and the kernel's blocks
        self.taken: list[tuple[int, int]] = []    # cma_alloc() results
        self.machine.subscribe(self._follow)

    def _follow(self, event):
        if event.kind == "mm_migrate_pages":
            for old, new in event.data["moved"].items():
                self.held[new] = self.held.pop(old)

    @rule(order=st.integers(0, 2), movable=st.booleans())
    def alloc(self, order, movable):
        gfp = "GFP_HIGHUSER_MOVABLE" if movable else "GFP_KERNEL"
        try:
            pfn = self.machine.alloc_pages(gfp, order)
        except AllocationError:
            return
        if not movable:
            assert not self.cma.contains(pfn), "an unmovable allocation landed in a CMA pageblock"
        self.held[pfn] = order

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(0, 10_000))
    def free(self, pick):
        pfn = sorted(self.held)[pick % len(self.held)]
        self.machine.free_pages(pfn, self.held.pop(pfn))

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(0, 10_000), longterm=st.booleans())
    def pin(self, pick, longterm):
        movable = sorted(pfn for pfn in self.held if self.zone._alloc_mt[pfn] == 1 and pfn not in self.machine.dma.pins)
        if movable:
            pfn = movable[pick % len(movable)]
            new = pin_user_pages(self.machine, pfn, longterm=longterm)
            if longterm:
                assert not self.cma.contains(new)

    @precondition(lambda self: self.machine.dma.pins)
    @rule(pick=st.integers(0, 10_000))
    def unpin(self, pick):
        pins = sorted(self.machine.dma.pins)
        unpin_user_pages(self.machine, pins[pick % len(pins)])

    @rule(count=st.integers(1, 700), align=st.integers(0, 5))
    def driver_cma_alloc(self, count, align):
        try:
            result = cma_alloc(self.machine, self.cma, count, align)
        except ContigRangeBusy as error:
            assert error.errno == -16
            return
        assert result.pfn % (1 << align) == 0 and self.cma.contains(result.end_pfn - 1)
        assert all(not (result.pfn <= pfn < result.end_pfn) for pfn in self.held)
        self.taken.append((result.pfn, count))

    @precondition(lambda self: self.taken)
    @rule(pick=st.integers(0, 10_000))
    def driver_cma_release(self, pick):
        pfn, count = self.taken.pop(pick % len(self.taken))
        cma_release(self.machine, self.cma, pfn, count)

    @precondition(lambda self: self.taken)
    @rule()
    def release_everything(self):
        for pfn, count in self.taken:
            cma_release(self.machine, self.cma, pfn, count)
        self.taken.clear()
        cma = self.cma
        assert cma.available_count == cma.count and not cma.bitmap.any()
        users = sum(1 << order for pfn, order in self.held.items() if cma.contains(pfn))
        free_cma = self.zone.nr_free_cma
        assert free_cma + users == cma.count                  # the area is whole: free or movable users only

    @invariant()
    def consistent(self):
        if not hasattr(self, "machine"):
            return
        self.machine.check_invariants()
        check_cma_invariants(self.machine)
        zone = self.zone
        for pb in range(self.cma.base_pfn >> 9, self.cma.end_pfn >> 9):
            assert zone._pb_mt[pb] == MIGRATE_CMA
        in_use = sum(1 << order for order in self.held.values()) + sum(count for _pfn, count in self.taken)
        assert zone.nr_free_pages + in_use == self.boot_free


TestCma = CmaMachine.TestCase
TestCma.settings = settings(max_examples=40, stateful_step_count=40, deadline=None, derandomize=True)
