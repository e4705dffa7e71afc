"""One kmem cache's slabs: how full each one is, and which list it is on.

One horizontal bar per slab, stacked: objects a caller holds, objects free but parked on a
per-cpu freelist (SLUB) or array (SLAB) - the kernel counts those as *active* in
/proc/slabinfo - and objects free on the slab's own freelist.  Each bar is labelled with the
slab's first pfn and its list (cpu, cpu partial, partial, full, free), so the reader sees SLUB
fill its cpu slab, move a slab to the cpu partial list on the first free, and give an empty
slab back only beyond ``min_partial``.  Under SLOB the bars are heap pages counted in 2-byte units.
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

__all__ = ["SlabView", "SLAB_COLORS"]

#: held by a caller / free but cached per cpu / free on the slab: vermillion (kernel memory), its tint, grey
SLAB_COLORS = ("#D55E00", "#F2B38C", "#E4E4E4")
_STATE_NAMES = {code: name for name, code in STATE_CODES.items()}


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
        ``bars.y`` is ``[held, cached, free]`` per slab shown.
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
    >>> view.labels, view.bars.y.tolist()
    (['0x1 cpu', '0x0 full'], [[1, 32], [31, 0], [0, 0]])
    """

    def __init__(self, machine, cache: str = "kmalloc-128", *, max_slabs: int = 40, width: int = 560) -> None:
        self.machine, self.cache_name, self.max_slabs, self.width = machine, cache, max_slabs, width
        self.table: dict[str, np.ndarray] = {}
        self.labels: list[str] = []
        self.redraw_count = 0
        self.header = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        self.caption = widgets.HTML(layout=widgets.Layout(width=f"{width}px"))
        self._build_figure()
        legend = palette.legend_html(list(zip(("held by a caller", "free, cached per CPU (counted active)",
                                               "free on the slab"), SLAB_COLORS)))
        self.legend = widgets.HTML(legend)
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        super().__init__(children=[self.header, self.figure, self.legend, self.caption])
        self.refresh()

    def _build_figure(self) -> None:
        self.y_scale = bq.OrdinalScale(reverse=True)
        self.x_scale = bq.LinearScale(min=0.0, max=1.0)
        self.bars = bq.Bars(x=["-"], y=np.zeros((3, 1)), scales={"x": self.y_scale, "y": self.x_scale},
                            orientation="horizontal", type="stacked", colors=list(SLAB_COLORS), padding=0.15,
                            stroke="#3A3A3A", stroke_width=0.3,
                            labels=["held", "cached per CPU", "free on the slab"])
        axes = [bq.Axis(scale=self.y_scale, side="left", label="slab (first pfn, list)", label_offset="100px"),
                bq.Axis(scale=self.x_scale, label="objects", tick_format="d")]
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
            self.table, self.labels = {}, []
            self.header.value = f"<b>{self.cache_name}</b>: {error}"
            self._draw(["-"], np.zeros((3, 1)), 1)
            self.redraw_count += 1
            return
        self.table = table
        shown = slice(0, self.max_slabs)
        objects, inuse, live = table["objects"][shown], table["inuse"][shown], table["live"][shown]
        states = [_STATE_NAMES[int(code)] for code in table["state"][shown]]
        self.labels = [f"{pfn:#x} {state}" for pfn, state in zip(table["pfn"][shown].tolist(), states)]
        held, cached, free = live, inuse - live, objects - inuse
        top = int(objects.max()) if len(objects) else 1
        self._draw(self.labels or ["(no slabs)"], np.vstack([held, cached, free]) if len(objects) else np.zeros((3, 1)),
                   max(top, 1))
        self.header.value = self._header(slab, cache)
        self.caption.value = self._caption(table)
        self.redraw_count += 1

    def _draw(self, labels, y, top) -> None:
        with self.figure.hold_sync():
            self.x_scale.max = float(top)
            self.bars.x, self.bars.y = labels, y.astype(np.int64)

    def _header(self, slab, cache) -> str:
        if slab.allocator == "slob":
            return (f"<b>SLOB heap</b>: no per-cache slabs; every kmalloc and cache shares "
                    f"{len(self.table.get('pfn', ()))} heap pages (bars count 2-byte units)")
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
        held, objects = int(table["live"].sum()), int(table["objects"].sum())
        return (f"{total} slabs{more}: {listed}. {held} of {objects} objects held; "
                f"/proc/slabinfo says {int(table['inuse'].sum())} active")

    def close(self) -> None:
        self.watcher.close()
        super().close()
