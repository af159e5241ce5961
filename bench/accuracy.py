"""The accuracy benchmark of record: fresh certificates through the real ``coi`` command.

    .venv/bin/python bench/accuracy.py [--seed 7301] [--count 6] [--conditions a,b]
        [--layouts random] [--workers 2] [--out DIR] [--markdown FILE] [--plot PNG]

Generates ``count`` certificates per scan condition (by default each with a newly drawn
layout, which the extractors were never tuned on), ingests them with ``coi ingest`` in a
subprocess, exports them with ``coi export --format jsonl`` and scores every field against
the generator's truth with ``fixtures.score``.  Prints accuracy, review and silent-error rates
per condition and per field family, a confidence reliability table and what each
accepted/needs_review threshold would give; draws the reliability table as a PNG
(``--plot``, default ``<out>/reliability.png``; docs/reliability.png is one).  Per-field
outcomes go to ``<out>/outcomes.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench  # noqa: E402
from bench import OUT, md_table, pct  # noqa: E402
from bench.plot import reliability_png  # noqa: E402
from extractors.validate import DEFAULT_THRESHOLD  # noqa: E402
from extractors.validate import THRESHOLDS as FAMILY_T  # noqa: E402
from fixtures.conditions import QUIRKS  # noqa: E402
from fixtures.generate import CONDITIONS, LAYOUT_NAMES, generate  # noqa: E402
from fixtures.score import Outcome, Tally, compare, tally  # noqa: E402

# Targets from the issues: field accuracy per condition, silent errors and review rate
# overall.  The end-to-end issue's for its eight conditions; the conditions the real-world
# issue added (150-dpi scans, color scans with stamps and highlighter) have that issue's.
TARGET_ACCURACY = {
    "digital": 0.995,
    "scan300": 0.97, "skewed": 0.97, "rotated": 0.97, "multipage": 0.97,
    "fax": 0.93, "photo": 0.93, "low_contrast": 0.93,
    "scan150": 0.96, "color": 0.985, "upside_down": 0.985,
    "misaligned": 0.985,  # a quirk: only with --conditions (fixtures.conditions.QUIRKS)
}
SILENT_MAX = 0.005
REVIEW_MAX = 0.15

BINS: tuple[tuple[float, float], ...] = (
    (0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 0.98), (0.98, 1.0),
)
THRESHOLDS = tuple(round(0.80 + 0.01 * i, 2) for i in range(20))  # 0.80 .. 0.99
MIN_FAMILY_FIELDS = 30  # a family gets its own reliability row with this many scored values


# ------------------------------------------------------------------------------ analysis


@dataclass(frozen=True)
class BinRow:
    lo: float
    hi: float
    fields: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.fields if self.fields else None


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    fields: int  # all fields, the denominator of both rates
    accepted: int
    silent: int  # accepted and wrong
    review: int  # has a value, confidence below the threshold

    @property
    def silent_rate(self) -> float:
        return self.silent / self.fields if self.fields else 0.0

    @property
    def review_rate(self) -> float:
        return self.review / self.fields if self.fields else 0.0

    @property
    def accepted_error(self) -> float:
        """Of the accepted fields, the share that is wrong."""
        return self.silent / self.accepted if self.accepted else 0.0


def reliability(outcomes: Iterable[Outcome],
                bins: Sequence[tuple[float, float]] = BINS) -> list[BinRow]:
    """Fields with a confidence, by confidence bin (lo <= c < hi; the last bin includes its
    upper edge), with how many were right.  Fields the record lacks have no confidence and
    are left out."""
    counts = [[0, 0] for _ in bins]
    for o in outcomes:
        if o.confidence is None:
            continue
        for i, (lo, hi) in enumerate(bins):
            last = i == len(bins) - 1
            if lo <= o.confidence < hi or (last and lo <= o.confidence <= hi):
                counts[i][0] += 1
                counts[i][1] += o.correct
                break
    return [BinRow(lo, hi, n, c) for (lo, hi), (n, c) in zip(bins, counts, strict=True)]


def sweep(outcomes: Iterable[Outcome],
          thresholds: Sequence[float] = THRESHOLDS) -> list[SweepRow]:
    """What accepting exactly the fields with confidence >= t would give, for each t.

    The status of a field is decided by its confidence alone (extractors.validate), so this
    is what the record would say with that threshold.  Fields the record lacks count in the
    denominator but are neither accepted nor for review.
    """
    outs = list(outcomes)
    rows = []
    for t in thresholds:
        acc = silent = review = 0
        for o in outs:
            if o.confidence is None:
                continue
            if o.confidence >= t:
                acc += 1
                silent += not o.correct
            else:
                review += 1
        rows.append(SweepRow(t, len(outs), acc, silent, review))
    return rows


def lowest_safe_threshold(outcomes: Iterable[Outcome], max_silent: float = SILENT_MAX,
                          thresholds: Sequence[float] = THRESHOLDS) -> SweepRow | None:
    """The lowest threshold whose silent-error rate is within ``max_silent``, or None."""
    for row in sweep(outcomes, thresholds):
        if row.silent_rate <= max_silent:
            return row
    return None


# ------------------------------------------------------------------------------ running


def condition_of(file: str) -> str:
    """Generated files are named ``{condition}-{seed}-{i:03d}.{ext}``."""
    return file.split("-", 1)[0]


def clean_out(out: Path) -> None:
    """Remove what an earlier run into ``out`` left (only the files this script writes)."""
    for d in ("inbox", "truth"):
        shutil.rmtree(out / d, ignore_errors=True)
    for name in ("bench.db", "bench.db-wal", "bench.db-shm", "records.jsonl", "outcomes.jsonl",
                 "export.log"):
        (out / name).unlink(missing_ok=True)
    for log in out.glob("ingest*.log"):
        log.unlink()


def score(truth_dir: Path, records: dict[str, dict[str, Any]]
          ) -> tuple[dict[str, list[Outcome]], dict[str, int], list[str]]:
    """Outcomes by condition, pages by condition, files that produced no record."""
    by_cond: dict[str, list[Outcome]] = defaultdict(list)
    pages: dict[str, int] = defaultdict(int)
    missing = []
    for tp in sorted(truth_dir.glob("*.truth.json")):
        truth = json.loads(tp.read_text())
        file = truth["source"]["file"]
        cond = condition_of(file)
        pages[cond] += truth["source"]["pages"]
        record = records.get(file)
        if record is None:
            missing.append(file)
        by_cond[cond].extend(compare(truth, record))
    return by_cond, pages, missing


# ------------------------------------------------------------------------------ report


def _meets(cond: str, t: Tally) -> str:
    misses = []
    if t.accuracy < TARGET_ACCURACY.get(cond, 1.0):
        misses.append("accuracy")
    if t.review_rate > REVIEW_MAX:
        misses.append("review")
    if t.silent_rate > SILENT_MAX:
        misses.append("silent")
    return "yes" if not misses else "NO: " + ", ".join(misses)


def condition_table(by_cond: dict[str, list[Outcome]], docs: dict[str, int],
                    missing: list[str]) -> str:
    rows = []
    for cond in [c for c in CONDITIONS + QUIRKS if c in by_cond]:
        t = tally(by_cond[cond])
        n_missing = sum(1 for f in missing if condition_of(f) == cond)
        rows.append([cond, docs[cond], n_missing, t.fields, pct(t.accuracy),
                     pct(TARGET_ACCURACY.get(cond)), pct(t.review_rate), pct(t.silent_rate, 2),
                     _meets(cond, t)])
    every = tally(o for outs in by_cond.values() for o in outs)
    misses = [f"{n} of {len(rows)} conditions" for n in [sum(r[-1] != "yes" for r in rows)] if n]
    misses += ["review"] if every.review_rate > REVIEW_MAX else []
    misses += ["silent"] if every.silent_rate > SILENT_MAX else []
    rows.append(["**all**", sum(docs.values()), len(missing), every.fields, pct(every.accuracy),
                 "", pct(every.review_rate), pct(every.silent_rate, 2),
                 "NO: " + ", ".join(misses) if misses else "yes"])
    return md_table(["condition", "docs", "no record", "fields", "accuracy", "target",
                     "review", "silent errors", "meets targets"], rows,
                    right=(1, 2, 3, 4, 5, 6, 7))


def family_table(outcomes: list[Outcome]) -> str:
    fams: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        fams[o.family].append(o)
    rows = []
    for fam in sorted(fams, key=lambda f: tally(fams[f]).accuracy):
        t = tally(fams[fam])
        rows.append([fam, t.fields, pct(t.accuracy), pct(t.review_rate), t.silent,
                     pct(t.silent_rate, 2)])
    return md_table(["family", "fields", "accuracy", "review", "silent", "silent rate"], rows,
                    right=(1, 2, 3, 4, 5))


def reliability_table(outcomes: list[Outcome]) -> str:
    groups: list[tuple[str, list[Outcome]]] = [("**all**", outcomes)]
    fams: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.confidence is not None:
            fams[o.family].append(o)
    groups += [(f, fams[f]) for f in sorted(fams) if len(fams[f]) >= MIN_FAMILY_FIELDS]
    heads = ["family"] + [f"{lo:.2f}–{hi:.2f}" for lo, hi in BINS]
    rows = []
    for name, outs in groups:
        cells = [f"{pct(b.accuracy)} ({b.fields})" if b.fields else "–" for b in reliability(outs)]
        rows.append([name, *cells])
    return md_table(heads, rows, right=tuple(range(1, len(heads))))


def sweep_table(outcomes: list[Outcome]) -> str:
    rows = []
    for r in sweep(outcomes):
        mark = " ← default" if abs(r.threshold - DEFAULT_THRESHOLD) < 1e-9 else ""
        rows.append([f"{r.threshold:.2f}{mark}", r.accepted, r.silent, pct(r.silent_rate, 2),
                     pct(r.accepted_error, 2), pct(r.review_rate)])
    return md_table(["threshold", "accepted", "silent", "silent rate", "wrong of accepted",
                     "review rate"], rows, right=(1, 2, 3, 4, 5))


def family_threshold_table(outcomes: list[Outcome]) -> str:
    fams: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        fams[o.family].append(o)
    rows = []
    for fam in sorted(fams):
        t = FAMILY_T.get(fam, DEFAULT_THRESHOLD)
        (now,) = sweep(fams[fam], [t])
        current = [f"{t:.2f}", now.silent, pct(now.review_rate)]
        r = lowest_safe_threshold(fams[fam])
        if r is None:
            rows.append([fam, len(fams[fam]), *current, "> 0.99", "", ""])
        else:
            rows.append([fam, len(fams[fam]), *current, f"{r.threshold:.2f}",
                         pct(r.silent_rate, 2), pct(r.review_rate)])
    return md_table(["family", "fields", "current t", "silent", "review",
                     f"lowest t with silent ≤ {pct(SILENT_MAX, 1)}", "silent rate",
                     "review rate"], rows, right=(1, 2, 3, 4, 5, 6, 7))


def threshold_marks() -> dict[str, float]:
    """The accept thresholds in use, one label per distinct value, for the diagram."""
    by_t: dict[float, list[str]] = defaultdict(list)
    for fam, t in FAMILY_T.items():
        by_t[t].append(fam)
    marks = {(fams[0] if len(fams) == 1 else f"{len(fams)} families"): t
             for t, fams in by_t.items()}
    marks["default"] = DEFAULT_THRESHOLD
    return marks


def silent_list(outcomes: list[Outcome], limit: int = 20) -> str:
    bad = sorted((o for o in outcomes if o.silent_error),
                 key=lambda o: -(o.confidence or 0))[:limit]
    if not bad:
        return "none"
    rows = [[o.file, o.path, json.dumps(o.expected), json.dumps(o.got), f"{o.confidence:.3f}"]
            for o in bad]
    return md_table(["file", "path", "expected", "got", "confidence"], rows, right=(4,))


def totals(args: argparse.Namespace, t: Tally, n_docs: int, n_pages: int,
           phases: dict[str, float], command: str) -> str:
    return "\n".join([
        f"- {n_docs} documents, {n_pages} pages, {t.fields} fields: accuracy "
        f"{pct(t.accuracy)}, review {pct(t.review_rate)}, silent errors {t.silent} "
        f"({pct(t.silent_rate, 2)})",
        f"- wall time {phases['total']:.1f} s: generate {phases['generate']:.1f} s, ingest "
        f"{phases['ingest']:.1f} s ({phases['ingest'] / max(n_pages, 1):.2f} s a page with "
        f"{args.workers} workers, Prefect's start included), export and score "
        f"{phases['score']:.1f} s",
        f"- command: `{command}`",
        f"- per-field outcomes: `{args.out / 'outcomes.jsonl'}`",
    ])


def render(args: argparse.Namespace, by_cond: dict[str, list[Outcome]], docs: dict[str, int],
           pages: dict[str, int], missing: list[str], ingest_log: str, crashes: list[str],
           phases: dict[str, float], command: str) -> str:
    every = [o for c in CONDITIONS + QUIRKS for o in by_cond.get(c, [])]
    t = tally(every)
    n_pages = sum(pages.values())
    parts = [
        f"# Accuracy benchmark — seed {args.seed}, {args.count} per condition, "
        f"layouts {args.layouts}",
        "## Per condition",
        condition_table(by_cond, docs, missing),
        f"Targets: field accuracy as listed; review ≤ {pct(REVIEW_MAX, 0)} and silent errors "
        f"(wrong and accepted) ≤ {pct(SILENT_MAX, 1)} of fields, per condition and overall.",
    ]
    if crashes:
        parts.append("**`coi ingest` crashed** and was run again on the same inbox (stored "
                     "documents are skipped as duplicates, the others read):\n\n"
                     + "\n".join("- " + c.replace("\n", "\n  ") for c in crashes))
    if missing:
        lines = ingest_log.splitlines()
        why = [f"- {f}: " + next((ln.strip() for ln in lines if f in ln), "not in coi's output")
               for f in missing]
        parts.append("Documents without a record (every truth field counted wrong):\n\n"
                     + "\n".join(why))
    parts += [
        "## Per field family (all conditions)", family_table(every),
        "## Reliability: observed accuracy by confidence (fields in the bin)",
        reliability_table(every),
        f"{sum(o.confidence is None for o in every)} truth fields had no value in the record "
        "and are in no bin.",
        "## Accept threshold: what one threshold for every family would give (all "
        "conditions)", sweep_table(every),
        "Per family: the threshold in use (`extractors.validate.THRESHOLDS`, else the "
        "default marked above) with the silent errors and review rate it gives, and the "
        "lowest threshold within the silent-error target:",
        family_threshold_table(every),
        "## Silent errors (highest confidence first)", silent_list(every),
        "## Totals",
        totals(args, t, sum(docs.values()), n_pages, phases, command),
    ]
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seed", type=int, default=7301)
    ap.add_argument("--count", type=int, default=6, help="certificates per condition")
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--layouts", default="random",
                    help=f"comma-separated, from {','.join(LAYOUT_NAMES)}")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="default bench/out/accuracy-<seed>")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    ap.add_argument("--plot", type=Path, default=None,
                    help="the reliability diagram PNG (default <out>/reliability.png)")
    ap.add_argument("--data-dir", type=Path, default=OUT / "coi-data",
                    help="coi's data dir for the runs (Prefect's home, logs); kept between "
                         "runs so Prefect's database is migrated once")
    ap.add_argument("--quiet", action="store_true", help="do not echo coi's output")
    ap.add_argument("--prefect-api", default=None, metavar="URL",
                    help="a running Prefect API for the ingest (default: coi starts its local "
                         "one, 7-20 s; the caller's PREFECT_API_URL is never used unasked)")
    args = ap.parse_args(argv)
    args.conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    bad = [c for c in args.conditions if c not in CONDITIONS + QUIRKS]
    if bad:
        ap.error(f"unknown condition(s) {bad}; expected {CONDITIONS + QUIRKS}")
    args.layout_list = [s.strip() for s in args.layouts.split(",") if s.strip()]
    bad = [s for s in args.layout_list if s not in LAYOUT_NAMES]
    if bad:
        ap.error(f"unknown layout(s) {bad}; expected {LAYOUT_NAMES}")
    if args.count < 1 or args.workers < 1:
        ap.error("--count and --workers must be at least 1")
    args.out = (args.out or OUT / f"accuracy-{args.seed}").resolve()
    args.plot = (args.plot or args.out / "reliability.png").resolve()
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([sys.executable, *(sys.argv if argv is None else
                                            [__file__, *argv])])
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    clean_out(out)
    inbox, truth_dir = out / "inbox", out / "truth"
    truth_dir.mkdir()
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    paths = generate(inbox, seed=args.seed, count=args.count, conditions=args.conditions,
                     layouts=args.layout_list)
    for tp in inbox.glob("*.truth.json"):  # truth beside the inbox, not in it
        tp.rename(truth_dir / tp.name)
    docs: dict[str, int] = defaultdict(int)
    for p in paths:
        docs[condition_of(p.name)] += 1
    phases["generate"] = time.perf_counter() - t0
    print(f"generated {len(paths)} certificates in {phases['generate']:.1f} s; ingesting",
          file=sys.stderr)

    t1 = time.perf_counter()
    env, url = bench.coi_env(args.data_dir), f"sqlite:///{out / 'bench.db'}"
    if args.prefect_api:
        env["PREFECT_API_URL"] = args.prefect_api
    cmd = [*bench.coi_command(), "ingest", str(inbox), "--db", url,
           "--workers", str(args.workers)]
    ingest_log, crashes = bench.coi_ingest(cmd, env, out, args.quiet)
    phases["ingest"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    cmd = [*bench.coi_command(), "export", "--format", "jsonl", "--db", url,
           "-o", str(out / "records.jsonl")]
    rc, text = bench.run_logged(cmd, env=env, cwd=out, log=out / "export.log", echo=False)
    if rc != 0:
        raise SystemExit(bench.failure(cmd, rc, text, out / "export.log"))
    records = {}
    for line in (out / "records.jsonl").read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            records[rec["source"]["file"]] = rec
    by_cond, pages, missing = score(truth_dir, records)
    with open(out / "outcomes.jsonl", "w", encoding="utf-8") as fp:
        for cond in sorted(by_cond):
            for o in by_cond[cond]:
                row = asdict(o)
                fp.write(json.dumps({"file": row.pop("file"), "condition": cond, **row}) + "\n")
    phases["score"] = time.perf_counter() - t2
    phases["total"] = time.perf_counter() - t0

    report = render(args, by_cond, docs, pages, missing, ingest_log, crashes, phases,
                    command)
    print(report)
    every = [o for c in CONDITIONS + QUIRKS for o in by_cond.get(c, [])]
    plot = reliability_png(every, args.plot, thresholds=threshold_marks(),
                           title=f"Reliability of the confidence - seed {args.seed}, "
                                 f"{len(every)} fields, {len(args.conditions)} conditions")
    print(f"reliability diagram: {plot}", file=sys.stderr)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
