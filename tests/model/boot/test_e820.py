"""E820Table: parse and print both formats exactly, and the kernel's edits (arch/x86/kernel/e820.c)."""

import pytest
from boot_fixtures import fixture_lines, fixture_text

from kernelmem_widgets.model.boot import E820Table, InvalidFirmwareMap, qemu_i440fx, qemu_q35
from kernelmem_widgets.model.boot.e820 import E820_TYPE_PRAM, E820_TYPE_RAM, E820_TYPE_RESERVED, E820Entry


def test_modern_format_round_trip_on_a_real_qemu_log():
    lines = [line for line in fixture_lines("qemu_i440fx_2g_linux-6.10.log") if line.startswith("BIOS-e820")]
    table = E820Table.parse("\n".join(lines))
    assert table.lines("BIOS-e820") == lines


def test_legacy_format_round_trip_on_a_real_2_6_37_log():
    lines = [line for line in fixture_lines("i386_2g_linux-2.6.37.log") if line.startswith(" BIOS-e820")]
    table = E820Table.parse(fixture_text("i386_2g_linux-2.6.37.log"))
    assert table.lines("BIOS-e820", style="2.6") == lines
    assert table.entries[3] == E820Entry(0x100000, 0x7fffc000 - 0x100000, E820_TYPE_RAM)


def test_one_format_prints_as_the_other():
    modern = E820Table.parse(fixture_text("qemu_i440fx_2g_linux-6.10.log"))
    legacy = E820Table.parse(modern.render(style="2.6"))
    assert legacy == modern
    assert legacy.lines()[3] == "BIOS-e820: [mem 0x0000000000100000-0x000000007ffdffff] usable"
    assert modern.lines(style="2.6")[3] == " BIOS-e820: 0000000000100000 - 000000007ffe0000 (usable)"


def test_qemu_firmware_reproduces_the_real_guests():
    assert qemu_i440fx(2 << 30) == E820Table.parse(fixture_text("qemu_i440fx_2g_linux-6.10.log"))
    assert qemu_i440fx(15 << 30) == E820Table.parse(fixture_text("pmem_memmap_12G_4G.log"), who="BIOS-e820")
    q35 = qemu_q35(4 << 30)
    assert (0xB0000000, 0x10000000, E820_TYPE_RESERVED) in [(e.addr, e.size, e.type) for e in q35]
    assert q35.total(E820_TYPE_RAM) == (4 << 30) - 0x400 - 0x20000 - 0x60000


def test_type_words_and_unknown_types():
    table = E820Table([(0, 0x1000, 12), (0x1000, 0x1000, 20), (0x2000, 0x1000, 0xEFFFFFFF)])
    assert [line.split("] ")[1] for line in table.lines()] == ["persistent (type 12)", "type 20", "soft reserved"]
    assert table.lines(style="2.6") == [" BIOS-e820: 0000000000000000 - 0000000000001000 type 12",
                                        " BIOS-e820: 0000000000001000 - 0000000000002000 type 20",
                                        " BIOS-e820: 0000000000002000 - 0000000000003000 type 4026531839"]


def test_sanitize_higher_type_wins_and_neighbours_merge():
    table = E820Table([(0, 0x10000, 1), (0x8000, 0x10000, 2), (0x18000, 0x8000, 1), (0x20000, 0x1000, 1)])
    assert table.update_table()
    assert [(e.addr, e.end, e.type) for e in table] == [(0, 0x8000, 1), (0x8000, 0x18000, 2), (0x18000, 0x21000, 1)]


def test_sanitize_never_merges_persistent_memory():
    table = E820Table([(0x1000, 0x1000, E820_TYPE_PRAM), (0x2000, 0x1000, E820_TYPE_PRAM), (0, 0x1000, 1)])
    table.update_table()
    assert [(e.addr, e.type) for e in table] == [(0, 1), (0x1000, 12), (0x2000, 12)]


def test_range_remove_splits_an_entry_and_prints_the_kernel_line():
    table = E820Table([(0, 0x100000, 1)])
    removed, line = table.range_remove(0x40000, 0x10000, E820_TYPE_RAM, True)
    assert removed == 0x10000
    assert line == "e820: remove [mem 0x00040000-0x0004ffff] usable"
    table.update_table() if len(table) > 1 else None
    assert [(e.addr, e.end) for e in table] == [(0, 0x40000), (0x50000, 0x100000)]


def test_range_update_line_in_both_generations():
    table = E820Table([(0, 0x9FC00, 1)])
    assert table.copy().range_update(0, 0x1000, 1, 2)[1] == "e820: update [mem 0x00000000-0x00000fff] usable ==> reserved"
    assert table.range_update(0, 0x10000, 1, 2, style="2.6")[1] == \
        "e820 update range: 0000000000000000 - 0000000000010000 (usable) ==> (reserved)"


def test_search_gap_is_the_pci_window():
    table = E820Table.parse(fixture_text("i386_2g_linux-2.6.37.log"))
    assert table.search_gap() == (0x80000000, 0x7EC00000)      # "gap: 80000000:7ec00000"


@pytest.mark.parametrize("bad", [
    "no e820 lines here",
    "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] purple",
])
def test_parse_rejects_what_is_not_a_map(bad):
    with pytest.raises(InvalidFirmwareMap):
        E820Table.parse(bad)


def test_entries_that_wrap_or_are_not_integers_are_refused():
    with pytest.raises(InvalidFirmwareMap, match="wraps"):
        E820Table([(0xFFFFFFFFFFFFF000, 0x2000, 1)])
    with pytest.raises(InvalidFirmwareMap, match="not a non-negative integer"):
        E820Table([(True, 0x1000, 1)])
