"""The review queue: certificates with their field counts per status, oldest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from models.db import read_only
from models.orm import Certificate, Document, Field, PageImage, as_utc

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


def page_image(engine: Engine, document_id: int, page: int) -> tuple[bytes, int] | None:
    """A document page's JPEG and its dpi."""
    with Session(read_only(engine)) as s, s.begin():
        row = s.get(PageImage, (document_id, page))
        return (row.jpeg, row.dpi) if row is not None else None


def pages_of(engine: Engine, document_id: int) -> list[tuple[int, int]]:
    """(page, dpi) of the stored page images of a document, in page order."""
    with Session(read_only(engine)) as s, s.begin():
        return [(p, d) for p, d in s.execute(
            select(PageImage.page, PageImage.dpi).where(PageImage.document_id == document_id)
            .order_by(PageImage.page))]
