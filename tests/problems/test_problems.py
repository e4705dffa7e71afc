"""Problem sets: exact problems and keys for fixed seeds, per-student seeds, every answer form."""

import json
import subprocess
import sys

import pytest

from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.problems import check_answer, format_answer, parse_kind, problem_set, student_seed
from kernelmem_widgets.problems.cli import main as problems_main


def test_chapter01_problem_and_key_for_a_fixed_seed():
    problems = problem_set("01", seed=3, count=1, ops=4)
    # hand-checked: pfn 0 split to 0x1/o0 0x2/o1 0x4/o2 0x8/o3 ...; GFP_KERNEL claims the next
    # order-10 Movable block; ptr[2] takes 0x4; freeing pfn 0 merges with 0x1 and 0x2, not 0x4.
    assert problems.key() == {"1.a": "0x0", "1.b": "0x400", "1.c": "0x4", "1.d": "0x0 order 2",
                              "1.e": "0 0 1 2 2 2 2 2 2 2 2"}
    text = problems.render("text")
    assert "    1.d: free ptr[0]" in text
    assert "order 10 Movable     0x0 0x400 0x800 0xc00" in text
    assert text.count("-> ?") == 5 and "0x400" not in text.split("operations:")[1].replace("0x400 0x800", "")


def test_chapter02_key_for_a_fixed_seed():
    problems = problem_set("02", seed=3, count=1, sizes=2)
    assert problems.key() == {"1.a": "kmalloc-512", "1.b": "8", "1.c": "kmalloc-192", "1.d": "21", "1.e": "10",
                              "1.f": "44 KiB", "1.g": "no", "1.h": "yes"}
    assert problems.problems[0].title == "kmalloc, vmalloc and a module on 1 CPU"


def test_the_same_arguments_give_the_same_set_and_students_differ():
    a1, a2 = (problem_set("01", 7, student="alice") for _ in range(2))
    bob = problem_set("01", 7, student="bob")
    assert a1.render("json", reveal=True) == a2.render("json", reveal=True)
    assert a1.key() != bob.key()
    assert student_seed("alice", 7) == student_seed("alice", 7) != student_seed("alice", 8)
    assert len({student_seed(f"s{i}", 7) for i in range(300)}) == 300


def test_an_aged_problem_shows_the_aged_state_it_asks_about():
    problems = problem_set("01", seed=1, count=1, age=3000, ops=2)
    setup = "\n".join(problems.problems[0].setup)
    assert "aged:" in setup and "U" in setup.split("pageblocks")[1].split("\n")[0]
    assert "(" in setup and "more)" in setup  # deep lists are cut at the depth the operations can reach


@pytest.mark.parametrize("kind, text, value", [
    ("pfn", "0x400", 0x400), ("pfn", "1024", 1024), ("pfn", " fails ", None), ("pfn", "pfn 0x10", 16),
    ("block", "0x400 order 2", (0x400, 2)), ("block", "0x400/2", (0x400, 2)), ("block", "pfn 0x8, order 3", (8, 3)),
    ("numbers", "Node 0, zone   Normal   1 2 3", (1, 2, 3)), ("numbers", "1,2,3", (1, 2, 3)),
    ("cache", "kmalloc-128", "kmalloc-128"), ("cache", "128", "kmalloc-128"), ("cache", "8K", "kmalloc-8k"),
    ("cache", "page allocator", None), ("size", "32K", 32768), ("size", "32 KiB", 32768), ("size", "12288", 12288),
    ("bool", "yes", True), ("bool", "fails", False), ("fraction", "0.916", 0.916), ("fraction", "916/1000", 0.916),
    ("int", "21", 21), ("int", "0x15", 21),
])
def test_answers_in_the_forms_a_person_types(kind, text, value):
    assert parse_kind(kind, text) == value


@pytest.mark.parametrize("kind, expected, text, context, feedback", [
    ("pfn", 0x400, "0x402", {"order": 1}, "that is the buddy"),
    ("pfn", 0x400, "0x401", {"order": 2}, "starts at a multiple of 4 pages"),
    ("pfn", 0x400, "400", {"order": 0}, "wrong base"),
    ("pfn", None, "0x0", {}, "cannot be satisfied"),
    ("block", (0x0, 3), "0x0 order 2", {}, "right pfn, wrong order: the block merges further"),
    ("block", (0x0, 3), "0x0 order 4", {}, "one of the buddies on the way up is not free"),
    ("numbers", (1, 2, 3), "1 2 4", {}, "order 2 differs"),
    ("cache", "kmalloc-96", "kmalloc-128", {}, "a smaller kmalloc class also fits"),
    ("cache", "kmalloc-128", "kmalloc-96", {}, "too small"),
    ("size", 12288, "8K", {"page_size": 4096}, "guard page"),
    ("int", 21, "20", {}, "off by one"),
    ("fraction", 0.916, "916", {}, "between 0 and 1"),
    ("pfn", 0, "banana", {}, "could not read the answer"),
])
def test_feedback_names_the_mistake_without_the_answer(kind, expected, text, context, feedback):
    verdict = check_answer(kind, expected, text, context)
    assert not verdict and feedback in verdict.feedback
    assert format_answer(kind, expected) not in verdict.feedback or kind == "fraction"


def test_right_answers_are_right():
    problems = problem_set("01", seed=5, count=2)
    for part in problems.parts():
        assert check_answer(part.kind, part.answer, format_answer(part.kind, part.answer), part.context)


@pytest.mark.parametrize("call, message", [
    (lambda: problem_set("09"), "no problems for chapter '09'"),
    (lambda: problem_set("01", seed=-1), "seed -1"),
    (lambda: problem_set("01", count=0), "count 0"),
    (lambda: problem_set("01", ops=True), "ops True"),
    (lambda: problem_set("01", orders="0,11"), "orders '0,11'"),
    (lambda: problem_set("01", gfp="GFP_BANANA"), "GFP_BANANA"),
    (lambda: problem_set("01", sizes=3), "unknown option(s) sizes"),
    (lambda: problem_set("02", cpus="0"), "cpus '0'"),
    (lambda: problem_set("01", student=""), "student id ''"),
])
def test_bad_options_are_named(call, message):
    with pytest.raises(InvalidArgument) as caught:
        call()
    assert message in str(caught.value)


def test_cli_exit_status_and_messages(capsys):
    assert problems_main(["problems", "01", "--seed", "3", "-n", "1", "--ops", "4", "--key"]) == 0
    assert capsys.readouterr().out.splitlines()[1:3] == ["  1.a   -> 0x0", "  1.b   -> 0x400"]
    assert problems_main(["problems", "9"]) == 2
    assert "no problems for chapter '9'" in capsys.readouterr().err
    assert problems_main(["problems", "01", "--ops", "x"]) == 2
    assert "invalid int value: 'x'" in capsys.readouterr().err
    assert problems_main(["problems", "01", "--format", "pdf"]) == 2


def test_the_console_script_dispatches_subcommands():
    proc = subprocess.run([sys.executable, "-m", "kernelmem_widgets.cli", "problems", "02", "--seed", "3", "-n", "1",
                           "--sizes", "2", "--format", "json", "--key"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["chapter"] == "02" and data["key"]["1.a"] == "kmalloc-512"


def test_problems_import_no_jupyter_module():
    probe = ("import sys, kernelmem_widgets.problems; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('ipywidgets', 'bqplot', 'IPython', 'ipykernel', 'traitlets', 'comm')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr
