"""The inbox flows: each run takes what is complete in ``<root>/inbox``, reads it, and moves
every file on to ``archive/`` or ``quarantine/``.  A flow run per batch, a task per file.

Thin Prefect wrappers: the folder rules are in :mod:`flows.folders` and :mod:`flows.moves`,
the reading and storing in :func:`flows.ingest.ingest_one` (the same code ``coi ingest``
runs).  Two flows with one body, so that the Prefect UI tells the frequent ``inbox-watch``
runs from the nightly ``scheduled-batch`` ones.

Order of a run: claims a crash left in ``processing/`` (no live owner) first, then the inbox.
Each task claims its file when it starts, not when the batch is listed, so that several
watchers on one inbox share the work instead of one claiming everything; a file that changed
since the listing is left for the next pass.

Finishing a file is journaled in its claim (flows.folders.Claim): the plan (outcome, reason,
document) is written before the file moves, and the destination before each rename, so a
crash at any point leaves a claim that the next pass finishes exactly as decided.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from coi.paths import printable
from flows.folders import (
    Claim,
    ClaimError,
    Folders,
    adopt,
    claim,
    no_read_permission,
    orphans,
    scan,
)
from flows.ingest import (
    RETRIES,
    Summary,
    _engine,
    _hash_or_none,
    ingest_one,
    is_transient,
    notify,
    record_failure,
)
from flows.moves import (
    ERROR_SUFFIX,
    archive_folder,
    error_file,
    move_unique,
    quarantine,
    quarantine_name,
    write_error,
)
from models.db import migrate
from models.inbox import FileRecord, record_file, stored_at
from pipeline.errors import CoiError

log = logging.getLogger("coi.watch")

# Claims of the tasks running in this process, by source, so that a retried task finds the
# claim its first attempt made (the file is no longer where the source says).
_claims: dict[str, Claim] = {}
_claims_lock = threading.Lock()

UNREADABLE = ("the file cannot be read: nobody has read permission on it (mode {mode:03o}); "
              "give it read permission (chmod 644) and retry it")
SWAPPED = ("it was replaced by a link or a special file after it was listed; links in the "
           "inbox are never followed: put the file itself there")


def _relative(folders: Folders, p: Path) -> str:
    try:
        return p.relative_to(folders.root).as_posix()
    except ValueError:
        return str(p)


def _outcome(name: str, outcome: str, **kw: Any) -> Summary:
    """The summary of a file that was not read (skipped, refused, unreadable)."""
    return {"file": printable(name), "status": outcome, "outcome": outcome, "duplicate": False,
            "fields": 0, "needs_review": 0, "error": None, "document_id": None, **kw}


def _take(folders: Folders, source: str, expect: list[int] | None = None) -> Claim | None:
    with _claims_lock:
        c = _claims.get(source)
    if c is not None:
        return c
    p = Path(source)
    if p.parent == folders.processing:
        c = adopt(p)
    else:
        c = claim(folders, p, (expect[0], expect[1]) if expect else None)
    if c is not None:
        with _claims_lock:
            _claims[source] = c
    return c


def _drop(source: str) -> Claim | None:
    with _claims_lock:
        return _claims.pop(source, None)


def _record(db_url: str, rec: FileRecord) -> None:
    """Store where a file went.  The file is already there: a database failure now loses the
    link, not the file, so it is logged rather than allowed to stop the batch."""
    try:
        record_file(_engine(db_url), rec)
    except Exception:
        get_run_logger().error("%s is in %s, but that could not be recorded",
                               printable(rec.name), printable(rec.location), exc_info=True)


def _plan(db_url: str, c: Claim, s: Summary) -> dict[str, Any]:
    """What becomes of a file that was read: its outcome, folder, reason and stage."""
    plan: dict[str, Any] = {"document_id": s.get("document_id"), "fields": s["fields"],
                            "needs_review": s["needs_review"], "error": s.get("error"),
                            "status": s["status"]}
    if s["status"] == "processed":
        duplicate = bool(s["duplicate"])
        if duplicate and c.adopted and s.get("document_id") is not None:
            # Stored by this very claim before a crash stopped it: it was read once, here.
            at = stored_at(_engine(db_url), s["document_id"])
            duplicate = at is None or at < dt.datetime.fromisoformat(c.claimed_at)
        return {**plan, "outcome": "duplicate" if duplicate else "processed",
                "folder": "archive", "reason": None, "stage": None}
    if s["status"] == "not_a_certificate" and s["duplicate"]:
        reason = (f"the same bytes were already found not to be a certificate (document "
                  f"{s['document_id']}); `coi retry` reads them again")
    else:
        reason = s.get("error") or s["status"].replace("_", " ")
    stage = s.get("stage") or ("classify" if s["status"] == "not_a_certificate" else "read")
    return {**plan, "outcome": s["status"], "folder": "quarantine", "reason": reason,
            "stage": stage}


def _finish(folders: Folders, db_url: str, source: str, c: Claim) -> Summary:
    """Carry out the claim's journaled plan: move the file, record where it went, release."""
    plan = c.info["plan"]
    if c.file.exists() or c.file.is_symlink():
        _drop_placeholder(c)
        target = (archive_folder(folders.root) if plan["folder"] == "archive"
                  else folders.quarantine)
        name = c.file.name if plan["folder"] == "archive" else quarantine_name(c.name)
        also = ERROR_SUFFIX if plan["folder"] == "quarantine" else ""
        dest = move_unique(c.file, target, name, also=also,
                           before=lambda d: c.journal(dest=str(d)))
    elif c.info.get("dest"):  # moved before a crash: the journal says where
        dest = Path(c.info["dest"])
    else:  # removed from processing/ by hand: nothing left to move
        get_run_logger().warning("%s: gone from its claim before it was moved on",
                                 printable(c.name))
        c.release()
        _drop(source)
        return _outcome(c.name, "skipped")
    if plan["folder"] == "quarantine" and not error_file(dest).exists():
        write_error(dest, c.name, reason=plan["reason"], stage=plan["stage"],
                    document_id=plan["document_id"], sha256=plan.get("sha256"))
    location = _relative(folders, dest)
    _record(db_url, FileRecord(
        name=c.name, outcome=plan["outcome"], folder=plan["folder"], location=location,
        received_at=dt.datetime.fromisoformat(c.claimed_at), sha256=plan.get("sha256"),
        document_id=plan["document_id"], reason=plan["reason"], stage=plan["stage"],
        size=plan.get("size"), claim=c.folder.name))
    c.release()
    _drop(source)
    logger, shown = get_run_logger(), printable(c.name)
    if plan["folder"] == "archive":
        logger.info("%s: %s as document %s, moved to %s", shown, plan["outcome"],
                    plan["document_id"], printable(location))
    else:
        logger.warning("%s: quarantined at stage %s: %s", shown, plan["stage"],
                       plan["reason"])
    return {"file": shown, "status": plan["status"], "outcome": plan["outcome"],
            "duplicate": plan["outcome"] == "duplicate", "fields": plan["fields"],
            "needs_review": plan["needs_review"], "document_id": plan["document_id"],
            "error": plan["reason"] if plan["folder"] == "quarantine" else plan["error"],
            "stage": plan["stage"], "location": printable(location)}


def _drop_placeholder(c: Claim) -> None:
    """Where renames cannot refuse to replace, a move first creates its destination empty
    (flows.moves.rename_noreplace); a crash right then leaves that empty file, journaled as
    the destination while the file is still in its claim.  It is ours: remove it."""
    dest = c.info.get("dest")
    if not dest:
        return
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        os.unlink(dest)


def _decide(folders: Folders, db_url: str, source: str, c: Claim, s: Summary,
            size: int | None) -> Summary:
    """Journal what becomes of the file, then do it.  A file that cannot be moved on stays
    in its claim (let go) for the next pass, instead of failing the batch."""
    try:
        sha = s.get("sha256")  # hashed by the read; else only a regular file, never a link
        if sha is None and stat.S_ISREG(c.file.lstat().st_mode):
            sha = _hash_or_none(str(c.file))
        c.journal(plan={**_plan(db_url, c, s), "sha256": sha, "size": size})
        return _finish(folders, db_url, source, c)
    except OSError as exc:
        return _left_in_processing(source, exc)


def _take_and_read(root: str, source: str, db_url: str, expect: list[int] | None) -> Summary:
    folders = Folders(Path(root))
    try:
        c = _take(folders, source, expect)
    except ClaimError as exc:
        get_run_logger().error("%s: not taken: %s", printable(source), exc.strerror)
        return _outcome(Path(source).name, "failed", error=f"not taken: {exc.strerror}")
    if c is None:  # claimed by another watcher, deleted, or changed since the listing
        return _outcome(Path(source).name, "skipped")
    if "plan" in c.info:  # read before a crash: finish as decided
        try:
            return _finish(folders, db_url, source, c)
        except OSError as exc:
            return _left_in_processing(source, exc)
    try:
        st = c.file.lstat()
    except FileNotFoundError:
        c.release()
        _drop(source)
        return _outcome(c.name, "skipped")
    if not stat.S_ISREG(st.st_mode):  # swapped for a link or a pipe since the listing
        s = _outcome(c.name, "failed", stage="claim", error=SWAPPED)
        return _decide(folders, db_url, source, c, s, None)
    if no_read_permission(st):
        s = _outcome(c.name, "failed", stage="claim",
                     error=UNREADABLE.format(mode=st.st_mode & 0o777))
        return _decide(folders, db_url, source, c, s, st.st_size)
    s = ingest_one(c.file, db_url, origin=f"inbox/{c.name}")  # raises transient failures
    return _decide(folders, db_url, source, c, s, st.st_size)


def _task_run_name(parameters: dict[str, Any]) -> str:
    return f"take {Path(parameters['source']).name}"


def _retry_transient(_task: Any, _run: Any, state: Any) -> bool:
    # Everything but transient failures is handled inside the task; anything else that
    # escapes is a bug, and repeating it would only repeat it.
    return isinstance(state.data, BaseException) and is_transient(state.data)


@task(name="take-file", task_run_name=_task_run_name, retry_condition_fn=_retry_transient,
      **RETRIES)
def take_file(root: str, source: str, db_url: str, expect: list[int] | None = None) -> Summary:
    """Claim one file (or a crashed claim), read and store it, move it on."""
    return _take_and_read(root, source, db_url, expect)


def _gave_up(folders: Folders, db_url: str, source: str, exc: BaseException) -> Summary:
    """A failure outlasted the retries: the document is stored as failed and the file
    quarantined, so that a person sees it and can retry it."""
    with _claims_lock:
        c = _claims.get(source)
    attempts = "after 3 attempts" if is_transient(exc) else "on an unexpected error"
    message = f"gave up {attempts}: {exc}"
    stage = exc.stage if isinstance(exc, CoiError) and exc.stage else "store"
    if c is None or not c.file.exists():
        if c is not None:
            c.release()
            _drop(source)
        return _outcome(Path(source).name, "failed", error=message)
    s = {**record_failure(db_url, c.file, _hash_or_none(str(c.file)), message), "stage": stage}
    return _decide(folders, db_url, source, c, s, None)


def _left_in_processing(source: str, exc: BaseException) -> Summary:
    """Neither read nor moved on: the claim is let go (its lock closed, the file left in its
    claim folder), so the next pass takes it up again."""
    c = _drop(source)
    if c is not None and c.lock is not None:
        c.lock.close()
        c.lock = None
    get_run_logger().error("%s stays in processing/ for the next pass: %r", printable(source),
                           exc)
    return _outcome(c.name if c else Path(source).name, "failed",
                    error=f"left in processing/ for the next pass: {exc}")


def _refuse(folders: Folders, db_url: str, r: Any) -> Summary | None:
    """Quarantine an entry that is never read (a link, a pipe) as it is."""
    logger = get_run_logger()
    name = r.path.relative_to(folders.inbox).as_posix()
    try:
        dest = quarantine(folders.root, r.path, name, reason=r.reason, stage=r.stage)
    except FileNotFoundError:
        return None
    except OSError as exc:  # left where it is; the next pass tries again
        logger.error("%s: cannot be moved to quarantine: %s", name, exc)
        return None
    _record(db_url, FileRecord(
        name=name, outcome="refused", folder="quarantine", location=_relative(folders, dest),
        received_at=dt.datetime.now(dt.UTC), reason=r.reason, stage=r.stage))
    shown = printable(name)
    logger.warning("%s: quarantined: %s", shown, r.reason)
    return _outcome(shown, "refused", error=r.reason,
                    location=printable(_relative(folders, dest)))


def run_batch(root: str, db_url: str, workers: int, settle: float, grace: float) -> Summary:
    """One pass over the root folder; returns counts and one summary per file taken."""
    logger = get_run_logger()
    folders = Folders(Path(root)).ensure()
    migrate(_engine(db_url))  # idempotent; a served flow may be the first to open the file
    jobs: list[tuple[str, list[int] | None]] = [(str(p), None) for p in orphans(folders)]
    found = scan(folders, settle=settle, grace=grace)
    for where, why in found.unlisted:
        logger.warning("%s cannot be looked into (%s): its files are not taken",
                       printable(str(where)), why)
    refused = [s for s in (_refuse(folders, db_url, r) for r in found.refused) if s]
    jobs += [(str(p), list(found.seen[p])) for p in found.ready]
    for p, why in found.waiting:
        logger.info("%s: not taken yet: %s", printable(p.relative_to(folders.inbox).as_posix()),
                    why)
    logger.info("%d files to take (%d left by a crash), %d waiting, %d refused", len(jobs),
                len(jobs) - len(found.ready), len(found.waiting), len(refused))
    notify("started", len(jobs) + len(refused))
    for s in refused:
        notify("finished", s)
    done: list[Summary] = []
    with ThreadPoolTaskRunner(max_workers=max(1, workers)) as runner:
        futures = {runner.submit(take_file, {"root": root, "source": src, "db_url": db_url,
                                             "expect": expect}): src for src, expect in jobs}
        for future in as_completed(list(futures)):
            src = futures[future]
            try:
                s = future.result()
            except Exception as exc:
                logger.error("giving up on %s: %r", printable(src), exc)
                try:
                    s = _gave_up(folders, db_url, src, exc)
                except Exception as again:  # e.g. quarantine/ not writable
                    s = _left_in_processing(src, again)
            done.append(s)
            if s["outcome"] != "skipped":
                notify("finished", s)
    files = refused + done
    counts: dict[str, int] = {}
    for s in files:
        counts[s["outcome"]] = counts.get(s["outcome"], 0) + 1
    from flows.compliance import evaluate_compliance

    # Also with nothing read: the pass retries notices that are due.
    evaluate_compliance(db_url, sorted({s["document_id"] for s in files
                                        if s["outcome"] == "processed"
                                        and s.get("document_id")}))
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
