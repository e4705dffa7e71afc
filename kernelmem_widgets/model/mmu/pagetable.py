"""Page tables as the hardware walks them: a tree of table pages taken from the buddy allocator.

A table is one page of ``entries`` entries (512 on x86-64 and PAE, 1024 on 2-level i386).  A
present entry either points at the next level's table (its pfn, ``_PAGE_TABLE`` flags) or, at a
level that allows it, maps memory directly: a 4 KiB PTE, a 2 MiB PMD or a 1 GiB PUD with
``_PAGE_PSE``.  Every table page is ``alloc_pages(GFP_PGTABLE_KERNEL, 0)`` (GFP_KERNEL |
__GFP_ZERO; user tables add __GFP_ACCOUNT: include/asm-generic/pgalloc.h, Linux 6.18), so it shows
in the machine's memory map and ``nr_free_pages``; when an unmap empties a table it is freed as
``free_pgtables()`` / ``free_pte_range()`` in mm/memory.c do for user address spaces (kernel
mappings keep theirs: ``vunmap_range()`` never frees page tables).

A walk reads one entry per level until it finds a leaf: 4 memory references for a 4 KiB page on
4-level x86-64, 3 for 2 MiB, 2 for 1 GiB, 5 / 4 / 3 with 5-level paging (the page-structure
caches of real CPUs that skip upper levels are not modelled).  ``translate()`` does the same walk
for a whole numpy array of addresses at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AllocationError
from ..units import format_size
from .mmu_errors import AddressOutOfRange, BadAlignment, MappingConflict, NotMapped
from .paging import _PAGE_PRESENT, _PAGE_PSE, PAGE_KERNEL, PAGE_TABLE, PagingMode, describe_entry, get_paging_mode

__all__ = ["PageTable", "WalkStep", "Walk", "GFP_PGTABLE_KERNEL", "GFP_PGTABLE_USER"]

#: include/asm-generic/pgalloc.h (Linux 6.18)
GFP_PGTABLE_KERNEL = "GFP_KERNEL|__GFP_ZERO"
GFP_PGTABLE_USER = "GFP_KERNEL|__GFP_ZERO|__GFP_ACCOUNT"
_ADDR_MASK = 0x000F_FFFF_FFFF_F000


@dataclass(frozen=True)
class WalkStep:
    """One entry read by a walk: which level, which table page, which index, what it held."""

    level: str
    table_pfn: int
    index: int
    entry: int
    entry_phys: int         # physical address of the entry itself: the memory reference made

    def __str__(self) -> str:
        return (f"{self.level:<3} table pfn {self.table_pfn:#x} [{self.index:3d}] "
                f"@ {self.entry_phys:#x}: {describe_entry(self.entry)}")


@dataclass(frozen=True)
class Walk:
    """The result of walking one virtual address: the entries read and where it led."""

    virt: int
    steps: tuple[WalkStep, ...]
    phys: int | None
    page_size: int | None

    @property
    def memory_references(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        lines = [f"walk {self.virt:#x}: {self.memory_references} memory references"]
        lines += [f"  {step}" for step in self.steps]
        lines.append(f"  -> phys {self.phys:#x} ({format_size(self.page_size)} page)" if self.phys is not None
                     else "  -> not mapped: page fault")
        return "\n".join(lines)


class PageTable:
    """One address space's page tables (``mm->pgd`` and below).

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> machine = Machine.preset("linux-6.18-tiny")
    >>> pt = PageTable(machine)
    >>> pt.map_range(0x400000, 0x100, 1, "pte")
    >>> walk = pt.walk(0x400123)
    >>> walk.memory_references, hex(walk.phys), pt.nr_tables
    (4, '0x100123', 4)
    """

    def __init__(self, machine, mode: str | PagingMode = "x86_64-4level", *, gfp: str = GFP_PGTABLE_KERNEL,
                 name: str = "init_mm") -> None:
        self.machine = machine
        self.mode = get_paging_mode(mode)
        self.gfp = gfp
        self.name = name
        self.nr_entries = self.mode.levels[0].entries
        width = max(level.entries for level in self.mode.levels)
        self._entries = np.zeros((8, width), dtype=np.uint64)
        self._child = np.full((8, width), -1, dtype=np.int32)
        self._used = np.zeros(8, dtype=np.int32)
        self._depth = np.full(8, -1, dtype=np.int8)       # level index of the table in the slot, -1 free
        self._pfn = np.full(8, -1, dtype=np.int64)
        self._base = [0] * 8                              # first virtual address the table covers
        self._free_slots = list(range(7, -1, -1))
        self.tables_allocated = 0
        self.tables_freed = 0
        # table bases are kept without the sign extension of x86-64 kernel addresses
        self._vmask = (1 << self.mode.va_bits) - 1
        self.root = self._new_table(0, 0)

    # ------------------------------------------------------------------ table pages
    def _new_table(self, depth: int, base: int, pfn: int | None = None) -> int:
        if pfn is None:
            pfn = self.machine.alloc_pages(self.gfp, 0)
        if not self._free_slots:
            self._grow()
        slot = self._free_slots.pop()
        self._entries[slot] = 0
        self._child[slot] = -1
        self._used[slot] = 0
        self._depth[slot] = depth
        self._pfn[slot] = pfn
        self._base[slot] = base
        self.tables_allocated += 1
        if self.machine.bus.active:
            self.machine.bus.emit("pgtable_alloc", pfn=pfn, level=self.mode.levels[depth].name, mm=self.name)
        return slot

    def _grow(self) -> None:
        old = len(self._used)
        new = old * 2
        self._entries = np.concatenate([self._entries, np.zeros_like(self._entries)])
        self._child = np.concatenate([self._child, np.full_like(self._child, -1)])
        self._used = np.concatenate([self._used, np.zeros(old, dtype=np.int32)])
        self._depth = np.concatenate([self._depth, np.full(old, -1, dtype=np.int8)])
        self._pfn = np.concatenate([self._pfn, np.full(old, -1, dtype=np.int64)])
        self._base += [0] * old
        self._free_slots.extend(range(new - 1, old - 1, -1))

    def _free_table(self, slot: int) -> None:
        pfn = int(self._pfn[slot])
        self.machine.free_pages(pfn, 0)
        self._depth[slot] = -1
        self._pfn[slot] = -1
        self._free_slots.append(slot)
        self.tables_freed += 1
        if self.machine.bus.active:
            self.machine.bus.emit("pgtable_free", pfn=pfn, mm=self.name)

    # ------------------------------------------------------------------ queries
    @property
    def nr_tables(self) -> int:
        """Table pages in use, the top-level one included."""
        return int(np.count_nonzero(self._depth >= 0))

    def tables_per_level(self) -> dict[str, int]:
        return {level.name: int(np.count_nonzero(self._depth == depth)) for depth, level in enumerate(self.mode.levels)}

    def table_pfns(self) -> np.ndarray:
        """The pfns of every table page (for a memory map that shows where they landed)."""
        return np.sort(self._pfn[self._depth >= 0])

    def index(self, virt: int, depth: int) -> int:
        level = self.mode.levels[depth]
        return (virt >> level.shift) & (level.entries - 1)

    def _check_virt(self, virt) -> int:
        if isinstance(virt, bool) or not isinstance(virt, (int, np.integer)):
            raise AddressOutOfRange(f"virtual address {virt!r} is not an integer")
        virt = int(virt)
        if not self.mode.canonical(virt):
            raise AddressOutOfRange(f"{virt:#x} is not a canonical {self.mode.va_bits}-bit address of {self.mode.name}")
        return virt

    def _leaf_depth(self, level: str) -> int:
        for depth, candidate in enumerate(self.mode.levels):
            if candidate.name == level:
                if not candidate.leaf_ok:
                    break
                return depth
        sizes = ", ".join(f"{lv.name} ({format_size(lv.span)})" for lv in self.mode.levels if lv.leaf_ok)
        raise BadAlignment(f"{self.mode.name} cannot map memory at level {level!r}; accepted: {sizes}")

    def canonical(self, virts: np.ndarray) -> np.ndarray:
        """Sign-extend addresses kept modulo 2**va_bits back to x86-64 canonical form."""
        if self.mode.va_bits == 32:
            return virts
        high = (virts >> np.uint64(self.mode.va_bits - 1)) & np.uint64(1)
        return np.where(high == 1, virts | np.uint64(~self._vmask & (2**64 - 1)), virts)

    def lookup(self, virt: int) -> tuple[int, int, int] | None:
        """(slot, index, depth) of the leaf entry that maps ``virt``, or None."""
        slot = self.root
        for depth in range(len(self.mode.levels)):
            index = self.index(virt, depth)
            entry = int(self._entries[slot, index])
            if not entry & _PAGE_PRESENT:
                return None
            child = int(self._child[slot, index])
            if child < 0:
                return slot, index, depth
            slot = child
        return None

    def kind_at(self, virt: int, level: str) -> str:
        """What the entry of ``level`` for ``virt`` is: "none", "table" or "leaf".

        "leaf" also when a larger leaf above already maps ``virt``.
        """
        target = self.mode.levels.index(self.mode.level(level))
        slot = self.root
        for depth in range(target + 1):
            index = self.index(virt, depth)
            if not int(self._entries[slot, index]) & _PAGE_PRESENT:
                return "none"
            child = int(self._child[slot, index])
            if child < 0:
                return "leaf"
            if depth == target:
                return "table"
            slot = child
        return "none"

    def present_in_table(self, virt: int, count: int, level: str) -> np.ndarray:
        """Which of ``count`` consecutive entries of ``level`` from ``virt`` (one table) are present."""
        depth = self.mode.levels.index(self.mode.level(level))
        slot = self.root
        for upper in range(depth):
            child = int(self._child[slot, self.index(virt, upper)])
            if child < 0:
                return np.zeros(count, dtype=bool)
            slot = child
        first = self.index(virt, depth)
        return (self._entries[slot, first:first + count] & np.uint64(_PAGE_PRESENT)) != 0

    def walk(self, virt: int) -> Walk:
        """The hardware's walk for one address: every entry it reads, top to bottom."""
        virt = self._check_virt(virt)
        steps = []
        slot = self.root
        for depth, level in enumerate(self.mode.levels):
            index = self.index(virt, depth)
            entry = int(self._entries[slot, index])
            table_pfn = int(self._pfn[slot])
            steps.append(WalkStep(level.name, table_pfn, index, entry,
                                  table_pfn * self.machine.page_size + index * self.mode.entry_size))
            if not entry & _PAGE_PRESENT:
                return Walk(virt, tuple(steps), None, None)
            child = int(self._child[slot, index])
            if child < 0:
                base = entry & _ADDR_MASK & ~(level.span - 1)
                return Walk(virt, tuple(steps), base + (virt & (level.span - 1)), level.span)
            slot = child
        raise AssertionError("unreachable: the last level always maps")

    def translate(self, virts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Walk every address of an array at once.

        Returns ``(phys, page_size, memory_references)``: ``phys`` is -1 and ``page_size`` 0
        where nothing is mapped (the walk then stopped at the first non-present entry).
        """
        virts = np.asarray(virts, dtype=np.uint64).ravel()
        n = len(virts)
        phys = np.full(n, -1, dtype=np.int64)
        size = np.zeros(n, dtype=np.int64)
        refs = np.zeros(n, dtype=np.int8)
        todo = np.arange(n)
        slot = np.full(n, self.root, dtype=np.int64)
        v = virts
        last = len(self.mode.levels) - 1
        for depth, level in enumerate(self.mode.levels):
            if not len(todo):
                break
            index = ((v >> np.uint64(level.shift)) & np.uint64(level.entries - 1)).astype(np.int64)
            entry = self._entries[slot, index]
            refs[todo] += 1
            present = (entry & np.uint64(_PAGE_PRESENT)) != 0
            child = self._child[slot, index]
            leaf = present & (child < 0) if depth < last else present
            if leaf.any():
                where = todo[leaf]
                base = entry[leaf] & np.uint64(_ADDR_MASK & ~(level.span - 1))
                phys[where] = (base + (v[leaf] & np.uint64(level.span - 1))).astype(np.int64)
                size[where] = level.span
            go = present & ~leaf
            todo, v, slot = todo[go], v[go], child[go].astype(np.int64)
        return phys, size, refs

    # ------------------------------------------------------------------ mapping
    def map_range(self, virt: int, pfn, nr: int, level: str = "pte", prot: int = PAGE_KERNEL) -> None:
        """Map ``nr`` leaves of ``level``'s size from ``virt``.

        ``pfn`` is the first page frame of a physically contiguous run, or a sequence of ``nr``
        first pfns (vmalloc's scattered pages).  Raises :class:`MappingConflict` if any part is
        mapped already, :class:`BadAlignment` for unaligned addresses; table pages come from the
        buddy allocator and an :class:`AllocationError` leaves everything as it was.
        """
        depth = self._leaf_depth(level)
        span = self.mode.levels[depth].span
        virt = self._check_virt(virt)
        if isinstance(nr, bool) or not isinstance(nr, (int, np.integer)) or nr < 1:
            raise BadAlignment(f"nr={nr!r}: the number of {format_size(span)} pages to map must be a positive integer")
        self._check_virt(virt + nr * span - 1)
        pages_per_leaf = span // self.machine.page_size
        if isinstance(pfn, (int, np.integer)) and not isinstance(pfn, bool):
            pfns = int(pfn) + np.arange(nr, dtype=np.int64) * pages_per_leaf
        else:
            pfns = np.asarray(pfn, dtype=np.int64).ravel()
            if len(pfns) != nr:
                raise BadAlignment(f"{len(pfns)} pfns given for {nr} pages")
        if virt % span or (pfns % pages_per_leaf).any():
            raise BadAlignment(f"a {format_size(span)} mapping needs a {format_size(span)}-aligned virtual address "
                               f"and frame: virt {virt:#x}, first pfn {int(pfns[0]):#x}")
        if (pfns < 0).any() or (pfns >= 1 << 40).any():       # frames need not be RAM (ioremap maps MMIO)
            raise BadAlignment("a pfn must be within the 52-bit physical address space (0 .. 2**40 - 1)")
        chunks = list(self._chunks(virt, nr, depth))
        for chunk_virt, count in chunks:
            self._check_free(chunk_virt, count, depth)
        new_tables: list[int] = []
        written: list[tuple[int, int, int]] = []
        try:
            done = 0
            for chunk_virt, count in chunks:
                slot = self._descend(chunk_virt, depth, new_tables)
                first = self.index(chunk_virt, depth)
                values = (pfns[done:done + count].astype(np.uint64) << np.uint64(12)) | np.uint64(prot)
                if depth < len(self.mode.levels) - 1:
                    values |= np.uint64(_PAGE_PSE)
                self._entries[slot, first:first + count] = values
                self._used[slot] += count
                written.append((slot, first, count))
                done += count
        except AllocationError:
            for slot, first, count in written:
                self._entries[slot, first:first + count] = 0
                self._used[slot] -= count
            for slot in reversed(new_tables):
                self._unlink(slot)
                self._free_table(slot)
            raise

    def map_page(self, virt: int, pfn: int, prot: int, level: str = "pte") -> None:
        """One leaf, the page-fault path's ``set_pte_at()`` / ``set_pmd_at()``: same checks as
        :meth:`map_range` for a single entry, without building arrays."""
        depth = self._leaf_depth(level)
        span = self.mode.levels[depth].span
        virt = self._check_virt(virt)
        if virt % span or isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)) or pfn < 0 \
                or (pfn * self.machine.page_size) % span:
            raise BadAlignment(f"a {format_size(span)} mapping needs aligned addresses: virt {virt:#x}, pfn {pfn!r}")
        self._check_free(virt, 1, depth)
        new_tables: list[int] = []
        try:
            slot = self._descend(virt, depth, new_tables)
        except AllocationError:
            for table in reversed(new_tables):
                self._unlink(table)
                self._free_table(table)
            raise
        value = (int(pfn) << 12) | prot | (_PAGE_PSE if depth < len(self.mode.levels) - 1 else 0)
        self._entries[slot, self.index(virt, depth)] = value
        self._used[slot] += 1

    def _chunks(self, virt: int, nr: int, depth: int):
        """Split a run of leaves at table boundaries: (first virtual address, count) per table."""
        level = self.mode.levels[depth]
        per_table = level.entries
        while nr:
            first = self.index(virt, depth)
            count = min(nr, per_table - first)
            yield virt, count
            virt += count * level.span
            nr -= count

    def _check_free(self, virt: int, count: int, depth: int) -> None:
        slot = self.root
        for upper in range(depth):
            index = self.index(virt, upper)
            entry = int(self._entries[slot, index])
            if entry & _PAGE_PRESENT:
                child = int(self._child[slot, index])
                if child < 0:
                    raise MappingConflict(f"{virt:#x} is already mapped by a {format_size(self.mode.levels[upper].span)} "
                                          f"{self.mode.levels[upper].name} entry")
                slot = child
            else:
                return
        first = self.index(virt, depth)
        busy = np.flatnonzero(self._entries[slot, first:first + count])
        if len(busy):
            where = virt + int(busy[0]) * self.mode.levels[depth].span
            raise MappingConflict(f"{where:#x} is already mapped ({describe_entry(int(self._entries[slot, first + busy[0]]))})")

    def _descend(self, virt: int, depth: int, new_tables: list[int]) -> int:
        """The table at ``depth`` for ``virt``, allocating missing tables on the way down."""
        slot = self.root
        for upper in range(depth):
            index = self.index(virt, upper)
            child = int(self._child[slot, index])
            if child < 0:
                span = self.mode.levels[upper].span
                child = self._new_table(upper + 1, (virt & self._vmask) & ~(span - 1))
                new_tables.append(child)
                self._entries[slot, index] = (int(self._pfn[child]) << 12) | PAGE_TABLE
                self._child[slot, index] = child
                self._used[slot] += 1
            slot = child
        return slot

    def _unlink(self, slot: int) -> None:
        """Clear the one entry that points at table ``slot``."""
        parents, indexes = np.nonzero(self._child == slot)
        for parent, index in zip(parents, indexes):
            self._entries[parent, index] = 0
            self._child[parent, index] = -1
            self._used[parent] -= 1

    # ------------------------------------------------------------------ unmapping
    def unmap_range(self, virt: int, size: int, *, free_tables: bool = True) -> tuple[int, list[int]]:
        """Clear every leaf inside ``[virt, virt + size)``; return (leaves cleared, table pfns freed).

        A large leaf that sticks out of the range raises :class:`BadAlignment` (split it first,
        as ``split_huge_pmd()`` or ``__split_large_page()`` do).  With ``free_tables`` every
        table left empty is freed, bottom up, as ``free_pgtables()`` does at munmap.
        """
        virt = self._check_virt(virt)
        page = self.machine.page_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0 or size % page or virt % page:
            raise BadAlignment(f"unmap of {virt:#x}+{size!r}: address and size must be multiples of {page} bytes")
        self._check_virt(virt + int(size) - 1)
        start, end = virt & self._vmask, ((virt + int(size) - 1) & self._vmask) + 1
        if end <= start:
            raise AddressOutOfRange(f"[{virt:#x}, +{size:#x}) crosses the non-canonical hole")
        self._visit(self.root, 0, start, end, dry_run=True, freed=[])
        freed: list[int] = []
        cleared = self._visit(self.root, 0, start, end, dry_run=False, freed=freed, free_tables=free_tables)
        return cleared, freed

    def _visit(self, slot: int, depth: int, start: int, end: int, *, dry_run: bool, freed: list[int],
               free_tables: bool = True) -> int:
        level = self.mode.levels[depth]
        base = self._base[slot]
        lo = max(0, (start - base) >> level.shift) if start > base else 0
        hi = min(level.entries, -(-(end - base) // level.span))
        cleared = 0
        entries = self._entries[slot, lo:hi]
        for offset in np.flatnonzero(entries):
            index = lo + int(offset)
            entry_start = base + index * level.span
            child = int(self._child[slot, index])
            if child < 0:
                if entry_start < start or entry_start + level.span > end:
                    raise BadAlignment(f"[{start:#x}, {end:#x}) cuts the {format_size(level.span)} mapping at "
                                       f"{entry_start:#x}: split it first")
                if not dry_run:
                    self._entries[slot, index] = 0
                    self._used[slot] -= 1
                cleared += 1
                continue
            cleared += self._visit(child, depth + 1, start, end, dry_run=dry_run, freed=freed, free_tables=free_tables)
            if not dry_run and free_tables and self._used[child] == 0:
                freed.append(int(self._pfn[child]))
                self._entries[slot, index] = 0
                self._child[slot, index] = -1
                self._used[slot] -= 1
                self._free_table(child)
        return cleared

    def destroy(self) -> int:
        """Free every table page, the top one included (``free_pgd_range()`` + ``pgd_free()``)."""
        live = np.flatnonzero(self._depth >= 0)
        for slot in live:
            self._free_table(int(slot))
        self._entries[:] = 0
        self._child[:] = -1
        self._used[:] = 0
        return len(live)

    # ------------------------------------------------------------------ changing leaves
    def split_leaf(self, virt: int, prot: int | None = None, *, table_pfn: int | None = None) -> int:
        """Replace the large leaf that maps ``virt`` by a table of the next smaller leaves.

        The new entries map the same frames with the same bits (``__split_large_page()`` in
        arch/x86/mm/pat/set_memory.c, ``__split_huge_pmd_locked()`` in mm/huge_memory.c);
        returns the number of smaller entries written (512 on x86-64).  ``table_pfn`` adopts an
        already allocated page as the new table (the PTE page a THP fault deposited).
        """
        found = self.lookup(self._check_virt(virt))
        if found is None:
            raise NotMapped(f"{virt:#x} is not mapped: nothing to split")
        slot, index, depth = found
        if depth == len(self.mode.levels) - 1:
            raise BadAlignment(f"{virt:#x} is mapped by a {format_size(self.mode.levels[depth].span)} PTE: "
                               "it cannot be split further")
        level, lower = self.mode.levels[depth], self.mode.levels[depth + 1]
        entry = int(self._entries[slot, index])
        base_virt = self._base[slot] + index * level.span     # modulo 2**va_bits, as every table base
        child = self._new_table(depth + 1, base_virt, table_pfn)
        flags = (entry & ~_ADDR_MASK) if prot is None else prot
        if depth + 1 == len(self.mode.levels) - 1:
            flags &= ~_PAGE_PSE          # 4 KiB PTEs: bit 7 is PAT there, never PSE
        first_pfn = (entry & _ADDR_MASK) >> 12
        step = lower.span // self.machine.page_size
        pfns = first_pfn + np.arange(lower.entries, dtype=np.uint64) * np.uint64(step)
        self._entries[child, :lower.entries] = (pfns << np.uint64(12)) | np.uint64(flags)
        self._used[child] = lower.entries
        self._entries[slot, index] = (int(self._pfn[child]) << 12) | PAGE_TABLE
        self._child[slot, index] = child
        return lower.entries

    def update_leaf(self, virt: int, set_bits: int = 0, clear_bits: int = 0, pfn: int | None = None) -> int:
        """Change the bits (or the frame) of the leaf that maps ``virt``; returns the new entry."""
        found = self.lookup(self._check_virt(virt))
        if found is None:
            raise NotMapped(f"{virt:#x} is not mapped")
        slot, index, _depth = found
        entry = int(self._entries[slot, index])
        if pfn is not None:
            entry = (entry & ~_ADDR_MASK) | (int(pfn) << 12)
        entry = (entry | set_bits) & ~clear_bits
        self._entries[slot, index] = entry
        return entry

    def leaf_entry(self, virt: int) -> tuple[int, int] | None:
        """(entry value, page size) of the leaf that maps ``virt``, or None."""
        found = self.lookup(self._check_virt(virt))
        if found is None:
            return None
        slot, index, depth = found
        return int(self._entries[slot, index]), self.mode.levels[depth].span

    def leaves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every leaf: (virtual address, physical address, page size), sorted by address."""
        virts, physs, sizes = [], [], []
        last = len(self.mode.levels) - 1
        for slot in np.flatnonzero(self._depth >= 0):
            depth = int(self._depth[slot])
            level = self.mode.levels[depth]
            entries = self._entries[slot, :level.entries]
            leaf = (entries != 0) & (self._child[slot, :level.entries] < 0)
            if depth < last:
                leaf &= (entries & np.uint64(_PAGE_PSE)) != 0
            index = np.flatnonzero(leaf)
            if len(index):
                virts.append(np.uint64(self._base[slot]) + index.astype(np.uint64) * np.uint64(level.span))
                physs.append((entries[index] & np.uint64(_ADDR_MASK & ~(level.span - 1))).astype(np.int64))
                sizes.append(np.full(len(index), level.span, dtype=np.int64))
        if not virts:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        virt, phys, size = np.concatenate(virts), np.concatenate(physs), np.concatenate(sizes)
        virt = self.canonical(virt)
        order = np.argsort(virt, kind="stable")
        return virt[order], phys[order], size[order]

    # ------------------------------------------------------------------ invariants
    def check_invariants(self) -> None:
        """Every table has one parent entry, counts match, each table page is an allocated page."""
        from ..errors import InvariantViolation

        live = np.flatnonzero(self._depth >= 0)
        children = self._child[self._child >= 0]
        if len(children) != len(np.unique(children)):
            raise InvariantViolation(f"{self.name}: a table page is pointed at by two entries")
        if set(children.tolist()) != set(live.tolist()) - {self.root}:
            raise InvariantViolation(f"{self.name}: a live table has no parent, or an entry points at a freed one")
        for slot in live:
            width = self.mode.levels[int(self._depth[slot])].entries
            if int(self._used[slot]) != int(np.count_nonzero(self._entries[slot, :width])):
                raise InvariantViolation(f"{self.name}: table pfn {int(self._pfn[slot]):#x} counts "
                                         f"{int(self._used[slot])} entries in use")
            kids = np.flatnonzero(self._child[slot] >= 0)
            pointed = (self._entries[slot, kids] & np.uint64(_ADDR_MASK)) >> np.uint64(12)
            if not np.array_equal(pointed.astype(np.int64), self._pfn[self._child[slot, kids]]):
                raise InvariantViolation(f"{self.name}: an entry's pfn is not its table's page")
            pfn = int(self._pfn[slot])
            if self.machine.zone_of(pfn).allocated_order(pfn) != 0:
                raise InvariantViolation(f"{self.name}: table pfn {pfn:#x} is not an allocated order-0 page")
