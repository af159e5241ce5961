"""The life of a file in the watched root folder, without Prefect: plain functions over paths.

``<root>/inbox/`` is where people drop files (sub-folders allowed); ``processing/`` holds the
files being read; ``archive/YYYY/MM/`` the files done (moved, so byte-identical);
``quarantine/`` the files that failed, each with ``<name>.error.json`` beside it.

Why it is safe with crashes and with several watchers on one inbox:

* A file is claimed by one atomic ``rename`` out of the inbox into a claim folder of its own,
  ``processing/<claim>/``; of two watchers renaming the same file only one succeeds, the other
  gets ``FileNotFoundError`` and moves on.  Nothing is ever copied and deleted.
* The claimer holds an exclusive ``flock`` on ``<claim>/.lock`` while it reads.  The kernel
  drops the lock when the process dies, even by SIGKILL, so a claim whose lock can be taken
  belongs to nobody alive and is taken up again; one still locked is left to its owner.
* The claim's journal (``.claim.json``) says, once the file is read, where it goes; a claim
  taken up after a crash is finished as decided instead of being read again.
* Moves into ``archive/`` and ``quarantine/`` never overwrite (:mod:`flows.moves`).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coi.paths import skipped_name
from flows.moves import write_json

STALE_NEW = 60.0  # seconds after which a half-built claim folder is a dead claimer's
CLAIM_FILE = ".claim.json"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class Folders:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def processing(self) -> Path:
        return self.root / "processing"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def ensure(self) -> Folders:
        for d in (self.inbox, self.processing, self.archive, self.quarantine):
            d.mkdir(parents=True, exist_ok=True)
        return self


# ------------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class Refused:
    """An inbox entry that will never be read as it is (a link, a special file)."""

    path: Path
    reason: str
    stage: str = "scan"


@dataclass
class Scan:
    ready: list[Path] = field(default_factory=list)  # complete: claim and read them
    waiting: list[tuple[Path, str]] = field(default_factory=list)  # not yet: why
    refused: list[Refused] = field(default_factory=list)  # quarantine them as they are
    unlisted: list[tuple[Path, str]] = field(default_factory=list)  # folders we cannot read
    seen: dict[Path, tuple[int, int]] = field(default_factory=dict)  # ready: size, mtime_ns


def _entries(inbox: Path, unlisted: list[OSError]
             ) -> tuple[dict[Path, os.stat_result], list[Refused]]:
    """Regular files under ``inbox`` by lstat; symlinks and special files refused.  Hidden and
    temporary names are left alone, as are folders (whatever they are called)."""
    files: dict[Path, os.stat_result] = {}
    refused: list[Refused] = []
    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False,
                                                onerror=lambda e: unlisted.append(e)):
        here = Path(dirpath)
        keep = []
        for d in dirnames:
            if skipped_name(d):
                continue
            if os.path.islink(here / d):  # os.walk lists a link to a folder as a folder
                filenames.append(d)
            else:
                keep.append(d)
        dirnames[:] = sorted(keep)
        for name in sorted(filenames):
            p = here / name
            if skipped_name(name):
                continue
            try:
                st = p.lstat()
            except FileNotFoundError:  # gone since the listing
                continue
            except OSError as exc:  # a folder we may list but not enter
                unlisted.append(exc)
                continue
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = os.readlink(p)
                except OSError:
                    target = "?"
                refused.append(Refused(p, f"a symbolic link (to {target}); links in the inbox "
                                          "are never followed: put the file itself there"))
            elif not stat.S_ISREG(st.st_mode):
                refused.append(Refused(p, "not a regular file (a pipe, socket or device)"))
            else:
                files[p] = st
    return files, refused


def looks_complete(path: Path, size: int) -> bool:
    """Whether the bytes end the way a finished file of their kind ends.

    A PDF still being written has no ``%%EOF`` yet, a JPEG no end-of-image marker, a PNG no
    IEND chunk; other kinds (TIFF, and anything that is no certificate at all) cannot be told
    and count as complete.  Empty files are not complete: a copy may just have started.
    """
    if size == 0:
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 2048))
            tail = fh.read()
    except OSError:
        return True  # unreadable: the read will say so
    if b"%PDF-" in head:
        return b"%%EOF" in tail
    if head.startswith(b"\xff\xd8\xff"):
        return b"\xff\xd9" in tail[-64:]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return b"IEND" in tail[-32:]
    return True


def scan(folders: Folders, *, settle: float, grace: float, now: float | None = None) -> Scan:
    """What in the inbox can be taken now.

    A file is ready when its size and mtime are the same in two looks ``settle`` seconds
    apart, and its bytes look complete (:func:`looks_complete`).  A file that looks incomplete
    but has not changed for ``grace`` seconds is taken anyway: a truncated upload never
    completes, and its read will quarantine it with the reason.
    """
    unlisted: list[OSError] = []
    first, refused = _entries(folders.inbox, unlisted)
    if first and settle > 0:
        time.sleep(settle)
    second, _ = _entries(folders.inbox, [])
    now = time.time() if now is None else now
    out = Scan(refused=refused, unlisted=[
        (Path(e.filename or "?"), e.strerror or str(e)) for e in unlisted])
    for p, st in second.items():
        before = first.get(p)
        if before is None or (before.st_size, before.st_mtime_ns) != (st.st_size,
                                                                     st.st_mtime_ns):
            out.waiting.append((p, "still being written"))
        elif now - st.st_mtime < settle:
            out.waiting.append((p, "modified moments ago"))
        elif not looks_complete(p, st.st_size) and now - st.st_mtime < grace:
            out.waiting.append((p, "incomplete so far (waiting for the rest)"))
        else:
            out.ready.append(p)
            out.seen[p] = (st.st_size, st.st_mtime_ns)
    return out


# -------------------------------------------------------------------------------- claims


class ClaimError(OSError):
    """A file that cannot be moved out of the inbox (no write permission on its folder)."""


@dataclass
class Claim:
    """A file taken out of the inbox: ``file`` lives in ``folder`` under processing/.

    ``info`` is the claim's journal (``.claim.json``): who claimed it and when, and once the
    file has been read, what is to become of it (``plan``) and where it is going (``dest``),
    so that a claim taken up after a crash is finished as decided, not read again.
    """

    folder: Path
    file: Path
    info: dict[str, Any]
    lock: Any = None  # the open, flock-ed .lock file
    adopted: bool = False  # taken up after its first claimer died

    @property
    def name(self) -> str:
        """Where the file was in the inbox, relative to it ("sub/scan 1.pdf")."""
        return str(self.info.get("name") or self.file.name)

    @property
    def claimed_at(self) -> str:
        return str(self.info.get("claimed_at") or _now())

    def journal(self, **entries: Any) -> None:
        self.info.update(entries)
        write_json(self.folder / CLAIM_FILE, self.info)

    def release(self) -> None:
        """Remove the (by now empty) claim folder, then drop the lock."""
        _clear(self.folder)
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def _clear(folder: Path) -> None:
    for leftover in folder.glob(".*"):  # only our own files are dot-files
        leftover.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # something unexpected is left inside: keep it for a person to see


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _lock(path: Path) -> Any | None:
    try:
        fh = open(path, "a+")  # noqa: SIM115 - held open for the life of the claim
    except (FileNotFoundError, NotADirectoryError):  # the folder went meanwhile
        return None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def claim(folders: Folders, path: Path, expect: tuple[int, int] | None = None
          ) -> Claim | None:
    """Move ``path`` out of the inbox into a claim folder of its own.

    None when it is gone (another watcher took it, or someone deleted it) or, given
    ``expect`` (size, mtime_ns as listed), when it changed since it was listed.  The claim
    folder is made complete (locked, journal written) under a dot-name and then renamed into
    place, so a watcher looking for orphans never sees a half-made one.
    """
    token = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
    new = folders.processing / f".new-{token}"
    new.mkdir(parents=True)
    lock = _lock(new / LOCK_FILE)
    if lock is None:  # removed under us (only a stale-looking .new-* folder is): give up
        _clear(new)
        return None
    info = {"name": path.relative_to(folders.inbox).as_posix(), "claimed_at": _now(),
            "host": socket.gethostname(), "pid": os.getpid()}
    write_json(new / CLAIM_FILE, info)
    folder = folders.processing / token
    os.rename(new, folder)
    c = Claim(folder, folder / path.name, info, lock)
    try:
        if expect is not None:
            st = path.lstat()
            if (st.st_size, st.st_mtime_ns) != expect:
                c.release()
                return None
        os.rename(path, c.file)
    except FileNotFoundError:
        c.release()
        return None
    except OSError as exc:
        c.release()
        if exc.errno == errno.EXDEV:
            raise ClaimError(exc.errno, "the inbox and processing/ must be on one file "
                             f"system (a rename from {path.parent} failed)") from exc
        if isinstance(exc, PermissionError):
            raise ClaimError(exc.errno, f"it cannot be moved out of {path.parent}: the "
                             "watcher needs write permission on that folder") from exc
        raise
    return c


def orphans(folders: Folders) -> list[Path]:
    """Claim folders under processing/ (oldest first); :func:`adopt` tells whose they are.
    Half-made claim folders of dead processes (never holding a file) are removed."""
    if not folders.processing.is_dir():
        return []
    found = []
    for p in sorted(folders.processing.iterdir()):
        if not p.is_dir():
            continue
        if p.name.startswith(".new-"):
            # Being built right now, or left by a claimer that died while building it (it
            # never holds a file).  Its journal is written only once it is locked, so one
            # with a journal and a free lock is a dead claimer's; one without a journal may
            # be a live claimer's between mkdir and flock, and is removed only when old.
            try:
                done = (p / CLAIM_FILE).exists()
                stale = done or time.time() - p.stat().st_mtime > STALE_NEW
            except FileNotFoundError:
                continue
            lock = _lock(p / LOCK_FILE) if stale else None
            if lock is not None:
                _clear(p)
                lock.close()
        elif not p.name.startswith("."):
            found.append(p)
    return found


def adopt(folder: Path) -> Claim | None:
    """Take up a claim left by a process that died; None when its owner still holds it, or
    when there is nothing left to do."""
    lock = _lock(folder / LOCK_FILE)
    if lock is None:
        return None
    try:
        files = [p for p in folder.iterdir() if not p.name.startswith(".")]
    except FileNotFoundError:  # finished and removed by its owner just now
        lock.close()
        return None
    try:
        info = json.loads((folder / CLAIM_FILE).read_bytes())
    except (OSError, ValueError):  # no journal (released just now, or removed by hand)
        info = {}
    c = Claim(folder, files[0] if files else folder / "?", info, lock, adopted=True)
    if not files and not info.get("dest"):  # nothing was ever moved in, or all is done
        c.release()
        return None
    return c


def no_read_permission(st: os.stat_result) -> bool:
    """Mode 000 and the like.  Checked on the bits, not by trying: a watcher running as root
    could read it anyway, and whether a file is taken must not depend on who runs coi."""
    return not st.st_mode & (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
