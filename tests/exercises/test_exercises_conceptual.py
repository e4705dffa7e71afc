"""The chapters' conceptual exercises: natural answers accepted, each foreseen mistake explained."""

import pytest

from kernelmem_widgets.exercises import ch01, ch02
from kernelmem_widgets.exercises.answers import Exercise, parse_name, parse_number, parse_size
from kernelmem_widgets.model import InvalidArgument, Machine

RIGHT = {
    "01.e1": ["0", "order 0", " 0 "],
    "01.e2": ["11", "order 11", "2^11"],
    "01.e3": ["dma_alloc_coherent()", "CMA via dma_alloc_coherent", "cma_alloc"],
    "01.e4": ["GFP_ATOMIC", "gfp_atomic!", "GFP_NOWAIT"],
    "01.e5": ["the slab pages are unmovable", "slab pages cannot be moved", "they're pinned kernel memory"],
    "01.e6": ["GFP_NOIO has no __GFP_IO", "no IO allowed, gfp_compaction_allowed() says no"],
    "01.e7": ["__GFP_RETRY_MAYFAIL", "GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN"],
    "01.e8": ["67584", "67584 KiB", "66 MiB", "67,584"],
    "02.e1": ["128", "kmalloc-128", "128 bytes"],
    "02.e2": ["4 MiB", "4M", "4194304", "4 MB"],
    "02.e3": ["1536", "1,536 pages"],
    "02.e4": ["192", "192 bytes"],
    "02.e5": ["8 KiB", "8192", "8K"],
    "02.e6": ["INT_MAX", "2147483647", "2 GiB"],
}

MISTAKES = {
    "01.e1": [("11", "takes a size in bytes")],
    "01.e2": [("10", "1024 pages"), ("8", "size in MiB")],
    "01.e3": [("__get_free_pages(GFP_KERNEL, get_order(size))", "order 11"), ("kmalloc", "KMALLOC_MAX_SIZE"),
              ("vmalloc", "virtually contiguous"), ("alloc_pages_exact", "order 11")],
    "01.e4": [("GFP_KERNEL", "sleeping function called from invalid context"), ("GFP_NOIO", "may sleep")],
    "01.e5": [("there is not enough free memory", "30 % free is plenty")],
    "01.e6": [("the pages are unmovable", "mask")],
    "01.e7": [("__GFP_NOFAIL", "never returns NULL"), ("__GFP_NORETRY", "opposite")],
    "01.e8": [("16383", "int_sqrt"), ("16383 KiB", "int_sqrt")],
    "02.e1": [("100", "rounds up"), ("kmalloc-96", "100 > 96")],
    "02.e2": [("8 KiB", "KMALLOC_MAX_CACHE_SIZE"), ("32 MiB", "2.6-era")],
    "02.e3": [("1280", "VM_ALLOW_HUGE_VMAP"), ("1537 pages", "guard page")],
    "02.e4": [("256", "use_freeptr_offset")],
    "02.e5": [("64 KiB", "CONFIG_MEM_ALLOC_PROFILING")],
    "02.e6": [("64 MiB", "2.6-era")],
}

ALL = {**ch01.EXERCISES, **ch02.EXERCISES}


def test_every_exercise_is_covered_here():
    assert set(RIGHT) == set(ALL) == set(MISTAKES)


@pytest.mark.parametrize("exercise_id,answer", [(i, a) for i, answers in RIGHT.items() for a in answers])
def test_natural_forms_of_the_right_answer_are_accepted(exercise_id, answer):
    feedback = ALL[exercise_id].check(answer)
    assert feedback.correct and feedback.message.startswith("Right."), feedback.message


@pytest.mark.parametrize("exercise_id,answer,words", [(i, a, w) for i, pairs in MISTAKES.items() for a, w in pairs])
def test_a_foreseen_mistake_is_explained_without_giving_the_answer(exercise_id, answer, words):
    exercise = ALL[exercise_id]
    feedback = exercise.check(answer)
    assert not feedback.correct and words in feedback.message
    assert exercise.explanation not in feedback.message


def test_unreadable_and_unforeseen_answers():
    assert "could not read" in ch01.check("01.e2", "eleventy").message
    feedback = ch02.check("02.e1", "512")
    assert not feedback.correct and feedback.message.startswith("Not quite.") and "kmalloc sizes" in feedback.message
    with pytest.raises(InvalidArgument, match="exercises: 01.e1"):
        ch01.check("01.e99", "0")
    assert ch01.solution("01.e3").startswith("dma_alloc_coherent() (CMA): ")


def test_answers_match_the_model():
    """The facts the exercises teach are what the model computes."""
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    assert ch01.check("01.e8", machine.min_free_kbytes).correct
    assert ch01.check("01.e8", Machine.preset("linux-6.18-x86_64", ram="16G",
                                              transparent_hugepage="never").min_free_kbytes).message.find("int_sqrt") >= 0
    slab = Machine.preset("linux-6.18-tiny").slab
    assert ch02.check("02.e1", slab.ksize(slab.kmalloc(100))).correct
    assert ch02.check("02.e2", slab.kmalloc_max_size).correct
    from kernelmem_widgets.model.vmalloc.vmalloc import kvmalloc
    big = Machine.preset("linux-6.18-x86_64", ram="256M")
    assert ch02.check("02.e3", big.vmalloc.area(kvmalloc(big, 5 << 20)).nr_pages).correct


def test_parsers():
    assert parse_number("1 << 11") == 2048 and parse_number("0x10") == 16 and parse_number(True) is None
    assert parse_size("6 MiB") == 6 << 20 and parse_size("2 pages") == 8192 and parse_size("6 parsecs") is None
    assert parse_size("1.5 KiB") == 1536 and parse_size("0.1 B") is None
    assert parse_name("use __GFP_RETRY_MAYFAIL with GFP_KERNEL", {"k": ("gfp_kernel",), "r": ("__gfp_retry_mayfail",)}) == "r"
    assert isinstance(ch01.EXERCISES["01.e1"], Exercise)
