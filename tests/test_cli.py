"""The real ``coi`` command in subprocesses: real SQLite files, real Prefect flow runs.

Every CLI ingest starts Prefect's local API in a subprocess (as it does for users); the
module shares one PREFECT_HOME so its database is migrated only once.  Records for
export/show are stored through ``models.store`` directly, so those tests do not depend on
how well the pipeline reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coi.prefect_env import configure

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # The caller's Prefect and coi settings must not leak in (a real PREFECT_API_URL would
    # send test runs to a real server; a COI_DATABASE_URL would be written to).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COI_"))}
    clean["PYTHONPATH"] = str(REPO)
    clean["COLUMNS"] = "200"
    configure(tmp_path_factory.mktemp("prefect-data"), clean)
    return clean


def coi(*args: str, env: dict[str, str], cwd: Path,
        timeout: float = 180) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "coi"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "coi.cli"]
    return subprocess.run([*cmd, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc


def documents(url: str) -> dict[str, dict[str, Any]]:
    from models.db import make_engine
    from models.export import document_rows

    engine = make_engine(url)
    try:
        return {r["file"]: r for r in document_rows(engine)}
    finally:
        engine.dispose()


def store_record(url: str, source: Path, insured: str, *, policies: int = 1) -> int:
    """A processed document for ``source`` with a small record, stored the real way."""
    from models.db import make_engine, migrate
    from models.store import save_result
    from pipeline.types import DocumentResult, Extraction, FieldValue

    values: dict[str, Any] = {"insured.name": insured, "producer.name": "Harbor Point Ins",
                              "certificate_date": "2026-03-14"}
    for i, line in enumerate(["general_liability", "workers_compensation"][:policies]):
        values[f"policies.{line}.policy_number"] = f"PN-{i}"
        values[f"policies.{line}.insurer"] = "A"
    fields = {
        p: FieldValue(p, v, 0.55 if p == "certificate_date" else 0.97, 1, (0, 0, 10, 10),
                      "needs_review" if p == "certificate_date" else "accepted")
        for p, v in values.items()
    }
    engine = make_engine(url)
    migrate(engine)
    result = DocumentResult(
        file=source.name, path=str(source), sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        media_type="application/pdf", pages=1, status="processed",
        extractions=[Extraction(fields)],
    )
    doc_id = save_result(engine, result).document_id
    engine.dispose()
    return doc_id


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bad files and one generated digital certificate (its truth file kept elsewhere)."""
    from fixtures.generate import make_certificate, write_sample

    root = tmp_path_factory.mktemp("inbox")
    folder = root / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "letter.pdf").write_text("Dear vendor, please send your certificate.\n")
    pdf = write_sample(root / "gen", "good", make_certificate(11, layout="acord"), "digital", 11)
    shutil.copy(pdf, folder / "sub" / "good.pdf")
    data = pdf.read_bytes()
    (folder / "sub" / "truncated.pdf").write_bytes(data[: len(data) // 3])
    # Skipped: hidden, office lock, partial download.
    (folder / ".DS_Store").write_bytes(b"junk")
    (folder / "~$draft.pdf").write_bytes(b"junk")
    (folder / "big.pdf.crdownload").write_bytes(b"junk")
    (folder / "outside.pdf").symlink_to(pdf)  # points out of the folder: not followed
    return folder


INBOX_FILES = {"empty.pdf", "letter.pdf", "good.pdf", "truncated.pdf"}


def doc_lines(stdout: str) -> dict[str, str]:
    """file name -> its per-document line."""
    found = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("processed", "failed", "not_a_certificate",
                                            "duplicate"):
            found[parts[1]] = line
    return found


def test_ingest_folder_then_again(env, inbox, tmp_path, prefect_api):
    # The session's Prefect API (the demo and tests/test_bad_input.py run the local one each
    # command starts by default).
    env = {**env, "PREFECT_API_URL": prefect_api}
    url = f"sqlite:///{tmp_path / 'coi.db'}"
    first = ok(coi("ingest", str(inbox), "--db", url, "--workers", "2", env=env, cwd=tmp_path))
    lines = doc_lines(first.stdout)
    assert set(lines) == INBOX_FILES, first.stdout  # one line each, nothing skipped wrongly
    assert "4 documents" in first.stdout and "3 failed" in first.stdout
    stored = documents(url)
    assert set(stored) == INBOX_FILES
    for name in ("empty.pdf", "letter.pdf", "truncated.pdf"):
        assert stored[name]["status"] == "failed" and stored[name]["error"], stored[name]
        assert lines[name].startswith("failed")
    # Needs the real pipeline: a clean digital certificate is read.
    assert stored["good.pdf"]["status"] == "processed", stored["good.pdf"]

    second = ok(coi("ingest", str(inbox / "sub" / "good.pdf"), "--db", url, env=env,
                    cwd=tmp_path))
    line = doc_lines(second.stdout)["good.pdf"]
    assert line.startswith("duplicate")
    assert f"already stored as document {stored['good.pdf']['id']}" in line
    assert "1 duplicates" in second.stdout
    assert len(documents(url)) == 4


def test_demo_small(env, tmp_path):
    proc = ok(coi("demo", "--count", "1", env=env, cwd=tmp_path))
    assert "Traceback" not in proc.stdout + proc.stderr
    # The local Prefect API the command started wrote to its own log, not to our console
    # (its shutdown noise used to land after the summary line in some runs).
    assert (tmp_path / "data" / "logs" / "prefect-api.log").is_file()
    assert (tmp_path / "inbox" / "demo-01-digital.pdf").is_file()
    assert (tmp_path / "inbox" / ".truth" / "demo-01-digital.truth.json").is_file()
    assert "demo-01-digital.pdf" in proc.stdout and "fields wait for review" in proc.stdout
    assert set(documents(f"sqlite:///{tmp_path / 'data' / 'coi.db'}")) == {"demo-01-digital.pdf"}


@pytest.mark.parametrize(
    ("args", "path_env", "message"),
    [
        (["ingest", "does-not-exist"], None, "no such file or folder"),
        (["ingest", "emptydir"], None, "no files found"),
        (["ingest", "in.pdf", "--db", "nosuchdialect://x"], None, "cannot open the database"),
        (["ingest", "in.pdf"], "/nonexistent", "tesseract"),
        (["export", "--db", "sqlite:///missing.db"], None, "no database at"),
    ],
)
def test_command_errors_are_messages(env, tmp_path, args, path_env, message):
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "in.pdf").write_bytes(b"%PDF-1.4\n")
    e = dict(env, PATH=path_env) if path_env else env
    proc = coi(*args, env=e, cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_config_file_is_a_message(env, tmp_path):
    proc = coi("export", env=dict(env, COI_CONFIG=str(tmp_path / "nope.toml")), cwd=tmp_path)
    assert proc.returncode == 1 and "does not name a file" in proc.stderr


def test_database_url_precedence(env, tmp_path):
    cwd = tmp_path / "work"
    cwd.mkdir()
    urls = {}
    for name, url in [("default", f"sqlite:///{cwd / 'data' / 'coi.db'}"),
                      ("env", f"sqlite:///{tmp_path / 'env.db'}"),
                      ("toml", f"sqlite:///{tmp_path / 'toml.db'}"),
                      ("flag", f"sqlite:///{tmp_path / 'flag.db'}")]:
        src = tmp_path / f"{name}.pdf"
        src.write_bytes(f"%PDF-1.4 {name}\n".encode())
        store_record(url, src, f"Insured {name}")
        urls[name] = url

    def exported(*args: str, **extra: str) -> str:
        proc = ok(coi("export", *args, env=dict(env, **extra), cwd=cwd))
        return json.loads(proc.stdout)["insured"]["name"]

    assert exported() == "Insured default"
    (cwd / "coi.toml").write_text(f'database_url = "{urls["toml"]}"\n')
    assert exported() == "Insured toml"
    assert exported(COI_DATABASE_URL=urls["env"]) == "Insured env"
    assert exported("--db", urls["flag"], COI_DATABASE_URL=urls["env"]) == "Insured flag"


def test_export_and_show(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'coi.db'}"
    a, b = tmp_path / "acme.pdf", tmp_path / "globex.pdf"
    a.write_bytes(b"%PDF-1.4 acme\n")
    b.write_bytes(b"%PDF-1.4 globex\n")
    id_a = store_record(url, a, "Acme Roofing LLC", policies=2)
    store_record(url, b, "Globex [Holdings] Inc", policies=1)

    jsonl = ok(coi("export", "--format", "jsonl", "--db", url, env=env, cwd=tmp_path))
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["schema"] for r in records] == ["coi-record/1"] * 2
    assert "exported 2 records" in jsonl.stderr

    ok(coi("export", "-f", "csv", "--db", url, "-o", "out.csv", env=env, cwd=tmp_path))
    csv_lines = (tmp_path / "out.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 3  # header, one row per policy

    by_id = ok(coi("show", str(id_a), "--db", url, env=env, cwd=tmp_path)).stdout
    assert "Acme Roofing LLC" in by_id and "PN-1" in by_id
    assert "review" in by_id and "0.55" in by_id  # the certificate date needs review
    by_file = ok(coi("show", str(b), "--db", url, env=env, cwd=tmp_path)).stdout
    assert "Globex [Holdings] Inc" in by_file  # brackets are text, not rich markup
    as_json = ok(coi("show", "acme.pdf", "--json", "--db", url, env=env, cwd=tmp_path))
    rec = json.loads(as_json.stdout)
    assert rec["insured"]["name"] == "Acme Roofing LLC"
    assert rec["fields"]["certificate_date"]["status"] == "needs_review"

    missing = coi("show", "999", "--db", url, env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "no record for '999'" in missing.stderr
    assert "Traceback" not in missing.stderr
