"""Chapter 03's problems: TLB entries for a size and a page size, faults of a fresh mmap, fork + write copies.

Every answer is computed by the model (:mod:`kernelmem_widgets.exercises.ch03`, which the
chapter's exercises use too): ``MmStruct.touch_range()`` follows ``do_anonymous_page()`` and
``do_wp_page()`` / ``wp_page_copy()`` of Linux 6.18 (mm/memory.c), ``fork()`` follows
``copy_present_pte()``; TLB entries are the translations of the given page size the buffer spans.
"""

from __future__ import annotations

import numpy as np

from ..exercises import ch03
from ..model.errors import InvalidArgument
from ..model.mmu.tlb import GiB1, KiB4, MiB2
from .base import Part, Problem, check_count, chapter_generator, part_label, with_defaults

__all__ = ["OPTIONS", "generate"]

OPTIONS = {
    "pages": (128, "most pages a process maps or writes before fork"),
}
PAGE_SIZES = {"4 KiB": KiB4, "2 MiB": MiB2, "1 GiB": GiB1}
MAX_PAGES = 1024


def _options(raw: dict) -> dict:
    options = with_defaults("03", raw, OPTIONS)
    options["pages"] = check_count(options["pages"], most=MAX_PAGES, what="pages")
    if options["pages"] < 2:
        raise InvalidArgument(f"pages {options['pages']}: expected at least 2")
    return options



def _problem(number: int, seed: int, options: dict) -> Problem:
    rng = np.random.default_rng(seed)
    labels = (part_label(number, step) for step in range(26))
    mib = ch03.params(1, rng)["mib"]
    page_names = [str(name) for name in rng.choice(list(PAGE_SIZES), size=2, replace=False)]
    tlb = ch03.solution(1, {"mib": mib})
    parts = [Part(next(labels), "int", f"a {mib} MiB buffer in {name} pages: how many TLB entries translate all of it "
                  "at once?", tlb[list(PAGE_SIZES).index(name)],
                  {"hint": "divide the size by the page size, rounding up"}) for name in page_names]
    mapped = int(rng.integers(2, options["pages"] + 1))
    faults, pages = ch03.solution(2, {"pages": mapped})
    parts.append(Part(next(labels), "int", f"mmap of {mapped} fresh anonymous pages, each read, then each written: "
                      "how many page faults in all?", faults,
                      {"hint": "a read maps the zero page, the write after it faults again"}))
    parts.append(Part(next(labels), "int", "... and how many pages does it take from the buddy allocator?", pages,
                      {"hint": "the zero page is shared: reads take no page"}))
    written = int(rng.integers(2, options["pages"] + 1))
    child_faults, child_pages, parent_faults, parent_pages = ch03.solution(3, {"pages": written})
    parts.append(Part(next(labels), "int", f"a process has written {written} pages and forks; the child writes them "
                      "all: how many new pages does the child get?", child_pages,
                      {"hint": "fork() write-protects every PTE; each write to a shared page copies it"}))
    parts.append(Part(next(labels), "int", "then the parent writes them all: how many page faults does it take?",
                      parent_faults, {"hint": "its PTEs are still write-protected"}))
    parts.append(Part(next(labels), "int", "... and how many new pages does the parent get?", parent_pages,
                      {"hint": "after the child's copies, who else maps each page?"}))
    setup = ("machine: linux-6.18-x86_64, 64 MiB, 4 KiB base pages, transparent hugepages off",)
    return Problem(number, f"TLB entries, faults and copies ({mib} MiB, {mapped} and {written} pages)", setup,
                   tuple(parts))


generate = chapter_generator(_options, _problem)
