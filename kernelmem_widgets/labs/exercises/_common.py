"""What every chapter's checks share: the verdict line and reading a list of numbers."""

from __future__ import annotations

from ...exercises import student
from ...exercises.answers import as_ints as ints

__all__ = ["report", "ints", "variant", "variant_question"]


def variant(chapter: str, number: int, book, draw):
    """Exercise ``number``'s numbers: ``book`` without a student id, else ``draw(rng)`` with the student's generator."""
    rng = student.exercise_rng(chapter, number)
    return book if rng is None else draw(rng)


def variant_question(chapter: str, number: int, text):
    """The box's question for chapters 00-02, whose questions are in the prose: nothing with the book's numbers,
    the student's own numbers (``text()``) once an id is set."""
    def question() -> str:
        if student.exercise_rng(chapter, number) is None:
            return ""
        return f"Your own numbers replace the ones in the text: {text()}"
    return question


def report(number: int, answer, right: bool, hint: str) -> None:
    """Print the verdict of exercise ``number``: not answered yet, right, or the hint for the mistake."""
    if answer is None:
        print(f"Exercise {number}: not answered yet - type your answer in the box and press Check, or set "
              f"answer_{number} and run the cell again (or press Reveal).")
    elif right:
        print(f"Exercise {number}: right \N{HEAVY CHECK MARK}")
    else:
        print(f"Exercise {number}: not quite \N{HEAVY BALLOT X} - {hint}")
