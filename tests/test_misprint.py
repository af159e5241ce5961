"""Printer misalignment (issue 3): every typed value off its cell by one offset, read back into
the cell it was meant for (extractors/register.py)."""

from __future__ import annotations

import json

import pytest

from extractors.layout import build_layout
from extractors.register import typed_offset
from fixtures.generate import _derive, make_certificate, write_sample
from pipeline.load import open_document
from pipeline.page import text_page
from pipeline.process import process_file
from pipeline.sniff import sniff_file

# Seed 3101's sixth misaligned certificate: its values typed 0.79 of a grid row low, so each
# limit sits across the rule into the row below its own (fixtures.generate.misalignment).
LOW = _derive(3101, "misaligned", 5)


def _text_layout(tmp_path, seed: int, misaligned: bool):
    path = write_sample(tmp_path, f"digital-{seed}", make_certificate(seed, misaligned=misaligned),
                        "digital", seed)
    [src] = list(open_document(path, sniff_file(path), max_pages=5, timeout=30).pages)
    return build_layout(text_page(src))


def test_a_misprint_is_measured_and_an_aligned_form_is_left_alone(tmp_path):
    lay = _text_layout(tmp_path, LOW, misaligned=True)
    off = typed_offset(lay)
    assert off is not None
    # 0.79 of a row down: more than half a row, so the whole row was decided by the form's
    # structure (insurer A first, limits from the section's first row), not by the nearest row.
    assert 0.6 < off.dy / off.pitch < 1.0
    assert typed_offset(_text_layout(tmp_path, LOW, misaligned=False)) is None


def test_limits_typed_a_row_low_are_read_into_their_own_rows(tmp_path):
    path = write_sample(tmp_path, "misaligned-low", make_certificate(LOW, misaligned=True),
                        "misaligned", LOW)
    truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
    [ex] = process_file(path).extractions
    f = ex.fields
    [gl] = [p for p in truth["policies"] if p["line"] == "general_liability"]
    # Read by nearest row, each of these amounts is the one of the row above it.
    for key in ("medical_expense", "personal_advertising_injury", "general_aggregate"):
        assert f[f"policies.general_liability.limits.{key}"].value == gl["limits"][key], key
    assert f["insurers.B.name"].value == truth["insurers"]["B"]["name"]
    assert f["policies.general_liability.occurrence_basis"].value == gl["occurrence_basis"]


@pytest.mark.parametrize("seed", [20314, 20346])
def test_aligned_certificates_are_not_shifted(tmp_path, seed):
    assert typed_offset(_text_layout(tmp_path, seed, misaligned=False)) is None
