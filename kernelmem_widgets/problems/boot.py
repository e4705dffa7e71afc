"""Chapter 06's problems: the user-defined map for a command line, last_pfn, whether an ioremap fits.

Each answer is what the model computes when it boots (:mod:`kernelmem_widgets.exercises.ch06`,
shared with the chapter's exercises): Linux 6.18 x86-64's ``parse_memopt()`` /
``parse_memmap_one()`` and ``e820__end_of_ram_pfn()`` (arch/x86/kernel/e820.c) on a QEMU guest,
and 2.6.35 i386's ``__get_vm_area()`` for ``ioremap()`` (mm/vmalloc.c).
"""

from __future__ import annotations

import numpy as np

from ..exercises import ch06
from ..model.units import format_size, memparse
from .base import Part, Problem, check_count, chapter_generator, part_label, with_defaults

__all__ = ["OPTIONS", "generate"]

OPTIONS = {
    "sizes": (2, "ioremap sizes asked about per problem"),
}
SIZES = ("8M", "16M", "32M", "64M", "96M", "100M", "112M", "118M", "119M", "120M", "128M", "256M", "1G")


def _options(raw: dict) -> dict:
    options = with_defaults("06", raw, OPTIONS)
    options["sizes"] = check_count(options["sizes"], most=len(SIZES), what="sizes")
    return options



def _problem(number: int, seed: int, options: dict) -> Problem:
    rng = np.random.default_rng(seed)
    labels = (part_label(number, step) for step in range(26))
    usermap = ch06.params(1, rng)
    ranges = ch06.solution(1, usermap)
    names = [f"{end} of range {i + 1}" for i in range(len(ranges)) for end in ("first", "last")]
    cmdline = f"mem={usermap['mem']} memmap={usermap['size']}${usermap['at']:#x}"
    parts = [Part(next(labels), "addresses", f"2 GiB QEMU guest, '{cmdline}': the usable ranges of the user-defined "
                  "map (first and last byte of each, in order)", tuple(a for pair in ranges for a in pair),
                  {"names": names, "hint": "mem= drops RAM above it; memmap=nn$ss reserves nn bytes at ss",
                   "count_hint": "not this many ranges: give a first and a last byte for each usable range; "
                                 "does the reserved hole split a range in two?"})]
    limit = ch06.params(2, rng)
    parts.append(Part(next(labels), "hex", f"{format_size(memparse(limit['ram']))} QEMU guest, 'mem={limit['mem']}': the last_pfn the kernel "
                      "prints", ch06.solution(2, limit),
                      {"hint": "mem= is an address limit; RAM above 3 GiB sits above 4 GiB; last_pfn is one past "
                               "the last page"}))
    sizes = [SIZES[i] for i in sorted(rng.choice(len(SIZES), size=options["sizes"], replace=False).tolist())]
    fits = set(ch06.solution(3, {"sizes": tuple(sizes)}))
    for size in sizes:
        parts.append(Part(next(labels), "bool", f"2.6.35 i386, 'mem=1G', empty vmalloc area: does "
                          f"ioremap(0x40000000, {size}) return a pointer?", size in fits,
                          {"hint": "the ~120 MiB window holds the mapping plus a guard page, 512 KiB aligned"}))
    setup = ("machines: linux-6.18-x86_64 QEMU guests (3 GiB below the PCI hole, the rest above 4 GiB); "
             "linux-2.6.35-i386",)
    return Problem(number, f"mem=, memmap= and ioremap ({cmdline})", setup, tuple(parts))


generate = chapter_generator(_options, _problem)
