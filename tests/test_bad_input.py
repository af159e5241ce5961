"""Unreadable inputs end as ``failed`` documents with a message a person can act on, never as
an exception, both through ``process_file`` and through the real ``coi ingest`` command.

Every file is made here (see tests/resources/README): each bad one from a real document cut
or disguised the way inboxes receive them, beside one good digital certificate.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import letter
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen.canvas import Canvas

from coi.prefect_env import configure
from fixtures.generate import make_certificate, write_sample
from pipeline.process import process_file

REPO = Path(__file__).resolve().parents[1]
SEED = 20150  # the good certificate (seeds 20000-20999 are the new tests')

# file name -> words its error message must hold (case-insensitive).  The order is the order
# process_file sees them: the PDF without pages comes right after the password-protected one.
BAD: dict[str, tuple[str, ...]] = {
    "empty.pdf": ("empty",),
    "truncated.pdf": ("damaged or truncated",),
    "letter.pdf": ("plain text",),
    "download.pdf": ("html",),
    "contract.pdf": ("zip", "docx"),
    "photo.jpg": ("image", "damaged or truncated"),
    "locked.pdf": ("password-protected",),
    "nopages.pdf": ("no pages",),
}
GOOD = "good.pdf"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:  # the inside of a .docx
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", "<w:document><w:body>Certificate</w:body></w:document>")
    return buf.getvalue()


def _corrupt_jpeg(pdf: bytes) -> bytes:
    """The certificate photographed as a real JPEG, its headers intact up to the start of
    the scan, then garbage (a transfer that went wrong)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        img = doc[0].render(scale=150 / 72, grayscale=True).to_pil()
    finally:
        doc.close()
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85, dpi=(150, 150))
    data = buf.getvalue()
    sos = data.index(b"\xff\xda")  # start of scan: every table before it is valid
    return data[:sos + 14] + random.Random(SEED).randbytes(len(data) - sos - 14)


def _locked() -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=letter, invariant=1,
               encrypt=StandardEncryption("user-secret", "owner-secret"))
    c.setFont("Helvetica", 12)
    c.drawString(72, 700, "CERTIFICATE OF LIABILITY INSURANCE - ACORD 25")
    c.showPage()
    c.save()
    return buf.getvalue()


def _no_pages() -> bytes:
    doc = pdfium.PdfDocument.new()  # a well-formed PDF whose page tree is empty
    buf = io.BytesIO()
    try:
        doc.save(buf)
    finally:
        doc.close()
    data = buf.getvalue()
    assert b"/Count 0" in data
    return data


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with every bad file and the good certificate (its truth file elsewhere)."""
    root = tmp_path_factory.mktemp("bad-input")
    folder = root / "inbox"
    folder.mkdir()
    good = write_sample(root / "gen", "good", make_certificate(SEED, layout="random"),
                        "digital", SEED)
    pdf = good.read_bytes()
    shutil.copy(good, folder / GOOD)
    files = {
        "empty.pdf": b"",
        "truncated.pdf": pdf[:300],
        "letter.pdf": b"Dear vendor,\n\nPlease send your certificate of insurance.\n",
        "download.pdf": b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
                        b"<body>Your session expired.</body></html>\n",
        "contract.pdf": _zip(),
        "photo.jpg": _corrupt_jpeg(pdf),
        "locked.pdf": _locked(),
        "nopages.pdf": _no_pages(),
    }
    assert list(files) == list(BAD)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _has_words(message: str | None, words: tuple[str, ...]) -> bool:
    return bool(message) and all(w in message.lower() for w in words)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_fails_with_a_clear_message(batch, name):
    result = process_file(batch / name)  # must not raise
    assert result.status == "failed", (result.status, result.error)
    assert result.extraction is None
    assert _has_words(result.error, BAD[name]), result.error
    assert "Traceback" not in result.error
    assert result.file == name and len(result.sha256) == 64


def test_good_file_beside_them_is_processed(batch):
    result = process_file(batch / GOOD)
    assert result.status == "processed", result.error
    assert result.extraction is not None and result.extraction.fields


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """As tests/test_cli.py: the caller's Prefect and coi settings do not leak in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COI_"))}
    clean["PYTHONPATH"] = str(REPO)
    clean["COLUMNS"] = "200"
    configure(tmp_path_factory.mktemp("prefect-data"), clean)
    return clean


def test_cli_ingests_the_batch(batch, env, tmp_path, prefect_api):
    from models.db import make_engine
    from models.export import document_rows

    url = f"sqlite:///{tmp_path / 'coi.db'}"
    script = Path(sys.executable).parent / "coi"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "coi.cli"]
    # Through the session's Prefect API (the local one each command starts is the demo
    # test's, tests/test_cli.py).
    proc = subprocess.run([*cmd, "ingest", str(batch), "--db", url],
                          env={**env, "PREFECT_API_URL": prefect_api}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{len(BAD) + 1} documents, 1 processed, {len(BAD)} failed" in proc.stdout, proc.stdout

    engine = make_engine(url)
    try:
        rows = {r["file"]: r for r in document_rows(engine)}
    finally:
        engine.dispose()
    assert set(rows) == {*BAD, GOOD}
    assert rows[GOOD]["status"] == "processed" and rows[GOOD]["fields"] > 0
    wrong = {name: (rows[name]["status"], rows[name]["error"]) for name, words in BAD.items()
             if rows[name]["status"] != "failed" or not _has_words(rows[name]["error"], words)}
    assert not wrong, wrong
    for name in BAD:  # and the per-document line says so
        assert any(line.split()[:2] == ["failed", name] for line in proc.stdout.splitlines()), \
            (name, proc.stdout)
