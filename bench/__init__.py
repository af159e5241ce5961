"""Benchmarks (see bench/README.md); this module holds the helpers they share: numbers and
markdown tables, and running the real ``coi`` command.

Run the scripts from the repository root, e.g. ``.venv/bin/python bench/accuracy.py``.
Their reports are markdown, so the same text reads on a terminal and in docs.
"""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def pct(x: float | None, digits: int = 1) -> str:
    """0.9731 -> '97.3 %'; None -> '–'."""
    return "–" if x is None else f"{100 * x:.{digits}f} %"


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return quantile(values, 0.5)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
             right: Sequence[int] = ()) -> str:
    """A markdown table with padded columns; ``right`` lists right-aligned column indexes."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))) + " |"

    sep = "|" + "|".join(
        "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def coi_command() -> list[str]:
    for exe in (Path(sys.executable).parent / "coi", REPO / ".venv" / "bin" / "coi"):
        if exe.exists():
            return [str(exe)]
    return [sys.executable, "-m", "coi.cli"]


def coi_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without Prefect or coi settings (a PREFECT_API_URL would send
    benchmark runs to a real server, a coi.toml or COI_* could point elsewhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COI_"))}
    env["COI_DATA_DIR"] = str(data_dir)
    env["COLUMNS"] = "200"
    return env


def run_logged(cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path,
               echo: bool) -> str:
    """Run a command, streaming its output to ``log`` (and stderr with ``echo``)."""
    lines = []
    with open(log, "w", encoding="utf-8") as fp:
        fp.write("$ " + shlex.join(cmd) + "\n")
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            fp.write(line)
            lines.append(line)
            if echo:
                sys.stderr.write("  " + line)
        rc = proc.wait()
    if rc != 0:
        raise SystemExit(f"{shlex.join(cmd)} exited with {rc}; see {log}")
    return "".join(lines)
