"""vmalloc: virtually contiguous memory built from single pages (mm/vmalloc.c, Linux 6.18).

``vmalloc(size)`` is ``__vmalloc_node_range()``: the size is page-aligned, ``__get_vm_area_node()``
adds ONE guard page and ``alloc_vmap_area()`` takes the lowest free range of the vmalloc area that
fits (first fit by address); then ``__vmalloc_area_node()`` allocates the ``struct page *`` array
(kmalloc up to a page, a nested vmalloc above, flagged ``vpages``) and ``vm_area_alloc_pages()``
takes order-0 pages from ``alloc_pages_bulk()`` in requests of at most 100 (one zone, its low
watermark plus the request, no ALLOC_NOFRAGMENT), then one ``alloc_pages()`` at a time for
whatever the bulk allocator did not give.  With VM_ALLOW_HUGE_VMAP (kvmalloc() always asks for
it) an area of PMD_SIZE (2 MiB) or more is rounded up to 2 MiB, 2 MiB-aligned, and backed by
order-9 blocks split into single pages (``split_page()``); if those cannot be had, the area is
vfree()d and the request retried with order-0 pages.  The pages need not be adjacent: on a
machine that has been running a while they are scattered, on a fresh one consecutive order-0
allocations often come out adjacent.  ``vfree()`` gives the pages back at once but the virtual
range only lazily: it waits on the purge list (shown as "unpurged vm_area" in /proc/vmallocinfo)
until more than ``lazy_max_pages() = fls(num_online_cpus()) * 32 MiB`` are waiting, or until an
allocation finds no room.

Addresses are x86-64's (VMALLOC_START 0xffffc90000000000, 32 TiB, 4-level paging, no KASLR: see
:mod:`..presets`); another window can be given (the module loader uses one for i386).  Not
modelled: the per-node pools of recently freed ranges (6.9+) and the page tables themselves.
/proc/vmallocinfo lists the areas vmap node by vmap node (6.9+); a caller prints as given (the
model has no kallsyms to turn a return address into ``%pS``'s ``symbol+0xoff/0xsize``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..validate import as_int
from ..errors import (AllocationError, DoubleFree, InvalidArgument, InvalidFree, InvalidSize, InvariantViolation,
                      KernelMemError)
from ..page_alloc.gfp import gfp_name, gfp_zone, parse_gfp
from ..slab.kmalloc import check_size
from ..slab.slub_sizes import align_up, fls
from ..units import format_size

__all__ = ["VmallocSpace", "VmArea", "kvmalloc", "kvfree", "format_vmallocinfo_line"]

_NESTED_KEEP = frozenset(("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_HIGH", "__GFP_IO", "__GFP_FS",
                          "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_MEMALLOC",
                          "__GFP_NOMEMALLOC", "__GFP_NOLOCKDEP"))


class VmArea:
    """``struct vm_struct``: ``size`` includes the guard page, ``pages`` are the backing pfns."""

    __slots__ = ("addr", "size", "pages", "caller", "array", "vpages", "phys_addr", "ioremap")

    def __init__(self, addr: int, size: int, caller: str) -> None:
        self.addr, self.size, self.caller = addr, size, caller
        self.pages: list[int] = []
        self.array = None          # kmalloc pointer, or the nested VmArea holding the page array
        self.vpages = False
        self.phys_addr = 0         # VM_IOREMAP areas (model/boot/ioremap.py): the physical range mapped
        self.ioremap = False

    @property
    def nr_pages(self) -> int:
        return len(self.pages)

    def __repr__(self) -> str:
        return f"<vm_area {self.addr:#x}-{self.addr + self.size:#x} pages={len(self.pages)} {self.caller}>"


class VmallocSpace:
    """One window of kernel virtual addresses handed out by vmalloc (or by module_alloc()).

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> space = Machine.preset("linux-6.18-tiny").vmalloc
    >>> addr = space.vmalloc(3 * 4096 + 1)
    >>> hex(addr), space.area(addr).size, space.area(addr).nr_pages
    ('0xffffc90000000000', 20480, 4)
    """

    def __init__(self, machine, *, start: int | None = None, end: int | None = None, name: str = "vmalloc",
                 numa: bool = True, nr_cpus: int | None = None) -> None:
        config = machine.config
        self.machine, self.name, self.numa = machine, name, numa
        self.page_size = machine.page_size
        self.start = getattr(config, "vmalloc_start", 0xFFFFC90000000000) if start is None else start
        self.end = (self.start + getattr(config, "vmalloc_size", 32 << 40) - 1) if end is None else end
        if not 0 <= self.start < self.end or self.start % self.page_size:
            raise InvalidArgument(f"vmalloc window {self.start:#x}..{self.end:#x} must be page-aligned and non-empty")
        cpus = config.nr_cpus if nr_cpus is None else nr_cpus
        self.lazy_max_pages = fls(cpus) * ((32 << 20) // self.page_size)
        self._free: list[list[int]] = [[self.start, self.end]]
        self._busy: dict[int, VmArea] = {}
        self._lazy: list[VmArea] = []
        self.lazy_nr = 0
        self._vfreed: set[int] = set()
        self.width = 16 if self.end > 0xFFFFFFFF else 8
        self.pointer_size = 8 if self.end > 0xFFFFFFFF else 4      # sizeof(struct page *): i386 windows are 32-bit
        machine.add_holder(self)

    # ------------------------------------------------------------------ the machine's bookkeeping
    def owned_blocks(self):
        """``(pfn, 0, "vmalloc")`` for every page behind a live area (page arrays included)."""
        for area in self._busy.values():
            for pfn in area.pages:
                yield pfn, 0, "vmalloc"

    def _machine_reset(self) -> None:
        """The machine rebooted: the window is empty again, as after boot."""
        self._free = [[self.start, self.end]]
        self._busy.clear()
        self._lazy.clear()
        self.lazy_nr = 0
        self._vfreed.clear()

    # ------------------------------------------------------------------ queries
    def is_vmalloc_addr(self, addr: int) -> bool:
        """``is_vmalloc_addr()``: inside this window."""
        return isinstance(addr, int) and self.start <= addr < self.end

    def area(self, addr: int) -> VmArea:
        """The live area starting at ``addr`` (``find_vm_area()``)."""
        try:
            return self._busy[addr]
        except (KeyError, TypeError):
            raise InvalidArgument(f"no vmalloc area starts at {addr!r:.60}") from None

    def areas(self) -> list[VmArea]:
        return [self._busy[a] for a in sorted(self._busy)]

    def vmalloc_to_pfn(self, addr: int) -> int:
        """``vmalloc_to_pfn()``: the page frame behind any address inside a live area."""
        if isinstance(addr, bool) or not isinstance(addr, numbers.Integral):
            raise InvalidArgument(f"vmalloc_to_pfn({addr!r:.60}): an address is an integer")
        for area in self._busy.values():
            if area.addr <= addr < area.addr + area.size - self.page_size:
                return area.pages[(addr - area.addr) // self.page_size]
        raise InvalidArgument(f"{addr:#x} is not inside a live vmalloc area (or it is a guard page)")

    def mapping(self, addr: int) -> dict[str, np.ndarray]:
        """Virtual address, pfn and physical address of every page of the area at ``addr``."""
        area = self.area(addr)
        pfns = np.array(area.pages, dtype=np.int64)
        virt = area.addr + np.arange(len(pfns), dtype=np.uint64) * np.uint64(self.page_size)
        return {"virt": virt, "pfn": pfns, "phys": pfns * self.page_size}

    @property
    def used(self) -> int:
        """Bytes of virtual space reserved by live areas (guard pages included)."""
        return sum(area.size for area in self._busy.values())

    # ------------------------------------------------------------------ vmalloc / vfree
    def vmalloc(self, size: int, gfp="GFP_KERNEL", *, caller: str = "vmalloc", huge: bool = False) -> int:
        """``vmalloc(size)``: ``PAGE_ALIGN(size)`` bytes, virtually contiguous, one guard page after.

        Raises :class:`AllocationError` with the kernel's message when the range or the pages
        cannot be found.  Every page and the address range are then given back; only a slab the
        page-array kmalloc() had to create stays cached (empty), as the slab allocator keeps it.
        ``huge=True`` is VM_ALLOW_HUGE_VMAP (``vmalloc_huge()``, kvmalloc()): see the module notes.
        """
        with self.machine.bus.batch("vmalloc"):           # one redraw for views, not one per page
            if huge and not isinstance(size, bool) and isinstance(size, int) and size >= self.pmd_size:
                try:
                    return self._vmalloc(size, gfp, caller, huge_order=self.pmd_order)
                except AllocationError:
                    pass  # __vmalloc_node_range_noprof()'s fail: retry with shift = PAGE_SHIFT
            return self._vmalloc(size, gfp, caller)

    @property
    def pmd_order(self) -> int:
        """HPAGE_PMD_ORDER: 9 with 4 KiB pages on x86-64 (PMD_SHIFT 21)."""
        return self.machine.pageblock_order

    @property
    def pmd_size(self) -> int:
        return self.page_size << self.pmd_order

    def _vmalloc(self, size: int, gfp, caller: str, huge_order: int = 0) -> int:
        flags = parse_gfp(gfp)
        gfp_zone(flags)  # GFP_ZONE_BAD masks are refused before the range or the page array is taken
        size = check_size(size, "vmalloc")
        if not isinstance(caller, str) or not caller.isprintable() or not 0 < len(caller) <= 64:
            raise InvalidArgument(f"caller {caller!r:.60}: a short printable name (it is a /proc/vmallocinfo field)")
        if size == 0:
            raise InvalidSize("vmalloc(0): __vmalloc_node_range() hits WARN_ON_ONCE(!size) and returns NULL; "
                              "accepted: 1 byte or more (rounded up to whole pages)")
        real_size = size
        size = align_up(size, self.page_size << huge_order)   # __get_vm_area_node(): ALIGN(size, 1 << shift)
        total = sum(zone.managed_pages for zone in self.machine.zones)
        if size // self.page_size > total:
            raise AllocationError(f"vmalloc error: size {real_size}, exceeds total pages ({total:,} pages of RAM)",
                                  order=0, reason="exceeds total pages")
        addr = self._alloc_range(size + self.page_size, real_size, flags, align=self.page_size << huge_order)
        area = VmArea(addr, size + self.page_size, caller)
        self._busy[addr] = area
        try:
            self._populate(area, size, flags, caller, huge_order)
        except KernelMemError:
            if huge_order:  # __vmalloc_area_node()'s fail: vfree(area->addr), lazily
                self._vfree(addr)
            else:
                self._busy.pop(addr)
                self._give_back_range(addr, area.size)
            raise
        self._vfreed.discard(addr)
        if self.machine.bus.active:
            self.machine.bus.emit("vmalloc", addr=addr, size=area.size, nr_pages=len(area.pages), caller=caller,
                                  space=self.name, pfns=tuple(area.pages))
        return addr

    def vzalloc(self, size: int, gfp="GFP_KERNEL", *, caller: str = "vzalloc") -> int:
        return self.vmalloc(size, parse_gfp(gfp) | {"__GFP_ZERO"}, caller=caller)

    def _populate(self, area: VmArea, size: int, flags, caller: str, huge_order: int = 0) -> None:
        """``__vmalloc_area_node()``: the page array, then ``vm_area_alloc_pages()``."""
        nr_pages = size // self.page_size
        array_size = nr_pages * self.pointer_size               # nr_pages * sizeof(struct page *)
        nested = frozenset((flags & _NESTED_KEEP) | {"__GFP_ZERO"})
        if array_size > self.page_size:
            area.array = self._busy[self.vmalloc(array_size, nested, caller=caller)]
            area.vpages = True
        else:
            area.array = self.machine.slab.kmalloc(array_size, nested)
        page_flags = (flags if flags & {"__GFP_DMA", "__GFP_DMA32"} else flags | {"__GFP_HIGHMEM"}) | {"__GFP_NOWARN"}
        if huge_order:
            page_flags = page_flags - {"__GFP_NOFAIL"}
        page_gfp = gfp_name(frozenset(page_flags))
        machine, pages = self.machine, area.pages     # a mask string: the machine caches its plan
        try:
            if not huge_order:
                while len(pages) < nr_pages:  # alloc_pages_bulk_node_noprof(), at most 100 a call
                    request = min(100, nr_pages - len(pages))
                    got = machine.alloc_pages_bulk(page_gfp, request, owner="vmalloc") if request > 1 else []
                    pages.extend(got)
                    if len(got) != request:
                        break
            while len(pages) < nr_pages:  # high-order pages, or what the bulk allocator left
                pfn = machine.alloc_pages(page_gfp, huge_order, owner="vmalloc")
                if huge_order:
                    machine.zone_of(pfn).split_page(pfn, huge_order)
                pages.extend(range(pfn, pfn + (1 << huge_order)))
        except KernelMemError as error:
            for pfn in area.pages:
                self.machine.free_pages(pfn, 0, owner="vmalloc")
            area.pages.clear()
            self._drop_array(area, lazy=False)
            if not isinstance(error, AllocationError):
                raise
            raise AllocationError(f"vmalloc error: size {size}, failed to allocate pages ({gfp_name(flags)}): "
                                  f"{error.reason}", order=0, reason=error.reason) from None

    def _drop_array(self, area: VmArea, lazy: bool) -> None:
        if area.vpages:
            inner = area.array
            if lazy:
                self.vfree(inner.addr)
            else:
                self._busy.pop(inner.addr)
                for pfn in inner.pages:
                    self.machine.free_pages(pfn, 0, owner="vmalloc")
                self._drop_array(inner, lazy=False)
                self._give_back_range(inner.addr, inner.size)
        elif area.array is not None:
            self.machine.slab.kfree(area.array)
        area.array, area.vpages = None, False

    def vfree(self, addr) -> None:
        """``vfree(addr)``: pages back to the buddy allocator now, the address range lazily."""
        with self.machine.bus.batch("vfree"):
            self._vfree(addr)

    def _vfree(self, addr) -> None:
        if addr is None or addr == 0:
            return
        if isinstance(addr, bool) or not isinstance(addr, numbers.Integral):
            raise InvalidArgument(f"vfree({addr!r:.60}): a pointer is an integer address")
        addr = int(addr)
        if addr % self.page_size:
            raise InvalidFree(f"Trying to vfree() bad address ({addr:#x}): vmalloc areas start on a page boundary",
                              ptr=addr)
        area = self._busy.get(addr)
        if area is None:
            if addr in self._vfreed:
                raise DoubleFree(f"Trying to vfree() nonexistent vm area ({addr:#x}): it was vfree()d already - "
                                 "a double free", ptr=addr)
            raise InvalidFree(f"Trying to vfree() nonexistent vm area ({addr:#x}): vmalloc() never returned this "
                              "address" + (" (it is inside another area)" if self._inside(addr) else ""), ptr=addr)
        del self._busy[addr]
        for pfn in area.pages:
            self.machine.free_pages(pfn, 0, owner="vmalloc")
        nr_pages = len(area.pages)
        area.pages = []
        self._drop_array(area, lazy=True)
        self._vfreed.add(addr)
        self._lazy.append(area)
        self.lazy_nr += area.size // self.page_size
        if self.lazy_nr > self.lazy_max_pages:
            self.purge()
        if self.machine.bus.active:
            self.machine.bus.emit("vfree", addr=addr, size=area.size, nr_pages=nr_pages, space=self.name)

    def unwind(self, addr: int) -> None:
        """Undo a :meth:`vmalloc` completely, the virtual range included (an error path's rollback)."""
        self.area(addr)  # InvalidArgument unless a live area starts there
        area = self._busy.pop(addr)
        for pfn in area.pages:
            self.machine.free_pages(pfn, 0, owner="vmalloc")
        area.pages = []
        self._drop_array(area, lazy=False)
        self._give_back_range(addr, area.size)

    def _inside(self, addr: int) -> bool:
        return any(a.addr < addr < a.addr + a.size for a in self._busy.values())

    def purge(self) -> int:
        """``purge_vmap_area_lazy()``: every lazily freed range becomes reusable; returns how many."""
        purged = len(self._lazy)
        for area in self._lazy:
            self._give_back_range(area.addr, area.size)
        self._lazy.clear()
        self.lazy_nr = 0
        return purged

    # ------------------------------------------------------------------ address ranges
    def _alloc_range(self, size: int, real_size: int, flags, align: int = 0) -> int:
        """``alloc_vmap_area()``: lowest fit, purging lazily freed ranges once if nothing fits."""
        addr = _first_fit(self._free, size, align)
        if addr is None and self._lazy:
            merged = [list(r) for r in self._free]
            for area in self._lazy:
                _insert_range(merged, area.addr, area.size)
            if _first_fit(merged, size, align) is not None:
                self.purge()
                addr = _first_fit(self._free, size, align)
        if addr is None:
            reason = (f"vmap allocation for size {size} failed: use vmalloc=<size> to increase size "
                      f"(the {self.name} area {self.start:#x}-{self.end:#x} has no free range of "
                      f"{format_size(size)}; largest free range {format_size(self.largest_free())})")
            raise AllocationError(f"vmalloc error: size {real_size}, vm_struct allocation failed: {reason}",
                                  order=0, reason=reason)
        _take_range(self._free, addr, size)
        return addr

    def get_vm_area(self, size: int, align: int, *, caller: str, phys_addr: int) -> VmArea:
        """``__get_vm_area_node(size, align, VM_IOREMAP)``: a range with one guard page, lowest fit at ``align``.

        Used by ``ioremap()`` (model/boot/ioremap.py); raises :class:`AllocationError` with the
        kernel's "vmap allocation for size N failed" when the window has no such range.
        """
        size = as_int(size, "get_vm_area size", "a positive multiple of PAGE_SIZE", InvalidSize)
        align = as_int(align, "get_vm_area align", "a power of two >= PAGE_SIZE")
        phys_addr = as_int(phys_addr, "get_vm_area phys_addr", "a physical address >= 0")
        if size <= 0 or size % self.page_size or size >= 1 << 64:
            raise InvalidSize(f"get_vm_area size {size}: accepted: a positive multiple of PAGE_SIZE ({self.page_size})")
        if align < self.page_size or align & (align - 1) or align >= 1 << 64:
            raise InvalidArgument(f"get_vm_area align {align}: accepted: a power of two >= PAGE_SIZE")
        if phys_addr < 0 or not isinstance(caller, str) or not caller.isprintable():
            raise InvalidArgument("get_vm_area: phys_addr must be >= 0 and caller a printable name")
        total = size + self.page_size
        addr = _first_fit_aligned(self._free, total, align)
        if addr is None and self._lazy:
            self.purge()
            addr = _first_fit_aligned(self._free, total, align)
        if addr is None:
            reason = (f"vmap allocation for size {total} failed: use vmalloc=<size> to increase size "
                      f"(the {self.name} area {self.start:#x}-{self.end:#x} has no free range of {format_size(total)} "
                      f"aligned to {format_size(align)}; largest free range {format_size(self.largest_free())})")
            raise AllocationError(reason, order=0, reason=reason)
        _take_range(self._free, addr, total)
        area = VmArea(addr, total, caller)
        area.phys_addr, area.ioremap = phys_addr, True
        self._busy[addr] = area
        return area

    def free_vm_area(self, addr: int) -> VmArea:
        """``vunmap()`` of a :meth:`get_vm_area` range: it waits on the purge list like a vfree()d one."""
        area = self._busy.get(addr) if addr.__class__ is int else None
        if area is None or not area.ioremap:
            raise InvalidFree(f"free_vm_area({addr!r:.40}): not the start of a mapping made by get_vm_area() "
                              f"in the {self.name} area")
        del self._busy[addr]
        self._lazy.append(area)
        self.lazy_nr += area.size // self.page_size
        if self.lazy_nr > self.lazy_max_pages:
            self.purge()
        return area

    def _give_back_range(self, addr: int, size: int) -> None:
        _insert_range(self._free, addr, size)

    def largest_free(self) -> int:
        return max((end - start for start, end in self._free), default=0)

    # ------------------------------------------------------------------ /proc/vmallocinfo
    @property
    def nr_vmap_nodes(self) -> int:
        """``nr_vmap_nodes`` of ``vmap_init_nodes()`` (mm/vmalloc.c, Linux 6.9 to 6.18): on 64-bit,
        ``clamp(num_possible_cpus(), 1, 128)`` nodes when that is above 1; on 32-bit one node."""
        if self.pointer_size == 4:
            return 1
        return min(max(int(self.machine.config.nr_cpus), 1), 128)

    @property
    def vmap_zone_size(self) -> int:
        """``vmap_zone_size = (1 << 4) * PAGE_SIZE``: an address belongs to node
        ``(addr / vmap_zone_size) % nr_vmap_nodes`` (``addr_to_node_id()``, Linux 6.9+)."""
        return 16 * self.page_size

    def vmap_node(self, addr: int) -> int:
        """``addr_to_node_id()`` (mm/vmalloc.c, Linux 6.18): which vmap node keeps the area at ``addr``."""
        addr = as_int(addr, "addr", "a virtual address")
        return (addr // self.vmap_zone_size) % self.nr_vmap_nodes

    def render_vmallocinfo(self) -> str:
        """/proc/vmallocinfo as ``vmalloc_info_show()`` (mm/vmalloc.c, Linux 6.18) prints it.

        Node by node (``vmap_nodes[0 .. nr_vmap_nodes - 1]``, see :meth:`vmap_node`), each node's
        busy areas in address order, then ``show_purge_info()``: every node's lazily freed areas
        as ``unpurged vm_area``.  A line is ``"0x%pK-0x%pK %7ld"``, `` %pS`` of the caller,
        `` pages=%d``, `` phys=%pa``, the flags, `` vpages``, then ``show_numa_info()``'s
        `` N0=%u``.  Addresses are the real ones (``%pK`` with kptr_restrict 1, read as root).  The
        model has no kallsyms: a caller given as ``"name+0xoff/0xsize [module]"`` prints as given,
        a bare name as the name alone.
        """
        nodes = self.nr_vmap_nodes
        zone = self.vmap_zone_size
        out = []
        for node in range(nodes):
            for area in self.areas():
                if (area.addr // zone) % nodes == node:
                    out.append(self._vmallocinfo_line(area))
        for node in range(nodes):
            for area in sorted(self._lazy, key=lambda a: a.addr):
                if (area.addr // zone) % nodes == node:
                    out.append(format_vmallocinfo_line(area.addr, area.addr + area.size, area.size,
                                                       "unpurged vm_area", width=self.width))
        return "".join(out)

    def _vmallocinfo_line(self, area: "VmArea") -> str:
        flags = ("ioremap",) if area.ioremap else ("vmalloc",)
        return format_vmallocinfo_line(area.addr, area.addr + area.size, area.size, area.caller,
                                       pages=len(area.pages), phys=area.phys_addr if area.ioremap else 0,
                                       flags=flags, vpages=area.vpages,
                                       numa={0: len(area.pages)} if self.numa and area.pages else None,
                                       width=self.width)

    def check_invariants(self) -> None:
        spans = sorted([(a.addr, a.addr + a.size, "busy") for a in self._busy.values()]
                       + [(a.addr, a.addr + a.size, "lazy") for a in self._lazy]
                       + [(s, e, "free") for s, e in self._free])
        position = self.start
        for start, end, kind in spans:
            _require(start == position, f"{self.name}: gap or overlap at {position:#x} (next {kind} range {start:#x})")
            position = end
        _require(position == self.end, f"{self.name}: ranges do not cover the window")
        _require(all(a[1] < b[0] for a, b in zip(self._free, self._free[1:])), f"{self.name}: unmerged free ranges")
        seen = set()
        for area in self._busy.values():
            if area.ioremap:
                _require(not area.pages, f"{area}: an ioremap area owns no pages")
                continue
            _require(len(area.pages) == area.size // self.page_size - 1, f"{area}: page count != size - guard")
            for pfn in area.pages:
                _require(pfn not in seen, f"pfn {pfn:#x} backs two vmalloc pages")
                seen.add(pfn)
                _require(self.machine.zone_of(pfn).allocated_order(pfn) == 0, f"pfn {pfn:#x} is not an order-0 page")
        _require(self.lazy_nr == sum(a.size for a in self._lazy) // self.page_size, f"{self.name}: lazy_nr")


def _first_fit(free: list[list[int]], size: int, align: int = 0):
    for start, end in free:
        aligned = align_up(start, align) if align else start
        if end - aligned >= size:
            return aligned
    return None


def _first_fit_aligned(free: list[list[int]], size: int, align: int):
    for start, end in free:
        addr = -(-start // align) * align
        if addr + size <= end:
            return addr
    return None


def _take_range(free: list[list[int]], addr: int, size: int) -> None:
    for i, (start, end) in enumerate(free):
        if start <= addr and addr + size <= end:
            pieces = [[start, addr]] if start < addr else []
            pieces += [[addr + size, end]] if addr + size < end else []
            free[i:i + 1] = pieces
            return
    raise InvariantViolation(f"range {addr:#x}+{size} is not free")


def _insert_range(free: list[list[int]], addr: int, size: int) -> None:
    from bisect import bisect_left

    i = bisect_left(free, [addr, addr])
    free.insert(i, [addr, addr + size])
    if i + 1 < len(free) and free[i][1] == free[i + 1][0]:
        free[i][1] = free[i + 1][1]
        del free[i + 1]
    if i > 0 and free[i - 1][1] == free[i][0]:
        free[i - 1][1] = free[i][1]
        del free[i]


def format_vmallocinfo_line(start: int, end: int, size: int, caller: str | None = None, *, pages: int = 0,
                            phys: int = 0, flags=(), vpages: bool = False, numa: dict | None = None,
                            width: int = 16) -> str:
    r"""One line of /proc/vmallocinfo as ``vmalloc_info_show()`` (mm/vmalloc.c, Linux 6.18) prints it.

    ``"0x%pK-0x%pK %7ld"``; `` %pS`` (the caller, as given); `` pages=%d`` if any; `` phys=%pa`` if
    set (``%pa``: 0x and the full width of phys_addr_t); the flags in the kernel's order
    (ioremap, sparse, vmalloc, vmap, user, dma-coherent); `` vpages``; ``show_numa_info()``'s
    `` N%u=%u`` per node with pages.  A ``caller`` of ``"unpurged vm_area"`` or ``"vm_map_ram"`` is
    the line of a vmap area without a vm_struct.

    >>> format_vmallocinfo_line(0xffffc90000000000, 0xffffc90000005000, 20480, "alloc_large_system_hash+0x17b/0x270",
    ...                         pages=4, flags=("vmalloc",), numa={0: 4})
    '0xffffc90000000000-0xffffc90000005000   20480 alloc_large_system_hash+0x17b/0x270 pages=4 vmalloc N0=4\n'
    """
    if start.__class__ is not int or end.__class__ is not int or size.__class__ is not int \
            or pages.__class__ is not int or phys.__class__ is not int or width not in (8, 16):
        from ..validate import in_range

        start, end = in_range(start, "start", 0, (1 << 64) - 1), in_range(end, "end", 0, (1 << 64) - 1)
        size, pages = in_range(size, "size", 0, (1 << 64) - 1), in_range(pages, "pages", 0, 1 << 52)
        phys = in_range(phys, "phys", 0, (1 << 64) - 1)
        if width not in (8, 16) or isinstance(width, bool):
            raise InvalidArgument(f"width {width!r:.20}: accepted: 8 (32-bit) or 16 (64-bit) hex digits")
    if caller is not None and (not isinstance(caller, str) or len(caller) > 200 or "\n" in caller):
        raise InvalidArgument(f"caller {caller!r:.40}: accepted: None or a symbol text of one line")
    if not isinstance(flags, (tuple, list)) or not all(isinstance(flag, str) for flag in flags):
        raise InvalidArgument(f"flags {flags!r:.40}: accepted: a tuple of flag names such as ('vmalloc',)")
    if not isinstance(vpages, bool):
        raise InvalidArgument(f"vpages {vpages!r:.20}: accepted: True or False")
    if numa is not None and (not isinstance(numa, dict) or not all(
            n.__class__ is int and c.__class__ is int and n >= 0 and c >= 0 for n, c in numa.items())):
        raise InvalidArgument(f"numa {numa!r:.40}: accepted: None or {{node: pages}} with integers >= 0")
    line = f"0x{start:0{width}x}-0x{end:0{width}x} {size:7d}"
    if caller:
        line += f" {caller}"
    if pages:
        line += f" pages={pages}"
    if phys:
        line += f" phys=0x{phys:0{16 if width == 16 else 8}x}"
    order = ("ioremap", "sparse", "vmalloc", "vmap", "user", "dma-coherent")
    line += "".join(f" {flag}" for flag in order if flag in flags)
    if vpages:
        line += " vpages"
    if numa:
        line += "".join(f" N{node}={count}" for node, count in sorted(numa.items()) if count)
    return line + "\n"


def kvmalloc(machine, size: int, gfp="GFP_KERNEL") -> int:
    """``kvmalloc()``: kmalloc first (quietly, without direct reclaim above a page), else vmalloc
    with VM_ALLOW_HUGE_VMAP (2 MiB and more: order-9 pages, the size rounded up to 2 MiB).

    Follows ``__kvmalloc_node_noprof()`` / ``kmalloc_gfp_adjust()`` of mm/slub.c (Linux 6.18).
    """
    _check_machine(machine, "kvmalloc")
    flags = parse_gfp(gfp)
    size = check_size(size, "kvmalloc")
    attempt = flags
    if size > machine.page_size:
        attempt = flags | {"__GFP_NOWARN"}
        if "__GFP_RETRY_MAYFAIL" not in flags:
            attempt = attempt - {"__GFP_DIRECT_RECLAIM"}
        attempt = attempt - {"__GFP_NOFAIL"}
    try:
        return machine.slab.kmalloc(size, frozenset(attempt))
    except AllocationError:
        if size <= machine.page_size or "__GFP_DIRECT_RECLAIM" not in flags:
            raise
    if size > (1 << 31) - 1:
        raise AllocationError(f"kvmalloc({size}): above INT_MAX, refused (WARN_ON_ONCE)", order=0,
                              reason="above INT_MAX")
    return machine.vmalloc.vmalloc(size, flags, caller="kvmalloc", huge=True)


def kvfree(machine, ptr) -> None:
    """``kvfree()``: vfree() for a vmalloc address, kfree() for anything else."""
    _check_machine(machine, "kvfree")
    if isinstance(ptr, int) and not isinstance(ptr, bool) and machine.vmalloc.is_vmalloc_addr(ptr):
        machine.vmalloc.vfree(ptr)
    else:
        machine.slab.kfree(ptr)


def _check_machine(machine, what: str) -> None:
    if not hasattr(machine, "slab") or not hasattr(machine, "zones"):
        raise InvalidArgument(f"{what}({machine!r:.60}, ...): the first argument is a Machine")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
