"""BuddyLab without a browser: clicks change the drawing exactly as they changed the model; errors become words."""

import numpy as np
import pytest

from kernelmem_widgets import BuddyLab, Machine
from kernelmem_widgets.model import procfs
from kernelmem_widgets.model.page_alloc import snapshot
from kernelmem_widgets.model.workload import Workload
from kernelmem_widgets.views import palette
from kernelmem_widgets.views.controls import RANDOM_BLOCK


@pytest.fixture
def lab():
    return BuddyLab(Machine.preset("linux-6.18-tiny"), seed=0)


def views(lab):
    return [lab.memory_map, lab.free_lists, lab.fragmentation, lab.trace_view]


def counts(lab):
    return snapshot.free_list_counts(lab.zone)


def model_state(machine):
    return procfs.render_pagetypeinfo(machine), procfs.render_buddyinfo(machine)


def test_lab_on_the_tiny_preset(lab):
    assert lab.zone.name == "Normal" and lab.held == []
    assert "linux-6.18-tiny" in lab.status.value and "4,096 pages" in lab.status_text
    assert lab.zone_choice.layout.display == "none", "one zone: nothing to choose"
    assert [option for _, option in lab.order.options] == list(range(11))
    assert lab.order.options[0][0] == "0 (4 KiB)" and lab.order.options[10][0] == "10 (4 MiB)"
    assert len(lab.gfp.options) == 6


def test_lab_on_a_16_gib_machine_draws_the_highest_zone():
    lab = BuddyLab(Machine.preset("linux-6.18-x86_64", ram="16G"))
    assert lab.zone.name == "Normal" and lab.memory_map.mode == "bins"
    assert lab.zone_choice.options == ("DMA", "DMA32", "Normal")
    lab.gfp.value = "GFP_HIGHUSER_MOVABLE"
    lab.order.value = 10
    lab.alloc_button.click()
    pfn, order = lab.held[-1]
    assert (pfn, order) == (0x100000, 10)
    assert lab.memory_map.color_at(pfn) == palette.hex_to_rgb(palette.migratetype_color("Movable"))
    assert np.array_equal(lab.free_lists.bars.y, counts(lab).T)
    lab.gfp.value = "GFP_DMA"
    lab.order.value = 0
    lab.alloc_button.click()
    assert "in zone DMA" in lab.status_text and "not the zone drawn" in lab.status_text
    lab.zone_choice.value = "DMA"
    assert lab.memory_map.zone.name == lab.free_lists.zone.name == lab.fragmentation.zone.name == "DMA"
    assert lab.memory_map.color_at(lab.held[-1][0]) == palette.hex_to_rgb(palette.migratetype_color("Unmovable"))


def test_allocate_click_changes_bars_map_and_status_exactly_as_the_model(lab):
    lab.order.value, lab.gfp.value = 3, "GFP_KERNEL"
    lab.alloc_button.click()
    assert lab.held == [(0, 3)]
    assert np.array_equal(lab.free_lists.bars.y, counts(lab).T)
    unmovable = palette.hex_to_rgb(palette.migratetype_color("Unmovable"))
    assert all(lab.memory_map.color_at(page) == unmovable for page in range(8))
    assert lab.status_text.startswith("allocated order 3 (32 KiB) at pfn 0x0 in zone Normal (GFP_KERNEL)")
    assert "__rmqueue_claim()" in lab.status_text and "0x8 (order 3)" in lab.status_text
    assert [label for label, _ in lab.block_choice.options] == ["random held block", "0x0 order 3 (32 KiB)"]
    assert lab.memory_map.highlighted[0] == (0, 3, palette.HIGHLIGHT_COLOR)
    assert "mm_page_alloc: page=ffffea0000000000 pfn=0x0 order=3 " in lab.trace_view.lines[-1]


def test_free_click_frees_the_chosen_block_and_says_what_merged(lab):
    first, second = lab.allocate(3), lab.allocate(0)
    lab.block_choice.value = (first, 3)
    lab.free_button.click()
    assert lab.held == [(second, 0)]
    assert "freed order 3 (32 KiB) at pfn 0x0" in lab.status_text and "stays an order-3 block" in lab.status_text
    lab.free_button.click()  # "random" with one block held
    assert lab.held == [] and "merged it with its free buddies into the free order-10 block at 0x0" in lab.status_text
    assert counts(lab).sum(axis=1).tolist() == [0] * 10 + [4]
    assert np.array_equal(lab.free_lists.bars.y, counts(lab).T)
    lab.free_button.click()
    assert "nothing to free" in lab.status_text


def test_errors_land_in_the_status_line_and_never_raise(lab):
    assert lab.allocate(order=11) is None
    assert "invalid order" in lab.status_text and "MAX_PAGE_ORDER 10" in lab.status_text
    assert lab.status.style.text_color == palette.ERROR_COLOR
    assert lab.allocate(order=0, gfp="GFP_NONSENSE") is None and "unknown GFP flag" in lab.status_text
    pfn = lab.allocate(order=2)
    assert lab.free(pfn, 2) == (pfn, 2)
    assert lab.free(pfn, 2) is None
    assert "bad page state" in lab.status_text.lower() and "double free" in lab.status_text
    assert lab.status.style.text_color == palette.ERROR_COLOR
    assert lab.free(0x10_0000, 0) is None and "pfn out of range" in lab.status_text
    assert lab.free("not a pfn", 0) is None and "pfn out of range" in lab.status_text
    assert lab.age(-5) is None and "must be a whole number" in lab.status_text
    lab.allocate(order=0)
    assert lab.status.style.text_color is None, "success is not coloured as an error"


def test_allocation_failure_on_an_exhausted_zone(lab):
    lab.order.value, lab.gfp.value = 10, "GFP_KERNEL"
    for _ in range(6):
        lab.alloc_button.click()
    assert len(lab.held) == 3, "the min watermark keeps the fourth 4 MiB block back"
    assert "page allocation failure" in lab.status_text and "order:10" in lab.status_text
    assert lab.status.style.text_color == palette.ERROR_COLOR


def test_clicks_report_unexpected_errors_in_words(lab, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(lab.machine, "compact", broken)
    lab.compact_button.click()
    assert "internal error in kernelmem-widgets (RuntimeError: simulated bug)" in lab.status_text


def test_aging_redraws_each_view_once_and_fills_the_progress_bar(lab):
    before = [view.redraw_count for view in views(lab)]
    lab.age_steps.value = 5000
    lab.age_button.click()
    assert [view.redraw_count - count for view, count in zip(views(lab), before)] == [1, 1, 1, 1]
    assert (lab.age_progress.value, lab.age_progress.max) == (5000, 5000)
    assert "5,000 steps" in lab.status_text and "seed 0" in lab.status_text
    assert np.array_equal(lab.free_lists.bars.y, counts(lab).T)
    assert not lab.age_button.disabled


def test_every_action_redraws_each_view_exactly_once(lab):
    actions = [lambda: lab.allocate(3), lambda: lab.allocate(0, "GFP_HIGHUSER_MOVABLE"), lab.free, lab.compact,
               lambda: lab.age(300), lab.reset]
    for action in actions:
        before = [view.redraw_count for view in views(lab)]
        action()
        assert [view.redraw_count - count for view, count in zip(views(lab), before)] == [1, 1, 1, 1], action


def test_reset_clears_held_history_and_highlight(lab):
    lab.allocate(3)
    lab.allocate(5, "GFP_HIGHUSER_MOVABLE")
    lab.age(200)
    assert len(lab.fragmentation.history) == 4
    lab.reset_button.click()
    assert lab.held == [] and lab.fragmentation.history == [(0, 10)]
    assert lab.memory_map.highlighted == []
    assert lab.block_choice.options == (("random held block", RANDOM_BLOCK),)
    assert lab.status_text.startswith("rebooted: linux-6.18-tiny")
    assert counts(lab).sum(axis=1).tolist() == [0] * 10 + [4]


def test_a_rebooted_lab_replays_the_same_aging(lab):
    lab.age(2000)
    first = (lab.status_text, model_state(lab.machine))
    lab.reset()
    lab.age(2000)
    assert (lab.status_text, model_state(lab.machine)) == first


def walk(lab):
    """Press *step* until the allocation happens; return the previews' pfn, the steps and the pfn."""
    lab.step_button.click()
    preview = lab.split_preview
    steps = [lab.status_text]
    while lab.split_preview is not None:
        assert lab.memory_map.highlighted[0][0] == preview.pfn
        lab.step_button.click()
        steps.append(lab.status_text)
    return preview, steps, lab.held[-1][0]


def test_step_split_shows_each_expand_step_then_allocates_the_block_shown(lab):
    lab.allocate(0, "GFP_HIGHUSER_MOVABLE")  # the Movable lists now hold halves of orders 0..9
    lab.order.value, lab.gfp.value = 0, "GFP_HIGHUSER_MOVABLE"
    lab.free(0, 0)  # merges back: one order-10 block at 0x0 heads the list again
    preview, steps, pfn = walk(lab)
    assert (preview.pfn, preview.block_order, preview.path) == (0, 10, "__rmqueue_smallest")
    assert len(steps) == 12 and steps[0].startswith("step 1 of 12")
    assert "free_area[10].free_list[Movable]" in steps[0]
    assert steps[1].startswith("step 2 of 12: expand() puts the upper half 0x200 (2 MiB)")
    assert steps[10].startswith("step 11 of 12: expand() puts the upper half 0x1 (4 KiB)")
    assert steps[11].startswith("step 12 of 12: allocated order 0") and "exactly the block shown" in steps[11]
    assert pfn == preview.pfn == 0


@pytest.mark.parametrize("seed", range(3))
def test_step_split_preview_matches_the_real_allocation_on_an_aged_machine(seed):
    lab = BuddyLab(Machine.preset("linux-6.18-tiny"), seed=seed)
    lab.age(1500)
    rng = np.random.default_rng(seed)
    walked = 0
    for _ in range(12):
        lab.order.value = int(rng.integers(0, 6))
        lab.gfp.value = ["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE"][int(rng.integers(3))]
        before = model_state(lab.machine)
        lab.step_button.click()
        if lab.split_preview is None:  # no preview possible: allocated at once, or failed, and said why
            assert "no step-by-step view" in lab.status_text or "failed" in lab.status_text
            continue
        assert model_state(lab.machine) == before, "previewing must not allocate"
        preview = lab.split_preview
        while lab.split_preview is not None:
            lab.step_button.click()
        assert lab.held[-1][0] == preview.pfn and "exactly the block shown" in lab.status_text
        walked += 1
    assert walked >= 6


def test_a_change_to_the_model_ends_the_walk(lab):
    lab.step_button.click()
    assert lab.split_preview is not None and lab.step_button.description.startswith("next split step (2/")
    lab.machine.alloc_pages("GFP_KERNEL", 0)  # someone else allocates: the preview is stale
    assert lab.split_preview is None and lab.step_button.description == "step through a split"
    lab.step_button.click()
    lab.order.value = 4  # a new question: start again
    assert lab.split_preview is None


def test_held_follows_compaction(lab):
    zone = lab.zone
    lab.gfp.value = "GFP_HIGHUSER_MOVABLE"
    pages = [lab.allocate(0) for _ in range(600)]
    for pfn in pages[::2]:
        lab.free(pfn, 0)
    before = set(lab.held)
    lab.compact_button.click()
    assert "of your blocks moved" in lab.status_text and "none of your blocks moved" not in lab.status_text
    assert set(lab.held) != before and len(lab.held) == len(before)
    for pfn, order in lab.held:
        assert zone.allocated_order(pfn) == order
    for pfn, order in list(lab.held):
        assert lab.free(pfn, order) == (pfn, order)
    assert lab.held == []
    lab.machine.check_invariants()


def test_ops_pose_a_scenario_at_construction():
    lab = BuddyLab(Machine.preset("linux-6.18-tiny"), ops=["alloc 3", "alloc 0", "free 0x0 3", "alloc 11"])
    assert lab.held == [(8, 0)]
    assert [result.error != "" for result in lab.op_results] == [False, False, False, True]
    assert lab.status_text.startswith("ran 4 operations: alloc 3 -> pfn 0x0 (32 KiB)")
    assert lab.trace_view.lines[0].split(": ", 1)[1].startswith("mm_page_alloc_extfrag: page=")
    bad = BuddyLab(Machine.preset("linux-6.18-tiny"), ops=["alloc three"])
    assert "unreadable operation" in bad.status_text and bad.held == []
    rebooted = BuddyLab(Machine.preset("linux-6.18-tiny"), ops=["alloc 3", "reset", "alloc 1"])
    assert rebooted.held == [(0, 1)]


def test_clicking_the_map_picks_a_held_block(lab):
    pfn = lab.allocate(4, "GFP_HIGHUSER_MOVABLE")
    x, y = 3.5, 0.5  # a cell inside the block at pfn 0 (row 0, column 3)
    lab.memory_map.image_mark._handle_custom_msgs(None, {"event": "element_click",
                                                         "data": {"click_x": x, "click_y": y}})
    assert lab.block_choice.value == (pfn, 4) and "in your block 0x0" in lab.status_text
    lab.memory_map.image_mark._handle_custom_msgs(None, {"event": "element_click",
                                                         "data": {"click_x": 0.5, "click_y": 1000.0}})
    assert "is free, inside the free order-" in lab.status_text


def test_the_lab_never_changes_the_model_by_itself():
    machine = Machine.preset("linux-6.18-x86_64", ram="16G")
    Workload(machine, seed=4).age(2000)
    before = model_state(machine)
    lab = BuddyLab(machine)
    lab.step_button.click()
    lab.select_zone("DMA32")
    for view in views(lab):
        view.redraw()
    assert model_state(machine) == before


def test_same_seed_same_story():
    def story():
        lab = BuddyLab(Machine.preset("linux-6.18-tiny"), seed=9)
        lab.age(1000)
        lab.allocate(2)
        lab.free()
        lab.free()
        return lab.status_text, lab.trace_view.lines, lab.held

    assert story() == story()
