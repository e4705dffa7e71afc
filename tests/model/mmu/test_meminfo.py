"""/proc/meminfo for the model's state."""

import re
from pathlib import Path

from kernelmem_widgets.model import Machine, procfs
from kernelmem_widgets.model.mmu.mm import MmStruct

FIXTURE = Path(__file__).parent / "fixtures" / "gem5-meminfo-head.txt"
LINE = re.compile(r"^([A-Za-z_()0-9]+:)(\s+)(\d+)( kB)?$")


def test_labels_order_and_columns_match_a_real_capture():
    real = [line for line in FIXTURE.read_text().splitlines() if not line.startswith("#")]
    machine = Machine.preset("linux-6.18-x86_64", ram="256M")
    ours = procfs.render_meminfo(machine).splitlines()
    assert [LINE.match(line)[1] for line in ours[:len(real)]] == [LINE.match(line)[1] for line in real]
    for line in ours[:len(real)]:
        assert len(line) == len("MemTotal:       32868444 kB")       # label in 16 columns, value in 8


def test_values_follow_the_model():
    machine = Machine.preset("linux-6.18-x86_64", ram="256M")
    machine.mmu
    mm = MmStruct(machine, thp="always")
    addr = mm.mmap(4 << 20)
    before = dict(l.split(":", 1) for l in procfs.render_meminfo(machine, [mm]).splitlines())
    assert before["Committed_AS"].split() == ["4096", "kB"]            # charged at mmap, no page yet
    assert before["AnonPages"].split()[0] == "0"
    mm.touch(addr, write=True)
    after = dict(l.split(":", 1) for l in procfs.render_meminfo(machine, [mm]).splitlines())
    assert after["AnonHugePages"].split()[0] == "2048" and after["AnonPages"].split()[0] == "2048"
    assert int(after["MemFree"].split()[0]) == sum(z.nr_free_pages for z in machine.zones) * 4
    assert int(after["PageTables"].split()[0]) == (machine.mmu.page_table.nr_tables + mm.pt.nr_tables) * 4
    assert after["DirectMap2M"].split()[0] == "260096" and after["DirectMap4k"].split()[0] == "2048"
    assert after["VmallocTotal"].split()[0] == "34359738368"
