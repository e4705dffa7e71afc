"""Chapter 7's lab: uC/OS-III partitions behind a malloc wrapper, against newlib-nano and TLSF.

Define partitions (block size x count), pick a request trace (seeded, or typed literally), play
it step by step or all at once, switch allocator, and call ``OSMemGet``/``OSMemPut`` by hand -
including the wrong calls uC/OS-III does not check (a foreign block, a misaligned address, a
double put), which the byte view then shows in red.  *compare* plays the trace on every allocator
and on the Linux kmalloc size classes; *tune* sizes the partitions for the trace.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import ipywidgets as widgets

from ..model.errors import InvalidOperation, KernelMemError
from ..model.rtos import (TRACE_KINDS, MemPartition, NanoMalloc, PartitionMalloc, Ram, Tlsf, TraceStepper,
                          parse_trace, run_trace, single_class, tune_partitions)
from ..views.controls import action_button, plain_html, status_line
from ..views.rtos_bytes import ByteArrayView
from ..views.rtos_plots import FreeBytesTimeline, WasteBySize
from ._history import HasHistory
from ._status import SaysWhatHappened

__all__ = ["RtosLab", "RTOS_ALLOCATORS", "RAM_SIZES", "RTOS_OPS"]

#: The operations of the RTOS lab's history, export and load (``run_ops`` also takes compare, tune)
RTOS_OPS = ("'step [N]', 'run', 'get [PARTITION]', 'put ADDR [PARTITION]', 'allocator NAME', "
            "'create [allocator=A] [classes=SIZExCOUNT,...] [ram=BYTES] [strict=0|1] [trace=KIND] [n=N] [seed=S] "
            "[literal=+100,-0,...]'")
_CREATE_KEYS = ("allocator", "classes", "ram", "strict", "trace", "n", "seed", "literal")

RTOS_ALLOCATORS = ("partitions", "newlib-nano", "TLSF")
RAM_SIZES = (4096, 8192, 16384, 32768, 65536)


class RtosLab(HasHistory, SaysWhatHappened, widgets.VBox):
    """Partitions vs heaps on one simulated Cortex-M4 RAM.

    Parameters
    ----------
    allocator : {"partitions", "newlib-nano", "TLSF"}
    classes : str
        The partitions of the wrapper, ``"SIZExCOUNT, ..."`` (block size includes the 4-byte header).
    ram_size : int
        Bytes of RAM (at 0x20000000).
    trace : str
        ``"uniform"``, ``"bimodal"``, ``"protocol stack"`` or ``"literal"`` (then ``literal`` is played).
    n, seed : int
        Allocations and seed of a generated trace.
    literal : str
        A literal trace, ``"+100, +24, -0"``.
    strict : bool
        Partitions refuse the puts os_mem.c does not check.
    ops : sequence of str, optional
        Literal lab operations run at construction: ``"step 5"``, ``"run"``, ``"get pool-32"``,
        ``"put 0x20000040 pool-32"``, ``"compare"``, ``"tune"``, ``"allocator TLSF"``.

    Attributes
    ----------
    ram : Ram
    heap : PartitionMalloc, NanoMalloc or Tlsf
        The allocator on display.
    stepper : TraceStepper
        The trace being played on ``heap``.
    held : list of (str, int)
        Blocks taken by hand with OSMemGet: (partition name, address).
    byte_view, timeline, waste_plot, step_log : the views
    status : ipywidgets.HTML
        What the last action did (``status_text`` is the plain text).

    Examples
    --------
    >>> lab = RtosLab(literal="+20, +100, -0", trace="literal")
    >>> _ = lab.step(2); lab.byte_view.kind_at(lab.heap.partitions[0].addr_ptr)
    'header'
    >>> lab.status_text
    '#1 malloc(100) [id 1] = 0x20000540'
    """

    def __init__(self, *, allocator: str = "partitions", classes: str = "32x40, 128x24, 816x8", ram_size: int = 16384,
                 trace: str = "protocol stack", n: int = 300, seed: int = 0, literal: str = "+100, +24, -0, +800",
                 strict: bool = False, ops: Sequence[str] | None = None) -> None:
        self.status_text = ""
        self.held: list[tuple[str, int]] = []
        self.runs: dict = {}
        self._build_controls(allocator, classes, ram_size, trace, n, seed, literal, strict)
        self._boot_settings = self._settings()
        self._init_history(accepted=RTOS_OPS)
        self.heap = self._make_heap()
        self.ram = self.heap.ram
        self.trace = self._make_trace()
        self.stepper = TraceStepper(self.heap, self.trace)
        self.byte_view = ByteArrayView(self.heap, columns=64)
        self.timeline = FreeBytesTimeline()
        self.waste_plot = WasteBySize()
        self.step_log = widgets.HTML(layout=widgets.Layout(width="620px"))
        super().__init__(children=self._layout())
        self._refresh()
        self._say(f"{self._describe()}. Press step or run all to play the trace.")
        if ops:
            self.run_ops(ops)
        self._history_started()

    # ------------------------------------------------------------------ construction
    def _build_controls(self, allocator, classes, ram_size, trace, n, seed, literal, strict) -> None:
        small = {"style": {"description_width": "initial"}}
        self.allocator = widgets.Dropdown(options=list(RTOS_ALLOCATORS), value=allocator, description="allocator",
                                          layout=widgets.Layout(width="210px"), **small)
        self.classes = widgets.Text(value=classes, description="partitions", layout=widgets.Layout(width="300px"),
                                    **small)
        self.ram_size = widgets.Dropdown(options=[(f"{s // 1024} KiB", s) for s in RAM_SIZES], value=ram_size,
                                         description="RAM", layout=widgets.Layout(width="140px"), **small)
        self.strict = widgets.Checkbox(value=strict, description="strict puts", indent=False,
                                       layout=widgets.Layout(width="110px"))
        self.trace_kind = widgets.Dropdown(options=list(TRACE_KINDS) + ["literal"], value=trace, description="trace",
                                           layout=widgets.Layout(width="210px"), **small)
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=2**31, description="seed",
                                           layout=widgets.Layout(width="120px"), **small)
        self.n = widgets.BoundedIntText(value=n, min=1, max=100_000, description="requests",
                                        layout=widgets.Layout(width="150px"), **small)
        self.literal = widgets.Text(value=literal, description="literal", layout=widgets.Layout(width="330px"), **small)
        self.partition = widgets.Dropdown(options=[], description="partition", layout=widgets.Layout(width="200px"),
                                          **small)
        self.address = widgets.Text(value="", placeholder="0x20000040", description="p_blk",
                                    layout=widgets.Layout(width="190px"), **small)
        self.create_button = action_button("create", "a fresh RAM with this allocator (and the partitions above)",
                                           "refresh", "warning")
        self.step_button = action_button("step", "play the next operation of the trace", "step-forward", "primary")
        self.run_button = action_button("run all", "play the rest of the trace", "forward")
        self.compare_button = action_button("compare", "play the trace on every allocator and on kmalloc's classes",
                                            "bar-chart")
        self.tune_button = action_button("tune", "choose partitions for this trace in this RAM", "magic")
        self.get_button = action_button("OSMemGet", "take a block from the partition", "minus")
        self.put_button = action_button("OSMemPut", "give the block at p_blk back to the partition", "plus")
        self.status = status_line()
        self.header = widgets.HTML()
        for button, method in ((self.create_button, self.create), (self.step_button, self.step),
                               (self.run_button, self.run_all), (self.compare_button, self.compare),
                               (self.tune_button, self.tune), (self.get_button, self.os_mem_get),
                               (self.put_button, self.os_mem_put)):
            button.on_click(self._on_click(method))

    def _layout(self) -> list[widgets.Widget]:
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [self.header,
                widgets.HBox([self.allocator, self.classes, self.ram_size, self.strict, self.create_button], layout=wrap),
                widgets.HBox([self.trace_kind, self.seed, self.n, self.literal], layout=wrap),
                widgets.HBox([self.step_button, self.run_button, self.compare_button, self.tune_button,
                              widgets.HTML("&nbsp;&nbsp;by hand:"), self.partition, self.address, self.get_button,
                              self.put_button], layout=wrap),
                self.status, self.history_controls,
                widgets.HBox([self.byte_view, widgets.VBox([self.timeline, self.step_log])], layout=wrap),
                self.waste_plot]

    def _make_heap(self, kind: str | None = None):
        kind = self.allocator.value if kind is None else kind
        ram = Ram(size=self.ram_size.value)
        if kind == "partitions":
            return PartitionMalloc(ram, self.classes.value, strict=self.strict.value)
        return NanoMalloc(ram) if kind == "newlib-nano" else Tlsf(ram)

    def _make_trace(self):
        if self.trace_kind.value == "literal":
            return parse_trace(self.literal.value)
        return TRACE_KINDS[self.trace_kind.value](self.n.value, self.seed.value)

    # ------------------------------------------------------------------ actions
    def create(self) -> None:
        """A fresh RAM with the chosen allocator; the trace starts again."""
        with self._action("create"):
            heap, trace = self._make_heap(), self._make_trace()
            self.heap, self.ram, self.trace = heap, heap.ram, trace
            self.stepper = TraceStepper(heap, trace)
            self.held = []
            self.byte_view.show(heap)
            self._refresh()
            self._record("create " + " ".join(f"{key}={value}" for key, value in self._settings().items()))
            self._say(self._describe())

    def select_allocator(self, kind: str) -> None:
        """Switch allocator (a fresh RAM)."""
        if kind not in RTOS_ALLOCATORS:
            self._say(f"no allocator {kind!r}; accepted: {', '.join(RTOS_ALLOCATORS)}", error=True)
            return
        self.allocator.value = kind
        self.create()

    def step(self, count: int = 1) -> list[str]:
        """Play the next ``count`` operations of the trace; returns one line per operation."""
        lines: list[str] = []
        with self._action(f"step {count}"):
            with self.ram.bus.batch("step"):
                for _ in range(int(count)):
                    if self.stepper.done:
                        break
                    lines.append(self.stepper.step())
            if lines:
                self._record(f"step {len(lines)}")
            if not lines:
                self._say(f"the trace is over: {self.stepper.result.summary()}")
            else:
                self._say(lines[-1], error="failed" in lines[-1])
            self._refresh(lines)
        return lines

    def run_all(self) -> None:
        """Play the rest of the trace."""
        with self._action("run all"):
            with self.ram.bus.batch("run all"):
                self.stepper.run()
            self._record("run")
            self._refresh()
            self._say(self.stepper.result.summary(), error=self.stepper.result.failed > 0)

    def compare(self) -> dict:
        """Play the trace on each allocator (fresh RAM of this size), one block size, and kmalloc's classes."""
        with self._action("compare"):
            size, trace = self.ram_size.value, self.trace
            single = single_class(trace)
            makers = {"partitions": lambda: PartitionMalloc(Ram(size=size), self.classes.value),
                      "newlib-nano": lambda: NanoMalloc(Ram(size=size)), "TLSF": lambda: Tlsf(Ram(size=size))}
            if single[0] * single[1] + 32 <= size:
                makers[f"one size {single[0]}x{single[1]}"] = lambda: PartitionMalloc(Ram(size=size), [single])
            self.runs = {name: run_trace(make(), trace, record=False) for name, make in makers.items()}
            self.waste_plot.show(self.runs, kmalloc_sizes=trace.sizes())
            lines = [run.summary() for run in self.runs.values()]
            self.step_log.value = "<pre style='font-size:11px;white-space:pre-wrap'>" + plain_html("\n".join(lines)) + "</pre>"
            self._say(f"compared on {trace.name}: " + "; ".join(f"{name} {run.failed} failed"
                                                                for name, run in self.runs.items()))
        return self.runs

    def tune(self):
        """Choose the partitions for the trace in this RAM; they replace the partitions text."""
        result = None
        with self._action("tune"):
            result = tune_partitions(self.trace, self.ram_size.value)
            self.classes.value = result.spec
            self._say(f"tuned: {result.describe()}. Press create to use them.", error=not result.feasible)
        return result

    def _partition(self, name: str | None) -> MemPartition:
        if not isinstance(self.heap, PartitionMalloc):
            raise InvalidOperation(f"OSMemGet/OSMemPut need the partitions allocator; this RAM holds {self.heap.kind}")
        name = self.partition.value if name is None else name
        for part in self.heap.partitions:
            if part.name == name:
                return part
        raise InvalidOperation(f"no partition {name!r}; there are {', '.join(p.name for p in self.heap.partitions)}")

    def os_mem_get(self, partition: str | None = None) -> int | None:
        """``OSMemGet()`` on a partition of the wrapper, by hand."""
        addr = None
        with self._action("OSMemGet"):
            part = self._partition(partition)
            addr = part.get()
            self._record(f"get {part.name}")
            self.held.append((part.name, addr))
            self.address.value = hex(addr)
            self._refresh()
            self._say(f"OSMemGet({part.name}) = {addr:#x}; NbrFree {part.nbr_free} of {part.nbr_max}; next free "
                      f"{part.free_list_ptr:#x}")
        return addr

    def os_mem_put(self, addr=None, partition: str | None = None) -> None:
        """``OSMemPut(p_blk)`` by hand; ``addr`` may be text (``"0x20000040"``)."""
        with self._action("OSMemPut"):
            text = self.address.value if addr is None else addr
            try:
                p_blk = int(text, 0) if isinstance(text, str) else text
            except ValueError:
                raise InvalidOperation(f"p_blk {text!r} is not an address; type e.g. 0x20000040") from None
            part = self._partition(partition)
            part.put(p_blk)
            self._record(f"put {p_blk:#x} {part.name}")
            self.held = [(n, a) for n, a in self.held if not (n == part.name and a == p_blk)]
            self._refresh()
            if part.misuse and part.misuse[-1].startswith(f"OSMemPut({p_blk:#x})"):
                self._say(f"{part.misuse[-1]} - os_mem.c V3.08.02 does not check this; the free list is now "
                          "corrupted (red)", error=True)
            else:
                self._say(f"OSMemPut({part.name}, {p_blk:#x}): NbrFree {part.nbr_free}; it is the next block "
                          "OSMemGet hands out")

    def run_ops(self, ops: Sequence[str]) -> list[str]:
        """Play literal lab operations (see the class docstring); returns one line per operation."""
        lines = []
        for op in ops:
            words = str(op).split()
            if not words:
                continue
            verb, args = words[0].lower(), words[1:]
            try:
                if verb == "step":
                    self.step(int(args[0]) if args else 1)
                elif verb == "run":
                    self.run_all()
                elif verb == "get":
                    self.os_mem_get(args[0] if args else None)
                elif verb == "put" and args:
                    self.os_mem_put(args[0], args[1] if len(args) > 1 else None)
                elif verb == "compare":
                    self.compare()
                elif verb == "tune":
                    self.tune()
                elif verb == "allocator" and args:
                    self.select_allocator(" ".join(args))
                elif verb == "create":
                    self._apply_settings(self._read_settings(args))
                    self.create()
                else:
                    raise InvalidOperation(f"unknown operation {op!r}; accepted: step [N], run, get [PARTITION], "
                                           "put ADDR [PARTITION], compare, tune, allocator NAME, create")
            except (InvalidOperation, ValueError) as error:
                self._say(f"cannot run {op!r}: {error}", error=True)
            lines.append(f"{op}: {self.status_text}")
        return lines

    def close(self) -> None:
        self.byte_view.close()
        super().close()

    # ------------------------------------------------------------------ the history's contract (._history)
    def _settings(self) -> dict:
        """What *create* builds from, as the ``create`` operation spells it (no spaces in a value)."""
        return {"allocator": self.allocator.value.replace(" ", "_"), "classes": self.classes.value.replace(" ", ""),
                "ram": self.ram_size.value, "strict": int(self.strict.value),
                "trace": self.trace_kind.value.replace(" ", "_"), "n": self.n.value, "seed": self.seed.value,
                "literal": self.literal.value.replace(" ", "")}

    def _read_settings(self, args: list[str]) -> dict:
        settings = {}
        for arg in args:
            key, _, value = arg.partition("=")
            if key not in _CREATE_KEYS or not value:
                raise InvalidOperation(f"create takes {', '.join(k + '=' for k in _CREATE_KEYS)}, not {arg!r:.40}")
            settings[key] = value.replace("_", " ") if key in ("allocator", "trace") else value
        for key in ("ram", "strict", "n", "seed"):
            if key in settings:
                if not settings[key].isascii() or not settings[key].isdigit() or len(settings[key]) > 9:
                    raise InvalidOperation(f"create: {key}={settings[key]!r:.30} is not a whole number")
                settings[key] = int(settings[key])
        checks = (("allocator", RTOS_ALLOCATORS), ("ram", RAM_SIZES), ("trace", list(TRACE_KINDS) + ["literal"]),
                  ("strict", (0, 1)))
        for key, accepted in checks:
            if key in settings and settings[key] not in accepted:
                raise InvalidOperation(f"create: {key}={settings[key]!r}; accepted: {', '.join(map(str, accepted))}")
        if "n" in settings and not 1 <= settings["n"] <= self.n.max:
            raise InvalidOperation(f"create: n={settings['n']}; accepted: 1..{self.n.max:,}")
        return settings

    def _apply_settings(self, settings: dict) -> None:
        for key, widget in (("allocator", self.allocator), ("classes", self.classes), ("ram", self.ram_size),
                            ("trace", self.trace_kind), ("n", self.n), ("seed", self.seed), ("literal", self.literal)):
            if key in settings:
                widget.value = settings[key]
        if "strict" in settings:
            self.strict.value = bool(settings["strict"])

    def _check_op(self, op: str) -> None:
        words = op.split()
        verb, args = (words[0].lower(), words[1:]) if words else ("", [])
        if verb == "step" and len(args) <= 1 and all(a.isascii() and a.isdigit() and len(a) < 7 for a in args):
            return
        if (verb == "run" and not args) or (verb == "get" and len(args) <= 1) or (verb == "put" and 1 <= len(args) <= 2):
            return
        if verb == "allocator" and " ".join(args) in RTOS_ALLOCATORS:
            return
        if verb == "create":
            try:
                self._read_settings(args)
            except InvalidOperation as error:
                raise InvalidOperation(f"cannot read operation {op!r}: {error}; accepted: {RTOS_OPS}") from None
            return
        raise InvalidOperation(f"cannot read operation {op!r}; accepted: {RTOS_OPS}")

    def _play(self, op: str) -> None:
        self.run_ops([op])

    def _reboot_lab(self) -> None:
        settings = dict(self._boot_settings)
        settings = self._read_settings([f"{key}={value}" for key, value in settings.items() if value != ""])
        self._apply_settings(settings)
        replaying, self._replaying = self._replaying, True
        try:
            self.create()
        finally:
            self._replaying = replaying

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _action(self, name: str) -> Iterator[None]:
        try:
            yield
        except KernelMemError as error:
            self._refresh()
            self._say(f"{name}: {error}", error=True)

    def _refresh(self, lines: list[str] | None = None) -> None:
        names = [p.name for p in self.heap.partitions] if isinstance(self.heap, PartitionMalloc) else []
        if list(self.partition.options) != names:
            self.partition.options = names
        if names and self.partition.value not in names:
            self.partition.value = names[0]
        self.timeline.show(self.stepper.result)
        if lines:
            self.step_log.value = "<pre style='font-size:11px;white-space:pre-wrap'>" + plain_html("\n".join(lines[-12:])) + "</pre>"
        played = self.stepper.position
        self.header.value = (f"<b>RTOS lab</b> &mdash; {plain_html(self._describe())}; trace {plain_html(self.trace.name)}:"
                             f" {played} of {len(self.trace)} operations played")

    def _describe(self) -> str:
        heap = self.heap
        what = repr(heap) if isinstance(heap, PartitionMalloc) else heap.kind
        return f"{what} in {self.ram.size // 1024} KiB of RAM at {self.ram.base:#x}"
