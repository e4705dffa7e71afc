"""Changing the attributes of direct-map pages splits the large pages they sit in.

Follows ``__change_page_attr_set_clr()`` -> ``__change_page_attr()`` of
arch/x86/mm/pat/set_memory.c (Linux 6.18) for the direct map:

* a 4 KiB PTE gets the new bits;
* a large page (2 MiB or 1 GiB) whose new bits equal the old ones is left alone; one that the
  range covers whole, from its first byte, changes as a whole (``should_split_large_page()``
  keeps it: "cpa_2m_preserved"); otherwise ``__split_large_page()`` replaces it by 512 entries of
  the next size in a freshly allocated table page, ``split_page_count()`` moves the count
  (``direct_pages_count[level]--``, ``[level - 1] += 512``) and counts
  ``direct_map_level2_splits`` / ``direct_map_level3_splits``, and the walk is retried;
* ``cpa_flush()``: after a split, or for more than ``tlb_single_page_flush_ceiling`` (33) pages,
  one ``flush_tlb_all()``; otherwise one INVLPG per page.

``set_memory_ro`` clears _PAGE_RW, ``set_memory_rw`` sets it, ``set_memory_uc`` sets the UC-
cache mode (_PAGE_PCD with the default PAT layout; the memtype reservation it makes first is not
modelled), ``set_memory_wb`` clears PCD/PWT.  Not modelled: the alias of the kernel image
mapping, ``CPA_COLLAPSE`` (6.13+: merging back large pages for ROX execmem).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .direct_map import PMD_SIZE, PUD_SIZE, DirectMap
from .mmu_errors import BadAlignment, NotMapped
from .paging import _PAGE_PCD, _PAGE_PWT, _PAGE_RW

__all__ = ["CpaResult", "change_page_attr", "set_memory_ro", "set_memory_rw", "set_memory_uc", "set_memory_wb",
           "TLB_SINGLE_PAGE_FLUSH_CEILING"]

TLB_SINGLE_PAGE_FLUSH_CEILING = 33      # arch/x86/mm/tlb.c
PAGE = 4096


@dataclass(frozen=True)
class CpaResult:
    """What one ``set_memory_*()`` call changed and what it cost."""

    entries_changed: int
    splits_2m: int              # 2 MiB pages split into 4 KiB
    splits_1g: int              # 1 GiB pages split into 2 MiB
    tables_allocated: int
    flush: str                  # "all", "pages" or "none"


def change_page_attr(direct: DirectMap, addr: int, numpages: int, set_bits: int = 0, clear_bits: int = 0,
                     tlb=None) -> CpaResult:
    """Set and clear PTE bits on ``numpages`` pages of the direct map from ``addr``."""
    table = direct.page_table
    if isinstance(addr, bool) or not isinstance(addr, (int, np.integer)) or addr % PAGE:
        raise BadAlignment(f"set_memory_*({addr!r}): the address must be page aligned "
                           "(the kernel WARNs and rounds it down)")
    if isinstance(numpages, bool) or not isinstance(numpages, (int, np.integer)) or numpages < 1:
        raise BadAlignment(f"numpages={numpages!r}: a positive number of pages")
    addr, end = int(addr), int(addr) + int(numpages) * PAGE
    pages = np.arange(addr, end, PAGE, dtype=np.uint64)
    phys, _size, _refs = table.translate(pages)
    if (phys < 0).any():
        hole = int(pages[np.flatnonzero(phys < 0)[0]])
        raise NotMapped(f"{hole:#x} is not in the direct map (no RAM there): __change_page_attr() fails with -EFAULT")
    changed = splits_2m = splits_1g = 0
    before = table.tables_allocated
    va = addr
    while va < end:
        entry, size = table.leaf_entry(va)
        new = (entry | set_bits) & ~clear_bits
        start = va - (va - direct.page_offset) % size
        if size == PAGE:
            if new != entry:
                table.update_leaf(va, set_bits, clear_bits)
                changed += 1
            va += PAGE
            continue
        if new == entry:
            va = min(end, start + size)
            continue
        if va == start and end >= start + size:
            table.update_leaf(va, set_bits, clear_bits)
            changed += 1
            va += size
            continue
        table.split_leaf(va)
        if size == PUD_SIZE:
            direct.pages_count[PUD_SIZE] -= 1
            direct.pages_count[PMD_SIZE] += 512
            direct.splits["direct_map_level3_splits"] += 1
            splits_1g += 1
        else:
            direct.pages_count[PMD_SIZE] -= 1
            direct.pages_count[PAGE] += 512
            direct.splits["direct_map_level2_splits"] += 1
            splits_2m += 1
    flush = "none"
    if changed or splits_1g or splits_2m:
        flush = "all" if (splits_1g or splits_2m or numpages > TLB_SINGLE_PAGE_FLUSH_CEILING) else "pages"
        if tlb is not None:
            tlb.flush_all() if flush == "all" else tlb.flush_pages(pages)
    return CpaResult(changed, splits_2m, splits_1g, table.tables_allocated - before, flush)


def set_memory_ro(direct: DirectMap, addr: int, numpages: int, tlb=None) -> CpaResult:
    """``set_memory_ro(addr, numpages)``: clear _PAGE_RW."""
    return change_page_attr(direct, addr, numpages, clear_bits=_PAGE_RW, tlb=tlb)


def set_memory_rw(direct: DirectMap, addr: int, numpages: int, tlb=None) -> CpaResult:
    """``set_memory_rw(addr, numpages)``: set _PAGE_RW."""
    return change_page_attr(direct, addr, numpages, set_bits=_PAGE_RW, tlb=tlb)


def set_memory_uc(direct: DirectMap, addr: int, numpages: int, tlb=None) -> CpaResult:
    """``set_memory_uc(addr, numpages)``: cache mode UC- (PCD set, PWT clear)."""
    return change_page_attr(direct, addr, numpages, set_bits=_PAGE_PCD, clear_bits=_PAGE_PWT, tlb=tlb)


def set_memory_wb(direct: DirectMap, addr: int, numpages: int, tlb=None) -> CpaResult:
    """``set_memory_wb(addr, numpages)``: back to write-back (PCD and PWT clear)."""
    return change_page_attr(direct, addr, numpages, clear_bits=_PAGE_PCD | _PAGE_PWT, tlb=tlb)
