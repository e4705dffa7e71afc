"""cma= through the boot path: memblock placement (Linux 6.18 cma_declare_contiguous_nid()), the boot
line, the Memory: line's cma-reserved figure, MIGRATE_CMA pageblocks, /proc/meminfo and pagetypeinfo."""

from pathlib import Path

import pytest

from kernelmem_widgets.model import Machine, procfs
from kernelmem_widgets.model.boot.cmdline import InvalidBootParameter
from kernelmem_widgets.model.boot.e820 import E820Table
from kernelmem_widgets.model.dma import check_cma_invariants, cma_alloc, cma_meminfo_lines, cma_release
from kernelmem_widgets.model.meminfo import render_meminfo
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATE_CMA

FIXTURE = Path(__file__).parent / "fixtures" / "boot_lines.txt"
MiB = 1 << 20


def real(prefix):
    return [line for line in FIXTURE.read_text().splitlines() if line.startswith(prefix)]


def boot(ram="16G", cmdline="cma=2G", **changes):
    return Machine.preset("linux-6.18-x86_64-cma", ram=ram, cmdline=cmdline, **changes)


def test_bottom_up_from_4g_on_16g():
    machine = boot()
    cma = machine.dma.default_cma
    assert (cma.name, cma.base_pfn, cma.count, cma.zone) == ("reserved", 0x100000, 524288, "Normal")
    assert "cma: Reserved 2048 MiB at 0x0000000100000000" in machine.dmesg()
    memory = next(line for line in machine.dmesg() if line.startswith("Memory:"))
    assert memory.endswith(", 2097152K cma-reserved)")
    zone = machine.zone("Normal")
    assert {zone.pageblock_migratetype(pfn) for pfn in range(0x100000, 0x180000, 512)} == {MIGRATE_CMA}
    assert zone.pageblock_migratetype(0x180000) != MIGRATE_CMA
    assert zone.nr_free_cma == 524288
    assert cma_meminfo_lines(machine) == ["CmaTotal:        2097152 kB", "CmaFree:         2097152 kB"]
    meminfo = render_meminfo(machine)
    assert "CmaTotal:        2097152 kB\n" in meminfo and "CmaFree:         2097152 kB\n" in meminfo
    assert "type          CMA" in procfs.render_pagetypeinfo(machine)
    machine.check_invariants()
    check_cma_invariants(machine)


def test_real_log_top_down_below_4g():
    """Fixture 3: RAM [0, 3 GiB) + [4 GiB, 5 GiB), cma=64M with a 4 GiB limit -> 0xbc000000."""
    e820 = E820Table.parse("BIOS-e820: [mem 0x0000000000000000-0x00000000bfffffff] usable\n"
                           "BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] usable\n")
    machine = Machine.preset("linux-6.18-x86_64-cma", e820=e820, cmdline="cma=64M@0-4G")
    assert [line for line in machine.dmesg() if line.startswith("cma:")] == real("cma:")[1:2]
    assert machine.dma.default_cma.zone == "DMA32"


def test_real_log_cma_reserved_figure():
    """Fixture 4: cma=320M prints 327680K cma-reserved (whatever the machine)."""
    machine = boot("4G", "cma=320M")
    memory = next(line for line in machine.dmesg() if line.startswith("Memory:"))
    assert real("327680K")[0] in memory
    assert "cma: Reserved 320 MiB at 0x0000000100000000" in machine.dmesg()


def test_fixed_base_and_rounding():
    machine = boot("4G", "cma=64M@0x20000000")
    cma = machine.dma.default_cma
    assert (cma.base, cma.size) == (0x20000000, 64 * MiB)
    assert "cma: Reserved 64 MiB at 0x0000000020000000" in machine.dmesg()
    assert boot("4G", "cma=63M").dma.default_cma.size == 64 * MiB      # rounded up to a pageblock
    # cma=63M@base alone is fixed (limit = base + size); the size is rounded up, the limit down: too small
    with pytest.raises(InvalidBootParameter, match="exceeds limit"):
        boot("4G", "cma=63M@0x20000000")


def test_config_cma_size_mbytes_without_cmdline():
    machine = boot("4G", "", cma_size_mbytes=16)
    assert machine.dma.default_cma.size == 16 * MiB
    assert boot("4G", "").dma.default_cma is None                    # x86 default 0


def test_without_config_cma_no_area():
    machine = Machine.preset("linux-6.18-x86_64", ram="4G", cmdline="cma=256M")
    assert machine._dma is None or machine.dma.default_cma is None
    assert not any(line.startswith("cma:") for line in machine.dmesg())


@pytest.mark.parametrize("cmdline, words", [
    ("cma=32G", "exceeds limit"),
    ("cma=64M@0x20100000", "must be aligned"),
    ("cma=64M@0xc0000000", "is busy"),
])
def test_bad_cma_is_a_named_error_and_the_machine_unchanged(cmdline, words):
    machine = boot("4G", "cma=256M")
    before = (machine.cmdline, machine.dmesg(), machine.dma.default_cma.base_pfn)
    with pytest.raises(InvalidBootParameter) as failure:
        machine.reboot(cmdline)
    assert words in str(failure.value) and failure.value.param == "cma"
    assert "Failed to reserve" in failure.value.kernel_line
    assert (machine.cmdline, machine.dmesg(), machine.dma.default_cma.base_pfn) == before


def test_reboot_keeps_the_area_whole_after_alloc_and_release():
    machine = boot("4G", "cma=256M")
    cma = machine.dma.default_cma
    result = cma_alloc(machine, cma, 25600, 8)
    assert (result.pfn, result.migrated) == (0x100000, {})
    check_cma_invariants(machine)
    cma_release(machine, cma, result.pfn, 25600)
    assert machine.zone(cma.zone).nr_free_cma == cma.count
    machine.reboot("cma=128M")
    assert machine.dma.default_cma.count == 32768
    machine.check_invariants()
    check_cma_invariants(machine)
