"""The reader's own machine: /sys/firmware/memmap, /proc/iomem and /proc/cmdline, degrading to a reason.

``/sys/firmware/memmap/N/{start,end,type}`` is the firmware's e820 map as the kernel received it
(drivers/firmware/memmap.c: ``end`` inclusive, ``type`` as ``e820_type_to_string()`` names it),
readable by everyone on x86; ``/proc/iomem`` shows addresses only to CAP_SYS_ADMIN (others read
zeros, kernel/resource.c ``r_show()``); ``/proc/cmdline`` is the command line.
"""

from __future__ import annotations

from pathlib import Path

from .e820 import E820Table
from .iomem import IomemLine, parse_iomem

__all__ = ["read_firmware_memmap", "read_proc_iomem", "read_proc_cmdline", "memory_params"]

_TYPES = {"System RAM": 1, "Reserved": 2, "reserved": 2, "ACPI Tables": 3, "ACPI Non-volatile Storage": 4,
          "Unusable memory": 5, "Persistent Memory": 7, "Persistent Memory (legacy)": 12, "Soft Reserved": 0xEFFFFFFF}


def read_firmware_memmap(root: str | Path = "/sys/firmware/memmap") -> tuple[E820Table | None, str]:
    """The firmware map of this machine, or (None, why not)."""
    root = Path(root)
    if not root.is_dir():
        return None, f"{root} does not exist (not x86 Linux, or CONFIG_FIRMWARE_MEMMAP is off)"
    entries = []
    try:
        for entry in sorted(root.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1):
            start = int((entry / "start").read_text(), 16)
            end = int((entry / "end").read_text(), 16)
            name = (entry / "type").read_text().strip()
            entries.append((start, end - start + 1, _TYPES.get(name, 2)))
    except (OSError, ValueError) as error:
        return None, f"could not read {root}: {error}"
    if not entries:
        return None, f"{root} is empty"
    return E820Table(sorted(entries)), f"{len(entries)} entries from {root}"


def read_proc_iomem(path: str | Path = "/proc/iomem") -> tuple[list[IomemLine] | None, str]:
    """/proc/iomem of this machine, or (None, why not); says so when the addresses read as zeros."""
    try:
        lines = parse_iomem(Path(path).read_text())
    except OSError as error:
        return None, f"cannot read {path}: {error}"
    if lines and all(line.start == line.end == 0 for line in lines):
        return lines, (f"{path} read as a user: every address is 0 (since Linux 4.15 only CAP_SYS_ADMIN sees "
                       "them); run as root for the numbers")
    return lines, f"{len(lines)} resources"


def read_proc_cmdline(path: str | Path = "/proc/cmdline") -> tuple[str | None, str]:
    try:
        return Path(path).read_text().strip(), "ok"
    except OSError as error:
        return None, f"cannot read {path}: {error}"


def memory_params(cmdline: str) -> str:
    """Only the words of a command line that shape memory (mem=, memmap=, crashkernel=, cma=)."""
    return " ".join(word for word in cmdline.split()
                    if word.split("=")[0] in ("mem", "memmap", "crashkernel", "cma"))
