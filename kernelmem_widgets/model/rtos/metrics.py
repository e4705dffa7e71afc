"""Run a request trace against an allocator and measure it: served, failed, waste, fragmentation, steps.

The figures, per allocator:

* **served / failed, first failure**: a request the allocator refuses (malloc returns NULL) is a
  failure; the trace's later free of it is skipped, as the library would skip it;
* **internal waste**: RAM reserved by the live allocations minus the bytes they asked for (headers,
  rounding to a block or chunk size);
* **external fragmentation**: ``1 - largest free block / free bytes``;
* **worst-case steps per call**: free-list chunks walked, bitmap searches, list operations - the
  bound an RTOS cares about, where an average hides the call that misses its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .allocator import Allocator
from .os_err import AllocFailed
from .traces import RequestTrace

__all__ = ["TraceRun", "run_trace", "TraceStepper"]


@dataclass
class TraceRun:
    """What one allocator did with one trace (arrays have one entry per operation played)."""

    allocator: str
    trace: str
    served: int = 0
    failed: int = 0
    first_failure: tuple[int, int, str] | None = None   # (operation index, size, reason)
    free_bytes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    largest_free: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    waste: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    worst_malloc_steps: int = 0
    worst_free_steps: int = 0
    #: ``{request size: [reserved bytes of each served request of that size]}``
    reserved_by_size: dict[int, list[int]] = field(default_factory=dict)

    @property
    def peak_waste(self) -> int:
        return int(self.waste.max(initial=0))

    @property
    def worst_fragmentation(self) -> float:
        free = np.maximum(self.free_bytes, 1)
        return float((1 - self.largest_free / free).max(initial=0.0))

    def summary(self) -> str:
        """One line a student reads."""
        first = "no failure" if self.first_failure is None else (
            f"first failure at operation {self.first_failure[0]} (malloc({self.first_failure[1]}): {self.first_failure[2]})")
        return (f"{self.allocator}: {self.served} served, {self.failed} failed, {first}; peak internal waste "
                f"{self.peak_waste:,} B; worst external fragmentation {self.worst_fragmentation:.2f}; worst steps "
                f"malloc {self.worst_malloc_steps}, free {self.worst_free_steps}")


class TraceStepper:
    """Play a trace one operation at a time (the lab's *step* button); ``run_trace`` plays it all."""

    def __init__(self, allocator: Allocator, trace: RequestTrace, *, record: bool = True) -> None:
        self.allocator, self.trace, self.record = allocator, trace, record
        self.position = 0
        self.pointers: dict[int, int] = {}
        self._result = TraceRun(allocator.name, trace.name)
        self._free, self._largest, self._waste = [], [], []
        self._stale = False

    @property
    def result(self) -> TraceRun:
        """The figures so far (timelines turned into arrays once per read, not once per step)."""
        if self._stale:
            result = self._result
            result.free_bytes = np.array(self._free, dtype=np.int64)
            result.largest_free = np.array(self._largest, dtype=np.int64)
            result.waste = np.array(self._waste, dtype=np.int64)
            self._stale = False
        return self._result

    @property
    def done(self) -> bool:
        return self.position >= len(self.trace.ops)

    def step(self) -> str:
        """Play the next operation; returns what happened in words."""
        op, ident, size = self.trace.ops[self.position]
        heap, result = self.allocator, self._result
        index = self.position
        self.position += 1
        if op == "malloc":
            try:
                ptr = heap.malloc(size)
            except AllocFailed as error:
                result.failed += 1
                if result.first_failure is None:
                    result.first_failure = (index, size, error.reason)
                text = f"#{index} malloc({size}) [id {ident}] failed: {error}"
            else:
                self.pointers[ident] = ptr
                result.served += 1
                result.worst_malloc_steps = max(result.worst_malloc_steps, heap.last_steps)
                result.reserved_by_size.setdefault(size, []).append(heap.footprint(ptr))
                text = f"#{index} malloc({size}) [id {ident}] = {ptr:#x}"
        else:
            ptr = self.pointers.pop(ident, None)
            if ptr is None:
                text = f"#{index} free [id {ident}] skipped: its malloc failed"
            else:
                heap.free(ptr)
                result.worst_free_steps = max(result.worst_free_steps, heap.last_steps)
                text = f"#{index} free({ptr:#x}) [id {ident}]"
        if self.record:
            self._free.append(heap.free_bytes())
            self._largest.append(heap.largest_free())
            self._waste.append(heap.internal_waste())
            self._stale = True
        return text

    def run(self) -> TraceRun:
        while not self.done:
            self.step()
        return self.result


def run_trace(allocator: Allocator, trace: RequestTrace, *, record: bool = True) -> TraceRun:
    """Play every operation of ``trace`` on ``allocator``; ``record=False`` skips the timelines (faster).

    Examples
    --------
    >>> from kernelmem_widgets.model.rtos import Ram, PartitionMalloc, parse_trace
    >>> run = run_trace(PartitionMalloc(Ram(size=1024), "32x4, 128x2"), parse_trace("+20, +100, +100, +100, -0"))
    >>> run.served, run.failed, run.first_failure
    (3, 1, (3, 100, 'pool-128 has no free block'))
    """
    stepper = TraceStepper(allocator, trace, record=record)
    return stepper.run()
