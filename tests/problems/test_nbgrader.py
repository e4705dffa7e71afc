"""The nbgrader export, checked by nbgrader itself: generate_assignment strips the solutions,
autograde runs the kit's checks and scores a submission part by part.

nbgrader brings its own JupyterLab and Notebook extensions, which the browser tests should not
see, so it lives in an overlay venv (``.venv-nbgrader``) that adds only nbgrader on top of the
test venv's packages. The test skips, saying why, where PyPI cannot be reached to build it.
"""

import csv
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from kernelmem_widgets.problems import problem_set
from kernelmem_widgets.problems.nbgrader import assignment_notebook, export_assignment

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / ".venv-nbgrader"
NBGRADER = "nbgrader>=0.9.6,<0.10"


def _overlay_python() -> Path:
    python = OVERLAY / "bin" / "python"
    if (OVERLAY / ".ready").exists():
        return python
    shutil.rmtree(OVERLAY, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(OVERLAY)], check=True, timeout=300)
    overlay_site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                                  capture_output=True, text=True, check=True).stdout.strip()
    # site.addsitedir also runs the test venv's own .pth files (the kit's editable install)
    Path(overlay_site, "kmw-test-venv.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in site.getsitepackages()))
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", NBGRADER],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        shutil.rmtree(OVERLAY, ignore_errors=True)
        pytest.skip(f"could not install {NBGRADER} into {OVERLAY.name}: {proc.stderr.strip()[-300:]}")
    (OVERLAY / ".ready").write_text(NBGRADER + "\n")
    return python


def _nbgrader(python: Path, course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_CONFIG_DIR": str(course / ".jupyter"), "JUPYTER_DATA_DIR": str(course / ".jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(course / ".jupyter-runtime"), "IPYTHONDIR": str(course / ".ipython")}
    # the kit of this checkout, for nbgrader and the kernels it starts
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run([str(python), "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_assignment_notebook_has_nbgrader_cells():
    problems = problem_set("01", 7, count=1)
    notebook = assignment_notebook(problems)
    kinds = [(c["metadata"]["nbgrader"]["solution"], c["metadata"]["nbgrader"]["grade"]) for c in notebook["cells"]]
    assert kinds.count((False, True)) == len(problems.parts()) == 7
    assert kinds.count((True, False)) == 1
    assert sum(c["metadata"]["nbgrader"].get("points", 0) for c in notebook["cells"]) == 7
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in notebook["cells"]]
    assert len(ids) == len(set(ids))


def test_nbgrader_releases_and_autogrades(tmp_path):
    python = _overlay_python()
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "kmw"\n')
    problems = problem_set("01", 7, count=1)
    export_assignment(problems, course)
    proc = _nbgrader(python, course, "generate_assignment", "ch01", "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    release = json.loads((course / "release" / "ch01" / "ch01.ipynb").read_text())
    released = "".join("".join(cell["source"]) for cell in release["cells"])
    key = problems.key()
    assert "### BEGIN SOLUTION" not in released and f'answers["1.g"] = "{key["1.g"]}"' not in released

    submission = course / "submitted" / "alice" / "ch01"
    submission.mkdir(parents=True)
    for cell in release["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = (f'answers["1.a"] = "{key["1.a"]}"\nanswers["1.b"] = "{key["1.b"]}"\n'
                              'answers["1.c"] = "0x1 order 0"\n')
    (submission / "ch01.ipynb").write_text(json.dumps(release))
    proc = _nbgrader(python, course, "autograde", "ch01", "--create", "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = _nbgrader(python, course, "export", "--to", str(tmp_path / "grades.csv"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "grades.csv") as handle:
        row = next(csv.DictReader(handle))
    assert (row["student_id"], float(row["score"]), float(row["max_score"])) == ("alice", 2.0, 7.0)
    graded = json.loads((course / "autograded" / "alice" / "ch01" / "ch01.ipynb").read_text())
    errors = [output.get("evalue", "") for cell in graded["cells"] for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert any(text.startswith("1.c: ") for text in errors) and any("no answer yet" in text for text in errors)
