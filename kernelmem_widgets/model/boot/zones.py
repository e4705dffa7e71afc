"""Building a machine's zones from a boot: ``free_area_init()`` spans, ``memblock_free_all()`` pages.

The zones span what ``zone_sizes_init()`` gives them (:func:`.setup.boot_memory`); only the
pages ``memblock_free_all()`` released are free in them, so holes (the PCI hole, what ``mem=``
hid) and memblock reservations are never handed out, and each zone's ``managed_pages`` is the
kernel's count of the pages it manages.
"""

from __future__ import annotations

from ..page_alloc.mmzone import MIGRATE_TYPES
from .e820 import E820Table, InvalidFirmwareMap
from .firmware import firmware_map
from .setup import boot_memory

__all__ = ["resolve_firmware", "boot_machine"]


def resolve_firmware(preset, ram_bytes: int | None, e820) -> tuple[E820Table, str]:
    """The firmware table for ``e820`` (None/True: the preset's firmware; a name; boot-log text; a table)."""
    if e820 is None or e820 is True:
        name = preset.firmware
        if not name:
            raise InvalidFirmwareMap(f"preset {preset.name} names no firmware; pass e820=<an E820Table or boot log>")
        return firmware_map(name, ram_bytes), name
    if isinstance(e820, E820Table):
        if not e820.is_sorted_and_disjoint() or any(entry.size == 0 for entry in e820):
            raise InvalidFirmwareMap(
                "the firmware map is unsorted, overlapping or has empty entries: e820__memory_setup_default() "
                "runs e820__update_table() on such a map before it prints 'BIOS-e820:' (overlaps resolved in "
                "favour of the higher type); sanitise it first with table.update_table()")
        return e820.copy(), ""
    if isinstance(e820, str):
        if "\n" not in e820 and ":" not in e820:
            return firmware_map(e820, ram_bytes), e820
        table = E820Table.parse(e820)
        if not table.copy().update_table() or not table.is_sorted_and_disjoint():
            raise InvalidFirmwareMap("the firmware map is unsorted or has overlapping entries; the kernel would "
                                     "sanitise it (e820__update_table), but a map from a boot log is printed "
                                     "already sanitised, so this one is not a real BIOS-e820 listing")
        return table, ""
    raise InvalidFirmwareMap(f"e820={e820!r}: accepted an E820Table, a firmware name (qemu-i440fx, qemu-q35), "
                             "or the BIOS-e820 lines of a boot log")


def boot_machine(machine, firmware: E820Table, cmdline: str, *, strict: bool = True):
    """Boot ``machine`` (its zones, watermarks, memblock) from ``firmware`` and ``cmdline``."""
    preset = machine.config
    result = boot_memory(preset, firmware, cmdline, strict=strict)
    free_ranges = result.free_pfn_ranges
    total_free = sum(end - start for start, end in free_ranges)
    machine.nr_pages = result.max_pfn
    machine.ram_bytes = result.physpages * preset.page_size
    nr_migratetypes = MIGRATE_TYPES if preset.config_cma else MIGRATE_TYPES - 1  # no MIGRATE_CMA
    machine.mobility_grouping = total_free >= (1 << preset.pageblock_order) * nr_migratetypes
    spans = {name: (lo, hi) for name, lo, hi in result.zone_spans}
    machine.zones_by_index = []
    for name in preset.zone_names:
        lo, hi = spans.get(name, (0, 0))
        populated = lo < hi and any(max(s, lo) < min(e, hi) for s, e in result.memory_ranges)
        machine.zones_by_index.append(machine._make_zone(name, lo, hi, free_ranges) if populated else None)
    machine.zones = [zone for zone in machine.zones_by_index if zone is not None]
    machine._zones_built()
    if result.vmalloc_start is not None:
        machine.config = preset.with_changes(vmalloc_start=result.vmalloc_start,
                                             vmalloc_size=result.vmalloc_end - result.vmalloc_start)
    return result
