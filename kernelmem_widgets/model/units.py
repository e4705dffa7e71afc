"""Sizes: parsed like the kernel's ``memparse()`` and formatted for people.

``memparse()`` lives in lib/cmdline.c (Linux 6.18): it reads a number with
``simple_strtoull(ptr, &endptr, 0)`` (so ``0x`` means hex and a leading ``0`` octal) and then one
optional suffix among K, M, G, T, P, E (either case), each a further shift by 10.  The kernel
silently ignores whatever follows; a teaching kit should not, so trailing text is an error here.
"""

from __future__ import annotations

import re

from .errors import InvalidSize

__all__ = ["memparse", "parse_size", "format_size", "PAGE_SIZE", "SUFFIX_SHIFTS"]

PAGE_SIZE = 4096

SUFFIX_SHIFTS = {"K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}

_ACCEPTED = (
    "accepted: a non-negative integer (decimal, 0x hex or 0-prefixed octal) followed by at most "
    "one of K, M, G, T, P, E (any case, optionally with 'iB' or 'B'), e.g. '4096', '8K', '0x1000', "
    "'1G', '4 MiB'"
)
_NUMBER = re.compile(r"[ \t]*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[ \t]*([KMGTPEkmgtpe]?)(i?[bB])?[ \t]*\Z", re.ASCII)


def memparse(text: str | int) -> int:
    """Parse a size the way the kernel's ``memparse()`` does and return it in bytes.

    Parameters
    ----------
    text : str or int
        ``"4096"``, ``"8K"``, ``"0x1000"``, ``"010"`` (octal 8), ``"1G"``; an ``int`` is returned
        unchanged when it is not negative.

    Examples
    --------
    >>> memparse("8K")
    8192
    >>> memparse("0x10M")
    16777216
    >>> memparse("010")
    8
    """
    if isinstance(text, bool):
        raise InvalidSize(f"size {text!r} is a boolean, not a size; {_ACCEPTED}")
    if isinstance(text, int):
        if text < 0:
            raise InvalidSize(f"size {text} is negative; {_ACCEPTED}")
        return text
    if not isinstance(text, str):
        raise InvalidSize(f"size {text!r} is a {type(text).__name__}, not a size; {_ACCEPTED}")
    if len(text) > 64:
        raise InvalidSize(f"size text of {len(text):,} characters is not a size (at most 64 are read); {_ACCEPTED}")
    match = _NUMBER.match(text)
    if match is None:
        raise InvalidSize(f"{text!r} is not a size; {_ACCEPTED}")
    number, suffix, _unit = match.groups()
    if len(number.lstrip("0xX")) > 22:
        raise InvalidSize(f"{text!r} has more digits than any size (2**64 has 20); {_ACCEPTED}")
    return _strtoull(number) << SUFFIX_SHIFTS.get(suffix.upper(), 0)


def _strtoull(number: str) -> int:
    """``simple_strtoull(s, NULL, 0)``: 0x means hex, a leading 0 means octal."""
    if number[:2] in ("0x", "0X"):
        return int(number, 16)
    if len(number) > 1 and number[0] == "0":
        return int(number, 8)
    return int(number)


parse_size = memparse

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def format_size(nbytes: int) -> str:
    """Format a byte count the way people read it: ``4 KiB``, ``1.5 GiB``, ``100 B``.

    Examples
    --------
    >>> format_size(8192)
    '8 KiB'
    >>> format_size(3 << 29)
    '1.5 GiB'
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, float)) and not hasattr(nbytes, "__index__") \
            or nbytes != nbytes or nbytes in (float("inf"), float("-inf")):
        raise InvalidSize(f"format_size({nbytes!r:.40}): accepted: a finite number of bytes")
    if nbytes < 0:
        return "-" + format_size(-nbytes)
    unit = 0
    value = float(nbytes)
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{nbytes} B"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text} {_UNITS[unit]}"
