"""Chapter 4's views draw what the model says: regions, zones, slot colours, lines, captions."""

import numpy as np

from kernelmem_widgets.model import Machine
from kernelmem_widgets.views import palette
from kernelmem_widgets.views._png import decode_png
from kernelmem_widgets.views.address_space import (COLUMNS, ROWS, AddressSpaceView, kmap_lines, physical_regions,
                                                   virtual_regions)
from kernelmem_widgets.views.pkmap_window import CELL, SLOTS_PER_ROW, PkmapWindowView, slot_states

rgb = palette.hex_to_rgb


def machine_2g():
    return Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="")


def pixel(image, column, addr, top=1 << 32):
    """The pixel at the middle of ``column`` for address ``addr`` (rows from the top)."""
    x = int(sum(COLUMNS[column]) / 2 * 24)
    return tuple(int(v) for v in image[int((top - addr) * ROWS // top) - 1, x])


def test_virtual_regions_are_the_layout_block():
    machine = machine_2g()
    regions = {name: (start, end) for name, start, end in virtual_regions(machine) if name != "hole"}
    assert regions == {"user": (0, 0xC0000000), "direct map": (0xC0000000, 0xF77FE000),
                       "vmalloc": (0xF7FFE000, 0xFF7FE000), "pkmap": (0xFF800000, 0xFFC00000),
                       "fixmap": (0xFFF16000, 0xFFFFF000)}
    assert [name for name, _s, _e in physical_regions(machine)] == ["DMA", "Normal", "HighMem"]


def test_image_columns_and_lines_follow_kmap():
    machine = machine_2g()
    view = AddressSpaceView(machine)
    image = decode_png(view.image_mark.image.value)
    assert pixel(image, "virtual", 0x40000000) == rgb(palette.ADDRESS_REGION_COLORS["user"])
    assert pixel(image, "virtual", 0xD0000000) == rgb(palette.ADDRESS_REGION_COLORS["direct map"])
    assert pixel(image, "physical", 0x10000000) == rgb(palette.ZONE_COLORS["Normal"])
    assert pixel(image, "physical", 0x60000000) == rgb(palette.ZONE_COLORS["HighMem"])
    assert pixel(image, "physical", 0xA0000000) == rgb(palette.HOLE_COLOR)           # no RAM above 2 GiB
    assert len(view.lines_mark.x) == 2                                              # the direct map's edges
    old = view.image_mark.image
    for pfn in (0x40000, 0x40001, 0x50000):
        machine.kmap_space.kmap(pfn)
    assert view.image_mark.image is not old                                         # replaced, not mutated
    assert len(view.lines_mark.x) == 5 and view.lines_mark.colors[-1] == palette.ADDRESS_REGION_COLORS["pkmap"]
    assert [line[2] >> 12 for line in kmap_lines(machine)[2:]] == [0x40000, 0x40001, 0x50000]
    assert view.lines_mark.y[-1][1] == 0x50000 * 4096 / (1 << 20)                  # ends at its page
    assert "pkmap 0xff800000 (1024 slots, 3 mapped)" in view.caption_text
    assert view.y_axis.tick_values.tolist() == [0.0, 0x377FE * 4096 / (1 << 20), 3072.0, 4096.0]


def test_64_bit_variant():
    view = AddressSpaceView(Machine.preset("linux-6.18-x86_64", ram="4G"))
    assert "covers all 4,096 MiB of RAM" in view.caption_text and "kmap() is page_address()" in view.caption_text
    assert view.y_scale.max == 4096.0


def test_pkmap_window_colours_pointer_and_counters():
    machine = machine_2g()
    view = PkmapWindowView(machine)
    space = machine.kmap_space
    with machine.bus.batch("test"):
        for pfn in range(0x40000, 0x40000 + 1023):                                  # slots 1..1023
            space.kmap(pfn)
        for pfn in range(0x40000, 0x40000 + 10):
            space.kunmap(pfn)                                                       # slots 1..10 -> count 1
    states = slot_states(space)
    assert states[0] == "free" and states[1:11] == ["unflushed"] * 10 and states[11] == "in use"
    image = decode_png(view.image_mark.image.value)
    centre = lambda slot: tuple(int(v) for v in image[(slot // SLOTS_PER_ROW) * CELL + CELL // 2,
                                                      (slot % SLOTS_PER_ROW) * CELL + CELL // 2])
    assert centre(0) == rgb(palette.PKMAP_COUNT_COLORS["free"])
    assert centre(5) == rgb(palette.PKMAP_COUNT_COLORS["unflushed"])
    assert centre(500) == rgb(palette.PKMAP_COUNT_COLORS["in use"])
    assert "wraps 0" in view.counters_text
    space.kmap(0x50000)                                     # slot 0, after the wrap: nothing to flush yet
    space.kmap(0x50001)                                     # wraps again: flush_all_zero_pkmaps() frees 1..10
    assert "wraps 1, whole-window TLB flushes 1" in view.counters_text
    assert (view.pointer.x.tolist(), view.pointer.y.tolist()) == ([2.5], [0.5])    # next: slot 2
    view.bind(Machine.preset("linux-2.6.35-i386", ram="2G", cmdline="", pae=True))
    assert view.y_scale.max == 16.0 and decode_png(view.image_mark.image.value).shape[0] == 16 * CELL
