"""How a view follows its model: which zone it draws, and when it redraws.

A view is bound to a :class:`~kernelmem_widgets.model.Machine` (plus a zone name) or to a bare
:class:`~kernelmem_widgets.model.Zone`.  Bound to a machine, it looks the zone up again at
every redraw, because ``Machine.reset()`` builds new zone objects.
"""

from __future__ import annotations

from typing import Callable

from ..model.page_alloc.buddy import Zone
from ..model.errors import InvalidArgument
from ..model.events import Event

__all__ = ["ModelWatcher", "INTERMEDIATE_EVENTS", "zone_name_for"]

#: Events always followed by another of the same operation: redrawing on them would draw a
#: state half way through one call (the fallback before its ``mm_page_alloc``).
INTERMEDIATE_EVENTS = frozenset({"mm_page_alloc_extfrag", "mm_compaction_begin", "mm_compaction_migratepages"})


def zone_name_for(model, zone: str | Zone | None) -> str:
    """The name of the zone a view of ``model`` draws: the given one, else the highest populated zone."""
    if isinstance(model, Zone):
        if zone is not None and (zone if isinstance(zone, str) else zone.name).lower() != model.name.lower():
            raise InvalidArgument(f"the view is bound to zone {model.name}; it cannot draw zone {zone!r}")
        return model.name
    if zone is None:
        return model.zones[-1].name
    return model.zone(zone if isinstance(zone, str) else zone.name).name


class ModelWatcher:
    """Subscribe to a model's bus and call ``on_change`` once per user action.

    Parameters
    ----------
    model : Machine or Zone
        What the view draws; its ``bus`` is the change signal.
    zone : str or Zone, optional
        The zone of a machine to follow (default: its highest populated zone).
    on_change : callable
        Called with no argument when the zone changed and no batch is open.
    on_reset : callable, optional
        Called at once on the machine's ``reset`` event (to drop view state such as a history).
    all_zones : bool
        Redraw for events of every zone (the trace), not only the followed one.
    """

    def __init__(self, model, zone: str | Zone | None = None, *, on_change: Callable[[], None],
                 on_reset: Callable[[], None] | None = None, all_zones: bool = False) -> None:
        self.machine = None if isinstance(model, Zone) else model
        self._bare_zone = model if isinstance(model, Zone) else None
        self.zone_name = zone_name_for(model, zone)
        self.bus = model.bus
        self.all_zones = all_zones
        self.dirty = False
        self._on_change, self._on_reset = on_change, on_reset
        self._unsubscribe = self.bus.subscribe(self._on_event)

    @property
    def zone(self) -> Zone:
        """The zone as the model holds it now (a machine's zones are new objects after a reset)."""
        return self._bare_zone if self.machine is None else self.machine.zone(self.zone_name)

    @property
    def page_size(self) -> int:
        """The machine's page size (a bare zone is taken to have 4 KiB pages)."""
        return 4096 if self.machine is None else self.machine.page_size

    def zone_names(self) -> list[str]:
        """The zones this watcher could follow."""
        return [self.zone_name] if self.machine is None else [zone.name for zone in self.machine.zones]

    def select_zone(self, zone: str | Zone) -> None:
        """Follow another zone of the machine."""
        self.zone_name = zone_name_for(self.machine if self.machine is not None else self._bare_zone, zone)

    def _concerns_me(self, event: Event) -> bool:
        zone = event.data.get("zone")
        return self.all_zones or zone is None or zone == self.zone_name

    def _on_event(self, event: Event) -> None:
        if event.kind == "reset":
            self.dirty = True
            if self._on_reset is not None:
                self._on_reset()
        elif event.kind != "batch_end" and self._concerns_me(event):
            self.dirty = True
        # inside a batch (aging, compaction, one lab action) only remember; draw on batch_end
        if self.dirty and not self.bus.in_batch and event.kind not in INTERMEDIATE_EVENTS:
            self.dirty = False
            self._on_change()

    def close(self) -> None:
        self._unsubscribe()
