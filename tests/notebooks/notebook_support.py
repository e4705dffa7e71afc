"""Helpers shared by the chapter tests: read a notebook, run its code in-process, press Reveal."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHECK = "# NBVAL_CHECK_OUTPUT"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def read_notebook(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def assert_stored_clean(name: str) -> None:
    """The stored chapter is small, valid, and holds no widget state, widget views or errors."""
    assert (NOTEBOOKS / name).stat().st_size < 100_000
    nb = read_notebook(name)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {})
            assert output.get("output_type") != "error"


def run_in_process(name: str, replace=None, only=None):
    """Execute a notebook's code cells in one namespace (no kernel); return (namespace, stdout).

    ``replace`` maps source text to substitute (a reader typing an answer); ``only(index, cell)``
    picks the cells to run (default: every cell not tagged ``live``, whose output is the
    author's machine).
    """
    replace = replace or {}
    namespace = {"__name__": "__notebook__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for index, cell in enumerate(code_cells(read_notebook(name))):
            if only is not None and not only(index, cell):
                continue
            source = cell.source
            for old, new in replace.items():
                source = source.replace(old, new)
            exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace, out.getvalue()


def not_live(_index, cell) -> bool:
    return "live" not in cell.metadata.get("tags", [])


def assert_reveal_shows_answers(namespace, exercises) -> None:
    """Each exercise's answer box: Reveal prints an answer, not 'not answered'."""
    for n in exercises:
        box = namespace["answer_box"](n)
        assert box.reveal_button.description == "Reveal" and box.check_button.description == "Check"
        box.reveal_button.click()
        shown = box.feedback_text
        assert shown.strip() and "not answered" not in shown, f"exercise {n}: Reveal showed {shown!r}"
