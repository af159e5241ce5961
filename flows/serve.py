"""``coi serve``: a Prefect server on 127.0.0.1 (or the one ``PREFECT_API_URL`` names) and the
two inbox deployments served from this process until Ctrl-C or SIGTERM.

Why a real server: Prefect's ephemeral API has no scheduler service, so interval and cron
schedules only run against ``prefect server start``.  Its process is ours: started in a
session of its own (a Ctrl-C in the terminal reaches us, not it), stopped when we stop.

Why ``pause_on_shutdown=False``: Prefect's runner otherwise pauses every served deployment
when it is stopped, and a paused deployment gets no scheduled runs until something un-pauses
it; a watcher restarted by systemd must not depend on that.  Served runs start in
subprocesses (``python -m prefect.engine``) that import the flows by module path, so they work
from any working directory, and inherit this process's environment (COI_*, PREFECT_*).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from coi.prefect_env import attach_log_file, configure

HEALTH_TIMEOUT = 120.0  # a first start migrates the server's database: 8-21 s here


class ServeError(RuntimeError):
    """The Prefect server could not be started or reached."""


def _healthy(api: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=timeout) as r:  # noqa: S310
            return r.status == 200
    except OSError:
        return False


def start_server(data_dir: Path, port: int, say: Callable[[str], None],
                 started: list[subprocess.Popen]) -> str:
    """The API URL of a healthy server on 127.0.0.1:``port``; a process we start for it is
    appended to ``started`` at once, so that the caller stops it whatever happens next."""
    api = f"http://127.0.0.1:{port}/api"
    if _healthy(api):
        say(f"using the Prefect server already running at {api}")
        return api
    log = (data_dir / "logs" / "prefect-server.log").resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("prefect")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            [*cmd, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
            # Its own log file, at Prefect's usual level (not the quiet one of the local API).
            env={**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"},
                 "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"},
        )
    started.append(proc)
    say(f"starting a Prefect server on 127.0.0.1:{port} (log: {log})")
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServeError(f"the Prefect server exited with status {proc.returncode}; is "
                             f"port {port} taken? (--port, or see {log})")
        if _healthy(api):
            return api
        time.sleep(0.5)
    raise ServeError(f"the Prefect server did not answer within {HEALTH_TIMEOUT:.0f} s "
                     f"(see {log})")


def stop_server(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def serve_inbox(*, root: Path, db_url: str, data_dir: Path, workers: int, interval: float,
                cron: str, settle: float, grace: float, port: int,
                say: Callable[[str], None], compliance_cron: str = "0 6 * * *") -> None:
    """Serve ``inbox-watch`` every ``interval`` seconds, ``scheduled-batch`` on ``cron`` and
    ``compliance-daily`` on ``compliance_cron`` until interrupted; returns after a clean
    stop."""
    # A service's console is its log (journalctl): each run's lines, which file, which stage.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "INFO")
    configure(data_dir)
    # The runner asks the server for due runs this often (Prefect's default, 10 s, would
    # delay a short interval by up to that much).
    os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY",
                          str(int(min(10, max(1, interval // 3)))))
    # Until Prefect's runner installs its own handler, SIGTERM must still stop the server we
    # start (it runs in a session of its own and would outlive us).
    previous = signal.signal(signal.SIGTERM, _terminate)
    started: list[subprocess.Popen] = []
    try:
        if not os.environ.get("PREFECT_API_URL"):
            api = start_server(data_dir, port, say, started)
            os.environ["PREFECT_API_URL"] = api
        else:
            api = os.environ["PREFECT_API_URL"]
            if not _healthy(api, timeout=10):
                raise ServeError(f"no Prefect server answers at PREFECT_API_URL={api}")
        _serve(root=root, db_url=db_url, data_dir=data_dir, workers=workers,
               interval=interval, cron=cron, settle=settle, grace=grace, api=api, say=say,
               compliance_cron=compliance_cron)
    except (Terminated, KeyboardInterrupt):
        say("stopped before serving")
    finally:
        for proc in started:
            stop_server(proc)
        signal.signal(signal.SIGTERM, previous)


class Terminated(Exception):
    """SIGTERM arrived before the runner took the signal over."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated()


def _serve(*, root: Path, db_url: str, data_dir: Path, workers: int, interval: float,
           cron: str, settle: float, grace: float, api: str, say: Callable[[str], None],
           compliance_cron: str) -> None:
    from prefect import serve
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    from flows.compliance import compliance_flow
    from flows.watch import inbox_watch, scheduled_batch

    attach_log_file(data_dir)
    params = {"root": str(root), "db_url": db_url, "workers": workers, "settle": settle,
              "grace": grace}
    # One run of each at a time: a batch longer than the interval makes the next watch run
    # be dropped (the one after picks up what arrived), rather than two runs competing.
    one = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    watch = inbox_watch.to_deployment(
        name="inbox-watch", interval=interval, parameters=params, concurrency_limit=one,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"Takes complete files from {root / 'inbox'} every {interval:g} s.")
    batch = scheduled_batch.to_deployment(
        name="scheduled-batch", cron=cron, parameters=params, concurrency_limit=one,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"The scheduled sweep of {root / 'inbox'} ({cron}).")
    # Dates move when nothing else does: a policy expires overnight.
    daily = compliance_flow.to_deployment(
        name="compliance-daily", cron=compliance_cron, parameters={"db_url": db_url},
        concurrency_limit=one, entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"Re-evaluates every vendor and sends notices ({compliance_cron}).")
    ui = api.removesuffix("/api")
    say(f"serving inbox-watch (every {interval:g} s), scheduled-batch ({cron}) and "
        f"compliance-daily ({compliance_cron}) on {root}; runs in the Prefect UI at {ui}; "
        "Ctrl-C stops")
    # Runs due within prefetch_seconds start early; keep that below the interval so that one
    # poll never submits two runs of the same deployment.
    serve(watch, batch, daily, pause_on_shutdown=False, print_starting_message=False,
          prefetch_seconds=int(min(10, max(0, interval // 2))))
    say("stopped; the deployments stay scheduled for the next start")
