"""What each preprocessing step buys: OCR word recall against the PDF's own text layer.

    .venv/bin/python bench/ocr_recall.py [--seed 7303] [--count 4]
        [--conditions scan300,fax,skewed,photo,low_contrast] [--upscale]

For each generated certificate the digital PDF's text-layer words (pipeline.textlayer) are
the truth.  The PDF is degraded (fixtures.conditions.apply_condition), decoded the way the
pipeline decodes files (pipeline.load), and OCR'd (pipeline.tesseract.run_data) after each
cumulative preprocessing step, built from pipeline/preprocess.py, rules.py and boxes.py:

    raw          the image as decoded
    +geometry    page found in a photo and perspective-corrected, else resampled to 300 dpi;
                 turned upright with tesseract's OSD when landscape or the raw OCR is shreds
    +light       uneven lighting divided out, contrast stretched
    +deskew      skew estimated and rotated out
    +rules       ruled lines painted white
    +boxes       check-box outlines painted white (the pipeline's final image)

all with psm 3; then the final image with psm 6 and 11 (and 1.3x upscaled with --upscale).
Word recall = |OCR words ∩ text-layer words| (as multisets, exact text) / text-layer words;
precision the same over OCR words.  OCR seconds are tesseract's time alone.  Steps written
inline in pipeline/page.py (not functions of the three modules) are not mirrored here.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shlex
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import md_table, median, pct  # noqa: E402
from fixtures.conditions import MULTIPAGE, apply_condition  # noqa: E402
from fixtures.generate import CONDITIONS, make_certificate  # noqa: E402
from pipeline import boxes as bx  # noqa: E402
from pipeline import preprocess as pp  # noqa: E402
from pipeline import rules as rl  # noqa: E402
from pipeline import tesseract  # noqa: E402
from pipeline.load import open_document  # noqa: E402
from pipeline.page import OCR_PSM, looks_upright  # noqa: E402
from pipeline.sniff import sniff_file  # noqa: E402
from pipeline.textlayer import page_words  # noqa: E402
from pipeline.types import PAGE_DPI, Word  # noqa: E402

DEFAULT_CONDITIONS = ("scan300", "fax", "skewed", "photo", "low_contrast")
STEPS = ("raw", "+geometry", "+light", "+deskew", "+rules", "+boxes")
UPSCALE = 1.3


@dataclass
class Score:
    truth: int = 0
    ocr: int = 0
    matched: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, truth: Counter[str], got: Counter[str], secs: float) -> None:
        self.truth += sum(truth.values())
        self.ocr += sum(got.values())
        self.matched += sum((truth & got).values())
        self.seconds.append(secs)

    @property
    def recall(self) -> float | None:
        return self.matched / self.truth if self.truth else None

    @property
    def precision(self) -> float | None:
        return self.matched / self.ocr if self.ocr else None


def word_counts(words: Sequence[object]) -> Counter[str]:
    return Counter(str(getattr(w, "text", w)) for w in words)


def cert_seed(seed: int, condition: str, i: int) -> int:
    digest = hashlib.sha256(f"ocr-recall:{seed}:{condition}:{i}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def truth_pages(pdf: bytes) -> list[Counter[str]]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [word_counts(page_words(doc[i], i + 1) or []) for i in range(len(doc))]
    finally:
        doc.close()


def prepared_images(image: np.ndarray, dpi: tuple[float, float] | None, raw_words: list[Word],
                    timer: Callable[[str], None]) -> dict[str, np.ndarray]:
    """The cumulative preprocessing steps of one page, by step name (``raw`` excluded)."""
    out: dict[str, np.ndarray] = {}
    quad = pp.find_page_quad(image)
    gray = pp.warp_page(image, quad) if quad is not None else pp.to_page_dpi(image, dpi)[0]
    if gray.shape[1] > gray.shape[0] or not looks_upright(raw_words):
        gray, _ = pp.orient(gray, timeout=120)
    out["+geometry"] = gray
    timer("geometry")
    gray = pp.stretch_contrast(pp.flatten_light(gray))
    out["+light"] = gray
    timer("light")
    skew = pp.estimate_skew(gray)
    if abs(skew) > 0.1:
        gray = pp.rotate(gray, skew)
    out["+deskew"] = gray
    timer("deskew")
    gray, _ = rl.remove_rules(gray, PAGE_DPI)
    out["+rules"] = gray
    timer("rules")
    out["+boxes"] = bx.erase_outlines(gray, bx.find_boxes(gray, PAGE_DPI))
    timer("boxes")
    return out


def ocr(image: np.ndarray, psm: int, dpi: int, page: int) -> tuple[Counter[str], float]:
    got, secs, _ = ocr_words(image, psm, dpi, page)
    return got, secs


def ocr_words(image: np.ndarray, psm: int, dpi: int, page: int
              ) -> tuple[Counter[str], float, list[Word]]:
    t = time.perf_counter()
    words = tesseract.run_data(image, page=page, psm=psm, dpi=dpi, timeout=300)
    return word_counts(words), time.perf_counter() - t, words


def measure_page(image: np.ndarray, dpi: tuple[float, float] | None, truth: Counter[str],
                 page: int, upscale: bool, scores: dict[str, Score],
                 step_secs: dict[str, list[float]]) -> None:
    raw_dpi = round(dpi[0]) if dpi else PAGE_DPI
    got, secs, raw_words = ocr_words(image, 3, raw_dpi, page)
    scores["raw · psm 3"].add(truth, got, secs)
    t = time.perf_counter()

    def timer(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        step_secs[name].append(now - t)
        t = now

    images = prepared_images(image, dpi, raw_words, timer)
    for step in STEPS[1:]:
        got, secs = ocr(images[step], 3, PAGE_DPI, page)
        scores[f"{step} · psm 3"].add(truth, got, secs)
    final = images["+boxes"]
    for psm in (6, 11):
        got, secs = ocr(final, psm, PAGE_DPI, page)
        scores[f"final · psm {psm}"].add(truth, got, secs)
    if upscale:
        big = cv2.resize(final, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        got, secs = ocr(big, OCR_PSM, round(PAGE_DPI * UPSCALE), page)
        scores[f"final ×{UPSCALE} · psm {OCR_PSM}"].add(truth, got, secs)


def variant_names(upscale: bool) -> list[str]:
    names = [f"{s} · psm 3" for s in STEPS] + ["final · psm 6", "final · psm 11"]
    return names + ([f"final ×{UPSCALE} · psm {OCR_PSM}"] if upscale else [])


def report(scores: dict[str, dict[str, Score]], conditions: Sequence[str], upscale: bool,
           step_secs: dict[str, list[float]], pages: int) -> str:
    names = variant_names(upscale)
    rows = []
    prev: float | None = None  # recall of the step before, then of the +boxes psm 3 row
    for i, name in enumerate(names):
        every = Score()
        for c in conditions:
            s = scores[c][name]
            every.truth += s.truth
            every.ocr += s.ocr
            every.matched += s.matched
            every.seconds += s.seconds
        r = every.recall or 0.0
        delta = "" if prev is None else f"{100 * (r - prev):+.1f}"
        if i < len(STEPS):
            prev = r
        mark = " (pipeline)" if name == f"final · psm {OCR_PSM}" else ""
        rows.append([name + mark, *(pct(scores[c][name].recall) for c in conditions),
                     pct(r), delta, pct(every.precision), f"{median(every.seconds):.2f}"])
    table = md_table(["variant", *conditions, "all", "Δ pts", "precision", "OCR s/page"],
                     rows, right=tuple(range(1, len(conditions) + 5)))
    steps = md_table(["step", "median s/page"],
                     [[k, f"{median(v):.3f}"] for k, v in step_secs.items()], right=(1,))
    return "\n\n".join([
        f"## Word recall against the text layer ({pages} pages)", table,
        "Δ pts: recall points gained over the step before (psm 3 chain); the final rows OCR "
        f"the +boxes image and compare with its psm 3 row. The pipeline uses psm {OCR_PSM}.",
        "## Preprocessing time per step", steps,
    ])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seed", type=int, default=7303)
    ap.add_argument("--count", type=int, default=4, help="certificates per condition")
    ap.add_argument("--conditions", default=",".join(DEFAULT_CONDITIONS))
    ap.add_argument("--upscale", action="store_true",
                    help=f"also OCR the final image upscaled {UPSCALE}x")
    args = ap.parse_args(argv)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    bad = [c for c in conditions if c not in CONDITIONS or c == "digital"]
    if bad:
        ap.error(f"unknown or non-scan condition(s) {bad}; expected from {CONDITIONS[1:]}")
    command = shlex.join([sys.executable, *(sys.argv if argv is None else [__file__, *argv])])
    t0 = time.perf_counter()
    scores: dict[str, dict[str, Score]] = {c: defaultdict(Score) for c in conditions}
    step_secs: dict[str, list[float]] = defaultdict(list)
    n_pages = 0
    with tempfile.TemporaryDirectory(prefix="coi-ocr-recall-") as tmp:
        for cond in conditions:
            for i in range(args.count):
                cseed = cert_seed(args.seed, cond, i)
                cert = make_certificate(cseed, layout="random", multipage=cond in MULTIPAGE)
                data, ext = apply_condition(cert.pdf, cond, random.Random(cseed))
                path = Path(tmp) / f"{cond}-{i}.{ext}"
                path.write_bytes(data)
                truths = truth_pages(cert.pdf)
                opened = open_document(path, sniff_file(path), max_pages=50, timeout=300)
                for src in opened.pages:
                    if src.image is None:
                        print(f"  {path.name} page {src.number}: {src.error or 'no image'}",
                              file=sys.stderr)
                        continue
                    measure_page(src.image, src.dpi, truths[src.number - 1], src.number,
                                 args.upscale, scores[cond], step_secs)
                    n_pages += 1
                    done = scores[cond][f"final · psm {OCR_PSM}"]
                    print(f"  {path.name} page {src.number}: recall so far (final, psm "
                          f"{OCR_PSM}) {pct(done.recall)}", file=sys.stderr)
    print(f"# OCR recall by preprocessing step — seed {args.seed}, {args.count} per condition\n")
    print(report(scores, conditions, args.upscale, step_secs, n_pages))
    print(f"\nWall time {time.perf_counter() - t0:.1f} s. Command: `{command}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
