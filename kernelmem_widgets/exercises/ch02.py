"""Chapter 02 (slab sizes, kmalloc, vmalloc, modules): conceptual exercises.

Facts as of Linux 6.18 on x86-64 (SLUB, 4 KiB pages, MAX_PAGE_ORDER 10) unless a question names
another release; each explanation names where the kernel decides it.
"""

from __future__ import annotations

from .answers import Exercise, parse_name, parse_number, parse_size

__all__ = ["EXERCISES", "check", "solution"]


def _cache_or_size(text):
    """``kmalloc-128``, ``128``, ``128 bytes``: the slot size in bytes."""
    name = str(text).strip().lower()
    if name.startswith("kmalloc-"):
        name = name[len("kmalloc-"):]
    return parse_size(name)


def _pages(text):
    return parse_number(str(text).lower().replace("pages", "").strip())


def _max_module_size(text):
    if parse_name(text, {"int_max": ("int_max", "int max", "intmax")}):
        return (1 << 31) - 1
    size = parse_size(text)
    return (1 << 31) - 1 if size == 1 << 31 else size


EXERCISES: dict[str, Exercise] = {
    "02.e1": Exercise(
        "02.e1", "kmalloc(100, GFP_KERNEL) on x86-64 6.18: how many bytes does the object really occupy "
                 "(its cache's slot size)?",
        _cache_or_size, 128,
        mistakes=[(100, "kmalloc() rounds up to one of its fixed caches; 100 bytes is not one of them."),
                  (96, "kmalloc-96 exists, but 100 > 96; the next cache up is used."),
                  (104, "Objects are not rounded to 8 bytes for kmalloc: the caches come in fixed sizes.")],
        hint="kmalloc sizes: 8, 16, 32, 64, 96, 128, 192, 256, ...",
        explanation="kmalloc_index() picks kmalloc-128 (include/linux/slab.h); ksize() reports 128, and the "
                    "28 bytes beyond the request are internal fragmentation."),
    "02.e2": Exercise(
        "02.e2", "What is KMALLOC_MAX_SIZE, the largest kmalloc() that can succeed, on x86-64 6.18?",
        parse_size, 4 << 20,
        mistakes=[(8 << 10, "8 KiB is KMALLOC_MAX_CACHE_SIZE: above it kmalloc() skips the slab caches and asks "
                            "the page allocator directly, but it still works."),
                  (32 << 20, "32 MiB was the top of 2.6-era SLAB's kmalloc_sizes.h table, used only where "
                             "MAX_ORDER allowed it; 6.18's limit follows MAX_PAGE_ORDER."),
                  (8 << 20, "8 MiB would be an order-11 block; x86-64's largest is order 10.")],
        hint="kmalloc() above the caches is one block from the buddy allocator.",
        explanation="KMALLOC_MAX_SIZE = 1 << (MAX_PAGE_ORDER + PAGE_SHIFT) = 4 MiB (include/linux/slab.h)."),
    "02.e3": Exercise(
        "02.e3", "kvmalloc(5 MiB, GFP_KERNEL) falls back to vmalloc on x86-64 6.18. How many pages back it?",
        _pages, 1536,
        mistakes=[(1280, "1280 pages is what vmalloc(5 MiB) takes; kvmalloc() passes VM_ALLOW_HUGE_VMAP, which "
                         "rounds areas of 2 MiB and more up to 2 MiB."),
                  (1281, "The guard page after a vmalloc area has no page behind it."),
                  (1537, "The guard page after a vmalloc area has no page behind it.")],
        hint="Look at the vm_flags __kvmalloc_node_noprof() passes to __vmalloc_node_range_noprof().",
        explanation="With VM_ALLOW_HUGE_VMAP the size is ALIGN(5 MiB, PMD_SIZE) = 6 MiB, backed by three order-9 "
                    "blocks split into 1536 pages (vm_area_alloc_pages(), split_page())."),
    "02.e4": Exercise(
        "02.e4", "vm_area_struct's cache is SLAB_HWCACHE_ALIGN | SLAB_TYPESAFE_BY_RCU. How many bytes is one "
                 "slot on x86-64 6.18?",
        _cache_or_size, 192,
        mistakes=[(256, "256 is what an RCU cache gets when its free pointer must go after the object; 6.18's "
                        "vm_area_struct cache passes use_freeptr_offset, keeping it inside.")],
        hint="Where does an RCU cache keep its free pointer?",
        explanation="calculate_sizes() (mm/slub.c, 6.13+): with kmem_cache_args.use_freeptr_offset the free "
                    "pointer lives in vm_area_struct's vm_freeptr field, so the size is only rounded to the "
                    "64-byte cache line: 192."),
    "02.e5": Exercise(
        "02.e5", "How much static per-CPU data (DEFINE_PER_CPU in modules) can all loaded modules share on a "
                 "default x86-64 6.18 kernel?",
        parse_size, 8 << 10,
        mistakes=[(64 << 10, "64 KiB was the module reserve of 6.10-6.14 kernels with CONFIG_MEM_ALLOC_PROFILING, "
                            "whose allocation-tag counters lived there; 6.15 moved them out, and 6.18 reserves less."),
                  (32 << 10, "That is not the module reserve of include/linux/percpu.h.")],
        hint="include/linux/percpu.h reserves a fixed amount for modules in the first chunk.",
        explanation="PERCPU_MODULE_RESERVE (include/linux/percpu.h) is 8 KiB in 6.18 whatever the configuration "
                    "(6.10-6.14 reserved 64 KiB with CONFIG_MEM_ALLOC_PROFILING), shared by every "
                    "module's static per-CPU variables; loading fails with 'Could not allocate ... bytes percpu "
                    "data' when it is used up."),
    "02.e6": Exercise(
        "02.e6", "What is the largest module file finit_module() reads on 6.18?",
        _max_module_size, (1 << 31) - 1, answer="INT_MAX bytes (2 GiB - 1)",
        mistakes=[(64 << 20, "64 MiB was load_module()'s check in 2.6-era kernel/module.c (len > 64 * 1024 * "
                             "1024); today's limit comes from kernel_read_file().")],
        hint="finit_module() reads the file with kernel_read_file().",
        explanation="kernel_read_file() (fs/kernel_read_file.c) refuses files larger than INT_MAX bytes."),
}


def check(exercise_id: str, answer):
    """``EXERCISES[exercise_id].check(answer)``, with the ids listed when one is unknown."""
    from ..model.errors import InvalidArgument

    if exercise_id not in EXERCISES:
        raise InvalidArgument(f"no exercise {exercise_id!r} in chapter 02; exercises: {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id].check(answer)


def solution(exercise_id: str) -> str:
    """The accepted answer with its explanation (for instructors)."""
    return EXERCISES[exercise_id].solution()
