"""Read what a front end DREW, and what the model says should be there.

The readers take a Playwright locator of one view (found by its ``kmw-*`` class) and return plain
Python values: the colour of every memory-map cell (Pillow on ``locator.screenshot()`` of the map's
``<image>``, sampled at each cell's centre), bar lengths in model units (from the pixel length of
each ``rect.bar`` and the pixel positions of the value axis' ticks), tick labels in the order drawn,
the text of a caption or status line.  The ``expected_*`` functions compute the same values from a
model object in the test process; a chapter's lab is deterministic, so the test replays every
click on a twin of the lab and compares.

:func:`eventually` retries a comparison until it holds (a click repaints after a round trip to
the kernel) and fails with the last difference.
"""

from __future__ import annotations

import html
import io
import re
import time
from typing import Callable

import numpy as np

from kernelmem_widgets.model.page_alloc.snapshot import page_states
from kernelmem_widgets.views import palette

#: How far (0-255, per channel) a screen pixel may be from the palette colour: the browser scales the
#: map's PNG smoothly, so a cell centre can pick up a trace of its neighbour.  Palette colours are
#: further apart than this (the closest pair, free Reclaimable and free Unmovable, by 30).
COLOUR_TOLERANCE = 12


def text_of(markup: str) -> str:
    """HTML as the reader sees it: tags dropped, entities decoded, white space collapsed."""
    inline = re.sub(r"</?(b|i|em|strong|span|sup|sub|code|a)\b[^>]*>", "", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def shown_text(locator) -> str:
    return " ".join(locator.inner_text().split())


# --------------------------------------------------------------------------- the memory map
def map_cells(view, rows: int, columns: int) -> np.ndarray:
    """``(rows, columns, 3)``: the colour drawn at the centre of every cell of a ``.kmw-memory-map``."""
    from PIL import Image

    image_element = view.locator(".bqplot svg image").first
    # in the middle of the viewport: at its top edge a sticky toolbar (JupyterLab's) would cover rows
    image_element.evaluate("e => e.scrollIntoView({block: 'center', inline: 'center'})")
    view.page.mouse.move(1, 1)       # a pointer over a figure shows bqplot's toolbar on top of the map
    picture = np.asarray(Image.open(io.BytesIO(image_element.screenshot(animations="disabled"))).convert("RGB"))
    height, width = picture.shape[:2]
    ys = ((np.arange(rows) + 0.5) * height / rows).astype(int)
    xs = ((np.arange(columns) + 0.5) * width / columns).astype(int)
    return picture[np.ix_(ys, xs)].astype(int)


def expected_map(zone, columns: int) -> np.ndarray:
    """The palette colour of every page's state and migrate type, from the model (not from the view)."""
    origin = zone.start_pfn - zone.start_pfn % columns
    rows = -(-(zone.end_pfn - origin) // columns)
    cells = np.empty((rows * columns, 3), dtype=int)
    cells[:] = palette.hex_to_rgb(palette.OUTSIDE_COLOR)
    state, migratetype = page_states(zone)
    cells[zone.start_pfn - origin:zone.end_pfn - origin] = palette.page_color_table()[state, migratetype]
    return cells.reshape(rows, columns, 3)


def expected_bin_map(zone, columns: int, origin: int, pages_per_cell: int, rows: int) -> np.ndarray:
    """A large zone's map (one cell per ``pages_per_cell`` pages), from the model's page states.

    Each cell mixes the palette colours of free, allocated (per migrate type), reserved and
    outside-the-zone pages by their share of the cell, as the caption says; computed here from
    ``page_states()`` page by page, not from the view's ``downsampled_map`` bins.
    """
    from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_TYPES
    from kernelmem_widgets.model.page_alloc.snapshot import PAGE_ALLOCATED, PAGE_FREE

    state, migratetype = page_states(zone)
    pfns = np.arange(zone.start_pfn, zone.end_pfn)
    cell = (pfns - origin) // pages_per_cell
    kind = np.where(state == PAGE_FREE, 0, np.where(state == PAGE_ALLOCATED, 1 + migratetype, 1 + MIGRATE_TYPES))
    counts = np.zeros((rows * columns, MIGRATE_TYPES + 3))
    np.add.at(counts, (cell, kind), 1)
    counts[:, -1] = pages_per_cell - counts[:, :-1].sum(axis=1)          # outside the zone
    sources = np.array([palette.hex_to_rgb(c) for c in [palette.FREE_COLOR]
                        + [palette.migratetype_color(mt) for mt in range(MIGRATE_TYPES)]
                        + [palette.RESERVED_COLOR, palette.OUTSIDE_COLOR]], dtype=float)
    cells = np.rint(counts / pages_per_cell @ sources).astype(int)
    return cells.reshape(rows, columns, 3)


def map_differences(drawn: np.ndarray, expected: np.ndarray, origin: int, columns: int) -> list[str]:
    """The pfns whose drawn colour is not the model's, as readable lines (at most 8)."""
    wrong = np.argwhere(np.abs(drawn - expected).max(axis=2) > COLOUR_TOLERANCE)
    return [f"pfn {origin + r * columns + c:#x}: drawn {tuple(drawn[r, c])}, model {tuple(expected[r, c])}"
            for r, c in wrong[:8]] + ([f"... {len(wrong)} cells in all"] if len(wrong) > 8 else [])


# --------------------------------------------------------------------------- bars and axes
_JS_FIGURE = """(fig) => {
  const axes = [...fig.querySelectorAll('g.axis')].map(axis => {
    const ticks = [...axis.querySelectorAll('g.tick')].map(tick => {
      const box = tick.getBoundingClientRect();
      return {text: tick.textContent.trim(), x: box.x + box.width / 2, y: box.y + box.height / 2};
    });
    return ticks;
  });
  const groups = [...fig.querySelectorAll('g.bargroup')].map(group => {
    const box = group.getBoundingClientRect();
    return {x: box.x + box.width / 2, y: box.y + box.height / 2,
            rects: [...group.querySelectorAll('rect.bar')].map(r => ({
              w: parseFloat(r.getAttribute('width') || 0), h: parseFloat(r.getAttribute('height') || 0)}))};
  });
  const dots = fig.querySelectorAll('path.dot').length;
  return {axes, groups, dots};
}"""


def figure_reading(figure) -> dict:
    """Ticks of every axis (text and screen position) and every bar group of one ``.bqplot``."""
    return figure.evaluate(_JS_FIGURE)


def tick_labels(reading: dict) -> list[list[str]]:
    return [[tick["text"] for tick in axis] for axis in reading["axes"]]


def _units_per_pixel(ticks: list[dict], coordinate: str) -> float:
    numeric = [(float(t["text"].replace(",", "")), t[coordinate]) for t in ticks
               if re.fullmatch(r"-?[\d,]+(\.\d+)?", t["text"])]
    (v0, p0), (v1, p1) = numeric[0], numeric[-1]
    return abs(v1 - v0) / abs(p1 - p0)


def bar_values(reading: dict, *, horizontal: bool = False) -> np.ndarray:
    """``[stack, category]``: each bar segment's length in model units, categories in screen order.

    The scale comes from the value axis' first and last numeric ticks, so a bar drawn at the wrong
    length for its number fails, not only a bar that did not move.
    """
    value_axis = next(axis for axis in reading["axes"]      # the axis whose ticks are all numbers
                      if len(axis) > 1 and all(re.fullmatch(r"-?[\d,]+(\.\d+)?", t["text"]) for t in axis)
                      and len({round(t["x" if horizontal else "y"]) for t in axis}) > 1)
    per_pixel = _units_per_pixel(value_axis, "x" if horizontal else "y")
    groups = sorted(reading["groups"], key=lambda g: g["y"] if horizontal else g["x"])
    lengths = [[rect["w" if horizontal else "h"] * per_pixel for rect in group["rects"]] for group in groups]
    return np.array(lengths, dtype=float).T if lengths else np.zeros((0, 0))


def eventually(compare: Callable[[], list[str] | str | None], what: str, timeout: float = 15.0) -> None:
    """Call ``compare`` until it returns nothing (no difference); fail with its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        difference = compare()
        if not difference:
            return
        if time.monotonic() > deadline:
            detail = difference if isinstance(difference, str) else "\n  ".join(difference)
            raise AssertionError(f"{what}: what is drawn is not what the model says:\n  {detail}")
        time.sleep(0.25)
