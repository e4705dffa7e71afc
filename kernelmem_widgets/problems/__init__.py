"""Problem sets for a class: seeded per student, with answer keys, and a grader.

``problem_set("01", seed=7, student="alice", count=3)`` builds the same problems every time for
the same arguments: the CLI (``kernelmem problems``), the notebook and the grader
(``kernelmem grade``) all call it, so an answer file is graded by recomputing its key.  No
module here imports Jupyter.
"""

from __future__ import annotations

from . import boot, buddy, contiguity, rtos, slab
from ..exercises.answers import KINDS, Verdict, check_answer, format_answer, parse_kind
from .base import FORMATS, Part, Problem, ProblemSet, check_count, check_seed, student_seed
from ..model.errors import InvalidArgument

__all__ = ["CHAPTERS", "problem_set", "ProblemSet", "Problem", "Part", "student_seed", "check_answer",
           "parse_kind", "format_answer", "Verdict", "KINDS", "FORMATS"]

#: Chapter -> (generator module, title).  Each later chapter adds its generator here.
CHAPTERS = {
    "01": (buddy, "the buddy allocator: which pfn, which block after a free, buddyinfo"),
    "02": (slab, "kmalloc caches, objects per slab, vmalloc pages, module limits"),
    "03": (contiguity, "TLB entries, faults of a fresh mmap, fork + write copies"),
    "06": (boot, "the user map for a command line, last_pfn, whether an ioremap fits"),
    "07": (rtos, "uC/OS-III partitions: OSMemGet addresses, OSMemCreate errors, sizing two partitions"),
}
from . import highmem  # noqa: E402 - chapter 04, registered additively
CHAPTERS["04"] = (highmem, "32-bit highmem: LOWMEM/HIGHMEM, VMALLOC_START, pkmap slots and flushes")


def chapter_key(chapter) -> str:
    """``"1"``, ``1``, ``"01"`` and ``"01_buddy_orders"`` all name chapter ``"01"``."""
    text = str(chapter).strip()
    digits = text.split("_", 1)[0]
    if digits.isdigit() and f"{int(digits):02d}" in CHAPTERS:
        return f"{int(digits):02d}"
    raise InvalidArgument(f"no problems for chapter {chapter!r}; chapters with problems: "
                          + ", ".join(f"{key} ({title})" for key, (_, title) in CHAPTERS.items()))


def problem_set(chapter, seed: int = 0, *, student: str | None = None, count: int = 3, **options) -> ProblemSet:
    """The problems of ``chapter`` for ``seed`` (and ``student``, whose id derives a seed of its own)."""
    key = chapter_key(chapter)
    seed = check_seed(seed)
    count = check_count(count)
    drawn = seed if student is None else student_seed(student, seed)
    generator = CHAPTERS[key][0]
    used, problems = generator.generate(drawn, count, options)
    return ProblemSet(key, seed, student, {"count": count, **used}, tuple(problems))
