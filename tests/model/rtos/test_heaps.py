"""The partition malloc wrapper, newlib-nano and TLSF: hand-worked placements on a simulated RAM."""

import pytest

from kernelmem_widgets.model.rtos import (AllocFailed, InvalidFree, NanoMalloc, PartitionMalloc, Ram,
                                          RtosArgumentError, RtosError, Tlsf, nano_alloc_size, parse_classes,
                                          tlsf_constants)

BASE = 0x2000_0000


# ---------------------------------------------------------------- the partition wrapper
def test_wrapper_layout_and_header_word():
    ram = Ram(BASE, 2048)
    heap = PartitionMalloc(ram, "32x4, 128x2")
    small, large = heap.partitions
    assert heap.mcb_area == (BASE, 40)                       # two OS_MEM of 20 bytes
    assert (small.addr_ptr, large.addr_ptr) == (BASE + 40, BASE + 40 + 128)
    p = heap.malloc(20)                                       # 20 + 4 = 24 <= 32
    assert p == BASE + 44 and ram.read_ptr(p - 4) == small.mcb_addr == BASE
    assert heap.partition_of(heap.malloc(28)) is small        # 28 + 4 = 32: still the small class
    q = heap.malloc(29)                                       # 33 bytes: the 128-byte class
    assert heap.partition_of(q) is large and heap.footprint(q) == 128
    assert heap.internal_waste() == (32 - 20) + (32 - 28) + (128 - 29)
    heap.free(p)
    assert ram.read_ptr(p - 4) == BASE + 40 + 64              # the header word is now the free-list link
    assert small.free_list()[0] == p - 4                      # LIFO: the next small malloc reuses it
    assert heap.malloc(1) == p
    heap.check_invariants()


def test_wrapper_failures_say_why():
    heap = PartitionMalloc(Ram(BASE, 1024), [(32, 2), (64, 2)])
    with pytest.raises(AllocFailed, match="exceed the largest block"):
        heap.malloc(61)
    heap.malloc(50)
    heap.malloc(50)
    with pytest.raises(AllocFailed) as info:
        heap.malloc(50)
    assert info.value.reason == "pool-64 has no free block" and "OS_ERR_MEM_NO_FREE_BLKS" in str(info.value)
    spill = PartitionMalloc(Ram(BASE, 1024), [(32, 2), (64, 2)], spill=True)
    spill.malloc(4), spill.malloc(4)
    assert spill.partition_of(spill.malloc(4)).blk_size == 64


def test_wrapper_calloc_zeroes_and_checks_overflow():
    ram = Ram(BASE, 1024)
    heap = PartitionMalloc(ram, [(64, 2), (128, 2)])
    ram.fill(BASE, 1024, 0xEE)
    heap = PartitionMalloc(ram, [(64, 2), (128, 2)])
    p = heap.calloc(10, 5)
    assert ram.read_bytes(p, 50) == bytes(50)
    with pytest.raises(AllocFailed, match="overflows"):
        heap.calloc(1 << 20, 1 << 20)


def test_wrapper_double_free():
    heap = PartitionMalloc(Ram(BASE, 1024), [(32, 3)])
    a, b = heap.malloc(8), heap.malloc(8)
    heap.free(a)
    heap.free(b)
    # b's first word is now the link to a: a block address, not an OS_MEM
    with pytest.raises(InvalidFree, match="no partition's OS_MEM"):
        heap.free(b)
    c = heap.malloc(8)
    heap.free(c)  # c is b again (LIFO); its link is a's address
    heap2 = PartitionMalloc(Ram(BASE, 1024), [(32, 2)])
    x, _y = heap2.malloc(8), heap2.malloc(8)
    heap2.free(x)                    # the partition was empty: x's link is NULL
    with pytest.raises(RtosError, match="OS_ERR_MEM_INVALID_P_MEM"):
        heap2.free(x)


@pytest.mark.parametrize("classes", ["32", "32x", "axb", "", [(4, 2)], [(32, 2), (32, 3)], [(32, 1)], [(30, 2)]])
def test_wrapper_bad_classes(classes):
    with pytest.raises((RtosArgumentError, RtosError)):
        PartitionMalloc(Ram(BASE, 1024), classes)


def test_wrapper_too_big_for_ram():
    with pytest.raises(RtosArgumentError, match="the RAM ends"):
        PartitionMalloc(Ram(BASE, 256), [(64, 4)])
    assert parse_classes("16x2; 32X3") == [(16, 2), (32, 3)]


# ---------------------------------------------------------------- newlib-nano
def test_nano_hand_worked_trace():
    ram = Ram(BASE, 256)
    heap = NanoMalloc(ram)
    a = heap.malloc(20)
    assert a == BASE + 8 and heap.footprint(a) == 28 and ram.read_long(BASE + 4) == -4  # padding offset
    b = heap.malloc(100)
    assert b == BASE + 0x20 and heap.footprint(b) == 108
    c = heap.malloc(4)
    assert c == BASE + 0x90 and heap.brk == BASE + 0x94
    heap.free(b)
    assert heap.free_list() == [(BASE + 0x1C, 108)]
    d = heap.malloc(20)                  # first fit splits off the TAIL of the free chunk
    assert d == BASE + 0x70 and heap.free_list() == [(BASE + 0x1C, 80)]
    heap.free(a)                         # merges with the free chunk just after it
    assert heap.free_list() == [(BASE, 108)]
    heap.free(d)
    heap.free(c)
    assert heap.free_list() == [(BASE, 0x94)] and heap.last_steps == 1
    heap.check_invariants()


def test_nano_sizes_and_exhaustion():
    assert [nano_alloc_size(s) for s in (0, 1, 8, 9, 800)] == [12, 12, 16, 20, 808]
    heap = NanoMalloc(Ram(BASE, 64))
    heap.malloc(40)                       # 48 bytes
    before = (bytes(heap.ram.mem), heap.brk)
    with pytest.raises(AllocFailed, match="ENOMEM"):
        heap.malloc(20)
    assert (bytes(heap.ram.mem), heap.brk) == before
    assert heap.max_request() == 8
    with pytest.raises(InvalidFree):
        heap.free(BASE + 4)


def test_nano_free_walks_the_list():
    heap = NanoMalloc(Ram(BASE, 4096))
    ptrs = [heap.malloc(8) for _ in range(20)]
    for ptr in ptrs[::2]:
        heap.free(ptr)                    # 10 separate free chunks
    heap.free(ptrs[-1])                   # the last chunk: walk past all ten
    assert heap.last_steps == 10
    heap.malloc(100)                      # fits none of the 16-byte holes: walk them all, then sbrk
    assert heap.last_steps == 10
    heap.check_invariants()


# ---------------------------------------------------------------- TLSF
def test_tlsf_constants_of_tlsf_c():
    c = tlsf_constants(4)
    assert (c["SL_INDEX_COUNT"], c["FL_INDEX_SHIFT"], c["FL_INDEX_COUNT"], c["SMALL_BLOCK_SIZE"]) == (32, 7, 24, 128)
    assert c["tlsf_size"] == 16 + 4 + 24 * 4 + 24 * 32 * 4
    assert tlsf_constants(4, 4)["SMALL_BLOCK_SIZE"] == 64


def test_tlsf_mapping():
    heap = Tlsf(Ram(BASE, 8192))
    assert heap.mapping_insert(20) == (0, 5)
    assert heap.mapping_insert(900) == (3, 24)
    assert heap.mapping_search(200) == (1, 18)     # rounded up to 203: the next second-level class
    assert heap.mapping_insert(203) == (1, 18) and heap.mapping_insert(200) == (1, 18)


def test_tlsf_hand_worked_trace():
    ram = Ram(BASE, 4096)
    heap = Tlsf(ram)
    b0 = heap.pool - 4
    assert heap.physical_blocks() == [(b0, 900, True)]
    a = heap.malloc(20)
    assert a == b0 + 8 and heap.physical_blocks() == [(b0, 20, False), (b0 + 24, 876, True)]
    b = heap.malloc(200)
    assert b == b0 + 24 + 8 and heap.physical_blocks()[-1] == (b0 + 24 + 204, 672, True)
    heap.free(a)
    assert heap.blocks[0][5] == b0 and heap.sl_bitmap[0] == 1 << 5
    c = heap.malloc(16)                   # the 20-byte block is too small to split: taken whole
    assert c == a and heap.footprint(c) == 24
    heap.free(b)                          # merges with the free block after it
    assert heap.physical_blocks()[1:] == [(b0 + 24, 876, True)]
    heap.free(c)
    assert heap.physical_blocks() == [(b0, 900, True)] and heap.last_steps == 2  # merge next + insert
    heap.check_invariants()


def test_tlsf_steps_are_bounded_and_zero_fails():
    heap = Tlsf(Ram(BASE, 16384))
    with pytest.raises(AllocFailed, match="NULL"):
        heap.malloc(0)
    ptrs = [heap.malloc(8) for _ in range(200)]
    for ptr in ptrs[::2]:
        heap.free(ptr)
    heap.malloc(500)
    assert heap.max_steps["malloc"] <= 3 and heap.max_steps["free"] <= 3


def test_tlsf_search_rounds_up_so_the_largest_block_may_not_serve_its_own_size():
    heap = Tlsf(Ram(BASE, 4096))
    (_, size, _), = heap.physical_blocks()
    assert size == 900 and heap.max_request() < 900
    with pytest.raises(AllocFailed):
        heap.malloc(900)
    heap.malloc(heap.max_request())


def test_tlsf_too_small_pool():
    with pytest.raises(RtosArgumentError, match="tlsf_add_pool"):
        Tlsf(Ram(BASE, 3200))
    with pytest.raises(RtosArgumentError, match="aligned"):
        Tlsf(Ram(BASE, 8192), start=BASE + 2)
