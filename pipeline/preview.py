"""A small JPEG of each page as it was read, for the review page: the upright, deskewed page
the field boxes refer to (a scan), or the low-resolution render of a text-layer page.

At PREVIEW_DPI a letter page is 850 x 1100 pixels, 40-120 KB in gray JPEG; a field box is
its 300-dpi box divided by three.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.types import PAGE_DPI, PageContent

PREVIEW_DPI = 100
QUALITY = 70


def preview(page: PageContent, render: np.ndarray | None = None) -> bytes | None:
    """The page at PREVIEW_DPI as JPEG bytes; None when there is no image of it."""
    img = page.image if page.image is not None else render
    if img is None:
        return None
    w = max(1, round(page.width * PREVIEW_DPI / PAGE_DPI))
    h = max(1, round(page.height * PREVIEW_DPI / PAGE_DPI))
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.shape[:2] != (h, w):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img),
                           [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return buf.tobytes() if ok else None
