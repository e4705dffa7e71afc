"""A 32-bit preset's boot: the layout of ``boot_layout()`` applied to a Machine's memory.

``Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="vmalloc=256M highmem=512M")`` boots
through model/boot (firmware map, ``mem=``/``memmap=``, memblock); a preset whose
``highmem_rules`` names a :data:`~.layout_rules.RULES` entry then takes its pfn limits and zones
from :func:`~.layout.boot_layout`, as ``setup_arch()`` of that version does: ``find_low_pfn_range()``
and ``zone_sizes_init()`` (arch/x86/mm/init_32.c, 2.6.25+; arch/x86/kernel/setup_32.c in 2.6.24),
with the preset's ``pae``, ``vmsplit`` and ``fixaddr_start``.

* :func:`layout_for_machine`: the layout, from the booted e820 table (after the command line
  and ``trim_bios_range()``) and the ``vmalloc=``/``highmem=`` the command line gave; a flat
  machine (no firmware map) is RAM from pfn 0 to its size.
* :func:`zone_free_ranges`: the pfns memblock hands to the buddy allocator, up to the layout's
  ``max_pfn`` (a PAE kernel's RAM above 4 GiB is free RAM too: ``memblock_free_all()``).
* :func:`merge_dmesg`: the boot log with its ``last_pfn`` line (max_arch_pfn 2^24 with PAE),
  its memory lines, zone block and, after ``Memory:``,
  ``mem_init()``'s "virtual kernel memory layout:" block in this version's format.
"""

from __future__ import annotations

import re

from .layout import PAGE_SHIFT, Layout, boot_layout
from .layout_rules import get_rules

__all__ = ["layout_for_machine", "zone_free_ranges", "merge_dmesg", "check_highmem_preset"]

_E820_TYPE_RAM = 1
_MEMORY_LINE = re.compile(r"^\d+MB (HIGH|LOW)MEM available\.$|^  (mapped )?low ram: ")
#: find_low_pfn_range()'s warnings: printed before init_memory_mapping(), the totals after it (initmem_init())
_WARNING_LINE = re.compile(r"^Warning:? only |^Use a (PAE|HIGHMEM)|^only \d+MB highmem|^highmem size")
_ZONE_HEADER = re.compile(r"^Zone (PFN )?ranges:$")
_ZONE_ROW = re.compile(r"^  (DMA|DMA32|Normal|HighMem|Movable) ")
_MOVABLE = re.compile(r"^Movable zone start")


def check_highmem_preset(preset) -> None:
    """Refuse a preset whose highmem options no kernel has: unknown rules, a VMSPLIT PAE forbids.

    Raises :class:`~..errors.UnknownPreset`, :class:`~.errors.UnknownVmsplit` or
    :class:`~.errors.InvalidLayoutOption` naming what is accepted.
    """
    from .layout import page_offset_for
    from .errors import InvalidLayoutOption

    get_rules(preset.highmem_rules)
    if not isinstance(preset.pae, bool):
        raise InvalidLayoutOption(f"pae must be True or False, not {preset.pae!r}")
    page_offset_for(preset.vmsplit, preset.pae)
    if preset.fixaddr_start is not None and (isinstance(preset.fixaddr_start, bool)
                                             or not isinstance(preset.fixaddr_start, int)):
        raise InvalidLayoutOption(f"fixaddr_start must be an address such as 0xfff16000, not {preset.fixaddr_start!r}")


def layout_for_machine(preset, boot, nr_pages: int) -> Layout:
    """The layout a kernel of ``preset.highmem_rules`` computes on this machine's memory.

    ``boot`` is the machine's ``BootResult`` (None for a flat machine of ``nr_pages`` pages).
    """
    options = dict(pae=preset.pae, vmsplit=preset.vmsplit, fixaddr_start=preset.fixaddr_start)
    if boot is None:
        return boot_layout(preset.highmem_rules, firmware_map=[(0, nr_pages << PAGE_SHIFT, "usable")], **options)
    firmware = [(entry.addr, entry.end, "usable" if entry.type == _E820_TYPE_RAM else "reserved")
                for entry in boot.table]
    params = boot.early.params
    return boot_layout(preset.highmem_rules, firmware_map=firmware, vmalloc=params.vmalloc,
                       highmem=params.highmem, **options)


def zone_free_ranges(layout: Layout, boot, reserved_pfns: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pfn ranges free at boot, clipped to the layout's ``highend_pfn``.

    From memblock when the machine booted from a firmware map (with the e820 RAM above the
    32-bit limit model/boot stops at, which a PAE kernel keeps), else ``reserved_pfns`` (the flat
    machine's free ranges).
    """
    top = layout.highend_pfn
    if boot is None:
        ranges = list(reserved_pfns)
    else:
        ranges = list(boot.free_pfn_ranges)
        covered = boot.max_pfn
        for entry in boot.table:
            if entry.type == _E820_TYPE_RAM and entry.end >> PAGE_SHIFT > covered:
                start = max(-(-entry.addr >> PAGE_SHIFT), covered)
                ranges.append((start, entry.end >> PAGE_SHIFT))
    clipped = [(start, min(end, top)) for start, end in ranges if start < top]
    return [(start, end) for start, end in clipped if start < end]


def _last_pfn_line(boot, layout: Layout) -> str:
    """``e820_end_of_ram_pfn()``: the end of RAM, clamped to max_arch_pfn (2^24 with PAE, else 2^20)."""
    max_arch_pfn = 1 << (24 if layout.pae and layout.rules.highmem64g else 20)
    last_pfn = max((entry.end >> PAGE_SHIFT for entry in boot.table if entry.type == _E820_TYPE_RAM), default=0)
    return f"last_pfn = {min(last_pfn, max_arch_pfn):#x} max_arch_pfn = {max_arch_pfn:#x}"


def totals(layout: Layout, warnings_printed: bool) -> list[str]:
    """The HIGHMEM/LOWMEM and low ram lines, after the warnings unless those were already printed."""
    from .bootlog import memory_lines

    lines = memory_lines(layout)
    return lines[len(layout.messages):] if warnings_printed else lines


def merge_dmesg(lines: list[str], layout: Layout, boot=None) -> list[str]:
    """``lines`` with the memory lines and zone block of this layout, and its layout block at the end.

    The memory lines (warnings, ``NNNMB HIGHMEM available.``, ``NNNMB LOWMEM available.``, the
    low ram lines) replace those model/boot printed, where it printed them; the zone block
    replaces its zone block; the "virtual kernel memory layout:" block follows ``Memory:`` as
    ``mem_init()`` prints it after the totals.
    """
    from .bootlog import layout_block, zone_block

    out: list[str] = []
    memory_done = zones_done = warnings_done = False
    in_zones = False
    for line in lines:
        if in_zones:
            if _ZONE_ROW.match(line):
                continue
            in_zones = False
            if _MOVABLE.match(line):
                continue
        if _WARNING_LINE.match(line):
            if not warnings_done:
                out += layout.messages
                warnings_done = True
            continue
        if _MEMORY_LINE.match(line):
            if not memory_done:
                out += totals(layout, warnings_done)
                memory_done = True
            continue
        if _ZONE_HEADER.match(line):
            if not zones_done:
                out += zone_block(layout)
                zones_done = True
            in_zones = True
            continue
        if boot is not None and line.startswith("last_pfn = "):
            line = _last_pfn_line(boot, layout)
        out.append(line)
    if not memory_done:
        out += totals(layout, warnings_done)
    if not zones_done:
        out += zone_block(layout)
    return out + layout_block(layout)
