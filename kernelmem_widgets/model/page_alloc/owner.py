"""Who holds an allocated block, and whether compaction may migrate it.

The kernel's migrate scanner (``isolate_migratepages_block()`` in mm/compaction.c, Linux 6.18)
isolates only pages on an LRU list (``PageLRU``: user and page-cache memory) and pages whose
owner registered ``movable_operations`` (zsmalloc, balloon pages).  Slab pages, the compound
pages of a large ``kmalloc()`` and the pages behind ``vmalloc()`` are on no LRU and have no
movable ops: they stay where they are, whatever migrate type their GFP mask gave them.

The model keeps one owner code per allocated block (``Zone._alloc_owner``, beside the order).
Blocks taken with :meth:`Machine.alloc_pages` by a reader or a lab (``"alloc_pages"``) and by the
aging workload (``"workload"``) stand for user memory: compaction migrates them when their
migrate type is Movable, and their holders follow the ``moved`` map of ``mm_compaction_end``.
A free must name the owner that allocated the block (``__free_pages()`` of a slab page is a bug
the kernel catches as a bad page; here it is refused).
"""

from __future__ import annotations

from ..errors import InvalidArgument

__all__ = ["OWNERS", "OWNER_CODE", "MIGRATABLE_OWNERS", "owner_code", "owner_hint"]

#: Owner names, indexed by the code kept per block
OWNERS = ("alloc_pages", "workload", "slab", "kmalloc_large", "vmalloc")
OWNER_CODE = {name: code for code, name in enumerate(OWNERS)}
#: Codes of owners whose Movable blocks stand for LRU pages: the only blocks compaction moves
MIGRATABLE_OWNERS = frozenset((OWNER_CODE["alloc_pages"], OWNER_CODE["workload"]))

_HINTS = {
    "alloc_pages": "free it with free_pages(pfn, order) as whoever allocated it",
    "workload": "the aging workload holds it (Workload.free_all() gives its blocks back)",
    "slab": "it is a slab page: kfree()/kmem_cache_free() its objects and the slab allocator frees the page",
    "kmalloc_large": "it backs a large kmalloc(): kfree() that pointer",
    "vmalloc": "it backs a vmalloc() area: vfree() the area",
}


def owner_code(owner) -> int:
    """The code of an owner name; :class:`InvalidArgument` for anything else."""
    code = OWNER_CODE.get(owner) if owner.__class__ is str else None
    if code is None:
        raise InvalidArgument(f"unknown block owner {owner!r}; accepted: {', '.join(OWNERS)}")
    return code


def owner_hint(code: int) -> str:
    """How a block of this owner is given back, in words (the owner codes of :mod:`.owner`)."""
    if code.__class__ is not int or not 0 <= code < len(OWNERS):
        from ..validate import in_range

        code = in_range(code, "owner code", 0, len(OWNERS) - 1)
    return f"pfn held by {OWNERS[code]}: {_HINTS[OWNERS[code]]}"
