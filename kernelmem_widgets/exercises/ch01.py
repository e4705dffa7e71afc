"""Chapter 01 (the buddy allocator, orders, fragmentation, compaction): conceptual exercises.

Facts as of Linux 6.18 on x86-64 (4 KiB pages, MAX_PAGE_ORDER 10); each explanation names where
the kernel decides it.  ``EXERCISES[id].check(answer)`` gives feedback; the chapter never shows
:meth:`~.answers.Exercise.solution`.
"""

from __future__ import annotations

from .answers import Exercise, parse_name, parse_number, parse_order, parse_size

__all__ = ["EXERCISES", "check", "solution"]


def _api(text):
    return parse_name(text, {
        "dma_alloc_coherent": ("dma_alloc_coherent", "dma_alloc_attrs", "dma_alloc_pages", "dma api"),
        "cma": ("cma", "cma_alloc", "contiguous memory allocator", "dma_alloc_contiguous"),
        "kmalloc": ("kmalloc", "kzalloc", "kmalloc_array"),
        "kvmalloc": ("kvmalloc", "kvzalloc"),
        "vmalloc": ("vmalloc", "vzalloc"),
        "alloc_pages_exact": ("alloc_pages_exact",),
        "alloc_pages": ("alloc_pages", "__get_free_pages", "get_free_pages", "alloc_page", "folio_alloc"),
    })


def _gfp(text):
    return parse_name(text, {
        "GFP_ATOMIC": ("gfp_atomic",), "GFP_NOWAIT": ("gfp_nowait",), "GFP_KERNEL": ("gfp_kernel",),
        "GFP_NOIO": ("gfp_noio",), "GFP_NOFS": ("gfp_nofs",), "GFP_USER": ("gfp_user",),
        "__GFP_RETRY_MAYFAIL": ("__gfp_retry_mayfail", "gfp_retry_mayfail", "retry_mayfail"),
        "__GFP_NOFAIL": ("__gfp_nofail", "gfp_nofail", "nofail"),
        "__GFP_NORETRY": ("__gfp_noretry", "gfp_noretry", "noretry"),
        "__GFP_HIGH": ("__gfp_high", "gfp_high"),
        "__GFP_NOWARN": ("__gfp_nowarn", "gfp_nowarn", "nowarn"),
    })


def _kbytes(text):
    """KiB, as min_free_kbytes counts: a bare number is KiB, a size with a unit is converted."""
    number = parse_number(text)
    if number is not None:
        return number
    size = parse_size(text)
    return None if size is None else size // 1024


def _reason(text):
    return parse_name(text, {
        "unmovable": ("unmovable", "not movable", "cannot be moved", "can't be moved", "cannot move", "slab",
                      "pinned", "kernel memory", "non movable", "non-movable"),
        "no_io": ("__gfp_io", "gfp_io", "no io", "without io", "noio", "gfp_noio", "gfp_compaction_allowed"),
        "not_enough_memory": ("not enough memory", "not enough free", "out of memory", "too little memory",
                              "below the watermark", "watermark"),
        "atomic": ("atomic", "cannot sleep", "can't sleep", "may not sleep"),
    })


EXERCISES: dict[str, Exercise] = {
    "01.e1": Exercise(
        "01.e1",
        "A forum post computes get_order(2048) for a buffer of 2048 contiguous pages. What does "
        "get_order(2048) return on x86-64 with 4 KiB pages?",
        parse_order, 0,
        mistakes=[(11, "11 is the order of 2048 *pages*; get_order() takes a size in bytes, and 2048 bytes "
                       "fit in one page."),
                  (2048, "get_order() returns an order (a power of two of pages), not a count.")],
        hint="get_order(size) is the smallest order whose block of 2^order pages holds size bytes.",
        explanation="get_order() (include/asm-generic/getorder.h) takes bytes: 2048 bytes need one page, "
                    "order 0. 2048 pages would be get_order(2048 * PAGE_SIZE) = 11."),
    "01.e2": Exercise(
        "01.e2",
        "Which order is a block of 2048 contiguous 4 KiB pages (8 MiB)?",
        parse_order, 11,
        mistakes=[(10, "Order 10 is 1024 pages (4 MiB), the largest x86-64 block; 2048 pages is one more order."),
                  (2048, "2048 is the page count; the order is its base-2 logarithm."),
                  (8, "8 is the size in MiB; the order counts pages as a power of two.")],
        hint="order n is 2^n pages.",
        explanation="2^11 = 2048. alloc_pages() refuses order > MAX_PAGE_ORDER (10 on x86-64 6.x; 2.6's "
                    "MAX_ORDER 11 meant orders 0..10 too) with a WARN; larger orders exist only where "
                    "ARCH_FORCE_MAX_ORDER raises it (arm64 with 64K pages: order 13 = 512 MiB)."),
    "01.e3": Exercise(
        "01.e3",
        "A driver on x86-64 6.18 needs a 6 MiB buffer its device reads by DMA in one physically contiguous "
        "piece. Which allocation API does it use?",
        _api, lambda name: name in ("dma_alloc_coherent", "cma"), answer="dma_alloc_coherent() (CMA)",
        mistakes=[("alloc_pages", "__get_free_pages()/alloc_pages() would need order 11 (get_order(6 MiB)); "
                                  "the buddy allocator's largest block is order 10, 4 MiB."),
                  ("alloc_pages_exact", "alloc_pages_exact() still takes one block of get_order(size) = order 11 "
                                        "first and frees the tail: over MAX_PAGE_ORDER 10."),
                  ("kmalloc", "kmalloc() above KMALLOC_MAX_SIZE (4 MiB on x86-64 6.18) returns NULL with a "
                              "warning: it is the page allocator underneath."),
                  ("vmalloc", "vmalloc() memory is only virtually contiguous: its pages are scattered, and a "
                              "device without an IOMMU sees physical addresses."),
                  ("kvmalloc", "kvmalloc() falls back to vmalloc for this size: virtually contiguous only.")],
        hint="Which allocator can hand out physically contiguous memory larger than the buddy allocator's "
             "largest block?",
        explanation="dma_alloc_coherent() (kernel/dma/direct.c) takes it from CMA (dma_alloc_contiguous(); boot "
                    "with cma=64M or CONFIG_CMA_SIZE_MBYTES), or with an IOMMU maps scattered pages contiguously "
                    "for the device. Allocate it at probe time, while memory is least fragmented."),
    "01.e4": Exercise(
        "01.e4",
        "Which GFP mask does an interrupt handler pass to kmalloc()?",
        _gfp, lambda name: name in ("GFP_ATOMIC", "GFP_NOWAIT"), answer="GFP_ATOMIC (or GFP_NOWAIT)",
        mistakes=[("GFP_KERNEL", "GFP_KERNEL includes __GFP_DIRECT_RECLAIM: the allocation may sleep, and sleeping "
                                 "in an interrupt handler is a bug ('BUG: sleeping function called from invalid "
                                 "context')."),
                  ("GFP_NOIO", "GFP_NOIO only forbids starting I/O; it still reclaims directly, so it may sleep."),
                  ("GFP_NOFS", "GFP_NOFS only forbids calling into filesystems; it may still sleep."),
                  ("GFP_USER", "GFP_USER may sleep, like GFP_KERNEL.")],
        hint="The handler may not sleep.",
        explanation="GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM (include/linux/gfp_types.h): never sleeps, may "
                    "dip below the min watermark (ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK in gfp_to_alloc_flags()) and, "
                    "for orders > 0, use the HighAtomic reserve. GFP_NOWAIT also never sleeps, without the reserves."),
    "01.e5": Exercise(
        "01.e5",
        "A zone has 30 % of its pages free, all in order-0 and order-1 blocks scattered through pageblocks "
        "that are full of slab pages. Why can compaction not assemble an order-9 block there?",
        _reason, "unmovable",
        mistakes=[("not_enough_memory", "30 % free is plenty (compaction_suitable() wants the watermark plus "
                                        "2 << order pages); the problem is what sits between the free pages."),
                  ("no_io", "Nothing here says the request lacks __GFP_IO; look at the pages in the way.")],
        hint="What does compaction move, and what is in those pageblocks?",
        explanation="Compaction migrates only movable pages (LRU pages and pages with movable_ops, "
                    "isolate_migratepages_block() in mm/compaction.c); slab pages stay where they are, so the "
                    "free pages between them can never merge into 2 MiB."),
    "01.e6": Exercise(
        "01.e6",
        "A block driver's I/O path asks for order 3 with GFP_NOIO on a fragmented machine, and the allocation "
        "fails although compaction could have freed an order-3 block. Why did the kernel not compact?",
        _reason, "no_io",
        mistakes=[("unmovable", "The pages are movable here; it is the request's mask that rules compaction out."),
                  ("atomic", "GFP_NOIO may sleep (it has __GFP_DIRECT_RECLAIM); something else is missing.")],
        hint="Compare GFP_NOIO with GFP_KERNEL bit by bit.",
        explanation="gfp_compaction_allowed() (include/linux/gfp.h, 6.8+) requires __GFP_IO, because migrating a "
                    "page may need I/O; GFP_NOIO = __GFP_RECLAIM only. GFP_NOFS keeps __GFP_IO and may compact."),
    "01.e7": Exercise(
        "01.e7",
        "A driver wants an order-5 buffer and would rather the kernel reclaim and compact harder than fail at "
        "the first try, but it can cope with a failure. Which flag does it add to GFP_KERNEL?",
        _gfp, "__GFP_RETRY_MAYFAIL",
        mistakes=[("__GFP_NOFAIL", "__GFP_NOFAIL never returns NULL: the allocator loops forever (and warns for "
                                   "orders > 1); the driver said it can cope with a failure."),
                  ("__GFP_NORETRY", "__GFP_NORETRY is the opposite: one light attempt, then give up."),
                  ("__GFP_HIGH", "__GFP_HIGH grants the atomic reserves below the min watermark; it does not "
                                 "make reclaim or compaction try longer."),
                  ("__GFP_NOWARN", "__GFP_NOWARN only silences the failure report; pair it with the flag asked for.")],
        hint="Costly orders (> 3) give up after one async and one sync-light compaction unless told otherwise.",
        explanation="__alloc_pages_slowpath() (mm/page_alloc.c, 6.18) jumps to nopage for a costly order "
                    "without __GFP_RETRY_MAYFAIL; with it the slow path keeps reclaiming and compacting (at "
                    "MIN_COMPACT_COSTLY_PRIORITY) while reclaim makes progress. In C: "
                    "alloc_pages(GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN, 5), at probe time."),
    "01.e8": Exercise(
        "01.e8",
        "What is min_free_kbytes on a 16 GiB x86-64 machine running 6.18 with transparent hugepages "
        "'madvise' (three populated zones)?",
        _kbytes, 67584,
        mistakes=[(16383, "16383 is calculate_min_free_kbytes()'s int_sqrt(lowmem_kbytes * 16): right with THP "
                          "'never'. With 'madvise', khugepaged raises it."),
                  (16384, "Close to int_sqrt's 16383, which holds with THP 'never'; with 'madvise' khugepaged "
                          "raises it."),
                  (65536, "A round 64 MiB is not what the kernel computes: count pageblocks per zone.")],
        hint="Transparent hugepages start khugepaged, which wants pageblocks free per zone.",
        explanation="set_recommended_min_free_kbytes() (mm/khugepaged.c): 512 pages * 3 zones * (2 + "
                    "MIGRATE_PCPTYPES^2 = 11) = 16896 pages = 67584 KiB, larger than int_sqrt's 16383."),
}


def check(exercise_id: str, answer):
    """``EXERCISES[exercise_id].check(answer)``, with the ids listed when one is unknown."""
    from ..model.errors import InvalidArgument

    if exercise_id not in EXERCISES:
        raise InvalidArgument(f"no exercise {exercise_id!r} in chapter 01; exercises: {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id].check(answer)


def solution(exercise_id: str) -> str:
    """The accepted answer with its explanation (for instructors)."""
    return EXERCISES[exercise_id].solution()
