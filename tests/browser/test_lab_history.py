"""The history bar of a lab (labs/_history.py, views/history_controls.py) in JupyterLab and Voila.

Chapter 01 is opened once per front end (Notebook 7 renders the same widgets as JupyterLab; the
chapter tests cover it for every lab).  Its buddy lab is used (allocate, age, free), then its
history is moved with the bar's controls: *step back* twice, *step forward*, *undo*, the scrubber
(typed into its readout, as a keyboard user does), the *brief* explanation level, *export*, a *load*
with a bad line, and *stop* pressed during an aging of 1,000,000 steps.  After each, the same call
is made on a twin lab in the test process, and the test reads the screen:

* the colour at the centre of every one of the memory map's 4,096 cells equals the palette colour of
  that page in the twin's model at that history step, within 12/255 (so a replay drew the right
  state, not merely a changed one), and the map caption equals the twin's;
* the free-list bars equal the twin's ``free_list_counts()``; the status line and the header equal
  the twin's; the history caption ("step 2 of 4: age 5000") equals the twin's;
* the export box holds exactly the twin's ``export_ops()``; a bad load names the bad line;
* Stop ends the aging early, in Voila too (it has no kernel interrupt): the status says
  "(cancelled)", the history records the steps that ran, and the map equals a twin aged that many steps;
* the console shows no error but the front end's own.
"""

from __future__ import annotations

import re
import time

import pytest

from drawn import eventually, shown_text
from frontends import open_chapter
from labs_on_screen import BuddyLabOnScreen, buddy_twin, kit_console_errors

pytestmark = pytest.mark.browser


class HistoryOnScreen(BuddyLabOnScreen):
    """The buddy lab with its history bar: the history caption is checked after every step too."""

    def check(self, step: str) -> None:
        super().check(step)
        caption = self.twin.history_controls.caption_text()
        where = self.root.locator(".kmw-history-caption")
        eventually(lambda: None if shown_text(where) == caption else f"{shown_text(where)!r} != {caption!r}",
                   f"{step}: history caption")

    def scrub_to(self, position: int) -> None:
        """Type a step into the scrubber's readout and press Enter (the slider's keyboard path)."""
        readout = self.root.locator(".kmw-scrubber .widget-readout").first
        readout.click()
        readout.press("Control+a")
        readout.type(str(position))
        readout.press("Enter")
        self.twin.goto(position)
        self.check(f"scrubber to {position}")


# JupyterLab and Voila (no kernel interrupt: Stop must work without one); Notebook 7 draws the same
# widgets as JupyterLab and is covered for every lab by the chapter tests
@pytest.mark.parametrize("front_end_server", ["lab", "voila"], indirect=True)
def test_history_controls_redraw_the_state_of_each_step(front_end_server, chromium_page):
    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, "01_buddy_orders.ipynb")
    started = time.monotonic()
    lab = HistoryOnScreen(chapter, buddy_twin(1))
    twin = lab.twin
    lab.check_drawing("after Run All")
    lab.choose("order", "3 (32 KiB)", lambda: setattr(twin.order, "value", 3))
    lab.click("allocate", lambda: twin.allocate())
    lab.type_into("steps", "5000", lambda: setattr(twin.age_steps, "value", 5000))
    lab.click("age-the-machine", lambda: twin.age())
    lab.click("allocate", lambda: twin.allocate())
    lab.click("free", lambda: twin.free())
    assert twin.history.ops[:3] == ["alloc 3 GFP_KERNEL", "age 5000", "alloc 3 GFP_KERNEL"]
    lab.click("step-back", lambda: twin.step_back())
    lab.click("step-back", lambda: twin.step_back())
    assert twin.history.position == 2
    lab.click("step-forward", lambda: twin.step_forward())
    lab.click("undo", lambda: twin.undo())
    assert twin.history.ops == ["alloc 3 GFP_KERNEL", "age 5000"]
    lab.scrub_to(0)
    lab.scrub_to(2)
    lab.scrub_to(1)
    # the explanation level: the status line in one clause
    lab.root.locator(".kmw-explanation button", has_text=re.compile(r"^brief$")).first.click()
    twin.set_explanation("brief")
    lab.check("explanation brief")
    # export and a bad load, in the session accordion
    lab.root.locator(".kmw-history .jupyter-widget-Collapse-header, .kmw-history .p-Collapse-header, "
                     ".kmw-history .lm-Collapse-header").first.click()
    lab.click("export", lambda: twin.history_controls.show_export())
    exported = lab.root.locator(".kmw-export-text textarea").first
    eventually(lambda: None if exported.input_value() == twin.export_ops() else exported.input_value(), "export box")
    loaded = lab.root.locator(".kmw-load-text textarea").first
    loaded.fill("alloc 3\nalloc three")
    loaded.press("Tab")
    twin.history_controls.load_text.value = "alloc 3\nalloc three"
    lab.click("load", lambda: twin.load_ops("alloc 3\nalloc three"))
    assert twin.status_text.startswith("not loaded, the lab is unchanged: line 2 ('alloc three')")
    # stop: an aging of 1,000,000 steps (about 30 s) cancelled from the page
    lab.root.locator(".kmw-explanation button", has_text=re.compile(r"^full$")).first.click()
    twin.set_explanation("full")
    lab.type_into("steps", "1000000", lambda: setattr(twin.age_steps, "value", 1000000))
    lab.root.locator("button.kmw-age-the-machine").first.click()
    stop = lab.root.locator("button.kmw-stop").first
    eventually(lambda: None if stop.is_enabled() else "stop is not enabled", "stop enabled while aging")
    chromium_page.wait_for_timeout(400)
    stop.click()
    status = lab.root.locator(".kmw-status")
    eventually(lambda: None if "(cancelled)" in shown_text(status) else shown_text(status), "aging cancelled",
               timeout=60)
    caption = shown_text(lab.root.locator(".kmw-history-caption"))
    ran = int(re.fullmatch(r"step 2 of 2: age (\d+)", caption).group(1))
    assert 0 < ran < 1_000_000, caption
    report = twin.age(ran)
    assert f"aged the machine (seed 1): {ran:,} steps (cancelled)" in shown_text(status)
    assert shown_text(status).replace(" (cancelled)", "") == " ".join(twin.status_text.split())
    assert report.steps == ran
    lab.check_drawing("after stop")
    print(f"\n{front_end} history: opened and ran in {chapter.run_seconds:.1f} s, the history steps took "
          f"{time.monotonic() - started:.1f} s; stopped after {ran:,} of 1,000,000 steps; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end), chromium_page.console_errors
