"""Chapter 1's exercises (buddy orders), checked against the model of Linux 6.18's page allocator.

Moved out of the notebook so that the answers are not on the student's page; the notebook imports
``check_N`` and ``answer_box``.  Every check runs the model on a fresh machine.
"""

from __future__ import annotations

from functools import lru_cache

from ...model import procfs, workload
from ...model.errors import AllocationError, KernelMemError
from ...model.machine import Machine
from ...model.page_alloc import vmstat
from ...views.exercise import AnswerBox, parse_answer
from ._common import ints, report, variant, variant_question

MIGRATETYPES = ("Unmovable", "Movable", "Reclaimable")
#: The aged machine of the chapter's step 6 (exercise 5 asks about it).
AGE_SEED, AGE_FILL, AGE_STEPS = 1, 0.45, 20000


def aged_machine(seed=AGE_SEED, fill=AGE_FILL, steps=AGE_STEPS):
    """A tiny machine after ``steps`` allocations and frees of a seeded workload (step 6 of the chapter)."""
    machine = Machine.preset("linux-6.18-tiny", seed=seed)
    report_ = workload.Workload(machine, seed=seed, fill=fill).age(steps)
    return machine, report_


def buddyinfo(machine):
    """The model's /proc/buddyinfo, under a header that names the orders."""
    header = "".join(f"{order:6d} " for order in range(machine.max_page_order + 1))
    print(f"{'order:':>22}{header}")
    print(procfs.render_buddyinfo(machine), end="")


# --- exercise 1: three allocations on a fresh machine
EX1_ORDERS = (0, 2, 1)


def orders_1() -> tuple[int, ...]:
    """Exercise 1's three orders: the book's (0, 2, 1), or the student's own."""
    return variant("01", 1, EX1_ORDERS, lambda rng: tuple(int(o) for o in rng.integers(0, 4, size=3)))


def solution_1():
    fresh = Machine.preset("linux-6.18-tiny")
    return [fresh.alloc_pages("GFP_KERNEL", order) for order in orders_1()]


def check_1(answer=None, *, reveal=False):
    expected, orders = solution_1(), orders_1()
    if reveal:
        for order, pfn in zip(orders, expected):
            print(f"alloc_pages(GFP_KERNEL, {order}) -> pfn {pfn:#x}")
        print("Each request takes the head of the smallest free list that fits; expand() keeps the lower "
              "half of every split and frees the upper half, one block per order.")
        return
    hint = (f"give {len(orders)} pfns in request order, e.g. [0x10, 0x20, 0x30]; "
            "draw the split of the first order-10 block and follow it.")
    try:
        given = None if answer is None else ints(answer, len(orders))
    except (TypeError, ValueError) as error:
        given, hint = [], f"{error}; " + hint
    right = given == expected
    if given and not right:
        if sorted(given) == sorted(expected):
            hint = "the right pfns, in the wrong order: list them in the order the requests arrive."
        else:
            wrong = [f"order {o}: not {p:#x}" for o, p, e in zip(orders, given, expected) if p != e]
            hint = "; ".join(wrong) + " - " + hint
    report(1, answer, right, hint)


# --- exercise 2: which order fails first on an aged machine
EX2_SEED, EX2_FILL, EX2_STEPS = 6, 0.75, 20000


def aged_machine_2():
    machine = Machine.preset("linux-6.18-tiny", seed=EX2_SEED)
    workload.Workload(machine, seed=EX2_SEED, fill=EX2_FILL).age(EX2_STEPS)
    return machine


@lru_cache(maxsize=None)
def solution_2():
    machine = aged_machine_2()      # a fresh copy every time: a failed attempt may compact the zone
    for order in range(machine.max_page_order + 1):
        try:
            pfn = machine.alloc_pages("GFP_KERNEL", order)
        except AllocationError as error:
            return order, str(error)
        machine.free_pages(pfn, order)
    return None, "every order up to MAX_PAGE_ORDER succeeded"


def check_2(answer=None, *, reveal=False):
    order, reason = solution_2()
    if reveal:
        print(f"The smallest order that fails is {order}:\n  {reason}")
        print("Every smaller order finds a free block of at least its size (on its own list or a fallback's), "
              "with the zone above its watermark.")
        return
    try:
        right = answer is not None and int(answer) == order
    except (TypeError, ValueError):
        right = False
    report(2, answer, right,
            "read the buddyinfo line: which is the smallest order with no free block at or above it? "
            "(An order-n request can use any larger block.)")


# --- exercise 3: the buddyinfo line after a list of operations
EX3_OPS = ["alloc 1", "alloc 0", "alloc 3", "free 0x0 1", "alloc 2"]


def solution_3():
    fresh = Machine.preset("linux-6.18-tiny")
    results = workload.run_ops(fresh, EX3_OPS)
    counts = [fresh.zone("Normal").nr_free(order) for order in range(fresh.max_page_order + 1)]
    return fresh, results, counts


def _buddyinfo_counts(answer):
    if isinstance(answer, str):
        if answer.strip().startswith("Node"):
            return next(iter(procfs.parse_buddyinfo(answer).values()))
        return [int(word) for word in answer.split()]
    return [int(value) for value in answer]


def check_3(answer=None, *, reveal=False):
    fresh, results, expected = solution_3()
    if reveal:
        for result in results:
            print(result.line(reveal=True))
        print()
        buddyinfo(fresh)
        return
    try:
        right = answer is not None and _buddyinfo_counts(answer) == expected
    except (TypeError, ValueError, KernelMemError):
        right = False
    report(3, answer, right, f"give the {len(expected)} counts (free blocks per order, 0 to "
                              f"{len(expected) - 1}) or the whole 'Node 0, zone Normal ...' line.")


# --- exercise 4: buddy pfn and merge
EX4_OPS = ["alloc 1", "alloc 1", "alloc 1", "alloc 1", "free 0x2 1", "free 0x4 1"]
EX4_PFN, EX4_ORDER = 0x6, 1


def solution_4():
    fresh = Machine.preset("linux-6.18-tiny")
    workload.run_ops(fresh, EX4_OPS)
    buddy = EX4_PFN ^ (1 << EX4_ORDER)                     # __find_buddy_pfn()
    fresh.free_pages(EX4_PFN, EX4_ORDER)
    zone = fresh.zone("Normal")
    merged = next(order for order in range(zone.max_page_order + 1) for mt in MIGRATETYPES
                  if EX4_PFN & ~((1 << order) - 1) in zone.free_blocks(order, mt))
    return buddy, merged


def check_4(answer=None, *, reveal=False):
    buddy, merged = solution_4()
    if reveal:
        print(f"buddy of pfn {EX4_PFN:#x} at order {EX4_ORDER}: {EX4_PFN:#x} ^ (1 << {EX4_ORDER}) = {buddy:#x}")
        print(f"after the free, pfn {EX4_PFN:#x} lies in a free block of order {merged} "
              f"starting at {EX4_PFN & ~((1 << merged) - 1):#x}")
        print("The merge goes on while the buddy at the current order is free with exactly that order.")
        return
    hint = ("give (buddy_pfn, order_after_free); the buddy is pfn ^ (1 << order), "
            "and a merge needs a buddy that is free with the same order.")
    try:
        given = None if answer is None else tuple(ints(answer, 2))
    except (TypeError, ValueError) as error:
        given, hint = (), f"{error}; " + hint
    right = given == (buddy, merged)
    if given and not right:
        if given[0] == buddy:
            hint = "right buddy, wrong order: follow the merge one order at a time while the buddy is free."
        elif given[1] == merged:
            hint = f"right order, wrong buddy: the buddy of {EX4_PFN:#x} at order {EX4_ORDER} is pfn ^ (1 << order)."
    report(4, answer, right, hint)


# --- exercise 5: fragmentation index by hand
EX5_ORDER = 10


@lru_cache(maxsize=None)
def solution_5():
    machine, _report_ = aged_machine()
    zone = machine.zone("Normal")
    nr_free = [zone.nr_free(order) for order in range(zone.max_page_order + 1)]
    return tuple(nr_free), vmstat.fragmentation_index(nr_free, EX5_ORDER) / 1000


def check_5(answer=None, *, reveal=False):
    nr_free, index = solution_5()
    if reveal:
        info = vmstat.fill_contig_page_info(nr_free, EX5_ORDER)
        print(f"free_pages = {info.free_pages}, free_blocks_total = {info.free_blocks_total}, "
              f"requested = 2^{EX5_ORDER} = {1 << EX5_ORDER}")
        print(f"index = 1000 - (1000 + {info.free_pages} * 1000 // {1 << EX5_ORDER}) // {info.free_blocks_total} "
              f"= {round(index * 1000)}  ->  {index:.3f}")
        return
    hint = ("use F = 1 - (1 + free_pages / 2^order) / free_blocks_total, where the totals "
            "count blocks of every order; give it as a number between 0 and 1 (0.916) or in thousandths (916/1000).")
    try:
        value = None if answer is None else float(answer)
    except (TypeError, ValueError):
        value = float("nan")
    if value is not None and 1 < abs(value) <= 1000:
        value /= 1000                    # 916: the kernel's thousandths, as extfrag_index prints them x1000
    right = value is not None and abs(value - index) <= 0.002
    if value is not None and not right and abs(value + index) <= 0.002:
        hint = "right size, wrong sign: an index above 0 means the request would fail for fragmentation."
    report(5, answer, right, hint)


def show_3():
    """Exercise 3's operations with their results hidden (``?``)."""
    _fresh, results, _counts = solution_3()
    for result in results:
        print(result.line(reveal=False))


_PLACEHOLDERS = {1: "three pfns, e.g. 0x10 0x20 0x30", 2: "an order, 0..10", 3: "11 counts, or the Node 0 line",
                 4: "buddy pfn and order, e.g. 0x0 1", 5: "a number such as 0.5 or 500/1000"}
_CHECKS = {1: check_1, 2: check_2, 3: check_3, 4: check_4, 5: check_5}


def answer_box(number: int) -> AnswerBox:
    """Exercise ``number``'s answer box (text field, Check, Reveal), bound to ``check_<number>``."""
    parse = _parse_buddyinfo_text if number == 3 else parse_answer
    question = variant_question("01", 1, lambda: "on a fresh machine, GFP_KERNEL allocations of order "
                                + ", ".join(map(str, orders_1())) + ", in that order: which pfns?") if number == 1 else None
    return AnswerBox(_CHECKS[number], placeholder=_PLACEHOLDERS[number], parse=parse, number=number, question=question)


def _parse_buddyinfo_text(text: str):
    """Exercise 3 takes counts or a pasted buddyinfo line: keep the line as text."""
    return text if text.strip().startswith("Node") else parse_answer(text)