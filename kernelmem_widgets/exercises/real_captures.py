"""Real captures of /proc files, cited, for chapters to set the model's output beside.

Each capture is a short excerpt, kept as text exactly as the source shows it (or, where the
source only gives the numbers, rebuilt in the kernel's format and said so).
"""

from __future__ import annotations

from ..model.procfs import parse_buddyinfo

__all__ = ["REAL_AGED_BUDDYINFO", "REAL_AGED_SOURCE", "free_share_by_order", "compare_buddyinfo"]

#: The Normal zone of node 1 of a production Ubuntu server whose compaction failed ~10 times as
#: often as it succeeded (canonical/hotsos issue #526, 2023-02-17,
#: https://github.com/canonical/hotsos/issues/526).  hotsos printed the counts per order as
#: YAML; the line below is the same numbers in frag_show_print()'s format.
REAL_AGED_BUDDYINFO = (
    "Node 1, zone   Normal 426212 143208  42644  13656   1167      0      0      0      0      0      0 \n"
)
REAL_AGED_SOURCE = "https://github.com/canonical/hotsos/issues/526 (node 1, zone Normal)"


def free_share_by_order(counts: list[int]) -> list[float]:
    """The share of free pages held in blocks of each order (blocks << order, normalised)."""
    pages = [count << order for order, count in enumerate(counts)]
    total = sum(pages)
    return [page / total if total else 0.0 for page in pages]


def compare_buddyinfo(machine, zone: str = "Normal") -> str:
    """The model's zone and the real aged machine's Normal zone, side by side per order.

    >>> from kernelmem_widgets.model import Machine
    >>> print(compare_buddyinfo(Machine.preset("linux-6.18-x86_64", ram="8G")).splitlines()[0])
    order   model Normal blocks  share of free   real aged Normal blocks  share of free
    """
    model_counts = parse_buddyinfo(_model_line(machine, zone))
    model = next(iter(model_counts.values()))
    real = next(iter(parse_buddyinfo(REAL_AGED_BUDDYINFO).values()))
    model_share, real_share = free_share_by_order(model), free_share_by_order(real)
    lines = [f"order   model {zone} blocks  share of free   real aged Normal blocks  share of free"]
    for order in range(max(len(model), len(real))):
        lines.append(f"{order:>5} {_cell(model, order):>20} {_share(model_share, order):>14} "
                     f"{_cell(real, order):>25} {_share(real_share, order):>14}")
    lines.append(f"real capture: {REAL_AGED_SOURCE}")
    return "\n".join(lines)


def _model_line(machine, zone: str) -> str:
    from ..model.procfs import render_buddyinfo

    return render_buddyinfo(machine.zone(zone))


def _cell(counts: list[int], order: int) -> str:
    return f"{counts[order]:,}" if order < len(counts) else "-"


def _share(shares: list[float], order: int) -> str:
    return f"{shares[order]:.1%}" if order < len(shares) else "-"
