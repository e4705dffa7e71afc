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
* a second display of the lab (a new cell showing ``lab``; JupyterLab and Notebook 7) draws the same
  picture, and a click in it redraws both displays;
* after saving and reloading the page (views rebuilt from the kernel's widget state; in Voila a new
  run) the map, the bars and the ticks are checked again;
* chapter 00's exercise is answered in its answer box (a wrong answer, then ``32K``), and in Voila
  the link to chapter 01 opens it (``voila notebooks/`` serves the tree);
* the browser console shows no error but the front end's own, listed in ``FRONT_END_NOISE``.

Screenshots of the lab go to test-artifacts/<front end>-<chapter>.png.
"""

from __future__ import annotations

import pytest

from drawn import eventually, shown_text
from frontends import display_again, open_chapter, save_and_reload
from labs_on_screen import BuddyLabOnScreen, buddy_twin, kit_console_errors, screenshot_lab

pytestmark = pytest.mark.browser


def test_chapter00_first_look_draws_the_model(front_end_server, chromium_page):
    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, "00_start_here.ipynb")
    lab = BuddyLabOnScreen(chapter, buddy_twin(0))
    lab.check_drawing("after Run All")           # the lab is as the prose says: a fresh machine
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.click("free", lambda: lab.twin.free())
    screenshot_lab(chapter, f"{front_end}-00_start_here")
    # the exercise is answered in its box (in Voila there is no code cell to type into)
    box = chapter.locator(".kmw-exercise-0").first
    box.locator("input").fill("3 pages")
    box.locator("button.kmw-check").click()
    eventually(lambda: None if "not quite" in shown_text(box) else shown_text(box), "exercise 0: a wrong answer")
    box.locator("input").fill("32K")
    box.locator("button.kmw-check").click()
    eventually(lambda: None if "Exercise 0: right" in shown_text(box) else shown_text(box), "exercise 0: 32K")
    if front_end == "voila":                     # voila notebooks/ serves the tree: the link to chapter 1 works
        chapter.locator("a[href='01_buddy_orders.ipynb']").first.click()
        chromium_page.wait_for_selector(".kmw-buddy-lab .bqplot svg", timeout=120_000)
        assert chromium_page.url.split("?")[0].endswith("/voila/render/01_buddy_orders.ipynb")
    print(f"\n{front_end} 00_start_here: opened and ran in {chapter.run_seconds:.1f} s; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end), chromium_page.console_errors


def test_chapter01_every_control_draws_the_model(front_end_server, chromium_page):
    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, "01_buddy_orders.ipynb")
    lab = BuddyLabOnScreen(chapter, buddy_twin(1))
    lab.check_drawing("after Run All")           # step 1 of the prose needs a whole 4 MiB block: still there
    assert lab.twin.zone.nr_free(10) == 4
    lab.click("step-through-a-split", lambda: lab.twin.step_split())
    lab.click("step-through-a-split", lambda: lab.twin.step_split())   # now "next split step (3/12)"
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.choose("order", "3 (32 KiB)", lambda: setattr(lab.twin.order, "value", 3))
    lab.click("allocate", lambda: lab.twin.allocate())
    lab.click("free", lambda: lab.twin.free())
    # 20,000 steps: enough aging that no order-10 block survives on this machine (5,000 leave one)
    lab.type_into("steps", "20000", lambda: setattr(lab.twin.age_steps, "value", 20000))
    lab.click("age-the-machine", lambda: lab.twin.age())
    lab.choose("order", "10 (4 MiB)", lambda: setattr(lab.twin.order, "value", 10))
    lab.click("allocate", lambda: lab.twin.allocate())
    assert "page allocation failure" in lab.twin.status_text
    lab.click("compact", lambda: lab.twin.compact())
    screenshot_lab(chapter, f"{front_end}-01_buddy_orders")
    lab.click("reset", lambda: lab.twin.reset())
    lab.click("allocate", lambda: lab.twin.allocate())
    if front_end != "voila":                      # a second display of the same lab: the same picture
        again = BuddyLabOnScreen(chapter, lab.twin, index=display_again(chapter, "lab", "buddy-lab"))
        again.check_drawing("a second display of the lab")
        again.click("allocate", lambda: lab.twin.allocate())   # a click in the copy redraws both
        lab.check_drawing("the first display, after a click in the second")
    assert not kit_console_errors(chromium_page, front_end), chromium_page.console_errors
    before_reload = len(chromium_page.console_errors)
    save_and_reload(chapter)
    if front_end == "voila":                      # a new run: a fresh lab, drawn from its widget state
        lab = BuddyLabOnScreen(chapter, buddy_twin(1))
    lab.check_drawing("after a reload")
    print(f"\n{front_end} 01_buddy_orders: opened and ran in {chapter.run_seconds:.1f} s; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end, since=before_reload, reloaded=True), \
        (chromium_page.console_errors, chromium_page.failed_responses)
