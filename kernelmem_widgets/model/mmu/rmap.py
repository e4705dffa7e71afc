"""Which address spaces map each page: the folio map counts that COW and freeing look at.

A folio here is one allocation from the buddy allocator (order 0, or order 9 for a THP) with,
per subpage, the number of PTEs that map it, and the number of PMDs that map it whole
(``folio->_entire_mapcount`` and ``page->_mapcount`` of include/linux/mm_types.h, Linux 6.18).
When the last mapping goes the folio is freed back to the buddy allocator, as the final
``folio_put()`` after ``zap_pte_range()`` does.  The shared zero pages are not counted: they are
never freed (``empty_zero_page`` is in the kernel image; the huge zero folio is kept once made).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvariantViolation

__all__ = ["Folio", "Rmap"]


class Folio:
    __slots__ = ("pfn", "order", "pte_maps", "pmd_maps", "kind")

    def __init__(self, pfn: int, order: int, kind: str) -> None:
        self.pfn, self.order, self.kind = pfn, order, kind
        self.pte_maps = np.zeros(1 << order, dtype=np.int32)
        self.pmd_maps = 0

    @property
    def mapped(self) -> bool:
        return self.pmd_maps > 0 or bool(self.pte_maps.any())

    def mappers(self, pfn: int) -> int:
        """How many mappings reach subpage ``pfn``: whole-folio PMDs plus its own PTEs."""
        return self.pmd_maps + int(self.pte_maps[pfn - self.pfn])

    def __repr__(self) -> str:
        return f"<folio pfn {self.pfn:#x} order {self.order} {self.kind} pmd_maps={self.pmd_maps}>"


class Rmap:
    """The folios of one family of address spaces (a process and the children it forks)."""

    def __init__(self, machine) -> None:
        self.machine = machine
        self._by_pfn: dict[int, Folio] = {}       # every subpage pfn -> its folio
        self.zero_pfn: int | None = None
        self.huge_zero_pfn: int | None = None

    def add(self, pfn: int, order: int, kind: str) -> Folio:
        folio = Folio(pfn, order, kind)
        for sub in range(pfn, pfn + (1 << order)):
            self._by_pfn[sub] = folio
        return folio

    def folio(self, pfn: int) -> Folio | None:
        return self._by_pfn.get(pfn)

    def map_pte(self, pfn: int) -> None:
        folio = self._by_pfn.get(pfn)
        if folio is not None:
            folio.pte_maps[pfn - folio.pfn] += 1

    def unmap_pte(self, pfn: int) -> bool:
        """Drop one PTE mapping; free the folio when nothing maps it. True if it was freed."""
        folio = self._by_pfn.get(pfn)
        if folio is None:
            return False
        folio.pte_maps[pfn - folio.pfn] -= 1
        return self._maybe_free(folio)

    def unmap_pmd(self, pfn: int) -> bool:
        folio = self._by_pfn.get(pfn)
        if folio is None:
            return False
        folio.pmd_maps -= 1
        return self._maybe_free(folio)

    def _maybe_free(self, folio: Folio) -> bool:
        if folio.mapped:
            return False
        for sub in range(folio.pfn, folio.pfn + (1 << folio.order)):
            del self._by_pfn[sub]
        if folio.kind == "anon":       # page-cache pages stay with their file
            self.machine.free_pages(folio.pfn, folio.order)
        return folio.kind == "anon"

    def anon_pages(self) -> int:
        return sum(1 << f.order for f in set(self._by_pfn.values()) if f.kind == "anon")

    def check_invariants(self) -> None:
        for folio in set(self._by_pfn.values()):
            if (folio.pte_maps < 0).any() or folio.pmd_maps < 0:
                raise InvariantViolation(f"{folio}: negative map count")
            if folio.kind == "anon" and not folio.mapped:
                raise InvariantViolation(f"{folio}: an anonymous folio nothing maps was not freed")
            if folio.kind == "anon" and self.machine.zone_of(folio.pfn).allocated_order(folio.pfn) != folio.order:
                raise InvariantViolation(f"{folio}: not an allocated block of order {folio.order}")
