"""The inbox flows: each run takes what is complete in ``<root>/inbox``, reads it, and moves
every file on to ``archive/`` or ``quarantine/``.  A flow run per batch, a task per file.

Thin Prefect wrappers: the folder rules are in :mod:`flows.folders`, the reading and storing in
:func:`flows.ingest.ingest_one` (the same code ``coi ingest`` runs).  Two flows with one body,
so that the Prefect UI tells the frequent ``inbox-watch`` runs from the nightly
``scheduled-batch`` ones.

Order of a run: claims a crash left in ``processing/`` (no live owner) first, then the inbox.
Each task claims its file when it starts, not when the batch is listed, so that several
watchers on one inbox share the work instead of one claiming everything.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.folders import (
    Claim,
    Folders,
    adopt,
    archive,
    claim,
    no_read_permission,
    orphans,
    quarantine,
    scan,
)
from flows.ingest import (
    RETRIES,
    Summary,
    _engine,
    _hash_or_none,
    ingest_one,
    notify,
    record_failure,
)
from models.inbox import FileRecord, record_file
from pipeline.errors import CoiError

log = logging.getLogger("coi.watch")

# Claims of the tasks running in this process, by source, so that a retried task finds the
# claim its first attempt made (the file is no longer where the source says).
_claims: dict[str, Claim] = {}
_claims_lock = threading.Lock()

UNREADABLE = ("the file cannot be read: nobody has read permission on it (mode {mode:o}); "
              "give it read permission (chmod 644) and retry it")


def _relative(folders: Folders, p: Path) -> str:
    try:
        return p.relative_to(folders.root).as_posix()
    except ValueError:
        return str(p)


def _outcome(name: str, outcome: str, **kw: Any) -> Summary:
    """The summary of a file that was not read (skipped, refused, unreadable)."""
    return {"file": name, "status": outcome, "outcome": outcome, "duplicate": False,
            "fields": 0, "needs_review": 0, "error": None, "document_id": None, **kw}


def _take(folders: Folders, source: str) -> Claim | None:
    with _claims_lock:
        c = _claims.get(source)
    if c is not None:
        return c
    p = Path(source)
    c = adopt(p) if p.parent == folders.processing else claim(folders, p)
    if c is not None:
        with _claims_lock:
            _claims[source] = c
    return c


def _drop(source: str) -> Claim | None:
    with _claims_lock:
        return _claims.pop(source, None)


def _finish(folders: Folders, db_url: str, source: str, c: Claim, s: Summary,
            size: int | None) -> Summary:
    """Move the claimed file on by its outcome, record where it went, release the claim."""
    logger = get_run_logger()
    received = dt.datetime.fromisoformat(c.claimed_at)
    sha = _hash_or_none(str(c.file)) if s.get("status") != "refused" else None
    if s["status"] == "processed":
        dest, folder = archive(folders, c), "archive"
        outcome = "duplicate" if s["duplicate"] else "processed"
        reason = stage = None
    else:
        if s["status"] == "not_a_certificate" and s["duplicate"]:
            reason = (f"the same bytes were already found not to be a certificate (document "
                      f"{s['document_id']}); `coi retry` reads them again")
        else:
            reason = s["error"] or s["status"].replace("_", " ")
        outcome = s["status"]
        stage = s.get("stage") or ("classify" if outcome == "not_a_certificate" else "read")
        dest = quarantine(folders, c.file, c.name, reason=reason, stage=stage,
                          document_id=s.get("document_id"), sha256=sha)
        folder = "quarantine"
        logger.warning("%s: quarantined at stage %s: %s", c.name, stage, reason)
    location = _relative(folders, dest)
    record_file(_engine(db_url), FileRecord(
        name=c.name, outcome=outcome, folder=folder, location=location, received_at=received,
        sha256=sha, document_id=s.get("document_id"), reason=reason,
        stage=stage, size=size,
    ))
    c.release()
    _drop(source)
    if folder == "archive":
        logger.info("%s: %s as document %s, moved to %s", c.name, outcome, s["document_id"],
                    location)
    return {**s, "file": c.name, "outcome": outcome, "location": location}


def _take_and_read(root: str, source: str, db_url: str) -> Summary:
    folders = Folders(Path(root))
    c = _take(folders, source)
    if c is None:  # claimed by another watcher, or deleted, since the listing
        return _outcome(Path(source).name, "skipped")
    try:
        st = c.file.lstat()
    except FileNotFoundError:
        c.release()
        _drop(source)
        return _outcome(c.name, "skipped")
    if no_read_permission(st):
        s = _outcome(c.name, "failed", stage="claim",
                     error=UNREADABLE.format(mode=st.st_mode & 0o777))
        return _finish(folders, db_url, source, c, s, st.st_size)
    s = ingest_one(c.file, db_url, origin=f"inbox/{c.name}")  # raises transient failures
    return _finish(folders, db_url, source, c, s, st.st_size)


def _task_run_name(parameters: dict[str, Any]) -> str:
    return f"take {Path(parameters['source']).name}"


@task(name="take-file", task_run_name=_task_run_name, **RETRIES)
def take_file(root: str, source: str, db_url: str) -> Summary:
    """Claim one file (or a crashed claim), read and store it, move it on."""
    return _take_and_read(root, source, db_url)


def _gave_up(folders: Folders, db_url: str, source: str, exc: BaseException) -> Summary:
    """A transient failure outlasted the retries: the document is stored as failed and the
    file quarantined, so that a person sees it and can retry it."""
    c = _drop(source)
    message = f"gave up after 3 attempts: {exc}"
    stage = exc.stage if isinstance(exc, CoiError) and exc.stage else "store"
    if c is None or not c.file.exists():
        return _outcome(Path(source).name, "failed", error=message)
    s = {**record_failure(db_url, c.file, _hash_or_none(str(c.file)), message), "stage": stage}
    with _claims_lock:
        _claims[source] = c
    return _finish(folders, db_url, source, c, s, None)


def run_batch(root: str, db_url: str, workers: int, settle: float, grace: float) -> Summary:
    """One pass over the root folder; returns counts and one summary per file taken."""
    logger = get_run_logger()
    folders = Folders(Path(root)).ensure()
    sources = [str(p) for p in orphans(folders)]
    found = scan(folders, settle=settle, grace=grace)
    refused = []
    for r in found.refused:
        name = r.path.relative_to(folders.inbox).as_posix()
        try:
            dest = quarantine(folders, r.path, name, reason=r.reason, stage=r.stage)
        except FileNotFoundError:
            continue
        record_file(_engine(db_url), FileRecord(
            name=name, outcome="refused", folder="quarantine",
            location=_relative(folders, dest), received_at=dt.datetime.now(dt.UTC),
            reason=r.reason, stage=r.stage))
        logger.warning("%s: quarantined: %s", name, r.reason)
        refused.append(_outcome(name, "refused", error=r.reason,
                                location=_relative(folders, dest)))
    sources += [str(p) for p in found.ready]
    for p, why in found.waiting:
        logger.info("%s: not taken yet: %s", p.relative_to(folders.inbox).as_posix(), why)
    logger.info("%d files to take (%d left by a crash), %d waiting, %d refused",
                len(sources), len(sources) - len(found.ready), len(found.waiting),
                len(refused))
    notify("started", len(sources) + len(refused))
    for s in refused:
        notify("finished", s)
    done: list[Summary] = []
    with ThreadPoolTaskRunner(max_workers=max(1, workers)) as runner:
        futures = {runner.submit(take_file, {"root": root, "source": src, "db_url": db_url}):
                   src for src in sources}
        for future in as_completed(list(futures)):
            src = futures[future]
            try:
                s = future.result()
            except Exception as exc:
                logger.error("giving up on %s: %r", src, exc)
                s = _gave_up(folders, db_url, src, exc)
            done.append(s)
            if s["outcome"] != "skipped":
                notify("finished", s)
    files = refused + done
    counts: dict[str, int] = {}
    for s in files:
        counts[s["outcome"]] = counts.get(s["outcome"], 0) + 1
    return {"counts": counts, "waiting": len(found.waiting), "files": files}


@flow(name="coi-inbox-watch", persist_result=False, log_prints=False)
def inbox_watch(root: str, db_url: str, workers: int = 1, settle: float = 2.0,
                grace: float = 300.0) -> Summary:
    """Take what is complete in the inbox (and what a crash left in processing/)."""
    return run_batch(root, db_url, workers, settle, grace)


@flow(name="coi-scheduled-batch", persist_result=False, log_prints=False)
def scheduled_batch(root: str, db_url: str, workers: int = 1, settle: float = 2.0,
                    grace: float = 300.0) -> Summary:
    """The nightly sweep: the same pass as inbox-watch, for setups that drop files in bulk
    and read them at night (and a catch-up when the watcher was off)."""
    return run_batch(root, db_url, workers, settle, grace)
