"""memparse, the command line and the early parameters applied to real firmware maps."""

import pytest
from boot_fixtures import fixture_lines, fixture_text
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelmem_widgets.model.boot import E820Table, InvalidBootParameter, apply_cmdline, memparse, parse_cmdline
from kernelmem_widgets.model.boot.cmdline import parse_crashkernel, simple_strtoull
from kernelmem_widgets.model.boot.e820 import E820_TYPE_RAM


@pytest.mark.parametrize("text, expected", [
    ("1G", (1 << 30, 2)), ("64M$0x30000000", (64 << 20, 3)), ("0x1000", (0x1000, 6)), ("010", (8, 3)),
    ("512MB", (512 << 20, 4)), ("junk", (0, 0)), ("0x", (0, 1)), ("1e", (1 << 60, 2)), ("09", (0, 1)),
    ("16E", (0, 3)),                     # 16 << 60 wraps to 0 in 64 bits, as the C does
])
def test_memparse_as_lib_cmdline(text, expected):
    assert memparse(text) == expected


def test_simple_strtoull_bases():
    assert simple_strtoull("0x1fz") == (31, 4)
    assert simple_strtoull("777", 0, 8) == (511, 3)


def test_parse_cmdline_words_and_quotes():
    words = parse_cmdline('BOOT_IMAGE=/vmlinuz ro  quiet mem=1G foo="bar baz" memmap=64M$0x30000000')
    assert [(w.param, w.value) for w in words] == [("BOOT_IMAGE", "/vmlinuz"), ("ro", None), ("quiet", None),
                                                   ("mem", "1G"), ("foo", "bar baz"),
                                                   ("memmap", "64M$0x30000000")]


def test_mem4g_on_the_real_128g_machine_gives_the_real_user_map():
    firmware = E820Table.parse(fixture_text("mem4g_linux-5.16.log"))
    result = apply_cmdline(firmware, "ro net.ifnames=0 crashkernel=128M mem=4G")
    real = [line for line in fixture_lines("mem4g_linux-5.16.log")
            if line.startswith(("e820:", "user"))]
    assert result.lines == real
    assert result.params.crashkernel == "128M"


def test_memmap_persistent_on_the_real_qemu_guest():
    firmware = E820Table.parse(fixture_text("pmem_memmap_12G_4G.log"), who="BIOS-e820")
    result = apply_cmdline(firmware, "memmap=12G!4G")
    assert result.lines == ["user-defined physical RAM map:"] + \
        [line for line in fixture_lines("pmem_memmap_12G_4G.log") if line.startswith("user:")]


QEMU_2G = E820Table([(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2), (0x100000, 0x7FEE0000, 1),
                     (0x7FFE0000, 0x20000, 2), (0xFEFFC000, 0x4000, 2), (0xFFFC0000, 0x40000, 2)])


def user(result):
    return [(e.addr, e.end, e.type) for e in result.table]


def test_each_memmap_form():
    assert (0x30000000, 0x34000000, 2) in user(apply_cmdline(QEMU_2G, "memmap=64M$0x30000000"))
    assert (0x30000000, 0x34000000, 3) in user(apply_cmdline(QEMU_2G, "memmap=64M#0x30000000"))
    assert (0x30000000, 0x34000000, 12) in user(apply_cmdline(QEMU_2G, "memmap=64M!0x30000000"))
    grown = user(apply_cmdline(QEMU_2G, "memmap=1G@0x100000000"))
    assert grown[-1] == (0x100000000, 0x140000000, 1)
    retyped = apply_cmdline(QEMU_2G, "memmap=64M%0x30000000-1+2")
    assert retyped.lines[0] == "e820: update [mem 0x30000000-0x33ffffff] usable ==> reserved"
    assert (0x30000000, 0x34000000, 2) in user(retyped)
    like_mem = apply_cmdline(QEMU_2G, "memmap=1G")
    assert like_mem.lines[0] == "e820: remove [mem 0x40000000-0xfffffffffffffffe] usable"
    assert user(like_mem) == user(apply_cmdline(QEMU_2G, "mem=1G"))


def test_several_ranges_in_one_memmap_and_exactmap():
    both = apply_cmdline(QEMU_2G, "memmap=64M$0x30000000,16M#0x20000000")
    assert (0x30000000, 0x34000000, 2) in user(both) and (0x20000000, 0x21000000, 3) in user(both)
    exact = apply_cmdline(QEMU_2G, "memmap=exactmap memmap=640K@0 memmap=511M@1M")
    assert user(exact) == [(0, 0xA0000, 1), (0x100000, 0x20000000, 1)]


def test_mem_keeps_reserved_ranges_above_the_limit():
    result = apply_cmdline(QEMU_2G, "mem=1G")
    assert (0x7FFE0000, 0x80000000, 2) in user(result)           # only usable RAM is removed
    assert max(e.end for e in result.table if e.type == E820_TYPE_RAM) == 1 << 30


def test_2_6_knows_no_persistent_form_and_no_commas():
    with pytest.raises(InvalidBootParameter, match="not one of this kernel's memmap separators"):
        apply_cmdline(QEMU_2G, "memmap=64M!0x30000000", "2.6-i386")
    lenient = apply_cmdline(QEMU_2G, "memmap=64M!0x30000000", "2.6-i386", strict=False)
    assert lenient.lines[0] == "e820 remove range: 0000000004000000 - ffffffffffffffff (usable)"
    assert lenient.lines[1] == "user-defined physical RAM map:"
    assert lenient.lines[2] == " user: 0000000000000000 - 000000000009fc00 (usable)"


@pytest.mark.parametrize("cmdline, line", [
    ("mem=junk", "Malformed early option 'mem'"),
    ("mem", "Malformed early option 'mem'"),
    ("mem=nopentium", "Malformed early option 'mem'"),
])
def test_rejected_early_options_name_the_kernel_line(cmdline, line):
    with pytest.raises(InvalidBootParameter) as caught:
        apply_cmdline(QEMU_2G, cmdline)
    assert caught.value.kernel_line == line and caught.value.param == "mem"
    lenient = apply_cmdline(QEMU_2G, cmdline, strict=False)
    assert lenient.lines[-1 if cmdline != "mem=junk" else 0] in (line, "user-defined physical RAM map:")
    assert line in lenient.warnings


def test_nopentium_warning_on_64_bit():
    result = apply_cmdline(QEMU_2G, "mem=nopentium", strict=False)
    assert result.lines == ["mem=nopentium ignored! (only supported on x86_32)", "Malformed early option 'mem'"]
    assert apply_cmdline(QEMU_2G, "mem=nopentium", "2.6-i386").lines == []


@pytest.mark.parametrize("cmdline, match", [
    ("memmap=64M", None), ("memmap=junk", "does not start with a size"),
    ("memmap=64M$0x30000000junk", "after the start address"), ("memmap=64M$", "no start address"),
    ("memmap=1G$0x7fffffffffff", "physical address limit"), ("vmalloc=256M", "32-bit x86 only"),
    ("mem=512MB", "memparse\\(\\) stops at 'B'"), ("memmap=exactmap memmap=1G@0", "fewer than two entries"),
])
def test_bad_input_is_a_named_error_and_the_table_is_untouched(cmdline, match):
    before = QEMU_2G.copy()
    if match is None:
        apply_cmdline(QEMU_2G, cmdline)
    else:
        with pytest.raises(InvalidBootParameter, match=match):
            apply_cmdline(QEMU_2G, cmdline)
    assert QEMU_2G == before


def test_junk_memmap_is_ignored_silently_by_the_kernel():
    result = apply_cmdline(QEMU_2G, "memmap=junk", strict=False)
    assert result.lines == [] and not result.userdef


def test_crashkernel_forms():
    assert parse_crashkernel("128M", 4 << 30).size == 128 << 20
    assert parse_crashkernel("256M@16M", 4 << 30).base == 16 << 20
    assert parse_crashkernel("512M-2G:64M,2G-:128M", 4 << 30).size == 128 << 20
    assert parse_crashkernel("512M-2G:64M,2G-:128M", 1 << 30).size == 64 << 20
    assert parse_crashkernel("1G,high", 8 << 30).high
    with pytest.raises(InvalidBootParameter):
        parse_crashkernel("lots", 1 << 30)


def test_i386_parameters_are_recorded():
    result = apply_cmdline(QEMU_2G, "vmalloc=256M highmem=512M cma=64M", "2.6-i386")
    assert (result.params.vmalloc, result.params.highmem, result.params.cma.size) == (256 << 20, 512 << 20, 64 << 20)


sizes = st.integers(min_value=1, max_value=64).map(lambda n: n << 20)
pieces = st.one_of(
    sizes.map(lambda s: f"mem={s >> 20}M"),
    st.tuples(sizes, st.integers(0, 8191), st.sampled_from("@#$!")).map(
        lambda t: f"memmap={t[0] >> 20}M{t[2]}{t[1] << 20:#x}"),
)
entries = st.lists(st.tuples(st.integers(0, 4095), st.integers(1, 256), st.sampled_from([1, 1, 2, 3, 4])),
                   min_size=2, max_size=12)


@settings(max_examples=150, deadline=None)
@given(entries, st.lists(pieces, max_size=5))
def test_final_table_is_sorted_disjoint_and_mem_is_a_ceiling(raw, words):
    firmware = E820Table([(a << 20, s << 20, t) for a, s, t in raw])
    result = apply_cmdline(firmware, " ".join(words))
    table = result.table
    if result.userdef:
        assert table.is_sorted_and_disjoint()
        assert all(e.size for e in table)
    limits = [int(w[4:-1]) << 20 for w in words if w.startswith("mem=")]
    if limits and not any("@" in w for w in words):          # memmap=nn@ss may add RAM back above
        assert all(e.end <= min(limits) for e in table if e.type == E820_TYPE_RAM)
