"""Constants of include/linux/mmzone.h (Linux 6.18): migrate types and zone names.

Migrate types are numbered as the kernel numbers them with CONFIG_CMA and
CONFIG_MEMORY_ISOLATION on (as in distribution kernels), so the rows of
``/proc/pagetypeinfo`` come out in the kernel's order.
"""

from __future__ import annotations

import numbers

from ..errors import UnknownMigrateType

__all__ = [
    "MIGRATE_UNMOVABLE", "MIGRATE_MOVABLE", "MIGRATE_RECLAIMABLE", "MIGRATE_PCPTYPES",
    "MIGRATE_HIGHATOMIC", "MIGRATE_CMA", "MIGRATE_ISOLATE", "MIGRATE_TYPES",
    "MIGRATETYPE_NAMES", "MIGRATETYPE_BY_NAME", "ZONE_NAMES", "migratetype_is_mergeable", "parse_migratetype",
]

MIGRATE_UNMOVABLE = 0
MIGRATE_MOVABLE = 1
MIGRATE_RECLAIMABLE = 2
MIGRATE_PCPTYPES = 3
MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES
MIGRATE_CMA = 4
MIGRATE_ISOLATE = 5
MIGRATE_TYPES = 6

#: ``migratetype_names[]`` in mm/page_alloc.c, the row labels of /proc/pagetypeinfo.
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate")

#: ``zone_names[]`` in mm/page_alloc.c, in zone index order.
ZONE_NAMES = ("DMA", "DMA32", "Normal", "HighMem", "Movable")

#: Exact names to enum values: the fast path of :func:`parse_migratetype`.
MIGRATETYPE_BY_NAME = {name: index for index, name in enumerate(MIGRATETYPE_NAMES)}
_BY_NAME = {name.lower(): index for index, name in enumerate(MIGRATETYPE_NAMES)}
_BY_NAME.update({f"migrate_{name.lower()}": index for index, name in enumerate(MIGRATETYPE_NAMES)})


def migratetype_is_mergeable(migratetype: int) -> bool:
    """``migratetype_is_mergeable()``: only the types kept on per-cpu lists merge across types."""
    return parse_migratetype(migratetype) < MIGRATE_PCPTYPES


def parse_migratetype(value: int | str) -> int:
    """Accept ``"Movable"``, ``"MIGRATE_MOVABLE"`` (any case) or the enum value 0..5.

    >>> parse_migratetype("movable")
    1
    """
    exact = MIGRATETYPE_BY_NAME.get(value) if value.__class__ is str else None
    if exact is not None:
        return exact
    if value.__class__ is int and 0 <= value < MIGRATE_TYPES:
        return value
    if isinstance(value, bool):
        raise UnknownMigrateType(_unknown(value))
    if isinstance(value, numbers.Integral):
        if 0 <= value < MIGRATE_TYPES:
            return int(value)
        raise UnknownMigrateType(_unknown(value))
    if isinstance(value, str) and value.strip().lower() in _BY_NAME:
        return _BY_NAME[value.strip().lower()]
    raise UnknownMigrateType(_unknown(value))


def _unknown(value: object) -> str:
    names = ", ".join(MIGRATETYPE_NAMES)
    return (
        f"unknown migrate type {value!r}; accepted: {names} (or MIGRATE_<NAME>, or 0..{MIGRATE_TYPES - 1})"
    )
