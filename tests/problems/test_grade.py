"""The grader: right, wrong and partly right answer files, class summaries, refusals."""

import json

import pytest

from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.problems import problem_set
from kernelmem_widgets.problems.cli import answer_template
from kernelmem_widgets.problems.cli import main as cli
from kernelmem_widgets.problems.grade import grade, grade_folder, read_answers


def _filled(problems, answers: dict) -> str:
    lines = answer_template(problems).splitlines()
    return "\n".join(f"{line}{answers.get(line.split(':')[0], '')}" if line.endswith(": ") else line
                     for line in lines) + "\n"


@pytest.fixture
def alice():
    return problem_set("01", 7, student="alice", count=1)


def test_all_right_scores_full(tmp_path, alice):
    path = tmp_path / "alice.txt"
    path.write_text(_filled(alice, alice.key()))
    report = grade(read_answers(path))
    assert (report.score, report.total) == (7, 7) and report.by_problem() == {"1": (7, 7)}


def test_partly_right_gets_per_part_credit_and_feedback(tmp_path, alice):
    answers = dict(alice.key())
    answers["1.c"] = "0x0 order 9"           # right pfn, merged less than it does
    answers["1.b"] = "0x401"                 # not aligned
    del answers["1.g"]
    path = tmp_path / "alice.txt"
    path.write_text(_filled(alice, answers))
    report = grade(read_answers(path))
    assert report.score == 4
    by_label = {part.label: part for part in report.parts}
    assert by_label["1.c"].feedback.startswith("right pfn, wrong order")
    assert "multiple of" in by_label["1.b"].feedback
    assert by_label["1.g"].feedback == "no answer"
    assert "4/7" in report.render().splitlines()[0]


def test_json_answers_and_a_key_for_another_set_is_refused(tmp_path):
    common = problem_set("01", 7, count=1)
    path = tmp_path / "a.json"
    path.write_text(json.dumps({**common.header(), "answers": common.key()}))
    key = json.loads(common.render("json", key_only=True))
    assert grade(read_answers(path), key).score == 7
    other = json.loads(problem_set("01", 8, count=1).render("json", key_only=True))
    with pytest.raises(InvalidArgument, match="for another problem set than the key: seed 7 in the answers, 8"):
        grade(read_answers(path), other)
    key["key"]["1.a"] = "0x999"
    with pytest.raises(InvalidArgument, match="does not match what this version"):
        grade(read_answers(path), key)


@pytest.mark.parametrize("content, message", [
    ("garbage\n", ":1: expected 'label: answer'"),
    ("chapter: 01\nseed: x\n", "'seed' is missing or not a whole number"),
    ("chapter: 01\nseed: 7\ncolour: blue\n", "unknown field 'colour'"),
    ("chapter: 05\nseed: 7\n1.a: 0x0\n", "names no problem set"),
    ("chapter: 01\nseed: 7\noption count: 1\n9.z: 0x0\n", "parts this problem set does not have: 9.z"),
    ('{"chapter": "01", "seed": 7, "answers": {"1.a": 5}}', "map part labels such as '1.a' to text"),
    ('{"chapter": "01", ', "not valid JSON"),
])
def test_malformed_answer_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InvalidArgument) as caught:
        grade(read_answers(path))
    assert message in str(caught.value)


def test_class_summary(tmp_path, capsys):
    for student, right in (("ann", True), ("ben", False), ("cid", True)):
        problems = problem_set("01", 7, student=student, count=1)
        answers = problems.key() if right else {"1.a": "0x3"}
        (tmp_path / f"{student}.txt").write_text(_filled(problems, answers))
    (tmp_path / "dan.txt").write_bytes(b"\xff\xfe")
    summary = grade_folder(tmp_path)
    assert [r.student for r in summary.reports] == ["ann", "ben", "cid"]
    assert len(summary.errors) == 1 and "not UTF-8" in summary.errors[0]
    text = summary.render()
    assert text.startswith("3 answer file(s) graded, 1 refused")
    assert "1.a      2/3" in text and "no answer (1)" in text
    assert cli(["grade", str(tmp_path)]) == 0
    assert "mean score" in capsys.readouterr().out
    assert cli(["grade", str(tmp_path / "nothing.txt")]) == 2
    assert "cannot read the answer file" in capsys.readouterr().err
