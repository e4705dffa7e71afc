"""A vmalloc area's virtual pages against the physical pages behind them, and /proc/vmallocinfo.

Virtual addresses of an area are consecutive by construction; the page frames behind them come
one by one from the buddy allocator, so on a machine that has been running they jump around.
The plot shows page index (virtual) on x and pfn (physical) on y: a straight diagonal means the
pages happen to be adjacent, a scatter means they are not.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ._binding import ModelWatcher
from ._marks import integer_ticks, plural, pow2_ticks

__all__ = ["VmallocView"]

_POINT_COLOR = "#D55E00"


class VmallocView(widgets.VBox):
    """The areas of a vmalloc space, one of them drawn page by page.

    Parameters
    ----------
    machine : Machine
    space : VmallocSpace, optional
        Default: ``machine.vmalloc`` (looked up again after a reset).

    Attributes
    ----------
    area_choice : ipywidgets.Dropdown
        Which area is drawn (its start address); the newest by default.
    points : bqplot.Scatter
        x = page index in the area, y = pfn.
    mapping : dict of numpy.ndarray
        ``VmallocSpace.mapping()`` of the drawn area (empty without areas).
    info : ipywidgets.HTML
        /proc/vmallocinfo.
    """

    def __init__(self, machine, space=None, *, width: int = 560, rows: int = 8) -> None:
        self.machine, self._space, self.width, self.rows = machine, space, width, rows
        self.mapping: dict[str, np.ndarray] = {}
        self.area_choice = widgets.Dropdown(options=[], description="area", layout=widgets.Layout(width=f"{width}px"),
                                            style={"description_width": "40px"})
        self.area_choice.observe(lambda _change: self._draw_area(), names="value")
        self._build_figure()
        self.pages = widgets.HTML()
        self.info = widgets.HTML()
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        super().__init__(children=[self.area_choice, self.figure, self.pages,
                                   widgets.HTML("<b>/proc/vmallocinfo</b>"), self.info])
        self.add_class("kmw-vmalloc-view")   # browser tests find the view by it
        self.refresh()

    @property
    def space(self):
        return self._space if self._space is not None else self.machine.vmalloc

    def _build_figure(self) -> None:
        self.x_scale = bq.LinearScale(min=0.0, max=1.0)
        self.y_scale = bq.LinearScale()
        self.points = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x_scale, "y": self.y_scale},
                                 colors=[_POINT_COLOR], default_size=24)
        # tick values are set with the data: whole page numbers on x, power-of-two pfns on y (round in hex)
        self.x_axis = bq.Axis(scale=self.x_scale, label="page of the area (virtual: contiguous)", tick_format="d",
                              tick_values=integer_ticks(1))
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="pfn (physical)", tick_format="#x",
                              label_offset="55px", tick_values=np.zeros(0))
        axes = [self.x_axis, self.y_axis]
        self.figure = bq.Figure(marks=[self.points], axes=axes, fig_margin={"top": 10, "bottom": 40, "left": 75,
                                                                            "right": 15},
                                layout=widgets.Layout(width=f"{self.width}px", height="280px"))

    def refresh(self) -> None:
        space = self.space
        areas = space.areas()
        options = [(f"{a.addr:#x}  {a.size:,} bytes  {plural(a.nr_pages, 'page')}  {a.caller}", a.addr)
                   for a in areas]
        chosen = self.area_choice.value
        before = {value for _label, value in self.area_choice.options}
        self.area_choice.options = options
        values = [value for _label, value in options]
        new = [area for area in areas if area.addr not in before]
        if new:                                  # a vmalloc() since the last redraw: show it (not its page array)
            self.area_choice.value = max(new, key=lambda area: area.size).addr
        elif values:
            self.area_choice.value = chosen if chosen in values else values[-1]
        self._draw_area()
        text = space.render_vmallocinfo() or "(empty)"
        self.info.value = f"<pre style='font-size:11.5px;margin:0'>{html.escape(text)}</pre>"

    def _draw_area(self) -> None:
        addr = self.area_choice.value
        if addr is None or addr not in space_addresses(self.space):
            self.mapping = {}
            with self.points.hold_sync():
                self.points.x, self.points.y = np.zeros(0), np.zeros(0)
            self.pages.value = "no vmalloc area yet"
            return
        self.mapping = mapping = self.space.mapping(addr)
        pfns = mapping["pfn"]
        if not len(pfns):                                # drawn half way through a vmalloc()
            return
        with self.figure.hold_sync():
            self.x_scale.max = float(max(len(pfns) - 1, 1))
            self.x_axis.tick_values = integer_ticks(self.x_scale.max)
            low, high = float(pfns.min()) - 1, float(pfns.max()) + 1
            self.y_scale.min, self.y_scale.max = low, high
            self.y_axis.tick_values = pow2_ticks(low, high)
            self.points.x, self.points.y = np.arange(len(pfns), dtype=float), pfns.astype(float)
        runs = 1 + int(np.count_nonzero(np.diff(pfns) != 1)) if len(pfns) else 0
        lines = [f"{int(v):#x} -> pfn {int(p):#x} (phys {int(p) * self.machine.page_size:#x})"
                 for v, p in zip(mapping["virt"][:self.rows], pfns[:self.rows])]
        more = f"\n... {len(pfns) - self.rows} more pages" if len(pfns) > self.rows else ""
        self.pages.value = (f"<div>{plural(len(pfns), 'page')} in {plural(runs, 'physically contiguous run')}</div>"
                            f"<pre style='font-size:11.5px;margin:0'>{html.escape(chr(10).join(lines) + more)}</pre>")

    def close(self) -> None:
        self.watcher.close()
        super().close()


def space_addresses(space) -> set[int]:
    return {area.addr for area in space.areas()}
