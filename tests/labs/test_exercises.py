"""The exercises of chapters 00-02 (kernelmem_widgets.labs.exercises) and the shared answer box.

What the notebooks' maintainers' cells used to show, now where no student reads it: each check
accepts the model's own answer, in the forms a person types into the box, rejects a wrong one and
names the mistake; Reveal shows the answer; a box reads its text, not a variable (Voila).
"""

from __future__ import annotations

import pytest

from kernelmem_widgets.labs.exercises import chapter00, chapter01, chapter02
from kernelmem_widgets.model import procfs
from kernelmem_widgets.views.exercise import AnswerBox, parse_answer, parse_number


def _hex(values) -> str:
    return " ".join(f"{value:#x}" for value in values)


def test_typed_forms_are_read_as_a_person_means_them():
    assert parse_answer("32K") == 32768 and parse_answer("4 MiB") == 4 << 20
    assert parse_answer("0x0 0x4 0x2") == [0, 4, 2] == parse_answer("[0x0, 0x4, 0x2]")
    assert parse_answer("0.916") == pytest.approx(0.916) == parse_answer("916/1000")
    assert parse_answer("(0x4, 2)") == [4, 2] and parse_answer("kmalloc-32, kmalloc-4k") == ["kmalloc-32", "kmalloc-4k"]
    assert parse_number("1,024") == 1024
    with pytest.raises(ValueError, match="empty"):
        parse_answer("  ")


@pytest.mark.parametrize("module, number, typed", [
    (chapter00, 0, "32K"), (chapter00, 0, "32768"),
    (chapter01, 1, _hex(chapter01.solution_1())), (chapter01, 2, str(chapter01.solution_2()[0])),
    (chapter01, 3, " ".join(map(str, chapter01.solution_3()[2]))),
    (chapter01, 3, procfs.render_buddyinfo(chapter01.solution_3()[0])),
    (chapter01, 4, _hex(chapter01.solution_4()[:1]) + f" {chapter01.solution_4()[1]}"),
    (chapter01, 5, f"{chapter01.solution_5()[1]:.3f}"), (chapter01, 5, f"{round(chapter01.solution_5()[1] * 1000)}/1000"),
    (chapter02, 1, " ".join(chapter02.solution_1())), (chapter02, 2, "2 32"), (chapter02, 3, "208, 0, 19"),
    (chapter02, 4, "3 3 0"), (chapter02, 5, "10872"), (chapter02, 6, "16K 3"), (chapter02, 7, "59"),
])
def test_the_box_accepts_the_models_answer_as_typed(module, number, typed):
    box = module.answer_box(number)
    box.text.value = typed
    box.check_button.click()
    assert box.feedback_text == f"Exercise {number}: right \N{HEAVY CHECK MARK}"


@pytest.mark.parametrize("module, number, typed, mistake", [
    (chapter00, 0, "12288", "not n pages"), (chapter00, 0, "8", "number of pages"),
    (chapter01, 1, _hex(chapter01.solution_1()[::-1]), "right pfns, in the wrong order"),
    (chapter01, 1, "0x0 0x1 0x2", "order 2: not 0x1"),
    (chapter01, 4, f"{chapter01.solution_4()[0]:#x} {chapter01.solution_4()[1] + 1}", "right buddy, wrong order"),
    (chapter01, 4, f"0x7 {chapter01.solution_4()[1]}", "right order, wrong buddy"),
    (chapter01, 5, "0.5", "F = 1 - (1 + free_pages"),
    (chapter02, 7, "64", "not the only limit"),
])
def test_a_wrong_answer_is_told_what_is_wrong(module, number, typed, mistake):
    box = module.answer_box(number)
    assert mistake in box.check(typed) and "not quite" in box.feedback_text


def test_unreadable_text_says_so_and_reveal_gives_the_answer():
    box = chapter01.answer_box(1)
    assert box.check("") == "cannot read that answer: the answer is empty"
    shown = box.reveal()
    assert all(f"pfn {pfn:#x}" in shown for pfn in chapter01.solution_1())


def test_the_code_form_still_works(capsys):
    chapter01.check_1(chapter01.solution_1())
    chapter01.check_1(None)
    chapter02.check_5(chapter02.solution_5()[0])
    out = capsys.readouterr().out.splitlines()
    assert out == ["Exercise 1: right \N{HEAVY CHECK MARK}",
                   "Exercise 1: not answered yet - type your answer in the box and press Check, or set answer_1 and "
                   "run the cell again (or press Reveal).", "Exercise 5: right \N{HEAVY CHECK MARK}"]


def test_a_box_is_one_widget_tree_with_classes_for_browser_tests():
    box = AnswerBox(chapter00.check_0, number=0)
    assert "kmw-answer-box" in box._dom_classes and "kmw-exercise-0" in box._dom_classes
    assert "kmw-check" in box.check_button._dom_classes and "kmw-reveal" in box.reveal_button._dom_classes
