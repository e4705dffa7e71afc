"""What views draw, derived on demand from a zone's authoritative structures with numpy.

Nothing here is stored: every function reads the zone's free lists and block tables through
zero-copy numpy views, so a 16 GiB zone (4 million pages) costs milliseconds, not a Python
loop per page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .buddy import Zone
from .checks import check_zone_arg
from .freearea import NO_ORDER
from .mmzone import MIGRATE_TYPES

__all__ = ["PAGE_RESERVED", "PAGE_FREE", "PAGE_ALLOCATED", "BlockArrays", "free_blocks", "allocated_blocks",
           "page_states", "free_list_counts", "downsampled_map", "largest_free_order", "free_block_containing"]

PAGE_RESERVED, PAGE_FREE, PAGE_ALLOCATED = 0, 1, 2


@dataclass(frozen=True)
class BlockArrays:
    """Blocks as parallel arrays: first pfn, order and migrate type of each."""

    pfn: np.ndarray
    order: np.ndarray
    migratetype: np.ndarray

    def __len__(self) -> int:
        return len(self.pfn)


def _u8(buffer) -> np.ndarray:
    return np.frombuffer(buffer, dtype=np.uint8)


def _zone_slots(zone: Zone) -> slice:
    return slice(zone.start_pfn - zone._base, zone.end_pfn - zone._base)


def free_blocks(zone: Zone) -> BlockArrays:
    """Every free block of the zone (PageBuddy heads), ascending pfn, with its list's type."""
    check_zone_arg(zone)
    window = _zone_slots(zone)
    orders = _u8(zone._area.buddy_order)[window]
    slots = np.flatnonzero(orders != NO_ORDER) + window.start
    pageblock_mt = _u8(zone._pb_mt)
    return BlockArrays(slots + zone._base, orders[slots - window.start].astype(np.int8),
                       pageblock_mt[slots >> zone.pageblock_order])


def allocated_blocks(zone: Zone) -> BlockArrays:
    """Every allocated block, ascending pfn, with the migrate type it was allocated as."""
    check_zone_arg(zone)
    window = _zone_slots(zone)
    orders = _u8(zone._alloc_order)[window]
    slots = np.flatnonzero(orders != NO_ORDER) + window.start
    return BlockArrays(slots + zone._base, orders[slots - window.start].astype(np.int8),
                       _u8(zone._alloc_mt)[slots])


def _paint(length: int, start: np.ndarray, order: np.ndarray) -> np.ndarray:
    """A boolean mask of the pages covered by blocks (difference array, one cumsum)."""
    marks = np.zeros(length + 1, dtype=np.int32)
    np.add.at(marks, start, 1)
    np.add.at(marks, start + (1 << order.astype(np.int64)), -1)
    return np.cumsum(marks[:-1]) > 0


def page_states(zone: Zone) -> tuple[np.ndarray, np.ndarray]:
    """Per page of the zone: state (reserved / free / allocated) and migrate type.

    For a free page the type is its pageblock's (the list it sits on); for an allocated page
    the type it was allocated as.  Meant for small machines; large ones use
    :func:`downsampled_map`.
    """
    check_zone_arg(zone)
    length = zone.spanned_pages
    state = np.full(length, PAGE_RESERVED, dtype=np.uint8)
    migratetype = np.zeros(length, dtype=np.uint8)
    for blocks, code in ((free_blocks(zone), PAGE_FREE), (allocated_blocks(zone), PAGE_ALLOCATED)):
        offsets = blocks.pfn - zone.start_pfn
        sizes = 1 << blocks.order.astype(np.int64)
        index = np.repeat(offsets, sizes) + _ramp(sizes)
        state[index] = code
        migratetype[index] = np.repeat(blocks.migratetype, sizes)
    return state, migratetype


def _ramp(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ..., size-1 for each block, concatenated."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(total, dtype=np.int64) - starts


def free_list_counts(zone: Zone) -> np.ndarray:
    """``[order, migratetype]`` block counts of every free list (the cells of pagetypeinfo)."""
    check_zone_arg(zone)
    counts = np.array(zone._area.list_len, dtype=np.int64)
    return counts.reshape(zone.max_page_order + 1, MIGRATE_TYPES)


#: From one block per this many pages up, :func:`downsampled_map` sums whole arrays instead of
#: blocks (measured: a block costs about 40 ns in the per-block sums, a page about 3 ns per pass).
_PAGES_PER_BLOCK_FOR_DENSE = 16


def downsampled_map(zone: Zone, nr_bins: int) -> dict[str, np.ndarray]:
    """Per bin of consecutive pages: free pages, and allocated pages per migrate type.

    Bins are a power of two of at least ``MAX_ORDER_NR_PAGES`` pages and start at the zone's
    aligned base, so no block straddles two bins.  A zone with few blocks is summed block by
    block; a fragmented one (many blocks per bin) with whole-array numpy passes, since a
    per-block pass over a million blocks costs more than a few passes over every page.

    Returns ``{"pages_per_bin": 0-d array, "first_pfn": (bins,), "free": (bins,),
    "allocated": (MIGRATE_TYPES, bins)}``, all int64.
    """
    check_zone_arg(zone)
    from ..validate import in_range

    nr_bins = in_range(nr_bins, "nr_bins", 1, 1 << 20)
    pages_per_bin = max(1 << zone.max_page_order, -(-zone.spanned_pages // nr_bins))
    pages_per_bin = 1 << (pages_per_bin - 1).bit_length()
    bins = -(-(zone.end_pfn - zone._base) // pages_per_bin)
    result = {"pages_per_bin": np.array(pages_per_bin),
              "first_pfn": np.arange(bins, dtype=np.int64) * pages_per_bin + zone._base}
    if _few_blocks(zone):
        result["free"], result["allocated"] = _binned_by_block(zone, pages_per_bin, bins)
    else:
        result["free"], result["allocated"] = _binned_by_page(zone, pages_per_bin, bins)
    return result


def _few_blocks(zone: Zone) -> bool:
    """True when summing block by block is cheaper than whole-array passes."""
    limit = zone.spanned_pages // _PAGES_PER_BLOCK_FOR_DENSE
    free_blocks_total = sum(zone._area.nr_free)
    # allocated pages bound the allocated blocks: usually enough to decide without counting them
    if free_blocks_total + zone.managed_pages - zone.nr_free_pages < limit:
        return True
    allocated_total = int(np.count_nonzero(_u8(zone._alloc_order)[_zone_slots(zone)] != NO_ORDER))
    return free_blocks_total + allocated_total < limit


def _binned_by_block(zone: Zone, pages_per_bin: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """O(blocks): each block lands in one bin by its first pfn."""
    free = _bin_pages(free_blocks(zone), zone._base, pages_per_bin, bins)
    allocated = allocated_blocks(zone)
    allocated_by_type = np.zeros((MIGRATE_TYPES, bins), dtype=np.int64)
    for migratetype in np.unique(allocated.migratetype):
        chosen = allocated.migratetype == migratetype
        allocated_by_type[migratetype] = _bin_pages(
            BlockArrays(allocated.pfn[chosen], allocated.order[chosen], allocated.migratetype[chosen]),
            zone._base, pages_per_bin, bins)
    return free, allocated_by_type


def _binned_by_page(zone: Zone, pages_per_bin: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """O(pages) in a few vectorised passes: ``1 << order`` at every block head, summed per bin."""
    wide = zone.max_page_order > 15 or pages_per_bin > 1 << 15
    one = np.uint32(1) if wide else np.uint16(1)
    # NO_ORDER (255) shifts every bit out, so a slot that heads no block weighs 0
    free_weights = np.left_shift(one, _per_bin(zone, zone._area.buddy_order, NO_ORDER, pages_per_bin, bins))
    free = free_weights.sum(axis=1, dtype=np.uint32).astype(np.int64)
    alloc_weights = np.left_shift(one, _per_bin(zone, zone._alloc_order, NO_ORDER, pages_per_bin, bins))
    alloc_types = _per_bin(zone, zone._alloc_mt, 0, pages_per_bin, bins)
    allocated_by_type = np.zeros((MIGRATE_TYPES, bins), dtype=np.int64)
    # slots that head no block may keep a stale type; they weigh 0, so only the range matters
    for migratetype in range(min(int(alloc_types.max()) + 1, MIGRATE_TYPES)):
        chosen = (alloc_types == migratetype).view(np.uint8)
        allocated_by_type[migratetype] = np.einsum("ij,ij->i", alloc_weights, chosen)
    return free, allocated_by_type


def _per_bin(zone: Zone, table: bytearray, outside: int, pages_per_bin: int, bins: int) -> np.ndarray:
    """A per-slot byte table as a (bins, pages_per_bin) array; slots outside the zone read ``outside``."""
    window = _zone_slots(zone)
    values = _u8(table)
    if window.start == 0 and window.stop == len(values) == bins * pages_per_bin:
        return values.reshape(bins, pages_per_bin)  # zero-copy: the common, aligned case
    grid = np.full(bins * pages_per_bin, outside, dtype=np.uint8)
    grid[window] = values[window]
    return grid.reshape(bins, pages_per_bin)


def _bin_pages(blocks: BlockArrays, base: int, pages_per_bin: int, bins: int) -> np.ndarray:
    weights = (1 << blocks.order.astype(np.int64)).astype(np.float64)
    return np.bincount((blocks.pfn - base) // pages_per_bin, weights=weights, minlength=bins).astype(np.int64)


def largest_free_order(zone: Zone) -> int:
    check_zone_arg(zone)
    return zone.largest_free_order()


def free_block_containing(zone: Zone, pfn: int) -> tuple[int, int] | None:
    """The free block ``(first pfn, order)`` that holds ``pfn``, or None when the page is not free.

    Blocks are naturally aligned, so the only candidate of each order is ``pfn`` rounded down
    to it, as ``__free_one_page()`` finds a buddy by its pfn alone.

    >>> zone = Zone("Normal", 0, 4096)
    >>> free_block_containing(zone, 0x5)
    (0, 10)
    """
    check_zone_arg(zone)
    zone._check_pfn(pfn)
    slot = pfn - zone._base
    buddy_order = zone._area.buddy_order
    for order in range(zone.max_page_order + 1):
        head = slot & ~((1 << order) - 1)
        if buddy_order[head] == order:
            return head + zone._base, order
    return None
