"""A user address space: mmap gives no pages, a touch faults them in, fork shares them copy-on-write.

Follows mm/memory.c, mm/huge_memory.c and kernel/fork.c of Linux 6.18:

* ``mmap()``: a VMA and nothing else (no page, no page table).  Anonymous mappings whose length
  is a multiple of 2 MiB get a 2 MiB-aligned address (``__get_unmapped_area()`` ->
  ``thp_get_unmapped_area_vmflags()``), top-down below ``mmap_base``.
* ``touch(addr, write)`` is a load or store: if the PTE allows it, nothing happens; otherwise
  ``handle_mm_fault()``:

  - no VMA, or a write to a VMA without VM_WRITE: SIGSEGV (``bad_area`` / ``access_error()``),
    returned as a result, nothing changes;
  - anonymous, PMD empty, THP allowed for the VMA (``always``, or ``madvise`` and the VMA was
    madvised) and the aligned 2 MiB inside the VMA: ``do_huge_pmd_anonymous_page()`` - a read maps
    the huge zero folio, a write allocates an order-9 folio with GFP_TRANSHUGE_LIGHT (no direct
    compaction: the default ``defrag=madvise`` for a VMA not madvised) plus one PTE page deposited
    for a later split; if no order-9 block is free: THP_FAULT_FALLBACK and the 4 KiB path;
  - anonymous, PTE empty: ``do_anonymous_page()`` - a read maps the shared zero page read-only
    (no allocation), a write allocates one order-0 page (GFP_HIGHUSER_MOVABLE | __GFP_ZERO);
  - file-backed read: ``do_read_fault()`` -> ``do_fault_around()``: the cached pages of the
    ``fault_around_bytes`` (64 KiB) window around the address, clamped to the VMA, the PTE table
    and the file, are mapped at once, read-only;
  - file-backed write to a private mapping: ``do_cow_fault()`` - a new anonymous page;
  - PTE present but read-only in a writable VMA: ``do_wp_page()`` - reuse the page if only this
    mapping has it, else ``wp_page_copy()`` (a new page; from the zero page: a zeroed one); a
    write-protected THP is split first (``do_huge_pmd_wp_page()`` -> ``__split_huge_pmd()``,
    since 5.8 a COW never copies 2 MiB) and one 4 KiB page is copied.
* ``fork()``: ``dup_mmap()`` -> ``copy_page_range()``: anonymous pages and THPs are shared, write-
  protected in parent and child (``copy_present_pte()``, ``copy_huge_pmd()``); file VMAs without
  anonymous pages are not copied (``vma_needs_copy()``: the child faults them back).
* ``munmap()``: ``zap_pte_range()`` drops the mappings, pages nothing else maps go back to the
  buddy allocator, and ``free_pgtables()`` frees the page-table pages left empty.

Counts are kept as /proc/vmstat names them (pgfault, thp_fault_alloc, thp_fault_fallback, ...).
Not modelled: swap, reclaim, mTHP sizes other than PMD (their default is ``never``), khugepaged,
readahead (a file's pages are all in the page cache: it was read before).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import AllocationError, InvalidArgument
from ..units import format_size
from .mmu_errors import AddressOutOfRange, BadAlignment, MappingConflict
from .paging import _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_NX, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER
from .pagetable import GFP_PGTABLE_USER, PageTable
from .rmap import Rmap

__all__ = ["File", "Vma", "FaultResult", "MmStruct", "FAULT_AROUND_BYTES", "TASK_SIZE", "MMAP_BASE"]

FAULT_AROUND_BYTES = 64 << 10          # mm/memory.c: fault_around_pages = 65536 >> PAGE_SHIFT
TASK_SIZE = 0x7FFFFFFFF000             # TASK_SIZE_MAX, 4-level x86-64 (arch/x86/include/asm/page_64_types.h)
MMAP_BASE = 0x7F0000000000             # mmap_base without ASLR, rounded for readability
PAGE = 4096
HPAGE = 2 << 20
GFP_USER_PAGE = "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"
#: GFP_TRANSHUGE_LIGHT (gfp_types.h): GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN,
#: without __GFP_RECLAIM; plus __GFP_ZERO as vma_alloc_anon_folio_pmd() clears it
GFP_TRANSHUGE_LIGHT = "__GFP_HARDWALL|__GFP_IO|__GFP_FS|__GFP_HIGHMEM|__GFP_MOVABLE|__GFP_COMP|__GFP_NOMEMALLOC|__GFP_NOWARN|__GFP_ZERO"
_USER_RO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
_USER_RW = _USER_RO | _PAGE_RW | _PAGE_DIRTY


class File:
    """A file whose pages are all in the page cache (order-0 movable pages, taken at creation)."""

    def __init__(self, machine, size: int, name: str = "file") -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise InvalidArgument(f"file size {size!r} must be a positive number of bytes")
        self.name, self.size = name, int(size)
        self.nr_pages = -(-self.size // PAGE)
        self.pages: list[int] = []
        try:
            for _ in range(self.nr_pages):
                self.pages.append(machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0))
        except AllocationError:
            for pfn in self.pages:
                machine.free_pages(pfn, 0)
            raise


@dataclass
class Vma:
    """``struct vm_area_struct``: [start, end), its protection, what backs it."""

    start: int
    end: int
    writable: bool
    file: File | None = None
    pgoff: int = 0
    shared: bool = False
    hugepage: bool = False          # madvise(MADV_HUGEPAGE): VM_HUGEPAGE
    anon_vma: bool = False          # has anonymous pages (COW copies in a file VMA count)

    @property
    def anonymous(self) -> bool:
        return self.file is None

    def __repr__(self) -> str:
        kind = f"file {self.file.name}" if self.file else "anon"
        return f"<vma {self.start:#x}-{self.end:#x} {'rw' if self.writable else 'r-'} {kind}>"


@dataclass(frozen=True)
class FaultResult:
    """What one access did.  ``kind`` names the kernel path; ``signal`` is "SIGSEGV" for a bad access."""

    addr: int
    write: bool
    kind: str
    allocated: tuple[tuple[int, int], ...] = ()      # (pfn, order) taken from the buddy allocator
    ptes_mapped: int = 0
    pgtables_allocated: int = 0
    signal: str | None = None
    reason: str = ""

    @property
    def faulted(self) -> bool:
        return self.kind != "none"


@dataclass
class _Counters:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("pgfault", "thp_fault_alloc", "thp_fault_fallback", "thp_split_pmd", "cow_fault", "wp_reuse",
         "zero_page_map", "fault_around_ptes", "sigsegv"), 0))


class MmStruct:
    """One process's address space (``struct mm_struct``) on a machine.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> mm = MmStruct(Machine.preset("linux-6.18-tiny"), thp="never")
    >>> addr = mm.mmap(16 * 4096)
    >>> mm.rss_pages, mm.touch(addr, write=True).kind, mm.rss_pages
    (0, 'anon', 1)
    """

    def __init__(self, machine, *, thp: str = "always", name: str = "mm", _rmap: Rmap | None = None) -> None:
        if thp not in ("always", "madvise", "never"):
            raise InvalidArgument(f"thp={thp!r}; accepted: always, madvise, never "
                                  "(/sys/kernel/mm/transparent_hugepage/enabled)")
        self.machine, self.thp, self.name = machine, thp, name
        self.pt = PageTable(machine, "x86_64-4level", gfp=GFP_PGTABLE_USER, name=name)
        self.rmap = Rmap(machine) if _rmap is None else _rmap
        self.vmas: list[Vma] = []
        self.counters = _Counters().values
        self._deposit: dict[int, int] = {}        # THP address -> deposited PTE page pfn
        self.rss = {"MM_ANONPAGES": 0, "MM_FILEPAGES": 0}

    # ------------------------------------------------------------------ VMAs
    @property
    def rss_pages(self) -> int:
        return self.rss["MM_ANONPAGES"] + self.rss["MM_FILEPAGES"]

    def find_vma(self, addr: int) -> Vma | None:
        for vma in self.vmas:
            if vma.start <= addr < vma.end:
                return vma
        return None

    def mmap(self, length: int, *, writable: bool = True, file: File | None = None, offset: int = 0,
             shared: bool = False, addr: int | None = None, hugepage: bool = False) -> int:
        """``mmap(addr, length, PROT_READ | PROT_WRITE?, MAP_PRIVATE | MAP_ANONYMOUS or a file, ...)``."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length <= 0:
            raise BadAlignment(f"mmap length {length!r} must be a positive number of bytes")
        length = -(-int(length) // PAGE) * PAGE
        if offset % PAGE or offset < 0:
            raise BadAlignment(f"mmap offset {offset:#x} must be a non-negative multiple of {PAGE}")
        if addr is None:
            addr = self._get_unmapped_area(length, anonymous=file is None)
        else:
            if isinstance(addr, bool) or not isinstance(addr, (int, np.integer)) or addr % PAGE:
                raise BadAlignment(f"mmap address {addr!r} must be a multiple of {PAGE}")
            addr = int(addr)
            if not (0 < addr and addr + length <= TASK_SIZE):
                raise AddressOutOfRange(f"[{addr:#x}, +{length:#x}) is outside user space (below {TASK_SIZE:#x})")
            for vma in self.vmas:
                if vma.start < addr + length and addr < vma.end:
                    raise MappingConflict(f"MAP_FIXED_NOREPLACE: [{addr:#x}, {addr + length:#x}) overlaps {vma}")
        self.vmas.append(Vma(addr, addr + length, writable, file, offset // PAGE, shared, hugepage))
        self.vmas.sort(key=lambda v: v.start)
        return addr

    def _get_unmapped_area(self, length: int, anonymous: bool) -> int:
        align = HPAGE if anonymous and length % HPAGE == 0 else PAGE
        top = MMAP_BASE
        for vma in sorted(self.vmas, key=lambda v: -v.start):
            candidate = (top - length) // align * align
            if candidate >= vma.end:
                return candidate
            top = min(top, vma.start)
        return (top - length) // align * align

    def madvise_hugepage(self, addr: int, length: int) -> None:
        """``madvise(MADV_HUGEPAGE)`` on whole VMAs inside [addr, addr + length)."""
        hit = [v for v in self.vmas if addr <= v.start and v.end <= addr + length]
        if not hit:
            raise InvalidArgument(f"no whole VMA inside [{addr:#x}, +{length:#x}) (ENOMEM)")
        for vma in hit:
            vma.hugepage = True

    # ------------------------------------------------------------------ faults
    def touch(self, addr: int, write: bool = False) -> FaultResult:
        """One load (``write=False``) or store at ``addr``: nothing, or a page fault handled."""
        if isinstance(addr, bool) or not isinstance(addr, (int, np.integer)):
            raise AddressOutOfRange(f"address {addr!r} is not an integer")
        addr = int(addr)
        if not 0 <= addr < TASK_SIZE:
            raise AddressOutOfRange(f"{addr:#x} is not a user address (0..{TASK_SIZE:#x})")
        leaf = self.pt.leaf_entry(addr)
        if leaf is not None and (not write or leaf[0] & _PAGE_RW):
            return FaultResult(addr, write, "none")
        vma = self.find_vma(addr)
        if vma is None or (write and not vma.writable):
            self.counters["sigsegv"] += 1
            why = "no VMA covers the address (SEGV_MAPERR)" if vma is None else \
                "write to a mapping without PROT_WRITE (SEGV_ACCERR)"
            return FaultResult(addr, write, "sigsegv", signal="SIGSEGV", reason=why)
        self.counters["pgfault"] += 1
        before = self.pt.tables_allocated
        result = self._handle_mm_fault(vma, addr, write, leaf)
        return FaultResult(addr, write, result[0], tuple(result[1]), result[2], self.pt.tables_allocated - before,
                           reason=result[3])

    def touch_range(self, addr: int, length: int, write: bool = False, stride: int = PAGE) -> dict[str, int]:
        """Touch every ``stride`` bytes of [addr, addr + length): how many faults, pages, tables."""
        faults = pages = tables = 0
        kinds: dict[str, int] = {}
        for where in range(addr, addr + length, stride):
            result = self.touch(where, write)
            if result.faulted:
                faults += 1
                kinds[result.kind] = kinds.get(result.kind, 0) + 1
            pages += sum(1 << order for _pfn, order in result.allocated)
            tables += result.pgtables_allocated
        return {"faults": faults, "pages allocated": pages, "page tables allocated": tables, **kinds}

    def _handle_mm_fault(self, vma: Vma, addr: int, write: bool, leaf):
        if leaf is not None:
            return self._do_wp_page(vma, addr, leaf)
        haddr = addr & ~(HPAGE - 1)
        fallback = ""
        if vma.anonymous and self._thp_allowed(vma, haddr) and self.pt.kind_at(addr, "pmd") == "none":
            done = self._do_huge_pmd_anonymous_page(vma, haddr, write)
            if not isinstance(done, str):
                return done
            self.counters["thp_fault_fallback"] += 1
            fallback = f"THP fallback ({done}); "
        page_addr = addr & ~(PAGE - 1)
        if vma.anonymous:
            if not write:
                self.pt.map_page(page_addr, self._zero_pfn(), _USER_RO)
                self.counters["zero_page_map"] += 1
                return "anon-zero-page", [], 1, fallback + "read of a never-written page: the shared zero page, read-only"
            pfn = self.machine.alloc_pages(GFP_USER_PAGE, 0)
            self._map_new_anon(vma, page_addr, pfn)
            return ("anon-fallback" if fallback else "anon"), [(pfn, 0)], 1, \
                fallback + "do_anonymous_page: one zeroed order-0 page"
        if write and not vma.shared:
            pfn = self.machine.alloc_pages(GFP_USER_PAGE.replace("|__GFP_ZERO", ""), 0)
            self._map_new_anon(vma, page_addr, pfn)
            self.counters["cow_fault"] += 1
            return "cow", [(pfn, 0)], 1, "do_cow_fault: the file page copied into a new anonymous page"
        file_index = vma.pgoff + (page_addr - vma.start) // PAGE
        if write and file_index < vma.file.nr_pages:
            self.pt.map_range(page_addr, vma.file.pages[file_index], 1, "pte", _USER_RW)
            self.rss["MM_FILEPAGES"] += 1
            return "file-write", [], 1, "do_shared_fault: the page-cache page mapped writable"
        return self._do_fault_around(vma, addr, write)

    def _thp_allowed(self, vma: Vma, haddr: int) -> bool:
        enabled = self.thp == "always" or (self.thp == "madvise" and vma.hugepage)
        return enabled and vma.start <= haddr and haddr + HPAGE <= vma.end

    def _zero_pfn(self) -> int:
        if self.rmap.zero_pfn is None:        # empty_zero_page lives in the kernel image; here: one page, once
            self.rmap.zero_pfn = self.machine.alloc_pages("GFP_KERNEL|__GFP_ZERO", 0)
        return self.rmap.zero_pfn

    def _map_new_anon(self, vma: Vma, page_addr: int, pfn: int) -> None:
        try:
            self.pt.map_page(page_addr, pfn, _USER_RW)
        except AllocationError:
            self.machine.free_pages(pfn, 0)
            raise
        self.rmap.add(pfn, 0, "anon")
        self.rmap.map_pte(pfn)
        vma.anon_vma = True
        self.rss["MM_ANONPAGES"] += 1

    def _do_huge_pmd_anonymous_page(self, vma: Vma, haddr: int, write: bool):
        if not write:
            if self.rmap.huge_zero_pfn is None:      # get_huge_zero_folio(): made on first use, kept
                try:
                    self.rmap.huge_zero_pfn = self.machine.alloc_pages(GFP_TRANSHUGE_LIGHT.replace("|__GFP_MOVABLE", ""), 9)
                except AllocationError as error:
                    return error.reason
            try:
                deposit = self.machine.alloc_pages(GFP_PGTABLE_USER, 0)     # set_huge_zero_folio() deposits too
            except AllocationError as error:
                return error.reason
            try:
                self.pt.map_range(haddr, self.rmap.huge_zero_pfn, 1, "pmd", _USER_RO)
            except AllocationError:
                self.machine.free_pages(deposit, 0)
                raise
            self._deposit[haddr] = deposit
            return "thp-zero", [(deposit, 0)], 1, "read fault: the huge zero folio mapped by one PMD, read-only"
        try:
            pfn = self.machine.alloc_pages(GFP_TRANSHUGE_LIGHT, 9)
        except AllocationError as error:
            return error.reason
        try:
            deposit = self.machine.alloc_pages(GFP_PGTABLE_USER, 0)      # pte_alloc_one(): for a later split
        except AllocationError as error:
            self.machine.free_pages(pfn, 9)
            return error.reason
        try:
            self.pt.map_range(haddr, pfn, 1, "pmd", _USER_RW)
        except AllocationError:
            self.machine.free_pages(pfn, 9)
            self.machine.free_pages(deposit, 0)
            raise
        self._deposit[haddr] = deposit
        folio = self.rmap.add(pfn, 9, "anon")
        folio.pmd_maps += 1
        vma.anon_vma = True
        self.rss["MM_ANONPAGES"] += 512
        self.counters["thp_fault_alloc"] += 1
        return "thp", [(pfn, 9), (deposit, 0)], 1, "do_huge_pmd_anonymous_page: an order-9 folio mapped by one PMD"

    def _do_fault_around(self, vma: Vma, addr: int, write: bool):
        nr = FAULT_AROUND_BYTES // PAGE
        pte_off = (addr >> 12) & 511
        vma_off = (addr - vma.start) >> 12
        from_pte = max(pte_off // nr * nr, pte_off - min(pte_off, vma_off))
        to_pte = min(from_pte + nr, 512, pte_off + (vma.end - vma.start) // PAGE - vma_off) - 1
        base = addr - pte_off * PAGE
        mapped = 0
        for index in range(from_pte, to_pte + 1):
            page_addr = base + index * PAGE
            file_index = vma.pgoff + (page_addr - vma.start) // PAGE
            if file_index >= vma.file.nr_pages or self.pt.leaf_entry(page_addr) is not None:
                continue
            self.pt.map_range(page_addr, vma.file.pages[file_index], 1, "pte",
                              _USER_RW if (vma.shared and write and vma.writable) else _USER_RO)
            mapped += 1
        if self.pt.leaf_entry(addr & ~(PAGE - 1)) is None:
            self.counters["sigsegv"] += 1
            return "sigbus", [], 0, "beyond the end of the file: SIGBUS"
        self.rss["MM_FILEPAGES"] += mapped
        self.counters["fault_around_ptes"] += mapped
        return "file-read", [], mapped, f"do_fault_around: {mapped} page-cache pages mapped in one fault"

    def _do_wp_page(self, vma: Vma, addr: int, leaf):
        entry, size = leaf
        if size == HPAGE:
            haddr = addr & ~(HPAGE - 1)
            pfn = (entry >> 12) & ((1 << 40) - 1)
            if pfn == self.rmap.huge_zero_pfn:       # do_huge_zero_wp_pmd(): a THP of its own, if one is free
                self.pt.unmap_range(haddr, HPAGE, free_tables=False)
                self.machine.free_pages(self._deposit.pop(haddr), 0)
                return self._handle_mm_fault(vma, addr, True, None)
            folio = self.rmap.folio(pfn)
            if folio is not None and folio.pmd_maps == 1 and not folio.pte_maps.any():
                self.pt.update_leaf(addr, set_bits=_PAGE_RW | _PAGE_DIRTY)
                self.counters["wp_reuse"] += 1
                return "wp-reuse", [], 0, "do_huge_pmd_wp_page: the THP is this mapping's alone: made writable"
            self._split_huge_pmd(haddr)
            entry, size = self.pt.leaf_entry(addr)
        pfn = (entry >> 12) & ((1 << 40) - 1)
        page_addr = addr & ~(PAGE - 1)
        folio = self.rmap.folio(pfn)
        if folio is not None and folio.mappers(pfn) == 1:
            self.pt.update_leaf(page_addr, set_bits=_PAGE_RW | _PAGE_DIRTY)
            self.counters["wp_reuse"] += 1
            return "wp-reuse", [], 0, "do_wp_page: the page is mapped only here: reused, made writable"
        new = self.machine.alloc_pages(GFP_USER_PAGE if pfn == self.rmap.zero_pfn else
                                       GFP_USER_PAGE.replace("|__GFP_ZERO", ""), 0)
        self.pt.update_leaf(page_addr, set_bits=_PAGE_RW | _PAGE_DIRTY, pfn=new)
        self.rmap.add(new, 0, "anon")
        self.rmap.map_pte(new)
        vma.anon_vma = True
        if folio is not None:
            self.rmap.unmap_pte(pfn)                   # anonymous for anonymous: RSS unchanged
        else:
            if pfn != self.rmap.zero_pfn:
                self.rss["MM_FILEPAGES"] -= 1
            self.rss["MM_ANONPAGES"] += 1
        self.counters["cow_fault"] += 1
        what = "the zero page" if pfn == self.rmap.zero_pfn else f"pfn {pfn:#x}"
        return "cow", [(new, 0)], 1, f"wp_page_copy: {what} is shared: copied into a new page"

    def _split_huge_pmd(self, haddr: int) -> None:
        """``__split_huge_pmd()``: one PMD becomes 512 PTEs in the deposited table."""
        entry, _size = self.pt.leaf_entry(haddr)
        pfn = (entry >> 12) & ((1 << 40) - 1)
        deposit = self._deposit.pop(haddr, None)
        if pfn == self.rmap.huge_zero_pfn:           # __split_huge_zero_page_pmd(): 512 PTEs of the zero page
            self.pt.unmap_range(haddr, HPAGE, free_tables=False)
            self.pt.map_range(haddr, [self._zero_pfn()] * 512, 512, "pte", _USER_RO)
            if deposit is not None:
                self.machine.free_pages(deposit, 0)
            self.counters["thp_split_pmd"] += 1
            return
        self.pt.split_leaf(haddr, table_pfn=deposit)
        folio = self.rmap.folio(pfn)
        if folio is not None:
            folio.pte_maps += 1
            folio.pmd_maps -= 1
        self.counters["thp_split_pmd"] += 1

    # ------------------------------------------------------------------ fork, munmap
    def fork(self, name: str | None = None) -> "MmStruct":
        """``dup_mmap()``: the child shares every anonymous page, both sides write-protected."""
        child = MmStruct(self.machine, thp=self.thp, name=name or f"{self.name}-child", _rmap=self.rmap)
        try:
            for vma in self.vmas:
                copy = Vma(vma.start, vma.end, vma.writable, vma.file, vma.pgoff, vma.shared, vma.hugepage, vma.anon_vma)
                child.vmas.append(copy)
                if vma.file is not None and not vma.anon_vma:
                    continue                       # vma_needs_copy(): the child faults file pages back in
                self._copy_page_range(child, vma)
        except AllocationError:
            child.exit()
            raise
        child.rss = dict(self.rss)
        for vma in self.vmas:
            if vma.file is not None and not vma.anon_vma:
                child.rss["MM_FILEPAGES"] -= self._count_file_ptes(vma)
        return child

    def _count_file_ptes(self, vma: Vma) -> int:
        virt, _phys, size = self.pt.leaves()
        inside = (virt >= np.uint64(vma.start)) & (virt < np.uint64(vma.end))
        return int((size[inside] // PAGE).sum())

    def _copy_page_range(self, child: "MmStruct", vma: Vma) -> None:
        virt, phys, size = self.pt.leaves()
        inside = (virt >= np.uint64(vma.start)) & (virt < np.uint64(vma.end))
        for v, p, s in zip(virt[inside].tolist(), phys[inside].tolist(), size[inside].tolist()):
            entry, _ = self.pt.leaf_entry(v)
            pfn = p // PAGE
            cow = vma.writable and not vma.shared
            if cow and entry & _PAGE_RW:
                self.pt.update_leaf(v, clear_bits=_PAGE_RW)
                entry &= ~_PAGE_RW
            level = "pmd" if s == HPAGE else "pte"
            child.pt.map_range(v, pfn, 1, level, entry & ((1 << 12) - 1) | (entry & _PAGE_NX))
            if s == HPAGE:
                child._deposit[v] = self.machine.alloc_pages(GFP_PGTABLE_USER, 0)
            folio = self.rmap.folio(pfn)
            if folio is not None:
                if s == HPAGE:
                    folio.pmd_maps += 1
                else:
                    self.rmap.map_pte(pfn)

    def munmap(self, addr: int, length: int) -> dict[str, int]:
        """``munmap(addr, length)``: whole VMAs or page-aligned parts of them."""
        if isinstance(addr, bool) or not isinstance(addr, (int, np.integer)) or addr % PAGE:
            raise BadAlignment(f"munmap address {addr!r} must be a multiple of {PAGE} (EINVAL)")
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length <= 0:
            raise BadAlignment(f"munmap length {length!r} must be positive (EINVAL)")
        addr, end = int(addr), int(addr) + -(-int(length) // PAGE) * PAGE
        for haddr in list(self._deposit):                  # a THP cut by the range is split first
            if haddr < end and addr < haddr + HPAGE and not (addr <= haddr and haddr + HPAGE <= end):
                self._split_huge_pmd(haddr)
        freed_pages = 0
        virt, phys, size = self.pt.leaves()
        inside = (virt >= np.uint64(addr)) & (virt < np.uint64(end))
        for v, p, s in zip(virt[inside].tolist(), phys[inside].tolist(), size[inside].tolist()):
            pfn = p // PAGE
            if s == HPAGE and v in self._deposit:          # zap_huge_pmd(): the deposited table goes too
                self.machine.free_pages(self._deposit.pop(v), 0)
            folio = self.rmap.folio(pfn)
            if folio is None:
                if pfn not in (self.rmap.zero_pfn, self.rmap.huge_zero_pfn):
                    self.rss["MM_FILEPAGES"] -= 1
                continue
            self.rss["MM_ANONPAGES"] -= s // PAGE
            if s == HPAGE:
                freed_pages += (1 << folio.order) if self.rmap.unmap_pmd(pfn) else 0
            else:
                freed_pages += (1 << folio.order) if self.rmap.unmap_pte(pfn) else 0
        tables_before = self.pt.tables_freed
        self.pt.unmap_range(addr, end - addr, free_tables=True)
        kept = []
        for vma in self.vmas:
            if vma.end <= addr or end <= vma.start:
                kept.append(vma)
                continue
            if vma.start < addr:
                kept.append(Vma(vma.start, addr, vma.writable, vma.file, vma.pgoff, vma.shared, vma.hugepage, vma.anon_vma))
            if end < vma.end:
                kept.append(Vma(end, vma.end, vma.writable, vma.file, vma.pgoff + (end - vma.start) // PAGE,
                                vma.shared, vma.hugepage, vma.anon_vma))
        self.vmas = sorted(kept, key=lambda v: v.start)
        return {"pages freed": freed_pages, "page tables freed": self.pt.tables_freed - tables_before}

    def exit(self) -> None:
        """``exit_mmap()``: unmap everything and free the top-level table too."""
        for vma in list(self.vmas):
            self.munmap(vma.start, vma.end - vma.start)
        for deposit in self._deposit.values():
            self.machine.free_pages(deposit, 0)
        self._deposit.clear()
        self.pt.destroy()

    def describe(self) -> str:
        lines = [f"{self.name}: {len(self.vmas)} VMAs, RSS {format_size(self.rss_pages * PAGE)}, "
                 f"{self.pt.nr_tables} page-table pages, THP {self.thp}"]
        lines += [f"  {vma!r}" for vma in self.vmas]
        return "\n".join(lines)

    def check_invariants(self) -> None:
        self.pt.check_invariants()
        self.rmap.check_invariants()
        virt, _phys, _size = self.pt.leaves()
        for v in virt.tolist():
            if self.find_vma(v) is None:
                from ..errors import InvariantViolation
                raise InvariantViolation(f"{self.name}: {v:#x} is mapped outside every VMA")
