"""Clean a scanned page before OCR: resolution, phone-photo page detection, lighting,
orientation, skew, contrast.  Each step is a plain function over a grayscale array so it can
be measured alone (bench/preprocess.py) and kept only where it helps."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline import tesseract
from pipeline.types import PAGE_DPI

LETTER_IN = (8.5, 11.0)


@dataclass
class Prepared:
    image: np.ndarray  # upright, deskewed, 300 dpi, 8-bit gray
    rotation: int  # degrees turned clockwise
    skew: float  # degrees of deskew applied
    photo: bool  # a page was found in a photo and its perspective corrected
    steps: dict[str, float]  # step -> seconds


def to_page_dpi(gray: np.ndarray, dpi: tuple[float, float] | None) -> tuple[np.ndarray, bool]:
    """Resample to 300 dpi.  With no usable dpi in the file, guess it from the page width
    (a US letter page), which is right for scans and close enough for OCR."""
    h, w = gray.shape
    if dpi is None or min(dpi) < 50 or max(dpi) > 1200:
        short = min(w, h)
        guess = short / LETTER_IN[0]
        dpi = (guess, guess)
        known = False
    else:
        known = True
    fx, fy = PAGE_DPI / dpi[0], PAGE_DPI / dpi[1]
    if abs(fx - 1) < 0.03 and abs(fy - 1) < 0.03:
        return gray, known
    interp = cv2.INTER_AREA if fx * fy < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, None, fx=fx, fy=fy, interpolation=interp), known


# Chroma (max - min channel) above which a pixel is colored ink, fully so CHROMA_RAMP above.
CHROMA_FROM, CHROMA_RAMP = 40, 40


def luminance(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def drop_color(rgb: np.ndarray) -> np.ndarray:
    """Gray for OCR from a color page, with colored office marks dropped out.

    A red "RECEIVED" stamp, a yellow highlighter stroke or blue initials are gray smudges in
    plain luminance, over the typed values they cross.  Certificates are printed black, so
    a colored pixel is print (gray, ``p``) seen through a mark's ink: each channel ``p``
    times the ink's.  Its brightest channel is then ``p`` times the ink's brightest, and
    the ink darkens that channel by a fixed share of its chroma, whatever the print under
    it and however heavily the stamp was inked: ``k = (1 - ink_hi) / (ink_hi - ink_lo)``.
    So each ink's ``k`` is measured on the page (``ink_darkening``) and the print is
    ``hi + k * chroma``: the mark goes to paper and black print under it stays black.  The
    brightest channel alone (k = 0, what this did first) is right for a highlighter, whose
    ink passes red untouched, but left a stamp at 200 and ballpoint initials, dark even in
    blue, at 150: a scrawl OCR read as letters after the description ("... holder. MW").
    A page without colored ink (chroma under CHROMA_FROM: paper tints) comes out as plain
    luminance.  Not for phone photos: a wooden desk is "colored", and lifting it hid the
    sheet's edges from page detection (photo fields read right fell from 94.7 % to 69.5 %,
    seed 4242): pipeline/page.py drops color on scans only.
    """
    hi, chroma = _hi_chroma(rgb)
    if int(np.count_nonzero(chroma[::4, ::4] > CHROMA_FROM)) == 0:
        return luminance(rgb)
    # White balance on the sheet first: a cream sheet's tint is no ink, and a pen's soft
    # edge on it (a quarter pen, three quarters paper) is nearly neutral until it is.
    sheet = np.percentile(rgb[::8, ::8].reshape(-1, 3), 90, axis=0).clip(1, 255)
    rgb = cv2.transform(rgb, np.diag(255 / sheet).astype(np.float32))
    hi, chroma = _hi_chroma(rgb)
    lum = luminance(rgb)
    # Only the few colored pixels are computed (numpy over a whole page took 0.8 s).
    edge = max(CHROMA_EDGE, float(np.median(chroma[::8, ::8])) + 8)
    sel = np.flatnonzero(chroma.ravel() > edge)
    if sel.size == 0:  # the only color was the sheet's tint
        return lum
    c = chroma.ravel()[sel].astype(np.float32)
    h = hi.ravel()[sel].astype(np.float32)
    hue = cv2.cvtColor(rgb.reshape(-1, 3)[sel].reshape(-1, 1, 3), cv2.COLOR_RGB2HSV_FULL)
    # Bins centred on red, whose hue wraps round at 0: one red ink is one bin.
    width = 256 // HUE_BINS
    hue = ((hue[:, 0, 0].astype(np.int32) + width // 2) % 256) // width
    ink = ink_darkening(h, c, hue)[hue]
    # A colored pixel counts from CHROMA_FROM, fully CHROMA_RAMP above; once its ink is
    # known, from its soft edge on, fully half that above (a scanner's noise on gray print
    # is ~10-20 of chroma, and with a known ink the weight only undoes that ink).
    known = ink > 0
    start = np.where(known, edge, CHROMA_FROM).astype(np.float32)
    ramp = np.where(known, CHROMA_RAMP / 2, CHROMA_RAMP).astype(np.float32)
    w = np.clip((c - start) / ramp, 0, 1)
    gray = lum.ravel()[sel].astype(np.float32)
    print_ = np.minimum(h + ink * c, 255)
    out = lum.ravel()
    out[sel] = np.round(gray + w * (print_ - gray)).astype(np.uint8)
    return out.reshape(lum.shape)


def _hi_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's brightest channel and its chroma (brightest less darkest)."""
    r, g, b = cv2.split(rgb)
    hi = cv2.max(cv2.max(r, g), b)
    return hi, cv2.subtract(hi, cv2.min(cv2.min(r, g), b))


def ink_darkening(hi: np.ndarray, chroma: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """Per hue bin, how much the bin's ink darkens the brightest channel per unit of chroma
    (0 where no ink is seen), on a page white-balanced to 255: the median over its
    strongly colored, light pixels, which are the ink on paper (print under ink is darker;
    a mixed edge is less colored)."""
    k = np.zeros(HUE_BINS, np.float32)
    strong = (chroma > CHROMA_INK) & (hi > 0.45 * 255)
    for i in range(HUE_BINS):
        m = strong & (hue == i)
        if np.count_nonzero(m) >= INK_PIXELS:
            k[i] = np.clip(np.median((255 - hi[m]) / chroma[m]), 0, K_MAX)
    return k


# Hue bins inks are told apart by; chroma from which a light pixel is ink on paper; how many
# such pixels make an ink (a ballpoint's initials are ~2,000 at 300 dpi); the largest k
# believed (the generator's pen measured 1.3, its stamp 0.42, the highlighter 0.02).
HUE_BINS, CHROMA_INK, INK_PIXELS, K_MAX = 16, 60, 300, 1.5
# Chroma (after white balance) from which a pixel of a known ink is that ink's soft edge,
# and at least this far above the sheet's own (its noise).
CHROMA_EDGE = 14


def is_bilevel(gray: np.ndarray) -> bool:
    """A 1-bit image (a fax): next to no gray levels between ink and paper."""
    sample = gray[::7, ::7]
    return int(np.count_nonzero((sample > 30) & (sample < 225))) < 0.002 * sample.size


def thicken(gray: np.ndarray) -> np.ndarray:
    """Grow a 1-bit page's ink by a pixel at its own resolution: a light fax's thin strokes,
    broken into specks by its 1-bit decision, join again (one of a fax's three readings;
    pipeline/process.py)."""
    return cv2.erode(gray, np.ones((2, 2), np.uint8))


def soften(gray: np.ndarray, kernel: int = 3) -> np.ndarray:
    """Soften the stair-stepped edges of an upscaled 1-bit page (faxes): word recall on
    faxes 0.798 -> 0.816 (measured with /tmp fax variants; see bench/ocr_recall.py).
    Which kernel reads a given fax best varies (see pipeline/process.py)."""
    return cv2.GaussianBlur(gray, (kernel, kernel), 0)


def _sheet_masks(small: np.ndarray) -> list[np.ndarray]:
    """Candidate masks of the sheet: by its edges (robust to shadows and vignetting that
    darken part of the paper below the background), then by brightness (Otsu)."""
    edges = cv2.Canny(small, 30, 90)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((25, 25), np.uint8))
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    return [closed, bright]


def find_page_quad(gray: np.ndarray) -> np.ndarray | None:
    """Corners of a sheet of paper lying on a darker background (a phone photo), or None
    when the image is the page itself (a scan)."""
    h, w = gray.shape
    scale = 800 / max(h, w)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (7, 7), 0)
    frame = small.shape[0] * small.shape[1]
    for mask in _sheet_masks(small):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            continue
        c = max(contours, key=cv2.contourArea)
        hull = cv2.convexHull(c).reshape(-1, 2).astype(np.float32)
        if not 0.2 <= cv2.contourArea(hull) / frame <= 0.93:
            continue
        # The sheet's corners are the hull's extreme points along the diagonals: robust to
        # a soft shadow or a dog-ear that make a polygon fit put a corner in the wrong place.
        quad = _order(hull)
        if cv2.contourArea(quad) < 0.9 * cv2.contourArea(hull):
            continue  # not a four-cornered sheet
        # The paper must be clearly brighter than what surrounds it.
        inside = np.zeros_like(small)
        cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
        if small[inside > 0].mean() - small[inside == 0].mean() < 15:
            continue
        return quad / scale
    return None


def _order(pts: np.ndarray) -> np.ndarray:
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
                    dtype=np.float32)


def warp_page(gray: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Perspective-correct the sheet to a letter page at 300 dpi (landscape if it lies so)."""
    tl, tr, br, bl = quad
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    w, h = int(LETTER_IN[0] * PAGE_DPI), int(LETTER_IN[1] * PAGE_DPI)
    if width > height:
        w, h = h, w
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad, dst)
    return cv2.warpPerspective(gray, m, (w, h), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def flatten_light(gray: np.ndarray) -> np.ndarray:
    """Divide out uneven lighting (shadows, vignetting, yellowed paper) so paper is white.

    The background is estimated at low resolution by a closing that erases the text.
    """
    h, w = gray.shape
    scale = 0.125
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    bg = cv2.GaussianBlur(bg, (0, 0), 3)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    out = cv2.divide(gray, np.maximum(bg, 1), scale=255)
    return out


def stretch_contrast(gray: np.ndarray) -> np.ndarray:
    """Map the darkest ink to black and the paper to white (faded toner, gray faxes)."""
    sample = gray[::4, ::4]
    lo = float(np.percentile(sample, 0.5))
    hi = float(np.percentile(sample, 90))
    if hi - lo < 20 or (lo < 30 and hi > 225):
        return gray
    lut = np.clip((np.arange(256) - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)
    return cv2.LUT(gray, lut)


def _profile_score(ink: np.ndarray, angle: float) -> float:
    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rot = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST)
    rows = rot.sum(axis=1, dtype=np.float64)
    return float(np.dot(rows, rows))


def estimate_skew(gray: np.ndarray, max_angle: float = 8.0) -> float:
    """Skew in degrees (positive = turn counter-clockwise to straighten).

    Rows of text and ruled lines make the horizontal ink profile sharpest when the page is
    straight; search the angle coarse-to-fine on small images (~0.1 s), where a Hough
    transform on the full page took 0.3-0.5 s.
    """
    h, w = gray.shape
    best = 0.0
    inks: dict[int, np.ndarray] = {}
    for width, span, step in ((500, max_angle, 0.5), (1000, 0.5, 0.1), (1000, 0.1, 0.025)):
        if width not in inks:
            scale = width / w
            small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            inks[width] = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
        ink = inks[width]
        angles = np.arange(best - span, best + span + step / 2, step)
        scores = [_profile_score(ink, float(a)) for a in angles]
        best = float(angles[int(np.argmax(scores))])
    return round(best, 3)


def rotate(gray: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the center, keeping the page size."""
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def orient(gray: np.ndarray, *, timeout: float) -> tuple[np.ndarray, int]:
    """Tesseract's orientation detection: (the page turned upright, degrees turned)."""
    # OSD reads a few hundred characters; a half-resolution page is plenty and faster.
    small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    rot, conf = tesseract.run_osd(small, dpi=PAGE_DPI // 2, timeout=timeout)
    if rot == 0 or conf < 0.5:
        return gray, 0
    turns = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(gray, turns[rot]), rot
