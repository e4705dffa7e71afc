"""One address walked through the page tables, level by level, with the entry read at each.

Each row is one memory reference the hardware makes on a TLB miss: the level, the table page
(its pfn: a page from the buddy allocator), the index taken from the address bits, where the
entry sits in physical memory, and what it holds.  The last row says where the walk led: a
physical address and the page size, or a page fault.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..model.mmu.pagetable import PageTable
from ..model.units import format_size

__all__ = ["PageWalkView", "walk_table_html"]


def walk_table_html(page_table: PageTable, virt: int) -> str:
    """The walk of ``virt`` as an HTML table (what the view shows)."""
    walk = page_table.walk(virt)
    rows = []
    for step in walk.steps:
        level = page_table.mode.level(step.level)
        bits = f"{level.shift + level.bits - 1}..{level.shift}"
        rows.append(f"<tr><td>{step.level.upper()}</td><td>{bits}</td><td>{step.index}</td>"
                    f"<td>{step.table_pfn:#x}</td><td>{step.entry_phys:#x}</td>"
                    f"<td><code>{html.escape(str(step).split(': ', 1)[1])}</code></td></tr>")
    if walk.phys is None:
        result = "not mapped: the walk stops here and the CPU raises a page fault"
    else:
        result = f"physical address {walk.phys:#x}, a {format_size(walk.page_size)} page"
    return (f"<b>walk of {virt:#x}</b> ({page_table.mode.name}): {walk.memory_references} memory references"
            "<table class='kmw-walk'><tr><th>level</th><th>address bits</th><th>index</th><th>table pfn</th>"
            "<th>entry at</th><th>entry</th></tr>" + "".join(rows) + f"</table>&rarr; {result}")


class PageWalkView(widgets.VBox):
    """An address box and the walk of that address.

    Parameters
    ----------
    page_table : PageTable
    addr : int
        The address shown first.

    Attributes
    ----------
    address : ipywidgets.Text
        Hex or decimal; a bad entry is said in words in ``table``.
    table : ipywidgets.HTML
        The walk (:func:`walk_table_html`).
    """

    def __init__(self, page_table: PageTable, addr: int = 0) -> None:
        self.page_table = page_table
        self.address = widgets.Text(value=f"{addr:#x}", description="address",
                                    layout=widgets.Layout(width="320px"), style={"description_width": "60px"})
        self.table = widgets.HTML()
        self.address.observe(lambda _change: self.refresh(), names="value")
        super().__init__(children=[self.address, self.table])
        self.add_class("kmw-page-walk")   # browser tests find the view by it
        self.refresh()

    def show(self, page_table: PageTable, addr: int | None = None) -> None:
        """Walk another address space (and address)."""
        self.page_table = page_table
        if addr is not None and self.address.value != f"{addr:#x}":
            self.address.value = f"{addr:#x}"          # observe() refreshes
        else:
            self.refresh()

    def refresh(self) -> None:
        try:
            virt = int(self.address.value.strip(), 0)
            self.table.value = walk_table_html(self.page_table, virt)
        except (ValueError, TypeError):
            self.table.value = html.escape(f"{self.address.value!r} is not an address: type hex (0x7f...) or decimal")
        except Exception as error:  # noqa: BLE001 - a model error (non-canonical address) said in words
            self.table.value = html.escape(str(error))
