"""Where a buffer lies in physical memory: its runs (SG segments) as bars along the address axis.

:class:`SgListView` draws the physical runs of a route's result (one run for a CMA buffer, one
per SG entry for the "split it into small buffers" route or a vmalloc buffer) as bars: a bar's
left edge is the run's physical address (MiB), its height the run's length in pages, so a
contiguous 100 MiB buffer is one tall bar and an SG list a comb of short ones.  At most
:data:`MAX_BARS` bars are sent (runs are merged into buckets of the axis beyond that, and the
caption says so); the mark's data is replaced at each :meth:`show`, never mutated in place.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from . import palette
from ._marks import integer_ticks, plural

__all__ = ["SgListView", "MAX_BARS", "runs_caption"]

MAX_BARS = 512
_MiB = 1 << 20


def runs_caption(runs: list[tuple[int, int]], page_size: int = 4096, what: str = "") -> str:
    """One line: how many runs, how many pages, the largest run; the text the view and the lab share."""
    if not runs:
        return f"{what}: nothing held" if what else "nothing held"
    pages = sum(count for _pfn, count in runs)
    largest = max(count for _pfn, count in runs)
    text = (f"{plural(len(runs), 'physically contiguous run')}, {plural(pages, 'page')} "
            f"({palette.size_label(pages * page_size)}); largest run {palette.size_label(largest * page_size)}")
    return f"{what}: {text}" if what else text


class SgListView(widgets.VBox):
    """Bars along physical memory for a list of ``(first pfn, pages)`` runs.

    Attributes
    ----------
    runs : list of (int, int)
        What :meth:`show` was given.
    bar_x, bar_heights : numpy.ndarray
        The bars drawn: left edge in MiB of physical address, height in pages.
    """

    def __init__(self, *, ram_bytes: int, page_size: int = 4096, width: int = 560) -> None:
        self.page_size, self.ram_bytes = page_size, ram_bytes
        self.runs: list[tuple[int, int]] = []
        self.bar_x, self.bar_heights = np.zeros(1), np.zeros(1)
        self.x_scale = bq.LinearScale(min=0.0, max=float(ram_bytes / _MiB))
        self.y_scale = bq.LinearScale(min=0.0, max=1.0)
        self.bars = bq.Bars(x=np.zeros(1), y=np.zeros(1), scales={"x": self.x_scale, "y": self.y_scale},
                            colors=[palette.SG_SEGMENT_COLOR], padding=0.0, stroke=palette.SG_SEGMENT_COLOR)
        self.x_axis = bq.Axis(scale=self.x_scale, label="physical address (MiB)", tick_format="d")
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="pages in the run", tick_format="d")
        self.figure = bq.Figure(marks=[self.bars], axes=[self.x_axis, self.y_axis], padding_y=0,
                                fig_margin={"top": 10, "bottom": 40, "left": 60, "right": 12},
                                layout=widgets.Layout(width=f"{width}px", height="220px"))
        self.caption = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        self.caption.add_class("kmw-caption")
        super().__init__(children=[self.caption, self.figure])
        self.add_class("kmw-sg-list")
        self.show([])

    def show(self, runs, what: str = "") -> None:
        """Draw ``runs`` (``[(first pfn, pages), ...]``)."""
        self.runs = [(int(pfn), int(count)) for pfn, count in runs]
        page_mib = self.page_size / _MiB
        if self.runs:
            starts = np.array([pfn for pfn, _c in self.runs], dtype=float) * page_mib
            heights = np.array([count for _p, count in self.runs], dtype=float)
            if len(self.runs) > MAX_BARS:                   # bucket the axis: one bar per bucket, summed
                edges = np.linspace(0, self.ram_bytes / _MiB, MAX_BARS + 1)
                index = np.clip(np.searchsorted(edges, starts, side="right") - 1, 0, MAX_BARS - 1)
                summed = np.bincount(index, weights=heights, minlength=MAX_BARS)
                keep = np.flatnonzero(summed)
                starts, heights = edges[keep], summed[keep]
        else:
            starts, heights = np.zeros(1), np.zeros(1)
        self.bar_x, self.bar_heights = starts, heights
        top = float(max(heights.max(), 1.0))
        with self.figure.hold_sync():
            self.y_scale.min, self.y_scale.max = 0.0, top
            self.y_axis.tick_values = integer_ticks(top, 4)
            self.x_axis.tick_values = integer_ticks(self.ram_bytes / _MiB, 6)
            with self.bars.hold_sync():
                self.bars.x, self.bars.y = starts, heights          # new arrays: the front end repaints
        note = f" (drawn as {len(starts)} bars, runs summed per {self.ram_bytes / _MiB / MAX_BARS:.1f} MiB)" \
            if len(self.runs) > MAX_BARS else ""
        self.caption.value = runs_caption(self.runs, self.page_size, what) + note
