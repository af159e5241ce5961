"""``coi watch``, ``coi serve``, ``coi retry``, ``coi status``: the watched root folder.

Registered on the main app by :mod:`coi.cli` (``register(app)``, at the end of that module,
which is why this one may import its helpers); kept apart so the ingest and export commands
stay readable.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from coi.cli import (
    CliError,
    DbOption,
    db_url,
    err,
    handles_errors,
    open_db,
    out,
    require_ocr,
    settings,
    start_prefect_api,
)
from coi.paths import printable

RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="The watched root folder (inbox/, processing/, archive/, "
                 "quarantine/); default $COI_ROOT or ./data.", show_default=False),
]

OUTCOME_STYLE = {"processed": "green", "duplicate": "blue", "failed": "red",
                 "not_a_certificate": "yellow", "refused": "red"}


def _root(root: Path | None) -> Path:
    return (root or settings().root).expanduser().absolute()


def file_line(s: dict[str, Any]) -> str:
    """One line per file taken: outcome, name, what was read, where the file went."""
    outcome = s.get("outcome", s["status"])
    parts = []
    if outcome in ("processed", "duplicate"):
        parts.append(f"{s['fields']} fields read, {s['needs_review']} for review")
    if s.get("document_id") is not None:
        parts.append(f"document {s['document_id']}")
    if s.get("error") and outcome not in ("processed", "duplicate"):
        parts.append(s["error"])
    if s.get("location"):
        parts.append(f"→ {s['location']}")
    style = OUTCOME_STYLE.get(outcome, "")
    return f"[{style}]{outcome:<17}[/] {escape(s['file'])}  " + escape(" · ".join(parts))


class _Lines:
    def __init__(self, out: Any) -> None:
        self.out = out

    def started(self, total: int) -> None:
        self.out.print(f"taking {total} file{'s' if total != 1 else ''}")

    def finished(self, s: dict[str, Any]) -> None:
        self.out.print(file_line(s))


def register(app: typer.Typer) -> None:
    def _prefect(data_dir: Path) -> None:
        from coi.prefect_env import configure

        configure(data_dir)
        import prefect  # noqa: F401 - reads the environment just set

        start_prefect_api(data_dir)

    @app.command()
    @handles_errors
    def watch(
        root: RootOption = None,
        db: DbOption = None,
        workers: Annotated[int | None, typer.Option("--workers", "-w", min=1,
                                                    show_default=False)] = None,
    ) -> None:
        """One pass over the root folder without a server (for cron, or by hand): take what
        is complete in inbox/ and what a crash left in processing/, read it, and move each
        file to archive/YYYY/MM/ or quarantine/."""
        from coi.prefect_env import console_through

        where = _root(root)
        require_ocr()
        url = db_url(db, where)
        open_db(url, create=True).dispose()
        s = settings()
        _prefect(s.data_dir or where)
        from flows.ingest import observe
        from flows.watch import inbox_watch

        t0 = time.perf_counter()
        with console_through(out), observe(_Lines(out)):
            result = inbox_watch(root=str(where), db_url=url, workers=workers or s.workers,
                                 settle=s.settle, grace=s.grace)
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in
                           sorted(result["counts"].items())) or "nothing taken"
        out.print(f"[bold]{counts}; {result['waiting']} waiting; "
                  f"{time.perf_counter() - t0:.1f} s[/]")

    @app.command()
    @handles_errors
    def serve(
        root: RootOption = None,
        db: DbOption = None,
        interval: Annotated[float | None, typer.Option(
            "--interval", min=1, show_default=False,
            help="Seconds between inbox-watch runs; default $COI_WATCH_INTERVAL or 30.")] = None,
        cron: Annotated[str | None, typer.Option(
            "--cron", show_default=False, help="Schedule of scheduled-batch; default "
            "$COI_BATCH_CRON or '0 2 * * *'.")] = None,
        workers: Annotated[int | None, typer.Option("--workers", "-w", min=1,
                                                    show_default=False)] = None,
        port: Annotated[int | None, typer.Option(
            "--port", show_default=False, help="Port of the Prefect server started on "
            "127.0.0.1 when PREFECT_API_URL is not set; default 4200.")] = None,
    ) -> None:
        """Serve the inbox-watch (interval) and scheduled-batch (cron) deployments until
        Ctrl-C or SIGTERM, on a Prefect server: PREFECT_API_URL's, or one started here."""
        from flows.serve import ServeError, serve_inbox

        where = _root(root)
        require_ocr()
        url = db_url(db, where)
        open_db(url, create=True).dispose()
        s = settings()
        try:
            serve_inbox(root=where, db_url=url, data_dir=s.data_dir or where,
                        workers=workers or s.workers, interval=interval or s.watch_interval,
                        cron=cron or s.batch_cron, settle=s.settle, grace=s.grace,
                        port=port or s.server_port, say=lambda m: err.print(escape(m)),
                        compliance_cron=s.compliance_cron)
        except ServeError as exc:
            raise CliError(str(exc)) from None

    @app.command()
    @handles_errors
    def retry(
        ref: Annotated[str, typer.Argument(metavar="FILE|ID", help="A file in quarantine/ "
                                           "(or its .error.json), or a document id.")],
        root: RootOption = None,
        db: DbOption = None,
    ) -> None:
        """Move a quarantined file back into the inbox, to be read again."""
        from flows.folders import Folders
        from flows.moves import ERROR_SUFFIX, quarantined, release_from_quarantine

        folders = Folders(_root(root))
        items = quarantined(folders.root)
        p = Path(ref)
        if p.name.endswith(ERROR_SUFFIX):
            p = p.with_name(p.name[: -len(ERROR_SUFFIX)])
        chosen = [q for q in items if q.path.name == p.name
                  or (p.exists() and q.path.resolve() == p.resolve())]
        if not chosen and ref.isdigit():
            chosen = [q for q in items if q.info.get("document_id") == int(ref)]
        if not chosen:
            raise CliError(f"nothing in {folders.quarantine} matches {ref!r} "
                           f"({len(items)} quarantined; `coi status` lists them)")
        url = db_url(db, folders.root)
        engine = open_db(url, create=True)
        from models.inbox import moved_back, read_again

        for q in chosen:
            dest = release_from_quarantine(folders.root, q)
            moved_back(engine, q.path.relative_to(folders.root).as_posix(),
                       dest.relative_to(folders.root).as_posix())
            if q.info.get("document_id") is not None:
                read_again(engine, int(q.info["document_id"]))
            shown = printable(str(dest.relative_to(folders.root)))
            out.print(f"back in the inbox: {escape(shown)}")

    @app.command()
    @handles_errors
    def status(
        root: RootOption = None,
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="For scripts.")] = False,
    ) -> None:
        """Files per folder, documents per status, and what is in quarantine and why."""
        from flows.folders import Folders
        from flows.moves import count_files, quarantined
        from models.inbox import document_counts

        folders = Folders(_root(root))
        per_folder = {name: count_files(getattr(folders, name))
                      for name in ("inbox", "processing", "archive", "quarantine")}
        url = db_url(db, folders.root)
        try:
            engine = open_db(url, create=False)
            docs = document_counts(engine)
        except CliError:
            docs = {}
        held = [{"file": printable(str(q.path.relative_to(folders.root))),
                 "reason": q.info.get("reason"), "stage": q.info.get("stage"),
                 "document_id": q.info.get("document_id")} for q in quarantined(folders.root)]
        if as_json:
            sys.stdout.write(json.dumps({"root": str(folders.root), "folders": per_folder,
                                         "documents": docs, "quarantine": held},
                                        indent=2, ensure_ascii=False) + "\n")
            return
        table = Table("folder", "files", title=f"{folders.root}", title_justify="left")
        for k, v in per_folder.items():
            table.add_row(k, str(v))
        out.print(table)
        table = Table("document status", "documents")
        for k in ("processed", "not_a_certificate", "failed"):
            table.add_row(k, str(docs.get(k, 0)))
        out.print(table)
        for h in held:
            out.print(f"[red]quarantined[/] {escape(h['file'])}: "
                      f"{escape(str(h['reason']))} (stage {h['stage']})")
