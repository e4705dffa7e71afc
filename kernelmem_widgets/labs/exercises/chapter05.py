"""Chapter 5's exercises (a 100 MB DMA buffer), checked against the model of Linux 6.18.

1. Which routes give a 24-bit (ISA) device a 100 MB buffer on the chapter's machine?
2. How large a ``cma=`` for two 100 MB ``dma_alloc_coherent()`` buffers at once (in MiB)?
3. Why did ``cma_alloc()`` fail on the aged machine with pinned pages? (a, b, c or d)

The notebook imports ``check_N`` and ``answer_box``; the answers are computed here by the model.
"""

from __future__ import annotations

from functools import lru_cache

from ...model.dma import Device, dma_alloc_coherent, evaluate_routes, ROUTE_NAMES
from ...model.errors import KernelMemError
from ...model.machine import Machine
from ...views.exercise import AnswerBox, parse_answer
from ._common import report

__all__ = ["CHAPTER_MACHINE", "check_1", "check_2", "check_3", "answer_box", "solution_1", "solution_2",
           "solution_3", "EX3_CHOICES"]

#: The chapter's machine: (preset, RAM, command line)
CHAPTER_MACHINE = ("linux-6.18-x86_64-cma", "2G", "cma=128M memmap=100M$0x20000000")
MiB = 1 << 20


def chapter_machine(cmdline: str | None = None) -> Machine:
    preset, ram, default = CHAPTER_MACHINE
    return Machine.preset(preset, ram=ram, cmdline=default if cmdline is None else cmdline, seed=1)


# --- exercise 1: routes for an ISA device
@lru_cache(maxsize=1)
def solution_1() -> tuple[str, ...]:
    return tuple(r.name for r in evaluate_routes(chapter_machine(), Device.isa("isa-dma")) if r.ok)


def _route_names(answer) -> list[str]:
    values = answer if isinstance(answer, list) else [answer]
    return sorted(str(value).strip().lower() for value in values if str(value).strip())


def check_1(answer=None, *, reveal=False):
    expected = solution_1()
    if reveal:
        print("Routes that work for the ISA device: " + (", ".join(expected) if expected else "none"))
        print("Its masks are 24 bits: only ZONE_DMA (the first 16 MiB, 15 MiB of it RAM the kernel manages) is "
              "reachable. No CMA area, memmap= region or SG list of 100 MB fits below 16 MiB, and without an IOMMU "
              "nothing remaps higher pages; SWIOTLB's pool is below 4 GiB, not below 16 MiB.")
        return
    names = _route_names(answer) if answer is not None else []
    wanted = sorted(expected) if expected else ["none"]
    right = answer is not None and names == wanted
    unknown = [n for n in names if n not in ROUTE_NAMES and n != "none"]
    hint = (f"{', '.join(unknown)}: not a route name (the buttons: {', '.join(ROUTE_NAMES)})" if unknown else
            "look at the device's mask: 0xffffff is 16 MiB; which of the routes can place 100 MB below that?")
    report(1, answer, right, hint)


# --- exercise 2: cma= for two buffers
@lru_cache(maxsize=1)
def solution_2() -> int:
    """The smallest cma= (MiB, in pageblock steps of 2 MiB) with which two 100 MiB buffers succeed."""
    device = Device.pci("nic", 64)
    for mib in range(200, 260, 2):
        machine = Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline=f"cma={mib}M")
        try:
            dma_alloc_coherent(machine, device, 100 * MiB)
            dma_alloc_coherent(machine, device, 100 * MiB)
        except KernelMemError:
            continue
        return mib
    raise AssertionError("no cma= size up to 258M gives two buffers")


def _mib(answer) -> float | None:
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return None
    return answer / MiB if answer >= MiB else float(answer)        # "200M" parses to bytes, 200 is MiB


def check_2(answer=None, *, reveal=False):
    expected = solution_2()
    if reveal:
        print(f"cma={expected}M: each buffer is 25,600 pages, cma_alloc() aligns it to 2^min(get_order(100 MiB), "
              "CONFIG_CMA_ALIGNMENT 8) = 256 pages (1 MiB); the second starts right after the first, at 100 MiB, "
              "which is 1 MiB aligned, so 200 MiB (a multiple of the 2 MiB pageblock) is just enough.")
        return
    value = _mib(answer)
    right = value is not None and abs(value - expected) < 1e-9
    hint = ("give a size: 200M, 200 (MiB) or 209715200 (bytes)" if value is None else
            "too small: the second buffer does not fit" if value < expected else
            "that works, but it is more than needed: the area is carved out of RAM at boot")
    report(2, answer, right, hint)


# --- exercise 3: why did cma_alloc fail?
EX3_CHOICES = {
    "a": "the CMA area is smaller than 100 MiB",
    "b": "every candidate range holds a page pinned by pin_user_pages(), which migration cannot move (-EBUSY)",
    "c": "there is no free memory left to migrate the movable pages into (-ENOMEM)",
    "d": "the device's DMA mask cannot reach the CMA area",
}


def solution_3() -> str:
    return "b"


def check_3(answer=None, *, reveal=False):
    if reveal:
        print(f"b: {EX3_CHOICES['b']}. The area is 128 MiB; every 100 MiB window aligned to 1 MiB covers its middle, "
              "where the pinned pages are; cma_alloc() prints 'alloc failed, req-size: 25600 pages, ret: -16'.")
        return
    choice = str(answer[0] if isinstance(answer, list) and answer else answer).strip().lower()[:1] \
        if answer is not None else ""
    hints = {"a": "the area is 128 MiB (cma=128M): look at CmaTotal",
             "c": "that would be -ENOMEM (-12); the kernel's line says ret: -16, which is -EBUSY",
             "d": "the device is a 64-bit one; the same call worked before the pages were pinned"}
    report(3, answer, choice == "b", hints.get(choice, "answer a, b, c or d"))


_CHECKS = {1: check_1, 2: check_2, 3: check_3}
_PLACEHOLDERS = {1: "route names, e.g. dma_coherent_cma, sg_small (or none)", 2: "e.g. 256M",
                 3: "a, b, c or d"}


def answer_box(number: int) -> AnswerBox:
    """Exercise ``number``'s answer box (text field, Check, Reveal), bound to ``check_<number>``."""
    return AnswerBox(_CHECKS[number], placeholder=_PLACEHOLDERS[number], parse=parse_answer, number=number)
