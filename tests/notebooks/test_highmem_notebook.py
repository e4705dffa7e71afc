"""Chapter 04 (ZONE_HIGHMEM and kmap): structure, answers off the page, the reader's path.

nbval executes the notebook and compares the ``# NBVAL_CHECK_OUTPUT`` cells; these tests add
what it cannot see: no saved widget state, unanswered exercises that accept the model's answers,
live cells tagged and stored empty, no private attribute of the kit.
"""

from __future__ import annotations

import re

from notebook_support import CHECK, assert_stored_clean, code_cells, not_live, read_notebook, run_in_process

from kernelmem_widgets.exercises import ch04

NAME = "04_highmem_kmap.ipynb"
SECTIONS = ["## The quick answer", "## Explore", "## Step by step", "### What the kernel does", "## Exercises",
            "## On your machine", "## Further reading"]


def test_small_valid_no_widget_state_no_errors():
    assert_stored_clean(NAME)


def test_outline_question_first_and_versions_named():
    nb = read_notebook(NAME)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert nb.cells[0].source.startswith("# Chapter 4") and "896MB" in nb.cells[0].source
    assert "Linux 2.6.35 for 32-bit x86" in nb.cells[0].source
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "(03_why_contiguous.ipynb)" in text and "(05_dma_100mb.ipynb)" in text


def test_checked_cells_have_output_and_live_cells_none():
    cells = code_cells(read_notebook(NAME))
    assert sum(cell.source.startswith(CHECK) for cell in cells) >= 8
    for cell in cells:
        if cell.source.startswith(CHECK):
            assert cell.outputs, cell.source[:60]
        if "live" in cell.metadata.get("tags", []):
            assert not cell.outputs and not cell.source.startswith(CHECK)
    assert any("live" in cell.metadata.get("tags", []) for cell in cells)


def test_no_private_attributes_and_no_answers_on_the_page():
    cells = code_cells(read_notebook(NAME))
    for cell in cells:
        assert not re.search(r"\.\_[a-z]", cell.source), cell.source[:80]
    answers = [cell.source for cell in cells if cell.source.startswith("answer_")]
    assert len(answers) == 4 and all(re.match(r"answer_\d = None\b", source) for source in answers)
    page = "\n".join(cell.source for cell in read_notebook(NAME).cells)
    for value in ("1911", "0xef7fe000", "136"):
        assert value not in page


def test_the_model_answers_are_accepted_and_reveal_shows_them():
    replace = {"answer_1 = None": "answer_1 = 1911", "answer_2 = None": "answer_2 = (0xef7fe000, 751)",
               "answer_3 = None": "answer_3 = [0, 1, 2, 1]", "answer_4 = None": "answer_4 = (136, 889)"}
    namespace, out = run_in_process(NAME, replace=replace, only=not_live)
    for number in range(1, 5):
        assert f"Exercise {number}: right" in out
    for number in range(1, 5):
        box = namespace["answer_box"](number)
        box.reveal_button.click()
        assert box.feedback_text.strip() and "not answered" not in box.feedback_text
    assert [ch04.solution_1(), ch04.solution_2(), ch04.solution_3(), ch04.solution_4()] == \
        [1911, [0xEF7FE000, 751], [0, 1, 2, 1], [136, 889]]


def test_a_wrong_answer_gets_the_specific_hint():
    box = ch04.answer_box(1)
    assert "3G split" in box.check("887")
    box3 = ch04.answer_box(3)
    assert "slot 0 was never used" in box3.check("[1, 2, 3, 1]")
