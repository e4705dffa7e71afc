"""Devices and their DMA masks: kernel/dma/mapping.c and kernel/dma/direct.c (Linux 6.18).

A driver tells the kernel which bus addresses its device can drive with ``dma_set_mask()``
(streaming mappings) and ``dma_set_coherent_mask()`` (``dma_alloc_coherent()`` buffers).  Both
ask ``dma_supported()``: with an IOMMU every mask is accepted (the IOMMU can place an IOVA
anywhere below it); without one, ``dma_direct_supported()`` accepts any mask of 32 bits or
more, and a smaller one only if it covers all of RAM or, with ZONE_DMA, ``zone_dma_limit``
(16 MiB on x86: an ISA device's 24-bit mask is the smallest that works).  A refusal is -EIO
and the mask is left as it was.

Defaults follow the buses: ``pci_device_add()`` (drivers/pci/probe.c) sets both masks to 32
bits, ``max_segment_size`` 64 KiB and the segment boundary 4 GiB - 1; ``isa_register_device()``
(drivers/base/isa.c) gives an ISA device a 24-bit mask.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .errors import EIO, DmaMaskError

__all__ = ["DMA_BIT_MASK", "ZONE_DMA_LIMIT", "Device", "dma_supported", "dma_direct_supported",
           "dma_set_mask", "dma_set_coherent_mask", "dma_set_mask_and_coherent", "check_mask"]

U64 = (1 << 64) - 1


def DMA_BIT_MASK(n: int) -> int:  # noqa: N802 - the kernel's macro name
    """``DMA_BIT_MASK(n)`` of include/linux/dma-mapping.h: ``n`` low bits set (all 64 for n=64).

    >>> hex(DMA_BIT_MASK(24)), hex(DMA_BIT_MASK(32))
    ('0xffffff', '0xffffffff')
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 64:
        raise DmaMaskError(f"DMA_BIT_MASK({n!r}): the bit count must be an integer 0..64", errno=EIO)
    return U64 if n == 64 else (1 << n) - 1


#: ``zone_dma_limit`` (kernel/dma/direct.c): DMA_BIT_MASK(24), the top of ZONE_DMA on x86.
ZONE_DMA_LIMIT = DMA_BIT_MASK(24)


def check_mask(mask, what: str = "mask") -> int:
    """A DMA mask is a u64 of the form 2**n - 1 (what ``DMA_BIT_MASK(n)`` gives)."""
    if isinstance(mask, bool) or not isinstance(mask, numbers.Integral):
        raise DmaMaskError(f"DMA {what} {mask!r} is not an integer; accepted: DMA_BIT_MASK(n), n = 0..64",
                           errno=EIO)
    mask = int(mask)
    if not 0 <= mask <= U64 or mask & (mask + 1):
        raise DmaMaskError(f"DMA {what} {mask:#x} is not a mask (2**n - 1, as DMA_BIT_MASK(n) gives); "
                           "accepted: e.g. DMA_BIT_MASK(24) = 0xffffff, DMA_BIT_MASK(32), DMA_BIT_MASK(64)",
                           errno=EIO)
    return mask


@dataclass(eq=False)
class Device:
    """A ``struct device`` as the DMA API sees it.

    Parameters
    ----------
    name : str
        What ``dev_name()`` would print (``"0000:01:00.0"``, ``"isa-dma"``).
    dma_mask, coherent_dma_mask : int
        ``*dev->dma_mask`` and ``dev->coherent_dma_mask`` (defaults: 32 bits, as for PCI).
    bus_dma_limit : int
        ``dev->bus_dma_limit``: a limit of the bus above the device, 0 for none.
    iommu : bool
        True when the device sits behind an IOMMU with a DMA domain (``use_dma_iommu()``):
        dma-iommu, not dma-direct, serves it.
    max_segment_size, segment_boundary_mask : int
        ``dma_get_max_seg_size()`` and ``dma_get_seg_boundary()`` (PCI defaults 64 KiB, 4 GiB - 1).
    min_align_mask : int
        ``dma_get_min_align_mask()`` (NVMe sets 4 KiB - 1; most devices 0): swiotlb keeps these
        low address bits of the original buffer in the bounce slot.
    cma_area : Cma or None
        ``dev->cma_area``, a per-device CMA area (device tree ``memory-region``); None uses the
        default area.

    Examples
    --------
    >>> Device.isa("floppy").dma_mask == DMA_BIT_MASK(24)
    True
    """

    name: str
    dma_mask: int = DMA_BIT_MASK(32)
    coherent_dma_mask: int = DMA_BIT_MASK(32)
    bus_dma_limit: int = 0
    iommu: bool = False
    max_segment_size: int = 65536
    segment_boundary_mask: int = DMA_BIT_MASK(32)
    min_align_mask: int = 0
    cma_area: object = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DmaMaskError(f"device name {self.name!r} must be a non-empty string", errno=EIO)
        self.dma_mask = check_mask(self.dma_mask, "mask")
        self.coherent_dma_mask = check_mask(self.coherent_dma_mask, "coherent mask")
        if self.bus_dma_limit:
            self.bus_dma_limit = check_mask(self.bus_dma_limit, "bus limit")
        self.segment_boundary_mask = check_mask(self.segment_boundary_mask, "segment boundary mask")
        self.min_align_mask = check_mask(self.min_align_mask, "min align mask")
        if isinstance(self.max_segment_size, bool) or not isinstance(self.max_segment_size, int) \
                or self.max_segment_size <= 0:
            raise DmaMaskError(f"max_segment_size {self.max_segment_size!r} must be a positive number of bytes",
                               errno=EIO)

    @classmethod
    def isa(cls, name: str = "isa") -> "Device":
        """An ISA device: 24-bit masks (it can reach the first 16 MiB only)."""
        return cls(name, dma_mask=DMA_BIT_MASK(24), coherent_dma_mask=DMA_BIT_MASK(24))

    @classmethod
    def pci(cls, name: str = "0000:01:00.0", bits: int = 32, *, iommu: bool = False) -> "Device":
        """A PCI device whose driver called ``dma_set_mask_and_coherent(DMA_BIT_MASK(bits))``."""
        return cls(name, dma_mask=DMA_BIT_MASK(bits), coherent_dma_mask=DMA_BIT_MASK(bits), iommu=iommu)

    @property
    def dma_limit(self) -> int:
        """``min_not_zero(*dev->dma_mask, dev->bus_dma_limit)``: the highest address it reaches."""
        return min(self.dma_mask, self.bus_dma_limit) if self.bus_dma_limit else self.dma_mask

    @property
    def coherent_limit(self) -> int:
        """``min_not_zero(dev->coherent_dma_mask, dev->bus_dma_limit)`` (``dma_coherent_ok()``)."""
        if self.bus_dma_limit:
            return min(self.coherent_dma_mask, self.bus_dma_limit)
        return self.coherent_dma_mask

    def dma_capable(self, dma_addr: int, size: int) -> bool:
        """``dma_capable()`` (include/linux/dma-direct.h): the last byte is below the limit."""
        return dma_addr + size - 1 <= self.dma_limit


def _has_zone_dma(machine) -> bool:
    return any(zone.name == "DMA" for zone in machine.zones) or "DMA" in machine.config.zone_names[:1]


def dma_direct_supported(machine, mask: int) -> bool:
    """``dma_direct_supported()``: 32-bit masks always; smaller ones if they cover RAM or ZONE_DMA."""
    mask = check_mask(mask)
    if mask >= DMA_BIT_MASK(32):
        return True
    min_mask = (machine.nr_pages * machine.page_size) - 1   # (max_pfn << PAGE_SHIFT) - 1
    if _has_zone_dma(machine):
        min_mask = min(min_mask, ZONE_DMA_LIMIT)
    return mask >= min_mask


def dma_supported(machine, device: Device, mask: int) -> bool:
    """``dma_supported()``: dma-iommu takes any mask; dma-direct asks ``dma_direct_supported()``."""
    mask = check_mask(mask)
    return True if device.iommu else dma_direct_supported(machine, mask)


def _refuse(machine, device: Device, mask: int, which: str) -> DmaMaskError:
    ram_top = machine.nr_pages * machine.page_size - 1
    return DmaMaskError(
        f"{which}({device.name}, {mask:#x}) = -EIO: dma_direct_supported() refuses a mask below 32 bits "
        f"unless it covers ZONE_DMA ({ZONE_DMA_LIMIT:#x}) or all RAM ({ram_top:#x}); no IOMMU to remap it",
        errno=EIO)


def dma_set_mask(machine, device: Device, mask: int) -> None:
    """``dma_set_mask()``: set the streaming mask, or raise -EIO leaving it unchanged."""
    mask = check_mask(mask)
    if not dma_supported(machine, device, mask):
        raise _refuse(machine, device, mask, "dma_set_mask")
    device.dma_mask = mask


def dma_set_coherent_mask(machine, device: Device, mask: int) -> None:
    """``dma_set_coherent_mask()``: the mask ``dma_alloc_coherent()`` honours."""
    mask = check_mask(mask)
    if not dma_supported(machine, device, mask):
        raise _refuse(machine, device, mask, "dma_set_coherent_mask")
    device.coherent_dma_mask = mask


def dma_set_mask_and_coherent(machine, device: Device, mask: int) -> None:
    """``dma_set_mask_and_coherent()``: both masks, or neither (-EIO)."""
    dma_set_mask(machine, device, mask)
    device.coherent_dma_mask = mask
