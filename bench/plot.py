"""The reliability diagram of bench/accuracy.py as a PNG, drawn with Pillow (no plotting
library needed): observed accuracy per confidence bin against the diagonal of perfect
calibration, the number of fields in each bin, and the accept thresholds in use.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.score import Outcome  # noqa: E402

# Fine bins where the thresholds live; everything below 0.5 is one bin.
PLOT_BINS: tuple[tuple[float, float], ...] = (
    (0.0, 0.5), *((round(0.5 + 0.05 * i, 2), round(0.55 + 0.05 * i, 2)) for i in range(10)))

W, H = 1000, 640
LEFT, RIGHT, TOP, BOTTOM = 90, 40, 130, 110  # margins around the plot area


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def bins_of(outcomes: Sequence[Outcome]) -> list[tuple[float, float, int, int]]:
    """(lo, hi, fields, right) per PLOT_BINS bin, binned as the report's table is."""
    from bench.accuracy import reliability  # imported here: accuracy.py imports this module

    return [(b.lo, b.hi, b.fields, b.correct) for b in reliability(outcomes, PLOT_BINS)]


def reliability_png(outcomes: Sequence[Outcome], path: Path, *, title: str,
                    thresholds: dict[str, float]) -> Path:
    """Draw the diagram to ``path``; ``thresholds``: label -> accept threshold to mark."""
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    f_small, f_mid, f_big = _font(13), _font(16), _font(20)
    x0, y0, x1, y1 = LEFT, TOP, W - RIGHT, H - BOTTOM

    def px(c: float) -> float:
        return x0 + (x1 - x0) * c

    def py(a: float) -> float:
        return y1 - (y1 - y0) * a

    d.text((LEFT, 20), title, fill="black", font=f_big)
    for k in range(11):  # grid and axes labels
        v = k / 10
        d.line([(px(v), y0), (px(v), y1)], fill=(230, 230, 230))
        d.line([(x0, py(v)), (x1, py(v))], fill=(230, 230, 230))
        d.text((px(v) - 10, y1 + 8), f"{v:.1f}", fill="black", font=f_small)
        d.text((x0 - 42, py(v) - 8), f"{v:.0%}", fill="black", font=f_small)
    d.rectangle([x0, y0, x1, y1], outline="black")
    for lo, hi, n, right in bins_of(outcomes):
        if not n:
            continue
        acc = right / n
        color = (60, 120, 200) if acc >= 0.995 else (230, 140, 40) if acc >= 0.9 else (
            200, 60, 60)
        d.rectangle([px(lo) + 2, py(acc), px(hi) - 2, y1], fill=color, outline="black")
        inside = y1 - py(acc) > 44
        ty = py(acc) + 4 if inside else py(acc) - 36
        ink = "white" if inside else "black"
        d.text((px(lo) + 4, ty), f"{100 * acc:.1f}", fill=ink, font=f_small)
        d.text((px(lo) + 4, ty + 16), f"{n}", fill=ink, font=f_small)
    d.line([(px(0), py(0)), (px(1), py(1))], fill=(110, 110, 110), width=2)  # perfect
    for k, (label, t) in enumerate(sorted(thresholds.items(), key=lambda kv: kv[1])):
        # Labels stacked one row each above the plot, so close thresholds stay legible.
        row = y0 - 22 - 16 * k
        d.line([(px(t), row + 14), (px(t), y1)], fill=(40, 160, 60), width=2)
        text = f"{label} {t:.2f}"
        tx = px(t) + 3 if t < 0.9 else px(t) - 3 - d.textlength(text, font=f_small)
        d.text((tx, row), text, fill=(30, 110, 40), font=f_small)
    d.text(((x0 + x1) / 2 - 140, y1 + 32), "confidence the record gives a field",
           fill="black", font=f_mid)
    d.text((LEFT, H - 48), "bars: % of the fields in each confidence bin that were right, over "
           "how many fields (blue: 99.5 % or more, orange: 90 % or more, red: less);",
           fill="black", font=f_small)
    d.text((LEFT, H - 30), "gray diagonal: perfect calibration; green: accept thresholds "
           "(a field at or above its family's is accepted).", fill="black", font=f_small)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Redraw the diagram from a run's outcomes.jsonl:
    ``bench/plot.py bench/out/accuracy-7301/outcomes.jsonl docs/reliability.png``."""
    import argparse
    import json

    from bench.accuracy import threshold_marks

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("outcomes", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--title", default=None)
    args = ap.parse_args(argv)
    outs = []
    for line in args.outcomes.read_text().splitlines():
        row = json.loads(line)
        row.pop("condition", None)
        outs.append(Outcome(**row))
    title = args.title or (f"Reliability of the confidence - {len(outs)} fields "
                           f"({args.outcomes.parent.name})")
    print(reliability_png(outs, args.png, title=title, thresholds=threshold_marks()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
