"""Argument checks shared by the page allocator's public functions (issue 9: a named error, before anything).

A zone is a :class:`~.buddy.Zone` (what ``Machine.zone(name)`` returns), zones a list or tuple of
them; the numbers are the C types' ranges as the kit uses them.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..validate import in_range

__all__ = ["check_zone_arg", "check_zones_arg"]


def check_zone_arg(zone, what: str = "zone"):
    """``zone`` itself if it is a :class:`Zone`, else :class:`InvalidArgument` naming what is accepted."""
    from .buddy import Zone

    # a Zone, or a stand-in with a zone's figures (a live machine's zoneinfo read into a namespace)
    if not isinstance(zone, Zone) and not (hasattr(zone, "managed_pages") and isinstance(getattr(zone, "name", None),
                                                                                        str)):
        raise InvalidArgument(f"{what} {zone!r:.40} is not a zone; accepted: a Zone, e.g. machine.zone('Normal')")
    return zone


def check_zones_arg(zones, what: str = "zones", allow_none: bool = False) -> list:
    """A list of zones (``None`` entries allowed where a zone index is empty, ``allow_none``)."""
    if not isinstance(zones, (list, tuple)) or len(zones) > 64:
        raise InvalidArgument(f"{what} {zones!r:.40}: accepted: a list of at most 64 zones (machine.zones)")
    for index, zone in enumerate(zones):
        if zone is None and allow_none:
            continue
        check_zone_arg(zone, f"{what}[{index}]")
    return list(zones)


def check_count(value, what: str, high: int = 1 << 52) -> int:
    """A page count or similar non-negative number up to ``high``."""
    return in_range(value, what, 0, high)
