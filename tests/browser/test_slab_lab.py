"""Chapter 02 in a real browser: JupyterLab on 127.0.0.1, headless Chromium.

Open 02_slab_sizes.ipynb, run all cells, then use the slab lab the way a student does: set
*count* to 64, press *kmalloc* (two new slabs of kmalloc-128), *kfree* them, *shrink* the caches.
After each click the slab view's bars, and for the slab-creating and page-returning clicks also
the buddy views of the same machine (free-list bars, memory map), must be redrawn.  Then open the
*vmalloc & modules* tab and vmalloc 1 MiB: 256 page frames are plotted.  The browser console
must stay clean (a figure first drawn in a hidden tab would log negative sizes).  Saves
test-artifacts/chapter02.png and chapter02-vmalloc.png, and prints (never asserts) the
click-to-repaint latency.
"""

from __future__ import annotations

import re
import statistics

import pytest

from jlab import open_and_run_all, save_screenshot, time_click_to_repaint

pytestmark = pytest.mark.browser

NOTEBOOK = "02_slab_sizes.ipynb"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# The lab is the notebook's first widget with a memory map and free-list bars (the size explorer
# before it has neither); its slab view is the figure whose axis says "slab (first pfn, list)".
_JS_FIGURE_INDEX = """([panel, kind]) => {
  const figures = [...document.querySelectorAll(panel + ' .bqplot')];
  return figures.findIndex(fig => kind === 'free-lists' ? fig.textContent.includes('free lists of zone')
      : kind === 'slab-view' ? fig.textContent.includes('slab (first pfn, list)')
      : kind === 'vmalloc' ? fig.textContent.includes('pfn (physical)')
      : fig.querySelector('svg image') !== null);
}"""

# A figure's drawing as one string: every bar's size (horizontal bars change width, vertical ones
# height), the bar labels on the axes, the memory map's PNG URL and block outlines.
_JS_DRAWING = """([panel, i]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  if (!fig) return '';
  const bars = [...fig.querySelectorAll('rect.bar')]
      .map(r => (r.getAttribute('width') || '') + 'x' + (r.getAttribute('height') || '')).join(',');
  const ticks = [...fig.querySelectorAll('.tick text')].map(t => t.textContent).join('|');
  const image = fig.querySelector('svg image');
  const href = image ? (image.getAttribute('href') || image.getAttribute('xlink:href') || '') : '';
  const paths = [...fig.querySelectorAll('path.line')].map(p => p.getAttribute('d') || '').join('|');
  return bars + '#' + ticks + '#' + href.length + href.slice(-64) + '#' + paths;
}"""


_JS_DOTS_ARE = """([panel, i, n]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  return !!fig && fig.querySelectorAll('path.dot').length === n;
}"""


_JS_FIGURE_READY = """([panel, i]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  return !!fig && fig.getBoundingClientRect().width > 0 && fig.querySelectorAll('g.tick').length > 0;
}"""

# bqplot's front end logs this when a mark gets new data while its figure is still creating its
# scale views (a figure just shown in a tab, on a loaded machine); the next update draws fine.
# It is bqplot's race, not the kit's: tolerated here, and only this exact message.
_BQPLOT_RENDER_RACE = "console: Error setting state: Cannot read properties of undefined (reading 'scale')"


def _wait_until_drawn(page, index: int) -> None:
    page.wait_for_function(_JS_FIGURE_READY, arg=[PANEL, index], timeout=15_000)
    page.wait_for_timeout(500)


def _figure_index(page, kind: str) -> int:
    page.wait_for_function(f"([panel, kind]) => ({_JS_FIGURE_INDEX})([panel, kind]) >= 0", arg=[PANEL, kind])
    return page.evaluate(_JS_FIGURE_INDEX, [PANEL, kind])


def _drawing(page, index: int) -> str:
    return page.evaluate(_JS_DRAWING, [PANEL, index])


def _lab_button(page, name: str):
    """The lab's button labelled `name` (matched on its text; the icon glyph is part of the accessible name)."""
    return page.locator(f"{PANEL} button.widget-button").filter(
        has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).first


def _click_and_wait(page, name: str, figures: dict[str, int], must_change: tuple[str, ...]) -> dict[str, bool]:
    """Click the lab's button; wait until every figure in `must_change` is redrawn; say which changed."""
    before = {kind: _drawing(page, index) for kind, index in figures.items()}
    _lab_button(page, name).click()
    for kind in must_change:
        page.wait_for_function(f"([panel, i, before]) => ({_JS_DRAWING})([panel, i]) !== before",
                               arg=[PANEL, figures[kind], before[kind]], timeout=15_000)
    page.wait_for_timeout(200)
    return {kind: _drawing(page, index) != before[kind] for kind, index in figures.items()}


def _status(page, text: str):
    return page.locator(f"{PANEL} .widget-html-content", has_text=text).first


def test_chapter02_slab_lab_kmalloc_kfree_shrink_redraw(jupyter_lab_server, chromium_page):
    base_url, token, _root_dir = jupyter_lab_server
    page = chromium_page

    open_and_run_all(page, base_url, token, NOTEBOOK, timeout=240_000)
    figures = {kind: _figure_index(page, kind) for kind in ("slab-view", "free-lists", "memory-map")}
    page.wait_for_selector(f"{PANEL} .bqplot >> nth={figures['slab-view']} >> svg rect.bar")
    page.locator(f"{PANEL} .bqplot").nth(figures["slab-view"]).scroll_into_view_if_needed()

    # count = 64: 64 objects of 100 bytes need two new kmalloc-128 slabs (32 objects each)
    count = page.locator(f"{PANEL} .widget-inline-hbox").filter(
        has=page.locator("label", has_text=re.compile(r"^count$"))).locator("input").first
    count.fill("64")
    count.press("Enter")
    page.wait_for_timeout(300)

    changed = _click_and_wait(page, "kmalloc", figures, ("slab-view", "free-lists", "memory-map"))
    assert all(changed.values()), changed
    assert _status(page, "kmalloc(100, GFP_KERNEL) x64").is_visible(), "the status line did not report the kmalloc"

    # kfree the 64 oldest objects: the slab view changes (objects leave, slabs stay cached)
    changed = _click_and_wait(page, "kfree", figures, ("slab-view",))
    assert changed["slab-view"], changed
    assert _status(page, "kfree() x64").is_visible()

    # shrink: the empty slabs go back to the buddy allocator, and the free-list bars show it
    changed = _click_and_wait(page, "shrink", figures, ("slab-view", "free-lists"))
    assert changed["slab-view"] and changed["free-lists"], changed
    assert _status(page, "went back to the page allocator").is_visible()
    save_screenshot(page, "chapter02.png")

    # the vmalloc tab (filled when first opened): vmalloc 1M draws 256 pages, virtual against physical
    page.locator(f"{PANEL} .lm-TabBar-tab", has_text="vmalloc & modules").first.click()
    vmalloc_index = _figure_index(page, "vmalloc")
    _wait_until_drawn(page, vmalloc_index)
    _lab_button(page, "vmalloc").click()
    page.wait_for_function(_JS_DOTS_ARE, arg=[PANEL, vmalloc_index, 256], timeout=15_000)
    assert _status(page, "vmalloc(1,048,576)").is_visible()
    save_screenshot(page, "chapter02-vmalloc.png")
    page.locator(f"{PANEL} .lm-TabBar-tab", has_text="slabs").first.click()
    _wait_until_drawn(page, figures["slab-view"])

    # latency, printed only: kmalloc x64 clicks, each creating slabs, timed on the free-list bars
    page.wait_for_timeout(300)
    runs = [time_click_to_repaint(page, "kmalloc", figures["free-lists"]) for _ in range(5)]
    paint = [run["paint_ms"] for run in runs]
    print(f"\nchapter 02 lab, kmalloc(100) x64 click to repaint of the free-list bars (headless Chromium): "
          f"median {statistics.median(paint):.1f} ms, min {min(paint):.1f}, max {max(paint):.1f}")

    if page.console_errors:
        print("browser console errors:", *page.console_errors, sep="\n  ")
    assert not [error for error in page.console_errors if error != _BQPLOT_RENDER_RACE], page.console_errors
