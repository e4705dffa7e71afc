"""Chapter 3's lab: why the kernel wants physically contiguous memory, measured.

Two halves on one machine.  *Streams*: pick an access pattern, a buffer size and a CPU; the same
stream runs through the direct map (2 MiB / 1 GiB pages, built at boot), a vmalloc area (4 KiB
PTEs over scattered pages) and a user mapping with 4 KiB pages or THP; the table and the bars show
TLB hits, page walks and the memory references they cost, and the TLB view shows the sets filling.
*Address space*: mmap gives no memory, touch and write fault it in (zero page, THP or 4 KiB),
fork shares it, a write after fork copies; the page-walk view walks any address; the memory map
shows where the data pages and the page-table pages landed.
"""

from __future__ import annotations

from typing import Sequence

import bqplot as bq
import ipywidgets as widgets

from ..model.errors import InvalidOperation, KernelMemError
from ..model.mmu.mm import MmStruct
from ..model.mmu.streams import PATTERNS, compare_mappings
from ..model.mmu.tlb import TLB_PRESETS, Tlb
from ..model.units import format_size, memparse
from ..views import MemoryMap
from ..views.controls import action_button, status_line
from ..views.page_walk_view import PageWalkView
from ..views.tlb_view import TlbView, stats_table_html
from ._history import HasHistory
from ._status import SaysWhatHappened

__all__ = ["ContiguityLab", "CONTIGUITY_OPS"]

#: The operations of the contiguity lab's ``ops``, history, export and load
CONTIGUITY_OPS = ("'run [PATTERN] [SIZE] [STRIDE] [cpu=CPU]', 'mmap [LENGTH] [thp=always|madvise|never]', 'touch', "
                  "'write', 'fork', 'child-write', 'munmap'")

MAPPINGS = ("direct map", "vmalloc", "user 4 KiB", "user THP")


class ContiguityLab(HasHistory, SaysWhatHappened, widgets.VBox):
    """Streams through four mappings, and a process that mmaps, faults, forks and writes.

    Parameters
    ----------
    machine : Machine
    cpu : str
        TLB preset: "skylake", "haswell" or "teaching".
    ops : sequence of str, optional
        Literal operations run at construction: ``"run sequential 8M 4096"``, ``"mmap 4M"``,
        ``"touch"``, ``"write"``, ``"fork"``, ``"child-write"``, ``"munmap"``.

    Attributes
    ----------
    results : dict
        ``compare_mappings()`` of the last run.
    mm, child : MmStruct or None
        The lab's process and its forked child.
    walks_bars : bqplot.Bars
        Page walks per mapping (``y`` replaced on every run).
    tabs : ipywidgets.Tab
        "TLB and page walks", "faults, fork, COW"; a tab's content (``tab_contents[i]``) is put in
        when the tab is first selected, so that its figures are first drawn visible.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> lab = ContiguityLab(Machine.preset("linux-6.18-x86_64", ram="256M"), ops=["run sequential 4M 4096"])
    >>> [lab.results[name]["walks"] for name in ("direct map", "vmalloc", "user 4 KiB", "user THP")]
    [2, 1024, 1024, 2]
    """

    def __init__(self, machine, *, cpu: str = "skylake", ops: Sequence[str] | None = None) -> None:
        self.machine, self.cpu = machine, cpu
        self.results: dict = {}
        self.mm: MmStruct | None = None
        self.child: MmStruct | None = None
        self.base = 0
        self.status_text = ""
        self._build_controls()
        self.tlb_view = TlbView(Tlb(cpu))
        self.walk_view = PageWalkView(machine.mmu.page_table, machine.mmu.direct_map.virt(16 << 20))
        self.memory_map = MemoryMap(machine)
        self.table = widgets.HTML()
        self.counts = widgets.HTML()
        self._init_history(accepted=CONTIGUITY_OPS)
        super().__init__(children=self._layout())
        self.add_class("kmw-lab")
        self.add_class("kmw-contiguity-lab")   # browser tests find the lab and its parts by these classes
        self.status.add_class("kmw-status")
        self.figure.add_class("kmw-walks")
        self.table.add_class("kmw-stream-table")
        self.counts.add_class("kmw-counts")
        if ops:
            self.run_ops(ops)
        else:
            self._say("Pick a pattern and a size, then run; or mmap, touch, fork and write below.")
        self._history_started()

    def _build_controls(self) -> None:
        small = {"layout": widgets.Layout(width="180px"), "style": {"description_width": "50px"}}
        self.pattern = widgets.Dropdown(options=list(PATTERNS), value="sequential", description="pattern", **small)
        self.size = widgets.Text(value="8M", description="buffer", **small)
        self.stride = widgets.Dropdown(options=[("64 B (lines)", 64), ("4 KiB (pages)", 4096)], value=4096,
                                       description="stride", **small)
        self.cpu_choice = widgets.Dropdown(options=list(TLB_PRESETS), value=self.cpu, description="cpu", **small)
        self.run_button = action_button("run", "the same stream through all four mappings", "play", "primary")
        self.mmap_size = widgets.Text(value="4M", description="length", **small)
        self.thp = widgets.Dropdown(options=["always", "madvise", "never"], value="always", description="THP", **small)
        self.buttons = {name: action_button(name, tip, icon) for name, tip, icon in (
            ("mmap", "mmap(length) anonymous, private, read-write: no page yet", "plus"),
            ("touch", "read every page of the mapping", "eye"),
            ("write", "write every page of the mapping", "pencil"),
            ("fork", "fork(): the child shares every page, write-protected", "code-fork"),
            ("child-write", "the child writes every page: copy-on-write", "pencil"),
            ("munmap", "munmap the mapping (parent and child)", "minus"))}
        self.status = status_line()
        self.bars = bq.Bars(x=list(MAPPINGS), y=[0, 0, 0, 0], colors=["#0072B2"],
                            scales={"x": bq.OrdinalScale(), "y": bq.LinearScale(min=0)})
        self.walks_bars = self.bars
        self.figure = bq.Figure(marks=[self.bars], title="page walks",
                                axes=[bq.Axis(scale=self.bars.scales["x"]),
                                      bq.Axis(scale=self.bars.scales["y"], side="left", tick_format=",d")],
                                layout=widgets.Layout(width="480px", height="260px"))
        self.run_button.on_click(self._on_click(self.run))
        for name, button in self.buttons.items():
            button.on_click(self._on_click(lambda name=name: self.act(name)))

    def _layout(self) -> list[widgets.Widget]:
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        streams = widgets.VBox([widgets.HBox([self.pattern, self.size, self.stride, self.cpu_choice, self.run_button],
                                             layout=wrap),
                                widgets.HBox([self.table, self.figure], layout=wrap), self.tlb_view])
        space = widgets.VBox([widgets.HBox([self.mmap_size, self.thp, *self.buttons.values()], layout=wrap),
                              self.counts, self.walk_view, self.memory_map])
        self.streams_box = streams
        # the second tab's content goes in when it is first shown: a figure first drawn hidden has no size
        self.tab_contents = [streams, space]
        self.tabs = widgets.Tab(children=[streams, widgets.VBox()])
        self.tabs.set_title(0, "TLB and page walks")
        self.tabs.set_title(1, "faults, fork, COW")
        self.tabs.observe(self._fill_tab, names="selected_index")
        return [self.status, self.history_controls, self.tabs]

    def _fill_tab(self, change) -> None:
        index = change["new"]
        if index is None:
            return
        holder, content = self.tabs.children[index], self.tab_contents[index]
        if holder is not content and not holder.children:
            holder.children = [content]

    # ------------------------------------------------------------------ actions
    def run(self) -> dict:
        """Run the chosen stream through the four mappings (``compare_mappings()``)."""
        try:
            size = memparse(self.size.value)
            tlbs: dict = {}
            # one batch: the memory map redraws once, not once per page the run allocates or frees (an
            # 8 MiB run made ~4,000 redraws, each a new image widget: minutes of kernel time and a comm flood)
            with self.machine.bus.batch("run"):
                self.results = compare_mappings(self.machine, size, self.pattern.value, stride=self.stride.value,
                                                cpu=self.cpu_choice.value, count=min(size // self.stride.value, 200_000),
                                                tlbs=tlbs)
        except KernelMemError as error:
            self._say(str(error), error=True)
            return {}
        self.table.value = stats_table_html(self.results)
        self.bars.y = [self.results[name]["walks"] for name in MAPPINGS]
        if self.tlb_view.tlb.preset.name != self.cpu_choice.value:
            self.tlb_view = TlbView(tlbs["vmalloc"])
            self.streams_box.children = (*self.streams_box.children[:2], self.tlb_view)
        else:
            self.tlb_view.tlb = tlbs["vmalloc"]
        self.tlb_view.refresh()
        self._record(f"run {self.pattern.value} {self.size.value} {self.stride.value} cpu={self.cpu_choice.value}")
        walks = {name: self.results[name]["walks"] for name in MAPPINGS}
        self._say(f"{self.pattern.value} over {format_size(size)}: page walks " +
                  ", ".join(f"{name} {count:,}" for name, count in walks.items()) + " (TLB view: vmalloc's TLB)")
        return self.results

    def act(self, name: str) -> None:
        """One of the address-space buttons."""
        op = f"mmap {self.mmap_size.value} thp={self.thp.value}" if name == "mmap" else name
        try:
            with self.machine.bus.batch(name):      # one redraw of the memory map per action
                text = self._act(name)
        except KernelMemError as error:
            self._say(str(error), error=True)
            return
        if not text.startswith(("mmap first", "fork first")):
            self._record(op)
        self._refresh_counts()
        self.walk_view.refresh()        # fork and munmap change the entries walked (write-protect, clear)
        self._say(text)

    def _act(self, name: str) -> str:
        if name == "mmap":
            if self.mm is None:
                self.mm = MmStruct(self.machine, thp=self.thp.value, name="parent")
            length = memparse(self.mmap_size.value)
            self.base = self.mm.mmap(length)
            self.walk_view.show(self.mm.pt, self.base)
            return f"mmap({format_size(length)}) = {self.base:#x}: a VMA, no page and no page table yet"
        if self.mm is None or not self.mm.vmas:
            return "mmap first: there is no mapping to touch"
        vma = self.mm.vmas[-1] if self.mm.find_vma(self.base) is None else self.mm.find_vma(self.base)
        length = vma.end - vma.start
        if name in ("touch", "write"):
            done = self.mm.touch_range(vma.start, length, write=name == "write")
            self.walk_view.show(self.mm.pt, vma.start)
            return f"{name} {format_size(length)}: " + ", ".join(f"{k} {v:,}" for k, v in done.items())
        if name == "fork":
            if self.child is not None:
                self.child.exit()
            self.child = self.mm.fork("child")
            return f"fork(): the child maps the same {self.mm.rss_pages:,} pages, write-protected on both sides"
        if name == "child-write":
            if self.child is None:
                return "fork first: there is no child"
            done = self.child.touch_range(vma.start, length, write=True)
            self.walk_view.show(self.child.pt, vma.start)
            return "child writes: " + ", ".join(f"{k} {v:,}" for k, v in done.items())
        if name == "munmap":
            freed = self.mm.munmap(vma.start, length)
            if self.child is not None:
                self.child.exit()
                self.child = None
            return "munmap: " + ", ".join(f"{k} {v:,}" for k, v in freed.items())
        raise InvalidOperation(f"unknown action {name!r}; accepted: run, " + ", ".join(self.buttons))

    def _refresh_counts(self) -> None:
        rows = []
        for mm in (self.mm, self.child):
            if mm is None:
                continue
            counters = ", ".join(f"{k} {v}" for k, v in mm.counters.items() if v)
            rows.append(f"<b>{mm.name}</b>: RSS {format_size(mm.rss_pages * self.machine.page_size)}, "
                        f"{mm.pt.nr_tables} page-table pages; {counters or 'no fault yet'}")
        self.counts.value = "<br>".join(rows)

    def run_ops(self, ops: Sequence[str]) -> None:
        """Literal operations (see the class docstring); a bad one stops the list, said in words."""
        for op in ops:
            words = op.split()
            if not words:
                continue
            if words[0] == "run":
                for word in words[1:]:
                    if word.startswith("cpu="):
                        self.cpu_choice.value = word[4:]
                words = [word for word in words if not word.startswith("cpu=")]
                if len(words) > 1:
                    self.pattern.value = words[1]
                if len(words) > 2:
                    self.size.value = words[2]
                if len(words) > 3:
                    self.stride.value = int(words[3])
                self.run()
            elif words[0] == "mmap":
                for word in words[1:]:
                    if word.startswith("thp="):
                        self.thp.value = word[4:]
                    else:
                        self.mmap_size.value = word
                self.act("mmap")
            elif words[0] in self.buttons:
                self.act(words[0])
            else:
                self._say(f"unknown operation {op!r}; accepted: run, " + ", ".join(self.buttons), error=True)
                return

    # ------------------------------------------------------------------ the history's contract (._history)
    def _check_op(self, op: str) -> None:
        words = op.split()
        verb, args = (words[0], words[1:]) if words else ("", [])
        options = [arg for arg in args if "=" in arg]
        plain = [arg for arg in args if "=" not in arg]
        try:
            if verb == "run" and len(plain) <= 3 and all(o.split("=")[0] == "cpu" for o in options):
                if (plain and plain[0] not in PATTERNS or len(plain) > 2 and plain[2] not in ("64", "4096")
                        or any(o[4:] not in TLB_PRESETS for o in options)):
                    raise InvalidOperation(f"pattern one of {', '.join(PATTERNS)}, stride 64 or 4096, cpu one of "
                                           f"{', '.join(TLB_PRESETS)}")
                if len(plain) > 1:
                    memparse(plain[1])
                return
            if verb == "mmap" and len(plain) <= 1 and all(o.split("=")[0] == "thp" for o in options):
                if any(o[4:] not in ("always", "madvise", "never") for o in options):
                    raise InvalidOperation("thp= always, madvise or never")
                if plain:
                    memparse(plain[0])
                return
            if verb in self.buttons and verb != "mmap" and not args:
                return
        except (KernelMemError, ValueError) as error:
            raise InvalidOperation(f"cannot read operation {op!r}: {error}; accepted: {CONTIGUITY_OPS}") from None
        raise InvalidOperation(f"cannot read operation {op!r}; accepted: {CONTIGUITY_OPS}")

    def _play(self, op: str) -> None:
        self.run_ops([op])

    def _reboot_lab(self) -> None:
        self._reboot_machine()
        mmu = self.machine.mmu          # built at boot, as the lab's construction built it
        self.walk_view.show(mmu.page_table, mmu.direct_map.virt(16 << 20))
        self.mm = self.child = None
        self.base = 0
        self.results = {}
        self._refresh_counts()
