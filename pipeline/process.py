"""One file in, one DocumentResult out.  Never raises for bad input.  (stub; being written)"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.types import DocumentResult


def process_file(path: str | Path) -> DocumentResult:
    p = Path(path)
    data = p.read_bytes()
    return DocumentResult(
        file=p.name, path=str(p), sha256=hashlib.sha256(data).hexdigest(), media_type=None,
        pages=0, status="failed", error="pipeline not implemented yet",
    )
