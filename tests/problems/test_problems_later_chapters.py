"""Problem generators of chapters 03, 06 and 07: exact keys for fixed seeds, feedback, CLI, grading, nbgrader cells."""

import pytest

from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.problems import check_answer, format_answer, problem_set
from kernelmem_widgets.problems.cli import answer_template
from kernelmem_widgets.problems.cli import main as cli
from kernelmem_widgets.problems.grade import grade, read_answers
from kernelmem_widgets.problems.nbgrader import assignment_notebook

KEYS = {
    # 36 MiB in 2 MiB pages = 18 entries, in 1 GiB pages 1; 116 pages read then written: 232 faults,
    # 116 pages (reads map the zero page); 61 written pages, fork, child writes: 61 copies; parent: 61 faults, 0 pages
    "03": {"1.a": "18", "1.b": "1", "1.c": "232", "1.d": "116", "1.e": "61", "1.f": "61", "1.g": "0"},
    # mem=768M drops RAM from 0x30000000; memmap=64M$0x20000000 reserves 0x20000000-0x23ffffff
    "06": {"1.a": "0x0 0x9fbff 0x100000 0x1fffffff 0x24000000 0x2fffffff", "1.b": "0x1c0000", "1.c": "yes",
           "1.d": "yes"},
    # LIFO free list: d gets b's block, e gets a's
    "07": {"1.a": "0x20000b00 0x20000b18 0x20000b30 0x20000b18 0x20000b00",
           "1.b": "INVALID_SIZE, INVALID_P_ADDR, INVALID_BLKS, OK, INVALID_SIZE, INVALID_P_ADDR", "1.c": "840"},
}


@pytest.mark.parametrize("chapter", sorted(KEYS))
def test_exact_key_for_a_fixed_seed(chapter):
    problems = problem_set(chapter, seed=3, count=1)
    assert problems.key() == KEYS[chapter]
    text = problems.render("text")
    assert text.count("-> ?") == len(KEYS[chapter])
    for part in problems.parts():               # the model's answer, typed as the key prints it, is right
        assert check_answer(part.kind, part.answer, format_answer(part.kind, part.answer), part.context)


def test_exact_text_for_a_fixed_seed():
    text = problem_set("06", seed=3, count=1).render("text")
    assert text.splitlines()[:3] == ["kernelmem problems: chapter 06 seed 3 (count=1 sizes=2)", "",
                                     "Problem 1: mem=, memmap= and ioremap (mem=768M memmap=64M$0x20000000)"]
    assert ("  1.b   8 GiB QEMU guest, 'mem=7G': the last_pfn the kernel prints  -> ?") in text
    text = problem_set("03", seed=3, count=1).render("text")
    assert "  1.a   a 36 MiB buffer in 2 MiB pages: how many TLB entries translate all of it at once?  -> ?" in text
    text = problem_set("07", seed=3, count=1).render("text")
    assert "    A: OSMemCreate(" in text and "0x20000b18" not in text


def test_students_get_their_own_problems_and_the_cli_prints_them(capsys):
    for chapter in KEYS:
        alice, again, bob = (problem_set(chapter, 7, student=s, count=2) for s in ("alice", "alice", "bob"))
        assert alice.key() == again.key() != bob.key()
    assert cli(["problems", "03", "--seed", "3", "-n", "1", "--key"]) == 0
    assert capsys.readouterr().out.splitlines()[1:3] == ["  1.a   -> 18", "  1.b   -> 1"]
    assert cli(["problems", "06", "--seed", "3", "-n", "1", "-c"]) == 0
    assert "-> 0x1c0000" in capsys.readouterr().out
    assert cli(["problems", "07", "--seed", "3", "--student", "alice", "-n", "1"]) == 0
    assert "student alice" in capsys.readouterr().out
    assert cli(["problems", "03", "--pages", "1"]) == 2 and "pages 1" in capsys.readouterr().err
    assert cli(["problems", "07", "--ops", "3"]) == 2 and "unknown option(s) ops" in capsys.readouterr().err


@pytest.mark.parametrize("kind, expected, text, context, feedback", [
    ("int", 232, "116", {"hint": "a read maps the zero page"}, "off by a factor of two: a read maps the zero page"),
    ("addresses", (1, 2, 3), "0x1 0x3 0x2", {"names": ["a", "b", "c"]}, "the right values, in the wrong order"),
    ("addresses", (1, 2, 3), "0x1 0x2 0x4", {"names": ["a", "b", "c"], "hint": "LIFO"}, "c is wrong: LIFO"),
    ("oserr", ("OS_ERR_NONE", "OS_ERR_MEM_INVALID_BLKS"), "ok, invalid_size", {"names": ["A", "B"]}, "B is wrong"),
    ("oserr", ("OS_ERR_NONE",), "banana", {}, "not an OS_ERR name"),
    ("hex", 0x140000, "0x13ffff", {}, "off by one"),
    ("addresses", (0, 1, 2, 3), "0x0 0x1", {"names": list("abcd"), "count_hint": "a range is missing"},
     "a range is missing"),
])
def test_feedback_of_the_new_kinds_names_the_mistake(kind, expected, text, context, feedback):
    verdict = check_answer(kind, expected, text, context)
    assert not verdict and feedback in verdict.feedback


def test_an_answer_file_for_chapter_06_is_graded_part_by_part(tmp_path):
    problems = problem_set("06", 3, student="alice", count=1)
    key = problems.key()
    answers = dict(key, **{"1.b": "0x0"})
    lines = [f"{line}{answers.get(line.split(':')[0], '')}" if line.endswith(": ") else line
             for line in answer_template(problems).splitlines()]
    path = tmp_path / "alice.txt"
    path.write_text("\n".join(lines) + "\n")
    report = grade(read_answers(path))
    assert (report.score, report.total) == (3, 4)
    assert [p.label for p in report.parts if not p.correct] == ["1.b"]


@pytest.mark.parametrize("chapter", sorted(KEYS))
def test_the_nbgrader_assignment_runs_its_checks(chapter):
    """The export is generic: one graded cell per part, and with the solutions in, every test cell passes."""
    problems = problem_set(chapter, 3, count=1)
    notebook = assignment_notebook(problems)
    graded = [c for c in notebook["cells"] if c["metadata"]["nbgrader"]["grade"]]
    assert len(graded) == len(problems.parts())
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = cell["source"].replace("print(problems.render())", "")
            exec(compile(source, f"<ch{chapter}>", "exec"), namespace)
    namespace["answers"]["1.a"] = "0x0"
    with pytest.raises(AssertionError, match="1.a: "):
        exec('assert_part(problems, "1.a", answers)', namespace)


def test_bad_options_are_named():
    with pytest.raises(InvalidArgument, match="sizes 0"):
        problem_set("06", sizes=0)
