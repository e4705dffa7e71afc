"""Module loading limits: 2.6.35's 64 MiB image check and i386's 120 MiB vmalloc area; 6.18's none."""

import pytest

from kernelmem_widgets.model import InvalidArgument, Machine
from kernelmem_widgets.model.errors import ModuleLoadError
from kernelmem_widgets.model.vmalloc.module import ENOEXEC, ENOMEM, EEXIST, MODULE_RULES, ModuleLoader, i386_vmalloc_window

MiB = 1 << 20


@pytest.fixture
def machine():
    return Machine.preset("linux-6.18-x86_64", ram="1G", nr_cpus=2)


def state(loader):
    m = loader.machine
    slab_pages = sum(1 << s.order for s in m.slab._slab_at.values())
    free = sum(z.nr_free_pages for z in m.zones)
    return (loader.vmalloc.render_vmallocinfo(), loader.modules_area.render_vmallocinfo(), free + slab_pages,
            len(m.slab), dict(loader.modules))


def test_i386_vmalloc_window():
    assert i386_vmalloc_window(2 << 30) == (0xF7FFE000, 0xFF7FE000)          # 120 MiB, lowmem 887 MiB
    assert i386_vmalloc_window(1 << 30)[1] - i386_vmalloc_window(1 << 30)[0] == 120 * MiB
    assert i386_vmalloc_window(512 * MiB) == (0xC0000000 + 520 * MiB, 0xFF7FE000)


def test_2_6_35_refuses_images_above_64_mib(machine):
    loader = ModuleLoader(machine, "linux-2.6.35-i386")
    before = state(loader)
    with pytest.raises(ModuleLoadError, match=r"-ENOMEM .*refuses any image larger than 64 MiB") as info:
        loader.load_module(64 * MiB + 1)
    assert info.value.errno == ENOMEM == -12
    assert state(loader) == before


def test_2_6_35_a_64_mib_image_passes_the_check_but_not_the_vmalloc_area(machine):
    loader = ModuleLoader(machine, "linux-2.6.35-i386")
    assert (loader.vmalloc.start, loader.vmalloc.end) == (0xF7FFE000, 0xFF7FE000)
    before = state(loader)
    # the 64 MiB copy fits the 120 MiB area; 64 MiB more for the module's core does not
    with pytest.raises(ModuleLoadError, match=r"vmalloc of the module's sections failed.*vmap allocation for size") as info:
        loader.load_module(64 * MiB)
    assert info.value.errno == ENOMEM
    assert state(loader) == before
    loader.check_invariants()


def test_2_6_35_loads_a_module_into_the_vmalloc_area(machine):
    loader = ModuleLoader(machine, "linux-2.6.35-i386")
    module = loader.load_module(10 * MiB, name="bigdrv", init_size=100_000)
    # after the copy (10 MiB + guard) and the copy's page array (2,560 four-byte struct page pointers on i386,
    # 10 KiB: a nested vmalloc of 3 pages + guard)
    assert module.sections == {"core": 0xF7FFE000 + 10 * MiB + 4096 + 4 * 4096}
    assert "init" not in module.sections and module.sizes["init"] == 102400   # init freed after init ran
    info = loader.vmalloc.render_vmallocinfo()
    assert "unpurged vm_area" in info and "module_alloc pages=2560 vmalloc vpages" in info
    assert loader.render_proc_modules() == f"bigdrv {10 * MiB} 0 - Live 0x{module.sections['core']:08x}\n"
    loader.delete_module("bigdrv")
    assert loader.render_proc_modules() == ""
    loader.check_invariants()


def test_2_6_35_too_short_for_an_elf_header(machine):
    loader = ModuleLoader(machine, "linux-2.6.35-i386")
    with pytest.raises(ModuleLoadError, match="-ENOEXEC .*52-byte ELF header") as info:
        loader.load_module(51)
    assert info.value.errno == ENOEXEC


def test_6_18_has_no_image_limit(machine):
    loader = ModuleLoader(machine)
    module = loader.load_module(100 * MiB, name="huge")
    assert module.sections == {"text": 0xFFFFFFFFC0000000}                    # MODULES_VADDR
    assert loader.render_proc_modules() == f"huge {100 * MiB} 0 - Live 0xffffffffc0000000\n"
    assert loader.modules_area.end - loader.modules_area.start == 1008 * MiB
    loader.check_invariants()


def test_6_18_fails_only_when_memory_runs_out():
    machine = Machine.preset("linux-6.18-tiny")                              # 16 MiB of RAM
    loader = ModuleLoader(machine)
    before = state(loader)
    with pytest.raises(ModuleLoadError, match=r"-ENOMEM .*vmalloc of the copy of the image failed.*exceeds total pages"):
        loader.load_module(32 * MiB)
    assert state(loader) == before
    with pytest.raises(ModuleLoadError, match=r"module's sections failed.*failed to allocate pages"):
        loader.load_module(8 * MiB)                                          # the copy fits, copy + text does not
    assert state(loader)[0:2] == before[0:2]


def test_sections_init_and_errors(machine):
    loader = ModuleLoader(machine)
    module = loader.load_module(300_000, name="drv", sections={"text": 120_000, "data": 8000, "rodata": 30_000,
                                                                "init_text": 5000, "init_data": 1000})
    assert set(module.sections) == {"text", "data", "rodata"}
    assert module.sizes == {"text": 122880, "data": 8192, "rodata": 32768, "init_text": 8192, "init_data": 4096}
    assert module.core_size == 122880 + 8192 + 32768
    with pytest.raises(ModuleLoadError, match="-EEXIST") as info:
        loader.load_module(4096, name="drv")
    assert info.value.errno == EEXIST
    with pytest.raises(InvalidArgument, match="unknown section kinds \\['core'\\]"):
        loader.load_module(4096, name="x", sections={"core": 10})
    with pytest.raises(InvalidArgument, match="unknown module rules"):
        ModuleLoader(machine, "linux-2.4-i386")
    with pytest.raises(InvalidArgument, match="-ENOENT"):
        loader.delete_module("nope")
    assert set(MODULE_RULES) == {"linux-2.6.35-i386", "linux-6.18-x86_64"}
