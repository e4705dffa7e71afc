"""One composed dashboard per chapter: views and controls, wired to public model methods."""

from .boot_lab import BootLab
from .buddy_lab import BuddyLab
from .contiguity_lab import ContiguityLab
from .dma_lab import DmaLab
from .highmem_lab import HighmemLab
from .rtos_lab import RtosLab
from .side_by_side import SideBySide
from .slab_lab import SlabLab

__all__ = ["BuddyLab", "SlabLab", "BootLab", "ContiguityLab", "RtosLab", "DmaLab", "HighmemLab", "SideBySide"]
