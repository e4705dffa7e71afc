"""kmalloc's size classes: which cache a request lands in, and what it is called.

Follows include/linux/slab.h and mm/slab_common.c of Linux 6.18 (gregkh/linux slab.h @ 2519003d,
slab_common.c @ 344789964c): ``kmalloc_info[]``, ``kmalloc_size_index[]`` with
``size_index_elem()``, ``kmalloc_slab()`` (``fls(size - 1)`` above 192 bytes), ``kmalloc_type()``
and ``kmalloc_size_roundup()``.  The same tables served SLAB (whose smallest cache was 32 bytes:
KMALLOC_SHIFT_LOW 5, so ``setup_kmalloc_cache_index_table()`` sends 1..24 bytes to kmalloc-32)
until it was removed in 6.8; SLOB had no size classes at all.

>>> [kmalloc_cache_name(n) for n in (1, 8, 9, 65, 96, 97, 129, 193, 4097, 8192)]
['kmalloc-8', 'kmalloc-8', 'kmalloc-16', 'kmalloc-96', 'kmalloc-96', 'kmalloc-128', 'kmalloc-192', 'kmalloc-256', 'kmalloc-8k', 'kmalloc-8k']
>>> kmalloc_cache_name(512, "GFP_DMA"), kmalloc_cache_name(64, "GFP_KERNEL_ACCOUNT")
('dma-kmalloc-512', 'kmalloc-cg-64')
>>> kmalloc_cache_name(8193) is None
True
"""

from __future__ import annotations

import numbers

from ..errors import InvalidArgument, InvalidSize
from ..page_alloc.gfp import parse_gfp
from ..validate import in_range, power_of_two

#: ``SIZE_MAX``: a ``size_t`` of 64 bits holds at most 2^64 - 1 bytes
SIZE_MAX = (1 << 64) - 1


def _page_size(page_size) -> int:
    if page_size.__class__ is int and page_size == 4096:
        return page_size
    return power_of_two(page_size, "page_size", 1024, 1 << 16)


def _max_page_order(max_page_order) -> int:
    if max_page_order.__class__ is int and 0 <= max_page_order <= 20:
        return max_page_order
    return in_range(max_page_order, "max_page_order", 0, 20)


def _shift_low(shift_low) -> int:
    # KMALLOC_SHIFT_LOW: ilog2(KMALLOC_MIN_SIZE): 3 (SLUB), 5 (SLAB), up to 7 with a 128-byte ARCH_DMA_MINALIGN
    if shift_low.__class__ is int and 3 <= shift_low <= 7:
        return shift_low
    return in_range(shift_low, "shift_low (KMALLOC_SHIFT_LOW)", 3, 7)


def _flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{what} {value!r:.40} is not a bool; accepted: True or False")
    return value

__all__ = ["ZERO_SIZE_PTR", "KMALLOC_NORMAL", "KMALLOC_RECLAIM", "KMALLOC_DMA", "KMALLOC_CGROUP", "TYPE_PREFIX",
           "KMALLOC_INFO", "kmalloc_shift_high", "kmalloc_max_cache_size", "kmalloc_max_size", "kmalloc_index",
           "kmalloc_indexes", "kmalloc_type", "kmalloc_cache_name", "kmalloc_size_roundup", "check_size",
           "slab_2_6_kmalloc_shift_high", "slab_2_6_kmalloc_max_size", "slab_2_6_kmalloc_sizes",
           "slab_2_6_kmalloc_cache_name"]

#: ``ZERO_SIZE_PTR ((void *)16)``: what kmalloc(0) returns; kfree() accepts it like NULL
ZERO_SIZE_PTR = 16

#: ``enum kmalloc_cache_type`` with CONFIG_ZONE_DMA, CONFIG_MEMCG, !CONFIG_SLUB_TINY and no
#: CONFIG_RANDOM_KMALLOC_CACHES (a distribution x86-64 kernel)
KMALLOC_NORMAL, KMALLOC_RECLAIM, KMALLOC_DMA, KMALLOC_CGROUP = 0, 1, 2, 3
TYPE_PREFIX = {KMALLOC_NORMAL: "kmalloc-", KMALLOC_RECLAIM: "kmalloc-rcl-", KMALLOC_DMA: "dma-kmalloc-",
               KMALLOC_CGROUP: "kmalloc-cg-"}

#: ``kmalloc_info[]``: index -> (size, short name); index 0 is the zero-size slot
KMALLOC_INFO = ((0, "0"), (96, "96"), (192, "192"), (8, "8"), (16, "16"), (32, "32"), (64, "64"), (128, "128"),
                (256, "256"), (512, "512"), (1024, "1k"), (2048, "2k"), (4096, "4k"), (8192, "8k"),
                (16384, "16k"), (32768, "32k"), (65536, "64k"), (131072, "128k"), (262144, "256k"),
                (524288, "512k"), (1048576, "1M"), (2097152, "2M"))

#: ``kmalloc_size_index[24]``: (size - 1) / 8 -> kmalloc_info index, for sizes 1..192
_SIZE_INDEX = (3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2)


def kmalloc_shift_high(page_size: int = 4096) -> int:
    """``KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1`` (include/linux/slab.h, Linux 6.18): SLUB (and SLAB since
    6.1) serve up to two pages."""
    return _page_size(page_size).bit_length()


def kmalloc_max_cache_size(page_size: int = 4096) -> int:
    """``KMALLOC_MAX_CACHE_SIZE``: 8 KiB with 4 KiB pages; larger requests go to the page allocator."""
    return 1 << kmalloc_shift_high(page_size)


def kmalloc_max_size(page_size: int = 4096, max_page_order: int = 10) -> int:
    """``KMALLOC_MAX_SIZE = 1 << (MAX_PAGE_ORDER + PAGE_SHIFT)`` (include/linux/slab.h, Linux 6.18): 4 MiB
    on x86-64."""
    return _page_size(page_size) << _max_page_order(max_page_order)


def kmalloc_index(size: int, shift_low: int = 3) -> int:
    """``kmalloc_slab()``'s index: the size_index table up to 192 bytes, ``fls(size - 1)`` above.

    ``shift_low`` is KMALLOC_SHIFT_LOW: 3 for SLUB, 5 for SLAB (sizes below 32 use kmalloc-32).
    Sizes are those of the kmalloc caches: 1 .. 2 MiB (``kmalloc_info[]``'s largest, Linux 6.18).
    """
    if size.__class__ is not int or not 0 < size <= 192:
        size = in_range(size, "kmalloc_index() size", 1, KMALLOC_INFO[-1][0], InvalidSize)
    shift_low = _shift_low(shift_low)
    if size <= 192:
        index = _SIZE_INDEX[(size - 1) >> 3]
        return max(index, shift_low) if index > 2 else index
    return (size - 1).bit_length()


def kmalloc_indexes(page_size: int = 4096, shift_low: int = 3) -> list[int]:
    """The indexes ``create_kmalloc_caches()`` (mm/slab_common.c, Linux 6.18) creates, in creation order:
    96, 192, then 2^low..2^high."""
    shift_low = _shift_low(shift_low)
    return [1, 2] + list(range(shift_low, kmalloc_shift_high(page_size) + 1))


def kmalloc_type(gfp, zone_dma: bool = True) -> int:
    """``kmalloc_type()`` (include/linux/slab.h, Linux 6.18): __GFP_DMA first, then __GFP_RECLAIMABLE,
    then __GFP_ACCOUNT (memcg).  ``gfp`` is a parsed mask or text (``"GFP_KERNEL|__GFP_DMA"``)."""
    if gfp.__class__ is not frozenset:
        gfp = parse_gfp(gfp)
    if zone_dma is not True and zone_dma is not False:
        _flag(zone_dma, "zone_dma")
    if "__GFP_DMA" in gfp and zone_dma:
        return KMALLOC_DMA
    if "__GFP_RECLAIMABLE" in gfp:
        return KMALLOC_RECLAIM
    if "__GFP_ACCOUNT" in gfp:
        return KMALLOC_CGROUP
    return KMALLOC_NORMAL


def check_size(size, what: str = "kmalloc") -> int:
    """Validate a request size the way a C caller cannot: a ``size_t`` is an integer 0..2^64 - 1."""
    if size.__class__ is int and 0 <= size <= SIZE_MAX:
        return size
    if not isinstance(what, str):
        what = "kmalloc"
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise InvalidSize(f"{what}() size {size!r:.60} is not an integer number of bytes (size_t); "
                          "accepted: 0 or a positive integer such as 100 or 4096")
    size = int(size)
    if size < 0:
        raise InvalidSize(f"{what}() size {size} is negative: size_t is unsigned, so C would see "
                          f"{size % (1 << 64):,} bytes, far above KMALLOC_MAX_SIZE; accepted: 0 or a positive integer")
    if size > SIZE_MAX:
        raise InvalidSize(f"{what}() size of {len(str(size))} digits does not fit a size_t; accepted: 0..{SIZE_MAX:,} "
                          "(2^64 - 1)")
    return size


def kmalloc_cache_name(size: int, gfp="GFP_KERNEL", *, page_size: int = 4096, shift_low: int = 3,
                       zone_dma: bool = True) -> str | None:
    """The name of the cache ``kmalloc(size, gfp)`` uses, as /proc/slabinfo spells it.

    Returns None for 0 (ZERO_SIZE_PTR, no cache) and above KMALLOC_MAX_CACHE_SIZE (the page
    allocator).  ``shift_low=5`` gives SLAB's classes.  Follows ``kmalloc_slab()`` (mm/slab_common.c,
    Linux 6.18).  Every argument is checked first; the size is a ``size_t`` (0..2^64 - 1).
    """
    size = check_size(size)
    limit = kmalloc_max_cache_size(page_size)
    shift_low = _shift_low(shift_low)
    kind = kmalloc_type(parse_gfp(gfp), _flag(zone_dma, "zone_dma"))
    if size == 0 or size > limit:
        return None
    return TYPE_PREFIX[kind] + KMALLOC_INFO[kmalloc_index(size, shift_low)][1]


def kmalloc_size_roundup(size: int, *, page_size: int = 4096, max_page_order: int = 10, shift_low: int = 3) -> int:
    """``kmalloc_size_roundup()``: the bytes kmalloc would really reserve for ``size``.

    >>> kmalloc_size_roundup(100), kmalloc_size_roundup(9000), kmalloc_size_roundup(0)
    (128, 16384, 0)

    Models ``kmalloc_size_roundup()`` of mm/slab_common.c, Linux 6.18.
    """
    size = check_size(size)
    page_size, max_page_order, shift_low = _page_size(page_size), _max_page_order(max_page_order), _shift_low(shift_low)
    if size and size <= kmalloc_max_cache_size(page_size):
        return KMALLOC_INFO[kmalloc_index(size, shift_low)][0]
    if size and size <= kmalloc_max_size(page_size, max_page_order):
        return page_size << ((size - 1) // page_size).bit_length()
    return size


# ---------------------------------------------------------------------- SLAB of Linux 2.6.35
#: The largest kmalloc SLAB served from a cache in 2.6.x: ``KMALLOC_SHIFT_HIGH`` is capped at 25 (32 MiB)
SLAB_2_6_SHIFT_CAP = 25


def slab_2_6_kmalloc_shift_high(page_size: int = 4096, max_page_order: int = 10) -> int:
    """``KMALLOC_SHIFT_HIGH`` of include/linux/slab.h, Linux 2.6.35 with CONFIG_SLAB:
    ``(MAX_ORDER + PAGE_SHIFT - 1) <= 25 ? (MAX_ORDER + PAGE_SHIFT - 1) : 25``.

    ``MAX_ORDER`` of 2.6 is one more than the largest order (``max_page_order``), so with 4 KiB
    pages and MAX_ORDER 11 (x86) this is 22: 4 MiB.  Only where MAX_ORDER + PAGE_SHIFT - 1 reaches 25
    (CONFIG_FORCE_MAX_ZONEORDER, or 64 KiB pages) are the caches cut at 32 MiB.
    """
    page_shift = _page_size(page_size).bit_length() - 1
    return min(_max_page_order(max_page_order) + page_shift, SLAB_2_6_SHIFT_CAP)


def slab_2_6_kmalloc_max_size(page_size: int = 4096, max_page_order: int = 10) -> int:
    """``KMALLOC_MAX_SIZE = 1UL << KMALLOC_SHIFT_HIGH`` (include/linux/slab.h, Linux 2.6.35, CONFIG_SLAB).

    >>> slab_2_6_kmalloc_max_size(), slab_2_6_kmalloc_max_size(65536, 13)
    (4194304, 33554432)
    """
    return 1 << slab_2_6_kmalloc_shift_high(page_size, max_page_order)


def slab_2_6_kmalloc_sizes(page_size: int = 4096, max_page_order: int = 10, cache_line_size: int = 64) -> list[int]:
    """``malloc_sizes[]`` as include/linux/kmalloc_sizes.h of Linux 2.6.35 lists them with ``CACHE(x)``.

    ``CACHE(32)`` only with 4 KiB pages; ``CACHE(96)`` if ``L1_CACHE_BYTES < 64``; ``CACHE(192)`` if
    ``L1_CACHE_BYTES < 128``; then 256 up to 131072 always, and 262144 ... 33554432 while
    ``KMALLOC_MAX_SIZE >=`` the size.

    >>> sizes = slab_2_6_kmalloc_sizes()
    >>> sizes[:5], sizes[-1], len(sizes)
    ([32, 64, 128, 192, 256], 4194304, 19)
    """
    limit = slab_2_6_kmalloc_max_size(page_size, max_page_order)
    cache_line_size = power_of_two(cache_line_size, "cache_line_size (L1_CACHE_BYTES)", 8, 4096)
    sizes = [32] if page_size == 4096 else []
    sizes.append(64)
    if cache_line_size < 64:
        sizes.append(96)
    sizes.append(128)
    if cache_line_size < 128:
        sizes.append(192)
    sizes += [1 << shift for shift in range(8, 18)]                  # 256 .. 131072
    sizes += [1 << shift for shift in range(18, SLAB_2_6_SHIFT_CAP + 1) if (1 << shift) <= limit]
    return sizes


def slab_2_6_kmalloc_cache_name(size: int, gfp="GFP_KERNEL", *, page_size: int = 4096, max_page_order: int = 10,
                                cache_line_size: int = 64, zone_dma: bool = True) -> str | None:
    """The cache ``kmalloc(size, gfp)`` used with SLAB in Linux 2.6.35: ``__find_general_cachep()``
    walks ``malloc_sizes[]`` to the first ``cs_size >= size`` and takes ``cs_dmacachep`` for GFP_DMA.

    Names as /proc/slabinfo printed them: ``size-N`` and ``size-N(DMA)``.  None for 0 (ZERO_SIZE_PTR)
    and above KMALLOC_MAX_SIZE (kmalloc returns NULL).

    >>> [slab_2_6_kmalloc_cache_name(n) for n in (1, 33, 100, 129, 4097, 4 << 20)]
    ['size-32', 'size-64', 'size-128', 'size-192', 'size-8192', 'size-4194304']
    >>> slab_2_6_kmalloc_cache_name(500, "GFP_DMA"), slab_2_6_kmalloc_cache_name((4 << 20) + 1)
    ('size-512(DMA)', None)
    """
    size = check_size(size)
    flags = parse_gfp(gfp)
    zone_dma = _flag(zone_dma, "zone_dma")
    sizes = slab_2_6_kmalloc_sizes(page_size, max_page_order, cache_line_size)
    if size == 0:
        return None
    for cs_size in sizes:
        if size <= cs_size:
            return f"size-{cs_size}" + ("(DMA)" if "__GFP_DMA" in flags and zone_dma else "")
    return None
