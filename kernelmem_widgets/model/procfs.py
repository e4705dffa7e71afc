"""/proc files rendered byte for byte as mm/vmstat.c (Linux 6.18) prints them, and parsed back.

* ``/proc/buddyinfo`` — ``frag_show_print()``: ``"Node %d, zone %8s "`` then ``"%6lu "`` per
  order, one line per populated zone.
* ``/proc/pagetypeinfo`` — ``pagetypeinfo_show()``: pageblock order, free blocks per zone,
  migrate type and order (a list walk capped at 100000, printed ``>100000``), then pageblocks
  per migrate type.  No "mixed blocks" table (that needs CONFIG_PAGE_OWNER at run time).
* ``extfrag/extfrag_index`` of debugfs — ``"%2d.%03d "``; ``extfrag/unusable_index`` — ``"%d.%03d "``.
* ``/proc/slabinfo`` — implemented in :mod:`.slab.slabinfo` (chapter 2) and re-exported here.
* ``/proc/iomem`` — kernel/resource.c ``r_show()``, implemented in :mod:`.boot.iomem` (chapter 6):
  ``render_iomem(machine)`` for a machine booted from a firmware map, ``parse_iomem(text)``.
* ``/proc/meminfo`` — implemented in :mod:`.meminfo` (chapter 3) and re-exported here.
"""

from __future__ import annotations

import re
from .page_alloc.buddy import Zone
from .errors import InvalidArgument
from .page_alloc.mmzone import MIGRATE_CMA, MIGRATE_TYPES, MIGRATETYPE_NAMES
from .meminfo import render_meminfo
from .slab.slabinfo import parse_slabinfo, render_slabinfo
from .page_alloc.vmstat import format_index, fragmentation_index, unusable_free_index
from .boot.iomem import parse_iomem
from .boot.iomem import render_iomem as _render_iomem_tree

__all__ = ["render_buddyinfo", "parse_buddyinfo", "render_pagetypeinfo", "parse_pagetypeinfo",
           "render_extfrag_index", "pagetypeinfo_migratetypes", "render_unusable_index", "render_slabinfo",
           "parse_slabinfo", "PAGETYPEINFO_CAP", "render_iomem", "parse_iomem", "render_meminfo"]

PAGETYPEINFO_CAP = 100000


def _zones(source) -> list[Zone]:
    zones = source.zones if hasattr(source, "zones") else list(source) if isinstance(source, (list, tuple)) else [source]
    return [zone for zone in zones if zone.populated]


def render_buddyinfo(source) -> str:
    """``/proc/buddyinfo`` of a machine, a zone, or a list of zones.

    >>> render_buddyinfo(Zone("Normal", 0, 4096))
    'Node 0, zone   Normal      0      0      0      0      0      0      0      0      0      0      4 \\n'
    """
    lines = []
    for zone in _zones(source):
        counts = "".join(f"{zone._area.nr_free[order]:6d} " for order in range(zone.max_page_order + 1))
        lines.append(f"Node {zone.node}, zone {zone.name:>8} {counts}\n")
    return "".join(lines)


_BUDDY_LINE = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)\s+((?:\d+\s*)+)$")


def parse_buddyinfo(text: str) -> dict[tuple[int, str], list[int]]:
    """``{(node, zone_name): [nr_free for each order]}`` from /proc/buddyinfo text."""
    result: dict[tuple[int, str], list[int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _BUDDY_LINE.match(line.strip())
        if match is None:
            raise InvalidArgument(
                f"line {number} of buddyinfo is not 'Node N, zone NAME count count ...': {line!r}")
        node, zone, counts = match.groups()
        result[(int(node), zone)] = [int(value) for value in counts.split()]
    return result


def _free_cell(zone: Zone, order: int, migratetype: int) -> str:
    count = zone._area.count(order, migratetype)
    if count >= PAGETYPEINFO_CAP:
        return f">{PAGETYPEINFO_CAP:6d} "
    return f"{count:6d} "


def pagetypeinfo_migratetypes(config_cma: bool) -> list[int]:
    """The migrate types /proc/pagetypeinfo prints (``MIGRATE_TYPES`` of include/linux/mmzone.h,
    6.18): MIGRATE_CMA only with CONFIG_CMA; MIGRATE_ISOLATE with CONFIG_MEMORY_ISOLATION, which
    every preset here has (memory hotplug selects it)."""
    return [mt for mt in range(MIGRATE_TYPES) if config_cma or mt != MIGRATE_CMA]


def _config_cma(source, config_cma: bool | None) -> bool:
    if config_cma is not None:
        return bool(config_cma)
    config = getattr(source, "config", None)
    return bool(getattr(config, "config_cma", False))


def _pageblock_counts(zone: Zone) -> list[int]:
    counts = [0] * MIGRATE_TYPES
    first = zone.start_pfn - zone._base
    for slot in range(first, zone.end_pfn - zone._base, zone.pageblock_nr_pages):
        counts[zone._pb_mt[slot >> zone.pageblock_order]] += 1
    return counts


def render_pagetypeinfo(source, *, config_cma: bool | None = None) -> str:
    """``/proc/pagetypeinfo`` (mode 0400 on a real machine) for node 0.

    The rows and columns follow the kernel's configuration: a machine's preset decides
    (``config_cma``); a bare zone or list of zones prints as the reference 6.18 machine does,
    without a CMA row, unless ``config_cma`` says otherwise.
    """
    types = pagetypeinfo_migratetypes(_config_cma(source, config_cma))
    zones = _zones(source)
    if not zones:
        return ""
    first = zones[0]
    nr_orders = first.max_page_order + 1
    out = [f"Page block order: {first.pageblock_order}\n", f"Pages per block:  {first.pageblock_nr_pages}\n", "\n"]
    out.append(f"{'Free pages count per migrate type at order':<43} "
               + "".join(f"{order:6d} " for order in range(nr_orders)) + "\n")
    for zone in zones:
        for migratetype in types:
            cells = "".join(_free_cell(zone, order, migratetype) for order in range(nr_orders))
            out.append(f"Node {zone.node:4d}, zone {zone.name:>8}, type {MIGRATETYPE_NAMES[migratetype]:>12} {cells}\n")
    out.append(f"\n{'Number of blocks type ':<23}" + "".join(f"{MIGRATETYPE_NAMES[mt]:>12} " for mt in types) + "\n")
    for zone in zones:
        all_counts = _pageblock_counts(zone)
        counts = "".join(f"{all_counts[mt]:12d} " for mt in types)
        out.append(f"Node {zone.node}, zone {zone.name:>8} {counts}\n")
    return "".join(out)


_FREE_ROW = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+),\s+type\s+(\S+)\s+(.*)$")
_BLOCK_ROW = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)\s+([\d\s]+)$")


def parse_pagetypeinfo(text: str) -> dict:
    """Parse /proc/pagetypeinfo.

    Returns ``{"pageblock_order": int, "pages_per_block": int,
    "free": {(node, zone, type): [count per order]}, "blocks": {(node, zone): {type: count}}}``.
    A capped cell (``>100000``) is returned as 100000.
    """
    result: dict = {"pageblock_order": None, "pages_per_block": None, "free": {}, "blocks": {}}
    block_types: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Page block order:"):
            result["pageblock_order"] = int(stripped.split(":")[1])
        elif stripped.startswith("Pages per block:"):
            result["pages_per_block"] = int(stripped.split(":")[1])
        elif stripped.startswith("Number of blocks type"):
            block_types = stripped[len("Number of blocks type"):].split()
        elif (match := _FREE_ROW.match(stripped)) is not None:
            node, zone, mtype, cells = match.groups()
            result["free"][(int(node), zone, mtype)] = [int(cell.lstrip(">")) for cell in cells.split()]
        elif block_types and (match := _BLOCK_ROW.match(stripped)) is not None:
            node, zone, cells = match.groups()
            result["blocks"][(int(node), zone)] = dict(zip(block_types, (int(c) for c in cells.split())))
    if result["pageblock_order"] is None:
        raise InvalidArgument("not /proc/pagetypeinfo text: no 'Page block order:' line")
    return result


def _index_file(source, index_function, width: int = 0) -> str:
    lines = []
    for zone in _zones(source):
        nr_free = zone._area.nr_free
        cells = "".join(f"{format_index(index_function(nr_free, order), width)} " for order in range(len(nr_free)))
        lines.append(f"Node {zone.node}, zone {zone.name:>8} {cells}\n")
    return "".join(lines)


def render_extfrag_index(source) -> str:
    """debugfs ``extfrag/extfrag_index``: the fragmentation index of every order, ``"%2d.%03d "``
    (``extfrag_show_print()``)."""
    return _index_file(source, fragmentation_index, 2)


def render_unusable_index(source) -> str:
    """debugfs ``extfrag/unusable_index``: the unusable free space index of every order."""
    return _index_file(source, unusable_free_index)


def render_iomem(source, *, privileged: bool = True) -> str:
    """``/proc/iomem`` of a machine booted from a firmware map (or of a resource tree).

    ``privileged=False`` shows what a reader without CAP_SYS_ADMIN sees: every address zero.
    """
    root = source.iomem if hasattr(source, "iomem") else source
    return _render_iomem_tree(root, privileged=privileged)
