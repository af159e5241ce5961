"""Writing pipeline results and reviewer corrections.

Every public function here is one transaction.  The ``fields`` rows of a certificate are the
truth; :func:`rebuild_projection` derives the query tables (certificates columns, insurers,
policies, limits) from them and is called by every code path that changes fields, inside the
same transaction, so the projection can never disagree with the fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from coi.paths import printable
from models.crosscheck import check_insurers
from models.db import read_only
from models.orm import (
    FIELD_STATUSES,
    Certificate,
    Correction,
    Document,
    Field,
    Insurer,
    Limit,
    PageImage,
    Policy,
    as_utc,
)
from pipeline.preview import PREVIEW_DPI
from pipeline.record import (
    INSURER_LETTERS,
    LINES,
    PARTY_KEYS,
    POLICY_COMMON,
    parse_policy_key,
    unflatten,
)
from pipeline.types import DocumentResult, FieldValue

DOC_STATUSES_FINAL = ("processed", "not_a_certificate")  # stored once, never re-read
REVIEW_STATUSES = ("corrected", "confirmed")


class StaleFieldError(Exception):
    """The field changed since the caller read it; re-read and decide again."""

    def __init__(self, certificate_id: int, path: str, expected: int | None, actual: int | None):
        super().__init__(
            f"field {path!r} of certificate {certificate_id} is at version {actual}, "
            f"not {expected}: someone else changed it since it was read"
        )
        self.certificate_id = certificate_id
        self.path = path
        self.expected = expected
        self.actual = actual


class NotFoundError(LookupError):
    """No such certificate or field."""


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    status: str
    certificate_id: int | None
    file: str
    sha256: str


@dataclass
class SaveOutcome:
    document_id: int
    certificate_id: int | None  # the first certificate's
    duplicate: bool  # the same bytes were already stored (and not re-read)
    certificate_ids: list[int] = field(default_factory=list)  # all, in page order


@dataclass(frozen=True)
class FieldInfo:
    id: int
    certificate_id: int
    path: str
    value: Any
    confidence: float
    status: str
    page: int
    bbox: list[int]
    raw: str
    notes: list[str]
    version: int


def _field_info(f: Field) -> FieldInfo:
    return FieldInfo(
        id=f.id, certificate_id=f.certificate_id, path=f.path, value=f.value,
        confidence=f.confidence, status=f.status, page=f.page, bbox=list(f.bbox), raw=f.raw,
        notes=list(f.notes), version=f.version,
    )


def jsonable(value: Any) -> Any:
    """Values are normalized upstream; this only guards the JSON column against a stray
    ``date`` or tuple, which would otherwise fail the whole save."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------- documents


def find_document(engine: Engine, sha256: str) -> DocumentInfo | None:
    """The stored document with these bytes, if any (lets the flow skip OCR for known files)."""
    with Session(read_only(engine)) as s, s.begin():
        row = s.execute(
            select(Document.id, Document.status, Certificate.id, Document.file, Document.sha256)
            .outerjoin(Certificate, Certificate.document_id == Document.id)
            .where(Document.sha256 == sha256)
            .order_by(Certificate.ordinal)
        ).first()
    return DocumentInfo(*row) if row else None


def save_result(engine: Engine, result: DocumentResult) -> SaveOutcome:
    """Persist one pipeline result in one transaction.

    Known bytes (same sha256) that were processed or found not to be a certificate are left
    alone (``duplicate=True``); a stored failure is replaced in place (a retry keeps its
    document id).  Two processes saving the same bytes at once end with one document: on
    SQLite the immediate transactions serialize them; elsewhere the loser's insert hits the
    unique sha256 and is answered from the winner's row.
    """
    _validate(result)
    for attempt in range(3):
        try:
            with Session(engine) as s, s.begin():
                return _save(s, result)
        except IntegrityError:
            known = find_document(engine, result.sha256)
            if known is None or attempt == 2:
                raise  # not a sha256 race: a real constraint violation
            if known.status in DOC_STATUSES_FINAL:
                return SaveOutcome(known.id, known.certificate_id, duplicate=True,
                                   certificate_ids=_certificate_ids(engine, known.id))
            # The other writer stored a failure too; go again and replace it.
    raise AssertionError("unreachable")


def _validate(result: DocumentResult) -> None:
    # Checked up front: a CHECK-constraint IntegrityError would look like a sha256 race.
    if result.status not in ("processed", "failed", "not_a_certificate"):
        raise ValueError(f"unknown document status {result.status!r}")
    for extraction in result.extractions:
        for key, fv in extraction.fields.items():
            if fv.status not in FIELD_STATUSES:
                raise ValueError(f"field {key!r}: unknown status {fv.status!r}")


def _save(s: Session, result: DocumentResult) -> SaveOutcome:
    doc = s.scalar(select(Document).where(Document.sha256 == result.sha256))
    if doc is not None and doc.status in DOC_STATUSES_FINAL:
        ids = [c.id for c in doc.certificates]
        return SaveOutcome(doc.id, ids[0] if ids else None, duplicate=True, certificate_ids=ids)
    if doc is None:
        doc = Document(sha256=result.sha256)
        s.add(doc)
    elif doc.certificates:  # a failure never has one; be safe anyway
        doc.certificates.clear()
        s.flush()
    doc.file = printable(result.file)
    doc.path = printable(result.path)
    doc.media_type = result.media_type
    doc.pages = result.pages
    doc.status = result.status
    doc.error = result.error
    doc.page_errors = {str(k): v for k, v in result.page_errors.items()}
    doc.page_kinds = {str(k): v for k, v in result.page_kinds.items()}
    doc.timings = dict(result.timings)
    s.flush()  # a concurrent insert of the same sha256 fails here, before any more work

    if result.status != "processed":
        return SaveOutcome(doc.id, None, duplicate=False)
    s.execute(delete(PageImage).where(PageImage.document_id == doc.id))
    s.add_all(PageImage(document_id=doc.id, page=n, dpi=PREVIEW_DPI, jpeg=data)
              for n, data in sorted(result.previews.items()))
    check_insurers(s, result.extractions)  # in this transaction: against what is stored
    ids = []
    for ordinal, extraction in enumerate(result.extractions, start=1):
        cert = Certificate(document=doc, ordinal=ordinal)
        s.add(cert)
        cert.fields.extend(_new_field(fv.path or key, fv)
                           for key, fv in extraction.fields.items())
        rebuild_projection(s, cert)
        s.flush()
        ids.append(cert.id)
    return SaveOutcome(doc.id, ids[0] if ids else None, duplicate=False, certificate_ids=ids)


def _certificate_ids(engine: Engine, document_id: int) -> list[int]:
    with Session(read_only(engine)) as s, s.begin():
        return list(s.scalars(select(Certificate.id).where(Certificate.document_id == document_id)
                              .order_by(Certificate.ordinal)))


def _new_field(path: str, fv: FieldValue) -> Field:
    return Field(
        path=path, value=jsonable(fv.value), confidence=float(fv.confidence),
        status=fv.status, page=int(fv.page), bbox=[int(v) for v in fv.bbox],
        raw=fv.raw or "", notes=list(fv.notes), version=1,
    )


# -------------------------------------------------------------------------------- projection


def policy_keys(values: dict[str, Any]) -> list[str]:
    """The policy keys of a certificate in record order (the order ``unflatten`` uses).

    Keys are read from the paths rather than recomputed from positions: ``other`` and
    ``other#3`` stay themselves even when ``other#2`` is missing.
    """
    keys = {
        p.split(".")[1] for p, v in values.items() if p.startswith("policies.") and v is not None
    }
    return sorted(keys, key=_policy_order)


def _policy_order(key: str) -> tuple[int, int]:
    line, n = parse_policy_key(key)
    return list(LINES).index(line), n


def _date(v: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(v) if isinstance(v, str) else None
    except ValueError:
        return None  # fields keep the text; the projection only holds real dates


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else (None if v is None else str(v))


def _bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _letter(v: Any) -> str | None:
    return v if isinstance(v, str) and len(v) == 1 else None


def rebuild_projection(s: Session, cert: Certificate) -> None:
    """Rewrite the certificate's query columns and its insurers/policies/limits from its fields.

    The one writer of the projection.  Old rows are deleted and rebuilt rather than patched:
    simpler, and a correction touches a single certificate's few dozen rows.
    """
    values = {f.path: f.value for f in cert.fields}
    body = unflatten(values)  # also rejects unknown paths
    cert.certificate_date = _date(body["certificate_date"])
    for party, keys in PARTY_KEYS.items():
        block = body[party] or {}
        for k in keys:
            setattr(cert, f"{party}_{k}", _text(block.get(k)))
    cert.description_of_operations = _text(body["description_of_operations"])

    cert.insurers.clear()
    cert.policies.clear()
    s.flush()  # deletes must reach the database before inserts reuse their unique keys

    for letter, ins in body["insurers"].items():
        if len(letter) != 1:
            continue  # not a form letter; the field keeps it, the 1-char column cannot
        cert.insurers.append(
            Insurer(letter=letter, name=_text(ins.get("name")), naic=_text(ins.get("naic")))
        )
    for position, (key, pol) in enumerate(zip(policy_keys(values), body["policies"], strict=True)):
        policy = Policy(
            key=key, line=pol["line"], position=position,
            insurer=_letter(pol.get("insurer")), policy_number=_text(pol.get("policy_number")),
            effective_date=_date(pol.get("effective_date")),
            expiration_date=_date(pol.get("expiration_date")),
            additional_insured=_bool(pol.get("additional_insured")),
            subrogation_waived=_bool(pol.get("subrogation_waived")),
            extras={
                k: v for k, v in pol.items() if k not in (*POLICY_COMMON, "line", "limits")
            },
        )
        for lk, lv in pol["limits"].items():
            is_amount = isinstance(lv, int) and not isinstance(lv, bool)
            policy.limits.append(
                Limit(key=lk, amount=lv if is_amount else None, text=None if is_amount else str(lv))
            )
        cert.policies.append(policy)


# ------------------------------------------------------------------------------ corrections


def is_record_path(path: str) -> bool:
    """Whether ``path`` is a field path the spec defines (``insurers.B.naic``, ...)."""
    parts = path.split(".")
    if parts[0] in PARTY_KEYS:
        return len(parts) == 2 and parts[1] in PARTY_KEYS[parts[0]]
    if parts[0] == "insurers":
        return len(parts) == 3 and parts[1] in INSURER_LETTERS and parts[2] in ("name", "naic")
    if parts[0] == "policies" and len(parts) in (3, 4):
        try:
            line, _ = parse_policy_key(parts[1])
        except ValueError:
            return False
        extras, limits = LINES[line]
        if len(parts) == 4:
            return parts[2] == "limits" and parts[3] in limits
        return parts[2] in POLICY_COMMON or parts[2] in extras
    return len(parts) == 1 and parts[0] in ("certificate_date", "description_of_operations")


def get_field(engine: Engine, certificate_id: int, path: str) -> FieldInfo | None:
    with Session(read_only(engine)) as s, s.begin():
        f = s.scalar(
            select(Field).where(Field.certificate_id == certificate_id, Field.path == path)
        )
        return _field_info(f) if f else None


def list_fields(engine: Engine, certificate_id: int) -> list[FieldInfo]:
    with Session(read_only(engine)) as s, s.begin():
        rows = s.scalars(
            select(Field).where(Field.certificate_id == certificate_id).order_by(Field.id)
        )
        return [_field_info(f) for f in rows]


def list_corrections(engine: Engine, certificate_id: int) -> list[dict[str, Any]]:
    """The audit trail of a certificate, oldest first."""
    with Session(read_only(engine)) as s, s.begin():
        rows = s.scalars(
            select(Correction)
            .where(Correction.certificate_id == certificate_id)
            .order_by(Correction.id)
        )
        return [
            {"id": c.id, "field_id": c.field_id, "path": c.path, "old_value": c.old_value,
             "new_value": c.new_value, "old_status": c.old_status, "new_status": c.new_status,
             "user": c.user, "at": as_utc(c.at)}
            for c in rows
        ]


def apply_correction(
    engine: Engine,
    certificate_id: int,
    path: str,
    new_value: Any,
    *,
    user: str,
    expected_version: int | None = None,
    status: str = "corrected",
) -> FieldInfo:
    """A reviewer's decision on one field, in one transaction.

    ``status="corrected"`` stores ``new_value`` (already normalized by the caller);
    ``"confirmed"`` keeps the stored value and ignores ``new_value``.  Either way the version
    goes up by one, a ``corrections`` row records old and new, and the projection is rebuilt.
    With ``expected_version`` the change only applies if nobody changed the field since the
    caller read it, else :class:`StaleFieldError`.  Correcting a path the extractor missed
    creates the field (``expected_version`` must then be None or 0).  The extractor's
    confidence is kept: the status says a human decided, and calibration studies need it.
    """
    if status not in REVIEW_STATUSES:
        raise ValueError(f"status must be one of {REVIEW_STATUSES}, not {status!r}")
    try:
        with Session(engine) as s, s.begin():
            return _apply(s, certificate_id, path, new_value, user, expected_version, status)
    except StaleDataError:
        # Only reachable without BEGIN IMMEDIATE (e.g. PostgreSQL): another transaction
        # updated the row between our read and our write.
        current = get_field(engine, certificate_id, path)
        raise StaleFieldError(
            certificate_id, path, expected_version, current.version if current else None
        ) from None


def _apply(
    s: Session,
    certificate_id: int,
    path: str,
    new_value: Any,
    user: str,
    expected_version: int | None,
    status: str,
) -> FieldInfo:
    cert = s.get(Certificate, certificate_id)
    if cert is None:
        raise NotFoundError(f"no certificate {certificate_id}")
    field = next((f for f in cert.fields if f.path == path), None)
    if field is None:
        if status == "confirmed":
            raise NotFoundError(f"certificate {certificate_id} has no field {path!r}")
        if expected_version not in (None, 0):
            raise StaleFieldError(certificate_id, path, expected_version, None)
        if not is_record_path(path):  # a typo must not become a new key of the record
            raise ValueError(f"{path!r} is not a coi-record/1 field path")
        field = Field(
            path=path, value=None, confidence=1.0, status=status, page=0, bbox=[0, 0, 0, 0],
            raw="", notes=[], version=1,
        )
        cert.fields.append(field)
        old_value, old_status = None, None
    else:
        if expected_version is not None and field.version != expected_version:
            raise StaleFieldError(certificate_id, path, expected_version, field.version)
        old_value, old_status = field.value, field.status
        field.version += 1
    if status == "corrected":
        field.value = jsonable(new_value)
    field.status = status
    s.flush()
    s.add(
        Correction(
            field_id=field.id, certificate_id=certificate_id, path=path, old_value=old_value,
            new_value=field.value, old_status=old_status, new_status=status, user=user,
        )
    )
    rebuild_projection(s, cert)
    s.flush()
    return _field_info(field)
