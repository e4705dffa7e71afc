"""The model's watermark and lowmem_reserve arithmetic against the running kernel's /proc/zoneinfo.

Given the machine's own managed page counts, min_free_kbytes, watermark_scale_factor and
lowmem_reserve_ratio, ``setup_per_zone_wmarks()`` and ``setup_per_zone_lowmem_reserve()`` of the
model must print the same min/low/high and protection arrays as the kernel.  Skips where /proc
cannot be read (not Linux, or a sandbox without it).
"""

import re
from types import SimpleNamespace

import pytest

from kernelmem_widgets.model.live import LiveUnavailable, read_proc
from kernelmem_widgets.model.page_alloc.watermarks import setup_per_zone_lowmem_reserve, setup_per_zone_wmarks

_HEADER = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)")
_FIELD = re.compile(r"^\s+(min|low|high|managed)\s+(\d+)\s*$")
_PROTECTION = re.compile(r"^\s+protection:\s+\(([\d,\s]+)\)")


def parse_zoneinfo(text):
    zones, current = [], None
    for line in text.splitlines():
        if (header := _HEADER.match(line)):
            current = {"node": int(header.group(1)), "name": header.group(2)}
            zones.append(current)
        elif current is not None and (field := _FIELD.match(line)) and field.group(1) not in current:
            current[field.group(1)] = int(field.group(2))
        elif current is not None and (protection := _PROTECTION.match(line)):
            current["protection"] = [int(value) for value in protection.group(1).split(",")]
    return zones


def snapshot():
    """zoneinfo and the sysctls, read until two reads agree (khugepaged may retune meanwhile)."""
    for _ in range(5):
        try:
            first = [read_proc(path) for path in ("/proc/sys/vm/min_free_kbytes", "/proc/zoneinfo")]
            sysctls = [read_proc(f"/proc/sys/vm/{name}") for name in ("watermark_scale_factor", "lowmem_reserve_ratio")]
            second = [read_proc(path) for path in ("/proc/sys/vm/min_free_kbytes", "/proc/zoneinfo")]
        except LiveUnavailable as reason:
            pytest.skip(str(reason))
        if first[0] == second[0]:
            return int(first[0]), parse_zoneinfo(first[1]), int(sysctls[0]), [int(v) for v in sysctls[1].split()]
    pytest.skip("min_free_kbytes kept changing while it was read")


def node_zones(zones, node=0):
    chosen = [zone for zone in zones if zone["node"] == node]
    if not chosen or any("managed" not in zone for zone in chosen):
        pytest.skip("this /proc/zoneinfo has no managed counts")
    if len({zone["node"] for zone in zones}) > 1:
        pytest.skip("a NUMA machine: the model's watermarks cover one node")
    return chosen


def test_watermarks_match_the_running_kernel():
    min_free_kbytes, zones, scale_factor, _ratios = snapshot()
    zones = node_zones(zones)
    model = [SimpleNamespace(name=zone["name"], managed_pages=zone["managed"]) for zone in zones]
    setup_per_zone_wmarks(model, min_free_kbytes, watermark_scale_factor=scale_factor)
    for real, ours in zip(zones, model):
        if real["managed"] == 0 and real["name"] == "Device":
            continue  # ZONE_DEVICE memory is never managed by the buddy allocator
        assert [ours.watermark[k] for k in ("min", "low", "high")] == [real[k] for k in ("min", "low", "high")], real["name"]


def test_lowmem_reserve_matches_the_running_kernel():
    _min_free, zones, _scale, ratios = snapshot()
    zones = node_zones(zones)
    if len(ratios) != len(zones):
        pytest.skip(f"{len(ratios)} lowmem_reserve_ratio entries for {len(zones)} zones")
    model = [SimpleNamespace(name=zone["name"], managed_pages=zone["managed"]) for zone in zones]
    setup_per_zone_lowmem_reserve(model, ratios)
    assert [ours.lowmem_reserve for ours in model] == [real["protection"] for real in zones]
