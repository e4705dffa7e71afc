"""The memory map of one zone: every page of a small zone, a downsampled image of a large one.

Either way the browser gets one PNG (a bqplot ``Image`` mark) plus at most two ``Lines``
marks: the outlines of every block (small zones only, so a split or a merge shows as new
lines) and the highlighted blocks.  A 16 GiB zone is never one mark per page.
"""

from __future__ import annotations

from typing import Callable

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.page_alloc.mmzone import MIGRATE_TYPES
from ..model.page_alloc.snapshot import allocated_blocks, downsampled_map, free_blocks, page_states
from . import palette
from ._binding import ModelWatcher
from ._marks import plural, replace_image
from ._png import encode_png

__all__ = ["MemoryMap"]

_LEGEND = (
    [(f"allocated {name}", palette.migratetype_color(name)) for name in ("Unmovable", "Movable", "Reclaimable",
                                                                          "HighAtomic")]
    + [(f"free ({name} list)", palette.free_color(name)) for name in ("Unmovable", "Movable", "Reclaimable")]
    + [("reserved", palette.RESERVED_COLOR)]
)
_BIN_LEGEND = (
    [(f"allocated {name}", palette.migratetype_color(name)) for name in ("Unmovable", "Movable", "Reclaimable",
                                                                          "HighAtomic")]
    + [("free", palette.FREE_COLOR), ("reserved", palette.RESERVED_COLOR)]
)


_MARGIN = {"top": 10, "bottom": 40, "left": 80, "right": 12}


def _row_ticks(origin: int, rows: int, row_pages: int, wanted: int = 8) -> np.ndarray:
    """pfn ticks at row starts, every power-of-two rows, so the labels are round in hex."""
    every = 1 << max(0, (max(rows // wanted, 1)).bit_length() - 1)
    return np.array([origin + row * row_pages for row in range(0, rows + 1, every)], dtype=float)


class MemoryMap(widgets.VBox):
    """A zone drawn as a grid of cells, lowest pfn at the top left, ``columns`` cells a row.

    Parameters
    ----------
    model : Machine or Zone
        What to draw; a machine is followed across ``reset()``.
    zone : str, optional
        Which zone of a machine (default: the highest populated one).
    columns : int
        Cells per row.
    detail_limit : int
        Zones of at most this many pages get one cell per page and block outlines; larger
        zones one cell per bin of :func:`~kernelmem_widgets.model.page_alloc.snapshot.downsampled_map`.
    nr_bins : int
        How many bins to ask for in a large zone (the map rounds bins to whole 4 MiB blocks).
    width : int
        Width of the figure in pixels; the height follows so that cells are square.

    Attributes
    ----------
    colors : numpy.ndarray
        ``(rows, columns, 3)`` uint8: the RGB of every cell, exactly what the PNG shows.
    mode : str
        ``"pages"`` (one cell per page) or ``"bins"`` (one cell per ``pages_per_cell`` pages).
    origin, pages_per_cell, rows : int
        The pfn of the top-left cell, the pages a cell stands for, the number of rows.
    bins : dict or None
        The ``downsampled_map`` drawn in bins mode.
    outlined_blocks : int
        How many block outlines ``outline_mark`` draws (every block of a small zone, none otherwise).
    highlighted : list of (pfn, order, color)
        The blocks outlined by :meth:`highlight`.
    image_mark, outline_mark, highlight_mark : bqplot marks
    redraw_count : int
        How many times the map was recomputed from the model (tests count coalescing with it).

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> memory_map = MemoryMap(Machine.preset("linux-6.18-tiny"))
    >>> memory_map.mode, memory_map.colors.shape
    ('pages', (64, 64, 3))
    """

    def __init__(self, model, zone: str | None = None, *, columns: int = 64, detail_limit: int = 4096,
                 nr_bins: int = 4096, width: int = 520) -> None:
        self.columns, self.detail_limit, self.nr_bins, self.width = columns, detail_limit, nr_bins, width
        self.redraw_count = 0
        self.highlighted: list[tuple[int, int, str]] = []
        self.colors = np.zeros((0, columns, 3), dtype=np.uint8)
        self.mode, self.origin, self.pages_per_cell, self.rows, self.bins = "", 0, 1, 0, None
        self.outlined_blocks = 0
        self._page_click_handlers: list[Callable[[int], None]] = []
        self.watcher = ModelWatcher(model, zone, on_change=self.redraw, on_reset=self.clear_highlight)
        self._build_figure()
        super().__init__(children=[self.caption, self.figure, self.legend])
        self.caption.add_class("kmw-caption")
        self.add_class("kmw-memory-map")   # browser tests find the view by it
        self.redraw()

    # ------------------------------------------------------------------ layout
    def _build_figure(self) -> None:
        self.x_scale = bq.LinearScale(min=0.0, max=float(self.columns))
        self.y_scale = bq.LinearScale(min=0.0, max=1.0, reverse=True)  # low pfns at the top
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.image_mark = bq.Image(image=widgets.Image(value=encode_png(np.full((1, 1, 3), 255, np.uint8)),
                                                      format="png"), scales=scales)
        self.outline_mark = bq.Lines(x=np.zeros(1), y=np.zeros(1), scales=scales, colors=[palette.OUTLINE_COLOR],
                                     stroke_width=0.8, opacities=[0.8])
        self.highlight_mark = bq.Lines(x=np.zeros((1, 5)), y=np.zeros((1, 5)), scales=scales,
                                       colors=[palette.HIGHLIGHT_COLOR], stroke_width=3, visible=False)
        self.x_axis = bq.Axis(scale=self.x_scale, label="pfn offset in the row", tick_format="#x")
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="pfn", tick_format="#x", label_offset="62px")
        self.figure = bq.Figure(marks=[self.image_mark, self.outline_mark, self.highlight_mark],
                                axes=[self.x_axis, self.y_axis], padding_x=0, padding_y=0,
                                min_aspect_ratio=0.01, max_aspect_ratio=100, fig_margin=dict(_MARGIN),
                                layout=widgets.Layout(width=f"{self.width}px", height=f"{self.width}px"))
        self.caption = widgets.HTML(layout=widgets.Layout(width=f"{self.width}px"))
        self.legend = widgets.HTML(layout=widgets.Layout(width=f"{self.width}px"))
        self.image_mark.on_element_click(self._image_clicked)

    # ------------------------------------------------------------------ public API
    @property
    def zone(self):
        """The zone drawn (looked up again after a machine reset)."""
        return self.watcher.zone

    def select_zone(self, zone: str) -> None:
        """Draw another zone of the machine."""
        self.watcher.select_zone(zone)
        self.highlighted = []
        self.redraw()

    def redraw(self) -> None:
        """Recompute every cell from the model's snapshot functions and send the new image."""
        zone = self.zone
        if zone.spanned_pages <= self.detail_limit:
            colors, outline_x, outline_y = self._page_cells(zone)
        else:
            colors, outline_x, outline_y = self._bin_cells(zone)
        self.colors = colors
        png = encode_png(colors)
        with self.figure.hold_sync():
            self._place_image()
            replace_image(self.image_mark, png)   # a new Image widget: the front end ignores a new value
            with self.outline_mark.hold_sync():
                self.outline_mark.x, self.outline_mark.y = outline_x, outline_y
                self.outline_mark.visible = len(outline_x) > 1
            self._draw_highlight()
        self.caption.value = self._caption(zone)
        self.legend.value = palette.legend_html(_LEGEND if self.mode == "pages" else _BIN_LEGEND)
        self.redraw_count += 1

    def highlight(self, pfn: int | None, order: int = 0, *, also: list[tuple[int, int]] | tuple = ()) -> None:
        """Outline the block ``(pfn, order)`` in black and each block of ``also`` in its order's colour.

        ``highlight(None)`` clears.  Blocks outside the drawn zone are ignored.
        """
        order_colors = palette.order_colors(self.zone.max_page_order)
        self.highlighted = [] if pfn is None else [(int(pfn), int(order), palette.HIGHLIGHT_COLOR)]
        self.highlighted += [(int(extra_pfn), int(extra_order), order_colors[extra_order])
                             for extra_pfn, extra_order in also]
        self._draw_highlight()

    def clear_highlight(self) -> None:
        self.highlight(None)

    def cell_of(self, pfn: int) -> tuple[int, int]:
        """(row, column) of the cell that shows ``pfn``."""
        cell = (pfn - self.origin) // self.pages_per_cell
        return cell // self.columns, cell % self.columns

    def color_at(self, pfn: int) -> tuple[int, int, int]:
        """The RGB drawn for ``pfn``'s cell."""
        row, column = self.cell_of(pfn)
        return tuple(int(channel) for channel in self.colors[row, column])

    def pfn_at(self, x: float, y: float) -> int:
        """The first pfn of the cell at plot coordinates (x, y), as a click reports them."""
        row_pages = self.columns * self.pages_per_cell
        row = int((y - self.origin) // row_pages)
        column = min(int(x // self.pages_per_cell), self.columns - 1)
        return self.origin + row * row_pages + column * self.pages_per_cell

    def on_page_click(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(pfn)`` when the reader clicks a cell."""
        self._page_click_handlers.append(callback)

    def close(self) -> None:
        self.watcher.close()
        self.image_mark.image.close()
        super().close()

    # ------------------------------------------------------------------ cells
    def _page_cells(self, zone) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One cell per page, coloured by state and migrate type; outlines of every block."""
        self.mode, self.pages_per_cell, self.bins = "pages", 1, None
        self.origin = zone.start_pfn - zone.start_pfn % self.columns
        self.rows = -(-(zone.end_pfn - self.origin) // self.columns)
        state, migratetype = page_states(zone)
        cells = np.empty((self.rows * self.columns, 3), dtype=np.uint8)
        cells[:] = palette.hex_to_rgb(palette.OUTSIDE_COLOR)
        cells[zone.start_pfn - self.origin:zone.end_pfn - self.origin] = palette.page_color_table()[state, migratetype]
        free, allocated = free_blocks(zone), allocated_blocks(zone)
        pfns = np.concatenate([free.pfn, allocated.pfn])
        orders = np.concatenate([free.order, allocated.order]).astype(np.int64)
        return (cells.reshape(self.rows, self.columns, 3), *self._outline_path(*self._rectangles(pfns, orders)))

    def _bin_cells(self, zone) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One cell per bin: the colours of its pages mixed by their share of the bin."""
        bins = downsampled_map(zone, self.nr_bins)
        first_pfn, per_bin = bins["first_pfn"], int(bins["pages_per_bin"])
        self.mode, self.pages_per_cell, self.bins = "bins", per_bin, bins
        self.origin = int(first_pfn[0])
        self.rows = -(-len(first_pfn) // self.columns)
        in_zone = np.clip(np.minimum(first_pfn + per_bin, zone.end_pfn) - np.maximum(first_pfn, zone.start_pfn),
                          0, per_bin)
        allocated = bins["allocated"]
        reserved = in_zone - bins["free"] - allocated.sum(axis=0)
        shares = np.column_stack([bins["free"], allocated.T, reserved, per_bin - in_zone]) / per_bin
        sources = np.array([palette.hex_to_rgb(color) for color in
                            [palette.FREE_COLOR]
                            + [palette.migratetype_color(mt) for mt in range(MIGRATE_TYPES)]
                            + [palette.RESERVED_COLOR, palette.OUTSIDE_COLOR]], dtype=float)
        cells = np.empty((self.rows * self.columns, 3), dtype=np.uint8)
        cells[:] = palette.hex_to_rgb(palette.OUTSIDE_COLOR)
        cells[:len(first_pfn)] = np.rint(shares @ sources).astype(np.uint8)
        return (cells.reshape(self.rows, self.columns, 3), *self._outline_path(np.zeros((0, 5)), np.zeros((0, 5))))

    def _outline_path(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All rectangles as one path, a NaN between two (bqplot breaks a line at NaN).

        The path must neither end on a NaN nor be empty: bqplot places a line's label at its
        last point, and an undefined position fills the browser console with errors.  A zone
        without blocks gets a single point, and the mark is hidden.
        """
        self.outlined_blocks = len(x)
        if len(x) == 0:
            return np.zeros(1), np.full(1, float(self.origin))
        gap = np.full((len(x), 1), np.nan)
        return np.hstack([x, gap]).ravel()[:-1], np.hstack([y, gap]).ravel()[:-1]

    def _rectangles(self, pfns: np.ndarray, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closed outlines (5 points each) of blocks, in plot coordinates.

        Blocks are naturally aligned and rows hold a power of two of pages, so a block is one
        run within a row or a stack of whole rows: always a rectangle.
        """
        per_cell, columns = self.pages_per_cell, self.columns
        first_cell = (np.asarray(pfns, dtype=np.int64) - self.origin) // per_cell
        nr_cells = np.maximum(1, (1 << np.asarray(orders, dtype=np.int64)) // per_cell)
        width, height = np.minimum(nr_cells, columns), np.maximum(1, nr_cells // columns)
        row, column = first_cell // columns, first_cell % columns
        left, right = column * per_cell, (column + width) * per_cell
        top = self.origin + row * columns * per_cell
        bottom = top + height * columns * per_cell
        x = np.stack([left, right, right, left, left], axis=1).astype(float)
        y = np.stack([top, top, bottom, bottom, top], axis=1).astype(float)
        return x, y

    # ------------------------------------------------------------------ drawing helpers
    def _place_image(self) -> None:
        row_pages = self.columns * self.pages_per_cell
        bottom = self.origin + self.rows * row_pages
        self.x_scale.min, self.x_scale.max = 0.0, float(row_pages)
        self.y_scale.min, self.y_scale.max = float(self.origin), float(bottom)
        self.image_mark.x = (0.0, float(row_pages))
        self.image_mark.y = (float(bottom), float(self.origin))  # (bottom, top) on a reversed scale
        # square cells: the plot area's height follows its width times rows / columns
        plot_width = self.width - _MARGIN["left"] - _MARGIN["right"]
        plot_height = min(1.4 * plot_width, max(120, plot_width * self.rows / self.columns))
        self.figure.layout.height = f"{int(plot_height) + _MARGIN['top'] + _MARGIN['bottom']}px"
        self.x_axis.tick_values = np.linspace(0, row_pages, 5)
        self.y_axis.tick_values = _row_ticks(self.origin, self.rows, row_pages)

    def _draw_highlight(self) -> None:
        zone = self.zone
        shown = [(pfn, order, color) for pfn, order, color in self.highlighted if zone.contains(pfn)]
        if not shown:
            self.highlight_mark.visible = False
            return
        x, y = self._rectangles(np.array([pfn for pfn, _, _ in shown]), np.array([order for _, order, _ in shown]))
        with self.highlight_mark.hold_sync():
            self.highlight_mark.x, self.highlight_mark.y = x, y
            self.highlight_mark.colors = [color for _, _, color in shown]
            self.highlight_mark.visible = True

    def _caption(self, zone) -> str:
        if self.mode == "pages":
            scale = "one cell per page; outlines show every free and allocated block"
        else:
            cell_size = palette.size_label(self.watcher.page_size * self.pages_per_cell)
            scale = (f"one cell per {self.pages_per_cell:,} pages ({cell_size}); "
                     "a cell's colour mixes its free, allocated and reserved shares")
        return (f"<b>zone {zone.name}</b>: pfns {zone.start_pfn:#x}-{zone.end_pfn - 1:#x}, "
                f"{plural(zone.managed_pages, 'page')} managed, {zone.nr_free_pages:,} free &mdash; {scale}")

    def _image_clicked(self, _mark, content: dict) -> None:
        data = content.get("data", {})
        pfn = self.pfn_at(float(data.get("click_x", 0.0)), float(data.get("click_y", 0.0)))
        for callback in list(self._page_click_handlers):
            callback(pfn)
