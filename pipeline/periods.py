"""Periods OCR dropped after abbreviations ("Contractors, Inc" for "Contractors, Inc.").

Sparse-text OCR often leaves out a full stop standing alone after a word; after "Inc",
"Corp", "Co", "Ltd", "Jr", "Sr" and "St" it is part of a name or an address, and a record
without it is wrong.  The dot is looked for in the page image: a small, compact blob on the
word's baseline just right of it, with nothing above it (a letter would have).
"""

from __future__ import annotations

import re

import numpy as np

from pipeline.types import Word

ABBREVIATIONS = re.compile(r"^(?:Inc|INC|Corp|CORP|Co|CO|Ltd|LTD|Jr|JR|Sr|SR|St|ST)$")


def restore_periods(words: list[Word], image: np.ndarray) -> list[Word]:
    """The words, with "." appended to abbreviations whose dot is printed but was not read."""
    out = []
    for w in words:
        if ABBREVIATIONS.match(w.text) and _dot_after(w, words, image):
            w = Word(w.text + ".", w.bbox, w.conf, w.page)
        out.append(w)
    return out


def _dot_after(w: Word, words: list[Word], image: np.ndarray) -> bool:
    x0, y0, x1, y1 = w.bbox
    h = y1 - y0
    if h < 8:
        return False
    reach = x1 + max(3, round(0.5 * h))
    # A word read there already (the dot read on its own, or the next word) decides.
    if any(o is not w and x1 - 2 <= o.x0 < reach and o.y0 < y1 and o.y1 > y0 for o in words):
        return False
    top, bottom = y0 + round(0.5 * h), y1 + round(0.15 * h)
    upper = image[y0:top, x1 + 1:reach]
    lower = image[top:bottom, x1 + 1:reach]
    if lower.size == 0 or upper.size == 0:
        return False
    ink_level = (int(image[y0:y1, x0:x1].min()) + 255) // 2  # halfway from the word's ink
    if (upper < ink_level).any():
        return False
    ys, xs = np.nonzero(lower < ink_level)
    if len(ys) < 3:
        return False
    bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    # A dot: about as wide as tall, a fifth of the letters' height or less, and solid.
    return bw <= 0.3 * h and bh <= 0.3 * h and len(ys) >= 0.4 * bw * bh
