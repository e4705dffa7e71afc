"""Access streams through a mapping: how many TLB misses and page-walk references they cost.

A stream is an array of byte offsets into a buffer (sequential, strided or random); running it
translates every address with the page tables (vectorised walk) and plays it through a TLB.
:func:`compare_mappings` runs one pattern over four buffers of the same size:

* the direct map (the kernel's view of any RAM: kmalloc and alloc_pages memory), 2 MiB / 1 GiB
  pages from ``init_mem_mapping()``;
* a vmalloc area: scattered order-0 pages, one 4 KiB PTE each;
* a user mapping faulted in with 4 KiB pages (THP ``never``);
* the same with THP ``always``: 2 MiB pages where an order-9 block was free.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument
from .mm import MmStruct
from .pagetable import PageTable
from .tlb import Tlb, TlbStats

__all__ = ["access_pattern", "run_stream", "compare_mappings", "PATTERNS"]

PATTERNS = ("sequential", "strided", "random")


def access_pattern(kind: str, size: int, *, stride: int = 64, count: int | None = None, seed: int = 0) -> np.ndarray:
    """Byte offsets into a buffer of ``size`` bytes.

    ``sequential``: every ``stride`` bytes in order; ``strided``: the same with a page-sized
    default stride of 4096; ``random``: ``count`` (default size // stride) uniformly random
    ``stride``-aligned offsets from ``numpy.random.default_rng(seed)``.
    """
    if kind not in PATTERNS:
        raise InvalidArgument(f"access pattern {kind!r}; accepted: {', '.join(PATTERNS)}")
    for what, value in (("size", size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise InvalidArgument(f"{what}={value!r} must be a positive number of bytes")
    if kind == "random":
        n = size // stride if count is None else count
        return np.random.default_rng(seed).integers(0, size // stride, n, dtype=np.int64) * stride
    return np.arange(0, size, stride, dtype=np.int64)


def run_stream(page_table: PageTable, tlb: Tlb, base: int, offsets: np.ndarray) -> TlbStats:
    """Translate ``base + offsets`` and play the accesses through ``tlb``."""
    virts = np.uint64(base) + np.asarray(offsets, dtype=np.uint64)
    _phys, sizes, refs = page_table.translate(virts)
    return tlb.access(virts, sizes, refs)


def compare_mappings(machine, size: int, pattern: str = "sequential", *, stride: int = 64, count: int | None = None,
                     seed: int = 0, cpu: str = "skylake", keep: bool = False,
                     tlbs: dict | None = None) -> dict[str, dict[str, int]]:
    """The same stream over a buffer reached four ways; each starts with an empty TLB.

    With ``keep=False`` the vmalloc area and the user mappings are given back afterwards, so
    the machine's memory is as before (the direct map stays: it is built once, at boot).
    ``tlbs``, if given, receives each mapping's TLB as the stream left it.
    """
    tlbs = {} if tlbs is None else tlbs
    offsets = access_pattern(pattern, size, stride=stride, count=count, seed=seed)
    kernel = machine.mmu
    out: dict[str, dict[str, int]] = {}
    ram_start = 16 << 20 if machine.nr_pages * machine.page_size >= (16 << 20) + size else 0
    tlbs["direct map"] = Tlb(cpu)
    out["direct map"] = run_stream(kernel.page_table, tlbs["direct map"], kernel.direct_map.virt(ram_start),
                                   offsets).as_dict()
    addr = kernel.vmalloc.vmalloc(size)
    try:
        tlbs["vmalloc"] = Tlb(cpu)
        out["vmalloc"] = run_stream(kernel.page_table, tlbs["vmalloc"], addr, offsets).as_dict()
    finally:
        if not keep:
            kernel.vmalloc.vfree(addr)
    for label, thp in (("user 4 KiB", "never"), ("user THP", "always")):
        mm = MmStruct(machine, thp=thp, name=label)
        base = mm.mmap(size)
        faults = mm.touch_range(base, size, write=True)
        tlbs[label] = Tlb(cpu)
        stats = run_stream(mm.pt, tlbs[label], base, offsets).as_dict()
        stats["page faults"] = faults["faults"]
        stats["page-table pages"] = mm.pt.nr_tables
        out[label] = stats
        if not keep:
            mm.exit()
    return out
