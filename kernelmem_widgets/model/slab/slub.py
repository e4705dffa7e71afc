"""A SLUB cache (``struct kmem_cache`` of mm/slub.c, Linux 6.18): geometry and slab lists.

Geometry follows ``do_kmem_cache_create()`` / ``calculate_sizes()`` (see :mod:`.slub_sizes`).
The lists follow the allocation slow path ``___slab_alloc()`` (per-cpu slab, per-cpu partial
list, ``get_partial_node()``, ``new_slab()`` -> ``allocate_slab()`` with its fallback to
``s->min``) and the free path ``do_slab_free()`` -> ``__slab_free()`` -> ``put_cpu_partial()`` /
``__put_partials()``, plus ``flush_slab()`` / ``deactivate_slab()`` and
``__kmem_cache_do_shrink()``, as read in gregkh/linux mm/slub.c @ 8bde384a.

Model choices, each the kernel's own behaviour under a stated configuration:

* no debugging (no red zones, poisoning or tracking) and one NUMA node;
* no CONFIG_SLAB_FREELIST_RANDOM: a new slab hands out its objects in address order (distribution
  kernels shuffle them; a fixed order keeps every run reproducible);
* the per-cpu freelist (``c->freelist``) and the slab's own freelist (``slab->freelist``, filled
  by frees from other CPUs) are separate LIFO stacks, as in the kernel: objects on the per-cpu
  freelist count as *in use* in /proc/slabinfo, exactly as ``get_slabinfo()`` counts them.
"""

from __future__ import annotations

from ..errors import AllocationError, InvalidArgument, InvariantViolation
from .slub_sizes import (calculate_alignment, calculate_order, cpu_partial_objects, cpu_partial_slabs, get_order,
                         kmalloc_alignment, min_partial, order_objects, slab_sizes)

__all__ = ["KmemCache", "Slab", "SlabList", "CPU", "CPU_PARTIAL", "PARTIAL", "FULL", "EMPTY"]

#: Where a slab is, named after the kernel's comment in mm/slub.c ("To sum up, the current scheme")
CPU, CPU_PARTIAL, PARTIAL, FULL, EMPTY = "cpu", "cpu partial", "partial", "full", "free"

#: GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK of mm/internal.h: what new_slab() keeps of the caller's mask
_KEEP = frozenset(("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_HIGH", "__GFP_IO", "__GFP_FS",
                   "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_MEMALLOC",
                   "__GFP_NOMEMALLOC", "__GFP_NOLOCKDEP", "__GFP_HARDWALL", "__GFP_THISNODE"))
MAX_PARTIAL_TO_SCAN = 10000


class Slab:
    """One slab: ``2**order`` pages holding ``objects`` objects of ``cache.size`` bytes.

    ``free`` is ``slab->freelist`` as a stack of object indexes (top = next to hand out).
    """

    __slots__ = ("cache", "pfn", "order", "base", "objects", "free", "frozen", "state", "prev", "next", "cpu",
                 "colour", "active", "freelist_ptr")

    def __init__(self, cache, pfn: int, order: int, base: int, objects: int) -> None:
        self.cache, self.pfn, self.order, self.base, self.objects = cache, pfn, order, base, objects
        self.free = list(range(objects - 1, -1, -1))
        self.frozen = False
        self.state = EMPTY
        self.prev = self.next = None
        self.cpu = -1
        self.colour = 0
        self.active = 0
        self.freelist_ptr = None

    @property
    def inuse(self) -> int:
        """``slab->inuse``: objects not on ``slab->freelist`` (a cpu slab counts its cpu freelist as used)."""
        return self.objects - len(self.free)

    def __repr__(self) -> str:
        return f"<slab {self.cache.name} pfn={self.pfn:#x} order={self.order} inuse={self.inuse}/{self.objects} {self.state}>"


class SlabList:
    """An intrusive doubly linked list of slabs (``struct list_head``): O(1) add at either end and removal."""

    __slots__ = ("head", "tail", "count")

    def __init__(self) -> None:
        self.head = self.tail = None
        self.count = 0

    def add_head(self, slab: Slab) -> None:
        slab.prev, slab.next = None, self.head
        if self.head is None:
            self.tail = slab
        else:
            self.head.prev = slab
        self.head = slab
        self.count += 1

    def add_tail(self, slab: Slab) -> None:
        slab.prev, slab.next = self.tail, None
        if self.tail is None:
            self.head = slab
        else:
            self.tail.next = slab
        self.tail = slab
        self.count += 1

    def remove(self, slab: Slab) -> None:
        if slab.prev is None:
            self.head = slab.next
        else:
            slab.prev.next = slab.next
        if slab.next is None:
            self.tail = slab.prev
        else:
            slab.next.prev = slab.prev
        slab.prev = slab.next = None
        self.count -= 1

    def __iter__(self):
        slab = self.head
        while slab is not None:
            following = slab.next
            yield slab
            slab = following

    def __len__(self) -> int:
        return self.count


class _CpuSlab:
    """``struct kmem_cache_cpu``: the cpu slab, its lockless freelist and the cpu partial list."""

    __slots__ = ("slab", "freelist", "partial")

    def __init__(self) -> None:
        self.slab = None
        self.freelist: list[int] = []
        self.partial: list[Slab] = []   # head is the last element


class CacheGeometry:
    """What sysfs and /proc/slabinfo print about any cache's slabs (SLUB's and SLAB's alike)."""

    size: int
    order: int

    @property
    def slab_size(self) -> int:
        """sysfs ``slab_size``: ``s->size``, the stride between objects (/proc/slabinfo ``<objsize>``)."""
        return self.size

    @property
    def pages_per_slab(self) -> int:
        return 1 << self.order


class KmemCache(CacheGeometry):
    """A SLUB cache: the numbers /sys/kernel/slab/<name>/ shows, and (when owned) its slabs.

    Parameters
    ----------
    name : str
        As printed in /proc/slabinfo.
    object_size : int
        ``sizeof`` the object the caller asked for.
    align : int
        Alignment the caller asked for (0 = none); combined as ``calculate_alignment()`` does.
    ctor, rcu : bool
        A constructor, or SLAB_TYPESAFE_BY_RCU: the free pointer then lives after the object.
    freeptr_offset : int, optional
        ``kmem_cache_args.freeptr_offset`` with ``use_freeptr_offset`` (RCU caches only, 6.13+):
        the free pointer lives in that field instead of after the object.
    hwcache_align, reclaim_account, cache_dma, account, kmalloc : bool
        SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, SLAB_CACHE_DMA, SLAB_ACCOUNT, SLAB_KMALLOC.
    nr_cpus : int
        ``num_present_cpus()`` at creation; it decides ``min_objects`` and so the order.
    allocator : SlabAllocator, optional
        The owner that supplies pages; a cache without one only computes its geometry.

    Examples
    --------
    >>> cache = KmemCache("kmalloc-96", 96, kmalloc=True, nr_cpus=4)
    >>> cache.align, cache.slab_size, cache.order, cache.objs_per_slab
    (32, 96, 0, 42)
    >>> KmemCache("inode_like", 600, ctor=True, hwcache_align=True, nr_cpus=8).slab_size
    640
    """

    allocator_name = "SLUB"

    def __init__(self, name: str, object_size: int, align: int = 0, ctor: bool = False, rcu: bool = False, *,
                 hwcache_align: bool = False, reclaim_account: bool = False, cache_dma: bool = False,
                 account: bool = False, kmalloc: bool = False, nr_cpus: int = 4, nr_cpu_ids: int | None = None,
                 page_size: int = 4096, min_order: int = 0, max_order: int = 3, min_objects: int = 0,
                 cache_line_size: int = 64, max_page_order: int = 10, allocator=None,
                 freeptr_offset: int | None = None) -> None:
        _check_align(align)
        self.name, self.object_size = name, object_size
        self.ctor, self.rcu, self.kmalloc = bool(ctor), bool(rcu), bool(kmalloc)
        self.hwcache_align, self.reclaim_account = bool(hwcache_align), bool(reclaim_account)
        self.cache_dma, self.account = bool(cache_dma), bool(account)
        self.page_size, self.nr_cpus = page_size, nr_cpus
        requested = kmalloc_alignment(object_size) if kmalloc else align
        self.align = calculate_alignment(requested, object_size, hwcache_align=hwcache_align,
                                         cache_line_size=cache_line_size)
        self.size, self.offset, self.inuse = slab_sizes(object_size, align=self.align, ctor=ctor, rcu=rcu,
                                                        freeptr_offset=freeptr_offset)
        self.freeptr_offset = freeptr_offset
        order = calculate_order(self.size, nr_cpus=nr_cpus, nr_cpu_ids=nr_cpu_ids, page_size=page_size,
                                min_order=min_order, max_order=max_order, min_objects=min_objects,
                                max_page_order=max_page_order)
        if order < 0:
            raise InvalidArgument(f"kmem_cache_create({name!r}, {object_size}): calculate_order() found no order "
                                  f"up to MAX_PAGE_ORDER {max_page_order} that holds one object (-ENOSYS)")
        self.order = order
        self.objs_per_slab = order_objects(order, self.size, page_size)
        self.min_order = get_order(self.size, page_size)
        self.min_objects_per_slab = order_objects(self.min_order, self.size, page_size)
        self.min_partial = min_partial(self.size)
        self.cpu_partial = cpu_partial_objects(self.size, page_size)
        self.cpu_partial_slabs = cpu_partial_slabs(self.cpu_partial, self.objs_per_slab)
        flags = {"__GFP_COMP"} | ({"__GFP_DMA"} if cache_dma else set())
        self.allocflags = frozenset(flags | ({"__GFP_RECLAIMABLE"} if reclaim_account else set()))
        self.allocator = allocator
        self._partial = SlabList()
        self._cpu = [_CpuSlab() for _ in range(nr_cpus)]
        self.nr_slabs = 0
        self.total_objects = 0

    # ------------------------------------------------------------------ geometry views
    @property
    def leftover(self) -> int:
        """Bytes at the end of each slab that no object uses: ``(PAGE_SIZE << order) % size``."""
        return (self.page_size << self.order) - self.objs_per_slab * self.size

    def sysfs(self) -> dict[str, int]:
        """The numeric files of /sys/kernel/slab/<name>/ this model knows."""
        return {"object_size": self.object_size, "slab_size": self.size, "align": self.align, "order": self.order,
                "objs_per_slab": self.objs_per_slab, "min_partial": self.min_partial,
                "cpu_partial": self.cpu_partial}

    def __repr__(self) -> str:
        return (f"<kmem_cache {self.name}: object_size={self.object_size} slab_size={self.size} "
                f"order={self.order} objs_per_slab={self.objs_per_slab}>")

    # ------------------------------------------------------------------ allocation
    def alloc(self, gfp, cpu: int = 0):
        """``slab_alloc_node()``: one object; returns ``(address, slab)``."""
        c = self._cpu[cpu]
        if c.freelist:
            slab = c.slab
            return slab.base + c.freelist.pop() * self.size, slab
        return self._slab_alloc(gfp, cpu)

    def _slab_alloc(self, gfp, cpu: int):
        """``___slab_alloc()``: refill from the slab, a cpu partial slab, a node partial slab or a new slab."""
        c = self._cpu[cpu]
        slab = c.slab
        if slab is not None and slab.free:            # get_freelist(): frees from other CPUs
            c.freelist, slab.free = slab.free, []
            return slab.base + c.freelist.pop() * self.size, slab
        fresh = None
        if not c.partial and not self._partial.count:
            fresh = self._new_slab(gfp)               # may raise: nothing changed yet
        if slab is not None:                          # DEACTIVATE_BYPASS: the full cpu slab leaves
            slab.frozen, slab.state, slab.cpu, c.slab = False, FULL, -1, None
        if c.partial:                                 # CPU_PARTIAL_ALLOC
            slab = c.partial.pop()
        elif fresh is None:                           # get_partial_node()
            slab = self._get_partial_node(cpu)
        else:
            slab = fresh
        slab.frozen, slab.state, slab.cpu = True, CPU, cpu
        c.slab, c.freelist, slab.free = slab, slab.free, []
        return slab.base + c.freelist.pop() * self.size, slab

    def _get_partial_node(self, cpu: int) -> Slab:
        """``get_partial_node()``: take the first partial slab, refill the cpu partial list with more."""
        first, taken, limit = None, 0, self.cpu_partial_slabs
        for slab in self._partial:
            self._partial.remove(slab)
            if first is None:
                first = slab
                if limit == 0:
                    break
            else:
                self._put_cpu_partial(slab, cpu, drain=False)
                taken += 1
                if taken > limit // 2:
                    break
        return first

    def _new_slab(self, gfp) -> Slab:
        """``allocate_slab()``: order ``oo`` without reclaim first, then ``s->min`` with the caller's mask."""
        owner = self.allocator
        if owner is None:
            raise InvalidArgument(f"cache {self.name} computes geometry only: create it with "
                                  "SlabAllocator.kmem_cache_create() to allocate objects")
        flags = (gfp & _KEEP) | self.allocflags
        first = (flags | {"__GFP_NOWARN", "__GFP_NORETRY"}) - {"__GFP_NOFAIL"}
        if "__GFP_DIRECT_RECLAIM" in first and self.order > self.min_order:
            first = (first | {"__GFP_NOMEMALLOC"}) - {"__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM"}
        try:
            return owner._slab_pages(self, frozenset(first), self.order, self.objs_per_slab)
        except AllocationError as error:
            if self.min_order == self.order:
                raise owner._slab_oom(self, gfp, error) from None
        try:
            return owner._slab_pages(self, flags, self.min_order, self.min_objects_per_slab)
        except AllocationError as error:
            raise owner._slab_oom(self, gfp, error) from None

    # ------------------------------------------------------------------ freeing
    def free(self, slab: Slab, addr: int, cpu: int = 0) -> None:
        """``do_slab_free()``: fast path to the cpu slab, else ``__slab_free()``."""
        c = self._cpu[cpu]
        index = (addr - slab.base) // self.size
        if slab is c.slab:
            c.freelist.append(index)
            return
        prior = bool(slab.free)
        slab.free.append(index)
        if slab.frozen:                               # another CPU's cpu slab: FREE_FROZEN
            return
        if not prior:                                 # was full: CPU_PARTIAL_FREE
            self._put_cpu_partial(slab, cpu, drain=True)
            return
        if slab.state != PARTIAL:                     # on a cpu partial list: nothing to move
            return
        if len(slab.free) == slab.objects and self._partial.count >= self.min_partial:
            self._partial.remove(slab)
            self._discard(slab)

    def _put_cpu_partial(self, slab: Slab, cpu: int, drain: bool) -> None:
        """``put_cpu_partial()``: push on this CPU's partial list, draining it when full."""
        c = self._cpu[cpu]
        spill = None
        if c.partial and drain and len(c.partial) >= self.cpu_partial_slabs:
            spill, c.partial = c.partial, []
        slab.state, slab.cpu, slab.frozen = CPU_PARTIAL, cpu, False
        c.partial.append(slab)
        if spill:
            self._put_partials(spill)

    def _put_partials(self, slabs: list[Slab]) -> None:
        """``__put_partials()``: each slab to the node's partial tail, empty ones beyond min_partial freed."""
        discard = []
        for slab in reversed(slabs):                  # from the list head
            if not slab.inuse and self._partial.count >= self.min_partial:
                discard.append(slab)
            else:
                self._add_partial(slab, tail=True)
        for slab in discard:
            self._discard(slab)

    def _add_partial(self, slab: Slab, tail: bool) -> None:
        slab.state, slab.cpu, slab.frozen = PARTIAL, -1, False
        (self._partial.add_tail if tail else self._partial.add_head)(slab)

    def _deactivate(self, slab: Slab, freelist: list[int]) -> None:
        """``deactivate_slab()``: splice the cpu freelist back and put the slab on the right list."""
        tail = bool(slab.free)                        # remote frees: DEACTIVATE_TO_TAIL
        slab.free = slab.free + freelist
        slab.frozen, slab.cpu = False, -1
        if not slab.inuse and self._partial.count >= self.min_partial:
            self._discard(slab)
        elif slab.free:
            self._add_partial(slab, tail=tail)
        else:
            slab.state = FULL

    def _discard(self, slab: Slab) -> None:
        """``discard_slab()``: the pages go back to the buddy allocator."""
        slab.state = EMPTY
        self.allocator._free_slab_pages(self, slab)

    # ------------------------------------------------------------------ whole-cache operations
    def flush(self) -> None:
        """``flush_all()``: every CPU's slab deactivated, every cpu partial list put back."""
        for c in self._cpu:
            if c.slab is not None:
                slab, freelist = c.slab, c.freelist
                c.slab, c.freelist = None, []
                self._deactivate(slab, freelist)
            if c.partial:
                slabs, c.partial = c.partial, []
                self._put_partials(slabs)

    def shrink(self) -> int:
        """``__kmem_cache_shrink()``: flush, free every empty slab, sort partial slabs fullest first.

        Returns the number of slabs given back to the page allocator.
        """
        before = self.nr_slabs
        self.flush()
        promote: list[list[Slab]] = [[] for _ in range(32)]
        rest = []
        for slab in self._partial:
            self._partial.remove(slab)
            free = len(slab.free)
            if free == slab.objects:
                self._discard(slab)
            elif free <= 32:
                promote[free - 1].insert(0, slab)     # list_move() adds at the bucket's head
            else:
                rest.append(slab)
        for slab in rest:
            self._add_partial(slab, tail=True)
        for bucket in reversed(promote):              # list_splice() each bucket at the head
            for slab in reversed(bucket):
                self._add_partial(slab, tail=False)
        return before - self.nr_slabs

    # ------------------------------------------------------------------ introspection
    def slabs(self) -> list[Slab]:
        """Every slab of the cache: cpu slabs, cpu partial slabs, node partial slabs, then full ones."""
        owned = self.allocator._slabs_of(self) if self.allocator is not None else []
        return sorted(owned, key=lambda s: (_STATE_RANK[s.state], s.pfn))

    def cpu_freelist_len(self, slab: Slab) -> int:
        """Objects on the per-cpu freelist of ``slab`` (0 unless it is some CPU's slab)."""
        return len(self._cpu[slab.cpu].freelist) if slab.state == CPU else 0

    def free_objects(self, slab: Slab) -> int:
        """Objects of ``slab`` really free: its freelist plus, for a cpu slab, the cpu freelist."""
        return len(slab.free) + self.cpu_freelist_len(slab)

    def cached_objects(self) -> dict[int, int]:
        """SLAB parks free objects in per-cpu arrays; SLUB has none (its cpu freelist is per slab)."""
        return {}

    def free_objects_in(self, slab: Slab, cached: dict[int, int] | None = None) -> int:
        return self.free_objects(slab)

    def get_slabinfo(self) -> dict[str, int]:
        """``get_slabinfo()`` of mm/slub.c: the numbers of this cache's /proc/slabinfo line."""
        nr_free = _count_partial_free_approx(self._partial, self.total_objects)
        return {"active_objs": self.total_objects - nr_free, "num_objs": self.total_objects, "objsize": self.size,
                "objperslab": self.objs_per_slab, "pagesperslab": 1 << self.order, "limit": 0, "batchcount": 0,
                "sharedfactor": 0, "active_slabs": self.nr_slabs, "num_slabs": self.nr_slabs, "sharedavail": 0}

    def check_invariants(self) -> None:
        """Lists, states and counters agree with each other and with the owner's slabs."""
        seen = set()
        for cpu, c in enumerate(self._cpu):
            if c.slab is not None:
                _require(c.slab.state == CPU and c.slab.frozen and c.slab.cpu == cpu, f"{self.name}: bad cpu slab")
                seen.add(id(c.slab))
            else:
                _require(not c.freelist, f"{self.name}: cpu {cpu} has a freelist but no slab")
            for slab in c.partial:
                _require(slab.state == CPU_PARTIAL and not slab.frozen and slab.cpu == cpu,
                         f"{self.name}: bad cpu partial slab {slab}")
                seen.add(id(slab))
        count, prev = 0, None
        for slab in self._partial:
            _require(slab.state == PARTIAL and slab.prev is prev and 0 < len(slab.free) < slab.objects + 1,
                     f"{self.name}: bad node partial slab {slab}")
            seen.add(id(slab))
            prev, count = slab, count + 1
        _require(count == self._partial.count and prev is self._partial.tail, f"{self.name}: partial list count")
        slabs = self.slabs()
        _require(len(slabs) == self.nr_slabs and sum(s.objects for s in slabs) == self.total_objects,
                 f"{self.name}: nr_slabs/total_objects counters disagree with the slabs")
        for slab in slabs:
            if slab.state == FULL:
                _require(not slab.free and not slab.frozen, f"{self.name}: full slab {slab} has free objects")
            else:
                _require(id(slab) in seen, f"{self.name}: slab {slab} is on no list")
            frees = slab.free + (self._cpu[slab.cpu].freelist if slab.state == CPU else [])
            _require(len(set(frees)) == len(frees) and all(0 <= i < slab.objects for i in frees),
                     f"{self.name}: freelist of {slab} repeats or leaves the slab")


_STATE_RANK = {CPU: 0, CPU_PARTIAL: 1, PARTIAL: 2, FULL: 3, EMPTY: 4}


def _count_partial_free_approx(partial: SlabList, total_objects: int) -> int:
    """``count_partial_free_approx()``: exact up to 10000 partial slabs, sampled beyond."""
    if partial.count <= MAX_PARTIAL_TO_SCAN:
        return sum(len(slab.free) for slab in partial)
    slabs = list(partial)
    half = MAX_PARTIAL_TO_SCAN // 2
    sampled = slabs[:half] + slabs[-half:]
    free = sum(len(slab.free) for slab in sampled)
    return min(free * partial.count // MAX_PARTIAL_TO_SCAN, total_objects)


def _check_align(align) -> None:
    if isinstance(align, bool) or not isinstance(align, int) or align < 0 or (align & (align - 1)):
        raise InvalidArgument(f"align {align!r} must be 0 or a power of two (kmem_cache_args.align)")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
