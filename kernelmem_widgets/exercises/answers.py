"""Reading a student's answer in any natural form, and checking it with feedback that names the mistake.

An :class:`Exercise` has a question, a way to read the answer (a number, a size, an order, a
name among aliases), the accepted value, and a list of *specific mistakes*: values or patterns a
student is likely to give, each with the explanation of what went wrong.  :meth:`Exercise.check`
returns a :class:`Feedback`; the solution is only in :meth:`Exercise.solution` (for instructors
and tests), never printed by the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Feedback", "Exercise", "parse_number", "parse_order", "parse_size", "parse_name", "words"]

_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1,
          "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "kbyte": 1 << 10, "kbytes": 1 << 10,
          "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "mbyte": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``correct`` and a message in words (never the solution)."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct


def parse_number(text) -> int | None:
    """An integer in any usual spelling: ``42``, ``0x2a``, ``1,536``, ``2^11``, ``2**11``, ``1 << 11``."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    value = str(text).strip().lower().replace(",", "").replace("_", "")
    value = re.sub(r"^(order|order-)\s*", "", value)
    match = re.fullmatch(r"2\s*(?:\^|\*\*)\s*(\d+)", value) or re.fullmatch(r"1\s*<<\s*(\d+)", value)
    if match:
        return 1 << int(match.group(1))
    try:
        return int(value, 0)
    except ValueError:
        return None


def parse_order(text) -> int | None:
    """An order: ``11``, ``order 11``, ``order-11``, or ``2^11`` / ``2**11`` read as its exponent."""
    value = str(text).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:order-?)?2(?:\^|\*\*)(\d+)(?:pages)?", value)
    if match:
        return int(match.group(1))
    return parse_number(text)


def parse_size(text, page_size: int = 4096) -> int | None:
    """A size in bytes from ``6 MiB``, ``6M``, ``6 MB``, ``6291456``, ``1536 pages``, ``0x600000``.

    Binary units are used for K/M/G, as the kernel's ``memparse()`` does.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    value = str(text).strip().lower().replace(",", "").replace("_", "")
    match = re.fullmatch(r"(0x[0-9a-f]+|\d+(?:\.\d+)?)\s*([a-z]*)", value)
    if not match:
        return None
    number, unit = match.groups()
    amount = int(number, 16) if number.startswith("0x") else float(number)
    if unit in ("page", "pages"):
        return int(amount * page_size)
    if unit not in _UNITS:
        return None
    result = amount * _UNITS[unit]
    return int(result) if float(result).is_integer() else None


def words(text) -> set[str]:
    """The lower-case words of an answer, punctuation dropped (``"GFP_ATOMIC!"`` -> {"gfp_atomic"})."""
    return set(re.findall(r"[a-z0-9_]+", str(text).lower()))


def parse_name(text, aliases: dict[str, tuple[str, ...]]) -> str | None:
    """The canonical name whose alias appears in the answer (whole words or phrases), else None.

    Aliases are matched longest first, so ``"__GFP_RETRY_MAYFAIL"`` is not read as ``"GFP_KERNEL"``.
    """
    flat = " " + " ".join(re.findall(r"[a-z0-9_]+", str(text).lower())) + " "
    pairs = sorted(((alias.lower(), name) for name, names in aliases.items() for alias in names),
                   key=lambda pair: -len(pair[0]))
    for alias, name in pairs:
        if f" {alias} " in flat:
            return name
    return None


@dataclass
class Exercise:
    """One checked question.

    Parameters
    ----------
    id : str
        ``"01.3"``: chapter and number, as the chapter names it.
    question : str
        What the student reads.
    read : callable
        Turns the raw answer into a value (or None when it cannot be read).
    expected : object
        The accepted value (or a predicate on the value).
    mistakes : list of (value or predicate, message)
        Likely wrong values, each with what it shows the student missed.
    hint : str
        Said when the answer is wrong in no foreseen way.
    explanation : str
        Said with a correct answer: why it is right (and where the kernel decides it).
    answer : str
        The accepted answer in words, for :meth:`solution` (defaults to ``expected``).
    """

    id: str
    question: str
    read: Callable[[object], object]
    expected: object
    mistakes: list[tuple[object, str]] = field(default_factory=list)
    hint: str = ""
    explanation: str = ""
    unreadable: str = "I could not read that answer"
    answer: str = ""

    def _matches(self, rule, value) -> bool:
        return bool(rule(value)) if callable(rule) else value == rule

    def check(self, answer) -> Feedback:
        """The verdict on ``answer`` with feedback about the specific mistake."""
        value = self.read(answer)
        if value is None:
            return Feedback(False, f"{self.unreadable}: {answer!r}. {self.hint}".strip())
        if self._matches(self.expected, value):
            return Feedback(True, f"Right. {self.explanation}".strip())
        for rule, message in self.mistakes:
            if self._matches(rule, value):
                return Feedback(False, message)
        return Feedback(False, f"Not quite. {self.hint}".strip())

    def solution(self) -> str:
        """The accepted answer and its explanation: for instructors and tests, not for the page."""
        expected = self.answer or self.expected
        return f"{expected}: {self.explanation}"
