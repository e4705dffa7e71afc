"""Chapter 06 (mem=, memmap= and ioremap): structure, size and the reader's path through the exercises.

nbval executes the notebook and compares the ``# NBVAL_CHECK_OUTPUT`` cells; these tests add
what it cannot see: no saved widget state, exercises that start unanswered and accept the
model's answers only, live cells tagged and stored empty, no private attribute of the kit.
"""

from __future__ import annotations

import re

from notebook_support import CHECK, assert_stored_clean, code_cells, not_live, read_notebook, run_in_process

NAME = "06_mem_and_ioremap.ipynb"
SECTIONS = ["## The quick answer", "## Explore", "## Step by step", "### What the kernel does", "## Exercises",
            "## On your machine", "## Further reading"]


def test_small_valid_no_widget_state_no_errors():
    assert_stored_clean(NAME)


def test_outline_question_first():
    nb = read_notebook(NAME)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert nb.cells[0].source.startswith("# Chapter 6") and "ioremap(0x40000000, 0x40000000)" in nb.cells[0].source
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)


def test_checked_cells_have_output_and_live_cells_none():
    for cell in code_cells(read_notebook(NAME)):
        if cell.source.startswith(CHECK):
            assert cell.outputs, cell.source[:60]
        if "live" in cell.metadata.get("tags", []):
            assert not cell.outputs and not cell.source.startswith(CHECK)


def test_no_private_attributes_and_no_answers_on_the_page():
    for cell in code_cells(read_notebook(NAME)):
        assert not re.search(r"\.\_[a-z]", cell.source), cell.source[:80]
    answers = [cell.source for cell in code_cells(read_notebook(NAME)) if cell.source.startswith("answer_")]
    assert len(answers) == 4 and all(re.match(r"answer_\d = None\b", source) for source in answers)
    assert all(f"answer_box({n})" in source for n, source in enumerate(answers, 1))


def test_unanswered_then_right_then_wrong():
    _ns, out = run_in_process(NAME, only=not_live)
    assert out.count("not answered yet") == 4
    right = {"answer_1 = None": "answer_1 = [(0x0, 0x9fbff), (0x100000, 0x2fffffff), (0x34000000, 0x3fffffff)]",
             "answer_2 = None": "answer_2 = 0x140000",
             "answer_3 = None": 'answer_3 = ["16M", "64M", "100M", "119M"]',
             "answer_4 = None": "answer_4 = [False, True, False, True]"}
    _ns, out = run_in_process(NAME, replace=right, only=lambda i, c: not_live(i, c) and "answer_" in c.source
                              or i == 0 or "exercises.ch06" in c.source)
    assert out.count("right") == 4, out
    wrong = {"answer_2 = None": "answer_2 = 0x1c0000"}
    _ns, out = run_in_process(NAME, replace=wrong, only=lambda i, c: "answer_2" in c.source or i == 0
                              or "exercises.ch06" in c.source)
    assert "Exercise 2: not quite" in out


def test_reveal_shows_the_answer_and_the_box_the_question():
    namespace, _out = run_in_process(NAME, only=lambda i, c: i == 0 or "exercises.ch06" in c.source)
    box = namespace["answer_box"](2)
    box.reveal_button.click()
    assert "last_pfn = 0x140000" in box.feedback_text
    assert "mem=5G" in box.question.value and "6 GiB" in box.question.value
    box.text.value = "0x140000"
    assert box.feedback_text == "Exercise 2: right \N{HEAVY CHECK MARK}"
