"""DMA: how a driver gets memory a device can reach (kernel/dma/, mm/cma.c, lib/scatterlist.c).

Modules, each following the Linux 6.18 file named in it:

* ``device``: ``struct device`` masks, ``dma_set_mask()`` and ``dma_direct_supported()``
  (kernel/dma/mapping.c, kernel/dma/direct.c);
* ``direct``: ``dma_alloc_coherent()`` -> ``dma_direct_alloc()`` (zone from the mask, CMA
  first, the buddy allocator's retry loop) and the IOMMU path; ``dma_free_coherent()``;
* ``contig``: ``alloc_contig_range()``, ``alloc_contig_pages()`` (mm/page_alloc.c), with
  ``page_isolation`` (mm/page_isolation.c) and ``pin`` (``pin_user_pages()`` as a flag,
  mm/gup.c); ``physmap``: which pages are free or reserved (what memblock placement needs);
* ``cma``: CMA areas, ``cma_alloc()``, ``cma_release()``, CmaTotal/CmaFree (mm/cma.c,
  kernel/dma/contiguous.c);
* ``scatterlist``: ``sg_alloc_table_from_pages_segment()``, chaining, ``dma_map_sg()``
  (lib/scatterlist.c, kernel/dma/direct.c, drivers/iommu/dma-iommu.c simplified in ``iommu``);
* ``swiotlb``: the bounce-buffer pool (kernel/dma/swiotlb.c);
* ``vmalloc_sg``: a vmalloc buffer turned into an SG table with ``vmalloc_to_page()``;
* ``routes``: every way to get a 100 MB buffer, evaluated (machine unchanged) or run.

Per-machine state (CMA areas, pins, the SWIOTLB pool) lives in ``machine.dma`` (``state``).
"""

from . import (cma, contig, device, direct, errors, iommu, page_isolation, physmap, pin, routes, scatterlist,
               state, swiotlb, vmalloc_sg)
from .cma import *  # noqa: F401,F403
from .contig import *  # noqa: F401,F403
from .device import *  # noqa: F401,F403
from .direct import *  # noqa: F401,F403
from .errors import *  # noqa: F401,F403
from .iommu import *  # noqa: F401,F403
from .page_isolation import *  # noqa: F401,F403
from .physmap import *  # noqa: F401,F403
from .pin import *  # noqa: F401,F403
from .routes import *  # noqa: F401,F403
from .scatterlist import *  # noqa: F401,F403
from .state import *  # noqa: F401,F403
from .swiotlb import *  # noqa: F401,F403
from .vmalloc_sg import *  # noqa: F401,F403

__all__ = list(dict.fromkeys(
    name for module in (cma, contig, device, direct, errors, iommu, page_isolation, physmap, pin, scatterlist,
                        state, swiotlb, vmalloc_sg)
    for name in module.__all__))
