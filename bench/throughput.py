"""Throughput: milliseconds per digital certificate, seconds per scanned page beside bare
tesseract on the same page.

    .venv/bin/python bench/throughput.py [-n 5] [--seed 7302] [--keep DIR]

Digital: ``process_file`` + ``models.store.save_result`` into a SQLite file, end to end per
certificate, in this process after one warm-up certificate (target: median <= 150 ms).
Scanned (scan300): per page, our ``process_file`` and ``tesseract page.png out`` (default
settings, OMP_THREAD_LIMIT=1) on the page rasterized beforehand by pdftoppm at 300 dpi,
interleaved page by page (alternating which goes first) so machine load hits both alike;
the ratio ours / bare is the figure to compare across runs (target <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import md_table, median, quantile  # noqa: E402
from fixtures.generate import generate  # noqa: E402
from models.db import make_engine, migrate  # noqa: E402
from models.store import save_result  # noqa: E402
from pipeline.process import process_file  # noqa: E402
from pipeline.types import DocumentResult  # noqa: E402

DIGITAL_TARGET_MS = 150.0
RATIO_TARGET = 1.5
# Timing keys in the order the pipeline runs them; anything else is listed after.
STAGE_ORDER = ("geometry", "light", "orient", "deskew", "rules", "ocr")


def rasterize(pdf: Path, out_base: Path) -> Path:
    """The PDF's first page as a 300-dpi grayscale PNG (pdftoppm), not timed."""
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", str(pdf),
                    str(out_base)], check=True, capture_output=True)
    return out_base.with_suffix(".png")


def bare_tesseract(png: Path, out_base: Path) -> float:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    t = time.perf_counter()
    proc = subprocess.run(["tesseract", str(png), str(out_base)], env=env,
                          capture_output=True, text=True)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"tesseract failed on {png}: {proc.stderr.strip()}")
    return secs


def ours(path: Path) -> tuple[float, DocumentResult]:
    t = time.perf_counter()
    result = process_file(path)
    secs = time.perf_counter() - t
    if result.status != "processed":
        print(f"warning: {path.name}: {result.status} {result.error or ''}", file=sys.stderr)
    return secs, result


def stage_rows(results: list[DocumentResult]) -> list[list[object]]:
    """Median seconds of each timing key over the documents that have it."""
    values: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for k, v in r.timings.items():
            values[k].append(float(v))

    def order(key: str) -> tuple[int, int, int, str]:
        page, _, step = key.partition(".")
        if page[:1] == "p" and page[1:].isdigit():  # p1.ocr, then p1 (the page's total)
            rank = STAGE_ORDER.index(step) if step in STAGE_ORDER else (99 if step else 100)
            return (0, int(page[1:]), rank, key)
        ranks = {"read": 1, "reread": 2, "reread_cells": 3, "extract": 4, "verify": 5,
                 "verify_fields": 6, "total": 7}
        return (1, ranks.get(key, 8), 0, key)

    total = median(values.get("total", [])) or 1.0
    rows: list[list[object]] = []
    for k in sorted(values, key=order):
        m = median(values[k])
        if k in ("reread_cells", "verify_fields"):  # counts, not seconds
            unit = "cells" if k == "reread_cells" else "fields"
            rows.append([k, f"{m:.0f} {unit}", "", f"{len(values[k])}/{len(results)}"])
        else:
            rows.append([k, f"{m:.3f}", f"{100 * m / total:.0f} %",
                         f"{len(values[k])}/{len(results)}"])
    return rows


def run_digital(work: Path, seed: int, n: int) -> tuple[list[float], list[float],
                                                        list[DocumentResult]]:
    paths = generate(work / "digital", seed=seed, count=n + 1, conditions=("digital",))
    engine = make_engine(f"sqlite:///{work / 'throughput.db'}")
    migrate(engine)
    try:
        save_result(engine, process_file(paths[0]))  # warm-up: imports, caches, first query
        totals, proc_only, results = [], [], []
        for p in paths[1:]:
            t = time.perf_counter()
            r = process_file(p)
            t_proc = time.perf_counter() - t
            save_result(engine, r)
            totals.append(time.perf_counter() - t)
            proc_only.append(t_proc)
            results.append(r)
    finally:
        engine.dispose()
    return totals, proc_only, results


def run_scanned(work: Path, seed: int, n: int) -> tuple[list[float], list[float],
                                                        list[DocumentResult]]:
    paths = generate(work / "scan", seed=seed, count=n, conditions=("scan300",))
    pngs = [rasterize(p, work / "scan" / f"{p.stem}-page") for p in paths]
    # Warm-up: tesseract's model and our modules into memory, untimed.
    bare_tesseract(pngs[0], work / "warm")
    ours(paths[0])
    mine, bare, results = [], [], []
    for i, (pdf, png) in enumerate(zip(paths, pngs, strict=True)):
        order = ("ours", "bare") if i % 2 == 0 else ("bare", "ours")
        for which in order:
            if which == "bare":
                bare.append(bare_tesseract(png, work / f"bare-{i}"))
            else:
                secs, r = ours(pdf)
                mine.append(secs / max(r.pages, 1))
                results.append(r)
        print(f"  page {i + 1}/{n}: ours {mine[-1]:.2f} s, bare tesseract {bare[-1]:.2f} s",
              file=sys.stderr)
    return mine, bare, results


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("-n", "--count", type=int, default=5,
                    help="digital and scanned certificates each")
    ap.add_argument("--seed", type=int, default=7302)
    ap.add_argument("--keep", type=Path, default=None,
                    help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--skip-scanned", action="store_true", help="digital only")
    args = ap.parse_args(argv)
    if args.count < 1:
        ap.error("--count must be at least 1")
    command = shlex.join([sys.executable, *(sys.argv if argv is None else [__file__, *argv])])
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="coi-throughput-") as tmp:
        work = args.keep.resolve() if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"digital: {args.count} certificates after a warm-up", file=sys.stderr)
        totals, proc_only, dig_results = run_digital(work, args.seed, args.count)
        scanned = None
        if not args.skip_scanned:
            print(f"scanned: {args.count} scan300 pages, ours and bare tesseract interleaved",
                  file=sys.stderr)
            scanned = run_scanned(work, args.seed, args.count)

    ms = [1000 * t for t in totals]
    med = median(ms)
    parts = [
        f"# Throughput — seed {args.seed}, {args.count} certificates per kind",
        "## Digital PDF: process_file + save_result (SQLite), per certificate",
        md_table(["", "median", "p90", "max", "target"], [
            ["end to end (ms)", f"{med:.0f}", f"{quantile(ms, 0.9):.0f}", f"{max(ms):.0f}",
             f"≤ {DIGITAL_TARGET_MS:.0f} ({'met' if med <= DIGITAL_TARGET_MS else 'MISSED'})"],
            ["process_file only (ms)", f"{median([1000 * t for t in proc_only]):.0f}",
             f"{quantile([1000 * t for t in proc_only], 0.9):.0f}",
             f"{1000 * max(proc_only):.0f}", ""],
        ], right=(1, 2, 3)),
        "Digital stages (median seconds):",
        md_table(["timing", "median s", "of total", "docs"], stage_rows(dig_results),
                 right=(1, 2, 3)),
    ]
    if scanned is not None:
        mine, bare, results = scanned
        ratio = median(mine) / median(bare)
        per_page = [m / b for m, b in zip(mine, bare, strict=True)]
        parts += [
            "## Scanned page (scan300): ours vs bare tesseract CLI, seconds per page",
            md_table(["", "median s/page", "min", "max"], [
                ["ours: process_file", f"{median(mine):.2f}", f"{min(mine):.2f}",
                 f"{max(mine):.2f}"],
                ["bare: tesseract page.png out", f"{median(bare):.2f}", f"{min(bare):.2f}",
                 f"{max(bare):.2f}"],
            ], right=(1, 2, 3)),
            f"Ratio ours / bare: **{ratio:.2f}** of the medians (median of per-page ratios "
            f"{median(per_page):.2f}, range {min(per_page):.2f}–{max(per_page):.2f}); target "
            f"≤ {RATIO_TARGET} ({'met' if ratio <= RATIO_TARGET else 'MISSED'}).",
            "Our stages on scanned pages (median seconds over the pages):",
            md_table(["timing", "median s", "of total", "docs"], stage_rows(results),
                     right=(1, 2, 3)),
        ]
    parts += ["`extract` includes `reread` (single cells OCR'd again) and `verify` (the second "
              "read of unsure values, `verify_fields` of them); `pN` is page N's whole read, "
              "`read` all pages with opening and rasterizing.",
              f"Load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
              f"({os.cpu_count()} CPUs). Wall time {time.perf_counter() - t0:.1f} s. "
              f"Command: `{command}`"]
    print("\n\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
