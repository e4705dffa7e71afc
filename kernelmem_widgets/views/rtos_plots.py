"""Chapter 7's comparison plots: internal waste by request size, and free bytes over a trace.

``WasteBySize`` groups the requests of a trace in size buckets and shows, per allocator, the
mean bytes reserved beyond the request (headers and rounding); the Linux kmalloc size classes
(:func:`~kernelmem_widgets.model.slab.kmalloc.kmalloc_size_roundup`, Linux 6.18, x86-64) are one
more series, since a kmalloc cache is the kernel's fixed-size partition.  ``FreeBytesTimeline``
draws, operation by operation, the free bytes and the largest free block of one run.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.slab.kmalloc import kmalloc_size_roundup

__all__ = ["WasteBySize", "FreeBytesTimeline", "kmalloc_reserved", "waste_table", "SERIES_COLORS"]

#: One colour per series, Okabe-Ito order (partitions, newlib-nano, TLSF, kmalloc, a single block size).
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")


def kmalloc_reserved(size: int) -> int:
    """Bytes a kmalloc cache object of Linux 6.18 (x86-64, 4 KiB pages) reserves for ``size``."""
    return kmalloc_size_roundup(max(int(size), 1))


def waste_table(runs: dict, bucket: int = 50, high: int = 800, kmalloc_sizes=None) -> tuple[list[str], dict]:
    """``(bucket labels, {series: mean waste per bucket})`` from ``{name: TraceRun}``.

    ``kmalloc_sizes`` (the trace's sizes) adds a "Linux kmalloc" series.
    """
    edges = list(range(0, high + bucket, bucket))
    labels = [f"{low}-{low + bucket - 1}" for low in edges[:-1]]
    table = {}
    for name, run in runs.items():
        sums, counts = np.zeros(len(labels)), np.zeros(len(labels))
        for size, reserved in run.reserved_by_size.items():
            index = min(size // bucket, len(labels) - 1)
            sums[index] += sum(reserved) - size * len(reserved)
            counts[index] += len(reserved)
        table[name] = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    if kmalloc_sizes is not None:
        sums, counts = np.zeros(len(labels)), np.zeros(len(labels))
        for size in np.asarray(kmalloc_sizes).tolist():
            index = min(size // bucket, len(labels) - 1)
            sums[index] += kmalloc_reserved(size) - size
            counts[index] += 1
        table["Linux kmalloc"] = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return labels, table


class WasteBySize(widgets.VBox):
    """Grouped bars: mean internal waste (bytes) per request-size bucket, one colour per allocator.

    Attributes
    ----------
    bars : bqplot.Bars
        ``bars.y`` is ``(series, buckets)``; ``bars.labels`` the series names.
    table : dict
        The numbers drawn.
    """

    def __init__(self, *, bucket: int = 50, width: int = 620) -> None:
        self.bucket = bucket
        self.table: dict[str, np.ndarray] = {}
        self.x_scale = bq.OrdinalScale()
        self.y_scale = bq.LinearScale(min=0.0)
        self.bars = bq.Bars(x=["-"], y=np.zeros((1, 1)), scales={"x": self.x_scale, "y": self.y_scale},
                            type="grouped", colors=list(SERIES_COLORS), labels=["-"], display_legend=True,
                            padding=0.1)
        self.figure = bq.Figure(marks=[self.bars], axes=[
            bq.Axis(scale=self.x_scale, label="request size (bytes)", tick_rotate=-40),
            bq.Axis(scale=self.y_scale, side="left", label="mean waste per request (bytes)",
                    tick_format="d", label_offset="45px")],
            legend_location="top-left", fig_margin={"top": 20, "bottom": 70, "left": 65, "right": 10},
            layout=widgets.Layout(width=f"{width}px", height="340px"))
        self.caption = widgets.HTML()
        super().__init__(children=[self.figure, self.caption])

    def show(self, runs: dict, kmalloc_sizes=None) -> None:
        labels, table = waste_table(runs, self.bucket, kmalloc_sizes=kmalloc_sizes)
        self.table = table
        names = list(table)
        y = np.vstack([table[name] for name in names]) if names else np.zeros((1, len(labels)))
        with self.figure.hold_sync():
            self.y_scale.max = float(max(y.max(), 1.0) * 1.1)
            self.bars.x, self.bars.y = labels, y
            self.bars.labels = names or ["-"]
            self.bars.colors = list(SERIES_COLORS[:max(len(names), 1)])
        self.caption.value = "; ".join(f"{name}: {float(np.mean(values[values > 0])) if (values > 0).any() else 0:.0f} "
                                       "B mean over the buckets used" for name, values in table.items())


class FreeBytesTimeline(widgets.VBox):
    """Free bytes and largest free block after each operation of a run (one allocator)."""

    def __init__(self, *, width: int = 620) -> None:
        self.x_scale = bq.LinearScale(min=0.0)
        self.y_scale = bq.LinearScale(min=0.0)
        self.lines = bq.Lines(x=np.zeros((2, 1)), y=np.zeros((2, 1)), scales={"x": self.x_scale, "y": self.y_scale},
                              colors=["#0072B2", "#D55E00"], labels=["free bytes", "largest free block"],
                              display_legend=True, stroke_width=1.5)
        self.figure = bq.Figure(marks=[self.lines], axes=[
            bq.Axis(scale=self.x_scale, label="operation of the trace", tick_format="d"),
            bq.Axis(scale=self.y_scale, side="left", label="bytes", tick_format="d", label_offset="50px")],
            legend_location="top-right", fig_margin={"top": 20, "bottom": 45, "left": 70, "right": 10},
            layout=widgets.Layout(width=f"{width}px", height="260px"))
        self.title = widgets.HTML()
        super().__init__(children=[self.title, self.figure])

    def show(self, run) -> None:
        n = len(run.free_bytes)
        x = np.arange(max(n, 1), dtype=float)
        free = run.free_bytes.astype(float) if n else np.zeros(1)
        largest = run.largest_free.astype(float) if n else np.zeros(1)
        with self.figure.hold_sync():
            self.x_scale.max = float(max(n - 1, 1))
            self.y_scale.max = float(max(free.max(), 1.0) * 1.05)
            self.lines.x, self.lines.y = np.vstack([x, x]), np.vstack([free, largest])
        self.title.value = f"<b>{run.allocator}</b> on {run.trace}: {n} operations played"
