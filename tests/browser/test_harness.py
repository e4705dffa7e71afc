"""End-to-end check of the browser harness itself, independent of the kit.

Writes a throwaway notebook (an ipywidgets.Button that changes a bqplot Bars mark) into the
server's root dir, runs it in JupyterLab in headless Chromium, clicks the button and asserts the
bars were redrawn with the new values. Prints click-to-repaint latency; never asserts on time.
"""

from __future__ import annotations

import statistics

import pytest

from jlab import bar_heights, open_and_run_all, save_screenshot, time_click_to_repaint

pytestmark = pytest.mark.browser

HARNESS_CELL = """\
import ipywidgets as widgets
import bqplot as bq

x_sc = bq.OrdinalScale()
y_sc = bq.LinearScale(min=0, max=10)  # fixed range: heights follow the values
bars = bq.Bars(x=["a", "b", "c"], y=[1, 2, 3], scales={"x": x_sc, "y": y_sc})
fig = bq.Figure(marks=[bars], axes=[bq.Axis(scale=x_sc), bq.Axis(scale=y_sc, orientation="vertical")],
                animation_duration=0, layout=widgets.Layout(width="400px", height="300px"))
button = widgets.Button(description="grow")

def grow(_):
    bars.y = [int(v) % 9 + 1 for v in bars.y]   # 1..9, always a change

button.on_click(grow)
widgets.VBox([button, fig])
"""


def _write_notebook(path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# harness check"),
                nbformat.v4.new_code_cell(HARNESS_CELL)]
    nbformat.write(nb, path)


def _proportional(heights, values):
    scale = heights[0] / values[0]
    return all(abs(h - v * scale) < 1.0 for h, v in zip(heights, values))


@pytest.mark.parametrize("front_end_server", ["lab"], indirect=True)   # the chapters' JupyterLab server
def test_click_changes_bqplot_bars(front_end_server, chromium_page):
    _front_end, server = front_end_server
    base_url, token, root_dir = server.base_url, server.token, server.root_dir
    page = chromium_page
    _write_notebook(root_dir / "_harness_check.ipynb")

    open_and_run_all(page, base_url, token, "_harness_check.ipynb")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .bqplot svg rect.bar")
    before = bar_heights(page)
    assert len(before) == 3 and _proportional(before, [1, 2, 3]), before

    # a real (Playwright) click, the way a student clicks
    page.get_by_role("button", name="grow").click()
    page.wait_for_function(
        """(before) => {
          const svg = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .bqplot')[0]
                        .querySelectorAll('svg')[1];
          const now = [...svg.querySelectorAll('rect.bar')].map(r => parseFloat(r.getAttribute('height')));
          return now.length === before.length && now.some((h, i) => Math.abs(h - before[i]) > 0.5);
        }""",
        arg=before,
    )
    after = bar_heights(page)
    assert _proportional(after, [2, 3, 4]), (before, after)
    save_screenshot(page, "harness-after-click")

    # latency: one more click after a pause, then back-to-back clicks (printed, never asserted)
    page.wait_for_timeout(300)
    first = time_click_to_repaint(page, "grow")
    runs = [time_click_to_repaint(page, "grow") for _ in range(9)]
    paint = [r["paint_ms"] for r in runs]
    print(f"\nclick-to-repaint (DOM click -> bars changed -> next frame), headless Chromium:"
          f"\n  single click: {first['dom_ms']:.1f} ms to DOM change, {first['paint_ms']:.1f} ms to frame"
          f"\n  back-to-back x{len(runs)}: median {statistics.median(paint):.1f} ms,"
          f" min {min(paint):.1f}, max {max(paint):.1f}")
    # 11 clicks in all on [1, 2, 3], each v -> v % 9 + 1: the kernel and the plot agree on [3, 4, 5]
    assert _proportional(bar_heights(page), [3, 4, 5]), bar_heights(page)

    page_errors = [e for e in page.console_errors if e.startswith("pageerror")]
    if page.console_errors:
        print("browser console errors:", *page.console_errors, sep="\n  ")
    assert not page_errors, page_errors
