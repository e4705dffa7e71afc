"""Chapter 1's lab: the buddy allocator of one zone, driven by buttons or by the same calls in code.

The lab composes the views and forwards every click to a public model method.  What it keeps
is the reader's side of the story: ``held``, the blocks the reader allocated and has not
freed (as a program keeps its pointers), and the position in a split walk-through.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import ipywidgets as widgets
import numpy as np

from ..model.errors import KernelMemError
from ..model.events import Event
from ..model.page_alloc.preview import AllocationPreview, allocation_preview
from ..model.page_alloc.snapshot import free_block_containing
from ..model.errors import InvalidOperation
from ..model.workload import MAX_STEPS, AgingReport, OpResult, Workload, parse_op, run_ops
from ..views import FragmentationPlot, FreeListBars, MemoryMap, TraceView
from ..views._binding import INTERMEDIATE_EVENTS, zone_name_for
from ..views.controls import (RANDOM_BLOCK, action_button, block_dropdown, block_options, gfp_dropdown,
                              order_dropdown, status_line)
from ..views.narration import (describe_allocation, describe_error, describe_free, describe_moves,
                               describe_split_half, describe_split_take)
from ..views.palette import order_label
from ._checks import check_lab_args
from ._history import HasHistory
from ._status import SaysWhatHappened

__all__ = ["BuddyLab", "BUDDY_OPS", "AGE_CHUNK"]

_STEP_LABEL = "step through a split"

#: The operations of the buddy lab's history, export and load (``run_ops`` plays them too)
BUDDY_OPS = ("'alloc ORDER [GFP]', 'free PFN ORDER' (PFN decimal or 0x hex), 'age STEPS', 'compact [ZONE]', "
             "'reset'")

#: Steps of aging between two looks at the Stop button (a multiple of the workload's chunk of 1,000
#: steps, so that aging in pieces draws exactly the numbers one call would)
AGE_CHUNK = 2000


@dataclass
class _SplitWalk:
    """Where the reader is in a split walk-through: the previewed block and the step shown."""

    preview: AllocationPreview
    gfp: str
    step: int = 1

    @property
    def step_count(self) -> int:
        return len(self.preview.halves()) + 2  # take the block, one step per half, allocate


class BuddyLab(HasHistory, SaysWhatHappened, widgets.VBox):
    """Allocate, free, split, age, compact and reset one machine, and watch one zone change.

    Parameters
    ----------
    machine : Machine
    zone : str, optional
        The zone drawn (default: the machine's highest populated zone).  Allocations go where
        their GFP mask sends them; a block in another zone is reported, not drawn.
    seed : int
        Seeds the aging workload and the choice of a random block to free.
    ops : sequence of str, optional
        Literal operations (:data:`BUDDY_OPS`: ``"alloc 3"``, ``"free 0x1200 3"``, ``"age 5000"``,
        ``"compact"``, ``"reset"``) run at construction, so a chapter can pose a fixed scenario; their
        allocations count as held, and the history starts after them.
    trace_lines : int
        Lines of the event trace shown.

    Attributes
    ----------
    machine : Machine
    held : list of (int, int)
        (pfn, order) of every block the reader allocated here and has not freed; it follows
        compaction's migrations and empties on reset.
    order, gfp, block_choice, age_steps, zone_choice : ipywidgets controls
    alloc_button, free_button, step_button, age_button, compact_button, reset_button : ipywidgets.Button
    age_progress : ipywidgets.IntProgress
    status : ipywidgets.HTML
        What the last action did or why it failed, in words (``status_text`` is the plain text).
    memory_map, free_lists, fragmentation, trace_view : the views
    op_results : list of OpResult
        The outcome of each literal operation of the last :meth:`run_ops`.
    history : History
        Every action as an operation (:mod:`._history`): :meth:`undo`, :meth:`step_back`,
        :meth:`step_forward`, :meth:`goto`, :meth:`export_ops`, :meth:`load_ops`; drawn by
        ``history_controls`` (with the explanation level and the Stop button of long work).

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> lab = BuddyLab(Machine.preset("linux-6.18-tiny"), ops=["alloc 3"])
    >>> lab.held
    [(0, 3)]
    >>> lab.free()
    (0, 3)
    >>> lab.held
    []
    >>> lab.history.ops
    ['alloc 3', 'free 0x0 3']
    >>> lab.undo(); lab.held
    True
    [(0, 3)]
    """

    def __init__(self, machine, *, zone: str | None = None, seed: int = 0, ops: Sequence[str] | None = None,
                 trace_lines: int = 12) -> None:
        check_lab_args(machine, seed=seed, ops=ops, trace_lines=trace_lines, zone=zone)
        self.machine = machine
        self.seed = seed
        self.zone_name = zone_name_for(machine, zone)
        self.held: list[tuple[int, int]] = []
        self.op_results: list[OpResult] = []
        self.status_text = ""
        self._rng = np.random.default_rng(seed)
        self._workload: Workload | None = None
        self._walk: _SplitWalk | None = None
        self._action_events: list[Event] | None = None
        self._record_allocations = False
        self.memory_map = MemoryMap(machine, self.zone_name)
        self.free_lists = FreeListBars(machine, self.zone_name, zone_selector=False)
        self.fragmentation = FragmentationPlot(machine, self.zone_name)
        self.trace_view = TraceView(machine, lines=trace_lines)
        self._build_controls()
        self._init_history(accepted=BUDDY_OPS)
        self._unsubscribe = machine.bus.subscribe(self._follow)
        super().__init__(children=self._layout())
        self.add_class("kmw-lab")
        self.add_class("kmw-buddy-lab")
        self.status.add_class("kmw-status")
        self.header.add_class("kmw-header")
        if ops:
            self.run_ops(ops)
        else:
            self._say(f"{self._machine_line()}. Pick an order and a GFP mask, then allocate, or step through a split.")
        self._history_started()

    # ------------------------------------------------------------------ construction
    def _build_controls(self) -> None:
        machine = self.machine
        self.order = order_dropdown(machine.max_page_order, machine.page_size)
        self.gfp = gfp_dropdown()
        self.block_choice = block_dropdown()
        self.alloc_button = action_button("allocate", "alloc_pages(gfp, order)", "plus", "primary")
        self.step_button = action_button(_STEP_LABEL, "show __rmqueue_smallest() and each expand() step, then "
                                         "allocate", "step-forward")
        self.free_button = action_button("free", "__free_pages(page, order) of the chosen block", "minus")
        self.age_steps = widgets.BoundedIntText(value=5000, min=0, max=MAX_STEPS, step=1000, description="steps",
                                                layout=widgets.Layout(width="170px"),
                                                style={"description_width": "45px"})
        self.age_button = action_button("age the machine", "a seeded mix of allocations and frees, like uptime",
                                        "clock-o")
        self.age_progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="200px"))
        self.compact_button = action_button("compact", "echo 1 > /proc/sys/vm/compact_memory", "compress")
        self.reset_button = action_button("reset", "reboot the machine", "refresh", "warning")
        names = [zone.name for zone in machine.zones]
        self.zone_choice = widgets.Dropdown(options=names, value=self.zone_name, description="zone",
                                            layout=widgets.Layout(width="160px", display=None if len(names) > 1
                                                                  else "none"),
                                            style={"description_width": "40px"})
        self.status = status_line()
        self.header = widgets.HTML()
        for button, method in ((self.alloc_button, self.allocate), (self.free_button, self.free),
                               (self.step_button, self.step_split), (self.age_button, self.start_age),
                               (self.compact_button, self.compact), (self.reset_button, self.reset)):
            button.on_click(self._on_click(method))
        self.order.observe(lambda _change: self._end_walk(), names="value")
        self.gfp.observe(lambda _change: self._end_walk(), names="value")
        self.zone_choice.observe(lambda change: self.select_zone(change["new"]), names="value")
        self.memory_map.on_page_click(self._page_clicked)
        self._update_header()

    def _layout(self) -> list[widgets.Widget]:
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [
            self.header,
            widgets.HBox([self.order, self.gfp, self.alloc_button, self.step_button], layout=wrap),
            widgets.HBox([self.block_choice, self.free_button, self.compact_button, self.reset_button,
                          self.zone_choice], layout=wrap),
            widgets.HBox([self.age_steps, self.age_button, self.age_progress], layout=wrap),
            self.status,
            self.history_controls,
            widgets.HBox([self.memory_map, widgets.VBox([self.free_lists, self.fragmentation])],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start")),
            self.trace_view,
        ]

    # ------------------------------------------------------------------ actions (clicks call these)
    @property
    def zone(self):
        """The zone drawn, as the machine holds it now."""
        return self.machine.zone(self.zone_name)

    @property
    def split_preview(self) -> AllocationPreview | None:
        """The block the split walk-through in progress showed, or None."""
        return None if self._walk is None else self._walk.preview

    def allocate(self, order: int | None = None, gfp: str | None = None) -> int | None:
        """``alloc_pages(gfp, order)``; returns the pfn, or None when the allocation failed (see ``status``)."""
        order = self.order.value if order is None else order
        gfp = self.gfp.value if gfp is None else gfp
        self._end_walk()
        pfn = None
        with self._action(f"allocate order {order}") as events:
            preview = allocation_preview(self.machine, gfp, order)
            pfn = self.machine.alloc_pages(gfp, order)
            self.held.append((pfn, order))
            zone = self.machine.zone_of(pfn)
            self._record(f"alloc {order} {gfp}")
            text = describe_allocation(pfn, order, gfp, zone.name, preview, events, self.machine.page_size)
            self._say(text + self._elsewhere(zone.name), brief=text.split(": ")[0] + self._elsewhere(zone.name))
            shown = preview.known and preview.pfn == pfn
            self.memory_map.highlight(pfn, order, also=preview.halves() if shown else ())
        return pfn

    def free(self, pfn: int | None = None, order: int | None = None) -> tuple[int, int] | None:
        """``__free_pages()`` of ``pfn`` (default: the block chosen in ``block_choice``, or a random held one).

        Without ``order``, the order the block was allocated with is used.  Returns (pfn, order)
        or None when nothing was freed (see ``status``).
        """
        self._end_walk()
        if pfn is None:
            chosen = self._chosen_block()
            if chosen is None:
                self._say("nothing to free: you hold no blocks; allocate one first")
                return None
            pfn, order = chosen
        freed = None
        with self._action(f"free pfn {_pfn_text(pfn)}"):
            order = self._order_of(pfn) if order is None else order
            was_held = (pfn, order) in self.held
            self.machine.free_pages(pfn, order)
            self._record(f"free {int(pfn):#x} {int(order)}")
            zone = self.machine.zone_of(pfn)
            merged = free_block_containing(zone, pfn)
            self._say(describe_free(pfn, order, zone, merged, was_held, self.machine.page_size)
                      + self._elsewhere(zone.name))
            self.memory_map.highlight(*(merged or (None, 0)))
            freed = (int(pfn), int(order))
        return freed

    def step_split(self) -> int | None:
        """One step of the next allocation's split; the last step allocates and returns the pfn.

        Step 1 shows the block ``__rmqueue()`` will take (from the model's free lists), each
        next step one ``expand()`` half going to its free list, the last performs the real
        allocation and checks it took the block shown.  A request the preview cannot replay is
        allocated at once, and the status says why.
        """
        if self._walk is None:
            return self._start_walk()
        walk = self._walk
        walk.step += 1
        if walk.step < walk.step_count:
            self._show_half(walk)
            return None
        return self._finish_walk(walk)

    def age(self, steps: int | None = None) -> AgingReport | None:
        """Run the seeded workload for ``steps`` allocations and frees (default: ``age_steps``).

        At most ``workload.MAX_STEPS`` (1,000,000) per call.  Interrupting the kernel (the stop
        button of Jupyter, or Ctrl-C) stops aging at the next chunk of 1,000 steps, with the
        model consistent; the status says how many steps ran.
        """
        steps = self.age_steps.value if steps is None else steps
        self._end_walk()
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
            self._say(f"age failed: steps {steps!r} must be a whole number 0..{MAX_STEPS:,} in this kit", error=True)
            return None
        report = None
        self.age_button.disabled = True
        try:
            with self._action(f"age {steps} steps"):
                workload = self._aging_workload()
                self.age_progress.max, self.age_progress.value = max(int(steps), 1), 0
                report = workload.age(int(steps), progress=self._show_progress)
                if report.steps:
                    self._record(f"age {report.steps}")
                self._say(self._aging_text(report), brief=self._aging_brief(report))
        finally:
            self.age_button.disabled = False
        return report

    def start_age(self, steps: int | None = None):
        """The *age* button: aging in chunks of :data:`AGE_CHUNK` steps from the kernel's event loop,
        so that *stop* cancels it in every front end (Voila has no kernel interrupt).

        A cancelled aging keeps the chunks that ran (the model consistent) and is recorded as the
        steps that ran (``age 4000``).  Outside a running event loop it runs at once, as :meth:`age`.
        Returns the asyncio task, or None.
        """
        steps = self.age_steps.value if steps is None else steps
        self._end_walk()
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
            self._say(f"age failed: steps {steps!r} must be a whole number 0..{MAX_STEPS:,} in this kit", error=True)
            return None
        steps = int(steps)
        if not _event_loop_running() or steps <= AGE_CHUNK:
            return self.age(steps)       # nothing to cancel it from: one call, drawn once
        chunks = [AGE_CHUNK] * (steps // AGE_CHUNK) + ([steps % AGE_CHUNK] if steps % AGE_CHUNK else [])
        total = AgingReport(0)
        self.last_report = total
        self.age_button.disabled = True
        self.age_progress.max, self.age_progress.value = max(steps, 1), 0

        def work(count: int) -> None:
            with self._action(f"age {steps} steps"):
                part = self._aging_workload().age(count)
                _add_report(total, part)
            self._show_progress(total.steps, steps)
            self._say(f"aging: {total.steps:,} of {steps:,} steps ...")

        def finish(cancelled: bool) -> None:
            self.age_button.disabled = False
            total.cancelled = cancelled and total.steps < steps
            if self._workload is not None:
                self._workload._finish_report(total)
            if total.steps:
                self._record(f"age {total.steps}")
            self._say(self._aging_text(total), brief=self._aging_brief(total))

        return self._run_long("aging", chunks, work, finish)

    def compact(self) -> list | None:
        """Compact every zone, as ``echo 1 > /proc/sys/vm/compact_memory`` does; your blocks follow."""
        self._end_walk()
        results = None
        with self._action("compact") as events:
            results = self.machine.compact()
            self._record("compact")
            moved: dict[int, int] = {}
            for event in events:
                if event.kind == "mm_compaction_end":
                    moved.update(event.data.get("moved", {}))
            self._say("compacted every zone: " + "; ".join(result.summary() for result in results)
                      + "; " + describe_moves(moved, self.held))
        return results

    def reset(self) -> None:
        """Reboot the machine: every zone back to its boot state; ``held`` and the histories empty."""
        with self._action("reset"):
            self.machine.reset()
            self._record("reset")
            self._say(f"rebooted: {self._machine_line()}")

    def run_ops(self, ops: Sequence[str]) -> list[OpResult]:
        """Play literal operations (``workload.run_ops``); their allocations count as held."""
        self._end_walk()
        if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence):
            self._say(f"cannot run {ops!r:.60}: give a list of operations such as ['alloc 3']", error=True)
            return []
        results: list[OpResult] = []
        with self._action("run operations"):
            for op in ops:
                self._check_op(op)   # every operation is read before any runs
            for op in ops:
                words = str(op).split()
                if words[0].lower() == "age":
                    report = self.age(int(words[1]))
                    results.append(OpResult(str(op), page_size=self.machine.page_size,
                                            detail=report.summary() if report else "",
                                            error="" if report else self.status_text))
                    continue
                self._record_allocations = True
                try:
                    result, = run_ops(self.machine, [op])
                finally:
                    self._record_allocations = False
                if not result.error:
                    self._record(" ".join(str(op).split()))
                results.append(result)
            self.op_results = results
            self._say(f"ran {len(results)} operations: "
                      + "; ".join(" ".join(result.line().split()) for result in results))
        return results

    # ------------------------------------------------------------------ the history's contract (._history)
    _checkpoint_attrs = ("held", "_workload", "_rng")
    _checkpoint_after = ("age",)

    def _can_checkpoint(self) -> bool:
        machine = self.machine      # the slab and DMA layers key dicts by id() or follow the bus: replay those
        return machine._slab is None and machine._dma is None and machine._vmalloc is None

    def _before_restore(self) -> None:
        if self._workload is not None:
            self._workload._unsubscribe()

    def _after_restore(self) -> None:
        if self._workload is not None:
            self._workload._unsubscribe = self.machine.bus.subscribe(self._workload._follow_migration)
        self._refresh_block_choice()

    def _check_op(self, op) -> None:
        """Read one operation of :data:`BUDDY_OPS` (raise ``InvalidOperation``; nothing changes)."""
        words = str(op).split() if isinstance(op, str) else None
        if words and words[0].lower() == "age":
            if len(words) != 2 or not words[1].isascii() or not words[1].isdigit() or not 0 < int(words[1]) <= MAX_STEPS:
                raise InvalidOperation(f"cannot read operation {op!r}: 'age STEPS' takes a step count "
                                       f"1..{MAX_STEPS:,}; accepted: {BUDDY_OPS}")
            return
        try:
            parse_op(op)
        except InvalidOperation as error:
            raise InvalidOperation(str(error).split("; accepted")[0] + f"; accepted: {BUDDY_OPS}") from None

    def _play(self, op: str) -> None:
        words = op.split()
        verb, args = words[0].lower(), words[1:]
        if verb == "age":
            self.age(int(args[0]))
        elif verb == "alloc":
            self.allocate(_op_number(args[0]), args[1] if len(args) > 1 else "GFP_KERNEL")
        elif verb == "free":
            self.free(_op_number(args[0]), _op_number(args[1]))
        elif verb == "compact" and not args:
            self.compact()
        elif verb == "reset":
            self.reset()
        else:
            self.run_ops([op])

    def _reboot_lab(self) -> None:
        self._end_walk()
        self._reboot_machine()     # held, the workload and the random choices follow the "reset" event

    def select_zone(self, zone: str) -> None:
        """Draw another zone of the machine."""
        self.zone_name = zone_name_for(self.machine, zone)
        for view in (self.memory_map, self.free_lists, self.fragmentation):
            view.select_zone(self.zone_name)
        if self.zone_choice.value != self.zone_name:
            self.zone_choice.value = self.zone_name
        self._update_header()

    def close(self) -> None:
        if "_unsubscribe" not in self.__dict__:  # the constructor refused its arguments: nothing to close
            return
        self._unsubscribe()
        if self._workload is not None:
            self._workload.close()
        for view in (self.memory_map, self.free_lists, self.fragmentation, self.trace_view):
            view.close()
        super().close()

    # ------------------------------------------------------------------ split walk-through
    def _start_walk(self) -> int | None:
        order, gfp = self.order.value, self.gfp.value
        preview = None
        with self._action(f"step through an order-{order} split"):
            preview = allocation_preview(self.machine, gfp, order)
        if preview is None:
            return None
        if not preview.known:
            pfn = self.allocate(order, gfp)
            if pfn is not None:
                self._say(f"no step-by-step view: {preview.reason}. Allocated at once: {self.status_text}")
            return pfn
        note = ""
        if preview.zone != self.zone_name:
            self.select_zone(preview.zone)
            note = f" (now drawing zone {preview.zone}, where {gfp} is served)"
        self._walk = _SplitWalk(preview, gfp)
        self.memory_map.highlight(preview.pfn, preview.block_order)
        self._say(describe_split_take(preview, self._walk.step_count, self.machine.page_size) + note)
        self._label_step_button()
        return None

    def _show_half(self, walk: _SplitWalk) -> None:
        preview = walk.preview
        shown = preview.halves()[:walk.step - 1]
        self.memory_map.highlight(preview.pfn, shown[-1][1], also=shown)
        self._say(describe_split_half(preview, walk.step, walk.step_count, self.machine.page_size))
        self._label_step_button()

    def _finish_walk(self, walk: _SplitWalk) -> int | None:
        self._end_walk()
        pfn = self.allocate(walk.preview.order, walk.gfp)
        if pfn is None:
            return None
        if pfn == walk.preview.pfn:
            verdict = "the allocator took exactly the block shown"
        else:
            verdict = f"the allocator took pfn {pfn:#x}, not {walk.preview.pfn:#x} as shown"
        self._say(f"step {walk.step_count} of {walk.step_count}: {self.status_text} -- {verdict}")
        return pfn

    def _end_walk(self) -> None:
        if self._walk is not None:
            self._walk = None
            self._label_step_button()

    def _label_step_button(self) -> None:
        walk = self._walk
        self.step_button.description = (_STEP_LABEL if walk is None
                                        else f"next split step ({walk.step + 1}/{walk.step_count})")

    # ------------------------------------------------------------------ following the model
    def _follow(self, event: Event) -> None:
        """Keep ``held`` true to the model: frees, compaction's moves and reboots."""
        kind = event.kind
        if self._action_events is not None:
            self._action_events.append(event)
        if kind == "mm_page_alloc" and self._record_allocations:
            self.held.append((event["pfn"], event["order"]))
        elif kind == "mm_page_free" and (event["pfn"], event["order"]) in self.held:
            self.held.remove((event["pfn"], event["order"]))
        elif kind == "mm_compaction_end" and event.data.get("moved"):
            moved = event.data["moved"]
            self.held[:] = [(moved.get(pfn, pfn), order) for pfn, order in self.held]
        elif kind == "reset":
            self._rebooted()
        if kind != "batch_end":
            self._end_walk()  # the model changed under the walk-through: its preview is stale
        if not self.machine.bus.in_batch and kind not in INTERMEDIATE_EVENTS:
            self._refresh_block_choice()

    def _rebooted(self) -> None:
        self.held.clear()
        if self._workload is not None:
            self._workload.close()
            self._workload = None
        self._rng = np.random.default_rng(self.seed)  # a rebooted lab replays the same numbers
        self.age_progress.value = 0

    def _refresh_block_choice(self) -> None:
        chosen = self.block_choice.value
        options = block_options(self.held, self.machine.page_size)
        self.block_choice.options = options
        values = [value for _label, value in options]
        self.block_choice.value = chosen if chosen in values else RANDOM_BLOCK

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _action(self, name: str) -> Iterator[list[Event]]:
        """One user action: one batch (views redraw once), its events recorded, model errors worded."""
        self._action_events = events = []
        try:
            with self.machine.bus.batch(name):
                yield events
        except KernelMemError as error:
            self._say(describe_error(name, error), error=True)
        finally:
            self._action_events = None


    def _chosen_block(self) -> tuple[int, int] | None:
        chosen = self.block_choice.value
        if chosen != RANDOM_BLOCK:
            return chosen
        if not self.held:
            return None
        return self.held[int(self._rng.integers(len(self.held)))]

    def _order_of(self, pfn: int) -> int:
        """The order ``pfn`` was allocated with: from ``held``, else from the model, else 0."""
        for held_pfn, order in self.held:
            if held_pfn == pfn:
                return order
        if isinstance(pfn, (int, np.integer)) and not isinstance(pfn, bool):
            allocated = self.machine.zone_of(pfn).allocated_order(pfn)
            if allocated is not None:
                return allocated
        return 0  # the model will say why this pfn cannot be freed

    def _aging_workload(self) -> Workload:
        if self._workload is None:
            self._workload = Workload(self.machine, seed=self.seed)
        return self._workload

    def _aging_brief(self, report: AgingReport) -> str:
        zone = self.zone
        return (f"aged {report.steps:,} steps{' (cancelled)' if report.cancelled else ''}: zone {zone.name} "
                f"{zone.nr_free_pages:,} pages free, largest free block order {zone.largest_free_order()}")

    def _show_progress(self, done: int, total: int) -> None:
        self.age_progress.max, self.age_progress.value = max(total, 1), done
        self.history_controls.show_progress(done, total)

    def _aging_text(self, report: AgingReport) -> str:
        zone = self.zone
        text = (f"aged the machine (seed {self.seed}): {report.summary()}. Zone {zone.name} now has "
                f"{zone.nr_free_pages:,} pages free, largest free block order {zone.largest_free_order()}")
        if report.failures:
            text += f"; first failure: {report.first_failure}"
        return text

    def _elsewhere(self, zone_name: str) -> str:
        if zone_name == self.zone_name:
            return ""
        return f" (zone {zone_name} is not the zone drawn: choose it in the zone menu to see it)"

    def _machine_line(self) -> str:
        return self.machine.describe().splitlines()[0]

    def _update_header(self) -> None:
        zone = self.zone
        self.header.value = (f"<b>Buddy allocator lab</b> &mdash; {self._machine_line()}; drawing zone "
                             f"<b>{zone.name}</b> ({zone.managed_pages:,} pages); seed {self.seed}")

    def _page_clicked(self, pfn: int) -> None:
        """A click on the map: say what the page is, and pick the held block it belongs to."""
        zone = self.zone
        if not zone.contains(pfn):
            self._say(f"pfn {pfn:#x} is outside zone {zone.name}")
            return
        for held_pfn, order in self.held:
            if held_pfn <= pfn < held_pfn + (1 << order):
                self.block_choice.value = (held_pfn, order)
                size = order_label(order, self.machine.page_size)
                self._say(f"pfn {pfn:#x} is in your block {held_pfn:#x} ({size}): chosen, press free to give it back")
                return
        free = free_block_containing(zone, pfn)
        if free is not None:
            self._say(f"pfn {pfn:#x} is free, inside the free order-{free[1]} block at {free[0]:#x}")
        else:
            self._say(f"pfn {pfn:#x} is allocated, but not by you (the aging workload), or reserved")


def _op_number(word: str) -> int:
    """A number of an operation ``parse_op()`` accepted: decimal (``010`` is ten) or 0x hex."""
    return int(word[2:], 16) if word[:2].lower() == "0x" else int(word, 10)


def _event_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _add_report(total: AgingReport, part: AgingReport) -> None:
    """Add one chunk's report to the total of an aging run in chunks."""
    total.steps += part.steps
    total.allocations += part.allocations
    total.frees += part.frees
    total.failures += part.failures
    total.first_failure = total.first_failure or part.first_failure


def _pfn_text(pfn) -> str:
    return f"{pfn:#x}" if isinstance(pfn, (int, np.integer)) and not isinstance(pfn, bool) else repr(pfn)
