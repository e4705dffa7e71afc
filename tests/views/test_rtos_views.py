"""Chapter 7's views: what the byte-array view, the waste plot and the timeline draw, against the model."""

import numpy as np

from kernelmem_widgets.model.rtos import (REGION_KINDS, MemPartition, NanoMalloc, PartitionMalloc, Ram, Tlsf,
                                          bimodal_trace, parse_trace, run_trace)
from kernelmem_widgets.views import palette
from kernelmem_widgets.views._png import decode_png
from kernelmem_widgets.views.rtos_bytes import ByteArrayView, free_list_links
from kernelmem_widgets.views.rtos_plots import FreeBytesTimeline, WasteBySize, kmalloc_reserved, waste_table

BASE = 0x2000_0000


def rgb(kind):
    return palette.hex_to_rgb(palette.RTOS_KIND_COLORS[kind])


def test_byte_view_colours_each_word_as_the_model_says():
    heap = PartitionMalloc(Ram(BASE, 1024), "32x4, 128x2")
    view = ByteArrayView(heap, columns=16)
    small = heap.partitions[0]
    assert view.colors.shape == (16, 16, 3)
    assert view.color_at(BASE) == rgb("control")
    assert view.color_at(small.addr_ptr) == rgb("link") and view.color_at(small.addr_ptr + 4) == rgb("free")
    p = heap.malloc(10)
    assert (view.kind_at(p - 4), view.kind_at(p), view.kind_at(p + 12)) == ("header", "used", "waste")
    # the PNG sent to the front end is exactly view.colors, and it is a new Image widget per redraw
    assert np.array_equal(decode_png(view.image_mark.image.value), view.colors)
    image = view.image_mark.image
    heap.free(p)
    assert view.image_mark.image is not image and view.kind_at(p - 4) == "link"


def test_byte_view_links_follow_the_free_list():
    part = MemPartition(BASE, 4, 16)
    view = ByteArrayView(part, columns=8)
    assert view.links == [(BASE, BASE + 16), (BASE + 16, BASE + 32), (BASE + 32, BASE + 48)]
    assert view.link_mark.visible and len(view.target_mark.x) == 3
    a = part.get()
    assert view.links == [(BASE + 16, BASE + 32), (BASE + 32, BASE + 48)] and view.kind_at(a) == "used"


def test_byte_view_shows_corruption_in_red_and_in_words():
    heap = PartitionMalloc(Ram(BASE, 1024), "32x4, 128x2")
    view = ByteArrayView(heap, columns=16)
    small = heap.partitions[0]
    a, b = small.get(), small.get()
    small.put(a)
    small.put(a)  # double put below NbrMax: accepted by os_mem.c
    assert view.color_at(a) == rgb("corrupt")
    assert "free list corrupted" in view.caption.value and "cycle" in view.caption.value
    assert view.corruption()


def test_links_of_the_heaps():
    nano = NanoMalloc(Ram(BASE, 1024))
    ptrs = [nano.malloc(8) for _ in range(5)]
    chunks = [nano.chunk_of(ptr) for ptr in ptrs]  # before the free: free() writes its link over the padding word
    nano.free(ptrs[0])
    nano.free(ptrs[2])
    assert free_list_links(nano) == [(chunks[0] + 4, chunks[2])]
    tlsf = Tlsf(Ram(BASE, 8192))
    ptrs = [tlsf.malloc(8) for _ in range(5)]
    tlsf.free(ptrs[0])
    tlsf.free(ptrs[2])  # both 12-byte blocks on list (0, 3): the second links to the first
    assert free_list_links(tlsf) == [(ptrs[2], ptrs[0] - 4)]
    view = ByteArrayView(tlsf)
    assert view.kind_at(tlsf.control) == "control" and view.kind_at(ptrs[1]) == "used"


def test_waste_plot_and_kmalloc_series():
    trace = parse_trace("+20, +100, +700, -0, -1, -2")
    runs = {"partitions": run_trace(PartitionMalloc(Ram(BASE, 4096), "32x2, 128x2, 816x2"), trace)}
    labels, table = waste_table(runs, kmalloc_sizes=trace.sizes())
    assert labels[0] == "0-49" and len(labels) == 16
    assert table["partitions"][0] == 12 and table["partitions"][2] == 28 and table["partitions"][14] == 116
    assert kmalloc_reserved(20) == 32 and kmalloc_reserved(100) == 128 and kmalloc_reserved(700) == 1024
    assert table["Linux kmalloc"][0] == 12 and table["Linux kmalloc"][14] == 324
    plot = WasteBySize()
    plot.show(runs, kmalloc_sizes=trace.sizes())
    assert plot.bars.labels == ["partitions", "Linux kmalloc"] and plot.bars.y.shape == (2, 16)


def test_timeline_draws_the_run():
    trace = bimodal_trace(100, 2)
    run = run_trace(NanoMalloc(Ram(BASE, 8192)), trace)
    timeline = FreeBytesTimeline()
    timeline.show(run)
    assert timeline.lines.y.shape == (2, len(trace))
    assert timeline.lines.y[0].tolist() == run.free_bytes.tolist()
    assert timeline.lines.y[1].tolist() == run.largest_free.tolist()


def test_region_kinds_have_colours():
    assert set(REGION_KINDS) == set(palette.RTOS_KIND_COLORS) == set(palette.RTOS_KIND_LABELS)
