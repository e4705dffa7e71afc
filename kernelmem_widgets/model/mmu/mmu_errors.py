"""Errors of the MMU model, named after what the kernel checks or what the hardware does.

Each is raised before anything changes: after one of these the page tables, the TLB and the
buddy allocator are exactly as they were.
"""

from __future__ import annotations

from ..errors import InvalidArgument

__all__ = ["BadAlignment", "MappingConflict", "NotMapped", "AddressOutOfRange", "BadTlbGeometry"]


class BadAlignment(InvalidArgument):
    """An address or size that is not a multiple of the page size the operation works in."""


class MappingConflict(InvalidArgument):
    """A mapping over one that already exists (the kernel's ``WARN_ON(!pte_none(*pte))``)."""


class NotMapped(InvalidArgument):
    """An address with no translation where one was required (unmap or change of nothing)."""


class AddressOutOfRange(InvalidArgument):
    """A virtual address the paging mode cannot express (non-canonical, or above 4 GiB on i386)."""


class BadTlbGeometry(InvalidArgument):
    """A TLB whose entries / ways is not a power of two number of sets, or has no entries."""

