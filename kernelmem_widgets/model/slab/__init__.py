"""The slab layer: kmalloc and kmem caches, built on pages from the page allocator.

A cache carves slabs (one buddy block each) into objects of one size; kmalloc is a family of such
caches by size class.  The modules follow:

* ``slub_sizes``, ``slub``: mm/slub.c of Linux 6.18 (``calculate_sizes``, ``calculate_order``,
  cpu and partial slabs), the only allocator since 6.8;
* ``kmalloc``: the kmalloc size classes of include/linux/slab.h and mm/slab_common.c;
* ``slab_common`` (``SlabAllocator``): the front end of mm/slab_common.c, ``kmalloc()``,
  ``kfree()``, ``kmem_cache_create()``; with ``slab_free`` (its pointer checks) and
  ``slab_stats`` (its read-only figures);
* ``slab_legacy``: SLAB, mm/slab.c of Linux 6.3 (removed in 6.8); ``slob``: SLOB, mm/slob.c of
  Linux 6.3 (removed in 6.4);
* ``slabinfo``: /proc/slabinfo and /sys/kernel/slab.

It imports the page allocator's GFP parsing and nothing of vmalloc or the machine.
"""

from . import kmalloc, slab_common, slab_free, slab_legacy, slab_stats, slabinfo, slob, slub, slub_sizes
from .kmalloc import *  # noqa: F401,F403
from .slab_common import *  # noqa: F401,F403
from .slab_free import *  # noqa: F401,F403
from .slab_legacy import *  # noqa: F401,F403
from .slab_stats import *  # noqa: F401,F403
from .slabinfo import *  # noqa: F401,F403
from .slob import *  # noqa: F401,F403
from .slub import *  # noqa: F401,F403
from .slub_sizes import *  # noqa: F401,F403

__all__ = list(dict.fromkeys(
    name for module in (kmalloc, slab_common, slab_free, slab_legacy, slab_stats, slabinfo, slob, slub, slub_sizes)
    for name in module.__all__))
