"""SLAB, the allocator SLUB replaced (mm/slab.c; removed in Linux 6.8).

Bonwick-style object caching as Linux 6.3 had it: every cache keeps its slabs on three lists
(``slabs_full``, ``slabs_partial``, ``slabs_free``), each CPU keeps a LIFO "head array" of free
objects (``struct array_cache``: ``limit``, ``batchcount``), the node keeps a shared array, and a
new slab is coloured (its first object shifted by a multiple of the cache line) to spread objects
over the CPU cache.  Geometry follows ``__kmem_cache_create()`` with ``set_objfreelist_slab_cache()``,
``set_off_slab_cache()``, ``set_on_slab_cache()``, ``calculate_slab_order()`` and
``cache_estimate()``; the tunables ``enable_cpucache()``; allocation ``____cache_alloc()`` ->
``cache_alloc_refill()`` -> ``cache_grow_begin()``; freeing ``___cache_free()`` ->
``cache_flusharray()`` -> ``free_block()``; /proc/slabinfo ``get_slabinfo()``.

Source: mm/slab.c as deleted by Vlastimil Babka's "mm: remove all the slab allocators" (LKML,
1 April 2023, against v6.3-rc), i.e. the SLAB of 6.3; until 6.7 it changed only in details this
model does not show.  Without CONFIG_DEBUG_SLAB, without CONFIG_SLAB_FREELIST_RANDOM, one node.
The periodic ``cache_reap()`` is not modelled; :meth:`SlabCache.shrink` is ``kmem_cache_shrink()``.
"""

from __future__ import annotations

from ..errors import InvalidArgument, InvariantViolation
from .slub import EMPTY, FULL, PARTIAL, CacheGeometry, Slab, SlabList, _KEEP
from .slub_sizes import _check_positive, _flag, _order, _page_size, align_up, calculate_alignment, kmalloc_alignment
from ..validate import in_range, power_of_two

_MANAGEMENT = ("objfreelist", "off-slab", "on-slab")


def _management(value) -> str:
    if value not in _MANAGEMENT or not isinstance(value, str):
        raise InvalidArgument(f"management {value!r:.40}: accepted: {', '.join(_MANAGEMENT)}")
    return value

__all__ = ["SlabCache", "SlabCache2635", "cache_estimate", "calculate_slab_order", "enable_cpucache", "BATCHREFILL_LIMIT",
           "slab_2_6_geometry"]

FREELIST_IDX = 1            # freelist_idx_t is unsigned char: PAGE_SIZE >> 8 <= SLAB_OBJ_MIN_SIZE (16)
SLAB_OBJ_MAX_NUM = 255
SLAB_OBJ_MIN_SIZE = 16
BATCHREFILL_LIMIT = 16
OBJFREELIST, OFF_SLAB, ON_SLAB = "objfreelist", "off-slab", "on-slab"


def cache_estimate(order: int, size: int, management: str, page_size: int = 4096) -> tuple[int, int]:
    """``cache_estimate()``: (objects, left-over bytes) of a slab of ``2**order`` pages.

    An on-slab freelist costs one ``freelist_idx_t`` per object at the end of the slab
    (mm/slab.c, Linux 6.3).
    """
    order, management, page_size = _order(order), _management(management), _page_size(page_size)
    _check_positive(size, "object size")
    slab_size = page_size << order
    if management in (OBJFREELIST, OFF_SLAB):
        return slab_size // size, slab_size % size
    return slab_size // (size + FREELIST_IDX), slab_size % (size + FREELIST_IDX)


def calculate_slab_order(size: int, management: str, *, slab_max_order: int, reclaim_account: bool = False,
                         freelist_cache=None, page_size: int = 4096, max_order: int = 10) -> tuple[int, int, int]:
    """``calculate_slab_order()``: (objects, order, left-over) for one freelist placement.

    ``freelist_cache(nbytes)`` returns ``(slab_size, off_slab)`` of the kmalloc cache an off-slab
    freelist would come from, or None while that cache does not exist yet.  ``(0, 0, 0)`` means
    nothing acceptable.  Follows ``calculate_slab_order()`` of mm/slab.c, Linux 6.3.
    """
    _check_positive(size, "object size")
    management, page_size = _management(management), _page_size(page_size)
    slab_max_order, max_order = _order(slab_max_order, "slab_max_order"), _order(max_order, "max_order")
    reclaim_account = _flag(reclaim_account, "reclaim_account")
    if freelist_cache is not None and not callable(freelist_cache):
        raise InvalidArgument("freelist_cache: accepted: None or a function nbytes -> (slab_size, off_slab)")
    num, chosen, left_over = 0, 0, 0
    for order in range(max_order + 1):
        count, remainder = cache_estimate(order, size, management, page_size)
        if not count:
            continue
        if count > SLAB_OBJ_MAX_NUM:
            break
        if management == OFF_SLAB:
            nbytes = count * FREELIST_IDX
            found = freelist_cache(nbytes) if freelist_cache is not None else None
            if found is None or found[1]:
                continue
            if found[0] > size // 2:
                continue
        num, chosen, left_over = count, order, remainder
        if reclaim_account or order >= slab_max_order or left_over * 8 <= page_size << order:
            break
    return num, chosen, left_over


def enable_cpucache(size: int, nr_cpus: int, page_size: int = 4096) -> tuple[int, int, int]:
    """``enable_cpucache()`` (mm/slab.c, 2.6.35 to 6.7): the (limit, batchcount, shared) tunables of /proc/slabinfo."""
    size = in_range(size, "object size", 1, 1 << 40)
    nr_cpus, page_size = in_range(nr_cpus, "nr_cpus", 1, 8192), _page_size(page_size)
    if size > 131072:
        limit = 1
    elif size > page_size:
        limit = 8
    elif size > 1024:
        limit = 24
    elif size > 256:
        limit = 54
    else:
        limit = 120
    shared = 8 if size <= page_size and nr_cpus > 1 else 0
    return limit, (limit + 1) // 2, shared


class _Array:
    """``struct array_cache``: a LIFO of (slab, index) entries."""

    __slots__ = ("entries", "limit", "batchcount", "touched")

    def __init__(self, limit: int, batchcount: int) -> None:
        self.entries: list = []
        self.limit, self.batchcount, self.touched = limit, batchcount, False


class SlabCache(CacheGeometry):
    """A SLAB cache: geometry, tunables, three lists and the per-cpu arrays.

    Examples
    --------
    >>> cache = SlabCache("kmalloc-32", 32, kmalloc=True, hwcache_align=True, nr_cpus=4)
    >>> cache.slab_size, cache.order, cache.objs_per_slab, cache.management
    (32, 0, 124, 'on-slab')
    >>> SlabCache("kmalloc-96", 96, kmalloc=True, hwcache_align=True, nr_cpus=4).slab_size
    128
    """

    allocator_name = "SLAB"

    def __init__(self, name: str, object_size: int, align: int = 0, ctor: bool = False, rcu: bool = False, *,
                 hwcache_align: bool = False, reclaim_account: bool = False, cache_dma: bool = False,
                 account: bool = False, kmalloc: bool = False, nr_cpus: int = 4, page_size: int = 4096,
                 slab_max_order: int = 1, cache_line_size: int = 64, max_page_order: int = 10,
                 freelist_cache=None, allocator=None) -> None:
        self.name, self.object_size = name, object_size
        self.ctor, self.rcu, self.kmalloc = bool(ctor), bool(rcu), bool(kmalloc)
        self.reclaim_account, self.cache_dma, self.account = bool(reclaim_account), bool(cache_dma), bool(account)
        self.page_size, self.nr_cpus, self.allocator = page_size, nr_cpus, allocator
        requested = kmalloc_alignment(object_size) if kmalloc else align
        self.align = calculate_alignment(requested, object_size, hwcache_align=hwcache_align,
                                         cache_line_size=cache_line_size)
        self.colour_off = max(cache_line_size, self.align)
        size = align_up(align_up(object_size, 8), self.align)
        if size < SLAB_OBJ_MIN_SIZE:
            size = align_up(SLAB_OBJ_MIN_SIZE, self.align)
        self.size = size
        common = dict(slab_max_order=slab_max_order, reclaim_account=reclaim_account, page_size=page_size,
                      max_order=max_page_order)
        num = 0
        if not ctor and not rcu:
            num, order, left = calculate_slab_order(size, OBJFREELIST, **common)
            if num and num * FREELIST_IDX <= object_size:
                self.management = OBJFREELIST
            else:
                num = 0
        if not num:
            num, order, left = calculate_slab_order(size, OFF_SLAB, freelist_cache=freelist_cache, **common)
            if num and left < num * FREELIST_IDX:
                self.management = OFF_SLAB
            else:
                num = 0
        if not num:
            num, order, left = calculate_slab_order(size, ON_SLAB, **common)
            self.management = ON_SLAB
        if not num:
            raise InvalidArgument(f"kmem_cache_create({name!r}, {object_size}): no slab order fits an object (-E2BIG)")
        self.objs_per_slab, self.order, self.leftover = num, order, left
        self.colour = left // self.colour_off
        self.freelist_size = num * FREELIST_IDX
        self.allocflags = frozenset({"__GFP_COMP"} | ({"__GFP_DMA"} if cache_dma else set())
                                    | ({"__GFP_RECLAIMABLE"} if reclaim_account else set()))
        self.limit, self.batchcount, self.shared = enable_cpucache(size, nr_cpus, page_size)
        self._ac = [_Array(self.limit, self.batchcount) for _ in range(nr_cpus)]
        self._shared = _Array(self.shared * self.batchcount, 0xBAADF00D) if self.shared else None
        self.free_limit = (1 + nr_cpus) * self.batchcount + num
        self._full, self._partial, self._free = SlabList(), SlabList(), SlabList()
        self.free_objects = 0
        self.free_slabs = 0
        self.nr_slabs = 0
        self.total_objects = 0
        self.colour_next = 0
        #: Bytes of on-slab management before the first object (2.6.35 puts it at the start)
        self.obj_offset = 0

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} (SLAB): size={self.size} order={self.order} num={self.objs_per_slab}>"

    # ------------------------------------------------------------------ allocation
    def alloc(self, gfp, cpu: int = 0):
        """``____cache_alloc()``: pop the per-cpu array, else ``cache_alloc_refill()``."""
        ac = self._ac[cpu]
        if not ac.entries:
            self._refill(ac, gfp)
        ac.touched = True
        slab, index = ac.entries.pop()
        return slab.base + index * self.size, slab

    def _refill(self, ac: _Array, gfp) -> None:
        """``cache_alloc_refill()``: shared array, then partial and free slabs, then a new slab."""
        batch = ac.batchcount
        if not ac.touched and batch > BATCHREFILL_LIMIT:
            batch = BATCHREFILL_LIMIT
        shared = self._shared
        if self.free_objects or (shared is not None and shared.entries):
            if shared is not None and shared.entries:
                take = min(len(shared.entries), batch, ac.limit)
                ac.entries.extend(shared.entries[-take:])
                del shared.entries[-take:]
                shared.touched = True
                return
            while batch > 0:
                slab = self._partial.head or self._free.head
                if slab is None:
                    break
                if slab.state == EMPTY:
                    self.free_slabs -= 1
                batch = self._alloc_block(ac, slab, batch)
                self._fixup(slab)
            self.free_objects -= len(ac.entries)
        if not ac.entries:
            slab = self._grow(gfp)                       # may raise: nothing changed yet
            self._alloc_block(ac, slab, batch)
            self._grow_end(slab)

    def _alloc_block(self, ac: _Array, slab: Slab, batch: int) -> int:
        while slab.free and batch > 0:
            batch -= 1
            ac.entries.append((slab, slab.free.pop()))
        return batch

    def _fixup(self, slab: Slab) -> None:
        """``fixup_slab_list()``: to the head of slabs_full or slabs_partial."""
        self._list(slab).remove(slab)
        self._set(slab, FULL if not slab.free else PARTIAL, head=True)

    def _grow(self, gfp) -> Slab:
        """``cache_grow_begin()``: pages, colour, (off-slab) management, objects."""
        owner = self.allocator
        if owner is None:
            raise InvalidArgument(f"cache {self.name} computes geometry only; create it through a SlabAllocator")
        flags = (gfp & _KEEP) | self.allocflags
        colour = self.colour_next + 1
        if colour >= self.colour:
            colour = 0
        slab = owner._slab_pages(self, frozenset(flags), self.order, self.objs_per_slab)
        if self.management == OFF_SLAB:
            try:
                local = (gfp & _KEEP) - {"__GFP_HARDWALL", "__GFP_THISNODE"}   # alloc_slabmgmt()'s local_flags
                slab.freelist_ptr = owner.kmalloc(self.freelist_size, frozenset(local))
            except Exception:
                owner._free_slab_pages(self, slab)
                raise
        self.colour_next = colour
        slab.colour = colour
        slab.base += colour * self.colour_off + self.obj_offset
        slab.state = None
        return slab

    def _grow_end(self, slab: Slab) -> None:
        """``cache_grow_end()``: the new slab joins a list; its free objects count."""
        if len(slab.free) == slab.objects:
            self._set(slab, EMPTY, head=False)
            self.free_slabs += 1
        else:
            self._set(slab, FULL if not slab.free else PARTIAL, head=True)
        self.free_objects += len(slab.free)

    # ------------------------------------------------------------------ freeing
    def free(self, slab: Slab, addr: int, cpu: int = 0) -> None:
        """``___cache_free()``: push on the per-cpu array, flushing a batch when it is full."""
        ac = self._ac[cpu]
        if len(ac.entries) >= ac.limit:
            self._flusharray(ac)
        ac.entries.append((slab, (addr - slab.base) // self.size))

    def _flusharray(self, ac: _Array) -> None:
        """``cache_flusharray()``: the oldest batchcount entries to the shared array or the slabs."""
        batch = ac.batchcount
        shared = self._shared
        if shared is not None and shared.limit - len(shared.entries):
            batch = min(batch, shared.limit - len(shared.entries))
            shared.entries.extend(ac.entries[:batch])
        else:
            self._free_block(ac.entries[:batch])
        del ac.entries[:batch]

    def _free_block(self, entries: list) -> None:
        """``free_block()``: objects back into their slabs; free slabs beyond free_limit destroyed."""
        self.free_objects += len(entries)
        for slab, index in entries:
            self._list(slab).remove(slab)
            slab.free.append(index)
            if len(slab.free) == slab.objects:
                self._set(slab, EMPTY, head=True)
                self.free_slabs += 1
            else:
                self._set(slab, PARTIAL, head=False)
        while self.free_objects > self.free_limit and self._free.count:
            self._destroy(self._free.tail)

    def _destroy(self, slab: Slab) -> None:
        """``slab_destroy()`` of a slab on slabs_free: pages back, off-slab freelist kfree()d."""
        self._free.remove(slab)
        self.free_slabs -= 1
        self.free_objects -= slab.objects
        slab.state = EMPTY
        if slab.freelist_ptr is not None:
            self.allocator.kfree(slab.freelist_ptr)
            slab.freelist_ptr = None
        self.allocator._free_slab_pages(self, slab)

    def _list(self, slab: Slab) -> SlabList:
        return {FULL: self._full, PARTIAL: self._partial, EMPTY: self._free}[slab.state]

    def _set(self, slab: Slab, state: str, head: bool) -> None:
        slab.state = state
        target = self._list(slab)
        (target.add_head if head else target.add_tail)(slab)

    # ------------------------------------------------------------------ whole cache
    def flush(self) -> None:
        """``drain_cpu_caches()``: every per-cpu array and the shared array back into the slabs."""
        for ac in self._ac:
            if ac.entries:
                entries, ac.entries = ac.entries, []
                self._free_block(entries)
        if self._shared is not None and self._shared.entries:
            entries, self._shared.entries = self._shared.entries, []
            self._free_block(entries)

    def shrink(self) -> int:
        """``__kmem_cache_shrink()``: drain the arrays, then destroy every free slab."""
        before = self.nr_slabs
        self.flush()
        while self._free.count:
            self._destroy(self._free.tail)
        return before - self.nr_slabs

    def slabs(self) -> list[Slab]:
        """All slabs: partial, full, then free (each list in list order)."""
        return list(self._partial) + list(self._full) + list(self._free)

    def cached_objects(self) -> dict[int, int]:
        """Per slab (by id), how many of its objects wait in a per-cpu or the shared array."""
        counts: dict[int, int] = {}
        arrays = [ac.entries for ac in self._ac] + ([self._shared.entries] if self._shared else [])
        for entries in arrays:
            for slab, _index in entries:
                counts[id(slab)] = counts.get(id(slab), 0) + 1
        return counts

    def free_objects_in(self, slab: Slab, cached: dict[int, int] | None = None) -> int:
        cached = self.cached_objects() if cached is None else cached
        return len(slab.free) + cached.get(id(slab), 0)

    def get_slabinfo(self) -> dict[str, int]:
        """``get_slabinfo()`` of mm/slab.c: objects in the arrays count as active."""
        return {"active_objs": self.total_objects - self.free_objects, "num_objs": self.total_objects,
                "objsize": self.size, "objperslab": self.objs_per_slab, "pagesperslab": 1 << self.order,
                "limit": self.limit, "batchcount": self.batchcount, "sharedfactor": self.shared,
                "active_slabs": self.nr_slabs - self.free_slabs, "num_slabs": self.nr_slabs,
                "sharedavail": len(self._shared.entries) if self._shared else 0}

    def check_invariants(self) -> None:
        lists = ((self._full, FULL), (self._partial, PARTIAL), (self._free, EMPTY))
        counted = 0
        for slab_list, state in lists:
            n = 0
            for slab in slab_list:
                n += 1
                _require(slab.state == state, f"{self.name}: {slab} on the {state} list")
                _require((state == FULL) == (not slab.free) and (state == EMPTY) == (len(slab.free) == slab.objects),
                         f"{self.name}: {slab} is on the wrong list for its free count")
            _require(n == slab_list.count, f"{self.name}: {state} list count")
            counted += n
        _require(counted == self.nr_slabs and self._free.count == self.free_slabs, f"{self.name}: slab counters")
        _require(self.free_objects == sum(len(s.free) for s in self.slabs()), f"{self.name}: free_objects counter")
        entries = [e for ac in self._ac for e in ac.entries] + (self._shared.entries if self._shared else [])
        keys = [(id(s), i) for s, i in entries]
        _require(len(set(keys)) == len(keys), f"{self.name}: an object sits twice in the arrays")
        _require(all(i not in s.free for s, i in entries), f"{self.name}: an object is both cached and free")
        _require(all(len(ac.entries) <= ac.limit for ac in self._ac), f"{self.name}: array over its limit")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)


# ---------------------------------------------------------------------- SLAB of Linux 2.6.35
def slab_2_6_geometry(size: int, align: int, *, word: int = 4, page_size: int = 4096, slab_break_order: int = 1,
                      max_order: int = 10, reclaim_account: bool = False, off_slab: bool | None = None) -> dict:
    """The slab layout ``kmem_cache_create()`` of mm/slab.c, Linux 2.6.35, chooses for an object size.

    The management (``struct slab``: 28 bytes on i386, 48 on 64-bit, plus one 4-byte
    ``kmem_bufctl_t`` per object) sits at the start of the slab, or off-slab in a kmalloc cache
    when ``size >= PAGE_SIZE >> 3``; ``calculate_slab_order()`` with ``cache_estimate()`` takes the
    first order with objects, stopping at ``slab_break_gfp_order`` or when at most 1/8 is left over;
    an off-slab layout moves back on-slab when the left-over holds it.  Returns ``num``, ``order``,
    ``left_over``, ``off_slab``, ``slab_size`` (management bytes) and ``colour`` inputs.

    >>> g = slab_2_6_geometry(32, 32)
    >>> g["num"], g["order"], g["off_slab"], g["slab_size"]
    (113, 0, False, 480)
    """
    _check_positive(size, "object size")
    align = power_of_two(align, "align", 1, 1 << 26)
    word = in_range(word, "word (sizeof(void *))", 4, 8)
    if word not in (4, 8):
        raise InvalidArgument(f"word {word}: accepted: 4 (32-bit) or 8 (64-bit)")
    page_size, max_order = _page_size(page_size), _order(max_order, "max_order")
    slab_break_order = _order(slab_break_order, "slab_break_order")
    reclaim_account = _flag(reclaim_account, "reclaim_account")
    if off_slab is not None:
        off_slab = _flag(off_slab, "off_slab")
    struct_slab = 28 if word == 4 else 48
    bufctl = 4
    if off_slab is None:
        off_slab = size >= page_size >> 3
    num = order = left_over = 0
    for gfporder in range(max_order + 1):
        slab_bytes = page_size << gfporder
        if off_slab:
            count, mgmt = slab_bytes // size, 0
        else:
            count = (slab_bytes - struct_slab) // (size + bufctl)
            if align_up(struct_slab + count * bufctl, align) + count * size > slab_bytes:
                count -= 1
            mgmt = align_up(struct_slab + count * bufctl, align)
        if count <= 0:
            continue
        if off_slab and count > (size - struct_slab) // bufctl:
            break
        num, order, left_over = count, gfporder, slab_bytes - count * size - mgmt
        if reclaim_account or gfporder >= slab_break_order or left_over * 8 <= slab_bytes:
            break
    slab_size = align_up(num * bufctl + struct_slab, align)
    if off_slab and left_over >= slab_size:
        off_slab, left_over = False, left_over - slab_size
    if off_slab:
        slab_size = num * bufctl + struct_slab
    return {"num": num, "order": order, "left_over": left_over, "off_slab": off_slab, "slab_size": slab_size}


class SlabCache2635(SlabCache):
    """A SLAB cache with the geometry of Linux 2.6.35's mm/slab.c (see :func:`slab_2_6_geometry`).

    The per-cpu arrays, the shared array and the three lists behave as in :class:`SlabCache`;
    ``enable_cpucache()``'s tunables are the same in 2.6.35.  Objects start after the on-slab
    management (``s_mem = page + colour + slab_size``).

    >>> cache = SlabCache2635("size-64", 64, kmalloc=True, hwcache_align=True, nr_cpus=1)
    >>> cache.objs_per_slab, cache.order, cache.management, (cache.limit, cache.batchcount, cache.shared)
    (59, 0, 'on-slab', (120, 60, 0))
    """

    def __init__(self, name: str, object_size: int, *args, word: int = 4, **kwargs) -> None:
        super().__init__(name, object_size, *args, **kwargs)
        geometry = slab_2_6_geometry(self.size, self.align, word=word, page_size=self.page_size,
                                     slab_break_order=kwargs.get("slab_max_order", 1),
                                     max_order=kwargs.get("max_page_order", 10),
                                     reclaim_account=self.reclaim_account)
        num = geometry["num"]
        if not num:
            raise InvalidArgument(f"kmem_cache_create({name!r}, {object_size}): no slab order fits an object")
        self.objs_per_slab, self.order, self.leftover = num, geometry["order"], geometry["left_over"]
        self.management = OFF_SLAB if geometry["off_slab"] else ON_SLAB
        self.colour = self.leftover // self.colour_off
        self.freelist_size = geometry["slab_size"]
        self.obj_offset = 0 if geometry["off_slab"] else geometry["slab_size"]
        self.free_limit = (1 + self.nr_cpus) * self.batchcount + num

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} (SLAB, 2.6.35): size={self.size} order={self.order} num={self.objs_per_slab}>"
