"""The pkmap window of mm/highmem.c: LAST_PKMAP slots coloured by ``pkmap_count``.

One cell per slot, 32 to a row (1024 slots non-PAE, 512 with PAE): free (count 0), mapped but
not flushed (count 1: nobody uses it, its TLB entry may still be live, so it cannot be reused
before ``flush_all_zero_pkmaps()``), in use (count >= 2).  A ring marks the slot
``map_new_virtual()`` examines next (``last_pkmap_nr + 1``); the counter line shows the wraps,
whole-window TLB flushes, PTE writes and reused mappings of ``KmapCounters``.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from . import palette
from ._binding import ModelWatcher
from ._marks import replace_image
from ._png import encode_png

__all__ = ["PkmapWindowView", "slot_states", "pkmap_image", "counters_text", "SLOTS_PER_ROW", "CELL"]

SLOTS_PER_ROW = 32
CELL = 8


def slot_states(space) -> list[str]:
    """``"free"``, ``"unflushed"`` or ``"in use"`` for each slot, from ``pkmap_count``."""
    return ["free" if count == 0 else "unflushed" if count == 1 else "in use" for count in space.pkmap_count]


def pkmap_image(space) -> np.ndarray:
    """RGB ``(rows * CELL, 32 * CELL, 3)``: slot ``nr`` at row ``nr // 32``, column ``nr % 32``."""
    rows = -(-space.last_pkmap // SLOTS_PER_ROW)
    table = {name: palette.hex_to_rgb(color) for name, color in palette.PKMAP_COUNT_COLORS.items()}
    cells = np.array([table[state] for state in slot_states(space)], dtype=np.uint8).reshape(rows, SLOTS_PER_ROW, 3)
    image = np.repeat(np.repeat(cells, CELL, axis=0), CELL, axis=1)
    image[::CELL, :] = image[:, ::CELL] = palette.hex_to_rgb(palette.OUTSIDE_COLOR)   # a white grid line
    return image


def next_slot(space) -> int:
    """The slot ``map_new_virtual()`` looks at first: ``(last_pkmap_nr + 1) & LAST_PKMAP_MASK``."""
    return (space.last_pkmap_nr + 1) % space.last_pkmap


def counters_text(space) -> str:
    """The counters of this kmap state, in words."""
    c = space.counters
    busy = sum(1 for count in space.pkmap_count if count >= 2)
    unflushed = sum(1 for count in space.pkmap_count if count == 1)
    return (f"{busy} in use, {unflushed} mapped but not flushed, next slot {next_slot(space)}; "
            f"wraps {c.wraps}, whole-window TLB flushes {c.tlb_flush_all}, single-page TLB flushes "
            f"{c.tlb_flush_one}, PTE writes {c.pte_writes}, mappings reused {c.mappings_reused}")


class PkmapWindowView(widgets.VBox):
    """The pkmap slots of a machine's ``kmap_space``, redrawn after every kmap and kunmap."""

    def __init__(self, machine, *, figure_width: int = 560) -> None:
        self.x_scale = bq.LinearScale(min=0.0, max=float(SLOTS_PER_ROW))
        self.y_scale = bq.LinearScale(min=0.0, max=32.0, reverse=True)
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.image_mark = bq.Image(image=widgets.Image(value=b"", format="png"), scales=scales,
                                   x=[0.0, float(SLOTS_PER_ROW)], y=[32.0, 0.0])
        self.pointer = bq.Scatter(x=[0.5], y=[0.5], scales=scales, marker="circle", default_size=90,
                                  colors=[palette.HIGHLIGHT_COLOR], fill=False, stroke=palette.HIGHLIGHT_COLOR,
                                  stroke_width=2.0)
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="slot", tick_format="d")
        self.figure = bq.Figure(marks=[self.image_mark, self.pointer], axes=[self.y_axis],
                                fig_margin={"top": 6, "bottom": 6, "left": 50, "right": 6},
                                layout=widgets.Layout(width=f"{figure_width}px", height="300px"))
        self.counters = widgets.HTML()
        self.counters_text = ""
        legend = palette.legend_html([(name, color) for name, color in palette.PKMAP_COUNT_COLORS.items()])
        self.legend = widgets.HTML(legend)
        self.machine = self.watcher = None
        super().__init__(children=[self.figure, self.legend, self.counters])
        self.add_class("kmw-pkmap-window")
        self.bind(machine)

    @property
    def space(self):
        return self.machine.kmap_space

    def bind(self, machine) -> None:
        """Follow another machine (a reboot with another configuration)."""
        if self.watcher is not None:
            self.watcher.close()
        self.machine = machine
        self.watcher = ModelWatcher(machine, on_change=self.refresh, all_zones=True)
        self.refresh()

    def refresh(self) -> None:
        space = self.space
        if space.pkmap_base is None:                      # x86-64: no window at all
            self.counters_text = "x86-64 has no pkmap window: every page is in the direct map, kmap() is page_address()"
            self.counters.value = f"<div class='kmw-caption'>{self.counters_text}</div>"
            self.figure.layout.display = "none"
            return
        self.figure.layout.display = None
        rows = -(-space.last_pkmap // SLOTS_PER_ROW)
        nr = next_slot(space)
        with self.figure.hold_sync():
            self.y_scale.max = float(rows)
            self.image_mark.y = [float(rows), 0.0]
            self.y_axis.tick_values = [float(r) for r in range(0, rows + 1, 8)]
            self.y_axis.tick_format = "d"
            replace_image(self.image_mark, encode_png(pkmap_image(space)))
            self.pointer.x, self.pointer.y = [nr % SLOTS_PER_ROW + 0.5], [nr // SLOTS_PER_ROW + 0.5]
        self.counters_text = counters_text(space)
        self.counters.value = f"<div class='kmw-caption'>{self.counters_text}</div>"

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        super().close()
