"""SLUB's arithmetic: how big an object really is and how many fit in a slab (mm/slub.c, Linux 6.18).

Pure functions, no state, so a reader can check them one by one against the kernel:

* ``calculate_alignment()`` of mm/slab_common.c and the kmalloc alignment rule of
  ``create_boot_cache()`` (gregkh/linux mm/slab_common.c @ 344789964c, a 6.18-era tree);
* ``calculate_sizes()``, ``calculate_order()``, ``calc_slab_order()``, ``order_objects()``, the
  ``min_partial`` clamp of ``do_kmem_cache_create()`` and ``set_cpu_partial()`` /
  ``slub_set_cpu_partial()`` of mm/slub.c (gregkh/linux mm/slub.c @ 8bde384a, a 6.16/6.17-era tree:
  the 6.18 release adds opt-in per-cpu "sheaves" that the kmalloc caches do not use, and changes
  none of this arithmetic).

Debugging layouts (red zones, poisoning, SLAB_STORE_USER tracks, KASAN metadata) are not modelled:
they are off unless ``slab_debug=`` is given on the command line.

>>> calculate_order(512, nr_cpus=2), order_objects(1, 512)
(1, 16)
>>> slab_sizes(20, align=8, ctor=False, rcu=False)
(24, 8, 24)
>>> slab_sizes(20, align=8, ctor=True, rcu=False)
(32, 24, 24)
"""

from __future__ import annotations

import numbers

from ..errors import InvalidArgument, InvalidSize
from ..validate import in_range, power_of_two

#: Bounds of the calculators' arguments: a size_t, the kit's page sizes and orders (as the presets)
SIZE_MAX = (1 << 64) - 1
OBJECT_MAX = 1 << 40


def _page_size(page_size) -> int:
    return power_of_two(page_size, "page_size", 1024, 1 << 16)


def _order(order, what: str = "order") -> int:
    return in_range(order, what, 0, 20)


def _flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{what} {value!r:.40} is not a bool; accepted: True or False")
    return value

__all__ = ["WORD", "MAX_OBJS_PER_PAGE", "MIN_PARTIAL", "MAX_PARTIAL", "PAGE_ALLOC_COSTLY_ORDER", "ENOSYS",
           "fls", "ilog2", "get_order", "order_objects", "calc_slab_order", "slub_min_objects",
           "calculate_order", "calculate_alignment", "kmalloc_alignment", "slab_sizes", "min_partial",
           "cpu_partial_objects", "cpu_partial_slabs", "align_up"]

#: sizeof(void *) on 64-bit: the free pointer, and the granule object sizes are rounded to
WORD = 8
#: "since slab.objects is u15"
MAX_OBJS_PER_PAGE = 32767
#: Minimum / maximum number of partial slabs kept on a node even when empty (mm/slub.c)
MIN_PARTIAL, MAX_PARTIAL = 5, 10
#: slub_max_order defaults to PAGE_ALLOC_COSTLY_ORDER (include/linux/mmzone.h)
PAGE_ALLOC_COSTLY_ORDER = 3
ENOSYS = 38


def fls(x: int) -> int:
    """``fls()``/``fls64()``: the 1-based position of the highest set bit, 0 for 0 (``fls(1) == 1``)."""
    return in_range(x, "fls() argument", 0, SIZE_MAX).bit_length()


def ilog2(x: int) -> int:
    """``ilog2()`` (include/linux/log2.h) of a positive integer up to 2^64 - 1."""
    return in_range(x, "ilog2() argument", 1, SIZE_MAX).bit_length() - 1


def align_up(value: int, align: int) -> int:
    """``ALIGN(value, align)`` (include/linux/align.h) for a power-of-two ``align``."""
    if value.__class__ is not int or align.__class__ is not int or not 0 <= value <= SIZE_MAX or align <= 0 \
            or align & (align - 1):
        value = in_range(value, "ALIGN() value", 0, SIZE_MAX)
        align = power_of_two(align, "ALIGN() alignment", 1, 1 << 32)
    return (value + align - 1) & ~(align - 1)


def get_order(size: int, page_size: int = 4096) -> int:
    """``get_order()`` (include/asm-generic/getorder.h): smallest order with ``size <= PAGE_SIZE << order``.

    >>> get_order(4096), get_order(4097), get_order(8193)
    (0, 1, 2)
    """
    size = in_range(size, "get_order() size", 1, SIZE_MAX, InvalidSize)   # get_order(0) is undefined in C
    shift = ilog2(_page_size(page_size))
    return fls((size - 1) >> shift)


def order_objects(order: int, size: int, page_size: int = 4096) -> int:
    """``order_objects()``: how many objects of ``size`` bytes fit in a slab of ``2**order`` pages."""
    _check_positive(size, "object size")
    return (_page_size(page_size) << _order(order)) // size


def calc_slab_order(size: int, min_order: int, max_order: int, fract_leftover: int,
                    page_size: int = 4096) -> int:
    """``calc_slab_order()``: the first order in ``min_order..max_order`` wasting at most 1/fract.

    Returns ``max_order + 1`` when no order qualifies, as the kernel's loop does.
    """
    _check_positive(size, "object size")
    min_order, max_order = _order(min_order, "min_order"), _order(max_order, "max_order")
    fract_leftover = in_range(fract_leftover, "fract_leftover", 1, 1 << 16)
    page_size = _page_size(page_size)
    order = min_order
    while order <= max_order:
        slab_size = page_size << order
        if slab_size % size <= slab_size // fract_leftover:
            break
        order += 1
    return order


def slub_min_objects(nr_cpus: int, nr_cpu_ids: int | None = None) -> int:
    """The default ``min_objects`` of ``calculate_order()``: ``4 * (fls(nr_cpus) + 1)``.

    ``nr_cpus`` is ``num_present_cpus()``; when that is 1 the kernel does not trust it and uses
    ``nr_cpu_ids`` (the possible CPUs) instead, which ``nr_cpu_ids`` stands for here.

    >>> [slub_min_objects(n) for n in (1, 2, 4, 8, 16, 64)]
    [8, 12, 16, 20, 24, 32]
    """
    nr_cpus = in_range(nr_cpus, "nr_cpus (present CPUs)", 1, 8192)
    if nr_cpu_ids is not None:
        nr_cpu_ids = in_range(nr_cpu_ids, "nr_cpu_ids (possible CPUs)", 1, 8192)
    if nr_cpus <= 1 and nr_cpu_ids is not None:
        nr_cpus = nr_cpu_ids
    return 4 * (fls(nr_cpus) + 1)


def calculate_order(size: int, *, nr_cpus: int, page_size: int = 4096, min_order: int = 0,
                    max_order: int = PAGE_ALLOC_COSTLY_ORDER, min_objects: int = 0,
                    nr_cpu_ids: int | None = None, max_page_order: int = 10) -> int:
    """The slab order SLUB picks for objects of ``size`` bytes: ``calculate_order()``, Linux 6.18.

    Parameters
    ----------
    size : int
        ``s->size``, the object size after alignment and metadata (``slab_size`` in sysfs).
    nr_cpus : int
        ``num_present_cpus()`` when the cache was created.
    min_order, max_order, min_objects : int
        ``slab_min_order=``, ``slab_max_order=`` (default 3) and ``slab_min_objects=`` (default 0:
        derive it from ``nr_cpus``).

    Returns
    -------
    int
        The order, exactly as the kernel computes it, or ``-ENOSYS`` (-38) when even one object
        does not fit in a MAX_PAGE_ORDER block.

    Examples
    --------
    >>> [calculate_order(s, nr_cpus=8) for s in (8, 192, 256, 512, 1024, 2048, 4096, 8192)]
    [0, 0, 1, 2, 3, 3, 3, 3]
    """
    _check_positive(size, "object size")
    page_size, max_page_order = _page_size(page_size), _order(max_page_order, "max_page_order")
    min_order, max_order = _order(min_order, "min_order"), _order(max_order, "max_order")
    min_objects = in_range(min_objects, "min_objects", 0, MAX_OBJS_PER_PAGE)
    nr_cpus = in_range(nr_cpus, "nr_cpus (present CPUs)", 1, 8192)
    if not min_objects:
        min_objects = slub_min_objects(nr_cpus, nr_cpu_ids)
    max_objects = max(order_objects(max_order, size, page_size), 1)
    min_objects = min(min_objects, max_objects)
    min_order = max(min_order, get_order(min_objects * size, page_size))
    if order_objects(min_order, size, page_size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE, page_size) - 1
    fraction = 16
    while fraction > 1:
        order = calc_slab_order(size, min_order, max_order, fraction, page_size)
        if order <= max_order:
            return order
        fraction //= 2
    order = get_order(size, page_size)
    return order if order <= max_page_order else -ENOSYS


def calculate_alignment(align: int, size: int, *, hwcache_align: bool = False, cache_line_size: int = 64,
                        arch_slab_minalign: int = 8) -> int:
    """``calculate_alignment()`` of mm/slab_common.c.

    With SLAB_HWCACHE_ALIGN the alignment starts at the cache line and halves while the object
    still fits in half of it; the caller's ``align`` wins when larger; the result is at least
    ``arch_slab_minalign()`` and a multiple of the word size.

    >>> calculate_alignment(0, 20, hwcache_align=True)
    32
    """
    align = in_range(align, "align", 0, 1 << 26)
    size = in_range(size, "object size", 1, OBJECT_MAX, InvalidSize)
    hwcache_align = _flag(hwcache_align, "hwcache_align")
    cache_line_size = power_of_two(cache_line_size, "cache_line_size", 8, 4096)
    arch_slab_minalign = power_of_two(arch_slab_minalign, "arch_slab_minalign", 1, 4096)
    if hwcache_align:
        ralign = cache_line_size
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, arch_slab_minalign)
    return align_up(align, WORD)


def kmalloc_alignment(size: int, *, arch_kmalloc_minalign: int = 8) -> int:
    """The ``align`` ``create_boot_cache()`` passes for a kmalloc cache of ``size`` bytes.

    "kmalloc caches guarantee alignment of at least the largest power-of-two divisor of the
    size": ``max(ARCH_KMALLOC_MINALIGN, 1 << (ffs(size) - 1))``.

    >>> kmalloc_alignment(96), kmalloc_alignment(192), kmalloc_alignment(256)
    (32, 64, 256)
    """
    size = in_range(size, "object size", 1, OBJECT_MAX, InvalidSize)
    return max(power_of_two(arch_kmalloc_minalign, "arch_kmalloc_minalign", 1, 4096), size & -size)


def slab_sizes(object_size: int, *, align: int, ctor: bool, rcu: bool,
               freeptr_offset: int | None = None) -> tuple[int, int, int]:
    """``calculate_sizes()`` without debugging: ``(s->size, s->offset, s->inuse)``.

    The size is rounded up to a word.  The free pointer normally lives in the middle of the free
    object (``ALIGN_DOWN(object_size / 2, sizeof(void *))``), costing nothing; a cache with a
    constructor or SLAB_TYPESAFE_BY_RCU must not overwrite a free object, so its free pointer goes
    *after* the object and costs a word, unless an RCU cache names a field for it
    (``kmem_cache_args.use_freeptr_offset``, 6.13+: ``vm_area_struct`` keeps its free pointer in
    ``vm_freeptr``).  Finally the size is rounded up to ``align``.

    >>> slab_sizes(192, align=64, ctor=False, rcu=True), slab_sizes(192, align=64, ctor=False, rcu=True,
    ...                                                                freeptr_offset=176)
    ((256, 192, 192), (192, 176, 192))
    """
    _check_positive(object_size, "object size")
    align = power_of_two(align, "align", 1, 1 << 26)
    ctor, rcu = _flag(ctor, "ctor"), _flag(rcu, "rcu")
    if freeptr_offset is not None:
        if not rcu or isinstance(freeptr_offset, bool) or not isinstance(freeptr_offset, int) \
                or not 0 <= freeptr_offset < object_size or freeptr_offset % WORD:
            raise InvalidArgument(
                f"freeptr_offset {freeptr_offset!r}: use_freeptr_offset needs SLAB_TYPESAFE_BY_RCU (rcu=True) and a "
                f"word-aligned offset inside the object (0..{object_size - 1}, a multiple of {WORD}); "
                "__kmem_cache_create_args() refuses the cache otherwise")
    size = align_up(object_size, WORD)
    inuse = size
    if ctor or (rcu and freeptr_offset is None):
        offset = size
        size += WORD
    elif rcu:
        offset = freeptr_offset
    else:
        offset = (object_size // 2) & ~(WORD - 1)
    return align_up(size, align), offset, inuse


def min_partial(size: int) -> int:
    """``s->min_partial`` (``do_kmem_cache_create()``, mm/slub.c, 6.18): ``ilog2(size) / 2`` clamped to
    ``MIN_PARTIAL..MAX_PARTIAL`` (5..10)."""
    return max(MIN_PARTIAL, min(MAX_PARTIAL, ilog2(size) // 2))


def cpu_partial_objects(size: int, page_size: int = 4096) -> int:
    """``set_cpu_partial()`` (mm/slub.c, 6.18): the per-cpu partial target in objects (sysfs ``cpu_partial``)."""
    size = in_range(size, "object size", 0, SIZE_MAX, InvalidSize)
    if size >= _page_size(page_size):
        return 6
    if size >= 1024:
        return 24
    if size >= 256:
        return 52
    return 120


def cpu_partial_slabs(cpu_partial: int, objects_per_slab: int) -> int:
    """``slub_set_cpu_partial()`` (mm/slub.c, 6.18): ``DIV_ROUND_UP(cpu_partial * 2, objects)`` slabs per cpu."""
    cpu_partial = in_range(cpu_partial, "cpu_partial", 0, 1 << 20)
    objects_per_slab = in_range(objects_per_slab, "objects per slab", 1, MAX_OBJS_PER_PAGE)
    return -(-cpu_partial * 2 // objects_per_slab)


def _check_positive(value, what: str, unit: str = "bytes") -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidSize(f"{what} {value!r:.60} is not an integer number of {unit}; accepted: 1..{OBJECT_MAX:,}")
    if not 0 < value <= OBJECT_MAX:
        shown = f"{int(value):,}" if abs(value) < 10 ** 30 else "a huge number"
        raise InvalidArgument(f"{what} {shown} out of range; accepted: a positive number of {unit} up to "
                              f"{OBJECT_MAX:,} (1 TiB)")
