"""uC/OS-III partition get/put throughput, and a 100,000-request trace on each allocator.

Run with ``make bench`` or ``python benchmarks/bench_rtos.py``.  Prints figures; asserts nothing.
DESIGN.md's budget: >= 1 million partition get/put operations per second.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelmem_widgets.model.rtos import (NanoMalloc, PartitionMalloc, Ram, Tlsf, protocol_stack_trace,  # noqa: E402
                                          run_trace, tune_partitions)
from kernelmem_widgets.model.rtos.os_mem import MemPartition  # noqa: E402

PAIRS = 1_000_000
REQUESTS = 100_000


def partition_pairs(pairs: int = PAIRS, held: int = 32) -> float:
    """Keep ``held`` blocks out, then ``pairs`` times: get one, put the oldest back. Returns ops/s."""
    part = MemPartition(0x2000_0000, 64, 32)
    out = [part.get() for _ in range(held)]
    get, put = part.get, part.put
    start = time.perf_counter()
    for i in range(pairs):
        block = get()
        put(out[i % held])
        out[i % held] = block
    elapsed = time.perf_counter() - start
    part.check_invariants()
    return 2 * pairs / elapsed


def trace_runs(requests: int = REQUESTS) -> None:
    trace = protocol_stack_trace(requests, seed=1)
    tuned = tune_partitions(trace, 64 * 1024)
    ram_bytes = max(64 * 1024, tuned.ram_bytes + 64)
    print(f"  trace: {trace.name}, {requests:,} requests ({len(trace):,} operations), peak live "
          f"{trace.peak_live_bytes():,} B; RAM {ram_bytes:,} B; tuned partitions {tuned.spec}")
    makers = {"partitions (tuned)": lambda: PartitionMalloc(Ram(size=ram_bytes), list(tuned.classes)),
              "newlib-nano": lambda: NanoMalloc(Ram(size=ram_bytes)),
              "TLSF": lambda: Tlsf(Ram(size=ram_bytes))}
    for name, make in makers.items():
        heap = make()
        start = time.perf_counter()
        run = run_trace(heap, trace, record=False)
        elapsed = time.perf_counter() - start
        print(f"  {name:<19} {len(trace) / elapsed:>10,.0f} ops/s ({elapsed:.2f} s): {run.served:,} served, "
              f"{run.failed} failed, worst steps malloc {run.worst_malloc_steps}, free {run.worst_free_steps}")


def main() -> None:
    print("uC/OS-III partitions (os_mem.c V3.08.02 model)")
    rates = [partition_pairs() for _ in range(3)]
    print(f"  {PAIRS:,} OSMemGet+OSMemPut pairs: best {max(rates):,.0f} ops/s, worst {min(rates):,.0f} ops/s "
          f"(budget >= 1,000,000 ops/s)")
    trace_runs()


if __name__ == "__main__":
    main()
