"""Chapter 7 exercises: uC/OS-III partitions (os_mem.c V3.08.02) and sizing them for a trace.

1. Predict the addresses ``OSMemGet`` returns after a sequence of gets and puts.
2. Which ``OSMemCreate`` calls fail, and with which error (os_mem.c's order of checks matters).
3. Size two partitions for a short trace: no failure, least RAM.

Examples
--------
>>> question_2(0).splitlines()[0]
'Six OSMemCreate calls on a Cortex-M4 (4-byte pointers). For each, in order, give the error it returns, or OK:'
>>> check_2(0, "ok")[0]
False
"""

from __future__ import annotations


import numpy as np

from ..model.errors import InvalidArgument
from .answers import parse_kind
from ..model.rtos import (OS_ERR, MemPartition, PartitionMalloc, Ram, RtosError, RtosArgumentError, parse_classes,
                          parse_trace, run_trace, tune_partitions)

__all__ = ["question_1", "check_1", "question_2", "check_2", "question_3", "check_3", "EX1_SEQUENCE", "reveal",
           "student_seed", "answer_box", "COUNT"]

COUNT = 3

EX1_SEQUENCE = ("a = get", "b = get", "c = get", "put b", "d = get", "put a", "e = get")


def _ints(text: str) -> list[int]:
    return list(parse_kind("addresses", str(text)))


# ---------------------------------------------------------------- exercise 1
def _ex1_setup(seed: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(seed)
    p_addr = 0x2000_0000 + 0x100 * int(rng.integers(1, 16))
    blk_size = int(rng.choice([16, 24, 32, 48, 64]))
    return p_addr, 6, blk_size


def question_1(seed: int = 0) -> str:
    p_addr, n_blks, blk_size = _ex1_setup(seed)
    return (f"OSMemCreate(&part, \"ex1\", (void *){p_addr:#x}, {n_blks}, {blk_size}, &err) succeeds. Then: "
            + "; ".join(EX1_SEQUENCE) + ". Which addresses do a, b, c, d, e hold? (five numbers, hex like 0x20000100)")


def _solution_1(seed: int) -> list[int]:
    p_addr, n_blks, blk_size = _ex1_setup(seed)
    part, names = MemPartition(p_addr, n_blks, blk_size), {}
    for step in EX1_SEQUENCE:
        if "=" in step:
            names[step.split()[0]] = part.get()
        else:
            part.put(names[step.split()[1]])
    return [names[name] for name in "abcde"]


def check_1(seed: int, answer: str) -> tuple[bool, str]:
    """Right when the five addresses are those OSMemGet returns."""
    try:
        given = _ints(answer)
    except InvalidArgument:
        return False, "type five addresses, e.g. 0x20000100, 0x20000120, ..."
    if len(given) != 5:
        return False, f"expected five addresses (a, b, c, d, e), got {len(given)}"
    wrong = [name for name, mine, right in zip("abcde", given, _solution_1(seed)) if mine != right]
    if not wrong:
        return True, "right: the free list is LIFO, so the block put back last is the next one handed out"
    hint = ("a, b, c come off a fresh list in address order" if set(wrong) & set("abc")
            else "OSMemPut pushes the block at the head of the free list: the next OSMemGet returns it")
    return False, f"not quite: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong - {hint}"


# ---------------------------------------------------------------- exercise 2
_EX2_CALLS = ((0x2000_0100, 10, 32), (0x0, 1, 2), (0x2000_0602, 1, 16), (0x2000_0800, 4, 18), (0x2000_0900, 3, 2),
              (0x2000_0A02, 4, 6))


def _ex2_calls(seed: int) -> list[tuple[int, int, int]]:
    order = np.random.default_rng(seed).permutation(len(_EX2_CALLS)).tolist()
    return [_EX2_CALLS[i] for i in order]


def question_2(seed: int = 0) -> str:
    lines = [f"  {chr(65 + i)}: OSMemCreate(&p{i}, \"{chr(65 + i)}\", (void *){addr:#x}, {n}, {size}, &err)"
             for i, (addr, n, size) in enumerate(_ex2_calls(seed))]
    return ("Six OSMemCreate calls on a Cortex-M4 (4-byte pointers). For each, in order, give the error it returns, "
            "or OK:\n" + "\n".join(lines) + "\n(names like OS_ERR_MEM_INVALID_SIZE, their numbers, or the last words "
            "INVALID_SIZE; separate with commas)")


def _solution_2(seed: int) -> list[str]:
    out = []
    for addr, n, size in _ex2_calls(seed):
        try:
            MemPartition(addr, n, size, ram=Ram(size=0x1000))  # os_mem.c's checks run before the model's RAM check
            out.append("OS_ERR_NONE")
        except RtosError as error:
            out.append(error.code)
        except RtosArgumentError:
            out.append("OS_ERR_NONE")  # accepted by os_mem.c; only the model lacks the RAM
    return out


def check_2(seed: int, answer: str) -> tuple[bool, str]:
    """Right when each call's error (or OK) is the one os_mem.c returns."""
    try:
        parsed = list(parse_kind("oserr", str(answer)))
    except InvalidArgument as error:
        return False, str(error)
    if len(parsed) != len(_EX2_CALLS):
        return False, f"expected {len(_EX2_CALLS)} answers (one per call A..F), got {len(parsed)}"
    wrong = [chr(65 + i) for i, (mine, right) in enumerate(zip(parsed, _solution_2(seed))) if mine != right]
    if not wrong:
        return True, ("right: NULL address, then fewer than 2 blocks, then smaller than a pointer, then misaligned "
                      "address, then size not a multiple of the pointer size")
    return False, (f"not quite: call{'s' if len(wrong) > 1 else ''} {', '.join(wrong)} - OSMemCreate stops at the "
                   "FIRST failed check, in os_mem.c's order (address NULL, n_blks < 2, blk_size < pointer, address "
                   "alignment, blk_size multiple)")


# ---------------------------------------------------------------- exercise 3
def _ex3_trace(seed: int):
    rng = np.random.default_rng(seed)
    small = [int(s) for s in rng.integers(8, 40, 4)]
    large = [int(s) for s in rng.integers(200, 400, 2)]
    text = (f"+{small[0]}, +{small[1]}, +{large[0]}, -0, +{small[2]}, +{large[1]}, -1, -2, +{small[3]}, -3, -4, -5")
    return parse_trace(text, f"exercise 3, seed {seed}")


def question_3(seed: int = 0) -> str:
    return (f"The library makes these calls (+SIZE mallocs, -N frees the N-th allocation): {_ex3_trace(seed).to_text()}."
            " Behind a wrapper with a 4-byte header word, which TWO partitions (block size x count, blocks a multiple "
            "of 4 bytes, at least 2 blocks each) serve it with no failure in the least RAM? Type e.g. '32x3, 256x2'.")


def check_3(seed: int, answer: str) -> tuple[bool, str]:
    """Right when the classes serve the trace and use as little RAM as the tuner's best."""
    trace = _ex3_trace(seed)
    try:
        classes = parse_classes(str(answer))
        heap = PartitionMalloc(Ram(size=64 * 1024), classes)
    except (RtosError, RtosArgumentError) as error:
        return False, f"those partitions cannot be created: {error}"
    if len(classes) != 2:
        return False, f"give exactly two partitions, not {len(classes)}"
    run = run_trace(heap, trace, record=False)
    if run.failed:
        index, size, reason = run.first_failure
        return False, f"operation {index} (malloc({size})) fails: {reason}"
    best = tune_partitions(trace, 64 * 1024, max_classes=2)
    mine = sum(blk * count for blk, count in classes) + 2 * 20
    if mine > best.ram_bytes:
        return False, (f"it works, but takes {mine - best.ram_bytes} bytes more than necessary: make each block just "
                       "big enough (request + 4, rounded to 4) and count only the blocks live at the same time")
    return True, f"right: {mine} bytes including the two OS_MEM control blocks"


# ---------------------------------------------------------------- per student, Reveal, the answer box
def student_seed(number: int) -> int:
    """Exercise ``number``'s seed for the current student (0, the book's, without a student id)."""
    from .student import exercise_seed

    return exercise_seed("07", number, default=0)


def reveal(number: int, seed: int) -> str:
    """The model's answer to exercise ``number`` for ``seed``, and why."""
    if number == 1:
        return ("a, b, c, d, e = " + ", ".join(f"{a:#x}" for a in _solution_1(seed))
                + "\nOSMemGet pops the head of the free list, OSMemPut pushes the block back at the head (LIFO)")
    if number == 2:
        return (", ".join(f"{chr(65 + i)}: {'OK' if e == 'OS_ERR_NONE' else e}" for i, e in enumerate(_solution_2(seed)))
                + "\nOSMemCreate checks, in order: address NULL, n_blks < 2, blk_size < sizeof(void *), address "
                  "alignment, blk_size a multiple of sizeof(void *)")
    if number == 3:
        best = tune_partitions(_ex3_trace(seed), 64 * 1024, max_classes=2)
        return (f"{best.spec}: {best.ram_bytes} bytes including the two OS_MEM control blocks (another split of the "
                "same size is right too): each block is the largest request it serves + 4, rounded to 4, and each "
                "count is the most blocks live at once")
    raise KeyError(f"no exercise {number} in chapter 07; there are {COUNT}")


_QUESTIONS = {1: question_1, 2: question_2, 3: question_3}
_CHECKS = {1: check_1, 2: check_2, 3: check_3}
_PLACEHOLDERS = {1: "0x..., 0x..., ...", 2: "OK, INVALID_BLKS, ...", 3: "32x3, 256x2"}


def answer_box(number: int):
    """Exercise ``number``'s answer box: the question with the current student's seed, Check and Reveal."""
    from ..views.exercise import AnswerBox

    return AnswerBox(lambda text: _CHECKS[number](student_seed(number), text), parse=str, number=number,
                     placeholder=_PLACEHOLDERS[number], question=lambda: _QUESTIONS[number](student_seed(number)),
                     reveal=lambda: reveal(number, student_seed(number)))
