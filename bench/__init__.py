"""Benchmarks (see bench/README.md); this module holds the helpers they share.

Run the scripts from the repository root, e.g. ``.venv/bin/python bench/accuracy.py``.
Their reports are markdown, so the same text reads on a terminal and in docs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def pct(x: float | None, digits: int = 1) -> str:
    """0.9731 -> '97.3 %'; None -> '–'."""
    return "–" if x is None else f"{100 * x:.{digits}f} %"


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return quantile(values, 0.5)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
             right: Sequence[int] = ()) -> str:
    """A markdown table with padded columns; ``right`` lists right-aligned column indexes."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))) + " |"

    sep = "|" + "|".join(
        "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])
