"""Firmware memory maps of real (virtual) machines, as functions of the RAM size.

``qemu-i440fx`` is QEMU's ``pc`` machine (i440FX + PIIX) with SeaBIOS, as QEMU >= 1.7 lays RAM
out (hw/i386/pc_piix.c): all RAM below 4 GiB when there is less than 3.5 GiB
(``0xe0000000``), otherwise 3 GiB below (``gigabyte_align``) and the rest from 4 GiB; the hole
between is the PCI hole.  SeaBIOS reports 639 KiB of base memory, the EBDA (``0x9fc00``), the
BIOS ROM shadow (``0xf0000``), 128 KiB of its own tables at the top of low RAM, the 16 KiB KVM
identity-map/TSS page range (``0xfeffc000``) and the 256 KiB flash at the top of 4 GiB.  The
result is exactly the ``BIOS-e820:`` lines of real QEMU guests: the 2 GiB guest of an LKML report
(Linux 6.10-rc3, "QEMU Standard PC (i440FX + PIIX, 1996), BIOS rel-1.16.0") and the 15 GiB
guest of pmem.io's "How To Emulate Persistent Memory" (both kept as test fixtures).

``qemu-q35`` is QEMU's ``q35`` machine: 2 GiB below 4 GiB once RAM reaches 2.75 GiB
(``0xb0000000``), and the 256 MiB PCIe MMCONFIG window at ``0xb0000000`` reserved.
"""

from __future__ import annotations

from .e820 import E820_TYPE_RAM, E820_TYPE_RESERVED, E820Table, InvalidFirmwareMap

__all__ = ["FIRMWARE", "firmware_map", "qemu_i440fx", "qemu_q35"]

_GiB = 1 << 30


def _seabios(lowmem: int, above_4g: int, extra=()) -> E820Table:
    entries = [(0, 0x9FC00, E820_TYPE_RAM), (0x9FC00, 0x400, E820_TYPE_RESERVED),
               (0xF0000, 0x10000, E820_TYPE_RESERVED), (0x100000, lowmem - 0x20000 - 0x100000, E820_TYPE_RAM),
               (lowmem - 0x20000, 0x20000, E820_TYPE_RESERVED), *extra,
               (0xFEFFC000, 0x4000, E820_TYPE_RESERVED), (0xFFFC0000, 0x40000, E820_TYPE_RESERVED)]
    if above_4g:
        entries.append((4 * _GiB, above_4g, E820_TYPE_RAM))
    return E820Table(sorted(entries))


def _check(ram: int, name: str) -> None:
    if isinstance(ram, bool) or not isinstance(ram, int) or ram < 16 << 20 or ram % (1 << 20):
        raise InvalidFirmwareMap(f"{name}: RAM of {ram!r} bytes is not a whole number of MiB of at least 16 MiB")


def qemu_i440fx(ram: int) -> E820Table:
    """The SeaBIOS e820 map of ``qemu-system-x86_64 -M pc -m <ram>``.

    >>> print(qemu_i440fx(2 << 30).render())
    BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
    BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved
    BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved
    BIOS-e820: [mem 0x0000000000100000-0x000000007ffdffff] usable
    BIOS-e820: [mem 0x000000007ffe0000-0x000000007fffffff] reserved
    BIOS-e820: [mem 0x00000000feffc000-0x00000000feffffff] reserved
    BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved
    """
    _check(ram, "qemu-i440fx")
    lowmem = ram if ram < 0xE0000000 else 3 * _GiB
    return _seabios(lowmem, ram - lowmem)


def qemu_q35(ram: int) -> E820Table:
    """The SeaBIOS e820 map of ``qemu-system-x86_64 -M q35 -m <ram>`` (MMCONFIG at 0xb0000000)."""
    _check(ram, "qemu-q35")
    lowmem = ram if ram < 0xB0000000 else 2 * _GiB
    return _seabios(lowmem, ram - lowmem, extra=[(0xB0000000, 0x10000000, E820_TYPE_RESERVED)])


FIRMWARE = {"qemu-i440fx": qemu_i440fx, "qemu-q35": qemu_q35}


def firmware_map(name: str, ram: int) -> E820Table:
    """The map firmware ``name`` reports for ``ram`` bytes of RAM."""
    try:
        return FIRMWARE[name](ram)
    except KeyError:
        raise InvalidFirmwareMap(f"unknown firmware {name!r}; accepted: {', '.join(FIRMWARE)}, "
                                 "an E820Table, or boot-log text with BIOS-e820 lines") from None
