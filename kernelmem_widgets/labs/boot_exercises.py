"""Chapter 6's exercises: the questions, the model's answers, the checks (solutions live here, not on the page).

Each check boots a fresh machine and compares what the reader typed with what the model (and so
the kernel) does; ``reveal(n)`` explains the answer.  ``reveal_button(n)`` is the notebook's
*Reveal* button.
"""

from __future__ import annotations

from ..model import Machine
from ..model.boot import E820_TYPE_RAM, IoremapRefused
from ..model.units import memparse

__all__ = ["EXERCISES", "solution", "check", "reveal", "reveal_button"]

MiB = 1 << 20

EXERCISES = {
    1: "linux-6.18-x86_64, 2 GiB QEMU guest, cmdline 'mem=1G memmap=64M$0x30000000': the usable ranges of the "
       "user-defined map, as a list of (first, last) byte addresses",
    2: "linux-6.18-x86_64, 6 GiB QEMU guest, cmdline 'mem=5G': the last_pfn the kernel prints",
    3: "linux-2.6.35-i386, 2 GiB, cmdline 'mem=1G', empty vmalloc area: which of ioremap(0x40000000, size) for "
       "size in 16M, 64M, 100M, 119M, 120M, 1G return a pointer",
    4: "linux-6.18-x86_64, 2 GiB QEMU guest, no parameters: which of ioremap(0x1000000, 4K), "
       "memremap(0x1000000, 4K, WB), memremap(0x1000000, 4K, WC), ioremap(0xfebf0000, 4K) return a pointer",
}
SIZES_3 = ("16M", "64M", "100M", "119M", "120M", "1G")


def _works(call) -> bool:
    try:
        call()
    except IoremapRefused:
        return False
    return True


def solution(number: int):
    """The model's answer to exercise ``number``."""
    if number == 1:
        machine = Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=1G memmap=64M$0x30000000")
        return [(e.addr, e.last) for e in machine.boot.early.table if e.type == E820_TYPE_RAM]
    if number == 2:
        return Machine.preset("linux-6.18-x86_64", ram="6G", cmdline="mem=5G").boot.max_pfn
    if number == 3:
        fits = []
        for size in SIZES_3:
            machine = Machine.preset("linux-2.6.35-i386", cmdline="mem=1G")
            if _works(lambda: machine.ioremap(0x40000000, memparse(size))):
                fits.append(size)
        return fits
    if number == 4:
        machine = Machine.preset("linux-6.18-x86_64", ram="2G", e820=True)
        calls = (lambda: machine.ioremap(0x1000000, 4096), lambda: machine.memremap(0x1000000, 4096, "MEMREMAP_WB"),
                 lambda: machine.memremap(0x1000000, 4096, "MEMREMAP_WC"), lambda: machine.ioremap(0xFEBF0000, 4096))
        return [_works(call) for call in calls]
    raise KeyError(f"no exercise {number}; there are {len(EXERCISES)}")


def _normalise(number: int, answer):
    if number == 1:
        return [(memparse(a), memparse(b)) for a, b in answer]
    if number == 2:
        return memparse(answer) if isinstance(answer, str) else answer
    if number == 3:
        return sorted((memparse(s) for s in answer))
    return [bool(x) for x in answer]


def check(number: int, answer) -> str:
    """Whether ``answer`` is right, in words (None: not answered yet)."""
    if answer is None:
        return f"Exercise {number}: not answered yet - set answer_{number} and run the cell again (or press Reveal)."
    right = solution(number)
    try:
        given = _normalise(number, answer)
        expected = _normalise(number, right) if number != 2 else right
    except (TypeError, ValueError):
        return f"Exercise {number}: {answer!r} is not in the form asked for ({EXERCISES[number]})."
    if given == expected:
        return f"Exercise {number}: right \N{HEAVY CHECK MARK}"
    hints = {1: "mem= removes usable RAM above the limit; memmap=nn$ss cuts a reserved hole out of what is left",
             2: "last_pfn is one past the last usable page: mem= is an address limit, the PCI hole is below it",
             3: "an ioremap needs size + one guard page of the ~120 MiB vmalloc area, 512 KiB aligned",
             4: "ioremap refuses System RAM; memremap(WB) of RAM returns the direct map; WC of RAM is refused"}
    return f"Exercise {number}: not quite - {hints[number]}."


def reveal(number: int) -> str:
    """The model's answer and why."""
    answer = solution(number)
    if number == 1:
        return f"usable ranges: {', '.join(f'({a:#x}, {b:#x})' for a, b in answer)}"
    if number == 2:
        return (f"last_pfn = {answer:#x}: the guest's RAM above 4 GiB starts at 0x100000000, mem=5G keeps it up to "
                "0x140000000, so the last page frame is 0x13ffff and last_pfn one more")
    if number == 3:
        return (f"{', '.join(answer)} fit: the window is 0xf7ffe000-0xff7fe000 (120 MiB), the first 512 KiB boundary "
                "is 0xf8000000, and each mapping takes one guard page more")
    return (f"{answer}: 0x1000000 is System RAM (the kernel image), so ioremap() refuses it and memremap(WC) too; "
            "memremap(WB) hands out the direct-map address; 0xfebf0000 is in the PCI hole: ioremap() maps it")


def reveal_button(number: int):
    """A *Reveal* button that prints the answer under it (the only widget here)."""
    import ipywidgets as widgets

    out = widgets.HTML()
    button = widgets.Button(description="Reveal", tooltip=f"show the answer to exercise {number}")
    button.add_class("kmw-reveal")
    button.on_click(lambda _b: setattr(out, "value", f"<pre>{reveal(number)}</pre>"))
    return widgets.VBox([button, out])
