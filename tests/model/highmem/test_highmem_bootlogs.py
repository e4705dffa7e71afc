"""Real 32-bit boot logs, reproduced line for line.

Each fixture under fixtures/ is a short excerpt of a real boot log (its header cites the source).
The test reads the firmware map out of the log itself (BIOS-e820 lines, then the "e820 update" /
"e820 remove" fixups the log shows), boots the rules of that kernel version on it with the
options the log reveals (PAE from the pkmap size, the fixmap start from its "fixmap" line, the
kernel's .init/.data/.text), and asserts that the memory lines, the zone block and the layout
block the model prints are the log's lines, in one piece and exactly.
"""

import re
from pathlib import Path

import pytest

from kernelmem_widgets.model.highmem import boot_layout, layout_block, memory_lines, zone_block

FIXTURES = Path(__file__).parent / "fixtures"

_PREFIXES = (re.compile(r"^\[\s*[\d.]+\] "), re.compile(r"^\w{3} +\d+ [\d:]+ \S+ kernel: "))
_E820_OLD = re.compile(r"BIOS-e820: ([0-9a-f]{16}) - ([0-9a-f]{16}) \((.+)\)")
_E820_NEW = re.compile(r"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] (.+)$")
_FIXUP_OLD = re.compile(r"e820 (?:update|remove) range: ([0-9a-f]{16}) - ([0-9a-f]{16}) \(usable\)")
_FIXUP_NEW = re.compile(r"e820: (?:update|remove) \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable")
_SECTION = re.compile(r"^\s+(\.init|\.data|\.text) : 0x([0-9a-f]{8}) - 0x([0-9a-f]{8})")


def read_log(name: str, continuation_indent: int = 0) -> list[str]:
    """The fixture's log lines without timestamps or syslog prefixes (comments and cuts dropped)."""
    lines = []
    for raw in (FIXTURES / name).read_text().splitlines():
        if raw.startswith("#") or raw == "...":
            continue
        for prefix in _PREFIXES:
            raw = prefix.sub("", raw)
        if continuation_indent and raw.startswith(" " * continuation_indent):
            raw = raw[continuation_indent:]
        lines.append(raw)
    return lines


def firmware_map(lines: list[str], extra_reserved=()) -> list[tuple[int, int, str]]:
    """The e820 map as the log prints it, minus the usable ranges its fixups take away."""
    entries = []
    for line in lines:
        if match := _E820_OLD.search(line):
            entries.append((int(match[1], 16), int(match[2], 16), match[3]))
        elif match := _E820_NEW.search(line):
            entries.append((int(match[1], 16), int(match[2], 16) + 1, match[3]))
    holes = list(extra_reserved)
    for line in lines:
        if match := _FIXUP_OLD.search(line):
            holes.append((int(match[1], 16), int(match[2], 16)))
        elif match := _FIXUP_NEW.search(line):
            holes.append((int(match[1], 16), int(match[2], 16) + 1))
    for hole_start, hole_end in holes:
        carved = []
        for start, end, kind in entries:
            if kind != "usable" or end <= hole_start or start >= hole_end:
                carved.append((start, end, kind))
                continue
            carved += [piece for piece in ((start, hole_start, kind), (hole_end, end, kind)) if piece[0] < piece[1]]
        entries = carved
    return entries


def layout_options(lines: list[str]) -> dict:
    """What the layout block reveals: the fixmap start and the kernel image sections."""
    options = {}
    for line in lines:
        if match := re.match(r"^    fixmap  : 0x([0-9a-f]{8})", line):
            options["fixaddr_start"] = int(match[1], 16)
        if match := _SECTION.match(line):
            options.setdefault("kernel_sections", []).append((match[1], int(match[2], 16), int(match[3], 16)))
    return options


def assert_block(log: list[str], block: list[str], *, normalise: bool = False) -> None:
    """The model's lines appear in the log as one contiguous run, character for character."""
    if normalise:
        log = [" ".join(line.split()) for line in log]
        block = [" ".join(line.split()) for line in block]
    assert block, "the model printed nothing to compare"
    assert block[0] in log, f"{block[0]!r} is not in the log"
    start = log.index(block[0])
    assert log[start:start + len(block)] == block


CASES = {
    # fixture: (rules, boot options, extra holes, expected zones (name, start_pfn, end_pfn))
    "ubuntu-2.6.17-11-386-4.7g-nonpae.log": (
        "linux-2.6.17-i386", {}, (), (("DMA", 0, 0x1000), ("Normal", 0x1000, 0x38000), ("HighMem", 0x38000, 0x100000))),
    "lkml-2007-09-2.6.22-nohighmem-1g.log": (
        "linux-2.6.24-i386", {"config_highmem": False}, (), (("DMA", 0, 4096), ("Normal", 4096, 229376))),
    "ubuntu-2.6.24-19-generic-1g.log": (
        "linux-2.6.24-i386", {}, (), (("DMA", 0, 4096), ("Normal", 4096, 229376), ("HighMem", 229376, 262080))),
    "ubuntu-2.6.32-24-generic-pae-4.75g.log": (
        "linux-2.6.35-i386", {"pae": True}, (),
        (("DMA", 0x10, 0x1000), ("Normal", 0x1000, 0x379fe), ("HighMem", 0x379fe, 0x130000))),
    "ubuntu-2.6.38-8-generic-1g.log": (
        "linux-2.6.35-i386", {}, (), (("DMA", 0x10, 0x1000), ("Normal", 0x1000, 0x377fe), ("HighMem", 0x377fe, 0x3f6d0))),
    "fedora-4.15.0-rc4-i686-3g.log": (
        "linux-4.14-i386", {}, (), (("DMA", 1, 0x1000), ("Normal", 0x1000, 0x373fe), ("HighMem", 0x373fe, 0xbff80))),
    "lkml-2018-01-4.15-rc8-i686-2g.log": (
        "linux-4.15-i386", {"cpu_entry_area": (0xFFC00000, 0x28000)}, ((0, 0x1000),),
        (("DMA", 1, 0x1000), ("Normal", 0x1000, 0x377FE), ("HighMem", 0x377FE, 0x7FFFC))),
    "lkml-2024-08-6.11-rc1-i686-pae-3g.log": (
        "linux-6.18-i386", {"pae": True, "max_pfn": 0xBFEDF}, ((0, 0x1000),),
        (("DMA", 1, 0x1000), ("Normal", 0x1000, 0x375fe), ("HighMem", 0x375fe, 0xbfedf))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_boot_log_is_reproduced(name):
    rules, options, extra_holes, zones = CASES[name]
    log = read_log(name, continuation_indent=33 if name.startswith("fedora") else 0)
    layout = boot_layout(rules, firmware_map=firmware_map(log, extra_holes), **options, **layout_options(log))
    assert layout.zones == zones
    assert_block(log, memory_lines(layout))
    if layout.rules.zone_format is not None:
        if name.startswith("lkml-2007"):  # whitespace collapsed by the archive; 2.6.22 has no Movable line
            assert_block(log, zone_block(layout)[:-1], normalise=True)
        else:
            assert_block(log, zone_block(layout))
    if any(line == "virtual kernel memory layout:" for line in log):
        assert_block(log, layout_block(layout))


def test_layout_only_capture_pae_2g():
    """unix.SE 5124: only the layout block is quoted; max_pfn from the Memory: line's 2086248k."""
    log = read_log("unix-se-5124-pae-2g-layout.log")
    layout = boot_layout("linux-2.6.35-i386", max_pfn=2086248 // 4, pae=True, **layout_options(log))
    assert_block(log, layout_block(layout))
    assert (layout.max_low_pfn, layout.highend_pfn) == (0x377fe, 0x7f55a)


def test_the_4_15_rc4_numbers_behind_the_lines():
    """Every derived address of the Fedora 4.15-rc4 boot, as the kernel computed it."""
    log = read_log("fedora-4.15.0-rc4-i686-3g.log", continuation_indent=33)
    layout = boot_layout("linux-4.14-i386", firmware_map=firmware_map(log), **layout_options(log))
    assert layout.fixaddr_boot_start == 0xFFFFF000 - (1579 + 256 + 1) * 4096  # no 256-slot alignment needed
    assert (layout.pkmap_base, layout.vmalloc_end, layout.maxmem) == (0xFF400000, 0xFF3FE000, 0x373FE000)
    assert (layout.high_memory, layout.vmalloc_start) == (0xF73FE000, 0xF7BFE000)
    assert layout.max_pfn == 0xBFF80 and layout.highmem_pages == 0xBFF80 - 0x373FE
