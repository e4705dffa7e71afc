"""Chapter 03 (why contiguous): structure and the reader's path through the exercises.

nbval executes the notebook and compares the cells marked ``# NBVAL_CHECK_OUTPUT``; these tests
add what nbval cannot see: no saved widget state, unanswered exercises with checks and Reveal
buttons, live cells tagged and stored empty, no private attribute of the kit, and answers
accepted or refused as they should be.
"""

from __future__ import annotations

import re
from pathlib import Path

from notebook_support import assert_reveal_shows_answers, code_cells, not_live, read_notebook, run_in_process

NAME = "03_why_contiguous.ipynb"
PATH = Path(__file__).resolve().parents[2] / "notebooks" / NAME
EXERCISES = [1, 2, 3, 4]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_small_and_without_widget_state():
    nb = read_notebook(NAME)
    assert PATH.stat().st_size < 80_000
    assert "widgets" not in nb.metadata
    for cell in code_cells(nb):
        assert all(WIDGET_VIEW not in out.get("data", {}) for out in cell.outputs)


def test_exercises_start_unanswered_and_live_cells_are_empty():
    nb = read_notebook(NAME)
    sources = [cell.source for cell in code_cells(nb)]
    for n in EXERCISES:
        assert any(f"answer_{n} = None" in s and f"check_{n}(answer_{n})" in s and f"answer_box({n})" in s
                   for s in sources), n
    live = [cell for cell in code_cells(nb) if "live" in cell.metadata.get("tags", [])]
    assert live and all(not cell.outputs and "# NBVAL_CHECK_OUTPUT" not in cell.source for cell in live)
    for source in sources:
        assert not re.search(r"\.\_[a-z]", source), "the notebook reaches into a private attribute"


def test_right_answers_pass_wrong_ones_do_not_and_reveal_shows_the_answer():
    namespace, out = run_in_process(NAME, only=not_live)
    for n in EXERCISES:
        assert f"Exercise {n}: not answered yet" in out
    answers = {f"answer_{n} = None": f"answer_{n} = solution_{n}()" for n in EXERCISES}
    answers["from kernelmem_widgets.exercises.ch03 import answer_box"] = (
        "from kernelmem_widgets.exercises.ch03 import solution_1, solution_2, solution_3, solution_4, answer_box")
    _, out = run_in_process(NAME, replace=answers, only=not_live)
    assert all(f"Exercise {n}: right" in out for n in EXERCISES)
    _, out = run_in_process(NAME, replace={"answer_1 = None": "answer_1 = (25600, 50, 2)"}, only=not_live)
    assert "Exercise 1: not quite" in out
    assert_reveal_shows_answers(namespace, EXERCISES)
    box = namespace["answer_box"](1)                  # the question is drawn by code, with the book's numbers
    assert "100 MiB buffer" in box.question.value and "no student id" in box.question.value
