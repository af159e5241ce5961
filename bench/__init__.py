"""Benchmarks (see bench/README.md); this module holds the helpers they share: numbers and
markdown tables, and running the real ``coi`` command.

Run the scripts from the repository root, e.g. ``.venv/bin/python bench/accuracy.py``.
Their reports are markdown, so the same text reads on a terminal and in docs.
"""

from __future__ import annotations

import math
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INGEST_ATTEMPTS = 3  # runs of `coi ingest` when it crashes (see coi_ingest)
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
               echo: bool) -> tuple[int, str]:
    """Run a command with its output going to ``log`` (echoed to stderr with ``echo``);
    return its exit code and output.

    The output goes to a file, not a pipe: ``coi ingest`` starts Prefect's local API as a
    child process, and if coi itself dies (a crash in native code), that orphan would hold a
    pipe open forever.  The command runs in its own session, and whatever of that session
    is left when the command has ended is terminated.
    """
    header = "$ " + shlex.join(cmd) + "\n"
    log.write_text(header, encoding="utf-8")
    with open(log, "a", encoding="utf-8") as fp:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=fp, stderr=subprocess.STDOUT,
                                start_new_session=True)
    shown = len(header)
    try:
        while True:
            rc = proc.poll()
            text = log.read_text(encoding="utf-8", errors="replace")
            end = len(text) if rc is not None else text.rfind("\n", shown) + 1
            if echo and end > shown:
                sys.stderr.write("".join("  " + ln for ln in text[shown:end].splitlines(True)))
            shown = max(shown, end)
            if rc is not None:
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:  # interrupted
            proc.terminate()
            proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # leftovers of our own child's session
        except (ProcessLookupError, PermissionError):
            pass
    return rc, text[len(header):]


def failure(cmd: list[str], rc: int, output: str, log: Path) -> str:
    """What went wrong with a command, in one message with the end of its output."""
    how = f"was killed by signal {-rc}" if rc < 0 else f"exited with {rc}"
    tail = "\n".join("    " + ln for ln in output.strip().splitlines()[-5:])
    return f"`{shlex.join(cmd)}` {how}; last lines of {log}:\n{tail}"


def coi_ingest(cmd: list[str], env: dict[str, str], out: Path,
               quiet: bool) -> tuple[str, list[str]]:
    """Run ``coi ingest`` (``cmd``): its output, and what crashed.

    A document that fails is a result (stored as failed), not a crash.  If coi itself dies
    from a signal (a crash in native code), it is run again on the same inbox, up to
    INGEST_ATTEMPTS times in all: what was stored is skipped as duplicates.  The crashes go
    into the report.  Any other non-zero exit (coi cannot run) ends the benchmark.
    """
    output, crashes = "", []
    for attempt in range(1, INGEST_ATTEMPTS + 1):
        log = out / ("ingest.log" if attempt == 1 else f"ingest-{attempt}.log")
        rc, text = run_logged(cmd, env=env, cwd=out, log=log, echo=not quiet)
        output += text
        if rc == 0:
            return output, crashes
        crashes.append(failure(cmd, rc, text, log))
        if rc > 0:
            break
        print(f"warning: {crashes[-1]}\nrunning it again", file=sys.stderr)
    raise SystemExit("\n".join(crashes))
