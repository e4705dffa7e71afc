"""Per-student exercises: the book's numbers without an id, a stable variant per id, the check recomputes.

The id is set once per kernel (the student box) or read from JupyterHub's ``JUPYTERHUB_USER``; the
seed is the one ``kernelmem problems --student`` derives; every box re-draws its question.
"""

import pytest

from kernelmem_widgets.exercises import ch03, ch06, ch07, student
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.problems import student_seed
from kernelmem_widgets.views.exercise import AnswerBox, student_box

MODULES = {"03": ch03, "06": ch06}


@pytest.fixture(autouse=True)
def no_student(monkeypatch):
    monkeypatch.delenv(student.ENVIRONMENT, raising=False)
    monkeypatch.delenv("KERNELMEM_COURSE_SEED", raising=False)
    student.clear_student()
    yield
    student.clear_student()


def test_without_an_id_the_exercises_keep_the_books_numbers():
    assert student.student() is None and student.exercise_rng("03", 1) is None
    assert ch03.solution_1() == (25600, 50, 1) and "100 MiB buffer" in ch03.question_1()
    assert ch06.solution_2() == 0x140000 and "mem=5G" in ch06.question_2()
    assert ch07.student_seed(1) == 0


def test_the_seed_is_the_problem_sets_student_seed_and_stable():
    student.set_student("alice")
    assert student.student_seed_now() == student_seed("alice", 0)
    first = [ch03.question(n) for n in range(1, 5)] + [ch06.question(n) for n in range(1, 5)]
    student.set_student("alice")
    assert [ch03.question(n) for n in range(1, 5)] + [ch06.question(n) for n in range(1, 5)] == first
    student.set_student("bob")
    assert [ch03.question(n) for n in range(1, 5)] + [ch06.question(n) for n in range(1, 5)] != first


def test_questions_vary_across_a_class():
    seen = {n: set() for n in range(1, 4)}
    for i in range(12):
        student.set_student(f"s{i}")
        for n in seen:
            seen[n].add(ch03.question(n))
    assert all(len(texts) >= 6 for texts in seen.values()), {n: len(t) for n, t in seen.items()}


@pytest.mark.parametrize("chapter, number", [("03", n) for n in range(1, 5)] + [("06", n) for n in range(1, 5)])
def test_each_student_is_checked_against_their_own_numbers(chapter, number, capsys):
    module = MODULES[chapter]
    book = module.solution(number)
    student.set_student("carol")
    mine = module.solution(number)
    box = module.answer_box(number)
    typed = " ".join(f"{v:#x}" if chapter == "06" and number != 4 else str(v).lower().replace("true", "yes")
                     .replace("false", "no") for v in _flat(mine))
    assert box.check(typed or "none") == f"Exercise {number}: right \N{HEAVY CHECK MARK}", typed
    getattr(module, f"check_{number}")(mine)
    assert capsys.readouterr().out.startswith(f"Exercise {number}: right")
    if mine != book:
        getattr(module, f"check_{number}")(book)
        assert "not quite" in capsys.readouterr().out


def _flat(value):
    if isinstance(value, (list, tuple)):
        return [item for sub in value for item in _flat(sub)]
    if isinstance(value, str):
        from kernelmem_widgets.model.units import memparse
        return [memparse(value)]
    return [value]


def test_jupyterhub_user_is_read_and_the_box_redraws_on_a_new_id(monkeypatch):
    box = ch03.answer_box(1)
    assert "no student id" in box.question.value and "100 MiB" in box.question.value
    monkeypatch.setenv(student.ENVIRONMENT, "dave")
    assert student.student() == "dave" and "from JupyterHub" in student.variant_line()
    ids = student_box()
    assert ids.field.value == "dave"
    ids.field.value = "erin"
    ids.use()
    assert student.student() == "erin" and "student erin" in box.question.value
    assert box.question.value.count("MiB buffer") == 1
    box.text.value = "1 2 3"
    ids.field.value = "a\nb"
    ids.use()                                              # a bad id: said in the box, nothing changes
    assert student.student() == "erin" and "student id" in ids.children[1].value


def test_chapter07_boxes_use_the_students_seed():
    book = ch07.answer_box(1).question.value
    student.set_student("frank")
    seed = ch07.student_seed(1)
    assert seed != 0 and ch07.answer_box(1).question.value != book
    right = ", ".join(hex(a) for a in ch07._solution_1(seed))
    assert ch07.answer_box(1).check(right).startswith("right")


def test_bad_ids_are_refused():
    with pytest.raises(InvalidArgument, match="student id"):
        student.set_student("x" * 201)


def test_one_box_for_a_conceptual_exercise():
    from kernelmem_widgets.exercises import ch01

    box = AnswerBox.for_exercise(ch01.EXERCISES["01.e8"], number=8)
    assert box.check("67,584").startswith("Right") and box.right is True
    assert "khugepaged" in box.check("16383") and box.right is False
    assert "67584" in box.reveal() and "min_free_kbytes" in box.question.value


def test_chapters_00_to_02_vary_through_their_boxes_without_notebook_changes():
    from kernelmem_widgets.labs.exercises import chapter00, chapter01, chapter02

    assert chapter00.answer_box(0).question.value == ""          # the book's numbers: the prose asks
    assert chapter00.solution_0() == 32768 and chapter02.solution_6() == (16384, 3)
    student.set_student("gina")
    box = chapter00.answer_box(0)
    order = chapter00.order_0()
    assert order != 3 and f"order-{order} allocation" in box.question.value
    assert box.check(f"{4 << order}K") == "Exercise 0: right \N{HEAVY CHECK MARK}"
    assert "not quite" in box.check("32K")
    typed = {(chapter01, 1): " ".join(f"{p:#x}" for p in chapter01.solution_1()),
             (chapter02, 1): " ".join(chapter02.solution_1()),
             (chapter02, 2): " ".join(map(str, chapter02.solution_2())),
             (chapter02, 3): " ".join(map(str, chapter02.solution_3())),
             (chapter02, 5): str(chapter02.solution_5()[0]),
             (chapter02, 6): " ".join(map(str, chapter02.solution_6()))}
    for (module, number), text in typed.items():
        box = module.answer_box(number)
        assert "Your own numbers" in box.question.value, (module.__name__, number)
        assert box.check(text) == f"Exercise {number}: right \N{HEAVY CHECK MARK}", (module.__name__, number, text)
        assert box.reveal()
