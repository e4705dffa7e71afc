"""Chapter 3's exercises: each answer is computed by the model on a fresh machine, never stored.

``check_N(answer)`` prints whether an answer is right (with a hint on the usual mistake);
``check_N(reveal=True)`` prints the model's answer and how it got there; ``solution_N()``
returns it.  ``reveal_button(check)`` is the Reveal button a notebook shows under an exercise.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..model import Machine
from ..model.mmu.direct_map import build_direct_map
from ..model.mmu.mm import MmStruct
from ..model.mmu.set_memory import set_memory_ro
from ..model.mmu.tlb import GiB1, KiB4, MiB2

__all__ = ["reveal_button", "solution_1", "check_1", "solution_2", "check_2", "solution_3", "check_3",
           "solution_4", "check_4"]

MiB, GiB = 1 << 20, 1 << 30


def reveal_button(check) -> widgets.VBox:
    """A Reveal button: pressing it runs ``check(reveal=True)`` into the box below it."""
    output = widgets.Output()
    button = widgets.Button(description="Reveal", icon="eye", tooltip="show the model's answer")

    def on_click(_button):
        output.clear_output()
        with output:
            check(reveal=True)

    button.on_click(on_click)
    return widgets.VBox([button, output])


def _report(number: int, answer, right: bool, hint: str) -> None:
    if answer is None:
        print(f"Exercise {number}: not answered yet - set answer_{number} above and run the cell again "
              "(or press Reveal).")
    elif right:
        print(f"Exercise {number}: right \N{HEAVY CHECK MARK}")
    else:
        print(f"Exercise {number}: not quite \N{HEAVY BALLOT X} - {hint}")


def _ints(answer, count: int) -> tuple[int, ...]:
    values = tuple(int(value) for value in answer)
    if len(values) != count:
        raise ValueError
    return values


def _right(answer, expected) -> bool:
    try:
        return answer is not None and _ints(answer, len(expected)) == tuple(expected)
    except (TypeError, ValueError):
        return False


# --- 1: TLB entries to cover 100 MiB
def solution_1() -> tuple[int, int, int]:
    size = 100 * MiB
    return tuple(-(-size // page) for page in (KiB4, MiB2, GiB1))


def check_1(answer=None, *, reveal: bool = False) -> None:
    expected = solution_1()
    if reveal:
        for page, count in zip(("4 KiB", "2 MiB", "1 GiB"), expected):
            print(f"100 MiB in {page} pages: {count:,} translations, so {count:,} TLB entries to cover it at once")
        print("Skylake's STLB holds 1,536 of the 4 KiB or 2 MiB ones: 6 MiB of reach with 4 KiB pages, 3 GiB with 2 MiB.")
        return
    _report(1, answer, _right(answer, expected), "divide 100 MiB by each page size, rounding up (a part of a page "
                                                 "still needs a whole entry)")


# --- 2: faults for a fresh 1 MiB mmap, read then written
def solution_2() -> tuple[int, int]:
    mm = MmStruct(Machine.preset("linux-6.18-x86_64", ram="64M"), thp="never")
    addr = mm.mmap(MiB)
    reads = mm.touch_range(addr, MiB)
    writes = mm.touch_range(addr, MiB, write=True)
    return reads["faults"] + writes["faults"], reads["pages allocated"] + writes["pages allocated"]


def check_2(answer=None, *, reveal: bool = False) -> None:
    expected = solution_2()
    if reveal:
        print("reading 256 pages: 256 faults, each maps the shared zero page read-only (do_anonymous_page), 0 pages")
        print("writing them: 256 more faults (do_wp_page copies the zero page: one zeroed page each), 256 pages")
        print(f"answer: {expected[0]} faults, {expected[1]} pages taken from the buddy allocator")
        return
    _report(2, answer, _right(answer, expected), "a read of a never-written anonymous page maps the zero page; "
                                                 "the write after it faults again")


# --- 3: fork, then both sides write
def solution_3() -> tuple[int, int, int, int]:
    mm = MmStruct(Machine.preset("linux-6.18-x86_64", ram="64M"), thp="never")
    addr = mm.mmap(64 * KiB4)
    mm.touch_range(addr, 64 * KiB4, write=True)
    child = mm.fork()
    in_child = child.touch_range(addr, 64 * KiB4, write=True)
    in_parent = mm.touch_range(addr, 64 * KiB4, write=True)
    return in_child["faults"], in_child["pages allocated"], in_parent["faults"], in_parent["pages allocated"]


def check_3(answer=None, *, reveal: bool = False) -> None:
    expected = solution_3()
    if reveal:
        print("fork() write-protects all 64 PTEs in both processes (copy_present_pte): no page is copied yet")
        print(f"the child writes: {expected[0]} faults, each wp_page_copy() -> {expected[1]} new pages")
        print(f"then the parent writes: {expected[2]} faults, but every page is its own again: do_wp_page() reuses "
              f"it and only sets the write bit -> {expected[3]} new pages")
        return
    _report(3, answer, _right(answer, expected), "every write to a write-protected PTE faults; a copy happens only "
                                                 "while another process still maps the page")


# --- 4: DirectMap after one set_memory_ro()
def _ex4_direct():
    machine = Machine.preset("linux-6.18-x86_64", ram="3G")
    return build_direct_map(machine, [(0, 0x9FC00, "usable"), (0x100000, 3 * GiB, "usable")], gbpages=True)


def solution_4() -> tuple[int, int, int]:
    direct = _ex4_direct()
    set_memory_ro(direct, direct.virt(GiB + 5 * MiB), 1)
    counts = direct.pages_count
    return counts[KiB4] * 4, counts[MiB2] * 2048, counts[GiB1] * 1024 * 1024


def check_4(answer=None, *, reveal: bool = False) -> None:
    expected = solution_4()
    if reveal:
        before = _ex4_direct()
        print("at boot:\n" + before.meminfo_lines(), end="")
        print("set_memory_ro(one page at 1 GiB + 5 MiB): the 1 GiB page splits into 512 x 2 MiB, the 2 MiB page "
              "holding the address into 512 x 4 KiB, and only that PTE loses _PAGE_RW")
        print(f"after: DirectMap4k {expected[0]} kB, DirectMap2M {expected[1]} kB, DirectMap1G {expected[2]} kB")
        return
    _report(4, answer, _right(answer, expected), "a split moves one large page into 512 of the next size down; "
                                                 "it happens at each level the one page sits in")
