"""What views draw, derived on demand from a zone's authoritative structures with numpy.

Nothing here is stored: every function reads the zone's free lists and block tables through
zero-copy numpy views, so a 16 GiB zone (4 million pages) costs milliseconds, not a Python
loop per page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .buddy import Zone
from .freearea import NO_ORDER
from .mmzone import MIGRATE_TYPES

__all__ = ["PAGE_RESERVED", "PAGE_FREE", "PAGE_ALLOCATED", "BlockArrays", "free_blocks", "allocated_blocks",
           "page_states", "free_list_counts", "downsampled_map", "largest_free_order"]

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
    window = _zone_slots(zone)
    orders = _u8(zone._area.buddy_order)[window]
    slots = np.flatnonzero(orders != NO_ORDER) + window.start
    pageblock_mt = _u8(zone._pb_mt)
    return BlockArrays(slots + zone._base, orders[slots - window.start].astype(np.int8),
                       pageblock_mt[slots >> zone.pageblock_order])


def allocated_blocks(zone: Zone) -> BlockArrays:
    """Every allocated block, ascending pfn, with the migrate type it was allocated as."""
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
    counts = np.array(zone._area.list_len, dtype=np.int64)
    return counts.reshape(zone.max_page_order + 1, MIGRATE_TYPES)


def downsampled_map(zone: Zone, nr_bins: int) -> dict[str, np.ndarray]:
    """Per bin of consecutive pages: free pages, and allocated pages per migrate type.

    Blocks never straddle bins whose size is a multiple of the largest block, so each block
    lands in one bin by its first pfn: O(number of blocks), no per-page work.
    """
    pages_per_bin = max(1 << zone.max_page_order, -(-zone.spanned_pages // nr_bins))
    pages_per_bin = 1 << (pages_per_bin - 1).bit_length()
    bins = -(-(zone.end_pfn - zone._base) // pages_per_bin)
    free = free_blocks(zone)
    allocated = allocated_blocks(zone)
    result = {"pages_per_bin": np.array(pages_per_bin), "first_pfn": np.arange(bins) * pages_per_bin + zone._base,
              "free": _bin_pages(free, zone._base, pages_per_bin, bins)}
    allocated_by_type = np.zeros((MIGRATE_TYPES, bins), dtype=np.int64)
    for migratetype in np.unique(allocated.migratetype):
        chosen = allocated.migratetype == migratetype
        allocated_by_type[migratetype] = _bin_pages(
            BlockArrays(allocated.pfn[chosen], allocated.order[chosen], allocated.migratetype[chosen]),
            zone._base, pages_per_bin, bins)
    result["allocated"] = allocated_by_type
    return result


def _bin_pages(blocks: BlockArrays, base: int, pages_per_bin: int, bins: int) -> np.ndarray:
    weights = (1 << blocks.order.astype(np.int64)).astype(np.float64)
    return np.bincount((blocks.pfn - base) // pages_per_bin, weights=weights, minlength=bins).astype(np.int64)


def largest_free_order(zone: Zone) -> int:
    return zone.largest_free_order()
