"""The free-area lines of the kernel's memory report (``show_free_areas()``, mm/show_mem.c, Linux 6.18).

``warn_alloc()`` ends with ``__show_mem()``, which prints, for every populated zone up to the
failed request's ``gfp_zone()``, the number of free blocks per order and the migrate types that
have some (``show_migration_types()``: U, M, E, H, C, I in migrate-type order), then the total.
"""

from __future__ import annotations

from .mmzone import MIGRATE_TYPES

__all__ = ["MIGRATION_TYPE_LETTERS", "show_free_areas"]

#: ``show_migration_types()``'s letters, indexed by migrate type
MIGRATION_TYPE_LETTERS = "UMEHCI"


def show_free_areas(zones, highest: int | None = None, *, zone_names=None, page_size: int = 4096) -> list[str]:
    """``show_free_areas()``'s per-zone lines: ``Node 0 Normal: 2*4kB (UM) 0*8kB ... = 8kB``.

    ``zones`` are the machine's zones; with ``highest`` (a zone index of ``zone_names``, as
    ``gfp_zone()`` gives) only zones up to it are printed, as ``__show_mem(filter, nodemask,
    gfp_zone(gfp_mask))`` does for an allocation failure.  ``Node %d `` is printed because
    distribution kernels have CONFIG_NUMA.
    """
    from ..errors import InvalidArgument
    from ..validate import in_range, power_of_two
    from .checks import check_zones_arg

    zones = check_zones_arg(zones)
    if highest is not None:
        highest = in_range(highest, "highest (a zone index)", 0, 7)
    if zone_names is not None and (not isinstance(zone_names, (list, tuple))
                                   or not all(isinstance(name, str) for name in zone_names)):
        raise InvalidArgument(f"zone_names {zone_names!r:.40}: accepted: None or a tuple of zone names by index")
    page_size = power_of_two(page_size, "page_size", 1024, 1 << 16)
    lines = []
    for zone in zones:
        if highest is not None and zone_names is not None and zone.name in zone_names \
                and zone_names.index(zone.name) > highest:
            continue
        if not zone.populated:
            continue
        kb = page_size // 1024
        parts, total = [], 0
        for order in range(zone.max_page_order + 1):
            count = zone.nr_free(order)
            total += count << order
            text = f"{count}*{kb << order}kB "
            if count:
                letters = "".join(MIGRATION_TYPE_LETTERS[mt] for mt in range(MIGRATE_TYPES)
                                  if zone.nr_free_list(order, mt))
                text += f"({letters}) "
            parts.append(text)
        lines.append(f"Node {zone.node} {zone.name}: " + "".join(parts) + f"= {total * kb}kB")
    return lines
