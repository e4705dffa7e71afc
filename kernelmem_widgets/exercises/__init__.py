"""Exercises of the chapters, their check functions and solutions, and real captures to compare with.

Pure Python (no Jupyter import), so the checks are tested in ``tests/``; the chapters call them
from an answer box and show only the feedback, never the solution.

* :mod:`.answers` - reading an answer given in any natural form (numbers, sizes, names).
* :mod:`.ch01`, :mod:`.ch02` - chapters 01 (buddy allocator) and 02 (slab sizes) exercises.
* :mod:`.ch07` - chapter 07 (uC/OS-III partitions) exercises.
* :mod:`.real_captures` - /proc files of real machines, with their sources, for side-by-side views.
"""

from . import ch07
from .real_captures import REAL_AGED_BUDDYINFO, compare_buddyinfo, free_share_by_order

__all__ = ["ch07", "REAL_AGED_BUDDYINFO", "compare_buddyinfo", "free_share_by_order"]
