"""The reader's own machine: read its /proc files and load them into model zones.

``/proc/buddyinfo`` and ``/proc/zoneinfo`` are world-readable (mode 0444);
``/proc/pagetypeinfo`` is root-only (0400).  :func:`zone_from_buddyinfo` builds a model zone
whose free lists hold exactly the block counts the kernel printed (and, when pagetypeinfo is
readable, on the same migrate-type lists), so the model can answer "would an order-N
allocation succeed on my machine right now?".  The layout of the pages is invented — only
the counts are the machine's — so each free block below MAX_PAGE_ORDER is placed next to an
allocated buddy that keeps it from merging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .page_alloc.buddy import ALLOC_WMARK_LOW, MAX_ZONE_PFNS, Zone
from .errors import InvalidArgument, KernelMemError
from .validate import as_int, parse_count
from .page_alloc.mmzone import MIGRATETYPE_NAMES, parse_migratetype
from .procfs import parse_buddyinfo, parse_pagetypeinfo
from .page_alloc.watermarks import zone_watermark_ok

__all__ = ["LiveUnavailable", "read_proc", "read_buddyinfo", "read_pagetypeinfo", "read_zoneinfo_watermarks",
           "zone_from_buddyinfo", "would_succeed", "Verdict"]


class LiveUnavailable(KernelMemError):
    """A /proc or /sys file of the running machine cannot be read here (and why)."""


def read_proc(path: str) -> str:
    """The text of a /proc or /sys file, or :class:`LiveUnavailable` saying why not."""
    try:
        return Path(path).read_text()
    except PermissionError:
        raise LiveUnavailable(f"{path} is not readable by this user (it is root-only on Linux)") from None
    except FileNotFoundError:
        raise LiveUnavailable(f"{path} does not exist here (not Linux, or the kernel lacks the option)") from None
    except OSError as error:
        raise LiveUnavailable(f"{path} could not be read: {error.strerror}") from None


def read_buddyinfo(path: str = "/proc/buddyinfo") -> dict[tuple[int, str], list[int]]:
    return parse_buddyinfo(read_proc(path))


def read_pagetypeinfo(path: str = "/proc/pagetypeinfo") -> dict:
    return parse_pagetypeinfo(read_proc(path))


_ZONE_HEADER = re.compile(r"Node +([0-9]+), +zone +([A-Za-z0-9_]+)", re.ASCII)
_WMARK = re.compile(r"[ \t]+(min|low|high|promo)[ \t]+([0-9]+)[ \t]*\Z", re.ASCII)


def read_zoneinfo_watermarks(path: str = "/proc/zoneinfo") -> dict[tuple[int, str], dict[str, int]]:
    """``{(node, zone): {"min": pages, "low": ..., "high": ...}}`` from /proc/zoneinfo."""
    result: dict[tuple[int, str], dict[str, int]] = {}
    current = None
    for line in read_proc(path).splitlines():
        header = _ZONE_HEADER.match(line)
        if header:
            current = (parse_count(header.group(1), "zoneinfo node"), header.group(2))
            result[current] = {}
            continue
        mark = _WMARK.match(line)
        if mark and current is not None and mark.group(1) not in result[current]:
            result[current][mark.group(1)] = parse_count(mark.group(2), f"zoneinfo {mark.group(1)}")
    return result


def zone_from_buddyinfo(name: str, counts: list[int], *, free_by_type: dict[str, list[int]] | None = None,
                        pageblock_order: int = 9, node: int = 0) -> Zone:
    """A model zone whose free lists hold ``counts[order]`` blocks of each order.

    ``free_by_type`` (``{"Movable": [per order], ...}`` from pagetypeinfo) puts them on the
    right migrate-type lists; without it every block is on the Movable lists, where most free
    memory of a running machine sits.
    """
    counts = _check_counts(counts, "counts")
    max_page_order = len(counts) - 1
    pageblock_order = as_int(pageblock_order, "pageblock_order", f"0..{max_page_order}")
    if not 0 <= pageblock_order <= max_page_order:
        raise InvalidArgument(f"pageblock_order {pageblock_order}: accepted: 0..{max_page_order} (MAX_PAGE_ORDER)")
    if free_by_type is not None and not isinstance(free_by_type, dict):
        raise InvalidArgument(f"free_by_type must be a dict {{migrate type: [count per order]}}, not "
                              f"{type(free_by_type).__name__}")
    by_type = free_by_type or {"Movable": list(counts)}
    by_type = {mtype: _check_counts(per_order, f"free_by_type[{mtype!r}]") for mtype, per_order in by_type.items()}
    # each free block below MAX_PAGE_ORDER is laid out with an allocated buddy: twice its pages
    pages = sum(2 * (count << order) for per_order in by_type.values() for order, count in enumerate(per_order))
    if pages > MAX_ZONE_PFNS:
        raise InvalidArgument(f"{pages:,} pages to lay out: more than this kit builds in one zone "
                              f"({MAX_ZONE_PFNS:,} pages, 256 GiB of 4 KiB pages)")
    plan = {parse_migratetype(mtype): per_order for mtype, per_order in by_type.items() if any(per_order)}
    layout, total = _layout(plan, max_page_order, pageblock_order)
    zone = Zone(name, 0, max(total, 1 << max_page_order), max_page_order=max_page_order,
                pageblock_order=pageblock_order, node=node, free_ranges=[], mobility_grouping=True)
    for slot, order, migratetype, free in layout:
        zone._pb_mt[slot >> pageblock_order:(slot + (1 << order) - 1 >> pageblock_order) + 1] = (
            bytes([migratetype]) * ((((1 << order) - 1) >> pageblock_order) + 1))
        if free:
            zone._area.add(slot, order, migratetype, True)
        else:
            zone._commit_alloc(slot, order, migratetype)
    cursor = 0
    for slot, order, _mt, _free in sorted(layout) + [(zone.end_pfn, 0, 0, False)]:
        _fill_in_use(zone, cursor, slot)  # alignment gaps and the tail: memory in use, as on the real machine
        cursor = max(cursor, slot + (1 << order))
    zone.managed_pages = zone.spanned_pages
    zone._managed_ranges = ((zone.start_pfn, zone.end_pfn),)
    return zone


def _fill_in_use(zone: Zone, start: int, end: int) -> None:
    """Cover pfns ``start..end`` with allocated blocks, largest naturally aligned first."""
    while start < end:
        order = min(zone.max_page_order, (start & -start).bit_length() - 1 if start else zone.max_page_order)
        while start + (1 << order) > end:
            order -= 1
        zone._commit_alloc(start, order, zone._pb_mt[start >> zone.pageblock_order])
        start += 1 << order


def _check_counts(counts, what: str) -> list[int]:
    """A list of 1..21 non-negative integer block counts, one per order."""
    if isinstance(counts, (str, bytes)) or not hasattr(counts, "__len__") or not 1 <= len(counts) <= 21:
        raise InvalidArgument(f"{what} must be a list of 1..21 block counts (one per order), not {counts!r:.60}")
    values = [as_int(count, what, "integers >= 0") for count in counts]
    if any(value < 0 for value in values):
        raise InvalidArgument(f"{what} has a negative count: {values}; a free list holds 0 or more blocks")
    return values


def _layout(plan: dict[int, list[int]], max_page_order: int, pageblock_order: int):
    """(slot, order, migratetype, is_free) for every block, each type in its own pageblocks."""
    layout = []
    cursor = 0
    for migratetype, per_order in sorted(plan.items()):
        for order in range(max_page_order, -1, -1):
            size = 1 << order
            for _ in range(per_order[order] if order < len(per_order) else 0):
                cursor = -(-cursor // (2 * size)) * (2 * size) if order < max_page_order else -(-cursor // size) * size
                layout.append((cursor, order, migratetype, True))
                cursor += size
                if order < max_page_order:
                    layout.append((cursor, order, migratetype, False))
                    cursor += size
        pageblock = 1 << pageblock_order
        padded = -(-cursor // pageblock) * pageblock
        while cursor < padded:
            order = min((cursor & -cursor).bit_length() - 1 if cursor else pageblock_order, (padded - cursor).bit_length() - 1)
            layout.append((cursor, order, migratetype, False))
            cursor += 1 << order
    return layout, -(-cursor // (1 << max_page_order)) * (1 << max_page_order)


@dataclass(frozen=True)
class Verdict:
    """Whether an allocation would succeed right now, and why."""

    succeeds: bool
    reason: str

    def __bool__(self) -> bool:
        return self.succeeds


def would_succeed(zone: Zone, order: int, migratetype: str | int = "Unmovable") -> Verdict:
    """Would an order-``order`` request succeed in ``zone`` on the fast path, without reclaim?

    Checks the low watermark the way ``get_page_from_freelist()`` does and then whether some
    free list (the request's type, or a fallback) holds a block of at least that order.
    """
    if not isinstance(zone, Zone):
        raise InvalidArgument(f"would_succeed({zone!r:.60}): accepted: a Zone (zone_from_buddyinfo(...))")
    order = zone._check_order(order)
    migratetype = parse_migratetype(migratetype)
    usable = zone.nr_free_pages - ((1 << order) - 1)
    if not zone_watermark_ok(zone, 0, zone.watermark["low"], 0, ALLOC_WMARK_LOW, free_pages=usable):
        return Verdict(False, f"zone {zone.name} is at or below its low watermark ({zone.watermark['low']} pages) "
                              f"for order {order}: the kernel would wake kswapd and try reclaim first")
    for current in range(order, zone.max_page_order + 1):
        if zone._area.nr_free[current]:
            kind = "its own" if not zone._area.is_empty(current, migratetype) else "a fallback"
            return Verdict(True, f"zone {zone.name} has a free order-{current} block on {kind} list "
                                 f"({MIGRATETYPE_NAMES[migratetype]} request)")
    return Verdict(False, zone.explain_failure(order, migratetype))
