"""What the watcher stores about inbox files: one ``inbox_files`` row per file taken, and the
per-status counts ``coi status`` shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from coi.paths import printable
from models.db import read_only
from models.orm import Document, InboxFile, as_utc, utcnow


@dataclass(frozen=True)
class FileRecord:
    name: str
    outcome: str  # processed | not_a_certificate | failed | duplicate | refused
    folder: str  # archive | quarantine
    location: str  # relative to the root
    received_at: dt.datetime
    sha256: str | None = None
    document_id: int | None = None
    reason: str | None = None
    stage: str | None = None
    size: int | None = None
    claim: str | None = None


def record_file(engine: Engine, rec: FileRecord) -> int:
    """Add the row of a file taken, or update it when its claim already has one (a claim
    finished again after a crash)."""
    with Session(engine) as s, s.begin():
        row = None
        if rec.claim is not None:
            row = s.scalar(select(InboxFile).where(InboxFile.claim == rec.claim))
        if row is None:
            row = InboxFile(claim=rec.claim)
            s.add(row)
        row.name, row.sha256, row.document_id = printable(rec.name), rec.sha256, rec.document_id
        row.outcome, row.folder, row.location = rec.outcome, rec.folder, printable(rec.location)
        row.reason, row.stage, row.size = rec.reason, rec.stage, rec.size
        row.received_at, row.finished_at = rec.received_at, utcnow()
        s.flush()
        return row.id


def stored_at(engine: Engine, document_id: int) -> dt.datetime | None:
    """When a document was last stored (a failure read again is replaced in place)."""
    with Session(read_only(engine)) as s, s.begin():
        at = s.scalar(select(Document.updated_at).where(Document.id == document_id))
        return as_utc(at) if at is not None else None


def moved_back(engine: Engine, location: str, new_location: str) -> None:
    """A quarantined file went back to the inbox (``coi retry``)."""
    with Session(engine) as s, s.begin():
        s.execute(update(InboxFile)
                  .where(InboxFile.location == printable(location),
                         InboxFile.folder == "quarantine")
                  .values(folder="inbox", location=printable(new_location)))


def read_again(engine: Engine, document_id: int) -> bool:
    """Let the next read of these bytes replace what is stored: a document found not to be a
    certificate is otherwise final, and ``coi retry`` means "read it again".  Returns whether
    the document exists.  A processed document is left as it is."""
    with Session(engine) as s, s.begin():
        doc = s.get(Document, document_id)
        if doc is None:
            return False
        if doc.status == "not_a_certificate":
            doc.status = "failed"
            doc.error = f"sent back to the inbox by coi retry (was: {doc.error})"
        return True


def document_counts(engine: Engine) -> dict[str, int]:
    with Session(read_only(engine)) as s, s.begin():
        rows = s.execute(select(Document.status, func.count()).group_by(Document.status))
        return {status: n for status, n in rows}

