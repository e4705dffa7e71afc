"""Where each ioremap() landed in the vmalloc area, with its cache type, and what an access costs.

The strip spans the vmalloc window from VMALLOC_START up to the end of its highest area (at least
128 MiB; on i386 the whole 120 MiB window), one pixel column per ``span / width`` bytes:
ioremap areas in their cache mode's colour, vmalloc areas grey, guard pages and free space white.
The table lists each mapping: the pointer returned, the physical range, the cache mode and the
model's count of memory transactions for reading 4 KiB through it (``access_cost()``).
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.boot.ioremap import CACHE_MODES, access_cost
from . import palette
from ._binding import ModelWatcher
from ._png import encode_png
from .physical_map import _replace_image

__all__ = ["IoremapView", "virtual_row"]


def virtual_row(machine, width: int = 1024) -> tuple[np.ndarray, int, int]:
    """RGB ``(width, 3)`` of the vmalloc window, its start address and the bytes it spans."""
    space = machine.vmalloc
    start = space.start
    areas = space.areas()
    top = max((a.addr + a.size - start for a in areas), default=0)
    span = space.end + 1 - start if space.end - start < 1 << 32 else max(128 << 20, 1 << max(top - 1, 1).bit_length())
    row = np.empty((width, 3), dtype=np.uint8)
    row[:] = palette.hex_to_rgb(palette.HOLE_COLOR)
    modes = {m.area_addr: m.cache_mode for m in machine.ioremap_space.mappings.values() if not m.direct_map}
    column = span / width
    for area in areas:
        color = palette.CACHE_MODE_COLORS[modes.get(area.addr, "UC-")] if area.ioremap else palette.VMALLOC_AREA_COLOR
        lo = int(np.ceil((area.addr - start) / column))
        hi = int(np.ceil((area.addr + area.size - space.page_size - start) / column))
        row[lo:max(hi, lo + 1) if lo < width else lo] = palette.hex_to_rgb(color)
    return row, start, span


class IoremapView(widgets.VBox):
    """The vmalloc window with the ioremap areas, and a table of the mappings."""

    def __init__(self, machine, *, width: int = 1024, figure_width: int = 760) -> None:
        self.machine, self.width = machine, width
        self.row = np.zeros((width, 3), dtype=np.uint8)
        self.start = self.span = 0
        self.x_scale = bq.LinearScale(min=0.0, max=1.0)
        self.y_scale = bq.LinearScale(min=0.0, max=1.0, reverse=True)
        self.image_mark = bq.Image(image=widgets.Image(value=b"", format="png"),
                                   scales={"x": self.x_scale, "y": self.y_scale}, x=[0.0, 1.0], y=[1.0, 0.0])
        self.x_axis = bq.Axis(scale=self.x_scale, label="offset from VMALLOC_START (MiB): ioremap areas",
                              tick_format="d")
        self.figure = bq.Figure(marks=[self.image_mark], axes=[self.x_axis],
                                fig_margin={"top": 8, "bottom": 42, "left": 10, "right": 15},
                                layout=widgets.Layout(width=f"{figure_width}px", height="110px"))
        self.table = widgets.HTML()
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        super().__init__(children=[self.figure, self.table])
        self.add_class("kmw-ioremap-view")   # browser tests find the view by it
        self.refresh()

    def refresh(self) -> None:
        if self.machine.boot is None:
            self.table.value = "this machine was not booted from a firmware map"
            return
        self.row, self.start, self.span = virtual_row(self.machine, self.width)
        mib = self.span / (1 << 20)
        with self.figure.hold_sync():
            self.x_scale.min, self.x_scale.max = 0.0, mib
            self.image_mark.x = [0.0, mib]
            _replace_image(self.image_mark, encode_png(np.repeat(self.row[None, :, :], 8, axis=0)))
        self.table.value = self.render_table()

    def render_table(self) -> str:
        mappings = sorted(self.machine.ioremap_space.mappings.values(), key=lambda m: m.vaddr)
        if not mappings:
            return (f"<div>no mappings yet; the vmalloc area starts at {self.machine.vmalloc.start:#x} "
                    f"({(self.machine.vmalloc.end + 1 - self.machine.vmalloc.start) >> 20:,} MiB)</div>")
        rows = []
        for m in mappings:
            where = "direct map (no new mapping)" if m.direct_map else f"vmalloc area {m.area_addr:#x}"
            rows.append(f"<tr><td>{m.caller}</td><td><code>{m.vaddr:#x}</code></td>"
                        f"<td><code>{m.phys_addr:#x}-{m.phys_addr + m.size - 1:#x}</code></td>"
                        f"<td>{m.cache_mode}</td><td>{access_cost(m.cache_mode, 4096)}</td>"
                        f"<td>{html.escape(where)}</td></tr>")
        head = ("<tr><th>call</th><th>returned</th><th>physical</th><th>cache</th>"
                "<th>memory transactions per 4 KiB read</th><th>where</th></tr>")
        notes = "".join(f"<li><b>{mode}</b>: {html.escape(text)}</li>" for mode, text in CACHE_MODES.items())
        return (f"<table style='font-size:12px'>{head}{''.join(rows)}</table>"
                f"<ul style='font-size:11px;margin:2px 0'>{notes}</ul>")

    def column_of(self, vaddr: int) -> int:
        return min(int((vaddr - self.start) * self.width // self.span), self.width - 1)

    def close(self) -> None:
        self.watcher.close()
        super().close()
