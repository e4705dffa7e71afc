"""Reading the real boot logs kept in fixtures/ (each file names its source in its header)."""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
_PREFIX = re.compile(r"^\[\s*[\d.]+\] ")


def fixture_lines(name: str) -> list[str]:
    """The log lines of a fixture, without comments, elisions ("...") and printk timestamps."""
    out = []
    for line in (FIXTURES / name).read_text().splitlines():
        if line.startswith("#") or line.strip() == "...":
            continue
        out.append(_PREFIX.sub("", line))
    return out


def fixture_text(name: str) -> str:
    return "\n".join(fixture_lines(name)) + "\n"
