"""Events: every public mutation of a model announces what happened.

Views subscribe to a model's :class:`EventBus` and redraw from the model's snapshot methods; the
same stream, formatted by :func:`format_event`, is the ftrace-like trace a student reads.  The
line formats follow include/trace/events/kmem.h and compaction.h (Linux 6.18), without the
``page=`` pointer, which the kernel hashes anyway.
"""

from __future__ import annotations

import warnings
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["Event", "EventBus", "Trace", "format_event"]


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


_FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "mm_page_alloc": lambda d: (
        f"pfn={_hex(d['pfn'])} order={d['order']} migratetype={d['migratetype']} "
        + (f"gfp_flags={d['gfp']} " if d.get("gfp") else "") + f"zone={d['zone']}"
    ),
    "mm_page_free": lambda d: f"pfn={_hex(d['pfn'])} order={d['order']} zone={d['zone']}",
    "mm_page_alloc_extfrag": lambda d: (
        f"pfn={_hex(d['pfn'])} alloc_order={d['alloc_order']} fallback_order={d['fallback_order']} "
        f"pageblock_order={d['pageblock_order']} alloc_migratetype={d['alloc_migratetype']} "
        f"fallback_migratetype={d['fallback_migratetype']} fragmenting={int(d['fragmenting'])} "
        f"change_ownership={int(d['change_ownership'])}"
    ),
    "mm_page_alloc_failed": lambda d: (
        f"page allocation failure: order:{d['order']}, mode:({d['gfp']}) reason: {d['reason']}"
    ),
    "mm_compaction_begin": lambda d: (
        f"zone={d['zone']} zone_start={_hex(d['zone_start'])} migrate_pfn={_hex(d['migrate_pfn'])} "
        f"free_pfn={_hex(d['free_pfn'])} zone_end={_hex(d['zone_end'])} order={d['order']}"
    ),
    "mm_compaction_migratepages": lambda d: f"nr_migrated={d['nr_migrated']} nr_failed={d['nr_failed']}",
    "mm_compaction_end": lambda d: (
        f"zone={d['zone']} migrate_pfn={_hex(d['migrate_pfn'])} free_pfn={_hex(d['free_pfn'])} "
        f"status={d['status']}"
    ),
    # include/trace/events/kmem.h (Linux 6.18), call_site omitted, ptr printed in full (%px)
    "kmalloc": lambda d: (
        f"ptr={_hex(d['ptr'])} bytes_req={d['bytes_req']} bytes_alloc={d['bytes_alloc']} "
        f"gfp_flags={d['gfp']} node=0 accounted={'true' if d.get('accounted') else 'false'}"
    ),
    "kmem_cache_alloc": lambda d: (
        f"ptr={_hex(d['ptr'])} name={d['name']} bytes_req={d['bytes_req']} bytes_alloc={d['bytes_alloc']} "
        f"gfp_flags={d['gfp']} node=0 accounted={'true' if d.get('accounted') else 'false'}"
    ),
    "kfree": lambda d: f"ptr={_hex(d['ptr'])}",
    "kmem_cache_free": lambda d: f"ptr={_hex(d['ptr'])} name={d['name']}",
    "slab_new": lambda d: f"cache={d['cache']} pfn={_hex(d['pfn'])} order={d['order']} objects={d['objects']}",
    "slab_free": lambda d: f"cache={d['cache']} pfn={_hex(d['pfn'])} order={d['order']}",
    "vmalloc": lambda d: f"addr={_hex(d['addr'])} size={d['size']} nr_pages={d['nr_pages']} caller={d['caller']}",
    "vfree": lambda d: f"addr={_hex(d['addr'])} size={d['size']} nr_pages={d['nr_pages']}",
    "module_load": lambda d: f"{d['name']} size={d['image_size']} core={_hex(d['core'])}",
    "module_free": lambda d: f"{d['name']}",
}


def format_event(event: Event) -> str:
    """One ftrace-like line, e.g. ``mm_page_alloc: pfn=0x1200 order=3 migratetype=0 ...``."""
    formatter = _FORMATS.get(event.kind)
    if formatter is None:
        body = " ".join(f"{key}={value}" for key, value in event.data.items())
    else:
        body = formatter(event.data)
    return f"{event.kind}: {body}"


class Trace:
    """The last ``maxlen`` events of a bus, readable as ftrace-like lines.

    It is the bus's ``recorder``: the machine keeps one from boot, so its cost is every
    allocation's cost, and recording is one C-level deque append of a ``(kind, data)`` tuple.
    """

    def __init__(self, bus: EventBus, maxlen: int = 2000) -> None:
        self._raw: deque[tuple[str, dict[str, Any]]] = deque(maxlen=maxlen)
        self._bus = bus
        bus.set_recorder(self._raw.append)

    @property
    def events(self) -> list[Event]:
        return [Event(kind, data) for kind, data in self._raw if kind != "batch_end"]

    def lines(self, last: int | None = None) -> list[str]:
        events = self.events
        if last is not None:
            if isinstance(last, bool) or not isinstance(last, int) or last < 0:
                from .errors import InvalidArgument

                raise InvalidArgument(f"last {last!r:.40}: accepted: a count of lines >= 0, or None for all")
            events = events[-last:] if last else []
        return [format_event(event) for event in events]

    def clear(self) -> None:
        self._raw.clear()

    def close(self) -> None:
        if self._bus.recorder == self._raw.append:
            self._bus.set_recorder(None)
