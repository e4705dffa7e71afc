import pytest

from kernelmem_widgets.model import format_size, gfp_migratetype, gfp_name, gfp_zone, memparse, parse_gfp


@pytest.mark.parametrize("text, value", [
    ("4096", 4096), ("8K", 8192), ("8k", 8192), ("4M", 4 << 20), ("1G", 1 << 30), ("2T", 2 << 40),
    ("1P", 1 << 50), ("1E", 1 << 60), ("0x1000", 4096), ("0x10M", 16 << 20), ("010", 8), ("0", 0),
    ("4 MiB", 4 << 20), ("64KB", 64 << 10), (123, 123),
])
def test_memparse(text, value):
    assert memparse(text) == value


@pytest.mark.parametrize("value, text", [(0, "0 B"), (100, "100 B"), (4096, "4 KiB"), (8192, "8 KiB"),
                                         (4 << 20, "4 MiB"), (3 << 29, "1.5 GiB"), (1 << 40, "1 TiB")])
def test_format_size(value, text):
    assert format_size(value) == text


@pytest.mark.parametrize("gfp, zone, migratetype", [
    ("GFP_KERNEL", "Normal", 0), ("GFP_ATOMIC", "Normal", 0), ("GFP_DMA", "DMA", 0), ("GFP_DMA32", "DMA32", 0),
    ("GFP_HIGHUSER", "HighMem", 0), ("GFP_HIGHUSER_MOVABLE", "Movable", 1), ("GFP_USER", "Normal", 0),
    ("GFP_KERNEL|__GFP_RECLAIMABLE", "Normal", 2), ("GFP_KERNEL | __GFP_MOVABLE", "Normal", 1),
    ("GFP_KERNEL|GFP_DMA", "DMA", 0),
])
def test_gfp_zone_and_migratetype(gfp, zone, migratetype):
    flags = parse_gfp(gfp)
    assert gfp_zone(flags) == zone
    assert gfp_migratetype(flags) == migratetype


def test_gfp_names_round_trip():
    assert gfp_name(parse_gfp("GFP_KERNEL|__GFP_ZERO")) == "GFP_KERNEL|__GFP_ZERO"
    assert gfp_name(parse_gfp("GFP_ATOMIC")) == "GFP_ATOMIC"
    assert parse_gfp("GFP_ATOMIC") == frozenset({"__GFP_HIGH", "__GFP_KSWAPD_RECLAIM"})
