"""The last events of a machine as the lines of /sys/kernel/tracing/trace (Linux 6.18 formats, see
:func:`kernelmem_widgets.model.events.format_event`)."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..model.page_alloc.buddy import Zone
from ..model.events import Trace
from ._binding import ModelWatcher

__all__ = ["TraceView"]


class TraceView(widgets.VBox):
    """The last ``lines`` lines of ``machine.trace``, in monospace, redrawn once per user action.

    Tracepoints carry ftrace's context prefix (task-pid, CPU, flags, timestamp:
    ``trace_print_context()``, kernel/trace/trace_output.c, Linux 6.18); a failed allocation's
    ``warn_alloc()`` report shows as ``# dmesg:`` lines, the model's own events as ``# model:``.

    Parameters
    ----------
    model : Machine or Zone
        A machine's own trace is shown; a bare zone gets a trace of its bus from now on.
    lines : int
        How many of the most recent lines to show.

    Attributes
    ----------
    lines : list of str
        The lines shown.
    html : ipywidgets.HTML
    redraw_count : int

    Examples
    --------
    >>> from kernelmem_widgets.model import Machine
    >>> machine = Machine.preset("linux-6.18-tiny")
    >>> view = TraceView(machine, lines=2)
    >>> _ = machine.alloc_pages("GFP_HIGHUSER_MOVABLE", 0)
    >>> print(view.lines[0])
           kernelmem-1000    [000] .....     0.000001: mm_page_alloc: page=ffffea0000000000 pfn=0x0 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
    """

    def __init__(self, model, *, lines: int = 12) -> None:
        self.nr_lines = lines
        self.redraw_count = 0
        self.lines: list[str] = []
        # a machine keeps its trace; a bare zone has none, so this view records one for it
        self._own_trace = Trace(model.bus) if isinstance(model, Zone) else None
        self.trace = self._own_trace if self._own_trace is not None else model.trace
        self.watcher = ModelWatcher(model, on_change=self.redraw, all_zones=True)
        self.title = widgets.HTML(f"<b>trace</b> (last {lines} events, as in /sys/kernel/tracing/trace)")
        self.html = widgets.HTML(layout=widgets.Layout(width="100%"))
        super().__init__(children=[self.title, self.html])
        self.redraw()

    def redraw(self) -> None:
        """Show the newest lines of the trace."""
        self.lines = self.trace.lines(last=self.nr_lines)
        body = "\n".join(html.escape(line) for line in self.lines) or "(no events yet)"
        self.html.value = (f"<pre style='font-family:monospace;font-size:11.5px;line-height:1.35;margin:0;"
                           f"white-space:pre-wrap;overflow-wrap:anywhere'>{body}</pre>")
        self.redraw_count += 1

    def close(self) -> None:
        self.watcher.close()
        if self._own_trace is not None:
            self._own_trace.close()
        super().close()
