"""Colours and labels shared by every view and lab, so a Movable page looks the same everywhere.

The migrate-type colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design"),
chosen to stay distinguishable with the common forms of colour blindness.  A free page is a
light tint of its free list's colour, an allocated page the full colour, so the two never
depend on hue alone.  Orders use cividis, a ramp designed to read the same for colour-blind
readers and in greyscale.

Examples
--------
>>> migratetype_color("Movable")
'#0072B2'
>>> order_label(3)
'order 3 (32 KiB)'
>>> hex_to_rgb("#0072B2")
(0, 114, 178)
"""

from __future__ import annotations

import numpy as np

from ..model.page_alloc.mmzone import MIGRATE_TYPES, MIGRATETYPE_NAMES, parse_migratetype
from ..model.page_alloc.snapshot import PAGE_ALLOCATED, PAGE_FREE, PAGE_RESERVED
from ..model.units import format_size

__all__ = [
    "MIGRATETYPE_COLORS", "MIGRATETYPE_LABELS", "STATE_LABELS", "FREE_COLOR", "RESERVED_COLOR", "OUTSIDE_COLOR",
    "OUTLINE_COLOR", "HIGHLIGHT_COLOR", "ERROR_COLOR", "SUCCEEDS_COLOR", "LACK_OF_MEMORY_COLOR",
    "FRAGMENTED_COLOR", "FREE_TINT", "migratetype_color", "free_color", "order_colors", "order_label",
    "size_label", "hex_to_rgb", "page_color_table", "legend_html",
]

#: One colour per migrate type, in ``MIGRATETYPE_NAMES`` order (the rows of /proc/pagetypeinfo).
MIGRATETYPE_COLORS: dict[str, str] = {
    "Unmovable": "#D55E00",    # vermillion: the pages that pin a pageblock
    "Movable": "#0072B2",      # blue
    "Reclaimable": "#E69F00",  # orange
    "HighAtomic": "#CC79A7",   # reddish purple
    "CMA": "#56B4E9",          # sky blue: movable pages in a reserved area
    "Isolate": "#F0E442",      # yellow
}
MIGRATETYPE_LABELS: tuple[str, ...] = MIGRATETYPE_NAMES

#: Page states of :func:`~kernelmem_widgets.model.page_alloc.snapshot.page_states`, by code.
STATE_LABELS: dict[int, str] = {PAGE_RESERVED: "reserved", PAGE_FREE: "free", PAGE_ALLOCATED: "allocated"}

FREE_COLOR = "#E4E4E4"            # a free page whose list is not shown (the downsampled map)
RESERVED_COLOR = "#4D4D4D"        # memblock-reserved: never given to the buddy allocator
OUTSIDE_COLOR = "#FFFFFF"         # grid cells past the zone's ends
OUTLINE_COLOR = "#3A3A3A"
HIGHLIGHT_COLOR = "#000000"
ERROR_COLOR = "#B24700"           # a darker vermillion that keeps contrast on white
SUCCEEDS_COLOR = "#009E73"        # fragmentation index -1000: the order would succeed
LACK_OF_MEMORY_COLOR = "#BBBBBB"  # index near 0: a failure would be for lack of memory
FRAGMENTED_COLOR = "#D55E00"      # index near 1000: a failure would be for fragmentation

#: How much of the type's colour a free page keeps (the rest is white).
FREE_TINT = 0.4

_CIVIDIS = ("#00224E", "#414D6B", "#7C7B78", "#BCAF6F", "#FEE838")


def migratetype_color(migratetype: int | str) -> str:
    """The colour of a migrate type given by name or number."""
    return MIGRATETYPE_COLORS[MIGRATETYPE_NAMES[parse_migratetype(migratetype)]]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#0072B2"`` -> ``(0, 114, 178)``."""
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _rgb_to_hex(rgb) -> str:
    return "#" + "".join(f"{int(round(channel)):02X}" for channel in rgb)


def free_color(migratetype: int | str) -> str:
    """A free page on this type's list: the type's colour mixed with white."""
    rgb = np.array(hex_to_rgb(migratetype_color(migratetype)), dtype=float)
    return _rgb_to_hex(FREE_TINT * rgb + (1 - FREE_TINT) * 255)


def order_colors(max_order: int = 10) -> list[str]:
    """One colour per order 0..max_order along the cividis ramp (dark = small, yellow = large)."""
    anchors = np.array([hex_to_rgb(color) for color in _CIVIDIS], dtype=float)
    positions = np.linspace(0, 1, len(anchors))
    samples = np.linspace(0, 1, max_order + 1)
    channels = [np.interp(samples, positions, anchors[:, channel]) for channel in range(3)]
    return [_rgb_to_hex(rgb) for rgb in zip(*channels)]


def size_label(nbytes: int) -> str:
    """``32 KiB``: a block size as people read it."""
    return format_size(nbytes)


def order_label(order: int, page_size: int = 4096) -> str:
    """``order 3 (32 KiB)``."""
    return f"order {order} ({size_label(page_size << order)})"


def page_color_table() -> np.ndarray:
    """RGB (uint8) by ``[page state, migrate type]``: what a cell of the page map shows."""
    table = np.zeros((3, MIGRATE_TYPES, 3), dtype=np.uint8)
    table[PAGE_RESERVED, :] = hex_to_rgb(RESERVED_COLOR)
    for migratetype in range(MIGRATE_TYPES):
        table[PAGE_FREE, migratetype] = hex_to_rgb(free_color(migratetype))
        table[PAGE_ALLOCATED, migratetype] = hex_to_rgb(migratetype_color(migratetype))
    return table


def legend_html(entries: list[tuple[str, str]], *, border: str = OUTLINE_COLOR) -> str:
    """A row of colour swatches with their labels, for views that have no bqplot legend."""
    swatches = "".join(
        f"<span style='display:inline-block;margin-right:10px;white-space:nowrap'>"
        f"<span style='display:inline-block;width:11px;height:11px;background:{color};"
        f"border:1px solid {border};vertical-align:middle;margin-right:3px'></span>{label}</span>"
        for label, color in entries
    )
    return f"<div style='font-size:11px;line-height:1.6'>{swatches}</div>"


# --- chapter 6: the physical map (e820 types, zones, memblock) and ioremap cache modes -----------------
#: One colour per e820 type as /proc/iomem names it (Okabe-Ito where a type is common).
E820_COLORS: dict[str, str] = {
    "usable": "#009E73",          # bluish green: RAM the kernel may use
    "reserved": "#4D4D4D",        # firmware-reserved (the same grey as memblock-reserved pages)
    "ACPI data": "#E69F00",       # orange: tables, reclaimable after boot
    "ACPI NVS": "#D55E00",        # vermillion: must be kept across suspend
    "unusable": "#000000",
    "persistent": "#CC79A7",      # reddish purple: memmap=nn!ss, type 12
    "other": "#F0E442",
}
HOLE_COLOR = "#FFFFFF"            # no entry at all: the PCI hole, what mem= hid
MEMBLOCK_FREE_COLOR = "#56B4E9"   # handed to the buddy allocator by memblock_free_all()
ZONE_COLORS: dict[str, str] = {"DMA": "#E69F00", "DMA32": "#56B4E9", "Normal": "#0072B2", "HighMem": "#CC79A7",
                               "Movable": "#009E73"}
#: ioremap cache modes: uncached in warm colours (every access goes out), cached in cool ones
CACHE_MODE_COLORS: dict[str, str] = {"UC-": "#D55E00", "UC": "#B24700", "WC": "#E69F00", "WT": "#56B4E9",
                                     "WB": "#0072B2"}
VMALLOC_AREA_COLOR = "#999999"


def e820_color(type_: int) -> str:
    """The colour of an e820 entry type (1 usable, 2 reserved, 3 ACPI data, 4 NVS, 5 unusable, 7/12 persistent)."""
    name = {1: "usable", 2: "reserved", 3: "ACPI data", 4: "ACPI NVS", 5: "unusable", 7: "persistent",
            12: "persistent", 128: "usable"}.get(type_, "other")
    return E820_COLORS[name]


#: Chapter 7 (RTOS allocators): what a byte of the simulated RAM is, by
#: :data:`~kernelmem_widgets.model.rtos.REGION_KINDS` name.  Corruption is red and also said in words.
RTOS_KIND_COLORS: dict[str, str] = {
    "outside": OUTSIDE_COLOR,
    "control": RESERVED_COLOR,   # OS_MEM control blocks, TLSF's control_t
    "header": "#E69F00",         # header words: the wrapper's partition pointer, a chunk's size
    "used": "#0072B2",           # bytes the caller asked for
    "waste": "#56B4E9",          # reserved but not asked for: rounding up to a block or chunk
    "free": FREE_COLOR,
    "link": "#009E73",           # the free-list link word inside a free block
    "corrupt": "#D00000",        # a free list that links foreign, misaligned or doubly-put memory
}
RTOS_KIND_LABELS: dict[str, str] = {
    "outside": "not this allocator's", "control": "control structure", "header": "header word",
    "used": "requested bytes", "waste": "internal waste", "free": "free", "link": "free-list link",
    "corrupt": "corrupted free list",
}
__all__ += ["RTOS_KIND_COLORS", "RTOS_KIND_LABELS"]

#: Chapter 4 (highmem): the regions of a kernel's virtual address space (model.highmem Layout)
ADDRESS_REGION_COLORS: dict[str, str] = {
    "user": "#E4E4E4",        # below PAGE_OFFSET: user space
    "direct map": "#0072B2",  # PAGE_OFFSET..high_memory: lowmem, mapped once at boot
    "hole": "#FFFFFF",        # the 8 MiB VMALLOC_OFFSET guard hole and the gaps between areas
    "vmalloc": "#999999",
    "pkmap": "#CC79A7",       # LAST_PKMAP pages of persistent kmaps
    "cpu_entry": "#F0E442",   # cpu_entry_area (4.15+) and the LDT remap
    "fixmap": "#D55E00",      # compile-time fixed addresses, kmap_local/kmap_atomic slots among them
}
#: Chapter 4: a pkmap slot by pkmap_count (mm/highmem.c): 0 free, 1 mapped but not flushed, >= 2 in use
PKMAP_COUNT_COLORS: dict[str, str] = {"free": FREE_COLOR, "unflushed": "#F0E442", "in use": "#CC79A7"}
KMAP_LINE_COLOR = "#000000"
__all__ += ["ADDRESS_REGION_COLORS", "PKMAP_COUNT_COLORS", "KMAP_LINE_COLOR"]

# --- chapter 5: CMA areas, cma_alloc() buffers, migrations, SG segments ---------------------------------
#: A free page in a MIGRATE_CMA pageblock: the CMA colour's light tint (as every free page)
CMA_FREE_COLOR = free_color("CMA")
#: Pages a cma_alloc() / dma_alloc_coherent() buffer holds: a dark blue-green, never a migrate type's colour
CMA_BUFFER_COLOR = "#00546E"
#: Where migrated pages went (the line from old to new place)
MIGRATION_COLOR = "#009E73"
#: SG segments: one colour for the segments, one for the runs a route took contiguously
SG_SEGMENT_COLOR = "#0072B2"
ROUTE_OK_COLOR = "#009E73"
ROUTE_FAIL_COLOR = "#B24700"
__all__ += ["CMA_FREE_COLOR", "CMA_BUFFER_COLOR", "MIGRATION_COLOR", "SG_SEGMENT_COLOR", "ROUTE_OK_COLOR",
            "ROUTE_FAIL_COLOR"]
