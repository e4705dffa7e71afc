"""The machine's physical address space: firmware map, what the command line left, memblock, zones, ioremaps.

One horizontal band per stage of the boot, drawn as a downsampled image (one pixel column per
``span / width`` bytes, coloured by what covers the column's first byte), so a 64 GiB machine costs
the same as a 16 MiB one.  Rows, top to bottom: the firmware's ``BIOS-e820`` map, the map after
``mem=``/``memmap=`` (``user``), memblock (free pages handed to the buddy allocator, reserved
ranges, holes), the zones, and the physical ranges some ``ioremap()`` maps, by cache mode.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from . import palette
from ._binding import ModelWatcher
from ._png import encode_png

__all__ = ["PhysicalMap", "physical_rows", "ROWS", "WINDOWS"]

ROWS = ("firmware e820", "after cmdline", "memblock", "zones", "ioremap")
#: x range choices: the whole map, below 4 GiB (the PCI hole), the first 16 MiB (ZONE_DMA, the BIOS area)
WINDOWS = {"whole map": None, "below 4 GiB": 1 << 32, "first 16 MiB": 16 << 20}
_ROW_HEIGHT = 6


def _fill(row: np.ndarray, starts: np.ndarray, ranges, color: str) -> None:
    """Colour the columns whose first byte lies in ``[start, end)`` of each range."""
    rgb = palette.hex_to_rgb(color)
    for start, end in ranges:
        lo, hi = np.searchsorted(starts, [start, end], side="left")
        if lo < hi:
            row[lo:hi] = rgb


def physical_rows(machine, width: int = 1024, span: int | None = None) -> tuple[np.ndarray, int]:
    """RGB ``(len(ROWS), width, 3)`` of the bands, and the span in bytes they cover from address 0."""
    boot = machine.boot
    if span is None:
        tops = [e.end for e in boot.firmware] + [e.end for e in boot.table]
        tops += [m.map_phys + m.map_size for m in machine.ioremap_space.mappings.values()]
        span = max(tops)
    starts = (np.arange(width, dtype=np.float64) * (span / width)).astype(np.uint64).astype(object)
    starts = np.array([int(s) for s in starts], dtype=object)
    image = np.empty((len(ROWS), width, 3), dtype=np.uint8)
    image[:] = palette.hex_to_rgb(palette.HOLE_COLOR)
    for row, table in ((0, boot.firmware), (1, boot.table)):
        for entry in table:
            _fill(image[row], starts, [(entry.addr, entry.end)], palette.e820_color(entry.type))
    _fill(image[2], starts, [(s, e) for s, e in boot.memblock.memory], palette.MEMBLOCK_FREE_COLOR)
    _fill(image[2], starts, [(s, e) for s, e in boot.memblock.reserved], palette.RESERVED_COLOR)
    for zone in machine.zones:
        _fill(image[3], starts, [(zone.start_pfn * machine.page_size, zone.end_pfn * machine.page_size)],
              palette.ZONE_COLORS.get(zone.name, palette.E820_COLORS["other"]))
    for mapping in machine.ioremap_space.mappings.values():
        end = mapping.map_phys + max(mapping.map_size, mapping.size)
        _fill(image[4], starts, [(mapping.map_phys, end)], palette.CACHE_MODE_COLORS[mapping.cache_mode])
    return image, span


class PhysicalMap(widgets.VBox):
    """Bands of the physical address space of a machine booted from a firmware map.

    Attributes
    ----------
    rows : numpy.ndarray
        The ``(5, width, 3)`` colours drawn (what a browser test compares pixels with).
    span : int
        Bytes from address 0 that the image covers.
    window : ipywidgets.ToggleButtons
        "whole map", "below 4 GiB", "first 16 MiB".
    image_mark : bqplot.Image
    """

    def __init__(self, machine, *, width: int = 1024, figure_width: int = 760) -> None:
        self.machine, self.width = machine, width
        self.rows = np.zeros((len(ROWS), width, 3), dtype=np.uint8)
        self.span = 0
        self.window = widgets.ToggleButtons(options=list(WINDOWS), value="whole map",
                                            style={"button_width": "110px"})
        self.window.observe(lambda _change: self.refresh(), names="value")
        self.x_scale = bq.LinearScale(min=0.0, max=1.0)
        self.y_scale = bq.LinearScale(min=0.0, max=float(len(ROWS)), reverse=True)   # row 0 at the top
        self.image_mark = bq.Image(image=widgets.Image(value=b"", format="png"),
                                   scales={"x": self.x_scale, "y": self.y_scale}, x=[0.0, 1.0],
                                   y=[float(len(ROWS)), 0.0])                        # (bottom, top)
        self.x_axis = bq.Axis(scale=self.x_scale, label="physical address (GiB)", tick_format=".3~f")
        self.figure = bq.Figure(marks=[self.image_mark], axes=[self.x_axis],
                                fig_margin={"top": 8, "bottom": 42, "left": 10, "right": 15},
                                layout=widgets.Layout(width=f"{figure_width}px", height="190px"))
        self.labels = widgets.HTML("<div style='font-size:11px'>rows: " + " / ".join(ROWS) + "</div>")
        self.legend = widgets.HTML(self._legend())
        self.caption = widgets.HTML()
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        super().__init__(children=[self.window, self.labels, self.figure, self.legend, self.caption])
        self.caption.add_class("kmw-caption")
        self.add_class("kmw-physical-map")   # browser tests find the view by it
        self.refresh()

    @staticmethod
    def _legend() -> str:
        entries = [(name, color) for name, color in palette.E820_COLORS.items() if name != "other"]
        entries += [("free (buddy)", palette.MEMBLOCK_FREE_COLOR), ("hole", palette.HOLE_COLOR)]
        entries += [(f"zone {name}", color) for name, color in palette.ZONE_COLORS.items() if name != "Movable"]
        entries += [(f"ioremap {mode}", color) for mode, color in palette.CACHE_MODE_COLORS.items()]
        return palette.legend_html(entries)

    def refresh(self) -> None:
        if self.machine.boot is None:
            self.caption.value = "this machine was not booted from a firmware map"
            return
        self.rows, self.span = physical_rows(self.machine, self.width, WINDOWS[self.window.value])
        png = encode_png(np.repeat(self.rows, _ROW_HEIGHT, axis=0))
        gib = self.span / (1 << 30)
        with self.figure.hold_sync():
            self.x_scale.min, self.x_scale.max = 0.0, gib
            self.image_mark.x = [0.0, gib]
            _replace_image(self.image_mark, png)
        boot = self.machine.boot
        hidden = boot.firmware.total() - boot.table.total()
        self.caption.value = html.escape(
            f"{len(boot.firmware)} firmware entries, {len(boot.table)} in the final map"
            f"{' (' + self.machine.cmdline + ')' if self.machine.cmdline else ''}; usable RAM "
            f"{boot.table.total() >> 20} MiB of {boot.firmware.total() >> 20} MiB"
            + (f" ({hidden >> 20} MiB hidden from the kernel)" if hidden else "")
            + f"; max_pfn {boot.max_pfn:#x}")

    def column_of(self, phys_addr: int) -> int:
        """The pixel column that draws ``phys_addr`` (for tests that read the picture back)."""
        return min(int(phys_addr * self.width // self.span), self.width - 1)

    def close(self) -> None:
        self.watcher.close()
        super().close()


def _replace_image(mark: bq.Image, png: bytes) -> None:
    """Give the mark a new image widget: bqplot's front end redraws on ``change:image`` of the mark."""
    old = mark.image
    mark.image = widgets.Image(value=png, format="png")
    old.close()
