"""Storage layer: save, export round trip, duplicates, corrections, CSV, lookups, schema drift.

Real SQLite files under tmp_path, no mocks.  Cross-process behaviour is in
test_models_concurrency.py.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import time
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models.db import DEFAULT_URL, make_engine, migrate, resolve_url
from models.export import (
    CSV_HEADER,
    document_rows,
    export_record,
    iter_records,
    resolve_record,
    write_csv,
    write_jsonl,
)
from models.orm import Base, Certificate, Correction, Document, Field, Insurer, Limit, Policy
from models.store import (
    StaleFieldError,
    apply_correction,
    find_document,
    get_field,
    save_result,
)
from pipeline.record import build_record, flatten
from pipeline.types import DocumentResult, Extraction, FieldValue

RECORD: dict[str, Any] = {
    "certificate_date": "2026-03-14",
    "producer": {
        "name": "Lockton Companies", "address": "444 W 47th St, Suite 900, Kansas City, MO 64112",
        "contact": "Dana Reyes", "phone": "(816) 960-9000", "fax": "(816) 960-9099",
        "email": "certs@lockton.com",
    },
    "insured": {"name": "Acme Roofing LLC", "address": "100 Main St, Springfield, IL 62701"},
    "insurers": {
        "A": {"name": "Travelers Casualty and Surety Company", "naic": "19038"},
        "B": {"name": "Hartford Fire Insurance Company", "naic": "19682"},
        "C": {"name": "Zurich American Insurance Company", "naic": "16535"},
    },
    "policies": [
        {"line": "general_liability", "insurer": "A", "policy_number": "GL-7731024-02",
         "effective_date": "2026-01-01", "expiration_date": "2027-01-01",
         "additional_insured": True, "subrogation_waived": True,
         "occurrence_basis": "occurrence", "aggregate_applies_per": "policy",
         "limits": {"each_occurrence": 1000000, "damage_to_rented_premises": 300000,
                    "medical_expense": 10000, "personal_advertising_injury": 1000000,
                    "general_aggregate": 2000000,
                    "products_completed_operations_aggregate": 2000000}},
        {"line": "automobile_liability", "insurer": "B", "policy_number": "BA-55102",
         "effective_date": "2026-01-01", "expiration_date": "2027-01-01",
         "additional_insured": False, "subrogation_waived": True,
         "autos": ["hired_autos_only", "non_owned_autos_only"],
         "limits": {"combined_single_limit": 1000000}},
        {"line": "umbrella_liability", "insurer": "A", "policy_number": "CUP-9981",
         "effective_date": "2026-01-01", "expiration_date": "2027-01-01",
         "additional_insured": False, "subrogation_waived": False,
         "occurrence_basis": "claims_made", "retention": 10000,
         "limits": {"each_occurrence": 5000000, "aggregate": 5000000}},
        {"line": "excess_liability", "insurer": "C", "policy_number": "XS-1",
         "effective_date": "2026-02-01", "expiration_date": "2027-02-01",
         "additional_insured": False, "subrogation_waived": False,
         "occurrence_basis": "occurrence", "retention": 25000,
         "limits": {"each_occurrence": 2000000, "aggregate": 2000000}},
        {"line": "workers_compensation", "insurer": "C", "policy_number": "WC-20-77",
         "effective_date": "2026-01-01", "expiration_date": "2027-01-01",
         "subrogation_waived": True, "per_statute": True, "proprietor_excluded": False,
         "limits": {"el_each_accident": 1000000, "el_disease_each_employee": 1000000,
                    "el_disease_policy_limit": 1000000}},
        {"line": "other", "insurer": "B", "policy_number": "PL-1",
         "effective_date": "2026-01-01", "expiration_date": "2027-01-01",
         "description": "Professional Liability",
         "limits": {"limit": "$2,000,000 each claim"}},
        {"line": "other", "insurer": "C", "policy_number": "IM-44",
         "effective_date": "2026-04-01", "expiration_date": "2027-04-01",
         "description": "Inland Marine", "limits": {"limit": "$250,000 any one item"}},
    ],
    "certificate_holder": {"name": "City of Springfield",
                           "address": "800 E Monroe St, Springfield, IL 62701"},
    "description_of_operations": "Roofing work at 12 Elm St. City is additional insured.",
}

STATUSES = ("accepted", "needs_review", "confirmed", "corrected")


def make_fields(record: dict[str, Any]) -> dict[str, FieldValue]:
    """Flatten into FieldValues with varied confidence/status/page/bbox."""
    out = {}
    for i, (path, value) in enumerate(flatten(record).items()):
        out[path] = FieldValue(
            path=path, value=value, confidence=0.5 + (i * 0.0137) % 0.5,
            page=1 + i % 2, bbox=(10 * i, 20 + i, 10 * i + 300, 60 + i),
            status=STATUSES[i % 4], raw=f"raw {i}", notes=["low contrast"] if i % 5 == 0 else [],
        )
    return out


def make_result(record: dict[str, Any] = RECORD, *, data: bytes = b"acme pdf bytes",
                status: str = "processed", error: str | None = None,
                file: str = "acme-2026.pdf") -> DocumentResult:
    return DocumentResult(
        file=file, path=f"/inbox/{file}", sha256=hashlib.sha256(data).hexdigest(),
        media_type="application/pdf", pages=2, status=status, error=error,
        extractions=[Extraction(make_fields(record))] if status == "processed" else [],
        page_errors={2: "blank page"}, page_kinds={1: "acord25", 2: "other"},
        timings={"ocr": 1.25, "extract": 0.5},
    )


def expected_record(result: DocumentResult) -> dict[str, Any]:
    assert result.extraction is not None
    fields = result.extraction.fields
    return build_record(
        {p: f.value for p, f in fields.items()},
        source={"file": result.file, "sha256": result.sha256, "pages": result.pages,
                "certificate": 1, "certificates": 1},
        fields={p: {"confidence": round(f.confidence, 3), "status": f.status, "page": f.page,
                    "bbox": list(f.bbox)} for p, f in fields.items()},
    )


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path}/db/coi.db")
    migrate(eng)
    yield eng
    eng.dispose()


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def export(engine: Engine, certificate_id: int) -> dict[str, Any]:
    with Session(engine) as s:
        return export_record(s, certificate_id)


def test_resolve_url(monkeypatch):
    monkeypatch.delenv("COI_DATABASE_URL", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///data/coi.db"
    monkeypatch.setenv("COI_DATABASE_URL", "sqlite:///elsewhere.db")
    assert resolve_url(None) == "sqlite:///elsewhere.db"
    assert resolve_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_sqlite_pragmas(engine):
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_no_drift_between_orm_and_migrations(engine):
    migrate(engine)  # idempotent
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []


def test_a_0001_database_upgrades_keeping_its_certificates(tmp_path):
    # Before 0002 a document had at most one certificate (document_id unique); its rows
    # become their documents' first, and a second certificate per document is allowed.
    from alembic import command

    from models.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    with old.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO documents (id, file, path, sha256, pages, status, page_errors, "
            "page_kinds, timings, created_at, updated_at) VALUES (7, 'a.pdf', '/in/a.pdf', "
            f"'{'a' * 64}', 1, 'processed', '{{}}', '{{}}', '{{}}', '2026-01-01', '2026-01-01')")
        conn.exec_driver_sql("INSERT INTO certificates (id, document_id, insured_name, "
                             "created_at) VALUES (3, 7, 'ACME LLC', '2026-01-01')")
    migrate(old)
    with Session(old) as s:
        cert = s.get(Certificate, 3)
        assert (cert.document_id, cert.ordinal, cert.insured_name) == (7, 1, "ACME LLC")
        s.add(Certificate(document_id=7, ordinal=2))
        s.commit()
        assert [c.ordinal for c in s.get(Document, 7).certificates] == [1, 2]
    old.dispose()


def test_round_trip(engine):
    result = make_result()
    out = save_result(engine, result)
    assert not out.duplicate and out.certificate_id is not None
    rec = export(engine, out.certificate_id)
    assert rec == expected_record(result)
    assert json.loads(json.dumps(rec)) == rec
    assert [p["line"] for p in rec["policies"]][-2:] == ["other", "other"]
    assert rec["policies"][-1]["description"] == "Inland Marine"
    assert rec["fields"]["policies.other#2.limits.limit"]["bbox"] == list(
        result.extraction.fields["policies.other#2.limits.limit"].bbox)
    # Projection tables agree with the fields.
    with Session(engine) as s:
        cert = s.get(Certificate, out.certificate_id)
        assert cert.insured_name == "Acme Roofing LLC"
        assert cert.certificate_date.isoformat() == "2026-03-14"
        assert [p.key for p in cert.policies] == [
            "general_liability", "automobile_liability", "umbrella_liability",
            "excess_liability", "workers_compensation", "other", "other#2"]
        auto = cert.policies[1]
        assert auto.extras == {"autos": ["hired_autos_only", "non_owned_autos_only"]}
        assert auto.additional_insured is False and auto.subrogation_waived is True
        assert {(lim.key, lim.amount, lim.text) for lim in cert.policies[6].limits} == {
            ("limit", None, "$250,000 any one item")}
        assert len(cert.insurers) == 3
        doc = s.get(Document, out.document_id)
        assert doc.page_errors == {"2": "blank page"} and doc.timings["ocr"] == 1.25
    assert count(engine, Limit) == 6 + 1 + 2 + 2 + 3 + 1 + 1
    # Records come from the database: a fresh engine sees the same thing.
    assert list(iter_records(engine)) == [rec]
    buf = io.StringIO()
    assert write_jsonl(engine, buf) == 1
    assert json.loads(buf.getvalue()) == rec and "\n" not in buf.getvalue().rstrip("\n")


def test_duplicate_bytes_stored_once(engine):
    first = save_result(engine, make_result())
    info = find_document(engine, make_result().sha256)
    assert info is not None and info.status == "processed"
    assert info.certificate_id == first.certificate_id
    again = save_result(engine, make_result(file="renamed.pdf"))
    assert again.duplicate and again.document_id == first.document_id
    assert again.certificate_id == first.certificate_id
    assert count(engine, Document) == 1 and count(engine, Certificate) == 1
    assert export(engine, first.certificate_id)["source"]["file"] == "acme-2026.pdf"
    assert find_document(engine, "0" * 64) is None


def test_failed_then_retry(engine):
    failed = save_result(engine, make_result(status="failed", error="tesseract crashed"))
    assert not failed.duplicate and failed.certificate_id is None
    info = find_document(engine, make_result().sha256)
    assert info.status == "failed" and info.certificate_id is None
    with Session(engine) as s:
        assert s.get(Document, failed.document_id).error == "tesseract crashed"
    assert count(engine, Certificate) == 0 and list(iter_records(engine)) == []

    retry = save_result(engine, make_result())
    assert not retry.duplicate and retry.document_id == failed.document_id
    assert retry.certificate_id is not None
    with Session(engine) as s:
        doc = s.get(Document, retry.document_id)
        assert doc.status == "processed" and doc.error is None
    assert count(engine, Document) == 1
    assert export(engine, retry.certificate_id) == expected_record(make_result())


def test_not_a_certificate(engine):
    out = save_result(engine, make_result(status="not_a_certificate", data=b"invoice"))
    assert out.certificate_id is None and not out.duplicate
    assert save_result(engine, make_result(status="not_a_certificate", data=b"invoice")).duplicate
    assert count(engine, Certificate) == 0
    assert find_document(engine, hashlib.sha256(b"invoice").hexdigest()).status == (
        "not_a_certificate")
    rows = document_rows(engine)
    assert [(r["status"], r["fields"], r["needs_review"]) for r in rows] == [
        ("not_a_certificate", 0, 0)]


def test_correction(engine):
    out = save_result(engine, make_result())
    cid = out.certificate_id
    path = "policies.other#2.policy_number"
    before = get_field(engine, cid, path)
    assert before.version == 1

    f = apply_correction(engine, cid, path, "IM-45", user="dana", expected_version=1)
    assert (f.value, f.status, f.version) == ("IM-45", "corrected", 2)
    rec = export(engine, cid)
    assert rec["policies"][-1]["policy_number"] == "IM-45"
    assert rec["fields"][path]["status"] == "corrected"
    expected = copy.deepcopy(RECORD)
    expected["policies"][-1]["policy_number"] = "IM-45"
    assert rec["policies"] == expected["policies"]
    with Session(engine) as s:
        (c,) = s.scalars(select(Correction)).all()
        assert (c.old_value, c.new_value, c.old_status, c.new_status, c.user) == (
            "IM-44", "IM-45", before.status, "corrected", "dana")
        pol = s.scalar(select(Policy).where(Policy.certificate_id == cid, Policy.key == "other#2"))
        assert pol.policy_number == "IM-45"

    # A limit and a date: the projection follows.
    apply_correction(engine, cid, "policies.general_liability.limits.general_aggregate",
                     3000000, user="dana")
    apply_correction(engine, cid, "policies.general_liability.expiration_date", "2027-06-30",
                     user="dana")
    with Session(engine) as s:
        gl = s.scalar(select(Policy).where(Policy.certificate_id == cid,
                                           Policy.key == "general_liability"))
        assert gl.expiration_date.isoformat() == "2027-06-30"
        lim = s.scalar(select(Limit).where(Limit.policy_id == gl.id,
                                           Limit.key == "general_aggregate"))
        assert lim.amount == 3000000

    # Confirm keeps the value, still bumps the version.
    f = apply_correction(engine, cid, "insured.name", "ignored", user="lee", status="confirmed")
    assert (f.value, f.status, f.version) == ("Acme Roofing LLC", "confirmed", 2)

    # Stale version: nothing changes.
    with pytest.raises(StaleFieldError, match="version 2"):
        apply_correction(engine, cid, path, "IM-46", user="lee", expected_version=1)
    assert get_field(engine, cid, path).value == "IM-45"
    assert count(engine, Correction) == 4

    # A path the extractor missed can be added; an unknown path cannot.
    f = apply_correction(engine, cid, "insurers.D.name", "Chubb", user="dana")
    assert f.version == 1 and export(engine, cid)["insurers"]["D"] == {"name": "Chubb"}
    with Session(engine) as s:
        assert s.scalar(select(Insurer.name).where(Insurer.letter == "D")) == "Chubb"
    for typo in ("nonsense.path.here", "policies.general_liability.polcy_number",
                 "insurers.Z.name", "policies.other.limits.each_occurrence", "insured.phone"):
        with pytest.raises(ValueError, match="not a coi-record/1 field path"):
            apply_correction(engine, cid, typo, 1, user="dana")
    assert count(engine, Correction) == 5


def test_csv(engine):
    save_result(engine, make_result())
    empty = {"certificate_date": "2026-05-01", "insured": {"name": "Solo Painter"}}
    save_result(engine, make_result(empty, data=b"other bytes", file="solo.pdf"))
    buf = io.StringIO(newline="")
    assert write_csv(engine, buf) == 2
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    header, body = rows[0], rows[1:]
    assert header == CSV_HEADER
    assert header[:21] == [
        "document_id", "file", "sha256", "certificate", "certificate_date", "producer_name",
        "producer_phone", "producer_email", "insured_name", "insured_address",
        "certificate_holder_name", "line", "policy_key", "insurer", "insurer_name",
        "insurer_naic", "policy_number", "effective_date", "expiration_date",
        "additional_insured", "subrogation_waived"]
    assert header[21:24] == ["occurrence_basis", "aggregate_applies_per", "each_occurrence"]
    assert header.count("each_occurrence") == 1 and header[-1] == "fields_needing_review"
    assert len(body) == 7 + 1
    by = [dict(zip(header, r, strict=True)) for r in body]
    assert [r["policy_key"] for r in by[:7]] == [
        "general_liability", "automobile_liability", "umbrella_liability", "excess_liability",
        "workers_compensation", "other", "other#2"]
    auto = by[1]
    assert auto["autos"] == "hired_autos_only;non_owned_autos_only"
    assert (auto["additional_insured"], auto["subrogation_waived"]) == ("false", "true")
    assert auto["insurer_name"] == "Hartford Fire Insurance Company"
    assert by[0]["general_aggregate"] == "2000000" and by[0]["each_occurrence"] == "1000000"
    assert by[6]["limit"] == "$250,000 any one item" and by[6]["description"] == "Inland Marine"
    assert by[4]["additional_insured"] == ""  # not on the certificate: empty, not false
    needing = by[0]["fields_needing_review"].split(";")
    assert all(p.startswith("policies.general_liability.") or not p.startswith("policies.")
               for p in needing if p)
    solo = by[7]
    assert (solo["insured_name"], solo["line"], solo["policy_key"]) == ("Solo Painter", "", "")


def test_resolve_record(engine, tmp_path):
    data = b"%PDF-1.7 acme"
    out = save_result(engine, make_result(data=data))
    save_result(engine, make_result(status="failed", error="x", data=b"bad", file="bad.pdf"))
    rec = export(engine, out.certificate_id)
    sha = hashlib.sha256(data).hexdigest()
    assert resolve_record(engine, str(out.document_id)) == rec
    assert resolve_record(engine, f"doc:{out.document_id}") == rec
    assert resolve_record(engine, f"cert:{out.certificate_id}") == rec
    assert resolve_record(engine, sha) == rec
    assert resolve_record(engine, sha[:8]) == rec
    assert resolve_record(engine, sha[:12].upper()) == rec
    assert resolve_record(engine, "acme-2026.pdf") == rec
    on_disk = tmp_path / "somewhere" / "copy.pdf"
    on_disk.parent.mkdir()
    on_disk.write_bytes(data)
    assert resolve_record(engine, str(on_disk)) == rec
    assert resolve_record(engine, "bad.pdf") is None  # failed: no record
    assert resolve_record(engine, "999") is None
    assert resolve_record(engine, "nope.pdf") is None


def test_document_rows(engine):
    save_result(engine, make_result())
    save_result(engine, make_result(status="failed", error="boom", data=b"b", file="b.pdf"))
    rows = document_rows(engine)
    n_fields = len(flatten(RECORD))
    assert [(r["id"], r["file"], r["status"], r["pages"], r["error"]) for r in rows] == [
        (1, "acme-2026.pdf", "processed", 2, None), (2, "b.pdf", "failed", 2, "boom")]
    assert rows[0]["fields"] == n_fields
    assert rows[0]["needs_review"] == len(range(1, n_fields, 4))
    assert rows[1]["fields"] == 0 and "T" in rows[0]["created_at"]


def test_read_only_export_does_not_block_writers(engine):
    """Exports read in a deferred transaction: a writer can commit while one is open."""
    save_result(engine, make_result())
    records = iter_records(engine)
    first = next(records)  # the export's read transaction is now open
    started = time.monotonic()
    out = save_result(engine, make_result(data=b"second file", file="second.pdf"))
    assert not out.duplicate and time.monotonic() - started < 5
    assert list(records) == []  # the export reads its snapshot, not the later write
    assert first["source"]["file"] == "acme-2026.pdf"
    assert [r["source"]["file"] for r in iter_records(engine)] == ["acme-2026.pdf", "second.pdf"]


def test_an_naic_the_store_contradicts_for_the_same_insurer_goes_to_review(engine):
    def trusted(result: DocumentResult) -> DocumentResult:
        for f in result.extraction.fields.values():
            f.status, f.confidence = "accepted", 0.95
        return result

    first = trusted(make_result(data=b"first"))
    save_result(engine, first)
    save_result(engine, trusted(make_result(data=b"second", file="second.pdf")))
    misread = copy.deepcopy(RECORD)
    misread["insurers"]["A"] = {"name": "TRAVELERS CASUALTY AND SURETY COMPANY.",
                                "naic": "19088"}  # a digit misread
    third = trusted(make_result(misread, data=b"third", file="third.pdf"))
    cid = save_result(engine, third).certificate_id
    with Session(engine) as s:
        f = s.scalar(select(Field).where(Field.certificate_id == cid,
                                         Field.path == "insurers.A.naic"))
        assert f.status == "needs_review" and f.confidence < 0.9
        assert f.notes == ["2 stored certificates give NAIC 19038 for "
                           "TRAVELERS CASUALTY AND SURETY COMPANY."]
        other = s.scalar(select(Field).where(Field.certificate_id == cid,
                                             Field.path == "insurers.B.naic"))
        assert other.status == "accepted"  # agrees with the store
