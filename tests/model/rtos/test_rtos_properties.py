"""Property tests: random malloc/free sequences on every allocator, invariants after every step."""

import numpy as np
from hypothesis import given, settings, strategies as st

from kernelmem_widgets.model.rtos import (AllocFailed, MemPartition, NanoMalloc, PartitionMalloc, Ram, RtosError,
                                          Tlsf)

BASE = 0x2000_0000
ops = st.lists(st.tuples(st.booleans(), st.integers(0, 800), st.integers(0, 10_000)), max_size=120)


def make(kind, ptr_size):
    ram = Ram(BASE, 12 * 1024, ptr_size=ptr_size)
    if kind == "partitions":
        return PartitionMalloc(ram, [(64, 24), (256, 12), (832, 6)])
    return NanoMalloc(ram) if kind == "nano" else Tlsf(ram)


def total_bytes(heap):
    if isinstance(heap, PartitionMalloc):
        return sum(p.blk_size * p.nbr_max for p in heap.partitions)
    if isinstance(heap, NanoMalloc):
        return heap.limit - heap.start
    return heap.pool_bytes + heap.ram.ptr_size


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["partitions", "nano", "tlsf"]), ptr_size=st.sampled_from([4, 8]), program=ops)
def test_allocators_conserve_bytes_and_never_hand_out_a_byte_twice(kind, ptr_size, program):
    heap = make(kind, ptr_size)
    live = []
    for is_malloc, size, pick in program:
        if is_malloc or not live:
            try:
                ptr = heap.malloc(size)
            except AllocFailed:
                continue
            live.append(ptr)
            assert ptr % (8 if kind == "nano" else ptr_size) == 0 or kind == "partitions"
        else:
            heap.free(live.pop(pick % len(live)))
        heap.check_invariants()
        assert heap.free_bytes() + heap.reserved_bytes() == total_bytes(heap)
        spans = sorted((ptr, ptr + heap.live[ptr]) for ptr in heap.live)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    for ptr in live:
        heap.free(ptr)
    heap.check_invariants()
    if kind == "tlsf":
        assert [size for _, size, _ in heap.physical_blocks()] == [heap.pool_bytes]  # all merged back
    if kind == "nano":
        assert len(heap.free_list()) <= 1  # every freed neighbour merged


@settings(max_examples=40, deadline=None)
@given(n_blks=st.integers(2, 40), words=st.integers(1, 8), program=st.lists(st.integers(0, 1000), max_size=150))
def test_partition_conserves_blocks_and_is_lifo(n_blks, words, program):
    part = MemPartition(BASE, n_blks, 4 * words)
    held = []
    for pick in program:
        if pick % 2 and held:
            blk = held.pop(pick % len(held))
            part.put(blk)
            assert part.free_list()[0] == blk
            following = part.get()
            assert following == blk  # the block just put back is the next one handed out
            part.put(following)
        else:
            try:
                held.append(part.get())
            except RtosError as error:
                assert error.code == "OS_ERR_MEM_NO_FREE_BLKS" and len(held) == n_blks
        part.check_invariants()
        assert len(set(held)) == len(held) and part.nbr_free + len(held) == n_blks
        assert sorted(part.free_list() + held) == part.blocks()
