"""The page allocator: zones, their buddy free lists, and what sits directly on them.

A zone hands out naturally aligned blocks of 2**order page frames and takes them back, merging
free buddies; everything else in the kernel (slabs, vmalloc, page tables, DMA buffers) is built
from such blocks.  The modules follow Linux 6.18:

* ``buddy`` (``Zone``), ``freearea``, ``fallback``: mm/page_alloc.c (``__rmqueue_smallest``,
  ``expand``, ``__free_one_page``, ``__rmqueue_claim``/``__rmqueue_steal``);
* ``mmzone``: include/linux/mmzone.h (migrate types, zone names, MAX_PAGE_ORDER);
* ``gfp``: include/linux/gfp_types.h and gfp.h (``gfp_zone``, ``gfp_migratetype``);
* ``watermarks``: ``__setup_per_zone_wmarks``, ``setup_per_zone_lowmem_reserve``,
  ``__zone_watermark_ok`` of mm/page_alloc.c;
* ``compaction``: mm/compaction.c; ``vmstat``: the fragmentation indexes of mm/vmstat.c;
* ``preview``, ``snapshot``, ``invariants``: the model's own read-only views of a zone (what the
  next allocation would do, what a view draws, the rules the property tests check).

Nothing here imports the slab layer, vmalloc or the machine.
"""

from . import buddy, compaction, fallback, freearea, gfp, invariants, mmzone, preview, snapshot, vmstat, watermarks
from .buddy import *  # noqa: F401,F403
from .compaction import *  # noqa: F401,F403
from .fallback import *  # noqa: F401,F403
from .freearea import *  # noqa: F401,F403
from .gfp import *  # noqa: F401,F403
from .invariants import *  # noqa: F401,F403
from .mmzone import *  # noqa: F401,F403
from .preview import *  # noqa: F401,F403
from .snapshot import *  # noqa: F401,F403
from .vmstat import *  # noqa: F401,F403
from .watermarks import *  # noqa: F401,F403

__all__ = list(dict.fromkeys(
    name for module in (buddy, compaction, fallback, freearea, gfp, invariants, mmzone, preview, snapshot, vmstat,
                        watermarks)
    for name in module.__all__))
