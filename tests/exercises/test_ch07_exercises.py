"""Chapter 7's exercises: the checks accept the model's answer, name the mistake otherwise; the box shows it."""

import pytest

from kernelmem_widgets.exercises import ch07
from kernelmem_widgets.model.rtos import tune_partitions


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_exercise_1(seed):
    right = ", ".join(hex(a) for a in ch07._solution_1(seed))
    assert ch07.check_1(seed, right)[0]
    assert ch07.check_1(seed, right.upper().replace("0X", "0x"))[0]
    a, b, c, d, e = ch07._solution_1(seed)
    assert (d, e) == (b, a)  # LIFO
    ok, message = ch07.check_1(seed, ", ".join(hex(x) for x in (a, b, c, c + (b - a), e)))
    assert not ok and "d is wrong" in message and "head of the free list" in message
    assert "five addresses" in ch07.check_1(seed, "0x1, 0x2")[1]
    assert hex(a) not in ch07.question_1(seed).split("Then")[1]


@pytest.mark.parametrize("seed", [0, 3])
def test_exercise_2(seed):
    solution = ch07._solution_2(seed)
    assert sorted(solution) == sorted(["OS_ERR_NONE", "OS_ERR_MEM_INVALID_P_ADDR", "OS_ERR_MEM_INVALID_BLKS",
                                       "OS_ERR_MEM_INVALID_SIZE", "OS_ERR_MEM_INVALID_SIZE",
                                       "OS_ERR_MEM_INVALID_P_ADDR"])
    assert ch07.check_2(seed, ", ".join(solution))[0]
    short = ", ".join("ok" if name == "OS_ERR_NONE" else name.removeprefix("OS_ERR_MEM_").lower() for name in solution)
    assert ch07.check_2(seed, short)[0]
    numbers = " ".join(str(ch07.OS_ERR[name]) for name in solution)
    assert ch07.check_2(seed, numbers)[0]
    assert "not an OS_ERR" in ch07.check_2(seed, "banana")[1]
    assert "FIRST failed check" in ch07.check_2(seed, ", ".join(["OK"] * 6))[1]


def test_exercise_3():
    best = tune_partitions(ch07._ex3_trace(0), 65536, max_classes=2)
    assert ch07.check_3(0, best.spec) == (True, f"right: {best.ram_bytes} bytes including the two OS_MEM control blocks")
    assert "more than necessary" in ch07.check_3(0, "64x6, 400x3")[1]
    assert "fails" in ch07.check_3(0, "16x2, 404x2")[1]
    assert "exactly two" in ch07.check_3(0, "400x8")[1]
    assert "cannot be created" in ch07.check_3(0, "banana")[1]


def test_answer_box_checks_the_typed_text_and_reveals():
    box = ch07.answer_box(3)
    assert ch07.question_3(0) in box.question.value.replace("&#x27;", "'")
    box.text.value = "16x2, 404x2"
    box.check_button.click()
    assert box.right is False and "fails" in box.feedback_text
    spec = tune_partitions(ch07._ex3_trace(0), 65536, max_classes=2).spec
    assert box.check(spec).startswith("right") and box.right
    assert box.check("  ") == "cannot read that answer: the answer is empty"
    assert spec in box.reveal()
