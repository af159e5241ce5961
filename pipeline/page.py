"""One source page to a PageContent: text-layer words as they are, scans cleaned and OCR'd."""

from __future__ import annotations

import time

import numpy as np

from pipeline import boxes as bx
from pipeline import preprocess as pp
from pipeline import rules as rl
from pipeline import tesseract
from pipeline.load import SourcePage
from pipeline.types import PAGE_DPI, PageContent, Word

# Sparse-text segmentation: on scanned certificates it recalled 91.6 % of the text-layer
# words against 84.3 % for psm 3 and 88.4 % for psm 6 (/tmp measurement, bench/ocr_recall.py).
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


def looks_upright(words: list[Word]) -> bool:
    """Upright text OCRs into real words; a page upside down or sideways into nonsense.

    Checking the OCR we need anyway costs nothing, where tesseract's orientation detection
    costs ~1.2 s a page; it only runs when this check fails.
    """
    alpha = [w.text.lower().strip(".,:;()'\"") for w in words]
    alpha = [t for t in alpha if len(t) >= 2 and t.isalpha()]
    known = sum(1 for t in alpha if t in COMMON_WORDS)
    return known >= 12 or (bool(alpha) and known / len(alpha) >= 0.15 and known >= 3)


def scanned_page(src: SourcePage, *, timeout: float) -> PageContent:
    """Clean the image (measured steps only) and OCR it."""
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
    if quad is not None:
        gray = pp.warp_page(gray, quad)
    else:
        gray, _ = pp.to_page_dpi(gray, src.dpi)
    mark("geometry")
    gray = pp.flatten_light(gray)
    gray = pp.stretch_contrast(gray)
    mark("light")
    rotation = 0
    if gray.shape[1] > gray.shape[0]:
        # A certificate is portrait: a landscape page is turned 90 or 270 degrees.
        gray, rotation = pp.orient(gray, timeout=timeout)
        mark("orient")
    upright, words, rules, boxes, skew = _ocr_upright(gray, src.number, timeout, mark)
    if not looks_upright(words):
        turned, rot = pp.orient(gray, timeout=timeout)
        mark("orient")
        if rot:
            gray, rotation = turned, (rotation + rot) % 360
            upright, words, rules, boxes, skew = _ocr_upright(gray, src.number, timeout, mark)
    h, w = upright.shape
    return PageContent(number=src.number, width=w, height=h, words=words, source="ocr",
                       rules=rules, boxes=boxes, rotation=rotation, skew=skew, image=upright,
                       timings=steps)


def _ocr_upright(gray: np.ndarray, number: int, timeout: float, mark):
    skew = pp.estimate_skew(gray)
    if abs(skew) > 0.1:
        gray = pp.rotate(gray, skew)
    mark("deskew")
    cleaned, rules = rl.remove_rules(gray, PAGE_DPI)
    found = bx.find_boxes(cleaned, PAGE_DPI)
    cleaned = bx.erase_outlines(cleaned, found)
    mark("rules")
    words = tesseract.run_data(cleaned, page=number, psm=OCR_PSM, dpi=PAGE_DPI, timeout=timeout)
    mark("ocr")
    return gray, words, rules, found, skew
