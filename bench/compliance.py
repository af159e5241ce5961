"""What re-evaluating compliance costs: ``compliance.service.refresh`` (match every
undecided certificate, evaluate every vendor, record changes) over N vendors with one
certificate each, on a SQLite file, beside storing one certificate (``models.store``), the
smallest thing an ingest does per document.

Every batch, correction and daily run does one refresh, so its time against a document's
store time says what the hook adds to a batch.

    .venv/bin/python bench/compliance.py [--vendors 200 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_compliance import PROFILE, good_values  # noqa: E402

from coi.settings import Settings  # noqa: E402
from compliance.registry import add_vendor  # noqa: E402
from compliance.service import refresh  # noqa: E402
from models.db import make_engine, migrate  # noqa: E402
from models.store import save_result  # noqa: E402
from pipeline.types import DocumentResult, Extraction, FieldValue  # noqa: E402

WORDS = ("Acme Birch Cedar Delta Echo Falcon Granite Harbor Iron Juniper Keystone Lark Maple "
         "Northgate Oak Pioneer Quarry Ridge Summit Timber").split()
TRADES = ("Roofing Plumbing Electric Paving Concrete Masonry Drywall Glazing Landscaping "
          "Demolition").split()


def name(i: int) -> str:
    return f"{WORDS[i % 20]} {WORDS[(i // 20) % 20]} {TRADES[(i // 400) % 10]} {i} LLC"


def build(folder: Path, n: int) -> tuple[str, float]:
    url = f"sqlite:///{folder / f'coi-{n}.db'}"
    engine = make_engine(url)
    migrate(engine)
    store_times = []
    for i in range(n):
        values = good_values() | {"insured.name": name(i).upper()}
        fields = {p: FieldValue(p, v, 0.97, 1, (1, 2, 3, 4), "accepted")
                  for p, v in values.items()}
        t = time.perf_counter()
        save_result(engine, DocumentResult(
            file=f"c{i}.pdf", path=f"/in/c{i}.pdf",
            sha256=hashlib.sha256(f"{n}-{i}".encode()).hexdigest(),
            media_type="application/pdf", pages=1, status="processed",
            extractions=[Extraction(fields)]))
        store_times.append(time.perf_counter() - t)
        add_vendor(engine, name(i), "standard")
    engine.dispose()
    return url, statistics.median(store_times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vendors", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "req").mkdir()
        (folder / "req" / "standard.yaml").write_text(PROFILE)
        settings = Settings(requirements=folder / "req")
        print("vendors  first refresh s  later refresh s (median)  store one doc s  ratio")
        for n in args.vendors:
            url, store_s = build(folder, n)
            engine = make_engine(url)
            t = time.perf_counter()
            refresh(engine, settings)  # matches every certificate, records every status
            first = time.perf_counter() - t
            later = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                refresh(engine, settings)
                later.append(time.perf_counter() - t)
            engine.dispose()
            med = statistics.median(later)
            print(f"{n:7d}  {first:15.2f}  {med:24.2f}  {store_s:15.4f}  {med / store_s:5.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
