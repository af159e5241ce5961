"""Several processes on one SQLite file: migrations, saves and reviewer corrections.

Processes are started with "spawn" (fresh interpreters, like separate CLI invocations or flow
workers), each with its own engine.  Workers live at module level so spawn can import them.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import time
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db import alembic_config, make_engine, migrate
from models.orm import Certificate, Correction, Document
from models.store import StaleFieldError, apply_correction, get_field, save_result
from pipeline.types import DocumentResult, Extraction, FieldValue

PATH = "policies.general_liability.limits.each_occurrence"
ROUNDS = 50


def _migrate_worker(url: str, barrier: Any, out: Any) -> None:
    try:
        engine = make_engine(url)
        barrier.wait(timeout=60)
        migrate(engine)
        out.put("ok")
    except Exception as exc:  # reported to the parent, which asserts on it
        out.put(f"{type(exc).__name__}: {exc}")


def _correct_worker(url: str, certificate_id: int, name: str, barrier: Any, out: Any) -> None:
    try:
        engine = make_engine(url)
        barrier.wait(timeout=60)
        done = stale = 0
        while done < ROUNDS:
            # Read-modify-write: the new value depends on what was read.
            f = get_field(engine, certificate_id, PATH)
            assert f is not None
            try:
                apply_correction(engine, certificate_id, PATH, f.value + 1, user=name,
                                 expected_version=f.version)
                done += 1
            except StaleFieldError:
                stale += 1
        out.put(("ok", stale))
    except Exception as exc:
        out.put((f"{type(exc).__name__}: {exc}", 0))


def _save_worker(url: str, status: str, barrier: Any, out: Any) -> None:
    try:
        engine = make_engine(url)
        barrier.wait(timeout=60)
        o = save_result(engine, _result(status))
        out.put((o.document_id, o.certificate_id, o.duplicate))
    except Exception as exc:
        out.put(f"{type(exc).__name__}: {exc}")


def _result(status: str = "processed") -> DocumentResult:
    fields = {
        PATH: FieldValue(PATH, 0, 0.9, 1, (1, 2, 3, 4), "accepted"),
        "insured.name": FieldValue("insured.name", "Acme", 0.95, 1, (5, 6, 7, 8), "accepted"),
    }
    return DocumentResult(
        file="a.pdf", path="/in/a.pdf", sha256=hashlib.sha256(b"same bytes").hexdigest(),
        media_type="application/pdf", pages=1, status=status,  # type: ignore[arg-type]
        extractions=[Extraction(fields)] if status == "processed" else [],
    )


def _run(target: Any, args_for: list[tuple[Any, ...]]) -> list[Any]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(args_for)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, out)) for a in args_for]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


def test_two_processes_migrate_a_fresh_file(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh/coi.db"
    assert _run(_migrate_worker, [(url,), (url,)]) == ["ok", "ok"]
    engine = make_engine(url)
    with engine.connect() as c:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert c.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [(head,)]
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_two_processes_save_the_same_bytes(tmp_path):
    url = f"sqlite:///{tmp_path}/coi.db"
    migrate(make_engine(url))
    results = _run(_save_worker, [(url, "processed"), (url, "processed")])
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(r[2] for r in results) == [False, True]
    assert len({(r[0], r[1]) for r in results}) == 1
    with Session(make_engine(url)) as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1
        assert s.scalar(select(func.count()).select_from(Certificate)) == 1


def test_two_processes_read_modify_write_one_field(tmp_path):
    url = f"sqlite:///{tmp_path}/coi.db"
    engine = make_engine(url)
    migrate(engine)
    cid = save_result(engine, _result()).certificate_id
    assert cid is not None
    t0 = time.monotonic()
    results = _run(_correct_worker, [(url, cid, "ann"), (url, cid, "bob")])
    assert [r[0] for r in results] == ["ok", "ok"], results
    f = get_field(engine, cid, PATH)
    assert f is not None
    assert f.version == 1 + 2 * ROUNDS
    assert f.value == 2 * ROUNDS  # no lost update: every +1 landed
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Correction)) == 2 * ROUNDS
        users = s.scalars(select(Correction.user)).all()
    assert users.count("ann") == users.count("bob") == ROUNDS
    assert time.monotonic() - t0 < 60
