"""Chapter 04's problems: the 32-bit layout of a drawn machine, and the pkmap slots of a kmap sequence.

Each problem boots a 32-bit kernel (a version from the chapter's presets, RAM, PAE or not, a
VMSPLIT the configuration allows, perhaps a ``vmalloc=``) and asks what it prints
(``NNNMB LOWMEM available.``, ``NNNMB HIGHMEM available.``), where its vmalloc area starts, and,
after a short sequence of ``kmap``/``kunmap`` on a window made nearly full, which pkmap slot each
new kmap gets and how many whole-window TLB flushes ``flush_all_zero_pkmaps()`` made.  The
answers are what model/highmem computes (arch/x86/mm/init_32.c ``find_low_pfn_range()``,
pgtable_32_types.h, mm/highmem.c ``map_new_virtual()`` of each version).
"""

from __future__ import annotations

import numpy as np

from ..model import Machine
from ..model.errors import InvalidArgument
from ..model.highmem.layout_rules import VMSPLITS
from .base import Part, Problem, draw_problems, part_label, with_defaults

__all__ = ["OPTIONS", "generate"]

OPTIONS = {
    "kernels": ("linux-2.6.24-i386,linux-2.6.35-i386,linux-3.16-i386,linux-5.1-i386", "kernels drawn from"),
    "rams": ("768M,1G,2G,3G,6G", "RAM sizes drawn from (a QEMU pc machine: above 3.5 GiB, RAM continues above 4 GiB)"),
    "pae": ("random", "PAE kernels: yes, no or random"),
    "kmaps": (4, "kmap/kunmap operations after the window is filled"),
}
KERNELS = ("linux-2.6.24-i386", "linux-2.6.35-i386", "linux-3.16-i386", "linux-5.1-i386")
VMALLOCS = (None, None, "64M", "256M")


def _options(raw: dict) -> dict:
    options = with_defaults("04", raw, OPTIONS)
    kernels = [word.strip() for word in str(options["kernels"]).split(",") if word.strip()]
    if not kernels or any(kernel not in KERNELS for kernel in kernels):
        raise InvalidArgument(f"kernels {options['kernels']!r}: accepted: {', '.join(KERNELS)} (comma-separated)")
    options["kernels"] = ",".join(kernels)
    from ..model.units import memparse

    rams = [word.strip() for word in str(options["rams"]).split(",") if word.strip()]
    try:
        sizes = [memparse(word) for word in rams]
    except Exception as error:  # noqa: BLE001 - say which option is wrong
        raise InvalidArgument(f"rams {options['rams']!r}: {error}") from None
    if not rams or any(not 64 << 20 < size <= 16 << 30 for size in sizes):
        raise InvalidArgument(f"rams {options['rams']!r}: expected sizes above 64M and up to 16G, e.g. 1G,2G")
    options["rams"] = ",".join(rams)
    if options["pae"] not in ("yes", "no", "random"):
        raise InvalidArgument(f"pae {options['pae']!r}: accepted: yes, no, random")
    kmaps = options["kmaps"]
    if isinstance(kmaps, bool) or not hasattr(kmaps, "__index__") or not 1 <= kmaps.__index__() <= 12:
        raise InvalidArgument(f"kmaps {kmaps!r}: expected 1 to 12")
    options["kmaps"] = kmaps.__index__()
    return options


def generate(seed: int, count: int, raw_options: dict) -> tuple[dict, list[Problem]]:
    """The options as used, and ``count`` problems drawn from ``seed``."""
    options = _options(raw_options)
    return options, draw_problems(seed, count, lambda number, drawn: _problem(number, drawn, options))


def _problem(number: int, seed: int, options: dict) -> Problem:
    rng = np.random.default_rng(seed)
    kernel = str(rng.choice(options["kernels"].split(",")))
    ram = str(rng.choice(options["rams"].split(",")))
    pae = bool(rng.integers(2)) if options["pae"] == "random" else options["pae"] == "yes"
    splits = [name for name in VMSPLITS if not (pae and name.endswith("_OPT"))]
    vmsplit = "3G" if rng.random() < 0.5 else str(rng.choice(splits))
    vmalloc = VMALLOCS[int(rng.integers(len(VMALLOCS)))]
    cmdline = "" if vmalloc is None else f"vmalloc={vmalloc}"
    machine = Machine.preset(kernel, ram=ram, cmdline=cmdline, pae=pae, vmsplit=vmsplit)
    layout = machine.highmem_layout
    setup = [f"kernel: {kernel} ({'CONFIG_HIGHMEM64G, PAE' if pae else 'CONFIG_HIGHMEM4G'}, CONFIG_VMSPLIT_{vmsplit}), "
             f"default fixmap {layout.fixaddr_start:#x}",
             f"machine: QEMU pc with {ram} of RAM; RAM ends at pfn {layout.max_pfn:#x}",
             f"command line: {cmdline or '(nothing memory-related)'}"]
    labels = iter(part_label(number, step) for step in range(64))
    parts = [Part(next(labels), "int", "the MB in its 'NNNMB LOWMEM available.' line", layout.max_low_pfn >> 8),
             Part(next(labels), "int", "the MB in its 'NNNMB HIGHMEM available.' line",
                  (layout.highend_pfn - layout.highstart_pfn) >> 8),
             Part(next(labels), "pfn", "VMALLOC_START (an address, hex)", layout.vmalloc_start)]
    if layout.highend_pfn > layout.highstart_pfn:
        parts += _kmap_parts(machine, rng, options["kmaps"], labels, setup)
    return Problem(number, f"{kernel}, {ram}, {'PAE' if pae else 'non-PAE'}, VMSPLIT_{vmsplit}", tuple(setup),
                   tuple(parts))


def _kmap_parts(machine, rng, steps: int, labels, setup: list[str]) -> list[Part]:
    """Fill the window but a few slots, then a drawn kmap/kunmap sequence: slots and flushes."""
    space = machine.kmap_space
    layout = machine.highmem_layout
    first, span = layout.highstart_pfn, layout.highend_pfn - layout.highstart_pfn
    held = space.last_pkmap - 1 - int(rng.integers(0, 4))
    pages = [first + i % span for i in range(held)]
    for pfn in pages:
        space.kmap(pfn)
    setup.append(f"a driver kmap()s {held} distinct highmem pages (pfns {pages[0]:#x} up) on the fresh kernel "
                 f"({space.last_pkmap} pkmap slots) and keeps them; then:")
    parts, fresh = [], first + held
    for _step in range(steps):
        label = next(labels)
        if rng.random() < 0.4:
            pfn = pages.pop(int(rng.integers(len(pages))))
            space.kunmap(pfn)
            setup.append(f"  {label}: kunmap(pfn {pfn:#x})")
            continue
        pfn, fresh = fresh % (first + span) if fresh < first + span else first, fresh + 1
        setup.append(f"  {label}: kmap(pfn {pfn:#x})")
        try:
            space.kmap(pfn)
            answer = space.slot_of(pfn)
            pages.append(pfn)
        except Exception:  # noqa: BLE001 - KmapWouldSleep: the answer is "fails"
            answer = None
        parts.append(Part(label, "pfn", "the pkmap slot it gets (a number), or 'fails' if kmap() would sleep",
                          answer))
    parts.append(Part(next(labels), "int", "whole-window TLB flushes so far (flush_all_zero_pkmaps() that unmapped "
                      "something)", space.counters.tlb_flush_all))
    return parts
