"""The history bar every lab shows: undo, step back, step forward, a scrubber, export and load, the
explanation level, and Stop for long work.

The bar holds no state of its own: it reads the lab's ``history`` and forwards every click to the
lab's public methods (``undo()``, ``step_back()``, ``step_forward()``, ``goto()``, ``export_ops()``,
``load_ops()``, ``set_explanation()``, ``stop()``), see :mod:`kernelmem_widgets.labs._history`.
"""

from __future__ import annotations

import ipywidgets as widgets

from .controls import action_button, plain_html

__all__ = ["HistoryControls"]


class HistoryControls(widgets.VBox):
    """Buttons (``kmw-undo``, ``kmw-step-back``, ``kmw-step-forward``, ``kmw-stop``, ``kmw-export``,
    ``kmw-load``), the scrubber (``kmw-scrubber``), the caption (``kmw-history-caption``), the
    explanation toggle (``kmw-explanation``), the session text areas (``kmw-export-text``,
    ``kmw-load-text``) and a progress bar (``kmw-work-progress``)."""

    def __init__(self, lab) -> None:
        self._lab = lab
        self._quiet = False
        self.undo_button = action_button("undo", "take back your last operation", "undo")
        self.back_button = action_button("step back", "show the state one operation earlier (replayed from boot)",
                                         "step-backward")
        self.forward_button = action_button("step forward", "replay the next operation", "step-forward")
        self.scrubber = widgets.IntSlider(value=0, min=0, max=0, description="history", continuous_update=False,
                                          readout=True, layout=widgets.Layout(width="300px"),
                                          style={"description_width": "50px"})
        self.scrubber.add_class("kmw-scrubber")
        self.caption = widgets.HTML()
        self.caption.add_class("kmw-history-caption")
        self.explanation = widgets.ToggleButtons(options=["brief", "full"], value="full",
                                                 tooltips=["the status line in one clause",
                                                           "the status line with the kernel's reasons, and the trace"],
                                                 style={"button_width": "52px"})
        self.explanation.add_class("kmw-explanation")
        self.stop_button = action_button("stop", "stop the long work in progress after its current chunk", "stop",
                                         "danger")
        self.stop_button.disabled = True
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="160px"))
        self.progress.add_class("kmw-work-progress")
        self.export_button = action_button("export", "the session as a list of operations you can copy", "download")
        self.export_text = widgets.Textarea(value="", placeholder="press export", disabled=False,
                                            layout=widgets.Layout(width="360px", height="110px"))
        self.export_text.add_class("kmw-export-text")
        self.load_text = widgets.Textarea(value="", placeholder="paste operations, one a line, then press load",
                                          layout=widgets.Layout(width="360px", height="110px"))
        self.load_text.add_class("kmw-load-text")
        self.load_button = action_button("load", "replace the session by these operations, played from boot", "upload")
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        session = widgets.HBox([widgets.VBox([self.export_button, self.export_text]),
                                widgets.VBox([self.load_button, self.load_text])], layout=wrap)
        self.session = widgets.Accordion(children=[session], titles=("session: export / load",),
                                         selected_index=None)
        super().__init__(children=[
            widgets.HBox([self.undo_button, self.back_button, self.forward_button, self.scrubber, self.caption],
                         layout=wrap),
            widgets.HBox([widgets.HTML("explanation"), self.explanation, self.stop_button, self.progress],
                         layout=wrap),
            self.session])
        self.add_class("kmw-history")
        click = lab._on_click
        self.undo_button.on_click(click(lab.undo))
        self.back_button.on_click(click(lab.step_back))
        self.forward_button.on_click(click(lab.step_forward))
        self.export_button.on_click(click(self.show_export))
        self.load_button.on_click(click(lambda: lab.load_ops(self.load_text.value)))
        self.stop_button.on_click(lambda _button: lab.stop())
        self.scrubber.observe(self._scrubbed, names="value")
        self.explanation.observe(lambda change: lab.explanation != change["new"] and lab.set_explanation(change["new"]),
                                 names="value")

    def show_export(self) -> str:
        """Put the session's operations in the export box (select and copy them from there)."""
        text = self._lab.export_ops()
        self.export_text.value = text
        self._lab._say(f"exported {len(self._lab.history.done)} operations: copy them from the box, "
                       "give them to load to replay the session")
        return text

    def _scrubbed(self, change) -> None:
        if self._quiet:
            return
        lab = self._lab
        if lab._busy:
            lab._refuse_busy("the history scrubber")
            self.refresh()
            return
        try:
            lab.goto(int(change["new"]))
        except Exception as error:  # noqa: BLE001 - a bug in the kit: on the status line, never a traceback
            lab._say(f"internal error in kernelmem-widgets ({type(error).__name__}: {error}); please report it",
                     error=True)
        self.refresh()

    def refresh(self) -> None:
        """Draw the history as the lab holds it now."""
        history = self._lab.history
        self._quiet = True
        try:
            with self.hold_sync():
                self.scrubber.min = 0
                self.scrubber.max = max(len(history), history.base)
                self.scrubber.min = history.base
                self.scrubber.value = history.position
        finally:
            self._quiet = False
        busy = bool(self._lab._busy)
        self.undo_button.disabled = busy or history.position <= history.base
        self.back_button.disabled = busy or history.position <= history.base
        self.forward_button.disabled = busy or history.position >= len(history)
        self.scrubber.disabled = busy
        self.caption.value = plain_html(self.caption_text())

    def caption_text(self) -> str:
        """``step 2 of 3: free 0x0 3`` (the operation that made the state on display)."""
        history = self._lab.history
        if history.position == 0:
            return f"step 0 of {len(history)}: boot"
        return f"step {history.position} of {len(history)}: {history.entries[history.position - 1].op}"

    def busy(self, running: bool) -> None:
        """Long work started (True) or ended: Stop is live only while it runs."""
        self.stop_button.disabled = not running
        if running:
            self.progress.value = 0
        self.refresh()

    def show_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = max(int(total), 1), int(done)
