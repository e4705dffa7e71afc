"""The model against the running kernel: for every cache in /sys/kernel/slab, SLUB's order and objects
per slab predicted from its slab_size and this machine's present CPU count must be the kernel's.

Skips, with the reason, where /sys/kernel/slab is missing or unreadable (its files are mode 0400 on
current kernels: root only), or the running kernel is not one whose rules the model follows.
"""

import os
import platform

import pytest

from kernelmem_widgets.model import Machine, procfs
from kernelmem_widgets.model.slab.slabinfo import compare_slub_geometry, present_cpus, read_proc_slabinfo, read_sys_kernel_slab


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        numbers = platform.release().split("-")[0].split(".")
        return (int(numbers[0]), int(numbers[1])) >= (major, minor)
    except (ValueError, IndexError):
        return False


@pytest.fixture(scope="module")
def live_caches():
    if platform.system() != "Linux":
        pytest.skip(f"not Linux ({platform.system()}): there is no /sys/kernel/slab")
    caches, reason = read_sys_kernel_slab()
    if caches is None:
        pytest.skip(f"cannot read /sys/kernel/slab: {reason}")
    if not _kernel_at_least(6, 7):
        pytest.skip(f"kernel {platform.release()} predates the 6.7 calculate_order() the model follows")
    return caches


def test_every_cache_matches_calculate_order(live_caches):
    cpus = present_cpus()
    if cpus is None:
        pytest.skip("cannot read /sys/devices/system/cpu/present")
    rows = compare_slub_geometry(live_caches, cpus)
    assert len(rows) > 20
    wrong = [(r["name"], r["slab_size"], (r["order"], r["objs_per_slab"]), (r["model_order"], r["model_objs"]))
             for r in rows if not r["match"]]
    assert not wrong, f"{len(wrong)} of {len(rows)} caches differ (name, slab_size, kernel, model): {wrong[:10]}"


def test_kmalloc_caches_match_the_model_machine(live_caches):
    cpus = present_cpus()
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=cpus)
    checked = 0
    for cache in machine.slab.caches:
        live = live_caches.get(cache.name)
        if live is None:
            continue            # merged into another cache, or this config lacks the type
        checked += 1
        model = cache.sysfs()
        for key in ("object_size", "slab_size", "align", "order", "objs_per_slab", "min_partial", "cpu_partial"):
            if key in live:
                assert model[key] == live[key], (cache.name, key, model[key], live[key])
    assert checked >= 13


def test_proc_slabinfo_parses_and_agrees():
    if not os.path.exists("/proc/slabinfo"):
        pytest.skip("no /proc/slabinfo here")
    parsed, reason = read_proc_slabinfo()
    if parsed is None:
        pytest.skip(reason)
    cpus = present_cpus()
    machine = Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=cpus)
    model = procfs.parse_slabinfo(procfs.render_slabinfo(machine))
    for name in ("kmalloc-8", "kmalloc-96", "kmalloc-192", "kmalloc-1k", "kmalloc-8k"):
        if name in parsed and _kernel_at_least(6, 7):
            for key in ("objsize", "objperslab", "pagesperslab"):
                assert model[name][key] == parsed[name][key], (name, key)
    assert all(entry["num_objs"] >= entry["active_objs"] for entry in parsed.values())
