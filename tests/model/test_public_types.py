"""Every public entry point of the model, thrown wrong types and ranges (issue 9).

The entry points are found, not listed: every public method of the objects a student holds
(``Machine``, ``Zone``, ``SlabAllocator``, ``VmallocSpace``, ``ModuleLoader``, ``Workload``,
``EventBus``, ``Trace``) and every public function of the modules that parse or mutate
(procfs, units, gfp, mmzone, live, workload, presets, slabinfo, vmalloc, module, compaction).
and the pure calculators (slab.kmalloc, slub_sizes, slab_legacy, slob, vmstat, preview, snapshot,
watermarks, show_mem, owner, invariants, events).  For each one a
hypothesis property draws, per parameter, either a value that works or a wrong one (``None``,
a bool, a float, text, a negative or huge number, a list, a numpy float, NaN, 5,000 digits)
and calls it.  The call must either succeed or raise a :class:`KernelMemError` subclass, and
after a refusal the whole model must be as before (``contract_helpers.fingerprint``).
"""

from __future__ import annotations

import inspect
import math
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from contract_helpers import SCALE, fingerprint
from kernelmem_widgets.model import KernelMemError, Machine, live, presets, procfs, units, workload
from kernelmem_widgets.model import events
from kernelmem_widgets.model.events import Event
from kernelmem_widgets.model.page_alloc import (compaction, gfp, invariants, mmzone, owner, preview, show_mem, snapshot,
                                                vmstat, watermarks)
from kernelmem_widgets.model.slab import kmalloc, slab_legacy, slabinfo, slob, slub_sizes
from kernelmem_widgets.model.vmalloc import module, vmalloc
from kernelmem_widgets.model.vmalloc.module import ModuleLoader
from kernelmem_widgets.model.workload import Workload

WRONG = [None, True, False, 1.5, "x", "", -1, -(2 ** 70), 2 ** 70, [], [1, 2], {}, object(), np.float64(2.0),
         math.nan, math.inf, "9" * 5000, b"GFP_KERNEL", (1,), "GFP_KERNEL|", "\u0663"]

#: Entry points that read the reader's own machine or files: their argument is a path
SKIP = {"read_proc", "read_buddyinfo", "read_pagetypeinfo", "read_zoneinfo_watermarks", "read_proc_slabinfo",
        "read_sys_kernel_slab", "present_cpus", "close", "subscribe", "set_recorder", "add_holder",
        "remove_holder", "batch"}


def _hung(_signum, _frame):
    raise AssertionError("the call ran past 20 s: unbounded work")


def build():
    machine = Machine.preset("linux-6.18-tiny", ram="16M")
    machine.slab, machine.vmalloc
    loader = ModuleLoader(machine)
    aging = Workload(machine, seed=1)
    aging.age(50)
    ptr = machine.slab.kmalloc(64)
    area = machine.vmalloc.vmalloc(5000)
    pfn = machine.alloc_pages("GFP_KERNEL", 1)
    loader.load_module(8192, name="demo")
    valid = {"order": 1, "pfn": pfn, "gfp": "GFP_KERNEL", "size": 64, "ptr": ptr, "addr": area, "zone": "Normal",
             "migratetype": "Movable", "cache": "kmalloc-64", "name": "demo", "text": procfs.render_buddyinfo(machine),
             "steps": 10, "image_size": 8192, "nbytes": 4096, "value": "GFP_KERNEL", "nr_cpus": 2, "cpu": 0,
             "object_size": 32, "allocator": "slub", "owner": "alloc_pages", "source": machine, "counts": [1, 2, 3],
             "ram_bytes": 1 << 30, "page_size": 4096, "fill": 0.5, "seed": 1, "ops": ["alloc 0"], "last": 3,
             "chunk": 100, "mix": workload.UPTIME_MIX, "sections": None, "rules": "linux-6.18-x86_64",
             "machine": machine, "gfp_flags": "GFP_KERNEL", "kind": "mm_page_alloc", "count": 1, "nr_pages": 1,
             # the pure calculators
             "shift_low": 3, "zone_dma": True, "what": "kmalloc", "max_page_order": 10, "cache_line_size": 64,
             "x": 64, "min_order": 0, "max_order": 3, "fract_leftover": 16, "nr_cpu_ids": 4, "min_objects": 0,
             "align": 8, "hwcache_align": False, "arch_slab_minalign": 8, "arch_kmalloc_minalign": 8, "ctor": False,
             "rcu": False, "freeptr_offset": None, "cpu_partial": 30, "objects_per_slab": 32, "management": "on-slab",
             "slab_max_order": 1, "reclaim_account": False, "freelist_cache": None, "word": 4, "slab_break_order": 1,
             "off_slab": None, "nr_free": [4, 3, 2, 1], "suitable_order": 1, "index": 500, "width": 0,
             "event": Event("mm_page_alloc", {"pfn": 1, "order": 0, "migratetype": 0, "gfp": "GFP_KERNEL"}),
             "layout": None, "seq": 1, "comm": "kernelmem", "pid": 1000,
             "data": {"order": 1, "gfp": "GFP_KERNEL", "mask": 0xCC0}, "zones": machine.zones, "highest": None,
             "zone_names": None, "nr_bins": 64, "lowmem_kbytes": 1 << 20, "min_free_kbytes": 1024,
             "watermark_scale_factor": 10, "mark": 10, "highest_zoneidx": 0, "alloc_flags": 0, "free_pages": None,
             "numer": 1, "denom": 2, "code": 0}
    return machine, loader, aging, valid


#: Per entry point, good values that differ from the shared table (a parameter name meaning another thing)
VALID_FOR = {
    "slub_sizes.align_up": {"value": 100},
    "watermarks.setup_per_zone_lowmem_reserve": {"ratios": [256, 32, 0, 0, 0]},
}
ZONE_OBJECT = ("snapshot.", "watermarks.", "invariants.", "preview.")


def entry_points():
    """(name, owner kind, callable getter) for every public method and module function."""
    found = []
    machine, loader, aging, _valid = build()
    holders = {"machine": machine, "zone": machine.zones[0], "slab": machine.slab, "vmalloc": machine.vmalloc,
               "loader": loader, "workload": aging, "bus": machine.bus, "trace": machine.trace}
    for kind, obj in holders.items():
        for name, member in inspect.getmembers(type(obj)):
            if name.startswith("_") or name in SKIP or not callable(member) or isinstance(member, type):
                continue
            found.append((f"{kind}.{name}", kind, name))
    for mod in (procfs, units, gfp, mmzone, live, workload, presets, slabinfo, vmalloc, module, compaction,
                kmalloc, slub_sizes, slab_legacy, slob, vmstat, preview, snapshot, watermarks, show_mem, owner,
                invariants, events):
        for name in getattr(mod, "__all__", ()):
            member = getattr(mod, name)
            if inspect.isfunction(member) and name not in SKIP:
                found.append((f"{mod.__name__.rsplit('.', 1)[-1]}.{name}", "module:" + mod.__name__, name))
    return sorted(set(found))


ENTRY_POINTS = entry_points()


def resolve(kind, name, machine, loader, aging):
    if kind.startswith("module:"):
        import importlib

        return getattr(importlib.import_module(kind[7:]), name)
    holder = {"machine": machine, "zone": machine.zones[0], "slab": machine.slab, "vmalloc": machine.vmalloc,
              "loader": loader, "workload": aging, "bus": machine.bus, "trace": machine.trace}[kind]
    return getattr(holder, name)


def test_the_suite_covers_the_model():
    assert len(ENTRY_POINTS) >= 100, len(ENTRY_POINTS)


@pytest.mark.parametrize("label,kind,name", ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_wrong_arguments_are_named_errors_and_change_nothing(label, kind, name):
    machine, loader, aging, valid = build()
    valid.update(VALID_FOR.get(label, {}))
    if label.startswith(ZONE_OBJECT):
        valid["zone"] = machine.zones[0]
        valid["zones_by_index"] = [None, None, machine.zones[0], None, None]
    function = resolve(kind, name, machine, loader, aging)
    parameters = [p for p in inspect.signature(function).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]
    if not parameters:
        return

    @settings(max_examples=4 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(st.data())
    def call_with(data):
        kwargs = {}
        for parameter in parameters:
            good = valid.get(parameter.name, parameter.default)
            if good is inspect.Parameter.empty and parameter.name in ("zone",):
                good = machine.zones[0]
            choice = data.draw(st.sampled_from(["good", "wrong"]) if good is not inspect.Parameter.empty
                               else st.just("wrong"), label=parameter.name)
            if choice == "wrong":
                kwargs[parameter.name] = data.draw(st.sampled_from(WRONG), label=f"{parameter.name} (wrong)")
            elif good is not parameter.default or parameter.default is inspect.Parameter.empty:
                kwargs[parameter.name] = good
        before = fingerprint(machine)
        previous = signal.signal(signal.SIGALRM, _hung)
        signal.setitimer(signal.ITIMER_REAL, 20.0)  # generous: only a hang reaches it
        try:
            function(**kwargs)
        except KernelMemError:
            assert fingerprint(machine) == before, f"{label}({kwargs}) was refused but changed the model"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        machine.check_invariants()

    call_with()
