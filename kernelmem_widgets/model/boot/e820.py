"""The firmware's memory map: the E820 table as arch/x86/kernel/e820.c keeps, edits and prints it.

Read in two versions, whose differences are :class:`E820Style` data, not ``if`` statements:

* **6.x** (a 6.12 copy of arch/x86/kernel/e820.c; the print formats are those of 3.x to 6.18):
  ``e820__print_table()`` prints ``"%s: [mem %#018Lx-%#018Lx] "`` and the type in words
  (``usable``, ``reserved``, ``soft reserved``, ``ACPI data``, ``ACPI NVS``, ``unusable``,
  ``persistent (type %u)``, else ``type %u``), the end *inclusive*;
  ``e820__range_remove()`` and ``__e820__range_update()`` print ``"e820: remove [mem
  %#010Lx-%#010Lx] "`` and ``"e820: update [mem %#010Lx-%#010Lx] "`` (KERN_DEBUG).
* **2.6.3x** (2.6.32.69 copy): ``e820_print_map()`` prints ``" %s: %016Lx - %016Lx "`` and the
  type in parentheses, the end *exclusive*; ``__e820_update_range()`` prints ``"e820 update
  range: %016Lx - %016Lx "``; the remove line ``"e820 remove range: ..."`` is in the 2.6.36/37
  captures (not in 2.6.32); there is no ``soft reserved`` and type 12 prints ``type 12``.

``E820Table.update_table()`` is ``e820__update_table()`` (``sanitize_e820_map()`` of 2.6): the
change-point sweep in which, where entries overlap, the higher type number wins, and PRAM and
Soft Reserved entries are never merged with a neighbour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidArgument

__all__ = ["E820_TYPE_RAM", "E820_TYPE_RESERVED", "E820_TYPE_ACPI", "E820_TYPE_NVS", "E820_TYPE_UNUSABLE",
           "E820_TYPE_PMEM", "E820_TYPE_PRAM", "E820_TYPE_SOFT_RESERVED", "E820_TYPE_RESERVED_KERN",
           "E820Entry", "E820Table", "E820Style", "E820_STYLES", "InvalidFirmwareMap", "ULLONG_MAX"]

E820_TYPE_RAM = 1
E820_TYPE_RESERVED = 2
E820_TYPE_ACPI = 3
E820_TYPE_NVS = 4
E820_TYPE_UNUSABLE = 5
E820_TYPE_PMEM = 7
E820_TYPE_PRAM = 12
E820_TYPE_SOFT_RESERVED = 0xEFFFFFFF
E820_TYPE_RESERVED_KERN = 128
ULLONG_MAX = (1 << 64) - 1


class InvalidFirmwareMap(InvalidArgument):
    """A firmware map the kernel would not accept as given (wrapping, overlapping, unparsable)."""


@dataclass(frozen=True)
class E820Entry:
    """``struct e820_entry``: ``size`` bytes from ``addr`` of one ``type``."""

    addr: int
    size: int
    type: int

    @property
    def end(self) -> int:
        """First byte after the entry (exclusive), as the 2.6 print shows it."""
        return self.addr + self.size

    @property
    def last(self) -> int:
        """Last byte of the entry (inclusive), as the 3.x+ print shows it."""
        return self.addr + self.size - 1


@dataclass(frozen=True)
class E820Style:
    """How one kernel generation prints and edits the table (see the module docstring)."""

    name: str
    entry: str                     # "modern": [mem a-b] words; "legacy": a - b (words)
    remove_line: str | None        # format with start, end (exclusive); None: silent
    update_line: str
    soft_reserved: bool
    pram_known: bool               # "persistent (type 12)" vs "type 12"
    header_bios: str = "BIOS-provided physical RAM map:"
    header_user: str = "user-defined physical RAM map:"

    def type_name(self, type_: int) -> str:
        """``e820_print_type()``."""
        if type_ in (E820_TYPE_RAM, E820_TYPE_RESERVED_KERN):
            word = "usable"
        elif type_ == E820_TYPE_RESERVED:
            word = "reserved"
        elif type_ == E820_TYPE_SOFT_RESERVED and self.soft_reserved:
            word = "soft reserved"
        elif type_ == E820_TYPE_ACPI:
            word = "ACPI data"
        elif type_ == E820_TYPE_NVS:
            word = "ACPI NVS"
        elif type_ == E820_TYPE_UNUSABLE:
            word = "unusable"
        elif type_ in (E820_TYPE_PMEM, E820_TYPE_PRAM) and self.pram_known:
            word = f"persistent (type {type_})"
        else:
            return f"type {type_}"
        return word if self.entry == "modern" else f"({word})"

    def entry_line(self, who: str, entry: E820Entry) -> str:
        if self.entry == "modern":
            return f"{who}: [mem {entry.addr:#018x}-{entry.last:#018x}] {self.type_name(entry.type)}"
        return f" {who}: {entry.addr:016x} - {entry.end:016x} {self.type_name(entry.type)}"


E820_STYLES = {
    "6.x": E820Style("6.x", "modern", "e820: remove [mem {start:#010x}-{last:#010x}]",
                     "e820: update [mem {start:#010x}-{last:#010x}]", soft_reserved=True, pram_known=True),
    "2.6": E820Style("2.6", "legacy", "e820 remove range: {start:016x} - {end:016x}",
                     "e820 update range: {start:016x} - {end:016x}", soft_reserved=False, pram_known=False),
}

_TYPE_WORDS = {"usable": E820_TYPE_RAM, "reserved": E820_TYPE_RESERVED, "soft reserved": E820_TYPE_SOFT_RESERVED,
               "ACPI data": E820_TYPE_ACPI, "ACPI NVS": E820_TYPE_NVS, "unusable": E820_TYPE_UNUSABLE}
_MODERN = re.compile(r"(?P<who>[\w -]+?):\s+\[mem\s+0x(?P<a>[0-9a-fA-F]+)-0x(?P<b>[0-9a-fA-F]+)\]\s+(?P<t>.+?)\s*$")
_LEGACY = re.compile(r"(?P<who>[\w -]+?):\s+(?P<a>[0-9a-fA-F]{8,16})\s+-\s+(?P<b>[0-9a-fA-F]{8,16})\s+(?P<t>.+?)\s*$")
_PREFIX = re.compile(r"^(?:<\d+>)?(?:\w{3}\s+\d+\s+[\d:]+\s+\S+\s+kernel:\s*)?(?:\[\s*[\d.]+\]\s*)?")


def _parse_type(text: str, line: str) -> int:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if text in _TYPE_WORDS:
        return _TYPE_WORDS[text]
    match = re.fullmatch(r"(?:persistent \()?type (\d+)\)?", text)
    if match:
        return int(match.group(1))
    raise InvalidFirmwareMap(f"unknown e820 type {text!r} in {line!r}; accepted: {', '.join(_TYPE_WORDS)}, "
                             "'persistent (type N)' or 'type N' (and the same in parentheses, 2.6 style)")


class E820Table:
    """``struct e820_table``: entries in the order the kernel holds them (not necessarily sorted).

    Examples
    --------
    >>> table = E820Table.parse('''
    ... BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
    ... BIOS-e820: [mem 0x0000000000100000-0x000000007ffdffff] usable''')
    >>> print(table.render("BIOS-e820", style="2.6"))
     BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)
     BIOS-e820: 0000000000100000 - 000000007ffe0000 (usable)
    """

    def __init__(self, entries=()) -> None:
        self.entries: list[E820Entry] = []
        for entry in entries:
            addr, size, type_ = (entry.addr, entry.size, entry.type) if isinstance(entry, E820Entry) else entry
            self.entries.append(_checked(addr, size, type_))

    # ------------------------------------------------------------------ reading and printing
    @classmethod
    def parse(cls, text: str, who: str | None = None) -> "E820Table":
        """Read the ``BIOS-e820:`` lines (or ``who``'s) of a boot log, in either print format.

        Lines of other prefixes, timestamps, syslog prefixes and ``<6>`` levels are skipped, so a
        whole ``dmesg`` can be given.  ``who`` defaults to the first prefix found among
        ``BIOS-e820``, ``user`` and ``modified``.
        """
        if not isinstance(text, str):
            raise InvalidFirmwareMap(f"E820Table.parse() takes boot-log text, not {type(text).__name__}")
        rows = []
        for raw in text.splitlines():
            line = _PREFIX.sub("", raw).rstrip()
            match = _MODERN.match(line.strip()) or _LEGACY.match(line.strip())
            if match is None:
                continue
            rows.append((match.group("who").strip(), match, line))
        if who is None:
            names = [name for name, _m, _l in rows]
            who = next((name for name in ("BIOS-e820", "user", "modified") if name in names), names[0] if names else None)
        table = cls()
        for name, match, line in rows:
            if name != who:
                continue
            start, stop = int(match.group("a"), 16), int(match.group("b"), 16)
            legacy = match.re is _LEGACY
            size = stop - start if legacy else stop - start + 1
            table.entries.append(_checked(start, size, _parse_type(match.group("t"), line)))
        if not table.entries:
            raise InvalidFirmwareMap(f"no '{who or 'BIOS-e820'}:' lines found; accepted: "
                                     "'BIOS-e820: [mem 0x...-0x...] usable' (3.x+) or "
                                     "'BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)' (2.6)")
        return table

    def lines(self, who: str = "BIOS-e820", style: str | E820Style = "6.x") -> list[str]:
        """``e820__print_table(who)``: one line per entry, in table order."""
        style = _style(style)
        return [style.entry_line(who, entry) for entry in self.entries]

    def render(self, who: str = "BIOS-e820", style: str | E820Style = "6.x") -> str:
        return "\n".join(self.lines(who, style))

    def __repr__(self) -> str:
        return f"E820Table({[(hex(e.addr), hex(e.size), e.type) for e in self.entries]})"

    def __eq__(self, other) -> bool:
        return isinstance(other, E820Table) and self.entries == other.entries

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def copy(self) -> "E820Table":
        return E820Table(self.entries)

    # ------------------------------------------------------------------ editing, as the kernel does
    def range_add(self, start: int, size: int, type_: int) -> None:
        """``e820__range_add()``: append (overlaps are resolved by :meth:`update_table`)."""
        self.entries.append(E820Entry(start, size, type_))

    def range_remove(self, start: int, size: int, old_type: int, check_type: bool,
                     style: str | E820Style = "6.x") -> tuple[int, str | None]:
        """``e820__range_remove()``: cut ``[start, start+size)`` out of entries (of ``old_type``).

        Returns ``(real_removed_size, log_line)``; the line is None where the version prints none.
        """
        style = _style(style)
        size = min(size, ULLONG_MAX - start)
        end = start + size
        line = None
        if style.remove_line is not None:
            line = style.remove_line.format(start=start, end=end, last=end - 1)
            line += " " + style.type_name(old_type) if check_type else " "
        removed = 0
        result: list[E820Entry] = []
        appended: list[E820Entry] = []
        for entry in self.entries:
            if check_type and entry.type != old_type:
                result.append(entry)
                continue
            if entry.addr >= start and entry.end <= end:
                removed += entry.size
                result.append(E820Entry(0, 0, 0))           # memset(entry, 0): a hole until sanitised
                continue
            if entry.addr < start and entry.end > end and style.name != "2.6":
                appended.append(E820Entry(end, entry.end - end, entry.type))
                result.append(E820Entry(entry.addr, start - entry.addr, entry.type))
                removed += size
                continue
            final_start, final_end = max(start, entry.addr), min(end, entry.end)
            if final_start >= final_end:
                result.append(entry)
                continue
            removed += final_end - final_start
            new_size = entry.size - (final_end - final_start)
            # 2.6.32 has no "range inside the entry" case: the entry just shrinks from its end
            addr = entry.addr if entry.addr < final_start else final_end
            result.append(E820Entry(addr, new_size, entry.type))
        self.entries = result + appended
        return removed, line

    def range_update(self, start: int, size: int, old_type: int, new_type: int,
                     style: str | E820Style = "6.x") -> tuple[int, str]:
        """``__e820__range_update()``: retype the ``old_type`` parts of ``[start, start+size)``."""
        style = _style(style)
        size = min(size, ULLONG_MAX - start)
        end = start + size
        line = (style.update_line.format(start=start, end=end, last=end - 1)
                + f" {style.type_name(old_type)} ==> {style.type_name(new_type)}")
        updated = 0
        result: list[E820Entry] = []
        appended: list[E820Entry] = []
        for entry in self.entries:
            if entry.type != old_type:
                result.append(entry)
                continue
            if entry.addr >= start and entry.end <= end:
                result.append(E820Entry(entry.addr, entry.size, new_type))
                updated += entry.size
                continue
            if entry.addr < start and entry.end > end:
                appended += [E820Entry(start, size, new_type), E820Entry(end, entry.end - end, entry.type)]
                result.append(E820Entry(entry.addr, start - entry.addr, entry.type))
                updated += size
                continue
            final_start, final_end = max(start, entry.addr), min(end, entry.end)
            if final_start >= final_end:
                result.append(entry)
                continue
            appended.append(E820Entry(final_start, final_end - final_start, new_type))
            updated += final_end - final_start
            addr = entry.addr if entry.addr < final_start else final_end
            result.append(E820Entry(addr, entry.size - (final_end - final_start), entry.type))
        self.entries = result + appended
        return updated, line

    def update_table(self) -> bool:
        """``e820__update_table()``: sort, remove overlaps (higher type wins), merge neighbours.

        Returns False, leaving the table as it is, where the kernel returns -1: fewer than two
        entries, or an entry that wraps around the 64-bit address space.
        """
        entries = self.entries
        if len(entries) < 2:
            return False
        if any(e.addr + e.size > ULLONG_MAX + 1 for e in entries):
            return False
        points = []
        for index, entry in enumerate(entries):
            if entry.size:
                points.append((entry.addr, 0, index))       # a start sorts before an end at one address
                points.append((entry.end, 1, index))
        points.sort(key=lambda p: (p[0], p[1]))
        overlap: list[int] = []
        new: list[list[int]] = []
        last_type, last_addr = 0, 0
        for addr, is_end, index in points:
            if is_end:
                overlap.remove(index)
            else:
                overlap.append(index)
            current = max((entries[i].type for i in overlap), default=0)
            if current != last_type or current in (E820_TYPE_PRAM, E820_TYPE_SOFT_RESERVED):
                if last_type and addr - last_addr:
                    new.append([last_addr, addr - last_addr, last_type])
                if current:
                    last_addr = addr
                last_type = current
        self.entries = [E820Entry(a, s, t) for a, s, t in new]
        return True

    # ------------------------------------------------------------------ queries
    def is_sorted_and_disjoint(self) -> bool:
        return all(a.end <= b.addr for a, b in zip(self.entries, self.entries[1:]))

    def total(self, type_: int = E820_TYPE_RAM) -> int:
        """Bytes of one type."""
        return sum(e.size for e in self.entries if e.type == type_)

    def mapped_any(self, start: int, end: int, type_: int = 0) -> bool:
        """``e820__mapped_any()``: some part of ``[start, end)`` is of ``type_`` (0: any type)."""
        return any((not type_ or e.type == type_) and e.addr < end and e.end > start for e in self.entries)

    def end_ram_pfn(self, limit_pfn: int, max_arch_pfn: int, types=(E820_TYPE_RAM, E820_TYPE_ACPI),
                    page_shift: int = 12) -> int:
        """``e820__end_ram_pfn()``: the pfn after the last RAM (6.x: RAM and ACPI data) page."""
        last_pfn = 0
        for entry in self.entries:
            if entry.type not in types:
                continue
            start_pfn, end_pfn = entry.addr >> page_shift, entry.end >> page_shift
            if start_pfn >= limit_pfn:
                continue
            if end_pfn > limit_pfn:
                last_pfn = limit_pfn
                break
            last_pfn = max(last_pfn, end_pfn)
        return min(last_pfn, max_arch_pfn)

    def search_gap(self, gapsize: int = 0x400000, gapstart: int = 0) -> tuple[int, int] | None:
        """``e820_search_gap()``: the largest hole below 4 GiB, searched from the top (ties: lowest)."""
        last = 1 << 32
        found = None
        for entry in reversed(self.entries):
            if last > entry.end:
                gap = last - entry.end
                if gap >= gapsize:
                    gapsize, gapstart, found = gap, entry.end, True
            last = min(last, entry.addr)
        return (gapstart, gapsize) if found else None


def _checked(addr, size, type_) -> E820Entry:
    for name, value in (("addr", addr), ("size", size), ("type", type_)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidFirmwareMap(f"e820 entry {name} {value!r} is not a non-negative integer")
    if addr + size > ULLONG_MAX + 1:
        raise InvalidFirmwareMap(f"e820 entry at {addr:#x} of size {size:#x} wraps around the 64-bit address space: "
                                 "__append_e820_table() ignores the whole firmware map ('Ignore the entry on "
                                 "64-bit overflow')")
    return E820Entry(addr, size, type_)


def _style(style) -> E820Style:
    if isinstance(style, E820Style):
        return style
    try:
        return E820_STYLES[style]
    except KeyError:
        raise InvalidArgument(f"unknown e820 print style {style!r}; accepted: {', '.join(E820_STYLES)}") from None
