"""/proc files in the kernel's exact format, and parsing them back."""

import pytest

from kernelmem_widgets.model import InvalidArgument, Machine, Zone, procfs
from kernelmem_widgets.model.page_alloc.vmstat import extfrag_for_order, format_index, fragmentation_index, unusable_free_index
from kernelmem_widgets.model.workload import Workload


@pytest.fixture(scope="module")
def aged():
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    Workload(machine, seed=4, fill=0.7).age(6000)
    return machine


def test_buddyinfo_line_format():
    zone = Zone("Normal", 0, 4096)
    zone.alloc_pages(0, "Movable")
    assert procfs.render_buddyinfo(zone) == (
        "Node 0, zone   Normal      1      1      1      1      1      1      1      1      1      1      3 \n")


def test_buddyinfo_round_trip(aged):
    parsed = procfs.parse_buddyinfo(procfs.render_buddyinfo(aged))
    assert parsed == {(0, z.name): [z.nr_free(o) for o in range(11)] for z in aged.zones}


def test_pagetypeinfo_header_and_rows():
    """The reference 6.18 machine has no CONFIG_CMA: five migrate types, no CMA row or column."""
    text = procfs.render_pagetypeinfo(Zone("Normal", 0, 4096))
    lines = text.splitlines()
    assert lines[:3] == ["Page block order: 9", "Pages per block:  512", ""]
    assert lines[3] == "Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 "
    assert lines[5] == "Node    0, zone   Normal, type      Movable      0      0      0      0      0      0      0      0      0      0      4 "
    assert [line.split()[5] for line in lines[4:9]] == ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"]
    assert lines[9] == ""
    assert lines[10] == "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate "
    assert lines[11] == "Node 0, zone   Normal            0            8            0            0            0 "
    assert text.endswith(" \n")


def test_pagetypeinfo_rows_follow_config_cma():
    """MIGRATE_CMA exists only with CONFIG_CMA (include/linux/mmzone.h): a preset decides."""
    cma = Machine.preset("linux-6.18-tiny", config_cma=True)
    lines = procfs.render_pagetypeinfo(cma).splitlines()
    assert [line.split()[5] for line in lines[4:10]] == ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"]
    assert lines[11] == "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate "
    assert lines[12] == "Node 0, zone   Normal            0            8            0            0            0            0 "
    plain = procfs.render_pagetypeinfo(Machine.preset("linux-6.18-tiny")).splitlines()
    assert "CMA" not in "".join(plain) and len(plain) == len(lines) - 1
    assert procfs.render_pagetypeinfo(Zone("Normal", 0, 4096), config_cma=True) == procfs.render_pagetypeinfo(cma)


def test_pagetypeinfo_round_trip(aged):
    parsed = procfs.parse_pagetypeinfo(procfs.render_pagetypeinfo(aged))
    assert parsed["pageblock_order"] == 9 and parsed["pages_per_block"] == 512
    for zone in aged.zones:
        for index, name in enumerate(["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"]):
            assert parsed["free"][(0, zone.name, name)] == [zone.nr_free_list(o, name) for o in range(11)]
        assert (0, zone.name, "CMA") not in parsed["free"]
        assert sum(parsed["blocks"][(0, zone.name)].values()) == -(-zone.spanned_pages // 512)


def test_pagetypeinfo_caps_long_lists():
    zone = Zone("Normal", 0, 1 << 18, mobility_grouping=True)
    held = [zone.alloc_pages(0, "Movable") for _ in range(2 * 100_000 + 2)]
    for pfn in held[::2]:
        zone.free_pages(pfn, 0)
    row = [line for line in procfs.render_pagetypeinfo(zone).splitlines() if "Movable" in line and "type" in line][0]
    assert row.split()[6] == ">100000"  # list_for_each stops counting at 100000


def test_parse_rejects_other_text():
    with pytest.raises(InvalidArgument, match="line 1 of buddyinfo"):
        procfs.parse_buddyinfo("MemTotal: 16 kB\n")
    with pytest.raises(InvalidArgument, match="Page block order"):
        procfs.parse_pagetypeinfo("hello")


def test_fragmentation_index_integer_arithmetic():
    # 64 free order-0 pages, order 3 wanted: 1000 - (1000 + 64*1000/8) / 64 = 1000 - 140 = 860
    assert fragmentation_index([64, 0, 0, 0], 3) == 1000 - (1000 + 64 * 1000 // 8) // 64
    assert fragmentation_index([64, 0, 0, 1], 3) == -1000
    assert fragmentation_index([0, 0, 0, 0], 3) == 0
    assert unusable_free_index([64, 0, 0, 1], 3) == 64 * 1000 // 72
    assert unusable_free_index([0, 0], 1) == 1000
    assert extfrag_for_order([64, 0, 0, 1], 3) == 64 * 100 // 72
    assert [format_index(i) for i in (-1000, 0, 875, 1000)] == ["-1.000", "0.000", "0.875", "1.000"]


def test_extfrag_index_file():
    zone = Zone("Normal", 0, 4096)
    assert procfs.render_extfrag_index(zone) == "Node 0, zone   Normal " + "-1.000 " * 11 + "\n"
    assert procfs.render_unusable_index(zone) == "Node 0, zone   Normal " + "0.000 " * 11 + "\n"


def test_extfrag_index_prints_two_digit_whole_part():
    """extfrag_show_print(): "%2d.%03d " (" 0.500"); unusable_show_print() keeps "%d.%03d "."""
    zone = Zone("Normal", 0, 4096)
    held = [zone.alloc_pages(0, "Unmovable") for _ in range(4096)]
    for pfn in held[0:8:2]:
        zone.free_pages(pfn, 0)  # four free order-0 pages, no two of them buddies
    assert format_index(500, 2) == " 0.500"
    assert procfs.render_extfrag_index(zone) == (
        "Node 0, zone   Normal -1.000  0.250  0.500  0.625  0.688  0.719  0.735  0.743  0.747  0.749  0.750 \n")
    assert procfs.render_unusable_index(zone).startswith("Node 0, zone   Normal 0.000 1.000 1.000 ")
