"""One composed dashboard per chapter: views and controls, wired to public model methods."""

from .buddy_lab import BuddyLab
from .rtos_lab import RtosLab
from .slab_lab import SlabLab

__all__ = ["BuddyLab", "SlabLab", "RtosLab"]
