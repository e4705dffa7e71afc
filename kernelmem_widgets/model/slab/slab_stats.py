"""What the slab layer looks like from outside: /proc/slabinfo rows, slabtop, waste, invariants.

Derived on demand from the allocator's authoritative structures (numpy for per-slab arrays), as
``get_slabinfo()`` (mm/slub.c, mm/slab.c) and slabtop (procps) compute them.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument, InvariantViolation
from .slob import SLOB_UNIT, SlobPage, slob_units

__all__ = ["SlabStatsMixin", "STATE_CODES"]

#: Slab states as small integers for views: cpu, cpu partial, node partial, full, free
STATE_CODES = {"cpu": 0, "cpu partial": 1, "partial": 2, "full": 3, "free": 4}


class SlabStatsMixin:
    """Read-only views of :class:`~kernelmem_widgets.model.slab.slab_common.SlabAllocator`."""

    def slabinfo_rows(self) -> list[tuple[str, dict]]:
        """``(name, get_slabinfo())`` for every cache, in /proc/slabinfo order (newest cache first)."""
        if self._heap is not None:
            raise InvalidArgument("there is no /proc/slabinfo with SLOB: mm/slab_common.c creates it only for SLAB "
                                  "or CONFIG_SLUB_DEBUG, and SLOB keeps no per-cache counts")
        return [(cache.name, cache.get_slabinfo()) for cache in reversed(self.caches)]

    def slabtop(self, sort: str = "cache_size") -> list[dict]:
        """slabtop's table (procps): objects, active, use %, object size, slabs, objects per slab, size.

        ``sort`` is one of the keys of a row (``"objs"``, ``"active"``, ``"use"``, ``"name"`` ...).
        """
        rows = []
        for name, info in self.slabinfo_rows():
            num, active = info["num_objs"], info["active_objs"]
            rows.append({"name": name, "objs": num, "active": active, "use": 100 * active // num if num else 0,
                         "obj_size": info["objsize"], "slabs": info["num_slabs"], "obj_per_slab": info["objperslab"],
                         "cache_size": info["num_slabs"] * info["pagesperslab"] * self.page_size})
        if not isinstance(sort, str) or (rows and sort not in rows[0]):
            columns = ("name", "objs", "active", "use", "obj_size", "slabs", "obj_per_slab", "cache_size")
            raise InvalidArgument(f"cannot sort slabtop by {sort!r:.40}; columns: {', '.join(columns)}")
        return sorted(rows, key=lambda r: (r[sort], r["name"]) if sort == "name" else (-r[sort], r["name"]))

    def allocations(self) -> list[dict]:
        """Every live allocation: pointer, where it lives, requested and reserved bytes."""
        rows = []
        for ptr, (cache, slab, size) in self._live.items():
            reserved = slob_units(size + 8) * SLOB_UNIT if cache is None else cache.size
            rows.append({"ptr": ptr, "cache": cache.name if cache is not None else "slob", "pfn": slab.pfn,
                         "requested": size, "allocated": reserved})
        for ptr, (pfn, order, size) in self._large.items():
            rows.append({"ptr": ptr, "cache": None, "pfn": pfn, "requested": size,
                         "allocated": self.page_size << order})
        return sorted(rows, key=lambda r: r["ptr"])

    def waste_by_cache(self) -> list[dict]:
        """Per cache: bytes asked for, object slots handed out, slab memory, and where the rest went.

        ``internal`` is slot minus request (rounding up to the size class), ``free_slots`` objects
        not in use, ``leftover`` the tail of every slab no object fits in.
        """
        requested: dict[int, int] = {}
        count: dict[int, int] = {}
        for cache, _slab, size in self._live.values():
            key = id(cache)
            requested[key] = requested.get(key, 0) + size
            count[key] = count.get(key, 0) + 1
        rows = []
        if self._heap is not None:              # SLOB: one heap; a row for all of it
            rows.extend(self._slob_waste())
        for cache in self.caches:
            if self._heap is not None:
                break
            key = id(cache)
            slab_bytes = cache.nr_slabs * (self.page_size << cache.order)
            live = count.get(key, 0)
            if not slab_bytes and not live:
                continue
            slots = live * cache.size
            rows.append({"cache": cache.name, "objects": live, "requested": requested.get(key, 0), "slots": slots,
                         "internal": slots - requested.get(key, 0),
                         "free_slots": (cache.total_objects - live) * cache.size,
                         "leftover": cache.nr_slabs * cache.leftover, "slab_bytes": slab_bytes})
        large = list(self._large.values())
        if large:
            pages = sum(self.page_size << order for _pfn, order, _size in large)
            asked = sum(size for _pfn, _order, size in large)
            rows.append({"cache": "(page allocator)", "objects": len(large), "requested": asked, "slots": pages,
                         "internal": pages - asked, "free_slots": 0, "leftover": 0, "slab_bytes": pages})
        return rows

    def _slob_waste(self) -> list[dict]:
        """SLOB's row for :meth:`waste_by_cache`: the heap pages, in 2-byte units (``SLOB_UNIT``)."""
        small = [(cache, size) for cache, _slab, size in self._live.values()]
        if not small and not self._heap.pages:
            return []
        slots = sum(slob_units(size + 8) * SLOB_UNIT if cache is None else cache.size for cache, size in small)
        asked = sum(size for _cache, size in small)
        pages = self._heap.pages.values()
        free = sum(page.units for page in pages) * SLOB_UNIT
        return [{"cache": "(SLOB heap)", "objects": len(small), "requested": asked, "slots": slots,
                 "internal": slots - asked, "free_slots": free, "leftover": 0,
                 "slab_bytes": len(self._heap.pages) * self.page_size}]

    def slab_table(self, cache) -> dict[str, np.ndarray]:
        """One array per column, one row per slab of ``cache``: pfn, order, objects, in use, free, state.

        ``inuse`` is what the kernel counts (``slab->inuse``, SLAB's ``active``: objects waiting on a
        per-cpu freelist or array count as used); ``live`` is objects a caller really holds.  Under
        SLOB ``cache`` is ignored and the rows are the heap's pages, counted in 2-byte units.
        """
        if self._heap is None:
            cache = self._own(cache)
        else:                                   # SLOB: one heap for every size and cache
            pages = sorted(self._heap.pages.values(), key=lambda p: p.pfn)
            units = self._heap.page_units
            return {"pfn": np.array([p.pfn for p in pages], dtype=np.int64),
                    "order": np.zeros(len(pages), dtype=np.int8),
                    "objects": np.full(len(pages), units, dtype=np.int64),
                    "inuse": np.array([units - p.units for p in pages], dtype=np.int64),
                    "live": np.array([units - p.units for p in pages], dtype=np.int64),
                    "state": np.array([STATE_CODES["full" if p.on_list is None else "partial"] for p in pages],
                                      dtype=np.int8)}
        slabs = cache.slabs()
        cached = cache.cached_objects()
        free = [cache.free_objects_in(s, cached) for s in slabs]
        return {"pfn": np.array([s.pfn for s in slabs], dtype=np.int64),
                "order": np.array([s.order for s in slabs], dtype=np.int8),
                "objects": np.array([s.objects for s in slabs], dtype=np.int64),
                "inuse": np.array([s.inuse for s in slabs], dtype=np.int64),
                "live": np.array([s.objects for s in slabs], dtype=np.int64) - np.array(free, dtype=np.int64),
                "state": np.array([STATE_CODES[s.state] for s in slabs], dtype=np.int8)}

    def slab_pages(self) -> dict[str, np.ndarray]:
        """Every page the slab layer holds: first pfn, order and owning cache name (for buddy views)."""
        heads = sorted(self._slab_at.items())
        names = []
        for _pfn, slab in heads:
            names.append("slob" if isinstance(slab, SlobPage) and slab.cache is None else slab.cache.name)
        large = sorted((pfn, order) for pfn, order, _size in self._large.values())
        return {"pfn": np.array([p for p, _s in heads], dtype=np.int64),
                "order": np.array([s.order for _p, s in heads], dtype=np.int8),
                "cache": np.array(names, dtype=object),
                "large_pfn": np.array([p for p, _o in large], dtype=np.int64),
                "large_order": np.array([o for _p, o in large], dtype=np.int8)}

    # ------------------------------------------------------------------ invariants
    def check_invariants(self) -> None:
        """Objects conserved, no object in two places, every slab page owned by one cache in the buddy model."""
        spans = []
        for pfn, slab in self._slab_at.items():
            _require(slab.pfn == pfn, f"slab registered at pfn {pfn:#x} says {slab.pfn:#x}")
            zone = self.machine.zone_of(pfn)
            _require(zone.allocated_order(pfn) == slab.order,
                     f"slab at pfn {pfn:#x} (order {slab.order}) is not an allocated block of that order in the buddy")
            spans.append((pfn, pfn + (1 << slab.order), "slab"))
        for pfn, order, _size in self._large.values():
            _require(self.machine.zone_of(pfn).allocated_order(pfn) == order,
                     f"large kmalloc at pfn {pfn:#x} is not an allocated order-{order} block")
            spans.append((pfn, pfn + (1 << order), "large"))
        spans.sort()
        for (_s1, end1, _k1), (start2, _e2, _k2) in zip(spans, spans[1:]):
            _require(end1 <= start2, f"two slab/large allocations share pfn {start2:#x}")
        if self._heap is not None:
            self._heap.check_invariants()
            return self._check_slob_objects()
        owned = {}
        for cache in self.caches:
            cache.check_invariants()
            for pfn, slab in self._by_cache[id(cache)].items():
                _require(slab.cache is cache and self._slab_at.get(pfn) is slab, f"{slab} registry mismatch")
                owned[pfn] = slab
        _require(len(owned) == len(self._slab_at), "a registered slab belongs to no cache")
        per_slab: dict[int, int] = {}
        for ptr, (cache, slab, _size) in self._live.items():
            _require(self._slab_at.get(slab.pfn) is slab and slab.cache is cache, f"live {ptr:#x} in a foreign slab")
            index, rest = divmod(ptr - slab.base, cache.size)
            _require(rest == 0 and 0 <= index < slab.objects, f"live {ptr:#x} is not an object start")
            _require(index not in slab.free, f"live object {ptr:#x} is also on its slab's freelist")
            per_slab[id(slab)] = per_slab.get(id(slab), 0) + 1
        for cache in self.caches:
            cached = cache.cached_objects()
            for slab in self._slabs_of(cache):
                free = cache.free_objects_in(slab, cached)
                _require(per_slab.get(id(slab), 0) + free == slab.objects,
                         f"{slab}: {per_slab.get(id(slab), 0)} live + {free} free != {slab.objects} objects")

    def _check_slob_objects(self) -> None:
        for ptr, (cache, page, size) in self._live.items():
            start = ptr - 8 if cache is None else ptr
            length = size + 8 if cache is None else cache.size
            _require(self._slab_at.get(page.pfn) is page, f"SLOB object {ptr:#x} in an unowned page")
            if page.state == "pages":
                continue
            first = (start - page.base) // SLOB_UNIT
            last = first + slob_units(length)
            for block_start, units in page.blocks:
                _require(last <= block_start or block_start + units <= first,
                         f"SLOB object {ptr:#x} overlaps a free block")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
