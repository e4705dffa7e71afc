"""Chapter 04 in a real browser: JupyterLab, Notebook 7 and Voila on 127.0.0.1, headless Chromium.

One page load per front end: open 04_highmem_kmap.ipynb, run all cells, then compare what the
highmem lab DREW with a twin of the same lab in this process, after each click:

* the address-space figure: the colour of every region (user, direct map, vmalloc, pkmap, fixmap;
  DMA, Normal, HighMem) sampled from a screenshot of its image at the model's addresses, the y
  tick labels in order, the number of kmap lines, the caption;
* the pkmap window: the colour of slots by ``pkmap_count`` and the counter line;
* the status line after *kmap ×64*, *kunmap*, a ``vmalloc=256M`` reboot and *allocate*;
* exercise 1's answer box accepts the model's answer;
* no console errors.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from drawn import COLOUR_TOLERANCE, eventually, figure_reading, shown_text, tick_labels
from frontends import open_chapter
from jlab import save_screenshot
from labs_on_screen import kit_console_errors

pytestmark = pytest.mark.browser

NOTEBOOK = "04_highmem_kmap.ipynb"


def _picture(view_locator):
    """The view's ``<image>`` as drawn: an RGB array from a screenshot (lines hidden meanwhile)."""
    from PIL import Image

    figure = view_locator.locator(".bqplot").first
    figure.evaluate("e => e.scrollIntoView({block: 'center', inline: 'center'})")
    view_locator.page.mouse.move(1, 1)          # a pointer over a figure shows bqplot's toolbar on top
    figure.evaluate("f => f.querySelectorAll('path.line, path.dot').forEach(e => e.style.visibility = 'hidden')")
    try:
        shot = figure.locator("svg image").first.screenshot(animations="disabled")
    finally:
        figure.evaluate("f => f.querySelectorAll('path.line, path.dot').forEach(e => e.style.visibility = '')")
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def _sample(picture, model_image, points):
    """Differences between the drawn picture and the model's image at PNG pixels ``points``."""
    height, width = picture.shape[:2]
    rows, columns = model_image.shape[:2]
    wrong = []
    for name, (row, column) in points.items():
        drawn = picture[int((row + 0.5) * height / rows), int((column + 0.5) * width / columns)]
        want = model_image[row, column].astype(int)
        if np.abs(drawn - want).max() > COLOUR_TOLERANCE:
            wrong.append(f"{name}: drawn {tuple(drawn)}, model {tuple(want)}")
    return wrong


def _address_points(twin):
    """PNG pixels in the middle of each region at least three rows tall, per column."""
    from kernelmem_widgets.views.address_space import (COLUMNS, ROWS, _PX_PER_UNIT, _top, physical_regions,
                                                       virtual_regions, zoom_window)

    machine = twin.machine
    top = _top(machine)
    points = {}
    for column, regions, (lo, hi) in (("virtual", virtual_regions(machine), (0, top)),
                                      ("physical", physical_regions(machine), (0, top)),
                                      ("zoom", virtual_regions(machine), zoom_window(machine))):
        x = int(sum(COLUMNS[column]) / 2 * _PX_PER_UNIT)
        for name, start, end in regions:
            start, end = max(start, lo), min(end, hi)
            top_row, bottom_row = (hi - end) * ROWS / (hi - lo), (hi - start) * ROWS / (hi - lo)
            if bottom_row - top_row >= 3:
                points[f"{column} {name} {start:#x}"] = (int((top_row + bottom_row) / 2), x)
    return points


def _pkmap_points(twin, slots):
    from kernelmem_widgets.views.pkmap_window import CELL, SLOTS_PER_ROW

    return {f"slot {s} ({state})": ((s // SLOTS_PER_ROW) * CELL + CELL // 2, (s % SLOTS_PER_ROW) * CELL + CELL // 2)
            for s, state in ((s, twin.pkmap.counters_text and _state(twin, s)) for s in slots)}


def _state(twin, slot):
    from kernelmem_widgets.views.pkmap_window import slot_states

    return slot_states(twin.machine.kmap_space)[slot]


def _check(root, twin, step, slots=(0, 1, 2, 64, 65, 500)):
    from kernelmem_widgets.views.address_space import address_space_image
    from kernelmem_widgets.views.pkmap_window import pkmap_image

    status = " ".join(twin.status_text.split())
    eventually(lambda: None if shown_text(root.locator(".kmw-status")) == status
               else f"status {shown_text(root.locator('.kmw-status'))!r} != {status!r}", f"{step}: status line")
    space_view = root.locator(".kmw-address-space").first
    caption = " ".join(twin.address_space.caption_text.split())
    eventually(lambda: None if caption in shown_text(space_view) else f"caption is not {caption!r}",
               f"{step}: address-space caption")
    want_ticks = [f"{round(v)}" for v in twin.address_space.tick_values()]
    figure = space_view.locator(".bqplot").first
    eventually(lambda: None if [t.replace(",", "") for t in tick_labels(figure_reading(figure))[0]] == want_ticks
               else f"ticks {tick_labels(figure_reading(figure))} != {want_ticks}", f"{step}: y ticks")
    lines = len(twin.address_space.lines_mark.x)
    eventually(lambda: None if figure.locator("path.line").count() == lines
               else f"{figure.locator('path.line').count()} lines drawn, the model has {lines}", f"{step}: kmap lines")
    image = address_space_image(twin.machine)
    eventually(lambda: _sample(_picture(space_view), image, _address_points(twin)), f"{step}: address space")
    pkmap_view = root.locator(".kmw-pkmap-window").first
    counters = " ".join(twin.pkmap.counters_text.split())
    eventually(lambda: None if counters in shown_text(pkmap_view) else f"counters are not {counters!r}",
               f"{step}: pkmap counters")
    picture = pkmap_image(twin.machine.kmap_space)
    eventually(lambda: _sample(_picture(pkmap_view), picture, _pkmap_points(twin, slots)), f"{step}: pkmap slots")


def _select(root, label, option):
    root.locator(".widget-dropdown").filter(
        has=root.page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$"))).locator("select").first \
        .select_option(label=option)


def test_chapter04_highmem_lab_draws_what_the_model_says(front_end_server, chromium_page):
    from kernelmem_widgets import HighmemLab, Machine
    from kernelmem_widgets.exercises import ch04

    front_end, server = front_end_server
    page = chromium_page
    chapter = open_chapter(page, front_end, server, NOTEBOOK, timeout=240_000)
    root = chapter.lab(0)
    twin = HighmemLab(Machine.preset("linux-2.6.35-i386", ram="2G", cmdline=""))
    root.scroll_into_view_if_needed()
    _check(root, twin, "fresh")

    root.locator("button.kmw-kmap-64").first.click()
    twin.kmap(64)
    assert _state(twin, 64) == "in use" and _state(twin, 65) == "free"
    _check(root, twin, "kmap x64")

    root.locator("button.kmw-kunmap").first.click()
    twin.kunmap()
    assert _state(twin, 1) == "unflushed"
    _check(root, twin, "kunmap")

    _select(root, "vmalloc=", "256M")
    twin.vmalloc.value = "256M"
    assert "vmalloc 0xef7fe000-0xff7fe000 (256 MB)" in twin.address_space.caption_text
    _check(root, twin, "vmalloc=256M")
    assert "( 256 MB)" in shown_text(root)

    root.locator("button.kmw-allocate").first.click()
    twin.alloc("GFP_HIGHUSER", 0)
    assert "zone HighMem paid" in twin.status_text
    _check(root, twin, "allocate GFP_HIGHUSER")

    box = chapter.locator(".kmw-exercise-1").first
    box.scroll_into_view_if_needed()
    field = box.locator("input").first
    field.fill(str(ch04.solution_1()))
    field.press("Enter")
    eventually(lambda: None if "Exercise 1: right" in shown_text(box) else shown_text(box), "exercise 1 box")

    save_screenshot(page, f"{front_end}-04_highmem_kmap.png")
    assert not kit_console_errors(page, front_end), page.console_errors
