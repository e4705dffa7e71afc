"""Chapter 05 in a real browser: JupyterLab, Notebook 7 and Voila on 127.0.0.1, headless Chromium.

Open 05_dma_100mb.ipynb in each front end (one page load), run all cells, then compare the chapter's
DmaLab with a twin built the same way in this process: the routes table's rows (text, in order), the
CMA memory map's cells (colour at every cell centre, read from a screenshot of the PNG, against the
twin's PNG cells; the CMA-tinted cells counted), the status line, and the SG view (caption, number of
bars drawn).  Then click the CMA route (a 100 MiB buffer is drawn in the buffer colour where the model
says) and the SG route (a comb of bars), and check each repaint the same way.  No console errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from drawn import COLOUR_TOLERANCE, eventually, map_cells, shown_text, text_of
from frontends import open_chapter
from jlab import save_screenshot
from labs_on_screen import kit_console_errors

pytestmark = pytest.mark.browser

NOTEBOOK = "05_dma_100mb.ipynb"
CMDLINE = "cma=128M memmap=100M$0x20000000"


def _twin():
    from kernelmem_widgets import DmaLab, Machine

    return DmaLab(Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline=CMDLINE, seed=1))


def _map_matches(root, twin, step):
    view = root.locator(".kmw-cma-map")
    memory_map = twin.memory_map
    expected = memory_map.colors.astype(int)

    def compare():
        drawn = map_cells(view, memory_map.rows, memory_map.columns)
        off = np.abs(drawn - expected).max(axis=2) > COLOUR_TOLERANCE
        # the browser smooths the scaled PNG: allow a few edge cells, never a whole region
        return None if off.mean() < 0.03 else f"{int(off.sum())} of {off.size} cells differ"

    eventually(compare, f"{step}: CMA memory map")
    caption = text_of(memory_map.caption.value)
    eventually(lambda: None if shown_text(view.locator(".kmw-caption")) == caption
               else f"{shown_text(view.locator('.kmw-caption'))!r} != {caption!r}", f"{step}: map caption")


def _table_matches(root, twin, step):
    rows = [" ".join(text_of(cell) for cell in r.row()) for r in twin.routes_table.results]

    def compare():
        drawn = [" ".join(tr.inner_text().split()) for tr in root.locator(".kmw-routes tbody tr").all()]
        want = [" ".join(text_of(f"{r.route.call} {r.route.when} {'yes' if r.ok else 'no'}: {r.result} {r.why}")
                         .split()) for r in twin.routes_table.results]
        return None if drawn == want else f"table rows differ: {drawn[:2]} vs {want[:2]}"

    assert len(rows) == 14
    eventually(compare, f"{step}: routes table")


def _status_and_sg(root, twin, step):
    status = " ".join(twin.status_text.split())
    eventually(lambda: None if shown_text(root.locator(".kmw-status")) == status
               else f"status {shown_text(root.locator('.kmw-status'))!r} != {status!r}", f"{step}: status")
    sg = root.locator(".kmw-sg-list")
    caption = text_of(twin.sg_view.caption.value)
    eventually(lambda: None if shown_text(sg.locator(".kmw-caption")) == caption
               else f"{shown_text(sg.locator('.kmw-caption'))!r} != {caption!r}", f"{step}: SG caption")
    bars = len(twin.sg_view.bar_x) if twin.sg_view.runs else 1
    eventually(lambda: None if sg.locator("rect.bar").count() == bars
               else f"{sg.locator('rect.bar').count()} bars drawn, the model has {bars}", f"{step}: SG bars")


def test_chapter05_dma_lab_draws_what_the_model_says(front_end_server, chromium_page):
    from kernelmem_widgets.views import palette

    front_end, server = front_end_server
    page = chromium_page
    chapter = open_chapter(page, front_end, server, NOTEBOOK, timeout=420_000, ready=".kmw-dma-lab")
    root = chapter.lab(0, "dma-lab")
    twin = _twin()
    root.scroll_into_view_if_needed()

    _table_matches(root, twin, "fresh")
    _map_matches(root, twin, "fresh")
    cma = twin.machine.dma.default_cma
    inside = cma.base_pfn + 8192                       # a cell wholly inside the area
    assert twin.memory_map.color_at(inside) == palette.hex_to_rgb(palette.CMA_FREE_COLOR)

    root.locator("button.kmw-dma-coherent-cma").first.click()
    twin.try_route("dma_coherent_cma")
    assert twin.memory_map.color_at(inside) == palette.hex_to_rgb(palette.CMA_BUFFER_COLOR)
    _status_and_sg(root, twin, "dma_coherent_cma")
    _map_matches(root, twin, "dma_coherent_cma")
    _table_matches(root, twin, "dma_coherent_cma")

    root.locator("button.kmw-sg-small").first.click()
    twin.try_route("sg_small")
    assert twin.sg_view.runs and len(twin.sg_view.runs) == 1600
    _status_and_sg(root, twin, "sg_small")
    _map_matches(root, twin, "sg_small")

    save_screenshot(page, f"{front_end}-05_dma_100mb.png")
    assert not kit_console_errors(page, front_end), page.console_errors
