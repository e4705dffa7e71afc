"""Loading a kernel module: what limits its size (kernel/module.c of 2.6.35, kernel/module/ of 6.18).

``init_module(image, len)`` first copies the whole ``.ko`` file into a vmalloc()ed buffer, then
lays the module out and gives each part memory of its own in the modules area, then frees the
copy; after the module's init function has run, its init sections are freed too.

* **Linux 2.6.35 (i386).**  ``load_module()`` refuses an image above 64 MiB outright, in the same
  test that vmallocs the copy: ``if (len > 64 * 1024 * 1024 || (hdr = vmalloc(len)) == NULL)
  return ERR_PTR(-ENOMEM);`` ("vmalloc barfs on "unusual" numbers.  Check here").  On i386 the
  module area *is* the vmalloc area (MODULES_VADDR = VMALLOC_START, MODULES_END = VMALLOC_END,
  ``module_alloc()`` = ``__get_vm_area(size, VM_ALLOC, MODULES_VADDR, MODULES_END)``), and with
  896 MiB or more of RAM that area is 120 MiB: 0xf7ffe000-0xff7fe000 in the "virtual kernel
  memory layout" such kernels print at boot (VMALLOC_END = PKMAP_BASE 0xff800000 - 2 pages,
  VMALLOC_START = high_memory + VMALLOC_OFFSET 8 MiB, lowmem = VMALLOC_END - PAGE_OFFSET -
  __VMALLOC_RESERVE 128 MiB).  With less RAM, lowmem is the RAM and the area starts 8 MiB after it.
* **Linux 6.18 (x86-64).**  ``copy_module_from_user()`` has no size limit: it only needs
  ``len >= sizeof(Elf64_Ehdr)`` and ``__vmalloc(len, GFP_KERNEL | __GFP_NOWARN)`` to succeed, so the
  limits are vmalloc space (32 TiB) and memory.  Each part (text, data, rodata, ro_after_init,
  init_text, init_data, init_rodata) comes from ``execmem_alloc()`` in MODULES_VADDR..MODULES_END
  (1008 MiB with CONFIG_RANDOMIZE_BASE; the random module_load_offset of KASLR is taken as 0).

Not modelled: ELF parsing, symbol resolution, the execmem ROX cache of huge pages, module
signatures.  The physical pages come from this machine's buddy allocator under both rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AllocationError, InvalidArgument, KernelMemError, ModuleLoadError
from ..slab.kmalloc import check_size
from ..slab.slub_sizes import align_up
from ..units import format_size
from .vmalloc import VmallocSpace

__all__ = ["ModuleRules", "MODULE_RULES", "ModuleLoader", "LoadedModule", "i386_vmalloc_window", "ENOMEM", "ENOEXEC",
           "EEXIST"]

ENOEXEC, ENOMEM, EEXIST = -8, -12, -17
_I386_PAGE_OFFSET = 0xC0000000
_I386_VMALLOC_END = 0xFF7FE000        # PKMAP_BASE 0xff800000 - 2 * PAGE_SIZE
_I386_VMALLOC_RESERVE = 128 << 20     # __VMALLOC_RESERVE (arch/x86/mm/pgtable_32.c)
_I386_VMALLOC_OFFSET = 8 << 20        # VMALLOC_OFFSET


def i386_vmalloc_window(ram_bytes: int, page_size: int = 4096) -> tuple[int, int]:
    """(VMALLOC_START, VMALLOC_END) of a 2.6.3x i386 kernel (3G/1G split, HIGHMEM4G) with this much RAM.

    >>> [hex(a) for a in i386_vmalloc_window(2 << 30)]
    ['0xf7ffe000', '0xff7fe000']
    """
    ram_bytes, page_size = check_size(ram_bytes, "ram_bytes"), check_size(page_size, "page_size")
    if not page_size or page_size & (page_size - 1):
        raise InvalidArgument(f"page_size {page_size}: accepted: a power of two, such as 4096")
    maxmem = _I386_VMALLOC_END - _I386_PAGE_OFFSET - _I386_VMALLOC_RESERVE
    lowmem = min(ram_bytes, maxmem) // page_size * page_size
    return _I386_PAGE_OFFSET + lowmem + _I386_VMALLOC_OFFSET, _I386_VMALLOC_END


@dataclass(frozen=True)
class ModuleRules:
    """How one kernel loads a module: the image limit, the ELF header size, where sections go."""

    name: str
    kernel_version: str
    arch: str
    max_image_size: int | None
    ehdr_size: int
    modules_in_vmalloc: bool
    sections: tuple[str, ...]
    init_sections: tuple[str, ...]
    copy_caller: str
    section_caller: str
    sources: tuple[str, ...] = field(default=())


MODULE_RULES = {
    "linux-2.6.35-i386": ModuleRules(
        name="linux-2.6.35-i386", kernel_version="2.6.35", arch="i386", max_image_size=64 << 20, ehdr_size=52,
        modules_in_vmalloc=True, sections=("core", "init"), init_sections=("init",), copy_caller="load_module",
        section_caller="module_alloc",
        sources=("kernel/module.c load_module(): len > 64 * 1024 * 1024 || vmalloc(len) fails -> -ENOMEM",
                 "arch/x86/kernel/module.c module_alloc(): PAGE_ALIGN(size) > MODULES_LEN -> NULL",
                 "boot log 'virtual kernel memory layout': vmalloc 0xf7ffe000 - 0xff7fe000 (120 MB)")),
    "linux-6.18-x86_64": ModuleRules(
        name="linux-6.18-x86_64", kernel_version="6.18", arch="x86_64", max_image_size=None, ehdr_size=64,
        modules_in_vmalloc=False,
        sections=("text", "data", "rodata", "ro_after_init", "init_text", "init_data", "init_rodata"),
        init_sections=("init_text", "init_data", "init_rodata"), copy_caller="copy_module_from_user",
        section_caller="execmem_alloc",
        sources=("kernel/module/main.c copy_module_from_user(): len < sizeof(*hdr) -> -ENOEXEC, "
                 "__vmalloc(len, GFP_KERNEL | __GFP_NOWARN) or -ENOMEM",
                 "arch/x86/include/asm/pgtable_64_types.h MODULES_VADDR, MODULES_END")),
}


@dataclass
class LoadedModule:
    """A module in memory: the address and size of each section that was allocated."""

    name: str
    image_size: int
    sections: dict[str, int]
    sizes: dict[str, int]
    state: str = "Live"

    @property
    def core_size(self) -> int:
        return sum(size for name, size in self.sizes.items() if name in self.sections and "init" not in name)


class ModuleLoader:
    """``init_module()`` / ``delete_module()`` on a machine, under one kernel's rules.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> old = ModuleLoader(Machine.preset("linux-6.18-x86_64", ram="1G"), rules="linux-2.6.35-i386")
    >>> old.load_module(65 << 20)
    Traceback (most recent call last):
    ...
    kernelmem_widgets.model.errors.ModuleLoadError: init_module(demo, 65 MiB): -ENOMEM (Cannot allocate memory): Linux 2.6.35 load_module() refuses any image larger than 64 MiB before trying vmalloc() ('if (len > 64 * 1024 * 1024 || (hdr = vmalloc(len)) == NULL) return ERR_PTR(-ENOMEM)')
    """

    def __init__(self, machine, rules: str = "linux-6.18-x86_64") -> None:
        if not isinstance(rules, str) or rules not in MODULE_RULES:
            raise InvalidArgument(f"unknown module rules {rules!r}; accepted: {', '.join(MODULE_RULES)}")
        self.machine, self.rules = machine, MODULE_RULES[rules]
        config = machine.config
        if self.rules.modules_in_vmalloc:
            start, end = i386_vmalloc_window(machine.ram_bytes, machine.page_size)
            self.vmalloc = VmallocSpace(machine, start=start, end=end, name="vmalloc (i386, 2.6.35)", numa=False)
            self.modules_area = self.vmalloc
        else:
            self.vmalloc = machine.vmalloc
            self.modules_area = VmallocSpace(machine, start=getattr(config, "modules_vaddr", 0xFFFFFFFFC0000000),
                                             end=getattr(config, "modules_end", 0xFFFFFFFFFF000000), name="modules")
        self.modules: dict[str, LoadedModule] = {}
        machine.add_holder(self)

    def owned_blocks(self):
        """Nothing directly: the pages are the vmalloc windows' (they are holders themselves)."""
        return ()

    def _machine_reset(self) -> None:
        """The machine rebooted: no module is loaded any more."""
        self.modules.clear()

    def load_module(self, image_size: int, *, name: str = "demo", core_size: int | None = None, init_size: int = 0,
                    sections: dict[str, int] | None = None, run_init: bool = True) -> LoadedModule:
        """Load a module whose ``.ko`` file is ``image_size`` bytes.

        ``sections`` gives the bytes of each section kind (default: the whole image as core text,
        plus ``init_size`` of init text).  Raises :class:`ModuleLoadError` with the kernel's errno;
        on any error the machine is unchanged.
        """
        image_size = check_size(image_size, "init_module")
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 55:
            raise InvalidArgument(f"module name {name!r:.60}: letters, digits and '_' only, at most 55 characters "
                                  "(MODULE_NAME_LEN 56 with its NUL)")
        if not isinstance(run_init, bool):
            raise InvalidArgument(f"run_init {run_init!r:.40} must be True or False")
        sizes = self._sizes(image_size, core_size, init_size, sections)
        label = f"init_module({name}, {format_size(image_size)})"
        if name in self.modules:
            raise ModuleLoadError(f"{label}: -EEXIST (File exists): module {name} is already loaded", errno=EEXIST)
        if image_size < self.rules.ehdr_size:
            raise ModuleLoadError(f"{label}: -ENOEXEC (Exec format error): {image_size} bytes cannot hold even the "
                                  f"{self.rules.ehdr_size}-byte ELF header", errno=ENOEXEC)
        limit = self.rules.max_image_size
        if limit is not None and image_size > limit:
            raise ModuleLoadError(
                f"{label}: -ENOMEM (Cannot allocate memory): Linux {self.rules.kernel_version} load_module() refuses "
                f"any image larger than {format_size(limit)} before trying vmalloc() ('if (len > 64 * 1024 * 1024 || "
                "(hdr = vmalloc(len)) == NULL) return ERR_PTR(-ENOMEM)')", errno=ENOMEM)
        done: list[tuple[VmallocSpace, int]] = []
        try:
            copy = self.vmalloc.vmalloc(image_size, "GFP_KERNEL|__GFP_NOWARN", caller=self.rules.copy_caller)
            done.append((self.vmalloc, copy))
            placed = {}
            for section, size in sizes.items():
                placed[section] = self.modules_area.vmalloc(size, "GFP_KERNEL", caller=self.rules.section_caller)
                done.append((self.modules_area, placed[section]))
        except KernelMemError as error:
            for space, addr in reversed(done):
                space.unwind(addr)
            if not isinstance(error, AllocationError):
                raise
            what = "the copy of the image" if not done else "the module's sections"
            raise ModuleLoadError(f"{label}: -ENOMEM (Cannot allocate memory): vmalloc of {what} failed: {error}",
                                  errno=ENOMEM) from None
        self.vmalloc.vfree(copy)                       # free_copy(): the temporary image goes
        module = LoadedModule(name, image_size, placed, sizes, state="Live" if run_init else "Loading")
        if run_init:
            self._free_init(module)
        self.modules[name] = module
        self.machine.bus.emit("module_load", name=name, image_size=image_size,
                              core=min(placed.values()) if placed else 0)
        return module

    def _sizes(self, image_size: int, core_size, init_size, sections) -> dict[str, int]:
        first, init_name = self.rules.sections[0], self.rules.init_sections[0]
        if core_size is not None:
            core_size = check_size(core_size, "core_size")
        init_size = check_size(init_size, "init_size")
        if sections is not None and (not isinstance(sections, dict) or not sections
                                     or not all(isinstance(key, str) for key in sections)):
            raise InvalidArgument(f"sections {sections!r:.60}: a non-empty dict {{section kind: bytes}}; Linux "
                                  f"{self.rules.kernel_version} has: {', '.join(self.rules.sections)}")
        if sections is None:
            sections = {first: image_size if core_size is None else core_size}
            if init_size:
                sections[init_name] = init_size
        unknown = [key for key in sections if key not in self.rules.sections]
        if unknown:
            raise InvalidArgument(f"unknown section kinds {unknown}; Linux {self.rules.kernel_version} has: "
                                  f"{', '.join(self.rules.sections)}")
        sizes = {key: check_size(size, f"section {key}") for key, size in sections.items()}
        if not any(sizes.values()):
            raise InvalidArgument(f"sections {sections!r:.60}: every section is empty; a module has some code")
        return {key: align_up(size, self.machine.page_size) for key, size in sizes.items() if size}

    def _free_init(self, module: LoadedModule) -> None:
        """After the init function: ``module_free(mod, mod->module_init)`` / free_mod_mem() of init parts."""
        for section in self.rules.init_sections:
            if section in module.sections:
                self.modules_area.vfree(module.sections.pop(section))

    def delete_module(self, name: str) -> None:
        """``delete_module()``: every remaining section back."""
        module = self.modules.pop(name, None) if isinstance(name, str) else None
        if module is None:
            raise InvalidArgument(f"delete_module({name!r}): -ENOENT, no such module; loaded: "
                                  f"{', '.join(self.modules) or 'none'}")
        for addr in module.sections.values():
            self.modules_area.vfree(addr)
        self.machine.bus.emit("module_free", name=name)

    def render_proc_modules(self) -> str:
        """/proc/modules (``m_show()``): name, size, refcount, dependencies, state, address."""
        width = 16 if self.rules.arch == "x86_64" else 8
        lines = []
        for module in self.modules.values():
            addr = min(module.sections.values()) if module.sections else 0
            lines.append(f"{module.name} {module.core_size} 0 - {module.state} 0x{addr:0{width}x}\n")
        return "".join(lines)

    def check_invariants(self) -> None:
        self.vmalloc.check_invariants()
        if self.modules_area is not self.vmalloc:
            self.modules_area.check_invariants()
