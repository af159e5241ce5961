"""Words with positions from a PDF's text layer (pypdfium2), in 300-dpi page pixels.

Agency systems produce most certificates as PDFs with real text: reading that layer takes
milliseconds and is exact, so OCR is only the fallback for pages without one.
"""

from __future__ import annotations

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.types import PAGE_DPI, Word

# A page needs this many visible non-space characters to count as having a text layer; a
# scanner's stamp or a page number alone does not make a scanned page digital.
MIN_TEXT_CHARS = 40

_SPACES = {" ", "\t", "\r", "\n", "\x00", "\xa0", "\ufffe", "\x02"}


def _invisible_share(textpage: pdfium.PdfTextPage, n: int) -> float:
    """Share of sampled characters drawn invisibly (render mode 3): an OCR layer laid over
    a scan by a scanner or OCRmyPDF.  Such a layer is someone else's OCR of unknown quality,
    so the page is treated as a scan and read by our own OCR."""
    step = max(1, n // 50)
    seen = invisible = 0
    for i in range(0, n, step):
        obj = pdfium_c.FPDFText_GetTextObject(textpage.raw, i)
        if not obj:
            continue
        seen += 1
        if pdfium_c.FPDFTextObj_GetTextRenderMode(obj) == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE:
            invisible += 1
    return invisible / seen if seen else 0.0


def page_words(page: pdfium.PdfPage, number: int) -> list[Word] | None:
    """The page's words, or None when it has no real (visible, substantial) text layer."""
    textpage = page.get_textpage()
    try:
        n = textpage.count_chars()
        if n <= 0:
            return None
        text = textpage.get_text_range()
        if sum(1 for c in text if not c.isspace()) < MIN_TEXT_CHARS:
            return None
        if _invisible_share(textpage, n) > 0.5:
            return None
        return _group_words(textpage, n, page, number)
    finally:
        textpage.close()


def _group_words(
    textpage: pdfium.PdfTextPage, n: int, page: pdfium.PdfPage, number: int
) -> list[Word]:
    # pdfium gives the displayed page size, but character boxes in unrotated user space.
    width, height = page.get_size()
    rotation = page.get_rotation() % 360
    if rotation in (90, 270):
        width, height = height, width
    scale = PAGE_DPI / 72.0
    words: list[Word] = []
    chars: list[str] = []
    box: list[float] = []  # x0, y0, x1, y1 in displayed points, y down

    def flush() -> None:
        if chars:
            bbox = (round(box[0] * scale), round(box[1] * scale), round(box[2] * scale),
                    round(box[3] * scale))
            words.append(Word("".join(chars), bbox, 1.0, number))
            chars.clear()
            box.clear()

    raw = textpage.raw
    for i in range(n):
        ch = chr(pdfium_c.FPDFText_GetUnicode(raw, i))
        if ch in _SPACES or ch.isspace():
            flush()
            continue
        # Loose boxes span the glyph's advance: tight boxes of monospaced digits leave gaps
        # between letters of one word wider than our word-break threshold.  Words are
        # grouped in displayed space, where upright text on a /Rotate'd page runs across.
        x0, y0, x1, y1 = _display(textpage.get_charbox(i, loose=True), width, height, rotation)
        if box:
            h = max(box[3] - box[1], y1 - y0, 1.0)
            # A jump back, a gap wider than ~a space, or another baseline ends the word:
            # some PDF writers position words without emitting space characters.
            back = x0 < box[2] - 0.5 * h
            if back or x0 - box[2] > 0.25 * h or abs(y1 - box[3]) > 0.5 * h:
                flush()
        if not box:
            box.extend((x0, y0, x1, y1))
        else:
            box[0], box[1] = min(box[0], x0), min(box[1], y0)
            box[2], box[3] = max(box[2], x1), max(box[3], y1)
        chars.append(ch)
    flush()
    return words


def _display(
    b: tuple[float, float, float, float], width: float, height: float, rotation: int
) -> tuple[float, float, float, float]:
    """A box in PDF user space (origin bottom-left) -> displayed page space (origin top-left,
    after the page's /Rotate), in points.  ``width``/``height`` are the unrotated size."""
    left, bottom, right, top = b
    if rotation == 90:
        return bottom, left, top, right
    if rotation == 180:
        return width - right, bottom, width - left, top
    if rotation == 270:
        return height - top, width - right, height - bottom, width - left
    return left, height - top, right, height - bottom


def page_size_px(page: pdfium.PdfPage) -> tuple[int, int]:
    """The displayed page size (pdfium already applies /Rotate) in 300-dpi pixels."""
    w, h = page.get_size()
    return round(w * PAGE_DPI / 72.0), round(h * PAGE_DPI / 72.0)
