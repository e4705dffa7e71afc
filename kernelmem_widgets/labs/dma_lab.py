"""Chapter 5's lab: every way a driver can get a 100 MB DMA buffer, tried on one machine.

Controls: the buffer size, the device (ISA 24-bit, PCI 32-bit, PCI 64-bit; behind an IOMMU or
not), the boot command line (``cma=``, ``memmap=``, ``mem=``: *boot* reboots the machine with it),
*age the machine* (a week of uptime, :meth:`Workload.age`), *pin pages in the CMA area*
(``pin_user_pages()`` on user pages that sit there) and one button per route of
:mod:`kernelmem_widgets.model.dma.routes`.  A route that works holds its memory (drawn on the map
and in the SG view) until *release* or the next route; the routes table says for every route
whether it would work now.  Every click calls a public model function; a refusal is said on the
status line in the kernel's words, never as a traceback.
"""

from __future__ import annotations

import time
from typing import Sequence

import ipywidgets as widgets

from ..model.dma import Device, ROUTES, cma_migration_estimate, pin_user_pages, run_route, user_pages_in
from ..model.dma.routes import check_size
from ..model.errors import InvalidArgument, KernelMemError
from ..model.units import format_size, memparse
from ..model.workload import Workload
from ..views.controls import action_button, status_line
from ..views.dma_map import CmaMemoryMap
from ..views.dma_routes import RoutesTable
from ..views.sg_list_view import SgListView
from ._status import SaysWhatHappened

__all__ = ["DmaLab", "DEVICES", "PROGRESS_AFTER_BLOCKS"]

#: The devices the lab offers: label -> (dma mask bits)
DEVICES = {"ISA (24-bit)": 24, "PCI 32-bit": 32, "PCI 64-bit": 64}
#: Migrations above this many blocks take longer than ~0.2 s on a 2-core machine: show the bar
PROGRESS_AFTER_BLOCKS = 4000


class DmaLab(SaysWhatHappened, widgets.VBox):
    """The chapter-5 dashboard on ``machine`` (booted from a firmware map, ideally with ``cma=``).

    Parameters
    ----------
    machine : Machine
        E.g. ``Machine.preset("linux-6.18-x86_64-cma", ram="1G", cmdline="cma=128M")``.
    seed : int
        Seed of the aging workload.
    ops : sequence of str, optional
        Literal operations run at construction: ``"boot cma=256M"``, ``"device PCI 32-bit"``,
        ``"iommu on"``, ``"size 100M"``, ``"age"``, ``"pin 8"``, ``"route dma_coherent_cma"``, ``"release"``.

    Attributes
    ----------
    held : RouteResult or None
        The route result whose memory the lab holds.
    status, status_text : the status line and its text
    memory_map, sg_view, routes_table : the views
    progress : ipywidgets.IntProgress
        Shown while a route migrates more than :data:`PROGRESS_AFTER_BLOCKS` blocks, or while aging.
    """

    def __init__(self, machine, *, seed: int = 1, ops: Sequence[str] | None = None) -> None:
        if machine.boot is None:
            raise InvalidArgument("DmaLab needs a machine booted from a firmware map and a command line: "
                                  "Machine.preset('linux-6.18-x86_64-cma', ram='1G', cmdline='cma=128M')")
        self.machine, self.seed = machine, seed
        self.held = None
        self.workload = None
        self.status = status_line()
        self.status.add_class("kmw-status")
        self.status_text = ""
        self.last_route_seconds = 0.0
        self._build_controls()
        self.memory_map = CmaMemoryMap(machine, width=520)
        self.sg_view = SgListView(ram_bytes=machine.nr_pages * machine.page_size, page_size=machine.page_size)
        self.routes_table = RoutesTable(machine, self.device, self.size)
        super().__init__(children=self._layout())
        self.add_class("kmw-dma-lab")
        self._say(f"{machine.config.name}, {format_size(machine.ram_bytes)}; "
                  + (machine.dma.default_cma.boot_line if machine.dma.default_cma else "no CMA area (boot with cma=)"))
        for op in ops or ():
            self.run_op(op)

    # ------------------------------------------------------------------ widgets
    def _build_controls(self) -> None:
        self.size_text = widgets.Text(value="100M", description="size", layout=widgets.Layout(width="160px"),
                                      style={"description_width": "35px"})
        self.device_choice = widgets.Dropdown(options=list(DEVICES), value="PCI 64-bit", description="device",
                                              layout=widgets.Layout(width="220px"), style={"description_width": "50px"})
        self.iommu_box = widgets.Checkbox(value=False, description="behind an IOMMU", indent=False,
                                          layout=widgets.Layout(width="150px"))
        self.cmdline = widgets.Text(value=self.machine.cmdline, description="cmdline",
                                    layout=widgets.Layout(width="420px"), style={"description_width": "60px"})
        self.boot_button = action_button("boot", "reboot with this command line (cma=, memmap=, mem=)", "power-off")
        self.age_button = action_button("age the machine", "a week of uptime: page cache, slab, kernel stacks", "clock")
        self.pin_button = action_button("pin pages in the CMA area", "pin_user_pages() on user pages in the CMA "
                                        "area: cma_alloc() cannot move them", "thumb-tack")
        self.release_button = action_button("release", "give back what the last route holds", "undo")
        self.route_buttons = {}
        for route in ROUTES:
            button = action_button(route.name, f"{route.call} ({route.when})")
            button.on_click(self._on_click(lambda name=route.name: self.try_route(name)))
            self.route_buttons[route.name] = button
        self.boot_button.on_click(self._on_click(lambda: self.boot(self.cmdline.value)))
        self.age_button.on_click(self._on_click(self.age))
        self.pin_button.on_click(self._on_click(lambda: self.pin(8)))
        self.release_button.on_click(self._on_click(self.release))
        for control in (self.size_text, self.device_choice, self.iommu_box):
            control.observe(self._on_setting, names="value")
        self.progress = widgets.IntProgress(value=0, min=0, max=100, description="",
                                            layout=widgets.Layout(width="420px", visibility="hidden"))
        self.progress.add_class("kmw-progress")

    def _layout(self) -> list[widgets.Widget]:
        settings = widgets.HBox([self.size_text, self.device_choice, self.iommu_box])
        boot = widgets.HBox([self.cmdline, self.boot_button, self.age_button, self.pin_button])
        routes = widgets.HBox(list(self.route_buttons.values()) + [self.release_button],
                              layout=widgets.Layout(flex_flow="row wrap"))
        views = widgets.HBox([self.memory_map, self.sg_view])
        return [settings, boot, routes, self.progress, self.status, views, self.routes_table]

    # ------------------------------------------------------------------ settings
    @property
    def device(self) -> Device:
        bits = DEVICES[self.device_choice.value]
        name = {24: "isa-dma", 32: "0000:01:00.0", 64: "0000:02:00.0"}[bits]
        return Device.isa(name) if bits == 24 and not self.iommu_box.value else \
            Device(name, dma_mask=(1 << bits) - 1, coherent_dma_mask=(1 << bits) - 1, iommu=self.iommu_box.value)

    @property
    def size(self) -> int:
        try:
            return check_size(memparse(self.size_text.value))
        except (KernelMemError, ValueError, TypeError):
            return 100 << 20

    def _on_setting(self, _change=None) -> None:
        try:
            size = check_size(memparse(self.size_text.value))
        except (KernelMemError, ValueError, TypeError) as error:
            self._say(f"size {self.size_text.value!r}: {error}; accepted: e.g. 100M, 64M, 1G", error=True)
            return
        self.routes_table.configure(self.device, size)
        self._say(f"{self.device.name}: mask {self.device.coherent_dma_mask:#x}"
                  + (", behind an IOMMU" if self.device.iommu else "") + f"; size {format_size(size)}")

    # ------------------------------------------------------------------ actions
    def boot(self, cmdline: str) -> None:
        """Reboot with ``cmdline``; a bad parameter leaves the machine as it was."""
        self._drop_held()
        try:
            self.machine.reboot(cmdline)
        except KernelMemError as error:
            self._say(f"boot refused: {error}", error=True)
            return
        self.workload = None
        self.cmdline.value = cmdline
        self.routes_table.refresh()
        lines = [line for line in self.machine.dmesg() if line.startswith(("cma:", "Memory:"))]
        self._say(f"booted with {cmdline!r}: " + " | ".join(lines))

    def age(self) -> None:
        """A week of uptime (``Workload.age()``), with the progress bar."""
        self._drop_held()
        if self.workload is None:
            self.workload = Workload(self.machine, seed=self.seed)
        self._show_progress("aging")
        try:
            report = self.workload.age(progress=self._progress)
        finally:
            self._hide_progress()
        self.routes_table.refresh()
        self._say(f"aged: {report.summary()}")

    def pin(self, count: int = 8) -> None:
        """``pin_user_pages()`` on up to ``count`` user pages in the CMA area (evenly spread)."""
        cma = self.machine.dma.default_cma
        if cma is None:
            self._say("no CMA area to pin pages in: boot with cma= first", error=True)
            return
        heads = user_pages_in(self.machine, cma)
        if not heads:
            self._say("no user page sits in the CMA area yet (movable allocations use it once its free pages are "
                      "more than half the zone's): age the machine first", error=True)
            return
        middle = (cma.base_pfn + cma.end_pfn) // 2           # the middle first: every large window covers it
        chosen = sorted(sorted(heads, key=lambda pfn: abs(pfn - middle))[:count])
        for pfn in chosen:
            pin_user_pages(self.machine, pfn)
        self.routes_table.refresh()
        self._say(f"pin_user_pages() on {len(chosen)} user pages in the CMA area (first {chosen[0]:#x}): "
                  "migration cannot move them, so a cma_alloc() range holding one fails with -EBUSY")

    def try_route(self, name: str) -> None:
        """Run route ``name`` for the device and size; the lab holds what it gave."""
        self._drop_held()
        device, size = self.device, self.size
        expected = cma_migration_estimate(self.machine, device, size) if name == "dma_coherent_cma" else 0
        if expected > PROGRESS_AFTER_BLOCKS:
            self._show_progress(f"migrating {expected:,} blocks")
        started = time.perf_counter()
        try:
            result = run_route(self.machine, name, device, size,
                               progress=self._progress if expected > PROGRESS_AFTER_BLOCKS else None)
        finally:
            self._hide_progress()
        self.last_route_seconds = time.perf_counter() - started
        self.held = result if result.done else None
        self.sg_view.show(result.runs, result.route.call)
        if result.runs and len(result.runs) == 1:
            pfn, count = result.runs[0]
            block = 1 << self.machine.max_page_order            # outline the run in MAX_PAGE_ORDER blocks
            first = pfn - pfn % block
            self.memory_map.highlight(first, self.machine.max_page_order,
                                      also=[(p, self.machine.max_page_order)
                                            for p in range(first + block, pfn + count, block)][:63])
        else:
            self.memory_map.clear_highlight()
        self.routes_table.refresh()
        text = f"{result.route.call}: {'works' if result.ok else 'fails'} - {result.result}; {result.why}"
        if result.migrated and "migrated" not in text:
            text += f" ({len(result.migrated):,} blocks migrated out of the way)"
        self._say(text, error=not result.ok)

    def release(self) -> None:
        if self.held is None:
            self._say("nothing held: run a route first")
            return
        name = self.held.route.call
        self._drop_held()
        self.sg_view.show([])
        self.memory_map.clear_highlight()
        self.routes_table.refresh()
        self._say(f"released what {name} held")

    def _drop_held(self) -> None:
        if getattr(self, "held", None) is not None:
            held, self.held = self.held, None
            held.release()

    # ------------------------------------------------------------------ progress
    def _show_progress(self, what: str) -> None:
        self.progress.value, self.progress.description = 0, what[:20]
        self.progress.layout.visibility = "visible"

    def _progress(self, done: int, total: int) -> None:
        self.progress.value = int(100 * done / max(total, 1))

    def _hide_progress(self) -> None:
        self.progress.layout.visibility = "hidden"

    # ------------------------------------------------------------------ literal operations
    def run_op(self, op: str) -> None:
        """One literal operation (see the class docstring); a bad one is said on the status line."""
        verb, _, rest = op.strip().partition(" ")
        rest = rest.strip()
        if verb == "boot":
            self.boot(rest)
        elif verb == "device" and rest in DEVICES:
            self.device_choice.value = rest
        elif verb == "iommu" and rest in ("on", "off"):
            self.iommu_box.value = rest == "on"
        elif verb == "size":
            self.size_text.value = rest
        elif verb == "age":
            self.age()
        elif verb == "pin":
            self.pin(int(rest) if rest.isdigit() else 8)
        elif verb == "route" and rest in self.route_buttons:
            self.try_route(rest)
        elif verb == "release":
            self.release()
        else:
            self._say(f"unknown operation {op!r}; accepted: boot CMDLINE, device {'|'.join(DEVICES)}, iommu on|off, "
                      "size SIZE, age, pin N, route NAME, release", error=True)

    def close(self) -> None:
        self._drop_held()
        for view in ("memory_map", "routes_table"):
            if hasattr(self, view):
                getattr(self, view).close()
        super().close()
