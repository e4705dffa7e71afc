"""One composed dashboard per chapter: views and controls, wired to public model methods."""

from .buddy_lab import BuddyLab

__all__ = ["BuddyLab"]
from .slab_lab import SlabLab  # noqa: E402,F401  (chapter 2)
