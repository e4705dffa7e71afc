"""Chapter 2's lab: kmalloc, the kmem caches behind it, vmalloc and module loading on one machine.

The lab composes views and forwards every click to a public model method; what it keeps is the
reader's side: the pointers it allocated and has not freed (``held``), its vmalloc areas
(``vheld``) and its loaded modules.  The buddy views of the same machine show the pages the slabs
take, outlined for the cache on display.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import ipywidgets as widgets
import numpy as np

from ..model.errors import InvalidOperation, KernelMemError
from ..model.vmalloc.module import MODULE_RULES, ModuleLoader
from ..model.slab.slab_common import ALLOCATORS
from ..model.slab.slabinfo import render_slabinfo
from ..model.units import format_size, memparse
from ..views import FreeListBars, MemoryMap, TraceView
from ..views._marks import plural
from ..views.controls import action_button, status_line
from ..views.narration import describe_error
from ..views.size_explorer import SizeExplorer
from ..views.slab_table import CPU_CHOICES, SlabTop, SlubGeometry
from ..views.slab_view import SlabView
from ..views.vmalloc_view import VmallocView
from ._checks import check_lab_args
from ._history import HasHistory
from ._status import SaysWhatHappened

__all__ = ["SlabLab", "SLAB_GFP_CHOICES", "SLAB_TABS", "MAX_COUNT", "SLAB_OPS"]

#: The operations of the slab lab's ``ops``, ``run_ops``, history, export and load
SLAB_OPS = ("'kmalloc SIZE [xN] [GFP] [cpu=C]', 'kfree N|all [random] [cpu=C]', 'shrink', 'vmalloc SIZE', "
            "'vfree', 'reboot [cpus=N] [allocator=A]', 'load_module SIZE [RULES]', 'unload', 'reset'")

#: The lab's tabs, in order.
SLAB_TABS = ("slabs", "size explorer", "caches (slabtop)", "vmalloc & modules")

#: The cache menu's only entry under SLOB, which has one heap for every size and cache.
SLOB_HEAP = "(the SLOB heap: one for every cache)"

#: Most objects one kmalloc click (or call) allocates in this kit
MAX_COUNT = 100_000

SLAB_GFP_CHOICES = ("GFP_KERNEL", "GFP_ATOMIC", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_KERNEL_ACCOUNT", "GFP_DMA",
                    "GFP_KERNEL|__GFP_ZERO")


class SlabLab(HasHistory, SaysWhatHappened, widgets.VBox):
    """Allocate N objects of size S, free them, reboot with another CPU count or allocator, vmalloc, load modules.

    Parameters
    ----------
    machine : Machine
    cache : str
        The cache drawn at start.
    seed : int
        Seeds the choice of objects ``kfree(random=True)`` gives back.
    ops : sequence of str, optional
        Literal operations (:data:`SLAB_OPS`) run at construction: ``"kmalloc 100 x40"``,
        ``"kmalloc 9000 GFP_ATOMIC"``, ``"kfree 10"``, ``"kfree all"``, ``"kfree 5 random"``, ``"shrink"``,
        ``"vmalloc 1M"``, ``"vfree"``, ``"reboot cpus=16 allocator=slab"``,
        ``"load_module 70M linux-2.6.35-i386"``, ``"unload"``, ``"reset"``; the history starts after them.
    tab : str
        The tab shown first (one of :data:`SLAB_TABS`); chapter 2 opens a second lab on its vmalloc tab.

    Attributes
    ----------
    held : list of int
        Pointers the reader kmalloc()ed here and has not freed, oldest first.
    vheld : list of int
        vmalloc areas the reader holds.
    status : ipywidgets.HTML
        What the last action did or why it failed (``status_text`` is the plain text).
    slab_view, size_explorer, geometry, slabtop, memory_map, free_lists, vmalloc_view, trace_view : the views
    history : History
        Every action as an operation (:mod:`._history`): undo, step back and forward, export, load.
    tabs : ipywidgets.Tab
        :data:`SLAB_TABS`; a tab's content (``tab_contents[i]``) is put in when the tab is first
        selected, so that its figures are first drawn visible.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> lab = SlabLab(Machine.preset("linux-6.18-tiny", nr_cpus=2), ops=["kmalloc 100 x33"])
    >>> len(lab.held), lab.slab_view.labels
    (33, ['0x1 cpu', '0x0 full'])
    >>> _ = lab.kfree(1); lab.slab_view.labels
    ['0x1 cpu', '0x0 cpu partial']
    """

    def __init__(self, machine, *, cache: str = "kmalloc-128", seed: int = 0, ops: Sequence[str] | None = None,
                 trace_lines: int = 10, tab: str = "slabs") -> None:
        check_lab_args(machine, seed=seed, ops=ops, trace_lines=trace_lines)
        if tab not in SLAB_TABS:
            raise InvalidOperation(f"no tab {tab!r}; accepted: {', '.join(SLAB_TABS)}")
        self.machine, self.seed = machine, seed
        self._first_tab = SLAB_TABS.index(tab)
        self.held: list[int] = []
        self.vheld: list[int] = []
        self.status_text = ""
        self._rng = np.random.default_rng(seed)
        self._loaders: dict[str, ModuleLoader] = {}
        self._menu_quiet = False
        self.slab_view = SlabView(machine, cache)
        self.memory_map = MemoryMap(machine)
        self.free_lists = FreeListBars(machine, zone_selector=False)
        self.size_explorer = SizeExplorer(nr_cpus=machine.slab.nr_cpus, page_size=machine.page_size,
                                          max_page_order=machine.max_page_order)
        self.geometry = SlubGeometry(nr_cpus=machine.slab.nr_cpus, page_size=machine.page_size)
        self.slabtop = SlabTop(machine)
        self.vmalloc_view = VmallocView(machine)
        self.trace_view = TraceView(machine, lines=trace_lines)
        self.slabinfo = widgets.HTML()
        self._build_controls()
        self._init_history(accepted=SLAB_OPS)
        self._unsubscribe = machine.bus.subscribe(self._follow)
        super().__init__(children=self._layout())
        self.add_class("kmw-lab")
        self.add_class("kmw-slab-lab")
        self.status.add_class("kmw-status")
        self.header.add_class("kmw-header")
        self._refresh_side()
        if ops:
            self.run_ops(ops)
        else:
            self._say(f"{self._machine_line()}. Pick a size and a count, then kmalloc.")
        self._history_started()

    # ------------------------------------------------------------------ construction
    def _build_controls(self) -> None:
        slab = self.machine.slab
        small = {"layout": widgets.Layout(width="170px"), "style": {"description_width": "45px"}}
        self.size = widgets.BoundedIntText(value=100, min=0, max=1 << 30, description="size", **small)
        self.count = widgets.BoundedIntText(value=1, min=1, max=100_000, description="count", **small)
        self.gfp = widgets.Dropdown(options=list(SLAB_GFP_CHOICES), value="GFP_KERNEL", description="gfp",
                                    layout=widgets.Layout(width="330px"), style={"description_width": "35px"})
        self.cpu = widgets.Dropdown(options=list(range(slab.nr_cpus)), value=0, description="cpu", **small)
        self.kmalloc_button = action_button("kmalloc", "kmalloc(size, gfp), count times", "plus", "primary")
        self.kfree_button = action_button("kfree", "kfree() the oldest objects you hold, count of them", "minus")
        self.kfree_random_button = action_button("kfree random", "kfree() count objects picked at random", "random")
        self.shrink_button = action_button("shrink", "kmem_cache_shrink() of every cache", "compress")
        self.allocator = widgets.Dropdown(options=[(f"{k.upper()}: {v}", k) for k, v in ALLOCATORS.items()],
                                          value=slab.allocator, description="allocator",
                                          layout=widgets.Layout(width="420px"), style={"description_width": "65px"})
        self.nr_cpus = widgets.Dropdown(options=sorted(set(CPU_CHOICES) | {slab.nr_cpus}), value=slab.nr_cpus,
                                        description="nr_cpus", layout=widgets.Layout(width="150px"),
                                        style={"description_width": "60px"})
        self.reboot_button = action_button("reboot slab layer", "free what you hold, then create the caches again "
                                           "for this allocator and CPU count", "refresh", "warning")
        self.reset_button = action_button("reset machine", "reboot the whole machine", "power-off", "danger")
        self.cache_choice = widgets.Dropdown(options=self._cache_menu(), description="cache",
                                             layout=widgets.Layout(width="300px"), style={"description_width": "45px"})
        self._show_cache_menu()
        self.vsize = widgets.Text(value="1M", description="size", **small)
        self.vmalloc_button = action_button("vmalloc", "vmalloc(size)", "plus")
        self.vfree_button = action_button("vfree", "vfree() your newest vmalloc area", "minus")
        self.module_size = widgets.Text(value="70M", description="image", **small)
        self.module_rules = widgets.Dropdown(options=list(MODULE_RULES), value="linux-2.6.35-i386",
                                             description="kernel", layout=widgets.Layout(width="280px"),
                                             style={"description_width": "50px"})
        self.load_button = action_button("load module", "init_module() of an image this big", "upload")
        self.unload_button = action_button("unload", "delete_module() of your newest module", "download")
        self.modules = widgets.HTML()
        self.status = status_line()
        self.header = widgets.HTML()
        clicks = ((self.kmalloc_button, self.kmalloc), (self.kfree_button, self.kfree),
                  (self.kfree_random_button, lambda: self.kfree(random=True)), (self.shrink_button, self.shrink),
                  (self.reboot_button, self.reboot), (self.reset_button, self.reset),
                  (self.vmalloc_button, self.vmalloc), (self.vfree_button, self.vfree),
                  (self.load_button, self.load_module), (self.unload_button, self.unload_module))
        for button, method in clicks:
            button.on_click(self._on_click(method))
        self.cache_choice.observe(lambda change: not self._menu_quiet and change["new"] not in (None, SLOB_HEAP)
                                  and self.select_cache(change["new"]), names="value")
        self.size.observe(lambda change: self.size_explorer.pick(change["new"]), names="value")

    def _layout(self) -> list[widgets.Widget]:
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        slabs = widgets.HBox([widgets.VBox([self.cache_choice, self.slab_view]),
                              widgets.VBox([self.memory_map, self.free_lists])], layout=wrap)
        sizes = widgets.HBox([self.size_explorer, self.geometry], layout=wrap)
        caches = widgets.VBox([self.slabtop, widgets.HTML("<b>/proc/slabinfo</b>"), self.slabinfo])
        vmalloc = widgets.VBox([
            widgets.HBox([self.vsize, self.vmalloc_button, self.vfree_button], layout=wrap), self.vmalloc_view,
            widgets.HTML("<b>Loading a module</b>: the image is copied into vmalloc space first"),
            widgets.HBox([self.module_rules, self.module_size, self.load_button, self.unload_button], layout=wrap),
            self.modules])
        # A bqplot figure first drawn inside a hidden tab measures 0 x 0 pixels and draws negative
        # sizes; so each tab but the first gets its content when it is first selected.
        self.tab_contents = [slabs, sizes, caches, vmalloc]
        first = self._first_tab
        self.tabs = widgets.Tab(children=[content if index == first else widgets.VBox()
                                          for index, content in enumerate(self.tab_contents)],
                                titles=list(SLAB_TABS), selected_index=first)
        self.tabs.observe(self._fill_tab, names="selected_index")
        return [self.header,
                widgets.HBox([self.size, self.count, self.gfp, self.cpu, self.kmalloc_button, self.kfree_button,
                              self.kfree_random_button, self.shrink_button], layout=wrap),
                widgets.HBox([self.allocator, self.nr_cpus, self.reboot_button, self.reset_button], layout=wrap),
                self.status, self.history_controls, self.tabs, self.trace_view]

    # ------------------------------------------------------------------ actions
    def kmalloc(self, size: int | None = None, count: int | None = None, gfp: str | None = None,
                cpu: int | None = None) -> list[int] | None:
        """``kmalloc(size, gfp)`` ``count`` times on ``cpu``; returns the pointers (None on failure, see ``status``)."""
        size = self.size.value if size is None else size
        count = self.count.value if count is None else count
        gfp = self.gfp.value if gfp is None else gfp
        cpu = self.cpu.value if cpu is None else cpu
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 0 <= count <= MAX_COUNT:
            self._say(f"kmalloc failed: count {count!r:.40} must be a whole number 0..{MAX_COUNT:,} in this kit",
                      error=True)
            return None
        ptrs: list[int] = []
        with self._action(f"kmalloc({size}) x{count}"):
            slab = self.machine.slab
            for _ in range(int(count)):
                ptrs.append(slab.kmalloc(size, gfp, cpu=cpu))
        self.held.extend(ptrs)
        if not ptrs:
            return None
        self._record(f"kmalloc {size} x{len(ptrs)} {gfp} cpu={cpu}")
        where = self._where(ptrs[-1])
        if where.startswith("kmalloc") or where.startswith("dma") or where in self._cache_names():
            self.select_cache(where)
        text = (f"kmalloc({size}, {gfp}) x{len(ptrs)} on cpu {cpu}: {where}; last pointer {ptrs[-1]:#x}; "
                f"you hold {plural(len(self.held), 'object')}")
        if len(ptrs) < int(count):
            text = f"only {len(ptrs)} of {count} succeeded: " + self.status_text
            self._say(text, error=True)
        else:
            self._say(text)
        return ptrs

    def kfree(self, count: int | None = None, *, random: bool = False, cpu: int | None = None) -> list[int]:
        """``kfree()`` the oldest ``count`` pointers you hold (or random ones) on ``cpu``; returns those freed."""
        count = self.count.value if count is None else count
        cpu = self.cpu.value if cpu is None else cpu
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            self._say(f"kfree failed: count {count!r:.40} must be a whole number >= 0", error=True)
            return []
        if not self.held:
            self._say("nothing to free: kmalloc something first")
            return []
        count = min(int(count), len(self.held))
        if random:
            picks = sorted(self._rng.choice(len(self.held), count, replace=False).tolist(), reverse=True)
            chosen = [self.held[i] for i in picks]
        else:
            chosen = self.held[:count]
        freed: list[int] = []
        with self._action(f"kfree x{count}"):
            for ptr in chosen:
                self.machine.slab.kfree(ptr, cpu=cpu)
                freed.append(ptr)
        gone = set(freed)
        self.held = [p for p in self.held if p not in gone]
        if freed:
            self._record(f"kfree {len(freed)}{' random' if random else ''} cpu={cpu}")
            self._say(self._sentences(f"kfree() x{len(freed)} ({'random' if random else 'oldest first'}); you hold "
                                      f"{plural(len(self.held), 'object')}", self._cache_line()))
        return freed

    def shrink(self) -> int | None:
        """``kmem_cache_shrink()`` of every cache: empty slabs go back to the buddy allocator."""
        released = None
        with self._action("kmem_cache_shrink"):
            released = self.machine.slab.kmem_cache_shrink()
            self._record("shrink")
            self._say(f"kmem_cache_shrink(): {plural(released, 'slab')} went back to the page allocator")
        return released

    def reboot(self, nr_cpus: int | None = None, allocator: str | None = None) -> None:
        """Free what you hold (objects, vmalloc areas, modules), then boot the slab layer again.

        The kernel sizes its caches once, at boot: ``nr_cpus`` and ``allocator`` take effect here.
        """
        nr_cpus = self.nr_cpus.value if nr_cpus is None else nr_cpus
        allocator = self.allocator.value if allocator is None else allocator
        with self._action("reboot the slab layer"):
            nr_cpus, allocator = self.machine.slab.check_reboot(nr_cpus, allocator)  # refuse before freeing
            for ptr in self.held:
                self.machine.slab.kfree(ptr)
            self.held.clear()
            for addr in reversed(self.vheld):
                self.machine.vmalloc.vfree(addr)
            self.vheld.clear()
            for loader in self._loaders.values():
                for name in list(loader.modules):
                    loader.delete_module(name)
            self._show_modules()
            self.machine.slab.reboot(nr_cpus=nr_cpus, allocator=allocator)
            self._record(f"reboot cpus={nr_cpus} allocator={allocator}")
            self._rebooted_slab()
            self._say(self._sentences(f"slab layer rebooted: {allocator.upper()} with {plural(nr_cpus, 'CPU')}",
                                      self._cache_line()))

    def reset(self) -> None:
        """Reboot the whole machine (every zone, the slab layer, vmalloc)."""
        with self._action("reset"):
            self.machine.reset()
            self._record("reset")
            self._say(f"rebooted: {self._machine_line()}")

    def select_cache(self, name: str) -> None:
        """Draw another cache in the slab view (and outline its pages in the memory map)."""
        if name not in self._cache_names():
            self._say(f"no cache {name!r} on this machine" + (" (SLOB has no caches of its own: every kmalloc "
                      "shares one heap)" if self.machine.slab.allocator == "slob" else ""), error=True)
            return
        self.slab_view.select_cache(name)
        if self.cache_choice.value != name:
            self.cache_choice.value = name
        self._highlight()

    def vmalloc(self, size=None) -> int | None:
        """``vmalloc(size)``; ``size`` may be ``"1M"``-style text."""
        text = self.vsize.value if size is None else size
        addr = None
        with self._action(f"vmalloc({text})"):
            nbytes = memparse(text)
            addr = self.machine.vmalloc.vmalloc(nbytes, caller="slab_lab")
            self.vheld.append(addr)
            self._record(f"vmalloc {nbytes}")
            area = self.machine.vmalloc.area(addr)
            runs = 1 + sum(1 for a, b in zip(area.pages, area.pages[1:]) if b != a + 1)
            self._say(f"vmalloc({nbytes:,}) = {addr:#x}: {plural(area.nr_pages, 'page')} + 1 guard page, physically "
                      f"in {plural(runs, 'contiguous run')}")
        return addr

    def vfree(self) -> int | None:
        """``vfree()`` of your newest vmalloc area."""
        if not self.vheld:
            self._say("nothing to vfree: vmalloc something first")
            return None
        addr = self.vheld[-1]
        with self._action(f"vfree({addr:#x})"):
            self.machine.vmalloc.vfree(addr)
            self.vheld.pop()
            self._record("vfree")
            self._say(f"vfree({addr:#x}): the pages are free now, the address range waits for a lazy purge")
        return addr

    def load_module(self, image=None, rules: str | None = None):
        """``init_module()`` of an image of ``image`` bytes (``"70M"`` works) under a kernel's rules."""
        image = self.module_size.value if image is None else image
        rules = self.module_rules.value if rules is None else rules
        module = None
        with self._action(f"load_module({image!r}) under {rules}"):
            loader = self._loader(rules)
            size = memparse(image)
            module = loader.load_module(size, name=f"mod{len(loader.modules) + 1}")
            self._record(f"load_module {size} {rules}")
            where = ", ".join(f"{k} at {v:#x}" for k, v in module.sections.items())
            self._say(f"{rules}: loaded {module.name} ({format_size(size)} image): {where}")
        self._show_modules()
        return module

    def unload_module(self) -> None:
        for loader in self._loaders.values():
            if loader.modules:
                name = list(loader.modules)[-1]
                with self._action(f"delete_module({name})"):
                    loader.delete_module(name)
                    self._record("unload")
                    self._say(f"delete_module({name}): its sections went back")
                self._show_modules()
                return
        self._say("no module loaded")

    def run_ops(self, ops: Sequence[str]) -> list[str]:
        """Play literal operations (see the class docstring); returns one line per operation."""
        if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence):
            self._say(f"cannot run {ops!r:.60}: give a list of operations such as ['kmalloc 100 x4']", error=True)
            return []
        lines = []
        for op in ops:
            words = str(op).split()
            if not words:
                continue
            verb, args = words[0], words[1:]
            try:
                self._run_one(verb, args)
            except (InvalidOperation, ValueError) as error:
                self._say(f"cannot run {op!r}: {error}", error=True)
            lines.append(f"{op}: {self.status_text}")
        return lines

    def _run_one(self, verb: str, args: list[str]) -> None:
        self._parse_one(verb, args)()

    def _parse_one(self, verb: str, args: list[str]):
        """Read one operation of :data:`SLAB_OPS`; returns the call that performs it (nothing runs yet)."""
        def bad(why: str = ""):
            return InvalidOperation(f"unknown operation '{' '.join([verb, *args])[:80]}'{why}; accepted: {SLAB_OPS}")

        def number(text: str) -> int:
            if not text.isascii() or not text.isdigit() or len(text) > 9:
                raise bad(f": {text[:20]!r} is not a whole number")
            return int(text)

        options = {}
        plain = []
        for arg in args:
            if "=" in arg:
                key, value = arg.split("=", 1)
                options[key] = value
            else:
                plain.append(arg)
        cpu = number(options.pop("cpu")) if "cpu" in options else None
        if verb == "kmalloc" and plain and not options:
            count, gfp = 1, None
            for arg in plain[1:]:
                if arg.startswith("x"):
                    count = number(arg[1:])
                elif gfp is None:
                    gfp = arg
                else:
                    raise bad()
            size = memparse(plain[0])
            return lambda: self.kmalloc(size, count, gfp, cpu)
        if verb == "kfree" and len(plain) <= 2 and not options:
            random = "random" in plain[1:]
            if plain[1:] and not random:
                raise bad()
            every = bool(plain) and plain[0] == "all"
            count = 1 if not plain else None if every else number(plain[0])
            return lambda: self.kfree(len(self.held) if every else count, random=random, cpu=cpu)
        if cpu is not None:
            raise bad(": cpu= goes with kmalloc and kfree")
        if verb == "shrink" and not args:
            return self.shrink
        if verb == "vmalloc" and len(args) == 1:
            memparse(args[0])
            return lambda: self.vmalloc(args[0])
        if verb == "vfree" and not args:
            return self.vfree
        if verb == "reboot" and not plain and set(options) <= {"cpus", "allocator"}:
            cpus = number(options["cpus"]) if "cpus" in options else None
            return lambda: self.reboot(cpus, options.get("allocator"))
        if verb == "load_module" and 1 <= len(args) <= 2 and not options:
            memparse(args[0])
            return lambda: self.load_module(args[0], args[1] if len(args) > 1 else None)
        if verb in ("unload", "unload_module") and not args:
            return self.unload_module
        if verb == "reset" and not args:
            return self.reset
        raise bad()

    # ------------------------------------------------------------------ the history's contract (._history)
    def _check_op(self, op) -> None:
        words = op.split() if isinstance(op, str) else []
        if not words:
            raise InvalidOperation(f"cannot read operation {op!r:.60}; accepted: {SLAB_OPS}")
        try:
            self._parse_one(words[0], words[1:])
        except (InvalidOperation, ValueError) as error:
            raise InvalidOperation(str(error) if SLAB_OPS in str(error) else
                                   f"{error}; operations accepted: {SLAB_OPS}") from None

    def _play(self, op: str) -> None:
        words = op.split()
        self._run_one(words[0], words[1:])

    def _reboot_lab(self) -> None:
        self._reboot_machine()     # held, vheld, the loaders and the random choices follow the "reset" event

    def close(self) -> None:
        if "_unsubscribe" not in self.__dict__:  # the constructor refused its arguments: nothing to close
            return
        self._unsubscribe()
        for view in (self.slab_view, self.memory_map, self.free_lists, self.slabtop, self.vmalloc_view,
                     self.trace_view):
            view.close()
        super().close()

    def _fill_tab(self, change) -> None:
        index = change["new"]
        if index is None:
            return
        holder, content = self.tabs.children[index], self.tab_contents[index]
        if holder is not content and not holder.children:
            holder.children = [content]

    # ------------------------------------------------------------------ following the model
    def _follow(self, event) -> None:
        if event.kind == "reset":
            self.held.clear()
            self.vheld.clear()
            self._loaders.clear()
            self._rng = np.random.default_rng(self.seed)
            self._rebooted_slab()
        if not self.machine.bus.in_batch and event.kind in ("batch_end", "reset", "kfree", "kmalloc"):
            self._refresh_side()

    def _rebooted_slab(self) -> None:
        slab = self.machine.slab
        names = self._cache_names()
        wanted = self.slab_view.cache_name
        self._show_cache_menu()
        if wanted in names:
            self.slab_view.select_cache(wanted)
        self.cpu.options = list(range(slab.nr_cpus))
        self.size_explorer.set_nr_cpus(slab.nr_cpus)
        self.geometry.nr_cpus.value = slab.nr_cpus if slab.nr_cpus in self.geometry.nr_cpus.options else \
            self.geometry.nr_cpus.value
        if self.allocator.value != slab.allocator:
            self.allocator.value = slab.allocator
        if self.nr_cpus.value != slab.nr_cpus:
            self.nr_cpus.options = sorted(set(self.nr_cpus.options) | {slab.nr_cpus})
            self.nr_cpus.value = slab.nr_cpus

    def _refresh_side(self) -> None:
        self._update_header()
        self._highlight()
        try:
            self.slabinfo.value = ("<pre style='font-size:11px;margin:0'>"
                                   + render_slabinfo(self.machine).replace("&", "&amp;").replace("<", "&lt;") + "</pre>")
        except KernelMemError as error:
            self.slabinfo.value = str(error)

    def _highlight(self) -> None:
        pages = self.slab_view.pages()
        zone = self.memory_map.zone
        pages = [(p, o) for p, o in pages if zone.contains(p)]
        if pages:
            self.memory_map.highlight(pages[0][0], pages[0][1], also=pages[1:])
        else:
            self.memory_map.highlight(None)

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _action(self, name: str) -> Iterator[None]:
        try:
            with self.machine.bus.batch(name):
                yield
        except KernelMemError as error:
            self._say(describe_error(name, error), error=True)


    def _loader(self, rules: str) -> ModuleLoader:
        if rules not in self._loaders:
            self._loaders[rules] = ModuleLoader(self.machine, rules)
        return self._loaders[rules]

    def _show_modules(self) -> None:
        parts = []
        for rules, loader in self._loaders.items():
            listing = loader.render_proc_modules() or "(none)\n"
            parts.append(f"{rules} /proc/modules:\n{listing}")
            if loader.vmalloc is not self.machine.vmalloc:
                parts.append(f"{loader.vmalloc.name}: {format_size(loader.vmalloc.end - loader.vmalloc.start)} of "
                             f"address space, largest free range {format_size(loader.vmalloc.largest_free())}\n")
        text = "".join(parts).replace("&", "&amp;").replace("<", "&lt;")
        self.modules.value = f"<pre style='font-size:11.5px;margin:0'>{text}</pre>"

    def _where(self, ptr: int) -> str:
        info = self.machine.slab.object_info(ptr)
        if info["kind"] == "large kmalloc":
            return f"a compound page of order {info['order']} from the buddy allocator (above KMALLOC_MAX_CACHE_SIZE)"
        if info["kind"] == "ZERO_SIZE_PTR":
            return "ZERO_SIZE_PTR (kmalloc(0) returns (void *)16)"
        return info["cache"] or "the SLOB heap"

    def _cache_names(self) -> list[str]:
        return [cache.name for cache in self.machine.slab.caches]

    def _cache_menu(self) -> list[str]:
        return [SLOB_HEAP] if self.machine.slab.allocator == "slob" else self._cache_names()

    def _show_cache_menu(self) -> None:
        """The cache menu for the allocator running: its caches, or the SLOB heap alone (greyed)."""
        menu, wanted = self._cache_menu(), self.slab_view.cache_name
        self._menu_quiet = True         # a new options list moves the value: that is not the reader's choice
        try:
            if list(self.cache_choice.options) != menu:
                self.cache_choice.options = menu
            self.cache_choice.value = wanted if wanted in menu else menu[0] if menu else None
        finally:
            self._menu_quiet = False
        self.cache_choice.disabled = menu == [SLOB_HEAP]

    @staticmethod
    def _sentences(*parts: str) -> str:
        """Join the non-empty parts as sentences (no dangling ". " when a part says nothing)."""
        return ". ".join(part for part in parts if part)

    def _say(self, text: str, *, error: bool = False, brief: str | None = None) -> None:
        super()._say(text, error=error, brief=brief)
        self._update_header()       # the header counts what you hold: it follows every action, not one behind

    def _cache_line(self) -> str:
        try:
            info = self.slab_view.cache.get_slabinfo()
        except (KernelMemError, AttributeError):
            return ""
        return (f"{self.slab_view.cache_name}: {info['active_objs']:,} active of "
                f"{plural(info['num_objs'], 'object')} in {plural(info['num_slabs'], 'slab')} (/proc/slabinfo)")

    def _machine_line(self) -> str:
        return self.machine.describe().splitlines()[0]

    def _update_header(self) -> None:
        slab = self.machine.slab
        self.header.value = (f"<b>Slab lab</b> &mdash; {self._machine_line()}; {slab.allocator.upper()} with "
                             f"{plural(slab.nr_cpus, 'CPU')}; you hold {plural(len(self.held), 'object')} and "
                             f"{plural(len(self.vheld), 'vmalloc area')}; seed {self.seed}")
