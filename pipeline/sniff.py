"""Identify an input by its bytes, never by its name, and hash it.

People rename files, e-mail gateways append `.pdf` to anything, and a scanner may write a
TIFF called `scan.pdf`.  The extension is ignored; the magic numbers decide.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.errors import InputError

PDF = "application/pdf"
TIFF = "image/tiff"
PNG = "image/png"
JPEG = "image/jpeg"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
)

# Things people drop in an inbox that are not readable certificates, named so the error
# message can say what the file really is.
_KNOWN_OTHER: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a DOCX/XLSX office document)"),
    (b"\xd0\xcf\x11\xe0", "a legacy Microsoft Office document"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"RIFF", "a RIFF file (WebP/AVI/WAV)"),
    (b"\x1f\x8b", "a gzip archive"),
)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sniff_bytes(head: bytes) -> str:
    """The media type of a file from its first bytes, or InputError saying what it is."""
    if not head:
        raise InputError("the file is empty (0 bytes)", stage="sniff")
    # Some PDF writers put junk (or a BOM) before the header; the PDF spec tolerates 1 KiB.
    if b"%PDF-" in head[:1024]:
        return PDF
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    for magic, what in _KNOWN_OTHER:
        if head.startswith(magic):
            raise InputError(
                f"the file is {what}, not a PDF, TIFF, PNG or JPEG certificate", stage="sniff"
            )
    text = head[:512].lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        raise InputError("the file is an HTML page, not a certificate scan or PDF", stage="sniff")
    if _looks_like_text(head):
        raise InputError(
            "the file is plain text, not a PDF, TIFF, PNG or JPEG certificate", stage="sniff"
        )
    raise InputError(
        "unrecognized file format (expected PDF, TIFF, PNG or JPEG)", stage="sniff"
    )


def _looks_like_text(head: bytes) -> bool:
    try:
        head[:512].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return sniff_bytes(fh.read(2048))
