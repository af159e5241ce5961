"""Prefect's environment for the coi command line.

Prefect reads its settings once, when ``prefect`` is first imported (the root settings
context and the logging configuration are built at import time), so :func:`configure` must
run before any module that imports prefect.  Every value is a default: a variable the user
already set (a real server's ``PREFECT_API_URL``, their own ``PREFECT_HOME``, a louder
``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL``) is left alone.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import warnings
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOG_FILE = Path("logs") / "coi.log"  # under data_dir


def defaults(data_dir: str | Path) -> dict[str, str]:
    """The variables :func:`configure` sets when they are not set already."""
    home = Path(data_dir).expanduser().resolve() / "prefect"
    return {
        # Flow-run history and the ephemeral API's database live with our data, not in ~.
        "PREFECT_HOME": str(home),
        # Without these the ephemeral server and client phone home: a DNS lookup that fails
        # (and logs an error) on machines without general network access.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # With no PREFECT_API_URL, start a local API in a subprocess.  This is the packaged
        # default profile already; set explicitly so a user's profiles.toml that disables it
        # does not turn `coi ingest` into "No Prefect API URL provided".
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        # The first start of the ephemeral API migrates its database: 8-21 s on a small
        # machine, against Prefect's default limit of 20 s.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        # Prefect's INFO lines ("Beginning flow run ...", "Finished in state ...") would be
        # written across our progress bar; the console gets warnings only, the log file and
        # the Prefect API get everything (see attach_log_file).
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        # The local API runs in a subprocess (its output goes to its own log file: see
        # start_local_api).  When a command ends it is stopped, and its event recorder,
        # cancelled mid-flush, logs an ERROR traceback about events of runs that are already
        # recorded: noise, even in a log.  Its real failures surface as ours.
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        # Tesseract is parallelized by processes (one per worker thread); its own OpenMP
        # threads only compete with them.
        "OMP_THREAD_LIMIT": "1",
    }


def configure(
    data_dir: str | Path, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Set Prefect's environment (``os.environ`` unless ``environ`` is given) for coi.

    Returns the effective values of the variables it manages.  Pass a copy of
    ``os.environ`` as ``environ`` to prepare the environment of a subprocess.
    """
    env = os.environ if environ is None else environ
    if env is os.environ and "prefect" in sys.modules:
        warnings.warn(
            "coi.prefect_env.configure() called after prefect was imported; Prefect has "
            "already read its settings and will not see these values",
            RuntimeWarning,
            stacklevel=2,
        )
    wanted = defaults(data_dir)
    for key, value in wanted.items():
        if not env.get(key):
            env[key] = value
    if env is os.environ:
        # Prefect creates its home without parents and only warns when it cannot.
        Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    return {key: env[key] for key in wanted}


def attach_log_file(data_dir: str | Path, level: int = logging.INFO) -> Path:
    """Send Prefect's and coi's log records to ``<data_dir>/logs/coi.log``.

    Call after prefect is imported (its logging setup replaces the root configuration).
    The handler sits on the root logger: Prefect's run loggers propagate there at INFO, other
    libraries at the root's WARNING.  Idempotent.
    """
    path = (Path(data_dir).expanduser() / LOG_FILE).resolve()
    root = logging.getLogger()
    for h in root.handlers:
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setLevel(level)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    logging.getLogger("coi").setLevel(level)
    return path


API_LOG = Path("logs") / "prefect-api.log"  # under data_dir


class LocalApiError(RuntimeError):
    """Prefect's local API did not start (the message names its log)."""


def start_local_api(data_dir: str | Path) -> Path | None:
    """Start Prefect's local (ephemeral) API now, unless PREFECT_API_URL names a server,
    with its output in ``<data_dir>/logs/prefect-api.log``; returns that path.

    Prefect would start it on first use, as a subprocess writing to our own stdout and
    stderr; when a command ends it is stopped mid-work and its shutdown prints tracebacks
    (SQLAlchemy connections and asyncio tasks of a dying event loop) after our summary line,
    in some runs and not others.  Started here, the child inherits descriptors that point at
    the log file, and Prefect finds it running (``SubprocessASGIServer`` is one per
    process).  Call after prefect is imported.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    from prefect.server.api.server import SubprocessASGIServer

    path = (Path(data_dir).expanduser() / API_LOG).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                SubprocessASGIServer().start()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    except Exception as exc:
        raise LocalApiError(f"Prefect's local API did not start ({exc}); its log is {path}, "
                            "or set PREFECT_API_URL to a running Prefect server") from None
    finally:
        os.close(saved[0])
        os.close(saved[1])
    return path


class _NotRunLogs(logging.Filter):
    """Drops flow/task run records below CRITICAL: the CLI reports each document itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        run_logger = record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
        return not run_logger or record.levelno >= logging.CRITICAL


@contextmanager
def console_through(console: Any, *, run_logs: bool = False) -> Iterator[None]:
    """While inside, Prefect's console log lines print through ``console`` (a rich Console).

    A rich progress bar redraws itself on its Console; lines printed through the same Console
    appear above the bar, while writes straight to stderr would tear through it.  Unless
    ``run_logs``, flow/task run records stay off the console (they still reach the log file
    and the Prefect API).  Call after prefect is imported.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    saved = [h.console for h in handlers]
    quiet = _NotRunLogs()
    for h in handlers:
        h.console = console
        if not run_logs:
            h.addFilter(quiet)
    try:
        yield
    finally:
        for h, old in zip(handlers, saved, strict=True):
            h.console = old
            h.removeFilter(quiet)
