"""Engines, sessions and migrations.

SQLite is the default store (one file, no server) and is used from several processes at once:
the ingest flow's workers, a reviewer UI, an export.  Two settings make that safe:

* WAL journal: readers never block the writer and the writer never blocks readers.
* ``BEGIN IMMEDIATE`` for every transaction that may write.  With Python's default deferred
  transactions a read-then-write transaction only asks for the write lock at its first write;
  if another process committed in between, SQLite cannot wait for it (the snapshot is stale)
  and fails at once with "database is locked" -- or, worse, a read-modify-write computed from
  the stale read gets applied.  Taking the write lock up front makes concurrent writers queue
  on the busy timeout instead.  Pure readers (exports, summaries) can opt out through
  :func:`read_only`, so a long export does not hold the write lock for its whole duration.

Migrations are plain alembic, driven programmatically: the scripts live in the installed
package (``models/migrations``), no ``alembic.ini`` is needed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///data/coi.db"
ENV_VAR = "COI_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a SQLite connection waits for another process's lock before giving up.  Writes are
# short (one document or one correction per transaction), so this is generous.
SQLITE_BUSY_TIMEOUT_S = 30.0

_MIGRATE_LOCK = threading.Lock()
_PG_MIGRATE_LOCK_KEY = 0x434F49  # "COI": any constant shared by every migrating process

# Execution option that makes a SQLite transaction start with a plain (deferred) BEGIN.
READ_ONLY_OPTION = "coi_read_only"


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else $COI_DATABASE_URL, else DEFAULT_URL."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def _is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``resolve_url(url)``; SQLite gets WAL, a busy timeout, BEGIN IMMEDIATE."""
    url = resolve_url(url)
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)

    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    # ``timeout`` is sqlite3's busy timeout; it is set before any statement runs, so even the
    # journal-mode switch below waits for a concurrent first connection instead of failing.
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # SQLAlchemy's documented pysqlite recipe: stop the driver from issuing its own
        # (deferred, DML-only) BEGIN so that ours below is the only one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            _set_wal(cur)
            cur.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fsync at checkpoints
            cur.execute("PRAGMA foreign_keys = ON")  # ON DELETE CASCADE needs it
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _set_wal(cur: sqlite3.Cursor) -> None:
    # The journal mode is stored in the file, so this only does work on a fresh database.  The
    # switch needs an exclusive lock and SQLite may answer SQLITE_BUSY without waiting when
    # waiting could deadlock; two processes opening a fresh file together must not fail on it.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) whose transactions never take SQLite's write lock.

    Only for code that does not write: a long export then never delays the ingest workers.
    Other backends ignore the option.
    """
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects returned from a finished transaction stay readable.
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """An alembic Config pointing at the packaged migrations; no ini file involved.

    For development, e.g. a new revision::

        from alembic import command
        command.revision(alembic_config("sqlite:///data/coi.db"), "add x", autogenerate=True)
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs would be read as ini interpolation.
    cfg.set_main_option("sqlalchemy.url", resolve_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (alembic ``upgrade head``); idempotent.

    The whole upgrade runs in one transaction on the caller's engine, and concurrent callers
    are serialized, so a second one waits and then finds the schema at head:
    on SQLite by the ``BEGIN IMMEDIATE`` write lock (DDL is transactional there once the
    driver's own transaction handling is off); on PostgreSQL by a transaction-scoped advisory
    lock; within one process by a lock, because alembic's ``context`` is a process-wide global
    that two threads would clobber.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with _MIGRATE_LOCK, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATE_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
