"""Check boxes on a scanned page: find them, measure the ink inside, erase their outlines.

OCR reads a box outline glued to its label as letters ("COCLAIMS-MADE", "DRETENTION",
"CIscHEDULED"), which breaks the label; and it reads the mark inside as anything.  So the
boxes are found by shape, their fill measured here, and only their outlines painted white
before OCR (what is inside, such as the Y or N of the workers compensation box, stays).
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.types import CheckBox


def _corner_ink(ink: np.ndarray) -> float:
    """Least ink share among the four corner squares: a drawn box has square corners, the
    letters that pass for one ("B", "8", "S" in a bold face) round at least two of them."""
    h, w = ink.shape
    k = max(3, round(0.12 * min(h, w)))
    corners = (ink[:k, :k], ink[:k, w - k:], ink[h - k:, :k], ink[h - k:, w - k:])
    return min(float(np.count_nonzero(c)) / c.size for c in corners)


def _straightness(ink: np.ndarray) -> float:
    """The least share, over the four sides, of the middle 60 % of rows (or columns) whose
    ink starts within a couple of pixels of the box's edge.  A drawn box's sides are
    straight lines on its bounding box (1.0 on every scan measured, fax included); letters
    that pass for one ("B", "8", "s") curve away from it somewhere (0.93 at most)."""
    h, w = ink.shape
    tol = max(2, round(0.08 * min(h, w)))
    rows = slice(int(0.2 * h), int(0.8 * h) + 1)
    cols = slice(int(0.2 * w), int(0.8 * w) + 1)

    def at_edge(a: np.ndarray) -> float:  # a: lines x depth, edge at depth 0
        has = a.any(axis=1)
        first = np.where(has, a.argmax(axis=1), tol + 1)
        return float((first <= tol).mean()) if len(first) else 0.0

    return min(at_edge(ink[rows]), at_edge(ink[rows, ::-1]),
               at_edge(ink[:, cols].T), at_edge(ink[::-1, cols].T))


def _side_ink(ink: np.ndarray) -> tuple[float, float, float, float, float]:
    """Ink share along each side of a box crop (top, bottom, left, right) and inside."""
    h, w = ink.shape
    t = max(2, round(0.16 * min(h, w)))

    def share(a: np.ndarray) -> float:
        # A side counts as drawn where some pixel across its thickness is ink.
        return float(np.count_nonzero(a)) / a.size if a.size else 0.0

    top = share(ink[:t].max(axis=0))
    bottom = share(ink[h - t:].max(axis=0))
    left = share(ink[:, :t].max(axis=1))
    right = share(ink[:, w - t:].max(axis=1))
    m = max(t + 1, round(0.22 * min(h, w)))
    inner = ink[m:h - m, m:w - m]
    return top, bottom, left, right, share(inner.ravel())


def _ring_ink(ink: np.ndarray) -> float:
    """Ink share of the band just inside a box's outline, between it and a mark's core."""
    h, w = ink.shape
    t = max(2, round(0.16 * min(h, w)))
    m = max(t + 1, round(0.22 * min(h, w)))
    band = np.zeros(ink.shape, bool)
    band[t:h - t, t:w - t] = True
    band[m:h - m, m:w - m] = False
    return float(np.count_nonzero(ink[band])) / max(1, int(band.sum()))


# Side ink from which a box full to its outline is a filled square, not a blob of a letter.
SOLID_SIDES = 0.9


def find_boxes(gray: np.ndarray, dpi: float = 300) -> list[CheckBox]:
    """Square outlines 0.06-0.22 inch wide (the form's check boxes, up to the larger Y/N box of
    workers compensation), with their fill."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lo, hi = 0.06 * dpi, 0.22 * dpi
    out: list[CheckBox] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if not (lo <= w <= hi and lo <= h <= hi and 0.75 <= w / h <= 1.33):
            continue
        crop = ink[y:y + h, x:x + w]
        top, bottom, left, right, inner = _side_ink(crop)
        # All four sides drawn: a box, not a letter (O, D and H miss a side or the corners).
        if min(top, bottom, left, right) < 0.8:
            continue
        # A box is hollow, or holds a mark; a solid blob is a bold letter smeared by blur
        # ("m", "@" in a phone photo), which erasing its "outline" would destroy.  A box
        # filled with a square mark (■) is full inside too, but paper parts the mark from
        # the outline all round, and its corners are square.  At 150 dpi the blur closes
        # that parting, and fills a box's X as well: what is left is a square, all four
        # sides drawn whole and straight, its corners inked (a letter's blob rounds them;
        # a "■ POLICY" and three X'd boxes of a 150-dpi scan of seed 9696 measured ring ink
        # 0.70-0.94, corners 0.33-0.69, sides 0.93-1.0 and straightness 1.0).
        corners, straight = _corner_ink(crop), _straightness(crop > 0)
        if inner > 0.75 and not (_ring_ink(crop) < 0.6 and corners >= 0.33) \
                and not (min(top, bottom, left, right) >= SOLID_SIDES
                         and corners >= 0.3 and straight >= 0.98):
            continue
        # A "B", "8" or "s" can ink all four sides' strips and be as full as a marked box,
        # but some side curves away from the edge; erasing its "outline" leaves "+" or "-".
        if straight < 0.95:
            continue
        # In a bold face the curve can be too shallow to see, but a full box with round
        # corners is a letter (measured on scans: such letters had fill >= 0.57 and corner
        # ink 0.11; marked boxes, even faxed, fill <= 0.64 with corner ink >= 0.33, or fill
        # <= 0.43).
        if inner >= 0.55 and corners < 0.2:
            continue
        out.append(CheckBox(bbox=(x, y, x + w, y + h), fill=round(inner, 4)))
    return _form_sized(out)


# A form prints its check boxes in one size (the Y/N box of workers compensation larger):
# "boxes" well under the page's typical size are letters (a bold Courier "s" passed every
# test above at 18 px beside 25 px boxes, and erasing its outline left "Brook+ide").
TYPICAL_SHARE = 0.75


def _form_sized(boxes: list[CheckBox]) -> list[CheckBox]:
    if len(boxes) < 5:
        return boxes
    def size(b: CheckBox) -> int:
        return max(b.bbox[2] - b.bbox[0], b.bbox[3] - b.bbox[1])
    typical = float(np.median([size(b) for b in boxes]))
    return [b for b in boxes if size(b) >= TYPICAL_SHARE * typical]


def erase_outlines(gray: np.ndarray, boxes: list[CheckBox]) -> np.ndarray:
    out = gray.copy()
    for b in boxes:
        x0, y0, x1, y1 = b.bbox
        t = max(3, round(0.2 * min(x1 - x0, y1 - y0)))
        out[max(0, y0 - 2):y0 + t, max(0, x0 - 2):x1 + 2] = 255
        out[y1 - t:y1 + 2, max(0, x0 - 2):x1 + 2] = 255
        out[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x0 + t] = 255
        out[max(0, y0 - 2):y1 + 2, x1 - t:x1 + 2] = 255
    return out
