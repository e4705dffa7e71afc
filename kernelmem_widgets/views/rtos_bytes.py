"""The simulated RAM of chapter 7, one cell per word: blocks, headers, free-list links, corruption.

The RAM is drawn as a grid, lowest address at the top left, ``columns`` cells a row, each cell
``bytes_per_cell`` bytes (one word on a Cortex-M4 by default) coloured by what the allocator says
those bytes are (:meth:`~kernelmem_widgets.model.rtos.Allocator.regions`).  For small free lists
the links are drawn as lines from a free block's link word to the block it names, with a dot at
the target.  The image is a new PNG widget on each redraw (a front end repaints a new ``image``,
not a changed value).
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..model.rtos import REGION_KINDS, NanoMalloc, PartitionMalloc, Tlsf
from . import palette
from ._png import encode_png
from .controls import plain_html

__all__ = ["ByteArrayView", "free_list_links"]

_MARGIN = {"top": 10, "bottom": 40, "left": 90, "right": 12}
_KIND_RGB = np.array([palette.hex_to_rgb(palette.RTOS_KIND_COLORS[kind]) for kind in REGION_KINDS], dtype=np.uint8)


def free_list_links(allocator) -> list[tuple[int, int]]:
    """``(link word address, address it points to)`` for every non-NULL free-list link of ``allocator``."""
    if isinstance(allocator, PartitionMalloc):
        return [(blk, nxt) for part in allocator.partitions for blk, nxt in part.links() if nxt]
    if isinstance(allocator, NanoMalloc):
        chunks = allocator.free_list()
        return [(a + allocator.chunk_offset, b) for (a, _), (b, _) in zip(chunks, chunks[1:])]
    if isinstance(allocator, Tlsf):
        p, out = allocator.p, []
        for block, _size in allocator.free_blocks():
            nxt = allocator.ram.read_ptr(block + 2 * p)
            if nxt != allocator.null:
                out.append((block + 2 * p, nxt + p))
        return out
    return [(blk, nxt) for blk, nxt in allocator.links() if nxt]  # a bare MemPartition


class ByteArrayView(widgets.VBox):
    """The RAM an allocator lives in, redrawn after every call on it.

    Parameters
    ----------
    allocator : PartitionMalloc, NanoMalloc, Tlsf or MemPartition
    columns : int
        Cells per row.
    bytes_per_cell : int, optional
        Default: the pointer size (one word per cell).
    max_links : int
        Free-list links are drawn only when there are at most this many.

    Attributes
    ----------
    codes : numpy.ndarray
        Per cell, the position in ``REGION_KINDS`` of its first byte (``corrupt`` wins in a cell).
    colors : numpy.ndarray
        ``(rows, columns, 3)`` uint8: exactly the PNG drawn.
    links : list of (int, int)
        The free-list links drawn.
    redraw_count : int

    Examples
    --------
    >>> from kernelmem_widgets.model.rtos import Ram, PartitionMalloc
    >>> heap = PartitionMalloc(Ram(size=1024), "32x4, 128x2")
    >>> view = ByteArrayView(heap, columns=16)
    >>> view.kind_at(heap.partitions[0].addr_ptr), view.colors.shape
    ('link', (16, 16, 3))
    >>> p = heap.malloc(20); view.kind_at(p - 4), view.kind_at(p)
    ('header', 'used')
    """

    def __init__(self, allocator, *, columns: int = 64, bytes_per_cell: int | None = None, max_links: int = 64,
                 width: int = 560) -> None:
        self.columns, self.max_links, self.width = columns, max_links, width
        self.bytes_per_cell = bytes_per_cell
        self.codes = np.zeros(0, dtype=np.uint8)
        self.colors = np.zeros((0, columns, 3), dtype=np.uint8)
        self.links: list[tuple[int, int]] = []
        self.redraw_count = 0
        self.allocator = None
        self._unsubscribe = None
        self._build()
        super().__init__(children=[self.caption, self.figure, self.legend])
        self.show(allocator)

    def _build(self) -> None:
        self.x_scale = bq.LinearScale(min=0.0, max=1.0)
        self.y_scale = bq.LinearScale(min=0.0, max=1.0, reverse=True)
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.image_mark = bq.Image(image=widgets.Image(value=encode_png(np.full((1, 1, 3), 255, np.uint8)),
                                                       format="png"), scales=scales)
        self.link_mark = bq.Lines(x=np.zeros(1), y=np.zeros(1), scales=scales, colors=["#000000"], stroke_width=1.2,
                                  opacities=[0.75], visible=False)
        self.target_mark = bq.Scatter(x=np.zeros(1), y=np.zeros(1), scales=scales, colors=["#000000"],
                                      default_size=8, visible=False)
        self.x_axis = bq.Axis(scale=self.x_scale, label="byte offset in the row", tick_format="d")
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="address", tick_format="#x",
                              label_offset="70px")
        self.figure = bq.Figure(marks=[self.image_mark, self.link_mark, self.target_mark],
                                axes=[self.x_axis, self.y_axis], padding_x=0, padding_y=0, min_aspect_ratio=0.01,
                                max_aspect_ratio=100, fig_margin=dict(_MARGIN),
                                layout=widgets.Layout(width=f"{self.width}px", height=f"{self.width}px"))
        self.caption = widgets.HTML(layout=widgets.Layout(width=f"{self.width}px"))
        self.legend = widgets.HTML(palette.legend_html([(palette.RTOS_KIND_LABELS[k], palette.RTOS_KIND_COLORS[k])
                                                        for k in REGION_KINDS[1:]]))

    def show(self, allocator) -> None:
        """Draw another allocator (and follow its RAM's bus)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.allocator = allocator
        self._unsubscribe = allocator.ram.bus.subscribe(self._on_event)
        self.redraw()

    def _on_event(self, event) -> None:
        if not self.allocator.ram.bus.in_batch:
            self.redraw()

    # ------------------------------------------------------------------ geometry
    @property
    def cell_bytes(self) -> int:
        return self.bytes_per_cell or self.allocator.ram.ptr_size

    def cell_of(self, addr: int) -> tuple[int, int]:
        """(row, column) of the cell that shows ``addr``."""
        cell = (addr - self.allocator.ram.base) // self.cell_bytes
        return cell // self.columns, cell % self.columns

    def kind_at(self, addr: int) -> str:
        """The kind drawn at ``addr``'s cell."""
        row, column = self.cell_of(addr)
        return REGION_KINDS[int(self.codes[row * self.columns + column])]

    def color_at(self, addr: int) -> tuple[int, int, int]:
        row, column = self.cell_of(addr)
        return tuple(int(c) for c in self.colors[row, column])

    def _point(self, addr: int) -> tuple[float, float]:
        """Plot coordinates of the centre of ``addr``'s cell (x: byte offset in the row, y: row address)."""
        ram, cb = self.allocator.ram, self.cell_bytes
        row, column = self.cell_of(addr)
        return (column + 0.5) * cb, ram.base + (row + 0.5) * self.columns * cb

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        allocator, ram = self.allocator, self.allocator.ram
        cb, columns = self.cell_bytes, self.columns
        kinds = allocator.byte_kinds() if hasattr(allocator, "byte_kinds") else self._partition_kinds(allocator)
        nr_cells = -(-ram.size // cb)
        rows = -(-nr_cells // columns)
        padded = np.zeros(rows * columns * cb, dtype=np.uint8)
        padded[:ram.size] = kinds
        per_cell = padded.reshape(rows * columns, cb)
        codes = per_cell[:, 0].copy()
        corrupt = REGION_KINDS.index("corrupt")
        codes[(per_cell == corrupt).any(axis=1)] = corrupt
        self.codes = codes
        self.colors = _KIND_RGB[codes].reshape(rows, columns, 3)
        row_bytes = columns * cb
        links = free_list_links(allocator)
        self.links = links if len(links) <= self.max_links else []
        with self.figure.hold_sync():
            self.x_scale.min, self.x_scale.max = 0.0, float(row_bytes)
            self.y_scale.min, self.y_scale.max = float(ram.base), float(ram.base + rows * row_bytes)
            self.image_mark.x = (0.0, float(row_bytes))
            self.image_mark.y = (float(ram.base + rows * row_bytes), float(ram.base))
            old = self.image_mark.image
            self.image_mark.image = widgets.Image(value=encode_png(self.colors), format="png")
            old.close()
            plot_width = self.width - _MARGIN["left"] - _MARGIN["right"]
            plot_height = min(1.4 * plot_width, max(100, plot_width * rows / columns))
            self.figure.layout.height = f"{int(plot_height) + _MARGIN['top'] + _MARGIN['bottom']}px"
            self.x_axis.tick_values = np.linspace(0, row_bytes, 5)
            every = max(1, rows // 8)
            self.y_axis.tick_values = np.array([ram.base + r * row_bytes for r in range(0, rows + 1, every)], float)
            self._draw_links()
        self.caption.value = self._caption()
        self.redraw_count += 1

    def _draw_links(self) -> None:
        if not self.links:
            self.link_mark.visible = self.target_mark.visible = False
            return
        starts = np.array([self._point(a) for a, _ in self.links])
        ends = np.array([self._point(b) for _, b in self.links])
        gap = np.full((len(self.links), 1), np.nan)
        x = np.hstack([starts[:, :1], ends[:, :1], gap]).ravel()[:-1]
        y = np.hstack([starts[:, 1:], ends[:, 1:], gap]).ravel()[:-1]
        with self.link_mark.hold_sync():
            self.link_mark.x, self.link_mark.y = x, y
            self.link_mark.visible = True
        with self.target_mark.hold_sync():
            self.target_mark.x, self.target_mark.y = ends[:, 0], ends[:, 1]
            self.target_mark.visible = True

    @staticmethod
    def _partition_kinds(part) -> np.ndarray:
        """Byte kinds of a bare MemPartition (no wrapper): link words, free and held blocks."""
        ram = part.ram
        codes = np.zeros(ram.size, dtype=np.uint8)
        free, bad = set(part.free_list()), bool(part.corruption())
        for blk in part.blocks():
            start = blk - ram.base
            if blk in free:
                codes[start:start + part.blk_size] = REGION_KINDS.index("free")
                codes[start:start + part.ptr_size] = REGION_KINDS.index("corrupt" if bad else "link")
            else:
                codes[start:start + part.blk_size] = REGION_KINDS.index("used")
        for addr in free - set(part.blocks()):  # foreign or misaligned entries
            if ram.contains(addr, part.ptr_size):
                codes[addr - ram.base:addr - ram.base + part.ptr_size] = REGION_KINDS.index("corrupt")
        return codes

    def corruption(self) -> list[str]:
        """What is wrong with the drawn allocator's free lists (empty when sound)."""
        allocator = self.allocator
        parts = allocator.partitions if isinstance(allocator, PartitionMalloc) else (
            [allocator] if hasattr(allocator, "corruption") else [])
        return [f"{part.name or 'partition'}: {line}" for part in parts for line in part.corruption()]

    def _caption(self) -> str:
        allocator, ram = self.allocator, self.allocator.ram
        head = (f"<b>{getattr(allocator, 'kind', 'partition')}</b> in RAM {ram.base:#x}-{ram.end - 1:#x} "
                f"({ram.size:,} bytes), one cell = {self.cell_bytes} bytes")
        if hasattr(allocator, "free_bytes"):
            head += (f"; {allocator.free_bytes():,} bytes free, largest free block {allocator.largest_free():,}, "
                     f"{len(allocator.live)} allocations holding {allocator.requested_bytes():,} bytes, internal "
                     f"waste {allocator.internal_waste():,}")
        problems = self.corruption()
        if problems:
            head += ("<br><span style='color:#D00000'><b>free list corrupted</b>: "
                     + plain_html("; ".join(problems)) + "</span>")
        return head

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        super().close()
