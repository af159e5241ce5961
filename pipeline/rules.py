"""Ruled lines: find them (they delimit the form's boxes and the coverage grid) and remove
them before OCR (Tesseract reads text touching table lines badly: on a clean form whole-page
OCR read 52/62 values exactly with the lines, 61/62 without)."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.types import Rule


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Binary mask (255 = ink) by Otsu; the page is assumed already evenly lit."""
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask


def line_masks(mask: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical line masks by morphological opening.

    Kernels are 0.2 inch long (60 px at 300 dpi): longer than any letter stroke, shorter than
    the shortest rule of an ACORD form (the check boxes' sides are shorter and survive).
    """
    k = max(15, int(round(0.2 * dpi)))
    rect = cv2.MORPH_RECT
    # Widened across first: a fax's one-pixel rules wander by a pixel (noise before its 1-bit
    # decision), and no single pixel row or column of them is a kernel long.
    horiz = cv2.morphologyEx(cv2.dilate(mask, cv2.getStructuringElement(rect, (1, 3))),
                             cv2.MORPH_OPEN, cv2.getStructuringElement(rect, (k, 1))) & mask
    vert = cv2.morphologyEx(cv2.dilate(mask, cv2.getStructuringElement(rect, (3, 1))),
                            cv2.MORPH_OPEN, cv2.getStructuringElement(rect, (1, k))) & mask
    return _drop_text_runs(horiz, mask, dpi), _drop_text_runs(vert.T, mask.T, dpi).T


def _drop_text_runs(lines: np.ndarray, mask: np.ndarray, dpi: float) -> np.ndarray:
    """Without the runs that are the top or bottom of a word, not a rule (rows as lines).

    In a bold face blurred by a phone camera, letters touch, and the tops of "ompa" make
    a horizontal run longer than the kernel; removed as a rule, it left "Co  any".  A rule
    has little ink attached along it; such a run has a letter's stem every few pixels.
    Long rules are kept whatever touches them.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    out = lines.copy()
    reach = max(3, round(0.02 * dpi))
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        if w >= 1.0 * dpi:
            continue
        above = mask[max(0, y - reach):y, x:x + w]
        below = mask[y + h:y + h + reach, x:x + w]
        cols = np.zeros(w, bool)
        if above.size:
            cols |= (above > 0).any(axis=0)
        if below.size:
            cols |= (below > 0).any(axis=0)
        if cols.mean() > 0.5:
            box = out[y:y + h, x:x + w]
            box[labels[y:y + h, x:x + w] == i] = 0
    return np.ascontiguousarray(out)


def segments(line_mask: np.ndarray, *, horizontal: bool, min_len: int, scale: float) -> list[Rule]:
    """Connected line pixels as straight segments, scaled by ``scale`` into page pixels."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(line_mask, connectivity=8)
    out: list[Rule] = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        length = w if horizontal else h
        thickness = h if horizontal else w
        # A blob much thicker than a rule is a filled area (a shaded header, a logo).
        if length < min_len or thickness > max(12, length // 8):
            continue
        if horizontal:
            yc = y + h / 2
            r = Rule(int(x * scale), int(yc * scale), int((x + w) * scale), int(yc * scale))
        else:
            xc = x + w / 2
            r = Rule(int(xc * scale), int(y * scale), int(xc * scale), int((y + h) * scale))
        out.append(r)
    return out


def merge_collinear(rules: list[Rule], *, gap: float, tol: float = 5) -> list[Rule]:
    """Join pieces of one ruled line (a fax or a faint scan breaks lines into dashes)."""
    out: list[Rule] = []
    for horizontal in (True, False):
        segs = sorted(
            (r for r in rules if r.horizontal == horizontal),
            key=lambda r: (r.x0, r.y0) if horizontal else (r.y0, r.x0),
        )
        lines: list[list[float]] = []  # [pos, start, end]
        for r in segs:
            pos, a, b = (r.y0, r.x0, r.x1) if horizontal else (r.x0, r.y0, r.y1)
            for ln in lines:
                if abs(ln[0] - pos) <= tol and a - ln[2] <= gap and b >= ln[1] - gap:
                    ln[1], ln[2] = min(ln[1], a), max(ln[2], b)
                    break
            else:
                lines.append([pos, a, b])
        for pos, a, b in lines:
            p, a, b = int(pos), int(a), int(b)
            out.append(Rule(a, p, b, p) if horizontal else Rule(p, a, p, b))
    return out


def find_rules(gray: np.ndarray, dpi: float, *, out_dpi: float = 300) -> list[Rule]:
    """Ruled segments of an upright page image, in ``out_dpi`` page pixels."""
    mask = ink_mask(gray)
    horiz, vert = line_masks(mask, dpi)
    scale = out_dpi / dpi
    min_len = int(0.25 * dpi)
    found = segments(horiz, horizontal=True, min_len=min_len, scale=scale) + segments(
        vert, horizontal=False, min_len=min_len, scale=scale
    )
    return merge_collinear(found, gap=0.15 * out_dpi)


def remove_rules(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, list[Rule]]:
    """The page with its ruled lines painted white, and the rules found (same pixel space)."""
    mask = ink_mask(gray)
    horiz, vert = line_masks(mask, dpi)
    # Grow the masks across the lines: the fringe of a rule left behind (anti-aliasing, or
    # the ragged edge of a fax) reads as "_", "-" or "|".
    rect = cv2.MORPH_RECT
    h_band = cv2.dilate(horiz, cv2.getStructuringElement(rect, (3, 7)))
    v_band = cv2.dilate(vert, cv2.getStructuringElement(rect, (7, 3)))
    lines = cv2.bitwise_or(h_band, v_band)
    cleaned = gray.copy()
    cleaned[lines > 0] = 255
    # Short pieces count too (a broken line is many of them); merged, they are the rules.
    min_len = int(0.1 * dpi)
    rules = merge_collinear(
        segments(horiz, horizontal=True, min_len=min_len, scale=1.0)
        + segments(vert, horizontal=False, min_len=min_len, scale=1.0), gap=0.15 * dpi)
    # Where a stroke crossed a line (typed text sitting on a cell border, a fax streak
    # through a word) it was cut in two: join the ends again across the painted band.
    # Not across the form's vertical rules: words on both sides of one, each touching it
    # (two dates in adjacent columns, a label and its "$"), would be glued into one.
    kept = (mask > 0) & (lines == 0)
    repair = _bridge(h_band > 0, kept)
    streaks = find_streaks(rules, gray.shape[0], dpi)
    if streaks:
        near = np.zeros_like(repair)
        for r in streaks:
            near[:, max(0, r.x0 - 8):r.x0 + 9] = True
        repair |= _bridge((v_band > 0).T & near.T, kept.T).T
    repair &= mask > 0
    cleaned[repair] = gray[repair]
    return cleaned, [r for r in rules if r not in streaks]


def _bridge(band: np.ndarray, kept: np.ndarray, *, reach: int = 3, slant: int = 2,
            steps: int = 24) -> np.ndarray:
    """Pixels of a horizontal band (painted-out line) that a stroke crosses: in columns
    where ink touches the band from above and from below (within ``reach`` pixels of its
    edges, give or take ``slant`` columns for a slanted stroke such as the leg of an R).
    A closing would also bridge a letter's inside ("0" gets a bar and reads "@")."""
    if slant:
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * slant + 1, 1))
        kept = cv2.dilate(kept.astype(np.uint8), k) > 0
    above = np.zeros_like(band)
    below = np.zeros_like(band)
    top_edge = band.copy()
    top_edge[1:] &= ~band[:-1]
    bottom_edge = band.copy()
    bottom_edge[:-1] &= ~band[1:]
    for d in range(1, reach + 1):
        above[d:] |= top_edge[d:] & kept[:-d]
        below[:-d] |= bottom_edge[:-d] & kept[d:]
    for _ in range(steps):  # carry each touch across the band's thickness
        above[1:] |= above[:-1] & band[1:]
        below[:-1] |= below[1:] & band[:-1]
    return above & below


def find_streaks(rules: list[Rule], page_height: int, dpi: float = 300) -> list[Rule]:
    """The streaks a fax machine's dirty glass draws down the whole page.

    No vertical rule inside an ACORD 25 runs through more than a third of the page (the
    grid's column lines are the longest); only the frame's sides do, and the horizontal
    rules end at them.  A vertical line through most of the page that the horizontal rules
    run through, on both sides, is the scanner's.  It is painted out of the image like a
    rule, but kept as a rule it would split a column of the coverage grid in two.
    """
    margin = 0.1 * dpi
    horizontals = [h for h in rules if h.horizontal]
    out = []
    for r in rules:
        if r.horizontal or r.y1 - r.y0 < 0.45 * page_height:
            continue
        meeting = [h for h in horizontals if r.y0 <= h.y0 <= r.y1
                   and h.x0 - margin <= r.x0 <= h.x1 + margin]
        through = [h for h in meeting if h.x0 < r.x0 - margin and h.x1 > r.x0 + margin]
        if len(through) >= 3 and len(through) >= 0.6 * len(meeting):
            out.append(r)
    return out
