"""Choose partition block sizes and counts for a request trace: the least RAM with no failure.

Every request of ``size`` bytes needs a block of at least ``size + header`` bytes, rounded to the
pointer alignment.  With classes at block sizes ``b_1 < ... < b_k`` (``b_k`` at least the largest
need), each request goes to the smallest class that holds it, and a class needs as many blocks
as the most requests of its range that are ever live at once (at least 2: ``OSMemCreate``
refuses fewer).  The RAM is ``sum(b_i * n_i)`` plus one ``OS_MEM`` per class; the tuner finds the
boundaries that minimise it by dynamic programming over the distinct needs of the trace, using
the exact peak of concurrently live requests of every size range.  Replaying the trace on a
:class:`PartitionMalloc` built from the result gives no failure (the tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .os_err import RtosArgumentError, check_int
from .os_mem import os_mem_sizeof
from .traces import RequestTrace

__all__ = ["TuneResult", "tune_partitions", "single_class"]


@dataclass(frozen=True)
class TuneResult:
    """The chosen classes and what they cost."""

    classes: tuple[tuple[int, int], ...]   # (blk_size, n_blks), smallest first
    ram_bytes: int                         # blocks plus control blocks
    budget: int
    peak_requested: int                    # most requested bytes live at once in the trace
    feasible: bool                         # ram_bytes <= budget

    @property
    def spec(self) -> str:
        """The classes as ``PartitionMalloc`` text: ``"32x20, 128x8"``."""
        return ", ".join(f"{blk}x{count}" for blk, count in self.classes)

    def describe(self) -> str:
        verdict = "fits" if self.feasible else "does NOT fit"
        return (f"{self.spec}: {self.ram_bytes:,} bytes of RAM ({verdict} the budget of {self.budget:,}); the trace "
                f"holds at most {self.peak_requested:,} requested bytes at once, so "
                f"{self.ram_bytes - self.peak_requested:,} bytes go to headers, rounding and idle blocks")


def _needs(trace: RequestTrace, header_size: int, align: int) -> tuple[np.ndarray, list[int]]:
    sizes = trace.sizes()
    needs = ((np.maximum(sizes, 1) + header_size + align - 1) // align) * align
    return np.unique(needs), needs.tolist()


def _live_counts(trace: RequestTrace, need_of: list[int], values: np.ndarray) -> np.ndarray:
    """``C[t, j]``: requests with need <= values[j] live just after the t-th malloc (cumulative over j)."""
    index = {int(v): j for j, v in enumerate(values.tolist())}
    counts = np.zeros(len(values), dtype=np.int32)
    rows, by_id, alloc = [], {}, 0
    for op, ident, _size in trace.ops:
        if op == "malloc":
            j = index[need_of[alloc]]
            by_id[ident] = j
            counts[j] += 1
            alloc += 1
            rows.append(counts.copy())
        else:
            counts[by_id.pop(ident)] -= 1
    matrix = np.array(rows, dtype=np.int32).reshape(len(rows), len(values))
    return np.cumsum(matrix, axis=1)


def single_class(trace: RequestTrace, *, header_size: int = 4, ptr_size: int = 4) -> tuple[int, int]:
    """The one-partition answer: every block as large as the largest need, as many as are ever live."""
    align = max(ptr_size, header_size if header_size in (8, 16) else ptr_size)
    values, _ = _needs(trace, header_size, align)
    return int(values[-1]), max(trace.peak_live_count(), 2)


def tune_partitions(trace: RequestTrace, ram_budget: int, *, max_classes: int = 3, header_size: int = 4,
                    ptr_size: int = 4) -> TuneResult:
    """The classes (at most ``max_classes``) that serve ``trace`` with no failure in the least RAM.

    Examples
    --------
    >>> from kernelmem_widgets.model.rtos import parse_trace
    >>> result = tune_partitions(parse_trace("+20, +20, +20, +100, -0, -1, -2, -3"), 4096, max_classes=2)
    >>> result.spec, result.ram_bytes
    ('24x3, 104x2', 320)
    """
    if not isinstance(trace, RequestTrace):
        raise RtosArgumentError(f"trace must be a RequestTrace, not {type(trace).__name__}")
    ram_budget = check_int(ram_budget, "ram_budget", minimum=0, accepted="bytes of RAM")
    max_classes = check_int(max_classes, "max_classes", minimum=1, maximum=16, accepted="1..16 partitions")
    header_size = check_int(header_size, "header_size", minimum=ptr_size, maximum=64)
    if not trace.sizes().size:
        raise RtosArgumentError("the trace makes no allocation: nothing to size")
    align = max(ptr_size, header_size if header_size in (8, 16) else ptr_size)
    values, need_of = _needs(trace, header_size, align)
    cumulative = _live_counts(trace, need_of, values)
    d = len(values)
    # peak[i + 1, j]: most live requests with need in (values[i], values[j]]; row 0 is "from the start"
    padded = np.concatenate([np.zeros((cumulative.shape[0], 1), dtype=np.int32), cumulative], axis=1)
    peak = np.zeros((d + 1, d), dtype=np.int64)
    for i in range(d):
        peak[i, i:] = (padded[:, i + 1:] - padded[:, i:i + 1]).max(axis=0)
    mcb = os_mem_sizeof(ptr_size)
    cost = np.where(peak > 0, np.maximum(peak, 2), 0) * values[None, :] + mcb  # class ending at values[j]
    inf = np.iinfo(np.int64).max // 4
    best = np.full((max_classes + 1, d + 1), inf, dtype=np.int64)   # best[k, j + 1]: needs <= values[j], k classes
    choice = np.zeros((max_classes + 1, d + 1), dtype=np.int64)
    best[0, 0] = 0
    for k in range(1, max_classes + 1):
        for j in range(d):
            options = best[k - 1, :j + 1] + cost[:j + 1, j]
            i = int(np.argmin(options))
            best[k, j + 1], choice[k, j + 1] = options[i], i
    k = int(np.argmin(best[1:, d])) + 1
    classes, j = [], d
    while k > 0:
        i = int(choice[k, j])
        count = int(peak[i, j - 1])
        classes.append((int(values[j - 1]), max(count, 2)))
        j, k = i, k - 1
    classes = tuple(sorted(c for c in classes))
    ram = sum(blk * count for blk, count in classes) + mcb * len(classes)
    return TuneResult(classes, ram, ram_budget, trace.peak_live_bytes(), ram <= ram_budget)
