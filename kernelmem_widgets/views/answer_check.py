"""An answer box for an exercise: a text box, a *Check* button, and feedback in words.

The check function lives in the package (``kernelmem_widgets.exercises``), so the answer is never
on the page; the box only shows what the check says about the typed answer.
"""

from __future__ import annotations

from typing import Callable

import ipywidgets as widgets

from .controls import action_button, plain_html

__all__ = ["AnswerCheck"]


class AnswerCheck(widgets.VBox):
    """``AnswerCheck(question, check)``: ``check(text) -> (right, feedback)``.

    Attributes
    ----------
    answer : ipywidgets.Text
    check_button : ipywidgets.Button
    feedback : ipywidgets.HTML
    right : bool or None
        The last verdict (None before the first check).
    """

    def __init__(self, question: str, check: Callable[[str], tuple[bool, str]], *, placeholder: str = "") -> None:
        self.check = check
        self.right: bool | None = None
        self.question = widgets.HTML(f"<pre style='white-space:pre-wrap;margin:0'>{plain_html(question)}</pre>")
        self.answer = widgets.Text(placeholder=placeholder, layout=widgets.Layout(width="520px"))
        self.check_button = action_button("Check", "check your answer", "check")
        self.feedback = widgets.HTML()
        self.check_button.on_click(lambda _button: self.submit())
        self.answer.on_submit(lambda _text: self.submit())
        super().__init__(children=[self.question, widgets.HBox([self.answer, self.check_button]), self.feedback])

    def submit(self, text: str | None = None) -> bool:
        """Check ``text`` (default: what is typed in the box) and show the feedback."""
        if text is not None:
            self.answer.value = text
        if not self.answer.value.strip():
            self.right, message = False, "type an answer first"
        else:
            self.right, message = self.check(self.answer.value)
        mark = "\N{HEAVY CHECK MARK} " if self.right else "\N{HEAVY BALLOT X} "
        color = "#009E73" if self.right else "#B24700"
        self.feedback.value = f"<span style='color:{color}'>{mark}{plain_html(message)}</span>"
        return self.right
