"""Where a kmalloc request lands: size class, slab order or page order, and the bytes wasted.

A log-log plot of requested size (1 B .. 8 MiB) against the bytes kmalloc really reserves
(``kmalloc_size_roundup()``), with the two walls drawn: KMALLOC_MAX_CACHE_SIZE (above it the page
allocator serves whole compound pages) and KMALLOC_MAX_SIZE (above it kmalloc fails).  A slider
picks one size; the readout says what the kernel would do with it.  Pure geometry: nothing is
allocated.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.slab.kmalloc import (KMALLOC_INFO, TYPE_PREFIX, kmalloc_index, kmalloc_max_cache_size, kmalloc_max_size,
                             kmalloc_size_roundup)
from ..model.slab.slub import KmemCache
from ..model.slab.slub_sizes import get_order
from ..model.units import format_size
from . import palette

__all__ = ["SizeExplorer", "describe_request"]

_MAX_SHOWN = 8 << 20
_ROUNDUP_COLOR = "#0072B2"
_WALL_COLOR = palette.ERROR_COLOR
_PAGES_COLOR = "#009E73"


def describe_request(size: int, *, nr_cpus: int = 4, page_size: int = 4096, max_page_order: int = 10,
                     shift_low: int = 3) -> dict:
    """What ``kmalloc(size, GFP_KERNEL)`` does, as a dict: where, reserved bytes, waste, and a sentence."""
    cache_limit = kmalloc_max_cache_size(page_size)
    limit = kmalloc_max_size(page_size, max_page_order)
    if size <= 0:
        return {"size": size, "where": "ZERO_SIZE_PTR", "reserved": 0, "waste": 0,
                "text": "kmalloc(0) returns ZERO_SIZE_PTR ((void *)16): no memory, and dereferencing it faults"}
    if size > limit:
        order = get_order(size, page_size)
        return {"size": size, "where": "fails", "reserved": 0, "waste": 0, "order": order,
                "text": f"kmalloc({size:,}) fails: that is above KMALLOC_MAX_SIZE "
                        f"({limit:,} = {format_size(limit)}); the page allocator would need order {order} > MAX_PAGE_ORDER "
                        f"{max_page_order}. Use vmalloc() or kvmalloc()."}
    if size > cache_limit:
        order = get_order(size, page_size)
        reserved = page_size << order
        return {"size": size, "where": f"pages, order {order}", "reserved": reserved, "waste": reserved - size,
                "order": order,
                "text": f"kmalloc({size:,}) is above KMALLOC_MAX_CACHE_SIZE ({format_size(cache_limit)}): a compound "
                        f"page of order {order} ({format_size(reserved)}) straight from the buddy allocator; "
                        f"{reserved - size:,} bytes ({100 * (reserved - size) / reserved:.1f} %) unused"}
    object_size, short = KMALLOC_INFO[kmalloc_index(size, shift_low)]
    cache = KmemCache(TYPE_PREFIX[0] + short, object_size, kmalloc=True, nr_cpus=nr_cpus, page_size=page_size)
    waste = cache.size - size
    return {"size": size, "where": cache.name, "reserved": cache.size, "waste": waste, "order": cache.order,
            "objs_per_slab": cache.objs_per_slab,
            "text": f"kmalloc({size:,}) uses {cache.name}: {cache.size}-byte objects, {cache.objs_per_slab} per "
                    f"order-{cache.order} slab ({format_size(page_size << cache.order)}, {cache.leftover} bytes "
                    f"left over) with {nr_cpus} CPUs; {waste:,} bytes of the object ({100 * waste / cache.size:.1f} %) "
                    "unused"}


class SizeExplorer(widgets.VBox):
    """Requested size against reserved bytes, with KMALLOC_MAX_CACHE_SIZE and KMALLOC_MAX_SIZE drawn.

    Parameters
    ----------
    nr_cpus : int
        SLUB's slab order for the chosen size depends on it (shown in the readout).
    size : int
        The size picked at start.

    Attributes
    ----------
    slider : ipywidgets.FloatLogSlider
        The requested size, 1 B .. 8 MiB.
    readout : ipywidgets.HTML
    info : dict
        :func:`describe_request` of the picked size.
    curve, marker : bqplot marks

    Examples
    --------
    >>> explorer = SizeExplorer(size=100)
    >>> explorer.info["where"], explorer.info["reserved"]
    ('kmalloc-128', 128)
    >>> explorer.pick(9000); explorer.info["where"]
    'pages, order 2'
    """

    def __init__(self, *, nr_cpus: int = 4, size: int = 100, page_size: int = 4096, max_page_order: int = 10,
                 width: int = 620) -> None:
        self.nr_cpus, self.page_size, self.max_page_order = nr_cpus, page_size, max_page_order
        self.cache_limit = kmalloc_max_cache_size(page_size)
        self.limit = kmalloc_max_size(page_size, max_page_order)
        self.info: dict = {}
        self._build(width)
        super().__init__(children=[self.figure, self.legend, self.slider, self.readout])
        self.add_class("kmw-size-explorer")   # browser tests find the view by it
        self.pick(size)

    def _build(self, width: int) -> None:
        sizes = np.unique(np.round(np.logspace(0, np.log2(self.limit), 1200, base=2)).astype(np.int64))
        reserved = np.array([kmalloc_size_roundup(int(s), page_size=self.page_size,
                                                  max_page_order=self.max_page_order) for s in sizes], dtype=float)
        self.x_scale = bq.LogScale(min=1.0, max=float(_MAX_SHOWN))
        self.y_scale = bq.LogScale(min=1.0, max=float(_MAX_SHOWN))
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.curve = bq.Lines(x=sizes.astype(float), y=reserved, scales=scales, colors=[_ROUNDUP_COLOR],
                              labels=["bytes reserved"], interpolation="step-after")
        self.diagonal = bq.Lines(x=[1.0, float(_MAX_SHOWN)], y=[1.0, float(_MAX_SHOWN)], scales=scales,
                                 colors=["#999999"], line_style="dashed", labels=["bytes asked for"])
        self.walls = bq.Lines(x=[[self.cache_limit] * 2, [self.limit] * 2], y=[[1.0, _MAX_SHOWN]] * 2, scales=scales,
                              colors=[_PAGES_COLOR, _WALL_COLOR], stroke_width=2,
                              labels=[f"KMALLOC_MAX_CACHE_SIZE ({format_size(self.cache_limit)})",
                                      f"KMALLOC_MAX_SIZE ({format_size(self.limit)})"])
        self.marker = bq.Scatter(x=[1.0], y=[1.0], scales=scales, colors=["#000000"], default_size=64)
        axes = [bq.Axis(scale=self.x_scale, label="requested size (bytes)", tick_format="~s"),
                bq.Axis(scale=self.y_scale, side="left", label="bytes reserved", tick_format="~s")]
        self.figure = bq.Figure(marks=[self.diagonal, self.curve, self.walls, self.marker], axes=axes,
                                fig_margin={"top": 20, "bottom": 45, "left": 65, "right": 20},
                                layout=widgets.Layout(width=f"{width}px", height="360px"),
                                title="kmalloc(size): where it lands")
        # the legend goes under the figure: inside it, it covered the staircase and the title
        self.legend = widgets.HTML(palette.legend_html([
            ("bytes reserved", _ROUNDUP_COLOR), ("bytes asked for (dashed)", "#999999"),
            (f"KMALLOC_MAX_CACHE_SIZE ({format_size(self.cache_limit)}): pages above it", _PAGES_COLOR),
            (f"KMALLOC_MAX_SIZE ({format_size(self.limit)}): kmalloc fails above it", _WALL_COLOR),
            ("the size picked", "#000000")]), layout=widgets.Layout(width=f"{width}px"))
        self.slider = widgets.FloatLogSlider(value=100, base=2, min=0, max=23, step=0.05, description="size",
                                             readout_format=".0f", continuous_update=True,
                                             layout=widgets.Layout(width=f"{width}px"))
        self.readout = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        self._quiet = False
        self.slider.observe(self._slid, names="value")

    def _slid(self, change) -> None:
        if not self._quiet:
            self.pick(int(round(change["new"])))

    def pick(self, size: int) -> None:
        """Show what ``kmalloc(size)`` does."""
        size = int(size)
        self.info = describe_request(size, nr_cpus=self.nr_cpus, page_size=self.page_size,
                                     max_page_order=self.max_page_order)
        shown = float(min(max(size, 1), _MAX_SHOWN))
        with self.marker.hold_sync():
            self.marker.x, self.marker.y = [shown], [float(max(self.info["reserved"], 1))]
        if abs(self.slider.value - size) > 0.5:
            self._quiet = True                      # the slider snaps to its steps: keep the exact size picked
            try:
                self.slider.value = max(1, min(size, _MAX_SHOWN))
            finally:
                self._quiet = False
        self.readout.value = f"<div style='font-size:13px'>{self.info['text']}</div>"

    def set_nr_cpus(self, nr_cpus: int) -> None:
        """Redo the readout with another CPU count (SLUB's order depends on it)."""
        self.nr_cpus = int(nr_cpus)
        self.pick(self.info.get("size", 100))
