"""Chapter 6's lab: boot with a command line, read the boot log and /proc/iomem, ioremap from a module.

Every click calls a public model method (``Machine.reboot()``, ``Machine.ioremap()`` and friends,
``Machine.memremap()``, ``Machine.iounmap()``); what the lab keeps is the reader's side: the
mappings its "module" holds.  A refused call (a bad parameter, ``ioremap`` of RAM, a full vmalloc
area) says why on the status line, in the kernel's words, and leaves the machine as it was.
"""

from __future__ import annotations

import html
from typing import Sequence

import ipywidgets as widgets

from ..model.boot.ioremap import access_cost
from ..model.errors import InvalidArgument, KernelMemError
from ..model.units import format_size, memparse
from ..views.controls import action_button, status_line
from ..views.ioremap_view import IoremapView
from ..views.physical_map import PhysicalMap
from ._history import HasHistory
from ._status import SaysWhatHappened

__all__ = ["BootLab", "MAP_CALLS", "BOOT_OPS"]

#: The operations of the boot lab's ``ops``, history, export and load
BOOT_OPS = "'boot CMDLINE', 'map CALL PHYS SIZE' (CALL one of MAP_CALLS), 'unmap [ADDR]'"

#: What the module panel can call, and the Machine method behind each.
MAP_CALLS = {"ioremap": "ioremap", "ioremap_cache": "ioremap_cache", "ioremap_wc": "ioremap_wc",
             "ioremap_uc": "ioremap_uc", "memremap(MEMREMAP_WB)": "MEMREMAP_WB",
             "memremap(MEMREMAP_WC)": "MEMREMAP_WC"}


class BootLab(HasHistory, SaysWhatHappened, widgets.VBox):
    """Boot a machine with ``mem=``/``memmap=``, then map physical ranges as a driver would.

    Parameters
    ----------
    machine : Machine
        Booted from a firmware map (``Machine.preset(..., e820=True)`` or ``cmdline=...``).
    ops : sequence of str, optional
        Literal operations run at construction: ``"boot mem=1G"``, ``"map ioremap 0x40000000 1G"``,
        ``"unmap"`` (the newest mapping).

    Attributes
    ----------
    cmdline : ipywidgets.Text
    held : list of int
        Addresses the lab's "module" holds (from ioremap/memremap), oldest first.
    status : ipywidgets.HTML
        What the last action did (``status_text`` is the plain text).
    physical_map, ioremap_view : the views
    dmesg, iomem : ipywidgets.HTML
        The boot log lines about memory and /proc/iomem, as the preset's kernel prints them.

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> lab = BootLab(Machine.preset("linux-6.18-x86_64", ram="2G", e820=True), ops=["boot mem=1G"])
    >>> lab.map("ioremap", 0x40000000, "1G")
    18446683600570023936
    >>> lab.status_text.split(":")[0]
    'ioremap(0x40000000, 1 GiB) = 0xffffc90000000000'
    """

    def __init__(self, machine, *, ops: Sequence[str] | None = None) -> None:
        if machine.boot is None:
            raise InvalidArgument("BootLab needs a machine booted from a firmware map: "
                                  "Machine.preset(name, ram=..., e820=True) or cmdline='mem=1G'")
        self.machine = machine
        self.held: list[int] = []
        self.status = status_line()
        self.status_text = ""
        self.cmdline = widgets.Text(value=machine.cmdline, description="cmdline",
                                    placeholder="mem=1G memmap=64M$0x30000000",
                                    layout=widgets.Layout(width="480px"), style={"description_width": "60px"})
        self.boot_button = action_button("boot", "reboot the machine with this command line", icon="power-off")
        self.boot_button.on_click(self._on_click(lambda: self.boot(self.cmdline.value)))
        self.call = widgets.Dropdown(options=list(MAP_CALLS), value="ioremap", description="call",
                                     layout=widgets.Layout(width="260px"), style={"description_width": "35px"})
        self.phys = widgets.Text(value="0x40000000", description="phys", layout=widgets.Layout(width="190px"),
                                 style={"description_width": "40px"})
        self.size = widgets.Text(value="64M", description="size", layout=widgets.Layout(width="150px"),
                                 style={"description_width": "35px"})
        self.map_button = action_button("map", "call it from the lab's module", icon="link")
        self.map_button.on_click(self._on_click(lambda: self.map(self.call.value, self.phys.value, self.size.value)))
        self.unmap_button = action_button("unmap", "iounmap/memunmap the newest mapping", icon="unlink")
        self.unmap_button.on_click(self._on_click(self.unmap))
        self.physical_map = PhysicalMap(machine)
        self.ioremap_view = IoremapView(machine)
        self.dmesg = widgets.HTML()
        self.iomem = widgets.HTML()
        texts = widgets.Tab(children=[self.dmesg, self.iomem])
        texts.set_title(0, "boot log (dmesg)")
        texts.set_title(1, "/proc/iomem")
        self.texts = texts
        self._boot_cmdline = machine.cmdline
        self._init_history(accepted=BOOT_OPS)
        super().__init__(children=[
            widgets.HBox([self.cmdline, self.boot_button]),
            self.status,
            self.history_controls,
            widgets.HTML("<b>physical address space</b>"), self.physical_map,
            widgets.HTML("<b>module: map a physical range</b>"),
            widgets.HBox([self.call, self.phys, self.size, self.map_button, self.unmap_button]),
            widgets.HTML("<b>vmalloc area</b>"), self.ioremap_view,
            texts,
        ])
        self.add_class("kmw-lab")
        self.add_class("kmw-boot-lab")   # browser tests find the lab and its parts by these classes
        self.status.add_class("kmw-status")
        self.dmesg.add_class("kmw-dmesg")
        self.iomem.add_class("kmw-iomem")
        self._show_texts()
        for op in ops or ():
            self.run(op)
        self._history_started()

    # ------------------------------------------------------------------ actions (public: notebooks call them)
    def boot(self, cmdline: str) -> bool:
        """Reboot with ``cmdline``; on a bad parameter say why and keep the machine as it was."""
        try:
            self.machine.reboot(cmdline)
        except KernelMemError as error:
            self._say(f"not booted: {error}", error=True)
            return False
        self.held = []
        self.cmdline.value = cmdline
        self._record(f"boot {cmdline}".strip())
        boot = self.machine.boot
        self._say(f"booted with '{cmdline}': max_pfn {boot.max_pfn:#x}, "
                  f"{format_size(sum(z.managed_pages for z in self.machine.zones) * self.machine.page_size)} "
                  f"managed in zones {', '.join(z.name for z in self.machine.zones)}")
        self._show_texts()
        return True

    def map(self, call: str, phys, size) -> int | None:
        """Call ``ioremap``/``ioremap_cache``/``ioremap_wc``/``ioremap_uc``/``memremap(...)`` on a range."""
        if call not in MAP_CALLS:
            self._say(f"unknown call {call!r}; accepted: {', '.join(MAP_CALLS)}", error=True)
            return None
        try:
            phys_addr, nbytes = memparse(phys), memparse(size)
            if MAP_CALLS[call].startswith("MEMREMAP"):
                addr = self.machine.memremap(phys_addr, nbytes, MAP_CALLS[call])
            else:
                addr = getattr(self.machine, MAP_CALLS[call])(phys_addr, nbytes)
        except KernelMemError as error:
            line = getattr(error, "kernel_line", None)
            self._say(f"{call}({phys}, {size}) failed: {error}" + (f" [kernel: {line}]" if line else ""), error=True)
            return None
        self.held.append(addr)
        self._record(f"map {call} {phys_addr:#x} {nbytes:#x}")
        mapping = self.machine.ioremap_space.mappings[addr]
        cost = access_cost(mapping.cache_mode, 4096)
        where = "the direct map: no new mapping" if mapping.direct_map else \
            f"{format_size(mapping.map_size)} of vmalloc space from {mapping.area_addr:#x}"
        self._say(f"{call}({phys_addr:#x}, {format_size(nbytes)}) = {addr:#x}: {where}; cache mode "
                  f"{mapping.cache_mode}, {cost} memory transactions to read 4 KiB")
        self._show_texts()
        return addr

    def unmap(self, addr: int | None = None) -> None:
        """``iounmap()`` (or ``memunmap()``) the newest mapping, or ``addr``."""
        if not self.held:
            self._say("the module holds no mapping", error=True)
            return
        addr = self.held[-1] if addr is None else addr
        if addr not in self.held:
            self._say(f"{addr:#x} is not a mapping this module holds", error=True)
            return
        newest = addr == self.held[-1]
        self.machine.ioremap_space.iounmap(addr)
        self.held.remove(addr)
        self._record("unmap" if newest else f"unmap {addr:#x}")
        self._say(f"iounmap({addr:#x}): the virtual range waits on the lazy purge list like a vfree()d one")
        self._show_texts()

    def run(self, op: str) -> None:
        """One literal operation (see ``ops``)."""
        words = op.split()
        if words and words[0] == "boot":
            self.boot(" ".join(words[1:]))
        elif len(words) == 4 and words[0] == "map":
            self.map(words[1], words[2], words[3])
        elif words == ["unmap"]:
            self.unmap()
        elif len(words) == 2 and words[0] == "unmap":
            self.unmap(int(words[1], 16))
        else:
            raise InvalidArgument(f"unknown lab operation {op!r}; accepted: 'boot <cmdline>', "
                                  "'map <call> <phys> <size>', 'unmap'")

    # ------------------------------------------------------------------ the history's contract (._history)
    def _check_op(self, op: str) -> None:
        from ..model.errors import InvalidOperation

        words = op.split()
        try:
            if words and words[0] == "boot":
                return
            if len(words) == 4 and words[0] == "map" and words[1] in MAP_CALLS:
                memparse(words[2]), memparse(words[3])
                return
            if words == ["unmap"] or (len(words) == 2 and words[0] == "unmap" and words[1][:2] == "0x"
                                      and int(words[1], 16) >= 0):
                return
        except (KernelMemError, ValueError) as error:
            raise InvalidOperation(f"cannot read operation {op!r}: {error}; accepted: {BOOT_OPS}") from None
        raise InvalidOperation(f"cannot read operation {op!r}; accepted: {BOOT_OPS}")

    def _play(self, op: str) -> None:
        self.run(op)

    def _reboot_lab(self) -> None:
        self._reboot_machine(self._boot_cmdline)
        self.held = []
        self.cmdline.value = self._boot_cmdline
        self._show_texts()

    def _show_texts(self) -> None:
        from ..model.procfs import render_iomem

        self.dmesg.value = "<pre style='font-size:11.5px'>" + html.escape("\n".join(self.machine.dmesg())) + "</pre>"
        self.iomem.value = "<pre style='font-size:11.5px'>" + html.escape(render_iomem(self.machine)) + "</pre>"

    def close(self) -> None:
        self.physical_map.close()
        self.ioremap_view.close()
        super().close()
