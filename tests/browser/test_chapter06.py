"""Chapter 06 in a real browser: boot with mem=1G, ioremap the hidden RAM, read back what was drawn.

Open 06_mem_and_ioremap.ipynb in JupyterLab (127.0.0.1, headless Chromium), run all cells, then
use the boot lab as a student does: type ``mem=1G`` and press *boot*, then *map* ``ioremap
0x40000000 1G``.  After each click the physical map (and after *map* the vmalloc strip) must be
redrawn, and the colours on screen at known physical addresses must be the colours the model
gives those addresses (Pillow reads a screenshot of the figure).  The front end is a parameter of
:func:`drive_chapter06` (only JupyterLab's is written today).  Saves test-artifacts/chapter06.png.
"""

from __future__ import annotations

import io
import re

import pytest

from jlab import open_and_run_all, save_screenshot

pytestmark = pytest.mark.browser

NOTEBOOK = "06_mem_and_ioremap.ipynb"
FRONT_ENDS = {"jupyterlab": {"open": open_and_run_all, "panel": ".jp-NotebookPanel:not(.lm-mod-hidden)"}}

_JS_FIGURE = """([panel, text]) => [...document.querySelectorAll(panel + ' .bqplot')]
    .findIndex(fig => fig.textContent.includes(text))"""
_JS_IMAGE = """([panel, i]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  const image = fig && fig.querySelector('svg image');
  if (!image) return null;
  const r = image.getBoundingClientRect();
  const href = image.getAttribute('href') || image.getAttribute('xlink:href') || '';
  return {x: r.left, y: r.top, width: r.width, height: r.height, href: href.length + href.slice(-80)};
}"""


def _pixel(page, box, fx: float, fy: float) -> tuple[int, int, int]:
    """The screen colour at fraction (fx, fy) of an image's box (a 3x3 clip, its centre pixel)."""
    from PIL import Image

    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    png = page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3, "height": 3})
    return Image.open(io.BytesIO(png)).convert("RGB").getpixel((1, 1))


def _close(a, b, tolerance: int = 12) -> bool:
    return all(abs(int(p) - int(q)) <= tolerance for p, q in zip(a, b))


def _wait_for_redraw(page, panel, index, before, timeout=20_000):
    page.wait_for_function(f"([panel, i, before]) => {{ const d = ({_JS_IMAGE})([panel, i]); "
                           "return d !== null && d.href !== before; }", arg=[panel, index, before], timeout=timeout)
    page.wait_for_timeout(300)
    return page.evaluate(_JS_IMAGE, [panel, index])


def _button(page, panel, name):
    return page.locator(f"{panel} button.widget-button").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).first


def _field(page, panel, label):
    return page.locator(f"{panel} .widget-inline-hbox").filter(
        has=page.locator("label", has_text=re.compile(rf"^{label}$"))).locator("input").first


def drive_chapter06(page, base_url, token, front_end: str = "jupyterlab") -> None:
    from kernelmem_widgets.model import Machine
    from kernelmem_widgets.views.ioremap_view import virtual_row
    from kernelmem_widgets.views.physical_map import physical_rows

    driver = FRONT_ENDS[front_end]
    panel = driver["panel"]
    driver["open"](page, base_url, token, NOTEBOOK, timeout=300_000)
    physical = page.evaluate(_JS_FIGURE, [panel, "physical address (GiB)"])
    virtual = page.evaluate(_JS_FIGURE, [panel, "offset from VMALLOC_START"])
    assert physical >= 0 and virtual >= 0
    page.locator(f"{panel} .bqplot").nth(physical).scroll_into_view_if_needed()
    before = page.evaluate(_JS_IMAGE, [panel, physical])["href"]

    # boot with mem=1G: the model's colours at known addresses must be on the screen
    field = _field(page, panel, "cmdline")
    field.fill("mem=1G")
    field.press("Enter")
    _button(page, panel, "boot").click()
    box = _wait_for_redraw(page, panel, physical, before)
    assert page.locator(f"{panel} .widget-html-content", has_text="booted with 'mem=1G'").first.is_visible()
    model = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=1G")
    rows, span = physical_rows(model)
    for addr in (0x20000000, 0x50000000, 0x90000000):
        for row in (0, 1, 3):
            expected = tuple(rows[row, int(addr * rows.shape[1] // span)])
            seen = _pixel(page, box, addr / span, (row + 0.5) / rows.shape[0])
            assert _close(seen, expected), (hex(addr), row, seen, expected)

    # the forum's ioremap: row 4 of the physical map and the vmalloc strip show it, uncached
    page.locator(f"{panel} .bqplot").nth(virtual).scroll_into_view_if_needed()
    before_physical = page.evaluate(_JS_IMAGE, [panel, physical])["href"]
    before_virtual = page.evaluate(_JS_IMAGE, [panel, virtual])["href"]
    _field(page, panel, "phys").fill("0x40000000")
    _field(page, panel, "size").fill("1G")
    _button(page, panel, "map").click()
    vbox = _wait_for_redraw(page, panel, virtual, before_virtual)
    box = _wait_for_redraw(page, panel, physical, before_physical)
    assert page.locator(f"{panel} .widget-html-content", has_text="= 0xffffc90000000000").first.is_visible()
    model.ioremap(0x40000000, 1 << 30)
    rows, span = physical_rows(model)
    expected = tuple(rows[4, int(0x50000000 * rows.shape[1] // span)])
    page.locator(f"{panel} .bqplot").nth(physical).scroll_into_view_if_needed()
    box = page.evaluate(_JS_IMAGE, [panel, physical])
    assert _close(_pixel(page, box, 0x50000000 / span, 4.5 / 5), expected)
    row, _start, vspan = virtual_row(model)
    page.locator(f"{panel} .bqplot").nth(virtual).scroll_into_view_if_needed()
    vbox = page.evaluate(_JS_IMAGE, [panel, virtual])
    for offset in (256 << 20, (3 << 30) // 2):
        expected = tuple(row[int(offset * len(row) // vspan)])
        assert _close(_pixel(page, vbox, offset / vspan, 0.5), expected), (hex(offset), expected)
    save_screenshot(page, "chapter06.png")


def test_chapter06_boot_lab_draws_what_the_model_says(jupyter_lab_server, chromium_page):
    base_url, token, _root = jupyter_lab_server
    drive_chapter06(chromium_page, base_url, token, "jupyterlab")
    if chromium_page.console_errors:
        print("browser console errors:", *chromium_page.console_errors, sep="\n  ")
    assert not chromium_page.console_errors, chromium_page.console_errors
