"""The answer box every chapter's exercises share: a text field, *Check* and *Reveal*.

The answer comes from the widget, not from a variable in a code cell, so an exercise can be
answered where code is hidden (Voilà) as well as in JupyterLab and Notebook 7.  The text is read
the way a person writes it (:func:`parse_answer`): ``32K``, ``0x0 0x4 0x2``, ``[0x10, 0x20]``,
``(0x4, 2)``, ``0.916`` or ``916/1000``, cache names.  *Check* hands the parsed value to the
chapter's ``check_N`` (the same function the code form ``check_N(answer)`` calls, kept in the
package with its solution) and shows what it says; *Reveal* shows the model's answer and why.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
from fractions import Fraction
from typing import Callable

import ipywidgets as widgets

from ..model.errors import KernelMemError
from ..model.units import memparse

__all__ = ["AnswerBox", "parse_answer", "parse_number"]

_NUMBER = re.compile(r"[-+]?(0x[0-9a-f]+|\d+(\.\d*)?|\.\d+)(/\d+)?([kmgtpe](i?b)?)?", re.I)


def parse_number(word: str):
    """One number as a person types it: ``12``, ``0x1f``, ``32K`` (bytes), ``0.916``, ``916/1000``.

    >>> [parse_number(w) for w in ("12", "0x1f", "32K", "0.916", "916/1000", "4 MiB")]
    [12, 31, 32768, 0.916, 0.916, 4194304]
    """
    text = word.strip().replace("_", "").replace(",", "") if re.fullmatch(r"[\d,_]+", word.strip()) else word.strip()
    if "/" in text:
        top, bottom = text.split("/", 1)
        return float(Fraction(int(top), int(bottom)))
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)", text):
        return float(text)
    if re.fullmatch(r"[-+]?(0x[0-9a-fA-F]+|\d+)", text):
        return int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 10)
    try:
        return memparse(text)
    except KernelMemError as error:
        raise ValueError(f"{word!r} is not a number, a size (32K) or a fraction (916/1000)") from error


def parse_answer(text: str):
    """What a person typed, as Python values: one number or name, or a list of them.

    Brackets, commas and ``x`` between numbers are optional; names stay strings.

    >>> parse_answer("32K"), parse_answer("0x0 0x4 0x2"), parse_answer("(0x4, 2)")
    (32768, [0, 4, 2], [4, 2])
    >>> parse_answer('["kmalloc-32", kmalloc-64]'), parse_answer("916/1000")
    (['kmalloc-32', 'kmalloc-64'], 0.916)
    """
    text = text.strip()
    if not text:
        raise ValueError("the answer is empty")
    if re.search(r"\d\s+[KMGTPE]i?B?\b", text, re.I) and len(re.findall(r"\d+", text)) == 1:
        return parse_number(text)                     # "4 MiB": one size with a space in it
    inner = text[1:-1] if text[:1] in "[(" and text[-1:] in "])" else text
    words = [w.strip().strip("'\"") for w in re.split(r"[,\s;]+", inner) if w.strip().strip("'\"")]
    values = [parse_number(w) if _NUMBER.fullmatch(w) else w for w in words]
    return values[0] if len(values) == 1 and inner == text else values


class AnswerBox(widgets.VBox):
    """A text field with *Check* and *Reveal*, bound to a chapter's ``check(answer=None, *, reveal=False)``.

    Parameters
    ----------
    check : callable
        Prints its verdict (and, with ``reveal=True``, the answer); the same function as the code form.
    placeholder : str
        An example of the form the answer takes.
    parse : callable, optional
        Text to the value ``check`` takes (default :func:`parse_answer`).

    Attributes
    ----------
    text : ipywidgets.Text
    check_button, reveal_button : ipywidgets.Button
    feedback : ipywidgets.HTML
        What the last Check or Reveal said (``feedback_text`` is the plain text).
    """

    def __init__(self, check: Callable, *, placeholder: str = "", parse: Callable[[str], object] = parse_answer,
                 number: int | None = None) -> None:
        self._check, self._parse = check, parse
        self.feedback_text = ""
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
        super().__init__(children=[widgets.HBox([self.text, self.check_button, self.reveal_button]), self.feedback])
        self.add_class("kmw-answer-box")
        if number is not None:
            self.add_class(f"kmw-exercise-{number}")

    def check(self, text: str | None = None) -> str:
        """Check ``text`` (default: what is in the box); returns and shows the verdict."""
        text = self.text.value if text is None else text
        try:
            answer = self._parse(text)
        except ValueError as error:
            return self._show(f"cannot read that answer: {error}")
        return self._show(self._run(answer))

    def reveal(self) -> str:
        """Show the model's answer and why."""
        return self._show(self._run(None, reveal=True))

    def _run(self, answer, **options) -> str:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                self._check(answer, **options)
        except Exception as error:  # noqa: BLE001 - a bug in the kit: say so in the box, not in a log
            return f"internal error in kernelmem-widgets ({type(error).__name__}: {error}); please report it"
        return out.getvalue().rstrip()

    def _show(self, text: str) -> str:
        self.feedback_text = text
        self.feedback.value = f"<pre style='white-space:pre-wrap;margin:2px 0;font-size:12.5px'>{html.escape(text)}</pre>"
        return text
