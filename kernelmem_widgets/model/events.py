"""Events: every public mutation of a model announces what happened.

Views subscribe to a model's :class:`EventBus` and redraw from the model's snapshot methods; the
same stream, formatted by :func:`format_event`, is the trace a student reads: the tracepoints in
the TP_printk formats of include/trace/events/kmem.h, compaction.h and cma.h (Linux 6.18) with
the ftrace line prefix of kernel/trace/trace_output.c; an allocation failure as the kernel log
lines of ``warn_alloc()``; the model's own events (no tracepoint) labelled ``# model:``.
"""

from __future__ import annotations

import warnings
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["Event", "EventBus", "Trace", "TraceLayout", "format_event", "ftrace_prefix", "warn_alloc_lines"]


class Event:
    """One thing that happened: a kind (the tracepoint's name) and a small dict of facts."""

    __slots__ = ("kind", "data")

    def __init__(self, kind: str, data: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.data = {} if data is None else data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and (self.kind, self.data) == (other.kind, other.data)

    __hash__ = None  # compares by value; its dict makes it unhashable

    def __repr__(self) -> str:
        return f"Event({self.kind!r}, {self.data!r})"


Listener = Callable[[Event], None]


class EventBus:
    """A per-model change signal.

    ``batch()`` marks a run of mutations that belongs to one user action (aging a machine,
    compacting a zone): listeners still see every event, ``in_batch`` is true meanwhile, and a
    final ``batch_end`` event tells views that now is the time to redraw.
    """

    __slots__ = ("listeners", "recorder", "active", "_depth", "_emitted", "listener_errors")

    def __init__(self) -> None:
        self.listeners: tuple[Listener, ...] = ()
        #: One raw ``(kind, data)`` sink (the machine's :class:`Trace`): it is on from boot, so it
        #: gets a tuple appended in C instead of an :class:`Event` and a Python call per event.
        self.recorder: Callable[[tuple[str, dict[str, Any]]], None] | None = None
        #: Whether anything would see an event: hot paths test it before building one.
        self.active = False
        self._depth = 0
        #: Events emitted so far: a batch in which nothing happened ends without a ``batch_end``
        self._emitted = 0
        #: The last exceptions raised by listeners, as ``(listener, exception)``: a listener's bug
        #: must not escape a model call after the model changed (the caller would lose the result)
        self.listener_errors: deque[tuple[Listener, BaseException]] = deque(maxlen=20)

    def set_recorder(self, recorder: Callable[[tuple[str, dict[str, Any]]], None] | None) -> None:
        self.recorder = recorder
        self.active = bool(self.listeners) or recorder is not None

    @property
    def in_batch(self) -> bool:
        return self._depth > 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` after every mutation; returns a function that unsubscribes."""
        # A tuple, replaced rather than mutated, so a listener may unsubscribe during dispatch.
        self.listeners = self.listeners + (listener,)
        self.active = True

        def unsubscribe() -> None:
            self.listeners = tuple(other for other in self.listeners if other is not listener)
            self.active = bool(self.listeners) or self.recorder is not None

        return unsubscribe

    def emit(self, kind: str, **data: Any) -> None:
        """Record and dispatch one event; an exception in a listener is kept in ``listener_errors``
        and reported as a :class:`RuntimeWarning`, never raised into the model call that emitted."""
        self._emitted += 1
        if self.recorder is not None:
            self.recorder((kind, data))
        if self.listeners:
            event = Event(kind, data)
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception as error:  # noqa: BLE001 - the model already changed: keep going
                    self.listener_errors.append((listener, error))
                    warnings.warn(f"an event listener raised {type(error).__name__}: {error} (on {kind}); the "
                                  "model call went through", RuntimeWarning, stacklevel=2)

    @contextmanager
    def batch(self, name: str) -> Iterator[None]:
        """Group the events of one action; ``batch_end`` follows only if some event was emitted."""
        start = self._emitted
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._emitted != start:
                self.emit("batch_end", name=name)


def _hex(value: int) -> str:
    return f"0x{value:x}"


#: The model has no tasks: every line is written by this one (``current->comm``, ``current->pid``)
TASK_COMM, TASK_PID = "kernelmem", 1000

#: ``vmemmap_base`` of x86-64 without KASLR (Documentation/arch/x86/x86_64/mm.rst, 4-level paging)
VMEMMAP_BASE_X86_64 = 0xFFFFEA0000000000


class TraceLayout:
    """What a trace line needs from the machine: pointer width and where ``struct page`` lives.

    ``pfn_to_page(pfn)`` is ``vmemmap + pfn`` (SPARSEMEM_VMEMMAP, x86-64: 64-byte struct pages at
    ``vmemmap_base``, the value without KASLR) or ``mem_map + pfn`` (FLATMEM, 32-bit x86: 32-byte
    struct pages; the model places ``mem_map`` at ``__va(16 MiB)``, where 2.6's bootmem put it
    above ZONE_DMA; a real machine's address differs).
    """

    __slots__ = ("ptr_width", "page_base", "struct_page")

    def __init__(self, *, ptr_width: int = 16, page_base: int = VMEMMAP_BASE_X86_64, struct_page: int = 64) -> None:
        self.ptr_width, self.page_base, self.struct_page = ptr_width, page_base, struct_page

    @classmethod
    def for_config(cls, config) -> "TraceLayout":
        """The layout of a preset: 32-bit for ``arch`` i386, else x86-64's."""
        if getattr(config, "arch", "") == "i386":
            return cls(ptr_width=8, page_base=getattr(config, "page_offset", 0xC0000000) + (16 << 20),
                       struct_page=32)
        return cls()

    def ptr(self, value: int | None) -> str:
        """``%p`` in a trace event: the raw address (the ``hash-ptr`` option is off by default,
        kernel/trace/trace.c, Linux 5.12+), zero-padded like ``%px``."""
        return f"{(value or 0) & ((1 << (4 * self.ptr_width)) - 1):0{self.ptr_width}x}"

    def page(self, pfn: int | None) -> str:
        """``%p`` of ``pfn_to_page(pfn)``; NULL (a failed allocation) prints as zeros."""
        return self.ptr(None if pfn is None else self.page_base + pfn * self.struct_page)


_DEFAULT_LAYOUT = TraceLayout()

#: ``show_gfp_flags()`` (include/trace/events/mmflags.h): an empty mask prints "none"
def _gfp(d: dict[str, Any]) -> str:
    return d.get("gfp") or "none"


def _accounted(d: dict[str, Any]) -> str:
    return "true" if d.get("accounted") else "false"


def _sync(d: dict[str, Any]) -> str:
    # include/trace/events/compaction.h: __entry->sync ? "sync" : "async" (sync = mode != MIGRATE_ASYNC)
    return "async" if d.get("mode", "sync") == "async" else "sync"


# The bodies of the tracepoints the model fires, in the TP_printk formats of Linux 6.18:
# include/trace/events/kmem.h, compaction.h and cma.h.  ``call_site=%pS``: the model has no
# call sites, and %pS of 0 prints "0x0".  kmalloc() and kmem_cache_alloc() pass NUMA_NO_NODE.
_TRACEPOINTS: dict[str, Callable[[dict[str, Any], TraceLayout], str]] = {
    "mm_page_alloc": lambda d, t: (
        f"page={t.page(d['pfn'])} pfn={_hex(d['pfn'])} order={d['order']} migratetype={d['migratetype']} "
        f"gfp_flags={_gfp(d)}"),
    "mm_page_free": lambda d, t: f"page={t.page(d['pfn'])} pfn={_hex(d['pfn'])} order={d['order']}",
    "mm_page_alloc_extfrag": lambda d, t: (
        f"page={t.page(d['pfn'])} pfn={_hex(d['pfn'])} alloc_order={d['alloc_order']} "
        f"fallback_order={d['fallback_order']} pageblock_order={d['pageblock_order']} "
        f"alloc_migratetype={d['alloc_migratetype']} fallback_migratetype={d['fallback_migratetype']} "
        f"fragmenting={int(d['fragmenting'])} change_ownership={int(d['change_ownership'])}"),
    "mm_compaction_begin": lambda d, t: (
        f"zone_start={_hex(d['zone_start'])} migrate_pfn={_hex(d['migrate_pfn'])} free_pfn={_hex(d['free_pfn'])} "
        f"zone_end={_hex(d['zone_end'])}, mode={_sync(d)}"),
    "mm_compaction_migratepages": lambda d, t: f"nr_migrated={d['nr_migrated']} nr_failed={d['nr_failed']}",
    "mm_compaction_end": lambda d, t: (
        f"zone_start={_hex(d.get('zone_start', 0))} migrate_pfn={_hex(d['migrate_pfn'])} "
        f"free_pfn={_hex(d['free_pfn'])} zone_end={_hex(d.get('zone_end', 0))}, mode={_sync(d)} "
        f"status={d['status']}"),
    "kmalloc": lambda d, t: (
        f"call_site=0x0 ptr={t.ptr(d['ptr'])} bytes_req={d['bytes_req']} bytes_alloc={d['bytes_alloc']} "
        f"gfp_flags={_gfp(d)} node=-1 accounted={_accounted(d)}"),
    # the name= field: "kmem/tracing: add kmem name to kmem_cache_alloc tracepoint" (mm tree, 6.18 merge window)
    "kmem_cache_alloc": lambda d, t: (
        f"call_site=0x0 ptr={t.ptr(d['ptr'])} name={d['name']} bytes_req={d['bytes_req']} "
        f"bytes_alloc={d['bytes_alloc']} gfp_flags={_gfp(d)} node=-1 accounted={_accounted(d)}"),
    "kfree": lambda d, t: f"call_site=0x0 ptr={t.ptr(d['ptr'])}",
    "kmem_cache_free": lambda d, t: f"call_site=0x0 ptr={t.ptr(d['ptr'])} name={d['name']}",
    "cma_alloc_start": lambda d, t: f"name={d['name']} count={d['count']} align={d['align']}",
    "cma_alloc_finish": lambda d, t: (
        f"name={d['name']} pfn={_hex(d['pfn'])} page={t.page(d['pfn'] or None)} count={d['count']} "
        f"align={d['align']} errorno={d['errorno']}"),
    "cma_alloc_busy_retry": lambda d, t: (
        f"name={d['name']} pfn={_hex(d['pfn'])} page={t.page(d['pfn'])} count={d['count']} align={d['align']}"),
    "cma_release": lambda d, t: f"name={d['name']} pfn={_hex(d['pfn'])} page={t.page(d['pfn'])} count={d['count']}",
}

#: Events that are the model's own (no tracepoint in the kernel), and what each stands for
_MODEL_MARKERS: dict[str, str] = {
    "reset": "machine rebooted",
    "slab_reset": "slab layer booted again",
    "slab_new": "new slab (no tracepoint; its pages' mm_page_alloc is above)",
    "slab_free": "slab freed (no tracepoint; its pages' mm_page_free is below)",
    "kmem_cache_create": "kmem_cache_create() (no tracepoint)",
    "kmem_cache_destroy": "kmem_cache_destroy() (no tracepoint)",
    "vmalloc": "vmalloc area (no tracepoint; see /proc/vmallocinfo)",
    "vfree": "vfree (no tracepoint)",
    "module_load": "module loaded",
    "module_free": "module freed",
}

#: The label of lines that reach the kernel log, not the trace buffer
DMESG = "# dmesg: "
#: The label of the model's own markers
MODEL = "# model: "


def _data_text(data: dict[str, Any]) -> str:
    parts = []
    for key, value in data.items():
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            continue
        parts.append(f"{key}={_hex(value) if key in ('pfn', 'ptr', 'addr') and isinstance(value, int) else value}")
    return " ".join(parts)


def warn_alloc_lines(data: dict[str, Any], comm: str = TASK_COMM) -> list[str]:
    """The kernel log of a failed allocation, as ``warn_alloc()`` (mm/page_alloc.c, Linux 6.18) prints it.

    ``"%s: page allocation failure: order:%u, mode:%#x(%pGg), nodemask=%*pbl"`` with
    ``cpuset_print_current_mems_allowed()``'s ``",cpuset=/,mems_allowed=0"`` (the model's task is in the
    root cpuset of node 0), then ``dump_stack()`` and ``__show_mem()``.  The model has no CPUs' stacks
    and no page cache, so of those only the free-area lines of ``show_free_areas()`` (mm/show_mem.c)
    are printed, exactly: ``Node 0 Normal: 3*4kB (UM) 0*8kB ... = 12kB``.  Nothing is printed with
    ``__GFP_NOWARN``.
    """
    from .errors import InvalidArgument
    from .validate import as_text, in_range

    if not isinstance(data, dict):
        raise InvalidArgument(f"warn_alloc_lines({data!r:.40}): accepted: the data dict of an mm_page_alloc_failed event")
    comm = as_text(comm, "comm", "a task name of up to 15 characters (TASK_COMM_LEN 16)", limit=15)
    in_range(data.get("order"), "order", 0, 20)
    if data.get("nowarn"):
        return []
    mask = data.get("mask")
    mode = f"{mask:#x}" if isinstance(mask, int) else "0x?"
    lines = [f"{comm}: page allocation failure: order:{data['order']}, mode:{mode}({data.get('gfp') or 'none'}), "
             "nodemask=(null),cpuset=/,mems_allowed=0"]
    lines.extend(data.get("free_areas") or ())
    return lines


def format_event(event: Event, layout: TraceLayout | None = None) -> str:
    """The text one event leaves: a tracepoint's ``name: body`` in the kernel's TP_printk format.

    Models the trace event formats of include/trace/events/kmem.h, compaction.h and cma.h of
    Linux 6.18 (``mm_page_alloc: page=ffffea0000000000 pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_KERNEL``).
    A failed allocation is two things in the kernel: ``warn_alloc()``'s report in the kernel log
    (lines labelled ``# dmesg: ``) and ``trace_mm_page_alloc()`` with a NULL page
    (``__alloc_frozen_pages_noprof()`` fires it either way).  The model's own events, which have
    no tracepoint, are labelled ``# model: ``.  Several lines are joined with newlines.
    """
    if not isinstance(event, Event):
        from .errors import InvalidArgument

        raise InvalidArgument(f"format_event({event!r:.60}): accepted: an Event from a machine's bus or trace")
    if layout is not None and not isinstance(layout, TraceLayout):
        from .errors import InvalidArgument

        raise InvalidArgument(f"layout {layout!r:.40}: accepted: a TraceLayout or None (x86-64's)")
    layout = _DEFAULT_LAYOUT if layout is None else layout
    return "\n".join(_event_lines(event.kind, event.data, layout, prefix=None))


def _event_lines(kind: str, data: dict[str, Any], layout: TraceLayout, prefix: str | None) -> list[str]:
    head = "" if prefix is None else prefix
    formatter = _TRACEPOINTS.get(kind)
    try:
        if formatter is not None:
            return [f"{head}{kind}: {formatter(data, layout)}"]
        if kind == "mm_page_alloc_failed":
            report = warn_alloc_lines(data)
            lines = [DMESG + line for line in report[:1]]
            if len(report) > 1:
                lines.append(MODEL + "warn_alloc()'s CPU:, Call Trace: and Mem-Info counter lines are not modelled "
                             "(no tasks, no page cache); show_free_areas() follows")
                lines.extend(DMESG + line for line in report[1:])
            lines.append(f"{head}mm_page_alloc: page={layout.page(None)} pfn=0x0 order={data['order']} "
                         f"migratetype={data.get('migratetype', 0)} gfp_flags={_gfp(data)}")
            return lines
    except (KeyError, TypeError, ValueError):
        pass  # an event built by hand without the tracepoint's fields: shown as the model's
    what = _MODEL_MARKERS.get(kind)
    text = _data_text(data)
    return [f"{MODEL}{kind}: {text}" + (f"  [{what}]" if what else "")]


def ftrace_prefix(seq: int, cpu: int = 0, comm: str = TASK_COMM, pid: int = TASK_PID) -> str:
    """The context ``trace_print_context()`` (kernel/trace/trace_output.c, Linux 6.18) puts before
    every event: ``"%16s-%-7d "`` task and pid, ``"[%03d] "`` CPU, the five irq-info flags of
    ``trace_print_lat_fmt()`` (all ``.``: the model runs with interrupts on, no preemption count) and
    ``" %5lu.%06lu: "``.  The model has no clock: event number ``seq`` is stamped ``seq`` microseconds."""
    from .validate import as_text, in_range

    seq, cpu, pid = in_range(seq, "seq", 0, 1 << 63), in_range(cpu, "cpu", 0, 8191), in_range(pid, "pid", 0, 4194304)
    comm = as_text(comm, "comm", "a task name of up to 15 characters (TASK_COMM_LEN 16)", limit=15)
    return f"{comm:>16}-{pid:<7d} [{cpu:03d}] ..... {seq // 1_000_000:5d}.{seq % 1_000_000:06d}: "


class Trace:
    """The last ``maxlen`` events of a bus, readable as the lines of ``/sys/kernel/tracing/trace``.

    It is the bus's ``recorder``: the machine keeps one from boot, so its cost is every
    allocation's cost, and recording is one C-level deque append of a ``(kind, data)`` tuple.
    :meth:`lines` formats them on demand: tracepoints with the ftrace context of
    ``trace_print_context()`` (Linux 6.18) before them, ``warn_alloc()``'s kernel log lines and the
    model's own markers labelled as such (see :func:`format_event`).
    """

    def __init__(self, bus: EventBus, maxlen: int = 2000, *, layout: TraceLayout | None = None) -> None:
        self._raw: deque[tuple[str, dict[str, Any]]] = deque(maxlen=maxlen)
        self._bus = bus
        self.layout = _DEFAULT_LAYOUT if layout is None else layout
        bus.set_recorder(self._raw.append)

    @property
    def events(self) -> list[Event]:
        return [Event(kind, data) for kind, data in self._raw if kind != "batch_end"]

    def lines(self, last: int | None = None) -> list[str]:
        """The trace as text lines, oldest first; ``last`` keeps only the newest ``last`` lines."""
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
            from .errors import InvalidArgument

            raise InvalidArgument(f"last {last!r:.40}: accepted: a count of lines >= 0, or None for all")
        if last == 0:
            return []
        raw = list(self._raw)
        first_seq = self._bus._emitted - len(raw) + 1   # the bus numbers every event it emits
        out: list[str] = []
        # newest first until ``last`` lines are made: a 2,000-event trace is not formatted for 12 lines
        for index in range(len(raw) - 1, -1, -1):
            kind, data = raw[index]
            if kind == "batch_end":
                continue
            cpu = data.get("cpu", 0)
            prefix = ftrace_prefix(first_seq + index, cpu if cpu.__class__ is int and 0 <= cpu < 1000 else 0)
            out.extend(reversed(_event_lines(kind, data, self.layout, prefix)))
            if last is not None and len(out) >= last:
                break
        out.reverse()
        return out if last is None else out[-last:]

    def clear(self) -> None:
        self._raw.clear()

    def close(self) -> None:
        if self._bus.recorder == self._raw.append:
            self._bus.set_recorder(None)
