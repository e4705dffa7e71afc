"""Exercises with self-check: each chapter's questions, solutions and checks live here, never on the page.

A check takes what a person would type (text) and returns ``(right, feedback)``; the feedback
names the specific mistake without giving the answer away.  Questions take a ``seed`` so each
student can get their own numbers.  Pure Python: no Jupyter import.
"""

from . import ch07

__all__ = ["ch07"]
