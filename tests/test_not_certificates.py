"""Documents that are not certificates, dropped in the inbox beside them: an agency's premium
invoice, a W-9, a blank ACORD 25 form.  Each is recognized, digital or scanned, and stored as
a document with status ``not_a_certificate`` and its reason, never as a record.

Seeds 20200-20249 (tests/resources/README).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fixtures.conditions import apply_condition
from fixtures.generate import make_certificate
from fixtures.others import make_invoice, make_w9
from models.db import make_engine, migrate
from models.orm import Certificate, Document
from models.store import save_result
from pipeline.process import process_file

MAKERS = {
    "invoice": lambda: make_invoice(20200),
    "w9": lambda: make_w9(20201),
    "blank": lambda: make_certificate(20202, blank=True).pdf,
}
REASONS = {
    "invoice": "no ACORD 25 certificate",
    "w9": "no ACORD 25 certificate",
    "blank": "a blank ACORD 25 form",
}


@pytest.mark.parametrize("condition", ["digital", "scan300"])
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_a_non_certificate_is_recognized_and_stored_as_such(tmp_path: Path, kind: str,
                                                             condition: str) -> None:
    data, ext = apply_condition(MAKERS[kind](), condition, random.Random(20203))
    path = tmp_path / f"{kind}.{ext}"
    path.write_bytes(data)
    result = process_file(path)
    assert result.status == "not_a_certificate", (result.status, result.error)
    assert result.extraction is None
    assert REASONS[kind] in (result.error or "")

    engine = make_engine(f"sqlite:///{tmp_path / 'coi.db'}")
    migrate(engine)
    save_result(engine, result)
    with Session(engine) as s:
        doc = s.scalars(select(Document)).one()
        assert (doc.status, doc.file) == ("not_a_certificate", path.name)
        assert REASONS[kind] in (doc.error or "")
        assert s.scalar(select(func.count()).select_from(Certificate)) == 0
    engine.dispose()


def test_the_same_form_filled_in_is_a_certificate(tmp_path: Path) -> None:
    # The blank form's twin (same seed, same layout) with its values typed: read as one, so
    # the blank verdict comes from the missing values, not from the layout.
    path = tmp_path / "filled.pdf"
    path.write_bytes(make_certificate(20202).pdf)
    result = process_file(path)
    assert result.status == "processed"
    assert result.extraction is not None
    assert result.extraction.fields["insured.name"].value
