"""uC/OS-III error codes of the memory manager, and the errors the RTOS model raises.

The names and numbers are the ``OS_ERR`` enumeration of Source/os.h, weston-embedded/uC-OS3
V3.08.02 (commit 2fa9aeb, identical for these codes to V3.08.01).  uC/OS-III reports an error by
writing it to ``*p_err``; the model raises :class:`RtosError` carrying the same name and number.

Examples
--------
>>> error = RtosError("OS_ERR_MEM_INVALID_BLKS", "n_blks is 1")
>>> error.code, error.value
('OS_ERR_MEM_INVALID_BLKS', 22204)
"""

from __future__ import annotations

from ..errors import InvalidArgument, InvalidFree, KernelMemError  # InvalidFree: the heaps refuse unknown pointers

__all__ = ["OS_ERR", "RtosError", "RtosArgumentError", "HardFault", "AllocFailed", "HeapCorrupted", "InvalidFree",
           "check_int"]

#: ``OS_ERR`` values used by os_mem.c (Source/os.h, uC/OS-III V3.08.02).
OS_ERR: dict[str, int] = {
    "OS_ERR_NONE": 0,
    "OS_ERR_ILLEGAL_CREATE_RUN_TIME": 18001,
    "OS_ERR_MEM_CREATE_ISR": 22201,
    "OS_ERR_MEM_FULL": 22202,
    "OS_ERR_MEM_INVALID_P_ADDR": 22203,
    "OS_ERR_MEM_INVALID_BLKS": 22204,
    "OS_ERR_MEM_INVALID_PART": 22205,
    "OS_ERR_MEM_INVALID_P_BLK": 22206,
    "OS_ERR_MEM_INVALID_P_MEM": 22207,
    "OS_ERR_MEM_INVALID_P_DATA": 22208,
    "OS_ERR_MEM_INVALID_SIZE": 22209,
    "OS_ERR_MEM_NO_FREE_BLKS": 22210,
    "OS_ERR_OBJ_CREATED": 24001,
    "OS_ERR_OBJ_TYPE": 24004,
}


class RtosError(KernelMemError):
    """What uC/OS-III would write to ``*p_err``.

    Attributes
    ----------
    code : str
        The uC/OS-III name, ``"OS_ERR_MEM_NO_FREE_BLKS"``.
    value : int
        Its number in ``OS_ERR`` (22210).
    """

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in OS_ERR:
            raise KeyError(f"{code!r} is not an OS_ERR code of os.h")
        self.code = code
        self.value = OS_ERR[code]
        super().__init__(f"{code} ({self.value}): {detail}" if detail else f"{code} ({self.value})")


class RtosArgumentError(InvalidArgument):
    """An argument no C caller could pass as it is (a negative count, a float, an address with no RAM).

    uC/OS-III never sees such a value: the C compiler converts it first (``OS_MEM_QTY`` is a
    16-bit unsigned type), or the MCU has no memory there.  The message says what is accepted.
    """


class HardFault(KernelMemError):
    """The call would read or write outside the simulated RAM: on a Cortex-M4, a bus fault."""


class AllocFailed(KernelMemError):
    """``malloc()`` returned NULL.

    Attributes
    ----------
    size : int
        The request in bytes.
    reason : str
        Why, in the allocator's terms (the partition that was empty, the heap that had no chunk).
    """

    def __init__(self, message: str, *, size: int, reason: str = "") -> None:
        super().__init__(message)
        self.size = size
        self.reason = reason or message


class HeapCorrupted(KernelMemError, AssertionError):
    """``check_invariants()`` found the free list of a partition (or a heap) broken.

    After a call that uC/OS-III does not check (a put of a foreign block, a double put), this is the
    *expected* result: the model did what os_mem.c does, and this error names the damage.

    Attributes
    ----------
    problems : list of str
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def check_int(value, what: str, *, minimum: int | None = None, maximum: int | None = None,
              accepted: str = "") -> int:
    """``value`` as a Python int, or :class:`RtosArgumentError` (a bool is not a number; numpy ints are)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise RtosArgumentError(f"{what} {value!r} is a {type(value).__name__}, not an integer"
                                + (f"; {accepted}" if accepted else ""))
    number = int(value.__index__())
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "" if minimum is None else f"{minimum:,}"
        high = "" if maximum is None else f"{maximum:,}"
        raise RtosArgumentError(f"{what} {number:,} is out of range {low}..{high}" + (f"; {accepted}" if accepted else ""))
    return number
