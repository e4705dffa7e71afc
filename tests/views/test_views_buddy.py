"""The buddy views without a browser: what they draw equals what the model says, once per action."""

import numpy as np
import pytest

from kernelmem_widgets.model import Machine, Zone, procfs
from kernelmem_widgets.model.page_alloc import snapshot
from kernelmem_widgets.model.page_alloc.mmzone import MIGRATETYPE_NAMES
from kernelmem_widgets.model.page_alloc.vmstat import fragmentation_index
from kernelmem_widgets.model.workload import Workload
from kernelmem_widgets.views import FragmentationPlot, FreeListBars, MemoryMap, TraceView, palette
from kernelmem_widgets.views._png import decode_png, encode_png
from kernelmem_widgets.views.free_lists import nice_ceiling


@pytest.fixture
def tiny():
    return Machine.preset("linux-6.18-tiny")


@pytest.fixture(scope="module")
def big():
    return Machine.preset("linux-6.18-x86_64", ram="16G")


def all_views(machine, zone=None):
    return [MemoryMap(machine, zone), FreeListBars(machine, zone), FragmentationPlot(machine, zone),
            TraceView(machine)]


def model_state(machine):
    return procfs.render_pagetypeinfo(machine), procfs.render_buddyinfo(machine)


# ---------------------------------------------------------------------- palette
def test_palette_colours_are_distinct_and_named_after_migrate_types():
    assert list(palette.MIGRATETYPE_COLORS) == list(MIGRATETYPE_NAMES)
    allocated = [palette.migratetype_color(mt) for mt in range(len(MIGRATETYPE_NAMES))]
    free = [palette.free_color(mt) for mt in range(len(MIGRATETYPE_NAMES))]
    assert len(set(allocated + free + [palette.RESERVED_COLOR, palette.FREE_COLOR])) == 2 * len(allocated) + 2
    table = palette.page_color_table()
    assert tuple(table[snapshot.PAGE_ALLOCATED, 1]) == palette.hex_to_rgb("#0072B2")
    assert len(palette.order_colors(10)) == 11 and len(set(palette.order_colors(10))) == 11
    assert palette.order_label(10) == "order 10 (4 MiB)"


def test_png_round_trip():
    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(pixels)), pixels)


# ---------------------------------------------------------------------- memory map
def test_small_zone_map_draws_every_page_with_its_state_colour(tiny):
    memory_map = MemoryMap(tiny)
    assert (memory_map.mode, memory_map.colors.shape, memory_map.pages_per_cell) == ("pages", (64, 64, 3), 1)
    free_movable = palette.hex_to_rgb(palette.free_color("Movable"))
    assert memory_map.color_at(0) == free_movable
    pfn = tiny.alloc_pages("GFP_HIGHUSER_MOVABLE", 3)
    movable = palette.hex_to_rgb(palette.migratetype_color("Movable"))
    assert all(memory_map.color_at(page) == movable for page in range(pfn, pfn + 8))
    assert memory_map.color_at(pfn + 8) == free_movable
    assert np.array_equal(decode_png(memory_map.image_mark.image.value), memory_map.colors)
    tiny.free_pages(pfn, 3)
    assert memory_map.color_at(pfn) == free_movable


def test_block_outlines_follow_splits_and_merges(tiny):
    memory_map = MemoryMap(tiny)

    def outlined_blocks():
        drawn = int(np.isnan(memory_map.outline_mark.y).sum()) + 1  # one NaN between two outlines
        assert drawn == memory_map.outlined_blocks
        return drawn

    assert outlined_blocks() == 4  # four free order-10 blocks at boot
    pfn = tiny.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    assert outlined_blocks() == 4 - 1 + 10 + 1  # one order-10 block became ten free halves and the page
    tiny.free_pages(pfn, 0)
    assert outlined_blocks() == 4
    # one rectangle per block, 5 corners and a NaN each; an order-10 block is 16 whole rows
    x, y = memory_map.outline_mark.x[:5], memory_map.outline_mark.y[:5]
    assert x.tolist() == [0, 64, 64, 0, 0] and y.tolist() == [0, 0, 1024, 1024, 0]


def test_highlight_outlines_blocks_and_clears_on_reset(tiny):
    memory_map = MemoryMap(tiny)
    memory_map.highlight(0x40, 3, also=[(0x48, 3), (0x50, 4)])
    assert memory_map.highlight_mark.visible
    assert memory_map.highlight_mark.x.shape == (3, 5)
    assert memory_map.highlight_mark.x[0].tolist() == [0, 8, 8, 0, 0]
    assert memory_map.highlight_mark.y[0].tolist() == [64, 64, 128, 128, 64]
    assert memory_map.highlight_mark.colors[0] == palette.HIGHLIGHT_COLOR
    tiny.reset()
    assert memory_map.highlighted == [] and not memory_map.highlight_mark.visible


def test_large_zone_map_is_one_downsampled_image(big):
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    memory_map = MemoryMap(machine)
    assert (memory_map.mode, memory_map.pages_per_cell, memory_map.colors.shape) == ("bins", 1024, (48, 64, 3))
    assert memory_map.outlined_blocks == 0 and not memory_map.outline_mark.visible, "no outline per block"
    assert len(memory_map.figure.marks) == 3
    assert memory_map.color_at(0x100000) == palette.hex_to_rgb(palette.FREE_COLOR)
    pfn = machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 10)
    assert memory_map.color_at(pfn) == palette.hex_to_rgb(palette.migratetype_color("Movable"))
    half = machine.alloc_pages("GFP_KERNEL", 9)  # claims a whole 4 MiB block, takes half of it
    mixed = np.array(palette.hex_to_rgb(palette.migratetype_color("Unmovable"))) / 2 + \
        np.array(palette.hex_to_rgb(palette.FREE_COLOR)) / 2
    assert np.abs(np.array(memory_map.color_at(half)) - mixed).max() <= 1
    assert np.array_equal(decode_png(memory_map.image_mark.image.value), memory_map.colors)


def test_map_reserved_pages_and_zone_choice(big):
    memory_map = MemoryMap(big, "DMA")
    assert memory_map.mode == "pages"
    assert memory_map.color_at(0) == palette.hex_to_rgb(palette.RESERVED_COLOR)  # the first MiB is reserved
    memory_map.select_zone("DMA32")
    assert memory_map.mode == "bins" and memory_map.zone.name == "DMA32"


# ---------------------------------------------------------------------- free lists
def test_bars_equal_free_list_counts_after_each_change(tiny):
    bars = FreeListBars(tiny)
    assert bars.zone_choice is None, "a one-zone machine needs no zone chooser"
    pfn = tiny.alloc_pages("GFP_KERNEL", 3)
    assert np.array_equal(bars.bars.y, snapshot.free_list_counts(tiny.zone("Normal")).T)
    bars.unit_choice.value = "pages"
    counts = snapshot.free_list_counts(tiny.zone("Normal"))
    assert np.array_equal(bars.bars.y, (counts << np.arange(11)[:, None]).T)
    assert bars.bars.y.sum() == tiny.zone("Normal").nr_free_pages
    tiny.free_pages(pfn, 3)
    assert bars.bars.y.sum() == 4096


def test_bars_y_range_stays_fixed_for_small_changes_and_adapts_on_reset(tiny):
    bars = FreeListBars(tiny)
    assert bars.y_scale.max == 5  # 4 blocks at boot, with headroom
    tiny.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    assert bars.y_scale.max == 5, "one allocation must not re-range the axis"
    pages = [tiny.alloc_pages("GFP_HIGHUSER_MOVABLE", 0) for _ in range(1000)]
    for pfn in pages[::2]:
        tiny.free_pages(pfn, 0)
    assert bars.counts[0].sum() >= 500
    assert 500 <= bars.y_scale.max <= 1000, "the axis grows when the bars outgrow it, to a round number"
    tiny.reset()
    assert bars.y_scale.max == 5


def test_bars_zone_chooser_on_a_machine_with_several_zones(big):
    bars = FreeListBars(big)
    assert bars.zone_choice.options == ("DMA", "DMA32", "Normal") and bars.zone_choice.value == "Normal"
    bars.zone_choice.value = "DMA"
    assert np.array_equal(bars.counts, snapshot.free_list_counts(big.zone("DMA")))


def test_bars_of_a_bare_zone():
    zone = Zone("Normal", 0, 1 << 14)
    bars = FreeListBars(zone)
    zone.alloc_pages(2, "Movable")
    assert np.array_equal(bars.counts, snapshot.free_list_counts(zone))


# ---------------------------------------------------------------------- fragmentation
def test_fragmentation_history_one_point_per_action_cleared_on_reset(tiny):
    plot = FragmentationPlot(tiny)
    for order in (10, 10, 10, 9):
        tiny.alloc_pages("GFP_HIGHUSER_MOVABLE", order)
    assert plot.history == [(0, 10), (1, 10), (2, 10), (3, 10), (4, 9)]
    assert plot.largest_order_line.y.tolist() == [10, 10, 10, 10, 9]
    nr_free = snapshot.free_list_counts(tiny.zone("Normal")).sum(axis=1).tolist()
    assert plot.indexes.tolist() == [fragmentation_index(nr_free, order) for order in range(11)]
    assert plot.index_bars.y.tolist() == plot.indexes.tolist()
    tiny.reset()
    assert plot.history == [(0, 10)]


def test_fragmentation_index_shows_fragmentation_after_a_checkerboard(tiny):
    plot = FragmentationPlot(tiny)
    zone = tiny.zone("Normal")
    with tiny.bus.batch("checkerboard"):
        pages = [zone.alloc_pages(0, "Movable") for _ in range(4096)]  # no watermark at zone level
        for pfn in pages[::2]:
            zone.free_pages(pfn, 0)
    assert plot.indexes[0] == -1000
    assert plot.indexes[3] == 875, "2048 free pages, none in a block of 8: a failure would be fragmentation"
    assert len(plot.history) == 2


# ---------------------------------------------------------------------- trace
def test_trace_shows_the_last_lines(tiny):
    view = TraceView(tiny, lines=3)
    for _ in range(5):
        tiny.alloc_pages("GFP_KERNEL", 0)
    assert view.lines == tiny.trace.lines(last=3)
    assert "mm_page_alloc: page=ffffea" in view.html.value and " [000] ..... " in view.html.value


# ---------------------------------------------------------------------- coalescing, isolation
@pytest.mark.parametrize("preset, ram", [("linux-6.18-tiny", None), ("linux-6.18-x86_64", "16G")])
def test_aging_redraws_each_view_at_most_once(preset, ram):
    machine = Machine.preset(preset, ram=ram)
    views = all_views(machine)
    before = [view.redraw_count for view in views]
    Workload(machine, seed=2).age(5000)
    assert [view.redraw_count - count for view, count in zip(views, before)] == [1, 1, 1, 1]


def test_a_fallback_allocation_redraws_once(tiny):
    views = all_views(tiny)
    tiny.alloc_pages("GFP_KERNEL", 0)  # mm_page_alloc_extfrag, then mm_page_alloc
    assert [view.redraw_count for view in views] == [2, 2, 2, 2]


def test_views_of_one_zone_ignore_events_of_another(big):
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    memory_map, bars = MemoryMap(machine, "DMA32"), FreeListBars(machine, "DMA32")
    machine.alloc_pages("GFP_DMA", 0)
    assert memory_map.redraw_count == bars.redraw_count == 1


@pytest.mark.parametrize("preset, ram", [("linux-6.18-tiny", None), ("linux-6.18-x86_64", "16G")])
def test_redrawing_never_changes_the_model(preset, ram):
    machine = Machine.preset(preset, ram=ram)
    Workload(machine, seed=1).age(500)
    before = model_state(machine)
    for view in all_views(machine):
        view.redraw()
        if hasattr(view, "highlight"):
            view.highlight(machine.zones[-1].start_pfn, 3)
    assert model_state(machine) == before


def test_views_follow_the_new_zone_objects_after_reset(tiny):
    memory_map, bars = MemoryMap(tiny), FreeListBars(tiny)
    tiny.alloc_pages("GFP_KERNEL", 5)
    tiny.reset()
    assert memory_map.zone is tiny.zone("Normal")
    assert bars.counts.sum(axis=1).tolist() == [0] * 10 + [4]
    tiny.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    assert bars.counts[0, 1] == 1, "still drawing the live zone after the reset"


def test_nice_ceiling():
    assert [nice_ceiling(value) for value in (0, 1, 1.5, 2.2, 6, 12, 3456)] == [1, 1, 2, 5, 10, 20, 5000]
