"""The ``coi`` command line: ingest, export, show, demo.

Errors the user can act on are :class:`CliError` messages (exit 1, or 2 for bad arguments),
never tracebacks; ``coi --debug ...`` re-raises unexpected ones.  Prefect is imported only by
the commands that run the ingest flow, after ``coi.prefect_env.configure`` has set its
environment, so ``export``/``show``/``--help`` stay fast and never touch Prefect.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from coi.paths import PathError, expand_paths
from coi.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # our own error handling prints messages, not frames
    help="Certificates of insurance (ACORD 25) in, checked coi-record/1 records out.",
)
out = Console(soft_wrap=True)  # per-document lines must stay one line each, even in pipes
err = Console(stderr=True, soft_wrap=True)
if not out.is_terminal and not os.environ.get("COLUMNS"):
    out.width = 120  # tables in logs and pipes: rich's 80-column fallback truncates them
_debug = False

OCR_TOOLS = {"tesseract": "tesseract-ocr", "pdftoppm": "poppler-utils"}
INSTALL = ("sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd "
           "poppler-utils (or run `make demo`, which does it)")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL; default $COI_DATABASE_URL, then coi.toml, "
                 "then sqlite:///data/coi.db.", show_default=False),
]
F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def handles_errors(fn: F) -> F:
    """Turn exceptions into one-line messages and exit codes (tracebacks with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except CliError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(exc.code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `coi export | head`: the reader is gone, so are we
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:
            if _debug:
                raise
            err.print(f"[bold red]error:[/] {escape(f'{type(exc).__name__}: {exc}')}\n"
                      "(run `coi --debug ...` for the traceback)")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        try:
            version = metadata.version("coi")
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        out.print(f"coi {version}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and Prefect's "
                                        "run logs.")] = False,
) -> None:
    global _debug
    _debug = debug


# ------------------------------------------------------------------------------- helpers


def settings() -> Settings:
    from pydantic import ValidationError

    from coi.settings import ConfigFileError, get_settings

    try:
        return get_settings()
    except ConfigFileError as exc:
        raise CliError(str(exc)) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise CliError(f"invalid settings (COI_* variables or coi.toml): {problems}") from None


def db_url(db: str | None, root: Path | None = None) -> str:
    """--db, else COI_DATABASE_URL / coi.toml (via settings), else ``<root>/coi.db`` (the
    settings' root unless given); a relative SQLite path is made absolute so the flow's
    workers find the same file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from models.db import resolve_url

    # The default database lives in the root folder (./data/coi.db unless COI_ROOT moves it).
    where = (root or settings().root).expanduser()
    url = resolve_url(db or settings().database_url or f"sqlite:///{where / 'coi.db'}")
    try:
        u = make_url(url)
    except ArgumentError:
        raise CliError(f"not a database URL: {url!r}") from None
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" \
            and not u.database.startswith("file:") and not Path(u.database).is_absolute():
        url = u.set(database=str(Path(u.database).absolute())).render_as_string(False)
    return url


def masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_db(url: str, *, create: bool) -> Any:
    """An engine on ``url`` with the schema at head; CliError when it cannot be opened."""
    from sqlalchemy.engine import make_url

    from models.db import make_engine, migrate

    u = make_url(url)
    if not create and u.get_backend_name() == "sqlite" and u.database \
            and u.database != ":memory:" and not Path(u.database).exists():
        raise CliError(f"no database at {u.database} (nothing ingested yet? see `coi ingest`)")
    try:
        engine = make_engine(url)
        migrate(engine)
    except Exception as exc:
        reason = getattr(exc, "orig", None) or exc
        raise CliError(f"cannot open the database {masked(url)}: {reason}") from None
    return engine


def require_ocr() -> None:
    missing = [f"{tool} ({pkg})" for tool, pkg in OCR_TOOLS.items() if not shutil.which(tool)]
    if missing:
        raise CliError(f"not installed: {', '.join(missing)}. Install them: {INSTALL}")


STATUS_STYLE = {"processed": "green", "failed": "red", "not_a_certificate": "yellow"}


def document_line(s: dict[str, Any]) -> str:
    """One line per document: status, file, fields read, for review, error."""
    status = "duplicate" if s["duplicate"] else s["status"]
    style = "blue" if s["duplicate"] else STATUS_STYLE.get(s["status"], "")
    parts = [f"{s['fields']} fields read, {s['needs_review']} for review"]
    if s.get("certificates", 0) > 1:  # a batch scan
        parts.insert(0, f"{s['certificates']} certificates")
    if s["duplicate"]:
        parts.append(f"already stored as document {s['document_id']} ({s['status']})")
    if s["error"]:
        parts.append(s["error"])
    return f"[{style}]{status:<17}[/] {escape(s['file'])}  " + escape(" · ".join(parts))


class _ProgressObserver:
    """Receives the flow's per-document events (from the flow's thread)."""

    def __init__(self, progress: Progress, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def started(self, total: int) -> None:
        self.progress.update(self.task_id, total=total, description="reading")

    def finished(self, summary: dict[str, Any]) -> None:
        self.progress.console.print(document_line(summary))
        self.progress.advance(self.task_id)


def start_prefect_api(data_dir: Path) -> None:
    """Prefect's log file and its local API under ``data_dir`` (Prefect configured and
    imported already), a failure to start said as a CliError."""
    from coi.prefect_env import LocalApiError, attach_log_file, start_local_api

    attach_log_file(data_dir)
    try:
        start_local_api(data_dir)
    except LocalApiError as exc:
        raise CliError(str(exc)) from None


def ingest_with_progress(paths: list[Path], url: str, workers: int) -> list[dict[str, Any]]:
    """Run the ingest flow with a progress bar; per-document lines print as they finish."""
    from coi.prefect_env import configure, console_through

    data_dir = settings().state_dir
    if _debug:  # Prefect's INFO run logs on the console too (above the progress bar)
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "INFO")
    configure(data_dir)
    try:
        from flows.ingest import run_ingest
    except ImportError as exc:
        raise CliError(f"cannot load the ingest flow: {exc}") from None
    start_prefect_api(data_dir)

    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal,
    )
    with progress, console_through(out, run_logs=_debug):
        # The local API is up; the flow run's own start still takes a moment: say so.
        task_id = progress.add_task("starting Prefect", total=len(paths))
        try:
            return run_ingest([str(p) for p in paths], url, workers,
                              _ProgressObserver(progress, task_id))
        except Exception as exc:
            if _debug:
                raise
            raise CliError(f"the ingest flow could not run: {type(exc).__name__}: {exc} "
                           f"(details in {Path(data_dir) / 'logs' / 'coi.log'})") from None


def print_totals(summaries: list[dict[str, Any]], elapsed: float) -> None:
    def count(pred: Callable[[dict[str, Any]], bool]) -> int:
        return sum(1 for s in summaries if pred(s))

    new = [s for s in summaries if not s["duplicate"]]
    parts = [
        f"{len(summaries)} document{'s' if len(summaries) != 1 else ''}",
        f"{count(lambda s: s['status'] == 'processed' and not s['duplicate'])} processed",
        f"{count(lambda s: s['status'] == 'failed')} failed",
    ]
    if n := count(lambda s: s["status"] == "not_a_certificate" and not s["duplicate"]):
        parts.append(f"{n} not a certificate")
    parts += [
        f"{count(lambda s: s['duplicate'])} duplicates",
        f"{sum(s['fields'] for s in new)} fields read",
        f"{sum(s['needs_review'] for s in new)} for review",
        f"{elapsed:.1f} s",
    ]
    out.print("[bold]" + ", ".join(parts) + "[/]")


# ------------------------------------------------------------------------------ commands


@app.command()
@handles_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", show_default=False,
                                                help="Files and folders (recursive).")],
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option("--workers", "-w", min=1, show_default=False,
                                                help="Documents read in parallel; default "
                                                "COI_WORKERS or the CPU count.")] = None,
) -> None:
    """Read certificates into the database: one line per document, then a summary."""
    t0 = time.perf_counter()
    try:
        files = expand_paths(paths)
    except PathError as exc:
        raise CliError(str(exc), 2) from None
    require_ocr()
    url = db_url(db)
    open_db(url, create=True).dispose()
    summaries = ingest_with_progress(files, url, workers or settings().workers)
    print_totals(summaries, time.perf_counter() - t0)


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@app.command()
@handles_errors
def export(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="jsonl: one coi-record/1 "
                                        "object per line; csv: one row per policy.")]
    = Format.jsonl,
    db: DbOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", show_default=False,
                                                help="Write here instead of stdout.")] = None,
) -> None:
    """Export every processed certificate (the record count goes to stderr)."""
    from models.export import write_csv, write_jsonl

    engine = open_db(db_url(db), create=False)
    writer = write_jsonl if fmt is Format.jsonl else write_csv
    if output is None:
        n = writer(engine, sys.stdout)
        sys.stdout.flush()
    else:
        # Into a temporary file first: an interrupted export never leaves half a file.
        tmp = output.with_name(f".{output.name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fp:
            n = writer(engine, fp)
        tmp.replace(output)
    where = f" to {output}" if output else ""
    err.print(f"exported {n} record{'s' if n != 1 else ''} ({fmt.value}){where}")


@app.command()
@handles_errors
def show(
    ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="Document id, a file (its "
                                       "bytes are looked up), a stored file name or sha256.")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the coi-record/1 JSON.")]
    = False,
) -> None:
    """Show a document's certificate (each one, for a batch scan): every value with its
    confidence; ⚠ marks fields for review.  With --json, the record (an array of records
    for a batch scan)."""
    import json

    from models.export import AmbiguousRefError, document_rows, resolve_records

    url = db_url(db)
    engine = open_db(url, create=False)
    try:
        records = resolve_records(engine, ref)
    except AmbiguousRefError as exc:
        raise CliError(str(exc)) from None
    if not records:
        raise CliError(_not_found(ref, document_rows(engine), masked(url)))
    if as_json:
        # One record is the object itself; a batch scan's several are a JSON array.
        doc = records[0] if len(records) == 1 else records
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    from coi.show import render

    for record in records:
        render(record, out)


def _not_found(ref: str, rows: list[dict[str, Any]], where: str) -> str:
    """Say why there is no record: unknown, or a stored document that has none."""
    p = Path(ref)
    sha = None
    if p.is_file():
        from pipeline.sniff import sha256_file

        sha = sha256_file(p)
    for r in rows:
        if str(r["id"]) == ref or r["file"] in (ref, p.name) or r["sha256"] == sha:
            why = r["error"] or r["status"].replace("_", " ")
            return f"document {r['id']} ({r['file']}) has no record: {r['status']} — {why}"
    return f"no record for {ref!r} in {where}"


@app.command()
@handles_errors
def demo(
    inbox: Annotated[Path, typer.Option("--inbox", help="Where the samples are written.")]
    = Path("inbox"),
    db: DbOption = None,
    count: Annotated[int, typer.Option("--count", min=1, help="Samples, cycling through "
                                       "all scan conditions.")] = 12,
) -> None:
    """Generate sample certificates in mixed scan conditions, ingest them, show the result."""
    from coi import demo as d

    t0 = time.perf_counter()
    require_ocr()
    url = db_url(db)
    open_db(url, create=True).dispose()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), console=out, transient=True,
                  disable=not out.is_terminal) as progress:
        task_id = progress.add_task("generating samples", total=count)
        samples = d.make_samples(inbox, count,
                                 lambda _s, _created: progress.advance(task_id))
    out.print(f"{len(samples)} sample certificates in {inbox}/")
    summaries = ingest_with_progress([s.path.absolute() for s in samples], url,
                                     settings().workers)
    print_totals(summaries, time.perf_counter() - t0)
    engine = open_db(url, create=False)
    d.print_table(out, samples, summaries, d.insured_names(engine, summaries))
    first = next((s for s in summaries if s["status"] == "processed"), None)
    if first is not None:
        # As invoked: after `make demo` that is .venv/bin/coi, which is not on the PATH.
        prog = sys.argv[0] if Path(sys.argv[0]).name == "coi" else "coi"
        out.print(f"Next: `{prog} show {first['document_id']}` for one record, "
                  f"`{prog} export --format csv -o certs.csv` for all of them.")
        out.print(f"Compliance: `{prog} vendor add \"NAME\" --profile standard` (profiles in "
                  f"./requirements), then `{prog} report compliance`; the review page: "
                  f"`{prog} user add NAME`, then `{prog} review`.")


from coi.compliance_cli import register as register_compliance  # noqa: E402
from coi.inbox_cli import register  # noqa: E402 - needs the helpers above
from coi.review_cli import register as register_review  # noqa: E402

register(app)
register_review(app)
register_compliance(app)

if __name__ == "__main__":
    app()
