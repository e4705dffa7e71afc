"""Chapter 4's exercises (ZONE_NORMAL and ZONE_HIGHMEM), checked against model/highmem.

Every answer is computed on a fresh machine of the model (Linux 2.6.35 i386 rules: MAXMEM from
VMALLOC_END and ``__VMALLOC_RESERVE``, the pkmap window of mm/highmem.c); nothing is stored on
the page.  ``check_N(answer=None, *, reveal=False)`` prints the verdict (or, with ``reveal``,
the answer and how the kernel gets it); ``answer_box(N)`` is the shared
:class:`~kernelmem_widgets.views.exercise.AnswerBox` bound to it.

1. LOWMEM of a 2 GiB machine with VMSPLIT_2G.
2. ``vmalloc=256M`` on a 2 GiB machine: VMALLOC_START and LOWMEM.
3. Which kmap() flushes the TLB: slots and flush count after a fixed sequence.
4. Why a 16 GiB PAE box runs short of lowmem: the flat ``mem_map`` of 32-byte struct pages.

Examples
--------
>>> solution_1()
1911
>>> [hex(v) if v > 10000 else v for v in solution_2()]
['0xef7fe000', 751]
>>> solution_3()
[0, 1, 2, 1]
"""

from __future__ import annotations

from ..model.machine import Machine

__all__ = ["solution_1", "check_1", "solution_2", "check_2", "solution_3", "check_3", "solution_4", "check_4",
           "answer_box", "EX3_KMAPS", "EX3_KUNMAPS", "EX3_MORE"]

_MiB = 1 << 20
PRESET = "linux-2.6.35-i386"
EX3_KMAPS, EX3_KUNMAPS, EX3_MORE = 1023, 10, 3
#: struct page on 2.6.3x i386 (32 bytes; the flat mem_map of model/boot's 2.6 build)
STRUCT_PAGE_2_6_I386 = 32


def report(number: int, answer, right: bool, hint: str) -> None:
    """The verdict line, as every chapter prints it (labs/exercises/_common.py)."""
    if answer is None:
        print(f"Exercise {number}: not answered yet - type your answer in the box and press Check (or Reveal).")
    elif right:
        print(f"Exercise {number}: right \N{HEAVY CHECK MARK}")
    else:
        print(f"Exercise {number}: not quite \N{HEAVY BALLOT X} - {hint}")


def ints(answer, count: int) -> list[int]:
    """``count`` integers from a list of ints or of text such as ``"0x10"``; ValueError otherwise."""
    if isinstance(answer, (int, float, str)):
        raise ValueError(f"give {count} numbers")
    values = [int(value, 0) if isinstance(value, str) else int(value) for value in answer]
    if len(values) != count:
        raise ValueError(f"give {count} numbers, not {len(values)}")
    return values


def _mb(value) -> int:
    """An answer in MB: a bare number is MB, a size such as 1911M (parsed to bytes) is converted."""
    value = int(value)
    return value >> 20 if value >= _MiB else value


# --- exercise 1
def solution_1() -> int:
    machine = Machine.preset(PRESET, ram="2G", cmdline="", vmsplit="2G")
    return machine.highmem_layout.max_low_pfn >> 8                     # pages_to_mb()


def check_1(answer=None, *, reveal=False) -> None:
    """LOWMEM, in MB, of the 2 GiB QEMU machine with VMSPLIT_2G (PAGE_OFFSET 0x80000000)."""
    expected = solution_1()
    if reveal:
        layout = Machine.preset(PRESET, ram="2G", cmdline="", vmsplit="2G").highmem_layout
        print(f"MAXMEM = VMALLOC_END {layout.vmalloc_end:#x} - PAGE_OFFSET {layout.page_offset:#x} - "
              f"__VMALLOC_RESERVE 128 MiB = {layout.maxmem:#x} ({layout.maxmem >> 20} MiB)")
        print(f"RAM ends at pfn {layout.max_pfn:#x} ({layout.max_pfn >> 8} MB), above MAXMEM, so "
              f"max_low_pfn = MAXMEM >> PAGE_SHIFT: '{expected}MB LOWMEM available.'")
        return
    try:
        right = answer is not None and _mb(answer) == expected
    except (TypeError, ValueError):
        right = False
    hint = "the split moves PAGE_OFFSET to 0x80000000, but VMALLOC_END and the 128 MiB reserve stay where they are"
    if answer is not None and not right:
        try:
            if _mb(answer) == 2047 or _mb(answer) == 2048:
                hint = "not all 2 GiB: the vmalloc area, pkmap window and fixmap still take the top 128 MiB and more"
            elif _mb(answer) in (887, 896):
                hint = "that is the 3G split; with 2G the kernel's window is 2 GiB long"
        except (TypeError, ValueError):
            hint = "give LOWMEM in MB, e.g. 900"
    report(1, answer, right, hint)


# --- exercise 2
def solution_2() -> list[int]:
    layout = Machine.preset(PRESET, ram="2G", cmdline="vmalloc=256M").highmem_layout
    return [layout.vmalloc_start, layout.max_low_pfn >> 8]


def check_2(answer=None, *, reveal=False) -> None:
    """``(VMALLOC_START, LOWMEM in MB)`` of the 2 GiB machine booted with ``vmalloc=256M``."""
    start, lowmem = solution_2()
    if reveal:
        layout = Machine.preset(PRESET, ram="2G", cmdline="vmalloc=256M").highmem_layout
        print("parse_vmalloc(): __VMALLOC_RESERVE = 256 MiB + VMALLOC_OFFSET 8 MiB = 264 MiB")
        print(f"MAXMEM = VMALLOC_END {layout.vmalloc_end:#x} - PAGE_OFFSET 0xc0000000 - 264 MiB = {layout.maxmem:#x}: "
              f"'{lowmem}MB LOWMEM available.', high_memory = {layout.high_memory:#x}")
        print(f"VMALLOC_START = high_memory + 8 MiB = {start:#x}; the area is exactly 256 MiB up to VMALLOC_END")
        return
    hint = "two values: the address, then MB of lowmem"
    right = False
    if answer is not None:
        try:
            given = ints(answer, 2)
            right = given[0] == start and _mb(given[1]) == lowmem
            if given[0] != start and _mb(given[1]) == lowmem:
                hint = "lowmem is right; VMALLOC_START is high_memory plus the 8 MiB guard hole"
            elif given[0] == start:
                hint = "the address is right; every MiB given to vmalloc= is taken from lowmem (plus the hole)"
        except (TypeError, ValueError) as error:
            hint = f"{error}; e.g. (0xf0000000, 800)"
    report(2, answer, right, hint)


# --- exercise 3
def solution_3() -> list[int]:
    machine = Machine.preset(PRESET, ram="2G", cmdline="")
    space = machine.kmap_space
    first = machine.highmem_layout.highstart_pfn
    pages = list(range(first, first + EX3_KMAPS + EX3_MORE))
    for pfn in pages[:EX3_KMAPS]:
        space.kmap(pfn)
    for pfn in pages[:EX3_KUNMAPS]:
        space.kunmap(pfn)
    slots = []
    for pfn in pages[EX3_KMAPS:]:
        space.kmap(pfn)
        slots.append(space.slot_of(pfn))
    return slots + [space.counters.tlb_flush_all]


def check_3(answer=None, *, reveal=False) -> None:
    """Slots of the three last kmaps, and the whole-window TLB flushes in total."""
    expected = solution_3()
    if reveal:
        print(f"kmap() of {EX3_KMAPS} pages takes slots 1..{EX3_KMAPS}: the search starts at last_pkmap_nr + 1 = 1")
        print(f"kunmap() of the first {EX3_KUNMAPS} drops their pkmap_count to 1: still mapped, not reusable")
        print(f"the next kmap() wraps to 0: flush_all_zero_pkmaps() clears slots 1..{EX3_KUNMAPS} and flushes the "
              f"whole window once, then takes slot {expected[0]}; the two after it get {expected[1]} and "
              f"{expected[2]}: {expected[3]} flush in all")
        return
    hint = "four numbers: three slots, then the count of whole-window TLB flushes"
    right = False
    if answer is not None:
        try:
            given = ints(answer, 4)
            right = given == expected
            if given[:3] == expected[:3]:
                hint = "the slots are right; count flush_all_zero_pkmaps() calls that unmapped something"
            elif given[0] == 1:
                hint = "slot 0 was never used: the first search started at 1, so after the wrap slot 0 is free"
        except (TypeError, ValueError) as error:
            hint = f"{error}; e.g. [5, 6, 7, 0]"
    report(3, answer, right, hint)


# --- exercise 4
def solution_4() -> list[int]:
    machine = Machine.preset(PRESET, ram="16G", cmdline="", pae=True)
    mem_map_mib = machine.highmem_layout.max_pfn * STRUCT_PAGE_2_6_I386 >> 20
    return [mem_map_mib, machine.highmem_layout.max_low_pfn >> 8]


def check_4(answer=None, *, reveal=False) -> None:
    """``(MiB of mem_map for 16 GiB, LOWMEM in MB)`` of a 2.6.35 PAE kernel."""
    mem_map, lowmem = solution_4()
    if reveal:
        print(f"16 GiB = {16 << 18:,} pages x {STRUCT_PAGE_2_6_I386} bytes of struct page = {mem_map} MiB, all of it "
              f"in lowmem (the kernel must reach it directly); PAE LOWMEM is {lowmem} MB, so {mem_map * 100 // lowmem}% "
              "is gone before the first allocation, and page tables, slab and buffer heads compete for the rest: "
              "GFP_KERNEL fails while gigabytes of HighMem are free")
        return
    hint = "two numbers: MiB of struct pages, then LOWMEM in MB"
    right = False
    if answer is not None:
        try:
            given = ints(answer, 2)
            right = _mb(given[0]) == mem_map and _mb(given[1]) == lowmem
            if _mb(given[0]) != mem_map:
                hint = f"count every page of 16 GiB, {STRUCT_PAGE_2_6_I386} bytes each"
            elif _mb(given[1]) != lowmem:
                hint = "PAE aligns the pkmap window to 2 MiB: lowmem grows by 2 MiB over the non-PAE 887 MB"
        except (TypeError, ValueError) as error:
            hint = f"{error}; e.g. (64, 900)"
    report(4, answer, right, hint)


_CHECKS = {1: check_1, 2: check_2, 3: check_3, 4: check_4}
_PLACEHOLDERS = {1: "LOWMEM in MB, e.g. 900", 2: "(VMALLOC_START, LOWMEM MB), e.g. (0xf0000000, 800)",
                 3: "three slots and the flushes, e.g. [5, 6, 7, 0]", 4: "(MiB of struct page, LOWMEM MB)"}


def answer_box(number: int):
    """Exercise ``number``'s answer box (text, Check, Reveal), bound to ``check_<number>``."""
    from ..views.exercise import AnswerBox

    return AnswerBox(_CHECKS[number], placeholder=_PLACEHOLDERS[number], number=number)
