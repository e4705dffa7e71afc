"""The boot-log lines a 32-bit kernel prints about its memory layout, in each version's format.

* ``"%ldMB HIGHMEM available."`` (CONFIG_HIGHMEM kernels, always, even "0MB") then
  ``"%ldMB LOWMEM available."``: ``setup_memory()`` (to 2.6.24), ``initmem_init()`` (2.6.25+);
* ``"  mapped low ram: 0 - %08lx"`` / ``"  low ram: 0 - %08lx"``: ``setup_bootmem_allocator()``
  (2.6.3x to 6.x);
* the zone block of ``free_area_init_nodes()`` (mm/page_alloc.c): ``"Zone PFN ranges:"`` with
  ``"  %-8s %8lu -> %8lu"`` (2.6.24) or ``"  %-8s %0#10lx -> %0#10lx"`` (2.6.35), then
  ``"Zone ranges:"`` with ``"  %-8s [mem %0#10lx-%0#10lx]"`` (3.16) or ``[mem %#018Lx-%#018Lx]``
  (4.x+); an empty zone prints ``"  %-8s empty"`` from 2.6.35 on;
* ``"virtual kernel memory layout:"`` of ``mem_init()`` (arch/x86/mm/init_32.c, 2.6.24 to 5.6),
  lines ``"    fixmap  : 0x%08lx - 0x%08lx   (%4ld kB)"`` ..., with ``"  cpu_entry : ..."`` from
  4.15 and the ``.init``/``.data``/``.text`` lines when the kernel image's sections are known.
"""

from __future__ import annotations

from .layout import PAGE_SHIFT, Layout, pages_to_mb

__all__ = ["dmesg_lines", "zone_block", "layout_block", "memory_lines"]


def memory_lines(layout: Layout) -> list[str]:
    """Warnings, the HIGHMEM and LOWMEM lines and, where printed, the low ram lines."""
    lines = list(layout.messages)
    if layout.config_highmem:
        lines.append(f"{pages_to_mb(layout.highend_pfn - layout.highstart_pfn)}MB HIGHMEM available.")
    lines.append(f"{pages_to_mb(layout.max_low_pfn)}MB LOWMEM available.")
    if layout.rules.low_ram_lines:
        lowmem_end = layout.max_low_pfn << PAGE_SHIFT
        lines += [f"  mapped low ram: 0 - {lowmem_end:08x}", f"  low ram: 0 - {lowmem_end:08x}"]
    return lines


def zone_block(layout: Layout) -> list[str]:
    """The zone ranges ``free_area_init_nodes()`` prints (none before 2.6.19)."""
    rules = layout.rules
    if rules.zone_format is None:
        return []
    lines = [rules.zone_header]
    for name, start, end in layout.zones:
        if rules.zone_empty and start == end:
            lines.append(f"  {name:<8} empty")
        elif rules.zone_format == "dec":
            lines.append(f"  {name:<8} {start:8d} -> {end:8d}")
        elif rules.zone_format == "hex":
            lines.append(f"  {name:<8} {start:#010x} -> {end:#010x}")
        else:
            width = 10 if rules.zone_format == "mem10" else 18
            lines.append(f"  {name:<8} [mem {start << PAGE_SHIFT:#0{width}x}-{(end << PAGE_SHIFT) - 1:#0{width}x}]")
    lines.append(rules.movable_line)
    return lines


def _row(label: str, start: int, end: int, shift: int, unit: str) -> str:
    return f"{label} : 0x{start:08x} - 0x{end:08x}   ({(end - start) >> shift:4d} {unit})"


def layout_block(layout: Layout) -> list[str]:
    """``mem_init()``'s "virtual kernel memory layout:" block (empty where the version prints none)."""
    if not layout.rules.prints_layout:
        return []
    lines = ["virtual kernel memory layout:",
             _row("    fixmap ", layout.fixaddr_start, layout.fixaddr_top, 10, "kB")]
    if layout.rules.layout_cpu_entry and layout.cpu_entry_area is not None:
        base, size = layout.cpu_entry_area
        lines.append(_row("  cpu_entry", base, base + size, 10, "kB"))
    if layout.config_highmem:
        lines.append(_row("    pkmap  ", layout.pkmap_base, layout.pkmap_addr(layout.last_pkmap), 10, "kB"))
    lines.append(_row("    vmalloc", layout.vmalloc_start, layout.vmalloc_end, 20, "MB"))
    lines.append(_row("    lowmem ", layout.page_offset, layout.high_memory, 20, "MB"))
    for name, start, end in layout.kernel_sections:
        lines.append(_row(f"      {name:>5}", start, end, 10, "kB"))
    return lines


def dmesg_lines(layout: Layout) -> list[str]:
    """Every line above in boot order: setup_arch() (memory, zones) before mem_init() (layout)."""
    return memory_lines(layout) + zone_block(layout) + layout_block(layout)
