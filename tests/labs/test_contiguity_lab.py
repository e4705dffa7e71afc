"""ContiguityLab: its buttons call the model, its marks show what the model says."""

from kernelmem_widgets import ContiguityLab, Machine


def lab(**kw):
    return ContiguityLab(Machine.preset("linux-6.18-x86_64", ram="256M"), **kw)


def test_run_fills_the_table_the_bars_and_the_tlb_view():
    view = lab(ops=["run sequential 4M 4096"])
    assert list(view.bars.y) == [2, 1024, 1024, 2]
    assert "16,384" not in view.table.value and "1,024" in view.table.value
    assert view.tlb_view.caption.value.startswith("valid entries: dTLB 4K 64/64")
    assert "page walks direct map 2, vmalloc 1,024" in view.status_text


def test_a_cpu_change_redraws_the_tlb_view_for_its_geometry():
    view = lab()
    view.cpu_choice.value = "teaching"
    view.run()
    assert set(view.tlb_view.grids) == {"dTLB 4K", "dTLB 2M", "STLB 4K+2M"}
    assert view.tlb_view.grids["dTLB 4K"].color.shape == (2, 2)


def test_mmap_touch_fork_write_counts():
    view = lab(ops=["mmap 2M", "write", "fork", "child-write"])
    assert view.mm.counters["thp_fault_alloc"] == 1
    assert view.child.counters["cow_fault"] == 512 and view.child.counters["thp_split_pmd"] == 1
    assert "child writes: faults 512" in view.status_text
    assert "walk of" in view.walk_view.table.value


def test_bad_input_goes_to_the_status_line():
    view = lab()
    view.size.value = "lots"
    view.run()
    assert "lots" in view.status_text and view.results == {}
    view.act("touch")
    assert view.status_text.startswith("mmap first")
    view.run_ops(["dance"])
    assert "unknown operation 'dance'" in view.status_text


def test_the_second_tab_is_filled_when_first_shown():
    view = lab()
    assert view.tabs.children[1].children == ()
    view.tabs.selected_index = 1
    assert view.tabs.children[1].children == (view.tab_contents[1],)
