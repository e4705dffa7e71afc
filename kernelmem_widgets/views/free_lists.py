"""The free lists of one zone: ``free_area[order].free_list[migratetype]`` as stacked bars.

One bar per order, stacked by migrate type, the numbers of /proc/pagetypeinfo.  The y range
stays fixed between actions, so one allocation visibly lowers one bar instead of the axis
silently re-ranging around it; it changes only on a reset, a change of zone or unit, or when
the bars outgrow it or shrink below an eighth of it.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.page_alloc.mmzone import MIGRATETYPE_NAMES
from ..model.page_alloc.snapshot import free_list_counts
from . import palette
from ._binding import ModelWatcher
from ._marks import plural, set_categories

__all__ = ["FreeListBars", "nice_ceiling"]

UNITS = ("blocks", "pages")


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``value`` (at least 1).

    >>> [nice_ceiling(v) for v in (0, 3, 7, 11, 4096)]
    [1, 5, 10, 20, 5000]
    """
    ceiling = 1
    while True:
        for step in (1, 2, 5):
            if step * ceiling >= value:
                return step * ceiling
        ceiling *= 10


class FreeListBars(widgets.VBox):
    """Free blocks (or pages) per order, stacked by migrate type, like /proc/pagetypeinfo.

    Parameters
    ----------
    model : Machine or Zone
        What to draw; a machine is followed across ``reset()``.
    zone : str, optional
        Which zone of a machine (default: the highest populated one).
    unit : {"blocks", "pages"}
        Count blocks (as pagetypeinfo does) or the pages in them.
    zone_selector : bool, optional
        Show a zone dropdown; by default only for a machine with several zones.

    Attributes
    ----------
    counts : numpy.ndarray
        ``[order, migratetype]`` as drawn (blocks or pages); ``bars.y`` is its transpose.
    bars : bqplot.Bars
    y_scale : bqplot.LinearScale
        Fixed range (``y_scale.max``), see the module docstring.
    unit_choice, zone_choice : ipywidgets
        ``zone_choice`` is None when there is nothing to choose.
    redraw_count : int

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> bars = FreeListBars(Machine.preset("linux-6.18-tiny"))
    >>> bars.counts.sum(axis=1).tolist()
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]
    """

    def __init__(self, model, zone: str | None = None, *, unit: str = "blocks", zone_selector: bool | None = None,
                 width: int = 460) -> None:
        if unit not in UNITS:
            raise ValueError(f"unit {unit!r}: accepted: {', '.join(UNITS)}")
        self.redraw_count = 0
        self.counts = np.zeros((0, len(MIGRATETYPE_NAMES)), dtype=np.int64)
        self._rescale = True
        self.watcher = ModelWatcher(model, zone, on_change=self.redraw, on_reset=self._rescale_next)
        self.unit_choice = widgets.ToggleButtons(options=UNITS, value=unit, description="count",
                                                 style={"button_width": "70px"})
        self.unit_choice.observe(self._unit_changed, names="value")
        self.zone_choice = self._zone_dropdown(zone_selector)
        self._build_figure(width)
        controls = [self.unit_choice] + ([self.zone_choice] if self.zone_choice is not None else [])
        super().__init__(children=[self.figure, self.legend, self.caption, widgets.HBox(controls)])
        self.caption.add_class("kmw-caption")
        self.add_class("kmw-free-lists")   # browser tests find the view by it
        self.redraw()

    @property
    def unit(self) -> str:
        return self.unit_choice.value

    @property
    def zone(self):
        return self.watcher.zone

    def _zone_dropdown(self, wanted: bool | None):
        names = self.watcher.zone_names()
        if wanted is False or (wanted is None and len(names) < 2):
            return None
        dropdown = widgets.Dropdown(options=names, value=self.watcher.zone_name, description="zone",
                                    layout=widgets.Layout(width="180px"))
        dropdown.observe(lambda change: self.select_zone(change["new"]), names="value")
        return dropdown

    def _build_figure(self, width: int) -> None:
        self.x_scale = bq.OrdinalScale()
        self.y_scale = bq.LinearScale(min=0.0, max=1.0)
        self.bars = bq.Bars(x=[], y=[], type="stacked", scales={"x": self.x_scale, "y": self.y_scale},
                            colors=[palette.MIGRATETYPE_COLORS[name] for name in MIGRATETYPE_NAMES],
                            labels=list(MIGRATETYPE_NAMES), stroke=palette.OUTLINE_COLOR,
                            tooltip=bq.Tooltip(fields=["x", "y"], labels=["order", "count"]))
        self.x_axis = bq.Axis(scale=self.x_scale, label="order")
        # the label sits left of the widest tick ("1,000" in pages mode) instead of on top of it
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="free blocks", tick_format=",d",
                              label_offset="52px")
        self.figure = bq.Figure(marks=[self.bars], axes=[self.x_axis, self.y_axis],
                                fig_margin={"top": 30, "bottom": 45, "left": 78, "right": 10},
                                layout=widgets.Layout(width=f"{width}px", height="300px"))
        self.caption = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        # a legend in the plot would hide the bars it explains: it goes under the figure
        self.legend = widgets.HTML(palette.legend_html(
            [(name, palette.MIGRATETYPE_COLORS[name]) for name in MIGRATETYPE_NAMES]),
            layout=widgets.Layout(width=f"{width}px"))

    def select_zone(self, zone: str) -> None:
        """Draw another zone of the machine (the y range adapts to it)."""
        self.watcher.select_zone(zone)
        if self.zone_choice is not None and self.zone_choice.value != self.watcher.zone_name:
            self.zone_choice.value = self.watcher.zone_name
        self._rescale = True
        self.redraw()

    def _unit_changed(self, _change) -> None:
        self._rescale = True
        self.redraw()

    def _rescale_next(self) -> None:
        self._rescale = True

    def redraw(self) -> None:
        """Recompute the bars from ``free_list_counts`` and send them."""
        zone = self.zone
        counts = free_list_counts(zone)
        if self.unit == "pages":
            counts = counts << np.arange(len(counts), dtype=np.int64)[:, None]
        self.counts = counts
        page_size = self.watcher.page_size
        with self.figure.hold_sync():
            self._fit_range(int(counts.sum(axis=1).max(initial=0)))
            set_categories(self.bars, self.x_scale, [str(order) for order in range(len(counts))], y=counts.T)
            self.y_axis.label = f"free {self.unit}"
            self.figure.title = f"free lists of zone {zone.name} (/proc/pagetypeinfo)"
        self.caption.value = (f"order n = 2<sup>n</sup> pages: 0 = {palette.size_label(page_size)}, "
                              f"{len(counts) - 1} = {palette.size_label(page_size << (len(counts) - 1))}; "
                              f"{plural(zone.nr_free_pages, 'page')} free, largest free order {zone.largest_free_order()}")
        self.redraw_count += 1

    def _fit_range(self, top: int) -> None:
        current = self.y_scale.max
        if self._rescale or top > current or top * 8 < current:
            self.y_scale.max = float(nice_ceiling(top * 1.1))
            step = max(1, nice_ceiling(self.y_scale.max / 6))  # whole numbers: counts have no halves
            self.y_axis.tick_values = np.arange(0, self.y_scale.max + step / 2, step)
        self._rescale = False

    def close(self) -> None:
        self.watcher.close()
        super().close()
