"""Moving a file on, never over another: into ``archive/`` or ``quarantine/`` (with its
``.error.json``), and back from quarantine to the inbox.

Every move is one ``rename`` that refuses to replace (Linux ``renameat2`` with
``RENAME_NOREPLACE``): two watchers, or two files called ``scan.pdf`` from two sub-folders,
can pick the same free name at the same moment, and one of them must then take the next
variant instead of replacing the other's file.  Where the file system does not support it,
the name is first reserved by creating it exclusively and the file then renamed over its own
placeholder.  Nothing is copied: a file keeps its bytes, owner and times.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import errno
import json
import os
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME_MAX = 255  # bytes, on every Linux file system we expect an inbox on
ERROR_SUFFIX = ".error.json"
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1

try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    _renameat2 = _libc.renameat2
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
except (OSError, AttributeError):  # not glibc >= 2.28
    _renameat2 = None


def rename_noreplace(src: Path, dest: Path) -> None:
    """Rename ``src`` to ``dest``; FileExistsError if ``dest`` exists (a link counts)."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dest),
                      _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(src), None, str(dest))
    # No RENAME_NOREPLACE here: reserve the name, then rename over our own placeholder.
    fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        os.rename(src, dest)
    except OSError:
        os.unlink(dest)
        raise


def name_bytes(name: str) -> int:
    return len(os.fsencode(name))  # names that are not UTF-8 keep their bytes


def fit_name(name: str, reserve: int = 0) -> str:
    """``name`` shortened (keeping its extension) so that it and ``reserve`` more bytes fit
    in one file name; cut at a character boundary."""
    limit = NAME_MAX - reserve
    if name_bytes(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10 or not stem:
        stem, ext = name, ""
    tail = f".{ext}" if ext else ""
    cut = os.fsencode(stem)[: max(1, limit - name_bytes(tail))]
    while cut:
        try:
            cut.decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            if exc.start < len(cut) - 3:  # not UTF-8 at all: keep the bytes as they are
                break
            cut = cut[: exc.start]
    return os.fsdecode(cut) + tail


def _variant(name: str, n: int) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"


def free_name(folder: Path, name: str, reserve: int = 0, also: str = "") -> Path:
    """A path in ``folder`` for ``name`` (or a numbered variant) that does not exist now, and
    neither does the same path plus ``also`` (the error file that will go beside it)."""
    base = fit_name(name, reserve + len(also.encode()) + 8)  # room for " (NNN)"
    for n in range(1, 10_000):
        dest = folder / (base if n == 1 else _variant(base, n))
        if not (os.path.lexists(dest) or (also and os.path.lexists(f"{dest}{also}"))):
            return dest
    raise OSError(f"no free name for {name} in {folder}")


def move_unique(src: Path, folder: Path, name: str, also: str = "",
                before: Callable[[Path], None] | None = None) -> Path:
    """Move ``src`` into ``folder`` as ``name``, or a numbered variant when that is taken;
    never replaces anything.  ``before(dest)`` runs before each attempt (to journal where the
    file is going).  Returns where it went."""
    folder.mkdir(parents=True, exist_ok=True)
    for _attempt in range(100):
        dest = free_name(folder, name, also=also)
        if before is not None:
            before(dest)
        try:
            rename_noreplace(src, dest)
            return dest
        except FileExistsError:
            continue  # taken between the look and the rename: the next variant
    raise OSError(f"no free name for {name} in {folder}")


def archive_folder(root: Path, when: dt.date | None = None) -> Path:
    when = when or dt.date.today()
    return root / "archive" / f"{when:%Y}" / f"{when:%m}"


def retry_command(dest: Path) -> str:
    return f"coi retry {shlex.quote(str(dest))}"


def error_file(quarantined: Path) -> Path:
    return quarantined.with_name(quarantined.name + ERROR_SUFFIX)


def quarantine_name(name: str) -> str:
    """The name a file gets in quarantine/: a file that itself ends in ``.error.json`` gets
    ``.txt`` added, so that it can never pass for (or be replaced by) another's error file."""
    base = Path(name).name
    return base + ".txt" if base.endswith(ERROR_SUFFIX) else base


def quarantine(root: Path, src: Path, name: str, *, reason: str, stage: str,
               document_id: int | None = None, sha256: str | None = None,
               before: Callable[[Path], None] | None = None) -> Path:
    """Move ``src`` into quarantine/ with ``<name>.error.json`` beside it."""
    dest = move_unique(src, root / "quarantine", quarantine_name(name), also=ERROR_SUFFIX,
                       before=before)
    write_error(dest, name, reason=reason, stage=stage, document_id=document_id,
                sha256=sha256)
    return dest


def write_error(dest: Path, name: str, *, reason: str, stage: str,
                document_id: int | None = None, sha256: str | None = None) -> None:
    write_json(error_file(dest), {
        "file": name, "reason": reason, "stage": stage,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "document_id": document_id, "sha256": sha256,
        "retry": f"fix the cause, then run: {retry_command(dest)}",
    })


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (a reader never sees half a file).  Names that are not UTF-8 are
    written escaped, since such a name cannot be written as UTF-8 text."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False)
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raw = json.dumps(data, indent=2, ensure_ascii=True).encode("ascii")
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:12]}")
    tmp.write_bytes(raw + b"\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- quarantine


@dataclass(frozen=True)
class Quarantined:
    path: Path
    info: dict[str, Any]


def quarantined(root: Path) -> list[Quarantined]:
    """Files in quarantine/ with what their error file says (empty when it is missing)."""
    folder = root / "quarantine"
    out: list[Quarantined] = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if p.name.endswith(ERROR_SUFFIX) or p.name.startswith("."):
            continue
        try:
            info = json.loads(error_file(p).read_bytes())
        except (OSError, ValueError):
            info = {}
        out.append(Quarantined(p, info))
    return out


def release_from_quarantine(root: Path, q: Quarantined) -> Path:
    """Move a quarantined file back to where it was in the inbox (a numbered variant if that
    name is taken meanwhile) and drop its error file."""
    rel = Path(str(q.info.get("file") or q.path.name))
    # The recorded name came from our own relative path; refuse anything that would climb
    # out of the inbox all the same (the error file is a plain file a person could edit).
    parts = [s for s in rel.parts if s not in ("", ".", "..", "/")]
    inbox = root / "inbox"
    target_dir = inbox.joinpath(*parts[:-1]) if len(parts) > 1 else inbox
    dest = move_unique(q.path, target_dir, parts[-1] if parts else q.path.name)
    error_file(q.path).unlink(missing_ok=True)
    return dest


def count_files(folder: Path) -> int:
    """Files under ``folder`` that are documents (not our own error, claim or lock files);
    0 for a folder not made yet."""
    n = 0
    for _dirpath, _dirs, names in os.walk(folder):
        n += sum(1 for name in names
                 if not name.endswith(ERROR_SUFFIX) and not name.startswith("."))
    return n
