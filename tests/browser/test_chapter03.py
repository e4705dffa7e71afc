"""Chapter 03 in a real browser: JupyterLab on 127.0.0.1, headless Chromium.

Open 03_why_contiguous.ipynb, run all cells, press the lab's *run* (the default stream:
sequential over 8 MiB, one access per 4 KiB page).  The page-walk bars must then be drawn as the
model computes them: the same stream run in this process on the same fresh machine gives the
walks per mapping, and the bar heights must stand in the same ratios (the direct map and THP
bars at 4/2048 of the vmalloc and 4 KiB bars).  The browser console must stay clean.
"""

from __future__ import annotations

import re

import pytest

from jlab import bar_heights, open_and_run_all, save_screenshot

pytestmark = pytest.mark.browser

NOTEBOOK = "03_why_contiguous.ipynb"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
_JS_WALKS_FIGURE = """(panel) => [...document.querySelectorAll(panel + ' .bqplot')]
    .findIndex(fig => fig.textContent.includes('page walks'))"""
_BQPLOT_RENDER_RACE = "console: Error setting state: Cannot read properties of undefined (reading 'scale')"


def _expected_walks() -> list[int]:
    from kernelmem_widgets import ContiguityLab, Machine

    lab = ContiguityLab(Machine.preset("linux-6.18-x86_64", ram="256M"))
    results = lab.run()
    return [results[name]["walks"] for name in ("direct map", "vmalloc", "user 4 KiB", "user THP")]


def test_chapter03_run_draws_the_walks_the_model_counts(jupyter_lab_server, chromium_page):
    base_url, token, _root_dir = jupyter_lab_server
    page = chromium_page
    open_and_run_all(page, base_url, token, NOTEBOOK, timeout=300_000)
    page.wait_for_function(f"(panel) => ({_JS_WALKS_FIGURE})(panel) >= 0", arg=PANEL, timeout=30_000)
    index = page.evaluate(_JS_WALKS_FIGURE, PANEL)
    page.locator(f"{PANEL} .bqplot").nth(index).scroll_into_view_if_needed()
    before = bar_heights(page, index)
    page.locator(f"{PANEL} button.widget-button").filter(has_text=re.compile(r"^\s*run\s*$")).first.click()
    page.wait_for_function(
        """([panel, i, before]) => {
          const svg = document.querySelectorAll(panel + ' .bqplot')[i].querySelectorAll('svg')[1];
          const now = [...svg.querySelectorAll('rect.bar')].map(r => r.getAttribute('height')).join(',');
          return now !== before.join(',') && now.split(',').some(h => parseFloat(h) > 50);
        }""", arg=[PANEL, index, [str(h) for h in before]], timeout=60_000)
    page.wait_for_timeout(300)
    heights = bar_heights(page, index)
    walks = _expected_walks()
    tallest = max(walks)
    assert len(heights) == 4
    for height, count in zip(heights, walks):
        assert abs(height - max(heights) * count / tallest) < 1.0, (heights, walks)
    save_screenshot(page, "chapter03.png")
    assert not [error for error in page.console_errors if error != _BQPLOT_RENDER_RACE], page.console_errors
