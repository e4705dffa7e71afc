"""/proc/iomem: the tree of ``struct resource`` (kernel/resource.c) built from the final e820 map.

``e820__reserve_resources()`` (arch/x86/kernel/e820.c, 6.12 copy; 2.6.32.69 copy) makes one
resource per e820 entry, named by ``e820_type_to_string()`` (6.x: ``System RAM``, ``Reserved``,
``ACPI Tables``, ``ACPI Non-volatile Storage``, ``Unusable memory``, ``Persistent Memory
(legacy)``, ``Persistent Memory``, ``Soft Reserved``; 2.6: everything not RAM/ACPI is
``reserved``); the kernel's ``Kernel code``/``Kernel rodata``/``Kernel data``/``Kernel bss`` and
``Crash kernel`` go inside the System RAM that holds them; firmware and PCI resources (the
``PCI Bus 0000:00`` windows, ``Video RAM area``, ``System ROM``, IOAPIC, HPET, Local APIC) come
from the platform (:func:`platform_resources`).  ``insert_resource()`` nests a resource under
the deepest one that contains it (for equal ranges, under the one inserted first).

``r_show()`` prints ``"%*s%0*llx-%0*llx : %s\\n"``: two spaces per level, start and end
(inclusive) zero-padded to 4 hex digits if the root ends below 0x10000 (/proc/ioports), else
8; nesting stops at ``MAX_IORES_LEVEL`` 5; without CAP_SYS_ADMIN the addresses read as zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InvalidArgument
from .e820 import (E820_TYPE_ACPI, E820_TYPE_NVS, E820_TYPE_PMEM, E820_TYPE_PRAM, E820_TYPE_RAM,
                   E820_TYPE_RESERVED_KERN, E820_TYPE_SOFT_RESERVED, E820_TYPE_UNUSABLE)

__all__ = ["Resource", "IomemLine", "e820_type_to_string", "build_iomem", "render_iomem", "parse_iomem",
           "render_iomem_lines", "platform_resources", "MAX_IORES_LEVEL"]

MAX_IORES_LEVEL = 5


def e820_type_to_string(type_: int, style: str = "6.x") -> str:
    """The /proc/iomem name of an e820 type."""
    if type_ in (E820_TYPE_RAM, E820_TYPE_RESERVED_KERN):
        return "System RAM"
    if type_ == E820_TYPE_ACPI:
        return "ACPI Tables"
    if type_ == E820_TYPE_NVS:
        return "ACPI Non-volatile Storage"
    if type_ == E820_TYPE_UNUSABLE:
        return "Unusable memory"
    if style == "2.6":
        return "reserved"
    return {E820_TYPE_PRAM: "Persistent Memory (legacy)", E820_TYPE_PMEM: "Persistent Memory",
            E820_TYPE_SOFT_RESERVED: "Soft Reserved", 2: "Reserved"}.get(type_, "Unknown E820 type")


@dataclass
class Resource:
    """``struct resource``: ``[start, end]`` inclusive, a name, children in address order."""

    start: int
    end: int
    name: str
    children: list["Resource"] = field(default_factory=list)
    system_ram: bool = False

    def walk(self, depth: int = 0):
        """(depth, resource) for every descendant, parents first, as /proc/iomem lists them."""
        for child in self.children:
            yield depth, child
            yield from child.walk(depth + 1)

    def find(self, name: str) -> list["Resource"]:
        return [r for _d, r in self.walk() if r.name == name]


def platform_resources(firmware: str, lowmem_top: int) -> list[tuple[int, int, str]]:
    """Resources the platform's firmware and PCI enumeration add (QEMU pc/q35 with SeaBIOS).

    The 32-bit PCI window starts where QEMU's low RAM ends (``pci_hole`` from
    ``below_4g_mem_size``) and stops below the IOAPIC; the VGA legacy window and ROMs are as a
    QEMU guest's /proc/iomem shows them.
    """
    if not firmware.startswith("qemu"):
        return []
    window = lowmem_top if firmware == "qemu-i440fx" else max(lowmem_top, 0xC0000000)
    return [(0xA0000, 0xBFFFF, "PCI Bus 0000:00"), (0xA0000, 0xBFFFF, "Video RAM area"),
            (0xC0000, 0xC09FF, "Video ROM"), (0xF0000, 0xFFFFF, "System ROM"),
            (window, 0xFEBFFFFF, "PCI Bus 0000:00"), (0xFEC00000, 0xFEC003FF, "IOAPIC 0"),
            (0xFED00000, 0xFED003FF, "HPET 0"), (0xFEE00000, 0xFEE00FFF, "Local APIC")]


def build_iomem(boot, platform: list[tuple[int, int, str]] = (), phys_bits: int = 46) -> Resource:
    """The iomem tree of a boot (:class:`~.setup.BootResult`), plus platform resources."""
    style = boot.rules.style.name
    items: list[tuple[int, int, str, bool]] = []
    for entry in boot.table:
        if entry.size:
            items.append((entry.addr, entry.last, e820_type_to_string(entry.type, style),
                          entry.type in (E820_TYPE_RAM, E820_TYPE_RESERVED_KERN)))
    names = {"Kernel rodata": "Kernel rodata", "Kernel data": "Kernel data"}
    for name, (start, end) in boot.kernel_sections.items():
        if style == "2.6" and name == "Kernel rodata":
            continue
        items.append((start, end - 1, names.get(name, name), False))
    if boot.crashkernel is not None:
        base, size = boot.crashkernel
        items.append((base, base + size - 1, "Crash kernel", False))
    items += [(s, e, n, False) for s, e, n in platform]
    return nest(items, (1 << phys_bits) - 1)


def nest(items, root_end: int) -> Resource:
    """``insert_resource()`` for each item in order: under the deepest container (first inserted wins ties)."""
    root = Resource(0, root_end, "iomem")
    order = sorted(range(len(items)), key=lambda i: (items[i][0], -items[i][1], i))
    stack = [root]
    for i in order:
        start, end, name, ram = items[i]
        while len(stack) > 1 and not (stack[-1].start <= start and end <= stack[-1].end):
            stack.pop()
        node = Resource(start, end, name, system_ram=ram)
        stack[-1].children.append(node)
        stack.append(node)
    return root


@dataclass(frozen=True)
class IomemLine:
    """One line of /proc/iomem: nesting depth, start, end (inclusive), name."""

    depth: int
    start: int
    end: int
    name: str


def render_iomem_lines(lines, *, width: int = 8, privileged: bool = True) -> str:
    out = []
    for line in lines:
        start, end = (line.start, line.end) if privileged else (0, 0)
        out.append(f"{'':{2 * line.depth}}{start:0{width}x}-{end:0{width}x} : {line.name}\n")
    return "".join(out)


def render_iomem(root: Resource, *, privileged: bool = True) -> str:
    """``r_show()`` over the tree: /proc/iomem as root reads it (``privileged=False``: as a user)."""
    width = 4 if root.end < 0x10000 else 8
    lines = [IomemLine(min(depth, MAX_IORES_LEVEL - 1), r.start, r.end, r.name) for depth, r in root.walk()
             if depth < MAX_IORES_LEVEL]
    return render_iomem_lines(lines, width=width, privileged=privileged)


_LINE = re.compile(r"^(?P<indent> *)(?P<start>[0-9a-fA-F]+)-(?P<end>[0-9a-fA-F]+) : (?P<name>.*)$")


def parse_iomem(text: str) -> list[IomemLine]:
    """Read /proc/iomem (or /proc/ioports) text back into lines with their depth.

    >>> parse_iomem("00001000-0009fbff : System RAM\\n  01000000-01ffffff : Kernel code\\n")[1]
    IomemLine(depth=1, start=16777216, end=33554431, name='Kernel code')
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"parse_iomem() takes the text of /proc/iomem, not {type(text).__name__}")
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None or len(match.group("indent")) % 2:
            raise InvalidArgument(f"line {number} of iomem is not '<2n spaces>start-end : name': {line!r}")
        depth = len(match.group("indent")) // 2
        if out and depth > out[-1].depth + 1 or not out and depth:
            raise InvalidArgument(f"line {number} of iomem is nested two levels below its parent: {line!r}")
        out.append(IomemLine(depth, int(match.group("start"), 16), int(match.group("end"), 16), match.group("name")))
    return out
