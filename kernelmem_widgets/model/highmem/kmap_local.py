"""The per-CPU fixmap kmap slots: ``kmap_atomic()`` of each era and ``kmap_local_page()``.

Each CPU owns a run of fixmap slots from FIX_KMAP_BEGIN; slot ``idx`` is at
``__fix_to_virt(FIX_KMAP_BEGIN + idx) = FIXADDR_TOP - ((FIX_KMAP_BEGIN + idx) << PAGE_SHIFT)``
(the fixmap grows down).  Three generations:

* **km_type** (to 2.6.36, arch/x86/mm/highmem_32.c ``kmap_atomic_prot()``): the caller names a
  slot, ``idx = type + KM_TYPE_NR * smp_processor_id()``; mapping a busy slot is
  ``BUG_ON(!pte_none(*(kmap_pte-idx)))``; ``kunmap_atomic(vaddr, type)`` clears the slot and
  flushes that one address (``kpte_clear_flush()``).
* **stack** (2.6.37 to 5.10, ``kmap_atomic_idx_push()``): the slot is the CPU's stack depth,
  KM_TYPE_NR = 20 deep; unmaps must come in reverse order.
* **kmap_local** (5.11+, mm/highmem.c ``__kmap_local_pfn_prot()``, ``kunmap_local_indexed()``):
  the same stack, KM_MAX_IDX = 16 per CPU (include/asm-generic/kmap_size.h), saved per task;
  ``kmap_atomic()`` is ``kmap_local_page()`` with preemption and page faults disabled.

``FIX_KMAP_BEGIN`` depends on the fixmap entries before it (the APIC and IO-APIC slots ...):
the default 69 is FIX_HOLE, VDSO, DBGP, EARLYCON, APIC_BASE and 64 IO-APIC slots.
"""

from __future__ import annotations

from ..errors import InvalidArgument, InvariantViolation
from .errors import InvalidLayoutOption, KmapAtomicBug, KmapLocalBug, KunmapLocalOutOfOrder, NotAHighmemKernel
from .layout import PAGE_SHIFT
from .layout_rules import LayoutRules

__all__ = ["LocalKmaps"]


class LocalKmaps:
    """The fixmap kmap slots of every CPU, in one version's style (see the module docstring)."""

    def __init__(self, rules: LayoutRules, *, nr_cpus: int, fixaddr_top: int, fix_kmap_begin: int,
                 fixaddr_start: int | None = None) -> None:
        if isinstance(nr_cpus, bool) or not isinstance(nr_cpus, int) or not 1 <= nr_cpus <= 64:
            raise InvalidLayoutOption(f"nr_cpus must be an integer from 1 to 64, not {nr_cpus!r}")
        if isinstance(fix_kmap_begin, bool) or not isinstance(fix_kmap_begin, int) or fix_kmap_begin < 1:
            raise InvalidLayoutOption(f"fix_kmap_begin must be a positive fixmap index, not {fix_kmap_begin!r}")
        self.style = rules.kmap_atomic
        self.km_types = rules.km_types
        self.per_cpu = len(rules.km_types) if self.style == "km_type" else rules.km_stack_depth
        self.nr_cpus, self.fixaddr_top, self.fix_kmap_begin = nr_cpus, fixaddr_top, fix_kmap_begin
        self.fix_kmap_end = fix_kmap_begin + self.per_cpu * nr_cpus - 1
        if fixaddr_start is not None and self._vaddr_of(self.fix_kmap_end - fix_kmap_begin) < fixaddr_start:
            raise InvalidLayoutOption(f"{self.per_cpu} slots x {nr_cpus} CPUs from FIX_KMAP_BEGIN {fix_kmap_begin} do "
                                      f"not fit in a fixmap starting at {fixaddr_start:#x}")
        self._low = fixaddr_top - (self.fix_kmap_end << PAGE_SHIFT)  # __fix_to_virt(FIX_KMAP_END)
        self._high = fixaddr_top - (fix_kmap_begin << PAGE_SHIFT)  # __fix_to_virt(FIX_KMAP_BEGIN)
        self.kernel_version = rules.kernel_version
        self.counters = None  # the owning KmapSpace's KmapCounters
        self.bus = None  # and its EventBus
        self._pte: dict[int, int] = {}  # idx -> pfn
        self._stacks: list[list[int]] = [[] for _ in range(nr_cpus)]

    # ------------------------------------------------------------------ addresses
    def _vaddr_of(self, idx: int) -> int:
        return self.fixaddr_top - ((self.fix_kmap_begin + idx) << PAGE_SHIFT)

    def vaddr(self, idx: int) -> int:
        """``__fix_to_virt(FIX_KMAP_BEGIN + idx)``."""
        return self._vaddr_of(idx)

    def is_fixmap_kmap(self, vaddr: int) -> bool:
        """Between ``__fix_to_virt(FIX_KMAP_END)`` and ``__fix_to_virt(FIX_KMAP_BEGIN)``."""
        if vaddr.__class__ is not int:
            if isinstance(vaddr, bool) or not isinstance(vaddr, int):
                raise InvalidArgument(f"vaddr {vaddr!r} is not an address")
        return self._low <= (vaddr & ~0xFFF) <= self._high

    def slots(self) -> list[tuple[int, int, int, int]]:
        """Every mapped slot as ``(cpu, idx, vaddr, pfn)``."""
        return [(idx // self.per_cpu, idx, self.vaddr(idx), pfn) for idx, pfn in sorted(self._pte.items())]

    def depth(self, cpu: int = 0) -> int:
        return len(self._stacks[self._cpu(cpu)])

    # ------------------------------------------------------------------ the stack styles
    def map_local(self, pfn: int, cpu: int) -> int:
        if self.style != "kmap_local":
            raise NotAHighmemKernel(f"kmap_local_page() came with 5.11; Linux {self.kernel_version} has "
                                    "kmap_atomic() (and kmap())")
        return self._push(pfn, cpu, "kmap_local_idx_push(): BUG_ON(current->kmap_ctrl.idx >= KM_MAX_IDX)")

    def _push(self, pfn: int, cpu: int, check: str) -> int:
        stack = self._stacks[cpu if cpu.__class__ is int and 0 <= cpu < self.nr_cpus else self._cpu(cpu)]
        if len(stack) >= self.per_cpu:
            raise KmapLocalBug(f"kernel BUG in {check}: CPU {cpu} already holds {self.per_cpu} nested maps")
        idx = len(stack) + self.per_cpu * cpu
        stack.append(idx)
        self._pte[idx] = pfn
        self.counters.pte_writes += 1
        if self.bus is not None and self.bus.active:
            self.bus.emit("kmap_local", pfn=pfn, cpu=cpu, slot=idx)
        return self.fixaddr_top - ((self.fix_kmap_begin + idx) << PAGE_SHIFT)

    def unmap_local(self, vaddr: int, cpu: int) -> None:
        if self.style == "km_type":
            raise NotAHighmemKernel(f"Linux {self.kernel_version} has no kunmap_local(); use kunmap_atomic(vaddr, type)")
        stack = self._stacks[cpu if cpu.__class__ is int and 0 <= cpu < self.nr_cpus else self._cpu(cpu)]
        if not stack or vaddr & ~0xFFF != self.fixaddr_top - ((self.fix_kmap_begin + stack[-1]) << PAGE_SHIFT):
            self._refuse_unmap(vaddr, cpu, stack)
        idx = stack.pop()
        pfn = self._pte.pop(idx)
        self.counters.pte_writes += 1  # pte_clear()
        self.counters.tlb_flush_one += 1  # flush_tlb_one_kernel(vaddr) / __flush_tlb_one()
        if self.bus is not None and self.bus.active:
            self.bus.emit("kunmap_local", pfn=pfn, cpu=cpu, slot=idx)

    def _refuse_unmap(self, vaddr: int, cpu: int, stack: list[int]) -> None:
        what = "kunmap_local()" if self.style == "kmap_local" else "kunmap_atomic()"
        if not stack:
            raise KmapLocalBug(f"kernel BUG in {what}: BUG_ON(idx < 0) in the idx pop: CPU {cpu} holds no "
                               f"kmap_local/kmap_atomic mapping, so {vaddr:#x} was never mapped here")
        idx = stack[-1]
        raise KunmapLocalOutOfOrder(
            f"{what} of {vaddr:#x} out of order: the last mapping on CPU {cpu} is {self.vaddr(idx):#x} "
            f"(slot {idx}); mappings must be released in reverse order (the kernel's "
            "WARN_ON_ONCE(addr != __fix_to_virt(FIX_KMAP_BEGIN + idx)), after which it unmaps the wrong slot)")

    # ------------------------------------------------------------------ kmap_atomic
    def check_atomic_type(self, km_type) -> None:
        if self.style == "km_type":
            if km_type not in self.km_types:
                raise InvalidArgument(f"kmap_atomic() of Linux {self.kernel_version} needs a km_type slot name; "
                                      f"accepted: {', '.join(self.km_types)}")
        elif km_type is not None:
            raise InvalidArgument(f"kmap_atomic() of Linux {self.kernel_version} takes no km_type (the slot is the "
                                  "per-CPU stack depth since 2.6.37); call kmap_atomic(page)")

    def map_atomic(self, pfn: int, km_type: str | None, cpu: int) -> int:
        if self.style == "kmap_local":
            return self._push(pfn, cpu, "kmap_local_idx_push(): BUG_ON(current->kmap_ctrl.idx >= KM_MAX_IDX)")
        if self.style == "stack":
            return self._push(pfn, cpu, "kmap_atomic_idx_push(): BUG_ON(idx >= KM_TYPE_NR) (CONFIG_DEBUG_HIGHMEM)")
        idx = self.km_types.index(km_type) + self.per_cpu * self._cpu(cpu)
        if idx in self._pte:
            raise KmapAtomicBug(f"kernel BUG in kmap_atomic_prot(): BUG_ON(!pte_none(*(kmap_pte-idx))): slot "
                                f"{km_type} of CPU {cpu} still maps pfn {self._pte[idx]:#x}; kunmap_atomic() it first")
        self._pte[idx] = pfn
        self.counters.pte_writes += 1
        if self.bus is not None and self.bus.active:
            self.bus.emit("kmap_atomic", pfn=pfn, cpu=cpu, slot=idx, km_type=km_type)
        return self.vaddr(idx)

    def unmap_atomic(self, vaddr: int, km_type: str | None, cpu: int) -> None:
        if self.style != "km_type":
            self.unmap_local(vaddr, cpu)
            return
        idx = self.km_types.index(km_type) + self.per_cpu * self._cpu(cpu)
        if vaddr & ~0xFFF != self.vaddr(idx):
            raise KmapAtomicBug(f"kunmap_atomic({vaddr:#x}, {km_type}) on CPU {cpu}: the address is not slot "
                                f"{km_type} ({self.vaddr(idx):#x}); with CONFIG_DEBUG_HIGHMEM this is "
                                "BUG_ON(vaddr >= high_memory), without it the other slot silently stays mapped")
        pfn = self._pte.pop(idx, None)  # kpte_clear_flush() clears the PTE even if it was already empty
        self.counters.pte_writes += 1
        self.counters.tlb_flush_one += 1
        if self.bus is not None and self.bus.active:
            self.bus.emit("kunmap_atomic", pfn=pfn, cpu=cpu, slot=idx, km_type=km_type)

    # ------------------------------------------------------------------ checks
    def _cpu(self, cpu) -> int:
        if isinstance(cpu, bool) or not isinstance(cpu, int) or not 0 <= cpu < self.nr_cpus:
            raise InvalidArgument(f"cpu {cpu!r} is not one of this machine's CPUs 0..{self.nr_cpus - 1}")
        return cpu

    def check_invariants(self) -> None:
        for cpu, stack in enumerate(self._stacks):
            if stack != [self.per_cpu * cpu + depth for depth in range(len(stack))]:
                raise InvariantViolation(f"CPU {cpu}'s kmap stack {stack} is not its slots in order")
            if len(stack) > self.per_cpu:
                raise InvariantViolation(f"CPU {cpu} holds {len(stack)} > {self.per_cpu} maps")
        stacked = {idx for stack in self._stacks for idx in stack}
        for idx in self._pte:
            if not 0 <= idx <= self.fix_kmap_end - self.fix_kmap_begin:
                raise InvariantViolation(f"kmap slot {idx} outside FIX_KMAP_BEGIN..FIX_KMAP_END")
            if self.style != "km_type" and idx not in stacked:
                raise InvariantViolation(f"slot {idx} mapped but on no CPU's stack")
        if self.style != "km_type" and stacked != set(self._pte):
            raise InvariantViolation("a stacked slot has no PTE")
