"""/proc/slabinfo byte for byte (mm/slab_common.c cache_show(), version 2.1) and parsed back."""

import pytest

from kernelmem_widgets.model import InvalidArgument, Machine, procfs
from kernelmem_widgets.model.slab.slabinfo import SLABINFO_HEADER, compare_slub_geometry, format_slabinfo_line

# Lines from /proc/slabinfo of a 2-CPU x86-64 Linux 6.18 machine (the one these tests were written on)
REAL = """slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
btrfs_ordered_extent      0      0    416   19    2 : tunables    0    0    0 : slabdata      0      0      0
bio-312               12     12    320   12    1 : tunables    0    0    0 : slabdata      1      1      0
kmalloc-cg-1k         86    112   1024   16    4 : tunables    0    0    0 : slabdata      7      7      0
kmalloc-8k            28     28   8192    4    8 : tunables    0    0    0 : slabdata      7      7      0
kmalloc-512         1651   3248    512   16    2 : tunables    0    0    0 : slabdata    203    203      0
kmalloc-96          3276   3276     96   42    1 : tunables    0    0    0 : slabdata     78     78      0
kmem_cache_node      256    256    128   32    1 : tunables    0    0    0 : slabdata      8      8      0
"""


def test_header_is_the_kernels():
    assert SLABINFO_HEADER == REAL.split("\n", 2)[0] + "\n" + REAL.split("\n", 2)[1] + "\n"


def test_line_format_matches_the_kernel_byte_for_byte():
    parsed = procfs.parse_slabinfo(REAL, tunables=True)
    for line in REAL.splitlines()[2:]:
        name = line.split()[0]
        assert format_slabinfo_line(name, parsed[name]) == line + "\n"


def test_parse_real_text():
    parsed = procfs.parse_slabinfo(REAL)
    assert parsed["kmalloc-512"] == {"active_objs": 1651, "num_objs": 3248, "objsize": 512, "objperslab": 16,
                                     "pagesperslab": 2, "active_slabs": 203, "num_slabs": 203}
    assert parsed["btrfs_ordered_extent"]["objsize"] == 416              # a name longer than the 17-column field
    assert set(procfs.parse_slabinfo(REAL, tunables=True)["bio-312"]) >= {"limit", "batchcount", "sharedfactor",
                                                                          "sharedavail"}


def test_model_kmalloc_lines_equal_the_real_machines():
    """An idle model with 2 CPUs prints the same geometry columns as the real 2-CPU 6.18 machine."""
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=2)
    model = procfs.parse_slabinfo(procfs.render_slabinfo(machine))
    real = procfs.parse_slabinfo(REAL)
    for name in ("kmalloc-cg-1k", "kmalloc-8k", "kmalloc-512", "kmalloc-96"):
        assert [model[name][k] for k in ("objsize", "objperslab", "pagesperslab")] == \
            [real[name][k] for k in ("objsize", "objperslab", "pagesperslab")]


def test_round_trip_on_a_busy_machine():
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=4)
    slab = machine.slab
    cache = slab.kmem_cache_create("a_rather_long_cache_name", 333, hwcache_align=True)
    ptrs = [slab.kmalloc(size) for size in range(1, 3000, 7)] + [slab.kmem_cache_alloc(cache) for _ in range(50)]
    for ptr in ptrs[::3]:
        slab.kfree(ptr)
    text = procfs.render_slabinfo(machine)
    assert text.startswith(SLABINFO_HEADER)
    rows = slab.slabinfo_rows()
    assert list(procfs.parse_slabinfo(text)) == [name for name, _ in rows]
    assert rows[0][0] == "a_rather_long_cache_name"                      # newest first, as list_add() builds it
    assert procfs.parse_slabinfo(text, tunables=True) == dict(rows)
    line = next(l for l in text.splitlines() if l.startswith("a_rather_long"))
    live = sum(1 for entry in slab._live.values() if entry[0] is cache)
    # 333 bytes, cache-line aligned: 384-byte slots, order 1 (min_objects 16 * 384 > 4096), 21 per slab
    assert line.split()[2:6] == ["63", "384", "21", "2"] and int(line.split()[1]) >= live
    assert text.count("\n") == len(rows) + 2


def test_slab_prints_its_tunables():
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=2, slab_allocator="slab")
    machine.slab.kmalloc(20)
    line = next(l for l in procfs.render_slabinfo(machine).splitlines() if l.startswith("kmalloc-32 "))
    # the first refill of an untouched array takes BATCHREFILL_LIMIT (16) objects: they count as active
    assert line == ("kmalloc-32            16    124     32  124    1 : tunables  120   60    8 : "
                    "slabdata      1      1      0")


@pytest.mark.parametrize("text, message", [
    ("", "first line must be 'slabinfo - version: 2.1'"),
    ("slabinfo - version: 2.0\n", "version 2.0 is not supported"),
    (SLABINFO_HEADER + "kmalloc-8 1 2 3\n", "line 3 of slabinfo is not"),
    (SLABINFO_HEADER + "kmalloc-8 1 2 8 512 1 : tunables 0 0 0 : slabdata 1 1\n", "line 3"),
    (b"slabinfo", "wants the text"),
])
def test_parse_errors(text, message):
    with pytest.raises(InvalidArgument, match=message):
        procfs.parse_slabinfo(text)


def test_compare_geometry_rows():
    rows = compare_slub_geometry({"kmalloc-1k": {"slab_size": 1024, "order": 2, "objs_per_slab": 16},
                                  "odd": {"slab_size": 1024, "order": 3, "objs_per_slab": 32}}, nr_cpus=2)
    assert [(r["name"], r["model_order"], r["model_objs"], r["match"]) for r in rows] == \
        [("kmalloc-1k", 2, 16, True), ("odd", 2, 16, False)]


def test_unreadable_sources_give_a_reason(tmp_path):
    from kernelmem_widgets.model.slab.slabinfo import present_cpus, read_proc_slabinfo, read_sys_kernel_slab

    assert read_sys_kernel_slab(str(tmp_path / "missing")) == (None, f"{tmp_path / 'missing'} does not exist "
                                                               "(not Linux, no sysfs, or a kernel without SLUB)")
    (tmp_path / "empty").mkdir()
    assert read_sys_kernel_slab(str(tmp_path / "empty"))[1].startswith("no readable cache directories")
    cache = tmp_path / "slab" / "kmalloc-64"
    cache.mkdir(parents=True)
    for name, value in {"slab_size": 64, "order": 0, "objs_per_slab": 64}.items():
        (cache / name).write_text(f"{value}\n")
    (tmp_path / "slab" / "alias").symlink_to(cache)
    assert read_sys_kernel_slab(str(tmp_path / "slab")) == ({"kmalloc-64": {"slab_size": 64, "order": 0,
                                                                            "objs_per_slab": 64}}, "")
    assert read_proc_slabinfo(str(tmp_path / "nope"))[0] is None
    (tmp_path / "present").write_text("0-3,8,10-11\n")
    assert present_cpus(str(tmp_path / "present")) == 7
