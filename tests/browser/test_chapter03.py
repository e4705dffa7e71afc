"""Chapter 03 in JupyterLab, Notebook 7 and Voila: what the contiguity lab DRAWS is what the model says.

For each front end (one server each per session) the chapter is opened and run once, then the lab
is used as a student would, and after each control the same call is made on a twin of the lab in
the test process (``ContiguityLab`` on a fresh ``linux-6.18-x86_64`` 256 MiB machine, as the
chapter builds it):

* *run* (sequential, 8 MiB, 4 KiB stride), *run* with the 64 B stride, *run* on the ``teaching``
  CPU over 16 KiB (a new TLB view, other geometry):
  - the page-walk bars: categories in the order drawn are the four mappings; each bar's length in
    the value axis' units equals the walks ``compare_mappings()`` counted (within 0.5 % of the
    axis);
  - the stream table: every number equals the twin's ``results``;
  - the TLB view: one grid per TLB array, titled with its sets x ways; the cell drawn in the valid
    colour at (set, way), read top to bottom as drawn, is exactly the twin TLB's ``occupancy()``;
    its caption equals the twin's;
  - the status line equals the twin's.
* the *faults, fork, COW* tab: *mmap* 4M, *touch*, *write*, *fork*, *child-write*, *munmap*: the
  status line, the RSS / fault counters, the page walk table (every level, table pfn and entry)
  and the memory map (the colour at the centre of every cell against the palette colours of its
  pages' states mixed by their share, computed from ``page_states()``; the caption, whose free
  count is the one /proc/buddyinfo implies) equal the twin's.

The console shows no error but the front end's own.  This chapter's "Comm not found for comm id"
errors came from the lab: each run redrew the memory map once per page it touched (about 4,000
image widgets for one 8 MiB run, minutes of kernel time); each action is now one bus batch.
Screenshot: test-artifacts/<front end>-03_why_contiguous.png.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from drawn import (bar_values, eventually, expected_bin_map, figure_reading, map_cells, map_differences, text_of,
                   tick_labels)
from frontends import open_chapter
from labs_on_screen import LabOnScreen, kit_console_errors, screenshot_lab
from kernelmem_widgets.views.tlb_view import grid_colors, stats_table_html

pytestmark = pytest.mark.browser

NOTEBOOK = "03_why_contiguous.ipynb"
MAPPINGS = ["direct map", "vmalloc", "user 4 KiB", "user THP"]

# every grid of the TLB view: its title and, row by row in screen order (top first), which cells are valid
_JS_GRIDS = """(view) => [...view.querySelectorAll('.bqplot')].map(fig => {
  const rows = [...fig.querySelectorAll('g.heatmaprow')].map(row => ({
    y: row.getBoundingClientRect().y,
    cells: [...row.querySelectorAll('rect.heatmapcell')].sort((a, b) => a.getBoundingClientRect().x
                                                                  - b.getBoundingClientRect().x)
           .map(rect => getComputedStyle(rect).fill)}));
  rows.sort((a, b) => a.y - b.y);
  const title = fig.querySelector('.mainheading');
  return {title: title ? title.textContent.trim() : '', cells: rows.map(row => row.cells)};
})"""

_VALID = "rgb(0, 114, 178)"
_PAD = "rgb(255, 255, 255)"   # the padding row of a one-set array (PAD_COLOR)


def shown_text(locator) -> str:
    """The text as shown: scrolled into view first (JupyterLab does not lay out cells far off screen)."""
    locator.first.scroll_into_view_if_needed()
    return " ".join(locator.first.inner_text().split())   # the TLB view's colour of a valid entry (#0072B2)


def contiguity_twin():
    from kernelmem_widgets import ContiguityLab, Machine

    return ContiguityLab(Machine.preset("linux-6.18-x86_64", ram="256M"))


class ContiguityLabOnScreen(LabOnScreen):
    kind = "contiguity-lab"

    def check(self, step: str) -> None:
        twin, root = self.twin, self.root
        self.steps.append(step)
        status = " ".join(twin.status_text.split())
        eventually(lambda: None if shown_text(root.locator(".kmw-status")) == status
                   else f"status {shown_text(root.locator('.kmw-status'))!r} != {status!r}", f"{step}: status line")
        if twin.tabs.selected_index == 1:
            self.check_address_space(step)
        else:
            self.check_streams(step)

    def check_streams(self, step: str) -> None:
        twin, root = self.twin, self.root
        walks = np.array([[twin.results[name]["walks"] if twin.results else 0 for name in MAPPINGS]], dtype=float)
        figure = root.locator(".kmw-walks").first

        def bars_differ():
            reading = figure_reading(figure)
            if tick_labels(reading)[0] != MAPPINGS:
                return f"mapping ticks {tick_labels(reading)[0]}"
            if not twin.results:
                return None
            drawn = bar_values(reading)
            top = max(float(t["text"].replace(",", "")) for t in reading["axes"][1])
            if drawn.shape != walks.shape or np.abs(drawn - walks).max() > 0.005 * top:
                return f"walks drawn {np.round(drawn, 1).tolist()} != model {walks.tolist()}"
            return None

        eventually(bars_differ, f"{step}: page-walk bars")
        table = text_of(stats_table_html(twin.results))
        eventually(lambda: None if shown_text(root.locator(".kmw-stream-table")) == table
                   else f"{shown_text(root.locator('.kmw-stream-table'))!r} != {table!r}", f"{step}: stream table")
        view = root.locator(".kmw-tlb-view").first
        occupancy = twin.tlb_view.tlb.occupancy()

        def grids_differ():
            grids = view.evaluate(_JS_GRIDS)
            if len(grids) != len(occupancy):
                return f"{len(grids)} grids drawn, the TLB has {len(occupancy)} arrays"
            for grid, (name, valid) in zip(grids, occupancy.items()):
                if grid["title"] != f"{name}: {valid.shape[0]} sets x {valid.shape[1]} ways":
                    return f"grid title {grid['title']!r} for {name} {valid.shape}"
                fills = np.array(grid["cells"], dtype=object)
                padded = grid_colors(valid)                  # a single set gets a padding row (bqplot squeezes)
                if fills.shape != padded.shape or any(f != _PAD for f in fills[padded < 0]):
                    return f"{name}: {fills.shape} cells drawn for {padded.shape}, padding drawn {set(fills.ravel())}"
                drawn = fills[:valid.shape[0], :valid.shape[1]] == _VALID
                if drawn.shape != valid.shape or (drawn != valid.astype(bool)).any():
                    return (f"{name}: {drawn.shape} drawn, {valid.shape} in the model; {int(drawn.sum())} cells drawn valid at {np.argwhere(drawn)[:6].tolist()}, "
                            f"the model has {int(valid.sum())} at {np.argwhere(valid)[:6].tolist()}")
            return None

        eventually(grids_differ, f"{step}: TLB sets and ways")
        caption = text_of(twin.tlb_view.caption.value)
        eventually(lambda: None if shown_text(view.locator(".kmw-caption")) == caption
                   else f"{shown_text(view.locator('.kmw-caption'))!r} != {caption!r}", f"{step}: TLB caption")

    def check_address_space(self, step: str) -> None:
        from kernelmem_widgets.model import procfs
        from kernelmem_widgets.views.page_walk_view import walk_table_html

        twin, root = self.twin, self.root
        counts = text_of(twin.counts.value)
        eventually(lambda: None if shown_text(root.locator(".kmw-counts")) == counts
                   else f"{shown_text(root.locator('.kmw-counts'))!r} != {counts!r}", f"{step}: counters")
        walk = twin.walk_view
        table = text_of(walk_table_html(walk.page_table, int(walk.address.value, 0)))
        eventually(lambda: None if shown_text(root.locator(".kmw-page-walk .widget-html-content")) == table
                   else f"{shown_text(root.locator('.kmw-page-walk .widget-html-content'))!r} != {table!r}",
                   f"{step}: page walk")
        memory_map = twin.memory_map
        zone = memory_map.zone
        expected = expected_bin_map(zone, memory_map.columns, memory_map.origin, memory_map.pages_per_cell,
                                    memory_map.rows)
        view = root.locator(".kmw-memory-map")
        eventually(lambda: map_differences(map_cells(view, memory_map.rows, memory_map.columns), expected,
                                           memory_map.origin, memory_map.columns), f"{step}: memory map")
        caption = text_of(memory_map.caption.value)
        eventually(lambda: None if shown_text(view.locator(".kmw-caption")) == caption
                   else f"{shown_text(view.locator('.kmw-caption'))!r} != {caption!r}", f"{step}: map caption")
        line = next(line for line in procfs.render_buddyinfo(twin.machine).splitlines() if line.split()[3] == zone.name)
        assert f"{sum(int(n) << order for order, n in enumerate(line.split()[4:])):,} free" in caption

    def open_tab(self, index: int) -> None:
        self.root.locator(".lm-TabBar-tab").nth(index).click()
        self.twin.tabs.selected_index = index
        self.root.locator(".kmw-memory-map .bqplot svg image" if index else ".kmw-walks").first.wait_for()
        self.check(f"tab {index}")


def test_chapter03_contiguity_lab_draws_the_model(front_end_server, chromium_page):
    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, NOTEBOOK, timeout=240_000, ready=".kmw-contiguity-lab")
    lab = ContiguityLabOnScreen(chapter, contiguity_twin())
    lab.check("after Run All")
    lab.click("run", lambda: lab.twin.run())
    walks = [lab.twin.results[name]["walks"] for name in MAPPINGS]
    assert walks == [4, 2048, 2048, 4], walks        # 8 MiB: four 2 MiB pages against 2,048 4 KiB pages
    lab.choose("stride", "64 B (lines)", lambda: setattr(lab.twin.stride, "value", 64))
    lab.click("run", lambda: lab.twin.run())
    lab.choose("stride", "4 KiB (pages)", lambda: setattr(lab.twin.stride, "value", 4096))
    lab.choose("cpu", "teaching", lambda: setattr(lab.twin.cpu_choice, "value", "teaching"))
    lab.type_into("buffer", "16K", lambda: setattr(lab.twin.size, "value", "16K"))
    lab.click("run", lambda: lab.twin.run())
    screenshot_lab(chapter, f"{front_end}-03_why_contiguous")
    lab.open_tab(1)
    lab.click("mmap", lambda: lab.twin.act("mmap"))
    for name in ("touch", "write", "fork", "child-write", "munmap"):
        lab.click(name, lambda name=name: lab.twin.act(name))
    assert re.search(r"pages freed [\d,]+", lab.twin.status_text), lab.twin.status_text
    screenshot_lab(chapter, f"{front_end}-03_why_contiguous-faults")
    print(f"\n{front_end} 03_why_contiguous: opened and ran in {chapter.run_seconds:.1f} s; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end), (chromium_page.console_errors,
                                                               chromium_page.failed_responses)
