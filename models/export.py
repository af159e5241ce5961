"""coi-record/1 records, JSONL and CSV, always built from what the database holds.

Records come from the ``fields`` rows (the truth) through ``pipeline.record.build_record``,
never from pipeline objects in memory, so an export after a correction shows the correction
and every consumer sees the same object.  Reads go through :func:`models.db.read_only`: a long
export must not hold SQLite's write lock and stall the ingest workers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from models.db import read_only
from models.orm import Certificate, Document, Field, as_utc
from models.store import policy_keys
from pipeline.record import LINES, build_record

BATCH = 200  # certificates loaded per query round when exporting everything

CSV_HEAD = [
    "document_id", "file", "sha256", "certificate", "certificate_date", "producer_name",
    "producer_phone", "producer_email", "insured_name", "insured_address",
    "certificate_holder_name", "line", "policy_key", "insurer", "insurer_name", "insurer_naic",
    "policy_number", "effective_date", "expiration_date", "additional_insured",
    "subrogation_waived",
]


def _line_columns() -> list[str]:
    # Every extra key and limit key of every line, in LINES order, each once (each_occurrence
    # is shared by general liability, umbrella and excess: one column).
    cols: list[str] = []
    for extras, limits in LINES.values():
        cols.extend(k for k in (*extras, *limits) if k not in cols)
    return cols


LINE_COLUMNS = _line_columns()
CSV_HEADER = [*CSV_HEAD, *LINE_COLUMNS, "fields_needing_review"]


@dataclass
class _Loaded:
    document_id: int
    record: dict[str, Any]
    values: dict[str, Any]
    statuses: dict[str, str]


def _load(session: Session, certificate_ids: list[int]) -> list[_Loaded]:
    """Records of these certificates, in the given order, with three queries in all."""
    docs = {
        cid: (doc, ordinal)
        for cid, ordinal, doc in session.execute(
            select(Certificate.id, Certificate.ordinal, Document)
            .join(Document, Document.id == Certificate.document_id)
            .where(Certificate.id.in_(certificate_ids))
        )
    }
    # How many certificates each document holds (a batch scan: several).
    counts = dict(session.execute(
        select(Certificate.document_id, func.count())
        .where(Certificate.document_id.in_({d.id for d, _ in docs.values()}))
        .group_by(Certificate.document_id)
    ).all())
    rows: dict[int, list[Field]] = {cid: [] for cid in certificate_ids}
    for f in session.scalars(
        select(Field).where(Field.certificate_id.in_(certificate_ids)).order_by(Field.id)
    ):
        rows[f.certificate_id].append(f)
    out = []
    for cid in certificate_ids:
        if cid not in docs:
            continue
        doc, ordinal = docs[cid]
        fields = rows[cid]
        values = {f.path: f.value for f in fields}
        meta = {
            f.path: {
                "confidence": round(f.confidence, 3),
                "status": f.status,
                "page": f.page,
                "bbox": [int(v) for v in f.bbox],
            }
            for f in fields
        }
        record = build_record(
            values, source={"file": doc.file, "sha256": doc.sha256, "pages": doc.pages,
                            "certificate": ordinal, "certificates": counts[doc.id]},
            fields=meta,
        )
        out.append(_Loaded(doc.id, record, values, {f.path: f.status for f in fields}))
    return out


def export_record(session: Session, certificate_id: int) -> dict[str, Any]:
    """The full coi-record/1 object of one certificate; LookupError if there is none."""
    loaded = _load(session, [certificate_id])
    if not loaded:
        raise LookupError(f"no certificate {certificate_id}")
    return loaded[0].record


def _iter_loaded(engine: Engine) -> Iterator[_Loaded]:
    # One read transaction for the whole export: a consistent snapshot (WAL) that does not
    # block writers.
    with Session(read_only(engine)) as s, s.begin():
        ids = list(
            s.scalars(
                select(Certificate.id)
                .join(Document, Document.id == Certificate.document_id)
                .where(Document.status == "processed")
                .order_by(Document.id, Certificate.ordinal)
            )
        )
        for i in range(0, len(ids), BATCH):
            yield from _load(s, ids[i : i + BATCH])


def iter_records(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every processed certificate's record, by document id."""
    for item in _iter_loaded(engine):
        yield item.record


def write_jsonl(engine: Engine, fp: IO[str]) -> int:
    """One compact JSON object per line; returns the number of records."""
    n = 0
    for record in iter_records(engine):
        fp.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        n += 1
    return n


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(_cell(x) for x in v)
    return str(v)


def write_csv(engine: Engine, fp: IO[str]) -> int:
    """One row per policy (a certificate without policies: one row, empty policy columns).

    Open ``fp`` with ``newline=""`` (the csv module writes its own line ends).  Returns the
    number of records (certificates), like :func:`write_jsonl`, not of rows.
    ``fields_needing_review`` lists, ';'-joined, the ``needs_review`` paths relevant to the
    row: the certificate-level ones (parties, insurers, dates, ...) and the row's own
    policy's, so a filtered spreadsheet still tells what to check.
    """
    w = csv.writer(fp)
    w.writerow(CSV_HEADER)
    n = 0
    for item in _iter_loaded(engine):
        n += 1
        rec = item.record
        producer = rec["producer"] or {}
        head = [
            item.document_id, rec["source"]["file"], rec["source"]["sha256"],
            rec["source"]["certificate"], rec["certificate_date"], producer.get("name"),
            producer.get("phone"), producer.get("email"), (rec["insured"] or {}).get("name"),
            (rec["insured"] or {}).get("address"), (rec["certificate_holder"] or {}).get("name"),
        ]
        review = [p for p, st in item.statuses.items() if st == "needs_review"]
        general = [p for p in review if not p.startswith("policies.")]
        keys = policy_keys(item.values)
        if not rec["policies"]:
            w.writerow([_cell(v) for v in head] + [""] * (len(CSV_HEADER) - len(head) - 1)
                       + [_cell(general)])
            continue
        for key, pol in zip(keys, rec["policies"], strict=True):
            ins = rec["insurers"].get(pol.get("insurer") or "", {})
            extras, limit_keys = LINES[pol["line"]]
            cols = [
                pol["limits"].get(c) if c in limit_keys else pol.get(c) if c in extras else None
                for c in LINE_COLUMNS
            ]
            own = [p for p in review if p.startswith(f"policies.{key}.")]
            row = [
                *head, pol["line"], key, pol.get("insurer"), ins.get("name"), ins.get("naic"),
                pol.get("policy_number"), pol.get("effective_date"), pol.get("expiration_date"),
                pol.get("additional_insured"), pol.get("subrogation_waived"), *cols,
                general + own,
            ]
            w.writerow([_cell(v) for v in row])
    return n


_HEX = re.compile(r"^[0-9a-f]+$")
_PREFIXED = re.compile(r"^(doc|cert):(\d+)$")


class AmbiguousRefError(LookupError):
    """The reference matches more than one stored document."""


def _by_documents(s: Session, doc_ids: list[int], ref: str) -> list[dict[str, Any]]:
    doc_ids = sorted(set(doc_ids))
    if len(doc_ids) > 1:
        raise AmbiguousRefError(f"{ref!r} matches documents {doc_ids}; use doc:<id>")
    if not doc_ids:
        return []
    cids = s.scalars(select(Certificate.id).where(Certificate.document_id == doc_ids[0])
                     .order_by(Certificate.ordinal)).all()
    return [item.record for item in _load(s, list(cids))]


def resolve_record(engine: Engine, ref: str) -> dict[str, Any] | None:
    """The first record of :func:`resolve_records`, or None."""
    found = resolve_records(engine, ref)
    return found[0] if found else None


def resolve_records(engine: Engine, ref: str) -> list[dict[str, Any]]:
    """The records a user means by ``ref``: a document's certificates (several in a batch
    scan), or one certificate; empty when unknown or the document has no record.

    Rules, first match wins:
    ``doc:12`` document id 12; ``cert:7`` certificate id 7; a path to an existing file (its
    bytes are hashed); a plain integer = a DOCUMENT id (the id every listing, summary and the
    CSV show); 64 hex chars = a sha256; 8+ hex chars = a unique sha256 prefix; otherwise a
    stored file name.  Matching several documents raises AmbiguousRefError.
    """
    ref = ref.strip()
    with Session(read_only(engine)) as s, s.begin():
        m = _PREFIXED.match(ref)
        if m:
            if m.group(1) == "doc":
                return _by_documents(s, [int(m.group(2))], ref)
            return [item.record for item in _load(s, [int(m.group(2))])]
        p = Path(ref)
        if p.is_file():
            sha = hashlib.sha256(p.read_bytes()).hexdigest()
            found = s.scalars(select(Document.id).where(Document.sha256 == sha)).all()
            if found:
                return _by_documents(s, list(found), ref)
        if ref.isdigit():
            found = s.scalars(select(Document.id).where(Document.id == int(ref))).all()
            if found or len(ref) < 8:
                return _by_documents(s, list(found), ref)
        low = ref.lower()
        if len(low) >= 8 and _HEX.match(low):
            found = s.scalars(
                select(Document.id).where(Document.sha256.startswith(low, autoescape=True))
            ).all()
            if found:
                return _by_documents(s, list(found), ref)
        found = s.scalars(select(Document.id).where(Document.file == ref)).all()
        return _by_documents(s, list(found), ref)


def document_rows(engine: Engine) -> list[dict[str, Any]]:
    """One dict per stored document, by id, for summary tables.

    Keys: id, file, status, pages, error, fields (count), needs_review (count), created_at
    (ISO 8601 string), plus sha256, certificate_id (the first certificate's) and
    certificates (how many the document holds: several in a batch scan); the counts are
    over all of them.
    """
    needs = func.coalesce(func.sum(case((Field.status == "needs_review", 1), else_=0)), 0)
    q = (
        select(Document, func.min(Certificate.id), func.count(Certificate.id.distinct()),
               func.count(Field.id), needs)
        .outerjoin(Certificate, Certificate.document_id == Document.id)
        .outerjoin(Field, Field.certificate_id == Certificate.id)
        .group_by(Document.id)
        .order_by(Document.id)
    )
    with Session(read_only(engine)) as s, s.begin():
        return [
            {
                "id": d.id, "file": d.file, "status": d.status, "pages": d.pages,
                "error": d.error, "fields": int(n), "needs_review": int(nr),
                "created_at": as_utc(d.created_at).isoformat(timespec="seconds"),
                "sha256": d.sha256, "certificate_id": cid, "certificates": int(nc),
            }
            for d, cid, nc, n, nr in s.execute(q)
        ]
