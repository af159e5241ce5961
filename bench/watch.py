"""The watcher's cost: one ``coi watch`` pass over an inbox beside ``coi ingest`` of the same
files, in one run.

    .venv/bin/python bench/watch.py [-n 20] [--seed 7303] [--rounds 3]

Both read the same certificates (digital and scan300, half each) into fresh SQLite files,
as real commands in subprocesses, alternating which goes first in each round so machine load
hits both alike, after one untimed start of Prefect.  The watch pass does everything ingest
does plus the folder work: two looks at the inbox (COI_SETTLE=0.5 here), a claim (rename,
lock, journal) per file, the move to archive/ and a row per file.  The figure is the ratio
watch / ingest of wall time per round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import OUT, coi_command, coi_env, md_table, median, run_logged  # noqa: E402
from fixtures.generate import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="certificates (half digital, half scans)")
    ap.add_argument("--seed", type=int, default=7303)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT / "watch")
    args = ap.parse_args(argv)

    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    src = out / "certificates"
    half = max(1, args.n // 2)
    generate(src, seed=args.seed, count=half, conditions=["digital", "scan300"])
    files = sorted(p for p in src.iterdir() if p.is_file() and ".truth" not in p.name)
    env = coi_env(out / "coi-data")
    env["COI_SETTLE"] = "0.5"
    cmd = coi_command()
    # Untimed: the first start of Prefect's local API migrates its database (8-21 s), which
    # would be charged to whichever command runs first.
    warm = out / "warm-up"
    warm.mkdir(parents=True)
    run_logged([*cmd, "watch", "--root", str(warm)], env=env, cwd=warm, log=warm / "log",
               echo=False)
    rows, ratios = [], []
    for r in range(args.rounds):
        times = {}
        order = ("ingest", "watch") if r % 2 == 0 else ("watch", "ingest")
        for kind in order:
            work = out / f"round{r}-{kind}"
            inbox = work / "inbox"
            inbox.mkdir(parents=True)
            old = time.time() - 60
            for f in files:
                shutil.copy(f, inbox / f.name)
                os.utime(inbox / f.name, (old, old))
            if kind == "ingest":
                argv_ = [*cmd, "ingest", str(inbox), "--db", f"sqlite:///{work / 'coi.db'}"]
            else:
                argv_ = [*cmd, "watch", "--root", str(work)]
            t = time.perf_counter()
            rc, text = run_logged(argv_, env=env, cwd=work, log=work / f"{kind}.log",
                                  echo=False)
            times[kind] = time.perf_counter() - t
            if rc != 0:
                raise SystemExit(f"{kind} exited with {rc}: {text[-500:]}")
            print(f"round {r + 1}: {kind} {times[kind]:.1f} s", file=sys.stderr)
        ratios.append(times["watch"] / times["ingest"])
        rows.append([r + 1, f"{times['ingest']:.1f}", f"{times['watch']:.1f}",
                     f"{ratios[-1]:.2f}"])
    print(f"# The watcher's cost: {len(files)} certificates (seed {args.seed})\n")
    print(md_table(["round", "coi ingest s", "coi watch s", "watch / ingest"], rows,
                   right=(0, 1, 2, 3)))
    print(f"\nmedian watch / ingest: {median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
