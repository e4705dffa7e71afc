"""GFP flags: which zones an allocation may use and which migrate type it gets.

Follows include/linux/gfp_types.h and include/linux/gfp.h of Linux 6.18: ``gfp_zone()`` (the
GFP_ZONE_TABLE), ``gfp_migratetype()`` and the composite flags.  A gfp value here is a
``frozenset`` of the base ``__GFP_*`` names; :func:`parse_gfp` reads strings such as
``"GFP_KERNEL | __GFP_ZERO"``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from ..errors import UnknownGfpFlag
from .mmzone import MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE

__all__ = ["BASE_FLAGS", "COMPOSITE_FLAGS", "GFP_BITS", "Gfp", "parse_gfp", "gfp_zone", "gfp_migratetype", "gfp_name",
           "gfp_mask_value"]

Gfp = frozenset

#: The ``__GFP_*`` bits of gfp_types.h that the model knows about.
BASE_FLAGS = (
    "__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE", "__GFP_RECLAIMABLE",
    "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_ZERO", "__GFP_DIRECT_RECLAIM",
    "__GFP_KSWAPD_RECLAIM", "__GFP_WRITE", "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL",
    "__GFP_NORETRY", "__GFP_MEMALLOC", "__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_HARDWALL",
    "__GFP_THISNODE", "__GFP_ACCOUNT", "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN",
    "__GFP_NOLOCKDEP",
)

_RECLAIM = ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM")
_KERNEL = _RECLAIM + ("__GFP_IO", "__GFP_FS")
_USER = _KERNEL + ("__GFP_HARDWALL",)

#: Composite flags as gfp_types.h defines them (Linux 6.18), in the order ``gfp_name`` tries them.
COMPOSITE_FLAGS: dict[str, frozenset[str]] = {
    "GFP_HIGHUSER_MOVABLE": frozenset(_USER + ("__GFP_HIGHMEM", "__GFP_MOVABLE", "__GFP_SKIP_KASAN")),
    "GFP_HIGHUSER": frozenset(_USER + ("__GFP_HIGHMEM",)),
    "GFP_USER": frozenset(_USER),
    "GFP_KERNEL_ACCOUNT": frozenset(_KERNEL + ("__GFP_ACCOUNT",)),
    "GFP_KERNEL": frozenset(_KERNEL),
    "GFP_NOFS": frozenset(_RECLAIM + ("__GFP_IO",)),
    "GFP_NOIO": frozenset(_RECLAIM),
    "GFP_ATOMIC": frozenset(("__GFP_HIGH", "__GFP_KSWAPD_RECLAIM")),
    "GFP_NOWAIT": frozenset(("__GFP_KSWAPD_RECLAIM", "__GFP_NOWARN")),
    "GFP_DMA32": frozenset(("__GFP_DMA32",)),
    "GFP_DMA": frozenset(("__GFP_DMA",)),
    "__GFP_RECLAIM": frozenset(_RECLAIM),
}

_ZONE_BITS = ("__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE")
#: GFP_ZONE_TABLE of include/linux/gfp.h: zone bits -> highest zone the allocation may use.
_GFP_ZONE_TABLE = {
    frozenset(): "Normal",
    frozenset({"__GFP_DMA"}): "DMA",
    frozenset({"__GFP_HIGHMEM"}): "HighMem",
    frozenset({"__GFP_DMA32"}): "DMA32",
    frozenset({"__GFP_MOVABLE"}): "Normal",
    frozenset({"__GFP_MOVABLE", "__GFP_DMA"}): "DMA",
    frozenset({"__GFP_MOVABLE", "__GFP_HIGHMEM"}): "Movable",
    frozenset({"__GFP_MOVABLE", "__GFP_DMA32"}): "DMA32",
}


def _accepted() -> str:
    return (
        "accepted: " + ", ".join(COMPOSITE_FLAGS) + " and the __GFP_* bits "
        + ", ".join(BASE_FLAGS) + ", joined with '|'"
    )


def parse_gfp(value: str | Iterable[str]) -> Gfp:
    """Turn ``"GFP_KERNEL | __GFP_ZERO"`` (or an iterable of names) into a set of base flags.

    A string is names joined by ``|``, each one a composite (``GFP_KERNEL``) or a base bit
    (``__GFP_ZERO``); ``"0"`` alone is the empty mask.  Empty names (``"|"``, ``"GFP_KERNEL|"``),
    a ``0`` among other names, an empty list and anything that is neither text nor an iterable
    of names raise :class:`UnknownGfpFlag`.

    >>> sorted(parse_gfp("GFP_DMA32"))
    ['__GFP_DMA32']
    """
    if isinstance(value, frozenset) and value <= _BASE_SET:
        return value
    if isinstance(value, str):
        if len(value) > _MAX_MASK_TEXT:
            raise UnknownGfpFlag(f"GFP mask of {len(value):,} characters (at most {_MAX_MASK_TEXT}); {_accepted()}")
        return _parse_text(value)
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(name, str) for name in value):
        if not value:
            raise UnknownGfpFlag(f"empty list of GFP flags; give '0' for no flags, or {_accepted()}")
        if len(value) > 64:
            raise UnknownGfpFlag(f"{len(value)} GFP flag names (at most 64); {_accepted()}")
        return _parse_names([name.strip() for name in value], "|".join(map(str, value)))
    raise UnknownGfpFlag(f"a GFP mask is text such as 'GFP_KERNEL' (or a list of flag names), not "
                         f"{type(value).__name__} {value!r:.40}; {_accepted()}")


_BASE_SET = frozenset(BASE_FLAGS)
_MAX_MASK_TEXT = 1000


@lru_cache(maxsize=256)
def _parse_text(value: str) -> Gfp:
    names = [name.strip() for name in value.split("|")]
    if names == ["0"]:
        return frozenset()
    return _parse_names(names, value)


def _parse_names(names: list[str], text: str) -> Gfp:
    flags: set[str] = set()
    for name in names:
        if name in COMPOSITE_FLAGS:
            flags |= COMPOSITE_FLAGS[name]
        elif name in _BASE_SET:
            flags.add(name)
        elif name == "":
            raise UnknownGfpFlag(f"GFP mask {text[:80]!r} has an empty flag name (a stray '|'); {_accepted()}")
        elif name == "0":
            raise UnknownGfpFlag(f"GFP mask {text[:80]!r}: '0' means no flags and stands alone; {_accepted()}")
        else:
            raise UnknownGfpFlag(f"unknown GFP flag {name[:60]!r}; {_accepted()}")
    return frozenset(flags)


def gfp_zone(gfp: Gfp) -> str:
    """``gfp_zone()``: the name of the highest zone this mask may allocate from.

    Combinations the table marks GFP_ZONE_BAD (for example ``__GFP_DMA | __GFP_DMA32``) raise.
    """
    gfp = parse_gfp(gfp)
    bits = frozenset(flag for flag in _ZONE_BITS if flag in gfp)
    if bits not in _GFP_ZONE_TABLE:
        raise UnknownGfpFlag(
            f"GFP zone modifiers {' | '.join(sorted(bits))} cannot be combined (GFP_ZONE_BAD in "
            "include/linux/gfp.h); use at most one of __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM, "
            "optionally with __GFP_MOVABLE"
        )
    return _GFP_ZONE_TABLE[bits]


def gfp_migratetype(gfp: Gfp) -> int:
    """``gfp_migratetype()``: __GFP_MOVABLE -> Movable, __GFP_RECLAIMABLE -> Reclaimable."""
    gfp = parse_gfp(gfp)
    if "__GFP_MOVABLE" in gfp:
        return MIGRATE_MOVABLE
    if "__GFP_RECLAIMABLE" in gfp:
        return MIGRATE_RECLAIMABLE
    return MIGRATE_UNMOVABLE


def gfp_name(gfp: Gfp) -> str:
    """Spell a mask the way the kernel's ``%pGg`` does: composite names first, then bits."""
    gfp = parse_gfp(gfp)
    remaining = set(gfp)
    parts: list[str] = []
    for name, flags in COMPOSITE_FLAGS.items():
        if name.startswith("__"):
            continue
        if flags and flags <= remaining:
            parts.append(name)
            remaining -= flags
    parts.extend(flag for flag in BASE_FLAGS if flag in remaining)
    return "|".join(parts) if parts else "0"


#: The values of the ``__GFP_*`` bits: ``enum { ___GFP_DMA_BIT, ... }`` of include/linux/gfp_types.h
#: (Linux 6.18), bit 9 unused; __GFP_SKIP_ZERO and __GFP_SKIP_KASAN are 0 without
#: CONFIG_KASAN_HW_TAGS and __GFP_NOLOCKDEP 0 without CONFIG_LOCKDEP (an x86-64 distribution kernel).
GFP_BITS: dict[str, int] = {
    "__GFP_DMA": 0x01, "__GFP_HIGHMEM": 0x02, "__GFP_DMA32": 0x04, "__GFP_MOVABLE": 0x08,
    "__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80, "__GFP_ZERO": 0x100,
    "__GFP_DIRECT_RECLAIM": 0x400, "__GFP_KSWAPD_RECLAIM": 0x800, "__GFP_WRITE": 0x1000,
    "__GFP_NOWARN": 0x2000, "__GFP_RETRY_MAYFAIL": 0x4000, "__GFP_NOFAIL": 0x8000, "__GFP_NORETRY": 0x10000,
    "__GFP_MEMALLOC": 0x20000, "__GFP_COMP": 0x40000, "__GFP_NOMEMALLOC": 0x80000, "__GFP_HARDWALL": 0x100000,
    "__GFP_THISNODE": 0x200000, "__GFP_ACCOUNT": 0x400000, "__GFP_ZEROTAGS": 0x800000,
    "__GFP_SKIP_ZERO": 0, "__GFP_SKIP_KASAN": 0, "__GFP_NOLOCKDEP": 0,
}


def gfp_mask_value(gfp) -> int:
    """The ``gfp_t`` a mask is in C, as ``warn_alloc()``'s ``mode:%#x`` prints it (gfp_types.h, Linux 6.18).

    >>> hex(gfp_mask_value("GFP_KERNEL")), hex(gfp_mask_value("GFP_HIGHUSER_MOVABLE"))
    ('0xcc0', '0x100cca')
    """
    return sum(GFP_BITS[flag] for flag in parse_gfp(gfp))
