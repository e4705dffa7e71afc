"""The memory model: pure Python and numpy, no Jupyter import (a test checks it).

One package per kernel subsystem, layered as the kernel is; imports point down only (a test
parses every module's imports and checks it):

    machine, presets, procfs, live, workload       the machine and what reads or drives it
        boot/        arch/x86/kernel/e820.c, mm/memblock.c, ioremap.c  firmware map, mem=, iomem, ioremap
        vmalloc/     mm/vmalloc.c, kernel/module/  vmalloc, kvmalloc, module loading
        slab/        mm/slub.c, mm/slab_common.c   kmalloc, SLUB (and SLAB, SLOB of older kernels)
        page_alloc/  mm/page_alloc.c, compaction.c zones, free lists, fallback, watermarks, GFP
    errors, events, units                          used by every layer, import none of them

``machine`` (``Machine``) owns the zones, the slab allocator and the vmalloc space of one
simulated computer; ``presets`` holds each kernel version's rules as data; ``procfs`` renders
and parses /proc files; ``live`` reads the reader's own machine; ``workload`` ages a machine.
Each subpackage's ``__init__`` names the kernel files it follows and re-exports its public
names (``from kernelmem_widgets.model.slab import KmemCache``).
"""

from . import boot, page_alloc, slab, vmalloc
from .errors import (AllocationError, BadPageState, InvalidArgument, InvalidOperation, InvalidOrder,
                     InvalidSize, KernelMemError, PfnOutOfRange, UnknownGfpFlag, UnknownMigrateType,
                     UnknownPreset)
from .events import Event, EventBus, Trace, format_event
from .machine import Machine
from .page_alloc import (MIGRATETYPE_NAMES, ZONE_NAMES, CompactionResult, Zone, compact_zone, gfp_migratetype, gfp_name,
                         gfp_zone, parse_gfp, parse_migratetype)
from .presets import PRESETS, Preset, get_preset
from .units import format_size, memparse

__all__ = [
    "Zone", "Machine", "Preset", "PRESETS", "get_preset", "CompactionResult", "compact_zone",
    "Event", "EventBus", "Trace", "format_event", "parse_gfp", "gfp_zone", "gfp_migratetype", "gfp_name",
    "MIGRATETYPE_NAMES", "ZONE_NAMES", "parse_migratetype", "memparse", "format_size",
    "KernelMemError", "InvalidArgument", "InvalidOrder", "InvalidSize", "UnknownGfpFlag",
    "UnknownMigrateType", "PfnOutOfRange", "UnknownPreset", "InvalidOperation", "AllocationError",
    "BadPageState",
]
