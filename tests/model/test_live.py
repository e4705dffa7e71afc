"""Loading the running machine's /proc files into model zones."""

import pytest

from kernelmem_widgets.model import procfs
from kernelmem_widgets.model.live import (LiveUnavailable, read_proc, read_zoneinfo_watermarks,
                                          would_succeed, zone_from_buddyinfo)

COUNTS = [2, 3, 0, 2, 3, 2, 1, 4, 4, 2, 752]


def test_zone_from_buddyinfo_reproduces_the_line():
    zone = zone_from_buddyinfo("DMA32", COUNTS)
    zone.check_invariants()
    assert procfs.render_buddyinfo(zone) == "Node 0, zone    DMA32" + "".join(f"{c:7d}" for c in COUNTS) + " \n"


def test_free_lists_by_type_follow_pagetypeinfo():
    by_type = {"Unmovable": [1, 0, 2] + [0] * 8, "Movable": [0] * 10 + [3], "Reclaimable": [0, 5] + [0] * 9}
    zone = zone_from_buddyinfo("Normal", [1, 5, 2] + [0] * 7 + [3], free_by_type=by_type)
    zone.check_invariants()
    for name, counts in by_type.items():
        assert [zone.nr_free_list(order, name) for order in range(11)] == counts


def test_would_succeed_uses_watermarks_and_free_lists():
    zone = zone_from_buddyinfo("Normal", [500, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    zone.watermark.update({"min": 10, "low": 20, "high": 30})
    assert would_succeed(zone, 0).succeeds
    verdict = would_succeed(zone, 3)
    assert not verdict and "no free block of order >= 3" in verdict.reason
    zone.watermark.update({"min": 400, "low": 600, "high": 800})
    assert "low watermark" in would_succeed(zone, 0).reason


def test_unreadable_files_say_why(tmp_path):
    with pytest.raises(LiveUnavailable, match="does not exist here"):
        read_proc(str(tmp_path / "buddyinfo"))


def test_the_running_machine_round_trips():
    try:
        text = read_proc("/proc/buddyinfo")
    except LiveUnavailable as reason:
        pytest.skip(str(reason))
    for line in text.splitlines():
        (node, name), counts = next(iter(procfs.parse_buddyinfo(line).items()))
        if len(counts) != 11:
            pytest.skip(f"this kernel prints {len(counts)} orders, the model's x86-64 preset 11")
        zone = zone_from_buddyinfo(name, counts, node=node)
        assert procfs.render_buddyinfo(zone) == line + "\n"


def test_zoneinfo_watermarks_of_the_running_machine():
    try:
        marks = read_zoneinfo_watermarks()
    except LiveUnavailable as reason:
        pytest.skip(str(reason))
    assert all({"min", "low", "high"} <= set(values) for values in marks.values() if values)
