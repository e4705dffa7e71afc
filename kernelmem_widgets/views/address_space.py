"""The kernel's virtual address space beside physical memory: the 896 MiB line made visible.

Three columns on one MiB scale, drawn as one image (:func:`address_space_image`):

* **virtual**, 0 to 4 GiB (32-bit): user space, the direct map (PAGE_OFFSET to high_memory), the
  8 MiB hole, the vmalloc area, the pkmap window, the cpu_entry_area, the fixmap, as
  ``model.highmem.Layout`` computed them (arch/x86/mm/init_32.c);
* **physical**: the zones DMA, Normal, HighMem of the machine's page allocator;
* **zoom**: the top of the virtual space (pkmap, cpu_entry, fixmap: a few MiB each, less than a
  pixel at full scale), stretched to the full height.

Lines: the direct map as one straight correspondence (PAGE_OFFSET to pfn 0, high_memory to
max_low_pfn), and one line from every mapped pkmap slot and kmap_local/kmap_atomic fixmap slot
to its page.  On x86-64 the virtual column is the direct map of all RAM (the window is 64 TiB;
RAM fills a sliver of it) and there is no zoom column: ``kmap()`` is ``page_address()``.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.highmem.bootlog import pages_to_mb
from . import palette
from ._binding import ModelWatcher
from ._marks import replace_image
from ._png import encode_png

__all__ = ["AddressSpaceView", "virtual_regions", "physical_regions", "address_space_image",
           "address_space_caption", "kmap_lines", "COLUMNS", "ROWS"]

_MiB = 1 << 20
#: x extent of each column in the figure's x scale; the gaps between them carry the lines
COLUMNS = {"virtual": (0.0, 1.0), "physical": (2.0, 3.0), "zoom": (4.0, 5.0)}
ROWS = 512
_PX_PER_UNIT = 24


def virtual_regions(machine) -> list[tuple[str, int, int]]:
    """``(region, start, end)`` byte ranges of the kernel's virtual space, bottom up (gaps as "hole")."""
    layout = machine.highmem_layout
    if layout is None:                                   # x86-64: the direct map of all RAM
        return [("direct map", 0, machine.nr_pages * machine.page_size)]
    marks = [("user", 0, layout.page_offset), ("direct map", layout.page_offset, layout.high_memory),
             ("vmalloc", layout.vmalloc_start, layout.vmalloc_end)]
    if layout.config_highmem:
        marks.append(("pkmap", layout.pkmap_base, layout.pkmap_addr(layout.last_pkmap)))
    if layout.cpu_entry_area is not None:
        base, size = layout.cpu_entry_area
        marks.append(("cpu_entry", base, base + size))
    marks.append(("fixmap", layout.fixaddr_start, layout.fixaddr_top))
    regions, position = [], 0
    for name, start, end in sorted(marks, key=lambda mark: mark[1]):
        if start > position:
            regions.append(("hole", position, start))
        regions.append((name, start, end))
        position = end
    if position < 1 << 32:
        regions.append(("hole", position, 1 << 32))
    return regions


def physical_regions(machine) -> list[tuple[str, int, int]]:
    """``(zone, start, end)`` physical byte ranges of the machine's populated zones."""
    return [(zone.name, zone.start_pfn * machine.page_size, zone.end_pfn * machine.page_size)
            for zone in machine.zones]


def _top(machine) -> int:
    """The byte the figure's y scale ends at: 4 GiB on 32-bit (or RAM, if larger), RAM on x86-64."""
    ram_top = machine.nr_pages * machine.page_size
    return max(1 << 32, ram_top) if machine.highmem_layout is not None else ram_top


def zoom_window(machine) -> tuple[int, int] | None:
    """The top of a 32-bit virtual space the zoom column shows: from 4 MiB below the pkmap window
    (or the cpu_entry_area, or the fixmap) to 4 GiB."""
    layout = machine.highmem_layout
    if layout is None:
        return None
    low = min(start for name, start, _end in virtual_regions(machine) if name in ("pkmap", "cpu_entry", "fixmap"))
    return (low & ~(4 * _MiB - 1)) - 4 * _MiB, 1 << 32


def _paint(image, column, regions, colors, lo, hi) -> None:
    """Paint ``regions`` into the image column, rows from the top; every region at least one row."""
    x0, x1 = (int(v * _PX_PER_UNIT) for v in COLUMNS[column])
    span = hi - lo
    for name, start, end in regions:
        start, end = max(start, lo), min(end, hi)
        if end <= start:
            continue
        top_row = int((hi - end) * ROWS // span)
        bottom_row = max(int(-(-(hi - start) * ROWS // span)), top_row + 1)
        image[top_row:bottom_row, x0:x1] = palette.hex_to_rgb(colors[name])


def address_space_image(machine) -> np.ndarray:
    """RGB ``(ROWS, width, 3)``: the virtual, physical and zoom columns, white between them."""
    width = int(COLUMNS["zoom"][1] * _PX_PER_UNIT)
    image = np.empty((ROWS, width, 3), dtype=np.uint8)
    image[:] = palette.hex_to_rgb(palette.HOLE_COLOR)
    top = _top(machine)
    _paint(image, "virtual", virtual_regions(machine), palette.ADDRESS_REGION_COLORS, 0, top)
    _paint(image, "physical", physical_regions(machine), palette.ZONE_COLORS, 0, top)
    zoom = zoom_window(machine)
    if zoom is not None:
        _paint(image, "zoom", virtual_regions(machine), palette.ADDRESS_REGION_COLORS, *zoom)
    return image


def _y(machine, addr: int, zoomed: bool = False) -> float:
    """An address's height in the figure's MiB scale (a zoomed address stretched to the full height)."""
    if not zoomed:
        return addr / _MiB
    lo, hi = zoom_window(machine)
    return (addr - lo) / (hi - lo) * _top(machine) / _MiB


def kmap_lines(machine) -> list[tuple[str, int, int]]:
    """``(kind, vaddr, phys_addr)`` of every line drawn: the direct map's two edges, then every
    mapped pkmap slot (pkmap_count >= 1) and kmap_local/kmap_atomic slot."""
    layout = machine.highmem_layout
    page = machine.page_size
    if layout is None:
        top = machine.nr_pages * page
        lines = [("direct map", 0, 0), ("direct map", top, top)]
    else:
        lines = [("direct map", layout.page_offset, 0),
                 ("direct map", layout.high_memory, layout.max_low_pfn * page)]
    space = machine.kmap_space
    if space.pkmap_base is not None:
        for slot, (count, pfn) in enumerate(zip(space.pkmap_count, space.slot_pfns())):
            if count >= 1 and pfn >= 0:
                lines.append(("pkmap", space.pkmap_base + slot * page, pfn * page))
        if space.local is not None:
            for _cpu, _idx, vaddr, pfn in space.local.slots():
                lines.append(("fixmap", vaddr, pfn * page))
    return lines


def address_space_caption(machine) -> str:
    """One sentence per region, in the kernel's numbers (the sizes as ``mem_init()`` prints them)."""
    layout = machine.highmem_layout
    if layout is None:
        mib = machine.nr_pages * machine.page_size >> 20
        return (f"x86-64 ({machine.config.kernel_version}): the direct map at {machine.config.page_offset:#x} covers "
                f"all {mib:,} MiB of RAM (its window is 64 TiB); no HighMem, no pkmap window: kmap() is "
                "page_address().")
    mapped = sum(1 for count in machine.kmap_space.pkmap_count if count >= 1)
    parts = [f"i386 {layout.rules.kernel_version}, VMSPLIT_{layout.vmsplit}, {'PAE' if layout.pae else 'non-PAE'}: "
             f"PAGE_OFFSET {layout.page_offset:#010x}",
             f"lowmem {pages_to_mb(layout.max_low_pfn)} MB direct-mapped at {layout.page_offset:#010x}-"
             f"{layout.high_memory:#010x}",
             f"vmalloc {layout.vmalloc_start:#010x}-{layout.vmalloc_end:#010x} "
             f"({(layout.vmalloc_end - layout.vmalloc_start) >> 20} MB)"]
    if layout.config_highmem:
        parts.append(f"pkmap {layout.pkmap_base:#010x} ({layout.last_pkmap} slots, {mapped} mapped)")
        parts.append(f"HighMem {pages_to_mb(layout.highend_pfn - layout.highstart_pfn)} MB, reachable only "
                     "through kmap")
    parts.append(f"fixmap {layout.fixaddr_start:#010x}-{layout.fixaddr_top:#010x}")
    return "; ".join(parts) + "."


class AddressSpaceView(widgets.VBox):
    """The virtual band, physical memory and the lines between them, for one machine."""

    def __init__(self, machine, *, figure_width: int = 440, figure_height: int = 480) -> None:
        self.x_scale = bq.LinearScale(min=-0.2, max=COLUMNS["zoom"][1] + 0.2)
        self.y_scale = bq.LinearScale(min=0.0, max=4096.0)
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.image_mark = bq.Image(image=widgets.Image(value=b"", format="png"), scales=scales,
                                   x=[0.0, COLUMNS["zoom"][1]], y=[0.0, 4096.0])
        self.lines_mark = bq.Lines(x=[[1.0, 2.0]], y=[[0.0, 0.0]], scales=scales, colors=[palette.KMAP_LINE_COLOR],
                                   stroke_width=1.0)
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="MiB", tick_format="d")
        self.x_axis = bq.Axis(scale=self.x_scale, tick_values=[0.5, 2.5, 4.5], tick_format="d", num_ticks=3)
        self.figure = bq.Figure(marks=[self.image_mark, self.lines_mark], axes=[self.y_axis],
                                fig_margin={"top": 10, "bottom": 10, "left": 60, "right": 10},
                                layout=widgets.Layout(width=f"{figure_width}px", height=f"{figure_height}px"))
        self.labels = widgets.HTML()
        self.caption = widgets.HTML()
        self.caption_text = ""
        self.machine = self.watcher = None
        super().__init__(children=[self.labels, self.figure, self.caption],
                         layout=widgets.Layout(width=f"{figure_width + 10}px"))
        self.add_class("kmw-address-space")              # browser tests find the view by it
        self.bind(machine)

    def bind(self, machine) -> None:
        """Follow another machine (the lab's reboot with another kernel configuration)."""
        if self.watcher is not None:
            self.watcher.close()
        self.machine = machine
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        self.refresh()

    def tick_values(self) -> list[float]:
        """The y ticks (MiB): 0, the end of lowmem, PAGE_OFFSET, high_memory, the top."""
        layout = self.machine.highmem_layout
        top = _top(self.machine) / _MiB
        if layout is None:
            return [0.0, top]
        values = {0.0, layout.max_low_pfn * self.machine.page_size / _MiB, layout.page_offset / _MiB, top}
        return sorted(values)

    def refresh(self) -> None:
        machine = self.machine
        top = _top(machine) / _MiB
        lines = kmap_lines(machine)
        xs, ys, colors = [], [], []
        for kind, vaddr, phys in lines:
            if kind == "direct map":
                xs.append([COLUMNS["virtual"][1], COLUMNS["physical"][0]])
                ys.append([_y(machine, vaddr), _y(machine, phys)])
                colors.append(palette.KMAP_LINE_COLOR)
            else:
                xs.append([COLUMNS["zoom"][0], COLUMNS["physical"][1]])
                ys.append([_y(machine, vaddr, zoomed=True), _y(machine, phys)])
                colors.append(palette.ADDRESS_REGION_COLORS[kind])
        with self.figure.hold_sync():
            self.y_scale.min, self.y_scale.max = 0.0, top
            self.y_axis.tick_values = self.tick_values()
            self.image_mark.y = [0.0, top]
            replace_image(self.image_mark, encode_png(address_space_image(machine)))
            self.lines_mark.x, self.lines_mark.y, self.lines_mark.colors = xs, ys, colors
        zoom = zoom_window(machine)
        heads = ["virtual (0-4 GiB)" if machine.highmem_layout is not None else "virtual: direct map",
                 "physical", f"zoom {zoom[0]:#010x}-0xffffffff" if zoom else ""]
        self.labels.value = ("<div style='display:flex;gap:28px;font-size:11px;margin-left:56px'>"
                             + "".join(f"<span>{head}</span>" for head in heads if head) + "</div>")
        legend = [(name, color) for name, color in palette.ADDRESS_REGION_COLORS.items() if name != "hole"]
        legend += [(zone.name, palette.ZONE_COLORS[zone.name]) for zone in machine.zones]
        self.caption_text = address_space_caption(machine)
        self.caption.value = (f"{palette.legend_html(legend)}<div class='kmw-caption' style='max-width:440px'>"
                              f"{self.caption_text}</div>")

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        super().close()
