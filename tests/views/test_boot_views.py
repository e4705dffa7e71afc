"""PhysicalMap and IoremapView draw what the model says (colours at known addresses)."""

import numpy as np
import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.views import IoremapView, PhysicalMap, palette
from kernelmem_widgets.views._png import decode_png


def rgb(color):
    return tuple(palette.hex_to_rgb(color))


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-x86_64", ram="2G", cmdline="mem=1G memmap=64M$0x30000000")


def test_bands_at_known_addresses(machine):
    view = PhysicalMap(machine)
    assert view.span == 1 << 32
    firmware, user, memblock, zones, io = view.rows
    at = view.column_of
    assert tuple(firmware[at(0x50000000)]) == rgb(palette.E820_COLORS["usable"])     # RAM mem= hid
    assert tuple(user[at(0x50000000)]) == rgb(palette.HOLE_COLOR)
    assert tuple(user[at(0x31000000)]) == rgb(palette.E820_COLORS["reserved"])       # memmap=64M$
    assert tuple(memblock[at(0x20000000)]) == rgb(palette.MEMBLOCK_FREE_COLOR)
    assert tuple(zones[at(0x20000000)]) == rgb(palette.ZONE_COLORS["DMA32"])
    assert tuple(user[at(0x90000000)]) == rgb(palette.HOLE_COLOR)                    # the PCI hole
    image = decode_png(view.image_mark.image.value)
    assert image.shape[1] == view.width and tuple(image[0, at(0x50000000)]) == rgb(palette.E820_COLORS["usable"])


def test_an_ioremap_is_drawn_on_both_sides(machine):
    physical, virtual = PhysicalMap(machine), IoremapView(machine)
    old_png = physical.image_mark.image.value
    addr = machine.ioremap_wc(0x40000000, 64 << 20)
    assert physical.image_mark.image.value != old_png                               # a new value, not mutated
    assert tuple(physical.rows[4, physical.column_of(0x41000000)]) == rgb(palette.CACHE_MODE_COLORS["WC"])
    assert tuple(virtual.row[virtual.column_of(addr + (1 << 20))]) == rgb(palette.CACHE_MODE_COLORS["WC"])
    assert "ioremap_wc" in virtual.table.value and "<td>WC</td>" in virtual.table.value
    machine.iounmap(addr)
    assert tuple(virtual.row[virtual.column_of(addr + (1 << 20))]) == rgb(palette.HOLE_COLOR)


def test_windows_and_reboot(machine):
    view = PhysicalMap(machine)
    view.window.value = "first 16 MiB"
    assert view.span == 16 << 20
    assert tuple(view.rows[1, view.column_of(0xA0000)]) == rgb(palette.HOLE_COLOR)            # 640K-1M
    assert tuple(view.rows[2, view.column_of(0x10000)]) == rgb(palette.RESERVED_COLOR)        # first 1 MiB
    view.window.value = "whole map"
    machine.reboot("")
    assert tuple(view.rows[1, view.column_of(0x50000000)]) == rgb(palette.E820_COLORS["usable"])


def test_i386_window_is_drawn_whole():
    machine = Machine.preset("linux-2.6.35-i386", cmdline="mem=1G")
    view = IoremapView(machine)
    assert view.span == 120 << 20
    machine.ioremap(0x40000000, 100 << 20)
    filled = np.all(view.row == rgb(palette.CACHE_MODE_COLORS["UC-"]), axis=1).sum()
    assert 800 <= filled <= 860                                                     # 100 of 120 MiB
