"""32-bit x86 highmem: the 896 MiB line, the kernel's virtual layout, and kmap.

Follows, for each version in ``layout_rules`` (2.6.17, 2.6.24, 2.6.35, 3.16, 4.14, 4.15, 5.1, 6.18):

* ``layout_rules``, ``layout``: arch/x86/include/asm/page_32_types.h, pgtable_32_types.h /
  pgtable_32_areas.h, fixmap.h; arch/x86/mm/init_32.c (``find_low_pfn_range()``,
  ``lowmem_pfn_init()``, ``highmem_pfn_init()``, ``initmem_init()``, ``mem_init()``),
  arch/x86/mm/pgtable_32.c (``parse_vmalloc()``), arch/x86/kernel/setup_32.c of 2.6.24
  (``find_max_low_pfn()``), arch/x86/mm/init.c ``zone_sizes_init()``, mm/page_alloc.c
  ``free_area_init_nodes()``;
* ``bootlog``: the lines those functions print;
* ``kmap``: mm/highmem.c ``kmap_high()``, ``map_new_virtual()``, ``flush_all_zero_pkmaps()``,
  ``kunmap_high()``; ``kmap_local``: arch/x86/mm/highmem_32.c ``kmap_atomic_prot()`` (2.6.35),
  include/linux/highmem.h ``kmap_atomic_idx_push()`` (2.6.37-5.10), mm/highmem.c
  ``__kmap_local_pfn_prot()``/``kunmap_local_indexed()`` (5.11+);
* ``machine_boot``: a Machine of a 32-bit preset booted with this layout (its zones, its dmesg);
* ``zones``: ZONE_HIGHMEM for the page allocator (mm/page_alloc.c ``__setup_per_zone_wmarks()``,
  ``setup_per_zone_lowmem_reserve()``): a layout's zones as ``page_alloc.Zone`` objects.

Imports only the page allocator and the base modules.
"""

from . import bootlog, errors, kmap, kmap_local, layout, layout_rules, machine_boot, zones
from .bootlog import *  # noqa: F401,F403
from .errors import *  # noqa: F401,F403
from .kmap import *  # noqa: F401,F403
from .kmap_local import *  # noqa: F401,F403
from .layout import *  # noqa: F401,F403
from .layout_rules import *  # noqa: F401,F403
from .machine_boot import *  # noqa: F401,F403
from .zones import *  # noqa: F401,F403

__all__ = list(dict.fromkeys(
    name for module in (bootlog, errors, kmap, kmap_local, layout, layout_rules, machine_boot, zones) for name in module.__all__))
