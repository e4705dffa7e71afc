"""Chapter 04's problem generator: seeded, answers recomputed by the model, options validated."""

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.problems import CHAPTERS, check_answer, format_answer, problem_set


def test_registered_and_deterministic():
    assert "04" in CHAPTERS and "01" in CHAPTERS and "02" in CHAPTERS
    first = problem_set("04", seed=3, count=3)
    again = problem_set("4", seed=3, count=3)
    assert first.render("text", reveal=True) == again.render("text", reveal=True)
    assert problem_set("04", seed=3, student="alice").render("text") != first.render("text")


def test_answers_are_the_models_and_check_accepts_them():
    problems = problem_set("04", seed=3, count=2, kernels="linux-2.6.35-i386", rams="3G", pae="no")
    for problem in problems.problems:
        lowmem = problem.parts[0]
        assert lowmem.answer == Machine.preset("linux-2.6.35-i386", ram="3G", cmdline=problem.setup[2].split(": ")[1]
                                               .replace("(nothing memory-related)", ""),
                                               vmsplit=problem.title.split("VMSPLIT_")[1]).highmem_layout.max_low_pfn >> 8
        for part in problem.parts:
            assert check_answer(part.kind, part.answer, format_answer(part.kind, part.answer)).correct
    assert not check_answer("int", 887, "896").correct


@pytest.mark.parametrize("options", [{"kernels": "linux-9.9-i386"}, {"rams": "16M"}, {"pae": "maybe"},
                                     {"kmaps": 0}, {"colour": "red"}])
def test_bad_options_are_named(options):
    with pytest.raises(InvalidArgument):
        problem_set("04", seed=1, **options)
