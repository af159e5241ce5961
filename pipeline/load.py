"""Open a document and yield its pages: text-layer words when the PDF has them, else images.

Each page is a small picklable ``SourcePage``; a page that cannot be read carries its error
instead of sinking the document (partial success, as a reviewer would want).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageSequence, UnidentifiedImageError

from pipeline import poppler, textlayer
from pipeline.errors import CoiError, InputError
from pipeline.sniff import PDF
from pipeline.types import PAGE_DPI, Word

# Pillow refuses images above 2x this many pixels (decompression bombs).  A letter page at
# 600 dpi is 34 Mpx and a 12 Mpx phone photo is far below, so 120 Mpx is generous.
Image.MAX_IMAGE_PIXELS = 120_000_000

# Ruled lines of a digital page are found on a render at this resolution: enough to place a
# line within a pixel or two of 300 dpi, and ~15 ms a page with pdfium.
RULES_DPI = 100


@dataclass
class SourcePage:
    number: int  # 1-based
    words: list[Word] | None = None  # from a text layer
    size: tuple[int, int] | None = None  # (w, h) at PAGE_DPI for text-layer pages
    image: np.ndarray | None = None  # grayscale, as scanned
    dpi: tuple[float, float] | None = None  # of the image, when the file says
    error: str | None = None
    # A low-resolution render of a text-layer page, to find its ruled lines.
    render: np.ndarray | None = None
    render_dpi: float = RULES_DPI


@dataclass
class Opened:
    total_pages: int
    pages: Iterator[SourcePage]
    capped: bool  # more pages than max_pages: only the first ones are read


def open_document(path: Path, media: str, *, max_pages: int, timeout: float) -> Opened:
    if media == PDF:
        return _open_pdf(path, max_pages=max_pages, timeout=timeout)
    return _open_image(path, max_pages=max_pages)


def _open_pdf(path: Path, *, max_pages: int, timeout: float) -> Opened:
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg:
            raise InputError(
                "the PDF is password-protected; ask the sender for an unprotected copy",
                stage="open",
            ) from exc
        raise InputError(
            f"the PDF is damaged or truncated and cannot be opened ({exc})", stage="open"
        ) from exc
    total = len(pdf)
    if total == 0:
        pdf.close()
        raise InputError("the PDF has no pages", stage="open")

    def pages() -> Iterator[SourcePage]:
        try:
            for i in range(min(total, max_pages)):
                number = i + 1
                try:
                    page = pdf[i]
                    words = textlayer.page_words(page, number)
                    if words is not None:
                        render = page.render(scale=RULES_DPI / 72, grayscale=True).to_numpy()
                        yield SourcePage(number, words=words, size=textlayer.page_size_px(page),
                                         render=render.squeeze())
                        continue
                    image = poppler.render_page(path, number, dpi=PAGE_DPI, timeout=timeout)
                    yield SourcePage(number, image=image, dpi=(PAGE_DPI, PAGE_DPI))
                except InputError as exc:
                    yield SourcePage(number, error=exc.message)
                except pdfium.PdfiumError as exc:
                    yield SourcePage(number, error=f"page {number} cannot be read: {exc}")
        finally:
            pdf.close()

    return Opened(total, pages(), capped=total > max_pages)


def _open_image(path: Path, *, max_pages: int) -> Opened:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(
            f"the image is too large to be a scanned page ({exc})", stage="open"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"the image is damaged or truncated and cannot be decoded ({exc})", stage="open"
        ) from exc
    total = getattr(img, "n_frames", 1)

    def pages() -> Iterator[SourcePage]:
        try:
            for i, frame in enumerate(ImageSequence.Iterator(img)):
                if i >= max_pages:
                    break
                number = i + 1
                try:
                    gray = frame.convert("L")
                    dpi = frame.info.get("dpi")
                    dpi_t = (float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None
                    yield SourcePage(number, image=np.asarray(gray), dpi=dpi_t)
                except (OSError, ValueError) as exc:
                    yield SourcePage(number, error=f"page {number} cannot be decoded: {exc}")
        finally:
            img.close()

    return Opened(total, pages(), capped=total > max_pages)


__all__ = ["CoiError", "Opened", "SourcePage", "open_document"]
