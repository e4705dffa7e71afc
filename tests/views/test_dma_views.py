"""CmaMemoryMap, SgListView and RoutesTable: drawn from the model, marks replaced, not mutated."""

from kernelmem_widgets import Machine
from kernelmem_widgets.model.dma import Device, evaluate_routes, run_route
from kernelmem_widgets.views import palette
from kernelmem_widgets.views.dma_map import MAX_MIGRATION_LINES, CmaMemoryMap
from kernelmem_widgets.views.dma_routes import RoutesTable, routes_table_html, routes_table_text
from kernelmem_widgets.views.sg_list_view import MAX_BARS, SgListView, runs_caption


def machine():
    return Machine.preset("linux-6.18-x86_64-cma", ram="1G", cmdline="cma=128M")


def test_cma_map_colours_and_migration_lines():
    m = machine()
    view = CmaMemoryMap(m)
    cma = m.dma.default_cma
    assert (view.zone.name, view.mode) == ("DMA32", "bins")
    assert view.color_at(cma.base_pfn + 4096) == palette.hex_to_rgb(palette.CMA_FREE_COLOR)
    image = view.image_mark.image
    result = run_route(m, "dma_coherent_cma", Device.pci("x", 64))
    assert view.image_mark.image is not image                    # a new Image widget, not a new value
    assert view.color_at(cma.base_pfn + 4096) == palette.hex_to_rgb(palette.CMA_BUFFER_COLOR)
    assert "25,600 pages in cma_alloc() buffers" in view.caption.value
    result.release()
    view.last_migration = {cma.base_pfn + i: 0x2000 + i for i in range(2 * MAX_MIGRATION_LINES)}
    view.redraw()
    assert view.migration_lines == MAX_MIGRATION_LINES and view.migration_mark.visible
    assert "600 blocks moved" in view.caption.value
    m.reset()
    assert view.last_migration == {} and not view.migration_mark.visible


def test_small_machine_pages_mode_shows_the_buffer():
    m = Machine.preset("linux-6.18-tiny", config_cma=True)
    from kernelmem_widgets.model.dma import cma_alloc, cma_declare_contiguous
    cma = cma_declare_contiguous(m, 8 << 20)
    view = CmaMemoryMap(m, "Normal")
    assert view.mode == "pages"
    cma_alloc(m, cma, 16, 4)
    assert view.color_at(cma.base_pfn) == palette.hex_to_rgb(palette.CMA_BUFFER_COLOR)
    assert view.color_at(cma.base_pfn + 100) == palette.hex_to_rgb(palette.CMA_FREE_COLOR)


def test_sg_view_bars_and_buckets():
    view = SgListView(ram_bytes=1 << 30)
    view.show([(0x100, 16), (0x200, 32)], "sg")
    assert view.bar_x.tolist() == [1.0, 2.0] and view.bar_heights.tolist() == [16.0, 32.0]
    assert view.caption.value == "sg: " + runs_caption([(0x100, 16), (0x200, 32)])
    assert view.caption.value == "sg: 2 physically contiguous runs, 48 pages (192 KiB); largest run 128 KiB"
    x = view.bars.x
    view.show([(i * 16, 16) for i in range(2000)])
    assert len(view.bar_x) <= MAX_BARS and view.bar_heights.sum() == 32000 and view.bars.x is not x
    view.show([])
    assert view.caption.value == "nothing held"


def test_routes_table_follows_the_model():
    m = machine()
    table = RoutesTable(m, Device.pci("x", 64))
    assert table.value == routes_table_html(evaluate_routes(m, Device.pci("x", 64)))
    assert routes_table_text(table.results)[0].startswith("no  | kmalloc(size, GFP_KERNEL) | any time | NULL (WARN)")
    held = run_route(m, "dma_coherent_cma", Device.pci("x", 64))
    assert "the area has 7168 of 32768 pages available" in table.value
    held.release()
    table.configure(Device.isa("f"), 1 << 20)
    assert "data-route='dma_coherent_cma'" in table.value
