"""What every lab does with a click: run the model call, and say in words what happened."""

from __future__ import annotations

from typing import Callable

import ipywidgets as widgets

from ..views.controls import set_status


class SaysWhatHappened:
    """Mixin for a lab with a ``status`` line: clicks never raise, they report."""

    status: widgets.HTML
    status_text: str

    def _on_click(self, method: Callable[[], object]) -> Callable[[widgets.Button], None]:
        def clicked(_button: widgets.Button) -> None:
            try:
                method()
            except Exception as error:  # noqa: BLE001 - a bug in the kit: say so on the status line, not in a log
                self._say(f"internal error in kernelmem-widgets ({type(error).__name__}: {error}); "
                          "please report it", error=True)
        return clicked

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status_text = text
        set_status(self.status, text, error=error)
