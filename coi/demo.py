"""``coi demo``: sample certificates in every scan condition, ingested, summarized.

The samples come from ``fixtures.generate`` with a fixed seed, so every machine gets the same
files.  The generator also writes each sample's truth (``<name>.truth.json``); those go to
``<inbox>/.truth/``, a dot-folder that ``coi ingest <inbox>`` skips, so the inbox holds only
certificates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

DEMO_SEED = 2025
TRUTH_DIR = ".truth"


@dataclass(frozen=True)
class Sample:
    path: Path
    condition: str


def sample_name(i: int, condition: str) -> str:
    return f"demo-{i + 1:02d}-{condition}"


def _existing(inbox: Path, name: str) -> Path | None:
    for p in sorted(inbox.glob(f"{name}.*")):
        if p.is_file() and not p.name.endswith(".truth.json"):
            return p
    return None


def make_samples(
    inbox: Path, count: int, on_sample: Callable[[Sample, bool], None] | None = None
) -> list[Sample]:
    """``count`` samples cycling through all conditions; existing ones are kept.

    ``on_sample(sample, created)`` is called after each one (for a progress display).
    """
    # Imported here: the generator pulls in reportlab/opencv, which only the demo needs.
    from fixtures.conditions import MULTIPAGE
    from fixtures.generate import CONDITIONS, make_certificate, write_sample

    inbox.mkdir(parents=True, exist_ok=True)
    staging = inbox / TRUTH_DIR
    samples = []
    for i in range(count):
        condition = CONDITIONS[i % len(CONDITIONS)]
        name = sample_name(i, condition)
        path = _existing(inbox, name)
        created = path is None
        if path is None:
            seed = DEMO_SEED + i
            cert = make_certificate(seed, layout="random", multipage=condition in MULTIPAGE)
            # Written into the dot-folder first and moved in whole, so an `coi ingest` of the
            # inbox running meanwhile never reads a half-written file.
            staged = write_sample(staging, name, cert, condition, seed)
            path = inbox / staged.name
            staged.replace(path)
        sample = Sample(path, condition)
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample, created)
    return samples


def insured_names(engine: Any, summaries: list[dict[str, Any]]) -> dict[int, str]:
    """document id -> insured name, for the processed documents."""
    from models.export import resolve_record

    names: dict[int, str] = {}
    for s in summaries:
        if s["status"] == "processed" and s["document_id"] is not None:
            rec = resolve_record(engine, f"doc:{s['document_id']}")
            name = ((rec or {}).get("insured") or {}).get("name")
            if name:
                names[s["document_id"]] = name
    return names


def print_table(
    console: Console,
    samples: list[Sample],
    summaries: list[dict[str, Any]],
    names: dict[int, str],
) -> int:
    """The demo's result table; returns the number of fields waiting for review."""
    t = Table(title="Demo certificates", title_justify="left")
    t.add_column("File", no_wrap=True)
    t.add_column("Condition", no_wrap=True)
    t.add_column("Status", no_wrap=True)
    t.add_column("Fields read", justify="right", min_width=6)
    t.add_column("For review", justify="right", min_width=6)
    t.add_column("Insured", overflow="fold", ratio=1)
    waiting = 0
    earlier = False
    for sample, s in zip(samples, summaries, strict=True):
        waiting += s["needs_review"]
        earlier |= s["duplicate"]
        style = {"processed": "green", "failed": "red"}.get(s["status"], "yellow")
        status = s["status"].replace("_", " ") + (" *" if s["duplicate"] else "")
        insured = names.get(s["document_id"] or -1) or (s["error"] or "")
        t.add_row(
            escape(sample.path.name), sample.condition, f"[{style}]{escape(status)}[/]",
            str(s["fields"]), str(s["needs_review"]), escape(insured),
        )
    console.print(t)
    if earlier:
        console.print("* stored by an earlier run, not read again")
    console.print(f"[bold]{waiting} fields wait for review[/]")
    return waiting
