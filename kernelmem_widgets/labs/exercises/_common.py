"""What every chapter's checks share: the verdict line and reading a list of numbers."""

from __future__ import annotations

__all__ = ["report", "ints"]


def report(number: int, answer, right: bool, hint: str) -> None:
    """Print the verdict of exercise ``number``: not answered yet, right, or the hint for the mistake."""
    if answer is None:
        print(f"Exercise {number}: not answered yet - type your answer in the box and press Check, or set "
              f"answer_{number} and run the cell again (or press Reveal).")
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
