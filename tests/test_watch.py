"""The watcher under crashes and competition, and served by Prefect: real ``coi watch`` and
``coi serve`` processes, real SIGKILL, real SQLite, a real Prefect server.

Certificates: seeds 20420-20449, digital (tests/resources/README).
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
COUNT = 30


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from fixtures.generate import make_certificate, write_sample

    work = tmp_path_factory.mktemp("gen")
    out = {}
    for i in range(COUNT):
        p = write_sample(work, f"cert-{i:02d}", make_certificate(20420 + i, layout="random"),
                         "digital", 20420 + i)
        out[p.name] = p.read_bytes()
    return out


def _drop(root: Path, files: dict[str, bytes]) -> None:
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    old = time.time() - 60  # long settled: taken on the first look
    for name, data in files.items():
        (inbox / name).write_bytes(data)
        os.utime(inbox / name, (old, old))


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COI_"))}
    env.update(PYTHONPATH=str(REPO), COLUMNS="200", COI_DATA_DIR=str(data_dir),
               COI_SETTLE="0.5", **extra)
    return env


def _coi_cmd() -> list[str]:
    script = Path(sys.executable).parent / "coi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "coi.cli"]


def _start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    # A session of its own: SIGKILL of the group is a crash of the worker with everything it
    # started (its tesseract processes, a local Prefect API when it has one), as when a
    # machine loses power.
    with open(log, "ab") as fh:
        return subprocess.Popen([*_coi_cmd(), *args], env=env, cwd=cwd, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _archived(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "archive").rglob("*") if p.is_file()}


def _rows(root: Path) -> list[tuple[str, str, int | None]]:
    con = sqlite3.connect(root / "coi.db")
    try:
        return con.execute("SELECT name, outcome, document_id FROM inbox_files").fetchall()
    finally:
        con.close()


def _documents(root: Path) -> dict[str, str]:
    con = sqlite3.connect(root / "coi.db")
    try:
        return dict(con.execute("SELECT sha256, status FROM documents").fetchall())
    finally:
        con.close()


def _assert_each_once(root: Path, files: dict[str, bytes]) -> None:
    assert _archived(root) == files  # every file archived, byte-identical, none lost
    assert list((root / "inbox").iterdir()) == []
    # No claim is left; a half-built one without its journal (a kill between its mkdir and
    # its lock) holds no file and is swept once it is a minute old.
    left = list((root / "processing").iterdir())
    assert [p for p in left if not p.name.startswith(".new-")] == []
    assert [f for p in left for f in p.iterdir() if not f.name.startswith(".")] == []
    docs = _documents(root)
    assert docs == {hashlib.sha256(d).hexdigest(): "processed" for d in files.values()}
    rows = _rows(root)
    assert sorted(r[0] for r in rows) == sorted(files)  # each file taken exactly once
    assert {r[1] for r in rows} == {"processed"}  # none read twice (that would be "duplicate")


def test_two_claims_of_one_file_only_one_wins(tmp_path):
    from flows.folders import Folders, claim

    folders = Folders(tmp_path).ensure()
    wins = []
    for i in range(50):
        p = folders.inbox / f"f{i}.pdf"
        p.write_bytes(b"x")
        got: list[Any] = []
        ts = [threading.Thread(target=lambda g=got, f=p: g.append(claim(folders, f)))
              for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        won = [c for c in got if c is not None]
        wins.append(len(won))
        for c in won:
            c.file.unlink()
            c.release()
    assert wins == [1] * 50
    assert list(folders.processing.iterdir()) == []


def test_a_live_claim_is_not_adopted_a_dead_one_is(tmp_path):
    from flows.folders import Folders, adopt, orphans

    folders = Folders(tmp_path).ensure()
    for name in ("alive.pdf", "dead.pdf"):
        (folders.inbox / name).write_bytes(b"%PDF-1.4 %%EOF")
    code = ("import sys, time; from pathlib import Path; from flows.folders import Folders, "
            "claim; f = Folders(Path(sys.argv[1])); c = claim(f, f.inbox / sys.argv[2]); "
            "print('claimed', flush=True); time.sleep(60)")
    procs = {}
    for name in ("alive.pdf", "dead.pdf"):
        procs[name] = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), name],
                                       stdout=subprocess.PIPE, text=True,
                                       env={**os.environ, "PYTHONPATH": str(REPO)})
        assert procs[name].stdout.readline().strip() == "claimed"
    procs["dead.pdf"].kill()
    procs["dead.pdf"].wait()
    try:
        adopted = [c for c in map(adopt, orphans(folders)) if c is not None]
        assert [c.name for c in adopted] == ["dead.pdf"]
        assert adopted[0].file.read_bytes() == b"%PDF-1.4 %%EOF"
    finally:
        procs["alive.pdf"].kill()
        procs["alive.pdf"].wait()


def test_a_worker_killed_mid_batch_loses_nothing_and_reads_nothing_twice(
        certificates, tmp_path, prefect_api):
    root = tmp_path / "root"
    _drop(root, certificates)
    # The session's Prefect API: the kill is the worker's (and its tesseracts'); a local API
    # of its own would only add its start-up to each run.
    env = _env(tmp_path / "state", PREFECT_API_URL=prefect_api)
    log = tmp_path / "watch.log"
    proc = _start(["watch", "--root", str(root), "-w", "2"], env, tmp_path, log)
    deadline = time.monotonic() + 240
    try:
        # Killed when some are done and some are held in claims (not between two claims:
        # with a fast API a pass spends a fair share of its time there).
        while len(_archived(root)) < 6 or not any((root / "processing").iterdir()):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no progress: " + log.read_text()
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    left = [p for p in (root / "processing").iterdir()]
    assert 6 <= len(_archived(root)) < COUNT and left, "the kill did not land mid-batch"

    again = subprocess.run([*_coi_cmd(), "watch", "--root", str(root), "-w", "2"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_each_once(root, certificates)


def test_two_watchers_on_one_inbox_share_it_without_duplicates(certificates, tmp_path,
                                                               prefect_api):
    root = tmp_path / "root"
    _drop(root, certificates)

    def start(i: int) -> subprocess.Popen:
        return _start(["watch", "--root", str(root), "-w", "1"],
                      _env(tmp_path / f"state{i}", PREFECT_API_URL=prefect_api),
                      tmp_path, tmp_path / f"watch{i}.log")

    def taking(i: int) -> None:  # the watcher has looked at the inbox
        deadline = time.monotonic() + 120
        while "taking " not in (tmp_path / f"watch{i}.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / f"watch{i}.log").read_text()
            time.sleep(0.02)

    # Both at work at once, whatever their start-up times (the first read all 30 before
    # the second had looked, once): the first is paused, holding what it claimed, while
    # the second starts, and both go on from the same moment.
    first = start(0)
    taking(0)
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        second = start(1)
        taking(1)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    for p in (first, second):
        assert p.wait(timeout=300) == 0
    logs = [(tmp_path / f"watch{i}.log").read_text() for i in range(2)]
    _assert_each_once(root, certificates)
    for text in logs:  # each watcher read some of them
        assert text.count("processed ") >= 1, text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_deployment_picks_up_a_file_dropped_after_start(certificates, tmp_path):
    root, state = tmp_path / "root", tmp_path / "state"
    (root / "inbox").mkdir(parents=True)
    port = _free_port()
    env = _env(state, PREFECT_RUNNER_POLL_FREQUENCY="1")
    log = tmp_path / "serve.log"
    proc = _start(["serve", "--root", str(root), "--interval", "4", "--port", str(port)],
                  env, tmp_path, log)
    try:
        deadline = time.monotonic() + 180
        while "serving inbox-watch" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        name, data = next(iter(certificates.items()))
        (root / "inbox" / name).write_bytes(data)
        while _archived(root) != {name: data}:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # as systemd stops a service
        code = proc.wait(timeout=60)
    text = log.read_text()
    assert code == 0, text
    assert "stay scheduled" in text
    with socket.socket() as s:  # the server it started is stopped with it
        assert s.connect_ex(("127.0.0.1", port)) != 0
    # Prefect's own database: the deployments are not left paused for the next start.
    con = sqlite3.connect(state / "prefect" / "prefect.db")
    try:
        paused = dict(con.execute("SELECT name, paused FROM deployment").fetchall())
    finally:
        con.close()
    assert paused == {"inbox-watch": 0, "scheduled-batch": 0, "compliance-daily": 0}
    assert [r[:2] for r in _rows(root)] == [(name, "processed")]


def test_a_transient_failure_that_outlasts_the_retries_is_quarantined(
        prefect_home, certificates, tmp_path, monkeypatch):
    import json

    import flows.ingest
    import flows.watch
    from pipeline.errors import OcrTimeout

    root = tmp_path / "root"
    files = dict(list(certificates.items())[:2])
    bad, good = list(files)
    _drop(root, files)
    attempts: list[str] = []
    real = flows.ingest.process_file

    def flaky(path: Any, options: Any = None) -> Any:
        if Path(path).name == bad:
            attempts.append(bad)
            raise OcrTimeout("tesseract took longer than 120 s on page 1", stage="ocr")
        return real(path, options)

    monkeypatch.setattr(flows.ingest, "process_file", flaky)
    # Same retry count, no waiting: the backoff itself is Prefect's, not under test.
    monkeypatch.setattr(flows.watch, "take_file",
                        flows.watch.take_file.with_options(retry_delay_seconds=0))
    out = flows.watch.inbox_watch(root=str(root), db_url=f"sqlite:///{root / 'coi.db'}",
                                  workers=2, settle=0.0, grace=0.0)
    assert attempts == [bad] * 3
    outcomes = {s["file"]: s["outcome"] for s in out["files"]}
    assert outcomes == {bad: "failed", good: "processed"}
    info = json.loads((root / "quarantine" / f"{bad}.error.json").read_text())
    assert info["stage"] == "ocr" and "gave up after 3 attempts" in info["reason"]
    assert (root / "quarantine" / bad).read_bytes() == files[bad]
    assert _archived(root) == {good: files[good]}
    assert list((root / "processing").iterdir()) == []


def test_claims_a_crash_interrupted_are_finished_as_decided(
        prefect_home, certificates, tmp_path, monkeypatch):
    """Three crashes, one per window: after the read was stored (no plan yet), after the plan
    was journaled (file not moved), after the file was moved (no row yet)."""
    import flows.ingest
    from flows.folders import Folders, claim
    from flows.ingest import ingest_one
    from flows.watch import inbox_watch
    from models.db import make_engine, migrate

    root = tmp_path / "root"
    files = dict(list(certificates.items())[:3])
    stored, planned, moved = list(files)
    _drop(root, files)
    folders = Folders(root).ensure()
    url = f"sqlite:///{root / 'coi.db'}"
    migrate(make_engine(url))
    claims = {}
    for name in files:
        c = claim(folders, folders.inbox / name)
        s = ingest_one(c.file, url, origin=f"inbox/{name}")
        assert s["status"] == "processed" and not s["duplicate"]
        claims[name] = (c, s)
    for name in (planned, moved):
        c, s = claims[name]
        c.journal(plan={"document_id": s["document_id"], "fields": s["fields"],
                        "needs_review": s["needs_review"], "error": None,
                        "status": "processed", "outcome": "processed", "folder": "archive",
                        "reason": None, "stage": None, "sha256": None, "size": None})
    c, _ = claims[moved]
    dest = root / "archive" / "moved-by-the-dead.pdf"
    dest.parent.mkdir(parents=True, exist_ok=True)
    c.journal(dest=str(dest))
    os.rename(c.file, dest)
    for c, _ in claims.values():  # the process dies: its locks go
        c.lock.close()

    reads: list[str] = []
    real = flows.ingest.process_file
    monkeypatch.setattr(flows.ingest, "process_file",
                        lambda p, o=None: reads.append(Path(p).name) or real(p, o))
    out = inbox_watch(root=str(root), db_url=url, workers=1, settle=0.0, grace=0.0)
    # None is OCR'd again: the one with no decision yet is found stored by its bytes.
    assert reads == []
    assert {s["file"]: s["outcome"] for s in out["files"]} == {
        n: "processed" for n in files}  # read once each: none is a "duplicate"
    assert sorted(r[0] for r in _rows(root)) == sorted(files)
    archived = _archived(root)
    assert sorted(archived.values()) == sorted(files.values())
    assert archived["moved-by-the-dead.pdf"] == files[moved]
    assert list((root / "processing").iterdir()) == []


def test_claim_folders_without_a_journal_or_half_built(tmp_path):
    from flows.folders import STALE_NEW, Folders, adopt, orphans

    folders = Folders(tmp_path).ensure()
    bare = folders.processing / "20261201T000000-abc"  # a journal deleted by hand
    bare.mkdir()
    (bare / "scan.pdf").write_bytes(b"%PDF-1.4 %%EOF")
    young, old, journaled = (folders.processing / f".new-{n}" for n in ("y", "o", "j"))
    for d in (young, old, journaled):
        d.mkdir()
        (d / ".lock").touch()
    (journaled / ".claim.json").write_text("{}")  # its claimer got past the lock, then died
    os.utime(old, (time.time() - STALE_NEW - 5, time.time() - STALE_NEW - 5))
    assert orphans(folders) == [bare]
    assert young.is_dir()  # may be a live claimer's between mkdir and flock: not touched
    assert not old.exists() and not journaled.exists()
    c = adopt(bare)
    assert c is not None and c.name == "scan.pdf" and c.file.read_bytes() == b"%PDF-1.4 %%EOF"
    c.file.unlink()
    c.release()
    assert not bare.exists()
