"""The accuracy benchmark: one small real run, and its reliability/threshold arithmetic.

Only this bench runs in the suite (a single digital certificate through the real ``coi``
command); throughput and OCR recall are run by hand (bench/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.accuracy import BinRow, lowest_safe_threshold, reliability, sweep  # noqa: E402
from fixtures.score import Outcome  # noqa: E402


def _row(stdout: str, first_cell: str) -> list[str]:
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row {first_cell!r} in:\n{stdout}")


def test_accuracy_bench_runs_on_one_digital_certificate(tmp_path: Path, prefect_api) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "accuracy.py"), "--count", "1",
         "--conditions", "digital", "--out", str(out), "--data-dir", str(tmp_path / "data"),
         "--markdown", str(tmp_path / "report.md"), "--quiet", "--prefect-api", prefect_api],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "## Per condition" in proc.stdout
    # condition | docs | no record | fields | accuracy | target | review | silent | meets
    cells = _row(proc.stdout, "digital")
    assert cells[1] == "1" and cells[2] == "0"
    fields = int(cells[3])
    accuracy = float(cells[4].rstrip(" %"))
    assert fields > 20
    assert 50 <= accuracy <= 100  # a digital certificate is read nearly perfectly
    assert "## Reliability" in proc.stdout and "threshold" in proc.stdout
    assert (tmp_path / "report.md").read_text().strip() == proc.stdout.strip()
    from PIL import Image

    with Image.open(out / "reliability.png") as png:  # the diagram, drawn beside the outcomes
        assert png.format == "PNG" and png.size == (1000, 640)

    lines = (out / "outcomes.jsonl").read_text().splitlines()
    assert len(lines) == fields
    rows = [json.loads(line) for line in lines]
    assert set(rows[0]) == {"file", "condition", "path", "family", "expected", "got",
                            "confidence", "status", "correct"}
    assert {r["condition"] for r in rows} == {"digital"}
    assert {r["file"] for r in rows} == {"digital-7301-000.pdf"}
    assert round(100 * sum(r["correct"] for r in rows) / fields, 1) == accuracy


def _o(conf: float | None, correct: bool, family: str = "limits") -> Outcome:
    status = None if conf is None else ("accepted" if conf >= 0.9 else "needs_review")
    return Outcome(file="f.pdf", path="p", family=family, expected=1, got=1 if correct else 2,
                   confidence=conf, status=status, correct=correct)


OUTCOMES = [
    _o(1.0, True), _o(0.99, True), _o(0.99, False),  # top bin, upper edge included
    _o(0.85, True), _o(0.85, False),
    _o(0.5, True),  # a lower edge belongs to the bin above it
    _o(0.3, False),
    _o(None, False),  # missing from the record: no confidence, in no bin
]


def test_reliability_bins() -> None:
    bins = reliability(OUTCOMES)
    got = {(b.lo, b.hi): (b.fields, b.correct) for b in bins}
    assert got == {
        (0.0, 0.5): (1, 0), (0.5, 0.7): (1, 1), (0.7, 0.8): (0, 0), (0.8, 0.9): (2, 1),
        (0.9, 0.95): (0, 0), (0.95, 0.98): (0, 0), (0.98, 1.0): (3, 2),
    }
    assert bins[-1].accuracy == pytest.approx(2 / 3)
    assert BinRow(0.7, 0.8, 0, 0).accuracy is None


def test_threshold_sweep() -> None:
    rows = {r.threshold: r for r in sweep(OUTCOMES)}
    assert min(rows) == 0.80 and max(rows) == 0.99 and len(rows) == 20
    r = rows[0.80]
    assert (r.fields, r.accepted, r.silent, r.review) == (8, 5, 2, 2)
    assert r.silent_rate == pytest.approx(2 / 8)
    assert r.review_rate == pytest.approx(2 / 8)
    assert r.accepted_error == pytest.approx(2 / 5)
    r = rows[0.90]
    assert (r.accepted, r.silent, r.review) == (3, 1, 4)
    r = rows[0.99]  # >= : a 0.99 field is accepted at 0.99
    assert (r.accepted, r.silent, r.review) == (3, 1, 4)

    assert lowest_safe_threshold(OUTCOMES, max_silent=0.0) is None
    safe = lowest_safe_threshold(OUTCOMES, max_silent=0.0, thresholds=(0.8, 0.9, 1.0))
    assert safe is not None and safe.threshold == 1.0 and safe.accepted == 1
    safe = lowest_safe_threshold(OUTCOMES, max_silent=0.15)
    assert safe is not None and safe.threshold == 0.86 and safe.silent == 1


def test_diagram_bins_and_drawing(tmp_path: Path) -> None:
    from PIL import Image

    from bench.plot import PLOT_BINS, bins_of, reliability_png

    rows = bins_of(OUTCOMES)
    assert [(lo, hi) for lo, hi, _, _ in rows] == list(PLOT_BINS)
    got = {(lo, hi): (n, right) for lo, hi, n, right in rows if n}
    # 0.3 -> [0, .5); 0.5 -> [.5, .55); 0.85 x2 -> [.85, .9); 0.99, 0.99, 1.0 -> [.95, 1]
    assert got == {(0.0, 0.5): (1, 0), (0.5, 0.55): (1, 1), (0.85, 0.9): (2, 1),
                   (0.95, 1.0): (3, 2)}
    path = reliability_png(OUTCOMES, tmp_path / "r.png", title="t", thresholds={"x": 0.9})
    with Image.open(path) as img:
        px = img.convert("RGB")
        # The top bin (2 of 3 right: 66.7 %) is drawn red, up to two thirds of the height.
        from bench.plot import BOTTOM, LEFT, RIGHT, TOP, W

        x = LEFT + (W - RIGHT - LEFT) * 0.975
        y_bottom = px.height - BOTTOM
        y_top = TOP + (y_bottom - TOP) * (1 - 2 / 3)
        assert px.getpixel((int(x) + 12, int(y_bottom - 5))) == (200, 60, 60)
        assert px.getpixel((int(x) + 12, int(y_top - 10))) == (255, 255, 255)
