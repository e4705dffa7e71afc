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

from .page_alloc.buddy import Zone
from .errors import InvalidArgument
from .validate import as_text, parse_count
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
    if not all(isinstance(zone, Zone) for zone in zones):
        raise InvalidArgument(f"{source!r:.60}: accepted: a Machine, a Zone, or a list of Zones")
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


def _text(text, what: str) -> str:
    return as_text(text, what, f"the text of {what} (str, e.g. Path('{what}').read_text())")


def _node_zone(tokens: list[str], number: int, what: str, zone_comma: bool) -> tuple[int, str]:
    """``Node N, zone NAME`` (``NAME,`` when ``zone_comma``) from the first four tokens of a line."""
    if len(tokens) < 4 or tokens[0] != "Node" or not tokens[1].endswith(",") or tokens[2] != "zone":
        raise InvalidArgument(f"line {number} of {what} does not start with 'Node N, zone NAME'")
    node = parse_count(tokens[1][:-1], f"line {number} of {what}, node")
    name = tokens[3]
    if zone_comma:
        if not name.endswith(","):
            raise InvalidArgument(f"line {number} of {what}: zone name {name[:40]!r} must end with ','")
        name = name[:-1]
    if not name.isascii() or not name.isidentifier() or len(name) > 16:
        raise InvalidArgument(f"line {number} of {what}: {name[:40]!r} is not a zone name")
    return node, name


_MAX_ORDERS = 21


def parse_buddyinfo(text: str) -> dict[tuple[int, str], list[int]]:
    """``{(node, zone_name): [nr_free for each order]}`` from /proc/buddyinfo text.

    Reads each line as whitespace-separated tokens (linear time on any input): ``Node N, zone
    NAME`` and then one decimal count per order (1 to 21 of them, the same number on every
    line).  Anything else raises :class:`InvalidArgument` naming the line.
    """
    text = _text(text, "/proc/buddyinfo")
    result: dict[tuple[int, str], list[int]] = {}
    width = None
    for number, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        node, zone = _node_zone(tokens, number, "buddyinfo", False)
        counts = [parse_count(token, f"line {number} of buddyinfo") for token in tokens[4:]]
        if not 1 <= len(counts) <= _MAX_ORDERS or (width is not None and len(counts) != width):
            raise InvalidArgument(f"line {number} of buddyinfo has {len(counts)} counts; accepted: one per order, "
                                  f"1..{_MAX_ORDERS}, the same on every line" + (f" ({width})" if width else ""))
        if (node, zone) in result:
            raise InvalidArgument(f"line {number} of buddyinfo repeats node {node}, zone {zone}")
        width = len(counts)
        result[(node, zone)] = counts
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


#: Migrate type names a pagetypeinfo may show: Linux 6.18's, and "Reserve" (MIGRATE_RESERVE, before 4.4)
_KNOWN_TYPES = frozenset(MIGRATETYPE_NAMES) | {"Reserve"}


def _header_number(stripped: str, number: int) -> int:
    return parse_count(stripped.split(":", 1)[1].strip(), f"line {number} of pagetypeinfo")


def _type_name(name: str, number: int) -> str:
    if name not in _KNOWN_TYPES:
        raise InvalidArgument(f"line {number} of pagetypeinfo: unknown migrate type {name[:40]!r}; accepted: "
                              + ", ".join(sorted(_KNOWN_TYPES)))
    return name


def parse_pagetypeinfo(text: str) -> dict:
    """Parse /proc/pagetypeinfo.

    Returns ``{"pageblock_order": int, "pages_per_block": int,
    "free": {(node, zone, type): [count per order]}, "blocks": {(node, zone): {type: count}}}``.
    A capped cell (``>100000``) is returned as 100000.  The "Number of mixed blocks" table of
    CONFIG_PAGE_OWNER kernels is read and checked but not returned.  Lines are read as tokens,
    in linear time; anything that is not one of the file's rows raises :class:`InvalidArgument`.
    """
    text = _text(text, "/proc/pagetypeinfo")
    result: dict = {"pageblock_order": None, "pages_per_block": None, "free": {}, "blocks": {}}
    block_types: list[str] = []
    section = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        tokens = stripped.split()
        if not tokens:
            continue
        if stripped.startswith("Page block order:"):
            result["pageblock_order"] = _header_number(stripped, number)
        elif result["pageblock_order"] is None:
            break  # the file's first line is this header: anything else is not pagetypeinfo
        elif stripped.startswith("Pages per block:"):
            result["pages_per_block"] = _header_number(stripped, number)
        elif stripped.startswith("Free pages count per migrate type at order"):
            section = "free"
        elif stripped.startswith("Number of blocks type") or stripped.startswith("Number of mixed blocks"):
            section = "blocks" if tokens[2] == "blocks" else "mixed"
            block_types = [_type_name(name, number) for name in tokens[4:]]
        elif section == "free" and len(tokens) > 6 and tokens[4] == "type":
            node, zone = _node_zone(tokens, number, "pagetypeinfo", True)
            cells = [parse_count(cell[1:] if cell.startswith(">") else cell, f"line {number} of pagetypeinfo")
                     for cell in tokens[6:]]
            if len(cells) > _MAX_ORDERS:
                raise InvalidArgument(f"line {number} of pagetypeinfo has {len(cells)} orders (at most {_MAX_ORDERS})")
            result["free"][(node, zone, _type_name(tokens[5], number))] = cells
        elif section in ("blocks", "mixed"):
            node, zone = _node_zone(tokens, number, "pagetypeinfo", False)
            cells = [parse_count(cell, f"line {number} of pagetypeinfo") for cell in tokens[4:]]
            if len(cells) != len(block_types):
                raise InvalidArgument(f"line {number} of pagetypeinfo has {len(cells)} block counts for "
                                      f"{len(block_types)} migrate types")
            if section == "blocks":
                result["blocks"][(node, zone)] = dict(zip(block_types, cells))
        else:
            shown = stripped if len(stripped) <= 60 else stripped[:60] + "..."
            raise InvalidArgument(f"line {number} of pagetypeinfo is not a pagetypeinfo row: {shown!r}")
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
    from .boot.iomem import Resource

    if not isinstance(privileged, bool):
        raise InvalidArgument(f"privileged {privileged!r:.40}: accepted: True (root) or False (a user)")
    root = source.iomem if hasattr(type(source), "iomem") else source
    if not isinstance(root, Resource):
        raise InvalidArgument(f"{source!r:.60}: accepted: a Machine booted from a firmware map, or its iomem tree")
    return _render_iomem_tree(root, privileged=privileged)
