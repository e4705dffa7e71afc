"""Chapter 0's warm-up exercise: how many bytes an order-3 block holds (Linux 6.18, 4 KiB pages)."""

from __future__ import annotations

from ...model.machine import Machine
from ...views.exercise import AnswerBox
from ._common import report


def solution_0() -> int:
    """Bytes in an order-3 block of the tiny machine: 2**3 pages of PAGE_SIZE."""
    machine = Machine.preset("linux-6.18-tiny")
    return machine.page_size << 3


def check_0(answer=None, *, reveal=False):
    expected = solution_0()
    if reveal:
        print(f"An order-3 block is 2**3 = 8 pages of {expected // 8} bytes = {expected} bytes (32 KiB).")
        return
    hint = "order n means 2**n pages; give bytes (32768 or 32K)."
    if answer is not None and not isinstance(answer, (int, float)):
        hint = "give one number of bytes (32768 or 32K)."
    elif answer == 3 * 4096:
        hint = "that is 3 pages: order n means 2**n pages, not n pages."
    elif answer == 8:
        hint = "8 is the number of pages; the question asks for bytes."
    report(0, answer, answer == expected, hint)


def answer_box(number: int = 0) -> AnswerBox:
    """The answer box of exercise 0."""
    return AnswerBox(check_0, placeholder="bytes, e.g. 4096 or 4K", number=number)
