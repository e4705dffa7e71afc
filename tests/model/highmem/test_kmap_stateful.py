"""Seeded stateful tests: random kmap/kunmap/kmap_local sequences against a plain reference.

After every step ``check_invariants()`` must hold, every address must agree with the reference's
user counts, and every refused call must leave the state exactly as it was.
"""

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kernelmem_widgets.model.errors import KernelMemError
from kernelmem_widgets.model.highmem import KmapLocalBug, KmapSpace, KmapWouldSleep, KunmapBug, boot_layout

POOL = 700  # more highmem pages than the 512 slots of a PAE window


def snapshot(space):
    return (space.pkmap_count, space.slot_pfns(), space.last_pkmap_nr, space.counters.as_dict(), space.local.slots())


class KmapMachine(RuleBasedStateMachine):
    @initialize(pae=st.booleans(), rules=st.sampled_from(["linux-6.18-i386", "linux-5.1-i386"]))
    def boot(self, pae, rules):
        self.layout = boot_layout(rules, max_pfn=1 << 19, pae=pae)
        self.space = KmapSpace.from_layout(self.layout, nr_cpus=2)
        self.base = self.layout.max_low_pfn
        self.users: dict[int, int] = {}  # pfn -> kmap() users
        self.local: list[list[tuple[int, int]]] = [[], []]  # per CPU: (vaddr, pfn)

    def refused(self, call, *args):
        before = snapshot(self.space)
        try:
            call(*args)
        except KernelMemError as error:
            assert snapshot(self.space) == before, f"{call!r} changed the state before raising {error!r}"
            return error
        return None

    @rule(i=st.integers(0, POOL - 1), times=st.integers(1, 3))
    def kmap(self, i, times):
        pfn = self.base + i
        for _ in range(times):
            error = self.refused(self.space.kmap, pfn)
            if error is not None:
                assert isinstance(error, KmapWouldSleep)
                assert sum(1 for n in self.users.values() if n) == self.layout.last_pkmap
                assert self.space.slot_of(pfn) is None  # not mapped: a mapped page is reused, never sleeps
                return
            self.users[pfn] = self.users.get(pfn, 0) + 1

    @rule(n=st.integers(50, 300), start=st.integers(0, POOL - 1))
    def kmap_many(self, n, start):
        for k in range(n):
            self.kmap((start + k) % POOL, 1)

    @precondition(lambda self: any(self.users.values()))
    @rule(data=st.data())
    def kunmap(self, data):
        pfn = data.draw(st.sampled_from(sorted(p for p, n in self.users.items() if n)))
        self.space.kunmap(pfn)
        self.users[pfn] -= 1

    @rule(i=st.integers(0, POOL - 1))
    def kunmap_without_a_user_is_a_bug(self, i):
        pfn = self.base + i
        if self.users.get(pfn):
            return
        assert isinstance(self.refused(self.space.kunmap, pfn), KunmapBug)

    @rule(i=st.integers(0, POOL - 1), cpu=st.integers(0, 1), times=st.integers(1, 12))
    def kmap_local(self, i, cpu, times):
        for k in range(times):
            self.kmap_local_one(i + k, cpu)

    def kmap_local_one(self, i, cpu):
        pfn = self.base + i % POOL
        call = self.space.kmap_local_page if self.layout.rules.kmap_atomic == "kmap_local" else self.space.kmap_atomic
        if len(self.local[cpu]) == self.space.local.per_cpu:  # KM_MAX_IDX 16 (6.18) or KM_TYPE_NR 20 (5.1)
            assert isinstance(self.refused(lambda: call(pfn, cpu=cpu)), KmapLocalBug)
            return
        vaddr = call(pfn, cpu=cpu)
        assert all(vaddr != other for stack in self.local for other, _ in stack)
        self.local[cpu].append((vaddr, pfn))

    @rule(cpu=st.integers(0, 1), in_order=st.booleans())
    def kunmap_local(self, cpu, in_order):
        stack = self.local[cpu]
        unmap = self.space.kunmap_local if self.layout.rules.kmap_atomic == "kmap_local" else self.space.kunmap_atomic
        if not stack:
            return
        if in_order or len(stack) == 1:
            unmap(stack.pop()[0], cpu=cpu)
        else:
            assert self.refused(unmap, stack[0][0], cpu) is not None

    @invariant()
    def agrees_with_the_reference(self):
        if not hasattr(self, "space"):
            return
        self.space.check_invariants()
        counts = self.space.pkmap_count
        for pfn, users in self.users.items():
            slot = self.space.slot_of(pfn)
            if users:
                assert slot is not None and counts[slot] == users + 1
            else:
                assert slot is None or counts[slot] == 1
        assert [len(s) for s in self.local] == [self.space.local.depth(0), self.space.local.depth(1)]


TestKmapStateful = KmapMachine.TestCase
TestKmapStateful.settings = settings(max_examples=25, stateful_step_count=40, deadline=None, derandomize=True)
