"""The rules that make every front end draw what the model says (see views/_marks.py).

A bqplot Image repaints only for a new ``ipywidgets.Image``; an OrdinalScale rebuilt from widget
state orders its categories as its domain says; captions, status lines and tables that show one
quantity take it from one function.  These tests walk the widget trees of both labs, so a view
added later that breaks a rule fails here.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import pytest

from kernelmem_widgets import BuddyLab, Machine, SlabLab
from kernelmem_widgets.model.slab.slab_stats import STATE_CODES
from kernelmem_widgets.views import FragmentationPlot, MemoryMap, palette
from kernelmem_widgets.views._png import decode_png
from kernelmem_widgets.views.slab_view import SlabView, slab_parts, slabinfo_free_per_slab
from kernelmem_widgets.views.vmalloc_view import VmallocView


def _tiny(**options):
    return Machine.preset("linux-6.18-tiny", **options)


def _widgets(root):
    """Every widget reachable from ``root`` through children, tab contents and figure marks."""
    seen, stack = {}, [root]
    while stack:
        widget = stack.pop()
        if id(widget) in seen or widget is None:
            continue
        seen[id(widget)] = widget
        stack.extend(getattr(widget, "children", ()) or ())
        stack.extend(getattr(widget, "tab_contents", ()) or ())
        if isinstance(widget, bq.Figure):
            stack.extend(widget.marks)
    return list(seen.values())


def _marks(lab):
    return [w for w in _widgets(lab) if isinstance(w, bq.Mark)]


def test_memory_map_gets_a_new_image_widget_on_every_redraw_and_closes_the_old():
    machine = _tiny()
    memory_map = MemoryMap(machine)
    first = memory_map.image_mark.image
    pfn = machine.alloc_pages("GFP_KERNEL", 3)
    second = memory_map.image_mark.image
    assert second is not first and first.comm is None            # closed: no leaked widget model
    drawn = decode_png(second.value)
    assert np.array_equal(drawn, memory_map.colors)
    assert memory_map.color_at(pfn) == palette.hex_to_rgb(palette.migratetype_color("Unmovable"))
    machine.reset()
    assert memory_map.image_mark.image is not second and second.comm is None
    assert memory_map.color_at(pfn) == palette.hex_to_rgb(palette.free_color("Movable"))
    memory_map.close()
    assert memory_map.image_mark.image.comm is None


@pytest.mark.parametrize("make_lab", [lambda: BuddyLab(_tiny(), ops=["alloc 3", "alloc 0"]),
                                      lambda: SlabLab(_tiny(nr_cpus=2), ops=["kmalloc 100 x40", "kfree 8"])])
def test_every_ordinal_scale_states_its_domain_in_the_order_drawn(make_lab):
    lab = make_lab()
    ordinal = [(mark, mark.scales[axis]) for mark in _marks(lab) for axis in ("x", "y")
               if isinstance(mark.scales.get(axis), bq.OrdinalScale)]
    assert ordinal, "the lab has ordinal marks (the free-list bars at least)"
    for mark, scale in ordinal:
        categories = [str(x) for x in np.asarray(mark.x).tolist()]
        assert list(scale.domain), f"{type(mark).__name__} on an OrdinalScale without a domain"
        assert set(categories) <= set(scale.domain)
        positions = [list(scale.domain).index(c) for c in categories]
        assert positions == sorted(positions)          # drawn in the order of the domain


def test_fragmentation_domain_is_in_order_and_the_threshold_spans_every_order():
    plot = FragmentationPlot(_tiny())
    scale = plot.index_bars.scales["x"]
    assert list(scale.domain) == [str(order) for order in range(11)]
    assert list(plot.threshold_line.x) == ["0", "10"]
    history_ticks = plot.history_figure.axes[1].tick_values.tolist()
    assert history_ticks[0] == 0 and -1 not in history_ticks


def test_every_image_mark_of_both_labs_repaints_by_replacement():
    lab = SlabLab(_tiny(nr_cpus=2))
    images = [mark for mark in _marks(lab) if isinstance(mark, bq.Image)]
    before = [mark.image for mark in images]
    lab.kmalloc(100, 40)
    assert images and all(mark.image is not old for mark, old in zip(images, before))


def test_slab_view_splits_what_proc_slabinfo_counts_and_every_place_says_the_same_active():
    machine = _tiny(nr_cpus=2)
    lab = SlabLab(machine)
    lab.kmalloc(100, 41)
    lab.kfree(8)
    cache = machine.slab.cache("kmalloc-128")
    info = cache.get_slabinfo()
    table = lab.slab_view.table
    held, counted_active_free, counted_free = slab_parts(table, "slub")
    assert info["active_objs"] == 64 and int(slabinfo_free_per_slab(table, "slub").sum()) == 0
    assert int(held.sum()) + int(counted_active_free.sum()) == info["active_objs"]
    assert "/proc/slabinfo says 64 active" in lab.slab_view.caption.value
    assert "64 active of 64 objects" in lab.status_text
    row = next(row for row in lab.slabtop.rows if row["name"] == "kmalloc-128")
    assert row["active"] == 64
    # empty slabs on the node partial list: those, and only those, are counted free
    lab.kfree(33)
    for _ in range(3):
        lab.kmalloc(100, 64)
        lab.kfree(64)
    table, info = lab.slab_view.table, cache.get_slabinfo()
    free = slabinfo_free_per_slab(table, "slub")
    assert int(free.sum()) == info["num_objs"] - info["active_objs"]
    assert np.all(free[table["state"] != STATE_CODES["partial"]] == 0)
    assert f"/proc/slabinfo says {info['active_objs']:,} active" in lab.slab_view.caption.value


def test_slab_header_follows_each_action_not_one_behind():
    lab = SlabLab(_tiny())
    lab.kmalloc(100, 10)
    assert "you hold 10 objects" in lab.header.value
    lab.kfree(9)
    assert "you hold 1 object and 0 vmalloc areas" in lab.header.value
    assert lab.status_text.startswith("kfree() x9") and "1 object." in lab.status_text


def test_slob_view_says_units_not_objects_and_cites_no_slabinfo():
    lab = SlabLab(_tiny())
    lab.reboot(allocator="slob")
    lab.kmalloc(100, 3)
    view = lab.slab_view
    assert view.value_axis.label == "2-byte SLOB units"
    assert "/proc/slabinfo says" not in view.caption.value and "no /proc/slabinfo with SLOB" in view.caption.value
    assert list(lab.cache_choice.options) == ["(the SLOB heap: one for every cache)"] and lab.cache_choice.disabled
    assert not lab.status_text.endswith(" ") and not lab.status_text.endswith(".")
    lab.reboot(allocator="slub")
    assert lab.slab_view.cache_name == "kmalloc-128" and lab.cache_choice.value == "kmalloc-128"
    assert not lab.cache_choice.disabled


def test_ticks_are_whole_numbers_and_round_pfns():
    view = SlabView(_tiny())
    assert view.value_axis.tick_values.tolist() == [0.0, 1.0]                  # not 0 0 0 1 1 1
    machine = _tiny(seed=1)
    vmalloc = VmallocView(machine)
    machine.vmalloc.vmalloc(1 << 20)
    pfn_ticks = vmalloc.y_axis.tick_values.astype(int)
    step = int(np.diff(pfn_ticks)[0])
    assert len(pfn_ticks) >= 2 and step & (step - 1) == 0 and np.all(pfn_ticks % step == 0)
    assert vmalloc.x_axis.tick_values.tolist() == [0.0, 100.0, 200.0]


def test_words_are_in_the_singular_for_one():
    lab = SlabLab(_tiny())
    lab.kmalloc(100, 1)
    assert "you hold 1 object" in lab.status_text and "1 objects" not in lab.status_text
    lab.shrink()
    assert "1 slabs" not in lab.status_text
    lab.load_module("abc")
    assert "load a abc" not in lab.status_text and "load_module('abc')" in lab.status_text
    assert "refused by the model" not in lab.status_text and "(invalid size)" in lab.status_text


def test_a_watermark_failure_says_the_request_is_what_does_not_fit():
    lab = BuddyLab(_tiny(seed=6), seed=6)
    lab.age(20000)
    lab.allocate(order=10)
    text = lab.status_text
    assert ("zone Normal: 620 free pages minus the 1,024 asked for (order 10) plus 1 leaves -403, not above the "
            "min watermark 128 + lowmem_reserve 0 (__zone_watermark_ok())") in text
    assert text.count("page allocation failure") == 1
