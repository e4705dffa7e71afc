"""Request traces: what a library's calls to malloc/free look like, seeded or written out literally.

A trace is a sequence of operations ``("malloc", id, size)`` and ``("free", id, 0)``; ids number
the allocations in the order they are made.  The literal form is ostep-like: ``"+100"`` allocates
100 bytes (the next id), ``"-3"`` frees allocation 3, separated by commas, spaces or new lines
(``"+100, +24, -0, +800"``); ``#`` starts a comment.

The generators draw every choice from ``numpy.random.default_rng(seed)``: the same seed gives the
same trace.  Sizes are 4-800 bytes, the range of the library in chapter 7's question.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from ..errors import InvalidOperation
from .os_err import check_int

__all__ = ["RequestTrace", "parse_trace", "uniform_trace", "bimodal_trace", "protocol_stack_trace", "TRACE_KINDS"]

_TOKEN = re.compile(r"^([+-])(\d+)$")


class RequestTrace:
    """An immutable sequence of ``(op, id, size)``; ``op`` is ``"malloc"`` or ``"free"``.

    Examples
    --------
    >>> trace = parse_trace("+100, +24, -0, +800")
    >>> trace.ops
    (('malloc', 0, 100), ('malloc', 1, 24), ('free', 0, 0), ('malloc', 2, 800))
    >>> trace.to_text(), trace.peak_live_bytes()
    ('+100, +24, -0, +800', 824)
    """

    def __init__(self, ops: Iterable[tuple[str, int, int]], name: str = "trace") -> None:
        ops = tuple((str(op), int(ident), int(size)) for op, ident, size in ops)
        sizes: dict[int, int] = {}
        live: set[int] = set()
        for position, (op, ident, size) in enumerate(ops):
            if op == "malloc":
                if ident in sizes:
                    raise InvalidOperation(f"operation {position}: allocation {ident} is made twice")
                if size < 0:
                    raise InvalidOperation(f"operation {position}: size {size} is negative")
                sizes[ident] = size
                live.add(ident)
            elif op == "free":
                if ident not in live:
                    raise InvalidOperation(f"operation {position}: free of allocation {ident}, which is not live")
                live.remove(ident)
            else:
                raise InvalidOperation(f"operation {position}: {op!r} is neither malloc nor free")
        self.ops, self.name = ops, name

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self):
        return iter(self.ops)

    def __repr__(self) -> str:
        return f"RequestTrace({self.name!r}, {len(self.ops)} operations, {len(self.sizes())} allocations)"

    def sizes(self) -> np.ndarray:
        """The size of every allocation, in order."""
        return np.array([size for op, _, size in self.ops if op == "malloc"], dtype=np.int64)

    def histogram(self) -> dict[int, int]:
        """``{size: number of requests}``, sizes ascending."""
        values, counts = np.unique(self.sizes(), return_counts=True)
        return dict(zip(values.tolist(), counts.tolist()))

    def live_bytes(self) -> np.ndarray:
        """Requested bytes live after each operation."""
        sizes, out, total = {}, np.zeros(len(self.ops), dtype=np.int64), 0
        for position, (op, ident, size) in enumerate(self.ops):
            if op == "malloc":
                sizes[ident] = size
                total += size
            else:
                total -= sizes[ident]
            out[position] = total
        return out

    def peak_live_bytes(self) -> int:
        return int(self.live_bytes().max(initial=0))

    def peak_live_count(self) -> int:
        count = peak = 0
        for op, _, _ in self.ops:
            count += 1 if op == "malloc" else -1
            peak = max(peak, count)
        return peak

    def to_text(self) -> str:
        """The literal form (``"+100, -0"``)."""
        return ", ".join(f"+{size}" if op == "malloc" else f"-{ident}" for op, ident, size in self.ops)


def parse_trace(text: str, name: str = "literal") -> RequestTrace:
    """Read the literal form; a token that is not ``+SIZE`` or ``-ID`` raises :class:`InvalidOperation`."""
    if not isinstance(text, str):
        raise InvalidOperation(f"a trace is text such as '+100, +24, -0', not {type(text).__name__}")
    ops, next_id = [], 0
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        for token in re.split(r"[,\s]+", line.strip()):
            if not token:
                continue
            match = _TOKEN.match(token)
            if match is None:
                raise InvalidOperation(f"line {number}: {token!r} is not an operation; accepted: +SIZE (malloc SIZE "
                                       "bytes) or -ID (free allocation number ID, counting from 0)")
            sign, value = match.group(1), int(match.group(2))
            if sign == "+":
                ops.append(("malloc", next_id, value))
                next_id += 1
            else:
                ops.append(("free", value, 0))
    return RequestTrace(ops, name)


def _lifetime_trace(n: int, seed: int, draw, name: str) -> RequestTrace:
    """``n`` allocations; ``draw(rng)`` gives (size, lifetime in allocations); frees happen when due."""
    n = check_int(n, "n", minimum=0, maximum=10_000_000)
    seed = check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    ops: list[tuple[str, int, int]] = []
    due: dict[int, list[int]] = {}
    for ident in range(n):
        for old in due.pop(ident, ()):
            ops.append(("free", old, 0))
        size, lifetime = draw(rng)
        ops.append(("malloc", ident, int(size)))
        due.setdefault(ident + max(1, int(lifetime)), []).append(ident)
    for when in sorted(due):
        for old in due[when]:
            ops.append(("free", old, 0))
    return RequestTrace(ops, name)


def uniform_trace(n: int = 2000, seed: int = 0, *, low: int = 4, high: int = 800, mean_life: float = 16) -> RequestTrace:
    """Sizes uniform in ``[low, high]``, lifetimes geometric with mean ``mean_life`` allocations."""
    return _lifetime_trace(n, seed, lambda rng: (rng.integers(low, high + 1), rng.geometric(1 / mean_life)),
                           f"uniform {low}-{high} B, seed {seed}")


def bimodal_trace(n: int = 2000, seed: int = 0, *, small: Sequence[int] = (4, 64), large: Sequence[int] = (512, 800),
                  p_small: float = 0.8, mean_life: float = 16) -> RequestTrace:
    """Mostly small requests (``p_small``), the rest large: the shape that defeats a single block size."""
    def draw(rng):
        low, high = small if rng.random() < p_small else large
        return rng.integers(low, high + 1), rng.geometric(1 / mean_life)
    return _lifetime_trace(n, seed, draw, f"bimodal {small[0]}-{small[1]} / {large[0]}-{large[1]} B, seed {seed}")


def protocol_stack_trace(n: int = 2000, seed: int = 0) -> RequestTrace:
    """A protocol stack: short-lived small headers and control blocks, medium packets, a few large
    buffers held for a long time (a connection's receive window).

    Sizes: 70 % 8-64 bytes living ~4 allocations, 25 % 128-320 bytes living ~20, 5 % 600-800 bytes
    living ~300.
    """
    def draw(rng):
        kind = rng.random()
        if kind < 0.70:
            return rng.integers(8, 65), rng.geometric(1 / 4)
        if kind < 0.95:
            return rng.integers(128, 321), rng.geometric(1 / 20)
        return rng.integers(600, 801), rng.geometric(1 / 300)
    return _lifetime_trace(n, seed, draw, f"protocol stack, seed {seed}")


#: The seeded generators by name (the lab's trace menu).
TRACE_KINDS = {"uniform": uniform_trace, "bimodal": bimodal_trace, "protocol stack": protocol_stack_trace}
