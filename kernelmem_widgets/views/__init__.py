"""Reusable views bound to a model: they draw, and forward clicks to public model methods.

No view holds simulation state: each subscribes to its model's event bus and redraws from the
snapshot functions of :mod:`kernelmem_widgets.model.page_alloc.snapshot`, once per user action.
"""

from . import controls, narration, palette
from .fragmentation import FragmentationPlot
from .free_lists import FreeListBars
from .memory_map import MemoryMap
from .rtos_bytes import ByteArrayView
from .rtos_plots import FreeBytesTimeline, WasteBySize
from .trace import TraceView
from .physical_map import PhysicalMap
from .ioremap_view import IoremapView

__all__ = ["palette", "controls", "narration", "MemoryMap", "FreeListBars", "FragmentationPlot", "TraceView",
           "PhysicalMap", "IoremapView", "ByteArrayView", "WasteBySize", "FreeBytesTimeline"]

from .address_space import AddressSpaceView  # noqa: E402 - chapter 4
from .pkmap_window import PkmapWindowView  # noqa: E402

__all__ += ["AddressSpaceView", "PkmapWindowView"]
