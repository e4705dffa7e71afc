"""The routes table: each way to get the buffer, when it can run, what it gives now, and why.

:func:`routes_table_html` renders the rows of
:func:`~kernelmem_widgets.model.dma.routes.evaluate_routes` (the one function for them: the lab's
table and a notebook's printout show the same words); :class:`RoutesTable` is the widget that
re-evaluates on every model change (once per user action) and replaces its HTML value.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..model.dma.routes import evaluate_routes
from . import palette

__all__ = ["RoutesTable", "routes_table_html", "routes_table_text"]


def routes_table_text(results) -> list[str]:
    """Plain lines ``ok | call | when | result | why`` (what a notebook prints, what tests compare)."""
    return [f"{'yes' if r.ok else 'no ':3} | {r.route.call} | {r.route.when} | {r.result} | {r.why}" for r in results]


def routes_table_html(results) -> str:
    """An HTML table of route results, a row per route, ok/failed in colour *and* in words."""
    rows = []
    for result in results:
        color = palette.ROUTE_OK_COLOR if result.ok else palette.ROUTE_FAIL_COLOR
        call, when, now, why = (html.escape(part) for part in result.row())
        rows.append(f"<tr data-route='{result.name}'><td><code>{call}</code></td><td>{when}</td>"
                    f"<td style='color:{color};font-weight:bold'>{'yes' if result.ok else 'no'}: {now}</td>"
                    f"<td>{why}</td></tr>")
    head = "<tr><th>route</th><th>when it can run</th><th>now</th><th>why</th></tr>"
    return ("<table class='kmw-routes' style='border-collapse:collapse;font-size:12px'>"
            f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")


class RoutesTable(widgets.HTML):
    """Every route for ``device()`` and ``size()`` on ``machine``, redrawn after each user action."""

    def __init__(self, machine, device, size: int = 100 << 20) -> None:
        super().__init__()
        self.machine = machine
        self._device, self._size = device, size
        self.results = []
        self._unsubscribe = machine.bus.subscribe(self._on_event)
        self.add_class("kmw-routes-table")
        self.refresh()

    def configure(self, device=None, size: int | None = None) -> None:
        """Another device or size; redraws."""
        if device is not None:
            self._device = device
        if size is not None:
            self._size = size
        self.refresh()

    def refresh(self) -> None:
        self.results = evaluate_routes(self.machine, self._device, self._size)
        self.value = routes_table_html(self.results)

    def _on_event(self, event) -> None:
        if event.kind == "batch_end" or (not self.machine.bus.in_batch and event.kind != "batch_end"):
            self.refresh()

    def close(self) -> None:
        self._unsubscribe()
        super().close()
