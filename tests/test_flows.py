"""The ingest flow in-process: real Prefect runs (a test API server), real SQLite files.

Failures are injected by wrapping the pipeline's ``process_file`` (the only way to make the
real pipeline raise on demand); everything else is the real code path.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated digital ACORD 25 (its truth file kept out of the way)."""
    from fixtures.generate import make_certificate, write_sample

    work = tmp_path_factory.mktemp("gen")
    pdf = write_sample(work, "digital-7", make_certificate(7, layout="acord"), "digital", 7)
    return pdf


@pytest.fixture
def db(tmp_path: Path) -> str:
    from models.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'coi.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files the pipeline was run on (the real pipeline still runs)."""
    import flows.ingest

    seen: list[str] = []
    real = flows.ingest.process_file
    lock = threading.Lock()

    def spy(path: Any, options: Any = None) -> Any:
        with lock:
            seen.append(Path(path).name)
        return real(path, options)

    monkeypatch.setattr(flows.ingest, "process_file", spy)
    return seen


def inject(
    monkeypatch: pytest.MonkeyPatch, fail: Callable[[str, int], BaseException | None]
) -> dict[str, int]:
    """Make the pipeline raise ``fail(name, attempt)`` when that returns an exception."""
    import flows.ingest

    real = flows.ingest.process_file
    attempts: dict[str, int] = {}

    def faulty(path: Any, options: Any = None) -> Any:
        name = Path(path).name
        attempts[name] = attempts.get(name, 0) + 1
        exc = fail(name, attempts[name])
        if exc is not None:
            raise exc
        return real(path, options)

    monkeypatch.setattr(flows.ingest, "process_file", faulty)
    # Same retry count, no waiting: the backoff itself is Prefect's, not under test.
    monkeypatch.setattr(flows.ingest, "ingest_document",
                        flows.ingest.ingest_document.with_options(retry_delay_seconds=0))
    return attempts


def rows(url: str) -> dict[str, dict[str, Any]]:
    from models.db import make_engine
    from models.export import document_rows

    engine = make_engine(url)
    try:
        return {r["file"]: r for r in document_rows(engine)}
    finally:
        engine.dispose()


def bad_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "notes.pdf").write_text("meeting notes, not a certificate\n")
    return [folder / "empty.pdf", folder / "notes.pdf"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def started(self, total: int) -> None:
        self.events.append(("started", total))

    def finished(self, summary: dict[str, Any]) -> None:
        self.events.append(("finished", summary["file"]))


def test_batch_reports_every_document_in_order(prefect_home, certificate, db, tmp_path):
    from flows.ingest import ingest_flow, observe

    paths = [str(p) for p in [*bad_files(tmp_path / "in"), certificate]]
    rec = Recorder()
    with observe(rec):
        state = ingest_flow(paths=paths, db_url=db, workers=2, return_state=True)
    assert state.is_completed()
    summaries = state.result()
    assert [s["path"] for s in summaries] == paths  # input order, whatever finished first
    assert rec.events[0] == ("started", 3)
    assert sorted(e[1] for e in rec.events[1:]) == sorted(Path(p).name for p in paths)

    stored = rows(db)
    assert stored["empty.pdf"]["status"] == "failed" and "empty" in stored["empty.pdf"]["error"]
    assert stored["notes.pdf"]["status"] == "failed" and stored["notes.pdf"]["error"]
    by_file = {s["file"]: s for s in summaries}
    assert by_file["empty.pdf"]["document_id"] == stored["empty.pdf"]["id"]
    # Needs the real pipeline: a clean digital certificate is read.
    assert by_file[certificate.name]["status"] == "processed", by_file[certificate.name]
    assert by_file[certificate.name]["fields"] > 0

    # The run's parameters are small JSON (paths as strings), and nothing was persisted
    # to Prefect's result storage.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.parameters == {"paths": paths, "db_url": db, "workers": 2}
    storage = prefect_home / "storage"
    assert not storage.exists() or not any(storage.iterdir())


def test_known_bytes_are_not_read_again(prefect_home, certificate, db, calls, tmp_path):
    from flows.ingest import run_ingest

    first = run_ingest([str(certificate)], db, 1)
    assert calls == [certificate.name] and not first[0]["duplicate"]

    copy = tmp_path / "renamed copy.pdf"
    shutil.copy(certificate, copy)
    again = run_ingest([str(certificate), str(copy)], db, 2)
    assert calls == [certificate.name]  # neither the same file nor its copy was read again
    assert all(s["duplicate"] for s in again)
    assert {s["document_id"] for s in again} == {first[0]["document_id"]}
    assert again[0]["fields"] == first[0]["fields"]  # counts come from the stored record
    assert len(rows(db)) == 1


def test_copies_in_one_batch_are_read_once(prefect_home, certificate, db, calls, tmp_path):
    from flows.ingest import run_ingest

    copies = []
    for i in range(3):
        copies.append(tmp_path / f"copy-{i}.pdf")
        shutil.copy(certificate, copies[-1])
    # The copies wait for the first worker instead of being read three times at once.
    out = run_ingest([str(p) for p in copies], db, 3)
    assert len(calls) == 1, calls
    assert sorted(s["duplicate"] for s in out) == [False, True, True]
    assert len({s["document_id"] for s in out}) == 1
    assert len(rows(db)) == 1


def test_unexpected_error_is_recorded_and_others_continue(
    prefect_home, certificate, db, monkeypatch, tmp_path
):
    from flows.ingest import run_ingest

    empty, notes = bad_files(tmp_path / "in")
    inject(monkeypatch, lambda name, _n: KeyError("boom") if name == "notes.pdf" else None)
    out = {s["file"]: s for s in run_ingest([str(empty), str(notes)], db, 2)}
    assert out["notes.pdf"]["status"] == "failed"
    assert out["notes.pdf"]["error"] == "internal error: KeyError: 'boom'"
    assert out["empty.pdf"]["error"] == rows(db)["empty.pdf"]["error"]
    assert rows(db)["notes.pdf"]["error"] == "internal error: KeyError: 'boom'"


def test_transient_failure_is_retried(prefect_home, db, monkeypatch, tmp_path):
    from sqlalchemy.exc import OperationalError

    from flows.ingest import run_ingest
    from pipeline.errors import OcrTimeout

    empty, notes = bad_files(tmp_path / "in")

    def fail(name: str, attempt: int) -> BaseException | None:
        if name == "empty.pdf" and attempt == 1:
            return OcrTimeout("tesseract took longer than 120 s")
        if name == "notes.pdf" and attempt < 3:
            return OperationalError("INSERT ...", {}, Exception("database is locked"))
        return None

    attempts = inject(monkeypatch, fail)
    out = {s["file"]: s for s in run_ingest([str(empty), str(notes)], db, 2)}
    assert attempts == {"empty.pdf": 2, "notes.pdf": 3}
    # After the retries the real pipeline ran: the real verdicts, nothing about timeouts.
    assert out["empty.pdf"]["error"] == rows(db)["empty.pdf"]["error"]
    assert "timeout" not in out["empty.pdf"]["error"] and "locked" not in out["notes.pdf"]["error"]


def test_transient_failure_that_persists_is_stored_as_failed(
    prefect_home, certificate, db, monkeypatch, tmp_path
):
    from flows.ingest import run_ingest
    from pipeline.errors import OcrTimeout

    empty, _ = bad_files(tmp_path / "in")
    attempts = inject(
        monkeypatch,
        lambda name, _n: OcrTimeout("page 1 took longer than 120 s") if name == "empty.pdf"
        else None,
    )
    out = {s["file"]: s for s in run_ingest([str(empty), str(certificate)], db, 2)}
    assert attempts["empty.pdf"] == 3  # the first try and 2 retries
    assert out["empty.pdf"]["status"] == "failed"
    assert "gave up after 3 attempts" in out["empty.pdf"]["error"]
    assert "longer than 120 s" in rows(db)["empty.pdf"]["error"]
    assert attempts[certificate.name] == 1
    assert out[certificate.name]["document_id"] is not None
