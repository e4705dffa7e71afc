"""Errors of the DMA layer, each carrying the kernel's negative errno.

Every one is a :class:`~..errors.KernelMemError`, raised before anything changes: after any of
them the machine is exactly as it was.  ``errno`` is what the kernel function returns
(``dma_set_mask()`` -EIO, ``alloc_contig_range()`` -EBUSY, ``cma_init_reserved_mem()``
-EINVAL, ...); a function that returns NULL in C (``dma_alloc_coherent()``, ``cma_alloc()``)
raises with -ENOMEM or the errno of the step that failed, and the message says which step.
"""

from __future__ import annotations

from ..errors import AllocationError, InvalidArgument, KernelMemError

__all__ = ["EIO", "EBUSY", "EINVAL", "ENOMEM", "ENOSPC", "ERRNO_NAMES", "DmaError", "DmaMaskError",
           "DmaAllocError", "CmaError", "ContigRangeBusy", "DmaMappingError", "SwiotlbFull",
           "DmaInvalidFree"]

EIO, EBUSY, EINVAL, ENOMEM, ENOSPC = -5, -16, -22, -12, -28
ERRNO_NAMES = {EIO: "EIO", EBUSY: "EBUSY", EINVAL: "EINVAL", ENOMEM: "ENOMEM", ENOSPC: "ENOSPC"}


class DmaError(KernelMemError):
    """Base of the DMA layer's errors; ``errno`` is the kernel's return value (negative)."""

    def __init__(self, message: str, *, errno: int = ENOMEM):
        super().__init__(message)
        self.errno = errno

    @property
    def errno_name(self) -> str:
        return "-" + ERRNO_NAMES.get(self.errno, str(-self.errno))


class DmaMaskError(DmaError, InvalidArgument):
    """``dma_set_mask()`` / ``dma_set_coherent_mask()`` refused the mask (-EIO), or it is no mask."""


class DmaAllocError(DmaError, AllocationError):
    """``dma_alloc_coherent()`` returned NULL; ``reason`` says which step failed and why."""

    def __init__(self, message: str, *, errno: int = ENOMEM, reason: str = "", order: int | None = None):
        AllocationError.__init__(self, message, order=order, reason=reason)
        self.errno = errno


class CmaError(DmaError, InvalidArgument):
    """A CMA area the kernel would not declare, or a ``cma_release()`` of pages CMA did not give."""


class ContigRangeBusy(DmaError, AllocationError):
    """``alloc_contig_range()`` / ``cma_alloc()`` failed: -EBUSY (a page would not move) or -ENOMEM.

    Attributes
    ----------
    busy_pfn : int or None
        The first page that stayed in use (what ``test_pages_isolated()``'s tracepoint reports).
    """

    def __init__(self, message: str, *, errno: int = EBUSY, busy_pfn: int | None = None, reason: str = ""):
        AllocationError.__init__(self, message, order=None, reason=reason or message)
        self.errno = errno
        self.busy_pfn = busy_pfn


class DmaMappingError(DmaError):
    """``dma_map_sg()`` / ``dma_map_single()`` gave DMA_MAPPING_ERROR (the device cannot reach it)."""

    def __init__(self, message: str, *, errno: int = EIO):
        super().__init__(message, errno=errno)


class SwiotlbFull(DmaMappingError):
    """``swiotlb_tbl_map_single()``: "swiotlb buffer is full" - no run of free slots fits."""


class DmaInvalidFree(DmaError, InvalidArgument):
    """A free of a DMA buffer, mapping or SG table that is not live (double free, wrong size)."""

    def __init__(self, message: str):
        super().__init__(message, errno=EINVAL)
