"""Type checks at the model's public boundary, shared by every layer.

The kernel takes C integers; Python callers hand in ``True``, ``3.0``, ``"3"``, ``np.uint8(9)`` or
``None``.  These helpers accept exactly what the kernel's argument means (any Python or numpy
integer, converted to a plain ``int`` so that no fixed-width arithmetic overflows later; never a
``bool``) and raise the named error the caller chose, with what is accepted, before anything
is mutated.
"""

from __future__ import annotations

import numbers

from .errors import InvalidArgument

__all__ = ["as_int", "as_text", "parse_count", "in_range", "power_of_two", "MAX_TEXT", "MAX_DIGITS"]

#: Longest text a parser or a literal operation reads (characters); a /proc file of a machine with
#: hundreds of caches is well below it.
MAX_TEXT = 4 << 20
#: Longest run of digits read as one number: 2**64 has 20 digits, 0x-hex of 2**64 has 16.
MAX_DIGITS = 24


def as_int(value, what: str, accepted: str, error: type[InvalidArgument] = InvalidArgument) -> int:
    """``value`` as a plain ``int`` if it is a Python or numpy integer (not a bool), else ``error``.

    >>> import numpy as np
    >>> as_int(np.uint8(9), "order", "0..10")
    9
    """
    if value.__class__ is int:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise error(f"{what} {value!r} is not an integer ({type(value).__name__}); accepted: {accepted}")
    return int(value)


def as_text(value, what: str, accepted: str, error: type[InvalidArgument] = InvalidArgument,
            limit: int = MAX_TEXT) -> str:
    """``value`` if it is a ``str`` of at most ``limit`` characters, else ``error``."""
    if not isinstance(value, str):
        raise error(f"{what} must be text (str), not {type(value).__name__}; accepted: {accepted}")
    if len(value) > limit:
        raise error(f"{what} of {len(value):,} characters is longer than this kit reads ({limit:,}); "
                    f"accepted: {accepted}")
    return value


def parse_count(token: str, what: str) -> int:
    """A non-negative decimal count as /proc prints it (``%lu``): ASCII digits only, at most
    :data:`MAX_DIGITS` of them, read in time linear in the token."""
    if not (token.isascii() and token.isdigit()) or len(token) > MAX_DIGITS:
        shown = token if len(token) <= 40 else token[:40] + "..."
        raise InvalidArgument(f"{what}: {shown!r} is not a count (at most {MAX_DIGITS} decimal digits 0-9)")
    return int(token)


def in_range(value, what: str, low: int, high: int, error: type[InvalidArgument] = InvalidArgument) -> int:
    """``value`` as a plain ``int`` in ``low..high`` (a Python or numpy integer, not a bool), else ``error``
    naming the accepted range: checked before any arithmetic whose cost grows with the value."""
    accepted = f"an integer {low:,}..{high:,}"
    value = as_int(value, what, accepted, error)
    if not low <= value <= high:
        shown = f"{value:,}" if abs(value) < 10 ** 30 else f"a {len(str(abs(value)))}-digit number"
        raise error(f"{what} {shown} is out of range; accepted: {accepted}")
    return value


def power_of_two(value, what: str, low: int, high: int, error: type[InvalidArgument] = InvalidArgument) -> int:
    """``value`` as a plain ``int`` that is a power of two in ``low..high``, else ``error``."""
    value = in_range(value, what, low, high, error)
    if value & (value - 1):
        raise error(f"{what} {value:,} is not a power of two; accepted: a power of two {low:,}..{high:,}")
    return value
