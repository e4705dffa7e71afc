"""Arguments a lab's constructor takes, checked before any widget exists.

A constructor that fails half-way leaves a widget whose ``__del__`` complains; checking first
means a wrong argument gives one named error and nothing else.
"""

from __future__ import annotations

import numbers

from ..model.errors import InvalidArgument

__all__ = ["check_lab_args"]


def check_lab_args(machine, *, seed, ops, trace_lines: int, zone=None) -> None:
    """Raise :class:`InvalidArgument` naming the first argument a lab cannot start with."""
    if not hasattr(machine, "zones") or not hasattr(machine, "bus"):
        raise InvalidArgument(f"a lab needs a Machine (Machine.preset('linux-6.18-tiny')), not {type(machine).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidArgument(f"seed {seed!r:.40}: accepted: an integer >= 0")
    if ops is not None and (isinstance(ops, (str, bytes)) or not hasattr(ops, "__iter__")):
        raise InvalidArgument(f"ops {ops!r:.60}: accepted: a list of operations such as ['alloc 3'], or None")
    if isinstance(trace_lines, bool) or not isinstance(trace_lines, numbers.Integral) or not 0 <= trace_lines <= 200:
        raise InvalidArgument(f"trace_lines {trace_lines!r:.40}: accepted: an integer 0..200")
    if zone is not None:
        machine.zone(zone if isinstance(zone, str) else getattr(zone, "name", zone))
