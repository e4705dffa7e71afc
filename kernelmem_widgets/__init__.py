"""kernelmem-widgets: a Jupyter teaching kit for memory management in the Linux kernel.

``from kernelmem_widgets import Machine, BuddyLab`` is all a chapter needs.  The model
(``kernelmem_widgets.model``) imports no Jupyter module; labs and views load ipywidgets and
bqplot only when first used, so ``import kernelmem_widgets`` stays fast.
"""

from __future__ import annotations

from .model import (AllocationError, BadPageState, InvalidArgument, KernelMemError, Machine, Zone,
                    format_size, memparse)

__version__ = "0.1.0"

_LAZY = {name: "kernelmem_widgets.labs" for name in ("BuddyLab", "SlabLab", "BootLab", "ContiguityLab", "RtosLab",
                                                      "DmaLab", "HighmemLab", "SideBySide")}

__all__ = ["Machine", "Zone", "BuddyLab", "SlabLab", "BootLab", "ContiguityLab", "RtosLab", "DmaLab", "HighmemLab",
           "SideBySide", "memparse", "format_size",
           "KernelMemError", "InvalidArgument",
           "AllocationError", "BadPageState", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kernelmem_widgets' has no attribute {name!r}")
