"""Naming a bad free the way the kernel's own checks would, and looking a pointer up.

The messages follow mm/slub.c (Linux 6.18): ``free_consistency_checks()`` ("Invalid object
pointer", "Object already free"), ``cache_from_obj()`` ("Wrong slab cache. X but object is from
Y"), ``free_large_kmalloc()`` ("Not a kmalloc allocation"), and for SLOB the size header its
``kfree()`` trusts.  Every check runs before anything is changed.
"""

from __future__ import annotations

import numbers

from ..errors import DoubleFree, InvalidArgument, InvalidFree, WrongSlabCache
from .kmalloc import ZERO_SIZE_PTR
from .slob import SLOB_UNIT, SlobPage, slob_units
from ..units import format_size

__all__ = ["FreeChecksMixin"]


class FreeChecksMixin:
    """Pointer diagnosis and lookup for :class:`~kernelmem_widgets.model.slab.slab_common.SlabAllocator`."""

    # ------------------------------------------------------------------ lookups
    def _find_slab(self, pfn: int):
        """The slab (or SLOB page) whose pages include ``pfn``; slabs are naturally aligned blocks."""
        for order in range(self.machine.max_page_order + 1):
            head = pfn & ~((1 << order) - 1)
            slab = self._slab_at.get(head)
            if slab is not None and pfn < head + (1 << slab.order):
                return slab
        return None

    def _direct_map(self) -> tuple[int, int]:
        return self.page_offset, self.page_offset + self.machine.nr_pages * self.page_size

    def cache_of(self, ptr: int):
        """The cache a live slab object came from (``virt_to_cache()``)."""
        ptr = self._pointer(ptr, "cache_of")
        entry = self._live.get(ptr)
        if entry is None or entry[0] is None:
            raise InvalidArgument(f"{_hex(ptr)} is not a live object of a kmem cache")
        return entry[0]

    def ksize(self, ptr: int) -> int:
        """``ksize()``: bytes really usable at ``ptr`` (the slot, the compound page, or SLOB's units)."""
        ptr = self._pointer(ptr, "ksize")
        entry = self._live.get(ptr)
        if entry is not None:
            cache, _slab, size = entry
            if cache is None:
                return slob_units(size) * SLOB_UNIT
            # slab_ksize() (mm/slab.h, 6.18): SLAB_TYPESAFE_BY_RCU (or SLAB_STORE_USER) caches stop at
            # s->inuse; every other cache, one with a constructor too, offers the whole s->size
            return cache.inuse if cache.rcu and hasattr(cache, "inuse") else cache.size
        if ptr in self._large:
            return self.page_size << self._large[ptr][1]
        if ptr == ZERO_SIZE_PTR:
            return 0
        raise self._bad_free(ptr, "ksize")

    def object_info(self, ptr: int) -> dict:
        """What ``kmem_dump_obj()`` would say about ``ptr``, plus the waste it carries."""
        ptr = self._pointer(ptr, "object_info")
        entry = self._live.get(ptr)
        if entry is not None:
            cache, slab, size = entry
            if cache is None:
                used = slob_units(size + 8) * SLOB_UNIT
                return {"ptr": ptr, "kind": "SLOB kmalloc block", "cache": None, "pfn": slab.pfn, "requested": size,
                        "allocated": used, "internal_waste": used - size}
            stride = cache.size
            if isinstance(slab, SlobPage):
                return {"ptr": ptr, "kind": "SLOB object", "cache": cache.name, "pfn": slab.pfn, "requested": size,
                        "allocated": stride, "internal_waste": stride - size}
            index = (ptr - slab.base) // stride
            share = cache.leftover / cache.objs_per_slab
            return {"ptr": ptr, "kind": "slab object", "cache": cache.name, "pfn": slab.pfn, "slab_order": slab.order,
                    "index": index, "requested": size, "object_size": cache.object_size, "allocated": stride,
                    "internal_waste": stride - size, "slab_leftover_share": share}
        if ptr in self._large:
            pfn, order, size = self._large[ptr]
            return {"ptr": ptr, "kind": "large kmalloc", "cache": None, "pfn": pfn, "order": order, "requested": size,
                    "allocated": self.page_size << order, "internal_waste": (self.page_size << order) - size}
        if ptr == ZERO_SIZE_PTR:
            return {"ptr": ptr, "kind": "ZERO_SIZE_PTR", "cache": None, "requested": 0, "allocated": 0,
                    "internal_waste": 0, "note": "kmalloc(0) returns (void *)16: dereferencing it faults"}
        return {"ptr": ptr, "kind": "not allocated", "reason": str(self._bad_free(ptr, "kfree"))}

    # ------------------------------------------------------------------ diagnosis
    def _pointer(self, ptr, func: str) -> int:
        """``ptr`` as a plain int address, or :class:`InvalidArgument` (a bool, text, a list ...)."""
        if ptr.__class__ is int:
            return ptr
        if isinstance(ptr, bool) or not isinstance(ptr, numbers.Integral):
            raise InvalidArgument(f"{func}({ptr!r:.60}): a pointer is a non-negative integer address such as "
                                  f"{self.page_offset:#x}")
        return int(ptr)

    def _bad_free(self, ptr, func: str) -> Exception:
        """The error a free of ``ptr`` deserves; nothing is changed."""
        if isinstance(ptr, bool) or not isinstance(ptr, int) or ptr < 0:
            return InvalidArgument(f"{func}({ptr!r}): a pointer is a non-negative integer address such as "
                                   f"{self.page_offset:#x}")
        where = _hex(ptr)
        entry = self._live.get(ptr)
        if entry is not None and entry[0] is not None:
            return InvalidFree(f"{func}({where}): SLOB's kfree() reads the 8-byte size header that kmalloc() puts in "
                               f"front of a block; objects of kmem cache {entry[0].name} have none: free them with "
                               "kmem_cache_free()", ptr=ptr)
        config = self.machine.config
        vstart = getattr(config, "vmalloc_start", 0xFFFFC90000000000)
        if vstart <= ptr < vstart + getattr(config, "vmalloc_size", 32 << 40):
            return InvalidFree(f"{func}({where}): the address is in the vmalloc area, not a slab page: memory from "
                               "vmalloc() goes back with vfree() (kvfree() frees either kind)", ptr=ptr)
        low, high = self._direct_map()
        if not low <= ptr < high:
            return InvalidFree(f"{func}({where}): not an address kmalloc() returns: slab objects and large kmallocs "
                               f"live in the direct map {low:#x}..{high - 1:#x} (PAGE_OFFSET + RAM)", ptr=ptr)
        pfn = (ptr - low) // self.page_size
        slab = self._find_slab(pfn)
        if isinstance(slab, SlobPage):
            return InvalidFree(f"{func}({where}): no live block starts here in SLOB page pfn {pfn:#x}: SLOB would "
                               "take whatever lies in front of it for a size header (a double free, or a pointer "
                               "into a block)", ptr=ptr)
        if slab is not None:
            return self._bad_slab_pointer(ptr, slab, func)
        for head, (lpfn, order, _size) in self._large.items():
            if lpfn <= pfn < lpfn + (1 << order):
                return InvalidFree(f"{func}({where}): the pointer is inside the {format_size(self.page_size << order)} "
                                   f"large kmalloc at {head:#x}: pass the pointer kmalloc() returned", ptr=ptr)
        if ptr in self._freed_large:
            return DoubleFree(f"{func}({where}): Not a kmalloc allocation: these pages are already back in the buddy "
                              "allocator - the large kmalloc was freed before (free_large_kmalloc() WARNs, "
                              "dump_page())", ptr=ptr)
        return InvalidFree(f"{func}({where}): Not a kmalloc allocation: pfn {pfn:#x} "
                           f"{self._page_story(pfn)} (free_large_kmalloc() WARNs, dump_page())", ptr=ptr)

    def _bad_slab_pointer(self, ptr: int, slab, func: str) -> Exception:
        cache, where = slab.cache, _hex(ptr)
        offset = ptr - slab.base
        index, rest = divmod(offset, cache.size)
        if offset < 0:
            return InvalidFree(f"{func}({where}): Invalid object pointer {where}: it lies in the colour gap before the "
                               f"first object of a {cache.name} slab at pfn {slab.pfn:#x}", ptr=ptr)
        if index >= slab.objects:
            return InvalidFree(f"{func}({where}): Invalid object pointer {where}: it lies in the unused tail of a "
                               f"{cache.name} slab at pfn {slab.pfn:#x}, after its {slab.objects} objects", ptr=ptr)
        if rest:
            start = slab.base + index * cache.size
            return InvalidFree(f"{func}({where}): Invalid object pointer {where}: {rest} bytes into object {index} of a "
                               f"{cache.name} slab (objects start every {cache.size} bytes; this one at {start:#x})",
                               ptr=ptr)
        return DoubleFree(f"{func}({where}): Object already free: object {index} of the {cache.name} slab at pfn "
                          f"{slab.pfn:#x} is not allocated - a double free (SLUB: free_consistency_checks(); a "
                          "hardened kernel BUG()s on 'double free or corruption')", ptr=ptr)

    def _page_story(self, pfn: int) -> str:
        try:
            zone = self.machine.zone_of(pfn)
        except Exception:
            return "is a hole in RAM"
        for order in range(zone.max_page_order + 1):
            head = pfn & ~((1 << order) - 1)
            if zone.contains(head) and zone.allocated_order(head) == order:
                return (f"belongs to an order-{order} block from alloc_pages(), not to kmalloc: give it back with "
                        f"__free_pages(page, {order})")
        return "is free (PageBuddy) or reserved memory, not a slab page: a double free, or never allocated"

    def _bad_cache_free(self, cache, ptr, entry) -> Exception:
        name = cache.name
        if entry is not None:
            other = entry[0].name if entry[0] is not None else "a SLOB kmalloc block"
            return WrongSlabCache(f"kmem_cache_free({name}, {_hex(ptr)}): Wrong slab cache. {name} but object is from "
                                  f"{other} (cache_from_obj(): a hardened kernel WARNs and frees it to {other} "
                                  f"instead; without CONFIG_SLAB_FREELIST_HARDENED {name} is corrupted)", ptr=ptr)
        if ptr is None or ptr == 0 or ptr == ZERO_SIZE_PTR:
            return InvalidFree(f"kmem_cache_free({name}, {_hex(ptr)}): only kfree() accepts NULL and ZERO_SIZE_PTR; "
                               "kmem_cache_free() needs an object of the cache", ptr=ptr)
        if ptr in self._large:
            return WrongSlabCache(f"kmem_cache_free({name}, {_hex(ptr)}): Wrong slab cache: the pointer is a large "
                                  "kmalloc (whole pages, no cache); free it with kfree()", ptr=ptr)
        return self._bad_free(ptr, f"kmem_cache_free({name}, ...)")


def _hex(ptr) -> str:
    if ptr is None:
        return "NULL"
    return f"{ptr:#x}" if isinstance(ptr, int) and not isinstance(ptr, bool) else repr(ptr)
