"""Exercises of the chapters, their check functions and solutions, and real captures to compare with.

Pure Python (no Jupyter import), so the checks are tested in ``tests/exercises``; the chapters
call them from an answer box and show only the feedback, never the solution.

* :mod:`.answers` - reading an answer given in any natural form (numbers, sizes, names).
* :mod:`.ch01` - chapter 01 (buddy allocator, orders, compaction) conceptual exercises.
* :mod:`.ch02` - chapter 02 (slab sizes, kmalloc, vmalloc, modules) conceptual exercises.
* :mod:`.real_captures` - /proc files of real machines, with their sources, for side-by-side views.
"""

from .real_captures import REAL_AGED_BUDDYINFO, compare_buddyinfo, free_share_by_order

__all__ = ["REAL_AGED_BUDDYINFO", "compare_buddyinfo", "free_share_by_order"]
