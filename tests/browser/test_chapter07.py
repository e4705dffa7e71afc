"""Chapter 07 in a real browser: JupyterLab, Notebook 7 and Voila on 127.0.0.1, headless Chromium.

Open 07_rtos_partitions.ipynb in each front end, run all cells, then read what the lab's byte-array view *drew*: a
screenshot of its ``.bqplot`` figure, decoded with Pillow, sampled at the cells of known addresses,
must show the palette colour of the kind the model says those bytes are (control block, free-list
link, free, header, requested bytes).  Then click *step*, *OSMemGet* and *OSMemPut* twice (a double
put that uC/OS-III accepts) and check each repaint against a copy of the same lab run in this
process: after the double put the block is drawn red.  The console must stay clean.
"""

from __future__ import annotations

import io

import pytest

from drawn import eventually, shown_text
from frontends import open_chapter
from jlab import save_screenshot
from labs_on_screen import kit_console_errors

pytestmark = pytest.mark.browser

NOTEBOOK = "07_rtos_partitions.ipynb"

# The lab is the chapter's first widget: its byte view is the first figure holding an <image>.
_JS_IMAGE = """([panel]) => {
  const figures = [...document.querySelectorAll(panel + ' .bqplot')];
  const i = figures.findIndex(fig => fig.querySelector('svg image') !== null);
  if (i < 0) return null;
  const image = figures[i].querySelector('svg image');
  const r = image.getBoundingClientRect(), f = figures[i].getBoundingClientRect();
  const href = image.getAttribute('href') || image.getAttribute('xlink:href') || '';
  return {index: i, x: r.left - f.left, y: r.top - f.top, w: r.width, h: r.height,
          href: href.length + ':' + href.slice(-48)};
}"""


def _image(page, scope):
    page.wait_for_function(f"([panel]) => {{ const r = ({_JS_IMAGE})([panel]); return r && r.w > 50; }}", arg=[scope])
    return page.evaluate(_JS_IMAGE, [scope])


# Free-list links are lines between cell centres with a dot on each target, drawn over the image:
# they are hidden while the cells are sampled (at their centres: the browser smooths the scaled
# image, so only a cell's centre has its exact colour), then shown again.
_JS_OVERLAY = """([panel, i, shown]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[i];
  for (const e of fig.querySelectorAll('path.line, path.dot')) e.style.visibility = shown ? '' : 'hidden';
}"""

_JS_DOTS = """([panel, i]) => [...document.querySelectorAll(panel + ' .bqplot')[i].querySelectorAll('path.dot')]
  .filter(e => getComputedStyle(e).visibility !== 'hidden' && e.closest('[visibility=hidden], [style*="hidden"]') === null)
  .length"""


def _sample(page, view, addresses, scope):
    """RGB drawn at the centre of each address's cell, read from a screenshot of the figure."""
    from PIL import Image

    info = _image(page, scope)
    page.evaluate(_JS_OVERLAY, [scope, info["index"], False])
    try:
        shot = Image.open(io.BytesIO(page.locator(f"{scope} .bqplot").nth(info["index"]).screenshot())).convert("RGB")
    finally:
        page.evaluate(_JS_OVERLAY, [scope, info["index"], True])
    rows, columns = view.colors.shape[:2]
    out = {}
    for addr in addresses:
        row, column = view.cell_of(addr)
        x = info["x"] + (column + 0.5) * info["w"] / columns
        y = info["y"] + (row + 0.5) * info["h"] / rows
        out[addr] = shot.getpixel((int(x), int(y)))
    return out


def _assert_drawn_as_model(page, view, addresses, scope):
    drawn = _sample(page, view, addresses, scope)
    for addr, rgb in drawn.items():
        want = view.color_at(addr)
        assert all(abs(a - b) <= 10 for a, b in zip(rgb, want)), (
            f"{addr:#x}: drawn {rgb}, the model says {view.kind_at(addr)} {want}")


def _click(page, css_class: str, scope) -> None:
    before = _image(page, scope)["href"]
    page.locator(f"{scope} button.{css_class}").first.click()
    page.wait_for_function(f"([panel, before]) => ({_JS_IMAGE})([panel]).href !== before", arg=[scope, before],
                           timeout=15_000)
    page.wait_for_timeout(300)


def _status(page, text: str, scope):
    return page.locator(f"{scope} .widget-html-content", has_text=text).first


def test_chapter07_byte_view_draws_what_the_model_says(front_end_server, chromium_page):
    from kernelmem_widgets import RtosLab

    front_end, server = front_end_server
    page = chromium_page
    chapter = open_chapter(page, front_end, server, NOTEBOOK, timeout=240_000, ready="")
    scope = chapter.scope  # where this front end shows the chapter's outputs
    twin = RtosLab(seed=0)                       # the notebook's lab, replayed here
    view, heap = twin.byte_view, twin.heap
    pool32, pool128 = heap.partitions[0], heap.partitions[1]
    page.locator(f"{scope} .bqplot").nth(_image(page, scope)["index"]).scroll_into_view_if_needed()
    page.wait_for_timeout(500)

    fresh = [heap.ram.base, pool32.addr_ptr, pool32.addr_ptr + 8, pool128.addr_ptr, pool128.addr_ptr + 64]
    assert [view.kind_at(a) for a in fresh] == ["control", "link", "free", "link", "free"]
    _assert_drawn_as_model(page, view, fresh, scope)

    # step: malloc(37) takes the first 128-byte block; its header word and data are drawn
    _click(page, "kmw-step", scope)
    line = twin.step(1)[0]
    assert _status(page, line, scope).is_visible(), line
    ptr = int(line.rsplit("= ", 1)[1], 16)
    assert (view.kind_at(ptr - 4), view.kind_at(ptr), view.kind_at(ptr + 40)) == ("header", "used", "waste")
    _assert_drawn_as_model(page, view, [ptr - 4, ptr, ptr + 40, pool32.addr_ptr], scope)

    # OSMemGet twice by hand on pool-32, then OSMemPut of the second block twice: with NbrFree below NbrMax
    # os_mem.c accepts the second put (a double put)
    _click(page, "kmw-osmemget", scope)
    first = twin.os_mem_get("pool-32")
    assert _status(page, f"OSMemGet(pool-32) = {first:#x}", scope).is_visible()
    _assert_drawn_as_model(page, view, [first, first + 8], scope)
    _click(page, "kmw-osmemget", scope)
    block = twin.os_mem_get("pool-32")
    _click(page, "kmw-osmemput", scope)
    _click(page, "kmw-osmemput", scope)
    twin.os_mem_put(block, "pool-32")
    twin.os_mem_put(block, "pool-32")
    assert view.kind_at(block) == "corrupt"
    assert _status(page, "a double put", scope).is_visible()
    _assert_drawn_as_model(page, view, [block, block + 8, ptr], scope)
    assert 0 < len(view.links) <= view.max_links
    assert page.evaluate(_JS_DOTS, [scope, _image(page, scope)["index"]]) == len(view.links)
    red = _sample(page, view, [block], scope)[block]
    assert red[0] > 150 and red[1] < 60 and red[2] < 60, f"the double-put block is drawn {red}, not red"
    _answer_the_exercises(page, scope)
    save_screenshot(page, f"{front_end}-07_rtos_partitions.png")
    assert not kit_console_errors(page, front_end), page.console_errors


def _answer_the_exercises(page, scope):
    """The answer boxes: the question drawn by code, a wrong answer told what is wrong, a right one, Reveal beside
    Check, and a student id typed once re-draws every question with that student's numbers."""
    from kernelmem_widgets.exercises import ch07, student

    box = page.locator(f"{scope} .kmw-exercise-1").first
    box.scroll_into_view_if_needed()
    question = "Which addresses do a, b, c, d, e hold?"   # drawn once the front end renders the scrolled-to cell
    eventually(lambda: None if question in shown_text(box) else shown_text(box), "exercise 1: the question")
    a, b, c, _d, e = ch07._solution_1(0)
    box.locator("input").fill(", ".join(hex(x) for x in (a, b, c, c, e)))
    box.locator("button.kmw-check").click()
    eventually(lambda: None if "d is wrong" in shown_text(box) else shown_text(box), "exercise 1: a wrong answer")
    box.locator("input").fill(" ".join(hex(x) for x in ch07._solution_1(0)))
    box.locator("button.kmw-check").click()
    eventually(lambda: None if "right: the free list is LIFO" in shown_text(box) else shown_text(box), "exercise 1")
    box2 = page.locator(f"{scope} .kmw-exercise-2").first
    box2.locator("button.kmw-reveal").click()
    eventually(lambda: None if "OSMemCreate checks, in order" in shown_text(box2) else shown_text(box2), "Reveal")
    try:
        student.set_student("alice")
        mine = ch07.question_1(ch07.student_seed(1)).split(" succeeds")[0]
    finally:
        student.clear_student()
    ids = page.locator(f"{scope} .kmw-student-box").first
    ids.locator("input").fill("alice")
    ids.locator("button.kmw-student-use").click()
    eventually(lambda: None if mine in shown_text(box) and "student alice" in shown_text(box) else shown_text(box),
               "exercise 1 re-drawn for student alice")
