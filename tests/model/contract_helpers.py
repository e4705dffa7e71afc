"""Shared by the contract tests (issue 9): a fingerprint of a whole model, and the test budget.

``fingerprint(machine)`` walks the object graph reachable from the machine (zones and their
numpy/bytearray tables, the slab layer, vmalloc windows, module loaders, workloads, the event
trace) and digests every value in order, so that any change a refused call made, even a
reordered dict or one more ``batch_end`` in the trace, changes the digest.

The budget: a fixed number of examples per test in CI; ``KERNELMEM_LONG_TESTS=1`` multiplies
it by 20 for a local soak run.
"""

from __future__ import annotations

import hashlib
import os
import types
from collections import deque

import numpy as np

LONG = os.environ.get("KERNELMEM_LONG_TESTS") == "1"
SCALE = 20 if LONG else 1

_SCALARS = (int, float, complex, str, bool, type(None))
_FLAT = {int, str, float, bool, type(None)}
_SKIP = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.BuiltinMethodType, type,
         types.ModuleType)


def fingerprint(root) -> str:
    """A digest of everything reachable from ``root`` (functions and listeners by name only)."""
    digest = hashlib.blake2b(digest_size=20)
    seen: dict[int, int] = {}
    keep_alive = []
    stack = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, _SCALARS):
            digest.update(f"{type(value).__name__}:{value!r};".encode())
            continue
        if isinstance(value, (bytes, bytearray, memoryview)):
            digest.update(b"bytes:" + bytes(value) + b";")
            continue
        if isinstance(value, np.ndarray):
            digest.update(f"nd:{value.dtype.str}{value.shape}:".encode() + np.ascontiguousarray(value).tobytes())
            continue
        if isinstance(value, np.generic):
            digest.update(f"np:{value!r};".encode())
            continue
        if isinstance(value, _SKIP) or callable(value) and not hasattr(value, "__dict__"):
            digest.update(f"fn:{getattr(value, '__qualname__', type(value).__name__)};".encode())
            continue
        if isinstance(value, deque):  # the trace's (kind, data) records, compaction pools: plain data
            digest.update(f"deque:{value!r};".encode())
            continue
        if isinstance(value, (list, tuple)) and all(type(item) in _FLAT for item in value):
            digest.update(f"{type(value).__name__}:{list(value)!r};".encode())  # one repr: fast for long tables
            continue
        if id(value) in seen:
            digest.update(f"@{seen[id(value)]};".encode())
            continue
        if isinstance(value, (list, tuple)) and len(value) > 64:
            marks = [repr(item) if type(item) in _FLAT else seen.get(id(item)) for item in value]
            if None not in marks:  # a lookup table of objects already digested (kmalloc's size table)
                digest.update(f"refs:{marks!r};".encode())
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
                if hasattr(value, name):
                    children += [name, getattr(value, name)]
        stack.extend(reversed(children))
    return digest.hexdigest()
