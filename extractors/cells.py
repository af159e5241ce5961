"""Cells of the coverage grid: the words in a column's cell, the ruled row around a line,
the form's printed "$" in a limit cell, and what an amount's word looks like."""

from __future__ import annotations

import re

import numpy as np

from extractors import normalize as nz
from extractors.fields import INK_GRAY, join_words, text_lines
from extractors.grid import Grid
from extractors.layout import PageLayout
from pipeline.reread import INSET
from pipeline.types import BBox, Word


def col_words(layout: PageLayout, grid: Grid, col: str, y0: float, y1: float) -> list[Word]:
    if col not in grid.cols:
        return []
    x0, x1 = grid.cols[col]
    return layout.words_in(x0 + 2, y0 + 2, x1 - 2, y1 - 2)


def row_bounds(layout: PageLayout, grid: Grid, line: list[Word]) -> tuple[float, float]:
    """The ruled row around a line of words in the grid (else the line's height, padded)."""
    x0, x1 = grid.cols.get("H_TYPE", (0, layout.page.width))
    top, bottom = min(w.y0 for w in line), max(w.y1 for w in line)
    h = bottom - top
    spans = [r.y0 for r in layout.hrules if r.x0 <= x0 + 20 and r.x1 >= x1 - 20]
    above = [y for y in spans if top - 2 * h <= y <= top + 2]
    below = [y for y in spans if bottom - 2 <= y <= bottom + 2 * h]
    return (max(above) if above else top - 0.6 * h, min(below) if below else bottom + 0.6 * h)


def first_line(words: list[Word], ok) -> list[Word]:
    for line in text_lines(words):
        if ok(join_words(line)):
            return line
    return []


def printed_sign_end(layout: PageLayout, cell: BBox, h: float) -> float:
    """Where the form's "$" ends in a limit cell whole-page OCR read no sign in: the first
    blot of ink from the cell's left, if it is no wider than a character and a gap follows;
    else 1.5 character heights in, where a typed amount does not start."""
    img = layout.page.image
    x0, y0, x1, y1 = cell
    fallback = x0 + 1.5 * h
    if img is None:
        return fallback
    band = img[y0 + INSET:y1 - INSET, x0 + INSET:x1 - INSET]
    if band.size == 0:
        return fallback
    cols = (band < INK_GRAY).sum(axis=0) > 0
    inked = np.flatnonzero(cols)
    if not inked.size or inked[0] > 1.5 * h:
        return fallback
    start = int(inked[0])
    gaps = np.flatnonzero(~cols[start:])
    if not gaps.size:
        return fallback
    end = start + int(gaps[0])  # first blank column after the blot
    rest = np.flatnonzero(cols[end:])
    gap = int(rest[0]) if rest.size else len(cols) - end
    if end - start <= 0.9 * h and gap >= 0.3 * h:
        return x0 + INSET + end
    return fallback


def amount_like(text: str) -> bool:
    """A word of an amount: it carries digits, or is a short amount whose 1 OCR read as a
    letter ("$IM"; not "GOOD" or "SOS", which a look-alike fold would make amounts of)."""
    return any(c.isdigit() for c in text) or (
        _SHORT_SHAPE.fullmatch(text) is not None and nz.parse_money(text)[0] is not None)


_SHORT_SHAPE = re.compile(r"\$[^\s$]{1,4}[MK]", re.IGNORECASE)
