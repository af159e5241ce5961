"""One source page to a PageContent: text-layer words as they are, scans cleaned and OCR'd."""

from __future__ import annotations

import time

import cv2
import numpy as np

from pipeline import boxes as bx
from pipeline import preprocess as pp
from pipeline import rules as rl
from pipeline import tesseract
from pipeline.load import SourcePage
from pipeline.periods import restore_periods
from pipeline.types import PAGE_DPI, PageContent, Word

# Sparse-text segmentation: on scanned certificates it recalled 85.6 % of the text-layer
# words against 80.7 % for psm 3 and 83.9 % for psm 6 (bench/ocr_recall.py, seed 7303, in
# docs/benchmarks.md).  On faxes psm 6 recalled more words (64.9 % against 59.9 %) but read
# fewer fields right (58.9 % against 72.8 % on 18 faxes): it strings a row's cells together.
OCR_PSM = 11


def text_page(src: SourcePage) -> PageContent:
    assert src.words is not None and src.size is not None
    rules = []
    if src.render is not None:
        rules = rl.find_rules(src.render, src.render_dpi, out_dpi=PAGE_DPI)
    w, h = src.size
    return PageContent(number=src.number, width=w, height=h, words=src.words, source="text",
                       rules=rules)


# Frequent English words and words every insurance form prints.  Upside-down or sideways
# text OCRs into confident nonsense ("GUOOV", "paisjsibe"), never into these.
COMMON_WORDS = frozenset("""
the of and to a in is it for on that by this with as be or are at from an not no any
all have has will may must if such other than which under per each only its your you
insurance certificate policy policies insured insurer coverage liability limit limits
general date name address holder number authorized representative description
operations additional information rights upon issued above below terms conditions
contract document respect period indicated company agency phone fax mail
""".split())


def upright_score(words: list[Word]) -> int:
    """How many real words (3+ letters) the OCR found.  Upright text OCRs into real words; a
    page upside down or sideways into confident nonsense ("GUOOV", "uete", "ve am")."""
    n = 0
    for w in words:
        t = w.text.lower().strip(".,:;()'\"")
        if len(t) >= 3 and t in COMMON_WORDS:
            n += 1
    return n


def looks_upright(words: list[Word]) -> bool:
    return upright_score(words) >= 10


_TURN = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def scanned_page(src: SourcePage, *, timeout: float, soften: int = 3, thicken: bool = False,
                 known_rotation: int | None = None) -> PageContent:
    """Clean the image (measured steps only) and OCR it.

    Orientation: the OCR we need anyway tells whether the page reads (upright_score); only
    when it does not is tesseract's orientation detection (~1 s) asked, and its answer is
    checked the same way, since OSD is unsure on form pages with little running text.
    ``known_rotation``, from an earlier reading of the same page, skips all of that.
    """
    assert src.image is not None
    steps: dict[str, float] = {}
    t = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = round(steps.get(name, 0.0) + now - t, 4)
        t = now

    gray = src.image
    quad = pp.find_page_quad(gray)
    bilevel = False
    if quad is not None:
        gray = pp.warp_page(gray, quad)
    else:
        if src.color is not None:
            # A color scan: its stamp, highlighter and ink marks dropped out (a photo's
            # desk would be taken for color too, so photos keep their luminance).
            gray = pp.drop_color(src.color)
        bilevel = pp.is_bilevel(gray)
        if bilevel and thicken:
            gray = pp.thicken(gray)
        gray, _ = pp.to_page_dpi(gray, src.dpi)
        if bilevel:
            gray = pp.soften(gray, soften)
    mark("geometry")
    gray = pp.flatten_light(gray)
    gray = pp.stretch_contrast(gray)
    mark("light")
    if known_rotation is not None:
        candidates = [known_rotation]
    elif gray.shape[1] > gray.shape[0]:
        # A certificate is portrait: a landscape page is turned 90 or 270 degrees.
        _, rot = pp.orient(gray, timeout=timeout)
        mark("orient")
        first = rot if rot in (90, 270) else 90
        candidates = [first, 360 - first]
    else:
        candidates = [0]
    # Faxes' broken strokes: the standard model read 80.0 % of 561 fax fields right where the
    # fast one read 79.0 % (seed 5813); on other scans it read fewer, more slowly (see
    # docs/pipeline.md, "Two models").
    model = tesseract.STANDARD if bilevel else tesseract.FAST
    tried: list[tuple[int, int, tuple]] = []
    for rotation in candidates:
        img = cv2.rotate(gray, _TURN[rotation]) if rotation else gray
        out = _ocr_upright(img, src.number, timeout, mark, model)
        tried.append((upright_score(out[1]), rotation, out))
        if looks_upright(out[1]):
            break
    else:
        if candidates == [0] and known_rotation is None:
            _, rot = pp.orient(gray, timeout=timeout)
            mark("orient")
            rot = rot if rot else 180
            out = _ocr_upright(cv2.rotate(gray, _TURN[rot]), src.number, timeout, mark, model)
            tried.append((upright_score(out[1]), rot, out))
    _, rotation, (upright, words, rules, boxes, skew) = max(tried, key=lambda t: t[0])
    h, w = upright.shape
    return PageContent(number=src.number, width=w, height=h, words=words, source="ocr",
                       rules=rules, boxes=boxes, rotation=rotation, skew=skew, image=upright,
                       timings=steps, bilevel=bilevel)


def _ocr_upright(gray: np.ndarray, number: int, timeout: float, mark, model: str):
    skew = pp.estimate_skew(gray)
    if abs(skew) > 0.1:
        gray = pp.rotate(gray, skew)
    mark("deskew")
    cleaned, rules = rl.remove_rules(gray, PAGE_DPI)
    found = bx.find_boxes(cleaned, PAGE_DPI)
    cleaned = bx.erase_outlines(cleaned, found)
    mark("rules")
    words = tesseract.run_data(cleaned, page=number, psm=OCR_PSM, dpi=PAGE_DPI, timeout=timeout,
                               model=model)
    words = restore_periods(words, cleaned)
    mark("ocr")
    return gray, words, rules, found, skew
