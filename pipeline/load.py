"""Open a document and yield its pages: text-layer words when the PDF has them, else images.

Each page is a small picklable ``SourcePage``; a page that cannot be read carries its error
instead of sinking the document (partial success, as a reviewer would want).
"""

from __future__ import annotations

import re
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageSequence, TiffImagePlugin, UnidentifiedImageError

from pipeline import poppler, textlayer
from pipeline.errors import CoiError, InputError
from pipeline.preprocess import luminance
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
    # A color scan's RGB pixels, for dropping its colored marks out (pipeline/page.py); the
    # gray image above is its plain luminance.
    color: np.ndarray | None = None
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


# PDFium is not thread-safe, not even across documents (pypdfium2's documentation), and the
# ingest flow reads documents on a thread pool: every PDFium call happens under this lock,
# and nothing PDFium owns outlives it (finalizers could otherwise run on another thread).
PDFIUM_LOCK = threading.Lock()


def _open_pdf(path: Path, *, max_pages: int, timeout: float) -> Opened:
    with PDFIUM_LOCK:
        total, digital, colored = _read_text_layers(path, max_pages)

    def pages() -> Iterator[SourcePage]:
        for i in range(min(total, max_pages)):
            number = i + 1
            found = digital.get(number)
            if isinstance(found, SourcePage):
                yield found
                continue
            if isinstance(found, str):
                yield SourcePage(number, error=found)
                continue
            # No text layer: a scan inside a PDF, rendered by poppler (its own process).
            try:
                rgb = None
                if number in colored:  # rendered in color only to drop the color out
                    rgb = poppler.render_page(path, number, dpi=PAGE_DPI, timeout=timeout,
                                              color=True)
                    image = luminance(rgb)
                else:
                    image = poppler.render_page(path, number, dpi=PAGE_DPI, timeout=timeout)
            except InputError as exc:
                yield SourcePage(number, error=exc.message)
                continue
            yield SourcePage(number, image=image, dpi=(PAGE_DPI, PAGE_DPI), color=rgb)

    return Opened(total, pages(), capped=total > max_pages)


def _read_text_layers(path: Path, max_pages: int
                      ) -> tuple[int, dict[int, SourcePage | str], set[int]]:
    """Page count; for each page with a text layer its words (or its error); and the pages
    without one that hold a color image (a color scan: rendering it in color costs 0.1 s)."""
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise _open_error(path, exc) from exc
    out: dict[int, SourcePage | str] = {}
    colored: set[int] = set()
    try:
        total = len(pdf)
        if total == 0:
            raise InputError("the PDF has no pages", stage="open")
        for i in range(min(total, max_pages)):
            number = i + 1
            try:
                page = pdf[i]
                try:
                    words = textlayer.page_words(page, number)
                    if words is not None:
                        bitmap = page.render(scale=RULES_DPI / 72, grayscale=True)
                        render = bitmap.to_numpy().squeeze().copy()
                        bitmap.close()
                        out[number] = SourcePage(number, words=words,
                                                 size=textlayer.page_size_px(page),
                                                 render=render)
                    elif _has_color_image(page):
                        colored.add(number)
                finally:
                    page.close()
            except pdfium.PdfiumError as exc:
                out[number] = f"page {number} cannot be read: {exc}"
    finally:
        pdf.close()
    return total, out, colored


_GRAY_SPACES = (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY)


def _has_color_image(page: pdfium.PdfPage) -> bool:
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        try:
            if obj.get_metadata().colorspace not in _GRAY_SPACES:
                return True
        except pdfium.PdfiumError:
            return True  # unknown: color costs a little time, gray could cost values
    return False


def _open_error(path: Path, exc: Exception) -> InputError:
    msg = str(exc).lower()
    # pdfium reports an empty page tree, or no error at all, unhelpfully: look at the file to
    # say what is wrong.
    data = path.read_bytes()
    if not re.search(rb"/Count\s+[1-9]", data) and re.search(rb"/Count\s+0\b", data):
        return InputError("the PDF has no pages", stage="open")
    if "password" in msg and b"/Encrypt" in data:
        return InputError(
            "the PDF is password-protected; ask the sender for an unprotected copy",
            stage="open",
        )
    return InputError(f"the PDF is damaged or truncated and cannot be opened ({exc})",
                      stage="open")


# TIFF compression schemes Pillow 13's bundled libtiff decodes (tried one by one); others
# (ThunderScan, SGI LogLuv, WebP, JPEG 2000, ...) get their own message.
_TIFF_DECODED = {1, 2, 3, 4, 5, 6, 7, 8, 32773, 32946, 34925, 50000}


def _tiff_compression(path: Path) -> int | None:
    """The compression tag of a TIFF's first page, read from the bytes (Pillow will not open
    a file it cannot decode, so it cannot be asked); None for other files."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
        order = {b"II": "<", b"MM": ">"}[data[:2]]
        (ifd,) = struct.unpack(order + "I", data[4:8])
        (n,) = struct.unpack(order + "H", data[ifd:ifd + 2])
        for i in range(n):
            tag, typ, _count = struct.unpack(order + "HHI", data[ifd + 2 + 12 * i:][:8])
            if tag == 259:
                fmt = order + ("H" if typ == 3 else "I")
                return struct.unpack(fmt, data[ifd + 10 + 12 * i:][:struct.calcsize(fmt)])[0]
    except (OSError, KeyError, struct.error):
        return None
    return None


_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # Pillow modes without color


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
        scheme = _tiff_compression(path)
        if scheme is not None and scheme not in _TIFF_DECODED:
            name = TiffImagePlugin.COMPRESSION_INFO.get(scheme, "unknown")
            raise InputError(
                f"the TIFF uses a compression coi cannot decode (scheme {scheme}, {name}); "
                "scan it again as PDF, or as TIFF with Group 4, LZW or no compression",
                stage="open") from exc
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
                    dpi = frame.info.get("dpi")
                    dpi_t = (float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None
                    if frame.mode in _GRAY_MODES:
                        yield SourcePage(number, image=np.asarray(frame.convert("L")),
                                         dpi=dpi_t)
                    else:
                        rgb = np.asarray(frame.convert("RGB"))
                        yield SourcePage(number, image=luminance(rgb), dpi=dpi_t, color=rgb)
                except (OSError, ValueError) as exc:
                    yield SourcePage(number, error=f"page {number} cannot be decoded: {exc}")
        finally:
            img.close()

    return Opened(total, pages(), capped=total > max_pages)


__all__ = ["CoiError", "Opened", "SourcePage", "open_document"]
