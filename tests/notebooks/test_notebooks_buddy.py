"""Chapters 00 and 01: structure, size and the reader's path through the exercises.

nbval (see pyproject.toml) executes both notebooks and compares the cells marked
``# NBVAL_CHECK_OUTPUT``. These tests add what nbval cannot see:

* the files stay small and carry no saved widget state or widget views;
* every exercise starts unanswered (``answer_N = None``), has a check, a Reveal button and a
  self-test in a checked cell; live /proc cells are never output-checked;
* notebooks reach into no private attribute of the kit (``._name``);
* run in-process, the unanswered notebook says "not answered yet" for every exercise, the
  model's answers written into ``answer_N`` are accepted, and pressing Reveal shows the answer.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest
from notebook_support import assert_reveal_shows_answers, code_cells, read_notebook, run_in_process

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = ["00_start_here.ipynb", "01_buddy_orders.ipynb"]
CHECK = "# NBVAL_CHECK_OUTPUT"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXERCISES_01 = [1, 2, 3, 4, 5]

# what a reader would type into answer_N: the model's own answer
RIGHT_ANSWERS_01 = {
    1: "__import__('kernelmem_widgets.labs.exercises.chapter01', fromlist=['_']).solution_1()",
    2: "__import__('kernelmem_widgets.labs.exercises.chapter01', fromlist=['_']).solution_2()[0]",
    3: "__import__('kernelmem_widgets.labs.exercises.chapter01', fromlist=['_']).solution_3()[2]",
    4: "__import__('kernelmem_widgets.labs.exercises.chapter01', fromlist=['_']).solution_4()",
    5: "__import__('kernelmem_widgets.labs.exercises.chapter01', fromlist=['_']).solution_5()[1]",
}


_read, _code = read_notebook, code_cells


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_is_small_valid_and_has_no_widget_state(name):
    path = NOTEBOOKS / name
    assert path.stat().st_size < 200_000, f"{name} is {path.stat().st_size:,} bytes; strip outputs/state"
    nb = _read(name)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, f"{name} carries saved widget state (metadata.widgets)"
    for cell in _code(nb):
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {}), f"{name}: a stored widget view in {cell.source[:60]!r}"
            assert output.get("output_type") != "error", f"{name}: a stored error in {cell.source[:60]!r}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_checked_cells_have_stored_output(name):
    checked = [cell for cell in _code(_read(name)) if cell.source.startswith(CHECK)]
    assert checked, f"{name} has no {CHECK} cell"
    for cell in checked:
        assert cell.outputs, f"{name}: checked cell stored without output (nbval would compare nothing): {cell.source[:80]!r}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_private_attributes_and_live_cells_unchecked(name):
    for cell in _code(_read(name)):
        source = cell.source
        assert not re.search(r"\.\s*_[A-Za-z]", source), f"{name}: private attribute used in {source[:80]!r}"
        assert not re.search(r"from kernelmem_widgets\S* import .*\b_[a-z]", source), source[:80]
        if "live." in source:
            assert CHECK not in source, f"{name}: a live /proc cell must not be output-checked"
            assert "live" in cell.metadata.get("tags", []), f"{name}: tag live /proc cells 'live'"
        if "live" in cell.metadata.get("tags", []):
            assert not cell.get("outputs"), f"{name}: a live cell stored the build machine's /proc output"


def test_chapter01_exercises_are_complete():
    nb = _read("01_buddy_orders.ipynb")
    sources = [cell.source for cell in _code(nb)]
    selftest = "\n".join(s for s in sources if s.startswith(CHECK))
    for n in EXERCISES_01:
        exercise = [s for s in sources if re.search(rf"^answer_{n} = None\b", s, re.M)]
        assert len(exercise) == 1, f"exercise {n}: need exactly one cell with 'answer_{n} = None'"
        assert f"check_{n}(answer_{n})" in exercise[0]
        assert f"answer_box({n})" in exercise[0]
    # the solutions live in the package (kernelmem_widgets.labs.exercises), never on the page
    assert not any(re.search(r"^def (solution|check)_", s, re.M) for s in sources)
    assert not selftest or "solution_" not in selftest


def test_chapter01_links_point_at_v6_18():
    text = "\n".join(cell.source for cell in _read("01_buddy_orders.ipynb").cells if cell.cell_type == "markdown")
    links = re.findall(r"https://elixir\.bootlin\.com/linux/([^/]+)/", text)
    assert links and set(links) == {"v6.18"}, set(links)


# ----------------------------------------------------------------------------- the reader's path

_run_in_process = run_in_process


@pytest.fixture(scope="module")
def chapter01_default():
    return _run_in_process("01_buddy_orders.ipynb")


def test_unanswered_exercises_say_so(chapter01_default):
    _namespace, text = chapter01_default
    for n in EXERCISES_01:
        assert f"Exercise {n}: not answered yet" in text
    assert "alloc 1                      -> ?" in text, "exercise 3 must hide its results"


def test_model_answers_written_by_the_reader_are_accepted():
    replace = {f"answer_{n} = None": f"answer_{n} = {expr}" for n, expr in RIGHT_ANSWERS_01.items()}
    _namespace, text = _run_in_process("01_buddy_orders.ipynb", replace)
    for n in EXERCISES_01:
        assert f"Exercise {n}: right" in text, f"exercise {n}: the model's answer was not accepted"


def test_reveal_buttons_show_the_answers(chapter01_default):
    namespace, _text = chapter01_default
    assert_reveal_shows_answers(namespace, EXERCISES_01)
    expected = __import__('kernelmem_widgets.labs.exercises.chapter01', fromlist=['_']).solution_1()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["check_1"](reveal=True)
    assert all(f"pfn {pfn:#x}" in out.getvalue() for pfn in expected)


def test_wrong_answers_are_rejected(chapter01_default):
    namespace, _text = chapter01_default
    wrong = {1: [0x0, 0x1, 0x2], 2: -1, 3: [0] * 10 + [4], 4: (0x7, 1), 5: 0.5}
    for n, answer in wrong.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            namespace[f"check_{n}"](answer)
        assert f"Exercise {n}: not quite" in out.getvalue(), (n, out.getvalue())


@pytest.mark.parametrize("unreadable", ["everything", "pagetypeinfo"])
def test_live_cells_run_where_proc_is_unreadable(monkeypatch, unreadable):
    """A Mac has no /proc at all; Binder cannot read the root-only /proc/pagetypeinfo."""
    from kernelmem_widgets.model import live

    real_read_proc = live.read_proc

    def read_proc(path):
        if unreadable == "everything":
            raise live.LiveUnavailable(f"{path} does not exist here (simulated: not Linux)")
        if "pagetypeinfo" in path:
            raise live.LiveUnavailable(f"{path} is not readable by this user (simulated)")
        return real_read_proc(path)

    monkeypatch.setattr(live, "read_proc", read_proc)
    live_cells = lambda index, cell: index == 0 or "live" in cell.metadata.get("tags", [])  # noqa: E731
    _namespace, text = _run_in_process("01_buddy_orders.ipynb", only=live_cells)
    if unreadable == "everything":
        assert "No live buddyinfo here" in text and "No zones to judge" in text
        assert "Cannot compare here" in text
    else:
        assert "/proc/pagetypeinfo" in text and "simulated" in text
