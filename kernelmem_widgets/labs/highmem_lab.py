"""Chapter 4's lab: boot a 32-bit kernel, see its address space, kmap highmem pages, see which zone pays.

The configuration controls (kernel, RAM, PAE, VMSPLIT, ``vmalloc=``) boot a new machine with
``Machine.preset(kernel, ram=..., cmdline="vmalloc=...", pae=..., vmsplit=...)`` and rebind the
views to it (PAE and the split are kernel configuration: another kernel, not a command line).
The kmap buttons call the machine's ``kmap_space`` (``kmap``/``kunmap``, ``kmap_local_page``/
``kunmap_local``); *allocate* calls ``Machine.alloc_pages(gfp, order)`` and says which zone paid.
A refused call says why on the status line, in the kernel's words; the machine stays as it was.
"""

from __future__ import annotations

import html
from typing import Sequence

import ipywidgets as widgets

from ..model import Machine
from ..model.errors import InvalidArgument, KernelMemError
from ..model.highmem.layout_rules import VMSPLITS
from ..model.units import format_size
from ..views.address_space import AddressSpaceView
from ..views.controls import action_button, order_dropdown, status_line
from ..views.pkmap_window import PkmapWindowView
from ._status import SaysWhatHappened

__all__ = ["HighmemLab", "KERNELS", "RAM_CHOICES", "VMALLOC_CHOICES"]

#: The kernels the lab boots: the 32-bit presets of chapter 4 and x86-64 for contrast
KERNELS = ("linux-2.6.24-i386", "linux-2.6.35-i386", "linux-3.16-i386", "linux-5.1-i386", "linux-6.18-x86_64")
RAM_CHOICES = ("512M", "1G", "2G", "3G", "4G", "8G", "16G")
VMALLOC_CHOICES = ("default", "64M", "128M", "256M", "512M", "768M")


class HighmemLab(SaysWhatHappened, widgets.VBox):
    """The address-space view, the pkmap window, kmap buttons and a GFP_KERNEL/GFP_HIGHUSER allocator.

    Parameters
    ----------
    machine : Machine
        The first machine shown (a 32-bit preset such as ``linux-2.6.35-i386``, or x86-64).
    ops : sequence of str, optional
        Literal operations run at construction: ``"boot ram=4G pae=1 vmsplit=2G vmalloc=256M"``,
        ``"kmap 3"`` (three highmem pages), ``"kunmap"``, ``"kmap_local"``, ``"kunmap_local"``,
        ``"alloc GFP_HIGHUSER 0"``.

    Attributes
    ----------
    machine : Machine
        The machine booted last.
    held, local : list of int
        pfns the lab holds kmapped (oldest first); kmap_local addresses, innermost last.
    status_text : str
        What the last action did, in words.

    Examples
    --------
    >>> lab = HighmemLab(Machine.preset("linux-2.6.35-i386", ram="2G", cmdline=""))
    >>> lab.kmap(2)
    >>> lab.status_text
    '2 kmaps, the last kmap(pfn 0x377ff) = 0xff802000: pkmap slot 2, pkmap_count 2'
    >>> lab.alloc("GFP_HIGHUSER", 0), lab.status_text.split(":")[1].strip()
    (227328, 'zone HighMem paid (296,929 pages free there now)')
    """

    def __init__(self, machine, *, ops: Sequence[str] | None = None) -> None:
        if not isinstance(machine, Machine):
            raise InvalidArgument(f"HighmemLab needs a Machine, not {type(machine).__name__}; "
                                  "e.g. Machine.preset('linux-2.6.35-i386', ram='2G', cmdline='')")
        self.machine = machine
        self.held: list[int] = []
        self.local: list[int] = []
        self._next = 0
        self._syncing = False
        self.status = status_line()
        self.status_text = ""
        narrow = {"description_width": "60px"}
        preset = machine._preset
        kernels = list(KERNELS) if preset.name in KERNELS else [preset.name, *KERNELS]
        self.kernel = widgets.Dropdown(options=kernels, value=preset.name, description="kernel", style=narrow,
                                       layout=widgets.Layout(width="260px"))
        ram = _ram_choice(machine.ram_bytes)
        self.ram = widgets.Dropdown(options=sorted(set(RAM_CHOICES) | {ram}, key=_bytes), value=ram,
                                    description="RAM", style=narrow, layout=widgets.Layout(width="160px"))
        self.pae = widgets.Checkbox(value=preset.pae, description="PAE (HIGHMEM64G)", indent=False,
                                    layout=widgets.Layout(width="160px"))
        self.vmsplit = widgets.Dropdown(options=list(VMSPLITS), value=preset.vmsplit, description="VMSPLIT",
                                        style=narrow, layout=widgets.Layout(width="170px"))
        self.vmalloc = widgets.Dropdown(options=list(VMALLOC_CHOICES), value=self._vmalloc_of(machine),
                                        description="vmalloc=", style=narrow, layout=widgets.Layout(width="170px"))
        self._ram_booted = ram
        for control in (self.kernel, self.ram, self.pae, self.vmsplit, self.vmalloc):
            control.observe(self._on_config, names="value")
        buttons = [("kmap", "kmap() the next highmem page", lambda: self.kmap(1)),
                   ("kmap ×64", "kmap() 64 more highmem pages", lambda: self.kmap(64)),
                   ("kunmap", "kunmap() the oldest page the lab holds", self.kunmap),
                   ("kmap_local", "kmap_local_page() the next highmem page (kmap_atomic before 5.11)",
                    self.kmap_local),
                   ("kunmap_local", "kunmap_local() the innermost mapping (LIFO)", self.kunmap_local),
                   ("kunmap_local outermost", "kunmap_local() out of order: the kernel's BUG",
                    lambda: self.kunmap_local(outermost=True))]
        self.buttons = {}
        for name, tip, call in buttons:
            button = action_button(name, tip)
            button.on_click(self._on_click(call))
            self.buttons[name] = button
        self.gfp = widgets.Dropdown(options=["GFP_KERNEL", "GFP_HIGHUSER"], value="GFP_HIGHUSER", description="gfp",
                                    style={"description_width": "35px"}, layout=widgets.Layout(width="180px"))
        self.order = order_dropdown(machine.max_page_order)
        self.alloc_button = action_button("allocate", "alloc_pages(gfp, order): which zone pays?")
        self.alloc_button.on_click(self._on_click(lambda: self.alloc(self.gfp.value, self.order.value)))
        self.address_space = AddressSpaceView(machine)
        self.pkmap = PkmapWindowView(machine)
        self.zones = widgets.HTML()
        self.dmesg = widgets.HTML()
        side = widgets.VBox([
            widgets.HTML("<b>kmap</b>"), widgets.HBox(list(self.buttons.values())[:3]),
            widgets.HBox(list(self.buttons.values())[3:]),
            widgets.HTML("<b>allocate</b>"), widgets.HBox([self.gfp, self.order]), self.alloc_button, self.zones],
            layout=widgets.Layout(min_width="330px", max_width="420px"))
        super().__init__(children=[
            widgets.HBox([self.kernel, self.ram, self.pae]), widgets.HBox([self.vmsplit, self.vmalloc]),
            self.status,
            widgets.HBox([self.address_space, side], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HTML("<b>pkmap window</b>"), self.pkmap,
            widgets.HTML("<b>boot log</b>"), self.dmesg])
        self.add_class("kmw-lab")
        self.add_class("kmw-highmem-lab")
        self.status.add_class("kmw-status")
        self._show_texts()
        self._say(self._booted_text())
        for op in ops or ():
            self.run(op)

    # ------------------------------------------------------------------ configuration
    @staticmethod
    def _vmalloc_of(machine) -> str:
        for word in machine.cmdline.split():
            if word.startswith("vmalloc=") and word[8:] in VMALLOC_CHOICES:
                return word[8:]
        return "default"

    def _on_config(self, _change) -> None:
        if self._syncing:
            return
        try:
            self.boot(kernel=self.kernel.value, ram=self.ram.value, pae=self.pae.value, vmsplit=self.vmsplit.value,
                      vmalloc=self.vmalloc.value)
        except Exception as error:  # noqa: BLE001 - a bug in the kit: say so, never a traceback
            self._say(f"internal error in kernelmem-widgets ({type(error).__name__}: {error}); please report it",
                      error=True)

    def _set_controls(self, machine) -> None:
        self._syncing = True
        try:
            preset = machine._preset
            self.kernel.value, self.pae.value, self.vmsplit.value = preset.name, preset.pae, preset.vmsplit
            self.vmalloc.value = self._vmalloc_of(machine)
        finally:
            self._syncing = False

    def boot(self, *, kernel: str | None = None, ram: str | None = None, pae: bool | None = None,
             vmsplit: str | None = None, vmalloc: str | None = None) -> bool:
        """Boot a new machine with these settings (the others as now) and redraw; False if refused."""
        old = self.machine
        preset = old._preset
        kernel = preset.name if kernel is None else kernel
        ram = self.ram.value if ram is None else ram
        vmalloc = self._vmalloc_of(old) if vmalloc is None else vmalloc
        options = {}
        if kernel.endswith("-i386"):
            options = {"pae": preset.pae if pae is None else pae, "vmsplit": preset.vmsplit if vmsplit is None else vmsplit}
        cmdline = "" if vmalloc == "default" or not kernel.endswith("-i386") else f"vmalloc={vmalloc}"
        try:
            machine = Machine.preset(kernel, ram=ram, cmdline=cmdline, **options)
        except KernelMemError as error:
            self._say(f"not booted: {error}", error=True)
            self._set_controls(old)
            self._syncing = True
            try:
                if self._ram_booted in self.ram.options:
                    self.ram.value = self._ram_booted
            finally:
                self._syncing = False
            return False
        self._ram_booted = ram
        self.machine, self.held, self.local, self._next = machine, [], [], 0
        self._set_controls(machine)
        self.address_space.bind(machine)
        self.pkmap.bind(machine)
        self._show_texts()
        self._say(self._booted_text())
        return True

    def _booted_text(self) -> str:
        layout = self.machine.highmem_layout
        zones = ", ".join(f"{z.name} {format_size(z.managed_pages * self.machine.page_size)}" for z in self.machine.zones)
        if layout is None:
            return f"booted {self.machine.config.name}: every page in the direct map; zones {zones}"
        return (f"booted {layout.rules.name} (VMSPLIT_{layout.vmsplit}, {'PAE' if layout.pae else 'non-PAE'}): "
                f"lowmem ends at pfn {layout.max_low_pfn:#x}; zones {zones}")

    # ------------------------------------------------------------------ kmap
    def _highmem_pfn(self) -> int:
        """The next page to map: highmem pages in turn (x86-64: the pages above 896 MiB)."""
        layout = self.machine.highmem_layout
        low, high = (layout.highstart_pfn, layout.highend_pfn) if layout is not None else \
            (0x38000, self.machine.nr_pages)
        if high <= low:
            low, high = 0, self.machine.nr_pages
        pfn = low + self._next % (high - low)
        self._next += 1
        return pfn

    def kmap(self, count: int = 1) -> None:
        """``kmap()`` ``count`` more highmem pages (stops, and says so, when the window is full)."""
        space = self.machine.kmap_space
        flushes = space.counters.tlb_flush_all
        done, refused = 0, None
        with self.machine.bus.batch("kmap"):                    # one redraw for the whole click
            for _ in range(count):
                pfn = self._highmem_pfn()
                try:
                    addr = space.kmap(pfn)
                except KernelMemError as error:
                    self._next -= 1
                    refused = f"kmap(pfn {pfn:#x}) after {done} mapped: {error}"
                    break
                self.held.append(pfn)
                done += 1
        if refused is not None:
            self._say(refused, error=True)
            return
        slot = space.slot_of(pfn) if space.pkmap_base is not None else None
        where = f"pkmap slot {slot}, pkmap_count {space.pkmap_count[slot]}" if slot is not None else \
            "page_address(): already in the direct map"
        flushed = space.counters.tlb_flush_all - flushes
        extra = f"; the search wrapped: {flushed} whole-window TLB flush" if flushed else ""
        prefix = f"{done} kmaps, the last " if count > 1 else ""
        self._say(f"{prefix}kmap(pfn {pfn:#x}) = {addr:#x}: {where}{extra}")

    def kunmap(self) -> None:
        """``kunmap()`` the oldest page the lab holds."""
        if not self.held:
            self._say("the lab holds no kmapped page: kunmap() of a page never mapped is the kernel's BUG", error=True)
            return
        pfn = self.held[0]
        space = self.machine.kmap_space
        slot = space.slot_of(pfn) if space.pkmap_base is not None else None
        space.kunmap(pfn)
        self.held.pop(0)
        after = f"pkmap slot {slot} count now {space.pkmap_count[slot]} (unmapped lazily, at the next wrap)" \
            if slot is not None else "nothing to undo on x86-64"
        self._say(f"kunmap(pfn {pfn:#x}): {after}")

    def kmap_local(self) -> None:
        """``kmap_local_page()`` (``kmap_atomic()`` on kernels before 5.11) of the next highmem page."""
        space = self.machine.kmap_space
        pfn = self._highmem_pfn()
        style = space.local.style if space.local is not None else "kmap_local"
        call = "kmap_local_page" if style == "kmap_local" else "kmap_atomic"
        try:
            if style == "km_type":
                addr = space.kmap_atomic(pfn, self._km_type(space, len(self.local)))
            elif style == "stack":
                addr = space.kmap_atomic(pfn)
            else:
                addr = space.kmap_local_page(pfn)
        except KernelMemError as error:
            self._next -= 1
            self._say(f"{call}(pfn {pfn:#x}): {error}", error=True)
            return
        self.local.append(addr)
        self._say(f"{call}(pfn {pfn:#x}) = {addr:#x}: a per-CPU fixmap slot, one PTE write, no lock")

    @staticmethod
    def _km_type(space, index: int) -> str:
        """2.6.35's enum km_type: the lab's n-th atomic mapping takes KM_USER0, KM_USER1, ... in turn."""
        types = space.local.km_types
        return types[(types.index("KM_USER0") + index) % len(types)]

    def kunmap_local(self, outermost: bool = False) -> None:
        """``kunmap_local()`` of the innermost mapping, or (to see the BUG) of the outermost."""
        if not self.local:
            self._say("no kmap_local mapping is held", error=True)
            return
        space = self.machine.kmap_space
        addr = self.local[0 if outermost else -1]
        style = space.local.style if space.local is not None else "kmap_local"
        call = "kunmap_local" if style == "kmap_local" else "kunmap_atomic"
        try:
            if style == "km_type":
                space.kunmap_atomic(addr, self._km_type(space, self.local.index(addr)))
            elif style == "stack":
                space.kunmap_atomic(addr)
            else:
                space.kunmap_local(addr)
        except KernelMemError as error:
            self._say(f"{call}({addr:#x}): {error}", error=True)
            return
        self.local.remove(addr)
        self._say(f"{call}({addr:#x}): the slot's PTE cleared and its TLB entry flushed")

    # ------------------------------------------------------------------ allocation
    def alloc(self, gfp: str, order: int) -> int | None:
        """``alloc_pages(gfp, order)``; says which zone paid."""
        try:
            pfn = self.machine.alloc_pages(gfp, order)
        except KernelMemError as error:
            self._say(f"{gfp} order {order} failed: {error}", error=True)
            self._show_texts()
            return None
        zone = self.machine.zone_of(pfn)
        self._say(f"{gfp} order {order} = pfn {pfn:#x}: zone {zone.name} paid "
                  f"({zone.nr_free_pages:,} pages free there now)")
        self._show_texts()
        return pfn

    # ------------------------------------------------------------------ literal operations
    def run(self, op: str) -> None:
        """One literal operation (see ``ops``)."""
        words = op.split()
        if not words:
            raise InvalidArgument("empty lab operation")
        if words[0] == "boot":
            settings = dict(word.split("=", 1) for word in words[1:] if "=" in word)
            if "pae" in settings:
                settings["pae"] = settings["pae"] in ("1", "y", "yes", "true", "True")
            self.boot(**settings)
        elif words[0] == "kmap" and len(words) <= 2:
            self.kmap(int(words[1]) if len(words) == 2 else 1)
        elif words == ["kunmap"]:
            self.kunmap()
        elif words == ["kmap_local"]:
            self.kmap_local()
        elif words == ["kunmap_local"]:
            self.kunmap_local()
        elif words[0] == "alloc" and len(words) == 3:
            self.alloc(words[1], int(words[2]))
        else:
            raise InvalidArgument(f"unknown lab operation {op!r}; accepted: 'boot ram=4G pae=1 vmsplit=2G "
                                  "vmalloc=256M', 'kmap [N]', 'kunmap', 'kmap_local', 'kunmap_local', "
                                  "'alloc GFP order'")

    def _show_texts(self) -> None:
        machine = self.machine
        rows = "".join(f"<tr><td>{z.name}</td><td>{z.start_pfn:#x}-{z.end_pfn:#x}</td><td>{z.nr_free_pages:,}</td>"
                       f"<td>{z.managed_pages:,}</td><td>{z.watermark['min']:,}</td>"
                       f"<td>{', '.join(f'{r:,}' for r in z.lowmem_reserve)}</td></tr>" for z in machine.zones)
        self.zones.value = ("<table style='font-size:12px'><tr><th>zone</th><th>pfns</th><th>free</th>"
                            "<th>managed</th><th>min</th><th>lowmem_reserve</th></tr>" + rows + "</table>")
        try:
            lines = machine.dmesg()
        except KernelMemError:
            lines = []
        self.dmesg.value = "<pre style='font-size:11.5px'>" + html.escape("\n".join(lines)) + "</pre>"

    def close(self) -> None:
        for view in (getattr(self, "address_space", None), getattr(self, "pkmap", None)):
            if view is not None:
                view.close()
        super().close()


def _ram_choice(ram_bytes: int) -> str:
    """The RAM choice a machine was booted with: the nearest of RAM_CHOICES (a firmware map keeps a few
    pages for the BIOS, so a 2G machine manages a little less), else its size in whole MiB."""
    nearest = min(RAM_CHOICES, key=lambda choice: abs(_bytes(choice) - ram_bytes))
    return nearest if abs(_bytes(nearest) - ram_bytes) <= _bytes(nearest) // 20 else f"{-(-ram_bytes >> 20)}M"


def _bytes(text: str) -> int:
    from ..model.units import memparse

    return memparse(text)
