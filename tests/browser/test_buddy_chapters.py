"""Chapters 00 and 01 in JupyterLab, Notebook 7 and Voila: what the buddy lab DRAWS is what the model says.

For each front end (one server each per session) the chapter is opened and run, then every control
of its lab is used as a student would (allocate, step through a split, free, age, an order-10
request, compact, reset).  After each click the same call is made on a twin of the lab in the test
process (the labs are deterministic), and the test reads the screen:

* the memory map: the colour at the centre of every one of its 4,096 cells equals the palette colour
  of that page's state and migrate type in the model (``page_states()``), within 12/255;
* the free-list bars: each stacked segment's length, read in the axis' units, equals the model's
  ``free_list_counts()`` (blocks per order and migrate type) within 0.2;
* tick labels, in the order drawn: orders 0..10 on both ordinal axes;
* the status line equals the twin's ``status_text``; the map caption equals the twin's caption, and
  its free-page count equals the one /proc/buddyinfo (``procfs.render_buddyinfo``) implies;
* after saving and reloading the page (views rebuilt from the kernel's widget state; in Voila a new
  run) the map, the bars and the ticks are checked again;
* the browser console shows no error but the front end's own, listed in ``FRONT_END_NOISE``.

Screenshots of the lab go to test-artifacts/<front end>-<chapter>.png.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from drawn import (bar_values, eventually, expected_map, figure_reading, map_cells, map_differences, shown_text,
                   text_of, tick_labels)
from frontends import open_chapter, save_and_reload
from jlab import ARTIFACTS
from kernelmem_widgets import BuddyLab, Machine
from kernelmem_widgets.model import procfs
from kernelmem_widgets.model.page_alloc.snapshot import free_list_counts

pytestmark = pytest.mark.browser

ORDERS = [str(order) for order in range(11)]

#: Console errors that come from the front end itself, not from the kit (they show for a notebook
#: without any kit widget too): Voila's default template asks a CDN for an icon font (offline here)
#: and loads Notebook 7's lab extension, whose module federation fails inside Voila; Notebook 7 logs
#: one settings-schema lookup error while it starts.
FRONT_END_NOISE = {
    "lab": (),
    "notebook": (r"Cannot read properties of undefined \(reading 'schema'\)",),
    "voila": (r"Failed to load resource: net::ERR_NAME_NOT_RESOLVED", r"The getter for the shared module is not a "
              r"function.*@jupyterlab/docregistry"),
}

#: After a reload, jupyterlab-manager re-renders the saved outputs before it has restored their models
#: from the kernel and logs this once per output; then it draws them (the checks after the reload
#: pass).  Seen with a bare ipywidgets.Button too: jupyter-widgets/ipywidgets#3231, widgetti/ipyreact#40.
RELOAD_NOISE = (r"^console: Error: widget model not found",)


def kit_console_errors(page, front_end: str, *, since: int = 0, reloaded: bool = False) -> list[str]:
    """Console errors from index ``since`` on that are not the front end's own (see the lists above)."""
    noise = FRONT_END_NOISE[front_end] + (RELOAD_NOISE if reloaded else ())
    forbidden = [line for line in getattr(page, "failed_responses", []) if line.startswith("403 ")]
    if reloaded and front_end == "voila" and forbidden and all("/voila/api/shutdown/" in line for line in forbidden):
        # leaving the page, Voila's front end asks to shut its kernel down without the token (403);
        # the server culls the kernel anyway
        noise += (r"status of 403 \(Forbidden\)",)
    return [error for error in page.console_errors[since:]
            if not any(re.search(pattern, error, re.S) for pattern in noise)]


class BuddyLabOnScreen:
    """A buddy lab in the browser and its twin in the test process, compared view by view."""

    def __init__(self, chapter, twin: BuddyLab, index: int = 0):
        self.chapter, self.twin = chapter, twin
        self.root = chapter.lab(index, "buddy-lab")
        self.steps: list[str] = []

    def click(self, name: str, twin_call) -> None:
        self.root.locator(f"button.kmw-{name}").first.click()
        twin_call()
        self.check(name)

    def choose(self, label: str, option: str, twin_setter) -> None:
        select = self.root.locator(".widget-dropdown").filter(
            has=self.chapter.page.locator("label", has_text=re.compile(rf"^{label}$"))).locator("select").first
        select.select_option(label=option)
        twin_setter()

    def check(self, step: str) -> None:
        twin, root = self.twin, self.root
        self.steps.append(step)
        eventually(lambda: None if shown_text(root.locator(".kmw-status")) == " ".join(twin.status_text.split())
                   else f"status {shown_text(root.locator('.kmw-status'))!r} != {twin.status_text!r}",
                   f"{step}: status line")
        self.check_drawing(step)

    def check_drawing(self, step: str) -> None:
        twin, root = self.twin, self.root
        memory_map, zone = twin.memory_map, twin.zone
        expected = expected_map(zone, memory_map.columns)
        view = root.locator(".kmw-memory-map")
        eventually(lambda: map_differences(map_cells(view, memory_map.rows, memory_map.columns), expected,
                                           memory_map.origin, memory_map.columns), f"{step}: memory map")
        caption = text_of(memory_map.caption.value)
        eventually(lambda: None if shown_text(view.locator(".kmw-caption")) == caption
                   else f"{shown_text(view.locator('.kmw-caption'))!r} != {caption!r}", f"{step}: map caption")
        counts = [int(word) for word in procfs.render_buddyinfo(twin.machine).split()[4:]]
        assert f"{sum(n << order for order, n in enumerate(counts)):,} free" in caption
        wanted = free_list_counts(zone).T.astype(float)
        bars = root.locator(".kmw-free-lists .bqplot").first

        def bars_differ():
            reading = figure_reading(bars)
            drawn = bar_values(reading)
            if tick_labels(reading)[0] != ORDERS:
                return f"order ticks {tick_labels(reading)[0]}"
            if drawn.shape != wanted.shape or np.abs(drawn - wanted).max() > 0.2:
                return f"bars drawn {np.round(drawn.sum(axis=0), 2).tolist()} != model {wanted.sum(axis=0).tolist()}"
            return None

        eventually(bars_differ, f"{step}: free-list bars")
        index_axes = tick_labels(figure_reading(root.locator(".kmw-fragmentation .bqplot").nth(1)))
        assert index_axes[0] == ORDERS, f"{step}: fragmentation index x ticks {index_axes[0]}"
        history_axes = tick_labels(figure_reading(root.locator(".kmw-fragmentation .bqplot").nth(0)))
        assert history_axes[1][0] == "0" and "-1" not in history_axes[1], history_axes


def _twin(seed: int) -> BuddyLab:
    return BuddyLab(Machine.preset("linux-6.18-tiny", seed=seed), seed=seed)


def _screenshot(chapter, name: str) -> None:
    page = chapter.page
    page.set_viewport_size({"width": 1500, "height": 2000})
    lab = chapter.lab(0)
    lab.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    lab.screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_chapter00_first_look_draws_the_model(front_end_server, chromium_page):
    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, "00_start_here.ipynb")
    lab = BuddyLabOnScreen(chapter, _twin(0))
    lab.check_drawing("after Run All")           # the lab is as the prose says: a fresh machine
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.click("free", lambda: lab.twin.free())
    _screenshot(chapter, f"{front_end}-00_start_here")
    print(f"\n{front_end} 00_start_here: opened and ran in {chapter.run_seconds:.1f} s; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end), chromium_page.console_errors


def test_chapter01_every_control_draws_the_model(front_end_server, chromium_page):
    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, "01_buddy_orders.ipynb")
    lab = BuddyLabOnScreen(chapter, _twin(1))
    lab.check_drawing("after Run All")           # step 1 of the prose needs a whole 4 MiB block: still there
    assert lab.twin.zone.nr_free(10) == 4
    lab.click("step-through-a-split", lambda: lab.twin.step_split())
    lab.click("step-through-a-split", lambda: lab.twin.step_split())   # now "next split step (3/12)"
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.choose("order", "3 (32 KiB)", lambda: setattr(lab.twin.order, "value", 3))
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.click("free", lambda: lab.twin.free())
    lab.click("age-the-machine", lambda: lab.twin.age())
    lab.choose("order", "10 (4 MiB)", lambda: setattr(lab.twin.order, "value", 10))
    lab.click("allocate", lambda: lab.twin.allocate())
    assert "page allocation failure" in lab.twin.status_text
    lab.click("compact", lambda: lab.twin.compact())
    _screenshot(chapter, f"{front_end}-01_buddy_orders")
    lab.click("reset", lambda: lab.twin.reset())
    lab.click("allocate", lambda: lab.twin.allocate())
    assert not kit_console_errors(chromium_page, front_end), chromium_page.console_errors
    before_reload = len(chromium_page.console_errors)
    save_and_reload(chapter)
    if front_end == "voila":                      # a new run: a fresh lab, drawn from its widget state
        lab = BuddyLabOnScreen(chapter, _twin(1))
    lab.check_drawing("after a reload")
    print(f"\n{front_end} 01_buddy_orders: opened and ran in {chapter.run_seconds:.1f} s; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end, since=before_reload, reloaded=True), \
        (chromium_page.console_errors, chromium_page.failed_responses)
