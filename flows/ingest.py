"""The ingest flow: one flow run per batch, one task run per document.

A thin Prefect wrapper around ``pipeline.process.process_file`` and ``models.store``: Prefect
adds the thread pool, retries of transient failures and a run history; the reading and the
storage rules live in the pipeline and the models.

What may fail how:

* A bad document (empty, corrupt, not a certificate) is not an exception: the pipeline
  returns a ``failed`` or ``not_a_certificate`` result and the task stores it.
* A transient failure (SQLite "database is locked", a tesseract timeout or crash) is raised
  so that Prefect retries the task, twice, with backoff.  If the last attempt fails too, the
  flow stores the document as ``failed`` with the message.
* Anything else that escapes the pipeline for one document (a bug) is stored as a ``failed``
  document naming the exception, logged with its traceback, and never stops the others.

Progress: the flow calls the observers registered with :func:`observe` from the flow's own
thread as each document finishes (``as_completed``), so a command line can drive a progress
bar without passing a callback through Prefect parameters (which must be JSON).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from sqlalchemy import Engine
from sqlalchemy.exc import DisconnectionError, OperationalError

from coi.settings import get_settings
from models.db import make_engine
from models.store import DocumentInfo, find_document, list_fields, save_result
from pipeline.errors import CoiError, TransientError
from pipeline.process import Options, process_file
from pipeline.sniff import sha256_file
from pipeline.types import DocumentResult

log = logging.getLogger("coi.ingest")

Summary = dict[str, Any]  # see _summary for the keys


class IngestObserver(Protocol):
    def started(self, total: int) -> None: ...

    def finished(self, summary: Summary) -> None: ...


_observers: list[IngestObserver] = []
_observers_lock = threading.Lock()


@contextmanager
def observe(observer: IngestObserver) -> Iterator[None]:
    """Register ``observer`` for the flow runs started in this process while inside."""
    with _observers_lock:
        _observers.append(observer)
    try:
        yield
    finally:
        with _observers_lock:
            _observers.remove(observer)


def notify(event: str, *args: Any) -> None:
    with _observers_lock:
        targets = list(_observers)
    for obs in targets:
        try:
            getattr(obs, event)(*args)
        except Exception:  # a broken progress display must not lose documents
            log.exception("ingest observer %r failed on %s", obs, event)


# ----------------------------------------------------------------------------- helpers

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine(db_url: str) -> Engine:
    # One engine (and connection pool) per database for all worker threads of the process.
    with _engines_lock:
        if db_url not in _engines:
            _engines[db_url] = make_engine(db_url)
        return _engines[db_url]


def is_transient(exc: BaseException) -> bool:
    """Failures worth a retry: not the document's fault, and they may pass."""
    return isinstance(
        exc, TransientError | OperationalError | DisconnectionError | sqlite3.OperationalError
    )


def _options() -> Options:
    s = get_settings()
    return Options(max_pages=s.max_pages, page_timeout=s.page_timeout)


def _summary(path: Path, **kw: Any) -> Summary:
    out: Summary = {
        "file": path.name, "path": str(path), "document_id": None, "status": "failed",
        "fields": 0, "needs_review": 0, "certificates": 0, "error": None, "duplicate": False,
        "seconds": 0.0, "stage": None, "sha256": None,
    }
    out.update(kw)
    return out


_inflight: dict[str, threading.Event] = {}
_inflight_lock = threading.Lock()


@contextmanager
def _claim(sha256: str) -> Iterator[None]:
    """Let one worker at a time handle given bytes, so a copy of a file in the same batch
    waits for the first and is then a duplicate instead of being read twice."""
    while True:
        with _inflight_lock:
            event = _inflight.get(sha256)
            if event is None:
                event = _inflight[sha256] = threading.Event()
                break
        event.wait()
    try:
        yield
    finally:
        with _inflight_lock:
            del _inflight[sha256]
        event.set()


def _stored_counts(engine: Engine, known: DocumentInfo) -> tuple[int, int]:
    if known.certificate_id is None:
        return 0, 0
    fields = list_fields(engine, known.certificate_id)
    return len(fields), sum(f.status == "needs_review" for f in fields)


def record_failure(db_url: str, path: Path, sha256: str | None, message: str) -> Summary:
    """Store ``path`` as a failed document with ``message``; never raises."""
    if sha256 is None:
        # Without the bytes there is no document identity (the store keys on sha256).
        return _summary(path, error=message)
    result = DocumentResult(
        file=path.name, path=str(path), sha256=sha256, media_type=None, pages=0,
        status="failed", error=message,
    )
    try:
        outcome = save_result(_engine(db_url), result)
    except Exception as exc:
        log.exception("could not record the failure of %s", path)
        return _summary(path, error=f"{message} (not recorded: {exc})", sha256=sha256)
    if outcome.duplicate:  # stored meanwhile by another process; report that instead
        known = find_document(_engine(db_url), sha256)
        status = known.status if known else "failed"
        return _summary(path, document_id=outcome.document_id, status=status, duplicate=True,
                        sha256=sha256)
    return _summary(path, document_id=outcome.document_id, error=message, sha256=sha256)


def ingest_one(path: Path, db_url: str, origin: str | None = None) -> Summary:
    """Hash, skip known bytes, read, store one file; ``origin`` is the path stored for it
    (default: ``path``).  Raises only transient failures."""
    t0 = time.perf_counter()
    engine = _engine(db_url)
    try:
        sha = sha256_file(path)
    except OSError as exc:
        return _summary(path, error=f"the file cannot be read: {exc.strerror or exc}")
    with _claim(sha):
        try:
            known = find_document(engine, sha)
            if known is not None and known.status != "failed":
                n, review = _stored_counts(engine, known)
                return _summary(path, document_id=known.id, status=known.status, fields=n,
                                sha256=sha,
                                needs_review=review, duplicate=True)
            result = process_file(path, _options())
            if origin is not None:
                result.path = origin
            outcome = save_result(engine, result)
        except Exception as exc:
            if is_transient(exc):
                raise  # Prefect retries the task
            if isinstance(exc, CoiError):  # raised on purpose: its message is for people
                message, stage = exc.message, exc.stage or "read"
            else:
                get_run_logger().error("unexpected error reading %s", path, exc_info=True)
                message, stage = f"internal error: {type(exc).__name__}: {exc}", "internal"
            return {**record_failure(db_url, path, sha, message), "stage": stage}
    fields = [f for ex in result.extractions for f in ex.fields.values()]
    return _summary(
        path, document_id=outcome.document_id, status=result.status, fields=len(fields),
        needs_review=sum(f.status == "needs_review" for f in fields),
        certificates=len(result.extractions), error=result.error, duplicate=outcome.duplicate,
        stage=result.stage, sha256=sha, seconds=round(time.perf_counter() - t0, 2),
    )


def _task_run_name(parameters: dict[str, Any]) -> str:
    return f"read {Path(parameters['path']).name}"


# How every per-document task retries: transient failures only (the task raises nothing
# else), twice, after 2 s and then 4 s (jittered).
RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "persist_result": False,  # the database is the result; nothing to keep in Prefect storage
}


@task(name="ingest-document", task_run_name=_task_run_name, **RETRIES)
def ingest_document(path: str, db_url: str) -> Summary:
    """Hash, skip known bytes, read, store one file.  Raises only transient failures."""
    return ingest_one(Path(path), db_url)


@flow(name="coi-ingest", persist_result=False, log_prints=False)
def ingest_flow(paths: list[str], db_url: str, workers: int) -> list[Summary]:
    """Ingest ``paths`` into ``db_url`` with ``workers`` parallel tasks.

    Returns one summary per path, in the order given: file, path, document_id, status,
    fields, needs_review, error, duplicate, seconds.
    """
    logger = get_run_logger()
    logger.info("ingesting %d documents with %d workers", len(paths), workers)
    notify("started", len(paths))
    done: dict[str, Summary] = {}
    # A runner of our own rather than the decorator's: its size is this run's parameter.
    with ThreadPoolTaskRunner(max_workers=max(1, workers)) as runner:
        futures = {
            runner.submit(ingest_document, {"path": p, "db_url": db_url}): p for p in paths
        }
        for future in as_completed(list(futures)):
            path = futures[future]
            try:
                summary = future.result()
            except Exception as exc:  # transient failure that outlasted the retries
                logger.error("giving up on %s: %r", path, exc)
                summary = record_failure(
                    db_url, Path(path), _hash_or_none(path), f"gave up after 3 attempts: {exc}"
                )
            done[path] = summary
            notify("finished", summary)
    from flows.compliance import evaluate_compliance

    evaluate_compliance(db_url, sorted({s["document_id"] for s in done.values()
                                        if s.get("status") == "processed"
                                        and s.get("document_id")}))
    return [done[p] for p in paths]


def _hash_or_none(path: str) -> str | None:
    try:
        return sha256_file(Path(path))
    except OSError:
        return None


def run_ingest(
    paths: list[str], db_url: str, workers: int, observer: IngestObserver | None = None
) -> list[Summary]:
    """Run :func:`ingest_flow` with ``observer`` told of each finished document."""
    if observer is None:
        return ingest_flow(paths=paths, db_url=db_url, workers=workers)
    with observe(observer):
        return ingest_flow(paths=paths, db_url=db_url, workers=workers)
