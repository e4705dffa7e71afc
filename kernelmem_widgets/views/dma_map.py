"""The buddy memory map of a DMA machine: CMA pageblocks coloured, buffers shown, migrations drawn.

:class:`CmaMemoryMap` is :class:`~.memory_map.MemoryMap` with three additions, all computed from the
model at each redraw: a free page in a MIGRATE_CMA pageblock is drawn in the CMA tint (in bins
mode too, where the plain map mixes every free page into one grey), the pages a live
``cma_alloc()`` allocation holds are drawn in :data:`~.palette.CMA_BUFFER_COLOR`, and after
``alloc_contig_range()`` migrated pages out of the way (the ``mm_migrate_pages`` event) a line
goes from each moved block's old place to its new one (at most :data:`MAX_MIGRATION_LINES`,
evenly sampled), with the count in the caption.  Marks are replaced, never mutated in place.
"""

from __future__ import annotations

import bqplot as bq
import numpy as np

from ..model.page_alloc.mmzone import MIGRATE_CMA, MIGRATE_TYPES, MIGRATE_UNMOVABLE
from ..model.page_alloc.snapshot import downsampled_map, free_blocks
from . import palette
from .memory_map import MemoryMap

__all__ = ["CmaMemoryMap", "MAX_MIGRATION_LINES"]

MAX_MIGRATION_LINES = 300

_CMA_LEGEND = [("free (CMA pageblock)", palette.CMA_FREE_COLOR), ("cma_alloc() buffer", palette.CMA_BUFFER_COLOR),
               ("migrated: old -> new place", palette.MIGRATION_COLOR)]


def _zone_of_cma(machine):
    state = machine._dma
    if state is not None and state.default_cma is not None:
        return state.default_cma.zone
    return None


class CmaMemoryMap(MemoryMap):
    """A zone of a DMA machine (default: the zone holding the CMA area).

    Attributes (besides :class:`MemoryMap`'s)
    ----------------------------------------
    last_migration : dict
        old pfn -> new pfn of the last migration the model announced (cleared on reset).
    migration_mark : bqplot.Lines
        The old -> new lines of that migration that fall in the drawn zone.
    migration_lines : int
        How many lines it draws.
    """

    def __init__(self, machine, zone: str | None = None, **kwargs) -> None:
        self.machine = machine
        self.last_migration: dict[int, int] = {}
        self.migration_lines = self.migrations_in_zone = 0
        self.migration_mark = None
        zone = zone if zone is not None else _zone_of_cma(machine)
        self._unsubscribe_migrations = machine.bus.subscribe(self._follow_migrations)
        super().__init__(machine, zone, **kwargs)
        self.add_class("kmw-cma-map")

    def _build_figure(self) -> None:
        super()._build_figure()
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.migration_mark = bq.Lines(x=np.zeros(1), y=np.zeros(1), scales=scales, colors=[palette.MIGRATION_COLOR],
                                       stroke_width=1.2, opacities=[0.9], visible=False)
        self.figure.marks = [self.image_mark, self.outline_mark, self.migration_mark, self.highlight_mark]

    # ------------------------------------------------------------------ model state
    def _cma_areas(self):
        state = self.machine._dma
        return [] if state is None else [cma for cma in state.cma_areas if cma.zone == self.zone.name]

    def _follow_migrations(self, event) -> None:
        if event.kind == "mm_migrate_pages" and event.data.get("moved"):
            self.last_migration = dict(event.data["moved"])
        elif event.kind == "reset":
            self.last_migration = {}

    def clear_migration(self) -> None:
        self.last_migration = {}
        self.redraw()

    # ------------------------------------------------------------------ cells
    def _page_cells(self, zone):
        cells, outline_x, outline_y = super()._page_cells(zone)
        flat = cells.reshape(-1, 3)
        for cma in self._cma_areas():
            for pfn, count in cma.allocations.items():
                flat[pfn - self.origin:pfn + count - self.origin] = palette.hex_to_rgb(palette.CMA_BUFFER_COLOR)
        return cells, outline_x, outline_y

    def _bin_cells(self, zone):
        bins = downsampled_map(zone, self.nr_bins)
        first_pfn, per_bin = bins["first_pfn"], int(bins["pages_per_bin"])
        self.mode, self.pages_per_cell, self.bins = "bins", per_bin, bins
        self.origin = int(first_pfn[0])
        self.rows = -(-len(first_pfn) // self.columns)
        nr = len(first_pfn)
        in_zone = np.clip(np.minimum(first_pfn + per_bin, zone.end_pfn) - np.maximum(first_pfn, zone.start_pfn),
                          0, per_bin)
        allocated = bins["allocated"].astype(np.int64).copy()
        free_cma = np.zeros(nr, dtype=np.int64)
        blocks = free_blocks(zone)
        cma_blocks = blocks.migratetype == MIGRATE_CMA
        np.add.at(free_cma, (blocks.pfn[cma_blocks] - self.origin) // per_bin,
                  1 << blocks.order[cma_blocks].astype(np.int64))
        buffer = np.zeros(nr, dtype=np.int64)
        for cma in self._cma_areas():
            for pfn, count in cma.allocations.items():
                for index in range((pfn - self.origin) // per_bin, (pfn + count - 1 - self.origin) // per_bin + 1):
                    lo = self.origin + index * per_bin
                    buffer[index] += min(pfn + count, lo + per_bin) - max(pfn, lo)
        allocated[MIGRATE_UNMOVABLE] -= np.minimum(buffer, allocated[MIGRATE_UNMOVABLE])
        free_plain = bins["free"] - free_cma
        reserved = in_zone - bins["free"] - bins["allocated"].sum(axis=0)
        shares = np.column_stack([free_plain, free_cma, allocated.T, buffer, reserved, per_bin - in_zone]) / per_bin
        sources = np.array([palette.hex_to_rgb(color) for color in
                            [palette.FREE_COLOR, palette.CMA_FREE_COLOR]
                            + [palette.migratetype_color(mt) for mt in range(MIGRATE_TYPES)]
                            + [palette.CMA_BUFFER_COLOR, palette.RESERVED_COLOR, palette.OUTSIDE_COLOR]],
                           dtype=float)
        cells = np.empty((self.rows * self.columns, 3), dtype=np.uint8)
        cells[:] = palette.hex_to_rgb(palette.OUTSIDE_COLOR)
        cells[:nr] = np.rint(shares @ sources).astype(np.uint8)
        return (cells.reshape(self.rows, self.columns, 3), *self._outline_path(np.zeros((0, 5)), np.zeros((0, 5))))

    # ------------------------------------------------------------------ drawing
    def point_of(self, pfn: int) -> tuple[float, float]:
        """Plot coordinates of the middle of ``pfn``'s cell."""
        row_pages = self.columns * self.pages_per_cell
        offset = pfn - self.origin
        return float(offset % row_pages + self.pages_per_cell / 2), \
            float(self.origin + (offset // row_pages + 0.5) * row_pages)

    def redraw(self) -> None:
        super().redraw()
        if self.migration_mark is None:
            return
        zone = self.zone
        pairs = [(old, new) for old, new in sorted(self.last_migration.items())
                 if zone.contains(old) and zone.contains(new)]
        self.migrations_in_zone = len(pairs)
        if len(pairs) > MAX_MIGRATION_LINES:
            pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, MAX_MIGRATION_LINES).astype(int)]
        self.migration_lines = len(pairs)
        with self.migration_mark.hold_sync():
            if pairs:
                xs, ys = [], []
                for old, new in pairs:
                    (x0, y0), (x1, y1) = self.point_of(old), self.point_of(new)
                    xs += [x0, x1, np.nan]
                    ys += [y0, y1, np.nan]
                self.migration_mark.x, self.migration_mark.y = np.array(xs[:-1]), np.array(ys[:-1])
            else:
                self.migration_mark.x, self.migration_mark.y = np.zeros(1), np.full(1, float(self.origin))
            self.migration_mark.visible = bool(pairs)
        self.legend.value = self.legend.value[:-len("</div>")] + palette.legend_html(_CMA_LEGEND)[
            len("<div style='font-size:11px;line-height:1.6'>"):]
        self.caption.value = self.caption.value + self._cma_caption()

    def _cma_caption(self) -> str:
        parts = []
        for cma in self._cma_areas():
            parts.append(f"CMA area <b>{cma.name}</b> pfns {cma.base_pfn:#x}-{cma.end_pfn - 1:#x} "
                         f"({palette.size_label(cma.size)}), {cma.count - cma.available_count:,} pages in "
                         "cma_alloc() buffers")
        if self.last_migration:
            elsewhere = len(self.last_migration) - self.migrations_in_zone
            parts.append(f"last migration: {len(self.last_migration):,} blocks moved out of the way"
                         + (f" ({elsewhere:,} to another zone)" if elsewhere else ""))
        return ("<br>" + "; ".join(parts)) if parts else ""

    def close(self) -> None:
        self._unsubscribe_migrations()
        super().close()
