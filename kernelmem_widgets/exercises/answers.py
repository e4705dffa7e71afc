"""The one place where an answer is read the way a person types it, and judged with feedback.

Three front doors share these parsers:

* free-form text typed into a chapter's answer box (:func:`parse_answer`): ``32K``, ``0x0 0x4 0x2``,
  ``[0x10, 0x20]``, ``(0x4, 2)``, ``0.916`` or ``916/1000``, cache names, words;
* one *kind* of answer a problem set asks for (:data:`KINDS`, :func:`parse_kind`,
  :func:`check_answer`): a pfn, a block, a buddyinfo line, a cache, a size, yes/no, a fraction, a
  whole number, addresses, uC/OS-III error names; the CLI, the grader, nbgrader and the notebooks
  call :func:`check_answer`, whose feedback names the specific mistake (the buddy instead of the
  block, the right pfn with the wrong order, one size class off) without giving the answer away;
* a conceptual :class:`Exercise` with foreseen mistakes (:func:`parse_number`, :func:`parse_order`,
  :func:`parse_size`, :func:`parse_name`, :func:`words`).

Pure Python: no Jupyter import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from ..model.errors import InvalidArgument, KernelMemError
from ..model.units import format_size, memparse

__all__ = ["Feedback", "Verdict", "Exercise", "read_number", "parse_answer", "as_ints", "parse_number", "parse_order",
           "parse_size", "parse_name", "words", "KINDS", "parse_kind", "check_answer", "format_answer"]

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

    @property
    def feedback(self) -> str:
        """The message (the name the problem sets use)."""
        return self.message


#: The verdict of a problem-set check: the same class.
Verdict = Feedback


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


# --- free-form text from an answer box

_FREE_NUMBER = re.compile(r"[-+]?(0x[0-9a-f]+|\d+(\.\d*)?|\.\d+)(/\d+)?([kmgtpe](i?b)?)?", re.I)


def read_number(word: str):
    """One number as a person types it: ``12``, ``0x1f``, ``32K`` (bytes), ``0.916``, ``916/1000``.

    >>> [read_number(w) for w in ("12", "0x1f", "32K", "0.916", "916/1000", "4 MiB")]
    [12, 31, 32768, 0.916, 0.916, 4194304]
    """
    text = word.strip().replace("_", "").replace(",", "") if re.fullmatch(r"[\d,_]+", word.strip()) else word.strip()
    if "/" in text:
        top, bottom = text.split("/", 1)
        return float(Fraction(int(top), int(bottom)))
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)", text):
        return float(text)
    if re.fullmatch(r"[-+]?(0x[0-9a-fA-F]+|\d+)", text):
        return int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 10)
    try:
        return memparse(text)
    except KernelMemError as error:
        raise ValueError(f"{word!r} is not a number, a size (32K) or a fraction (916/1000)") from error


def parse_answer(text: str):
    """What a person typed, as Python values: one number or name, or a list of them.

    Brackets, commas and ``x`` between numbers are optional; names stay strings.

    >>> parse_answer("32K"), parse_answer("0x0 0x4 0x2"), parse_answer("(0x4, 2)")
    (32768, [0, 4, 2], [4, 2])
    >>> parse_answer('["kmalloc-32", kmalloc-64]'), parse_answer("916/1000")
    (['kmalloc-32', 'kmalloc-64'], 0.916)
    """
    text = text.strip()
    if not text:
        raise ValueError("the answer is empty")
    if re.search(r"\d\s+[KMGTPE]i?B?\b", text, re.I) and len(re.findall(r"\d+", text)) == 1:
        return read_number(text)                     # "4 MiB": one size with a space in it
    inner = text[1:-1] if text[:1] in "[(" and text[-1:] in "])" else text
    words = [w.strip().strip("'\"") for w in re.split(r"[,\s;]+", inner) if w.strip().strip("'\"")]
    values = [read_number(w) if _FREE_NUMBER.fullmatch(w) else w for w in words]
    return values[0] if len(values) == 1 and inner == text else values


def as_ints(answer, count: int) -> list[int]:
    """``count`` integers from typed text (``"0x10 0x20"``) or a code-form list of ints or of text such as
    ``"0x10"``; ValueError saying how many are wanted otherwise."""
    if isinstance(answer, str):
        answer = parse_answer(answer)
    if isinstance(answer, (int, float, str)) or answer is None:
        raise ValueError(f"give {count} numbers")
    values = [int(value, 0) if isinstance(value, str) else int(value) for value in answer]
    if len(values) != count:
        raise ValueError(f"give {count} numbers, not {len(values)}")
    return values


# --- one kind of answer (problem sets, grader, nbgrader)

MAX_ANSWER_CHARS = 400
_FAIL_WORDS = {"fail", "fails", "failed", "failure", "none", "null", "-", "enomem", "refused", "no"}
_YES = {"yes", "y", "true", "ok", "loads", "load", "succeeds", "success", "works", "fits"}
_NO = {"no", "n", "false", "fails", "fail", "refused", "enomem", "-enomem", "doesn't", "does not", "no fit"}
_LARGE_WORDS = {"none", "large", "page allocator", "alloc_pages", "pages", "buddy", "no cache", "kmalloc_large"}
_NUMBER = re.compile(r"^(0x[0-9a-f]+|[0-9]+)$")


def _clean(text) -> str:
    if not isinstance(text, str):
        raise InvalidArgument(f"answer {text!r}: expected text such as '0x400', '32K' or 'fails'")
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidArgument(f"answer of {len(text)} characters: at most {MAX_ANSWER_CHARS} are read")
    return " ".join(text.strip().lower().replace(",", " ").split())


def _int(word: str, what: str) -> int:
    if not _NUMBER.match(word):
        raise InvalidArgument(f"{word!r} is not a {what}: write it in decimal (1024) or hex (0x400)")
    return int(word, 0)


def _parse_pfn(text: str):
    text = text.removeprefix("pfn").strip()
    return None if text in _FAIL_WORDS else _int(text, "pfn")


def _parse_block(text: str):
    if text in _FAIL_WORDS:
        return None
    words = text.replace("/", " ").replace("order", " ").replace("pfn", " ").replace(":", " ").split()
    if len(words) != 2:
        raise InvalidArgument(f"{text!r}: write a block as its first pfn and its order, e.g. '0x400 order 2'")
    return _int(words[0], "pfn"), _int(words[1], "order")


def _parse_numbers(text: str):
    text = re.sub(r"^node\s+\d+\s+zone\s+\S+\s*", "", text)  # a whole /proc/buddyinfo line is fine
    return tuple(_int(word, "count") for word in re.sub(r"[\[\]();]", " ", text).split())


def _parse_addresses(text: str):
    return tuple(_int(word, "address") for word in re.sub(r"[\[\]();]", " ", text).split())


def _parse_oserr(text: str):
    from ..model.rtos import OS_ERR

    names = []
    for token in re.split(r"[\s;]+", text):
        if not token:
            continue
        word = token.upper()
        if word in ("OK", "NONE", "0", "OS_ERR_NONE"):
            names.append("OS_ERR_NONE")
            continue
        by_number = {value: name for name, value in OS_ERR.items()}
        name = by_number.get(int(word)) if word.isdigit() else next(
            (name for name in OS_ERR if word in (name, name.removeprefix("OS_ERR_"), name.removeprefix("OS_ERR_MEM_"))),
            None)
        if name is None:
            raise InvalidArgument(f"{token!r} is not an OS_ERR name or number (e.g. OS_ERR_MEM_INVALID_BLKS, 22204, OK)")
        names.append(name)
    return tuple(names)


def _parse_cache(text: str):
    if text in _LARGE_WORDS:
        return None
    text = text.replace(" ", "-")
    if re.fullmatch(r"[0-9]+k?", text):
        text = "kmalloc-" + text
    if not re.fullmatch(r"(dma-|kmalloc-rcl-|kmalloc-cg-)?(dma-)?kmalloc-[0-9]+k?|kmalloc-(rcl|cg)-[0-9]+k?", text):
        raise InvalidArgument(f"{text!r}: write a cache as /proc/slabinfo names it (kmalloc-128, kmalloc-8k), or "
                              "'page allocator' for a large kmalloc")
    return text


def _parse_size(text: str):
    words = text.replace("bytes", "").replace("byte", "").replace("ib", "").replace(" ", "")
    try:
        return memparse(words.upper().rstrip("B") if words[-1:].isalpha() else words)
    except KernelMemError:
        raise InvalidArgument(f"{text!r} is not a size: write 32768, 32K, 32 KiB or 8M") from None


def _parse_bool(text: str):
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidArgument(f"{text!r}: answer yes or no (or 'loads' / 'fails')")


def _parse_fraction(text: str):
    try:
        value = read_number(text.replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        raise InvalidArgument(f"{text!r} is not a number: write 0.916 or 916/1000") from None
    return float(value)


def _parse_int(text: str):
    return _int(text, "whole number")


KINDS = {
    "pfn": _parse_pfn, "block": _parse_block, "numbers": _parse_numbers, "cache": _parse_cache,
    "size": _parse_size, "bool": _parse_bool, "fraction": _parse_fraction, "int": _parse_int,
    "addresses": _parse_addresses, "oserr": _parse_oserr, "hex": _parse_int,
}


def parse_kind(kind: str, text):
    """The value of ``text`` read as an answer of ``kind``; :class:`InvalidArgument` says what is accepted."""
    if kind not in KINDS:
        raise InvalidArgument(f"unknown answer kind {kind!r}; accepted: {', '.join(KINDS)}")
    cleaned = _clean(text)
    if not cleaned:
        raise InvalidArgument("empty answer")
    return KINDS[kind](cleaned)


def format_answer(kind: str, value) -> str:
    """``value`` as a person would write it (the form the key prints)."""
    if kind in ("pfn", "block") and value is None:
        return "fails"
    if kind == "pfn":
        return f"{value:#x}"
    if kind == "block":
        return f"{value[0]:#x} order {value[1]}"
    if kind == "numbers":
        return " ".join(str(number) for number in value)
    if kind == "cache":
        return "page allocator" if value is None else value
    if kind == "size":
        return format_size(value)
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "fraction":
        return f"{value:.3f}"
    if kind == "hex":
        return f"{value:#x}"
    if kind == "addresses":
        return " ".join(f"{number:#x}" for number in value)
    if kind == "oserr":
        return ", ".join("OK" if name == "OS_ERR_NONE" else name.removeprefix("OS_ERR_MEM_") for name in value)
    return str(value)


def check_answer(kind: str, expected, text, context: dict | None = None) -> Verdict:
    """Compare what a student typed with the right answer; never raises for a malformed answer."""
    try:
        given = parse_kind(kind, text)
    except InvalidArgument as error:
        return Feedback(False, f"could not read the answer: {error}")
    if _equal(kind, given, expected):
        return Feedback(True, "correct")
    return Feedback(False, _FEEDBACK.get(kind, _generic)(given, expected, context or {}))


def _equal(kind: str, given, expected) -> bool:
    if kind == "fraction":
        return abs(given - expected) <= 0.0005
    return given == expected


def _generic(given, expected, context) -> str:
    return context.get("hint", "not this one")


def _pfn_feedback(given, expected, context) -> str:
    if expected is None:
        return "this request cannot be satisfied: look at the free lists and the watermark again"
    if given is None:
        return "this request succeeds: some free block is large enough"
    order = context.get("order", 0)
    if given == expected ^ (1 << order):
        return "that is the buddy of the block the allocator hands out: expand() keeps the lower half"
    if given % (1 << order):
        return f"a block of order {order} starts at a multiple of {1 << order} pages"
    if str(given) != hex(given) and int(str(given), 16) == expected:
        return "right digits, wrong base: pfns here are hexadecimal (write 0x...)"
    return "not this block: which free list does the allocator look at first, and which end of it?"


def _block_feedback(given, expected, context) -> str:
    if expected is None or given is None:
        return _pfn_feedback(None if given is None else given[0], None if expected is None else expected[0], context)
    (pfn, order), (right_pfn, right_order) = given, expected
    if pfn == right_pfn and order != right_order:
        return ("right pfn, wrong order: the block merges further with its buddies" if order < right_order
                else "right pfn, wrong order: one of the buddies on the way up is not free")
    if order == right_order:
        return "right order, wrong pfn: after a merge the block starts at the lower buddy (pfn & ~(2^order - 1))"
    return "neither the pfn nor the order is right: follow __free_one_page() one order at a time"


def _numbers_feedback(given, expected, context) -> str:
    names = context.get("names")
    if names is None:                       # a buddyinfo line: one count per order
        if len(given) != len(expected):
            return f"expected {len(expected)} numbers (one per order, 0 to {len(expected) - 1}), got {len(given)}"
        wrong = [str(order) for order, (a, b) in enumerate(zip(given, expected)) if a != b]
        return f"the count{'s' if len(wrong) > 1 else ''} for order{'s' if len(wrong) > 1 else ''} " \
               f"{', '.join(wrong)} differ{'' if len(wrong) > 1 else 's'}"
    return _items_feedback(given, expected, context)


def _items_feedback(given, expected, context) -> str:
    """Which of several named values are wrong (``context["names"]``), and the usual reason (``context["hint"]``)."""
    names = list(context.get("names") or [str(i + 1) for i in range(len(expected))])
    if len(given) != len(expected):
        return context.get("count_hint") or f"expected {len(expected)} values ({', '.join(names)}), got {len(given)}"
    if sorted(given) == sorted(expected):
        return "the right values, in the wrong order: " + ", ".join(names) + " in that order"
    wrong = [name for name, a, b in zip(names, given, expected) if a != b]
    hint = context.get("hint")
    return f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong" + (f": {hint}" if hint else "")


def _cache_feedback(given, expected, context) -> str:
    if expected is None:
        return "this size is above KMALLOC_MAX_CACHE_SIZE: no kmalloc cache serves it"
    if given is None:
        return "this size is served by a kmalloc cache, not directly by the page allocator"
    sizes = [_cache_bytes(name) for name in (given, expected)]
    if sizes[0] < sizes[1]:
        return "too small: that cache's objects cannot hold the request"
    if sizes[0] > sizes[1]:
        return "large enough, but a smaller kmalloc class also fits (not every class is a power of two)"
    return "right size class, wrong kind of cache: which GFP flags select the dma-, -rcl or -cg caches?"


def _cache_bytes(name: str) -> int:
    digits = name.rsplit("-", 1)[-1]
    return int(digits[:-1]) * 1024 if digits.endswith("k") else int(digits)


def _int_feedback(given, expected, context) -> str:
    if abs(given - expected) == 1:
        specific = "off by one"
    elif expected and given and (given == expected * 2 or given * 2 == expected):
        specific = "off by a factor of two"
    else:
        specific = "not this number"
    hint = context.get("hint")
    return f"{specific}: {hint}" if hint else specific


def _size_feedback(given, expected, context) -> str:
    if expected and given in (expected * 1024, expected // 1024) and given:
        return "off by a factor of 1024: check the unit"
    if given in (expected - context.get("page_size", 4096), expected + context.get("page_size", 4096)):
        return "one page off: is the guard page counted?"
    return "not this size"


def _fraction_feedback(given, expected, context) -> str:
    if 0 <= expected <= 1 and given > 1:
        return "this index lies between 0 and 1: write it as 0.916 or 916/1000"
    return "not this value"


_FEEDBACK = {"hex": _int_feedback, "addresses": _items_feedback, "oserr": _items_feedback, "pfn": _pfn_feedback, "block": _block_feedback, "numbers": _numbers_feedback, "cache": _cache_feedback,
             "int": _int_feedback, "size": _size_feedback, "fraction": _fraction_feedback}
