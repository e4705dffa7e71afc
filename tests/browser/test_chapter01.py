"""Chapter 01 in a real browser: JupyterLab on 127.0.0.1, headless Chromium.

Open 01_buddy_orders.ipynb, run all cells, then click the buddy lab's *allocate* and *free*
buttons the way a student does and check that the free-list bars and the memory map were
redrawn, and that the browser console stayed clean. Saves test-artifacts/chapter01.png and
prints (never asserts) the click-to-repaint latency.
"""

from __future__ import annotations

import statistics

import pytest

from jlab import bar_heights, open_and_run_all, save_screenshot, time_click_to_repaint

pytestmark = pytest.mark.browser

NOTEBOOK = "01_buddy_orders.ipynb"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# Index (among the notebook's .bqplot figures) of the first figure that matches: the lab is the
# first widget of the chapter, so the first free-list figure and the first image figure are its own.
_JS_FIGURE_INDEX = """([panel, kind]) => {
  const figures = [...document.querySelectorAll(panel + ' .bqplot')];
  return figures.findIndex(fig => kind === 'free-lists'
      ? fig.textContent.includes('free lists of zone')
      : fig.querySelector('svg image') !== null);
}"""

# What the memory map shows: the PNG's URL (a new one per redraw) and the block outlines.
_JS_MAP_STATE = """([panel, i]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  const image = fig.querySelector('svg image');
  const href = image ? (image.getAttribute('href') || image.getAttribute('xlink:href') || '') : '';
  const paths = [...fig.querySelectorAll('path.line')].map(p => p.getAttribute('d') || '').join('|');
  return href + '#' + paths;
}"""

_JS_BARS_CHANGED = """([panel, i, before]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  const svg = fig && fig.querySelectorAll('svg')[1];
  if (!svg) return false;
  const now = [...svg.querySelectorAll('rect.bar')].map(r => parseFloat(r.getAttribute('height')));
  return now.length > 0 && (now.length !== before.length || now.some((h, k) => Math.abs(h - before[k]) > 0.5));
}"""


# Run All stops at the first cell that raises and JupyterLab 4 renders tracebacks as stderr
# output, so check both: every code cell ran, and no output holds a traceback.
_JS_RUN_PROBLEMS = """(panel) => {
  const prompts = [...document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputPrompt')];
  const unrun = prompts.filter(e => /\\[\\s*\\]/.test(e.textContent)).length;
  const tracebacks = [...document.querySelectorAll(panel + ' .jp-OutputArea-output')]
      .map(e => e.textContent).filter(t => t.includes('Traceback (most recent call last)'));
  return {cells: prompts.length, unrun, tracebacks};
}"""


def _figure_index(page, kind: str) -> int:
    page.wait_for_function(f"([panel, kind]) => ({_JS_FIGURE_INDEX})([panel, kind]) >= 0", arg=[PANEL, kind])
    return page.evaluate(_JS_FIGURE_INDEX, [PANEL, kind])


def _map_state(page, index: int) -> str:
    return page.evaluate(_JS_MAP_STATE, [PANEL, index])


def _click_and_wait(page, name: str, bars_index: int, map_index: int) -> tuple[list[float], list[float], str, str]:
    """A real click on the lab's button; wait until the bars change; return before/after of both views."""
    bars_before, map_before = bar_heights(page, bars_index), _map_state(page, map_index)
    _lab_button(page, name).click()
    page.wait_for_function(_JS_BARS_CHANGED, arg=[PANEL, bars_index, bars_before], timeout=10_000)
    page.wait_for_function(f"([panel, i, before]) => ({_JS_MAP_STATE})([panel, i]) !== before",
                           arg=[PANEL, map_index, map_before], timeout=10_000)
    return bars_before, bar_heights(page, bars_index), map_before, _map_state(page, map_index)


def _lab_button(page, name: str):
    """The lab's button labelled `name`, by the ``kmw-<name>`` class every lab button carries."""
    return page.locator(f"{PANEL} button.kmw-{name}").first


def test_chapter01_lab_allocate_and_free_redraw(jupyter_lab_server, chromium_page):
    base_url, token, _root_dir = jupyter_lab_server
    page = chromium_page

    open_and_run_all(page, base_url, token, NOTEBOOK, timeout=120_000)
    problems = page.evaluate(_JS_RUN_PROBLEMS, PANEL)
    assert problems["cells"] > 0 and not problems["unrun"] and not problems["tracebacks"], problems
    bars_index = _figure_index(page, "free-lists")
    map_index = _figure_index(page, "memory-map")
    page.wait_for_selector(f"{PANEL} .bqplot >> nth={bars_index} >> svg rect.bar")
    page.locator(f"{PANEL} .bqplot").nth(bars_index).scroll_into_view_if_needed()

    # allocate (order 0, GFP_KERNEL as the lab starts): one block leaves the free lists
    bars_before, bars_after, map_before, map_after = _click_and_wait(page, "allocate", bars_index, map_index)
    assert bars_after != bars_before and map_after != map_before

    # free (a held block): the free lists and the map change again
    bars_before, bars_after, map_before, map_after = _click_and_wait(page, "free", bars_index, map_index)
    assert bars_after != bars_before and map_after != map_before

    status = page.locator(f"{PANEL} .widget-html-content", has_text="freed").first
    assert status.is_visible(), "the status line did not report the free"
    page.set_viewport_size({"width": 1700, "height": 1500})   # room for the whole lab
    page.locator(f"{PANEL} .jp-Cell").filter(has_text="Buddy allocator lab").first.evaluate(
        "cell => cell.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    save_screenshot(page, "chapter01.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    # latency, printed only: a single click after a pause, then back-to-back allocate/free pairs
    page.wait_for_timeout(300)
    single = time_click_to_repaint(page, "allocate", bars_index)
    runs = []
    for _ in range(5):
        runs.append(time_click_to_repaint(page, "free", bars_index))
        runs.append(time_click_to_repaint(page, "allocate", bars_index))
    paint = [run["paint_ms"] for run in runs]
    print(f"\nchapter 01 lab, click-to-repaint of the free-list bars (headless Chromium):"
          f"\n  single click: {single['dom_ms']:.1f} ms to DOM change, {single['paint_ms']:.1f} ms to frame"
          f"\n  back-to-back x{len(runs)}: median {statistics.median(paint):.1f} ms,"
          f" min {min(paint):.1f}, max {max(paint):.1f}")

    if page.console_errors:
        print("browser console errors:", *page.console_errors, sep="\n  ")
    assert not page.console_errors, page.console_errors
