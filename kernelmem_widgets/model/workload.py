"""Seeded workloads: "a week of uptime" in a few thousand calls, and literal operation lists.

A :class:`Workload` allocates and frees with a mix of orders and migrate types like a running
system's: user and page-cache pages (movable, order 0, short-lived), slab pages (unmovable and
reclaimable), kernel stacks (vmalloc'd order-0 pages with CONFIG_VMAP_STACK, as x86-64 6.18 has
them; one order-2 block on presets without it), the odd order-3 network buffer, and a share of
kernel allocations that are never freed.  The long-lived unmovable pages that land in many pageblocks
are what fragments a machine that has been up for a week.

:func:`run_ops` plays a literal scenario, ostep-style: ``["alloc 3", "free 0x1200 3", ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numbers
import signal
import threading
from contextlib import contextmanager

import numpy as np

from .errors import InvalidOperation, InvariantViolation, KernelMemError
from .page_alloc.gfp import gfp_zone, parse_gfp
from .units import format_size
from .validate import as_int, as_text

__all__ = ["Workload", "AgingReport", "OpResult", "run_ops", "parse_op", "UPTIME_MIX", "WEEK_MIX", "MAX_STEPS",
           "MAX_OPS"]

#: Most aging steps one call runs (about 10 s on the CI machine; a lab may call again)
MAX_STEPS = 1_000_000
#: Most literal operations one run_ops() call plays
MAX_OPS = 10_000

#: (gfp, order, share of allocations, share of those never freed); order -1 is a kernel stack
#: (order 0 with the preset's CONFIG_VMAP_STACK, else its THREAD_SIZE_ORDER)
UPTIME_MIX: tuple[tuple[str, int, float, float], ...] = (
    ("GFP_HIGHUSER_MOVABLE", 0, 0.62, 0.0),
    ("GFP_HIGHUSER_MOVABLE", 1, 0.04, 0.0),
    ("GFP_KERNEL", 0, 0.14, 0.30),
    ("GFP_KERNEL|__GFP_RECLAIMABLE", 0, 0.10, 0.10),
    ("GFP_KERNEL", -1, 0.06, 0.30),
    ("GFP_KERNEL", 3, 0.03, 0.20),
    ("GFP_ATOMIC", 1, 0.01, 0.0),
)


#: "A week of uptime" at real size (Linux 6.18 on x86-64): (what, gfp, order, share of the pages
#: in use, share of those blocks never freed).  Page cache comes partly as large folios (ext4 and
#: xfs allocate them since 6.16 / 5.18, ``__filemap_get_folio()`` adding __GFP_NORETRY |
#: __GFP_NOWARN above order 0); SLUB slabs are order 0-3 (``slub_max_order`` 3); kernel stacks
#: are vmalloc'd order-0 pages with CONFIG_VMAP_STACK, else one THREAD_SIZE_ORDER block.
WEEK_MIX: tuple[tuple[str, str, int, float, float], ...] = (
    ("anonymous and page-cache pages", "GFP_HIGHUSER_MOVABLE", 0, 0.44, 0.0),
    ("page-cache folios, 16 KiB", "GFP_HIGHUSER_MOVABLE|__GFP_NORETRY|__GFP_NOWARN", 2, 0.16, 0.0),
    ("page-cache folios, 64 KiB", "GFP_HIGHUSER_MOVABLE|__GFP_NORETRY|__GFP_NOWARN", 4, 0.14, 0.0),
    ("slab pages, order 0", "GFP_KERNEL", 0, 0.05, 0.4),
    ("slab pages, order 1", "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY", 1, 0.04, 0.4),
    ("slab pages, order 3", "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY", 3, 0.06, 0.4),
    ("reclaimable slab pages (dentries, inodes)", "GFP_KERNEL|__GFP_RECLAIMABLE", 0, 0.05, 0.1),
    ("reclaimable slab pages, order 3", "GFP_KERNEL|__GFP_RECLAIMABLE|__GFP_NOWARN|__GFP_NORETRY", 3, 0.03, 0.1),
    ("kernel stacks", "GFP_KERNEL", -1, 0.02, 0.0),
    ("network buffers", "GFP_ATOMIC", 1, 0.01, 0.0),
)

#: Pages one run of a kind allocates (a process faulting a region in, a readahead window, a
#: burst of slab growth): runs of different kinds interleave, as tasks do.
_RUN_PAGES = 256


@dataclass
class AgingReport:
    steps: int
    allocations: int = 0
    frees: int = 0
    failures: int = 0
    pinned_blocks: int = 0
    first_failure: str = ""
    pages_in_use: int = 0
    managed_pages: int = 0
    cancelled: bool = False

    def summary(self) -> str:
        text = (f"{self.steps:,} steps{' (cancelled)' if self.cancelled else ''}: {self.allocations:,} allocations, "
                f"{self.frees:,} frees, {self.failures:,} failed, {self.pinned_blocks:,} blocks held for good")
        if self.managed_pages:
            text += f"; {self.pages_in_use:,} of {self.managed_pages:,} pages in use ({self.pages_in_use / self.managed_pages:.0%})"
        return text


class Workload:
    """Allocations a machine's users hold, driven by a seeded random mix.

    It follows compaction: when a movable block it holds is migrated, its pfn is updated.
    :meth:`age` with no step count plays "a week of uptime" at the machine's real size.
    """

    def __init__(self, machine, seed: int = 0, mix: Sequence[tuple[str, int, float, float]] = UPTIME_MIX,
                 fill: float = 0.85) -> None:
        if isinstance(fill, bool) or not isinstance(fill, numbers.Real) or not 0 < fill < 1:
            raise InvalidOperation(f"fill {fill!r:.40} must be a number between 0 and 1 (the share of RAM the "
                                   "workload keeps in use)")
        seed = as_int(seed, "seed", "an integer >= 0", InvalidOperation)
        if seed < 0:
            raise InvalidOperation(f"seed {seed} is negative; accepted: an integer >= 0")
        self.mix = _check_mix(mix, machine)
        self.machine = machine
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.fill = float(fill)
        weights = np.array([share for _gfp, _order, share, _pin in self.mix], dtype=float)
        self._cumulative = np.cumsum(weights / weights.sum())
        self._held_pfn: list[int] = []
        self._held_order: list[int] = []
        self._position = np.full(machine.nr_pages, -1, dtype=np.int64)
        self.pinned: list[tuple[int, int]] = []
        self._unsubscribe = machine.bus.subscribe(self._follow_migration)
        machine.add_holder(self)

    @property
    def held_pages(self) -> int:
        return sum(1 << order for order in self._held_order) + sum(1 << order for _pfn, order in self.pinned)

    def held_blocks(self) -> list[tuple[int, int]]:
        """The (pfn, order) blocks this workload may still free."""
        return list(zip(self._held_pfn, self._held_order))

    def owned_blocks(self):
        """``(pfn, order, "workload")`` of every block held, pinned ones included (for ``check_invariants``)."""
        for pfn, order in self.held_blocks() + self.pinned:
            yield pfn, order, "workload"

    def check_invariants(self) -> None:
        """The position index agrees with the held lists."""
        indexed = np.flatnonzero(self._position >= 0)
        if (len(indexed) != len(self._held_pfn) or len(self._held_order) != len(self._held_pfn)
                or any(self._held_pfn[self._position[pfn]] != pfn for pfn in indexed.tolist())):
            raise InvariantViolation("workload: the pfn index disagrees with the held blocks")

    def _machine_reset(self) -> None:
        self._held_pfn.clear()
        self._held_order.clear()
        self._position[:] = -1
        self.pinned.clear()

    def _follow_migration(self, event) -> None:
        kind = event.kind
        if kind in ("mm_compaction_end", "mm_migrate_pages"):  # compaction, and cma_alloc's migrations
            position = self._position
            moves = [(old, new, position[old]) for old, new in event.data.get("moved", {}).items()
                     if old < len(position) and position[old] >= 0]
            for old, _new, _index in moves:
                position[old] = -1
            for _old, new, index in moves:
                self._held_pfn[index] = new
                position[new] = index
        elif kind == "reset":
            self._held_pfn.clear()
            self._held_order.clear()
            self._position[:] = -1
            self.pinned.clear()

    def _hold(self, pfn: int, order: int) -> None:
        self._position[pfn] = len(self._held_pfn)
        self._held_pfn.append(pfn)
        self._held_order.append(order)

    def _hold_many(self, pfns: list[int], order: int) -> None:
        first = len(self._held_pfn)
        self._position[pfns] = np.arange(first, first + len(pfns))
        self._held_pfn.extend(pfns)
        self._held_order.extend([order] * len(pfns))

    def _release(self, index: int) -> tuple[int, int]:
        pfn, order = self._held_pfn[index], self._held_order[index]
        last_pfn, last_order = self._held_pfn.pop(), self._held_order.pop()
        self._position[pfn] = -1
        if index < len(self._held_pfn):
            self._held_pfn[index], self._held_order[index] = last_pfn, last_order
            self._position[last_pfn] = index
        return pfn, order

    def age(self, steps: int | None = None, *, progress: Callable[[int, int], None] | None = None,
            chunk: int = 1000, rounds: int = 2, cancel: Callable[[], bool] | None = None) -> AgingReport:
        """Age the machine.

        With ``steps`` (at most :data:`MAX_STEPS`), run that many single allocations or frees of
        the workload's mix, keeping about ``fill`` of RAM in use, in chunks of ``chunk`` steps;
        after each, ``progress(done, steps)`` is called and, when ``cancel()`` returns true (or
        Ctrl-C / Jupyter's interrupt was pressed), aging stops there (``report.cancelled``;
        ``report.steps`` is what ran), the model consistent.  Without ``steps``, play "a week of
        uptime" at the machine's real size (:meth:`age_week`).
        """
        for name, callback in (("progress", progress), ("cancel", cancel)):
            if callback is not None and not callable(callback):
                raise InvalidOperation(f"{name} must be a function or None, not {type(callback).__name__}")
        if steps is None:
            return self.age_week(rounds=rounds, progress=progress)
        steps = as_int(steps, "steps", f"0..{MAX_STEPS:,}", InvalidOperation)
        if not 0 <= steps <= MAX_STEPS:
            raise InvalidOperation(f"steps {steps:,}: accepted: 0..{MAX_STEPS:,} steps per call in this kit "
                                   "(about 10 s of work; call again to age further)")
        chunk = as_int(chunk, "chunk", "1..1,000,000", InvalidOperation)
        if not 1 <= chunk <= 1_000_000:
            raise InvalidOperation(f"chunk {chunk}: accepted: 1..1,000,000 steps")
        report = AgingReport(steps)
        target = self.fill * sum(zone.managed_pages for zone in self.machine.zones)
        with self.machine.bus.batch("age"), _interrupt_flag() as interrupted:
            for start in range(0, steps, chunk):
                count = min(chunk, steps - start)
                self._run_chunk(count, target, report)
                if progress is not None:
                    progress(start + count, steps)
                if start + count < steps and (interrupted or (cancel is not None and cancel())):
                    report.steps, report.cancelled = start + count, True
                    break
        self._finish_report(report)
        return report

    def _finish_report(self, report: AgingReport) -> None:
        report.pinned_blocks = len(self.pinned)
        report.managed_pages = sum(zone.managed_pages for zone in self.machine.zones)
        report.pages_in_use = self.machine_used_pages()

    def age_week(self, rounds: int = 2, *, progress: Callable[[int, int], None] | None = None) -> AgingReport:
        """"A week of uptime": memory fills up the way page cache and anonymous memory grow
        until reclaim starts, then reclaim gives back the oldest pages, scattered over RAM.

        Each round allocates :data:`WEEK_MIX` until the machine is full (free memory down to
        twice the zones' high watermarks, where kswapd would be working), then frees random
        blocks that are not held for good until ``fill`` of RAM is in use (as reclaim frees
        LRU pages, which after days of use lie anywhere).  Allocations come in runs of one
        kind (:data:`_RUN_PAGES` pages' worth) drawn by share of pages, through
        :meth:`Machine.alloc_pages_many` and :meth:`Machine.free_pages_many`, which give
        exactly what one call per block would; the per-block trace events are left out (a
        week of ftrace would be millions of lines).  Same seed, same pfns.  A failed
        allocation is counted and its run given up, as its caller would.
        ``progress(done, total)`` is called after each of the ``2 * rounds`` phases.
        """
        if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or not 1 <= rounds <= 100:
            raise InvalidOperation(f"rounds {rounds!r}: accepted: a whole number of rounds from 1 to 100")
        rounds = int(rounds)
        if progress is not None and not callable(progress):
            raise InvalidOperation(f"progress must be a function or None, not {type(progress).__name__}")
        machine = self.machine
        managed = sum(zone.managed_pages for zone in machine.zones)
        target = int(self.fill * managed)
        ceiling = max(target, managed - 2 * sum(zone.watermark["high"] for zone in machine.zones))
        report = AgingReport(0)
        kinds = [(gfp, self._stack_order(order), pinned) for _what, gfp, order, _share, pinned in WEEK_MIX]
        shares = np.array([share for _what, _gfp, _order, share, _pinned in WEEK_MIX])
        cumulative = np.cumsum(shares / shares.sum())
        with machine.bus.batch("age"):
            for round_number in range(int(rounds)):
                self._fill_to(ceiling, kinds, cumulative, report)
                if progress is not None:
                    progress(2 * round_number + 1, 2 * rounds)
                self._free_random(self.machine_used_pages() - target, report)
                if progress is not None:
                    progress(2 * round_number + 2, 2 * rounds)
        report.steps = report.allocations + report.frees + report.failures
        self._finish_report(report)
        return report

    def _stack_order(self, order: int) -> int:
        """Kernel stacks: order 0 (vmalloc'd) with CONFIG_VMAP_STACK, else THREAD_SIZE_ORDER."""
        if order >= 0:
            return order
        config = self.machine.config
        return 0 if getattr(config, "vmap_stack", True) else getattr(config, "thread_size_order", 2)

    def _fill_to(self, target: int, kinds, cumulative, report: AgingReport) -> None:
        machine, rng = self.machine, self.rng
        in_use = self.machine_used_pages()
        while in_use < target:
            kind = int(np.searchsorted(cumulative, rng.random(), side="right"))
            gfp, order, pinned_share = kinds[min(kind, len(kinds) - 1)]
            count = max(1, min(_RUN_PAGES, target - in_use) >> order)
            pfns, error = machine.alloc_pages_many(gfp, order, count, trace=False, owner="workload")
            report.allocations += len(pfns)
            in_use += len(pfns) << order
            if pfns:
                if pinned_share:
                    pins = (rng.random(len(pfns)) < pinned_share).tolist()
                    self.pinned.extend((pfn, order) for pfn, pin in zip(pfns, pins) if pin)
                    pfns = [pfn for pfn, pin in zip(pfns, pins) if not pin]
                self._hold_many(pfns, order)
            if error is not None:
                report.failures += 1
                report.first_failure = report.first_failure or str(error)
                if not pfns and order == 0:
                    return  # not even one page: the machine is at its watermarks

    def _free_random(self, pages: int, report: AgingReport) -> None:
        """Free random held blocks (not the pinned ones) until ``pages`` pages are freed.


        The blocks are drawn without replacement (a seeded sample of distinct indices), then
        freed in the order drawn; the survivors keep their order in the held list."""
        count = len(self._held_pfn)
        if not count or pages <= 0:
            return
        order_arr = np.fromiter(self._held_order, dtype=np.int64, count=count)
        mean = max(float((1 << order_arr[: min(count, 4096)]).mean()), 1.0)
        guess = min(count, int(pages / mean * 1.25) + 64)
        chosen = self.rng.choice(count, size=guess, replace=False)
        sizes = np.cumsum(1 << order_arr[chosen])
        number = int(np.searchsorted(sizes, pages, side="left")) + 1
        chosen = chosen[:min(number, len(chosen))]
        pfn_arr = np.fromiter(self._held_pfn, dtype=np.int64, count=count)
        self.machine.free_pages_many(zip(pfn_arr[chosen].tolist(), order_arr[chosen].tolist()), trace=False,
                                     owner="workload")
        report.frees += len(chosen)
        keep = np.ones(count, dtype=bool)
        keep[chosen] = False
        self._position[pfn_arr[chosen]] = -1
        kept = pfn_arr[keep]
        self._held_pfn = kept.tolist()
        self._held_order = order_arr[keep].tolist()
        self._position[kept] = np.arange(len(kept))

    def _run_chunk(self, count: int, target: float, report: AgingReport) -> None:
        kinds = np.searchsorted(self._cumulative, self.rng.random(count), side="right")
        coins = self.rng.random(count)
        picks = self.rng.random(count)
        for kind, coin, pick in zip(kinds.tolist(), coins.tolist(), picks.tolist()):
            in_use = self.machine_used_pages()
            if self._held_pfn and (in_use > target or coin < 0.35):
                self._free_one(int(pick * len(self._held_pfn)))
                report.frees += 1
            else:
                self._alloc_one(min(kind, len(self.mix) - 1), pick, report)

    def machine_used_pages(self) -> int:
        return sum(zone.managed_pages - zone.nr_free_pages for zone in self.machine.zones)

    def _alloc_one(self, kind: int, pick: float, report: AgingReport) -> None:
        gfp, order, _share, pinned_share = self.mix[kind]
        order = self._stack_order(order)
        try:
            pfn = self.machine.alloc_pages(gfp, order, owner="workload")
        except KernelMemError as error:
            report.failures += 1
            report.first_failure = report.first_failure or str(error)
            return
        report.allocations += 1
        if pick < pinned_share:
            self.pinned.append((pfn, order))
        else:
            self._hold(pfn, order)

    def _free_one(self, index: int) -> None:
        pfn, order = self._release(index)
        self.machine.free_pages(pfn, order, owner="workload")

    def free_all(self) -> int:
        """Free every block this workload holds, pinned ones included; returns the count."""
        blocks = self.held_blocks() + self.pinned
        with self.machine.bus.batch("free_all"):
            self.machine.free_pages_many(blocks, owner="workload")
        self._held_pfn, self._held_order, self.pinned = [], [], []
        self._position[:] = -1
        return len(blocks)

    def close(self) -> None:
        """Stop following the machine (the blocks stay allocated: ``free_all()`` first to give them back)."""
        self._unsubscribe()
        if not self._held_pfn and not self.pinned:
            self.machine.remove_holder(self)


@contextmanager
def _interrupt_flag() -> Iterator[list]:
    """While aging runs in the main thread, SIGINT (Ctrl-C, Jupyter's interrupt button) only sets a
    flag, read between chunks: a KeyboardInterrupt in the middle of a step would leave a block
    allocated but not yet held.  Elsewhere (a thread) the flag is never set."""
    flag: list = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda _signum, _frame: flag.append(True))
    except ValueError:  # not the main interpreter
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def _check_mix(mix, machine) -> tuple[tuple[str, int, float, float], ...]:
    """A workload mix: (gfp, order, share, pinned share) rows with a valid mask and order, shares >= 0."""
    accepted = "rows (gfp, order, share of allocations >= 0, share never freed 0..1), some share > 0"
    if isinstance(mix, (str, bytes)) or not isinstance(mix, Sequence) or not 1 <= len(mix) <= 64:
        raise InvalidOperation(f"mix {mix!r:.60}: accepted: 1..64 {accepted}")
    rows = []
    for row in mix:
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != 4:
            raise InvalidOperation(f"mix row {row!r:.60}: accepted: {accepted}")
        gfp, order, share, pinned = row
        flags = parse_gfp(gfp)
        gfp_zone(flags)
        order = as_int(order, "mix order", f"-1 or 0..{machine.max_page_order}", InvalidOperation)
        if not -1 <= order <= machine.max_page_order:
            raise InvalidOperation(f"mix order {order}: accepted: 0..{machine.max_page_order} (MAX_PAGE_ORDER), "
                                   "or -1 for a kernel stack")
        for value in (share, pinned):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= (
                    1 if value is pinned else 1e9):
                raise InvalidOperation(f"mix row {row!r:.60}: shares must be numbers, {accepted}")
        rows.append((gfp, order, float(share), float(pinned)))
    if not sum(share for _gfp, _order, share, _pin in rows) > 0:
        raise InvalidOperation(f"mix {mix!r:.60}: every share is 0; {accepted}")
    return tuple(rows)


@dataclass
class OpResult:
    """One literal operation and what came of it."""

    op: str
    pfn: int | None = None
    order: int | None = None
    error: str = ""
    detail: str = ""
    page_size: int = 4096
    extra: dict = field(default_factory=dict)

    def line(self, reveal: bool = True) -> str:
        if not reveal:
            return f"{self.op:<28} -> ?"
        if self.error:
            return f"{self.op:<28} -> failed: {self.error}"
        if self.pfn is not None:
            return f"{self.op:<28} -> pfn {self.pfn:#x} ({format_size(self.page_size << (self.order or 0))})"
        return f"{self.op:<28} -> {self.detail}"


_OP_HELP = ("accepted: 'alloc ORDER [GFP]', 'free PFN ORDER' (PFN decimal or 0x hex), 'compact [ZONE]', "
            "'reset'")


def parse_op(text: str) -> tuple[str, list[str]]:
    """Split ``"alloc 3 GFP_DMA"`` into ``("alloc", ["3", "GFP_DMA"])`` after checking its shape."""
    text = as_text(text, "operation", _OP_HELP, InvalidOperation, limit=200)
    words = text.split()
    if not words:
        raise InvalidOperation(f"empty operation; {_OP_HELP}")
    verb, args = words[0].lower(), words[1:]
    shapes = {"alloc": (1, 2), "free": (2, 2), "compact": (0, 1), "reset": (0, 0)}
    if verb not in shapes or not shapes[verb][0] <= len(args) <= shapes[verb][1]:
        raise InvalidOperation(f"cannot read operation {text!r}; {_OP_HELP}")
    numbers = args[:1] if verb == "alloc" else args if verb == "free" else []
    for word in numbers:
        _number(word, text)
    return verb, args


def _number(word: str, text: str) -> int:
    """A decimal or 0x-hex number of ASCII digits, no '_' (what a C program would print)."""
    digits = word[2:] if word[:2].lower() == "0x" else word
    base = 16 if digits is not word else 10
    allowed = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
    if not digits or len(digits) > 20 or any(char not in allowed for char in digits):
        raise InvalidOperation(f"{word[:40]!r} in {text!r} is not a number (decimal or 0x hex, at most 20 digits); "
                               f"{_OP_HELP}")
    return int(digits, base)


def run_ops(machine, ops: Sequence[str]) -> list[OpResult]:
    """Play literal operations on ``machine``; every op is parsed before any runs.

    An allocation or free the kernel would refuse is recorded in the result, not raised, so a
    scenario can show a failure and go on.
    """
    if not hasattr(machine, "alloc_pages") or not hasattr(machine, "page_size"):
        raise InvalidOperation(f"run_ops({machine!r:.60}, ...): the first argument is a Machine")
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence):
        raise InvalidOperation(f"run_ops wants a list of operations such as ['alloc 3'], not "
                               f"{type(ops).__name__}; {_OP_HELP}")
    if len(ops) > MAX_OPS:
        raise InvalidOperation(f"{len(ops):,} operations: at most {MAX_OPS:,} per run_ops() call in this kit")
    parsed = [parse_op(op) for op in ops]
    results = []
    for op, (verb, args) in zip(ops, parsed):
        results.append(_run_one(machine, op, verb, args))
    return results


def _run_one(machine, op: str, verb: str, args: list[str]) -> OpResult:
    result = OpResult(op, page_size=machine.page_size)
    try:
        if verb == "alloc":
            result.order = _number(args[0], op)
            result.pfn = machine.alloc_pages(args[1] if len(args) > 1 else "GFP_KERNEL", result.order)
        elif verb == "free":
            machine.free_pages(_number(args[0], op), _number(args[1], op))
            result.detail = "freed"
        elif verb == "compact":
            outcomes = machine.compact(args[0] if args else None)
            result.detail = "; ".join(outcome.summary() for outcome in outcomes)
        else:
            machine.reset()
            result.detail = "rebooted"
    except KernelMemError as error:
        result.error = str(error)
    return result
