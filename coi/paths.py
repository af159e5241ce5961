"""Which files ``coi ingest PATH...`` reads.

Folders are walked recursively and sorted, so a batch is reproducible.  Hidden entries, office
lock files and partial downloads are skipped: an inbox that a mail client or browser is still
writing into must not yield half-written "certificates".  Symlinks are never followed out of
the folder given (an inbox link to /etc, or a loop, would otherwise be read).
"""

from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path


class PathError(ValueError):
    """A command-line path that cannot be used (missing, special file, nothing inside)."""


# Names that are never certificates: editor locks, partial downloads, OS clutter.
TEMP_PATTERNS = ("~$*", "*.part", "*.partial", "*.tmp", "*.crdownload", "*.swp", "*~")
JUNK_NAMES = {"thumbs.db", "desktop.ini"}


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (an old SMB client's Latin-1 name) come
    from the OS as lone surrogates, which no database, log or JSON encoder accepts; they are
    shown as U+FFFD.  Only for display and storage; the file keeps its real name."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def skipped_name(name: str) -> bool:
    low = name.lower()
    return (name.startswith(".") or low in JUNK_NAMES
            or any(fnmatch(low, pat) for pat in TEMP_PATTERNS))


def _walk(root: Path) -> list[Path]:
    """Files under ``root``, without hidden/temporary names; a symlink is taken only when it
    points at a file inside ``root`` (never followed out of the folder, never into a loop)."""
    inside = root.resolve()
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not skipped_name(d) and not (here / d).is_symlink()]
        for name in filenames:
            p = here / name
            if skipped_name(name):
                continue
            if p.is_symlink():
                try:
                    target = p.resolve()
                except (OSError, RuntimeError):  # a symlink loop
                    continue
                if not (target.is_file() and target.is_relative_to(inside)):
                    continue
            elif not p.is_file():  # sockets, fifos
                continue
            found.append(p)
    return sorted(found)


def expand_paths(args: list[Path]) -> list[Path]:
    """Files and folders (recursively, sorted) to absolute file paths, each file once."""
    files: list[Path] = []
    seen: set[Path] = set()
    for arg in args:
        if arg.is_file():
            found = [arg]  # named explicitly: taken even if its name looks temporary
        elif arg.is_dir():
            found = _walk(arg)
        elif arg.exists() or arg.is_symlink():
            raise PathError(f"not a regular file or folder: {arg}")
        else:
            raise PathError(f"no such file or folder: {arg}")
        for p in found:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                files.append(p.absolute())
    if not files:
        raise PathError(f"no files found in {', '.join(map(str, args))}")
    return files
