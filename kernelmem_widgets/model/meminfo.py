"""/proc/meminfo as ``meminfo_proc_show()`` (fs/proc/meminfo.c, Linux 6.18) prints it for the model.

Every line is ``show_val_kb()``: the label padded to 16 columns, the value in kB right-aligned in
8, `` kB``.  The lines are those of an x86-64 distribution kernel (CONFIG_ZSWAP,
CONFIG_MEMORY_FAILURE, CONFIG_TRANSPARENT_HUGEPAGE, CONFIG_CMA, CONFIG_UNACCEPTED_MEMORY,
CONFIG_HUGETLBFS; no HIGHMEM), ending with ``hugetlb_report_meminfo()`` and
``arch_report_meminfo()`` (the DirectMap lines of the direct map, :mod:`.mmu.direct_map`).

What the model has, it shows: MemTotal (managed pages), MemFree, MemAvailable as
``si_mem_available()`` computes it (free minus ``totalreserve_pages`` plus the reclaimable slab
above the low watermarks; there is no page cache), Slab / SReclaimable / SUnreclaim from the slab
layer (large kmallocs count as SUnreclaim, as since 5.11), PageTables (every page-table page of
the kernel and of the user address spaces given), VmallocUsed, AnonPages / AnonHugePages /
Mapped of the given user address spaces, and Committed_AS: the whole length of their private
writable mappings, charged at mmap time before any page exists.  Everything the model does not simulate (page cache,
swap, kernel stacks, per-cpu areas, hugetlbfs pools) is 0.  VmallocTotal is VMALLOC_SIZE_TB_L4
(32 TiB) on x86-64.
"""

from __future__ import annotations

from .errors import InvalidArgument

__all__ = ["render_meminfo", "meminfo_values"]


def _kb(label: str, pages: int, page_kb: int) -> str:
    return f"{label:<16}{pages * page_kb:8d} kB\n"


def meminfo_values(machine, mms=()) -> dict[str, int]:
    """The model's numbers behind /proc/meminfo, in pages (a few in kB, named so)."""
    zones = machine.zones
    free = sum(zone.nr_free_pages for zone in zones)
    totalreserve = 0
    for zone in zones:               # calculate_totalreserve_pages()
        reserve = max(zone.lowmem_reserve) + zone.watermark["high"]
        totalreserve += min(reserve, zone.managed_pages)
    wmark_low = sum(zone.watermark["low"] for zone in zones)
    reclaimable = unreclaimable = 0
    if machine._slab is not None:
        slab = machine.slab
        by_name = {cache.name: cache for cache in slab.caches}
        pages = slab.slab_pages()
        for name, order in zip(pages["cache"].tolist(), pages["order"].tolist()):
            cache = by_name.get(name)
            if cache is not None and getattr(cache, "reclaim_account", False):
                reclaimable += 1 << order
            else:
                unreclaimable += 1 << order
        unreclaimable += sum(1 << int(order) for order in pages["large_order"].tolist())
    available = free - totalreserve
    available += reclaimable - min(reclaimable // 2, wmark_low)      # si_mem_available(): reclaimable slab
    available = max(available, 0)
    pagetables = 0
    if machine._mmu is not None:
        pagetables += machine.mmu.page_table.nr_tables
    anon = anon_huge = mapped = committed = 0
    for mm in mms:
        # vm_committed_as: private writable mappings are charged their whole length at mmap (VM_ACCOUNT)
        committed += sum((vma.end - vma.start) // machine.page_size for vma in mm.vmas
                         if vma.writable and not vma.shared)
        pagetables += mm.pt.nr_tables
        anon += mm.rss["MM_ANONPAGES"]
        mapped += mm.rss["MM_FILEPAGES"]
        _virt, _phys, size = mm.pt.leaves()
        anon_huge += int((size == 2 << 20).sum()) * 512
    vmalloc_used = sum(area.nr_pages for area in machine.vmalloc.areas()) if machine._vmalloc is not None else 0
    return {"MemTotal": sum(zone.managed_pages for zone in zones), "MemFree": free, "MemAvailable": available,
            "AnonPages": anon, "Mapped": mapped, "SReclaimable": reclaimable, "SUnreclaim": unreclaimable,
            "PageTables": pagetables, "VmallocUsed": vmalloc_used, "AnonHugePages": anon_huge,
            "Committed_AS": committed}


def render_meminfo(machine, mms=()) -> str:
    """The whole of /proc/meminfo for the machine's state (and the user address spaces ``mms``)."""
    from .machine import Machine

    if not isinstance(machine, Machine):
        raise InvalidArgument(f"{machine!r:.60}: accepted: a Machine")
    if isinstance(mms, (str, bytes)) or not isinstance(mms, (list, tuple)):
        raise InvalidArgument(f"mms {mms!r:.60}: accepted: a list of user address spaces (MmStruct objects)")
    from .mmu.mm import MmStruct

    if not all(isinstance(mm, MmStruct) for mm in mms):
        raise InvalidArgument(f"mms {mms!r:.60}: accepted: a list of user address spaces (MmStruct objects)")
    page_kb = machine.page_size // 1024
    v = meminfo_values(machine, mms)
    kb = lambda label, pages: _kb(label, pages, page_kb)  # noqa: E731
    out = [kb("MemTotal:", v["MemTotal"]), kb("MemFree:", v["MemFree"]), kb("MemAvailable:", v["MemAvailable"])]
    out += [kb(label, 0) for label in ("Buffers:", "Cached:", "SwapCached:")]
    out += [kb(label, 0) for label in ("Active:", "Inactive:")]
    out += [kb(label, 0) for label in ("Active(anon):", "Inactive(anon):", "Active(file):", "Inactive(file):",
                                       "Unevictable:", "Mlocked:", "SwapTotal:", "SwapFree:", "Zswap:",
                                       "Zswapped:", "Dirty:", "Writeback:")]
    out += [kb("AnonPages:", v["AnonPages"]), kb("Mapped:", v["Mapped"]), kb("Shmem:", 0),
            kb("KReclaimable:", v["SReclaimable"]), kb("Slab:", v["SReclaimable"] + v["SUnreclaim"]),
            kb("SReclaimable:", v["SReclaimable"]), kb("SUnreclaim:", v["SUnreclaim"]),
            f"{'KernelStack:':<16}{0:8d} kB\n", kb("PageTables:", v["PageTables"]), kb("SecPageTables:", 0),
            kb("NFS_Unstable:", 0), kb("Bounce:", 0), kb("WritebackTmp:", 0),
            kb("CommitLimit:", v["MemTotal"] // 2),          # vm_commit_limit(): overcommit_ratio 50, no swap
            kb("Committed_AS:", v["Committed_AS"])]
    vmalloc_size = getattr(machine.config, "vmalloc_size", 32 << 40)
    # totalcma_pages and NR_FREE_CMA_PAGES (mm/cma.c, mm/vmstat.c): the CMA areas of model/dma
    cma_total = sum(area.count for area in machine._dma.cma_areas) if machine._dma is not None else 0
    cma_free = sum(zone.nr_free_cma for zone in machine.zones)
    out += [f"{'VmallocTotal:':<16}{vmalloc_size >> 10:8d} kB\n", kb("VmallocUsed:", v["VmallocUsed"]),
            kb("VmallocChunk:", 0), kb("Percpu:", 0), f"HardwareCorrupted: {0:5d} kB\n",
            kb("AnonHugePages:", v["AnonHugePages"]), kb("ShmemHugePages:", 0), kb("ShmemPmdMapped:", 0),
            kb("FileHugePages:", 0), kb("FilePmdMapped:", 0), kb("CmaTotal:", cma_total), kb("CmaFree:", cma_free),
            kb("Unaccepted:", 0)]
    out += [f"HugePages_Total:   {0:5d}\n", f"HugePages_Free:    {0:5d}\n", f"HugePages_Rsvd:    {0:5d}\n",
            f"HugePages_Surp:    {0:5d}\n", f"Hugepagesize:   {2048:8d} kB\n", f"Hugetlb:        {0:8d} kB\n"]
    from .mmu.direct_map import directmap_meminfo

    out.append(directmap_meminfo(machine))      # arch_report_meminfo(): from the boot's plan or the page tables
    return "".join(out)
