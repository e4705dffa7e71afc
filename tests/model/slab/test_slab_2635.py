"""SLAB of Linux 2.6.35: kmalloc caches size-32 ... up to KMALLOC_MAX_SIZE, as /proc/slabinfo 2.1 printed them."""

from pathlib import Path

import pytest

from kernelmem_widgets.model import Machine, procfs
from kernelmem_widgets.model.errors import AllocationError, InvalidSize
from kernelmem_widgets.model.slab.kmalloc import (slab_2_6_kmalloc_cache_name, slab_2_6_kmalloc_max_size,
                                                  slab_2_6_kmalloc_sizes)
from kernelmem_widgets.model.slab.slab_legacy import slab_2_6_geometry

FIXTURE = Path(__file__).parent / "fixtures" / "slabinfo_2.6.30.1_x86_64_kmalloc.txt"


def _geometry_columns(line: str) -> tuple:
    """name, objsize, objperslab, pagesperslab, limit, batchcount, sharedfactor (not the load-dependent counts)."""
    fields = line.split()
    return (fields[0], int(fields[3]), int(fields[4]), int(fields[5]), int(fields[8]), int(fields[9]), int(fields[10]))


def test_kmalloc_max_size_follows_max_order_and_the_32_mib_cap():
    assert slab_2_6_kmalloc_max_size(4096, 10) == 4 << 20             # x86: MAX_ORDER 11
    assert slab_2_6_kmalloc_max_size(4096, 13) == 32 << 20            # CONFIG_FORCE_MAX_ZONEORDER=14
    assert slab_2_6_kmalloc_max_size(4096, 16) == 32 << 20            # capped at 2^25
    assert slab_2_6_kmalloc_sizes(4096, 13)[-1] == 33554432
    assert slab_2_6_kmalloc_sizes(4096, 10, cache_line_size=32)[:6] == [32, 64, 96, 128, 192, 256]
    assert slab_2_6_kmalloc_sizes(65536, 10)[:2] == [64, 128]           # no CACHE(32) without 4 KiB pages


def test_cache_lookup():
    assert slab_2_6_kmalloc_cache_name(1) == "size-32"
    assert slab_2_6_kmalloc_cache_name(4 << 20) == "size-4194304"
    assert slab_2_6_kmalloc_cache_name((4 << 20) + 1) is None
    assert slab_2_6_kmalloc_cache_name(20 << 20, max_page_order=13) == "size-33554432"
    assert slab_2_6_kmalloc_cache_name(0) is None
    with pytest.raises(InvalidSize):
        slab_2_6_kmalloc_cache_name(-1)


def test_i386_geometry_by_hand():
    # (4096 - 28) / (32 + 4) = 113 objects, management ALIGN(28 + 452, 32) = 480: 480 + 113*32 = 4096
    assert slab_2_6_geometry(32, 32) == {"num": 113, "order": 0, "left_over": 0, "off_slab": False, "slab_size": 480}
    assert slab_2_6_geometry(512, 64)["off_slab"] and slab_2_6_geometry(512, 64)["num"] == 8
    assert slab_2_6_geometry(8192, 64)["order"] == 1


def test_a_64bit_2_6_machine_prints_the_real_size_rows_in_the_real_order():
    machine = Machine.preset("linux-2.6.35-i386", slab_allocator="slab", arch="x86_64")
    real = [_geometry_columns(line) for line in FIXTURE.read_text().splitlines()
            if line.startswith("size-")]
    ours = [_geometry_columns(line) for line in procfs.render_slabinfo(machine).splitlines()
            if line.startswith("size-")]
    assert ours == real


def test_the_2_6_35_i386_preset_with_slab():
    machine = Machine.preset("linux-2.6.35-i386", slab_allocator="slab")
    slab = machine.slab
    assert slab.era == "2.6.35" and slab.kmalloc_max_size == slab.kmalloc_max_cache_size == 4 << 20
    text = procfs.render_slabinfo(machine)
    rows = {line.split()[0]: _geometry_columns(line) for line in text.splitlines()[2:]}
    assert rows["size-32"] == ("size-32", 32, 113, 1, 120, 60, 8)
    assert rows["size-64"][2] == 59 and rows["size-128"][2] == 30 and "size-96" not in rows
    assert rows["size-4194304(DMA)"] == ("size-4194304(DMA)", 4194304, 1, 1024, 1, 1, 0)
    ptr = slab.kmalloc(3 << 20)
    assert slab.cache_of(ptr).name == "size-4194304" and slab.ksize(ptr) == 4 << 20
    assert slab.cache_of(slab.kmalloc(100, "GFP_DMA")).name == "size-128(DMA)"
    with pytest.raises(AllocationError, match="KMALLOC_MAX_SIZE"):
        slab.kmalloc((4 << 20) + 1)
    slab.kfree(ptr)
    machine.check_invariants()


def test_modern_presets_keep_the_modern_slab():
    machine = Machine.preset("linux-6.18-tiny", slab_allocator="slab")
    assert machine.slab.era == "modern" and machine.slab.kmalloc_max_cache_size == 8192
