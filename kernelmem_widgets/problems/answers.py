"""Reading an answer the way a person types it, and saying what is wrong with it.

Every kind of answer a problem asks for has a parser (``"32K"``, ``"0x400 order 2"``, ``"fails"``,
``"916/1000"``, a whole buddyinfo line) and a checker that returns feedback naming the specific
mistake (the buddy instead of the block, the right pfn with the wrong order, one size class off)
without giving the right answer away.  The notebook's answer box, the CLI and the grader all
call :func:`check_answer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from ..model.errors import InvalidArgument, KernelMemError
from ..model.units import format_size, memparse

__all__ = ["KINDS", "Verdict", "parse_answer", "check_answer", "format_answer"]

MAX_ANSWER_CHARS = 400
_FAIL_WORDS = {"fail", "fails", "failed", "failure", "none", "null", "-", "enomem", "refused", "no"}
_YES = {"yes", "y", "true", "ok", "loads", "load", "succeeds", "success", "works", "fits"}
_NO = {"no", "n", "false", "fails", "fail", "refused", "enomem", "-enomem", "doesn't", "does not", "no fit"}
_LARGE_WORDS = {"none", "large", "page allocator", "alloc_pages", "pages", "buddy", "no cache", "kmalloc_large"}
_NUMBER = re.compile(r"^(0x[0-9a-f]+|[0-9]+)$")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``correct``, and feedback a student can act on."""

    correct: bool
    feedback: str

    def __bool__(self) -> bool:
        return self.correct


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
    return tuple(_int(word, "count") for word in text.split())


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
        value = Fraction(text.replace(" ", "")) if "/" in text else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise InvalidArgument(f"{text!r} is not a number: write 0.916 or 916/1000") from None
    return float(value)


def _parse_int(text: str):
    return _int(text, "whole number")


KINDS = {
    "pfn": _parse_pfn, "block": _parse_block, "numbers": _parse_numbers, "cache": _parse_cache,
    "size": _parse_size, "bool": _parse_bool, "fraction": _parse_fraction, "int": _parse_int,
}


def parse_answer(kind: str, text):
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
    return str(value)


def check_answer(kind: str, expected, text, context: dict | None = None) -> Verdict:
    """Compare what a student typed with the right answer; never raises for a malformed answer."""
    try:
        given = parse_answer(kind, text)
    except InvalidArgument as error:
        return Verdict(False, f"could not read the answer: {error}")
    if _equal(kind, given, expected):
        return Verdict(True, "correct")
    return Verdict(False, _FEEDBACK.get(kind, _generic)(given, expected, context or {}))


def _equal(kind: str, given, expected) -> bool:
    if kind == "fraction":
        return abs(given - expected) <= 0.0005
    return given == expected


def _generic(given, expected, context) -> str:
    return "not this one"


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
    if len(given) != len(expected):
        return f"expected {len(expected)} numbers (one per order, 0 to {len(expected) - 1}), got {len(given)}"
    wrong = [str(order) for order, (a, b) in enumerate(zip(given, expected)) if a != b]
    return f"the count{'s' if len(wrong) > 1 else ''} for order{'s' if len(wrong) > 1 else ''} {', '.join(wrong)} " \
           "differ{}".format("" if len(wrong) > 1 else "s")


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
        return "off by one"
    if expected and given and (given == expected * 2 or given * 2 == expected):
        return "off by a factor of two"
    return "not this number"


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


_FEEDBACK = {"pfn": _pfn_feedback, "block": _block_feedback, "numbers": _numbers_feedback, "cache": _cache_feedback,
             "int": _int_feedback, "size": _size_feedback, "fraction": _fraction_feedback}
