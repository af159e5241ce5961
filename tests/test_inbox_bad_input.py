"""The watched inbox with everything people drop into one: every bad kind ends in quarantine
with its reason (or is left alone, or waited for), and the good files beside them are read.

Two real passes of the ``inbox_watch`` flow (a Prefect test API, a real SQLite file): the
first while one file is still being written, the second after.  Every file is made here
(tests/resources/README, seeds 20400-20449).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from coi.paths import printable
from fixtures.generate import make_certificate, write_sample
from fixtures.others import make_invoice

REPO = Path(__file__).resolve().parents[1]
LONG_NAME = "L" * 246 + ".pdf"  # 250 characters
LONG_UNICODE = "é" * 124 + ".pdf"  # 128 characters, 252 bytes
NOT_UTF8 = os.fsdecode(b"caf\xe9 certificate.pdf")  # Latin-1 bytes, as old SMB clients write

# inbox name -> words the quarantine reason must hold (case-insensitive)
QUARANTINED: dict[str, tuple[str, ...]] = {
    "empty.pdf": ("empty",),
    "truncated.pdf": ("damaged or truncated",),
    "nopages.pdf": ("no pages",),
    "locked.pdf": ("password-protected",),
    "contract-2000-pages.pdf": ("only the first 50 of 2000 pages",),
    "bomb.png": ("too large",),
    "photo.jpg": ("damaged or truncated",),
    "scan-jpeg2000.tif": ("compression", "34712"),
    "letter.pdf": ("plain text",),
    "login.pdf": ("html",),
    "contract.pdf": ("docx",),
    "photos.pdf": ("zip",),
    "passwd.pdf": ("symbolic link", "never followed"),
    "pipe.pdf": ("not a regular file",),
    "unreadable.pdf": ("read permission",),
    "invoice.pdf": ("no acord 25 certificate",),
    LONG_NAME: ("damaged or truncated",),
    LONG_UNICODE: ("damaged or truncated",),
    "notes.error.json": ("plain text",),  # must not pass for (or replace) an error file
}
# good certificates under names an inbox gets
ARCHIVED = ["scan 0042 final copy.pdf", "certificado-ñandú-保険.pdf", "cert..v2.pdf",
            "x.pdf/inside.pdf", "growing.pdf", NOT_UTF8, "north/scan.pdf", "south/scan.pdf"]
RESENT = "resent.pdf"  # the first good one's bytes, dropped again after the first pass
LEFT_ALONE = ["~$draft.pdf", "upload.pdf.part", "report.crdownload", "save.tmp",
              ".hidden.pdf"]


def _good(seed: int, work: Path) -> bytes:
    pdf = write_sample(work, f"good-{seed}", make_certificate(seed, layout="random"),
                       "digital", seed)
    return pdf.read_bytes()


def _pdf(pages: list[list[str]], **kw: Any) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=letter, invariant=1, **kw)
    for lines in pages:
        c.setFont("Helvetica", 11)
        for i, line in enumerate(lines):
            c.drawString(72, 720 - 16 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return buf.getvalue()


def _jpeg2000_tiff() -> bytes:
    """A real TIFF whose compression tag says JPEG 2000 (34712), which libtiff here lacks."""
    buf = io.BytesIO()
    Image.fromarray(np.full((120, 90), 255, np.uint8)).save(buf, format="TIFF")
    data = bytearray(buf.getvalue())
    ifd = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[ifd:ifd + 2], "little")):
        e = ifd + 2 + 12 * i
        if int.from_bytes(data[e:e + 2], "little") == 259:
            data[e + 8:e + 10] = (34712).to_bytes(2, "little")
    return bytes(data)


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (16_000, 16_000), 1).save(buf, format="PNG")  # 256 Mpx, ~30 KB
    return buf.getvalue()


def _corrupt_jpeg(pdf_first_page: Image.Image) -> bytes:
    buf = io.BytesIO()
    pdf_first_page.save(buf, format="JPEG", quality=80)
    data = buf.getvalue()
    sos = data.index(b"\xff\xda")
    return data[:sos + 14] + bytes(range(256)) * ((len(data) - sos) // 256)


def _no_pages() -> bytes:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    buf = io.BytesIO()
    doc.save(buf)
    doc.close()
    return buf.getvalue()


def _write_slowly(path: Path, data: bytes, seconds: float) -> threading.Thread:
    """Append ``data`` to ``path`` in pieces over ``seconds`` (a slow copy from a share)."""
    path.write_bytes(data[:1000])

    def run() -> None:
        pieces = 20
        step = (len(data) - 1000) // pieces + 1
        for i in range(pieces):
            time.sleep(seconds / pieces)
            with open(path, "ab") as fh:
                fh.write(data[1000 + i * step:1000 + (i + 1) * step])

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module")
def ran(prefect_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from flows.watch import inbox_watch
    from models.db import make_engine, migrate

    base = tmp_path_factory.mktemp("inbox-bad")
    root, work = base / "root", base / "gen"
    inbox = root / "inbox"
    (inbox / "x.pdf").mkdir(parents=True)
    goods = {name: _good(20400 + i, work) for i, name in enumerate(ARCHIVED)}
    cert = _good(20410, work)
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(cert)
    page_img = doc[0].render(scale=1).to_pil()
    doc.close()
    files = {
        "empty.pdf": b"",
        "truncated.pdf": cert[:2000],
        "nopages.pdf": _no_pages(),
        "locked.pdf": _pdf([["CERTIFICATE OF LIABILITY INSURANCE"]],
                           encrypt="user-secret"),
        "contract-2000-pages.pdf": _pdf([["MASTER SERVICES AGREEMENT", f"Page {i} of 2000",
                                          "The Contractor shall maintain insurance as set "
                                          "out in Exhibit C."] for i in range(1, 2001)]),
        "bomb.png": _bomb(),
        "photo.jpg": _corrupt_jpeg(page_img),
        "scan-jpeg2000.tif": _jpeg2000_tiff(),
        "letter.pdf": b"Dear vendor,\nplease send your certificate of insurance.\n",
        "login.pdf": b"<!DOCTYPE html><html><body>Session expired</body></html>\n",
        "contract.pdf": _zip({"[Content_Types].xml": "<Types/>",
                              "word/document.xml": "<w:document/>"}),
        "photos.pdf": _zip({"IMG_0001.txt": "not really a photo"}),
        "unreadable.pdf": _good(20411, work),
        "invoice.pdf": make_invoice(20412),
        LONG_NAME: cert[:3000],
        LONG_UNICODE: cert[:3000],
        "notes.error.json": b'{"reason": "not ours"}\n',
    }
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    for sub in ("north", "south"):
        (inbox / sub).mkdir()
    (inbox / "unreadable.pdf").chmod(0)
    (inbox / "passwd.pdf").symlink_to("/etc/passwd")
    os.mkfifo(inbox / "pipe.pdf")
    for name in LEFT_ALONE:
        (inbox / name).write_bytes(cert)
    for name, data in goods.items():
        if name != "growing.pdf":
            (inbox / name).write_bytes(data)
    url = f"sqlite:///{root / 'coi.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()

    writer = _write_slowly(inbox / "growing.pdf", goods["growing.pdf"], 10.0)
    params = {"root": str(root), "db_url": url, "workers": 2, "settle": 1.0, "grace": 0.0}
    first = inbox_watch(**params)
    writer.join()
    # Bytes already read, sent again under another name.
    (inbox / RESENT).write_bytes(goods[ARCHIVED[0]])
    os.utime(inbox / RESENT, (time.time() - 60, time.time() - 60))
    second = inbox_watch(**params)
    return {"root": root, "url": url, "first": first, "second": second, "goods": goods}


def _error(root: Path, name: str) -> dict[str, Any]:
    from flows.moves import ERROR_SUFFIX

    found = [p for p in (root / "quarantine").iterdir() if p.name.endswith(ERROR_SUFFIX)
             and json.loads(p.read_text(encoding="utf-8"))["file"] == name]
    assert len(found) == 1, f"{name}: {len(found)} error files"
    return json.loads(found[0].read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(QUARANTINED))
def test_bad_file_is_quarantined_with_its_reason(ran, name):
    root = ran["root"]
    info = _error(root, name)
    assert all(w in info["reason"].lower() for w in QUARANTINED[name]), info["reason"]
    assert info["stage"] and info["time"] and "coi retry" in info["retry"]
    quarantined = Path(shlex.split(info["retry"].split("run: ")[1])[2])
    assert quarantined.exists() or quarantined.is_symlink()
    assert len(quarantined.name.encode()) + len(".error.json") <= 255
    assert not (root / "inbox" / name).exists() and not (root / "inbox" / name).is_symlink()


def test_good_files_beside_them_are_read_and_archived_unchanged(ran):
    from flows.folders import Folders
    from models.db import make_engine
    from models.export import document_rows

    root = ran["root"]
    archived = {p.name: p.read_bytes() for p in (root / "archive").rglob("*") if p.is_file()}
    resent = ran["goods"][ARCHIVED[0]]
    assert sorted(archived.values()) == sorted([*ran["goods"].values(), resent])
    for name, data in ran["goods"].items():
        if not name.endswith("/scan.pdf"):
            assert archived[Path(name).name] == data, name
    # Two sub-folders' scan.pdf: neither replaces the other.
    assert {archived["scan.pdf"], archived["scan (2).pdf"]} == {
        ran["goods"]["north/scan.pdf"], ran["goods"]["south/scan.pdf"]}
    rows = {r["sha256"]: r for r in document_rows(make_engine(ran["url"]))}
    import hashlib

    for name, data in ran["goods"].items():
        assert rows[hashlib.sha256(data).hexdigest()]["status"] == "processed", name
    assert list(Folders(root).processing.iterdir()) == []


def test_a_file_still_being_written_waits_for_the_next_pass(ran):
    first = {s["file"] for s in ran["first"]["files"]}
    second = {s["file"]: s for s in ran["second"]["files"]}
    assert "growing.pdf" not in first
    assert ran["first"]["waiting"] >= 1
    assert second["growing.pdf"]["outcome"] == "processed"


def test_temporary_names_and_folders_are_left_alone(ran):
    inbox = ran["root"] / "inbox"
    for name in LEFT_ALONE:
        assert (inbox / name).is_file(), name
    assert (inbox / "x.pdf").is_dir()
    taken = {s["file"] for run in ("first", "second") for s in ran[run]["files"]}
    assert not taken & set(LEFT_ALONE)


def test_every_file_taken_is_recorded_once(ran):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.db import make_engine
    from models.orm import InboxFile

    with Session(make_engine(ran["url"])) as s:
        rows = s.scalars(select(InboxFile)).all()
    names = [r.name for r in rows]
    # Names that are not UTF-8 are stored as text (U+FFFD for the odd bytes).
    assert sorted(names) == sorted(printable(n) for n in [*QUARANTINED, *ARCHIVED, RESENT])
    for r in rows:
        where = ran["root"] / r.location
        assert "\ufffd" in r.location or where.exists() or where.is_symlink(), r.location
        assert r.folder == ("quarantine" if r.name in QUARANTINED else "archive")


def test_bytes_already_read_are_archived_and_linked_not_read_again(ran):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.db import make_engine
    from models.orm import InboxFile

    resent = {s["file"]: s for s in ran["second"]["files"]}[RESENT]
    assert resent["outcome"] == "duplicate"
    assert (ran["root"] / resent["location"]).read_bytes() == ran["goods"][ARCHIVED[0]]
    with Session(make_engine(ran["url"])) as s:
        by_name = {r.name: r for r in s.scalars(select(InboxFile))}
    assert by_name[RESENT].document_id == by_name[ARCHIVED[0]].document_id is not None
    assert by_name[RESENT].outcome == "duplicate"


def test_a_file_deleted_between_listing_and_claim_is_skipped(tmp_path):
    from flows.folders import Folders, scan
    from flows.watch import _take

    folders = Folders(tmp_path).ensure()
    (folders.inbox / "a.pdf").write_bytes(b"%PDF-1.4 ... %%EOF")
    os.utime(folders.inbox / "a.pdf", (time.time() - 60, time.time() - 60))
    found = scan(folders, settle=0.0, grace=0.0)
    assert found.ready == [folders.inbox / "a.pdf"]
    (folders.inbox / "a.pdf").unlink()
    assert _take(folders, str(found.ready[0])) is None
    assert list(folders.processing.iterdir()) == []


def _coi(*args: str, root: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COI_"))}
    env["PYTHONPATH"] = str(REPO)
    script = Path(sys.executable).parent / "coi"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "coi.cli"]
    return subprocess.run([*cmd, *args, "--root", str(root)], env=env, capture_output=True,
                          text=True, timeout=60, cwd=root)


def test_status_and_retry(ran, tmp_path):
    from flows.watch import inbox_watch

    root = tmp_path / "root"
    shutil.copytree(ran["root"], root, symlinks=True, ignore=lambda d, names: [
        n for n in names if stat.S_ISFIFO(os.lstat(os.path.join(d, n)).st_mode)])
    proc = _coi("status", "--json", root=root)
    assert proc.returncode == 0, proc.stderr
    st = json.loads(proc.stdout)
    assert st["folders"]["quarantine"] == len(QUARANTINED) - 1  # the pipe is not copied
    assert (root / "quarantine" / "notes.error.json.txt.error.json").is_file()
    assert st["folders"]["archive"] == len(ARCHIVED) + 1  # and the resent copy
    assert st["folders"]["processing"] == 0
    assert st["documents"]["processed"] == len(ARCHIVED)
    assert {q["reason"] for q in st["quarantine"]} >= {_error(root, "empty.pdf")["reason"]}

    # The unreadable certificate, given read permission, goes back and is read.
    held = root / "quarantine" / "unreadable.pdf"
    held.chmod(stat.S_IRUSR | stat.S_IWUSR)
    proc = _coi("retry", str(held), root=root)
    assert proc.returncode == 0, proc.stderr
    assert (root / "inbox" / "unreadable.pdf").is_file()
    assert not held.exists() and not (root / "quarantine" / "unreadable.pdf.error.json").exists()
    os.utime(root / "inbox" / "unreadable.pdf", (time.time() - 60, time.time() - 60))
    out = inbox_watch(root=str(root), db_url=f"sqlite:///{root / 'coi.db'}", workers=1,
                      settle=0.2, grace=0.0)
    assert [(s["file"], s["outcome"]) for s in out["files"]] == [
        ("unreadable.pdf", "processed")]

    # By document id: the invoice is read again (not answered from the stored outcome).
    invoice = _error(root, "invoice.pdf")
    proc = _coi("retry", str(invoice["document_id"]), root=root)
    assert proc.returncode == 0, proc.stderr
    os.utime(root / "inbox" / "invoice.pdf", (time.time() - 60, time.time() - 60))
    out = inbox_watch(root=str(root), db_url=f"sqlite:///{root / 'coi.db'}", workers=1,
                      settle=0.2, grace=0.0)
    [again] = out["files"]
    assert (again["file"], again["outcome"], again["duplicate"]) == (
        "invoice.pdf", "not_a_certificate", False)
    assert "no acord 25 certificate" in _error(root, "invoice.pdf")["reason"].lower()

    proc = _coi("retry", "no-such-file.pdf", root=root)
    assert proc.returncode == 1 and "nothing in" in proc.stderr
