"""Tables of the slab layer: a slabtop-like cache table, and SLUB's geometry for a chosen CPU count."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..model.errors import KernelMemError
from ..model.slab.kmalloc import KMALLOC_INFO, kmalloc_indexes
from ..model.slab.slub import KmemCache
from ._binding import ModelWatcher

__all__ = ["SlabTop", "SlubGeometry", "CPU_CHOICES"]

_COLUMNS = (("objs", "OBJS"), ("active", "ACTIVE"), ("use", "USE"), ("obj_size", "OBJ SIZE"), ("slabs", "SLABS"),
            ("obj_per_slab", "OBJ/SLAB"), ("cache_size", "CACHE SIZE"), ("name", "NAME"))
_SORTS = {"cache size": "cache_size", "objects": "objs", "active": "active", "use %": "use", "object size": "obj_size",
          "slabs": "slabs", "name": "name"}
CPU_CHOICES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256)
_CELL = "padding:1px 8px;text-align:right;font-family:monospace;font-size:12px"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th style='{_CELL}'>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='{_CELL}'>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table>"


class SlabTop(widgets.VBox):
    """slabtop (procps) for the model: one row per cache, sortable, empty caches hidden on request.

    Attributes
    ----------
    rows : list of dict
        The rows shown (``SlabAllocator.slabtop()``), in order.
    sort, nonempty : ipywidgets controls
    html : ipywidgets.HTML
    """

    def __init__(self, machine, *, sort: str = "cache size", nonempty: bool = True, limit: int = 30) -> None:
        self.machine, self.limit = machine, limit
        self.rows: list[dict] = []
        self.sort = widgets.Dropdown(options=list(_SORTS), value=sort, description="sort by",
                                     layout=widgets.Layout(width="220px"))
        self.nonempty = widgets.Checkbox(value=nonempty, description="hide empty caches")
        self.html = widgets.HTML()
        self.sort.observe(lambda _change: self.refresh(), names="value")
        self.nonempty.observe(lambda _change: self.refresh(), names="value")
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        super().__init__(children=[widgets.HBox([self.sort, self.nonempty]), self.html])
        self.refresh()

    def refresh(self) -> None:
        try:
            rows = self.machine.slab.slabtop(sort=_SORTS[self.sort.value])
        except KernelMemError as error:
            self.rows = []
            self.html.value = html.escape(str(error))
            return
        if self.nonempty.value:
            rows = [row for row in rows if row["objs"]]
        self.rows = rows
        total_objs = sum(r["objs"] for r in rows)
        total_active = sum(r["active"] for r in rows)
        size = sum(r["cache_size"] for r in rows)
        summary = (f"Active / Total Objects (% used): {total_active} / {total_objs} "
                   f"({100 * total_active / total_objs if total_objs else 0:.1f}%) &nbsp; "
                   f"Total Size: {size / 1024:.2f}K")
        cells = [[str(r["objs"]), str(r["active"]), f"{r['use']}%", f"{r['obj_size'] / 1024:.2f}K", str(r["slabs"]),
                  str(r["obj_per_slab"]), f"{r['cache_size'] // 1024}K", r["name"]] for r in rows[:self.limit]]
        more = f"<div>... and {len(rows) - self.limit} more</div>" if len(rows) > self.limit else ""
        self.html.value = f"<div style='font-family:monospace'>{summary}</div>" + \
            _table([label for _key, label in _COLUMNS], cells) + more

    def close(self) -> None:
        self.watcher.close()
        super().close()


class SlubGeometry(widgets.VBox):
    """SLUB's order and objects per slab of every kmalloc size for a CPU count picked live.

    ``calculate_order()`` takes ``min_objects = 4 * (fls(nr_cpus) + 1)``: more CPUs, bigger slabs.

    Attributes
    ----------
    nr_cpus : ipywidgets.Dropdown
    rows : list of dict
        ``size, order, objs_per_slab, pages, leftover`` per kmalloc cache.
    """

    def __init__(self, *, nr_cpus: int = 4, page_size: int = 4096) -> None:
        self.page_size = page_size
        options = sorted(set(CPU_CHOICES) | {int(nr_cpus)})
        self.nr_cpus = widgets.Dropdown(options=options, value=int(nr_cpus), description="nr_cpus",
                                        layout=widgets.Layout(width="180px"), style={"description_width": "60px"})
        self.html = widgets.HTML()
        self.rows: list[dict] = []
        self.nr_cpus.observe(lambda _change: self.refresh(), names="value")
        super().__init__(children=[self.nr_cpus, self.html])
        self.refresh()

    def refresh(self) -> None:
        cpus = self.nr_cpus.value
        rows = []
        for index in sorted(kmalloc_indexes(self.page_size), key=lambda i: KMALLOC_INFO[i][0]):
            size = KMALLOC_INFO[index][0]
            cache = KmemCache(f"kmalloc-{KMALLOC_INFO[index][1]}", size, kmalloc=True, nr_cpus=cpus,
                              page_size=self.page_size)
            rows.append({"name": cache.name, "size": size, "order": cache.order, "objs_per_slab": cache.objs_per_slab,
                         "pages": 1 << cache.order, "leftover": cache.leftover})
        self.rows = rows
        min_objects = 4 * (int(cpus).bit_length() + 1)
        cells = [[r["name"], str(r["order"]), str(r["pages"]), str(r["objs_per_slab"]), str(r["leftover"])]
                 for r in rows]
        self.html.value = (f"<div>min_objects = 4 * (fls({cpus}) + 1) = <b>{min_objects}</b></div>"
                           + _table(["cache", "order", "pages", "objs/slab", "left over"], cells))
