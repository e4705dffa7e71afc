"""ioremap() and memremap(): mapping physical ranges into the vmalloc area (arch/x86/mm/ioremap.c, kernel/iomem.c).

``__ioremap_caller()`` of 6.x: no size or a wrapping range -> NULL; a physical address beyond
the CPU's -> "ioremap: invalid physical address"; ``__ioremap_check_mem()`` finds any part of
the range in a ``System RAM`` resource -> ``WARN_ONCE("ioremap on RAM at %pa - %pa")`` and NULL;
then the range is page-aligned (the offset is added back to the result), the cache mode recorded
(ioremap: UC-, ioremap_uc: UC, ioremap_wc: WC, ioremap_wt: WT, ioremap_cache: WB) and
``get_vm_area_caller(size, VM_IOREMAP)`` takes address space from the vmalloc area: one guard
page more, aligned to the size's power of two (``get_count_order``) capped at IOREMAP_MAX_ORDER
(PUD_SHIFT, 1 GiB, on x86-64).  2.6.35 (i386) differs as preset data: the alignment is
``fls(size)`` capped at ``7 + PAGE_SHIFT`` (512 KiB); the RAM check refuses, without a word, only
pages that are RAM in e820 and not PageReserved (so reserved firmware RAM can be mapped) and
stops one page short of the end; the ISA hole 640 KiB-1 MiB comes back from the direct map.

``memremap(offset, size, flags)`` (kernel/iomem.c, 4.3+): a range partly in System RAM ->
"memremap attempted on mixed range"; MEMREMAP_WB on RAM returns the direct-map address
(``try_ram_remap()``, ``__va()``), elsewhere ``ioremap_cache()``; WT/WC on RAM -> "memremap
attempted on ram".  ``memunmap()`` iounmap()s only vmalloc addresses.  Not modelled: PAT
conflicts between mappings (``memtype_reserve()``), huge-page mappings of the PTEs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AllocationError, InvalidArgument, KernelMemError

__all__ = ["IoMapping", "IoremapSpace", "IoremapRefused", "InvalidIoremapRange", "MEMREMAP_WB", "MEMREMAP_WT",
           "MEMREMAP_WC", "CACHE_MODES", "access_cost"]

MEMREMAP_WB, MEMREMAP_WT, MEMREMAP_WC = 1, 2, 4
_FLAG_NAMES = {"MEMREMAP_WB": MEMREMAP_WB, "MEMREMAP_WT": MEMREMAP_WT, "MEMREMAP_WC": MEMREMAP_WC}

#: cache mode -> what the CPU does on each access (a model of the memory traffic, not a timing)
CACHE_MODES = {
    "UC-": "uncached (minus): every load and store goes to the device or memory, in program order",
    "UC": "strongly uncached: every access goes out, no write combining even if an MTRR says WC",
    "WC": "write-combining: stores gather into 64-byte bursts; loads are uncached",
    "WT": "write-through: loads hit the cache, every store also goes out",
    "WB": "write-back: loads and stores hit the cache; memory sees whole 64-byte lines",
}


class IoremapRefused(KernelMemError):
    """The kernel returns NULL for this ioremap()/memremap(); ``kernel_line`` is its WARN (or None)."""

    def __init__(self, message: str, *, kernel_line: str | None = None):
        super().__init__(message)
        self.kernel_line = kernel_line


class InvalidIoremapRange(InvalidArgument):
    """A range no ioremap() can take: size 0, wrapping, beyond the physical address limit, not integers."""


@dataclass
class IoMapping:
    """One live mapping: what was asked, what was mapped, where, with which cache mode."""

    vaddr: int                # the pointer returned (area start + offset, or the direct-map address)
    phys_addr: int            # as asked
    size: int                 # as asked
    map_phys: int             # page-aligned start actually mapped
    map_size: int             # page-aligned size actually mapped (no guard page)
    cache_mode: str
    caller: str
    direct_map: bool = False  # memremap(MEMREMAP_WB) of RAM: no new mapping

    @property
    def area_addr(self) -> int:
        return self.vaddr - (self.phys_addr - self.map_phys)


def access_cost(cache_mode: str, nbytes: int, *, write: bool = False, access_size: int = 4,
                line_size: int = 64) -> int:
    """Memory (or bus) transactions for touching ``nbytes`` in order through a mapping of ``cache_mode``.

    A teaching model of the CPU: uncached accesses each go out; cached ones move whole lines;
    write-combining merges stores into lines but not loads.

    >>> access_cost("UC-", 4096), access_cost("WB", 4096), access_cost("WC", 4096, write=True)
    (1024, 64, 64)
    """
    if cache_mode not in CACHE_MODES:
        raise InvalidArgument(f"unknown cache mode {cache_mode!r}; accepted: {', '.join(CACHE_MODES)}")
    accesses = -(-nbytes // access_size)
    lines = -(-nbytes // line_size)
    if cache_mode in ("UC-", "UC"):
        return accesses
    if cache_mode == "WC":
        return lines if write else accesses
    if cache_mode == "WT":
        return accesses if write else lines
    return lines


def _check_range(phys_addr, size, limit: int, what: str) -> None:
    for name, value in (("phys_addr", phys_addr), ("size", size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidIoremapRange(f"{what}({phys_addr!r}, {size!r}): {name} must be a non-negative integer")
    if size == 0:
        raise InvalidIoremapRange(f"{what}({phys_addr:#x}, 0): __ioremap_caller() returns NULL for size 0 "
                                  "('Don't allow wraparound or zero size'); accepted: size >= 1")
    if phys_addr + size - 1 >= 1 << 64:
        raise InvalidIoremapRange(f"{what}({phys_addr:#x}, {size:#x}): the range wraps around the address space, "
                                  "so __ioremap_caller() returns NULL")
    if phys_addr + size > limit:
        raise InvalidIoremapRange(f"{what}({phys_addr:#x}, {size:#x}): beyond the CPU's physical address limit "
                                  f"{limit:#x}: the kernel prints 'ioremap: invalid physical address {phys_addr:x}' "
                                  "and returns NULL")


class IoremapSpace:
    """The ioremap()/memremap() side of one booted machine (its vmalloc area, its iomem tree)."""

    def __init__(self, machine) -> None:
        self.machine = machine
        self.mappings: dict[int, IoMapping] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def _boot(self):
        return self.machine.boot

    @property
    def legacy(self) -> bool:
        return self._boot.rules.name.startswith("2.6")

    def _ram_ranges(self) -> list[tuple[int, int]]:
        """System RAM resources of /proc/iomem as [start, end] inclusive."""
        return [(r.start, r.end) for _d, r in self.machine.iomem.walk() if r.system_ram]

    def _direct_map(self, phys: int) -> int:
        return self.machine.config.page_offset + phys

    def _is_reserved_page(self, pfn: int) -> bool:
        addr = pfn << 12
        return any(s <= addr < e for s, e in self._boot.memblock.reserved)

    # ------------------------------------------------------------------ ioremap
    def ioremap(self, phys_addr: int, size: int, cache_mode: str = "UC-", *, caller: str = "ioremap") -> int:
        """``ioremap()`` family: the kernel virtual address of ``[phys_addr, phys_addr+size)``."""
        limit = 1 << (self._boot.rules.max_phys_bits)
        _check_range(phys_addr, size, limit, caller)
        last = phys_addr + size - 1
        if self.legacy:
            if 0xA0000 <= phys_addr and last < 0x100000:       # is_ISA_range(): always mapped
                vaddr = self._direct_map(phys_addr)
                self.mappings[vaddr] = IoMapping(vaddr, phys_addr, size, phys_addr & ~0xFFF, 0, cache_mode, caller,
                                                 direct_map=True)
                return vaddr
            for pfn in range(phys_addr >> 12, (last & ~0xFFF) >> 12):
                if self._boot.table.mapped_any(pfn << 12, (pfn + 1) << 12, 1) and not self._is_reserved_page(pfn) \
                        and pfn < self.machine.nr_pages:
                    raise IoremapRefused(
                        f"{caller}({phys_addr:#x}, {size:#x}) returns NULL: page {pfn:#x} is RAM the kernel uses "
                        "(2.6.35 __ioremap_caller(): page_is_ram() && !PageReserved(), 'Don't allow anybody to remap "
                        "normal RAM that we're using'); nothing is printed", kernel_line=None)
        else:
            for start, end in self._ram_ranges():
                if start <= last and phys_addr <= end:
                    line = f"ioremap on RAM at {phys_addr:#018x} - {last:#018x}"
                    raise IoremapRefused(f"{caller}({phys_addr:#x}, {size:#x}) returns NULL: the range overlaps "
                                         f"System RAM {start:#x}-{end:#x} that the kernel manages; the kernel "
                                         f"prints WARN '{line}'. Reserve it first (memmap=nn$ss or mem=) or use "
                                         "memremap(MEMREMAP_WB) for RAM", kernel_line=line)
        map_phys = phys_addr & ~0xFFF
        map_size = ((last + 1 + 0xFFF) & ~0xFFF) - map_phys
        align = self._ioremap_align(map_size)
        try:
            area = self.machine.vmalloc.get_vm_area(map_size, align, caller=caller, phys_addr=map_phys)
        except AllocationError as error:
            raise IoremapRefused(f"{caller}({phys_addr:#x}, {size:#x}) returns NULL: {error.reason}",
                                 kernel_line=error.reason.split(" (")[0] + ".") from None
        vaddr = area.addr + (phys_addr - map_phys)
        self.mappings[vaddr] = IoMapping(vaddr, phys_addr, size, map_phys, map_size, cache_mode, caller)
        self.machine.bus.emit("ioremap", addr=vaddr, phys=phys_addr, size=size, cache=cache_mode, caller=caller)
        return vaddr

    def _ioremap_align(self, size: int) -> int:
        if self.legacy:                                 # 2.6.35: bit = fls(size), 7 + PAGE_SHIFT at most
            return 1 << min(max(size.bit_length(), 12), 19)
        order = (size - 1).bit_length()                 # get_count_order_long(size)
        return 1 << min(max(order, 12), 30)

    def iounmap(self, addr: int) -> None:
        """``iounmap()``: the range goes back to the vmalloc area (lazily, like vfree)."""
        mapping = self.mappings.get(addr)
        if mapping is None:
            raise InvalidArgument(f"iounmap({addr!r}): no ioremap() returned this address; the kernel prints "
                                  f"'iounmap: bad address {addr:#x}' and dumps the stack")
        del self.mappings[addr]
        if not mapping.direct_map:
            self.machine.vmalloc.free_vm_area(mapping.area_addr)
        self.machine.bus.emit("iounmap", addr=addr, phys=mapping.phys_addr, size=mapping.size)

    # ------------------------------------------------------------------ memremap
    def memremap(self, offset: int, size: int, flags) -> int:
        """``memremap()``: for memory without I/O side effects; MEMREMAP_WB of RAM is the direct map."""
        if self.legacy:
            raise InvalidArgument("memremap() appeared in Linux 4.3; a 2.6.35 driver used ioremap_cache() "
                                  "(or ioremap_nocache()) instead")
        flags = _memremap_flags(flags)
        limit = 1 << (self._boot.rules.max_phys_bits)
        _check_range(offset, size, limit, "memremap")
        last = offset + size - 1
        ram = [(max(s, offset), min(e, last)) for s, e in self._ram_ranges() if s <= last and offset <= e]
        covered = sum(e - s + 1 for s, e in ram)
        if ram and covered != size:
            line = f"memremap attempted on mixed range {offset:#018x} size: {size:#x}"
            raise IoremapRefused(f"memremap({offset:#x}, {size:#x}) returns NULL: part RAM, part not; the kernel "
                                 f"prints WARN '{line}'", kernel_line=line)
        if ram and flags & MEMREMAP_WB:
            vaddr = self._direct_map(offset)
            self.mappings[vaddr] = IoMapping(vaddr, offset, size, offset & ~0xFFF, 0, "WB", "memremap",
                                             direct_map=True)
            self.machine.bus.emit("ioremap", addr=vaddr, phys=offset, size=size, cache="WB", caller="memremap")
            return vaddr
        if ram:
            line = f"memremap attempted on ram {offset:#018x} size: {size:#x}"
            raise IoremapRefused(f"memremap({offset:#x}, {size:#x}, WT/WC) returns NULL: that is System RAM, which "
                                 f"must not get a second, differently cached alias; the kernel prints WARN '{line}'",
                                 kernel_line=line)
        mode = "WB" if flags & MEMREMAP_WB else "WT" if flags & MEMREMAP_WT else "WC"
        return self.ioremap(offset, size, mode, caller="memremap")

    def memunmap(self, addr: int) -> None:
        """``memunmap()``: iounmap() a vmalloc address; a direct-map address needs nothing."""
        mapping = self.mappings.get(addr)
        if mapping is None:
            raise InvalidArgument(f"memunmap({addr!r}): memremap() never returned this address")
        self.iounmap(addr)

    def check_invariants(self) -> None:
        for vaddr, mapping in self.mappings.items():
            if not mapping.direct_map and mapping.area_addr not in self.machine.vmalloc._busy:
                raise AssertionError(f"mapping at {vaddr:#x} has no vm area")


def _memremap_flags(flags) -> int:
    if isinstance(flags, str):
        value = 0
        for part in flags.replace(" ", "").split("|"):
            if part not in _FLAG_NAMES:
                raise InvalidArgument(f"unknown memremap flag {part!r}; accepted: {', '.join(_FLAG_NAMES)}")
            value |= _FLAG_NAMES[part]
        return value
    if isinstance(flags, bool) or not isinstance(flags, int) or not 0 < flags < 8:
        raise InvalidArgument(f"memremap flags {flags!r}: accepted MEMREMAP_WB (1), MEMREMAP_WT (2), MEMREMAP_WC (4) "
                              "or their names joined by '|'; 0 makes memremap() return NULL")
    return flags
