"""Whose exercises these are: one student id per kernel, and the per-student seed every exercise draws from.

The id comes from :func:`set_student` (the chapter's student box calls it once), else from the
environment JupyterHub sets for each user (``JUPYTERHUB_USER``), else there is none.  With no id
every exercise keeps the book's own numbers (the ones the notebooks print and nbval compares).
With an id, :func:`exercise_rng` gives each exercise a generator seeded from the same per-student
seed ``kernelmem problems --student ID`` uses (:func:`kernelmem_widgets.problems.base.student_seed`
with the course seed, 0 unless the instructor sets ``KERNELMEM_COURSE_SEED``), mixed with the
chapter and the exercise number, so the student's variant is stable across runs and kernels and
differs between students.  The answers are never stored: each check recomputes them from the seed.

Pure Python: the answer boxes subscribe with :func:`on_change` to re-draw their question.
"""

from __future__ import annotations

import os
import weakref

import numpy as np

from ..model.errors import InvalidArgument
from ..problems.base import check_seed, student_seed

__all__ = ["student", "set_student", "clear_student", "course_seed", "student_seed_now", "exercise_rng",
           "exercise_seed", "on_change", "variant_line", "ENVIRONMENT"]

#: The environment variable JupyterHub sets to the user's name in every single-user server.
ENVIRONMENT = "JUPYTERHUB_USER"
_state: dict = {"id": None}
_listeners: list = []


def student() -> str | None:
    """The student id in force: the one set in this kernel, else ``$JUPYTERHUB_USER``, else None."""
    if _state["id"] is not None:
        return _state["id"]
    value = os.environ.get(ENVIRONMENT, "").strip()
    return value or None


def course_seed() -> int:
    """The course's seed (``$KERNELMEM_COURSE_SEED``, default 0), the ``--seed`` of ``kernelmem problems``."""
    text = os.environ.get("KERNELMEM_COURSE_SEED", "0").strip() or "0"
    if not text.isdigit():
        raise InvalidArgument(f"KERNELMEM_COURSE_SEED={text!r}: expected a whole number")
    return check_seed(int(text))


def set_student(student_id: str | None) -> str | None:
    """Use ``student_id`` for this kernel's exercises (None or "" goes back to the environment or the book's
    numbers); every answer box re-draws its question.  A bad id raises :class:`InvalidArgument`, unchanged."""
    if student_id is not None and str(student_id).strip():
        student_seed(str(student_id), 0)            # validates: one line, at most 200 characters
        _state["id"] = str(student_id).strip()
    else:
        _state["id"] = None
    for ref in list(_listeners):
        listener = ref()
        if listener is None:
            _listeners.remove(ref)
        else:
            listener()
    return student()


def clear_student() -> None:
    """Forget the id set in this kernel (tests; the environment's id still applies)."""
    set_student(None)


def student_seed_now() -> int | None:
    """The per-student seed of :func:`student` (None without a student)."""
    who = student()
    return None if who is None else student_seed(who, course_seed())


def exercise_rng(chapter: str, number: int) -> np.random.Generator | None:
    """A generator for exercise ``number`` of ``chapter`` for the current student; None means the book's numbers."""
    seed = student_seed_now()
    if seed is None:
        return None
    return np.random.default_rng([seed, int(str(chapter)[:2]), int(number)])


def exercise_seed(chapter: str, number: int, default: int = 0) -> int:
    """A whole-number seed for an exercise that takes one (chapter 07): ``default`` without a student."""
    rng = exercise_rng(chapter, number)
    return default if rng is None else int(rng.integers(1, 2**31))


def variant_line() -> str:
    """One line saying whose numbers the exercises show."""
    who = student()
    if who is None:
        return "no student id: these are the book's numbers"
    source = " (from JupyterHub)" if _state["id"] is None else ""
    return f"student {who}{source}: your own numbers"


def on_change(callback) -> None:
    """Call ``callback()`` whenever the student id changes (held weakly for bound methods)."""
    ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda cb=callback: cb)
    _listeners.append(ref)
