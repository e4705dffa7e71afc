"""Chapter 06 in JupyterLab, Notebook 7 and Voila: what the boot lab DRAWS is what the model says.

For each front end (one server each per session) the chapter is opened and run once, then the boot
lab is used as a student does; after each control the same call is made on a twin of the lab in the
test process (``BootLab`` on the chapter's 2 GiB QEMU guest, ``e820=True``):

* *boot* ``mem=1G``, *map* ``ioremap 0x40000000 1G`` (the forum's answer), *map* ``ioremap`` of RAM
  (refused: the status line carries the kernel's WARN), *map* ``memremap(MEMREMAP_WB)`` of RAM (the
  direct map), *unmap*, *boot* ``mem=foo`` (refused, machine unchanged), *boot* ``memmap=64M$0x30000000``;
* after each: the status line equals the twin's; the boot log tab's text equals ``machine.dmesg()``
  and the /proc/iomem tab's equals ``procfs.render_iomem()``, line for line; the physical map's
  caption equals the twin's; the colour on screen at chosen addresses of each of the five bands
  (firmware e820, after cmdline, memblock, zones, ioremap) is the twin's colour for that address; the
  vmalloc strip's colour at chosen offsets is the twin's (the ioremap area drawn uncached, UC-).

The console shows no error but the front end's own.  Screenshot: test-artifacts/<front end>-06_mem_and_ioremap.png.
"""

from __future__ import annotations

import io

import pytest

from drawn import eventually, text_of
from frontends import open_chapter
from labs_on_screen import LabOnScreen, kit_console_errors, screenshot_lab

pytestmark = pytest.mark.browser

NOTEBOOK = "06_mem_and_ioremap.ipynb"
#: Physical addresses sampled on every band: low RAM, the 1 GiB edge either side, the PCI hole, high RAM.
PHYS = (0x20000000, 0x30000000 + (32 << 20), 0x3ff00000, 0x40000000 + (1 << 28), 0x70000000, 0xc0000000)

_JS_BOX = """(fig) => { const image = fig.querySelector('svg image'); if (!image) return null;
  const r = image.getBoundingClientRect();
  return {x: r.left, y: r.top, width: r.width, height: r.height}; }"""


def _close(a, b, tolerance: int = 12) -> bool:
    return all(abs(int(p) - int(q)) <= tolerance for p, q in zip(a, b))


def _pixels(page, figure, points):
    """Screen colours at fractions (fx, fy) of the figure's image (one screenshot of the page)."""
    from PIL import Image

    figure.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.mouse.move(1, 1)
    box = figure.evaluate(_JS_BOX)
    if box is None or box["width"] < 50:
        return None
    shot = Image.open(io.BytesIO(page.screenshot(animations="disabled"))).convert("RGB")
    return [shot.getpixel((int(box["x"] + fx * box["width"]), int(box["y"] + fy * box["height"]))) for fx, fy in points]


def boot_twin():
    from kernelmem_widgets import BootLab, Machine

    return BootLab(Machine.preset("linux-6.18-x86_64", ram="2G", e820=True))


class BootLabOnScreen(LabOnScreen):
    kind = "boot-lab"

    def map(self, call: str, phys: str, size: str) -> None:
        self.choose("call", call, lambda: None)
        self.type_into("phys", phys, lambda: None)
        self.type_into("size", size, lambda: None)
        self.click("map", lambda: self.twin.map(call, phys, size))

    def boot(self, cmdline: str) -> None:
        self.type_into("cmdline", cmdline, lambda: None)
        self.click("boot", lambda: self.twin.boot(cmdline))

    def check(self, step: str) -> None:
        from kernelmem_widgets.model import procfs

        twin, root, page = self.twin, self.root, self.chapter.page
        self.steps.append(step)
        status = " ".join(twin.status_text.split())

        def text(css):
            return " ".join((root.locator(css).first.text_content() or "").split())

        eventually(lambda: None if text(".kmw-status") == status else f"status {text('.kmw-status')!r} != {status!r}",
                   f"{step}: status line")
        for css, want in ((".kmw-dmesg", "\n".join(twin.machine.dmesg())), (".kmw-iomem", procfs.render_iomem(twin.machine))):
            eventually(lambda css=css, want=want: None if (root.locator(css).first.text_content() or "").strip() == want.strip()
                       else f"{css}: {(root.locator(css).first.text_content() or '')[:300]!r}", f"{step}: {css}")
        caption = text_of(twin.physical_map.caption.value)
        eventually(lambda: None if text(".kmw-physical-map .kmw-caption") == caption
                   else f"{text('.kmw-physical-map .kmw-caption')!r} != {caption!r}", f"{step}: physical map caption")
        view = twin.physical_map
        rows = view.rows
        points, wanted = [], []
        for addr in PHYS:
            if addr >= view.span:
                continue
            column = view.column_of(addr)
            for row in range(rows.shape[0]):
                # the browser scales the 1,024 columns smoothly: sample only inside a run of 5 equal columns
                around = rows[row, max(column - 2, 0):column + 3]
                if (around != rows[row, column]).any():
                    continue
                points.append((addr / view.span, (row + 0.5) / rows.shape[0]))
                wanted.append((hex(addr), row, tuple(int(c) for c in rows[row, view.column_of(addr)])))
        figure = root.locator(".kmw-physical-map .bqplot").first

        def physical_differs():
            seen = _pixels(page, figure, points)
            if seen is None:
                return "the physical map is not drawn"
            wrong = [f"{a} band {r}: drawn {s}, model {w}" for s, (a, r, w) in zip(seen, wanted) if not _close(s, w)]
            return wrong[:8]

        eventually(physical_differs, f"{step}: physical map")
        strip = twin.ioremap_view
        offsets = [o for o in (8 << 20, 256 << 20, 768 << 20, 3 << 29) if o < strip.span
                   and (strip.row[max(strip.column_of(strip.start + o) - 2, 0):strip.column_of(strip.start + o) + 3]
                        == strip.row[strip.column_of(strip.start + o)]).all()]
        vwanted = [tuple(int(c) for c in strip.row[strip.column_of(strip.start + o)]) for o in offsets]
        vfigure = root.locator(".kmw-ioremap-view .bqplot").first

        def strip_differs():
            seen = _pixels(page, vfigure, [(o / strip.span, 0.5) for o in offsets])
            if seen is None:
                return "the vmalloc strip is not drawn"
            return [f"offset {o:#x}: drawn {s}, model {w}" for o, s, w in zip(offsets, seen, vwanted) if not _close(s, w)]

        eventually(strip_differs, f"{step}: vmalloc strip")


def test_chapter06_boot_lab_draws_the_model(front_end_server, chromium_page):
    from kernelmem_widgets.views import palette

    front_end, server = front_end_server
    chapter = open_chapter(chromium_page, front_end, server, NOTEBOOK, timeout=240_000, ready=".kmw-boot-lab")
    lab = BootLabOnScreen(chapter, boot_twin())
    lab.check("after Run All")
    lab.boot("mem=1G")
    assert lab.twin.status_text.startswith("booted with 'mem=1G': max_pfn 0x40000")
    lab.map("ioremap", "0x40000000", "1G")
    assert lab.twin.held == [0xffffc90000000000]
    assert tuple(lab.twin.ioremap_view.row[lab.twin.ioremap_view.column_of(0xffffc90000000000 + (256 << 20))]) == \
        palette.hex_to_rgb(palette.CACHE_MODE_COLORS["UC-"])
    screenshot_lab(chapter, f"{front_end}-06_mem_and_ioremap")
    lab.map("ioremap", "0x20000000", "1M")
    assert "ioremap on RAM at 0x0000000020000000" in lab.twin.status_text
    lab.map("memremap(MEMREMAP_WB)", "0x20000000", "64M")
    lab.click("unmap", lambda: lab.twin.unmap())
    lab.boot("mem=foo")
    assert lab.twin.status_text.startswith("not booted: mem=foo")
    lab.boot("memmap=64M$0x30000000")
    print(f"\n{front_end} 06_mem_and_ioremap: opened and ran in {chapter.run_seconds:.1f} s; checked {lab.steps}")
    assert not kit_console_errors(chromium_page, front_end), (chromium_page.console_errors,
                                                               chromium_page.failed_responses)
