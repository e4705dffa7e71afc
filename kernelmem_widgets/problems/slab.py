"""Chapter 02's problems: which kmalloc cache, how many objects per slab, what vmalloc takes, which
module loads.

Every answer comes from the model of Linux 6.18 (SLUB's ``calculate_order()``, the kmalloc size
classes of mm/slab_common.c, ``__vmalloc_node_range()``) and, for the module question, from the
loader under 2.6.35-i386 and 6.18-x86_64 rules (:mod:`kernelmem_widgets.model.vmalloc.module`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..model import Machine
from ..model.errors import InvalidArgument, KernelMemError
from ..model.slab.kmalloc import kmalloc_cache_name
from ..model.slab.slub_sizes import get_order
from ..model.units import format_size
from ..model.vmalloc.module import ModuleLoader
from .base import Part, Problem, check_count, chapter_generator, part_label, with_defaults

__all__ = ["OPTIONS", "generate"]

OPTIONS = {
    "sizes": (4, "kmalloc sizes asked about per problem"),
    "cpus": ("1,2,4,8,64", "CPU counts a machine draws from (SLUB sizes its slabs by them)"),
}
PRESET, RAM = "linux-6.18-x86_64", "1G"
#: Module images the module question draws from, in MiB: each side of 2.6.35's two limits.
MODULE_MIB = (8, 40, 58, 61, 63, 66, 100)
MAX_SIZES = 12


def _options(raw: dict) -> dict:
    options = with_defaults("02", raw, OPTIONS)
    options["sizes"] = check_count(options["sizes"], most=MAX_SIZES, what="sizes")
    words = [word.strip() for word in str(options["cpus"]).split(",") if word.strip()]
    if not words or not all(word.isdigit() and 1 <= int(word) <= 4096 for word in words):
        raise InvalidArgument(f"cpus {options['cpus']!r}: expected CPU counts from 1 to 4096, comma-separated")
    options["cpus"] = ",".join(words)
    return options



def _problem(number: int, seed: int, options: dict) -> Problem:
    rng = np.random.default_rng(seed)
    nr_cpus = int(rng.choice([int(word) for word in options["cpus"].split(",")]))
    machine = Machine.preset(PRESET, ram=RAM, nr_cpus=nr_cpus)
    parts, letters = [], (part_label(number, step) for step in range(26))
    for _ in range(options["sizes"]):
        size = _draw_size(rng)
        name = kmalloc_cache_name(size)
        parts.append(Part(next(letters), "cache", f"kmalloc({size}, GFP_KERNEL): which cache? "
                          "('page allocator' if none)", name))
        if name is None:
            parts.append(Part(next(letters), "int", f"kmalloc({size}): the order of the pages it gets",
                              get_order(size)))
        else:
            cache = machine.slab.cache(name)
            parts.append(Part(next(letters), "int", f"{name}: objects per slab on this machine",
                              cache.objs_per_slab))
    size = int(rng.integers(1, 64)) * 1000
    area = machine.vmalloc.area(machine.vmalloc.vmalloc(size))
    parts.append(Part(next(letters), "int", f"vmalloc({size}): how many pages does it allocate?", area.nr_pages))
    parts.append(Part(next(letters), "size", f"vmalloc({size}): the size /proc/vmallocinfo prints for its area",
                      area.size, {"page_size": machine.page_size}))
    mib = int(rng.choice(MODULE_MIB))
    for rules, machine_text in (("linux-2.6.35-i386", "2.6.35 on i386 with 2 GiB"),
                                ("linux-6.18-x86_64", "6.18 on x86-64")):
        parts.append(Part(next(letters), "bool", f"a {mib} MiB module image: does it load under Linux {machine_text}?",
                          module_loads(rules, mib)))
    setup = (f"machine: {PRESET}, RAM {RAM}, {nr_cpus} CPU{'s' if nr_cpus > 1 else ''} present, SLUB, "
             f"page size {format_size(machine.page_size)}",)
    return Problem(number, f"kmalloc, vmalloc and a module on {nr_cpus} CPU{'s' if nr_cpus > 1 else ''}", setup, tuple(parts))



def _draw_size(rng) -> int:
    """Sizes a driver asks for: mostly small, some just above a class, a few above 8 KiB."""
    if rng.random() < 0.15:
        return int(rng.integers(8193, 1 << 20))
    classes = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)
    base = int(rng.choice(classes))
    return max(1, base + int(rng.integers(-3, 4)))


@lru_cache(maxsize=None)
def module_loads(rules: str, mib: int) -> bool:
    """Does an image of ``mib`` MiB load under ``rules``?  Loaded once per process on a fresh machine
    (2 GiB for the i386 rules, whose vmalloc window depends on RAM), then remembered."""
    ram = "2G" if "i386" in rules else RAM
    loader = ModuleLoader(Machine.preset(PRESET, ram=ram), rules=rules)
    try:
        loader.load_module(mib << 20)
    except KernelMemError:
        return False
    return True


generate = chapter_generator(_options, _problem)
