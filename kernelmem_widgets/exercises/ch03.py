"""Chapter 03's exercises (why the kernel wants contiguous memory), per student, computed by the model.

Each exercise has the book's numbers (no student id: what the chapter prints) and a per-student
variant drawn from :func:`kernelmem_widgets.exercises.student.exercise_rng`.  Nothing is stored:
``question_N()`` draws the text with the current numbers, ``check_N(answer)`` recomputes the
model's answer on a fresh machine and prints the verdict with the usual mistake named,
``check_N(reveal=True)`` prints the answer and how it comes about, ``solution_N()`` returns it,
``answer_box(N)`` is the shared answer box.  :func:`params` with a generator of its own is what
the chapter's problem generator (:mod:`kernelmem_widgets.problems.contiguity`) draws from.

The model follows Linux 6.18: ``do_anonymous_page()``, ``do_wp_page()`` / ``wp_page_copy()``,
``copy_present_pte()`` (mm/memory.c) and ``__split_large_page()`` (arch/x86/mm/pat/set_memory.c).
"""

from __future__ import annotations

from functools import partial

from ..model import Machine
from ..model.mmu.direct_map import build_direct_map
from ..model.mmu.mm import MmStruct
from ..model.mmu.set_memory import set_memory_ro
from ..model.mmu.tlb import GiB1, KiB4, MiB2
from . import student
from .answers import as_ints

__all__ = ["params", "question", "solution", "check", "reveal", "answer_box", "COUNT",
           "question_1", "solution_1", "check_1", "question_2", "solution_2", "check_2",
           "question_3", "solution_3", "check_3", "question_4", "solution_4", "check_4"]

MiB, GiB = 1 << 20, 1 << 30
COUNT = 4
#: The book's numbers (no student id).
BOOK = {1: {"mib": 100}, 2: {"pages": 256}, 3: {"pages": 64}, 4: {"addr": GiB + 5 * MiB}}
_PLACEHOLDERS = {1: "three counts, e.g. 100 10 1", 2: "faults and pages, e.g. 256 256",
                 3: "four counts, e.g. 64 64 0 0", 4: "three kB figures, e.g. 2048 1046528 4194304"}


def params(number: int, rng=None) -> dict:
    """Exercise ``number``'s numbers: the book's without ``rng``, else drawn from it."""
    if number not in BOOK:
        raise KeyError(f"no exercise {number} in chapter 03; there are {COUNT}")
    if rng is None:
        return dict(BOOK[number])
    if number == 1:
        return {"mib": int(rng.choice([24, 36, 50, 72, 100, 130, 250, 300, 700, 1500, 2100]))}
    if number == 2:
        return {"pages": int(rng.integers(16, 129)) * 4}
    if number == 3:
        return {"pages": int(rng.integers(8, 97))}
    gib = int(rng.integers(0, 3))
    return {"addr": gib * GiB + int(rng.integers(4, 1000)) * MiB + int(rng.integers(0, 256)) * KiB4}


def _current(number: int) -> dict:
    return params(number, student.exercise_rng("03", number))


def _pages_text(pages: int) -> str:
    size = pages * KiB4
    return f"{size // MiB} MiB" if size % MiB == 0 else f"{size // 1024} KiB"


def question(number: int, values: dict | None = None) -> str:
    """Exercise ``number``'s question with ``values`` (default: the current student's numbers)."""
    p = values or _current(number)
    if number == 1:
        return (f"How many TLB entries does it take to translate all of a {p['mib']} MiB buffer at once with "
                "4 KiB, 2 MiB and 1 GiB pages? Answer with three numbers.")
    if number == 2:
        return (f"A process maps {_pages_text(p['pages'])} of anonymous memory ({p['pages']} pages, THP off), reads "
                "every page, then writes every page. How many page faults does it take in total, and how many pages "
                "does it take from the buddy allocator? Answer: faults pages.")
    if number == 3:
        return (f"A process has written {p['pages']} pages (THP off) and forks. The child writes all {p['pages']} pages, "
                f"then the parent writes all {p['pages']}. Answer: child faults, child new pages, parent faults, "
                "parent new pages.")
    return ("A 3 GiB machine with GB pages (RAM from 1 MiB to 3 GiB) boots with DirectMap4k 2048 kB, DirectMap2M "
            "1046528 kB and DirectMap1G 4194304 kB. Then set_memory_ro() makes one page at physical "
            f"{p['addr']:#x} read-only. What do the three DirectMap lines say afterwards, in kB?")


def solution(number: int, values: dict | None = None) -> tuple[int, ...]:
    """The model's answer to exercise ``number`` with ``values`` (default: the current student's)."""
    p = values or _current(number)
    if number == 1:
        size = p["mib"] * MiB
        return tuple(-(-size // page) for page in (KiB4, MiB2, GiB1))
    if number == 2:
        size = p["pages"] * KiB4
        mm = MmStruct(Machine.preset("linux-6.18-x86_64", ram="64M"), thp="never")
        addr = mm.mmap(size)
        reads = mm.touch_range(addr, size)
        writes = mm.touch_range(addr, size, write=True)
        return reads["faults"] + writes["faults"], reads["pages allocated"] + writes["pages allocated"]
    if number == 3:
        size = p["pages"] * KiB4
        mm = MmStruct(Machine.preset("linux-6.18-x86_64", ram="64M"), thp="never")
        addr = mm.mmap(size)
        mm.touch_range(addr, size, write=True)
        child = mm.fork()
        in_child = child.touch_range(addr, size, write=True)
        in_parent = mm.touch_range(addr, size, write=True)
        return in_child["faults"], in_child["pages allocated"], in_parent["faults"], in_parent["pages allocated"]
    if number == 4:
        direct = _ex4_direct()
        set_memory_ro(direct, direct.virt(p["addr"]), 1)
        counts = direct.pages_count
        return counts[KiB4] * 4, counts[MiB2] * 2048, counts[GiB1] * 1024 * 1024
    raise KeyError(f"no exercise {number} in chapter 03; there are {COUNT}")


def _ex4_direct():
    machine = Machine.preset("linux-6.18-x86_64", ram="3G")
    return build_direct_map(machine, [(0, 0x9FC00, "usable"), (0x100000, 3 * GiB, "usable")], gbpages=True)


_HINTS = {1: "divide the size by each page size, rounding up (a part of a page still needs a whole entry)",
          2: "a read of a never-written anonymous page maps the zero page; the write after it faults again",
          3: "every write to a write-protected PTE faults; a copy happens only while another process still maps "
             "the page",
          4: "a split moves one large page into 512 of the next size down; it happens at each level the one page "
             "sits in"}
_NAMES = {1: ("4 KiB", "2 MiB", "1 GiB"), 2: ("faults", "pages"),
          3: ("child faults", "child pages", "parent faults", "parent pages"),
          4: ("DirectMap4k", "DirectMap2M", "DirectMap1G")}


def _ints(answer, count: int) -> tuple[int, ...] | None:
    try:
        return tuple(as_ints(answer, count))
    except (TypeError, ValueError):
        return None


def hint(number: int, given, expected) -> str:
    """What is wrong with ``given`` (a tuple), naming the values that differ."""
    names = _NAMES[number]
    if given is None:
        return f"give {len(expected)} numbers ({', '.join(names)}); " + _HINTS[number]
    if sorted(given) == sorted(expected) and given != tuple(expected):
        return f"the right numbers in the wrong order: give {', '.join(names)}, in that order"
    wrong = [name for name, a, b in zip(names, given, expected) if a != b]
    extra = ""
    if number == 2 and given[1] == expected[1] * 2:
        extra = "reads of untouched memory take no page: they map the shared zero page; "
    if number == 3 and len(given) == 4 and given[3] == given[2] and given[2]:
        extra = "the parent's writes copy nothing: once the child has its copies, each page is the parent's alone; "
    if number == 1 and len(given) == 3 and given[2] == 0:
        extra = "a buffer smaller than a page still needs one entry; "
    return f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong - {extra}{_HINTS[number]}"


def check(number: int, answer=None, *, reveal: bool = False) -> None:
    """The code form: prints not answered yet, right, or what is wrong (``reveal=True``: the answer)."""
    if reveal:
        print(reveal_text(number))
        return
    expected = solution(number)
    if answer is None:
        print(f"Exercise {number}: not answered yet - type your answer in the box and press Check, or set "
              f"answer_{number} and run the cell again (or press Reveal).")
        return
    given = _ints(answer, len(expected))
    if given == tuple(expected):
        print(f"Exercise {number}: right \N{HEAVY CHECK MARK}")
    else:
        print(f"Exercise {number}: not quite \N{HEAVY BALLOT X} - {hint(number, given, expected)}")


def reveal_text(number: int) -> str:
    """The model's answer to exercise ``number`` for the current student, and why."""
    p, expected = _current(number), solution(number)
    if number == 1:
        lines = [f"{p['mib']} MiB in {page} pages: {count:,} translations, so {count:,} TLB entries to cover it at once"
                 for page, count in zip(("4 KiB", "2 MiB", "1 GiB"), expected)]
        lines.append("Skylake's STLB holds 1,536 of the 4 KiB or 2 MiB ones: 6 MiB of reach with 4 KiB pages, "
                     "3 GiB with 2 MiB.")
    elif number == 2:
        n = p["pages"]
        lines = [f"reading {n} pages: {n} faults, each maps the shared zero page read-only (do_anonymous_page), 0 pages",
                 f"writing them: {n} more faults (do_wp_page copies the zero page: one zeroed page each), {n} pages",
                 f"answer: {expected[0]} faults, {expected[1]} pages taken from the buddy allocator"]
    elif number == 3:
        n = p["pages"]
        lines = [f"fork() write-protects all {n} PTEs in both processes (copy_present_pte): no page is copied yet",
                 f"the child writes: {expected[0]} faults, each wp_page_copy() -> {expected[1]} new pages",
                 f"then the parent writes: {expected[2]} faults, but every page is its own again: do_wp_page() "
                 f"reuses it and only sets the write bit -> {expected[3]} new pages"]
    else:
        lines = ["at boot:", _ex4_direct().meminfo_lines().rstrip(),
                 f"set_memory_ro(one page at {p['addr']:#x}): the large page holding it splits (a 1 GiB page into "
                 "512 x 2 MiB, the 2 MiB page into 512 x 4 KiB), and only that PTE loses _PAGE_RW",
                 f"after: DirectMap4k {expected[0]} kB, DirectMap2M {expected[1]} kB, DirectMap1G {expected[2]} kB"]
    return "\n".join(lines)


#: The code forms a notebook imports: ``solution_N()``, ``question_N()``, ``check_N(answer=None, *, reveal=False)``.
solution_1, solution_2, solution_3, solution_4 = (partial(solution, n) for n in range(1, COUNT + 1))
question_1, question_2, question_3, question_4 = (partial(question, n) for n in range(1, COUNT + 1))
check_1, check_2, check_3, check_4 = (partial(check, n) for n in range(1, COUNT + 1))


def answer_box(number: int):
    """Exercise ``number``'s answer box: its question for the current student, Check and Reveal."""
    from ..views.exercise import AnswerBox

    return AnswerBox(lambda answer, reveal=False: check(number, answer, reveal=reveal),
                     placeholder=_PLACEHOLDERS[number], number=number, question=lambda: question(number))
