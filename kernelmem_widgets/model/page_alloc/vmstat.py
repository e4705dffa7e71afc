"""Fragmentation figures of mm/vmstat.c (Linux 6.18), with the kernel's integer arithmetic.

``fill_contig_page_info()``, ``__fragmentation_index()`` (the extfrag_index debugfs file and
compaction's test), ``unusable_free_index()`` and ``extfrag_for_order()``.  All of them read
``nr_free`` per order over every migrate type, exactly as the kernel does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["ContigPageInfo", "fill_contig_page_info", "fragmentation_index", "unusable_free_index",
           "extfrag_for_order", "format_index"]


@dataclass(frozen=True)
class ContigPageInfo:
    free_pages: int
    free_blocks_total: int
    free_blocks_suitable: int


def _check_counts(nr_free, order) -> tuple[list[int], int]:
    """Per-order free block counts (one per order 0..20, each a count 0..2^52) and an order 0..20."""
    from ..validate import as_int, in_range

    if isinstance(nr_free, (str, bytes, dict, set, frozenset)) or not hasattr(nr_free, "__len__") \
            or not 0 < len(nr_free) <= 21:
        from ..errors import InvalidArgument

        raise InvalidArgument(f"nr_free {nr_free!r:.60}: accepted: a sequence of 1..21 free block counts, one per "
                              "order (as /proc/buddyinfo prints them)")
    counts = [in_range(count, f"nr_free[{index}]", 0, 1 << 52) for index, count in enumerate(nr_free)]
    return counts, in_range(order, "order", 0, 20)


def fill_contig_page_info(nr_free: Sequence[int], suitable_order: int) -> ContigPageInfo:
    """``fill_contig_page_info()`` (mm/vmstat.c, Linux 6.18) from the per-order block counts of a zone."""
    nr_free, suitable_order = _check_counts(nr_free, suitable_order)
    free_pages = free_blocks_total = free_blocks_suitable = 0
    for order, blocks in enumerate(nr_free):
        free_blocks_total += blocks
        free_pages += blocks << order
        if order >= suitable_order:
            free_blocks_suitable += blocks << (order - suitable_order)
    return ContigPageInfo(free_pages, free_blocks_total, free_blocks_suitable)


def fragmentation_index(nr_free: Sequence[int], order: int) -> int:
    """``__fragmentation_index()`` in thousandths: -1000 when the order would succeed.

    0 means a failure would be for lack of memory, towards 1000 for fragmentation.

    >>> fragmentation_index([64, 0, 0, 0], 3)   # 64 scattered free pages, order 3 wanted
    860
    """
    info = fill_contig_page_info(nr_free, order)
    if not info.free_blocks_total:
        return 0
    if info.free_blocks_suitable:
        return -1000
    requested = 1 << order
    return 1000 - (1000 + info.free_pages * 1000 // requested) // info.free_blocks_total


def unusable_free_index(nr_free: Sequence[int], order: int) -> int:
    """``unusable_free_index()`` in thousandths: the share of free memory too small for ``order``."""
    info = fill_contig_page_info(nr_free, order)
    if not info.free_pages:
        return 1000
    return (info.free_pages - (info.free_blocks_suitable << order)) * 1000 // info.free_pages


def extfrag_for_order(nr_free: Sequence[int], order: int) -> int:
    """``extfrag_for_order()``: percent of free memory in blocks smaller than ``order``."""
    info = fill_contig_page_info(nr_free, order)
    if not info.free_pages:
        return 0
    return (info.free_pages - (info.free_blocks_suitable << order)) * 100 // info.free_pages


def format_index(index: int, width: int = 0) -> str:
    """``index / 1000`` and ``index % 1000`` (C semantics) as the debugfs files print them.

    ``extfrag_show_print()`` uses ``"%2d.%03d "`` (``width=2``, since Linux 5.14, Lin Feng's
    alignment fix); ``unusable_show_print()`` keeps ``"%d.%03d "`` (mm/vmstat.c, 6.18).

    >>> format_index(500, width=2), format_index(-1000, width=2), format_index(500)
    (' 0.500', '-1.000', '0.500')
    """
    from ..validate import in_range

    index = in_range(index, "index", -1000, 1000)
    width = in_range(width, "width", 0, 20)
    whole = int(index / 1000)
    part = abs(index) - abs(whole) * 1000
    return f"{whole:{width}d}.{part:03d}"
