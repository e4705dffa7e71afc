"""What the DMA layer remembers about one machine: CMA areas, pinned pages, SWIOTLB, IOMMU.

``machine.dma`` creates it on first use (as ``machine.slab`` and ``machine.vmalloc`` do) and a
reboot (``machine.reset()``) drops it.  It follows the pages it cares about: a pinned block that
is freed is no longer pinned (``unpin_user_page()`` happens when the last reference goes).
"""

from __future__ import annotations

__all__ = ["DmaState"]


class DmaState:
    """Per-machine DMA state.

    Attributes
    ----------
    cma_areas : list of Cma
        ``cma_areas[]`` of mm/cma.c, in declaration order.
    default_cma : Cma or None
        ``dma_contiguous_default_area`` (kernel/dma/contiguous.c): the area ``cma=`` creates.
    pins : dict
        pfn -> order of blocks held by ``pin_user_pages()`` (FOLL_PIN): they cannot migrate.
    swiotlb : SwiotlbPool or None
        ``io_tlb_default_mem`` once ``swiotlb_init()`` ran.
    buffers : dict
        Live ``dma_alloc_coherent()`` buffers by ``cpu_addr``.
    """

    def __init__(self, machine) -> None:
        self.machine = machine
        self.cma_areas: list = []
        self.default_cma = None
        self.pins: dict[int, int] = {}
        self.swiotlb = None
        self.iommu_domains: dict[str, object] = {}
        self.buffers: dict[int, object] = {}
        self.contig_owned: dict[int, int] = {}   # start pfn -> nr_pages taken by alloc_contig_range()
        self.boot_lines: list[str] = []           # what cma_init_reserved_areas() printed
        self._unsubscribe = None

    # ------------------------------------------------------------------ pins follow the pages
    def add_pin(self, pfn: int, order: int) -> None:
        self.pins[pfn] = order
        if self._unsubscribe is None:
            self._unsubscribe = self.machine.bus.subscribe(self._follow)

    def remove_pin(self, pfn: int) -> None:
        self.pins.pop(pfn, None)
        if not self.pins and self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _follow(self, event) -> None:
        kind = event.kind
        if kind == "mm_page_free":
            if event.data.get("pfn") in self.pins:
                self.remove_pin(event.data["pfn"])
        elif kind == "mm_compaction_end":
            # The model's compaction does not consult pins yet: keep the pin on the page it moved.
            for old, new in event.data.get("moved", {}).items():
                if old in self.pins:
                    self.pins[new] = self.pins.pop(old)

    def is_pinned(self, pfn: int) -> bool:
        return pfn in self.pins

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
