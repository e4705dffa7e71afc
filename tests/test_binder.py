"""binder/ must build the same kit on mybinder.org, any BinderHub and a JupyterHub image.

repo2docker reads binder/ (and then ignores root-level config): runtime.txt picks the
Python, requirements.txt installs pinned dependencies plus the kit itself, postBuild turns
JupyterLab's news prompt off. These tests check that layout without docker or network;
two heavier checks run only where their tools/opt-in exist.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
SELF_INSTALL_LINES = {".", "-e .", "-e.", "./"}
NEWS_KEY = "@jupyterlab/apputils-extension:notification"


# --------------------------------------------------------------------------- helpers

def _canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines() -> list[str]:
    lines = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _pins() -> dict[str, str]:
    pins = {}
    for line in _requirement_lines():
        if line in SELF_INSTALL_LINES:
            continue
        name, _, version = line.partition("==")
        pins[_canonical(name.strip())] = version.strip()
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


try:  # packaging ships with jupyterlab (and pip vendors it); fall back if it is absent
    from packaging.requirements import Requirement as _Requirement
    from packaging.version import Version as _Version
except ImportError:  # pragma: no cover - depends on the environment
    _Requirement = None


def _split_requirement(spec: str) -> tuple[str, str]:
    """'numpy>=1.26,<3' -> ('numpy', '>=1.26,<3') (extras and markers not supported)."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", spec)
    assert m, f"cannot parse requirement {spec!r}"
    return m.group(1), m.group(2).strip()


def _vtuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"\d+(?:\.\d+)*", v).group(0).split("."))


def _cmp(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def _satisfies(version: str, specifier: str) -> bool:
    """Small comparator for '>=1.26,<3'-style specifiers: the fallback when packaging is absent."""
    ops = {
        ">=": lambda c: c >= 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0,
        "<": lambda c: c < 0, "==": lambda c: c == 0, "!=": lambda c: c != 0,
    }
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        m = re.fullmatch(r"(>=|<=|==|!=|>|<)\s*(\S+)", clause)
        assert m, f"fallback comparator cannot read {clause!r}"
        if not ops[m.group(1)](_cmp(_vtuple(version), _vtuple(m.group(2)))):
            return False
    return True


def _runtime_requirements() -> list[tuple[str, str]]:
    """(canonical name, specifier) for each [project].dependencies entry."""
    out = []
    for spec in _pyproject()["project"]["dependencies"]:
        if _Requirement is not None:
            req = _Requirement(spec)
            out.append((_canonical(req.name), str(req.specifier)))
        else:
            name, specifier = _split_requirement(spec)
            out.append((_canonical(name), specifier))
    return out


# --------------------------------------------------------------------------- layout

def test_only_binder_dir_is_used():
    assert BINDER.is_dir()
    assert not (ROOT / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"


def test_runtime_txt_names_python_3_11_or_newer():
    text = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-3\.(\d+)", text)
    assert m, f"binder/runtime.txt must read 'python-3.X', got {text!r}"
    assert int(m.group(1)) >= 11, (
        f"binder/runtime.txt asks for {text}; numpy 2.4 / pandas 3 need Python >= 3.11 "
        "(without runtime.txt Binder uses 3.10 and the build fails)"
    )


def test_requirements_pin_every_line_and_install_the_kit():
    lines = _requirement_lines()
    assert any(line in SELF_INSTALL_LINES for line in lines), (
        "binder/requirements.txt must install the kit itself with a '.' (or '-e .') line"
    )
    unpinned = [
        line for line in lines
        if line not in SELF_INSTALL_LINES
        and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", line)
    ]
    assert not unpinned, f"every line but the self-install must be 'name==version': {unpinned}"


def test_every_runtime_dependency_is_pinned_within_its_pyproject_range():
    pins = _pins()
    problems = []
    for name, specifier in _runtime_requirements():
        if name not in pins:
            problems.append(f"{name} ({specifier}) is missing from binder/requirements.txt")
            continue
        if _Requirement is not None:
            ok = _Version(pins[name]) in _Requirement(f"{name}{specifier}").specifier
        else:
            ok = _satisfies(pins[name], specifier)
        if not ok:
            problems.append(f"{name}=={pins[name]} does not satisfy pyproject's '{specifier}'")
    assert not problems, "; ".join(problems)


def test_fallback_comparator_agrees_on_the_ranges_we_use():
    assert _satisfies("2.4.6", ">=1.26,<3")
    assert not _satisfies("3.0", ">=1.26,<3")
    assert _satisfies("0.13.1", ">=0.12.40,<0.14")
    assert not _satisfies("0.12.39", ">=0.12.40,<0.14")
    assert _satisfies("4.6.6", ">=4,<5")


def test_postbuild_is_an_executable_bash_script_with_set_e():
    post = BINDER / "postBuild"
    text = post.read_text()
    assert text.startswith("#!"), "postBuild must start with a shebang"
    assert re.search(r"^set -e", text, re.M), "postBuild needs `set -e`: errors are otherwise ignored"
    assert os.access(post, os.X_OK), "postBuild must be executable (chmod +x binder/postBuild)"


def test_postbuild_writes_news_off_overrides_into_nb_python_prefix(tmp_path):
    """In repo2docker JupyterLab runs from ${NB_PYTHON_PREFIX}; the override must land there."""
    prefix = tmp_path / "notebook-env"
    env = dict(os.environ, NB_PYTHON_PREFIX=str(prefix))
    subprocess.run([str(BINDER / "postBuild")], check=True, env=env, cwd=tmp_path)
    overrides = json.loads((prefix / "share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides[NEWS_KEY] == {"fetchNews": "false", "checkForUpdates": False}


def test_postbuild_without_nb_python_prefix_uses_the_python_on_path(tmp_path):
    prefix = tmp_path / "env"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_python = bindir / "python"
    fake_python.write_text(f"#!/bin/sh\necho {prefix}\n")
    fake_python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "NB_PYTHON_PREFIX"}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run([str(BINDER / "postBuild")], check=True, env=env, cwd=tmp_path)
    assert (prefix / "share/jupyter/lab/settings/overrides.json").is_file()


# --------------------------------------------------------------------------- heavier, opt-in

def _repo2docker_cmd() -> list[str] | None:
    exe = shutil.which("repo2docker")
    if exe:
        return [exe]
    import importlib.util

    if importlib.util.find_spec("repo2docker") is not None:
        return [sys.executable, "-m", "repo2docker"]
    return None


def test_repo2docker_accepts_the_layout():
    """`repo2docker --no-build` prints the Dockerfile it would build; fails on a broken layout."""
    cmd = _repo2docker_cmd()
    if cmd is None:
        pytest.skip("repo2docker is not installed (pip install jupyter-repo2docker to run this check)")
    proc = subprocess.run(
        [*cmd, "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan", str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "binder/requirements.txt" in out, out[-4000:]
    assert "binder/postBuild" in out, out[-4000:]
    version = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    assert f"python={version}" in out or f"python{version}" in out, out[-4000:]


def _copy_repo(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "test-artifacts", "build", "dist", "*.egg-info", "__pycache__",
        ".hypothesis", ".pytest_cache", ".ipynb_checkpoints",
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.mark.skipif(os.environ.get("KMW_BINDER_VENV") != "1",
                    reason="set KMW_BINDER_VENV=1 to build a clean venv from binder/requirements.txt "
                           "(needs PyPI, takes a minute)")
def test_clean_binder_venv_runs_the_start_notebook(tmp_path):
    """What Binder builds, minus docker: a fresh venv installed only from binder/requirements.txt
    (+ pytest/nbval to check it) must run notebooks/00_start_here.ipynb without an exception."""
    repo = _copy_repo(tmp_path / "repo")
    notebook = repo / "notebooks" / "00_start_here.ipynb"
    assert notebook.is_file(), "notebooks/00_start_here.ipynb is the Binder landing page; it is missing"

    wanted = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    python = shutil.which(f"python{wanted}")
    # a pyenv shim may exist for a version that is not installed: check it really runs
    if python and subprocess.run([python, "-c", "import venv"], capture_output=True).returncode != 0:
        python = None
    if python is None:
        print(f"python{wanted} (binder/runtime.txt) not found; using {sys.executable} instead")
        python = sys.executable
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    vpy = str(venv / "bin" / "python")
    pip = [vpy, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # pip resolves the '.' line against the working directory: the repo root, as in repo2docker.
    subprocess.run([*pip, "-r", "binder/requirements.txt"], check=True, cwd=repo, timeout=900)
    subprocess.run([*pip, "pytest>=8", "nbval>=0.11"], check=True, cwd=repo, timeout=900)
    proc = subprocess.run(
        [vpy, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "notebooks/00_start_here.ipynb"],
        cwd=repo, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
