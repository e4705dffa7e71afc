"""The memory model: pure Python and numpy, no Jupyter import (a test checks it).

One module per kernel mechanism, named after it:

* page allocator (mm/page_alloc.c): ``buddy`` (a zone), ``freearea`` (its free lists),
  ``fallback`` (migrate-type fallbacks), ``watermarks``, ``gfp``, ``mmzone`` (constants),
  ``machine`` (zones, zonelists, the alloc_pages front end), ``presets``;
* ``compaction`` (mm/compaction.c), ``vmstat`` (fragmentation indexes of mm/vmstat.c);
* slab layer: ``slub_sizes``, ``slub``, ``kmalloc``, ``slab`` (the allocator), ``slab_free``,
  ``slab_stats``, ``slab_legacy`` (SLAB), ``slob`` (SLOB); ``vmalloc``; ``module`` (load_module);
* /proc and /sys: ``procfs``, ``slabinfo``, ``live`` (the reader's own machine);
* for views and tests: ``snapshot`` (what views draw), ``preview`` (the next allocation),
  ``invariants``, ``events`` (events and the trace), ``workload``, ``units``, ``errors``.
"""

from .buddy import Zone
from .compaction import CompactionResult, compact_zone
from .errors import (AllocationError, BadPageState, InvalidArgument, InvalidOperation, InvalidOrder,
                     InvalidSize, KernelMemError, PfnOutOfRange, UnknownGfpFlag, UnknownMigrateType,
                     UnknownPreset)
from .events import Event, EventBus, Trace, format_event
from .gfp import gfp_migratetype, gfp_name, gfp_zone, parse_gfp
from .machine import Machine
from .mmzone import MIGRATETYPE_NAMES, ZONE_NAMES, parse_migratetype
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
