"""A vmalloc buffer for a device: ``vmalloc_to_page()`` of every page into an SG table.

``vmalloc(100 MiB)`` succeeds on a machine with 100 MiB free in any shape (mm/vmalloc.c takes
order-0 pages one by one), but its addresses are kernel virtual addresses, contiguous only in
the vmalloc area's page tables: a device needs bus addresses, so a driver cannot hand it the
pointer (``virt_to_phys()`` is wrong for a vmalloc address) and the buffer is not one physical
range.  What drivers do (e.g. V4L2's videobuf2-vmalloc, DRM's shmem helpers) is walk it with
``vmalloc_to_page()`` and build an SG table (``sg_alloc_table_from_pages()``), whose entries
are the runs of physically adjacent pages; then ``dma_map_sg()`` (see :mod:`.scatterlist`).
"""

from __future__ import annotations

from ..errors import InvalidArgument
from .scatterlist import UINT_MAX, SgTable, sg_alloc_table_from_pages_segment

__all__ = ["vmalloc_to_sg_table"]


def vmalloc_to_sg_table(machine, addr: int, size: int | None = None, max_segment: int = UINT_MAX) -> SgTable:
    """The SG table of the vmalloc area at ``addr`` (its first ``size`` bytes; all of it by default)."""
    space = machine.vmalloc
    area = space.area(addr)
    page = machine.page_size
    full = area.nr_pages * page
    size = full if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= full:
        raise InvalidArgument(f"size {size!r}: the area at {addr:#x} maps {full} bytes")
    nr_pages = -(-size // page)
    pfns = [space.vmalloc_to_pfn(addr + i * page) for i in range(nr_pages)]
    return sg_alloc_table_from_pages_segment(pfns, 0, size, max_segment, page_size=page)
