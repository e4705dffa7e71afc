"""/proc/slabinfo and /sys/kernel/slab: rendered byte for byte, parsed back, read from this machine.

``render_slabinfo()`` prints what ``slab_show()`` / ``cache_show()`` of mm/slab_common.c (Linux
6.18) print: the "slabinfo - version: 2.1" header, then per cache
``"%-17s %6lu %6lu %6u %4u %4d"`` + ``" : tunables %4u %4u %4u"`` + ``" : slabdata %6lu %6lu %6lu"``,
newest cache first (``slab_caches`` is built with ``list_add()``).  SLUB's tunables are zero;
SLAB printed its limit, batchcount and shared factor.  The real file is mode 0400 (root only).

``read_sys_kernel_slab()`` reads the running kernel's /sys/kernel/slab/<cache>/ files; they are
0400 too on current kernels (``SLAB_ATTR_RO`` uses ``__ATTR_RO_MODE(_name, 0400)``), so a normal
user gets a clear reason instead of numbers.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from ..validate import as_text, parse_count
from .slub_sizes import calculate_order, order_objects

__all__ = ["SLABINFO_HEADER", "render_slabinfo", "parse_slabinfo", "format_slabinfo_line", "read_sys_kernel_slab",
           "read_proc_slabinfo", "present_cpus", "compare_slub_geometry"]

SLABINFO_HEADER = ("slabinfo - version: 2.1\n"
                   "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
                   " : tunables <limit> <batchcount> <sharedfactor>"
                   " : slabdata <active_slabs> <num_slabs> <sharedavail>\n")
_KEYS = ("active_objs", "num_objs", "objsize", "objperslab", "pagesperslab", "active_slabs", "num_slabs")
_TUNABLES = ("limit", "batchcount", "sharedfactor", "sharedavail")

def format_slabinfo_line(name: str, info: dict) -> str:
    """One ``cache_show()`` line (with its newline)."""
    if not isinstance(name, str) or not isinstance(info, dict) or not all(
            isinstance(info.get(key), int) for key in _KEYS + _TUNABLES):
        raise InvalidArgument(f"format_slabinfo_line({name!r:.40}, ...): accepted: a cache name and a dict with the "
                              f"integer fields {', '.join(_KEYS + _TUNABLES)}")
    return (f"{name:<17} {info['active_objs']:6d} {info['num_objs']:6d} {info['objsize']:6d} "
            f"{info['objperslab']:4d} {info['pagesperslab']:4d}"
            f" : tunables {info['limit']:4d} {info['batchcount']:4d} {info['sharedfactor']:4d}"
            f" : slabdata {info['active_slabs']:6d} {info['num_slabs']:6d} {info['sharedavail']:6d}\n")


def render_slabinfo(source) -> str:
    """/proc/slabinfo of a machine (or of its ``SlabAllocator``).

    >>> from kernelmem_widgets.model import Machine
    >>> text = render_slabinfo(Machine.preset("linux-6.18-tiny"))
    >>> for line in text.splitlines()[2:4]:   # CONFIG_SLAB_BUCKETS' cache is created last
    ...     print(line)
    kmalloc_buckets        0      0    112   36    1 : tunables    0    0    0 : slabdata      0      0      0
    kmalloc-cg-8k          0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0
    """
    slab = source.slab if hasattr(source, "slab") else source
    if not hasattr(slab, "slabinfo_rows"):
        raise InvalidArgument(f"render_slabinfo({source!r:.60}): accepted: a Machine or its SlabAllocator")
    return SLABINFO_HEADER + "".join(format_slabinfo_line(name, info) for name, info in slab.slabinfo_rows())


def parse_slabinfo(text: str, *, tunables: bool = False) -> dict[str, dict[str, int]]:
    """Parse /proc/slabinfo text (version 2.1): ``{name: {"active_objs": ..., ..., "num_slabs": ...}}``.

    With ``tunables=True`` each entry also has ``limit``, ``batchcount``, ``sharedfactor`` and
    ``sharedavail``.  Raises :class:`InvalidArgument` on text that is not slabinfo 2.1.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"parse_slabinfo() wants the text of /proc/slabinfo, not {type(text).__name__}")
    text = as_text(text, "/proc/slabinfo", "the text of /proc/slabinfo (str)")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("slabinfo - version:"):
        raise InvalidArgument("not /proc/slabinfo text: the first line must be 'slabinfo - version: 2.1'")
    version = lines[0].split(":", 1)[1].strip()
    if version != "2.1":
        raise InvalidArgument(f"slabinfo version {version[:20]} is not supported; this parser reads version 2.1")
    result: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip() or line.startswith("#"):
            continue
        tokens = line.split()
        if (len(tokens) != 16 or tokens[6:8] != [":", "tunables"] or tokens[11:13] != [":", "slabdata"]):
            shown = line if len(line) <= 80 else line[:80] + "..."
            raise InvalidArgument(f"line {number} of slabinfo is not 'name active num objsize objperslab "
                                  f"pagesperslab : tunables l b s : slabdata a n s': {shown!r}")
        values = [parse_count(token, f"line {number} of slabinfo") for token in tokens[1:6] + tokens[8:11] + tokens[13:]]
        entry = dict(zip(("active_objs", "num_objs", "objsize", "objperslab", "pagesperslab", "limit",
                          "batchcount", "sharedfactor", "active_slabs", "num_slabs", "sharedavail"), values))
        name = tokens[0]
        if not name.isprintable() or len(name) > 64 or name in result:
            raise InvalidArgument(f"line {number} of slabinfo: cache name {name[:64]!r} is not printable, longer "
                                  "than 64 characters, or repeated")
        if entry["active_objs"] > entry["num_objs"] or entry["active_slabs"] > entry["num_slabs"]:
            raise InvalidArgument(f"line {number} of slabinfo: {name} has more active objects or slabs than it has "
                                  "in all (active <= num)")
        result[name] = entry if tunables else {key: entry[key] for key in _KEYS}
    return result


def read_proc_slabinfo(path: str = "/proc/slabinfo") -> tuple[dict | None, str]:
    """``(parsed, "")`` from the running kernel, or ``(None, reason)`` when it cannot be read."""
    try:
        with open(path, encoding="ascii") as handle:
            return parse_slabinfo(handle.read()), ""
    except PermissionError:
        return None, f"{path} is mode 0400: only root can read it (try: sudo cat {path})"
    except FileNotFoundError:
        return None, f"{path} does not exist here (not Linux, a container without /proc, or a SLOB kernel)"
    except UnicodeDecodeError:
        return None, f"{path} is not /proc/slabinfo text: it holds bytes that are not ASCII"
    except (OSError, InvalidArgument) as error:
        return None, f"{path} could not be read: {error}"


def read_sys_kernel_slab(root: str = "/sys/kernel/slab",
                         attributes=("object_size", "slab_size", "align", "order", "objs_per_slab",
                                     "min_partial", "cpu_partial")) -> tuple[dict | None, str]:
    """``({cache: {attribute: int}}, "")`` for every real cache directory, or ``(None, reason)``.

    Aliases (symlinks to a merged cache) are skipped: they repeat the cache they point to.
    """
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return None, f"{root} does not exist (not Linux, no sysfs, or a kernel without SLUB)"
    except OSError as error:
        return None, f"{root} cannot be listed: {error}"
    caches: dict[str, dict[str, int]] = {}
    denied = 0
    for name in names:
        path = os.path.join(root, name)
        if os.path.islink(path):
            continue
        values = {}
        for attribute in attributes:
            try:
                with open(os.path.join(path, attribute), encoding="ascii") as handle:
                    values[attribute] = int(handle.read().split()[0])
            except PermissionError:
                denied += 1
                break
            except (OSError, ValueError, IndexError):
                continue
        else:
            caches[name] = values
    if not caches:
        reason = (f"the files in {root}/*/ are mode 0400 on this kernel: only root can read them"
                  if denied else f"no readable cache directories in {root}")
        return None, reason
    return caches, ""


def present_cpus(path: str = "/sys/devices/system/cpu/present") -> int | None:
    """``num_present_cpus()`` of the running machine (e.g. "0-1" -> 2), or None if unreadable."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    count = 0
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


def compare_slub_geometry(caches: dict[str, dict[str, int]], nr_cpus: int, *, page_size: int = 4096) -> list[dict]:
    """Predict each live cache's order and objects per slab from its ``slab_size`` and compare.

    Rows: ``name, slab_size, order, objs_per_slab, model_order, model_objs, match``.
    """
    if not isinstance(caches, dict) or not all(isinstance(v, dict) for v in caches.values()):
        raise InvalidArgument("caches: accepted: {cache name: {attribute: int}} as read_sys_kernel_slab() returns")
    for what, value, low in (("nr_cpus", nr_cpus, 1), ("page_size", page_size, 1024)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 1 << 16:
            raise InvalidArgument(f"{what} {value!r:.40}: accepted: an integer {low}..65536")
    rows = []
    for name, values in sorted(caches.items()):
        if "slab_size" not in values or "order" not in values or "objs_per_slab" not in values:
            continue
        size = values["slab_size"]
        order = calculate_order(size, nr_cpus=nr_cpus, page_size=page_size)
        objects = order_objects(order, size, page_size) if order >= 0 else 0
        rows.append({"name": name, "slab_size": size, "order": values["order"], "objs_per_slab": values["objs_per_slab"],
                     "model_order": order, "model_objs": objects,
                     "match": order == values["order"] and objects == values["objs_per_slab"]})
    return rows
