"""Applying the early parameters to the firmware map: ``parse_early_param()`` then ``e820__finish_early_params()``.

``parse_early_param()`` (init/main.c) walks the command line in order and calls each matching
``early_param()`` handler; a handler that returns non-zero makes the kernel print ``Malformed
early option '<param>'``.  ``parse_memopt()`` and ``parse_memmap_one()`` (arch/x86/kernel/e820.c,
6.12 copy and 2.6.32.69 copy) edit ``e820_table`` at once, printing their ``e820: remove`` lines
as they go; ``parse_memmap_opt()`` throws away ``parse_memmap_one()``'s result, so a bad
``memmap=`` piece is ignored in silence (after any range it already added).  Then, if any of them
set ``userdef``, ``e820__finish_early_params()`` sanitises the table (``early_panic("Invalid user
supplied memory map")`` if that fails) and prints ``user-defined physical RAM map:`` and the
``user:`` lines.

With ``strict=True`` (the default) whatever the kernel would reject or silently ignore raises
:class:`InvalidBootParameter` before the table is touched, naming the parameter, the accepted
forms and the kernel's own line; ``strict=False`` does exactly what the kernel does and lists
the kernel's complaints in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cmdline import (MEM_FORMS, MEMMAP_FORMS, EarlyParams, InvalidBootParameter, memparse, param_matches,
                      parse_cma, parse_cmdline, simple_strtoull)
from .e820 import (E820_STYLES, E820_TYPE_ACPI, E820_TYPE_PRAM, E820_TYPE_RAM, E820_TYPE_RESERVED, ULLONG_MAX,
                   E820Style, E820Table)

__all__ = ["BootRules", "BOOT_RULES", "EarlyResult", "apply_cmdline"]


@dataclass(frozen=True)
class BootRules:
    """What differs between kernel generations in reading the command line and the map.

    ``memmap_ops`` are the separators ``parse_memmap_one()`` knows; ``memmap_comma`` whether
    ``parse_memmap_opt()`` splits on ',' (4.x+); ``max_phys_bits`` the architecture's physical
    limit (x86-64 4-level MAX_PHYSMEM_BITS 46; i386 32, 36 with PAE).
    """

    name: str
    arch: str
    style: E820Style
    memmap_ops: str
    memmap_comma: bool
    max_phys_bits: int
    #: trim_bios_range(): RAM -> reserved below this (one page on 6.x; X86_RESERVE_LOW 64 KiB on 2.6.3x)
    low_reserve: int
    #: e820__end_ram_pfn() counts these types (6.x: RAM and ACPI data; 2.6: RAM only)
    end_pfn_types: tuple[int, ...] = (E820_TYPE_RAM, E820_TYPE_ACPI)


BOOT_RULES = {
    "6.x": BootRules("6.x", "x86_64", E820_STYLES["6.x"], "@#$!%", True, 46, 0x1000),
    "2.6-i386": BootRules("2.6-i386", "i386", E820_STYLES["2.6"], "@#$", False, 32, 0x10000, (E820_TYPE_RAM,)),
}


@dataclass
class EarlyResult:
    """The table after the early parameters, the log lines printed meanwhile, and the parameters."""

    table: E820Table
    lines: list[str]
    params: EarlyParams
    userdef: bool
    warnings: list[str] = field(default_factory=list)


def _rules(rules) -> BootRules:
    if isinstance(rules, BootRules):
        return rules
    try:
        return BOOT_RULES[rules]
    except KeyError:
        raise InvalidBootParameter(f"unknown boot rules {rules!r}; accepted: {', '.join(BOOT_RULES)}",
                                   param="rules") from None


def apply_cmdline(table: E820Table, cmdline: str, rules: str | BootRules = "6.x", *,
                  strict: bool = True) -> EarlyResult:
    """Apply ``mem=``/``memmap=`` (and record ``vmalloc=``, ``highmem=``, ``cma=``, ``crashkernel=``).

    Returns the final table and the kernel's log lines in its order and words.  The table given
    is not modified.

    Examples
    --------
    >>> fw = E820Table([(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
    ...                 (0x100000, 0x7fee0000, 1), (0x7ffe0000, 0x20000, 2)])
    >>> print("\\n".join(apply_cmdline(fw, "mem=1G").lines))
    e820: remove [mem 0x40000000-0xfffffffffffffffe] usable
    user-defined physical RAM map:
    user: [mem 0x0000000000000000-0x000000000009fbff] usable
    user: [mem 0x000000000009fc00-0x000000000009ffff] reserved
    user: [mem 0x00000000000f0000-0x00000000000fffff] reserved
    user: [mem 0x0000000000100000-0x000000003fffffff] usable
    user: [mem 0x000000007ffe0000-0x000000007fffffff] reserved
    """
    rules = _rules(rules)
    if not isinstance(table, E820Table):
        raise InvalidBootParameter(f"apply_cmdline() needs an E820Table, not {type(table).__name__}", param="e820")
    words = parse_cmdline(cmdline)
    if strict:
        _dry_run(table, words, rules)          # raises before anything is changed
    work = table.copy()
    result = EarlyResult(work, [], EarlyParams(words=words), False)
    for word in words:
        _handle(word, result, rules)
    if result.userdef:
        if len(result.table.entries) < 2 or not result.table.update_table():
            raise InvalidBootParameter(
                "the user-defined map has fewer than two entries, so e820__update_table() fails and "
                "e820__finish_early_params() calls early_panic(\"Invalid user supplied memory map\"); "
                "after memmap=exactmap give at least two ranges, e.g. memmap=exactmap memmap=640K@0 memmap=1023M@1M",
                param="memmap", kernel_line="Invalid user supplied memory map")
        result.lines.append(rules.style.header_user)
        result.lines += result.table.lines("user", rules.style)
    return result


def _dry_run(table: E820Table, words, rules: BootRules) -> None:
    scratch = EarlyResult(table.copy(), [], EarlyParams(words=list(words)), False)
    for word in words:
        _handle(word, scratch, rules, strict=True)


def _malformed(result: EarlyResult, word, strict: bool, why: str, accepted: str, extra: str | None = None) -> None:
    line = f"Malformed early option '{word.param}'"
    if strict:
        shown = f"{extra}; then '{line}'" if extra else line
        raise InvalidBootParameter(f"{word}: {why}; the kernel prints '{shown}'; accepted: {accepted}",
                                   param=word.param, kernel_line=line)
    if extra:
        result.lines.append(extra)
    result.lines.append(line)
    result.warnings.append(line)


def _ignored(result: EarlyResult, word, strict: bool, why: str, accepted: str) -> None:
    if strict:
        raise InvalidBootParameter(f"{word}: {why}; the kernel ignores it without a word; accepted: {accepted}",
                                   param=word.param, kernel_line=None)
    result.warnings.append(f"{word}: {why} (ignored)")


def _check_limit(result, word, strict, start, size, rules) -> None:
    limit = 1 << rules.max_phys_bits
    if strict and start + size > limit:
        raise InvalidBootParameter(
            f"{word}: the range {start:#x}-{start + size - 1:#x} is beyond the {rules.arch} physical address limit "
            f"{limit:#x} ({rules.max_phys_bits} bits); the kernel would add it and then never use it",
            param=word.param)


def _handle(word, result: EarlyResult, rules: BootRules, strict: bool = False) -> None:
    params, name = result.params, word.param
    if param_matches(name, "mem"):
        params.mem.append(word)
        _parse_memopt(word, result, rules, strict)
    elif param_matches(name, "memmap"):
        params.memmap.append(word)
        if word.value is None:
            _malformed(result, word, strict, "memmap needs a value", MEMMAP_FORMS)
            return
        pieces = word.value.split(",") if rules.memmap_comma else [word.value]
        for piece in pieces:
            _parse_memmap_one(word, piece, result, rules, strict)
    elif param_matches(name, "vmalloc") or param_matches(name, "highmem"):
        if rules.arch != "i386":
            params.ignored.append(str(word))
            if strict:
                raise InvalidBootParameter(f"{word}: {name}= is an early parameter of 32-bit x86 only "
                                           f"(arch/x86/mm/pgtable_32.c); a {rules.arch} kernel does not know it and "
                                           "passes it on to user space", param=name)
            return
        if word.value is None:
            _malformed(result, word, strict, f"{name} needs a size", f"{name}=nn[KMG], e.g. {name}=256M")
            return
        value, end = memparse(word.value)
        # highmem=0 is a real request (parse_highmem(): "forces highmem to be exactly 'size' bytes")
        zero_ok = name.startswith("highmem") and end == len(word.value)
        if strict and (end != len(word.value) or (value == 0 and not zero_ok)):
            raise InvalidBootParameter(f"{word}: {word.value!r} is not a size the kernel reads whole "
                                       f"(memparse stops at {word.value[end:]!r}); accepted: {name}=nn[KMG]",
                                       param=name)
        if name.startswith("vmalloc"):
            params.vmalloc = value
        else:
            params.highmem = value
    elif param_matches(name, "cma"):
        if word.value is None:
            _malformed(result, word, strict, "cma needs a size", "cma=nn[MG][@start[MG][-end[MG]]]",
                       extra="cma: Config string not provided")
            return
        try:
            params.cma = parse_cma(word.value)
        except InvalidBootParameter:
            if strict:
                raise
    elif param_matches(name, "crashkernel"):
        params.crashkernel = word.value or ""


def _parse_memopt(word, result: EarlyResult, rules: BootRules, strict: bool) -> None:
    """``parse_memopt()``."""
    if word.value is None:
        _malformed(result, word, strict, "mem needs a value", MEM_FORMS)
        return
    if word.value == "nopentium":
        if rules.arch == "i386":
            result.params.ignored.append("mem=nopentium: X86_FEATURE_PSE cleared (no 4 MiB pages)")
            return
        _malformed(result, word, strict, "mem=nopentium exists only on 32-bit x86", MEM_FORMS,
                   extra="mem=nopentium ignored! (only supported on x86_32)")
        return
    result.userdef = True
    mem_size, end = memparse(word.value)
    if mem_size == 0:
        _malformed(result, word, strict, f"{word.value!r} is not a size (memparse gives 0, and the kernel refuses "
                   "to remove all of memory)", MEM_FORMS)
        return
    if strict and end != len(word.value):
        raise InvalidBootParameter(f"{word}: memparse() stops at {word.value[end:]!r}; the kernel uses "
                                   f"{mem_size:#x} and ignores the rest; accepted: {MEM_FORMS}", param="mem")
    _removed, line = result.table.range_remove(mem_size, ULLONG_MAX - mem_size, E820_TYPE_RAM, True, rules.style)
    if line is not None:
        result.lines.append(line)


def _parse_memmap_one(word, piece: str, result: EarlyResult, rules: BootRules, strict: bool) -> None:
    """``parse_memmap_one()``: one comma-separated piece; its -EINVAL is dropped by the caller."""
    table, style = result.table, rules.style
    if piece.startswith("exactmap"):
        table.entries = []
        result.userdef = True
        return
    mem_size, p = memparse(piece)
    if p == 0:
        _ignored(result, word, strict, f"{piece!r} does not start with a size", MEMMAP_FORMS)
        return
    result.userdef = True
    op = piece[p:p + 1]
    if op and op in "@#$!" and op in rules.memmap_ops:
        start_at, end = memparse(piece, p + 1)
        if strict and end == p + 1:
            raise InvalidBootParameter(f"{word}: no start address after {op!r}; accepted: {MEMMAP_FORMS}",
                                       param="memmap")
        if strict and end != len(piece):
            raise InvalidBootParameter(f"{word}: {piece[end:]!r} after the start address: the kernel adds the range "
                                       f"and then ignores the piece's -EINVAL; accepted: {MEMMAP_FORMS}",
                                       param="memmap")
        _check_limit(result, word, strict, start_at, mem_size, rules)
        type_ = {"@": E820_TYPE_RAM, "#": E820_TYPE_ACPI, "$": E820_TYPE_RESERVED, "!": E820_TYPE_PRAM}[op]
        table.range_add(start_at, mem_size, type_)
        if end != len(piece):
            result.warnings.append(f"{word}: junk {piece[end:]!r} ignored")
        return
    if op == "%" and "%" in rules.memmap_ops:
        start_at, q = memparse(piece, p + 1)
        old = new = 0
        if piece[q:q + 1] == "-":
            old, q = simple_strtoull(piece, q + 1, 0)
        if piece[q:q + 1] == "+":
            new, q = simple_strtoull(piece, q + 1, 0)
        if q != len(piece):
            _ignored(result, word, strict, f"{piece!r}: junk {piece[q:]!r} after nn%ss-old+new", MEMMAP_FORMS)
            return
        if strict and old and new and old == new:
            raise InvalidBootParameter(f"{word}: old and new type are both {old}: __e820__range_update() hits "
                                       "BUG_ON(old_type == new_type)", param="memmap")
        _check_limit(result, word, strict, start_at, mem_size, rules)
        if old and new:
            _size, line = table.range_update(start_at, mem_size, old, new, style)
        elif new:
            table.range_add(start_at, mem_size, new)
            line = None
        else:
            _size, line = table.range_remove(start_at, mem_size, old, bool(old), style)
        if line is not None:
            result.lines.append(line)
        return
    if op:
        if strict:
            known = "".join(rules.memmap_ops)
            raise InvalidBootParameter(
                f"{word}: {op!r} is not one of this kernel's memmap separators {known!r}, so parse_memmap_one() "
                f"takes {piece[:p]!r} as 'memmap=nn' (like mem={piece[:p]}: all RAM above it removed) and then "
                f"ignores the junk; accepted: {MEMMAP_FORMS}", param="memmap")
        result.warnings.append(f"{word}: {piece[p:]!r} not understood: treated as memmap={piece[:p]} (like mem=)")
    _removed, line = table.range_remove(mem_size, ULLONG_MAX - mem_size, E820_TYPE_RAM, True, style)
    if line is not None:
        result.lines.append(line)
