"""vmalloc's page tables: one PTE per page, cleared at vfree, the TLB flushed lazily in batches.

Follows mm/vmalloc.c of Linux 6.18:

* ``__vmalloc_area_node()`` -> ``vmap_pages_range()``: one PTE per page of the area, PTE and
  PMD table pages allocated when the range enters a table not yet there;
* ``vfree()`` -> ``remove_vm_area()`` -> ``vunmap_range_noflush()``: the PTEs are cleared at once
  but no TLB entry is flushed; the range waits on the purge list (kernel page-table pages are
  never freed);
* ``free_vmap_area_noflush()``: when more than ``lazy_max_pages()`` pages wait, or when an
  allocation finds no room, ``__purge_vmap_area_lazy()`` flushes once for all of them:
  ``flush_tlb_kernel_range(start, end)`` over the span of every waiting range, which on x86
  (arch/x86/mm/tlb.c) is one ``flush_tlb_all()`` when the span is more than
  ``tlb_single_page_flush_ceiling`` (33) pages, else one INVLPG per page.

Until that flush a CPU may still hold a translation for a freed page (a stale entry); that is
safe only because the virtual range is not handed out again before the purge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AllocationError
from .pagetable import PageTable
from .paging import PAGE_KERNEL
from .set_memory import TLB_SINGLE_PAGE_FLUSH_CEILING

__all__ = ["VmapFlush", "VmallocMappings"]


@dataclass(frozen=True)
class VmapFlush:
    """One lazy purge: how many ranges and pages it released and which flush it took."""

    areas: int
    pages: int
    start: int
    end: int
    kind: str            # "all" or "pages"


class VmallocMappings:
    """A machine's vmalloc space with its PTEs in the kernel page table and a TLB to keep honest.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> from kernelmem_widgets.model.mmu.pagetable import PageTable
    >>> machine = Machine.preset("linux-6.18-tiny")
    >>> maps = VmallocMappings(machine.vmalloc, PageTable(machine))
    >>> addr = maps.vmalloc(3 * 4096)
    >>> maps.ptes_written, maps.page_table.walk(addr).memory_references
    (3, 4)
    """

    def __init__(self, space, page_table: PageTable, tlb=None) -> None:
        self.space, self.page_table, self.tlb = space, page_table, tlb
        self.ptes_written = 0
        self.ptes_cleared = 0
        self.flushes: list[VmapFlush] = []
        self._mapped: dict[int, int] = {}                   # area address -> pages mapped
        self._waiting: list[tuple[int, int]] = []           # (start, end) of ranges awaiting the purge

    @property
    def lazy_max_pages(self) -> int:
        return self.space.lazy_max_pages

    def vmalloc(self, size: int, gfp="GFP_KERNEL") -> int:
        """``vmalloc(size)`` and ``vmap_pages_range()`` for the area (and a nested page-array area)."""
        lazy_before = self.space.lazy_nr
        before = {area.addr for area in self.space.areas()}
        addr = self.space.vmalloc(size, gfp)
        if self.space.lazy_nr < lazy_before:
            self._purged()
        try:
            for area in self.space.areas():
                if area.addr not in before:
                    self.page_table.map_range(area.addr, area.pages, len(area.pages), "pte", PAGE_KERNEL)
                    self._mapped[area.addr] = len(area.pages)
                    self.ptes_written += len(area.pages)
        except AllocationError:          # a page-table page could not be had: undo the whole vmalloc
            for area in self.space.areas():
                if area.addr not in before and area.addr in self._mapped:
                    self.page_table.unmap_range(area.addr, self._mapped.pop(area.addr) * self.space.page_size,
                                                free_tables=False)
            self.space.unwind(addr)
            raise
        return addr

    def vfree(self, addr) -> None:
        """``vfree(addr)``: pages freed, PTEs cleared now, the TLB flushed at the next purge."""
        lazy_before = self.space.lazy_nr
        before = {area.addr: area.size for area in self.space.areas()}
        self.space.vfree(addr)
        after = {area.addr for area in self.space.areas()}
        for gone, size in before.items():
            if gone in after:
                continue
            nr = self._mapped.pop(gone, 0)
            if nr:
                self.page_table.unmap_range(gone, nr * self.space.page_size, free_tables=False)
                self.ptes_cleared += nr
            self._waiting.append((gone, gone + size))
        added = sum(size for a, size in before.items() if a not in after) // self.space.page_size
        if self.space.lazy_nr < lazy_before + added:
            self._purged()

    def purge(self) -> VmapFlush | None:
        """``vm_unmap_aliases()``-like: purge and flush now, whatever is waiting."""
        if not self._waiting:
            return None
        self.space.purge()
        return self._purged()

    def _purged(self) -> VmapFlush:
        ranges, self._waiting = self._waiting, []
        start = min(lo for lo, _ in ranges) if ranges else 0
        end = max(hi for _, hi in ranges) if ranges else 0
        pages = sum(hi - lo for lo, hi in ranges) // self.space.page_size
        kind = "all" if (end - start) // self.space.page_size > TLB_SINGLE_PAGE_FLUSH_CEILING else "pages"
        if self.tlb is not None and ranges:
            if kind == "all":
                self.tlb.flush_all()
            else:
                self.tlb.flush_pages(np.arange(start, end, self.space.page_size, dtype=np.uint64))
        flush = VmapFlush(len(ranges), pages, start, end, kind)
        self.flushes.append(flush)
        return flush

    def stale_ranges(self) -> list[tuple[int, int]]:
        """Ranges whose PTEs are gone but whose TLB entries a CPU may still hold."""
        return list(self._waiting)
