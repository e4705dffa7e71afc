"""The kernel command line: ``next_arg()``, ``memparse()`` and the early parameters that shape memory.

* ``memparse()`` is lib/cmdline.c (6.x): ``simple_strtoull(ptr, &end, 0)`` (``0x`` + a hex digit
  means hex, a leading ``0`` octal, digits otherwise; no digits at all parse as 0 and consume
  nothing), then at most ONE suffix letter K M G T P E in either case, each another ``<< 10``.
  Whatever follows is left for the caller: ``mem=`` ignores it, ``memmap=`` rejects it.  The
  arithmetic wraps at 64 bits as the C does.
* ``next_arg()`` (lib/cmdline.c / kernel/params.c): words split on spaces, double quotes group.
* The early parameters are those of arch/x86/kernel/e820.c (``mem=``, ``memmap=``),
  arch/x86/mm/pgtable_32.c (``vmalloc=``, i386 only), the i386 ``highmem=``,
  kernel/dma/contiguous.c ``early_cma()`` (``cma=``) and kernel/crash_reserve.c
  ``parse_crashkernel()`` (``crashkernel=``, simple and range forms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InvalidArgument

__all__ = ["memparse", "simple_strtoull", "parse_cmdline", "InvalidBootParameter", "CmdlineParam",
           "MEMMAP_FORMS", "MEM_FORMS"]

_MASK = (1 << 64) - 1
_SHIFTS = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
MEM_FORMS = "mem=nn[KMGTPE] (highest usable address, e.g. mem=1G) or mem=nopentium (i386 only)"
MEMMAP_FORMS = ("memmap=exactmap, memmap=nn[KMG]@ss[KMG] (usable), memmap=nn[KMG]#ss[KMG] (ACPI data), "
                "memmap=nn[KMG]$ss[KMG] (reserved), memmap=nn[KMG]!ss[KMG] (persistent, type 12), "
                "memmap=nn[KMG]%ss[KMG]-oldtype+newtype, memmap=nn[KMG] (like mem=), several joined by ','")


class InvalidBootParameter(InvalidArgument):
    """A boot parameter the kernel would reject or ignore.

    Attributes
    ----------
    param : str
        The parameter (``"mem"``, ``"memmap"`` ...).
    kernel_line : str or None
        What the kernel prints for it (``Malformed early option 'mem'``), or None where it says
        nothing and silently ignores the value.
    """

    def __init__(self, message: str, *, param: str, kernel_line: str | None = None):
        super().__init__(message)
        self.param = param
        self.kernel_line = kernel_line


def simple_strtoull(text: str, pos: int = 0, base: int = 0) -> tuple[int, int]:
    """``simple_strtoull(text + pos, &end, base)``: the value and the index after the digits.

    >>> simple_strtoull("0x1fG")
    (31, 4)
    >>> simple_strtoull("0x")          # "0" then 'x' is not a digit
    (0, 1)
    """
    if base == 0:
        if text[pos:pos + 1] == "0" and text[pos + 1:pos + 2] in ("x", "X") and \
                text[pos + 2:pos + 3].lower() in "0123456789abcdef" and text[pos + 2:pos + 3]:
            base, pos = 16, pos + 2
        elif text[pos:pos + 1] == "0":
            base = 8
        else:
            base = 10
    elif base == 16 and text[pos:pos + 2].lower() == "0x":
        pos += 2
    value, index = 0, pos
    while index < len(text):
        digit = int(text[index], 36) if text[index].isalnum() and text[index].isascii() else 99
        if digit >= base:
            break
        value = (value * base + digit) & _MASK
        index += 1
    return value, index


def memparse(text: str, pos: int = 0) -> tuple[int, int]:
    """``memparse(ptr, &retptr)``: a size with an optional K/M/G/T/P/E suffix; returns (bytes, end).

    >>> memparse("64M$0x30000000")
    (67108864, 3)
    >>> memparse("512MB")              # one suffix letter only: "B" is left over
    (536870912, 4)
    >>> memparse("junk")
    (0, 0)
    """
    value, end = simple_strtoull(text, pos, 0)
    suffix = text[end:end + 1].lower()
    if suffix in _SHIFTS:
        value = (value << _SHIFTS[suffix]) & _MASK
        end += 1
    return value, end


@dataclass(frozen=True)
class CmdlineParam:
    """One word of the command line: ``param`` and ``value`` (None for a bare word)."""

    param: str
    value: str | None
    position: int = 0

    def __str__(self) -> str:
        return self.param if self.value is None else f"{self.param}={self.value}"


def parse_cmdline(text: str) -> list[CmdlineParam]:
    """Split a command line into ``param[=value]`` words as ``next_arg()`` does.

    Double quotes group words (``"a b"``) and are dropped, as the kernel drops a leading and a
    trailing quote of the value.  Dashes and underscores in the name are kept as written
    (``parameq()`` treats them as equal when matching).

    >>> [str(p) for p in parse_cmdline('ro mem=1G  memmap=64M$0x30000000 foo="a b"')]
    ['ro', 'mem=1G', 'memmap=64M$0x30000000', 'foo=a b']
    """
    if not isinstance(text, str):
        raise InvalidBootParameter(f"the command line must be text, not {type(text).__name__}", param="cmdline")
    params, index, position = [], 0, 0
    while index < len(text):
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            break
        start, quoted = index, False
        while index < len(text) and (quoted or not text[index].isspace()):
            if text[index] == '"':
                quoted = not quoted
            index += 1
        word = text[start:index]
        name, eq, value = word.partition("=")
        name = name.replace('"', "")
        if eq:
            if value.startswith('"'):
                value = value[1:]
                if value.endswith('"'):
                    value = value[:-1]
            params.append(CmdlineParam(name, value, position))
        else:
            params.append(CmdlineParam(name, None, position))
        position += 1
    return params


def param_matches(name: str, wanted: str) -> bool:
    """``parameq()``: '-' and '_' are the same character in parameter names."""
    return name.replace("-", "_") == wanted.replace("-", "_")


@dataclass
class CrashKernel:
    """What ``crashkernel=`` asks for: a size, an optional fixed base, high/low placement."""

    size: int
    base: int | None = None
    high: bool = False
    text: str = ""


_CRASH_RANGE = re.compile(r"^(?P<ranges>(?:[^,@]+-[^,@]*:[^,@]+,?)+)(?:@(?P<off>.+))?$")


def parse_crashkernel(value: str, system_ram: int) -> CrashKernel:
    """``parse_crashkernel()``: ``size[KMG][@offset]``, ``size,high|low`` or ``start-[end]:size,...``."""
    accepted = ("accepted: crashkernel=size[KMG][@offset[KMG]], crashkernel=size[KMG],high, "
                "crashkernel=size[KMG],low or crashkernel=start-[end]:size[,start-[end]:size...][@offset]")
    if not value:
        raise InvalidBootParameter(f"crashkernel= has no value; {accepted}", param="crashkernel")
    if ":" in value:
        match = _CRASH_RANGE.match(value)
        if match is None:
            raise InvalidBootParameter(f"crashkernel={value}: not a list of ranges; {accepted}", param="crashkernel")
        chosen = 0
        for piece in filter(None, match.group("ranges").split(",")):
            span, _colon, size_text = piece.partition(":")
            lo_text, _dash, hi_text = span.partition("-")
            lo, end = memparse(lo_text)
            hi, hend = memparse(hi_text) if hi_text else (None, 0)
            size, send = memparse(size_text)
            if end != len(lo_text) or (hi_text and hend != len(hi_text)) or send != len(size_text):
                raise InvalidBootParameter(f"crashkernel={value}: {piece!r} is not start-[end]:size; {accepted}",
                                           param="crashkernel")
            if hi is not None and hi <= lo:
                raise InvalidBootParameter(f"crashkernel={value}: range {piece!r} ends before it starts "
                                           "(the kernel prints 'crashkernel: end <= start')", param="crashkernel",
                                           kernel_line="crashkernel: end <= start")
            if system_ram >= lo and (hi is None or system_ram < hi):
                chosen = size
        base = None
        if match.group("off"):
            base, bend = memparse(match.group("off"))
            if bend != len(match.group("off")):
                raise InvalidBootParameter(f"crashkernel={value}: bad offset; {accepted}", param="crashkernel")
        return CrashKernel(chosen, base, False, value)
    size, end = memparse(value)
    if end == 0:
        raise InvalidBootParameter(f"crashkernel={value}: no size; {accepted}", param="crashkernel",
                                   kernel_line="crashkernel: memory value expected")
    rest = value[end:]
    if rest in (",high", ",low"):
        return CrashKernel(size, None, rest == ",high", value)
    if rest.startswith("@"):
        base, bend = memparse(rest, 1)
        if bend != len(rest):
            raise InvalidBootParameter(f"crashkernel={value}: junk after the offset; {accepted}", param="crashkernel")
        return CrashKernel(size, base, False, value)
    if rest:
        raise InvalidBootParameter(f"crashkernel={value}: unexpected {rest!r}; {accepted}", param="crashkernel",
                                   kernel_line="crashkernel: unrecognized char: " + rest[0])
    return CrashKernel(size, None, False, value)


@dataclass
class CmaRequest:
    """``cma=nn[MG][@start[MG][-end[MG]]]`` as ``early_cma()`` reads it."""

    size: int
    base: int = 0
    limit: int = 0
    text: str = ""


def parse_cma(value: str) -> CmaRequest:
    """``early_cma()``: size, then optional ``@base`` and ``-limit`` (limit defaults to base + size)."""
    accepted = "accepted: cma=nn[MG][@start[MG][-end[MG]]], e.g. cma=64M or cma=64M@0x10000000"
    size, end = memparse(value or "")
    if not value or end == 0:
        raise InvalidBootParameter(f"cma={value}: no size; {accepted}", param="cma")
    base = limit = 0
    if value[end:end + 1] == "@":
        base, end = memparse(value, end + 1)
        limit = base + size
        if value[end:end + 1] == "-":
            limit, end = memparse(value, end + 1)
    elif end != len(value):
        # early_cma(): "if (*p != '@') return 0;" - the rest is ignored
        return CmaRequest(size, 0, 0, value)
    if end != len(value):
        raise InvalidBootParameter(f"cma={value}: junk {value[end:]!r} after the range; {accepted}", param="cma")
    return CmaRequest(size, base, limit, value)


@dataclass
class EarlyParams:
    """The memory-shaping parameters of one command line, in the order they appear."""

    words: list[CmdlineParam] = field(default_factory=list)
    mem: list[CmdlineParam] = field(default_factory=list)
    memmap: list[CmdlineParam] = field(default_factory=list)
    vmalloc: int | None = None
    highmem: int | None = None
    cma: CmaRequest | None = None
    crashkernel: str | None = None
    ignored: list[str] = field(default_factory=list)
