"""Chapter 2's exercises (slab sizes), checked against the model of Linux 6.18's SLUB and the module loaders.

Moved out of the notebook so that the answers are not on the student's page; the notebook imports
``check_N`` and ``answer_box``.  Every check runs the model on a fresh machine.
"""

from __future__ import annotations

from functools import lru_cache

from ...model.errors import KernelMemError
from ...model.machine import Machine
from ...model.slab import (KmemCache, calculate_order, get_order, kmalloc_cache_name, kmalloc_size_roundup,
                           order_objects, slub_min_objects)
from ...model.vmalloc import ModuleLoader
from ...views.exercise import AnswerBox, parse_answer
from ._common import ints, report, variant, variant_question


# --- exercise 1: which cache?
EX1_SIZES = (24, 65, 150, 200, 3000)
_SIZE_POOL = (8, 13, 24, 30, 33, 65, 90, 100, 129, 150, 190, 200, 260, 500, 700, 1025, 3000, 5000)


def sizes_1() -> tuple[int, ...]:
    """Exercise 1's five sizes: the book's, or the student's own."""
    return variant("02", 1, EX1_SIZES, lambda rng: tuple(sorted(int(s) for s in rng.choice(_SIZE_POOL, 5, replace=False))))


def solution_1():
    return [kmalloc_cache_name(size) for size in sizes_1()]


def _cache_names(answer):
    names = []
    for value in answer:
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            names.append(value.strip())
        elif kmalloc_size_roundup(int(value)) == int(value):          # an object size such as 32 or 4096
            names.append(kmalloc_cache_name(int(value)))
        else:
            names.append(f"not a kmalloc size: {value}")
    return names


def check_1(answer=None, *, reveal=False):
    expected = solution_1()
    if reveal:
        for size, name in zip(sizes_1(), expected):
            print(f"kmalloc({size}) -> {name}")
        print("Up to 192 bytes the classes are 8, 16, 32, 64, 96, 128, 192 (kmalloc_size_index[(size - 1) / 8]); "
              "above, the next power of two (fls(size - 1)).")
        return
    try:
        right = answer is not None and len(answer) == len(expected) and _cache_names(answer) == expected
    except (TypeError, ValueError):
        right = False
    report(1, answer, right, f"give {len(sizes_1())} cache names in order, e.g. ['kmalloc-8', ...] (or their "
                              "object sizes); remember the 96 and 192 caches.")


# --- exercise 2: order and objects per slab
EX2_SIZE, EX2_CPUS = 512, 8


def params_2() -> tuple[int, int]:
    """Exercise 2's object size and CPU count: the book's, or the student's own."""
    return variant("02", 2, (EX2_SIZE, EX2_CPUS), lambda rng: (int(rng.choice([256, 512, 1024, 2048])),
                                                                int(rng.choice([2, 4, 8, 16, 64]))))


def solution_2():
    size, cpus = params_2()
    order = calculate_order(size, nr_cpus=cpus)
    return order, order_objects(order, size)


def check_2(answer=None, *, reveal=False):
    order, objects = solution_2()
    size, cpus = params_2()
    if reveal:
        min_objects = slub_min_objects(cpus)
        print(f"min_objects = 4 * (fls({cpus}) + 1) = {min_objects}")
        print(f"min_order = get_order({min_objects} * {size}) = get_order({min_objects * size}) = "
              f"{get_order(min_objects * size)}")
        print(f"order {order}: ({4096 << order} bytes) / {size} = {objects} objects, "
              f"{(4096 << order) % size} bytes left over (<= 1/16 of the slab) -> order {order}, {objects} objects")
        return
    try:
        right = answer is not None and tuple(ints(answer, 2)) == (order, objects)
    except (TypeError, ValueError):
        right = False
    report(2, answer, right, "give (order, objects_per_slab); start from min_objects = 4 * (fls(nr_cpus) + 1).")


# --- exercise 3: your own cache
EX3_SIZE, EX3_CPUS = 200, 4


def params_3() -> tuple[int, int]:
    """Exercise 3's struct size and CPU count: the book's, or the student's own."""
    return variant("02", 3, (EX3_SIZE, EX3_CPUS), lambda rng: (int(rng.integers(12, 50)) * 8,
                                                                int(rng.choice([1, 2, 4, 8]))))


def solution_3():
    size, cpus = params_3()
    cache = KmemCache("my_struct", size, ctor=True, nr_cpus=cpus)
    return cache.slab_size, cache.order, cache.objs_per_slab


def check_3(answer=None, *, reveal=False):
    expected = solution_3()
    size, cpus = params_3()
    if reveal:
        slab_size, order, objects = expected
        print(f"a constructor keeps the free pointer out of the object: {size} + 8 = {slab_size} bytes per slot")
        need = slub_min_objects(cpus) * slab_size
        print(f"min_objects for {cpus} CPUs = {slub_min_objects(cpus)}; {slub_min_objects(cpus)} * "
              f"{slab_size} = {need} bytes: get_order() = {get_order(need)}")
        print(f"order {order}: {4096 << order} / {slab_size} = {objects} objects, {(4096 << order) % slab_size} bytes "
              f"left over (<= {4096 << order} / 16 = {(4096 << order) // 16})")
        return
    try:
        right = answer is not None and tuple(ints(answer, 3)) == expected
    except (TypeError, ValueError):
        right = False
    report(3, answer, right, "give (slab_size, order, objects_per_slab); where does the free pointer go when "
                              "the cache has a constructor?")


# --- exercise 4: pages held by a cache
EX4_COUNT, EX4_SIZE = 70, 100


def solution_4():
    machine = Machine.preset("linux-6.18-tiny")
    cache = machine.slab.cache(kmalloc_cache_name(EX4_SIZE))
    ptrs = [machine.slab.kmalloc(EX4_SIZE) for _ in range(EX4_COUNT)]
    after_alloc = cache.nr_slabs * cache.pages_per_slab
    for ptr in ptrs:
        machine.slab.kfree(ptr)
    after_free = cache.nr_slabs * cache.pages_per_slab
    machine.slab.kmem_cache_shrink(cache)
    return after_alloc, after_free, cache.nr_slabs * cache.pages_per_slab


def check_4(answer=None, *, reveal=False):
    expected = solution_4()
    if reveal:
        print(f"{EX4_COUNT} x kmalloc({EX4_SIZE}): kmalloc-128 has 32 objects per order-0 slab -> "
              f"{expected[0]} pages")
        print(f"after kfree() of all of them: {expected[1]} pages - empty slabs stay on the per-cpu and node partial "
              f"lists (min_partial 5), ready for reuse")
        print(f"after kmem_cache_shrink(): {expected[2]} pages")
        return
    try:
        right = answer is not None and tuple(ints(answer, 3)) == expected
    except (TypeError, ValueError):
        right = False
    report(4, answer, right, "give three page counts: after the allocations, after freeing them all, after the "
                              "shrink. Does kfree() give pages back?")


# --- exercise 5: bytes wasted by a mix of requests
EX5_SIZES = (100, 200, 300, 5000, 9000)


def sizes_5() -> tuple[int, ...]:
    """Exercise 5's five request sizes: the book's, or the student's own."""
    return variant("02", 5, EX5_SIZES, lambda rng: tuple(sorted(int(s) for s in rng.choice(
        (20, 70, 100, 130, 200, 300, 600, 1500, 3000, 5000, 9000, 12000, 20000), 5, replace=False))))


def solution_5():
    machine = Machine.preset("linux-6.18-tiny")
    ptrs = [machine.slab.kmalloc(size) for size in sizes_5()]
    rows = [machine.slab.object_info(ptr) for ptr in ptrs]
    return sum(row["internal_waste"] for row in rows), rows


def check_5(answer=None, *, reveal=False):
    waste, rows = solution_5()
    if reveal:
        for row in rows:
            where = row["cache"] or f"order-{row['order']} pages"
            print(f"kmalloc({row['requested']}) -> {where}: {row['allocated']} reserved, "
                  f"{row['internal_waste']} unused")
        print(f"total unused: {waste:,} bytes of {sum(row['allocated'] for row in rows):,} reserved")
        return
    try:
        right = answer is not None and int(answer) == waste
    except (TypeError, ValueError):
        right = False
    report(5, answer, right, "for each size find what is really reserved (a cache's object size, or "
                              "PAGE_SIZE << get_order(size) above 8 KiB) and add up the differences.")


# --- exercise 6: a vmalloc range
EX6_SIZE = 10_000


def size_6() -> int:
    """Exercise 6's vmalloc size: the book's, or the student's own."""
    return variant("02", 6, EX6_SIZE, lambda rng: int(rng.integers(2, 60)) * 1000 + int(rng.integers(0, 1000)))


def solution_6():
    machine = Machine.preset("linux-6.18-tiny")
    area = machine.vmalloc.area(machine.vmalloc.vmalloc(size_6()))
    return area.size, area.nr_pages


def check_6(answer=None, *, reveal=False):
    size, pages = solution_6()
    if reveal:
        print(f"vmalloc({size_6():,}): PAGE_ALIGN -> {pages} pages = {pages * 4096:,} bytes, backed page by page")
        print(f"the range adds one guard page: {size:,} bytes in /proc/vmallocinfo")
        return
    try:
        right = answer is not None and tuple(ints(answer, 2)) == (size, pages)
    except (TypeError, ValueError):
        right = False
    report(6, answer, right, "give (range size in bytes, pages allocated); the size is rounded up to whole "
                              "pages, and one more page is reserved but never mapped.")


# --- exercise 7: the real limit of a 2.6.35 i386 module
EX7_RAM, EX7_RULES = "1G", "linux-2.6.35-i386"


def _loads(mib):
    loader = ModuleLoader(Machine.preset("linux-6.18-x86_64", ram=EX7_RAM), rules=EX7_RULES)
    try:
        loader.load_module(mib << 20)
        return True, ""
    except KernelMemError as error:
        return False, str(error)


@lru_cache(maxsize=None)
def solution_7():
    for mib in range(64, 0, -1):
        ok, _reason = _loads(mib)
        if ok:
            return mib
    return 0


def check_7(answer=None, *, reveal=False):
    best = solution_7()
    if reveal:
        print(f"{best} MiB loads; {best + 1} MiB does not:")
        print("  " + _loads(best + 1)[1])
        print("The 120 MiB vmalloc area must hold the copy of the file and the module (each plus a guard page) "
              "at the same time, so the limit is just below 60 MiB, not 64.")
        return
    try:
        right = answer is not None and int(answer) == best
    except (TypeError, ValueError):
        right = False
    report(7, answer, right, "the 64 MiB check is not the only limit: what else must fit in the 120 MiB "
                              "vmalloc area while the module is loading?")

_PLACEHOLDERS = {1: "five cache names, e.g. kmalloc-8 kmalloc-16 ...", 2: "order and objects, e.g. 0 8",
                 3: "slab_size, order, objects, e.g. 200 0 20", 4: "three page counts, e.g. 1 1 1",
                 5: "a number of bytes", 6: "bytes and pages, e.g. 8192 2", 7: "a number of MiB"}
_CHECKS = {1: check_1, 2: check_2, 3: check_3, 4: check_4, 5: check_5, 6: check_6, 7: check_7}


def answer_box(number: int) -> AnswerBox:
    """Exercise ``number``'s answer box (text field, Check, Reveal), bound to ``check_<number>``."""
    return AnswerBox(_CHECKS[number], placeholder=_PLACEHOLDERS[number], parse=parse_answer, number=number,
                     question=variant_question("02", number, _VARIANTS[number]) if number in _VARIANTS else None)


_VARIANTS = {
    1: lambda: "which caches serve kmalloc(" + "), kmalloc(".join(map(str, sizes_1())) + ")?",
    2: lambda: "a cache of {} byte objects on a machine with {} CPUs: its order and objects per slab?".format(*params_2()),
    3: lambda: "your struct is {} bytes, with a constructor, on {} CPUs: slab_size, order, objects?".format(*params_3()),
    5: lambda: "the requests are kmalloc(" + "), kmalloc(".join(map(str, sizes_5())) + "): bytes unused in all?",
    6: lambda: f"vmalloc({size_6():,}): the range's size and the pages allocated?",
}
