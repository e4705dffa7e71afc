"""Labs on the screen: a lab in the browser beside its twin in the test process, compared view by view.

A chapter's lab is deterministic, so a test clicks a control in the browser, makes the same call on
a twin built like the chapter builds its lab, and compares what was drawn (via :mod:`drawn`) with the
twin's model.  ``kit_console_errors`` is the console check every chapter test ends with.
"""

from __future__ import annotations

import re

import numpy as np

from drawn import (bar_values, eventually, expected_map, figure_reading, map_cells, map_differences, shown_text,
                   text_of, tick_labels)
from jlab import ARTIFACTS
from kernelmem_widgets import BuddyLab, Machine, SlabLab
from kernelmem_widgets.model import procfs, workload
from kernelmem_widgets.model.page_alloc.snapshot import free_list_counts
from kernelmem_widgets.views.slab_view import slab_parts

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
    if front_end == "voila" and forbidden and all("/voila/api/shutdown/" in line for line in forbidden):
        # leaving a page (a reload, a link), Voila's front end asks to shut its kernel down without the token (403);
        # the server culls the kernel anyway
        noise += (r"status of 403 \(Forbidden\)",)
    return [error for error in page.console_errors[since:]
            if not any(re.search(pattern, error, re.S) for pattern in noise)]


class LabOnScreen:
    """What every lab has: a status line and a header, controls found by their ``kmw-*`` class."""

    kind = "lab"

    def __init__(self, chapter, twin, index: int = 0):
        self.chapter, self.twin = chapter, twin
        self.root = chapter.lab(index, self.kind)
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

    def type_into(self, label: str, text: str, twin_setter) -> None:
        field = self.root.locator(".widget-inline-hbox").filter(
            has=self.chapter.page.locator("label", has_text=re.compile(rf"^{label}$"))).locator("input").first
        field.fill(text)
        field.press("Enter")
        twin_setter()

    def check(self, step: str) -> None:
        twin, root = self.twin, self.root
        self.steps.append(step)
        eventually(lambda: None if shown_text(root.locator(".kmw-status")) == " ".join(twin.status_text.split())
                   else f"status {shown_text(root.locator('.kmw-status'))!r} != {twin.status_text!r}",
                   f"{step}: status line")
        header = text_of(twin.header.value)
        eventually(lambda: None if shown_text(root.locator(".kmw-header")) == header
                   else f"header {shown_text(root.locator('.kmw-header'))!r} != {header!r}", f"{step}: header")
        self.check_drawing(step)

    def check_drawing(self, step: str) -> None:
        check_memory_map(self.root, self.twin, step)
        check_free_lists(self.root, self.twin, step)


def check_memory_map(root, twin, step: str) -> None:
    """Every cell's colour and the caption of the lab's memory map against the twin's model."""
    memory_map, zone = twin.memory_map, twin.memory_map.zone
    expected = expected_map(zone, memory_map.columns)
    view = root.locator(".kmw-memory-map")
    eventually(lambda: map_differences(map_cells(view, memory_map.rows, memory_map.columns), expected,
                                       memory_map.origin, memory_map.columns), f"{step}: memory map")
    caption = text_of(memory_map.caption.value)
    eventually(lambda: None if shown_text(view.locator(".kmw-caption")) == caption
               else f"{shown_text(view.locator('.kmw-caption'))!r} != {caption!r}", f"{step}: map caption")
    line = next(line for line in procfs.render_buddyinfo(twin.machine).splitlines() if line.split()[3] == zone.name)
    counts = [int(word) for word in line.split()[4:]]
    assert f"{sum(n << order for order, n in enumerate(counts)):,} free" in caption


def check_free_lists(root, twin, step: str) -> None:
    """Each stacked segment of the free-list bars, in axis units, against ``free_list_counts()``."""
    wanted = free_list_counts(twin.free_lists.zone).T.astype(float)
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


class SlabLabOnScreen(LabOnScreen):
    """The slab lab: its slab view (bars, slab labels in order, caption against /proc/slabinfo) too."""

    kind = "slab-lab"

    def check_drawing(self, step: str) -> None:
        super().check_drawing(step)
        twin, root = self.twin, self.root
        view = twin.slab_view
        figure = root.locator(".kmw-slab-view .bqplot").first

        def slabs_differ():
            reading = figure_reading(figure)
            labels = [t["text"] for t in sorted(reading["axes"][0], key=lambda t: t["y"])]
            if labels != (view.labels or ["(no slabs)"]):
                return f"slab labels drawn {labels} != model {view.labels}"
            if not view.labels:
                return None
            drawn = bar_values(reading, horizontal=True)
            wanted = slab_parts({k: v[:view.max_slabs] for k, v in view.table.items()}, twin.machine.slab.allocator)
            if drawn.shape != wanted.shape or np.abs(drawn - wanted).max() > 0.3:
                return f"slab bars drawn {np.round(drawn, 1).tolist()} != model {wanted.tolist()}"
            return None

        eventually(slabs_differ, f"{step}: slab view")
        caption = text_of(view.caption.value)
        eventually(lambda: None if shown_text(root.locator(".kmw-slab-view .kmw-caption")) == caption
                   else f"{shown_text(root.locator('.kmw-slab-view .kmw-caption'))!r} != {caption!r}",
                   f"{step}: slab caption")
        if twin.machine.slab.allocator != "slob":
            row = next((line.split() for line in procfs.render_slabinfo(twin.machine).splitlines()
                        if line.split()[0] == view.cache_name), None)
            assert row is not None and f"/proc/slabinfo says {int(row[1]):,} active" in caption, (row, caption)


def slab_twin(seed: int = 1) -> SlabLab:
    return SlabLab(Machine.preset("linux-6.18-tiny", seed=seed), seed=seed)


def vmalloc_twin() -> SlabLab:
    """Chapter 2's second lab, built as the chapter builds it."""
    machine = Machine.preset("linux-6.18-x86_64", ram="256M", seed=2)
    workload.Workload(machine, seed=2, fill=0.3).age(20000)
    return SlabLab(machine, seed=2, tab="vmalloc & modules")


class BuddyLabOnScreen(LabOnScreen):
    """The buddy lab: its fragmentation plot's axes too."""

    kind = "buddy-lab"

    def check_drawing(self, step: str) -> None:
        super().check_drawing(step)
        root = self.root
        index_axes = tick_labels(figure_reading(root.locator(".kmw-fragmentation .bqplot").nth(1)))
        assert index_axes[0] == ORDERS, f"{step}: fragmentation index x ticks {index_axes[0]}"
        history_axes = tick_labels(figure_reading(root.locator(".kmw-fragmentation .bqplot").nth(0)))
        assert history_axes[1][0] == "0" and "-1" not in history_axes[1], history_axes


def buddy_twin(seed: int) -> BuddyLab:
    return BuddyLab(Machine.preset("linux-6.18-tiny", seed=seed), seed=seed)


def screenshot_lab(chapter, name: str, index: int = 0) -> None:
    """test-artifacts/<name>.png: the chapter's ``index``-th lab as drawn (the README's pictures come from these)."""
    page = chapter.page
    page.set_viewport_size({"width": 1500, "height": 2000})
    lab = chapter.lab(index)
    lab.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    lab.screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled")
    page.set_viewport_size({"width": 1280, "height": 900})
