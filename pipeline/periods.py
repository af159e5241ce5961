"""Periods OCR dropped after abbreviations ("Contractors, Inc" for "Contractors, Inc.").

Sparse-text OCR often leaves out a full stop standing alone after a word; after "Inc",
"Corp", "Co", "Ltd", "Jr", "Sr" and "St" it is part of a name or an address, and a record
without it is wrong.  The dot is looked for in the page image: a small, compact blob on the
word's baseline just right of it, with nothing above it (a letter would have).
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from pipeline.types import PageContent, Word

ABBREVIATIONS = re.compile(r"^(?:Inc|INC|Corp|CORP|Co|CO|Ltd|LTD|Jr|JR|Sr|SR|St|ST)$")


def restore_periods(words: list[Word], image: np.ndarray) -> list[Word]:
    """The words, with "." appended to abbreviations whose dot is printed but was not read."""
    out = []
    for w in words:
        if ABBREVIATIONS.match(w.text) and _dot_after(w, words, image):
            w = Word(w.text + ".", w.bbox, w.conf, w.page)
        out.append(w)
    return out


def dot_after(w: Word, words: list[Word], image: np.ndarray,
              offset: tuple[int, int] = (0, 0)) -> bool:
    """Whether a dot OCR did not read is printed right after ``w`` (a sentence's full stop:
    the last of a description of operations).  ``offset``: how far the page's typed words
    sit from where the extractors have them (a misprinted page, extractors/register.py)."""
    if offset != (0, 0):
        dx, dy = offset

        def moved(o: Word) -> Word:
            return replace(o, bbox=(o.x0 + dx, o.y0 + dy, o.x1 + dx, o.y1 + dy))

        near = [moved(o) for o in words if o is not w and o.y0 < w.y1 and o.y1 > w.y0]
        w = moved(w)
        words = [w, *near]
    return _dot_inside(w, image) or _dot_after(w, words, image)


def _dot_inside(w: Word, image: np.ndarray) -> bool:
    """A dot OCR left out of the text but kept in the word's box (a Courier
    "ENDORSEMENT." read "ENDORSEMENT", its box reaching over the dot): the box's last glyph
    is a dot, low, small and apart from the letters."""
    x0, y0, x1, y1 = w.bbox
    h = y1 - y0
    crop = image[max(0, y0):max(0, y1 + round(0.15 * h)), max(0, x0):max(0, x1 + 1)]
    if h < 8 or crop.size == 0:
        return False
    ink = crop < (int(crop.min()) + 255) // 2
    cols = np.flatnonzero(ink.any(axis=0))
    if len(cols) < 2:
        return False
    gaps = np.flatnonzero(np.diff(cols) > 2)  # two blank columns or more before it
    if not len(gaps):
        return False
    start = cols[gaps[-1] + 1]  # the last glyph's first column
    ys, xs = np.nonzero(ink[:, start:])
    # Low in the box, and not a speck: a few pixels, a twelfth of the letters' height across.
    return len(ys) >= 3 and ys.min() >= 0.6 * h and _dot_shaped(ys, xs, h, least=0.08)


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
    return len(ys) >= 3 and _dot_shaped(ys, xs, h)


def _dot_shaped(ys: np.ndarray, xs: np.ndarray, h: int, least: float = 0.0) -> bool:
    """Ink pixels (rows, columns) that make a dot for letters ``h`` tall: about as wide as
    tall, a fifth of their height or less (``least`` of it or more), and solid."""
    bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    return least * h <= min(bw, bh) and bw <= 0.3 * h and bh <= 0.3 * h \
        and len(ys) >= 0.4 * bw * bh


def closing_stop(text: str, last: Word, page: PageContent) -> str:
    """``text`` (a description of operations) with the full stop after its last word that
    OCR dropped, where the page shows one: of 9 descriptions misread on 81 certificates
    (seeds 5656, 5757 and 5858), 4 had lost only that, read at 0.91-0.94."""
    if page.source != "ocr" or page.image is None or not text or not text[-1].isalnum():
        return text
    return text + "." if dot_after(last, page.words, page.image, page.typed_offset) else text
