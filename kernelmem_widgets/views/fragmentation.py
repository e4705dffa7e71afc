"""External fragmentation of one zone: the largest free order over time, and the index per order.

The index is ``__fragmentation_index()`` of mm/vmstat.c (debugfs ``extfrag/extfrag_index``) in
thousandths: -1000 when an allocation of that order would succeed, towards 0 when a failure
would be for lack of memory, towards 1000 when it would be for fragmentation.  Compaction
only runs for orders above 3 whose index exceeds ``vm.extfrag_threshold`` (500), drawn as a
dashed line.

The history is view state about what was displayed (one point per user action), not
simulation state; it is cleared when the machine is reset or another zone is chosen.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.page_alloc.snapshot import free_list_counts
from ..model.page_alloc.vmstat import fragmentation_index
from . import palette
from ._binding import ModelWatcher
from ._marks import integer_ticks

__all__ = ["FragmentationPlot", "EXTFRAG_THRESHOLD"]

#: ``sysctl_extfrag_threshold`` (/proc/sys/vm/extfrag_threshold), default 500.
EXTFRAG_THRESHOLD = 500


class FragmentationPlot(widgets.VBox):
    """Largest free order after each action (a line) and the fragmentation index of every order (bars).

    Parameters
    ----------
    model : Machine or Zone
    zone : str, optional
        Which zone of a machine (default: the highest populated one).
    max_history : int
        Points kept on the line (the oldest go first).

    Attributes
    ----------
    history : list of (int, int)
        (action number, largest free order) for every redraw since the last reset.
    indexes : numpy.ndarray
        The fragmentation index per order, as drawn by ``index_bars``.
    largest_order_line, index_bars, threshold_line : bqplot marks
    redraw_count : int

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> plot = FragmentationPlot(Machine.preset("linux-6.18-tiny"))
    >>> plot.history, plot.indexes.tolist()[-1]
    ([(0, 10)], -1000)
    """

    def __init__(self, model, zone: str | None = None, *, max_history: int = 500, width: int = 460) -> None:
        self.max_history = max_history
        self.redraw_count = 0
        self.history: list[tuple[int, int]] = []
        self.indexes = np.zeros(0, dtype=np.int64)
        self._action = 0
        self.watcher = ModelWatcher(model, zone, on_change=self.redraw, on_reset=self.clear_history)
        max_order = self.watcher.zone.max_page_order
        self._build_history_figure(max_order, width)
        self._build_index_figure(max_order, width)
        self.legend = widgets.HTML(palette.legend_html([
            ("would succeed (-1000)", palette.SUCCEEDS_COLOR), ("would fail: too little memory (0)",
                                                                palette.LACK_OF_MEMORY_COLOR),
            ("would fail: fragmentation (1000)", palette.FRAGMENTED_COLOR)])
            + f"<div style='font-size:11px'>dashed: vm.extfrag_threshold {EXTFRAG_THRESHOLD}, above which "
            "compaction is worth trying (orders above 3)</div>", layout=widgets.Layout(width=f"{width}px"))
        super().__init__(children=[self.history_figure, self.index_figure, self.legend])
        self.add_class("kmw-fragmentation")   # browser tests find the view by it
        self.redraw()

    @property
    def zone(self):
        return self.watcher.zone

    def _build_history_figure(self, max_order: int, width: int) -> None:
        x_scale = bq.LinearScale(min=0.0)
        y_scale = bq.LinearScale(min=-1.0, max=float(max_order) + 0.5)
        self.largest_order_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": x_scale, "y": y_scale},
                                           colors=[palette.migratetype_color("Movable")], marker="circle",
                                           marker_size=12, stroke_width=2)
        # ticks at whole orders from 0 (an empty zone's -1 is drawn at the bottom edge, not labelled)
        self.action_axis = bq.Axis(scale=x_scale, label="action", tick_format="d", tick_values=integer_ticks(10))
        axes = [self.action_axis,
                bq.Axis(scale=y_scale, side="left", label="largest free order", tick_format="d",
                        tick_values=np.arange(0, max_order + 1, 2 if max_order > 12 else 1))]
        self.history_figure = bq.Figure(marks=[self.largest_order_line], axes=axes,
                                        title="largest free block over time",
                                        fig_margin={"top": 40, "bottom": 40, "left": 60, "right": 10},
                                        layout=widgets.Layout(width=f"{width}px", height="220px"))

    def _build_index_figure(self, max_order: int, width: int) -> None:
        orders = [str(order) for order in range(max_order + 1)]
        # the domain is stated: a scale shared by two marks and rebuilt from widget state (Voila, a
        # reload) would otherwise order its categories 0, 10, 1, 2 ... and shrink the threshold line
        x_scale = bq.OrdinalScale(domain=orders)
        y_scale = bq.LinearScale(min=-1000.0, max=1000.0)
        color_scale = bq.ColorScale(min=-1000.0, max=1000.0, colors=[
            palette.SUCCEEDS_COLOR, palette.LACK_OF_MEMORY_COLOR, palette.FRAGMENTED_COLOR])
        self.index_bars = bq.Bars(x=orders, y=np.zeros(max_order + 1), color=np.zeros(max_order + 1),
                                  scales={"x": x_scale, "y": y_scale, "color": color_scale},
                                  stroke=palette.OUTLINE_COLOR, base=0.0,
                                  tooltip=bq.Tooltip(fields=["x", "y"], labels=["order", "index"]))
        self.threshold_line = bq.Lines(x=[orders[0], orders[-1]], y=[EXTFRAG_THRESHOLD, EXTFRAG_THRESHOLD],
                                       scales={"x": x_scale, "y": y_scale}, line_style="dashed",
                                       colors=[palette.OUTLINE_COLOR], labels=["extfrag_threshold"],
                                       display_legend=False)
        axes = [bq.Axis(scale=x_scale, label="order"),
                bq.Axis(scale=y_scale, side="left", label="index (-1000 = would succeed)",
                        tick_values=np.array([-1000, -500, 0, 500, 1000]), label_offset="45px")]
        self.index_figure = bq.Figure(marks=[self.index_bars, self.threshold_line], axes=axes,
                                      title="fragmentation index per order",
                                      fig_margin={"top": 40, "bottom": 40, "left": 60, "right": 10},
                                      layout=widgets.Layout(width=f"{width}px", height="220px"))

    def select_zone(self, zone: str) -> None:
        """Follow another zone; its history starts afresh."""
        self.watcher.select_zone(zone)
        self.clear_history()
        self.redraw()

    def clear_history(self) -> None:
        """Forget the points drawn so far (the machine was reset or the zone changed)."""
        self.history = []
        self._action = 0

    def redraw(self) -> None:
        """Append this action's point and recompute the index of every order."""
        zone = self.zone
        nr_free = free_list_counts(zone).sum(axis=1).tolist()
        self.indexes = np.array([fragmentation_index(nr_free, order) for order in range(len(nr_free))])
        self.history.append((self._action, zone.largest_free_order()))
        self.history = self.history[-self.max_history:]
        self._action += 1
        steps, orders = (np.array(column, dtype=float) for column in zip(*self.history))
        with self.history_figure.hold_sync(), self.largest_order_line.hold_sync():
            self.largest_order_line.x, self.largest_order_line.y = steps, orders
            top = float(max(steps[-1], 10))
            self.largest_order_line.scales["x"].max = top
            self.action_axis.tick_values = integer_ticks(top)
            self.largest_order_line.marker = "circle" if len(steps) <= 60 else None
        with self.index_figure.hold_sync(), self.index_bars.hold_sync():
            self.index_bars.y = self.indexes
            self.index_bars.color = self.indexes
        self.redraw_count += 1

    def close(self) -> None:
        self.watcher.close()
        super().close()
