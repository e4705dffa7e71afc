"""The slab chapter's views and lab without a browser: trait values after clicks, as DESIGN.md asks."""

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from kernelmem_widgets import SlabLab  # noqa: E402
from kernelmem_widgets.model import Machine  # noqa: E402
from kernelmem_widgets.views.size_explorer import SizeExplorer, describe_request  # noqa: E402
from kernelmem_widgets.views.slab_table import SlabTop, SlubGeometry  # noqa: E402
from kernelmem_widgets.views.slab_view import SlabView  # noqa: E402
from kernelmem_widgets.views.vmalloc_view import VmallocView  # noqa: E402


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-tiny", nr_cpus=2)


def test_size_explorer_walls_and_readout():
    explorer = SizeExplorer(nr_cpus=2)
    assert explorer.walls.x.tolist() == [[8192, 8192], [4 << 20, 4 << 20]]
    for size, where in ((1, "kmalloc-8"), (96, "kmalloc-96"), (8192, "kmalloc-8k"), (8193, "pages, order 2"),
                        (4 << 20, "pages, order 10"), ((4 << 20) + 1, "fails"), (0, "ZERO_SIZE_PTR")):
        explorer.pick(size)
        assert explorer.info["where"] == where
    explorer.pick(3000)
    assert explorer.marker.y.tolist() == [4096.0]
    assert describe_request(512, nr_cpus=8)["order"] == 2 and describe_request(512, nr_cpus=2)["order"] == 1
    explorer.slider.value = 2 ** 10                               # the slider drives the readout
    assert explorer.info["where"] == "kmalloc-1k"


def test_slab_view_follows_the_cache_and_coalesces_redraws(machine):
    view = SlabView(machine, "kmalloc-128")
    assert view.labels == ["(no slabs)"] or view.labels == []
    before = view.redraw_count
    with machine.bus.batch("one action"):
        ptrs = [machine.slab.kmalloc(100) for _ in range(40)]
    assert view.redraw_count == before + 1
    assert view.labels == ["0x1 cpu", "0x0 full"]
    assert view.bars.y[:, ::-1].tolist() == [[8, 32], [24, 0], [0, 0]]
    assert view.pages() == [(1, 0), (0, 0)]
    assert "40 of 64 objects held; /proc/slabinfo says 64 active" in view.caption.value
    machine.slab.kfree(ptrs[0])
    assert view.labels == ["0x1 cpu", "0x0 cpu partial"]
    machine.reset()
    assert view.labels == [] and view.bars.x.tolist() == ["(no slabs)"]
    view.select_cache("no-such")
    assert "no kmem cache named" in view.header.value


def test_slabtop_and_geometry(machine):
    top = SlabTop(machine)
    for _ in range(50):
        machine.slab.kmalloc(8)
    machine.slab.kmalloc(3000)
    assert [row["name"] for row in top.rows] == ["kmalloc-4k", "kmalloc-8"]     # by cache size: 32 KiB, 4 KiB
    top.sort.value = "objects"
    assert [row["name"] for row in top.rows] == ["kmalloc-8", "kmalloc-4k"]
    assert "Active / Total Objects" in top.html.value
    geometry = SlubGeometry(nr_cpus=2)
    rows = {row["name"]: row for row in geometry.rows}
    assert (rows["kmalloc-1k"]["order"], rows["kmalloc-1k"]["objs_per_slab"]) == (2, 16)
    geometry.nr_cpus.value = 8
    rows = {row["name"]: row for row in geometry.rows}
    assert (rows["kmalloc-1k"]["order"], rows["kmalloc-1k"]["objs_per_slab"]) == (3, 32)
    assert "min_objects = 4 * (fls(8) + 1) = <b>20</b>" in geometry.html.value


def test_vmalloc_view(machine):
    view = VmallocView(machine)
    assert view.pages.value == "no vmalloc area yet"
    addr = machine.vmalloc.vmalloc(5 * 4096)
    assert view.area_choice.value == addr
    assert view.points.x.tolist() == [0, 1, 2, 3, 4]
    assert view.points.y.tolist() == [float(p) for p in machine.vmalloc.area(addr).pages]
    assert "pages=5 vmalloc" in view.info.value
    second = machine.vmalloc.vmalloc(3 << 20)              # its page array is a nested vmalloc area too
    assert view.area_choice.value == second and len(view.points.x) == 768
    view.area_choice.value = addr                          # the reader picks the first area again
    machine.vmalloc.vfree(second)
    assert view.area_choice.value == addr and len(view.points.x) == 5


def test_lab_buttons(machine):
    lab = SlabLab(machine, ops=["kmalloc 100 x40"])
    assert len(lab.held) == 40 and lab.slab_view.cache_name == "kmalloc-128"
    highlighted = [(pfn, order) for pfn, order, _color in lab.memory_map.highlighted]
    assert sorted(highlighted) == [(0, 0), (1, 0)]                  # the cache's slab pages, outlined
    map_before = lab.memory_map.colors.copy()
    lab.size.value, lab.count.value = 3000, 3
    lab.kmalloc_button.click()
    assert len(lab.held) == 43 and lab.slab_view.cache_name == "kmalloc-4k"
    assert (lab.memory_map.colors != map_before).any()               # the buddy map shows the new slab pages
    lab.count.value = 43
    lab.kfree_button.click()
    assert lab.held == [] and "you hold 0 objects" in lab.status_text
    lab.size.value = 5 << 20
    lab.count.value = 1
    lab.kmalloc_button.click()
    assert "above KMALLOC_MAX_SIZE" in lab.status_text and lab.status.style.text_color
    lab.nr_cpus.value = 16
    lab.reboot_button.click()
    assert machine.slab.nr_cpus == 16 and machine.slab.cache("kmalloc-192").order == 1
    assert lab.size_explorer.nr_cpus == 16
    lab.module_rules.value, lab.module_size.value = "linux-2.6.35-i386", "70M"
    lab.load_button.click()
    assert "refuses any image larger than 64 MiB" in lab.status_text
    lab.vsize.value = "16K"
    lab.vmalloc_button.click()
    assert len(lab.vheld) == 1 and "4 pages + 1 guard page" in lab.status_text
    lab.vfree_button.click()
    assert lab.vheld == []
    lab.shrink_button.click()
    assert "kmem_cache_shrink()" in lab.status_text
    lab.reset_button.click()
    assert "rebooted" in lab.status_text and machine.slab.nr_cpus == 2
    lines = lab.run_ops(["kfree 3", "nonsense"])
    assert lines[0].startswith("kfree 3: nothing to free") and "unknown operation" in lines[1]


def test_lab_switches_allocators(machine):
    lab = SlabLab(machine)
    lab.reboot(allocator="slab")
    lab.kmalloc(20)
    assert lab.slab_view.cache_name == "kmalloc-32" and machine.slab.allocator == "slab"
    assert "tunables  120   60    8" in lab.slabinfo.value
    lab.reboot(allocator="slob")
    lab.kmalloc(20, 2)
    assert lab.slab_view.labels == ["0x0 partial"] and "no /proc/slabinfo with SLOB" in lab.slabinfo.value


def test_lab_tabs_are_filled_when_first_selected(machine):
    lab = SlabLab(machine)
    assert lab.tabs.children[0] is lab.tab_contents[0]
    assert all(not holder.children for holder in lab.tabs.children[1:])      # no figure drawn hidden
    lab.tabs.selected_index = 3
    assert lab.tabs.children[3].children == (lab.tab_contents[3],)
    assert not lab.tabs.children[1].children
    lab.tabs.selected_index = 0
    lab.tabs.selected_index = 3                                              # filled once, not twice
    assert lab.tabs.children[3].children == (lab.tab_contents[3],)
    lab.close()
