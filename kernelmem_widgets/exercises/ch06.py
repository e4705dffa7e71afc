"""Chapter 06's exercises (mem=, memmap=, ioremap), per student, each answer computed by booting the model.

As in :mod:`.ch03`: the book's numbers without a student id, a per-student variant otherwise
(:func:`kernelmem_widgets.exercises.student.exercise_rng`); ``question_N()``, ``check_N(answer)``
(prints the verdict), ``check_N(reveal=True)``, ``solution_N()``, ``answer_box(N)``;
``check(N, answer)`` returns the verdict as text.  :func:`params` with a generator of its own
feeds :mod:`kernelmem_widgets.problems.boot`.

The model boots Linux 6.18 x86-64 (``parse_memopt()``, ``parse_memmap_one()``,
``e820__end_of_ram_pfn()`` in arch/x86/kernel/e820.c) and 2.6.35 i386 (``__get_vm_area()`` for
``ioremap()``, mm/vmalloc.c), and refuses ``ioremap()`` of System RAM as ``__ioremap_caller()``
(arch/x86/mm/ioremap.c) does.
"""

from __future__ import annotations

from functools import partial

import re

from ..model import Machine
from ..model.boot import E820_TYPE_RAM, IoremapRefused
from ..model.errors import KernelMemError
from ..model.units import format_size, memparse
from . import student

__all__ = ["params", "question", "solution", "check", "reveal_text", "answer_box", "COUNT", "CALLS_4",
           "check_1", "check_2", "check_3", "check_4", "solution_1", "solution_2", "solution_3", "solution_4",
           "question_1", "question_2", "question_3", "question_4"]

MiB = 1 << 20
COUNT = 4
#: The four calls of exercise 4, in the book's order.
CALLS_4 = (("ioremap", 0x1000000, None), ("memremap", 0x1000000, "MEMREMAP_WB"),
           ("memremap", 0x1000000, "MEMREMAP_WC"), ("ioremap", 0xFEBF0000, None))
BOOK = {1: {"mem": "1G", "size": "64M", "at": 0x30000000}, 2: {"ram": "6G", "mem": "5G"},
        3: {"sizes": ("16M", "64M", "100M", "119M", "120M", "1G")}, 4: {"order": (0, 1, 2, 3)}}
_PLACEHOLDERS = {1: "first, last of each range, e.g. 0x0 0x9fbff 0x100000 0x3fffffff", 2: "a pfn, e.g. 0x140000",
                 3: "the sizes that work, e.g. 16M 64M", 4: "four yes/no, e.g. yes no yes no"}


def params(number: int, rng=None) -> dict:
    """Exercise ``number``'s numbers: the book's without ``rng``, else drawn from it."""
    if number not in BOOK:
        raise KeyError(f"no exercise {number} in chapter 06; there are {COUNT}")
    if rng is None:
        return dict(BOOK[number])
    if number == 1:
        mem = int(rng.choice([768, 1024, 1536]))
        size = int(rng.choice([16, 32, 64, 128]))
        at = int(rng.integers(1, (mem - size) // 256 + 1)) * 0x10000000 if mem - size >= 256 else 0x8000000
        return {"mem": f"{mem}M" if mem % 1024 else f"{mem // 1024}G", "size": f"{size}M", "at": at}
    if number == 2:
        ram = int(rng.choice([5, 6, 8]))
        mem = int(rng.choice([m for m in (4352, 4608, 5120, 5632, 6144, 7168) if m < (ram + 1) * 1024]))
        return {"ram": f"{ram}G", "mem": f"{mem}M" if mem % 1024 else f"{mem // 1024}G"}
    if number == 3:
        pool = ("8M", "16M", "32M", "64M", "96M", "100M", "112M", "118M", "119M", "120M", "128M", "256M", "1G")
        picked = sorted(rng.choice(len(pool), size=6, replace=False).tolist())
        return {"sizes": tuple(pool[i] for i in picked)}
    return {"order": tuple(int(i) for i in rng.permutation(4))}


def _current(number: int) -> dict:
    return params(number, student.exercise_rng("06", number))


def _call_text(index: int) -> str:
    kind, addr, flag = CALLS_4[index]
    return f"{kind}({addr:#x}, 4K{', ' + flag if flag else ''})"


def question(number: int, values: dict | None = None) -> str:
    """Exercise ``number``'s question with ``values`` (default: the current student's numbers)."""
    p = values or _current(number)
    if number == 1:
        return (f"A 2 GiB QEMU guest (linux-6.18-x86_64) boots with 'mem={p['mem']} memmap={p['size']}${p['at']:#x}'. "
                "Give the usable ranges of the user-defined map the kernel prints, as the first and last byte "
                "address of each range, in order.")
    if number == 2:
        return (f"A {format_size(memparse(p['ram']))} QEMU guest (3 GiB below the PCI hole, the rest above 4 GiB) boots with "
                f"'mem={p['mem']}'. Which last_pfn does the kernel print?")
    if number == 3:
        return ("On the 32-bit 2.6.35 machine booted with 'mem=1G' and nothing else in its vmalloc area, which of "
                f"ioremap(0x40000000, size) succeed for size {', '.join(p['sizes'])}? Give the sizes that work "
                "(or 'none').")
    calls = ", ".join(f"{chr(65 + i)}: {_call_text(index)}" for i, index in enumerate(p["order"]))
    return (f"On the 2 GiB x86-64 guest booted without parameters, which of these return a pointer? {calls}. "
            "Answer yes or no for each, in order.")


def _works(call) -> bool:
    try:
        call()
    except IoremapRefused:
        return False
    return True


def solution(number: int, values: dict | None = None):
    """The model's answer to exercise ``number`` with ``values`` (default: the current student's)."""
    p = values or _current(number)
    if number == 1:
        machine = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline=f"mem={p['mem']} memmap={p['size']}${p['at']:#x}")
        return [(e.addr, e.last) for e in machine.boot.early.table if e.type == E820_TYPE_RAM]
    if number == 2:
        return Machine.preset("linux-6.18-x86_64", ram=p["ram"], cmdline=f"mem={p['mem']}").boot.max_pfn
    if number == 3:
        fits = []
        for size in p["sizes"]:
            machine = Machine.preset("linux-2.6.35-i386", cmdline="mem=1G")
            if _works(lambda: machine.ioremap(0x40000000, memparse(size))):
                fits.append(size)
        return fits
    if number == 4:
        machine = Machine.preset("linux-6.18-x86_64", ram="2G", e820=True)
        results = []
        for index in p["order"]:
            kind, addr, flag = CALLS_4[index]
            call = (lambda: machine.ioremap(addr, 4096)) if kind == "ioremap" else \
                (lambda: machine.memremap(addr, 4096, flag))
            results.append(_works(call))
        return results
    raise KeyError(f"no exercise {number} in chapter 06; there are {COUNT}")


_TOKEN = re.compile(r"0x[0-9a-f]+|\d+(?:\.\d+)?\s*[kmgt]?(?:i?b)?|[a-z_']+", re.I)
_YES = {"true", "yes", "y", "ok", "pointer", "works", "1"}
_NO = {"false", "no", "n", "null", "refused", "fails", "fail", "0"}


def _flat(answer) -> list:
    if isinstance(answer, (list, tuple)):
        return [item for value in answer for item in _flat(value)]
    if isinstance(answer, str):
        return [token.replace(" ", "") for token in _TOKEN.findall(answer)]
    return [answer]


def _normalise(number: int, answer):
    """``answer`` (code form or typed text) in the form :func:`solution` returns; ValueError if unreadable."""
    items = _flat(answer)
    if number == 4:
        out = []
        for item in items:
            word = str(item).lower()
            if isinstance(item, bool) or word in _YES | _NO:
                out.append(bool(item) if isinstance(item, bool) else word in _YES)
            else:
                raise ValueError(f"{item!r} is not yes or no")
        return out
    if number == 3 and [str(item).lower() for item in items] == ["none"]:
        return []
    try:
        values = [item if isinstance(item, int) else memparse(str(item).upper().replace("IB", "").rstrip("B"))
                  for item in items]
    except KernelMemError as error:
        raise ValueError(str(error)) from None
    if number == 1:
        if len(values) % 2:
            raise ValueError("give a first and a last address for every range")
        return [tuple(values[i:i + 2]) for i in range(0, len(values), 2)]
    if number == 2:
        if len(values) != 1:
            raise ValueError("give one page frame number")
        return values[0]
    return sorted(values)


_HINTS = {1: "mem= removes usable RAM above the limit; memmap=nn$ss cuts a reserved hole out of what is left",
          2: "last_pfn is one past the last usable page: mem= is an address limit, the PCI hole is below it",
          3: "an ioremap needs size + one guard page of the ~120 MiB vmalloc area, 512 KiB aligned",
          4: "ioremap refuses System RAM; memremap(WB) of RAM returns the direct map; WC of RAM is refused"}


def _specific(number: int, given, expected) -> str:
    if number == 1 and len(given) == len(expected) and [g[0] for g in given] == [e[0] for e in expected]:
        return "right starts, wrong ends: a range's last byte is one below the next boundary (…fff), "
    if number == 2 and given * 4096 == expected or (number == 2 and given == expected * 4096):
        return "that is a byte address, not a page frame number (divide by 4096), "
    if number == 2 and given == expected - 1:
        return "one off: last_pfn is one past the last page frame, "
    if number == 4 and len(given) == len(expected):
        wrong = [chr(65 + i) for i, (a, b) in enumerate(zip(given, expected)) if a != b]
        return f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong: "
    if number == 3 and set(given) > set(memparse(s) for s in expected):
        return "too many: the window is smaller than it looks, "
    return ""


def check(number: int, answer) -> str:
    """Whether ``answer`` is right, in words (None: not answered yet)."""
    if answer is None:
        return (f"Exercise {number}: not answered yet - type your answer in the box and press Check, or set "
                f"answer_{number} and run the cell again (or press Reveal).")
    right = solution(number)
    expected = right if number != 3 else sorted(memparse(s) for s in right)
    try:
        given = _normalise(number, answer)
    except (TypeError, ValueError) as error:
        return f"Exercise {number}: cannot read {answer!r} ({error}); {_PLACEHOLDERS[number]}."
    if given == expected:
        return f"Exercise {number}: right \N{HEAVY CHECK MARK}"
    return f"Exercise {number}: not quite \N{HEAVY BALLOT X} - {_specific(number, given, expected)}{_HINTS[number]}."


def reveal_text(number: int) -> str:
    """The model's answer for the current student, and why."""
    p, answer = _current(number), solution(number)
    if number == 1:
        return (f"usable ranges: {', '.join(f'({a:#x}, {b:#x})' for a, b in answer)}\nmem={p['mem']} drops usable RAM "
                f"from {memparse(p['mem']):#x}; memmap={p['size']}${p['at']:#x} marks {p['at']:#x}-"
                f"{p['at'] + memparse(p['size']) - 1:#x} reserved, and the sanitiser lets the reserved type win")
    if number == 2:
        return (f"last_pfn = {answer:#x}: RAM above 4 GiB starts at 0x100000000; mem={p['mem']} is an address "
                f"limit at {memparse(p['mem']):#x}, so last_pfn is the first page frame above the last usable page "
                f"({format_size(answer * 4096)} of addresses)")
    if number == 3:
        return (f"{', '.join(answer) if answer else 'none'} fit: the window is 0xf7ffe000-0xff7fe000 (120 MiB), the "
                "first 512 KiB boundary is 0xf8000000, and each mapping takes one guard page more")
    return ("; ".join(f"{_call_text(index)} -> {'pointer' if ok else 'NULL'}" for index, ok in zip(p["order"], answer))
            + "\n0x1000000 is System RAM (the kernel image), so ioremap() refuses it and memremap(WC) too; "
              "memremap(WB) hands out the direct-map address; 0xfebf0000 is in the PCI hole: ioremap() maps it")


def _checker(number: int):
    def check_n(answer=None, *, reveal: bool = False) -> None:
        print(reveal_text(number) if reveal else check(number, answer))
    check_n.__name__ = check_n.__qualname__ = f"check_{number}"
    check_n.__doc__ = f"Exercise {number}'s code form: prints the verdict (``reveal=True``: the answer)."
    return check_n


check_1, check_2, check_3, check_4 = (_checker(n) for n in range(1, 5))


#: The code forms a notebook imports: ``solution_N()``, ``question_N()``.
solution_1, solution_2, solution_3, solution_4 = (partial(solution, n) for n in range(1, COUNT + 1))
question_1, question_2, question_3, question_4 = (partial(question, n) for n in range(1, COUNT + 1))


def answer_box(number: int):
    """Exercise ``number``'s answer box: its question for the current student, Check and Reveal."""
    from ..views.exercise import AnswerBox

    return AnswerBox(_checker(number), placeholder=_PLACEHOLDERS[number], parse=str, number=number,
                     question=lambda: question(number))
