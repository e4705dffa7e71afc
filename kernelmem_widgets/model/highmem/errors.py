"""Errors of the 32-bit layout and of kmap, named after the kernel's own checks.

Every one is raised before anything is changed: after any of them the layout or the kmap window
is exactly as it was.  Where the kernel would BUG() the error says so and names the check.
"""

from __future__ import annotations

from ..errors import InvalidArgument, KernelMemError

__all__ = ["HighmemError", "UnknownVmsplit", "InvalidLayoutOption", "LayoutBug", "KmapWouldSleep",
           "KunmapBug", "KmapLocalBug", "KunmapLocalOutOfOrder", "KmapAtomicBug", "NotAHighmemKernel"]


class HighmemError(KernelMemError):
    """Base class of the errors of this package."""


class UnknownVmsplit(InvalidArgument, HighmemError):
    """A VMSPLIT that arch/x86/Kconfig does not offer, or one it forbids with PAE."""


class InvalidLayoutOption(InvalidArgument, HighmemError):
    """A layout option or boot parameter of the wrong type or out of range (fixaddr_start, max_pfn ...)."""


class LayoutBug(HighmemError):
    """The layout breaks a check of ``mem_init()`` in arch/x86/mm/init_32.c: the kernel BUG()s at boot.

    For example ``vmalloc=`` so large that MAXMEM wraps below zero: all RAM is then lowmem and
    ``BUG_ON((unsigned long)high_memory > VMALLOC_START)`` fires.
    """


class KmapWouldSleep(HighmemError):
    """``kmap()`` found every pkmap slot in use: ``map_new_virtual()`` would sleep.

    The kernel puts the task in TASK_UNINTERRUPTIBLE on ``pkmap_map_wait`` until some
    ``kunmap()`` drops a slot to one user; the model cannot sleep, so it raises this instead and
    changes nothing.  (On its way round the window the kernel would also have called
    ``flush_all_zero_pkmaps()`` once, which with no slot at count 1 clears nothing and flushes no
    TLB, and left ``last_pkmap_nr`` at LAST_PKMAP - 1.)
    """

    def __init__(self, message: str, *, pfn: int):
        super().__init__(message)
        self.pfn = pfn


class KunmapBug(HighmemError):
    """``kunmap_high()`` hit ``BUG_ON(!vaddr)`` (page not mapped) or ``BUG()`` (count would reach 0)."""


class KmapLocalBug(HighmemError):
    """``kmap_local_idx_push()``/``_pop()`` hit their ``BUG_ON``: more than KM_MAX_IDX maps, or none."""


class KunmapLocalOutOfOrder(HighmemError):
    """``kunmap_local()`` of an address that is not the top of this CPU's kmap_local stack.

    ``kunmap_local_indexed()`` (mm/highmem.c, 5.11+) checks
    ``WARN_ON_ONCE(addr != __fix_to_virt(FIX_KMAP_BEGIN + idx))`` and then clears the top slot
    anyway, leaving the other mapping stale: the model refuses the call instead.
    """


class KmapAtomicBug(HighmemError):
    """``kmap_atomic()`` of 2.6.35 hit ``BUG_ON(!pte_none(*(kmap_pte-idx)))``: the km_type slot is busy."""


class NotAHighmemKernel(InvalidArgument, HighmemError):
    """A highmem call on rules that have no highmem (x86-64, or CONFIG_NOHIGHMEM) where it cannot apply."""
