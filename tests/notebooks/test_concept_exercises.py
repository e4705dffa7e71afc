"""Chapters 01 and 02: the questions about the kernel's rules are on the page, and no answer is.

* every exercise of ``kernelmem_widgets.exercises.ch01`` / ``ch02`` has exactly one answer box in
  its chapter (``concept_box("<id>", answer_<e>)``), unanswered by default;
* run in-process, each box says "not answered yet", accepts the package's answer, explains each
  foreseen mistake with the package's own message, and Reveal gives the hint, never the answer;
* the outputs stored above exercises 01.5, 02.2, 02.3 and 02.7 do not print their answers (issue 8).
"""

from __future__ import annotations

import re

import pytest
from notebook_support import code_cells, not_live, read_notebook, run_in_process

from kernelmem_widgets.exercises import ch01, ch02
from kernelmem_widgets.labs.exercises import chapter01, chapter02

CHAPTERS = {"01_buddy_orders.ipynb": ch01, "02_slab_sizes.ipynb": ch02}
#: an answer a student would type for each exercise, and one foreseen mistake (value, as typed)
TYPED = {"01.e1": ("0", "11"), "01.e2": ("order 11", "2048"), "01.e3": ("dma_alloc_coherent()", "vmalloc"),
         "01.e4": ("GFP_ATOMIC", "GFP_KERNEL"), "01.e5": ("the slab pages are unmovable", "not enough memory"),
         "01.e6": ("GFP_NOIO has no __GFP_IO", "the pages are unmovable"),
         "01.e7": ("__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL"), "01.e8": ("67584", "16383"),
         "02.e1": ("kmalloc-128", "100"), "02.e2": ("4 MiB", "8K"), "02.e3": ("1536 pages", "1280"),
         "02.e4": ("192", "256"), "02.e5": ("8K", "64K"), "02.e6": ("INT_MAX", "64M")}


def _outputs(cell) -> str:
    return "".join("".join(out.get("text", "")) for out in cell.get("outputs", []))


@pytest.mark.parametrize("name,module", CHAPTERS.items())
def test_each_rule_question_has_one_box(name, module):
    sources = [cell.source for cell in code_cells(read_notebook(name))]
    for exercise_id in module.EXERCISES:
        short = exercise_id.split(".")[1]
        cells = [s for s in sources if f'concept_box("{exercise_id}", answer_{short}' in s]
        assert len(cells) == 1, f"{name}: exercise {exercise_id} needs exactly one answer box"
        assert re.search(rf"^answer_{short} = None\b", cells[0], re.M), cells[0]


@pytest.fixture(scope="module", params=list(CHAPTERS))
def chapter(request):
    return request.param, CHAPTERS[request.param], run_in_process(request.param, only=not_live)


def test_boxes_check_with_the_package(chapter):
    name, module, (namespace, text) = chapter
    for exercise_id, exercise in module.EXERCISES.items():
        assert f"Exercise {exercise_id}: not answered yet" in text, (name, exercise_id)
        right, wrong = TYPED[exercise_id]
        box = namespace["concept_box"](exercise_id)
        assert box.check(right).startswith(f"Exercise {exercise_id}: right"), (exercise_id, box.feedback_text)
        said = box.check(wrong)
        assert said.startswith(f"Exercise {exercise_id}: not quite"), (exercise_id, said)
        assert said.endswith(module.check(exercise_id, wrong).message), (exercise_id, said)
        box.reveal_button.click()
        assert box.feedback_text == f"Exercise {exercise_id}: a hint - {exercise.hint}"
        assert exercise.explanation not in box.feedback_text


def test_no_answer_printed_above_the_exercises():
    nb01 = read_notebook("01_buddy_orders.ipynb")
    index_01_5 = f"{chapter01.solution_5()[1]:.3f}"
    assert not any(index_01_5 in _outputs(cell) for cell in code_cells(nb01)), "01.5's index is printed"

    nb02 = read_notebook("02_slab_sizes.ipynb")
    outputs = [_outputs(cell) for cell in code_cells(nb02)]
    step5 = next(o for o in outputs if o.startswith("order/objects per slab"))
    assert "512" not in step5.splitlines()[2].split(), "02.2: the kmalloc-512 column is in step 5's table"
    slab_size, order, objects = chapter02.solution_3()
    step4 = next(o for o in outputs if o.startswith('kmem_cache_create("my_struct"'))
    rows = [line.split()[-5:] for line in step4.splitlines()[1:] if line.strip()]   # slab_size freeptr order objects leftover
    assert [str(slab_size), str(order), str(objects)] not in [[r[0], r[2], r[3]] for r in rows], "02.3 is in step 4's table"
    best = chapter02.solution_7()
    assert not any(f"{best + 1} MiB: init_module" in o for o in outputs), "02.7: the first failing size is printed"
    prose = "\n".join(cell.source for cell in nb02.cells if cell.cell_type == "markdown")
    assert f"between {best} and {best + 1} MiB" not in prose
