"""A TLB's sets and ways: which entries are valid, per array, and what the last stream cost.

Each array (dTLB 4K, dTLB 2M, STLB ...) is drawn as a grid, one row per set and one column per
way, a filled cell for a valid entry.  After a sequential stream over a large buffer every cell
is full and the hit column of the table is low; after a flush the grids are empty.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.mmu.tlb import Tlb, TlbStats

__all__ = ["TlbView", "grid_colors", "stats_table_html"]


def stats_table_html(results: dict[str, dict[str, int]]) -> str:
    """A table of stream results, one column per mapping (``compare_mappings()`` output)."""
    if not results:
        return ""
    keys = list(next(iter(results.values())))
    head = "".join(f"<th>{html.escape(name)}</th>" for name in results)
    rows = "".join(f"<tr><td>{html.escape(key)}</td>" + "".join(
        f"<td style='text-align:right'>{stats.get(key, 0):,}</td>" for stats in results.values()) + "</tr>"
        for key in keys)
    return f"<table class='kmw-stream'><tr><th></th>{head}</tr>{rows}</table>"


#: The colour of the padding cells :func:`grid_colors` adds (the figure's background: not seen).
PAD_COLOR = "#ffffff"


def grid_colors(occupancy: np.ndarray) -> np.ndarray:
    """The ``color`` array of one grid: 0/1 per (set, way), with a -1 row (column) under a single set (way).

    bqplot's ``GridHeatMap`` squeezes its ``color`` array, so a 1 x 4 array (Skylake's 1 GiB dTLB: one
    set of four ways) reaches the front end as four rows of no cell and nothing is drawn; a padding
    row of -1, drawn in :data:`PAD_COLOR` (the white of the figure), keeps it two-dimensional.  (A NaN
    is drawn black, not in ``null_color``.)
    """
    colors = np.array(occupancy, dtype=float)
    if colors.shape[0] == 1:
        colors = np.vstack([colors, np.full((1, colors.shape[1]), -1.0)])
    if colors.shape[1] == 1:
        colors = np.hstack([colors, np.full((colors.shape[0], 1), -1.0)])
    return colors


class TlbView(widgets.VBox):
    """The valid entries of every array of one TLB.

    Attributes
    ----------
    grids : dict of bqplot.GridHeatMap
        Per array name; ``color`` is a (sets, ways) array of 0 (empty) and 1 (valid), replaced
        whole on each refresh so that every front end repaints.
    caption : ipywidgets.HTML
    """

    def __init__(self, tlb: Tlb, *, height: int = 220) -> None:
        self.tlb = tlb
        self.grids: dict[str, bq.GridHeatMap] = {}
        figures = []
        for name, occupancy in tlb.occupancy().items():
            scales = {"row": bq.OrdinalScale(reverse=True), "column": bq.OrdinalScale(),
                      "color": bq.ColorScale(min=-1, max=1, colors=[PAD_COLOR, "#f0f0f0", "#0072B2"])}
            grid = bq.GridHeatMap(color=grid_colors(occupancy), scales=scales, stroke="white")
            self.grids[name] = grid
            figures.append(bq.Figure(marks=[grid], title=f"{name}: {occupancy.shape[0]} sets x {occupancy.shape[1]} ways",
                                     layout=widgets.Layout(width="240px", height=f"{height}px"),
                                     fig_margin={"top": 30, "bottom": 10, "left": 10, "right": 10}))
        self.caption = widgets.HTML()
        super().__init__(children=[widgets.HBox(figures, layout=widgets.Layout(flex_flow="row wrap")), self.caption])
        self.caption.add_class("kmw-caption")
        self.add_class("kmw-tlb-view")   # browser tests find the view by it
        self.refresh()

    def refresh(self, stats: TlbStats | None = None) -> None:
        """Redraw the grids from the TLB; ``stats`` of the last stream go in the caption."""
        with_valid = []
        for name, occupancy in self.tlb.occupancy().items():
            self.grids[name].color = grid_colors(occupancy)
            with_valid.append(f"{name} {int(occupancy.sum())}/{occupancy.size}")
        text = "valid entries: " + ", ".join(with_valid)
        if stats is not None:
            text += (f"<br>last stream: {stats.accesses:,} accesses, {stats.l1_hits:,} L1 hits, "
                     f"{stats.l2_hits:,} L2 hits, {stats.walks:,} page walks ({stats.walk_references:,} memory references)")
        self.caption.value = text
