"""Chapter 0's warm-up exercise: how many bytes an order-3 block holds (Linux 6.18, 4 KiB pages).

With a student id the order is the student's own (2 to 6), shown in the answer box."""

from __future__ import annotations

from ...model.machine import Machine
from ...views.exercise import AnswerBox
from ._common import report, variant, variant_question

BOOK_ORDER = 3


def order_0() -> int:
    """The order exercise 0 asks about: 3, or the student's own."""
    return variant("00", 0, BOOK_ORDER, lambda rng: int(rng.choice([2, 4, 5, 6])))


def solution_0() -> int:
    """Bytes in an order-n block of the tiny machine: 2**n pages of PAGE_SIZE."""
    machine = Machine.preset("linux-6.18-tiny")
    return machine.page_size << order_0()


def check_0(answer=None, *, reveal=False):
    expected, order = solution_0(), order_0()
    pages = 1 << order
    if reveal:
        print(f"An order-{order} block is 2**{order} = {pages} pages of {expected // pages} bytes = {expected} bytes "
              f"({expected >> 10} KiB).")
        return
    hint = "order n means 2**n pages; give bytes (32768 or 32K)."
    if answer is not None and not isinstance(answer, (int, float)):
        hint = "give one number of bytes (32768 or 32K)."
    elif answer == order * 4096:
        hint = f"that is {order} pages: order n means 2**n pages, not n pages."
    elif answer == pages:
        hint = f"{pages} is the number of pages; the question asks for bytes."
    report(0, answer, answer == expected, hint)


def answer_box(number: int = 0) -> AnswerBox:
    """The answer box of exercise 0."""
    return AnswerBox(check_0, placeholder="bytes, e.g. 4096 or 4K", number=number,
                     question=variant_question("00", 0, lambda: f"how many bytes does an order-{order_0()} "
                                                                "allocation give you?"))
