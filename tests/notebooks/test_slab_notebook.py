"""Chapter 02 (slab sizes): structure, size and the reader's path through the exercises.

nbval (see pyproject.toml) executes the notebook and compares the cells marked
``# NBVAL_CHECK_OUTPUT``.  These tests add what nbval cannot see:

* the file stays small and carries no saved widget state or widget views;
* every exercise starts unanswered (``answer_N = None``), has a check, a Reveal button and a
  self-test in a checked cell; the live /sys and /proc cells are tagged ``live`` and never
  output-checked, and are stored without output (they describe the author's machine);
* the notebook reaches into no private attribute of the kit (``._name``);
* run in-process, the unanswered notebook says "not answered yet" for every exercise, the
  model's answers written into ``answer_N`` are accepted, wrong ones are not, and pressing
  Reveal shows the answer;
* the chapter follows chapter 01's outline and links only to kernels it names.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest
from notebook_support import (assert_reveal_shows_answers, code_cells, not_live, read_notebook,
                              run_in_process)

ROOT = Path(__file__).resolve().parents[2]
NAME = "02_slab_sizes.ipynb"
PATH = ROOT / "notebooks" / NAME
CHECK = "# NBVAL_CHECK_OUTPUT"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXERCISES = [1, 2, 3, 4, 5, 6, 7]
RIGHT_ANSWERS = {1: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_1()", 2: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_2()", 3: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_3()", 4: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_4()",
                 5: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_5()[0]", 6: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_6()", 7: "__import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_7()"}
WRONG_ANSWERS = {1: ["kmalloc-24", "kmalloc-96", "kmalloc-192", "kmalloc-256", "kmalloc-4k"], 2: (1, 16),
                 3: (200, 0, 20), 4: (3, 0, 0), 5: 0, 6: (12288, 3), 7: 64}


def _read():
    return read_notebook(NAME)


_code = code_cells


def test_notebook_is_small_valid_and_has_no_widget_state():
    assert PATH.stat().st_size < 200_000, f"{NAME} is {PATH.stat().st_size:,} bytes; strip outputs/state"
    nb = _read()
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "saved widget state (metadata.widgets)"
    for cell in _code(nb):
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {}), f"a stored widget view in {cell.source[:60]!r}"
            assert output.get("output_type") != "error", f"a stored error in {cell.source[:60]!r}"


def test_checked_cells_have_stored_output():
    checked = [cell for cell in _code(_read()) if cell.source.startswith(CHECK)]
    assert len(checked) >= 10
    for cell in checked:
        assert cell.outputs, f"checked cell stored without output: {cell.source[:80]!r}"


def test_no_private_attributes_and_live_cells_unchecked():
    for cell in _code(_read()):
        source = cell.source
        assert not re.search(r"\.\s*_[A-Za-z]", source), f"private attribute used in {source[:80]!r}"
        assert not re.search(r"from kernelmem_widgets\S* import .*\b_[a-z]", source), source[:80]
        touches_machine = "read_sys_kernel_slab" in source or "live_caches" in source or "live_slabinfo" in source
        if touches_machine:
            assert "live" in cell.metadata.get("tags", []), f"an /sys or /proc cell not tagged live: {source[:80]!r}"
        if "live" in cell.metadata.get("tags", []):
            assert CHECK not in source and not cell.outputs, "a live cell must be unchecked and stored empty"


def test_outline_follows_chapter_01():
    headings = [line for cell in _read().cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    wanted = ["## The quick answer", "## Explore", "## Step by step", "## What the kernel does",
              "## Exercises", "## On your machine", "## Further reading"]
    positions = [next(i for i, h in enumerate(headings) if h.startswith(w)) for w in wanted]
    assert positions == sorted(positions), headings


def test_links_point_at_named_kernels():
    text = "\n".join(cell.source for cell in _read().cells if cell.cell_type == "markdown")
    links = re.findall(r"https://elixir\.bootlin\.com/linux/([^/]+)/", text)
    assert links and set(links) <= {"v6.18", "v6.7", "v6.3", "v2.6.35"}, set(links)
    assert links.count("v6.18") > 20


def test_exercises_are_complete():
    sources = [cell.source for cell in _code(_read())]
    selftest = "\n".join(s for s in sources if s.startswith(CHECK))
    for n in EXERCISES:
        exercise = [s for s in sources if re.search(rf"^answer_{n} = None\b", s, re.M)]
        assert len(exercise) == 1, f"exercise {n}: need exactly one cell with 'answer_{n} = None'"
        assert f"check_{n}(answer_{n})" in exercise[0]
        assert f"answer_box({n})" in exercise[0]
    # the solutions live in the package (kernelmem_widgets.labs.exercises), never on the page
    assert not any(re.search(r"^def (solution|check)_", s, re.M) for s in sources)
    assert not selftest or "solution_" not in selftest


# ----------------------------------------------------------------------------- the reader's path

def _run_in_process(replace=None):
    """The chapter without its live cells (the author's /sys and /proc: see test_slab_live.py)."""
    return run_in_process(NAME, replace, only=not_live)


@pytest.fixture(scope="module")
def chapter02_default():
    return _run_in_process()


def test_unanswered_exercises_say_so(chapter02_default):
    _namespace, text = chapter02_default
    for n in EXERCISES:
        assert f"Exercise {n}: not answered yet" in text


def test_model_answers_written_by_the_reader_are_accepted():
    replace = {f"answer_{n} = None": f"answer_{n} = {expr}" for n, expr in RIGHT_ANSWERS.items()}
    _namespace, text = _run_in_process(replace)
    for n in EXERCISES:
        assert f"Exercise {n}: right" in text, f"exercise {n}: the model's answer was not accepted"


def test_answers_a_reader_would_type_are_accepted(chapter02_default):
    namespace, _text = chapter02_default
    typed = {1: ["kmalloc-32", "kmalloc-96", "kmalloc-192", "kmalloc-256", "kmalloc-4k"], 2: (2, 32),
             3: (208, 0, 19), 4: [3, 3, 0], 5: 10872, 6: (16384, 3), 7: 59}
    for n, answer in typed.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            namespace[f"check_{n}"](answer)
        assert f"Exercise {n}: right" in out.getvalue(), (n, out.getvalue())


def test_wrong_and_malformed_answers_are_rejected(chapter02_default):
    namespace, _text = chapter02_default
    malformed = {1: "kmalloc-32", 2: "two", 3: (208, 0), 5: [1, 2], 7: "sixty"}
    for n, answer in [*WRONG_ANSWERS.items(), *malformed.items()]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            namespace[f"check_{n}"](answer)
        assert f"Exercise {n}: not quite" in out.getvalue(), (n, answer, out.getvalue())


def test_reveal_buttons_show_the_answers(chapter02_default):
    namespace, _text = chapter02_default
    assert_reveal_shows_answers(namespace, EXERCISES)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["check_1"](reveal=True)
    assert all(name in out.getvalue() for name in __import__('kernelmem_widgets.labs.exercises.chapter02', fromlist=['_']).solution_1())
