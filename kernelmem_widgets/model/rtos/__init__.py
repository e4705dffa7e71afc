"""uC/OS-III memory partitions, and the heaps an RTOS developer compares them with (chapter 7).

Independent of the Linux model: it imports only the base modules (errors, events).  Modules:

* ``os_mem``: ``OSMemCreate``/``OSMemGet``/``OSMemPut`` of Source/os_mem.c, uC/OS-III V3.08.02
  (weston-embedded/uC-OS3 @ 2fa9aeb), error codes from Source/os.h (``os_err``), 16-bit
  ``OS_MEM_QTY``/``OS_MEM_SIZE`` from Source/os_type.h;
* ``part_malloc``: a malloc wrapper over several partitions, a header word naming the partition;
* ``nano_malloc``: newlib-nano's first-fit heap, newlib/libc/stdlib/nano-mallocr.c;
* ``tlsf``: TLSF (Masmano et al., ECRTS 2004) as mattconte/tlsf tlsf.c @ deff9ab implements it;
* ``ram``: the byte array they all live in; ``allocator``: their common interface;
* ``traces``, ``metrics``, ``tuner``: request traces of 4-800 bytes, the figures, the partition tuner.
"""

from . import allocator, metrics, nano_malloc, os_err, os_mem, part_malloc, ram, tlsf, traces, tuner
from .allocator import REGION_KINDS, Allocator, Region
from .metrics import TraceRun, TraceStepper, run_trace
from .nano_malloc import NanoMalloc, nano_alloc_size
from .os_err import OS_ERR, AllocFailed, HardFault, HeapCorrupted, InvalidFree, RtosArgumentError, RtosError
from .os_mem import OS_MEM_QTY_MAX, OS_MEM_SIZE_MAX, MemPartition, os_mem_sizeof
from .part_malloc import PartitionMalloc, parse_classes
from .ram import SRAM_BASE, Ram
from .tlsf import Tlsf, tlsf_constants
from .traces import TRACE_KINDS, RequestTrace, bimodal_trace, parse_trace, protocol_stack_trace, uniform_trace
from .tuner import TuneResult, single_class, tune_partitions

#: The allocators a lab can switch between, by name.
ALLOCATORS = {"partitions": PartitionMalloc, "newlib-nano": NanoMalloc, "TLSF": Tlsf}

__all__ = [
    "Ram", "SRAM_BASE", "MemPartition", "OS_MEM_QTY_MAX", "OS_MEM_SIZE_MAX", "os_mem_sizeof", "OS_ERR", "RtosError",
    "RtosArgumentError", "HardFault", "AllocFailed", "HeapCorrupted", "InvalidFree", "Allocator", "Region",
    "REGION_KINDS", "PartitionMalloc", "parse_classes", "NanoMalloc", "nano_alloc_size", "Tlsf", "tlsf_constants",
    "RequestTrace", "parse_trace", "uniform_trace", "bimodal_trace", "protocol_stack_trace", "TRACE_KINDS",
    "TraceRun", "TraceStepper", "run_trace", "TuneResult", "tune_partitions", "single_class", "ALLOCATORS",
]
