"""The kernel's object allocator front end: kmalloc(), kfree(), kmem_cache_*() on a machine.

``SlabAllocator`` follows mm/slab_common.c and the kmalloc entry points of mm/slub.c (Linux 6.18):
``__do_kmalloc_node()`` (``kmalloc_slab()`` below KMALLOC_MAX_CACHE_SIZE, ZERO_SIZE_PTR for 0,
``___kmalloc_large_node()``'s compound pages of ``get_order(size)`` above), ``kfree()``
(``free_large_kmalloc()`` for a page that is not a slab), ``kmem_cache_free()`` with
``cache_from_obj()``'s check, ``kmem_cache_create()`` / ``kmem_cache_destroy()`` /
``kmem_cache_shrink()`` and ``create_kmalloc_caches()`` (kmalloc-, kmalloc-rcl-, dma-kmalloc-,
kmalloc-cg-).  The slabs themselves come from the buddy allocator of the same machine, one
``alloc_pages()`` per slab.

The machine's preset chooses the allocator behind the front end: ``"slub"`` (:mod:`.slub`, the
only one since 6.8), ``"slab"`` (:mod:`.slab_legacy`, removed in 6.8) or ``"slob"``
(:mod:`.slob`, removed in 6.4).  Pointers are kernel virtual addresses: a slab object lives at
``PAGE_OFFSET + pfn * PAGE_SIZE + offset`` in the direct map (x86-64: PAGE_OFFSET
0xffff888000000000 without KASLR, see :mod:`..presets`).

Not modelled: cache merging (every kmem_cache_create() gets its own cache, as with
``slab_nomerge``), KASAN/KFENCE, memcg charging (the ``-cg`` caches exist and fill, nothing is
charged), NUMA nodes beyond 0.
"""

from __future__ import annotations

import numbers

from ..errors import AllocationError, CacheInUse, InvalidArgument
from ..page_alloc.gfp import gfp_name, parse_gfp
from .kmalloc import (KMALLOC_INFO, TYPE_PREFIX, ZERO_SIZE_PTR, check_size, kmalloc_index, kmalloc_indexes,
                      kmalloc_max_cache_size, kmalloc_max_size, kmalloc_type, slab_2_6_kmalloc_max_size,
                      slab_2_6_kmalloc_sizes)
from .slab_free import FreeChecksMixin
from .slab_stats import SlabStatsMixin
from .slab_legacy import SlabCache, SlabCache2635
from .slob import SlobCache, SlobHeap, SlobPage
from .slub import KmemCache, Slab
from .slub_sizes import get_order
from ..units import format_size

__all__ = ["SlabAllocator", "ALLOCATORS", "NR_CPUS", "ZERO_SIZE_PTR"]

#: The allocators a preset can choose, with the kernel each one is modelled on
ALLOCATORS = {"slub": "SLUB, Linux 6.18 (mm/slub.c)", "slab": "SLAB, Linux 6.3 (mm/slab.c, removed in 6.8)",
              "slob": "SLOB, Linux 6.3 (mm/slob.c, removed in 6.4)"}
#: CONFIG_NR_CPUS upper bound on x86-64 (NR_CPUS_RANGE_END with MAXSMP)
NR_CPUS = 8192
_SHIFT_LOW = {"slub": 3, "slab": 5}
_ZERO = frozenset({"__GFP_ZERO"})
_SLAB_BUG_MASK = frozenset({"__GFP_HIGHMEM", "__GFP_DMA32"})


class SlabAllocator(FreeChecksMixin, SlabStatsMixin):
    """kmalloc and the kmem caches of one machine.

    Parameters
    ----------
    machine : Machine
        Supplies the pages (``alloc_pages`` / ``free_pages``), the event bus and the preset.
    nr_cpus : int, optional
        ``num_present_cpus()``; defaults to the preset's ``nr_cpus``.  SLUB sizes its slabs by it.
    allocator : {"slub", "slab", "slob"}, optional
        Defaults to the preset's ``slab_allocator``.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> slab = Machine.preset("linux-6.18-tiny", nr_cpus=2).slab
    >>> hex(slab.kmalloc(100))
    '0xffff888000000000'
    >>> slab.cache_of(0xffff888000000000).name, slab.ksize(0xffff888000000000)
    ('kmalloc-128', 128)
    """

    def __init__(self, machine, *, nr_cpus: int | None = None, allocator: str | None = None) -> None:
        self.machine = machine
        config = machine.config
        self.page_size = machine.page_size
        self.page_offset = getattr(config, "page_offset", 0xFFFF888000000000)
        self.cache_line_size = getattr(config, "cache_line_size", 64)
        self.bus = machine.bus
        self._boot(nr_cpus if nr_cpus is not None else config.nr_cpus,
                   allocator if allocator is not None else getattr(config, "slab_allocator", "slub"))

    # ------------------------------------------------------------------ boot
    def _boot(self, nr_cpus: int, allocator: str) -> None:
        allocator = _check_allocator(allocator)
        _check_nr_cpus(nr_cpus)
        self.allocator, self.nr_cpus = allocator, int(nr_cpus)
        self.zone_dma = "DMA" in self.machine.config.zone_names and any(z.name == "DMA" for z in self.machine.zones)
        #: "2.6.35" for SLAB on a 2.6 preset (size-N caches up to KMALLOC_MAX_SIZE), else the modern layout
        self.era = "2.6.35" if allocator == "slab" and str(self.machine.config.kernel_version).startswith("2.") \
            else "modern"
        self.kmalloc_max_size = kmalloc_max_size(self.page_size, self.machine.max_page_order)
        if self.era == "2.6.35":
            # include/linux/slab.h of 2.6.35: KMALLOC_MAX_SIZE = 1 << KMALLOC_SHIFT_HIGH, every size a cache
            self.kmalloc_max_size = slab_2_6_kmalloc_max_size(self.page_size, self.machine.max_page_order)
            self.kmalloc_max_cache_size = self.kmalloc_max_size
        elif allocator == "slob":
            self.kmalloc_max_cache_size = self.page_size - 8 - 1       # "size < PAGE_SIZE - minalign"
        else:
            self.kmalloc_max_cache_size = kmalloc_max_cache_size(self.page_size)
        self.slab_max_order = 1 if self.machine.nr_pages > (32 << 20) // self.page_size else 0
        self._live: dict[int, tuple] = {}          # pointer -> (cache, slab, requested size)
        self._large: dict[int, tuple] = {}         # pointer -> (pfn, order, requested size)
        self._freed_large: set[int] = set()
        self._slab_at: dict[int, object] = {}      # head pfn -> Slab / SlobPage
        self._by_cache: dict[int, dict] = {}       # id(cache) -> {pfn: slab}
        self.caches: list = []                     # creation order; /proc/slabinfo prints newest first
        self._names: dict[str, object] = {}
        self.warnings: list[str] = []
        self._gfp: dict = {}
        self._heap = SlobHeap(self, self.page_size) if allocator == "slob" else None
        self._table: list[list] = []
        if self.era == "2.6.35":
            self._create_kmalloc_caches_2_6()
        elif allocator != "slob":
            self._create_kmalloc_caches()
        if allocator == "slub" and getattr(self.machine.config, "slab_buckets", False):
            # create_kmalloc_caches() (mm/slab_common.c, 6.11+, CONFIG_SLAB_BUCKETS):
            # kmem_cache_create("kmalloc_buckets", sizeof(kmem_buckets), 0, SLAB_NO_MERGE, NULL);
            # kmem_buckets is struct kmem_cache *[KMALLOC_SHIFT_HIGH + 1], KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1
            page_shift = self.page_size.bit_length() - 1
            self._new_cache("kmalloc_buckets", 8 * (page_shift + 2))

    def _create_kmalloc_caches(self) -> None:
        """``create_kmalloc_caches()``: per type, 96 and 192, then the powers of two."""
        shift_low = _SHIFT_LOW[self.allocator]
        types = [0, 1] + ([2] if self.zone_dma else []) + [3]
        by_type: dict[int, dict[int, object]] = {}
        for kind in types:
            by_type[kind] = {}
            for index in kmalloc_indexes(self.page_size, shift_low):
                size, short = KMALLOC_INFO[index]
                by_type[kind][index] = self._new_cache(
                    TYPE_PREFIX[kind] + short, size, kmalloc=True, reclaim_account=kind == 1, cache_dma=kind == 2,
                    account=kind == 3, hwcache_align=self.allocator == "slab")
        limit = self.kmalloc_max_cache_size
        index_of = [0] + [kmalloc_index(size, shift_low) for size in range(1, limit + 1)]
        self._table = [[None] * (limit + 1) for _ in range(4)]
        for kind in range(4):
            source = by_type.get(kind, by_type[0])
            self._table[kind] = [source.get(i) for i in index_of]

    def _create_kmalloc_caches_2_6(self) -> None:
        """``kmem_cache_init()`` of mm/slab.c, Linux 2.6.35: the caches of ``malloc_sizes[]``.

        The caches of INDEX_AC (``struct arraycache_init``: size-32) and INDEX_L3 (``struct
        kmem_list3``: size-64 on i386, size-128 on 64-bit) first, then for every size its ``size-N`` (unless made already) and
        ``size-N(DMA)`` with CONFIG_ZONE_DMA.  Only GFP_DMA picks another cache (``__find_general_cachep()``).
        """
        sizes = slab_2_6_kmalloc_sizes(self.page_size, self.machine.max_page_order, self.cache_line_size)
        word = 4 if getattr(self.machine.config, "arch", "") == "i386" else 8
        normal: dict[int, object] = {}
        dma: dict[int, object] = {}

        def make(size: int, is_dma: bool):
            return self._new_cache(f"size-{size}" + ("(DMA)" if is_dma else ""), size, kmalloc=True,
                                   cache_dma=is_dma, hwcache_align=True, word=word)

        # INDEX_AC (struct arraycache_init: 24 bytes on i386, 40 on 64-bit) and INDEX_L3 (struct
        # kmem_list3: 56 bytes on i386, about 100 on 64-bit) are created before the loop
        for early in ((32, 64) if word == 4 else (32, 128)):
            if early in sizes and early not in normal:
                normal[early] = make(early, False)
        for size in sizes:
            if size not in normal:
                normal[size] = make(size, False)
            if self.zone_dma:
                dma[size] = make(size, True)
        self._sizes_2_6 = sizes
        self._caches_2_6 = (normal, dma or normal)
        small = min(self.kmalloc_max_cache_size, 8192)
        lookup = {}
        for kind, table in ((0, normal), (2, dma or normal)):
            row = [None] * (small + 1)
            index = 0
            for request in range(1, small + 1):
                while sizes[index] < request:
                    index += 1
                row[request] = table[sizes[index]]
            lookup[kind] = row
        self._table = [lookup[0], lookup[0], lookup[2], lookup[0]]

    def _kmalloc_cache_2_6(self, kind: int, size: int):
        """``__find_general_cachep()`` above the precomputed 8 KiB: the first ``malloc_sizes[]`` entry >= size."""
        normal, dma = self._caches_2_6
        table = dma if kind == 2 else normal
        for cs_size in self._sizes_2_6:
            if size <= cs_size:
                return table[cs_size]
        raise AssertionError("kmalloc checked KMALLOC_MAX_SIZE")  # pragma: no cover

    def _new_cache(self, name: str, object_size: int, **flags):
        geometry = dict(nr_cpus=self.nr_cpus, page_size=self.page_size, cache_line_size=self.cache_line_size,
                        max_page_order=self.machine.max_page_order, allocator=self)
        if self.allocator == "slub":
            cache = KmemCache(name, object_size, **flags, **geometry)
        elif self.era == "2.6.35":
            if "word" not in flags:
                flags["word"] = 4 if getattr(self.machine.config, "arch", "") == "i386" else 8
            cache = SlabCache2635(name, object_size, **flags, **geometry, slab_max_order=self.slab_max_order,
                                  freelist_cache=self._freelist_cache)
        elif self.allocator == "slab":
            cache = SlabCache(name, object_size, **flags, **geometry, slab_max_order=self.slab_max_order,
                              freelist_cache=self._freelist_cache)
        else:
            cache = SlobCache(name, object_size, **flags, page_size=self.page_size,
                              cache_line_size=self.cache_line_size)
        self.caches.append(cache)
        self._names[name] = cache
        self._by_cache[id(cache)] = {}
        return cache

    def _freelist_cache(self, nbytes: int):
        """``kmalloc_slab(freelist_size)`` while SLAB creates a cache: the kmalloc cache, if made yet."""
        index = kmalloc_index(nbytes, _SHIFT_LOW["slab"])
        cache = self._names.get("kmalloc-" + KMALLOC_INFO[index][1])
        return None if cache is None else (cache.size, cache.management == "off-slab")

    def reboot(self, *, nr_cpus: int | None = None, allocator: str | None = None) -> None:
        """Boot the slab layer again, e.g. with another CPU count or allocator.

        The kernel sizes its caches once, at boot; so does the model.  Refuses (unchanged) while
        any object is allocated.
        """
        nr_cpus = self.nr_cpus if nr_cpus is None else nr_cpus
        allocator = _check_allocator(self.allocator if allocator is None else allocator)
        _check_nr_cpus(nr_cpus)
        if self._live or self._large:
            raise CacheInUse(f"cannot re-create the kmem caches: {len(self._live) + len(self._large)} objects are "
                             "still allocated (kfree them first, or reset the machine)")
        for slab in list(self._slab_at.values()):
            self._release(slab)
        self._boot(nr_cpus, allocator)
        self.bus.emit("slab_reset", allocator=allocator, nr_cpus=nr_cpus)

    def _release(self, slab) -> None:
        if isinstance(slab, SlobPage):
            self._heap.pages.pop(slab.pfn, None)
            self._free_slob_page(slab)
        else:
            self._free_slab_pages(slab.cache, slab)

    # ------------------------------------------------------------------ pages for slabs
    def _slab_pages(self, cache, gfp, order: int, objects: int) -> Slab:
        pfn = self.machine.alloc_pages(gfp, order, owner="slab")
        slab = Slab(cache, pfn, order, self.page_offset + pfn * self.page_size, objects)
        self._slab_at[pfn] = slab
        self._by_cache[id(cache)][pfn] = slab
        cache.nr_slabs += 1
        cache.total_objects += objects
        if self.bus.active:
            self.bus.emit("slab_new", cache=cache.name, pfn=pfn, order=order, objects=objects)
        return slab

    def _free_slab_pages(self, cache, slab: Slab) -> None:
        del self._slab_at[slab.pfn]
        del self._by_cache[id(cache)][slab.pfn]
        cache.nr_slabs -= 1
        cache.total_objects -= slab.objects
        self.machine.free_pages(slab.pfn, slab.order, owner="slab")
        if self.bus.active:
            self.bus.emit("slab_free", cache=cache.name, pfn=slab.pfn, order=slab.order)

    def _slob_page(self, gfp) -> SlobPage:
        pfn = self.machine.alloc_pages(frozenset(gfp - _SLAB_BUG_MASK), 0, owner="slab")
        page = SlobPage(pfn, self.page_offset + pfn * self.page_size, self._heap.page_units)
        self._heap.pages[pfn] = page
        self._slab_at[pfn] = page
        if self.bus.active:
            self.bus.emit("slab_new", cache="slob", pfn=pfn, order=0, objects=0)
        return page

    def _free_slob_page(self, page: SlobPage) -> None:
        del self._slab_at[page.pfn]
        self.machine.free_pages(page.pfn, 0, owner="slab")
        if self.bus.active:
            self.bus.emit("slab_free", cache="slob", pfn=page.pfn, order=0)

    def _slabs_of(self, cache) -> list:
        return list(self._by_cache[id(cache)].values())

    def _slab_oom(self, cache, gfp, error: AllocationError) -> AllocationError:
        """``slab_out_of_memory()``'s report, with the page allocator's reason."""
        return AllocationError(
            f"{cache.allocator_name}: Unable to allocate memory on node 0, gfp=({gfp_name(gfp)}): cache: "
            f"{cache.name}, object size: "
            f"{cache.object_size}, buffer size: {cache.size}, default order: {cache.order}, min order: "
            f"{getattr(cache, 'min_order', cache.order)}: {error.reason}", order=cache.order, reason=error.reason)

    # ------------------------------------------------------------------ kmalloc
    def _flags(self, gfp):
        try:
            info = self._gfp.get(gfp)
        except TypeError:
            gfp = parse_gfp(gfp)
            info = self._gfp.get(gfp)
        if info is None:
            flags = parse_gfp(gfp)
            bad = flags & _SLAB_BUG_MASK
            if bad:
                self.warnings.append(f"Unexpected gfp: ({gfp_name(bad)}). Fixing up to gfp: "
                                     f"({gfp_name(flags - bad)}). Fix your code! (kmalloc_fix_flags)")
                flags = flags - bad
            info = (flags, kmalloc_type(flags, self.zone_dma), gfp_name(flags), "__GFP_ACCOUNT" in flags)
            if len(self._gfp) < 512:
                self._gfp[gfp] = info
        return info

    def kmalloc(self, size: int, gfp="GFP_KERNEL", *, cpu: int = 0) -> int:
        """``kmalloc(size, gfp)``: a pointer to at least ``size`` bytes (ZERO_SIZE_PTR for 0).

        Raises :class:`AllocationError` above KMALLOC_MAX_SIZE or when the page allocator fails.
        """
        if cpu.__class__ is not int or cpu < 0 or cpu >= self.nr_cpus:
            self._check_cpu(cpu)
        if size.__class__ is not int or size < 0:
            size = check_size(size)  # before _flags(): a refused call leaves no warning or cache entry
        try:
            flags, kind, name, accounted = self._gfp[gfp]
        except (KeyError, TypeError):
            flags, kind, name, accounted = self._flags(gfp)
        if size <= 0 or size > self.kmalloc_max_cache_size:
            if size == 0 and size.__class__ is int:
                return ZERO_SIZE_PTR
            return self._kmalloc_large(check_size(size), flags, name)
        if self._heap is not None:
            return self._slob_kmalloc(size, flags, name)
        table = self._table[kind]
        cache = table[size] if size < len(table) else self._kmalloc_cache_2_6(kind, size)
        addr, slab = cache.alloc(flags, cpu)
        self._live[addr] = (cache, slab, size)
        if self.bus.active:
            self.bus.emit("kmalloc", ptr=addr, bytes_req=size, bytes_alloc=cache.size, gfp=name,
                          accounted=accounted or cache.account, cache=cache.name)
        return addr

    def kzalloc(self, size: int, gfp="GFP_KERNEL", *, cpu: int = 0) -> int:
        """``kzalloc()``: ``kmalloc(size, gfp | __GFP_ZERO)``."""
        return self.kmalloc(size, parse_gfp(gfp) | _ZERO, cpu=cpu)

    def _kmalloc_large(self, size: int, flags, name: str) -> int:
        """``___kmalloc_large_node()``: a compound page of ``get_order(size)`` from the buddy allocator."""
        order = get_order(size, self.page_size)
        if size > self.kmalloc_max_size:
            reason = (f"{size:,} bytes is above KMALLOC_MAX_SIZE ({self.kmalloc_max_size:,} = "
                      f"{format_size(self.kmalloc_max_size)}): "
                      f"kmalloc asks the page allocator for order {order}, and __alloc_pages() refuses orders above "
                      f"MAX_PAGE_ORDER {self.machine.max_page_order} (WARN_ON_ONCE, then NULL); use vmalloc() or "
                      "kvmalloc() for big buffers")
            raise AllocationError(f"kmalloc({size}, {name}) returns NULL: {reason}", order=order, reason=reason)
        try:
            pfn = self.machine.alloc_pages(flags | {"__GFP_COMP"}, order, owner="kmalloc_large")
        except AllocationError as error:
            raise AllocationError(f"kmalloc({size}, {name}) returns NULL: {error}", order=order,
                                  reason=error.reason) from None
        addr = self.page_offset + pfn * self.page_size
        self._large[addr] = (pfn, order, size)
        self._freed_large.discard(addr)
        if self.bus.active:
            self.bus.emit("kmalloc", ptr=addr, bytes_req=size, bytes_alloc=self.page_size << order, gfp=name,
                          accounted="__GFP_ACCOUNT" in flags, cache=None, pfn=pfn, order=order)
        return addr

    def _slob_kmalloc(self, size: int, flags, name: str) -> int:
        """SLOB's ``__do_kmalloc_node()``: an 8-byte size header in front of the block."""
        align = max(8, size) if size & (size - 1) == 0 else 8
        block, page = self._heap.alloc(size + 8, flags, align, 8)
        addr = block + 8
        self._live[addr] = (None, page, size)
        if self.bus.active:
            self.bus.emit("kmalloc", ptr=addr, bytes_req=size, bytes_alloc=size + 8, gfp=name, accounted=False,
                          cache=None, pfn=page.pfn)
        return addr

    def kfree(self, ptr, *, cpu: int = 0) -> None:
        """``kfree(ptr)``: NULL and ZERO_SIZE_PTR are accepted and ignored.

        Raises :class:`InvalidFree` / :class:`DoubleFree` for pointers kmalloc did not return.
        """
        if cpu.__class__ is not int or cpu < 0 or cpu >= self.nr_cpus:
            self._check_cpu(cpu)
        try:
            entry = self._live.get(ptr)
        except TypeError:
            raise InvalidArgument(f"kfree({ptr!r:.60}): a pointer is an integer address") from None
        if entry is not None:
            cache = entry[0]
            if self._heap is not None and cache is not None:
                raise self._bad_free(ptr, "kfree")  # refused before anything moves, _live keeps its order
            del self._live[ptr]
            if self._heap is None:
                cache.free(entry[1], ptr, cpu)
            else:
                self._heap.free(ptr - 8, entry[2] + 8)
        elif ptr in self._large:
            pfn, order, _size = self._large.pop(ptr)
            self.machine.free_pages(pfn, order, owner="kmalloc_large")
            self._freed_large.add(ptr)
        elif not (ptr is None or ptr.__class__ is int and 0 <= ptr <= ZERO_SIZE_PTR):
            raise self._bad_free(ptr, "kfree")
        if self.bus.active:
            self.bus.emit("kfree", ptr=0 if ptr is None else ptr)

    # ------------------------------------------------------------------ kmem caches
    def kmem_cache_create(self, name: str, object_size: int, *, align: int = 0, ctor: bool = False,
                          rcu: bool = False, hwcache_align: bool = False, reclaim_account: bool = False,
                          cache_dma: bool = False, account: bool = False, freeptr_offset: int | None = None):
        """``kmem_cache_create()``: a cache of your own (never merged with another here).

        ``freeptr_offset`` is ``kmem_cache_args.freeptr_offset`` with ``use_freeptr_offset``
        (SLUB, RCU caches, 6.13+), as ``vm_area_struct``'s cache passes it.
        """
        if (not isinstance(name, str) or not name or len(name) > 64 or not name.isprintable()
                or any(char.isspace() for char in name)):
            raise InvalidArgument(f"cache name {name!r}: a non-empty string without spaces, which confuse "
                                  "/proc/slabinfo parsers (kmem_cache_sanity_check)")
        if name in self._names:
            raise InvalidArgument(f"kmem_cache of name {name!r} already exists")
        check_size(object_size, "kmem_cache_create")
        if not 0 < object_size <= self.kmalloc_max_size:
            raise InvalidArgument(f"kmem_cache_create({name}) integrity check failed: object size {object_size} "
                                  f"must be 1..KMALLOC_MAX_SIZE ({self.kmalloc_max_size})")
        if (isinstance(align, bool) or not isinstance(align, numbers.Integral) or not 0 <= align <= self.page_size
                or align & (align - 1)):
            raise InvalidArgument(f"kmem_cache_create({name}): align {align!r:.40} must be 0 or a power of two up to "
                                  f"PAGE_SIZE ({self.page_size}); SLUB, SLAB and SLOB all round with ALIGN(), which "
                                  "needs a power of two")
        for flag, value in (("ctor", ctor), ("rcu", rcu), ("hwcache_align", hwcache_align),
                            ("reclaim_account", reclaim_account), ("cache_dma", cache_dma), ("account", account)):
            if not isinstance(value, bool):
                raise InvalidArgument(f"kmem_cache_create({name}): {flag} must be True or False, not {value!r:.40}")
        align = int(align)
        extra = {}
        if freeptr_offset is not None:
            if self.allocator != "slub":
                raise InvalidArgument(f"freeptr_offset is a SLUB argument (6.13+); this machine runs {self.allocator.upper()}")
            from .slub_sizes import slab_sizes

            slab_sizes(object_size, align=8, ctor=ctor, rcu=rcu, freeptr_offset=freeptr_offset)  # checks it
            extra["freeptr_offset"] = freeptr_offset
        cache = self._new_cache(name, object_size, align=align, ctor=ctor, rcu=rcu, hwcache_align=hwcache_align,
                                reclaim_account=reclaim_account, cache_dma=cache_dma, account=account, **extra)
        self.bus.emit("kmem_cache_create", name=name, object_size=object_size, size=cache.size)
        return cache

    def cache(self, name: str):
        """A cache by name (``kmalloc-96``, ``dma-kmalloc-512`` or one you created)."""
        try:
            return self._names[name]
        except (KeyError, TypeError):
            raise InvalidArgument(f"no kmem cache named {name!r}; caches: {', '.join(self._names)}") from None

    def kmem_cache_alloc(self, cache, gfp="GFP_KERNEL", *, cpu: int = 0) -> int:
        """``kmem_cache_alloc(cache, gfp)``: one object of ``cache.object_size`` bytes."""
        cache = self._own(cache)
        self._check_cpu(cpu)
        flags, _kind, name, accounted = self._flags(gfp)
        if self._heap is not None:
            addr, slab = self._slob_cache_alloc(cache, flags)
        else:
            addr, slab = cache.alloc(flags, cpu)
        self._live[addr] = (cache, slab, cache.object_size)
        if self.bus.active:
            self.bus.emit("kmem_cache_alloc", ptr=addr, name=cache.name, bytes_req=cache.object_size,
                          bytes_alloc=cache.size, gfp=name, accounted=accounted or cache.account, cache=cache.name)
        return addr

    def kmem_cache_zalloc(self, cache, gfp="GFP_KERNEL", *, cpu: int = 0) -> int:
        return self.kmem_cache_alloc(cache, parse_gfp(gfp) | _ZERO, cpu=cpu)

    def _slob_cache_alloc(self, cache, flags):
        if cache.size < self.page_size:
            return self._heap.alloc(cache.size, flags, cache.align, 0)
        order = get_order(cache.size, self.page_size)
        pfn = self.machine.alloc_pages(flags, order, owner="slab")
        page = SlobPage(pfn, self.page_offset + pfn * self.page_size, 0)
        page.order, page.cache, page.state = order, cache, "pages"
        self._slab_at[pfn] = page
        return page.base, page

    def kmem_cache_free(self, cache, ptr, *, cpu: int = 0) -> None:
        """``kmem_cache_free(cache, ptr)``; the object must come from ``cache``."""
        cache = self._own(cache)
        self._check_cpu(cpu)
        try:
            entry = self._live.get(ptr)
        except TypeError:
            raise InvalidArgument(f"kmem_cache_free({ptr!r:.60}): a pointer is an integer address") from None
        if entry is None or entry[0] is not cache:
            raise self._bad_cache_free(cache, ptr, entry)
        del self._live[ptr]
        slab = entry[1]
        if self._heap is None:
            cache.free(slab, ptr, cpu)
        elif slab.state == "pages":
            del self._slab_at[slab.pfn]
            self.machine.free_pages(slab.pfn, slab.order, owner="slab")
        else:
            self._heap.free(ptr, cache.size)
        if self.bus.active:
            self.bus.emit("kmem_cache_free", ptr=ptr, name=cache.name, cache=cache.name)

    def kmem_cache_destroy(self, cache) -> None:
        """``kmem_cache_destroy()``: refused (unchanged) while the cache holds objects."""
        cache = self._own(cache)
        if cache.kmalloc:
            raise InvalidArgument(f"{cache.name} is a kmalloc cache: it lives as long as the kernel")
        live = sum(1 for entry in self._live.values() if entry[0] is cache)
        if live:
            raise CacheInUse(f"kmem_cache_destroy {cache.name}: Slab cache still has objects ({live} allocated); "
                             "kmem_cache_free() them first")
        if self._heap is None:
            cache.shrink()
            for slab in self._slabs_of(cache):
                self._free_slab_pages(cache, slab)
        self.caches.remove(cache)
        del self._names[cache.name]
        del self._by_cache[id(cache)]
        self.bus.emit("kmem_cache_destroy", name=cache.name)

    def kmem_cache_shrink(self, cache=None) -> int:
        """``kmem_cache_shrink()`` of one cache, or of every cache (``echo 1 > .../shrink``).

        Returns the number of slabs given back to the page allocator.
        """
        caches = [self._own(cache)] if cache is not None else list(self.caches)
        if self._heap is not None:
            return 0
        with self.bus.batch("kmem_cache_shrink"):
            return sum(c.shrink() for c in caches)

    def _own(self, cache):
        if isinstance(cache, str):
            return self.cache(cache)
        if id(cache) not in self._by_cache:
            raise InvalidArgument(f"{cache!r} is not a cache of this machine's slab allocator")
        return cache

    def _check_cpu(self, cpu) -> None:
        if isinstance(cpu, bool) or not isinstance(cpu, numbers.Integral) or not 0 <= cpu < self.nr_cpus:
            raise InvalidArgument(f"cpu {cpu!r} does not exist: this machine has CPUs 0..{self.nr_cpus - 1}")

    def owned_blocks(self):
        """``(pfn, order, owner)`` of every block this layer holds: slab pages and large kmallocs."""
        for pfn, slab in self._slab_at.items():
            yield pfn, slab.order, "slab"
        for pfn, order, _size in self._large.values():
            yield pfn, order, "kmalloc_large"

    def check_reboot(self, nr_cpus=None, allocator=None) -> tuple[int, str]:
        """The ``(nr_cpus, allocator)`` a :meth:`reboot` with these arguments would use, or the error it raises.

        Lets a caller that must free things before rebooting validate first.
        """
        nr_cpus = self.nr_cpus if nr_cpus is None else nr_cpus
        allocator = _check_allocator(self.allocator if allocator is None else allocator)
        _check_nr_cpus(nr_cpus)
        return int(nr_cpus), allocator

    def __len__(self) -> int:
        """Objects currently allocated (slab objects and large kmallocs)."""
        return len(self._live) + len(self._large)


def _check_allocator(name) -> str:
    key = str(name).lower()
    if key not in ALLOCATORS:
        raise InvalidArgument(f"unknown slab allocator {name!r}; accepted: " + "; ".join(
            f"{k!r} ({v})" for k, v in ALLOCATORS.items()))
    return key


def _check_nr_cpus(nr_cpus) -> None:
    if isinstance(nr_cpus, bool) or not isinstance(nr_cpus, numbers.Integral) or not 1 <= nr_cpus <= NR_CPUS:
        raise InvalidArgument(f"nr_cpus {nr_cpus!r} must be an integer from 1 to NR_CPUS ({NR_CPUS})")
