"""/proc/vmallocinfo as Linux 6.18's vmalloc_info_show() prints it: per vmap node, then the purge list."""

import re
from pathlib import Path

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.vmalloc.vmalloc import format_vmallocinfo_line

FIXTURE = Path(__file__).parent / "fixtures" / "vmallocinfo_inet_ehash_locks_2025.txt"
LINE = re.compile(r"0x([0-9a-f]+)-0x([0-9a-f]+) +(\d+) (\S+) pages=(\d+) vmalloc((?: N\d+=\d+)+)$")


def test_the_line_format_reproduces_a_real_capture():
    lines = [line for line in FIXTURE.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 3
    for line in lines:
        start, end, size, caller, pages, numa = LINE.match(line).groups()
        nodes = {int(n): int(c) for n, c in re.findall(r"N(\d+)=(\d+)", numa)}
        assert format_vmallocinfo_line(int(start, 16), int(end, 16), int(size), caller, pages=int(pages),
                                       flags=("vmalloc",), numa=nodes) == line + "\n"


def test_areas_are_listed_vmap_node_by_vmap_node():
    machine = Machine.preset("linux-6.18-tiny")                  # 4 possible CPUs: 4 vmap nodes of 64 KiB zones
    space = machine.vmalloc
    assert (space.nr_vmap_nodes, space.vmap_zone_size) == (4, 65536)
    addrs = [space.vmalloc(60 << 10, caller=f"area{i}") for i in range(6)]    # 64 KiB each with the guard page
    assert [space.vmap_node(a) for a in addrs] == [0, 1, 2, 3, 0, 1]
    space.vfree(addrs[2])
    lines = space.render_vmallocinfo().splitlines()
    assert [line.split()[2] for line in lines[:5]] == ["area0", "area4", "area1", "area5", "area3"]
    assert lines[5] == f"0x{addrs[2]:016x}-0x{addrs[2] + (64 << 10):016x}   65536 unpurged vm_area"
    assert len(lines) == 6


def test_32bit_has_one_vmap_node():
    machine = Machine.preset("linux-2.6.35-i386", ram="1G")
    assert machine.vmalloc.nr_vmap_nodes == 1
