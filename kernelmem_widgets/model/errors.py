"""Errors named after the kernel's own checks.

Every model operation validates its arguments before it mutates anything, so after any of
these exceptions the model is exactly as it was.  The message says what was wrong in the
kernel's terms and what is accepted.
"""

from __future__ import annotations


class KernelMemError(Exception):
    """Base class of every error the model raises."""


class InvalidArgument(KernelMemError, ValueError):
    """An argument the kernel would reject (or never accept) before doing any work."""


class InvalidOrder(InvalidArgument):
    """An allocation order below 0 or above MAX_PAGE_ORDER."""


class InvalidSize(InvalidArgument):
    """A size string or number that is not a size (see ``units.memparse``)."""


class UnknownGfpFlag(InvalidArgument):
    """A GFP flag name the kernel does not define."""


class UnknownMigrateType(InvalidArgument):
    """A migrate type name outside ``migratetype_names[]``."""


class PfnOutOfRange(InvalidArgument):
    """A page frame number outside the zone (or machine) it was given to."""


class UnknownPreset(InvalidArgument):
    """A machine preset name that is not defined."""


class InvalidOperation(InvalidArgument):
    """A literal workload operation (``"alloc 3"``, ``"free 0x1200 3"``) that does not parse."""


class AllocationError(KernelMemError):
    """The allocator could not satisfy a request: the kernel's "page allocation failure".

    Attributes
    ----------
    order : int
        The order that was asked for.
    reason : str
        The reason in the kernel's terms (watermark, fragmentation, empty zone ...).
    """

    def __init__(self, message: str, *, order: int | None = None, reason: str = ""):
        super().__init__(message)
        self.order = order
        self.reason = reason or message


class BadPageState(KernelMemError):
    """A free the kernel would catch as a bad page: double free, wrong order, never allocated.

    Named after ``bad_page()`` in mm/page_alloc.c, which prints "BUG: Bad page state".
    """


class InvalidFree(KernelMemError):
    """A free of a pointer the allocator never handed out, or no longer owns.

    Named after the kernel's own checks: SLUB's ``free_consistency_checks()`` ("Invalid object
    pointer"), ``free_large_kmalloc()`` ("Not a kmalloc allocation"), ``vfree()`` ("Trying to
    vfree() nonexistent vm area").

    Attributes
    ----------
    ptr : int or None
        The pointer that was passed in.
    """

    def __init__(self, message: str, *, ptr: int | None = None):
        super().__init__(message)
        self.ptr = ptr


class DoubleFree(InvalidFree):
    """A free of an object (or area) that is already free: SLUB's "Object already free"."""


class WrongSlabCache(InvalidFree):
    """``kmem_cache_free()`` to a cache the object does not belong to.

    Named after ``cache_from_obj()`` in mm/slub.c: "Wrong slab cache. X but object is from Y".
    """


class CacheInUse(KernelMemError):
    """A cache (or the whole slab layer) still holds objects where the kernel needs none.

    ``kmem_cache_destroy()`` warns "Slab cache still has objects" and keeps the cache.
    """


class ModuleLoadError(KernelMemError):
    """``init_module()`` refused a module image; ``errno`` is the kernel's negative error code.

    Attributes
    ----------
    errno : int
        ``-ENOMEM`` (-12), ``-ENOEXEC`` (-8), ``-EEXIST`` (-17) ...
    """

    def __init__(self, message: str, *, errno: int):
        super().__init__(message)
        self.errno = errno


class InvariantViolation(KernelMemError, AssertionError):
    """The model broke one of its own rules (a bug in the model, never the user's)."""
