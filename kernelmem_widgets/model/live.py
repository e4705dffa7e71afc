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

from .page_alloc.buddy import ALLOC_WMARK_LOW, Zone
from .errors import KernelMemError
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


_ZONE_HEADER = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)")
_WMARK = re.compile(r"^\s+(min|low|high|promo)\s+(\d+)\s*$")


def read_zoneinfo_watermarks(path: str = "/proc/zoneinfo") -> dict[tuple[int, str], dict[str, int]]:
    """``{(node, zone): {"min": pages, "low": ..., "high": ...}}`` from /proc/zoneinfo."""
    result: dict[tuple[int, str], dict[str, int]] = {}
    current = None
    for line in read_proc(path).splitlines():
        header = _ZONE_HEADER.match(line)
        if header:
            current = (int(header.group(1)), header.group(2))
            result[current] = {}
            continue
        mark = _WMARK.match(line)
        if mark and current is not None and mark.group(1) not in result[current]:
            result[current][mark.group(1)] = int(mark.group(2))
    return result


def zone_from_buddyinfo(name: str, counts: list[int], *, free_by_type: dict[str, list[int]] | None = None,
                        pageblock_order: int = 9, node: int = 0) -> Zone:
    """A model zone whose free lists hold ``counts[order]`` blocks of each order.

    ``free_by_type`` (``{"Movable": [per order], ...}`` from pagetypeinfo) puts them on the
    right migrate-type lists; without it every block is on the Movable lists, where most free
    memory of a running machine sits.
    """
    max_page_order = len(counts) - 1
    by_type = free_by_type or {"Movable": list(counts)}
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
    zone.managed_pages = zone.spanned_pages
    return zone


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
    zone._check_order(order)
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
