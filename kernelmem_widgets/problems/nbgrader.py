"""A chapter's problems as an nbgrader assignment whose autograded cells call the kit's own checks.

``export_assignment("01", seed=7, root="course")`` writes ``course/source/<name>/<name>.ipynb``:
a locked cell that poses the problems (``problem_set(...).render()``, answers as ``?``), one
solution cell per problem where the student fills ``answers["1.a"] = "..."`` (nbgrader strips
the instructor's solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` from the
released copy), and one autograded test cell per part, worth one point, that calls
:func:`assert_part`, so nbgrader's feedback is the same sentence the notebook and
``kernelmem grade`` give.  Then ``nbgrader generate_assignment <name>`` releases it as usual.
Only the notebook format (nbformat 4 JSON) is written here; nbgrader itself is not imported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..model.errors import InvalidArgument
from ..exercises.answers import check_answer

__all__ = ["assert_part", "assignment_notebook", "export_assignment"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def assert_part(problems, label: str, answers: dict) -> None:
    """Raise ``AssertionError`` with the feedback unless ``answers[label]`` is right (nbgrader's test)."""
    part = next((part for part in problems.parts() if part.label == label), None)
    if part is None:
        raise InvalidArgument(f"no part {label!r} in this problem set")
    given = answers.get(label, "") if isinstance(answers, dict) else ""
    if not isinstance(given, str) or not given.strip():
        raise AssertionError(f"{label}: no answer yet (set answers[{label!r}] = '...')")
    verdict = check_answer(part.kind, part.answer, given, part.context)
    if not verdict:
        raise AssertionError(f"{label}: {verdict.feedback}")


def _cell(kind: str, source: str, grade_id: str, *, solution=False, grade=False, locked=False, points=0) -> dict:
    nbgrader = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if grade:
        nbgrader["points"] = points
    cell = {"cell_type": kind, "metadata": {"nbgrader": nbgrader}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def assignment_notebook(problems) -> dict:
    """The nbformat-4 notebook (a dict) of ``problems`` as an nbgrader source assignment."""
    call = (f"problem_set({problems.chapter!r}, {problems.seed}, student={problems.student!r}, "
            f"count={problems.options['count']}"
            + "".join(f", {name}={value!r}" for name, value in problems.options.items() if name != "count") + ")")
    cells = [
        _cell("markdown", f"# Chapter {problems.chapter}: problems (seed {problems.seed})\n\n"
              "Fill in each answer as text, the way you would write it (`0x400`, `0x400 order 2`, `fails`, "
              "`kmalloc-128`, `32K`, `yes`). Run the test cell under a part to check it; it says what is "
              "wrong without giving the answer.", "intro", locked=True),
        _cell("code", "from kernelmem_widgets.problems import problem_set\n"
              "from kernelmem_widgets.problems.nbgrader import assert_part\n\n"
              f"problems = {call}\nprint(problems.render())\nanswers = {{}}", "setup", locked=True),
    ]
    key = problems.key()
    for problem in problems.problems:
        lines = [f'answers["{part.label}"] = "{key[part.label]}"' for part in problem.parts]
        blanks = "\n".join(f'# answers["{part.label}"] = ""   # {part.prompt}' for part in problem.parts)
        cells.append(_cell("code", f"{blanks}\n### BEGIN SOLUTION\n" + "\n".join(lines) + "\n### END SOLUTION",
                           f"answers-{problem.number}", solution=True))
        for part in problem.parts:
            cells.append(_cell("code", f'assert_part(problems, "{part.label}", answers)',
                               f"test-{part.label.replace('.', '-')}", grade=True, locked=True, points=1))
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"},
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def export_assignment(problems, root, name: str | None = None) -> Path:
    """Write ``root/source/<name>/<name>.ipynb`` (default name ``ch<chapter>``) and return its path."""
    name = name or f"ch{problems.chapter}"
    if not _NAME.match(name):
        raise InvalidArgument(f"assignment name {name!r}: letters, digits, '-' and '_' only (at most 64)")
    folder = Path(root) / "source" / name
    folder.mkdir(parents=True, exist_ok=True)
    notebook = assignment_notebook(problems)
    for index, cell in enumerate(notebook["cells"]):
        cell["id"] = f"kmw-{index}"
    path = folder / f"{name}.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    return path
