"""Booting from the firmware's memory map: e820, the command line, memblock, /proc/iomem, ioremap.

Kernel files followed (each module names its version):

* ``e820``: arch/x86/kernel/e820.c (6.12 copy; 2.6.32.69 copy for the 2.6 print formats);
* ``cmdline``: lib/cmdline.c ``memparse()``/``next_arg()``, kernel/dma/contiguous.c ``cma=``,
  kernel/crash_reserve.c ``crashkernel=``;
* ``early``: ``parse_memopt()``, ``parse_memmap_one()``, ``e820__finish_early_params()``;
* ``memblock``: mm/memblock.c (6.x), and 2.6.35's ``alloc_bootmem()``;
* ``setup`` and ``bootlog``: arch/x86/kernel/setup.c ``setup_arch()``, mm/mm_init.c
  ``free_area_init()``/``mem_init_print_info()`` (2.6.3x mm/page_alloc.c);
* ``firmware``: QEMU pc/q35 with SeaBIOS, as real guests' boot logs show them;
* ``iomem``: kernel/resource.c ``r_show()``, ``e820__reserve_resources()``;
* ``ioremap``: arch/x86/mm/ioremap.c ``__ioremap_caller()``, kernel/iomem.c ``memremap()``;
* ``zones``: the machine's zones from the boot.

It sits above the vmalloc layer (ioremap takes vmalloc address space) and below the machine.
"""

from . import bootlog, cmdline, e820, early, firmware, iomem, ioremap, live_memmap, memblock, setup, zones
from .cmdline import CmdlineParam, InvalidBootParameter, memparse, parse_cmdline, simple_strtoull
from .e820 import (E820_STYLES, E820_TYPE_ACPI, E820_TYPE_NVS, E820_TYPE_PMEM, E820_TYPE_PRAM, E820_TYPE_RAM,
                   E820_TYPE_RESERVED, E820_TYPE_SOFT_RESERVED, E820_TYPE_UNUSABLE, E820Entry, E820Table,
                   InvalidFirmwareMap)
from .early import BOOT_RULES, BootRules, EarlyResult, apply_cmdline
from .firmware import FIRMWARE, firmware_map, qemu_i440fx, qemu_q35
from .iomem import IomemLine, Resource, build_iomem, parse_iomem, render_iomem
from .ioremap import (CACHE_MODES, MEMREMAP_WB, MEMREMAP_WC, MEMREMAP_WT, InvalidIoremapRange, IoMapping,
                      IoremapRefused, IoremapSpace, access_cost)
from .memblock import Memblock
from .setup import KERNEL_BUILDS, BootResult, KernelBuild, boot_memory

__all__ = ["E820Table", "E820Entry", "InvalidFirmwareMap", "E820_STYLES", "E820_TYPE_RAM", "E820_TYPE_RESERVED",
           "E820_TYPE_ACPI", "E820_TYPE_NVS", "E820_TYPE_UNUSABLE", "E820_TYPE_PMEM", "E820_TYPE_PRAM",
           "E820_TYPE_SOFT_RESERVED", "memparse", "simple_strtoull", "parse_cmdline", "CmdlineParam",
           "InvalidBootParameter", "apply_cmdline", "BootRules", "BOOT_RULES", "EarlyResult", "Memblock",
           "boot_memory", "BootResult", "KernelBuild", "KERNEL_BUILDS", "FIRMWARE", "firmware_map", "qemu_i440fx",
           "qemu_q35", "Resource", "IomemLine", "build_iomem", "render_iomem", "parse_iomem", "IoremapSpace",
           "IoMapping", "IoremapRefused", "InvalidIoremapRange", "access_cost", "CACHE_MODES", "MEMREMAP_WB",
           "MEMREMAP_WT", "MEMREMAP_WC"]
