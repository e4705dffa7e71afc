"""A digest of a lab's model, for "replay gives exactly the state before" (tests/labs/test_lab_history.py).

It is tests/model/contract_helpers.fingerprint (every value reachable from the machine, in order)
without what replaying cannot and need not reproduce: the event bus (its subscribers and its count
of events emitted so far), the trace of the last 2,000 events, and ``Machine._plans``, a cache of
zonelist plans filled on first use; and dicts keyed by ``id()`` of an object compare by their values.
"""

from __future__ import annotations

import hashlib
import types
from collections import deque

import numpy as np

from kernelmem_widgets.model.events import EventBus, Trace

_SCALARS = (int, float, complex, str, bool, type(None))
_FLAT = {int, str, float, bool, type(None)}
_SKIP = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.BuiltinMethodType, type,
         types.ModuleType)
_LEFT_OUT = (EventBus, Trace)
_CACHES = {"_plans"}
#: Dicts keyed by ``id()`` of an object (the slab layer's ``_by_cache``): their values are compared in order
_ID_KEYED = {"_by_cache"}


def state_digest(root) -> str:
    """A digest of everything reachable from ``root`` but the bus, the trace and caches."""
    digest = hashlib.blake2b(digest_size=20)
    seen: dict[int, int] = {}
    keep_alive = []
    stack = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, _SCALARS):
            digest.update(f"{type(value).__name__}:{value!r};".encode())
            continue
        if isinstance(value, _LEFT_OUT):
            digest.update(f"left-out:{type(value).__name__};".encode())
            continue
        if isinstance(value, (bytes, bytearray, memoryview)):
            digest.update(b"bytes:" + bytes(value) + b";")
            continue
        if isinstance(value, np.ndarray):
            digest.update(f"nd:{value.dtype.str}{value.shape}:".encode() + np.ascontiguousarray(value).tobytes())
            continue
        if isinstance(value, np.random.Generator):
            digest.update(f"rng:{value.bit_generator.state!r};".encode())
            continue
        if isinstance(value, np.generic):
            digest.update(f"np:{value!r};".encode())
            continue
        if isinstance(value, _SKIP) or callable(value) and not hasattr(value, "__dict__"):
            digest.update(f"fn:{getattr(value, '__qualname__', type(value).__name__)};".encode())
            continue
        if isinstance(value, deque):
            digest.update(f"deque:{value!r};".encode())
            continue
        if isinstance(value, (list, tuple)) and all(type(item) in _FLAT for item in value):
            digest.update(f"{type(value).__name__}:{list(value)!r};".encode())
            continue
        if id(value) in seen:
            digest.update(f"@{seen[id(value)]};".encode())
            continue
        seen[id(value)] = len(seen)
        keep_alive.append(value)
        children: list = []
        if isinstance(value, dict):
            digest.update(f"dict{len(value)}:".encode())
            for key, item in value.items():
                children += [key, item]
        elif isinstance(value, (list, tuple, deque)):
            digest.update(f"{type(value).__name__}{len(value)}:".encode())
            children = list(value)
        elif isinstance(value, (set, frozenset)):
            digest.update(f"set{len(value)}:".encode())
            children = sorted(value, key=repr)
        else:
            digest.update(f"obj:{type(value).__qualname__}:".encode())
            names = sorted(set(getattr(value, "__dict__", {}))
                           | {slot for cls in type(value).__mro__ for slot in getattr(cls, "__slots__", ())})
            for name in names:
                if name in _ID_KEYED and isinstance(getattr(value, name, None), dict):
                    children += [name, list(getattr(value, name).values())]
                elif name not in _CACHES and hasattr(value, name):
                    children += [name, getattr(value, name)]
        stack.extend(reversed(children))
    return digest.hexdigest()
