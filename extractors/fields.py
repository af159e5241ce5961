"""Collecting extracted values as FieldValues, and word geometry helpers shared by readers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import numpy as np

from extractors.layout import LabelHit, PageLayout, group_rows
from pipeline.types import BBox, FieldValue, Reread, Word

Parser = Callable[[str], tuple[Any, float]]


def union_bbox(words: Iterable[Word]) -> BBox:
    ws = list(words)
    if not ws:
        return (0, 0, 0, 0)
    return (min(w.x0 for w in ws), min(w.y0 for w in ws), max(w.x1 for w in ws),
            max(w.y1 for w in ws))


def join_words(words: Iterable[Word]) -> str:
    return " ".join(w.text for w in sorted(words, key=lambda w: w.x0))


def text_lines(words: list[Word]) -> list[list[Word]]:
    """Words of a region as lines of text, top to bottom."""
    return group_rows(words)


# A trailing line of a text box whose words OCR doubted, each under SCRAWL_CONF, and each
# a lone character or off the box's text height by SCRAWL_HEIGHT either way, is a pen's
# scrawl, not typing:
# initials below the description were read as " MW", " eo mre" after its last sentence
# (4 of 6 color scans of seed 9696).
SCRAWL_CONF, SCRAWL_HEIGHT = 0.5, 1.6


def drop_scrawl(lines: list[list[Word]]) -> list[list[Word]]:
    """The lines without the trailing ones that are a pen's scrawl (see SCRAWL_CONF)."""
    def letters(w: Word) -> int:
        return sum(map(str.isalnum, w.text))

    out = list(lines)
    while len(out) > 1:
        body = median_height([w for ln in out[:-1] for w in ln if letters(w) > 1])
        if not all(w.conf < SCRAWL_CONF and (letters(w) <= 1 or not
                   body / SCRAWL_HEIGHT <= w.height <= body * SCRAWL_HEIGHT) for w in out[-1]):
            break
        out.pop()
    return out


def same_row(words: Iterable[Word], anchor: LabelHit | Word, *, slack: float = 0.6) -> list[Word]:
    """Words whose vertical center lies within the anchor's band (font sizes may differ)."""
    a_cy = anchor.cy
    a_h = anchor.height
    out = []
    for w in words:
        if abs(w.cy - a_cy) <= slack * max(a_h, w.height):
            out.append(w)
    return out


def date_words(words: list[Word], parse: Parser, *, most: int = 3) -> list[Word]:
    """The first words of a cell, in reading order, that make a date alone or run together
    with their neighbours on the line: a fax's broken slash splits "02/18/26" into "0218"
    and "26"."""
    for line in text_lines(words):
        line = sorted(line, key=lambda w: w.x0)
        for i in range(len(line)):
            for k in range(1, min(most, len(line) - i) + 1):
                run = line[i:i + k]
                if k > 1 and run[-1].x0 - run[-2].x1 > 1.5 * max(w.height for w in run):
                    break  # another value further along the line
                if parse("".join(w.text for w in run))[0] is not None:
                    return run
    return []


def ocr_confidence(words: Iterable[Word]) -> float:
    """A value is only as sure as its least sure word."""
    confs = [w.conf for w in words]
    return min(confs) if confs else 1.0


@dataclass
class Collector:
    """Accumulates FieldValues for one certificate."""

    page: int
    fields: dict[str, FieldValue] = field(default_factory=dict)
    rereads: list[Reread] = field(default_factory=list)
    allow_rereads: bool = True
    # Cells with printing no value could be parsed from: path -> their words (policy
    # dates, filled in later from the others: extractors/policydates.py).
    garbled: dict[str, list[Word]] = field(default_factory=dict)

    def add(
        self,
        path: str,
        words: list[Word],
        parser: Parser,
        *,
        text: str | None = None,
        structure: float = 1.0,
    ) -> FieldValue | None:
        """Parse the words (or ``text``) into a value; nothing is recorded for no value."""
        raw = text if text is not None else join_words(words)
        value, fit = parser(raw)
        if value is None:
            return None
        return self.put(path, value, words, fit=fit, raw=raw, structure=structure)

    def put(
        self,
        path: str,
        value: Any,
        words: list[Word],
        *,
        fit: float = 1.0,
        raw: str = "",
        structure: float = 1.0,
        bbox: BBox | None = None,
        ocr: float | None = None,
    ) -> FieldValue:
        page = words[0].page if words else self.page
        conf = (ocr if ocr is not None else ocr_confidence(words)) * fit * structure
        fv = FieldValue(
            path=path,
            value=value,
            confidence=round(max(0.0, min(1.0, conf)), 4),
            page=page,
            bbox=bbox or union_bbox(words),
            raw=raw,
        )
        self.fields[path] = fv
        return fv


def region_lines(layout: PageLayout, x0: float, y0: float, x1: float, y1: float,
                 *, exclude: set[int]) -> list[list[Word]]:
    """Text lines of a region, leaving out the given (label) words."""
    words = [w for w in layout.words_in(x0, y0, x1, y1) if id(w) not in exclude]
    return text_lines(words)


def median_height(words: Iterable[Word], default: float = 30.0) -> float:
    hs = [w.height for w in words]
    return median(hs) if hs else default


INK_GRAY = 110  # darker than this is printing, in a cleaned page image
# Lighter printing: a thin face's lone "Y" at 150 dpi has some 15 pixels under INK_GRAY and
# over a hundred under FAINT_GRAY, where a blank cell of the same scan has none under 200.
FAINT_GRAY = 170


def cell_has_ink(layout: PageLayout, bbox: BBox) -> bool | None:
    """Whether a cell of a scanned page has printing in it (None for text-layer pages).

    The box is shrunk a little so the cell's ruled borders do not count.
    """
    crop = _inside(layout, bbox)
    if crop is None:
        return None
    return crop.size > 0 and int((crop < INK_GRAY).sum()) > max(25, 0.004 * crop.size)


def cell_has_faint_ink(layout: PageLayout, bbox: BBox) -> bool:
    """Whether a scanned cell ``cell_has_ink`` finds empty holds light printing: enough
    pixels under FAINT_GRAY to be a glyph's strokes, not a speck."""
    crop = _inside(layout, bbox)
    return crop is not None and crop.size > 0 \
        and int((crop < FAINT_GRAY).sum()) > max(40, 0.003 * crop.size)


def _inside(layout: PageLayout, bbox: BBox) -> np.ndarray | None:
    """A cell of the page image shrunk a little, so that its ruled borders do not count,
    where the page's typed values sit (a misprint's are this far off their cells); None
    for a text-layer page."""
    img = layout.page.image
    if img is None:
        return None
    x0, y0, x1, y1 = (int(v) for v in bbox)
    dx, dy = layout.page.typed_offset
    x0, y0, x1, y1 = x0 + dx, y0 + dy, x1 + dx, y1 + dy
    return img[max(0, y0 + 5):max(0, y1 - 5), max(0, x0 + 6):max(0, x1 - 6)]
