"""The boot-log lines about memory that ``free_area_init()``, ``e820__setup_pci_gap()`` and ``mem_init()`` print.

* 6.x, mm/mm_init.c ``free_area_init()``: ``Zone ranges:`` then ``"  %-8s "`` and ``"[mem
  %#018Lx-%#018Lx]"`` or ``empty`` for every zone but Movable (``Device`` with
  CONFIG_ZONE_DEVICE), ``Movable zone start for each node``, ``Early memory node ranges`` with
  ``"  node %3d: [mem %#018Lx-%#018Lx]"``, ``Initmem setup node %d [mem ...]``; ``memmap_init()``
  then ``On node %d, zone %s: %lld pages in unavailable ranges`` for each hole, counting only
  pfns of present 128 MiB sections, the tail rounded up to a section.
  arch/x86/kernel/e820.c ``e820__setup_pci_gap()``: ``[mem %#010lx-%#010lx] available for PCI
  devices``; mm/mm_init.c ``mem_init_print_info()``: ``Memory: %luK/%luK available (...)``.
* 2.6.3x, mm/page_alloc.c ``free_area_init_nodes()``: ``Zone PFN ranges:`` with ``"%0#10lx ->
  %0#10lx"``, ``Movable zone start PFN for each node``, ``early_node_map[%d] active PFN
  ranges`` with ``"  %3d: %0#10lx -> %0#10lx"``; ``e820_setup_gap()``: ``Allocating PCI
  resources starting at %lx (gap: %lx:%lx)``; i386 ``mem_init()``: ``Memory: %luk/%luk
  available (%dk kernel code, %dk reserved, %dk data, %dk init, %ldk highmem)``.
"""

from __future__ import annotations

__all__ = ["zone_lines", "memory_line", "mem_init_print_info", "pci_gap"]

SECTION_PAGES = 1 << 15


def pci_gap(result) -> tuple[int, int, bool]:
    """``e820__setup_pci_gap()``: (gapstart, gapsize, found)."""
    found = result.table.search_gap()
    if found is not None:
        return found[0], found[1], True
    if result.rules.arch == "i386":
        return 0x10000000, 0x400000, False
    return (result.max_pfn << 12) + (1 << 20), 0x400000, False


def _unavailable(result) -> list[str]:
    ranges = result.memory_ranges
    present = {pfn // SECTION_PAGES for s, e in ranges for pfn in range(s - s % SECTION_PAGES, e, SECTION_PAGES)}
    populated = [(name, lo, hi) for name, lo, hi in result.zone_spans
                 if any(max(s, lo) < min(e, hi) for s, e in ranges)]

    def count(lo: int, hi: int) -> int:
        total = 0
        for section in range(lo // SECTION_PAGES, -(-hi // SECTION_PAGES)):
            if section in present:
                total += min(hi, (section + 1) * SECTION_PAGES) - max(lo, section * SECTION_PAGES)
        return total

    lines, hole, zone_id = [], 0, None
    for start, end in ranges:
        for name, lo, hi in populated:
            s, e = max(start, lo), min(end, hi)
            zone_id = name
            if s >= e:
                continue
            if hole < s and count(hole, s):
                lines.append(f"On node 0, zone {name}: {count(hole, s)} pages in unavailable ranges")
            hole = e
    tail = -(-ranges[-1][1] // SECTION_PAGES) * SECTION_PAGES
    if zone_id is not None and hole < tail and count(hole, tail):
        lines.append(f"On node 0, zone {zone_id}: {count(hole, tail)} pages in unavailable ranges")
    return lines


def zone_lines(result) -> list[str]:
    """The zone, node and PCI-gap lines of the preset's kernel, after the pfn limits are known."""
    spans = result.zone_spans
    gapstart, gapsize, found = pci_gap(result)
    result.pci_gap = (gapstart, gapsize)
    if result.build.print_style == "2.6":
        out = ["Zone PFN ranges:"]
        for name, lo, hi in spans:
            out.append(f"  {name:<8} " + ("empty" if lo == hi else f"{lo:#010x} -> {hi:#010x}"))
        out.append("Movable zone start PFN for each node")
        out.append(f"early_node_map[{len(result.memory_ranges)}] active PFN ranges")
        out += [f"  {0:3d}: {s:#010x} -> {e:#010x}" for s, e in result.memory_ranges]
        out.append(f"Allocating PCI resources starting at {gapstart:x} (gap: {gapstart:x}:{gapsize:x})")
        return out
    out = ["Zone ranges:"]
    for name, lo, hi in spans:
        out.append(f"  {name:<8} " + ("empty" if lo == hi else f"[mem {lo << 12:#018x}-{(hi << 12) - 1:#018x}]"))
    if result.build.zone_device:
        out.append(f"  {'Device':<8} empty")
    out.append("Movable zone start for each node")
    out.append("Early memory node ranges")
    out += [f"  node {0:3d}: [mem {s << 12:#018x}-{(e << 12) - 1:#018x}]" for s, e in result.memory_ranges]
    first, last = result.memory_ranges[0][0], result.memory_ranges[-1][1]
    out.append(f"Initmem setup node 0 [mem {first << 12:#018x}-{(last << 12) - 1:#018x}]")
    out += _unavailable(result)
    if not found:
        out += ["Cannot find an available gap in the 32-bit address range",
                "PCI devices with unassigned 32-bit BARs may not work!"]
    out.append(f"[mem {gapstart:#010x}-{gapstart + gapsize - 1:#010x}] available for PCI devices")
    return out


def mem_init_print_info(build, physpages: int, totalram: int, totalcma: int = 0) -> str:
    """``mem_init_print_info()`` (mm/mm_init.c, 6.x), in pages of 4 KiB:

    ``available`` is ``nr_free_pages()`` when the line is printed: the ``totalram`` pages
    ``memblock_free_all()`` released, less what x86-64 ``mem_init()`` took from the buddy allocator
    right after (``preallocate_vmalloc_pages()``: one PUD page per PGD entry of the 32 TiB vmalloc
    area with 4-level paging, 64 pages, ``build.vmalloc_prealloc_pages``); ``/...K`` is
    ``get_num_physpages()`` (present pages, memblock memory); ``reserved`` is ``physpages -
    totalram_pages() - totalcma_pages``; the section sizes are the build's (``init`` is init code
    plus init data).
    """
    available = totalram - build.vmalloc_prealloc_pages
    return (f"Memory: {available * 4}K/{physpages * 4}K available ({build.code >> 10}K kernel code, "
            f"{build.rwdata >> 10}K rwdata, {build.rodata >> 10}K rodata, {build.init >> 10}K init, "
            f"{build.bss >> 10}K bss, {(physpages - totalram - totalcma) * 4}K reserved, {totalcma * 4}K cma-reserved)")


def memory_line(result) -> str:
    """``Memory: ...`` as the preset's kernel prints it, after ``memblock_free_all()``."""
    free = sum(e - s for s, e in result.free_pfn_ranges)
    build = result.build
    if build.print_style == "2.6":
        low_free = sum(max(0, min(e, result.max_low_pfn) - s) for s, e in result.free_pfn_ranges)
        low_ram = sum(max(0, min(e, result.max_low_pfn) - s) for s, e in result.memory_ranges)
        return (f"Memory: {free * 4}k/{result.max_pfn * 4}k available ({build.code >> 10}k kernel code, "
                f"{(low_ram - low_free) * 4}k reserved, {build.rwdata >> 10}k data, {build.init >> 10}k init, "
                f"{(free - low_free) * 4}k highmem)")
    cma = (result.cma[1] >> 12) if result.cma else 0
    return mem_init_print_info(build, result.physpages, free, cma)
