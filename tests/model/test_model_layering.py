"""The model's packages import each other in one direction only, as the kernel is layered.

Read from the source (every ``import`` and ``from ... import`` statement, at any depth, lazy
imports inside functions included), not from what happens to be loaded: a back-edge that only
runs in a rarely used function still counts.

    top (machine, presets, procfs, live, workload)
      -> highmem, mmu, dma (peers: none imports another) -> boot -> vmalloc -> slab -> page_alloc
      -> base (errors, events, units)

Independent packages (rtos: uC/OS-III partitions) sit beside the Linux layers: they import the
base only, and no Linux layer imports them.
"""

import ast
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parents[2] / "kernelmem_widgets" / "model"
PACKAGE = "kernelmem_widgets.model"

#: Rank of each layer: a module may import from layers of lower rank, from its own package, and
#: (for the shared modules at the top and at the base) from its neighbours of the same rank.
BASE = {"errors", "events", "units", "validate"}
#: The kernel subsystems bottom up, one tier a row; subsystems of one tier import none of each other.
TIERS = [["page_alloc"], ["slab"], ["vmalloc"], ["boot"], ["highmem", "mmu", "dma"]]
SUBSYSTEMS = [name for tier in TIERS for name in tier]
TOP = {"machine", "presets", "procfs", "live", "workload", "meminfo"}
INDEPENDENT = {"rtos"}
JUPYTER = ("ipywidgets", "bqplot", "IPython", "ipykernel", "traitlets", "comm", "jupyter")


def layer_of(part: str) -> int:
    if part in BASE:
        return 0
    for rank, tier in enumerate(TIERS, 1):
        if part in tier:
            return rank
    if part in INDEPENDENT:
        return 1
    if part in TOP or part == "__init__":
        return 1 + len(TIERS)
    raise AssertionError(f"model/{part} belongs to no layer: add it to BASE, TIERS or TOP here")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(MODEL).with_suffix("").parts)
    return ".".join([PACKAGE, *parts])


def imported_modules(path: Path):
    """Absolute names of every module the file imports, with the line of the statement."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if node.level and not node.module:  # from . import a, b: each name is a module
                for alias in node.names:
                    yield f"{target}.{alias.name}", node.lineno
            else:
                yield target, node.lineno


def model_files():
    return sorted(MODEL.rglob("*.py"))


def layer_key(module: str) -> str:
    """The layer a dotted module name under the model belongs to ('__init__' for the model itself)."""
    rest = module[len(PACKAGE) + 1:].split(".") if module != PACKAGE else ["__init__"]
    return rest[0]


@pytest.mark.parametrize("path", model_files(), ids=lambda p: str(p.relative_to(MODEL)))
def test_imports_point_down_only(path):
    source_key = layer_key(module_name(path)) if path.parent != MODEL or path.name != "__init__.py" else "__init__"
    source_rank = layer_of(source_key)
    for target, line in imported_modules(path):
        assert not target.split(".")[0].startswith(JUPYTER), f"{path.name}:{line} imports {target}"
        if not (target == PACKAGE or target.startswith(PACKAGE + ".")):
            continue
        target_key = layer_key(target)
        if target_key != source_key and INDEPENDENT & {source_key, target_key}:
            assert target_key in BASE, (f"model/{path.relative_to(MODEL)}:{line} imports {target}: "
                                        f"{source_key!r} and {target_key!r} must stay independent (base only)")
            continue
        if target_key == source_key or (target_key not in SUBSYSTEMS and layer_of(target_key) == source_rank):
            continue  # inside one package, or among the shared modules of one level (machine uses presets)
        assert layer_of(target_key) < source_rank, (
            f"model/{path.relative_to(MODEL)}:{line} imports {target}: "
            f"layer {target_key!r} is not below {source_key!r}")


def test_every_subsystem_is_a_package_that_names_its_kernel_files():
    for name in SUBSYSTEMS:
        init = MODEL / name / "__init__.py"
        assert init.exists(), f"model/{name}/ is not a package"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and ("mm/" in doc or "kernel/" in doc), f"model/{name}/__init__.py names no kernel file"


def test_the_layer_table_covers_every_model_module():
    keys = {layer_key(module_name(p)) for p in model_files() if p != MODEL / "__init__.py"}
    for key in keys:
        layer_of(key)  # raises for a module nobody placed


@pytest.mark.parametrize("where, source, target", [
    ("page_alloc", "def f():\n    from ..slab import kmalloc\n", "slab"),
    ("slab", "from ..vmalloc.vmalloc import VmallocSpace\n", "vmalloc"),
    ("vmalloc", "import kernelmem_widgets.model.machine\n", "machine"),
    ("page_alloc", "from .. import presets\n", "presets"),
])
def test_a_back_edge_is_caught(monkeypatch, where, source, target):
    """The checker itself: a lazy or absolute import of a higher layer must fail."""
    fake = MODEL / where / "_probe_back_edge.py"
    real_read_text = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else real_read_text(self, *a, **k))
    with pytest.raises(AssertionError, match=f"layer '{target}' is not below '{where}'"):
        test_imports_point_down_only(fake)


@pytest.mark.parametrize("where, source", [
    ("rtos", "from ..slab import kmalloc\n"),
    ("slab", "from ..rtos import MemPartition\n"),
])
def test_an_independent_package_stays_independent(monkeypatch, where, source):
    fake = MODEL / where / "_probe_independent.py"
    real_read_text = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else real_read_text(self, *a, **k))
    with pytest.raises(AssertionError, match="must stay independent"):
        test_imports_point_down_only(fake)


def test_public_import_paths():
    from kernelmem_widgets import BuddyLab, Machine, SlabLab  # noqa: F401
    from kernelmem_widgets.model import Machine as M, Zone, procfs  # noqa: F401
    from kernelmem_widgets.model.page_alloc import Zone as Z
    from kernelmem_widgets.model.slab import KmemCache, calculate_order, kmalloc_cache_name, order_objects
    from kernelmem_widgets.model.vmalloc import ModuleLoader, VmallocSpace  # noqa: F401

    assert Z is Zone and M is Machine
    assert kmalloc_cache_name(100) == "kmalloc-128"
    assert callable(calculate_order) and callable(order_objects) and KmemCache.__module__.endswith("slab.slub")
