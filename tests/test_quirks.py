"""Real-world quirks of typed certificates (issue 3), read end to end from generated ones."""

from __future__ import annotations

import json

import pytest

from fixtures.generate import make_certificate, write_sample
from fixtures.score import compare
from pipeline.process import process_file
from pipeline.record import build_record


# Seeds whose certificates type a word in a limit cell (fixtures.data.cell_words): 10 has
# EXCLUDED for the products aggregate, 21 INCLUDED for E.L. disease - each employee.
@pytest.mark.parametrize(("seed", "condition", "line", "key"), [
    (10, "scan300", "general_liability", "products_completed_operations_aggregate"),
    (21, "digital", "workers_compensation", "el_disease_each_employee"),
])
def test_a_word_in_a_limit_cell_is_no_amount(tmp_path, seed, condition, line, key):
    path = write_sample(tmp_path, f"{condition}-{seed}", make_certificate(seed), condition, seed)
    truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
    result = process_file(path)
    [ex] = result.extractions
    fields = ex.fields
    assert f"policies.{line}.limits.{key}" not in fields  # no amount read out of the word
    [policy] = [p for p in truth["policies"] if p["line"] == line]
    for k, v in policy["limits"].items():  # the amounts beside it are
        assert fields[f"policies.{line}.limits.{k}"].value == v
    record = build_record(ex.values(), source={}, fields={})
    limits = [o for o in compare(truth, record) if f"{line}.limits" in o.path]
    assert all(o.correct for o in limits)
