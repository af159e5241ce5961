"""Is the box in front of a printed option ("OCCUR", "ANY AUTO") checked?

Text layers carry the mark as a character; on scans the mark is judged from the ink inside
the box, because OCR reads a checked box as anything from "X" to "[x]" or "Bd", and an empty
one as "O", "[]" or nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from extractors.fields import INK_GRAY
from extractors.layout import LabelHit, PageLayout
from extractors.patterns import load
from pipeline.types import BBox, CheckBox, Word


def _mark_token(layout: PageLayout, label: LabelHit) -> Word | None:
    """A mark character printed just before the label, on its row."""
    h = label.height
    rx = load().values["MARK"].regex
    best: Word | None = None
    own = {id(w) for w in label.words}
    for w in layout.page.words:
        if id(w) in own:
            continue
        if not (label.x0 - 4.0 * h <= w.x1 <= label.x0 + 0.3 * h):
            continue
        if abs(w.cy - label.cy) > 0.8 * max(h, w.height):
            continue
        t = w.text.strip("[]()|")
        if rx.match(t) and (best is None or w.x1 > best.x1):
            best = w
    if best is not None:
        # A mark with another option's words between it and this label is that option's.
        between = [w for w in layout.page.words if w.x0 >= best.x1 - 1 and w.x1 <= label.x0 + 1
                   and w is not best and abs(w.cy - label.cy) < 0.6 * label.height]
        if between:
            return None
    return best


def _found_box(layout: PageLayout, label: LabelHit) -> CheckBox | None:
    """The check box the pipeline found just left of the label (its first line)."""
    h = label.height
    first_line = [w for w in label.words if w.y0 < label.y0 + 0.6 * h]
    y0 = min(w.y0 for w in first_line)
    y1 = max(w.y1 for w in label.words)
    cy = (y0 + max(w.y1 for w in first_line)) / 2
    cands = []
    for b in layout.page.boxes:
        bx0, by0, bx1, by1 = b.bbox
        if not (label.x0 - 2.5 * h <= bx1 <= label.x0 + 0.3 * h):
            continue
        if by1 < y0 - 0.5 * h or by0 > y1 + 0.5 * h:
            continue
        cands.append(b)
    # The box level with the label's first line: on a coarse scan the next option's box,
    # a row down, is within half a line of a two-line label's bottom too.
    return min(cands, key=lambda b: (abs((b.bbox[1] + b.bbox[3]) / 2 - cy), -b.bbox[2]),
               default=None)


def _box_region(label: LabelHit) -> BBox:
    h = label.height
    return (int(label.x0 - 3.2 * h), int(label.y0 - 0.6 * h), int(label.x0 - 0.1 * h),
            int(label.y1 + 0.6 * h))


def box_ink(image: np.ndarray, region: BBox) -> tuple[float, BBox] | None:
    """Ink share inside the check box found in ``region`` (None when no box is found)."""
    x0, y0, x1, y1 = (max(0, v) for v in region)
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if crop.max() - crop.min() < 40:  # a blank, uniform crop: Otsu would invent ink
        ink[:] = 0
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    best = None
    rh = y1 - y0
    for c in contours:
        bx, by, bw, bh = cv2.boundingRect(c)
        # A check box is a square about a label's height (0.3-1.0 of the search band).
        if not (0.25 * rh <= bh <= 0.95 * rh and 0.6 <= bw / max(bh, 1) <= 1.6):
            continue
        if best is None or bw * bh > best[2] * best[3]:
            best = (bx, by, bw, bh)
    if best is None:
        return None
    bx, by, bw, bh = best
    # The interior, away from the box's own border strokes.
    mx, my = max(2, bw // 5), max(2, bh // 5)
    inner = ink[by + my: by + bh - my, bx + mx: bx + bw - mx]
    share = float(np.count_nonzero(inner)) / inner.size if inner.size else 0.0
    return share, (x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh)


def typed_mark_ink(layout: PageLayout, bbox: BBox) -> float:
    """Ink share where a misprinted certificate's mark for this box landed: the box moved
    by the page's typed offset (extractors/register.py), leaving out what the form printed
    there (rules, other boxes, label words)."""
    page = layout.page
    dx, dy = page.typed_offset
    x0, y0, x1, y1 = bbox
    mx, my = (x1 - x0) // 5, (y1 - y0) // 5
    rx0, ry0, rx1, ry1 = x0 + dx + mx, y0 + dy + my, x1 + dx - mx, y1 + dy - my
    h, w = page.image.shape[:2]
    rx0, ry0, rx1, ry1 = max(0, rx0), max(0, ry0), min(w, rx1), min(h, ry1)
    if rx1 <= rx0 or ry1 <= ry0:
        return 0.0
    ink = page.image[ry0:ry1, rx0:rx1] < INK_GRAY
    keep = np.ones_like(ink)

    def clear(a0: int, b0: int, a1: int, b1: int) -> None:
        keep[max(0, b0 - ry0):max(0, b1 - ry0), max(0, a0 - rx0):max(0, a1 - rx0)] = False

    for r in page.rules:
        if r.horizontal:
            clear(r.x0, r.y0 - 4, r.x1, r.y1 + 5)
        else:
            clear(r.x0 - 4, r.y0, r.x1 + 5, r.y1)
    for b in page.boxes:
        bx0, by0, bx1, by1 = b.bbox
        if b.bbox != bbox:
            clear(bx0 - 2, by0 - 2, bx1 + 2, by0 + 4)
            clear(bx0 - 2, by1 - 4, bx1 + 2, by1 + 2)
            clear(bx0 - 2, by0 - 2, bx0 + 4, by1 + 2)
            clear(bx1 - 4, by0 - 2, bx1 + 2, by1 + 2)
    label = layout.label_words
    for wd in page.words:
        if id(wd) in label:
            clear(wd.x0 - 1, wd.y0 - 1, wd.x1 + 1, wd.y1 + 1)
    area = int(keep.sum())
    return float(np.count_nonzero(ink & keep)) / area if area > 0.3 * keep.size else 0.0


def judge_box(box: CheckBox) -> tuple[bool, float]:
    """(checked, confidence) of a check box the pipeline found, from the ink inside it."""
    # Empty boxes measure 0-3 % inside (noise); an X or check mark 30 % and more.
    if box.fill >= 0.2:
        return True, 0.99
    if box.fill <= 0.06:
        return False, 0.99
    return box.fill >= 0.12, 0.5


def _judge_share(share: float, bbox: BBox, tok: Word | None
                 ) -> tuple[bool, float, BBox, list[Word]]:
    """(checked, confidence, box, words) from the ink share where a mark would be."""
    # Empty boxes measure ~0-3 % (noise, a stroke's fringe); marks 12 % and more.
    if share >= 0.12:
        return True, min(1.0, 0.8 + share), bbox, [tok] if tok else []
    if share <= 0.04:
        return False, 0.97, bbox, []
    return share >= 0.08, 0.5, bbox, []


def is_checked(layout: PageLayout, label: LabelHit) -> tuple[bool, float, BBox, list[Word]]:
    """(checked, confidence, box, words) for the option whose label is ``label``."""
    tok = _mark_token(layout, label)
    page = layout.page
    if page.image is None:
        # Text layer: the mark is text or there is no mark.
        if tok is not None:
            return True, tok.conf, tok.bbox, [tok]
        return False, 1.0, _box_region(label), []
    box = _found_box(layout, label)
    if box is not None and page.typed_offset != (0, 0):
        return _judge_share(typed_mark_ink(layout, box.bbox), box.bbox, tok)
    if box is not None:
        val, conf = judge_box(box)
        return val, conf, box.bbox, [tok] if tok and val else []
    found = box_ink(page.image, _box_region(label))
    if found is not None:
        return _judge_share(*found, tok)
    if tok is not None:
        return True, tok.conf * 0.9, tok.bbox, [tok]
    return False, 0.6, _box_region(label), []
