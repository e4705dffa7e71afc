"""vmalloc and module loading: virtually contiguous memory from scattered pages.

* ``vmalloc``: mm/vmalloc.c of Linux 6.18 (``__vmalloc_node_range``, the vmap areas, lazy purge,
  ``kvmalloc``);
* ``module``: kernel/module.c of 2.6.35 and kernel/module/ of 6.18 (``load_module`` and the
  limits on a module's size).

It sits on the page allocator (its pages) and the slab layer (the page array, size checks).
"""

from . import module, vmalloc
from .module import *  # noqa: F401,F403
from .vmalloc import *  # noqa: F401,F403

__all__ = list(dict.fromkeys(name for mod in (module, vmalloc) for name in mod.__all__))
