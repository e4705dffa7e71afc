"""The answer box every chapter's exercises share (00-03, 06, 07): the question, a text field, *Check*, *Reveal*.

The answer comes from the widget, not from a variable in a code cell, so an exercise can be
answered where code is hidden (Voilà) as well as in JupyterLab and Notebook 7.  The text is read
the way a person writes it (:func:`~kernelmem_widgets.exercises.answers.parse_answer`, the kit's one
parser module): ``32K``, ``0x0 0x4 0x2``, ``[0x10, 0x20]``, ``(0x4, 2)``, ``0.916`` or ``916/1000``,
cache names, words.  *Check* hands the parsed value to the chapter's ``check_N`` (the same function
the code form ``check_N(answer)`` calls, kept in the package with its solution) and shows what it
says; *Reveal* shows the model's answer and why.

A question given as a function is drawn by code with the current student's numbers
(:mod:`kernelmem_widgets.exercises.student`) and re-drawn when :func:`student_box` sets the id.
"""

from __future__ import annotations

import contextlib
import html
import io
from typing import Callable

import ipywidgets as widgets

from ..exercises import student as _student
from ..exercises.answers import parse_answer, read_number
from ..model.errors import KernelMemError

__all__ = ["AnswerBox", "student_box", "parse_answer", "parse_number"]

#: The free-form number reader under the name this module always exported.
parse_number = read_number

class AnswerBox(widgets.VBox):
    """The question, a text field with *Check* and *Reveal*, bound to a chapter's check.

    Parameters
    ----------
    check : callable
        ``check(answer, *, reveal=False)`` printing its verdict (the code form ``check_N``), or
        ``check(text)`` returning ``(right, message)``, a message, or a :class:`~.answers.Feedback`.
    placeholder : str
        An example of the form the answer takes.
    parse : callable, optional
        Text to the value ``check`` takes (default :func:`parse_answer`; ``str`` keeps the text).
    number : int, optional
        The exercise number (CSS class ``kmw-exercise-N`` for browser tests).
    question : str or callable, optional
        The question, or a function drawing it with the current student's numbers.
    reveal : callable, optional
        Returns (or prints) the model's answer; default ``check(None, reveal=True)``.

    Attributes
    ----------
    text : ipywidgets.Text
    check_button, reveal_button : ipywidgets.Button
    question : ipywidgets.HTML
        The question as drawn for the current student (empty without one).
    feedback : ipywidgets.HTML
        What the last Check or Reveal said (``feedback_text`` is the plain text, ``right`` the verdict).
    """

    def __init__(self, check: Callable, *, placeholder: str = "", parse: Callable[[str], object] = parse_answer,
                 number: int | None = None, question: str | Callable[[], str] | None = None,
                 reveal: Callable[[], object] | None = None) -> None:
        self._check, self._parse, self._question, self._reveal = check, parse, question, reveal
        self.feedback_text, self.right = "", None
        self.question = widgets.HTML()
        self.question.add_class("kmw-question")
        self.text = widgets.Text(placeholder=placeholder, description="answer",
                                 layout=widgets.Layout(width="420px"), style={"description_width": "55px"},
                                 continuous_update=False)
        self.check_button = widgets.Button(description="Check", icon="check", button_style="primary",
                                           tooltip="check the answer in the box")
        self.reveal_button = widgets.Button(description="Reveal", icon="eye", tooltip="show the model's answer")
        self.check_button.add_class("kmw-check")
        self.reveal_button.add_class("kmw-reveal")
        self.feedback = widgets.HTML()
        self.check_button.on_click(lambda _button: self.check())
        self.reveal_button.on_click(lambda _button: self.reveal())
        self.text.observe(lambda _change: self.check(), names="value")   # Enter or leaving the field
        children = [widgets.HBox([self.text, self.check_button, self.reveal_button]), self.feedback]
        super().__init__(children=([self.question] if question is not None else []) + children)
        self.add_class("kmw-answer-box")
        if number is not None:
            self.add_class(f"kmw-exercise-{number}")
        self._draw_question()
        _student.on_change(self._student_changed)

    @classmethod
    def for_exercise(cls, exercise, *, number: int | None = None, placeholder: str = "") -> "AnswerBox":
        """The box of a conceptual :class:`~kernelmem_widgets.exercises.answers.Exercise`: its question, its check
        on the text as typed (``67,584`` stays one number), Reveal gives :meth:`~.Exercise.solution`."""
        return cls(exercise.check, parse=str, number=number, placeholder=placeholder, question=exercise.question,
                   reveal=exercise.solution)

    def _draw_question(self) -> None:
        if self._question is None:
            return
        try:
            text = self._question() if callable(self._question) else self._question
        except Exception as error:  # noqa: BLE001 - a bug in the kit: say so in the box
            text = f"internal error drawing the question ({type(error).__name__}: {error}); please report it"
        if not text:                    # chapters 00-02 with the book's numbers: the prose asks the question
            self.question.value = ""
            return
        variant = f"<div style='color:#555;font-size:11.5px'>{html.escape(_student.variant_line())}</div>" \
            if callable(self._question) else ""
        self.question.value = (f"{variant}<pre style='white-space:pre-wrap;margin:2px 0;font-size:12.5px'>"
                               f"{html.escape(text)}</pre>")

    def _student_changed(self) -> None:
        self._draw_question()
        self.feedback_text, self.right, self.feedback.value = "", None, ""

    def check(self, text: str | None = None) -> str:
        """Check ``text`` (default: what is in the box); returns and shows the verdict."""
        text = self.text.value if text is None else text
        if not str(text).strip():
            self.right = None
            return self._show("cannot read that answer: the answer is empty")
        try:
            answer = self._parse(text)
        except ValueError as error:
            self.right = False
            return self._show(f"cannot read that answer: {error}")
        return self._show(self._run(lambda: self._check(answer)))

    def reveal(self) -> str:
        """Show the model's answer and why."""
        return self._show(self._run(self._reveal if self._reveal is not None
                                    else lambda: self._check(None, reveal=True), verdict=False))

    def _run(self, call, *, verdict: bool = True) -> str:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                result = call()
        except KernelMemError as error:
            return f"cannot check that answer: {error}"
        except Exception as error:  # noqa: BLE001 - a bug in the kit: say so in the box, not in a log
            return f"internal error in kernelmem-widgets ({type(error).__name__}: {error}); please report it"
        printed = out.getvalue().rstrip()
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
            right, message = result
        elif hasattr(result, "correct") and hasattr(result, "message"):
            right, message = result.correct, result.message
        else:
            right, message = None, "" if result is None else str(result)
        if verdict:
            self.right = right if right is not None else (": right" in printed and "not quite" not in printed)
        return "\n".join(part for part in (printed, message) if part)

    def _show(self, text: str) -> str:
        self.feedback_text = text
        self.feedback.value = f"<pre style='white-space:pre-wrap;margin:2px 0;font-size:12.5px'>{html.escape(text)}</pre>"
        return text


def student_box() -> widgets.VBox:
    """Where a student types their id once per kernel; every answer box then shows that student's numbers.

    Under JupyterHub the id is already known (``$JUPYTERHUB_USER``) and shown.  An empty id goes
    back to the book's numbers.
    """
    field = widgets.Text(value=_student.student() or "", placeholder="your student id (login)", description="student",
                         layout=widgets.Layout(width="320px"), style={"description_width": "55px"},
                         continuous_update=False)
    button = widgets.Button(description="Use this id", icon="user", tooltip="draw every exercise for this id")
    button.add_class("kmw-student-use")
    line = widgets.HTML()
    line.add_class("kmw-student-line")

    def show() -> None:
        line.value = f"<span style='font-size:12.5px'>{html.escape(_student.variant_line())}</span>"

    def use(_button=None) -> None:
        try:
            _student.set_student(field.value)
        except KernelMemError as error:
            line.value = f"<span style='color:#B24700;font-size:12.5px'>{html.escape(str(error))}</span>"
            return
        show()

    button.on_click(use)
    field.observe(lambda _change: use(), names="value")      # Enter or leaving the field
    show()
    box = widgets.VBox([widgets.HBox([field, button]), line])
    box.add_class("kmw-student-box")
    box.use = use
    box.field = field
    return box
