"""How every view updates a bqplot mark so that JupyterLab, Notebook 7 and Voilà all repaint it.

Two front-end facts decide this (both seen in the three front ends, see docs/views.md):

* bqplot's ``Image`` mark redraws when its ``image`` trait gets a *new* ``ipywidgets.Image``; a new
  ``value`` of the same ``Image`` widget is synced but never drawn.  :func:`replace_image` gives the
  mark a new widget each time and closes the old one, so no widget model leaks.
* An ``OrdinalScale`` without a ``domain`` takes the order in which its marks report their
  categories; a view rebuilt from existing widget state (a reload, a re-display, every Voilà page)
  may get ``0, 10, 1, 2, ...``.  :func:`set_categories` states the domain with the data.

The tick helpers give whole-number or power-of-two tick values, never bqplot's guesses, so an
empty plot does not read ``0 0 0 1 1 1`` and a pfn axis steps by round hex numbers.
"""

from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import numpy as np

__all__ = ["replace_image", "set_categories", "integer_ticks", "pow2_ticks", "plural"]


def replace_image(mark, png: bytes) -> widgets.Image:
    """Give ``mark`` (a ``bqplot.Image``) a new ``ipywidgets.Image`` holding ``png``; close the old one."""
    old = mark.image
    mark.image = new = widgets.Image(value=png, format="png")
    if old is not None and old is not new:
        old.close()
    return new


def set_categories(mark, scale, categories: Sequence[str], **data) -> None:
    """Set an ordinal mark's ``x`` and the scale's ``domain`` together, plus any other data traits.

    The domain is set first: a mark drawn with categories its scale does not know yet is drawn nowhere.
    """
    labels = [str(category) for category in categories]
    with mark.hold_sync():
        if list(scale.domain) != labels:
            scale.domain = labels
        mark.x = labels
        for name, value in data.items():
            setattr(mark, name, value)


def _nice_step(span: float, wanted: int) -> int:
    raw = max(span / max(wanted, 1), 1.0)
    magnitude = 10 ** int(np.floor(np.log10(raw)))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def integer_ticks(top: float, wanted: int = 5, bottom: float = 0.0) -> np.ndarray:
    """Whole-number ticks from ``bottom`` to at least ``top`` in steps of 1, 2 or 5 times a power of ten.

    >>> integer_ticks(1).tolist(), integer_ticks(32).tolist()
    ([0.0, 1.0], [0.0, 10.0, 20.0, 30.0])
    """
    step = _nice_step(max(top - bottom, 1.0), wanted)
    start = np.ceil(bottom / step) * step
    return np.arange(start, top + 1e-9, step, dtype=float)      # never a tick past the end of the scale


def pow2_ticks(low: float, high: float, wanted: int = 6) -> np.ndarray:
    """Ticks at multiples of a power of two between ``low`` and ``high`` (a pfn axis reads 0x100, 0x200 ...).

    >>> [hex(int(t)) for t in pow2_ticks(0x10, 0x3f0)]
    ['0x100', '0x200', '0x300']
    """
    span = max(high - low, 1.0)
    step = 1 << max(0, int(np.ceil(np.log2(span / max(wanted, 1)))))
    start = int(np.ceil(low / step)) * step
    return np.arange(start, high + 1e-9, step, dtype=float)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 object``, ``2 objects``, ``1,024 pages``.

    >>> plural(1, "object"), plural(2, "slab"), plural(1024, "page"), plural(2, "entry", "entries")
    ('1 object', '2 slabs', '1,024 pages', '2 entries')
    """
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
