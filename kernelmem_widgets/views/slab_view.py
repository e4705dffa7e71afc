"""One kmem cache's slabs: how full each one is, which list it is on, and what /proc/slabinfo counts.

One horizontal bar per slab, stacked in three parts: objects a caller holds; objects free but
counted *active* by /proc/slabinfo; objects free and counted free.  What counts is
:func:`slabinfo_free_per_slab`, the per-slab share of ``get_slabinfo()``: in SLUB (mm/slub.c,
Linux 6.18) ``count_partial_free_approx()`` counts only the free objects of slabs on the node's
partial list, so the free objects of the cpu slab and of the cpu partial slabs are "active"; in
SLAB (mm/slab.c, Linux 6.3) objects parked in the per-cpu arrays are active, the rest of a slab's
free objects are free.  The caption's "active" is ``get_slabinfo()`` itself, the same number as
the lab's status line and the slabtop table.  Under SLOB the bars are heap pages counted in 2-byte
units (``SLOB_UNIT``), and there is no /proc/slabinfo to cite.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.errors import KernelMemError
from ..model.slab.slab_stats import STATE_CODES
from ..model.units import format_size
from . import palette
from ._binding import ModelWatcher
from ._marks import integer_ticks, plural, set_categories

__all__ = ["SlabView", "SLAB_COLORS", "SLAB_PARTS", "slabinfo_free_per_slab", "slab_parts"]

#: held by a caller / free but counted active / free and counted free: vermillion (kernel memory), its tint, grey
SLAB_COLORS = ("#D55E00", "#F2B38C", "#E4E4E4")
#: What each part of a bar is, in the legend's words.
SLAB_PARTS = ("held by a caller", "free, counted active by /proc/slabinfo", "free, counted free")
_STATE_NAMES = {code: name for name, code in STATE_CODES.items()}


def slabinfo_free_per_slab(table: dict[str, np.ndarray], allocator: str) -> np.ndarray:
    """Per slab, the free objects /proc/slabinfo counts as free (its sum is ``num_objs - active_objs``).

    SLUB's ``get_slabinfo()`` adds ``slab->objects - slab->inuse`` over the node partial list only
    (``count_partial_free_approx()``, exact up to ``MAX_PARTIAL_TO_SCAN`` slabs); SLAB's counts every
    object not ``active`` in its slab (objects in the per-cpu arrays are ``active``).
    """
    free = table["objects"] - table["inuse"]
    if allocator == "slub":
        return np.where(table["state"] == STATE_CODES["partial"], free, 0)
    return free


def slab_parts(table: dict[str, np.ndarray], allocator: str) -> np.ndarray:
    """``[held, free counted active, free counted free]`` per slab: the three parts of each bar."""
    held = table["live"]
    counted_free = slabinfo_free_per_slab(table, allocator)
    return np.vstack([held, table["objects"] - held - counted_free, counted_free]).astype(np.int64)


class SlabView(widgets.VBox):
    """The slabs of one cache of ``machine.slab``, redrawn once per user action.

    Parameters
    ----------
    machine : Machine
    cache : str
        Cache name (``kmalloc-128``, ``dma-kmalloc-512``, a cache you created).
    max_slabs : int
        Bars drawn at most (cpu slabs first, then partial, then full); the caption counts the rest.

    Attributes
    ----------
    table : dict of numpy.ndarray
        ``slab_table()`` of the cache as last drawn.
    bars : bqplot.Bars
        ``bars.y`` is :func:`slab_parts` of the slabs shown (held, free counted active, free counted
        free), last slab first: the first slab is drawn at the top.
    slabinfo : dict or None
        ``get_slabinfo()`` of the cache (None under SLOB): the caption's numbers.
    labels : list of str
        The bar labels (``0x12 cpu``).
    header, caption : ipywidgets.HTML
    redraw_count : int

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> machine = Machine.preset("linux-6.18-tiny", nr_cpus=2)
    >>> view = SlabView(machine, "kmalloc-128")
    >>> ptrs = [machine.slab.kmalloc(100) for _ in range(33)]
    >>> view.labels, view.bars.y[:, ::-1].tolist()
    (['0x1 cpu', '0x0 full'], [[1, 32], [31, 0], [0, 0]])
    >>> for ptr in ptrs[:8]:
    ...     machine.slab.kfree(ptr)
    >>> view.labels, view.bars.y[:, ::-1].tolist(), view.slabinfo["active_objs"]
    (['0x1 cpu', '0x0 cpu partial'], [[1, 24], [31, 8], [0, 0]], 64)
    """

    def __init__(self, machine, cache: str = "kmalloc-128", *, max_slabs: int = 40, width: int = 560) -> None:
        self.machine, self.cache_name, self.max_slabs, self.width = machine, cache, max_slabs, width
        self.table: dict[str, np.ndarray] = {}
        self.labels: list[str] = []
        self.slabinfo: dict | None = None
        self.redraw_count = 0
        self.header = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        self.caption = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        self._build_figure()
        self.legend = widgets.HTML(palette.legend_html(list(zip(SLAB_PARTS, SLAB_COLORS))))
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        super().__init__(children=[self.header, self.figure, self.legend, self.caption])
        self.caption.add_class("kmw-caption")
        self.add_class("kmw-slab-view")   # browser tests find the view by it
        self.refresh()

    def _build_figure(self) -> None:
        self.y_scale = bq.OrdinalScale()
        self.x_scale = bq.LinearScale(min=0.0, max=1.0)
        self.bars = bq.Bars(x=["-"], y=np.zeros((3, 1)), scales={"x": self.y_scale, "y": self.x_scale},
                            orientation="horizontal", type="stacked", colors=list(SLAB_COLORS), padding=0.15,
                            stroke="#3A3A3A", stroke_width=0.3,
                            labels=["held", "cached per CPU", "free on the slab"])
        self.value_axis = bq.Axis(scale=self.x_scale, label="objects", tick_format="d", tick_values=integer_ticks(1))
        axes = [bq.Axis(scale=self.y_scale, side="left", label="slab (first pfn, list)", label_offset="100px"),
                self.value_axis]
        self.figure = bq.Figure(marks=[self.bars], axes=axes,
                                fig_margin={"top": 10, "bottom": 40, "left": 120, "right": 15},
                                layout=widgets.Layout(width=f"{self.width}px", height="420px"))
        # A fixed height: a figure that resizes on every redraw relayouts its axes each time, and
        # the bars only get thinner as slabs are added.

    @property
    def cache(self):
        """The cache drawn, looked up again on every redraw (a reset or reboot makes new caches)."""
        return self.machine.slab.cache(self.cache_name)

    def select_cache(self, name: str) -> None:
        """Draw another cache."""
        self.cache_name = name
        self.refresh()

    def pages(self) -> list[tuple[int, int]]:
        """(pfn, order) of every slab of the cache, to outline in a memory map."""
        if not self.table:
            return []
        return list(zip(self.table["pfn"].tolist(), self.table["order"].tolist()))

    def refresh(self) -> None:
        """Recompute the bars from the model's ``slab_table()``."""
        slab = self.machine.slab
        try:
            cache = self.cache if slab.allocator != "slob" else None
            table = slab.slab_table(cache)
        except KernelMemError as error:
            self.table, self.labels, self.slabinfo = {}, [], None
            self.header.value = f"<b>{self.cache_name}</b>: {error}"
            self.caption.value = ""
            self._draw(["-"], np.zeros((3, 1)), 1, "objects")
            self.redraw_count += 1
            return
        self.table = table
        shown = slice(0, self.max_slabs)
        objects = table["objects"][shown]
        states = [_STATE_NAMES[int(code)] for code in table["state"][shown]]
        slob = slab.allocator == "slob"
        self.labels = [f"{pfn:#x} {state}" for pfn, state in zip(table["pfn"][shown].tolist(), states)]
        parts = slab_parts({key: value[shown] for key, value in table.items()}, slab.allocator)
        top = int(objects.max()) if len(objects) else 1
        self.slabinfo = None if slob else cache.get_slabinfo()
        self._draw(self.labels or ["(no slabs)"], parts if len(objects) else np.zeros((3, 1)), max(top, 1),
                   "2-byte SLOB units" if slob else "objects")
        self.header.value = self._header(slab, cache)
        self.legend.value = palette.legend_html(list(zip(
            ("used", "-", "free") if slob else SLAB_PARTS, SLAB_COLORS))[::2 if slob else 1])
        self.caption.value = self._slob_caption(table) if slob else self._caption(table)
        self.redraw_count += 1

    def _draw(self, labels, y, top, unit: str) -> None:
        with self.figure.hold_sync():
            self.x_scale.max = float(top)
            self.value_axis.tick_values = integer_ticks(top)
            self.value_axis.label = unit
            # a vertical ordinal axis draws its first category at the bottom (``reverse`` does not
            # change that for horizontal bars): hand the slabs over bottom first, so the cpu slab is on top
            set_categories(self.bars, self.y_scale, list(labels)[::-1], y=y[:, ::-1].astype(np.int64))

    def _header(self, slab, cache) -> str:
        if slab.allocator == "slob":
            return (f"<b>SLOB heap</b> ({slab.nr_cpus} CPUs): no per-cache slabs; every kmalloc and cache shares "
                    f"{plural(len(self.table.get('pfn', ())), 'heap page')} (bars count 2-byte SLOB units)")
        extra = ""
        if hasattr(cache, "min_partial"):
            extra = (f", min_partial {cache.min_partial}, cpu_partial {cache.cpu_partial} "
                     f"({cache.cpu_partial_slabs} slabs per CPU)")
        elif hasattr(cache, "limit"):
            extra = f", tunables limit {cache.limit} batchcount {cache.batchcount} shared {cache.shared}"
        return (f"<b>{cache.name}</b> ({slab.allocator.upper()}, {slab.nr_cpus} CPUs): object_size "
                f"{cache.object_size}, slab_size {cache.size}, align {cache.align}, order {cache.order} "
                f"({format_size(cache.page_size << cache.order)}), {cache.objs_per_slab} objects per slab, "
                f"{cache.leftover} bytes left over per slab{extra}")

    def _caption(self, table) -> str:
        counts = {name: int((table["state"] == code).sum()) for name, code in STATE_CODES.items()}
        total = len(table["pfn"])
        listed = ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none"
        more = f" (showing {self.max_slabs})" if total > self.max_slabs else ""
        held, info = int(table["live"].sum()), self.slabinfo
        return (f"{plural(total, 'slab')}{more}: {listed}. {held:,} of {plural(info['num_objs'], 'object')} held; "
                f"/proc/slabinfo says {info['active_objs']:,} active")

    def _slob_caption(self, table) -> str:
        units, used = int(table["objects"].sum()), int(table["inuse"].sum())
        return (f"{plural(len(table['pfn']), 'heap page')}: {used:,} of {plural(units, 'unit')} in use "
                "(SLOB keeps no per-cache counts; there is no /proc/slabinfo with SLOB)")

    def close(self) -> None:
        self.watcher.close()
        super().close()
