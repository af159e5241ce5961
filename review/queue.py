"""The review queue: certificates with their field counts per status, oldest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from models.db import read_only
from models.orm import Certificate, Document, Field, as_utc

STATUS_FILTERS = ("needs_review", "all", "reviewed")


def queue(engine: Engine, status: str = "needs_review") -> list[dict[str, Any]]:
    """``needs_review``: certificates with a field to review; ``reviewed``: those without;
    ``all``: every one.  Oldest document first."""
    if status not in STATUS_FILTERS:
        status = "needs_review"
    review = func.sum(case((Field.status == "needs_review", 1), else_=0))
    q = (select(Certificate.id, Certificate.ordinal, Document.file, Document.created_at,
                Certificate.insured_name, func.count(Field.id), review)
         .join(Document, Certificate.document_id == Document.id)
         .outerjoin(Field, Field.certificate_id == Certificate.id)
         .group_by(Certificate.id, Certificate.ordinal, Document.file, Document.created_at,
                   Certificate.insured_name)
         .order_by(Document.created_at, Certificate.id))
    if status == "needs_review":
        q = q.having(review > 0)
    elif status == "reviewed":
        q = q.having(review == 0)
    with Session(read_only(engine)) as s, s.begin():
        return [{"id": i, "ordinal": o, "file": f, "received": as_utc(at).isoformat(),
                 "insured": ins, "fields": n, "needs_review": int(r or 0)}
                for i, o, f, at, ins, n, r in s.execute(q)]


def certificate_header(engine: Engine, cert_id: int) -> dict[str, Any] | None:
    with Session(read_only(engine)) as s, s.begin():
        row = s.execute(select(Certificate.id, Certificate.ordinal, Document.id, Document.file,
                               Document.pages, Certificate.insured_name)
                        .join(Document, Certificate.document_id == Document.id)
                        .where(Certificate.id == cert_id)).first()
    if row is None:
        return None
    cid, ordinal, doc_id, file, pages, insured = row
    return {"id": cid, "ordinal": ordinal, "document_id": doc_id, "file": file,
            "pages": pages, "insured": insured}
