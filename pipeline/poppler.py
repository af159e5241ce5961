"""The one place that runs poppler's pdftoppm (through pdf2image) to rasterize PDF pages."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
from pdf2image import convert_from_path
from pdf2image.exceptions import (
    PDFInfoNotInstalledError,
    PDFPageCountError,
    PDFPopplerTimeoutError,
    PDFSyntaxError,
)

from pipeline.errors import InputError, MissingDependencyError, OcrTimeout

INSTALL_HINT = "install it with: apt-get install -y poppler-utils"


@lru_cache(maxsize=1)
def version() -> str:
    exe = shutil.which("pdftoppm")
    if not exe:
        raise MissingDependencyError(f"pdftoppm (poppler) is not installed; {INSTALL_HINT}")
    out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=30, check=False)
    m = re.search(r"version\s+(\d+\.\d+(?:\.\d+)?)", out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


def render_page(path: Path, number: int, *, dpi: int = 300, timeout: float = 120,
                color: bool = False) -> np.ndarray:
    """One PDF page (1-based) as an 8-bit grayscale array at ``dpi`` (``color``: RGB).

    pdftoppm's default PPM output with ``grayscale=True``: ~0.1 s a page here, where
    pdftocairo or PNG output are 8-10x slower.
    """
    version()
    try:
        images = convert_from_path(
            str(path),
            dpi=dpi,
            first_page=number,
            last_page=number,
            grayscale=not color,
            timeout=int(timeout),
        )
    except PDFInfoNotInstalledError as exc:
        raise MissingDependencyError(f"poppler is not installed; {INSTALL_HINT}") from exc
    except PDFPopplerTimeoutError as exc:
        raise OcrTimeout(f"rendering page {number} took longer than {timeout:.0f} s") from exc
    except (PDFPageCountError, PDFSyntaxError) as exc:
        raise InputError(f"page {number} cannot be rendered: {exc}", stage="rasterize") from exc
    if not images:
        raise InputError(f"page {number} rendered to nothing", stage="rasterize")
    img = images[0]
    mode = "RGB" if color else "L"
    if img.mode != mode:
        img = img.convert(mode)
    return np.asarray(img)
