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
* Moves into ``archive/`` and ``quarantine/`` never overwrite: a name already there gets a
  numbered variant (a hard link is made, then the claim's name is removed).
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

NAME_MAX = 255  # bytes, on every Linux file system we expect an inbox on
ERROR_SUFFIX = ".error.json"
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


def _entries(inbox: Path) -> tuple[dict[Path, os.stat_result], list[Refused]]:
    """Regular files under ``inbox`` by lstat; symlinks and special files refused.  Hidden and
    temporary names are left alone, as are folders (whatever they are called)."""
    files: dict[Path, os.stat_result] = {}
    refused: list[Refused] = []
    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in dirnames:
            if skipped_name(d):
                continue
            if (here / d).is_symlink():  # os.walk lists a link to a folder as a folder
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
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(p)
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
    first, refused = _entries(folders.inbox)
    if first and settle > 0:
        time.sleep(settle)
    second, _ = _entries(folders.inbox)
    now = time.time() if now is None else now
    out = Scan(refused=refused)
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
    return out


# -------------------------------------------------------------------------------- claims


@dataclass
class Claim:
    """A file taken out of the inbox: ``file`` lives in ``folder`` under processing/."""

    folder: Path
    file: Path
    name: str  # where it was in the inbox, relative to it ("sub/scan 1.pdf")
    claimed_at: str
    lock: Any = None  # the open, flock-ed .lock file

    def release(self) -> None:
        """Remove the (by now empty) claim folder, then drop the lock."""
        for leftover in (self.folder / CLAIM_FILE, self.folder / LOCK_FILE):
            leftover.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass  # something unexpected is left inside: keep it for a person to see
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _lock(path: Path) -> Any | None:
    fh = open(path, "a+")  # noqa: SIM115 - held open for the life of the claim
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def claim(folders: Folders, path: Path) -> Claim | None:
    """Move ``path`` out of the inbox into a claim folder of its own; None when it is gone
    (another watcher took it, or someone deleted it, between listing and claim)."""
    folder = folders.processing / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    lock = _lock(folder / LOCK_FILE)
    assert lock is not None  # a folder nobody else knows of yet
    name = path.relative_to(folders.inbox).as_posix()
    c = Claim(folder, folder / path.name, name, _now(), lock)
    _write_json(folder / CLAIM_FILE, {"name": name, "claimed_at": c.claimed_at,
                                      "host": socket.gethostname(), "pid": os.getpid()})
    try:
        os.rename(path, c.file)
    except FileNotFoundError:
        c.release()
        return None
    except OSError as exc:
        c.release()
        if exc.errno == errno.EXDEV:
            raise OSError(exc.errno, "the inbox and processing/ must be on one file system "
                          f"(a rename from {path.parent} failed)") from exc
        raise
    return c


def orphans(folders: Folders) -> list[Path]:
    """Claim folders under processing/ (oldest first); :func:`adopt` tells whose they are."""
    if not folders.processing.is_dir():
        return []
    return sorted(p for p in folders.processing.iterdir() if p.is_dir())


def adopt(folder: Path) -> Claim | None:
    """Take up a claim left by a process that died; None when its owner still holds it."""
    lock = _lock(folder / LOCK_FILE) if folder.is_dir() else None
    if lock is None:
        return None
    try:
        info = json.loads((folder / CLAIM_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    files = [p for p in folder.iterdir() if p.name not in (CLAIM_FILE, LOCK_FILE)]
    c = Claim(folder, files[0] if files else folder / "?", "", info.get("claimed_at", _now()),
              lock)
    c.name = str(info.get("name") or c.file.name)
    if not files:  # the crash came after the file was moved on: nothing to redo
        c.release()
        return None
    return c


# --------------------------------------------------------------------------- moving on


def fit_name(name: str, reserve: int = 0) -> str:
    """``name`` shortened (keeping its extension) so that it and ``reserve`` more bytes fit
    in one file name."""
    limit = NAME_MAX - reserve
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    tail = f".{ext}" if ext else ""
    budget = limit - len(tail.encode())
    cut = stem.encode()[:budget].decode(errors="ignore")
    return cut + tail


def _variant(name: str, n: int) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"


def move_unique(src: Path, folder: Path, name: str, reserve: int = 0) -> Path:
    """Move ``src`` into ``folder`` as ``name``, or a numbered variant of it when that is
    taken; never overwrites.  Returns where it went."""
    folder.mkdir(parents=True, exist_ok=True)
    base = fit_name(name, reserve + 8)  # room for " (NNN)"
    for n in range(1, 10_000):
        dest = folder / (base if n == 1 else _variant(base, n))
        if src.is_symlink() or not src.is_file():
            # A link or a special file: rename it (the link itself, never its target).
            if dest.exists() or dest.is_symlink():
                continue
            os.rename(src, dest)
            return dest
        try:
            os.link(src, dest)  # fails if dest exists: no overwrite, even racing a watcher
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                raise
            if dest.exists():  # a file system without hard links
                continue
            os.rename(src, dest)
            return dest
        src.unlink()
        return dest
    raise OSError(f"no free name for {name} in {folder}")


def archive(folders: Folders, c: Claim, when: dt.date | None = None) -> Path:
    when = when or dt.date.today()
    return move_unique(c.file, folders.archive / f"{when:%Y}" / f"{when:%m}", c.file.name)


def retry_command(dest: Path) -> str:
    return f"coi retry '{dest}'"


def quarantine(folders: Folders, src: Path, name: str, *, reason: str, stage: str,
               document_id: int | None = None, sha256: str | None = None) -> Path:
    """Move ``src`` into quarantine/ with ``<name>.error.json`` beside it."""
    dest = move_unique(src, folders.quarantine, Path(name).name, reserve=len(ERROR_SUFFIX))
    _write_json(error_file(dest), {
        "file": name, "reason": reason, "stage": stage, "time": _now(),
        "document_id": document_id, "sha256": sha256,
        "retry": f"fix the cause, then run: {retry_command(dest)}",
    })
    return dest


def error_file(quarantined: Path) -> Path:
    return quarantined.with_name(quarantined.name + ERROR_SUFFIX)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp"[:NAME_MAX])
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- quarantine


@dataclass(frozen=True)
class Quarantined:
    path: Path
    info: dict[str, Any]


def quarantined(folders: Folders) -> list[Quarantined]:
    """Files in quarantine/ with what their error file says (empty when it is missing)."""
    out = []
    if not folders.quarantine.is_dir():
        return out
    for p in sorted(folders.quarantine.iterdir()):
        if p.name.endswith(ERROR_SUFFIX) or p.name.startswith("."):
            continue
        try:
            info = json.loads(error_file(p).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        out.append(Quarantined(p, info))
    return out


def release_from_quarantine(folders: Folders, q: Quarantined) -> Path:
    """Move a quarantined file back to where it was in the inbox (a numbered variant if that
    name is taken meanwhile) and drop its error file."""
    rel = Path(str(q.info.get("file") or q.path.name))
    # The recorded name came from our own relative path; refuse anything that would climb
    # out of the inbox all the same (the error file is a plain file a person could edit).
    parts = [s for s in rel.parts if s not in ("", ".", "..", "/")]
    target_dir = folders.inbox.joinpath(*parts[:-1]) if len(parts) > 1 else folders.inbox
    dest = move_unique(q.path, target_dir, parts[-1] if parts else q.path.name)
    error_file(q.path).unlink(missing_ok=True)
    return dest


def count_files(folder: Path) -> int:
    """Files under ``folder`` that are documents (not our own error/claim/lock files); 0
    for a folder not made yet."""
    n = 0
    for _dirpath, _dirs, names in os.walk(folder):
        n += sum(1 for name in names
                 if not name.endswith(ERROR_SUFFIX) and name not in (CLAIM_FILE, LOCK_FILE)
                 and not name.startswith("."))
    return n


def no_read_permission(st: os.stat_result) -> bool:
    """Mode 000 and the like.  Checked on the bits, not by trying: a watcher running as root
    could read it anyway, and whether a file is taken must not depend on who runs coi."""
    return not st.st_mode & (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
