"""Chapter 07's problems: uC/OS-III partitions (os_mem.c V3.08.02), from the model.

Each problem draws its own numbers through the chapter's exercises (:mod:`kernelmem_widgets.exercises.ch07`):
the addresses ``OSMemGet`` returns after gets and puts (a LIFO free list), the error each
``OSMemCreate`` call returns (os_mem.c's order of checks), and the least RAM two partitions need
to serve a trace without a failure (the tuner, :func:`kernelmem_widgets.model.rtos.tune_partitions`).
"""

from __future__ import annotations

import numpy as np

from ..exercises import ch07
from ..model.rtos import tune_partitions
from .base import Part, Problem, chapter_generator, part_label, with_defaults

__all__ = ["OPTIONS", "generate"]

OPTIONS: dict = {}



def _problem(number: int, seed: int, _options: dict) -> Problem:
    drawn = int(np.random.default_rng(seed).integers(2**31))
    labels = (part_label(number, step) for step in range(3))
    trace = ch07._ex3_trace(drawn)
    parts = (
        Part(next(labels), "addresses", ch07.question_1(drawn), tuple(ch07._solution_1(drawn)),
             {"names": list("abcde"), "hint": "OSMemPut pushes a block at the head; OSMemGet pops the head"}),
        Part(next(labels), "oserr", "for each OSMemCreate call A to F above, in order: the error it returns, or OK "
             "(OS_ERR_MEM_INVALID_SIZE, INVALID_SIZE or 22204 style)", tuple(ch07._solution_2(drawn)),
             {"names": [chr(65 + i) for i in range(6)],
              "hint": "OSMemCreate stops at the first failed check, in os_mem.c's order"}),
        Part(next(labels), "int", f"Trace {trace.to_text()}, behind a wrapper with a 4-byte header: the least RAM, in "
             "bytes and counting two 20-byte OS_MEM control blocks, that two partitions (blocks a multiple of 4 bytes, "
             "at least 2 each) need to serve it with no failure",
             tune_partitions(trace, 64 * 1024, max_classes=2).ram_bytes,
             {"hint": "each block is its largest request + 4 rounded to 4; count only the blocks live at once"}),
    )
    calls = ch07.question_2(drawn).splitlines()[1:-1]
    setup = ("uC/OS-III V3.08.02 os_mem.c on a Cortex-M4, 4-byte pointers; six OSMemCreate calls:", *calls)
    return Problem(number, "uC/OS-III partitions on a Cortex-M4", setup, parts)


generate = chapter_generator(lambda raw: with_defaults("07", raw, OPTIONS), _problem)
