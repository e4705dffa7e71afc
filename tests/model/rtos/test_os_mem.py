"""OSMemCreate/OSMemGet/OSMemPut as Source/os_mem.c of uC/OS-III V3.08.02 does them, byte for byte."""

import doctest
import struct

import numpy as np
import pytest

from kernelmem_widgets.model.errors import KernelMemError
from kernelmem_widgets.model.rtos import (OS_ERR, HardFault, HeapCorrupted, MemPartition, Ram, RtosArgumentError,
                                          RtosError, os_mem_sizeof)
import kernelmem_widgets.model.rtos as rtos

BASE = 0x2000_0000


def test_error_numbers_are_those_of_os_h():
    assert OS_ERR["OS_ERR_MEM_INVALID_BLKS"] == 22204
    assert OS_ERR["OS_ERR_MEM_NO_FREE_BLKS"] == 22210
    assert OS_ERR["OS_ERR_MEM_FULL"] == 22202
    assert OS_ERR["OS_ERR_MEM_INVALID_P_BLK"] == 22206
    assert OS_ERR["OS_ERR_MEM_INVALID_P_ADDR"] == 22203
    assert OS_ERR["OS_ERR_MEM_INVALID_SIZE"] == 22209
    assert OS_ERR["OS_ERR_MEM_CREATE_ISR"] == 22201
    assert issubclass(RtosError, KernelMemError)


def test_create_threads_the_free_list_through_the_blocks_little_endian():
    ram = Ram(BASE, 64)
    part = MemPartition(BASE, 4, 16, ram=ram, name="p16")
    assert part.nbr_free == part.nbr_max == 4 and part.free_list_ptr == BASE
    assert ram.read_bytes(BASE, 4) == bytes([0x10, 0x00, 0x00, 0x20])  # next = 0x20000010, little-endian
    assert [ram.read_ptr(BASE + 16 * i) for i in range(4)] == [BASE + 16, BASE + 32, BASE + 48, 0]
    assert part.free_list() == [BASE, BASE + 16, BASE + 32, BASE + 48]
    part.check_invariants()


def test_64_bit_pointers():
    ram = Ram(BASE, 96, ptr_size=8)
    part = MemPartition(BASE, 3, 32, ram=ram)
    assert struct.unpack_from("<Q", ram.mem, 0)[0] == BASE + 32
    assert part.free_list() == [BASE, BASE + 32, BASE + 64]
    with pytest.raises(RtosError, match="OS_ERR_MEM_INVALID_SIZE"):
        MemPartition(BASE, 3, 12, ram=ram)  # a multiple of 4, not of 8


def test_get_pops_in_address_order_and_put_is_lifo():
    part = MemPartition(BASE, 4, 16)
    a, b, c = part.get(), part.get(), part.get()
    assert (a, b, c) == (BASE, BASE + 16, BASE + 32) and part.nbr_free == 1
    part.put(a)
    part.put(c)
    assert part.free_list() == [c, a, BASE + 48]
    assert part.ram.read_ptr(c) == a and part.ram.read_ptr(a) == BASE + 48
    assert part.get() == c and part.get() == a and part.get() == BASE + 48
    with pytest.raises(RtosError) as info:
        part.get()
    assert (info.value.code, info.value.value) == ("OS_ERR_MEM_NO_FREE_BLKS", 22210)
    assert part.free_list_ptr == 0 and part.nbr_free == 0
    part.check_invariants()


@pytest.mark.parametrize("args, kwargs, code", [
    ((BASE, 4, 16), {"safety_critical_started": True}, "OS_ERR_ILLEGAL_CREATE_RUN_TIME"),
    ((0, 1, 2), {"in_isr": True}, "OS_ERR_MEM_CREATE_ISR"),            # the ISR check comes before the arguments
    ((0, 1, 2), {}, "OS_ERR_MEM_INVALID_P_ADDR"),                       # NULL first ...
    ((BASE + 2, 1, 2), {}, "OS_ERR_MEM_INVALID_BLKS"),                  # ... then fewer than 2 blocks ...
    ((BASE + 2, 0, 2), {}, "OS_ERR_MEM_INVALID_BLKS"),
    ((BASE + 2, 2, 2), {}, "OS_ERR_MEM_INVALID_SIZE"),                  # ... then smaller than a pointer ...
    ((BASE + 2, 2, 6), {}, "OS_ERR_MEM_INVALID_P_ADDR"),                # ... then misaligned address ...
    ((BASE, 2, 6), {}, "OS_ERR_MEM_INVALID_SIZE"),                      # ... then not a multiple of the pointer
])
def test_create_checks_in_source_order(args, kwargs, code):
    with pytest.raises(RtosError) as info:
        MemPartition(*args, **kwargs)
    assert info.value.code == code and info.value.value == OS_ERR[code]


def test_create_errors_write_nothing():
    ram = Ram(BASE, 64)
    ram.fill(BASE, 64, 0xAA)
    for bad in ((BASE, 1, 16), (BASE, 4, 6), (BASE, 5, 16)):
        with pytest.raises(KernelMemError):
            MemPartition(*bad, ram=ram)
    assert ram.read_bytes(BASE, 64) == b"\xaa" * 64


@pytest.mark.parametrize("n_blks, blk_size", [(-1, 16), (65536, 16), (4, 65536), (4, -16), (2.0, 16), (True, 16),
                                              (4, "16")])
def test_values_no_16_bit_c_argument_can_hold(n_blks, blk_size):
    with pytest.raises(RtosArgumentError):
        MemPartition(BASE, n_blks, blk_size)


def test_numpy_integers_are_integers():
    part = MemPartition(np.uint32(BASE), np.int64(3), np.uint16(8))
    assert part.nbr_max == 3 and part.blk_size == 8


def test_storage_outside_the_ram_is_refused():
    with pytest.raises(RtosArgumentError, match="not inside the RAM"):
        MemPartition(BASE + 48, 2, 16, ram=Ram(BASE, 64))


def test_put_errors():
    part = MemPartition(BASE, 2, 8)
    with pytest.raises(RtosError, match="OS_ERR_MEM_INVALID_P_BLK"):
        part.put(0)
    with pytest.raises(RtosError) as info:
        part.put(BASE)  # nothing handed out: NbrFree == NbrMax
    assert info.value.code == "OS_ERR_MEM_FULL" and info.value.value == 22202
    part.get()
    with pytest.raises(RtosArgumentError):
        part.put(BASE + 4096)  # no RAM there
    with pytest.raises(RtosArgumentError):
        part.put(True)
    assert part.nbr_free == 1 and part.misuse == []


def test_double_put_below_nbrmax_succeeds_and_makes_a_cycle():
    part = MemPartition(BASE, 3, 16)
    a = part.get()
    b = part.get()
    part.put(a)
    part.put(a)  # os_mem.c: NbrFree (2) < NbrMax (3), so it is accepted
    assert part.nbr_free == 3 and part.ram.read_ptr(a) == a
    assert "double put" in part.misuse[0]
    with pytest.raises(HeapCorrupted, match="cycle"):
        part.check_invariants()
    assert part.get() == a and part.get() == a  # the same block handed out twice
    assert "held twice" in part.misuse[-1]
    assert b in part.held


def test_foreign_and_misaligned_puts_are_accepted_and_named():
    ram = Ram(BASE, 256)
    small = MemPartition(BASE, 4, 16, ram=ram, name="small")
    big = MemPartition(BASE + 64, 2, 64, ram=ram, name="big")
    small.get()
    x = big.get()
    small.put(x)
    assert small.free_list()[0] == x and "foreign block" in small.misuse[0]
    with pytest.raises(HeapCorrupted, match="foreign memory"):
        small.check_invariants()
    small.get()
    small.get()
    small.put(BASE + 20)
    assert "4 bytes into block 1" in small.misuse[-1]
    with pytest.raises(HeapCorrupted, match="not a block boundary"):
        small.check_invariants()


def test_strict_refuses_and_changes_nothing():
    part = MemPartition(BASE, 3, 16, strict=True)
    a = part.get()
    before = (bytes(part.ram.mem), part.free_list_ptr, part.nbr_free)
    for bad in (BASE + 16, BASE + 4, BASE + 48 - 4):
        with pytest.raises(RtosError) as info:
            part.put(bad)
        assert info.value.code == "OS_ERR_MEM_INVALID_P_BLK"
    assert (bytes(part.ram.mem), part.free_list_ptr, part.nbr_free) == before
    part.put(a)
    part.check_invariants()


def test_a_corrupted_head_outside_ram_faults_before_changing_anything():
    part = MemPartition(BASE, 3, 8)
    part.ram.write_ptr(BASE, 0x4000_0000)  # a stray write into a free block overwrote its link
    assert part.get() == BASE and part.free_list_ptr == 0x4000_0000
    with pytest.raises(HardFault, match="outside the RAM"):
        part.get()
    assert part.nbr_free == 2 and part.free_list_ptr == 0x4000_0000
    with pytest.raises(HeapCorrupted, match="outside the RAM"):
        part.check_invariants()


def test_control_block_mirror():
    ram = Ram(BASE, 128)
    part = MemPartition(BASE + 32, 2, 16, ram=ram, mcb_addr=BASE)
    assert os_mem_sizeof(4) == 20
    assert ram.read_bytes(BASE, 4) == b"MEM "
    part.get()
    assert ram.read_ptr(BASE + 8) == BASE + 48  # FreeListPtr
    assert struct.unpack_from("<3H", ram.mem, 12) == (16, 2, 1)  # BlkSize, NbrMax, NbrFree


def test_events_on_the_ram_bus():
    part = MemPartition(BASE, 2, 8)
    seen = []
    part.ram.bus.subscribe(lambda event: seen.append((event.kind, event.data.get("addr"))))
    a = part.get()
    part.put(a)
    assert seen == [("os_mem_get", BASE), ("os_mem_put", BASE)]


@pytest.mark.parametrize("module", [m for m in vars(rtos).values() if getattr(m, "__name__", "").startswith(
    "kernelmem_widgets.model.rtos.") and hasattr(m, "__file__")], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0
