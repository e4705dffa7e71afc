"""DmaLab without a browser: every control calls the model, errors go to the status line."""

import pytest

from kernelmem_widgets import DmaLab, InvalidArgument, Machine
from kernelmem_widgets.views import palette


@pytest.fixture
def lab():
    return DmaLab(Machine.preset("linux-6.18-x86_64-cma", ram="1G", cmdline="cma=128M"))


def test_routes_hold_and_release(lab):
    cma = lab.machine.dma.default_cma
    assert lab.status_text.endswith("cma: Reserved 128 MiB at 0x0000000037e00000")
    lab.route_buttons["dma_coherent_cma"].click()
    assert lab.held is not None and lab.held.runs == [(cma.base_pfn, 25600)]
    assert lab.status_text.startswith("dma_alloc_coherent() with a CMA area: works - dma_addr 0x37e00000")
    assert lab.memory_map.color_at(cma.base_pfn + 8192) == palette.hex_to_rgb(palette.CMA_BUFFER_COLOR)
    assert list(lab.sg_view.bar_heights) == [25600.0]
    assert [r.name for r in lab.routes_table.results if r.ok and r.name == "dma_coherent_cma"] == []
    lab.release_button.click()
    assert lab.held is None and cma.available_count == cma.count
    assert lab.memory_map.color_at(cma.base_pfn + 8192) == palette.hex_to_rgb(palette.CMA_FREE_COLOR)
    lab.route_buttons["kmalloc"].click()
    assert lab.status_text.startswith("kmalloc(size, GFP_KERNEL): fails") and lab.held is None
    lab.machine.check_invariants()


def test_settings_and_bad_input_go_to_the_status_line(lab):
    lab.size_text.value = "lots"
    assert "accepted: e.g. 100M" in lab.status_text
    lab.size_text.value = "64M"
    lab.device_choice.value = "ISA (24-bit)"
    assert lab.status_text.startswith("isa-dma: mask 0xffffff; size 64 MiB")
    assert not any(r.ok for r in lab.routes_table.results if r.name == "dma_coherent_cma")
    lab.boot("cma=64G")
    assert lab.status_text.startswith("boot refused:") and "Failed to reserve" in lab.status_text
    assert lab.machine.cmdline == "cma=128M"
    lab.run_op("fly away")
    assert lab.status_text.startswith("unknown operation")
    lab.pin(4)
    assert "age the machine first" in lab.status_text
    lab.boot("cma=64M@0-4G")
    assert lab.machine.dma.default_cma.count == 16384 and "booted with" in lab.status_text


def test_needs_a_booted_machine():
    with pytest.raises(InvalidArgument):
        DmaLab(Machine.preset("linux-6.18-tiny"))


def test_age_pin_and_busy():
    lab = DmaLab(Machine.preset("linux-6.18-x86_64-cma", ram="2G", cmdline="cma=128M"), ops=["age", "pin 2"])
    assert lab.status_text.startswith("pin_user_pages() on 2 user pages")
    assert lab.progress.layout.visibility == "hidden"
    lab.try_route("dma_coherent_cma")
    assert "ret: -16" in lab.status_text and lab.held is None
