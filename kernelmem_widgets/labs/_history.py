"""History shared by every lab: each action an operation; undo, step back and forward by replay from boot.

A lab that mixes in :class:`HasHistory` keeps its own actions and buttons; what it adds is small
(the *contract*, also in docs/views.md):

1. ``self._init_history(accepted=...)`` in ``__init__``, before the construction ``ops`` run;
   ``accepted`` is the one-line list of operations its text form accepts.
2. Every action that changed something calls ``self._record(op)`` once, ``op`` being the action in
   the lab's operation language (``"alloc 3 GFP_KERNEL"``, ``"age 5000"``), with every choice
   resolved (the pfn freed, the cpu used, the steps actually run).  A refused action records
   nothing.
3. ``_check_op(op)`` raises :class:`~kernelmem_widgets.model.errors.InvalidOperation` when ``op``
   cannot be read (and changes nothing); ``_play(op)`` performs it through the lab's public action
   (which records it); ``_reboot_lab()`` puts the model and the lab's own lists back to boot.
4. Optionally ``self._rng`` (a numpy ``Generator`` the lab draws random choices from): its state is
   saved with every entry and restored when the history moves.

Then the lab has :meth:`undo`, :meth:`step_back`, :meth:`step_forward`, :meth:`goto`,
:meth:`export_ops`, :meth:`load_ops`, the explanation level (:attr:`explanation`) and long work
that a Stop button cancels (:meth:`_run_long`); ``history_controls`` (a
:class:`~kernelmem_widgets.views.history_controls.HistoryControls`) draws them.

Moving back replays the operations from boot: same seed, same pfns, so the model is exactly what it
was at that point (the tests compare a digest of the whole model).  Moving forward applies the next
operations to the state on display, which is the same thing.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable

from ..model.errors import InvalidOperation, KernelMemError
from ..model.workload import MAX_OPS

__all__ = ["HasHistory", "History", "HistoryEntry", "EXPLANATION_LEVELS", "MAX_SESSION_CHARS", "brief_text",
           "split_session"]

#: The explanation levels of every lab: the status line in one clause, or with the kernel's reasons.
EXPLANATION_LEVELS = ("brief", "full")

#: Most characters a loaded session may have
MAX_SESSION_CHARS = 400_000


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded operation and the lab's random-number state after it."""

    op: str
    rng_state: dict | None = None


class History:
    """The operations of a session and the position on display (``0``: boot, ``len``: the newest)."""

    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []
        self.position = 0
        self.base = 0          # operations given at construction: undo and step back stop there

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def ops(self) -> list[str]:
        """Every recorded operation, the ones ahead of the position included."""
        return [entry.op for entry in self.entries]

    @property
    def done(self) -> list[str]:
        """The operations up to the position on display (what export gives)."""
        return [entry.op for entry in self.entries[:self.position]]

    def append(self, entry: HistoryEntry) -> None:
        """A new action: the steps ahead of the position (undone or stepped back over) are dropped."""
        del self.entries[self.position:]
        self.entries.append(entry)
        self.position = len(self.entries)


def split_session(text) -> list[tuple[int, str]]:
    """``(line number, op)`` of a session text: blank lines and ``#`` comments skipped.

    >>> split_session("alloc 3\\n\\n# a comment\\n  free 0x0 3  ")
    [(1, 'alloc 3'), (4, 'free 0x0 3')]
    """
    if not isinstance(text, str):
        raise InvalidOperation(f"a session is text, one operation a line, not {type(text).__name__}")
    if len(text) > MAX_SESSION_CHARS:
        raise InvalidOperation(f"a session of {len(text):,} characters: at most {MAX_SESSION_CHARS:,} in this kit")
    lines = [(number, " ".join(line.split("#", 1)[0].split())) for number, line in enumerate(text.splitlines(), 1)]
    lines = [(number, line) for number, line in lines if line]
    if len(lines) > MAX_OPS:
        raise InvalidOperation(f"{len(lines):,} operations: at most {MAX_OPS:,} in one session in this kit")
    return lines


def brief_text(text: str) -> str:
    """The first clause of a status line (up to the first ``": "``, ``"; "`` or ``" -- "``).

    >>> brief_text("allocated order 3 at pfn 0x8 in zone Normal (GFP_KERNEL): __rmqueue_smallest() took it")
    'allocated order 3 at pfn 0x8 in zone Normal (GFP_KERNEL)'
    """
    cut = len(text)
    for mark in (": ", "; ", " -- "):
        index = text.find(mark)
        if 0 < index < cut:
            cut = index
    return text[:cut]


class HasHistory:
    """Mixin: the history, the explanation level and cancellable long work of a lab (see the module)."""

    history: History
    history_controls: object
    status_text: str

    #: Checkpoints (opt-in): the lab attributes saved with the machine's state, and the verbs after
    #: which one is taken (``("age",)``); moving back then replays from the nearest checkpoint.
    _checkpoint_attrs: tuple[str, ...] = ()
    _checkpoint_after: tuple[str, ...] = ()

    #: The contract (module docstring, items 3): every lab defines these; a class that mixes in
    #: HasHistory without them is refused when it is defined, not when a student first presses undo.
    #: (Not an ABC: the labs are ipywidgets, whose metaclass does not combine with ABCMeta.)
    _CONTRACT = ("_check_op", "_play", "_reboot_lab")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        missing = [name for name in HasHistory._CONTRACT if not callable(getattr(cls, name, None))]
        if missing:
            raise TypeError(f"{cls.__name__} mixes in HasHistory but does not define {', '.join(missing)} "
                            "(see kernelmem_widgets/labs/_history.py)")

    def _reboot_machine(self, cmdline: str | None = None) -> None:
        """``machine.reset()`` (``machine.reboot(cmdline)`` with a command line), and forget the vmalloc windows and module loaders of the old boot.

        ``Machine.reset()`` keeps every registered holder (a workload may go on after a reboot), so
        the old machine-wide vmalloc space and the lab's module loaders, which nobody can reach any
        more, would stay registered and a replayed machine would differ from the one it replays.
        """
        from ..model.vmalloc.module import ModuleLoader
        from ..model.vmalloc.vmalloc import VmallocSpace

        machine = self.machine
        before = [holder for holder in machine._holders if isinstance(holder, (VmallocSpace, ModuleLoader))]
        if cmdline is None:
            machine.reset()
        else:
            machine.reboot(cmdline)
        for holder in before:
            machine.remove_holder(holder)

    def _history_bus(self):
        """The event bus to batch a replay on (views redraw once), or None."""
        machine = getattr(self, "machine", None)
        return getattr(machine, "bus", None)

    # ------------------------------------------------------------------ set-up
    def _init_history(self, *, accepted: str) -> None:
        from ..views.history_controls import HistoryControls

        self.history = History()
        self.accepted_ops = accepted
        self.explanation = "full"
        self.status_full_text = getattr(self, "status_text", "")
        self.long_task = None            # the asyncio task of long work in progress, or None
        self._busy = ""
        self._cancel_requested = False
        self._replaying = False
        self._recorded = 0
        self._record_listeners: list[Callable[[str], None]] = []
        self._checkpoints: dict[int, tuple] = {}
        rng = getattr(self, "_rng", None)
        self._boot_rng_state = None if rng is None else rng.bit_generator.state
        self.history_controls = HistoryControls(self)

    def _history_started(self) -> None:
        """Call after the construction ``ops`` ran: they are the session's start (undo stops there)."""
        self.history.base = self.history.position
        self.history_controls.refresh()

    # ------------------------------------------------------------------ recording
    def _record(self, op: str) -> None:
        """THE one method every action calls once it changed something (see the module docstring)."""
        self._recorded += 1
        if self._replaying:
            return
        rng = getattr(self, "_rng", None)
        self._drop_checkpoints(after=self.history.position)
        self.history.append(HistoryEntry(op, None if rng is None else rng.bit_generator.state))
        if op.split()[0] in self._checkpoint_after:
            self._take_checkpoint()
        for listener in list(self._record_listeners):
            listener(op)
        if "history_controls" in self.__dict__:
            self.history_controls.refresh()

    def on_record(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(op)`` after every recorded action; returns the function that stops it."""
        self._record_listeners.append(listener)
        return lambda: listener in self._record_listeners and self._record_listeners.remove(listener)

    # ------------------------------------------------------------------ moving in the history
    def undo(self) -> bool:
        """Take back the newest operation on display (it is dropped from the history)."""
        history = self.history
        if self._refuse_busy("undo") or not self._can_go_back("undo"):
            return False
        op = history.entries[history.position - 1].op
        self._goto(history.position - 1)
        del history.entries[history.position:]
        self._drop_checkpoints(after=history.position)
        self._after_move(f"undid '{op}'")
        return True

    def step_back(self) -> bool:
        """Show the state one operation earlier; :meth:`step_forward` comes back."""
        if self._refuse_busy("step back") or not self._can_go_back("step back"):
            return False
        self._goto(self.history.position - 1)
        self._after_move("stepped back")
        return True

    def step_forward(self) -> bool:
        """Replay the next operation of the history."""
        history = self.history
        if self._refuse_busy("step forward"):
            return False
        if history.position >= len(history):
            self._say("step forward: you are at the newest operation; nothing to replay", error=True)
            return False
        self._goto(history.position + 1)
        self._after_move("stepped forward")
        return True

    def goto(self, position: int) -> bool:
        """Show the state after the first ``position`` operations (the scrubber calls this)."""
        history = self.history
        if self._refuse_busy("go to"):
            return False
        if isinstance(position, bool) or not isinstance(position, int) or not history.base <= position <= len(history):
            self._say(f"go to {position!r:.40}: accepted: a step {history.base}..{len(history)} of this history",
                      error=True)
            return False
        if position == history.position:
            self.history_controls.refresh()
            return True
        self._goto(position)
        self._after_move("moved")
        return True

    def _can_go_back(self, what: str) -> bool:
        if self.history.position <= self.history.base:
            self._say(f"{what}: nothing to take back" + (" (the lab's starting operations stay)"
                                                         if self.history.base else ""), error=True)
            return False
        return True

    def _goto(self, position: int) -> None:
        """Replay to ``position``: from boot going back, from the state on display going forward."""
        history = self.history
        start = history.position if position > history.position else 0
        if start == 0:
            start = max((at for at in self._checkpoints if at <= position), default=0)
        bus = self._history_bus()
        self._replaying = True
        try:
            if bus is None:
                self._replay(start, position)
            else:
                with bus.batch("history"):
                    if start and start != history.position:
                        self._restore_checkpoint(start)
                    self._replay(start, position)
        finally:
            self._replaying = False
        history.position = position
        entry = history.entries[position - 1] if position else None
        state = self._boot_rng_state if entry is None else entry.rng_state
        if state is not None:
            self._rng.bit_generator.state = state

    # ------------------------------------------------------------------ checkpoints (opt-in)
    def _take_checkpoint(self) -> None:
        """Save the machine and the lab's ``_checkpoint_attrs`` at the position on display."""
        if not self._checkpoint_attrs or not self._can_checkpoint():
            return
        self._checkpoints[self.history.position] = copy.deepcopy(self._checkpoint_state(), self._live_memo())

    def _restore_checkpoint(self, position: int) -> None:
        machine = self.machine
        state, attrs = copy.deepcopy(self._checkpoints[position], self._live_memo())
        self._before_restore()
        machine.__dict__.clear()
        machine.__dict__.update(state)
        for name, value in attrs.items():
            setattr(self, name, value)
        self._after_restore()
        machine.bus.emit("history_checkpoint", position=position)   # every view redraws at the batch's end

    def _checkpoint_state(self) -> tuple:
        return self.machine.__dict__, {name: getattr(self, name) for name in self._checkpoint_attrs}

    def _live_memo(self) -> dict:
        """What a checkpoint shares with the live lab instead of copying: the machine, its bus and trace."""
        machine = self.machine
        return {id(machine): machine, id(machine.bus): machine.bus, id(machine._trace): machine._trace, id(self): self}

    def _drop_checkpoints(self, *, after: int) -> None:
        for at in [at for at in self._checkpoints if at > after]:
            del self._checkpoints[at]

    def _can_checkpoint(self) -> bool:
        return True

    def _before_restore(self) -> None:
        """A lab's objects subscribed to the bus stop following it (their restored copies take over)."""

    def _after_restore(self) -> None:
        """Subscribe the restored copies of what followed the bus."""

    def _replay(self, start: int, position: int) -> None:
        if start == 0:
            self._reboot_lab()
        for index in range(start, position):
            op = self.history.entries[index].op
            if not self._played(op):
                raise KernelMemError(f"replay of step {index + 1} ('{op}') did not do what it did the first time: "
                                     f"{self.status_text}")

    def _played(self, op: str) -> bool:
        """Play ``op``; true when the lab recorded it (the model did it)."""
        before = self._recorded
        try:
            self._play(op)
        except (KernelMemError, ValueError) as error:
            self._say(f"{op}: {error}", error=True)
            return False
        return self._recorded > before

    def _after_move(self, what: str) -> None:
        history = self.history
        where = "boot" if history.position == 0 else f"'{history.entries[history.position - 1].op}'"
        self._say(f"{what}: step {history.position} of {len(history)}, after {where}; {self.status_text}"
                  if history.position else f"{what}: step 0 of {len(history)}, the machine as booted")
        self.history_controls.refresh()

    # ------------------------------------------------------------------ export and load
    def export_ops(self) -> str:
        """The session up to the step on display, one operation a line (what :meth:`load_ops` reads)."""
        return "\n".join(self.history.done)

    def load_ops(self, text) -> bool:
        """Replace the session by ``text`` (one operation a line) and play it from boot.

        A line that cannot be read, or an operation the model refuses, leaves the lab exactly as it
        was; the status names the line and what is accepted.
        """
        if self._refuse_busy("load"):
            return False
        try:
            lines = split_session(text)
            for number, op in lines:
                try:
                    self._check_op(op)
                except InvalidOperation as error:
                    raise InvalidOperation(f"line {number} ('{op[:60]}'): {error}") from None
        except InvalidOperation as error:
            accepted = "" if self.accepted_ops in str(error) else f"; accepted: {self.accepted_ops}"
            self._say(f"not loaded, the lab is unchanged: {error}{accepted}", error=True)
            return False
        history = self.history
        old_entries, old_position, old_base = list(history.entries), history.position, history.base
        bus = self._history_bus()
        failed = None
        try:
            with (bus.batch("load") if bus is not None else _nothing()):
                self._reboot_lab()
                old_checkpoints, self._checkpoints = self._checkpoints, {}
                history.entries, history.position, history.base = [], 0, 0
                for number, op in lines:
                    if not self._played(op):
                        failed = f"line {number} ('{op[:60]}') was refused: {self.status_text}"
                        break
                if failed:
                    history.entries, history.position = old_entries, 0
                    self._checkpoints = old_checkpoints
                    self._replaying = True
                    try:
                        self._replay(0, old_position)
                    finally:
                        self._replaying = False
                    history.position, history.base = old_position, old_base
                    state = old_entries[old_position - 1].rng_state if old_position else self._boot_rng_state
                    if state is not None:
                        self._rng.bit_generator.state = state
        finally:
            self.history_controls.refresh()
        if failed:
            self._say(f"not loaded, the lab is as it was: {failed}", error=True)
            return False
        self._say(f"loaded {len(lines)} operations: step {history.position} of {len(history)}; {self.status_text}")
        self.history_controls.refresh()
        return True

    # ------------------------------------------------------------------ explanation level
    def set_explanation(self, level: str) -> None:
        """``"brief"`` (the status line in one clause) or ``"full"`` (with the kernel's reasons)."""
        if level not in EXPLANATION_LEVELS:
            self._say(f"explanation {level!r:.40}: accepted: {', '.join(EXPLANATION_LEVELS)}", error=True)
            return
        self.explanation = level
        trace = getattr(self, "trace_view", None)
        if trace is not None:
            trace.layout.display = "none" if level == "brief" else None
        controls = self.__dict__.get("history_controls")
        if controls is not None and controls.explanation.value != level:
            controls.explanation.value = level
        self._say(self.status_full_text, error=getattr(self, "_status_error", False),
                  brief=getattr(self, "_status_brief", None))

    def _say(self, text: str, *, error: bool = False, brief: str | None = None) -> None:
        """The status line at the lab's explanation level; ``brief`` overrides the first-clause cut."""
        self.status_full_text, self._status_brief, self._status_error = text, brief, error
        if getattr(self, "explanation", "full") == "brief" and not error:
            text = brief if brief is not None else brief_text(text)
        super()._say(text, error=error)

    # ------------------------------------------------------------------ long work, cancellable
    def _refuse_busy(self, what: str) -> bool:
        if self._busy:
            self._say(f"{what}: wait, {self._busy} is running (press stop to cancel it)", error=True)
            return True
        return False

    def _on_click(self, method):
        clicked = super()._on_click(method)

        def guarded(button) -> None:
            if not self._refuse_busy(getattr(button, "description", "that")):
                clicked(button)
        return guarded

    def stop(self) -> None:
        """Ask the long work in progress to stop after its current chunk (the Stop button)."""
        if self._busy:
            self._cancel_requested = True

    def _run_long(self, name: str, chunks: Iterable[int], work: Callable[[int], None],
                  finish: Callable[[bool], None]) -> Awaitable | None:
        """Run ``work(n)`` for each ``n`` of ``chunks``, yielding to the kernel's event loop between them,
        so that the Stop button (and the progress bar) work in every front end; then ``finish(cancelled)``.

        Outside a running event loop (code in a cell, a test) it runs at once.  Returns the task.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._busy, self._cancel_requested = name, False
        self.history_controls.busy(True)

        def done(cancelled: bool) -> None:
            self._busy = ""
            self.history_controls.busy(False)
            finish(cancelled)

        if loop is None:
            try:
                for count in chunks:
                    work(count)
            except Exception:
                done(True)
                raise
            done(False)
            return None

        async def run() -> None:
            cancelled = False
            try:
                for count in chunks:
                    if self._cancel_requested:
                        cancelled = True
                        break
                    work(count)
                    await asyncio.sleep(0.005)   # let the kernel read the next message (a Stop click)
            except Exception as error:  # noqa: BLE001 - said on the status line, never a traceback
                done(True)
                self._say(f"{name} stopped by an internal error ({type(error).__name__}: {error}); please report it",
                          error=True)
                return
            done(cancelled)

        self.long_task = loop.create_task(run())
        return self.long_task


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
