"""The MMU: page tables, the direct map, the TLB, page faults, copy-on-write and THP.

Follows, for Linux 6.18 unless a preset says otherwise:

* ``paging``, ``pagetable``: arch/x86/include/asm/pgtable*_types.h, include/asm-generic/pgalloc.h,
  mm/memory.c ``free_pgtables()``: the 2-, 3-, 4- and 5-level trees and the hardware walk;
* ``direct_map``: arch/x86/mm/init.c ``init_mem_mapping()``, ``init_memory_mapping()``,
  ``split_mem_range()``, arch/x86/mm/init_64.c ``phys_pud_init()``/``phys_pmd_init()``/
  ``phys_pte_init()``, arch/x86/mm/pat/set_memory.c ``arch_report_meminfo()``;
* ``set_memory``: arch/x86/mm/pat/set_memory.c ``set_memory_ro()``, ``set_memory_uc()``,
  ``__split_large_page()``, ``cpa_flush()``;
* ``tlb``: the L1 dTLB and the second-level TLB of real CPUs (vendor manuals), LRU sets;
* ``streams``: access patterns through the direct map, vmalloc and user mappings;
* ``vmap``: mm/vmalloc.c ``vmap_pages_range()``, ``vunmap_range_noflush()``, ``lazy_max_pages()``,
  ``__purge_vmap_area_lazy()``;
* ``mm``: mm/memory.c ``handle_mm_fault()``, ``do_anonymous_page()``, ``do_fault_around()``,
  ``do_wp_page()``; mm/huge_memory.c ``do_huge_pmd_anonymous_page()``; kernel/fork.c ``dup_mmap()``.
"""

from . import direct_map, kernel, mm, mmu_errors, pagetable, paging, rmap, set_memory, streams, tlb, vmap
from .direct_map import *  # noqa: F401,F403
from .kernel import *  # noqa: F401,F403
from .mm import *  # noqa: F401,F403
from .mmu_errors import *  # noqa: F401,F403
from .pagetable import *  # noqa: F401,F403
from .paging import *  # noqa: F401,F403
from .rmap import *  # noqa: F401,F403
from .set_memory import *  # noqa: F401,F403
from .streams import *  # noqa: F401,F403
from .tlb import *  # noqa: F401,F403
from .vmap import *  # noqa: F401,F403

__all__ = list(dict.fromkeys(name for module in (direct_map, kernel, mm, mmu_errors, pagetable, paging, rmap,
                                                  set_memory, streams, tlb, vmap) for name in module.__all__))
