"""Exercises of the chapters, their check functions and solutions, and real captures to compare with.

Pure Python (no Jupyter import), so the checks are tested in ``tests/``; the chapters call them
from an answer box and show only the feedback, never the solution.

* :mod:`.answers` - the kit's one answer parser: what a person types (``32K``, ``0x0 0x4 0x2``,
  ``916/1000``, names), each kind of answer a problem set asks for, and feedback naming the mistake.
* :mod:`.student` - one student id per kernel (or ``$JUPYTERHUB_USER``) and the per-student seed.
* :mod:`.ch01`, :mod:`.ch02` - chapters 01 (buddy allocator) and 02 (slab sizes) conceptual exercises.
* :mod:`.ch03`, :mod:`.ch06` - chapters 03 (why contiguous) and 06 (mem=, ioremap) exercises, per student.
* :mod:`.ch07` - chapter 07 (uC/OS-III partitions) exercises, per student.
* :mod:`.real_captures` - /proc files of real machines, with their sources, for side-by-side views.
"""

from . import ch07
from .real_captures import REAL_AGED_BUDDYINFO, compare_buddyinfo, free_share_by_order

__all__ = ["ch07", "REAL_AGED_BUDDYINFO", "compare_buddyinfo", "free_share_by_order"]
