"""The kernel's half of the MMU on one machine: init_mm's page tables, the direct map, vmalloc's
PTEs and one CPU's TLB, built on first use (``machine.mmu``).

The direct map is built from the machine's RAM (:func:`.direct_map.machine_ram_ranges`: a booted
machine's memblock memory, i.e. its e820 table after the command line) unless firmware ranges are
given, with GB pages as the boot decided them, else when the CPU preset's TLB can hold them.
"""

from __future__ import annotations

from .direct_map import DirectMap, build_direct_map
from .pagetable import PageTable
from .tlb import GiB1, Tlb
from .vmap import VmallocMappings

__all__ = ["KernelMmu"]


class KernelMmu:
    """``init_mm`` of a machine.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> mmu = KernelMmu(Machine.preset("linux-6.18-x86_64", ram="64M"))
    >>> mmu.direct_map.meminfo_lines().splitlines()[:2]
    ['DirectMap4k:        2048 kB', 'DirectMap2M:       63488 kB']
    """

    def __init__(self, machine, *, ranges=None, cpu: str = "skylake", gbpages: bool | None = None,
                 rules: str = "6.18") -> None:
        self.machine = machine
        self.tlb = Tlb(cpu)
        boot = getattr(machine, "boot", None)
        if gbpages is None and boot is not None and boot.direct_map is not None and boot.direct_map.arch == "x86_64":
            gbpages = boot.direct_map.gbpages          # what the boot log said ("Using GB pages ...")
        if gbpages is None:
            gbpages = any(GiB1 in array.page_sizes for array in self.tlb.preset.l1)
        self.page_table = PageTable(machine, name="init_mm")
        self.direct_map: DirectMap = build_direct_map(machine, ranges, gbpages=gbpages, rules=rules,
                                                      page_table=self.page_table)
        self.vmalloc = VmallocMappings(machine.vmalloc, self.page_table, self.tlb)

    def virt_of_pfn(self, pfn: int) -> int:
        """``page_address(pfn_to_page(pfn))`` for lowmem: the page's direct-map address."""
        return self.direct_map.virt(pfn * self.machine.page_size)

    def check_invariants(self) -> None:
        self.page_table.check_invariants()
