"""Controls shared by the labs: order and GFP choosers, block choosers, buttons, the status line.

They only build widgets; a lab wires them to public model methods.
"""

from __future__ import annotations

import re

import ipywidgets as widgets

from ..model.page_alloc.gfp import gfp_migratetype, parse_gfp
from ..model.page_alloc.mmzone import MIGRATETYPE_NAMES
from . import palette

__all__ = ["GFP_CHOICES", "RANDOM_BLOCK", "order_dropdown", "gfp_dropdown", "block_dropdown", "block_options",
           "action_button", "status_line", "set_status", "plain_html"]

#: The GFP masks a reader can pick in the buddy lab, each with the migrate type it asks for.
GFP_CHOICES = ("GFP_KERNEL", "GFP_ATOMIC", "GFP_DMA", "GFP_DMA32", "GFP_HIGHUSER_MOVABLE",
               "GFP_KERNEL|__GFP_RECLAIMABLE")

#: The value of the "random" entry of a block dropdown.
RANDOM_BLOCK = "random"

#: At most this many blocks are listed in a block dropdown (the newest).
MAX_LISTED_BLOCKS = 200


def order_dropdown(max_order: int = 10, page_size: int = 4096, value: int = 0) -> widgets.Dropdown:
    """Orders 0..max_order, each labelled with its block size (``3 (32 KiB)``)."""
    options = [(f"{order} ({palette.size_label(page_size << order)})", order) for order in range(max_order + 1)]
    return widgets.Dropdown(options=options, value=value, description="order",
                            layout=widgets.Layout(width="170px"), style={"description_width": "45px"})


def gfp_dropdown(value: str = "GFP_KERNEL", choices: tuple[str, ...] = GFP_CHOICES) -> widgets.Dropdown:
    """GFP masks, each labelled with the migrate type the allocator will use for it."""
    options = [(f"{gfp} ({MIGRATETYPE_NAMES[gfp_migratetype(parse_gfp(gfp))]})", gfp) for gfp in choices]
    return widgets.Dropdown(options=options, value=value, description="gfp",
                            layout=widgets.Layout(width="360px"), style={"description_width": "35px"})


def block_options(blocks: list[tuple[int, int]], page_size: int = 4096) -> list[tuple[str, object]]:
    """Dropdown options: "random", then the newest blocks as ``0x1200 order 3 (32 KiB)``."""
    listed = blocks[-MAX_LISTED_BLOCKS:][::-1]
    return [("random held block", RANDOM_BLOCK)] + [
        (f"{pfn:#x} {palette.order_label(order, page_size)}", (pfn, order)) for pfn, order in listed]


def block_dropdown() -> widgets.Dropdown:
    """Which held block *free* gives back."""
    return widgets.Dropdown(options=block_options([]), value=RANDOM_BLOCK, description="block",
                            layout=widgets.Layout(width="290px"), style={"description_width": "45px"})


def action_button(description: str, tooltip: str, icon: str = "", style: str = "") -> widgets.Button:
    """A lab button; its CSS class ``kmw-<description>`` (``kmw-allocate``) lets browser tests find it."""
    button = widgets.Button(description=description, tooltip=tooltip, icon=icon, button_style=style,
                            layout=widgets.Layout(width="auto"))
    button.add_class("kmw-" + re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-"))
    return button


def plain_html(text: str) -> str:
    """Text shown as HTML as it reads: only ``&`` and ``<`` need escaping.

    >>> plain_html("order >= 3 & <b>")
    'order >= 3 &amp; &lt;b>'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;")


def status_line() -> widgets.HTML:
    """The line that says in words what the last action did, or why it failed."""
    return widgets.HTML(value="", layout=widgets.Layout(min_height="2.6em", padding="2px 4px"))


def set_status(status: widgets.HTML, text: str, *, error: bool = False) -> None:
    """Show ``text``; an error is also coloured, but says so in words (never colour alone)."""
    status.value = plain_html(text)
    status.style.text_color = palette.ERROR_COLOR if error else None
