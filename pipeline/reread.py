"""Second OCR pass over single cells the extractor asked for, in one tesseract call.

Whole-page OCR (sparse text) drops lone characters in narrow columns: the insurer letter, the
Y of ADDL INSD.  Each such cell is cut from the page, the cuts are stacked into one image
(one tesseract start-up, ~0.1 s a page, instead of ~0.1 s per cell) and read as lines of text
(psm 6) restricted to the characters the cell can hold.  The words read replace whatever the
first pass had inside those cells.
"""

from __future__ import annotations

from collections import defaultdict

import cv2
import numpy as np

from extractors.normalize import parse_money
from extractors.validate import usual_limit
from pipeline import tesseract
from pipeline.types import PAGE_DPI, PageContent, Reread, Word

PAD = 30  # white around each cut, so tesseract sees each as a separate line
INSET = 5  # pixels trimmed off each cell edge, where ruled lines run
WHITELISTED_FLOOR = 0.85


def _cut(page: PageContent, r: Reread) -> np.ndarray | None:
    x0, y0, x1, y1 = r.bbox
    crop = page.image[max(0, y0 + INSET):max(0, y1 - INSET), max(0, x0 + INSET):x1 - INSET]
    if not crop.size:
        return None
    # A fax page is already black and white, softened: thresholding it again breaks the thin
    # strokes the softening joined (1,000,000 read "1,600,000").
    return crop if page.bilevel else binarize(crop)


def binarize(crop: np.ndarray) -> np.ndarray:
    """Black on white.  Tesseract read a lone gray "Y" in the workers compensation box as
    nothing at any scale, and the same crop thresholded as "Y" (0.81).  A crop without ink
    goes in white, since Otsu on paper alone would make speckles of its grain."""
    if float(np.percentile(crop, 1)) > 150:
        return np.full_like(crop, 255)
    _, out = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return out


# What a date or an amount cell can hold, for reading it alone.
DATE_CHARS = "0123456789/"
MONEY_CHARS = "0123456789$,."


def _likelier_amount(first: list[Word], second: list[Word]) -> list[Word]:
    """Of two models' readings of a fax's amount cell, the one that is an amount, a usual
    one, then the surer.  Neither model reads every face's broken strokes: on a thin
    Courier the fast one read "1,000,909" where the standard one read 1,000,000
    (tests/resources/fax_limits_cells.png); on a thin Times the standard one read "", "000"
    and "0" where the fast one read 1,000,000 and 500,000 (fax-6464-002: 557 of its seed's
    656 fax fields right became 561)."""
    def rank(words: list[Word]) -> tuple[bool, bool, float]:
        value, _ = parse_money(" ".join(w.text for w in words))
        sure = sum(w.conf for w in words) / len(words) if words else 0.0
        return value is not None and value > 0, bool(value) and usual_limit(value), sure
    return second if rank(second) > rank(first) else first


def reread(pages: list[PageContent], requests: list[Reread], *, timeout: float) -> int:
    """Re-OCR the requested cells and patch the pages' words; returns cells read."""
    by_number = {p.number: p for p in pages}
    groups: dict[tuple[str, str], list[tuple[Reread, np.ndarray]]] = defaultdict(list)
    for r in requests:
        page = by_number.get(r.page)
        if page is None or page.image is None:
            continue
        crop = _cut(page, r)
        if crop is not None:
            model = tesseract.STANDARD if page.bilevel else tesseract.FAST
            groups[(r.charset, model)].append((r, crop))
    done = 0
    for (charset, model), items in groups.items():
        extra = f"-c tessedit_char_whitelist={charset}" if charset else ""
        found = read_crops([c for _, c in items], timeout=timeout, extra=extra, model=model)
        if model == tesseract.STANDARD and charset == MONEY_CHARS:
            other = read_crops([c for _, c in items], timeout=timeout, extra=extra,
                               model=tesseract.FAST)
            found = [_likelier_amount(a, b) for a, b in zip(found, other, strict=True)]
        restricted = [bool(charset)] * len(items)
        if charset in LONE_CHARSETS:
            empty = [i for i, words in enumerate(found) if not words]
            alone = read_lone([items[i][1] for i in empty], timeout=timeout, model=model)
            for i, words in zip(empty, alone, strict=True):
                found[i], restricted[i] = words, False
        for (r, _), words, whitelisted in zip(items, found, restricted, strict=True):
            _patch(by_number[r.page], r, words, whitelisted=whitelisted)
            done += 1
    return done


def _stack(crops: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The crops one above the other on white, and each one's band of rows."""
    width = max(c.shape[1] for c in crops) + 2 * PAD
    height = sum(c.shape[0] + 2 * PAD for c in crops)
    sheet = np.full((height, width), 255, np.uint8)
    bands: list[tuple[int, int]] = []
    y = 0
    for c in crops:
        sheet[y + PAD:y + PAD + c.shape[0], PAD:PAD + c.shape[1]] = c
        bands.append((y, y + c.shape[0] + 2 * PAD))
        y += c.shape[0] + 2 * PAD
    return sheet, bands


def _unstack(w: Word, b0: int) -> Word:
    return Word(w.text, (w.bbox[0] - PAD, w.bbox[1] - b0 - PAD, w.bbox[2] - PAD,
                         w.bbox[3] - b0 - PAD), w.conf, w.page)


def read_crops(crops: list[np.ndarray], *, timeout: float, extra: str = "",
               model: str = tesseract.FAST) -> list[list[Word]]:
    """OCR small images in one tesseract call (stacked, one per line of text, psm 6).

    Returns each crop's words in the crop's own pixel coordinates.
    """
    if not crops:
        return []
    sheet, bands = _stack(crops)
    words = tesseract.run_data(sheet, page=0, psm=6, dpi=PAGE_DPI, timeout=timeout, extra=extra,
                               model=model)
    return [[_unstack(w, b0) for w in words if b0 <= w.cy < b1] for b0, b1 in bands]


def read_crops_choices(crops: list[np.ndarray], *, timeout: float,
                       model: str = tesseract.FAST
                       ) -> list[list[tuple[Word, tuple[tesseract.Glyph, ...]]]]:
    """``read_crops`` with each word's characters and the LSTM's alternatives for them."""
    if not crops:
        return []
    sheet, bands = _stack(crops)
    found = tesseract.run_choices(sheet, page=0, psm=6, dpi=PAGE_DPI, timeout=timeout,
                                  model=model)
    return [[(_unstack(w, b0), g) for w, g in found if b0 <= w.cy < b1] for b0, b1 in bands]


# Insurer-letter cells.  Restricted to "ABCDEF" in the stack, tesseract reads a lone bold
# "B" as nothing: a whitelist empties its choice for some glyphs (a bold sans B; Y and N
# under "ABCDEF", but not under their own "YN"), and unrestricted, in a stack (psm 6) or
# side by side on one line, it reads a few such cells as nothing or "Bee".  With a word of
# known text at the end of the line it reads them all: the letter cells the stacked read
# left empty are laid side by side before the word "REF", read as one line (psm 7) in one
# call, unrestricted, and the extractor's parser takes the letter or its look-alike ("8"
# for B).
LONE_CHARSETS = frozenset({"ABCDEF"})  # Y and N read under their own whitelists
GAP = 100  # pixels of white between the cells on the line: tesseract keeps them apart


def read_lone(crops: list[np.ndarray], *, timeout: float, model: str = tesseract.FAST
              ) -> list[list[Word]]:
    """OCR small crops side by side on one line ending in a reference word (psm 7), in one
    tesseract call, unrestricted; each crop's words in its own pixel coordinates."""
    if not crops:
        return []
    height = max(c.shape[0] for c in crops) + 2 * PAD
    ref = np.full((height, 4 * GAP), 255, np.uint8)
    cv2.putText(ref, "REF", (10, height // 2 + 12), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 0, 3)
    width = sum(c.shape[1] + GAP for c in crops) + GAP + ref.shape[1]
    sheet = np.full((height, width), 255, np.uint8)
    spans = []
    x = GAP
    for c in crops:
        top = (height - c.shape[0]) // 2
        sheet[top:top + c.shape[0], x:x + c.shape[1]] = c
        spans.append((x, x + c.shape[1], top))
        x += c.shape[1] + GAP
    sheet[:, x:x + ref.shape[1]] = ref
    words = tesseract.run_data(sheet, page=0, psm=7, dpi=PAGE_DPI, timeout=timeout, model=model)
    return [[Word(w.text, (w.bbox[0] - x0, w.bbox[1] - top, w.bbox[2] - x0, w.bbox[3] - top),
                  w.conf, w.page) for w in words if x0 - GAP / 2 <= w.cx < x1 + GAP / 2]
            for x0, x1, top in spans]


def _patch(page: PageContent, r: Reread, found: list[Word], *, whitelisted: bool) -> None:
    x0, y0, x1, y1 = r.bbox
    ox, oy = x0 + INSET, y0 + INSET
    inside = [w for w in page.words if x0 <= w.cx <= x1 and y0 <= w.cy <= y1]
    if not found:
        return
    keep = [w for w in page.words if not any(w is i for i in inside)]
    right_edge = x1 - INSET - 3
    for w in found:
        bx0, by0, bx1, by1 = w.bbox
        box = (bx0 + ox, by0 + oy, bx1 + ox, by1 + oy)
        # A word cut by the crop's edge, or lying over a word the first pass read whole
        # outside the cell, is a fragment of that word.
        if box[2] >= right_edge and len(found) > 1:
            continue
        if any(_overlap(box, k.bbox) > 0.3 for k in keep):
            continue
        conf = w.conf
        if whitelisted and len(w.text) == 1:
            # Restricted to a few characters, tesseract reports next to no confidence for
            # the one it picks when its unrestricted best was outside the set; what it
            # picked in an inked cell was right 30 times of 30 (seeds 2718, 7301, 5813,
            # 9901): such a read is as sure as the bench found it.
            conf = max(conf, WHITELISTED_FLOOR)
        keep.append(Word(w.text, box, conf, page.number))
    page.words = keep


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Share of box a covered by box b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max(1, (a[2] - a[0]) * (a[3] - a[1]))
    return max(0, w) * max(0, h) / area
